#!/usr/bin/env bash
# The release's CycloneDX SBOM, written into DIR (target/distrib) as wrkr.cdx.xml.
# dist 0.34 with `cargo-cyclonedx = true` announces wrkr.cdx.xml among the global artifacts but
# writes it nowhere (a clean-clone `make release-check` found the release assets without an SBOM),
# so the release runs `cargo cyclonedx` itself: it writes the file beside Cargo.toml, and it is
# moved from there. Used by make release-check and the release workflow's global job.
# Usage: scripts/release_sbom.sh DIR
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
DIR="${1:?usage: scripts/release_sbom.sh DIR}"
cd "$ROOT"
rm -f wrkr.cdx.xml
scripts/cargo_tool.sh cyclonedx --format xml --override-filename wrkr.cdx >&2
[ -s wrkr.cdx.xml ] || { echo "release-sbom: cargo cyclonedx wrote no wrkr.cdx.xml" >&2; exit 1; }
mv wrkr.cdx.xml "$DIR/wrkr.cdx.xml"
echo "release-sbom: $DIR/wrkr.cdx.xml"
