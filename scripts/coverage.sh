#!/usr/bin/env bash
# make coverage: line coverage of src/ by the Rust test suite, with cargo-tarpaulin's llvm engine
# (rustc's -C instrument-coverage; tarpaulin reads the profiles itself, so rustup's llvm-tools,
# which cannot be installed here, are not needed). Bounded: COVERAGE_TIMEOUT seconds overall
# (default 3600; a first run builds every crate instrumented: 39 minutes on the shared 2-core
# machine) and tarpaulin's per-test timeout.
# scripts/coverage_gate.py compares the figure with perf/coverage_thresholds.json: below
# line_coverage_min_percent fails. With COVERAGE_RATCHET=1 a higher measurement raises the minimum
# (to the measurement less half a point), which is how the nightly lane ratchets it.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
THRESHOLDS=perf/coverage_thresholds.json
OUT=target/coverage
mkdir -p "$OUT"
# --no-fail-fast: a failing test still fails the target, after the figure is measured and shown.
# The target dir is absolute because tarpaulin derives LLVM_PROFILE_FILE from it, and the tests
# hand that to binaries they run in sandbox directories (tests/support: env_clear_but_coverage).
rm -f "$OUT/tarpaulin-report.json"  # a run that fails early must not be gated on an older report
tests_rc=0
timeout "${COVERAGE_TIMEOUT:-3600}" scripts/cargo_tool.sh tarpaulin --engine llvm --locked --skip-clean --no-fail-fast \
    --target-dir "$ROOT/target/coverage-build" --timeout 300 --out Json --output-dir "$OUT" \
    --exclude-files 'tests/*' --exclude-files 'examples/*' --exclude-files 'build/*' --exclude-files 'build.rs' \
    || tests_rc=$?
ratchet=()
if [ "${COVERAGE_RATCHET:-0}" = 1 ] && [ "$tests_rc" = 0 ]; then ratchet=(--ratchet); fi
python3 scripts/coverage_gate.py "$OUT/tarpaulin-report.json" "$THRESHOLDS" ${ratchet[@]+"${ratchet[@]}"}
if [ "$tests_rc" != 0 ]; then
    echo "coverage: cargo tarpaulin failed (exit $tests_rc): a test failed or it timed out; see above" >&2
    exit "$tests_rc"
fi
