#!/usr/bin/env python3
"""Benchmark acceptance on a big job (measures; does not gate; not run by make test).

Builds the release binary and a 25,000-step job the way scripts/bench_export.py does (its job
builder is reused: ~100k events, an artifact file every 100 steps, a workspace recorded in an
`x-jobspec_recorded` event), then with trivial commands (`true`) and every evidence check configured:

- `wrkr accept run JOB`: export + checks + store the result + ledger event; wall time, peak RSS;
- `wrkr-accept --checks PACK`: the checks alone on the exported pack; wall time, peak RSS and the
  seconds of each check as the harness measured them. Goal: schema_validity under 200 ms, the
  rest dominated by the commands themselves.

    python3 scripts/bench_accept.py          # uses $CARGO_TARGET_DIR or ./target
"""

import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_export import BIN, ROOT, best, build_job, run  # noqa: E402
from benchlib import build_release, record  # noqa: E402

STEPS = 25_000
CONFIG = """\
required_artifacts: [out/0.txt, out/24900.txt]
test_command: "true"
lint_command: "true"
path_rules: {max_artifact_paths: 0, forbidden_prefixes: [secrets/], allowed_prefixes: [out/]}
required_checkpoint_types: [progress]
"""


def main():
    build_release()
    with tempfile.TemporaryDirectory() as tmp:
        link = os.path.join(tmp, "wrkr-accept")
        os.symlink(BIN, link)
        env = dict(os.environ, WRKR_HOME=os.path.join(tmp, "home"))
        job = f"job_bench_{STEPS}"
        build_s = build_job(tmp, env, job, STEPS)
        config = os.path.join(tmp, "accept.yaml")
        with open(config, "w") as f:
            f.write(CONFIG)
        out = os.path.join(tmp, "out")
        rw, rrss, rc = best(3, lambda: run([BIN, "accept", "run", job, "--config", config, "--out-dir", out], env))
        assert rc == 0, f"wrkr accept run exited {rc}"
        pack = os.path.join(out, "jobpacks", f"jobpack_{job}.zip")
        tw, trss, tc = best(3, lambda: run([link, "--checks", "--config", config, pack], env))
        assert tc == 0, f"wrkr-accept exited {tc}"
        lines = subprocess.run([link, "--checks", "--config", config, pack], env=env, capture_output=True,
                               check=True).stdout.decode().splitlines()
        checks = [json.loads(line) for line in lines[1:]]
        nevents = sum(1 for _ in open(os.path.join(env["WRKR_HOME"], "jobs", job, "events.jsonl"), "rb"))
        print(f"job: {STEPS} steps, {nevents} events (built in {build_s:.1f}s); pack {os.path.getsize(pack) / (1 << 20):.1f} MiB; "
              f"{os.cpu_count()} cores (verify checks a large entry's lines on each)")
        print(f"wrkr accept run JOB    : {rw:7.3f} s  peak RSS {rrss:6.1f} MiB  (export + checks + store)")
        ledger = os.path.join(env["WRKR_HOME"], "jobs", job, "events.jsonl")
        sw, _, _ = best(3, lambda: run(["sha256sum", ledger], env))
        record(f"accept_run_{STEPS}", f"wrkr accept run JOB, {STEPS:,} steps", rw, "s", sw, "sha256sum of the ledger", rrss)
        print(f"wrkr-accept --checks   : {tw:7.3f} s  peak RSS {trss:6.1f} MiB  (checks on the pack)")
        for c in checks:
            share = 100 * c["seconds"] / tw if tw else 0
            print(f"  {c['check']:<26} {c['status']:<8} {1000 * c['seconds']:9.1f} ms  {share:5.1f}% of wrkr-accept")
        schema = next(c for c in checks if c["check"] == "schema_validity")["seconds"]
        print(f"schema_validity: {1000 * schema:.0f} ms (goal < 200 ms)")


if __name__ == "__main__":
    sys.exit(main())
