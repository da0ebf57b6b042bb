#!/usr/bin/env python3
"""PostgreSQL store benchmarks (issue 15): measure, do not gate. Not part of `make test`.

Starts its own throwaway cluster (initdb + pg_ctl, unix socket only, as `nobody` when run as root,
with the server's durable defaults: fsync and synchronous_commit on) in a temp dir on the same
disk as a file store, and prints, all measured in this run:

  - append latency of one 1-event batch (`wrkr-events --append JOB`, a cold process each, the
    spawn of `wrkr --version` subtracted) on the file store and on PostgreSQL, against their
    floors: a bare write+fdatasync, and `pgbench`'s single-row UPDATE latency on the same cluster
    (one client, one transaction per statement: the least a durable commit costs there);
  - `wrkr status JOB` and `wrkr jobs` on a store of BENCH_PG_JOBS (10,000) jobs, against the spawn
    floor and `psql` reading the same job rows.

Usage: scripts/bench_pg.py   (env: CARGO_TARGET_DIR, BENCH_DIR (default /tmp), BENCH_RUNS (100),
BENCH_PG_JOBS (10000), WRKR_PG_BIN, WRKR_BENCH_BIN: a wrkr binary to use instead of building release)
"""
from __future__ import annotations

import glob
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
    base = tempfile.mkdtemp(prefix="wrkr-bench-", dir=os.environ.get("BENCH_DIR", "/tmp"))
    cluster = Cluster(base, bin_dir)
    try:
        cluster.psql("postgres", "CREATE DATABASE bench")
        url = cluster.url("bench")
        home = os.path.join(base, "home")
        os.makedirs(home)
        file_env, pg_env = wrkr_env(home, None), wrkr_env(home, url)
        subprocess.run(["wrkr", "store", "migrate"], env=pg_env, check=True, stdout=subprocess.DEVNULL,
                       executable=binary)

        spawn = exec_ms(binary, file_env, ["--version"], RUNS)
        fsync = bare_fdatasync(base, RUNS)
        pgbench = pgbench_update_ms(cluster, "bench")
        file_append = append_ms(binary, file_env, "a_file")
        pg_append = append_ms(binary, pg_env, "a_pg")
        print(f"spawn (wrkr --version): {spawn:.2f} ms; bare write+fdatasync: {fsync:.3f} ms; "
              f"pgbench 1-row UPDATE: {pgbench:.3f} ms")
        print(f"append, 1 event (cold process, spawn subtracted): file store {file_append - spawn:.2f} ms, "
              f"PostgreSQL {pg_append - spawn:.2f} ms ({(pg_append - spawn) / max(file_append - spawn, 1e-6):.1f}x)")
        record("pg.append.file", "append 1 event, file store (-spawn)", file_append - spawn, "ms", fsync,
               "write+fdatasync")
        record("pg.append.postgres", "append 1 event, PostgreSQL (-spawn)", pg_append - spawn, "ms", pgbench,
               "pgbench 1-row UPDATE, same cluster")

        many_jobs(cluster, "bench", binary, pg_env)
        runs = max(5, RUNS // 10)
        status = exec_ms(binary, pg_env, ["status", f"b{JOBS // 2}"], runs)
        jobs = exec_ms(binary, pg_env, ["jobs"], max(3, runs // 4))
        t = time.perf_counter()
        for _ in range(3):
            cluster.psql("bench", "SELECT job_id, status, last_seq, started_at, updated_at, snapshot FROM wrkr_jobs")
        psql_rows = (time.perf_counter() - t) / 3 * 1e3
        print(f"{JOBS} jobs: wrkr status {status:.1f} ms, wrkr jobs {jobs:.1f} ms "
              f"(psql reading the job rows: {psql_rows:.1f} ms)")
        record("pg.status_10k", f"wrkr status, PostgreSQL, {JOBS} jobs", status, "ms", spawn, "wrkr --version spawn")
        record("pg.jobs_10k", f"wrkr jobs, PostgreSQL, {JOBS} jobs", jobs, "ms", psql_rows,
               "psql reading the job rows")
    finally:
        cluster.stop()
        shutil.rmtree(base, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
