#!/usr/bin/env bash
# Starts a throwaway standalone ZooKeeper on a free loopback port, for the demo and the benchmark.
#
#   scripts/zookeeper.sh start DIR   starts it with its data in DIR; prints the connect string
#   scripts/zookeeper.sh stop DIR    stops it
#
# ZOOKEEPER_HEAP sets the server's Java heap (default 512m; the benchmark uses more).
set -euo pipefail

cmd=${1:?usage: zookeeper.sh start|stop DIR}
dir=${2:?usage: zookeeper.sh start|stop DIR}

case "$cmd" in
start)
  mkdir -p "$dir/data"
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  cat >"$dir/zoo.cfg" <<CFG
tickTime=500
initLimit=10
syncLimit=5
dataDir=$dir/data
clientPort=$port
clientPortAddress=127.0.0.1
admin.enableServer=false
4lw.commands.whitelist=ruok,srvr
maxClientCnxns=0
CFG
  java "-Xmx${ZOOKEEPER_HEAP:-512m}" -cp /usr/share/java/zookeeper.jar org.apache.zookeeper.server.quorum.QuorumPeerMain \
    "$dir/zoo.cfg" >"$dir/zookeeper.log" 2>&1 &
  echo $! >"$dir/zookeeper.pid"
  # Ready once `srvr` reports a mode (it serves sessions from then on).
  for _ in $(seq 1 300); do
    if python3 - "$port" <<'PY' 2>/dev/null; then
import socket, sys
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])), timeout=1)
s.sendall(b"srvr")
data = b""
while chunk := s.recv(4096):
    data += chunk
sys.exit(0 if b"Mode: " in data else 1)
PY
      echo "127.0.0.1:$port"
      exit 0
    fi
    sleep 0.1
  done
  echo "ZooKeeper did not start; its log is $dir/zookeeper.log" >&2
  exit 1
  ;;
stop)
  if [ -f "$dir/zookeeper.pid" ]; then
    kill "$(cat "$dir/zookeeper.pid")" 2>/dev/null || true
    rm -f "$dir/zookeeper.pid"
  fi
  ;;
*)
  echo "usage: zookeeper.sh start|stop DIR" >&2
  exit 2
  ;;
esac
