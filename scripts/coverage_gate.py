#!/usr/bin/env python3
"""make coverage's gate: the line coverage in a cargo-tarpaulin JSON report against the minimum in
perf/coverage_thresholds.json.

The figure is covered / coverable lines summed over the report's files (tarpaulin has already left
out tests/, examples/ and build/). Below `line_coverage_min_percent` fails (exit 1), naming both
figures. A thresholds file without a numeric minimum is an error (exit 2): an unset gate would pass
everything; only --ratchet may set the first one. The figure of each module (each folder of src/,
and src/'s own files together) is printed below the total, lowest first, to show where tests are
missing; only the total is gated. With --ratchet a measurement whose margin allows it raises the minimum, never lowers
it, to the measurement less RATCHET_MARGIN rounded down to a tenth, which is how the nightly lane
ratchets it; the margin absorbs run-to-run noise (timing-dependent branches in the runner).
Usage: coverage_gate.py REPORT THRESHOLDS [--ratchet]
"""
import datetime
import json
import math
import sys

RATCHET_MARGIN = 0.5


def measure(report):
    """(covered, coverable, percent) from a tarpaulin JSON report."""
    files = report.get("files")
    if not isinstance(files, list):
        raise ValueError("the report has no files list (not a tarpaulin JSON report?)")
    covered = sum(int(f.get("covered", 0)) for f in files)
    coverable = sum(int(f.get("coverable", 0)) for f in files)
    if coverable == 0:
        raise ValueError("the report counts no coverable lines")
    return covered, coverable, 100.0 * covered / coverable


def module_of(path):
    """`src/run` for .../src/run/runner.rs, `src/*.rs` for .../src/lib.rs (a path is a list of
    components in tarpaulin's report, a string in some versions)."""
    parts = list(path) if isinstance(path, list) else str(path).split("/")
    if "src" not in parts:
        return "/".join(parts[:-1]) or "."
    rest = parts[len(parts) - 1 - parts[::-1].index("src") + 1:]
    return f"src/{rest[0]}" if len(rest) > 1 else "src/*.rs"


def by_module(report):
    """[(module, covered, coverable)] with at least one coverable line, lowest percentage first."""
    totals = {}
    for f in report["files"]:
        covered, coverable = totals.get(module_of(f.get("path", [])), (0, 0))
        totals[module_of(f.get("path", []))] = (covered + int(f.get("covered", 0)), coverable + int(f.get("coverable", 0)))
    rows = [(m, c, n) for m, (c, n) in totals.items() if n > 0]
    return sorted(rows, key=lambda row: (row[1] / row[2], row[0]))


def floor_tenth(value):
    return math.floor(value * 10 + 1e-9) / 10


def main(argv):
    args = [a for a in argv if a != "--ratchet"]
    ratchet = len(args) != len(argv)
    if len(args) != 2:
        print(__doc__.rstrip().splitlines()[-1], file=sys.stderr)
        return 2
    report_path, thresholds_path = args
    try:
        with open(report_path) as f:
            report = json.load(f)
        covered, coverable, percent = measure(report)
        with open(thresholds_path) as f:
            thresholds = json.load(f)
        if not isinstance(thresholds, dict):
            raise ValueError(f"{thresholds_path} is not a JSON object")
    except (OSError, ValueError) as err:
        print(f"coverage: {err}", file=sys.stderr)
        return 2
    minimum = thresholds.get("line_coverage_min_percent")
    if isinstance(minimum, bool) or not isinstance(minimum, (int, float)):
        if not ratchet:
            print(f"coverage: {thresholds_path} sets no numeric line_coverage_min_percent", file=sys.stderr)
            return 2
        minimum = float("-inf")
    shown = f"{minimum}%" if minimum > float("-inf") else "not set"
    print(f"coverage: {covered}/{coverable} lines = {percent:.2f}% (minimum {shown})")
    for module, module_covered, module_coverable in by_module(report):
        print(f"  {module:<14} {module_covered:>6}/{module_coverable:<6} {100.0 * module_covered / module_coverable:6.2f}%")
    if percent + 1e-9 < minimum:
        print(f"coverage: {percent:.2f}% is below the minimum {minimum}%", file=sys.stderr)
        return 1
    raised = floor_tenth(percent - RATCHET_MARGIN)
    if ratchet and raised > minimum:
        thresholds.pop("note", None)
        thresholds.update(
            line_coverage_min_percent=raised,
            measured_percent=round(percent, 2),
            measured_on=datetime.date.today().isoformat(),
        )
        with open(thresholds_path, "w") as f:
            json.dump(thresholds, f, indent=2)
            f.write("\n")
        print(f"coverage: minimum raised to {raised}%")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
