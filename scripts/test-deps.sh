#!/usr/bin/env bash
# Make sure the tools the test suite shells out to are present: mandoc (man page lint), jq and curl
# (the docs' console examples), GNU time (tests/compat.rs) and pytest (the Python SDK's tests).
# Installs them (apt-get as root on Debian; pip) when they are missing; otherwise says what to
# install.
set -euo pipefail
if ! python3 -c "import pytest" >/dev/null 2>&1; then
  echo "installing test dependencies: pytest" >&2
  python3 -m pip install -q --disable-pip-version-check pytest >&2
fi
# lxml: the JUnit output is validated against tests/fixtures/junit/junit.xsd (tests/accept_report.rs).
if ! python3 -c "import lxml" >/dev/null 2>&1; then
  echo "installing test dependencies: lxml" >&2
  python3 -m pip install -q --disable-pip-version-check lxml >&2
fi
# jq and curl: the documentation's console examples pipe through them (tests/docs, doc_examples.py).
missing=()
command -v mandoc >/dev/null 2>&1 || missing+=(mandoc)
command -v jq >/dev/null 2>&1 || missing+=(jq)
command -v curl >/dev/null 2>&1 || missing+=(curl)
# GNU time: peak memory and time of a verify under a deflate bomb (tests/compat.rs).
[ -x /usr/bin/time ] || missing+=(time)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing test dependencies: ${missing[*]}" >&2
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
else
  echo "missing test dependencies: ${missing[*]} (install them, e.g. sudo apt-get install ${missing[*]})" >&2
  exit 1
fi
