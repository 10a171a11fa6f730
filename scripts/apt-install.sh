#!/usr/bin/env bash
# Installs a Debian package when a command is missing: `scripts/apt-install.sh COMMAND PACKAGE`
# (sudo when not root; the package index is updated only when the first try fails).
set -euo pipefail
command=${1:?usage: apt-install.sh COMMAND PACKAGE}
package=${2:?usage: apt-install.sh COMMAND PACKAGE}

if command -v "$command" >/dev/null; then
  exit 0
fi
sudo=""
if [ "$(id -u)" != 0 ]; then
  sudo="sudo"
fi
echo "Installing $command (Debian package $package)..." >&2
export DEBIAN_FRONTEND=noninteractive
if ! $sudo apt-get install -y -qq "$package" >/dev/null; then
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq "$package" >/dev/null
fi
command -v "$command" >/dev/null
