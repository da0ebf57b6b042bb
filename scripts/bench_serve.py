#!/usr/bin/env python3
"""bench_serve: `wrkr serve` against a minimal hyper server measured in the same run (issue 16).

Rows (scripts/benchlib.py):
- serve_status_small_c8: GET status of a small job, 20,000 requests at concurrency 8 over
  keep-alive connections, seconds per request; floor = the same load against perf/hyper-floor (a
  hyper server on wrkr serve's runtime answering the same body, nothing else). Goal: throughput
  >= 0.8x the floor, i.e. ratio <= 1.25. Best of two interleaved rounds each. Also printed (not
  a row): each server's CPU time per request over its rounds (user + system from
  /proc/PID/stat), which moves far less with the machine's load than the throughput does.
- serve_status_small_c8_p99, serve_status_25000_c8_p50/_p99: latency percentiles, floor = the
  hyper server's same percentile in the same run. Goal on the 25,000-step job: p50 <= 2 ms,
  p99 <= 5 ms.
- serve_events_25000_rss, serve_jobpack_25000_rss: how much the server's RSS grows (VmHWM after,
  less VmRSS before, the peak reset through /proc/PID/clear_refs) while one client downloads the
  25,000-step job's ledger or pack, in MiB; floor = the size of that body, so the ratio is the
  share of it the server held. Goal: < 4 MiB (streamed). The pack must equal `wrkr export`'s.

The load generator is perf/hyper-floor's http-load (Rust, one thread and keep-alive connection
per client), so the client is never what is measured. Bounded: every run has a timeout.
Not part of `make test`.
"""
import hashlib
import http.client
import json
import os
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from bench_export import build_job  # noqa: E402  (the 25,000-step job, ~100k events)
from benchlib import record  # noqa: E402

REQUESTS, CONCURRENCY, LIMIT_S = 20_000, 8, 120
BIG_STEPS = 25_000
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
BIN = os.environ.get("WRKR_BIN") or os.path.join(TARGET, "release", "wrkr")
FLOOR_DIR = os.path.join(TARGET, "hyper-floor")
FLOOR_BIN = os.path.join(FLOOR_DIR, "release", "hyper-floor")
LOAD_BIN = os.path.join(FLOOR_DIR, "release", "http-load")


def build_floor():
    subprocess.run(["cargo", "build", "--release", "--locked", "--offline", "-q", "--manifest-path",
                    os.path.join(ROOT, "perf", "hyper-floor", "Cargo.toml"), "--target-dir", FLOOR_DIR], check=True)


def start(argv, env, cwd):
    """Start a server that prints {"listen": ADDR} (possibly over several lines); (process, addr)."""
    proc = subprocess.Popen(argv, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    text = ""
    while True:
        line = proc.stdout.readline()
        if not line:
            sys.exit(f"bench_serve: {argv[0]} ended before printing its address")
        text += line
        try:
            return proc, json.loads(text)["listen"]
        except json.JSONDecodeError:
            continue


def load(addr, path, requests=REQUESTS):
    out = subprocess.run([LOAD_BIN, addr, path, str(requests), str(CONCURRENCY)], capture_output=True, text=True,
                         timeout=LIMIT_S, check=True).stdout
    result = json.loads(out)
    if result["errors"] or result["requests"] != requests:
        sys.exit(f"bench_serve: {path} on {addr}: {result}")
    return result


def cpu_seconds(pid):
    """User + system CPU time the process has used so far (/proc/PID/stat), in seconds."""
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def timed_load(server, addr, path):
    """`load`, with the server's CPU seconds spent on it: on a shared machine the throughput
    moves with the load, the CPU a request costs the server much less."""
    before = cpu_seconds(server.pid)
    result = load(addr, path)
    result["cpu_s"] = cpu_seconds(server.pid) - before
    return result


def proc_kib(pid, field):
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def download(addr, path):
    """GET path, streaming the body into a hash; (bytes, sha256)."""
    host, port = addr.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=60)
    conn.request("GET", path)
    resp = conn.getresponse()
    if resp.status != 200:
        sys.exit(f"bench_serve: GET {path}: {resp.status} {resp.read()[:300]!r}")
    digest, size = hashlib.sha256(), 0
    while chunk := resp.read(256 * 1024):
        digest.update(chunk)
        size += len(chunk)
    conn.close()
    return size, digest.hexdigest()


def rss_growth(server, addr, path):
    """MiB the server's peak RSS grew above its RSS at the start while serving GET path once."""
    with open(f"/proc/{server.pid}/clear_refs", "w") as f:
        f.write("5")  # resets VmHWM to the current RSS
    before = proc_kib(server.pid, "VmRSS")
    size, digest = download(addr, path)
    return (proc_kib(server.pid, "VmHWM") - before) / 1024, size, digest


def main():
    build_floor()
    with tempfile.TemporaryDirectory(dir=os.environ.get("WRKR_BENCH_DIR")) as tmp:
        env = dict(os.environ, WRKR_HOME=os.path.join(tmp, "home"), HOME=tmp)
        subprocess.run([BIN, "init"], cwd=tmp, env=env, check=True, stdout=subprocess.DEVNULL)
        subprocess.run([BIN, "submit", "jobspec.yaml", "--job-id", "bench"], cwd=tmp, env=env, check=True,
                       stdout=subprocess.DEVNULL)
        big = f"job_bench_{BIG_STEPS}"
        build_s = build_job(tmp, env, big, BIG_STEPS)
        server, addr = start([BIN, "serve", "--listen", "127.0.0.1:0", "--json"], env, tmp)
        floor = None
        try:
            small_path = "/v1/jobs/bench:status"
            body = os.path.join(tmp, "status.json")
            with open(body, "wb") as f:
                conn = http.client.HTTPConnection(*addr.rsplit(":", 1))
                conn.request("GET", small_path)
                f.write(conn.getresponse().read())
                conn.close()
            floor, floor_addr = start([FLOOR_BIN, body], env, tmp)
            rounds = [(timed_load(floor, floor_addr, small_path), timed_load(server, addr, small_path))
                      for _ in range(2)]
            f_best = min((r[0] for r in rounds), key=lambda r: r["seconds"])
            w_best = min((r[1] for r in rounds), key=lambda r: r["seconds"])
            # The big job's status against the floor's latency in the same minute.
            f_big = load(floor_addr, small_path)
            w_big = load(addr, f"/v1/jobs/{big}:status")
            w_hwm = proc_kib(server.pid, "VmHWM") / 1024
            # The first touch of the code and of a blocking-pool thread is not what is measured.
            for path in ("/v1/jobs/bench/events", "/v1/jobs/bench/jobpack"):
                download(addr, path)
            events_mib, events_bytes, _ = rss_growth(server, addr, f"/v1/jobs/{big}/events")
            pack_mib, pack_bytes, pack_sha = rss_growth(server, addr, f"/v1/jobs/{big}/jobpack")
        finally:
            server.kill()
            server.wait()
            if floor:
                floor.kill()
                floor.wait()
        out = os.path.join(tmp, "out")
        subprocess.run([BIN, "export", big, "--out-dir", out], env=env, check=True, stdout=subprocess.DEVNULL)
        with open(os.path.join(out, "jobpacks", f"jobpack_{big}.zip"), "rb") as f:
            exported = hashlib.sha256(f.read()).hexdigest()
        if exported != pack_sha:
            sys.exit("bench_serve: the served jobpack differs from wrkr export's")

    n = REQUESTS
    print(f"GET status, small job, {n} requests, concurrency {CONCURRENCY}, keep-alive (best of 2 rounds)")
    for name, r in (("hyper floor", f_best), ("wrkr serve", w_best)):
        print(f"  {name:<12} {n / r['seconds']:>8,.0f} req/s  p50 {r['p50_ms']:.3f}  p95 {r['p95_ms']:.3f}  "
              f"p99 {r['p99_ms']:.3f} ms")
    print(f"  wrkr / floor throughput {f_best['seconds'] / w_best['seconds']:.2f}x (goal >= 0.8x); "
          f"server peak RSS {w_hwm:.1f} MiB")
    cpu = lambda side: min(r[side]["cpu_s"] for r in rounds) / n * 1e6
    print(f"  server CPU per request (least of the rounds): wrkr {cpu(1):.1f} us, floor {cpu(0):.1f} us "
          f"({cpu(0) / cpu(1) if cpu(1) else 0:.2f}x; clock ticks of {1e3 / os.sysconf('SC_CLK_TCK'):.0f} ms"
          f" over {n:,} requests)")
    print(f"GET status, {BIG_STEPS:,}-step job (built in {build_s:.1f} s): p50 {w_big['p50_ms']:.3f}  "
          f"p99 {w_big['p99_ms']:.3f} ms (goal 2 / 5 ms); floor p50 {f_big['p50_ms']:.3f}  p99 {f_big['p99_ms']:.3f}")
    print(f"GET events  of that job: {events_bytes / (1 << 20):6.1f} MiB body, server RSS grew {events_mib:5.1f} MiB "
          f"(goal < 4)")
    print(f"GET jobpack of that job: {pack_bytes / (1 << 20):6.1f} MiB body, server RSS grew {pack_mib:5.1f} MiB "
          f"(goal < 4; same bytes as wrkr export)")

    per = lambda r: r["seconds"] / n
    record("serve_status_small_c8", "serve GET status, small job, c=8 (s/request)", per(w_best), "s", per(f_best),
           "minimal hyper server, same load", w_hwm)
    record("serve_status_small_c8_p99", "serve GET status, small job, c=8, p99", w_best["p99_ms"] / 1e3, "s",
           f_best["p99_ms"] / 1e3, "minimal hyper server p99")
    record(f"serve_status_{BIG_STEPS}_c8_p50", f"serve GET status, {BIG_STEPS:,}-step job, c=8, p50",
           w_big["p50_ms"] / 1e3, "s", f_big["p50_ms"] / 1e3, "minimal hyper server p50")
    record(f"serve_status_{BIG_STEPS}_c8_p99", f"serve GET status, {BIG_STEPS:,}-step job, c=8, p99",
           w_big["p99_ms"] / 1e3, "s", f_big["p99_ms"] / 1e3, "minimal hyper server p99")
    record(f"serve_events_{BIG_STEPS}_rss", f"serve GET events, {BIG_STEPS:,}-step job: RSS growth", events_mib,
           "MiB", events_bytes / (1 << 20), "the body's size")
    record(f"serve_jobpack_{BIG_STEPS}_rss", f"serve GET jobpack, {BIG_STEPS:,}-step job: RSS growth", pack_mib,
           "MiB", pack_bytes / (1 << 20), "the body's size")
    return 0


if __name__ == "__main__":
    sys.exit(main())
