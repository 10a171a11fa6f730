#!/usr/bin/env bash
# Installs `man` (Debian's man-db) if it is missing: a test renders `jones-sync man` with `man -l`.
set -euo pipefail

if command -v man >/dev/null; then
  exit 0
fi
sudo=""
if [ "$(id -u)" != 0 ]; then
  sudo="sudo"
fi
echo "Installing man (Debian package man-db)..." >&2
export DEBIAN_FRONTEND=noninteractive
if ! $sudo apt-get install -y -qq man-db >/dev/null; then
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq man-db >/dev/null
fi
command -v man >/dev/null
