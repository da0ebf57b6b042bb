#!/usr/bin/env python3
"""Runner benchmark: jobs of N `true` steps, against the floor measured in the same run.

floor = N x (spawn of `sh -c true` + one write+fdatasync on the store's disk). The runner's goal is
at most 2x the floor with a flat per-step cost as N grows. Run via `make bench` (release build).
"""
import json
import os
import re
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import record  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# WRKR_BENCH_BIN measures another build (a before/after comparison) with the same floors.
WRKR = os.environ.get("WRKR_BENCH_BIN") or os.path.join(ROOT, "bin", "wrkr")
SIZES = [int(n) for n in os.environ.get("WRKR_BENCH_STEPS", "2500,25000").split(",")]
# Peak RSS comes from GNU time, not from wait4 here: Python spawns with vfork, and a child's
# ru_maxrss then starts at this interpreter's own high-water mark (14 MiB at 250 steps, 24 MiB
# once a 25,000-step spec was built here), not at the runner's. GNU time prints it on stderr, not
# into a file (`-o`): it opens that file before it starts the runner, which then inherits it as
# descriptor 3, the slot a runner keeps for its steps' events channel; every step then starts by
# fork instead of posix_spawn (15% slower per step in this bench).
GNU_TIME = "/usr/bin/time" if os.path.exists("/usr/bin/time") else None


def spawn_floor(samples=300):
    t0 = time.perf_counter()
    for _ in range(samples):
        subprocess.run(["sh", "-c", "true"], check=True)
    return (time.perf_counter() - t0) / samples


def fsync_floor(directory, samples=300):
    path = os.path.join(directory, "fsync-probe")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    line = b'{"seq":1,"created_at":"2026-02-13T18:00:00Z","type":"x-probe","payload":{}}\n' * 3
    t0 = time.perf_counter()
    for _ in range(samples):
        os.write(fd, line)
        os.fdatasync(fd)
    elapsed = (time.perf_counter() - t0) / samples
    os.close(fd)
    os.unlink(path)
    return elapsed


def spec(n):
    return {
        "schema_id": "wrkr.jobspec", "schema_version": "v1", "producer_version": "bench", "name": "bench",
        "objective": f"{n} true steps", "adapter": {"name": "reference"},
        "inputs": {"workspace": ".", "steps": [{"id": f"s{i}", "command": "true"} for i in range(n)]},
        "expected_artifacts": [],
        "budgets": {"max_wall_time_seconds": 86400, "max_retries": 0, "max_step_count": n + 1, "max_tool_calls": n + 1},
        "checkpoint_policy": {"min_interval_seconds": 1, "required_types": []},
        "environment_fingerprint": {"rules": []},
    }


def main():
    if not os.access(WRKR, os.X_OK):
        sys.exit("bench_runner: build first (make build)")
    with tempfile.TemporaryDirectory(dir=os.environ.get("WRKR_BENCH_DIR")) as tmp:
        home = os.path.join(tmp, "home")
        os.makedirs(home)
        env = {**os.environ, "WRKR_HOME": home}
        for n in SIZES:
            path = os.path.join(tmp, f"spec{n}.json")
            with open(path, "w") as f:
                json.dump(spec(n), f)
            # The disk's fdatasync time drifts; measure the floor right before and right after the
            # job and compare against the lower of the two: a burst of load that slowed one of them
            # must not make the runner look closer to the floor than it is.
            before = spawn_floor() + fsync_floor(tmp)
            argv = [WRKR, "submit", path, "--job-id", f"bench{n}"]
            t0 = time.perf_counter()
            proc = subprocess.Popen([GNU_TIME, "-f", "%M"] + argv if GNU_TIME else argv, cwd=tmp,
                                    env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            _, status, _ = os.wait4(proc.pid, 0)
            wall = time.perf_counter() - t0
            after = spawn_floor() + fsync_floor(tmp)
            out = proc.stdout.read().decode().strip()
            err = proc.stderr.read().decode(errors="replace")
            rss = re.search(r"(\d+)\s*$", err) if GNU_TIME else None
            rss_mib = int(rss.group(1)) / 1024 if rss else float("nan")
            if os.waitstatus_to_exitcode(status) != 0:
                sys.exit(f"bench_runner: submit failed: {err}")
            per_step_floor = min(before, after)
            floor = n * per_step_floor
            print(f"{n:6d} steps: {wall:8.2f} s  {wall/n*1e3:6.2f} ms/step  x{wall/floor:.2f} floor "
                  f"({before*1e3:.2f}/{after*1e3:.2f} ms/step before/after)  "
                  f"peak RSS {rss_mib:.1f} MiB  ({out})")
            record(f"runner_step_{n}", f"runner, per step, {n:,} true steps", wall / n, "s", per_step_floor,
                   "spawn sh -c true + one fdatasync", rss_mib)

if __name__ == "__main__":
    main()
