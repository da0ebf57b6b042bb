#!/usr/bin/env bash
# make sast-fast: the local security gate, each part offline and in about a minute once the tools
# are installed.
#   1. cargo deny check licenses bans sources (deny.toml); advisories run in CI (network).
#   2. clippy on the shipped code with security-relevant lints denied on top of the usual set:
#      no unwrap/expect (a panic on input is a crash), no todo!/unimplemented!/dbg!, no
#      mem::forget, no unwrap in a function that returns Result, no large stack arrays, and
#      every unsafe block documented.
#   3. a secret scan of the tracked files (scripts/secret_scan.py).
#   4. every unsafe site listed with its SAFETY justification (scripts/unsafe_audit.py; fails on one
#      without).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
echo "## sast-fast 1/4: cargo deny check licenses bans sources"
scripts/cargo_tool.sh deny --locked check --hide-inclusion-graph licenses bans sources
echo "## sast-fast 2/4: clippy security lints (lib and binary)"
cargo clippy --locked --lib --bins -- -D warnings \
    -D clippy::unwrap_used -D clippy::expect_used -D clippy::todo -D clippy::unimplemented \
    -D clippy::dbg_macro -D clippy::mem_forget -D clippy::unwrap_in_result \
    -D clippy::large_stack_arrays -D clippy::undocumented_unsafe_blocks
echo "## sast-fast 3/4: secret scan"
python3 scripts/secret_scan.py
echo "## sast-fast 4/4: unsafe sites and their justifications"
python3 scripts/unsafe_audit.py src build build.rs
echo "sast-fast: passed"
