#!/usr/bin/env python3
"""PostgreSQL store benchmarks (issue 15): measure, do not gate. Not part of `make test`;
`make bench-pg` runs it.

Starts its own throwaway cluster (initdb + pg_ctl, unix socket only, as `nobody` when run as root,
with the server's durable defaults: fsync and synchronous_commit on) in a temp dir on the same
disk as a file store, and prints one table, also written to target/bench/pg_results.json, of what
it measured in this run, with the load average before and after (the machine may be shared):

  - append latency of one 1-event batch (`wrkr-events --append JOB`, a cold process each, the
    spawn of `wrkr --version` subtracted) on the file store and on PostgreSQL, against their
    floors: a bare write+fdatasync, and `pgbench`'s single-row UPDATE latency on the same cluster
    (one client, one transaction per statement: the least a durable commit costs there);
  - jobs per second with 1, 2 and 4 worker processes (`wrkr worker --once`) draining
    BENCH_PG_QUEUE (40) queued one-step jobs whose step is `true`;
  - submit-to-first-step latency, p50 and p99 of BENCH_PG_LATENCY (30) submits to one idle worker:
    from the start of `wrkr submit --queue` to the step's own clock reading, with `LISTEN/NOTIFY`
    and without it (`WRKR_WORKER_LISTEN=0`: the 1 s poll alone);
  - `wrkr status JOB` and `wrkr jobs` on a store of BENCH_PG_JOBS (10,000) jobs, against the spawn
    floor and `psql` reading the same job rows.

Usage: scripts/bench_pg.py   (env: CARGO_TARGET_DIR, BENCH_DIR (default /tmp), BENCH_RUNS (100),
BENCH_PG_JOBS (10000), BENCH_PG_QUEUE (40), BENCH_PG_LATENCY (30), WRKR_PG_BIN, WRKR_BENCH_BIN: a
wrkr binary to use instead of building release)
"""
from __future__ import annotations

import glob
import json
import os
import pwd
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from benchlib import record  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
RUNS = int(os.environ.get("BENCH_RUNS", "100"))
JOBS = int(os.environ.get("BENCH_PG_JOBS", "10000"))
QUEUE = int(os.environ.get("BENCH_PG_QUEUE", "40"))
LATENCY_SAMPLES = int(os.environ.get("BENCH_PG_LATENCY", "30"))
EVENT = b'{"type":"x-bench","payload":{"pad":"' + b"p" * 60 + b'"}}\n'


def pg_bin() -> str | None:
    if os.environ.get("WRKR_PG_BIN"):
        return os.environ["WRKR_PG_BIN"]
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    if found:
        return os.path.dirname(found[-1])
    return shutil.which("initdb") and os.path.dirname(shutil.which("initdb"))


class Cluster:
    """A throwaway server; `stop()` shuts it down and removes its files."""

    def __init__(self, base: str, bin_dir: str):
        self.bin = bin_dir
        self.dir = tempfile.mkdtemp(prefix="wrkr-bench-pg-", dir=base)
        self.data = os.path.join(self.dir, "data")
        self.user = pwd.getpwnam("nobody") if os.geteuid() == 0 else None
        if self.user:
            os.chown(self.dir, self.user.pw_uid, self.user.pw_gid)
            os.chmod(os.path.dirname(self.dir), os.stat(os.path.dirname(self.dir)).st_mode | 0o011)
        self.server(["initdb", "-A", "trust", "-U", "wrkr", "-E", "UTF8", "--no-instructions", "-D", self.data])
        options = f"-k {self.dir} -c listen_addresses='' -c max_connections=50"
        self.server(["pg_ctl", "-w", "-s", "-t", "60", "-D", self.data, "-o", options,
                     "-l", os.path.join(self.dir, "log"), "start"])

    def server(self, argv: list[str]) -> None:
        def demote():
            if self.user:
                os.setgid(self.user.pw_gid)
                os.setuid(self.user.pw_uid)
        env = dict(os.environ, HOME=self.dir)
        proc = subprocess.run([os.path.join(self.bin, argv[0])] + argv[1:], preexec_fn=demote, env=env,
                              cwd=self.dir, capture_output=True, text=True)
        if proc.returncode != 0:
            sys.exit(f"bench_pg: {argv[0]} failed: {proc.stdout}{proc.stderr}")

    def psql(self, db: str, sql: str) -> str:
        proc = subprocess.run([os.path.join(self.bin, "psql"), "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1",
                               "-h", self.dir, "-U", "wrkr", "-d", db, "-c", sql], capture_output=True, text=True)
        if proc.returncode != 0:
            sys.exit(f"bench_pg: psql {sql[:60]}: {proc.stderr}")
        return proc.stdout

    def url(self, db: str) -> str:
        return f"postgres:///{db}?user=wrkr&host={self.dir}"

    def stop(self) -> None:
        self.server(["pg_ctl", "-w", "-s", "-D", self.data, "-m", "fast", "stop"])
        shutil.rmtree(self.dir, ignore_errors=True)


def run(argv: list[str], env: dict, stdin: bytes = b"", argv0: str | None = None) -> float:
    """Wall time of one process; `argv0` is the binary run under the name argv[0] (a multicall link)."""
    t = time.perf_counter()
    p = subprocess.run(argv, input=stdin, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, env=env,
                       executable=argv0)
    dt = time.perf_counter() - t
    if p.returncode != 0:
        sys.exit(f"bench_pg: failed: {' '.join(argv)}: {p.stderr.decode()}")
    return dt


def median_ms(xs: list[float]) -> float:
    return statistics.median(xs) * 1e3


def bare_fdatasync(directory: str, ops: int) -> float:
    path = os.path.join(directory, "bare.jsonl")
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_TRUNC, 0o600)
    times = []
    for _ in range(ops):
        t = time.perf_counter()
        os.write(fd, EVENT)
        os.fdatasync(fd)
        times.append(time.perf_counter() - t)
    os.close(fd)
    return median_ms(times)


def pgbench_update_ms(cluster: Cluster, db: str, seconds: int = 5) -> float:
    """Average latency of `UPDATE ... WHERE id = 1` by one pgbench client, in ms."""
    cluster.psql(db, "CREATE TABLE floor (id int PRIMARY KEY, v bigint); INSERT INTO floor VALUES (1, 0)")
    script = os.path.join(cluster.dir, "update.sql")
    with open(script, "w") as f:
        f.write("UPDATE floor SET v = v + 1 WHERE id = 1;\n")
    proc = subprocess.run([os.path.join(cluster.bin, "pgbench"), "-n", "-h", cluster.dir, "-U", "wrkr", "-c", "1",
                           "-T", str(seconds), "-f", script, db], capture_output=True, text=True)
    m = re.search(r"tps = ([0-9.]+)", proc.stdout)
    if proc.returncode != 0 or not m:
        sys.exit(f"bench_pg: pgbench failed: {proc.stdout}{proc.stderr}")
    tps = float(m.group(1))
    print(f"pgbench single-row UPDATE, 1 client, {seconds}s: {tps:.0f} tps")
    return 1e3 / tps


def wrkr_env(home: str, store: str | None) -> dict:
    env = {"PATH": os.environ.get("PATH", ""), "HOME": home, "WRKR_HOME": home}
    if store:
        env["WRKR_STORE"] = store
    return env


def append_ms(binary: str, env: dict, job: str) -> float:
    create = subprocess.run(["wrkr-events", "--append", "--create", job], input=EVENT, capture_output=True,
                            env=env, executable=binary)
    if create.returncode != 0:
        sys.exit(f"bench_pg: create {job}: {create.stderr.decode()}")
    times = [run(["wrkr-events", "--append", job], env, EVENT, argv0=binary) for _ in range(RUNS)]
    return median_ms(times)


def exec_ms(binary: str, env: dict, argv: list[str], runs: int) -> float:
    return median_ms([run(["wrkr"] + argv, env, argv0=binary) for _ in range(runs)])


def many_jobs(cluster: Cluster, db: str, binary: str, env: dict) -> None:
    """BENCH_PG_JOBS jobs: one made by wrkr, the rest copies of its rows made by SQL (the same
    bytes under other ids, each snapshot naming its own job so that it is used as wrkr's own would
    be: making them one process each would take minutes and measure nothing new)."""
    seed = subprocess.run(["wrkr-events", "--append", "--create", "b0"], input=EVENT * 20, capture_output=True,
                          env=env, executable=binary)
    if seed.returncode != 0:
        sys.exit(f"bench_pg: seed job: {seed.stderr.decode()}")
    cluster.psql(db, f"""
        INSERT INTO wrkr_jobs (job_id, status, last_seq, lease_epoch, lease_worker, lease_expires, started_at,
                               updated_at, snapshot_seq, snapshot)
        SELECT 'b' || g, status, last_seq, lease_epoch, lease_worker, lease_expires, started_at, updated_at,
               snapshot_seq,
               convert_to(replace(convert_from(snapshot, 'UTF8'), '"job_id":"b0"', '"job_id":"b' || g || '"'), 'UTF8')
        FROM wrkr_jobs, generate_series(1, {JOBS - 1}) g WHERE job_id = 'b0';
        INSERT INTO wrkr_events (job_id, seq, line)
        SELECT 'b' || g, seq, line FROM wrkr_events, generate_series(1, {JOBS - 1}) g WHERE job_id = 'b0';
        ANALYZE;""")
    count = cluster.psql(db, "SELECT count(*) FROM wrkr_jobs WHERE job_id LIKE 'b%'").strip()
    print(f"store of {count} jobs (21 events each)")


def jobspec(workspace: str, command: str) -> str:
    """A one-step JobSpec for the reference adapter running `command` in `workspace`."""
    return (
        "schema_id: wrkr.jobspec\nschema_version: v1\nproducer_version: bench\nname: bench\n"
        "objective: bench job\nadapter: {name: reference}\n"
        f"inputs:\n  workspace: {workspace}\n  steps:\n    - {{id: s0, summary: s0, command: {json.dumps(command)}}}\n"
        "budgets: {max_wall_time_seconds: 600, max_retries: 0, max_step_count: 50, max_tool_calls: 50}\n"
        "checkpoint_policy: {min_interval_seconds: 1}\nenvironment_fingerprint: {rules: []}\n"
    )


def fresh_store(cluster: Cluster, binary: str, home: str, db: str) -> dict:
    """A new migrated database; returns the environment that points wrkr at it."""
    cluster.psql("postgres", f"CREATE DATABASE {db}")
    env = wrkr_env(home, cluster.url(db))
    run(["wrkr", "store", "migrate"], env, argv0=binary)
    return env


def submit_queued(binary: str, env: dict, spec: str, job: str) -> None:
    run(["wrkr", "submit", spec, "--queue", "--job-id", job], env, argv0=binary)


def completed(binary: str, env: dict) -> int:
    out = subprocess.run(["wrkr", "jobs", "--json"], capture_output=True, env=env, executable=binary)
    return out.stdout.decode().count('"status":"completed"')


def jobs_per_second(cluster: Cluster, binary: str, base: str, workers: int) -> float:
    """QUEUE queued one-step `true` jobs drained by `workers` processes of `wrkr worker --once`."""
    home = os.path.join(base, f"tp{workers}")
    os.makedirs(os.path.join(home, "ws"))
    env = fresh_store(cluster, binary, home, f"tp{workers}")
    spec = os.path.join(home, "true.yaml")
    with open(spec, "w") as f:
        f.write(jobspec(os.path.join(home, "ws"), "true"))
    for i in range(QUEUE):
        submit_queued(binary, env, spec, f"q{i}")
    t = time.perf_counter()
    procs = [subprocess.Popen(["wrkr", "worker", "--once"], env=env, executable=binary, stdout=subprocess.DEVNULL,
                              stderr=subprocess.PIPE) for _ in range(workers)]
    for p in procs:
        _, err = p.communicate()
        if p.returncode != 0:
            sys.exit(f"bench_pg: worker failed: {err.decode()}")
    elapsed = time.perf_counter() - t
    done = completed(binary, env)
    if done != QUEUE:
        sys.exit(f"bench_pg: {workers} workers completed {done} of {QUEUE} jobs")
    return QUEUE / elapsed


def percentile(xs: list[float], q: float) -> float:
    ordered = sorted(xs)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def submit_to_first_step(cluster: Cluster, binary: str, base: str, listen: bool) -> tuple[float, float]:
    """p50 and p99 (ms) from the start of `wrkr submit --queue` to the step reading the clock, with
    one idle worker waiting (LISTEN on or off; the poll stays the default 1 s). A random pause
    between submits spreads them over the poll's phase."""
    name = "notify" if listen else "poll"
    home = os.path.join(base, f"lat_{name}")
    ws = os.path.join(home, "ws")
    os.makedirs(ws)
    env = fresh_store(cluster, binary, home, f"lat_{name}")
    worker_env = dict(env, WRKR_WORKER_LISTEN="1" if listen else "0")
    clock = os.path.join(home, "started")
    spec = os.path.join(home, "clock.yaml")
    with open(spec, "w") as f:
        f.write(jobspec(ws, f"date +%s.%N > {clock}"))
    worker = subprocess.Popen(["wrkr", "worker"], env=worker_env, executable=binary, stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    samples = []
    rng = __import__("random").Random(15)
    try:
        time.sleep(1.5)  # idle and listening
        for i in range(LATENCY_SAMPLES):
            if os.path.exists(clock):
                os.remove(clock)
            t = time.time()
            submit_queued(binary, env, spec, f"l{i}")
            deadline = time.time() + 30
            while not os.path.exists(clock) or not open(clock).read().endswith("\n"):
                if time.time() > deadline:
                    sys.exit(f"bench_pg: job l{i} did not start within 30 s")
                time.sleep(0.002)
            samples.append((float(open(clock).read()) - t) * 1e3)
            while completed(binary, env) < i + 1 and time.time() < deadline:
                time.sleep(0.01)
            time.sleep(rng.uniform(0.05, 0.5))
    finally:
        worker.terminate()
        worker.wait()
    return percentile(samples, 0.5), percentile(samples, 0.99)


def print_table(rows: list[dict], load: dict) -> None:
    print(f"\n## PostgreSQL figures ({os.cpu_count()} cores; load average before "
          f"{load['before']}, after {load['after']})\n")
    print(f"{'measure':<52} {'value':>12}  {'floor / compared with':<44}")
    for r in rows:
        floor = "" if r["floor"] is None else f"{r['floor']:.4g} {r['floor_unit']} ({r['floor_name']})"
        print(f"{r['measure']:<52} {r['value']:>8.4g} {r['unit']:<5} {floor}")


def main() -> int:
    bin_dir = pg_bin()
    if not bin_dir:
        print("SKIPPED bench_pg: no initdb (install Debian's postgresql, or set WRKR_PG_BIN)")
        return 0
    binary = os.environ.get("WRKR_BENCH_BIN")
    if not binary:
        subprocess.run(["cargo", "build", "--release", "-q", "--locked"], cwd=ROOT, check=True,
                       env=dict(os.environ, CARGO_TARGET_DIR=TARGET))
        binary = os.path.join(TARGET, "release", "wrkr")
    load_before = " ".join(f"{x:.2f}" for x in os.getloadavg())
    base = tempfile.mkdtemp(prefix="wrkr-bench-", dir=os.environ.get("BENCH_DIR", "/tmp"))
    cluster = Cluster(base, bin_dir)
    rows: list[dict] = []

    def row(measure: str, value: float, unit: str, floor: float | None = None, floor_unit: str = "",
            floor_name: str = "") -> None:
        rows.append({"measure": measure, "value": round(value, 4), "unit": unit,
                     "floor": None if floor is None else round(floor, 4), "floor_unit": floor_unit,
                     "floor_name": floor_name})

    try:
        cluster.psql("postgres", "CREATE DATABASE bench")
        url = cluster.url("bench")
        home = os.path.join(base, "home")
        os.makedirs(home)
        file_env, pg_env = wrkr_env(home, None), wrkr_env(home, url)
        run(["wrkr", "store", "migrate"], pg_env, argv0=binary)

        spawn = exec_ms(binary, file_env, ["--version"], RUNS)
        fsync = bare_fdatasync(base, RUNS)
        pgbench = pgbench_update_ms(cluster, "bench")
        file_append = append_ms(binary, file_env, "a_file")
        pg_append = append_ms(binary, pg_env, "a_pg")
        row("append 1 event, file store (cold process - spawn)", file_append - spawn, "ms", fsync, "ms",
            "write+fdatasync")
        row("append 1 event, PostgreSQL (cold process - spawn)", pg_append - spawn, "ms", pgbench, "ms",
            f"pgbench 1-row UPDATE, {1e3 / pgbench:.0f} tps")
        record("pg.append.file", "append 1 event, file store (-spawn)", file_append - spawn, "ms", fsync,
               "write+fdatasync")
        record("pg.append.postgres", "append 1 event, PostgreSQL (-spawn)", pg_append - spawn, "ms", pgbench,
               "pgbench 1-row UPDATE, same cluster")

        for workers in (1, 2, 4):
            rate = jobs_per_second(cluster, binary, base, workers)
            row(f"jobs/s, {workers} worker(s), {QUEUE} one-step `true` jobs", rate, "jobs/s", 1e3 / pgbench,
                "tps", "pgbench 1-row UPDATE")
            record(f"pg.workers_{workers}", f"jobs/s, {workers} PostgreSQL worker(s)", rate, "jobs/s")

        for listen in (True, False):
            p50, p99 = submit_to_first_step(cluster, binary, base, listen)
            how = "NOTIFY" if listen else "no NOTIFY (1 s poll)"
            row(f"submit to first step, {how}, p50", p50, "ms", spawn, "ms", "wrkr --version spawn")
            row(f"submit to first step, {how}, p99", p99, "ms")
            tag = "notify" if listen else "poll"
            record(f"pg.first_step.{tag}.p50", f"submit to first step, {how}, p50", p50, "ms", spawn,
                   "wrkr --version spawn")
            record(f"pg.first_step.{tag}.p99", f"submit to first step, {how}, p99", p99, "ms")

        many_jobs(cluster, "bench", binary, pg_env)
        runs = max(5, RUNS // 10)
        status = exec_ms(binary, pg_env, ["status", f"b{JOBS // 2}"], runs)
        jobs = exec_ms(binary, pg_env, ["jobs"], max(3, runs // 4))
        t = time.perf_counter()
        for _ in range(3):
            cluster.psql("bench", "SELECT job_id, status, last_seq, started_at, updated_at, snapshot FROM wrkr_jobs")
        psql_rows = (time.perf_counter() - t) / 3 * 1e3
        row(f"wrkr status, {JOBS} jobs in the store", status, "ms", spawn, "ms", "wrkr --version spawn")
        row(f"wrkr jobs, {JOBS} jobs", jobs, "ms", psql_rows, "ms", "psql reading the job rows")
        record("pg.status_10k", f"wrkr status, PostgreSQL, {JOBS} jobs", status, "ms", spawn, "wrkr --version spawn")
        record("pg.jobs_10k", f"wrkr jobs, PostgreSQL, {JOBS} jobs", jobs, "ms", psql_rows,
               "psql reading the job rows")
    finally:
        cluster.stop()
        shutil.rmtree(base, ignore_errors=True)
    load = {"before": load_before, "after": " ".join(f"{x:.2f}" for x in os.getloadavg())}
    print_table(rows, load)
    out_dir = os.path.join(TARGET, "bench")
    os.makedirs(out_dir, exist_ok=True)
    result = {"machine": {"cores": os.cpu_count(), "load_average": load}, "binary": binary, "rows": rows}
    with open(os.path.join(out_dir, "pg_results.json"), "w") as f:
        json.dump(result, f, indent=2)
        f.write("\n")
    print(f"\nwritten: {os.path.join(out_dir, 'pg_results.json')}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
