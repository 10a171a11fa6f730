#!/usr/bin/env bash
# The benchmark: builds jones-sync and the benchmark's helpers in release mode, then runs
# scripts/bench.py, which starts a throwaway ZooKeeper and prints a Markdown table of median wall
# times and peak memory at ~1,000, ~10,000 and ~50,000 znodes, side by side with a
# one-znode-per-round-trip baseline and ZooKeeper's own batched limit.
#
#   scripts/bench.sh            the full run (about 6 minutes on 2 cores)
#   scripts/bench.sh --quick    ~1,000 and ~10,000 znodes, 3 runs (about two minutes)
#   scripts/bench.sh --targets  instead: `plan` against one target vs three (`[targets]` in
#                               jones-sync.toml, three throwaway ZooKeepers, ~10,000 znodes unless
#                               --sizes), uncached and warm-cache, with the ratio three/one (the
#                               issue's goal: at most 1.5×); with --runs 3, about two minutes
#   scripts/bench.sh --ui       instead: the web UI of `jones-sync serve` (the issue's goal: each page
#                               under 200 ms server time): a fleet of 1,000 services and one service of
#                               500 environments, each applied to its own chroot and served; the time
#                               from request to last byte of the overview (plain, filtered, page 2),
#                               the big service at its root and at a deep environment, a host of it
#                               and its history; median and max of --runs (default 5), size in kB;
#                               with --runs 5, a few minutes
#   scripts/bench.sh --schemas  instead: what typed configuration costs (services/<svc>/schema.json,
#                               checked against every environment's view on every read): the same
#                               repository generated without and with a JSON Schema per service
#                               (`gen-repo --schemas`), ~10,000 and ~50,000 znodes unless --sizes,
#                               and `validate --no-cache` and warm-cache `validate` of both, with the
#                               ratio with/without (the issue's goal: at most 1.2×) and peak memory;
#                               no ZooKeeper; with --runs 3, a few minutes
#   scripts/bench.sh --help     every option (--runs, --sizes, --json FILE, --keep, --targets, --ui,
#                               --schemas)
set -euo pipefail
cd "$(dirname "$0")/.."

schemas=""
for arg in "$@"; do
  case "$arg" in --schemas) schemas=1 ;; esac
done
# `validate` contacts no ZooKeeper: --schemas needs neither a server nor the baseline's client.
[ -n "$schemas" ] || scripts/install-zookeeper.sh
if [ ! -x /usr/bin/time ]; then
  # GNU time reports each process's peak memory (Debian package `time`).
  sudo=""
  [ "$(id -u)" != 0 ] && sudo="sudo"
  $sudo apt-get install -y -qq time >/dev/null || { $sudo apt-get update -qq && $sudo apt-get install -y -qq time >/dev/null; }
fi
if [ -n "$schemas" ]; then
  cargo build --quiet --release --locked --bin jones-sync --example gen-repo
else
  cargo build --quiet --release --locked --bin jones-sync --example gen-repo --example bench-zk
fi
exec python3 scripts/bench.py "$@"
