#!/usr/bin/env bash
# Installs jones-sync from this checkout into ~/.cargo/bin (cargo install --locked), with the
# features given (`scripts/install.sh --features tls` for tcp+tls:// connect strings), then its
# shell completion and manual page when their usual directories are writable.
#
#   scripts/install.sh                  # plain
#   scripts/install.sh --features tls   # with TLS to ZooKeeper
set -euo pipefail
cd "$(dirname "$0")/.."

cargo install --locked --path . "$@"
bin="${CARGO_HOME:-$HOME/.cargo}/bin/jones-sync"
"$bin" --version

# Completion and manual page for the current user (bash-completion and man read these).
completions="${XDG_DATA_HOME:-$HOME/.local/share}/bash-completion/completions"
man1="${XDG_DATA_HOME:-$HOME/.local/share}/man/man1"
mkdir -p "$completions" "$man1"
"$bin" completions bash >"$completions/jones-sync"
"$bin" man >"$man1/jones-sync.1"
echo "Installed $bin, its bash completion ($completions/jones-sync) and manual page ($man1/jones-sync.1)."
echo "Other shells: jones-sync completions zsh|fish|powershell|elvish"
echo "man finds the page when ~/.local/bin is on PATH (or add ${man1%/man1} to MANPATH)."
