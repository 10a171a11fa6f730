#!/usr/bin/env bash
# Installs the published Jones 0.5.x Python client (PyPI `jones`, the last release there) into a
# virtual environment at target/jones-client, for the test that runs its nodemap parser on what
# jones-sync writes. Only the package itself: its parser is pure Python (the test stubs kazoo, which
# it imports for watching only).
set -euo pipefail
cd "$(dirname "$0")/.."

venv=target/jones-client
if [ -x "$venv/bin/python" ] && "$venv/bin/python" -c 'import importlib.util, sys; sys.exit(importlib.util.find_spec("jones") is None)'; then
  exit 0
fi
python3 -m venv "$venv"
"$venv/bin/pip" install --quiet --disable-pip-version-check --no-deps 'jones==0.5.4'
