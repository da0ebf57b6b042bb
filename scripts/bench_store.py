#!/usr/bin/env python3
"""Store benchmarks: measure, do not gate. Not part of `make test`.

Prints, all measured in this run on the same disk (BENCH_DIR, default under the target dir):
  - bare write+fdatasync latency (the physical limit) and bare process spawn (`wrkr --version`);
  - wrkr-events --append latency per 1-event batch and per 100-event batch, as a ratio to the
    bare write+fdatasync of the same bytes (after subtracting the spawn baseline);
  - append cost at seq ~10 vs seq ~1,000,000 (must be flat);
  - `wrkr status` wall time (cold process) on a 100,000-event job, with and without the snapshot.

Usage: scripts/bench_store.py   (env: CARGO_TARGET_DIR, BENCH_DIR, BENCH_RUNS)
"""
import os, shutil, statistics, subprocess, sys, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
BENCH = os.environ.get("BENCH_DIR", os.path.join(TARGET, "bench-store"))
RUNS = int(os.environ.get("BENCH_RUNS", "200"))
BIN = os.path.join(TARGET, "release", "wrkr")

def event(i, pad=60):
    return '{"type":"x-bench","payload":{"i":%d,"pad":"%s"}}\n' % (i, "p" * pad)

def ledger_line(i, pad=60):
    return ('{"seq":%d,"created_at":"2026-02-13T18:00:00.123456789Z","type":"x-bench","payload":{"i":%d,"pad":"%s"}}\n'
            % (i, i, "p" * pad)).encode()

def run(argv, stdin=b"", env=None):
    t = time.perf_counter()
    p = subprocess.run(argv, input=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env)
    dt = time.perf_counter() - t
    if p.returncode != 0:
        sys.exit("failed: %s: %s" % (" ".join(argv), p.stderr.decode()))
    return dt

def tool(name):
    path = os.path.join(BENCH, "bin", name)
    if not os.path.exists(path):
        os.symlink(BIN, path)
    return path

def median_ms(xs):
    return statistics.median(xs) * 1e3

def bare_fsync(lines_per_op, ops):
    path = os.path.join(BENCH, "bare.jsonl")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_TRUNC, 0o600)
    chunk = b"".join(ledger_line(i) for i in range(lines_per_op))
    times = []
    for _ in range(ops):
        t = time.perf_counter()
        os.write(fd, chunk)
        os.fdatasync(fd)
        times.append(time.perf_counter() - t)
    os.close(fd)
    return median_ms(times)

def main():
    if not os.environ.get("WRKR_BENCH_BUILT"):  # `make bench` built it (scripts/benchlib.py)
        subprocess.run(["cargo", "build", "--release", "-q"], cwd=ROOT, check=True, env=dict(os.environ, CARGO_TARGET_DIR=TARGET))
    shutil.rmtree(BENCH, ignore_errors=True)
    os.makedirs(os.path.join(BENCH, "bin"))
    env = dict(os.environ, WRKR_HOME=os.path.join(BENCH, "store"))
    events, wrkr = tool("wrkr-events"), tool("wrkr")

    # Spawn first: after the fsync loops the disk is still writing back, which slows a spawn.
    spawn = median_ms([run([wrkr, "--version"], env=env) for _ in range(RUNS)])
    fsync1 = bare_fsync(1, RUNS)
    fsync100 = bare_fsync(100, RUNS // 4)
    print("bare write+fdatasync, 1 line:          %8.3f ms" % fsync1)
    print("bare write+fdatasync, 100 lines:       %8.3f ms" % fsync100)
    print("bare process spawn (wrkr --version):   %8.3f ms" % spawn)

    run([events, "--append", "--create", "job_small"], env=env)
    one = [run([events, "--append", "job_small"], event(i).encode(), env) for i in range(RUNS)]
    batch_in = "".join(event(i) for i in range(100)).encode()
    hundred = [run([events, "--append", "job_small"], batch_in, env) for _ in range(RUNS // 4)]
    one_ms, hundred_ms = median_ms(one), median_ms(hundred)
    print("append, 1-event batch (process):       %8.3f ms   net of spawn %.3f ms = %.2fx bare fsync"
          % (one_ms, one_ms - spawn, (one_ms - spawn) / fsync1))
    print("append, 100-event batch (process):     %8.3f ms   net of spawn %.3f ms = %.2fx bare fsync; %.1f us/event"
          % (hundred_ms, hundred_ms - spawn, (hundred_ms - spawn) / fsync100, (hundred_ms - spawn) * 10))

    # Flat cost: seq ~10 vs seq ~1,000,000.
    run([events, "--append", "--create", "job_young"], "".join(event(i) for i in range(9)).encode(), env)
    young = median_ms([run([events, "--append", "job_young"], event(0).encode(), env) for _ in range(RUNS // 2)])
    run([events, "--append", "--create", "job_old"], env=env)
    big = "".join(event(i, pad=8) for i in range(100_000)).encode()
    for _ in range(10):
        run([events, "--append", "job_old"], big, env)
    old = median_ms([run([events, "--append", "job_old"], event(0).encode(), env) for _ in range(RUNS // 2)])
    print("append at seq ~10:                     %8.3f ms" % young)
    print("append at seq ~1,000,000:              %8.3f ms   ratio %.2f" % (old, old / young))

    # Status on a 100,000-event job.
    run([events, "--append", "--create", "job_status"], big, env)
    status = [run([wrkr, "status", "job_status"], env=env) for _ in range(RUNS)]
    print("wrkr status, 100,000 events (cold process): median %.3f ms, min %.3f ms (spawn baseline %.3f ms)"
          % (median_ms(status), min(status) * 1e3, spawn))
    snap = os.path.join(BENCH, "store", "jobs", "job_status", "snapshot.json")
    nosnap = []
    for _ in range(5):
        os.remove(snap)
        nosnap.append(run([wrkr, "status", "job_status"], env=env))
    print("wrkr status, 100,000 events, no snapshot (full replay): median %.1f ms" % median_ms(nosnap))
    shutil.rmtree(BENCH, ignore_errors=True)

if __name__ == "__main__":
    main()
