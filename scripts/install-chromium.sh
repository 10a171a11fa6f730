#!/usr/bin/env bash
# Installs Chromium from Debian's packages if it is missing (the browser tests, tests/cli/browser.rs,
# run `chromium` headless against the web UI).
set -euo pipefail

if command -v chromium >/dev/null; then
  exit 0
fi
sudo=""
if [ "$(id -u)" != 0 ]; then
  sudo="sudo"
fi
echo "Installing Chromium (Debian package chromium)..." >&2
export DEBIAN_FRONTEND=noninteractive
if ! $sudo apt-get install -y -qq chromium >/dev/null; then
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq chromium >/dev/null
fi
command -v chromium >/dev/null
