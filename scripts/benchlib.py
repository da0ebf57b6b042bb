"""Shared by the bench scripts: one result row per measured path, against its floor.

A row is {id, path, value, unit, floor, floor_name, ratio, rss_mib}: `value` is what wrkr took,
`floor` what the machine's own limit for the same work took in the same run (spawning `true`, an
fdatasync, `sha256sum` of the same file, ...), `ratio` = value / floor. Rows are appended as JSON
lines to $WRKR_BENCH_ROWS when the driver (scripts/bench_all.py) sets it, so each script stays
runnable on its own and prints its own figures as before.
"""
from __future__ import annotations

import json
import os
import pathlib
import subprocess

ROOT = pathlib.Path(__file__).resolve().parents[1]


def build_release() -> None:
    """`cargo build --release`, unless the driver already built it (`make bench` builds once, then
    sets WRKR_BENCH_BUILT, so no script rebuilds the binary the others measured), and unless
    WRKR_BIN names the binary to measure (another build, e.g. main's for a before/after)."""
    if not os.environ.get("WRKR_BENCH_BUILT") and not os.environ.get("WRKR_BIN"):
        subprocess.run(["cargo", "build", "--release", "-q", "--locked"], cwd=ROOT, check=True)


def record(row_id: str, path: str, value: float, unit: str, floor: float | None = None,
           floor_name: str = "", rss_mib: float | None = None) -> dict:
    """Append one result row (and return it)."""
    row = {
        "id": row_id,
        "path": path,
        "value": round(value, 6),
        "unit": unit,
        "floor": None if floor is None else round(floor, 6),
        "floor_name": floor_name,
        "ratio": None if not floor else round(value / floor, 3),
        "rss_mib": None if rss_mib is None else round(rss_mib, 1),
    }
    target = os.environ.get("WRKR_BENCH_ROWS")
    if target:
        with open(target, "a", encoding="utf-8") as f:
            f.write(json.dumps(row, sort_keys=True) + "\n")
    return row
