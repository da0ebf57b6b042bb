#!/usr/bin/env python3
"""Scale profile: the same commands at 250, 2,500 and 25,000 steps, printed per step, so flatness
can be read off one table; and `wrkr jobs` over 10,000 jobs, per job.

For each size N: submit a spec of N `true` steps, then time status, checkpoint list, export,
verify and accept run on that job (best of 3 for the read-only ones). A job of one step is timed
the same way first: its figures are each command's fixed cost (start-up, store, one-step job), and
the table prints what a step adds, (t(N) - t(1)) / (N - 1). Dividing t(N) by N instead charges the
fixed cost to the steps (a 40 ms start-up is 160 us a step at 250 and 1.6 at 25,000), so the smallest
size always looked the most expensive. A flat profile has the same microseconds per step in every
column at every size; the issue's goal is 25,000 within 10% of 250. `status` and `checkpoint list`
read the job's snapshot, not its steps: what a step adds is about zero, and their whole time per
call is printed too (flat means the same milliseconds at every size).
Sizes: WRKR_BENCH_SCALE (default 250,2500,25000); jobs: WRKR_BENCH_JOBS (default 10000).
Not a test. Rows go to $WRKR_BENCH_ROWS (scripts/benchlib.py) as `scale_<command>_<N>`.
"""
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_runner import spec  # noqa: E402  (the same N-step spec the runner bench uses)
from benchlib import record  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WRKR = os.environ.get("WRKR_BIN") or os.path.join(ROOT, "bin", "wrkr")
SIZES = [int(n) for n in os.environ.get("WRKR_BENCH_SCALE", "250,2500,25000").split(",")]
JOBS = int(os.environ.get("WRKR_BENCH_JOBS", "10000"))


def timed(argv, env, cwd, repeat=1):
    best = None
    for _ in range(repeat):
        t0 = time.perf_counter()
        proc = subprocess.run(argv, env=env, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        elapsed = time.perf_counter() - t0
        if proc.returncode != 0:
            sys.exit(f"bench_scale: {' '.join(argv)} failed: {proc.stderr.decode(errors='replace')}")
        best = elapsed if best is None else min(best, elapsed)
    return best


def main():
    if not os.access(WRKR, os.X_OK):
        sys.exit("bench_scale: build first (make build) or set WRKR_BIN")
    commands = ["submit", "status", "checkpoint list", "export", "verify", "accept run"]
    print(f"{'steps':>7} " + " ".join(f"{c + ' us/step':>22}" for c in commands) + "  (us a step adds; ms a call)")
    with tempfile.TemporaryDirectory(dir=os.environ.get("WRKR_BENCH_DIR")) as tmp:
        env = {**os.environ, "WRKR_HOME": os.path.join(tmp, "home")}
        with open(os.path.join(tmp, "accept.yaml"), "w") as f:
            f.write("schema_id: wrkr.accept_config\nschema_version: v1\nrequired_checkpoint_types: [plan]\n")

        def measure(n):
            path = os.path.join(tmp, f"spec{n}.json")
            with open(path, "w") as f:
                json.dump(spec(n), f)
            job = f"scale{n}"
            out = os.path.join(tmp, f"out{n}")
            return {
                "submit": timed([WRKR, "submit", path, "--job-id", job], env, tmp),
                "status": timed([WRKR, "status", job], env, tmp, 3),
                "checkpoint list": timed([WRKR, "checkpoint", "list", job], env, tmp, 3),
                "export": timed([WRKR, "export", job, "--out-dir", out], env, tmp, 3),
                "verify": timed([WRKR, "verify", job, "--out-dir", out], env, tmp, 3),
                "accept run": timed([WRKR, "accept", "run", job, "--out-dir", out], env, tmp, 3),
            }

        fixed = measure(1)
        print(f"{'1 (ms)':>7} " + " ".join(f"{fixed[c] * 1e3:>22.1f}" for c in commands))
        per_step, per_call = {}, {}
        for n in SIZES:
            figures = measure(n)
            per_call[n] = figures
            per_step[n] = {c: max(figures[c] - fixed[c], 0.0) / (n - 1) for c in commands}
            print(f"{n:>7} " + " ".join(f"{per_step[n][c] * 1e6:>22.1f}" for c in commands))
            print(f"{'(ms)':>7} " + " ".join(f"{figures[c] * 1e3:>22.1f}" for c in commands))
            for c, seconds in figures.items():
                record(f"scale_{c.replace(' ', '_')}_{n}", f"{c}, {n:,} steps (what a step adds)", per_step[n][c],
                       "s", None, "", None)
                record(f"scale_{c.replace(' ', '_')}_{n}_total", f"{c}, {n:,} steps (whole call)", seconds, "s")
        # Flatness: what a step adds at the largest size against the smallest (goal: within 10%).
        if len(per_step) > 1:
            lo, hi = min(per_step), max(per_step)
            # A command a step adds (almost) nothing to is flat when its whole call is.
            cells = [f"{per_step[hi][c] / per_step[lo][c]:>21.2f}x" if per_step[lo][c] > 1e-6
                     else f"{per_call[hi][c] / per_call[lo][c]:>16.2f}x call" for c in commands]
            print(f"{hi:>6}/{lo}" + " ".join(cells))
        # wrkr jobs over many small jobs: one made by `wrkr events --append --create`, the rest
        # copies of its directory with the snapshot naming its own job (as wrkr would write it),
        # so 10,000 jobs take seconds, not 10,000 processes (minutes on a loaded machine).
        home = os.path.join(tmp, "many")
        jenv = {**os.environ, "WRKR_HOME": home}
        t0 = time.perf_counter()
        subprocess.run([WRKR, "events", "--append", "--create", "j00000"], env=jenv, stdin=subprocess.DEVNULL,
                       stdout=subprocess.DEVNULL, check=True)
        first = os.path.join(home, "jobs", "j00000")
        files = {name: open(os.path.join(first, name), "rb").read() for name in os.listdir(first)}
        for i in range(1, JOBS):
            job = f"j{i:05d}"
            os.makedirs(os.path.join(home, "jobs", job), mode=0o700)
            for name, data in files.items():
                if name == "snapshot.json":
                    data = data.replace(b'"job_id": "j00000"', f'"job_id": "{job}"'.encode())
                fd = os.open(os.path.join(home, "jobs", job, name), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
                with os.fdopen(fd, "wb") as f:
                    f.write(data)
        made = time.perf_counter() - t0
        listed = subprocess.run([WRKR, "jobs", "--json"], env=jenv, capture_output=True, check=True).stdout
        count = listed.count(b'"job_id"')
        if count != JOBS:
            sys.exit(f"bench_scale: wrkr jobs lists {count} jobs, not {JOBS}")
        jobs_s = timed([WRKR, "jobs"], jenv, tmp, 3)
        print(f"wrkr jobs over {JOBS:,} jobs: {jobs_s * 1e3:.1f} ms, {jobs_s / JOBS * 1e6:.1f} us/job "
              f"(jobs made in {made:.1f} s)")
        record(f"jobs_{JOBS}", f"wrkr jobs over {JOBS:,} jobs (per job)", jobs_s / JOBS, "s")


if __name__ == "__main__":
    main()
