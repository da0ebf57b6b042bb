#!/usr/bin/env python3
"""Benchmark wrkr-pack and wrkr-verify on synthetic jobs (measures; does not gate; not run by make test).

Builds the release binary, writes a record stream for a synthetic job of N steps (4 events and
1 checkpoint per step, plus an approval every 500 steps), then reports, for 2,500 and 25,000 steps:
wall time and peak RSS of `wrkr-pack` and `wrkr-verify`, and verify throughput as a ratio to
`sha256sum` over the same pack in the same run. Goals: verify of a 2,500-step pack under 100 ms;
peak RSS flat as the job grows (under 32 MiB at 25,000 steps).

    python3 scripts/bench_pack.py            # uses $CARGO_TARGET_DIR or ./target
"""

import json
import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
BIN = os.path.join(TARGET, "release", "wrkr")
T0 = 1_790_000_000


def ts(sec, nanos=0):
    s = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(sec))
    if nanos:
        s += "." + f"{nanos:09d}".rstrip("0")
    return s + "Z"


def env(kind, sec, nanos=0, producer="bench"):
    return {"schema_id": kind, "schema_version": "v1", "created_at": ts(sec, nanos), "producer_version": producer}


def records(path, steps, job="job_bench"):
    seq = 0
    with open(path, "w") as f:
        w = lambda v: f.write(json.dumps(v, separators=(",", ":")) + "\n")
        for step in range(steps):
            base = T0 + step
            for k, typ in enumerate(["adapter_step", "tool_call", "checkpoint_emitted", "budget_checked"]):
                seq += 1
                payload = {"step": step, "executed": True, "detail": "x" * 40} if typ != "checkpoint_emitted" else {"type": "progress"}
                w(dict(env("wrkr.event", base, k * 1000), event_id=f"evt_{seq}", job_id=job, type=typ, executed=True, payload=payload))
                if typ == "checkpoint_emitted":
                    cp = dict(env("wrkr.checkpoint", base, k * 1000, "dev"), checkpoint_id=f"cp_{seq}", job_id=job, type="progress",
                              summary=f"step {step} done", status="running",
                              budget_state={"wall_time_seconds": step, "retry_count": 0, "step_count": step + 1, "tool_call_count": step},
                              artifacts_delta={"added": [f"out/{step}.txt"] if step % 100 == 0 else [], "changed": [], "removed": []},
                              reason_codes=[])
                    w(cp)
                    if step % 500 == 0:
                        w(dict(env("wrkr.approval_record", base, 5000, "dev"), job_id=job, checkpoint_id=f"cp_{seq}", reason="ok", approved_by="bench"))
        end = T0 + steps
        w(dict(env("wrkr.job", end), job_id=job, name=job, status="completed", budgets={"retry_count": 0, "step_count": steps, "tool_call_count": steps}))
        w(dict(env("wrkr.artifacts_manifest", end), job_id=job, capture_mode="reference-only", artifacts=[]))


sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_export import best, run  # noqa: E402  (one measuring helper for every bench script)
from benchlib import build_release, record  # noqa: E402


def main():
    build_release()
    with tempfile.TemporaryDirectory() as tmp:
        for tool in ("wrkr-pack", "wrkr-verify"):
            os.symlink(BIN, os.path.join(tmp, tool))
        print(f"{'steps':>7} {'records':>9} {'pack MiB':>9} {'pack s':>8} {'pack RSS':>9} {'verify s':>9} {'verify RSS':>11} {'sha256sum s':>12} {'ratio':>6}")
        for steps in (2_500, 25_000):
            rec = os.path.join(tmp, f"r{steps}.jsonl")
            records(rec, steps)
            nrec = sum(1 for _ in open(rec))
            zip_path = os.path.join(tmp, f"p{steps}.zip")

            def do_pack():
                with open(rec, "rb") as i, open(zip_path, "wb") as o:
                    return run([os.path.join(tmp, "wrkr-pack")], stdin=i, stdout=o)

            pw, prss, pc = best(3, do_pack)
            assert pc == 0, "wrkr-pack failed"
            vw, vrss, vc = best(5, lambda: run([os.path.join(tmp, "wrkr-verify"), zip_path]))
            assert vc == 0, "wrkr-verify failed"
            sw, _, _ = best(5, lambda: run(["sha256sum", zip_path]))
            size = os.path.getsize(zip_path) / (1 << 20)
            print(f"{steps:>7} {nrec:>9} {size:>9.1f} {pw:>8.3f} {prss:>7.1f}Mi {vw:>9.3f} {vrss:>9.1f}Mi {sw:>12.3f} {vw / sw:>6.1f}")
            record(f"verify_{steps}", f"wrkr-verify, {steps:,}-step pack ({size:.0f} MiB)", vw, "s", sw,
                   "sha256sum of the same pack", vrss)
        print("ratio = wrkr-verify wall time / sha256sum wall time on the same pack (1.0 = the hashing limit)")


if __name__ == "__main__":
    sys.exit(main())
