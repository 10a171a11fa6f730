#!/usr/bin/env bash
# The test command: installs ZooKeeper if needed (the integration tests start their own server
# from it), Chromium (the browser tests run it headless), man (the manual page is rendered with it)
# and the published Jones 0.5.x client
# (PyPI), then runs every test.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-zookeeper.sh
scripts/install-chromium.sh
scripts/install-man.sh
scripts/install-jones-client.sh
cargo test --locked "$@"
# TLS is a cargo feature (it builds a crypto library): its tests run against a TLS server too.
cargo test --locked --features tls --test cli -- tls::
