#!/usr/bin/env python3
"""Multi-host chaos on PostgreSQL (issue 15): workers on three "hosts" share one server, one host
dies, another loses its link for longer than the lease TTL, and the guarantees still hold.

Hosts are network namespaces (`ip netns`, as root): each has a veth pair whose other end is a port
of a bridge in the root namespace, where the server listens on the bridge address (TCP, trust
authentication for the bridge subnet only). Each host runs one `wrkr worker --concurrency 2` with a
WRKR_HOME of its own (its local logs, as on a separate disk). JOBS multi-step jobs are queued; each
step appends `JOB STEP ATTEMPT WORKER` to a file outside the store (the side effect a store cannot
undo). Mid-run:

  - kill: every process of host 1 (its worker and the steps it runs) gets SIGKILL mid-step, as when
    a machine loses power; the host "reboots" (a new worker) a few seconds later;
  - cut: host 2's bridge port goes down while its steps run, for at least 2 x TTL + 2 s and until
    other workers took over every job it held, then comes back.

Invariants, checked after every job completed: no job is stuck; in every ledger the seqs are 1..n;
every step has exactly one succeeded attempt, and its side effect was written once, by that attempt
and no later one (a line of a later attempt would be a completed step run again); at the end of
the cut host 2 runs no step (each ran out or its worker stopped it); the cut-off worker's late
appends were refused by the fence (its stderr says `late append refused by the fence
(E_LEASE_CONFLICT)`; at least one), and no record of a superseded lease epoch follows the lease that
superseded it; every job exports a pack that `wrkr-verify` accepts and that is byte-identical to a
second export. One figures line is printed.

When namespaces cannot be created (not root, no `ip`, a container without CAP_NET_ADMIN) the test
says so and is skipped, except under CI=true, where it fails. Namespaces, links, processes and the
server are removed even on failure (and on SIGINT/SIGTERM).

Usage: scripts/chaos/pg_multihost.py [--jobs 100] [--steps 3] [--step-seconds 0.3] [--ttl 6]
       (env: WRKR_BIN, default target/debug/wrkr; WRKR_PG_BIN; CHAOS_KEEP=1 keeps the temp dir)
"""
from __future__ import annotations

import argparse
import glob
import json
import os
import pwd
import shutil
import signal
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
REFUSED = "late append refused by the fence (E_LEASE_CONFLICT)"
SUBNET = "10.77.{}."
TAG = f"wc{os.getpid() % 100000}"  # short: interface names are at most 15 bytes


def sh(*argv: str, check: bool = True) -> subprocess.CompletedProcess:
    proc = subprocess.run(list(argv), capture_output=True, text=True)
    if check and proc.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)}: {proc.stderr.strip() or proc.stdout.strip()}")
    return proc


class Net:
    """The bridge in the root namespace and one namespace per host; `close()` removes them all."""

    def __init__(self, hosts: int):
        self.octet = 64 + os.getpid() % 128
        self.bridge, self.namespaces, self.ports = f"{TAG}br", [], []
        self.server_ip = SUBNET.format(self.octet) + "1"
        sh("ip", "link", "add", self.bridge, "type", "bridge")
        sh("ip", "addr", "add", f"{self.server_ip}/24", "dev", self.bridge)
        sh("ip", "link", "set", self.bridge, "up")
        for i in range(1, hosts + 1):
            ns, port, inner = f"{TAG}h{i}", f"{TAG}p{i}", f"{TAG}i{i}"
            sh("ip", "netns", "add", ns)
            self.namespaces.append(ns)
            sh("ip", "link", "add", port, "type", "veth", "peer", "name", inner)
            self.ports.append(port)
            sh("ip", "link", "set", inner, "netns", ns)
            sh("ip", "link", "set", port, "master", self.bridge, "up")
            sh("ip", "-n", ns, "addr", "add", f"{SUBNET.format(self.octet)}{10 + i}/24", "dev", inner)
            sh("ip", "-n", ns, "link", "set", inner, "up")
            sh("ip", "-n", ns, "link", "set", "lo", "up")

    def pids(self, host: int) -> list[int]:
        out = sh("ip", "netns", "pids", self.namespaces[host - 1], check=False).stdout
        return [int(p) for p in out.split()]

    def link(self, host: int, up: bool) -> None:
        sh("ip", "link", "set", self.ports[host - 1], "up" if up else "down")

    def kill_all(self, host: int) -> None:
        for pid in self.pids(host):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass  # it ended meanwhile

    def close(self) -> None:
        for host in range(1, len(self.namespaces) + 1):
            self.kill_all(host)
        for ns in self.namespaces:
            sh("ip", "netns", "del", ns, check=False)  # takes its veth pair with it
        for port in self.ports:
            sh("ip", "link", "del", port, check=False)
        sh("ip", "link", "del", self.bridge, check=False)


def can_make_namespaces() -> str | None:
    """None when this process may create namespaces and links; else why not."""
    if os.geteuid() != 0:
        return "not root (network namespaces and veth pairs need CAP_NET_ADMIN)"
    if not shutil.which("ip"):
        return "no `ip` command (iproute2)"
    probe = sh("ip", "netns", "add", f"{TAG}probe", check=False)
    if probe.returncode != 0:
        return f"ip netns add failed: {probe.stderr.strip()}"
    sh("ip", "netns", "del", f"{TAG}probe", check=False)
    return None


class Server:
    """A throwaway cluster listening on the bridge address, as `nobody` (postgres refuses root)."""

    def __init__(self, base: str, ip: str, subnet: str):
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
        self.bin = os.environ.get("WRKR_PG_BIN") or (os.path.dirname(found[-1]) if found else None)
        if not self.bin:
            raise RuntimeError("no PostgreSQL server binaries (install postgresql, or set WRKR_PG_BIN)")
        self.dir, self.data = os.path.join(base, "pg"), os.path.join(base, "pg", "data")
        self.user = pwd.getpwnam("nobody")
        os.makedirs(self.dir)
        os.chown(self.dir, self.user.pw_uid, self.user.pw_gid)
        os.chmod(base, 0o755)
        self.port = 40000 + os.getpid() % 20000
        self.ctl(["initdb", "-A", "trust", "-U", "wrkr", "-E", "UTF8", "--no-instructions", "-D", self.data])
        with open(os.path.join(self.data, "pg_hba.conf"), "a") as hba:
            hba.write(f"host all wrkr {subnet}0/24 trust\n")
        options = f"-k {self.dir} -c listen_addresses={ip} -p {self.port} -c max_connections=100"
        self.ctl(["pg_ctl", "-w", "-s", "-t", "60", "-D", self.data, "-o", options,
                  "-l", os.path.join(self.dir, "log"), "start"])
        self.url = f"postgres://wrkr@{ip}:{self.port}/wrkr"
        self.ctl(["psql", "-X", "-q", "-h", self.dir, "-p", str(self.port), "-U", "wrkr", "-d", "postgres",
                  "-c", "CREATE DATABASE wrkr"])

    def ctl(self, argv: list[str]) -> None:
        def demote() -> None:
            os.setgid(self.user.pw_gid)
            os.setuid(self.user.pw_uid)
        proc = subprocess.run([os.path.join(self.bin, argv[0])] + argv[1:], preexec_fn=demote, cwd=self.dir,
                              env=dict(os.environ, HOME=self.dir), capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"{argv[0]}: {proc.stdout}{proc.stderr}")

    def sql(self, query: str) -> list[list[str]]:
        proc = subprocess.run([os.path.join(self.bin, "psql"), "-X", "-q", "-A", "-t", "-F", " ", "-h", self.dir,
                               "-p", str(self.port), "-U", "wrkr", "-d", "wrkr", "-c", query],
                              capture_output=True, text=True)
        if proc.returncode != 0:
            raise RuntimeError(f"psql: {proc.stderr}")
        return [line.split() for line in proc.stdout.splitlines() if line.strip()]

    def stop(self) -> None:
        try:
            self.ctl(["pg_ctl", "-w", "-s", "-D", self.data, "-m", "immediate", "stop"])
        except RuntimeError:
            pass


class Chaos:
    def __init__(self, args: argparse.Namespace, base: str, net: Net, server: Server):
        self.args, self.base, self.net, self.server = args, base, net, server
        self.bin = os.path.abspath(os.environ.get("WRKR_BIN") or os.path.join(ROOT, "target", "debug", "wrkr"))
        self.effects = os.path.join(base, "effects.txt")
        # Fast failure detection for a TTL of seconds: libpq's URL parameters (tcp_user_timeout in ms).
        self.url = server.url + "?keepalives_idle=1&keepalives_interval=1&keepalives_retries=2&tcp_user_timeout=1500"
        self.workers: dict[int, subprocess.Popen] = {}
        self.logs: dict[int, list[str]] = {}

    def env(self, home: str, **extra: str) -> dict:
        return {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": home, "WRKR_HOME": home,
                "WRKR_STORE": self.url, "PGCONNECT_TIMEOUT": "2", **extra}

    def wrkr(self, *argv: str, argv0: str = "wrkr") -> subprocess.CompletedProcess:
        home = os.path.join(self.base, "client")
        return subprocess.run([argv0, *argv], executable=self.bin, env=self.env(home), cwd=self.base,
                              capture_output=True)

    def start_worker(self, host: int) -> None:
        home = os.path.join(self.base, f"host{host}")
        os.makedirs(home, exist_ok=True)
        log = os.path.join(self.base, f"worker{host}.{len(self.logs.setdefault(host, []))}.log")
        self.logs[host].append(log)
        env = self.env(home, CHAOS_WORKER=f"host{host}", WRKR_WORKER_POLL_MS="500")
        with open(log, "wb") as err, open(log + ".out", "wb") as out:
            self.workers[host] = subprocess.Popen(
                ["ip", "netns", "exec", self.net.namespaces[host - 1], self.bin, "worker", "--concurrency", "2",
                 "--lease-ttl", str(self.args.ttl)], env=env, stdout=out, stderr=err, cwd=self.base)

    def queue(self) -> None:
        steps = "".join(
            f'    - {{id: s{i}, summary: s{i}, command: "sleep {self.args.step_seconds}; '
            f'echo $WRKR_JOB_ID s{i} $WRKR_STEP_ATTEMPT $CHAOS_WORKER >> {self.effects}"}}\n'
            for i in range(self.args.steps))
        os.makedirs(os.path.join(self.base, "ws"), exist_ok=True)
        with open(os.path.join(self.base, "chaos.yaml"), "w") as spec:
            spec.write("schema_id: wrkr.jobspec\nschema_version: v1\nproducer_version: chaos\nname: chaos\n"
                       "objective: chaos\nadapter: {name: reference}\ninputs:\n  workspace: ws\n  steps:\n"
                       + steps + "budgets: {max_wall_time_seconds: 3600, max_retries: 0, max_step_count: 100,"
                       " max_tool_calls: 100}\ncheckpoint_policy: {min_interval_seconds: 1}\n"
                       "environment_fingerprint: {rules: [os]}\n")
        migrated = self.wrkr("store", "migrate")
        assert migrated.returncode == 0, migrated.stderr.decode()
        for job in self.jobs():
            done = self.wrkr("submit", "chaos.yaml", "--queue", "--job-id", job)
            assert done.returncode == 0, done.stderr.decode()

    def jobs(self) -> list[str]:
        return [f"c{i:04d}" for i in range(self.args.jobs)]

    def completed(self) -> int:
        return self.wrkr("jobs", "--json").stdout.decode().count('"status":"completed"')

    def wait(self, what: str, done, limit: float) -> None:
        start = time.monotonic()
        while not done():
            if time.monotonic() - start > limit:
                raise AssertionError(f"timed out after {limit:.0f} s waiting for {what}")
            time.sleep(0.2)

    def leases_of(self, pid: int) -> dict[str, int]:
        """The jobs whose lease a worker process holds (its slots are `worker-HOST-PID-N`), by epoch."""
        rows = self.server.sql(f"SELECT job_id, lease_epoch FROM wrkr_jobs WHERE lease_worker LIKE 'worker-%-{pid}-%'")
        return {job: int(epoch) for job, epoch in rows}

    def taken_over(self, held: dict[str, int]) -> bool:
        rows = self.server.sql("SELECT job_id, lease_epoch, status FROM wrkr_jobs")
        now = {job: (int(epoch), status) for job, epoch, status in rows}
        return all(now[job][0] > epoch or now[job][1] == "completed" for job, epoch in held.items())

    def mid_step(self, host: int) -> bool:
        return len(self.net.pids(host)) > 1  # the worker plus at least one step's shell

    def run(self) -> dict:
        self.queue()
        started = time.monotonic()
        for host in (1, 2, 3):
            self.start_worker(host)
        tenth = max(1, self.args.jobs // 10)
        self.wait("a tenth of the jobs", lambda: self.completed() >= tenth, 300)
        self.wait("host 1 mid-step", lambda: self.mid_step(1), 60)
        self.net.kill_all(1)  # the host loses power: worker and steps at once
        self.workers[1].wait()
        self.wait("host 2 mid-step", lambda: self.mid_step(2), 60)
        self.net.link(2, up=False)
        cut = time.monotonic()
        held = self.leases_of(self.workers[2].pid)
        time.sleep(2)
        self.start_worker(1)  # rebooted
        time.sleep(max(0.0, 2 * self.args.ttl + 2 - (time.monotonic() - cut)))
        # The link stays down until another worker has taken over what host 2 held (they may all
        # be busy for a while): only then is a late append of host 2 certain to meet the fence.
        self.wait("the cut-off host's jobs to be taken over", lambda: self.taken_over(held), 300)
        self.cut_seconds = time.monotonic() - cut
        # By now the cut-off worker has stopped every step (it ran out, or was stopped at half
        # the TTL without the store) and started none: only the worker itself is left on host 2.
        left = self.net.pids(2)
        assert left == [self.workers[2].pid], f"host 2 still runs {left} at the end of its cut"
        self.net.link(2, up=True)
        self.wait("every job to complete", lambda: self.completed() == self.args.jobs, 600)
        for worker in self.workers.values():
            worker.send_signal(signal.SIGTERM)
        for host, worker in self.workers.items():
            assert worker.wait(timeout=180) == 0, f"host {host}'s worker did not drain to exit 0"
        wall = time.monotonic() - started
        return {"wall": wall, "cut": self.cut_seconds, **self.check()}

    def check(self) -> dict:
        effects: dict[tuple[str, str], list[tuple[int, str]]] = {}
        with open(self.effects) as lines:
            for line in lines:
                job, step, attempt, worker = line.split()
                effects.setdefault((job, step), []).append((int(attempt), worker))
        reruns, refused_jobs = 0, set()
        refused = 0
        for log in self.logs[2]:
            for line in open(log, errors="replace"):
                if REFUSED in line:
                    refused += 1
                    refused_jobs.add(line.split(REFUSED + ": job ")[1].split()[0])
        assert refused >= 1, f"the cut-off worker saw no refused late append: {self.logs[2]}"
        packs = os.path.join(self.base, "packs")
        for job in self.jobs():
            out = self.wrkr(job, argv0="wrkr-events")
            assert out.returncode == 0, out.stderr.decode()
            records = [json.loads(line) for line in out.stdout.decode().splitlines()]
            assert [r["seq"] for r in records] == list(range(1, len(records) + 1)), f"{job}: seqs not 1..n"
            self.check_fence_order(job, records)
            for i in range(self.args.steps):
                step = f"s{i}"
                won = [r["payload"]["attempt"] for r in records if r["type"] == "x-step_finished"
                       and r["payload"]["step_id"] == step and r["payload"]["outcome"] == "succeeded"]
                assert len(won) == 1, f"{job}:{step}: succeeded attempts {won}"
                ran = effects.get((job, step), [])
                assert [a for a, _ in ran].count(won[0]) >= 1, f"{job}:{step}: attempt {won[0]} left no effect"
                reruns += sum(1 for a, _ in ran if a > won[0]) + [a for a, _ in ran].count(won[0]) - 1
            for copy in ("a", "b"):
                done = self.wrkr("export", job, "--out-dir", os.path.join(packs, copy))
                assert done.returncode == 0, done.stderr.decode()
            pack = f"jobpacks/jobpack_{job}.zip"
            with open(os.path.join(packs, "a", pack), "rb") as a, open(os.path.join(packs, "b", pack), "rb") as b:
                assert a.read() == b.read(), f"{job}: a re-export differs"
            verified = self.wrkr(os.path.join(packs, "a", pack), argv0="wrkr-verify")
            assert verified.returncode == 0, f"{job}: {verified.stderr.decode()}"
        assert reruns == 0, f"{reruns} completed steps ran again"
        assert refused_jobs, "no job named in the refusals"
        return {"refused": refused, "reruns": reruns, "refused_jobs": len(refused_jobs)}

    @staticmethod
    def check_fence_order(job: str, records: list[dict]) -> None:
        """Once a lease of epoch E is set, no record stamped with an older epoch follows."""
        newest = 0
        for r in records:
            payload = r.get("payload") or {}
            epoch = payload.get("epoch")
            if r["type"] == "lease_set":
                newest = max(newest, epoch or 0)
            elif isinstance(epoch, int) and epoch < newest:
                raise AssertionError(f"{job}: seq {r['seq']} ({r['type']}) has epoch {epoch} after epoch {newest}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--jobs", type=int, default=100)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--step-seconds", type=float, default=0.3)
    parser.add_argument("--ttl", type=int, default=6)
    args = parser.parse_args()
    why = can_make_namespaces()
    if why:
        if os.environ.get("CI") == "true":
            print(f"FAILED chaos-pg (CI=true, so not skipped): cannot create network namespaces: {why}")
            return 1
        print(f"SKIPPED chaos-pg: cannot create network namespaces: {why}")
        return 0
    base = tempfile.mkdtemp(prefix="wrkr-chaos-pg-")
    net = server = None
    # A SIGTERM or Ctrl-C still cleans up (the finally below), as an exception would.
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: sys.exit(f"chaos-pg: interrupted; cleaning up {base}"))
    try:
        net = Net(hosts=3)
        server = Server(base, net.server_ip, SUBNET.format(net.octet))
        chaos = Chaos(args, base, net, server)
        figures = chaos.run()
        print(f"chaos-pg: jobs={args.jobs} steps_per_job={args.steps} hosts=3 kills=1 cut_offs=1 "
              f"cut_seconds={figures['cut']:.1f} lease_ttl={args.ttl} refused_late_appends={figures['refused']} "
              f"(jobs: {figures['refused_jobs']}) reruns_of_completed_steps={figures['reruns']} "
              f"wall={figures['wall']:.1f}s")
        return 0
    except (AssertionError, RuntimeError, OSError) as failure:
        print(f"chaos-pg: FAILED: {failure} (logs in {base})", file=sys.stderr)
        os.environ["CHAOS_KEEP"] = "1"
        return 1
    finally:
        if net:
            net.close()
        if server:
            server.stop()
        if os.environ.get("CHAOS_KEEP") != "1":
            shutil.rmtree(base, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
