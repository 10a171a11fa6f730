#!/usr/bin/env bash
# Installs Apache ZooKeeper from Debian's packages if it is missing (the tests, the demo and the
# benchmark start their own server from /usr/share/java/zookeeper.jar; Java must be installed).
set -euo pipefail

sudo=""
if [ "$(id -u)" != 0 ]; then
  sudo="sudo"
fi
# The TLS tests make their certificates with openssl.
if ! command -v openssl >/dev/null; then
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq openssl >/dev/null ||
    { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq openssl >/dev/null; }
fi
if [ -f /usr/share/java/zookeeper.jar ]; then
  exit 0
fi
echo "Installing ZooKeeper (Debian package zookeeper)..." >&2
export DEBIAN_FRONTEND=noninteractive
if ! $sudo apt-get install -y -qq zookeeper >/dev/null; then
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq zookeeper >/dev/null
fi
test -f /usr/share/java/zookeeper.jar
