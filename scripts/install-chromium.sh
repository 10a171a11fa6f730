#!/usr/bin/env bash
# Installs Chromium from Debian's packages if it is missing (the browser tests, tests/cli/browser.rs,
# run `chromium` headless against the web UI).
exec "$(dirname "$0")/apt-install.sh" chromium chromium
