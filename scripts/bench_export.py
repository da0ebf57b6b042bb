#!/usr/bin/env python3
"""Benchmark `wrkr export` and `wrkr-events --records` on a job in a real store (measures; does not
gate; not run by make test).

Builds the release binary, then builds a job of N steps in a temp store the way a runner would:
`wrkr-events --append` in large batches (per step: adapter_step, x-tool_call, checkpoint_emitted,
x-budget_checked; counters every 100 steps, an approval every 500, a new artifact file every 100),
plus an `x-jobspec_recorded` event with the whole spec (every step, as `wrkr submit` records it)
naming a workspace that holds the artifact files. Reports, for
2,500 and 25,000 steps: the time to build the store, then wall time and peak RSS of
`wrkr export`, of `wrkr-events --records` (with records/s and MiB/s), and of
`wrkr-events --records | wrkr-pack`, whose bytes must equal the export's. Goal: peak RSS flat as the
job grows (the pack builder spills JSONL entries; the projection keeps only artifact paths).

    python3 scripts/bench_export.py          # uses $CARGO_TARGET_DIR or ./target
"""

import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import build_release, record  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
# WRKR_BIN measures another build (e.g. main's, for a before/after); the job is built with it too.
BIN = os.environ.get("WRKR_BIN") or os.path.join(TARGET, "release", "wrkr")
GNU_TIME = "/usr/bin/time" if os.path.exists("/usr/bin/time") else None
BATCH_STEPS = 5_000  # 20,000 events, ~5 MiB: one append, one fdatasync


def run(argv, env=None, stdin=None, stdout=None):
    """Run once; return (wall seconds, peak RSS MiB, exit code). RSS from GNU time's %M."""
    rss_file = tempfile.NamedTemporaryFile(delete=False)
    rss_file.close()
    cmd = [GNU_TIME, "-f", "%M", "-o", rss_file.name] + argv if GNU_TIME else argv
    start = time.perf_counter()
    code = subprocess.call(cmd, stdin=stdin, stdout=stdout or subprocess.DEVNULL, env=env)
    wall = time.perf_counter() - start
    text = open(rss_file.name).read().strip().splitlines()
    os.unlink(rss_file.name)
    rss = int(text[-1]) / 1024 if GNU_TIME and text and text[-1].isdigit() else float("nan")
    return wall, rss, code


def best(n, fn):
    return min((fn() for _ in range(n)), key=lambda r: r[0])


def step_events(step, job):
    added = [f"out/{step}.txt"] if step % 100 == 0 else []
    yield {"type": "adapter_step", "payload": {"step_id": f"s{step}", "step_index": step, "executed": True, "detail": "x" * 40}}
    yield {"type": "x-tool_call", "payload": {"step": step, "tool": "shell", "detail": "x" * 40}}
    yield {"type": "checkpoint_emitted", "payload": {
        "type": "progress", "summary": f"step {step} done", "status": "running",
        "budget_state": {"wall_time_seconds": step, "retry_count": 0, "step_count": step + 1, "tool_call_count": step},
        "artifacts_delta": {"added": added, "changed": [], "removed": []}, "required_action": None, "reason_codes": []}}
    yield {"type": "x-budget_checked", "payload": {"step": step, "ok": True}}
    if step % 100 == 99:
        yield {"type": "counters_updated", "payload": {"retry_count": 0, "step_count": step + 1, "tool_call_count": step + 1}}
    if step % 500 == 0:
        yield {"type": "approval_recorded", "payload": {
            "schema_id": "wrkr.approval_record", "schema_version": "v1", "created_at": "2026-02-13T18:00:00Z",
            "producer_version": "bench", "job_id": job, "checkpoint_id": "cp_1", "reason": "ok", "approved_by": "bench"}}


def build_job(tmp, env, job, steps):
    ws = os.path.join(tmp, f"ws_{job}")
    os.makedirs(os.path.join(ws, "out"))
    for step in range(0, steps, 100):
        with open(os.path.join(ws, "out", f"{step}.txt"), "w") as f:
            f.write(f"artifact of step {step}\n" * 50)
    # The spec as the runner records it: every step listed (1 MB at 25,000 steps), as in a job that
    # `wrkr submit` ran, whose export must not hold it as a document.
    spec = {"name": job, "inputs": {"workspace": ws, "steps": [{"id": f"s{i}", "command": "true"} for i in range(steps)]}}
    first = [{"type": "x-jobspec_recorded", "payload": {"jobspec": spec, "spec_path": os.path.join(ws, "spec.yaml"), "workspace": ws}},
             {"type": "status_changed", "payload": {"from": "queued", "to": "running"}}]
    start = time.perf_counter()
    for lo in range(0, steps, BATCH_STEPS):
        lines = first if lo == 0 else []
        lines = lines + [e for s in range(lo, min(steps, lo + BATCH_STEPS)) for e in step_events(s, job)]
        data = "".join(json.dumps(e, separators=(",", ":")) + "\n" for e in lines).encode()
        args = [BIN, "events", "--append"] + (["--create"] if lo == 0 else []) + [job]
        subprocess.run(args, input=data, env=env, stdout=subprocess.DEVNULL, check=True)
    return time.perf_counter() - start


def main():
    build_release()
    with tempfile.TemporaryDirectory() as tmp:
        for tool in ("wrkr-events", "wrkr-pack"):
            os.symlink(BIN, os.path.join(tmp, tool))
        env = dict(os.environ, WRKR_HOME=os.path.join(tmp, "home"))
        print(f"{'steps':>7} {'events':>8} {'build s':>8} {'export s':>9} {'export RSS':>11} {'pack MiB':>9} "
              f"{'records s':>10} {'rec RSS':>8} {'records/s':>10} {'MiB/s':>7} {'pipe s':>7}")
        for steps in (2_500, 25_000):
            job = f"job_bench_{steps}"
            build_s = build_job(tmp, env, job, steps)
            out = os.path.join(tmp, f"out{steps}")
            ew, erss, ec = best(3, lambda: run([BIN, "export", job, "--out-dir", out], env))
            assert ec == 0, "wrkr export failed"
            pack = os.path.join(out, "jobpacks", f"jobpack_{job}.zip")
            rec = os.path.join(tmp, f"r{steps}.jsonl")

            def do_records():
                with open(rec, "wb") as o:
                    return run([os.path.join(tmp, "wrkr-events"), "--records", job], env, stdout=o)

            rw, rrss, rc = best(3, do_records)
            assert rc == 0, "wrkr-events --records failed"
            nrec = sum(1 for _ in open(rec, "rb"))
            rec_mib = os.path.getsize(rec) / (1 << 20)
            piped = os.path.join(tmp, f"piped{steps}.zip")
            start = time.perf_counter()
            subprocess.run(f"'{tmp}/wrkr-events' --records {job} | '{tmp}/wrkr-pack' > '{piped}'", shell=True, env=env, check=True)
            pipe_s = time.perf_counter() - start
            assert open(piped, "rb").read() == open(pack, "rb").read(), "pipeline bytes differ from wrkr export"
            nevents = sum(1 for _ in open(os.path.join(env["WRKR_HOME"], "jobs", job, "events.jsonl"), "rb"))
            ledger = os.path.join(env["WRKR_HOME"], "jobs", job, "events.jsonl")
            sw, _, _ = best(3, lambda: run(["sha256sum", ledger], env))
            record(f"export_{steps}", f"wrkr export, {steps:,} steps ({nevents:,} events)", ew, "s", sw,
                   "sha256sum of the ledger", erss)
            # The pack must be fsynced (every export is durable): writing and fdatasyncing a file of
            # the pack's size is a floor export cannot go under on this disk, measured here too.
            pack_mib = -(-os.path.getsize(pack) // (1 << 20))
            dd_out = os.path.join(tmp, "fsync_floor")
            dw, _, _ = best(3, lambda: run(["dd", "if=/dev/zero", f"of={dd_out}", "bs=1M", f"count={pack_mib}",
                                            "conv=fdatasync", "status=none"], env))
            os.unlink(dd_out)
            record(f"export_{steps}_vs_fsync", f"wrkr export, {steps:,} steps, vs fsync of its pack", ew, "s", dw,
                   f"dd + fdatasync of {pack_mib} MiB", erss)
            print(f"        floor: dd + fdatasync of {pack_mib} MiB (the pack's size) {dw:.3f} s; export is {ew / dw:.2f}x it")
            print(f"{steps:>7} {nevents:>8} {build_s:>8.2f} {ew:>9.3f} {erss:>9.1f}Mi {os.path.getsize(pack) / (1 << 20):>9.1f} "
                  f"{rw:>10.3f} {rrss:>6.1f}Mi {nrec / rw:>10.0f} {rec_mib / rw:>7.1f} {pipe_s:>7.3f}")
        print("export = store -> records -> pack -> atomic write; pipe = wrkr-events --records | wrkr-pack (same bytes, checked)")


if __name__ == "__main__":
    sys.exit(main())
