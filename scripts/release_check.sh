#!/usr/bin/env bash
# make release-check: what a release would ship, built and checked locally.
#   1. cargo package: the crate holds what `include` promises and builds from the tarball alone
#      (that build is also the "source build without git" case of `wrkr version`);
#   2. dist build --artifacts=local for this host (dist-workspace.toml: archive, checksums,
#      cargo-auditable binary), then --artifacts=global for this host the way
#      .github/workflows/release.yml does it (shell installer, Homebrew formula, sha256.sum, source
#      tarball, from the local build's manifest), the CycloneDX SBOM (scripts/release_sbom.sh),
#      then scripts/verify_release_assets.sh on it all.
# The other platforms are built by the release workflow; attestations exist only on GitHub.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
host="$(rustc -vV | sed -n 's/^host: //p')"
echo "## release-check 1/2: cargo publish --dry-run"
cargo publish --dry-run --locked --allow-dirty
listing="$(cargo package --list --locked --allow-dirty)"
for want in LICENSE README.md CHANGELOG.md build.rs schemas/v1/lease/lease.schema.json man/wrkr.1 completions/wrkr.bash; do
    grep -qx "$want" <<<"$listing" || { echo "release-check: the crate does not ship $want" >&2; exit 1; }
done
echo "## release-check 2/2: dist build --artifacts=local,global --target $host"
# dist writes into the cargo target directory, which CARGO_TARGET_DIR may move.
distrib="$(cargo metadata --locked --format-version 1 --no-deps | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')/distrib"
rm -rf "$distrib"
# dist runs `cargo auditable` and `cargo cyclonedx` itself: both must be installed first.
scripts/cargo_tool.sh install dist auditable cyclonedx
# The global build takes the archives' checksums from the local build's manifest, found in the
# output directory, as the release workflow's global job does; without it the installer and the
# formula would pin nothing.
scripts/cargo_tool.sh dist build --artifacts=local --target "$host" --output-format=json > "$distrib.manifest.json"
mv "$distrib.manifest.json" "$distrib/$host-dist-manifest.json"
scripts/cargo_tool.sh dist build --artifacts=global --target "$host"
rm "$distrib/$host-dist-manifest.json"
scripts/release_sbom.sh "$distrib"
REQUIRE_AUDITABLE=1 scripts/verify_release_assets.sh "$distrib"
