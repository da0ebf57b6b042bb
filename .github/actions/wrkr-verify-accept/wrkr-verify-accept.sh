#!/usr/bin/env bash
# The shell steps of the wrkr-verify-accept composite action (action.yml beside this file), kept in
# a script so they run and are tested outside GitHub (tests/release.rs, with a fake
# GITHUB_STEP_SUMMARY and a file:// release base).
#   1. install wrkr WRKR_VERSION for this runner from WRKR_RELEASE_BASE, refusing an archive whose
#      sha256 is not WRKR_SHA256 (nothing from it runs);
#   2. wrkr verify WRKR_JOBPACK;
#   3. with WRKR_ACCEPT_CONFIG, wrkr-accept on the pack (JUnit into WRKR_REPORTS_DIR);
#   4. wrkr report github on the pack: the summary goes to $GITHUB_STEP_SUMMARY and the reports dir.
# Exits with verify's exit code when the pack does not verify, else with acceptance's (5 when a
# check failed), after the summary is written.
set -euo pipefail
: "${WRKR_VERSION:?} ${WRKR_SHA256:?} ${WRKR_JOBPACK:?} ${WRKR_RELEASE_BASE:?}"
REPORTS="${WRKR_REPORTS_DIR:-wrkr-out/reports}"
SUMMARY="${GITHUB_STEP_SUMMARY:-/dev/null}"
mkdir -p "$REPORTS"

case "$(uname -s)-$(uname -m)" in
    Linux-x86_64) target=x86_64-unknown-linux-gnu ;;
    Linux-aarch64 | Linux-arm64) target=aarch64-unknown-linux-gnu ;;
    Darwin-x86_64) target=x86_64-apple-darwin ;;
    Darwin-arm64) target=aarch64-apple-darwin ;;
    *) echo "wrkr-verify-accept: no wrkr release for $(uname -s) $(uname -m)" >&2; exit 1 ;;
esac
install_dir="${RUNNER_TEMP:-${TMPDIR:-/tmp}}/wrkr-$WRKR_VERSION"
mkdir -p "$install_dir"
archive="$install_dir/wrkr-$target.tar.xz"
curl --proto '=https,file' --tlsv1.2 -fsSL -o "$archive" "$WRKR_RELEASE_BASE/v$WRKR_VERSION/wrkr-$target.tar.xz"
actual="$( (sha256sum "$archive" 2>/dev/null || shasum -a 256 "$archive") | awk '{print $1}')"
if [ "$actual" != "$WRKR_SHA256" ]; then
    echo "wrkr-verify-accept: checksum mismatch for wrkr-$target.tar.xz: expected $WRKR_SHA256, got $actual" >&2
    rm -f "$archive"
    exit 1
fi
tar -xJf "$archive" -C "$install_dir"
wrkr="$install_dir/wrkr-$target/wrkr"
echo "installed $("$wrkr" version) (sha256 $actual)"

verify_code=0
"$wrkr" --json verify "$WRKR_JOBPACK" > "$REPORTS/verify.json" || verify_code=$?
{
    echo "## wrkr: $(basename "$WRKR_JOBPACK")"
    echo
    if [ "$verify_code" = 0 ]; then echo "- verify: **ok**"; else echo "- verify: **failed** (exit $verify_code)"; fi
} >> "$SUMMARY"
if [ "$verify_code" != 0 ]; then
    cat "$REPORTS/verify.json" >&2 || true
    exit "$verify_code"
fi

accept_code=0
if [ -n "${WRKR_ACCEPT_CONFIG:-}" ]; then
    "$wrkr" accept --config "$WRKR_ACCEPT_CONFIG" --checks --junit "$REPORTS/accept.junit.xml" "$WRKR_JOBPACK" \
        > "$REPORTS/accept.jsonl" || accept_code=$?
    if [ "$accept_code" = 0 ]; then echo "- acceptance: **passed**" >> "$SUMMARY"; else echo "- acceptance: **failed** (exit $accept_code)" >> "$SUMMARY"; fi
else
    echo "- acceptance: not configured" >> "$SUMMARY"
fi
echo >> "$SUMMARY"
out_dir="$(dirname "$REPORTS")"
"$wrkr" report github "$WRKR_JOBPACK" --out-dir "$out_dir" > "$REPORTS/report.txt"
exit "$accept_code"
