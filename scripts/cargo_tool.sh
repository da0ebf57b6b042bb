#!/usr/bin/env bash
# Run a pinned cargo subcommand, installing it from crates.io (`cargo install --locked`) on first
# use. The pins live here, once, for make sast-fast, license-check, coverage and release-check and
# for the workflows. These tools compile for minutes: CI caches ~/.cargo/bin.
# Usage: scripts/cargo_tool.sh TOOL [ARGS...]   (TOOL: deny, dist, tarpaulin, cyclonedx, auditable)
set -euo pipefail
tool="${1:?usage: cargo_tool.sh TOOL [ARGS...]}"
shift
case "$tool" in
    deny) crate=cargo-deny version=0.20.2 bin=cargo-deny ;;
    dist) crate=cargo-dist version=0.34.0 bin=dist ;;
    tarpaulin) crate=cargo-tarpaulin version=0.37.5 bin=cargo-tarpaulin ;;
    cyclonedx) crate=cargo-cyclonedx version=0.5.9 bin=cargo-cyclonedx ;;
    auditable) crate=cargo-auditable version=0.7.7 bin=cargo-auditable ;;
    *) echo "cargo_tool: unknown tool $tool" >&2; exit 2 ;;
esac
bindir="${CARGO_HOME:-$HOME/.cargo}/bin"
have="$("$bindir/$bin" --version 2>/dev/null | awk '{print $2}' || true)"
if [ "$have" != "$version" ]; then
    echo "cargo_tool: installing $crate $version (once; it compiles for a few minutes)" >&2
    cargo install --locked --quiet "$crate" --version "$version" >&2
fi
if [ "$bin" = dist ]; then exec "$bindir/dist" "$@"; fi
exec "$bindir/$bin" "${bin#cargo-}" "$@"
