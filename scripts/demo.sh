#!/usr/bin/env bash
# The demo: installs ZooKeeper if needed, starts a throwaway server, and runs
# validate -> plan -> apply -> plan -> status -> history on example-repo/, then a break-glass
# edit: set -> plan (apply keeps it) -> pull --dry-run (the change that brings it into git).
#
#   scripts/demo.sh          runs the demo and stops the server
#   scripts/demo.sh --keep   leaves the server running to explore (prints how to stop it)
set -euo pipefail
cd "$(dirname "$0")/.."

keep=false
[ "${1:-}" = "--keep" ] && keep=true

scripts/install-zookeeper.sh
cargo build --quiet --locked
bin=target/debug/jones-sync

dir=$(mktemp -d -t jones-sync-demo.XXXXXX)
zk=$(scripts/zookeeper.sh start "$dir")
if ! $keep; then
  trap 'scripts/zookeeper.sh stop "$dir"; rm -rf "$dir"' EXIT
fi

export JONES_SYNC_REPO=example-repo JONES_SYNC_ZK="$zk"
# The demo also runs while you edit example-repo/ to try things; apply refuses uncommitted
# config changes unless told otherwise.
allow_dirty=()
if [ -n "$(git status --porcelain -- example-repo 2>/dev/null)" ]; then
  allow_dirty=(--allow-dirty)
fi

step() {
  printf '\n\033[1m$ jones-sync %s\033[0m\n' "$*"
  "$bin" "$@"
}

echo "ZooKeeper is running at $zk (data in $dir)"
step validate
step plan
step apply --yes "${allow_dirty[@]}"
step plan
step status
step history search
# 3 a.m.: the SMS provider is down. Flip the kill switch now; bring it into git later.
step set notifications --env production kill_switch=true --reason "SMS provider outage" --yes --actor on-call
step plan --service notifications
step pull --dry-run notifications

if $keep; then
  cat <<TXT

ZooKeeper keeps running at $zk. Try:
  export JONES_SYNC_REPO=example-repo JONES_SYNC_ZK=$zk
  $bin plan
Stop it with: scripts/zookeeper.sh stop $dir
TXT
fi
