#!/usr/bin/env bash
# Make sure the tools the test suite shells out to are present: mandoc (man page lint).
# Installs them with apt-get when running as root on Debian; otherwise says what to install.
set -euo pipefail
missing=()
command -v mandoc >/dev/null 2>&1 || missing+=(mandoc)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing test dependencies: ${missing[*]}" >&2
  apt-get update -qq >/dev/null
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
else
  echo "missing test dependencies: ${missing[*]} (install them, e.g. sudo apt-get install ${missing[*]})" >&2
  exit 1
fi
