#!/usr/bin/env python3
"""`make bench`: runs every bench script, then prints one table of every measured path against its
floor and writes it as JSON to target/bench/results.json (the input of scripts/check_perf_budgets).

Each script measures its floor in the same run (see scripts/benchlib.py), so a ratio means the
same on any machine; absolute figures are printed too, with the machine's core count. Not a test:
nothing here fails on a slow machine; scripts/check_perf_budgets is the gate, in the nightly lane.
"""
from __future__ import annotations

import json
import os
import pathlib
import platform
import subprocess
import sys

ROOT = pathlib.Path(__file__).resolve().parents[1]
# bench_pg.py starts its own PostgreSQL cluster: `make bench` runs it after this table, on the same
# binary (`make bench-pg` runs it alone).
SCRIPTS = ["bench.py"] + sorted(p.name for p in (ROOT / "scripts").glob("bench_*.py")
                                if p.name not in ("bench_all.py", "bench_pg.py"))


def main() -> int:
    out_dir = pathlib.Path(os.environ.get("CARGO_TARGET_DIR") or ROOT / "target") / "bench"
    out_dir.mkdir(parents=True, exist_ok=True)
    rows_path = out_dir / "rows.jsonl"
    rows_path.write_text("")
    # `make bench` has just built the release binary: no script rebuilds it.
    env = {**os.environ, "WRKR_BENCH_ROWS": str(rows_path), "WRKR_BENCH_BUILT": "1"}
    only = set(sys.argv[1:])
    for script in SCRIPTS:
        if only and script not in only:
            continue
        print(f"\n## {script}", flush=True)
        proc = subprocess.run([sys.executable, str(ROOT / "scripts" / script)], env=env, check=False)
        if proc.returncode != 0:
            print(f"bench: {script} failed (exit {proc.returncode})", file=sys.stderr)
            return 1
    rows = [json.loads(line) for line in rows_path.read_text().splitlines() if line.strip()]
    results = {
        "machine": {"cores": os.cpu_count(), "system": platform.system(), "machine": platform.machine()},
        "rows": rows,
    }
    (out_dir / "results.json").write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    print(f"\n## summary ({os.cpu_count()} cores): every path against the floor measured in the same run\n")
    print(f"{'path':<44} {'value':>12} {'floor':>12}  {'floor is':<34} {'ratio':>7} {'RSS MiB':>8}")
    for r in rows:
        floor = "" if r["floor"] is None else f"{r['floor']:.4g} {r['unit']}"
        ratio = "" if r["ratio"] is None else f"{r['ratio']:.2f}x"
        rss = "" if r["rss_mib"] is None else f"{r['rss_mib']:.1f}"
        print(f"{r['path']:<44} {r['value']:>9.4g} {r['unit']:<2} {floor:>12}  {r['floor_name']:<34} {ratio:>7} {rss:>8}")
    print(f"\nwritten: {out_dir / 'results.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
