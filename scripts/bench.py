#!/usr/bin/env python3
"""Foundation benchmarks: wrkr-jcs throughput and memory, and CLI start-up.

Figures are ratios against limits measured in the same run on the same machine (cat and wc -l
over the same file; spawning `true`), so they mean something on any machine. Not a test: nothing
here fails on a slow machine. Run with `make bench` (builds release first).
"""
import os
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import record  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.path.join(ROOT, "bin")
OUT = os.path.join(ROOT, "bench-out")
SIZE = int(os.environ.get("WRKR_BENCH_JCS_BYTES", 100 * 1024 * 1024))


def run(argv, stdin=None, stdout=subprocess.DEVNULL):
    """Run argv; return (wall seconds, peak RSS KiB of that process)."""
    start = time.perf_counter()
    proc = subprocess.Popen(argv, stdin=stdin, stdout=stdout, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - start
    err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    if os.waitstatus_to_exitcode(status) != 0:
        sys.exit(f"bench: {' '.join(argv)} failed: {err}")
    return wall, usage.ru_maxrss


def best_of(n, argv):
    runs = [run(argv) for _ in range(n)]
    return min(r[0] for r in runs), max(r[1] for r in runs)


def make_input(path):
    if os.path.exists(path) and os.path.getsize(path) >= SIZE:
        return
    os.makedirs(OUT, exist_ok=True)
    line_no = 0
    with open(path + ".tmp", "w") as f:
        written = 0
        while written < SIZE:
            line = (
                '{"seq":%d,"type":"checkpoint_emitted","created_at":"2026-02-13T18:00:%02d.%dZ",'
                '"payload":{"summary":"step %d done","budget_state":{"wall_time_seconds":%d,"step_count":%d},'
                '"cost":%s,"artifacts":["reports/r%d.md","src/m%d.rs"],"ok":true,"note":null}}\n'
                % (line_no, line_no % 60, line_no % 1000, line_no, line_no // 7, line_no, line_no * 0.0001, line_no, line_no)
            )
            f.write(line)
            written += len(line)
            line_no += 1
    os.rename(path + ".tmp", path)


def main():
    data = os.path.join(OUT, "jcs-input.jsonl")
    make_input(data)
    mb = os.path.getsize(data) / 1e6
    print(f"# wrkr-jcs on {mb:.0f} MB of JSONL ({sum(1 for _ in open(data))} lines)")
    cat_s, _ = best_of(3, ["cat", data])
    wc_s, _ = best_of(3, ["wc", "-l", data])
    jcs_s, jcs_rss = best_of(3, [os.path.join(BIN, "wrkr-jcs"), data])
    sha_s, sha_rss = best_of(3, [os.path.join(BIN, "wrkr-jcs"), "--sha256", data])
    print(f"cat            {cat_s*1000:8.0f} ms  {mb/cat_s:8.0f} MB/s")
    print(f"wc -l          {wc_s*1000:8.0f} ms  {mb/wc_s:8.0f} MB/s")
    print(f"wrkr-jcs       {jcs_s*1000:8.0f} ms  {mb/jcs_s:8.0f} MB/s  x{jcs_s/wc_s:.1f} wc -l  x{jcs_s/cat_s:.1f} cat  peak RSS {jcs_rss/1024:.1f} MiB")
    print(f"wrkr-jcs -sha  {sha_s*1000:8.0f} ms  {mb/sha_s:8.0f} MB/s  x{sha_s/wc_s:.1f} wc -l  peak RSS {sha_rss/1024:.1f} MiB")
    sum_s, _ = best_of(3, ["sha256sum", data])
    print(f"sha256sum      {sum_s*1000:8.0f} ms  {mb/sum_s:8.0f} MB/s")
    record("jcs_sha256_100mb", f"wrkr-jcs --sha256, {mb:.0f} MB JSONL", sha_s, "s", sum_s, "sha256sum of the same file",
           sha_rss / 1024)
    record("jcs_100mb", f"wrkr-jcs, {mb:.0f} MB JSONL", jcs_s, "s", cat_s, "cat of the same file", jcs_rss / 1024)
    print()
    n = 200
    t0 = time.perf_counter()
    for _ in range(n):
        run(["true"])
    true_s = (time.perf_counter() - t0) / n
    t0 = time.perf_counter()
    for _ in range(n):
        run([os.path.join(BIN, "wrkr"), "--version"])
    ver_s = (time.perf_counter() - t0) / n
    print(f"# start-up, mean of {n} runs")
    print(f"true           {true_s*1e3:8.2f} ms")
    print(f"wrkr --version {ver_s*1e3:8.2f} ms  x{ver_s/true_s:.1f} true")
    record("startup", "wrkr --version (start-up)", ver_s, "s", true_s, "spawn of true")
    size = os.path.getsize(os.path.join(BIN, "wrkr"))
    print(f"binary size    {size/1e6:8.2f} MB")
    record("binary_size", "release binary size", size, "B")


if __name__ == "__main__":
    main()
