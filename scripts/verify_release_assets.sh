#!/usr/bin/env bash
# Check a release artifact directory (dist's target/distrib, or a downloaded GitHub release):
#   - every archive (.tar.xz, .tar.gz, .zip) has a sha256 that matches (its .sha256 file, or a line
#     of sha256.sum), and every .sha256 file matches its archive;
#   - when sha256.sum is there (dist's checksum of the lot), it lists every archive;
#   - every archive holds wrkr-<target>/wrkr, README.md, LICENSE, man/ and completions/, except
#     dist's source.tar.gz, which holds the crate's source (Cargo.toml at its top);
#   - the shell installer (wrkr-installer.sh), when there, parses and offers every archive beside it;
#   - the installer and the formula link every pipe tool (`wrkr --list`) to the binary;
#   - the Homebrew formula (wrkr.rb), when there, pins every archive it names by the archive's sha256
#     (scripts/publish_homebrew_formula.py --check; the version is the one in Cargo.toml or $TAG);
#   - a CycloneDX SBOM (*.cdx.json or *.cdx.xml) is present and parses, and names its components;
#   - the host's archive's binary runs `version` and `demo` in a scratch store;
#   - with REQUIRE_AUDITABLE=1 (release-check, release.yml: dist-workspace.toml asks for
#     cargo-auditable), that binary carries the dependency list in its `.dep-v0` section (ELF; a
#     Mach-O binary is reported as not checked);
#   - that binary is smaller than MAX_BINARY_BYTES (default 8 MiB, issue 16's goal: with every
#     feature, PostgreSQL TLS included, the release binary is about 6.4 MB since wrkr validates
#     its schemas itself).
# Prints what it checked and the sizes; exits 1 naming the first problem.
# Usage: scripts/verify_release_assets.sh DIR
set -euo pipefail
DIR="$(realpath "${1:?usage: verify_release_assets.sh DIR}")"
HERE="$(cd "$(dirname "$0")" && pwd)"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
fail() { echo "verify-release-assets: $*" >&2; exit 1; }
say() { echo "verify-release-assets: $*"; }
sha256() { (sha256sum "$1" 2>/dev/null || shasum -a 256 "$1") | awk '{print $1}'; }

mapfile -t archives < <(cd "$DIR" && ls -1 -- *.tar.xz *.tar.gz *.zip 2>/dev/null | sort)
[ ${#archives[@]} -gt 0 ] || fail "no archives in $DIR"
for archive in "${archives[@]}"; do
    actual="$(sha256 "$DIR/$archive")"
    expected=""
    if [ -f "$DIR/$archive.sha256" ]; then
        expected="$(awk '{print $1; exit}' "$DIR/$archive.sha256")"
    elif [ -f "$DIR/sha256.sum" ]; then
        expected="$(awk -v name="$archive" '{n=$2; sub(/^\*/, "", n)} n == name {print $1}' "$DIR/sha256.sum")"
    fi
    [ -n "$expected" ] || fail "$archive has no checksum (.sha256 or sha256.sum)"
    [ "$expected" = "$actual" ] || fail "$archive: sha256 $actual, checksum file says $expected"
    if [ -f "$DIR/sha256.sum" ]; then
        grep -q " \*\{0,1\}$archive\$" "$DIR/sha256.sum" || fail "$archive is not in sha256.sum"
        grep " \*\{0,1\}$archive\$" "$DIR/sha256.sum" | grep -q "^$actual " || fail "$archive: sha256.sum disagrees"
    fi

    name="${archive%.tar.xz}"; name="${name%.tar.gz}"; name="${name%.zip}"
    case "$archive" in
        *.zip) listing="$(python3 -c 'import sys, zipfile; print("\n".join(zipfile.ZipFile(sys.argv[1]).namelist()))' "$DIR/$archive")" ;;
        *) listing="$(tar -tf "$DIR/$archive")" ;;
    esac
    if [ "$archive" = source.tar.gz ]; then
        grep -qx '[^/]*/Cargo.toml' <<<"$listing" || fail "source.tar.gz does not hold the crate (no Cargo.toml at its top)"
        say "$archive: sha256 ok, the crate's source ($(grep -c . <<<"$listing") entries)"
        continue
    fi
    for want in "$name/wrkr" "$name/README.md" "$name/LICENSE" "$name/man/" "$name/completions/"; do
        grep -qx "$want\(\.exe\)\{0,1\}\|$want.*" <<<"$listing" || fail "$archive does not hold $want"
    done
    say "$archive: sha256 ok, holds wrkr, README.md, LICENSE, man/, completions/ ($(stat -c %s "$DIR/$archive" 2>/dev/null || stat -f %z "$DIR/$archive") bytes)"
done

mapfile -t sboms < <(cd "$DIR" && ls -1 -- *.cdx.json *.cdx.xml 2>/dev/null)
[ ${#sboms[@]} -gt 0 ] || fail "no CycloneDX SBOM (*.cdx.json or *.cdx.xml) in $DIR"
for sbom in "${sboms[@]}"; do
    count="$(python3 - "$DIR/$sbom" <<'PY'
import json, sys
import xml.etree.ElementTree as ET
path = sys.argv[1]
if path.endswith(".json"):
    doc = json.load(open(path))
    assert doc.get("bomFormat") == "CycloneDX", "bomFormat is not CycloneDX"
    def walk(components):
        return sum(1 + walk(c.get("components", [])) for c in components)
    print(walk(doc.get("components", [])))
else:
    root = ET.parse(path).getroot()
    assert root.tag.endswith("}bom"), "root element is not a CycloneDX bom"
    print(sum(1 for e in root.iter() if e.tag.endswith("}component")))
PY
)" || fail "$sbom does not parse as a CycloneDX SBOM"
    [ "$count" -gt 0 ] || fail "$sbom lists no components"
    say "$sbom: CycloneDX, $count components"
done

installer="$DIR/wrkr-installer.sh"
if [ -f "$installer" ]; then
    sh -n "$installer" || fail "wrkr-installer.sh does not parse"
    for archive in "${archives[@]}"; do
        [ "$archive" = source.tar.gz ] || grep -qF "\"$archive\"" "$installer" || fail "wrkr-installer.sh does not offer $archive"
    done
    say "wrkr-installer.sh: parses, offers every archive"
fi

case "$(uname -s)-$(uname -m)" in
    Linux-x86_64) host=x86_64-unknown-linux-gnu ;;
    Linux-aarch64) host=aarch64-unknown-linux-gnu ;;
    Darwin-x86_64) host=x86_64-apple-darwin ;;
    Darwin-arm64) host=aarch64-apple-darwin ;;
    *) host=none ;;
esac
hosted=""
for archive in "${archives[@]}"; do case "$archive" in wrkr-"$host".*) hosted="$archive" ;; esac; done
[ -n "$hosted" ] || fail "no archive for this host ($host) to run"
case "$hosted" in *.zip) python3 -m zipfile -e "$DIR/$hosted" "$WORK" ;; *) tar -xf "$DIR/$hosted" -C "$WORK" ;; esac
bin="$WORK/wrkr-$host/wrkr"
chmod +x "$bin"
version="$("$bin" --json version)" || fail "$hosted: wrkr version failed"
# The installer and the formula link every pipe tool to the binary, as make install does.
tools="$("$bin" --list)" || fail "$hosted: wrkr --list failed"
for installs in wrkr-installer.sh wrkr.rb; do
    [ -f "$DIR/$installs" ] || continue
    for tool in $tools; do
        grep -qF "\"$tool\"" "$DIR/$installs" || fail "$installs does not link $tool (dist-workspace.toml: bin-aliases)"
    done
    say "$installs: links the $(wc -w <<<"$tools") pipe tools"
done
if [ -f "$DIR/wrkr.rb" ]; then
    released="$(python3 -c 'import json, sys; print(json.load(sys.stdin)["version"])' <<<"$version")"
    python3 "$HERE/publish_homebrew_formula.py" --check --version "${TAG:-$released}" "$DIR/wrkr.rb" ||
        fail "wrkr.rb does not match the archives"
fi
mkdir -p "$WORK/run"
(cd "$WORK/run" && WRKR_HOME="$WORK/run/store" "$bin" demo > demo.txt) || fail "$hosted: wrkr demo failed"
grep -q '^footer=' "$WORK/run/demo.txt" || fail "$hosted: wrkr demo printed no footer"
auditable="$(python3 "$HERE/auditable_section.py" "$bin")" || fail "$hosted: cannot read the binary's sections"
case "$auditable" in
    present) say "$hosted: cargo auditable dependency list present (.dep-v0)" ;;
    absent) [ "${REQUIRE_AUDITABLE:-0}" != 1 ] || fail "$hosted: the binary carries no cargo auditable dependency list (.dep-v0)"
        say "$hosted: no cargo auditable dependency list (not required)" ;;
    *) [ "${REQUIRE_AUDITABLE:-0}" != 1 ] || [ "$(uname -s)" = Darwin ] || fail "$hosted: the binary is not an ELF file ($auditable)"
       say "$hosted: cargo auditable data not checked ($auditable)" ;;
esac
bytes="$(stat -c %s "$bin" 2>/dev/null || stat -f %z "$bin")"
# Issue 16 wants the release binary, every feature included, under 8 MiB; it is 6,433,024 bytes
# (x86_64 Linux, pg-tls on), so a dependency that bloats it by ~1.9 MB fails here.
budget="${MAX_BINARY_BYTES:-8388608}"
[ "$bytes" -lt "$budget" ] || fail "$hosted: the binary is $bytes bytes, over the size budget of $budget (MAX_BINARY_BYTES)"
say "$hosted: wrkr version $version; wrkr demo ok; binary $bytes bytes ($((budget - bytes)) under the $budget budget)"

say "ok: ${#archives[@]} archives, ${#sboms[@]} SBOM$([ -f "$installer" ] && echo ", installer")$([ -f "$DIR/wrkr.rb" ] && echo ", Homebrew formula")"
