#!/usr/bin/env bash
# make license-check: Rust and Python dependency licences against deny.toml's allow list
# (scripts/license_check.py). The Python side needs pytest and lxml installed, as make test does.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/test-deps.sh
exec python3 scripts/license_check.py "$@"
