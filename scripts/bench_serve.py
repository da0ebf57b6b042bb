#!/usr/bin/env python3
"""bench_serve: 20,000 `GET /v1/jobs/{id}:status` requests at concurrency 8 against `wrkr serve`
on loopback. Prints throughput, p50/p95/p99 latency, error rate and the server's peak RSS
(VmHWM from /proc). Each worker thread keeps one HTTP/1.1 keep-alive connection (http.client).
Bounded: the run stops after 120 s whatever happened. Not part of `make test`."""
import http.client, json, os, subprocess, sys, tempfile, threading, time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import record  # noqa: E402

REQUESTS, CONCURRENCY, LIMIT_S = 20_000, 8, 120
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BIN = os.environ.get("WRKR_BIN") or os.path.join(ROOT, "target/release/wrkr")

def main():
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, WRKR_HOME=os.path.join(tmp, "home"), HOME=tmp)
        subprocess.run([BIN, "init"], cwd=tmp, env=env, check=True, stdout=subprocess.DEVNULL)
        subprocess.run([BIN, "submit", "jobspec.yaml", "--job-id", "bench"], cwd=tmp, env=env, check=True,
                       stdout=subprocess.DEVNULL)
        server = subprocess.Popen([BIN, "serve", "--listen", "127.0.0.1:0", "--json"], cwd=tmp, env=env,
                                  stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
        try:
            lines = []
            while not lines or lines[-1].rstrip() != "}":
                lines.append(server.stdout.readline())
            host, port = json.loads("".join(lines))["listen"].rsplit(":", 1)
            latencies, errors, lock = [], [0], threading.Lock()
            counter = iter(range(REQUESTS))
            deadline = time.monotonic() + LIMIT_S

            def worker():
                conn = http.client.HTTPConnection(host, int(port), timeout=10)
                mine, bad = [], 0
                while time.monotonic() < deadline:
                    with lock:
                        if next(counter, None) is None:
                            break
                    t = time.perf_counter()
                    try:
                        conn.request("GET", "/v1/jobs/bench:status")
                        resp = conn.getresponse()
                        resp.read()
                        if resp.status != 200:
                            bad += 1
                    except Exception:
                        bad += 1
                        conn.close()
                        conn = http.client.HTTPConnection(host, int(port), timeout=10)
                    mine.append(time.perf_counter() - t)
                with lock:
                    latencies.extend(mine)
                    errors[0] += bad

            start = time.perf_counter()
            threads = [threading.Thread(target=worker) for _ in range(CONCURRENCY)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            elapsed = time.perf_counter() - start
            status = open(f"/proc/{server.pid}/status").read()
            hwm = next((l.split()[1] for l in status.splitlines() if l.startswith("VmHWM:")), "?")
            latencies.sort()
            pct = lambda p: latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))] * 1000
            n = len(latencies)
            print(f"requests        {n} (concurrency {CONCURRENCY}, keep-alive)")
            print(f"throughput      {n / elapsed:,.0f} req/s ({elapsed:.2f} s)")
            print(f"latency ms      p50 {pct(50):.3f}  p95 {pct(95):.3f}  p99 {pct(99):.3f}")
            print(f"error rate      {errors[0] / max(n, 1):.4%} ({errors[0]} errors)")
            print(f"server peak RSS {hwm} KiB")
            rss = int(hwm) / 1024 if hwm.isdigit() else None
            # No floor yet: the goal's floor is a minimal hyper server answering a fixed body (issue 16).
            record("serve_status_small_c8", "serve GET status, small job, c=8 (s/request)", elapsed / max(n, 1), "s",
                   rss_mib=rss)
            record("serve_status_small_c8_p99", "serve GET status, small job, c=8, p99", pct(99) / 1000, "s")
            return 0 if errors[0] == 0 and n == REQUESTS else 1
        finally:
            server.kill()
            server.wait()

if __name__ == "__main__":
    sys.exit(main())
