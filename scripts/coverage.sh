#!/usr/bin/env bash
# make coverage: line coverage of src/ by the Rust test suite, with cargo-tarpaulin's llvm engine
# (rustc's -C instrument-coverage; tarpaulin reads the profiles itself, so rustup's llvm-tools,
# which cannot be installed here, are not needed). Bounded: COVERAGE_TIMEOUT seconds overall
# (default 1800) and tarpaulin's per-test timeout.
# Compares with perf/coverage_thresholds.json: below line_coverage_min_percent fails. With
# COVERAGE_RATCHET=1 a higher measurement raises the minimum (to the measurement rounded down),
# which is how the nightly lane ratchets it.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
THRESHOLDS=perf/coverage_thresholds.json
OUT=target/coverage
mkdir -p "$OUT"
timeout "${COVERAGE_TIMEOUT:-1800}" scripts/cargo_tool.sh tarpaulin --engine llvm --locked --skip-clean \
    --target-dir target/coverage-build --timeout 300 --out Json --output-dir "$OUT" \
    --exclude-files 'tests/*' --exclude-files 'examples/*' --exclude-files 'build/*' --exclude-files 'build.rs'
python3 - "$OUT/tarpaulin-report.json" "$THRESHOLDS" "${COVERAGE_RATCHET:-0}" <<'PY'
import datetime, json, math, sys
report, thresholds_path, ratchet = sys.argv[1], sys.argv[2], sys.argv[3] == "1"
data = json.load(open(report))
covered = sum(f.get("covered", 0) for f in data["files"])
coverable = sum(f.get("coverable", 0) for f in data["files"])
percent = 100.0 * covered / coverable if coverable else 0.0
thresholds = json.load(open(thresholds_path))
minimum = thresholds.get("line_coverage_min_percent")
print(f"coverage: {covered}/{coverable} lines = {percent:.2f}% (minimum {minimum if minimum is not None else 'not set'})")
if minimum is not None and percent + 1e-9 < minimum:
    print(f"coverage: {percent:.2f}% is below the minimum {minimum}%", file=sys.stderr)
    sys.exit(1)
if ratchet and (minimum is None or math.floor(percent) > minimum):
    thresholds.update(line_coverage_min_percent=math.floor(percent), measured_percent=round(percent, 2),
                      measured_on=datetime.date.today().isoformat())
    thresholds.pop("note", None)
    with open(thresholds_path, "w") as f:
        json.dump(thresholds, f, indent=2)
        f.write("\n")
    print(f"coverage: minimum raised to {math.floor(percent)}%")
PY
