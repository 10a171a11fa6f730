#!/usr/bin/env bash
# Installs `man` (Debian's man-db) if it is missing: a test renders `jones-sync man` with `man -l`.
exec "$(dirname "$0")/apt-install.sh" man man-db
