#!/usr/bin/env bash
# Run a pinned cargo subcommand, installing it from crates.io (`cargo install --locked`) on first
# use. The pins live here, once, for make sast-fast, license-check, coverage and release-check and
# for the workflows. These tools compile for minutes: CI caches ~/.cargo/bin.
# Usage: scripts/cargo_tool.sh TOOL [ARGS...]      run TOOL (deny, dist, tarpaulin, cyclonedx, auditable)
#        scripts/cargo_tool.sh install TOOL...     only make sure each is installed, print its version
set -euo pipefail

pin() {
    case "$1" in
        deny) crate=cargo-deny version=0.20.2 bin=cargo-deny ;;
        dist) crate=cargo-dist version=0.34.0 bin=dist ;;
        tarpaulin) crate=cargo-tarpaulin version=0.37.5 bin=cargo-tarpaulin ;;
        cyclonedx) crate=cargo-cyclonedx version=0.5.9 bin=cargo-cyclonedx ;;
        auditable) crate=cargo-auditable version=0.7.7 bin=cargo-auditable ;;
        *) echo "cargo_tool: unknown tool $1" >&2; exit 2 ;;
    esac
}

bindir="${CARGO_HOME:-$HOME/.cargo}/bin"

# The installed version, or nothing: cargo's own record of `cargo install` (CARGO_HOME/.crates.toml),
# because the tools do not agree on --version (cargo-auditable passes it to cargo and prints
# cargo's version, so asking it made every run reinstall it).
installed_version() {
    [ -x "$bindir/$bin" ] || return 0
    cargo install --list 2>/dev/null | awk -v crate="$crate" '$1 == crate {sub(/^v/, "", $2); sub(/:$/, "", $2); print $2}'
}

ensure() {
    pin "$1"
    if [ "$(installed_version)" != "$version" ]; then
        echo "cargo_tool: installing $crate $version (once; it compiles for a few minutes)" >&2
        cargo install --locked --force --quiet "$crate" --version "$version" >&2
    fi
}

tool="${1:?usage: cargo_tool.sh TOOL [ARGS...] | cargo_tool.sh install TOOL...}"
shift
if [ "$tool" = install ]; then
    for name in "$@"; do
        ensure "$name"
        echo "$crate $(installed_version)"
    done
    exit 0
fi
ensure "$tool"
if [ "$bin" = dist ]; then exec "$bindir/dist" "$@"; fi
exec "$bindir/$bin" "${bin#cargo-}" "$@"
