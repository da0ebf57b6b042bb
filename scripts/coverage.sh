#!/usr/bin/env bash
# make coverage: line coverage of src/ by the Rust test suite, with cargo-tarpaulin's llvm engine
# (rustc's -C instrument-coverage; tarpaulin reads the profiles itself, so rustup's llvm-tools,
# which cannot be installed here, are not needed). Bounded: COVERAGE_TIMEOUT seconds overall
# (default 1800) and tarpaulin's per-test timeout.
# scripts/coverage_gate.py compares the figure with perf/coverage_thresholds.json: below
# line_coverage_min_percent fails. With COVERAGE_RATCHET=1 a higher measurement raises the minimum
# (to the measurement less half a point), which is how the nightly lane ratchets it.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
THRESHOLDS=perf/coverage_thresholds.json
OUT=target/coverage
mkdir -p "$OUT"
timeout "${COVERAGE_TIMEOUT:-1800}" scripts/cargo_tool.sh tarpaulin --engine llvm --locked --skip-clean \
    --target-dir target/coverage-build --timeout 300 --out Json --output-dir "$OUT" \
    --exclude-files 'tests/*' --exclude-files 'examples/*' --exclude-files 'build/*' --exclude-files 'build.rs'
ratchet=()
if [ "${COVERAGE_RATCHET:-0}" = 1 ]; then ratchet=(--ratchet); fi
python3 scripts/coverage_gate.py "$OUT/tarpaulin-report.json" "$THRESHOLDS" ${ratchet[@]+"${ratchet[@]}"}
