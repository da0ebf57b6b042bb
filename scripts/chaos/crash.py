"""Crash-consistency suite: SIGKILL the process group at random moments through the journey, and
crash at the N-th failpoint (WRKR_FAIL_IO_MODE=crash) or at a named one (a lease renewal, prune's
removal); after each kill, recover and check.

A case is one sandbox walked through the journey; each stage is killed once at a random moment
(a kill that lands after the command finished is not counted as a kill point), some stages also
get a deterministic crash at a random N-th failpoint. Seeded: case i uses seed*100003+i.
"""

import os
import random
import threading
import time

import journey as j

# How long each stage runs on a loaded 2-core machine: kill moments are drawn uniformly up to
# 1.2 times this. Fixed, not learned, so that a seed and case number give the same kill moments
# (the timing of the machine still varies: a reproduction is likely, not certain).
STAGE_SECONDS = {"submit": 0.8, "resume": 0.6, "append": 0.08, "wrap": 0.3, "export": 0.25, "accept": 0.5,
                 "prune": 0.15}

# For the crashes at a lease renewal: step s2 runs across the first one (a third of the 1 s TTL
# after the lease is taken), so the runner dies mid-step.
MID_STEP = {"CHAOS_S2_SLEEP": "0.7"}


class Estimates:
    def get(self, stage):
        return STAGE_SECONDS[stage]

    def observe(self, stage, seconds):
        pass


def empty_job_dir(sb, job):
    """Whether `job`'s directory holds an empty ledger: what a wrap killed before its first record
    was durable leaves (no job: `wrkr fsck` names it, `--repair` removes it, prune selects no such
    job). Prune never empties a ledger, so this is never a half-removed job."""
    ledger = os.path.join(sb.job_dir(job), "events.jsonl")
    return os.path.isfile(ledger) and os.path.getsize(ledger) == 0


class Case:
    def __init__(self, binary, seed, estimates, root):
        self.rng = random.Random(seed)
        self.sb = j.Sandbox(binary, root)
        self.estimates = estimates
        self.kills = 0
        self.nth_crashes = 0
        self.named = {}  # point -> crashes there (counted in nth_crashes too)
        self.failures = []
        self.known = set()  # distinct findings of the rel branch's bugs
        self.marks = {}

    def killed_run(self, stage, args, stdin=None, job=j.JOB):
        """Run args, SIGKILL its group at a random moment. Returns (killed, exit code, stdout)."""
        delay = self.rng.uniform(0, self.estimates.get(stage) * 1.2)
        started = time.monotonic()
        proc = self.sb.spawn(*args, stdin=stdin)
        if stdin is not None:
            try:
                proc.stdin.write(stdin)
                proc.stdin.close()
            except BrokenPipeError:
                pass
            proc.stdin = None  # written and closed: communicate() must not touch it again
        try:
            proc.wait(timeout=delay)
            out, _ = proc.communicate()
            self.estimates.observe(stage, time.monotonic() - started)
            return False, proc.returncode, out
        except Exception:  # still running at the kill moment
            j.kill_group(proc)
            self.kills += 1
            return True, None, b""

    def nth_crash(self, args, stdin=None, limit=40):
        """Crash (SIGKILL itself) at a random N-th failpoint; True when it did."""
        n = self.rng.randint(1, limit)
        env = {"WRKR_FAIL_IO_AT": str(n), "WRKR_FAIL_IO_MODE": "crash"}
        code, _, _ = self.sb.run(*args, env=env, stdin=stdin)
        if code == -9:
            self.nth_crashes += 1
            return True
        return False

    def named_crash(self, args, point, n=1, env=None):
        """Crash (SIGKILL itself) the n-th time `point` is reached; True when it did. A named
        point lands where a random moment rarely does: a lease renewal mid-step, between prune's
        selection and its removal."""
        armed = f"{point}=1*return(crash)" if n == 1 else f"{point}={n - 1}*off->1*return(crash)"
        code, _, _ = self.sb.run(*args, env={"FAILPOINTS": armed, **(env or {})})
        if code == -9:
            self.nth_crashes += 1
            self.named[point] = self.named.get(point, 0) + 1
            return True
        return False

    def after_kill(self, job=j.JOB, what=""):
        found = []
        records, failures = j.check_store(self.sb, job, found)
        self.known.update(found)
        self.failures += [f"{what}: {f}" for f in failures]
        if job == j.JOB and records is not None:
            for step, mark in j.completed_marks(self.sb, records).items():
                self.marks.setdefault(step, mark)
        return records

    def run(self):
        sb = self.sb
        sb.run("accept", "init")
        # 1. The job: submit and resumes, each killed; sometimes an N-th-point crash; then
        # sometimes several resumes at once (exactly one may run).
        if self.rng.random() < 0.2 and self.named_crash(sb.submit_args(), "lease.heartbeat", env=MID_STEP):
            # The runner died at its first lease renewal, while step s2 ran: resume re-runs it once.
            killed = True
        else:
            killed, code, _ = self.killed_run("submit", sb.submit_args())
        if killed and not j.job_exists(sb):
            # Killed before the job's first batch was durable: there is no job; submit again.
            killed, code, _ = self.killed_run("submit", sb.submit_args())
        if killed and not j.job_exists(sb):
            code, _, err = sb.run(*sb.submit_args())
            if code != 0:
                self.failures.append(f"submit after a kill before the job existed: exit {code}: {j.oneline(err)}")
                return
        elif killed:
            self.after_kill(what="submit")
        for round_no in range(self.rng.randint(1, 3)):
            st, _ = sb.status()
            if st is None or st.get("status") == "completed":
                break
            j.wait_lease(sb)
            dice = self.rng.random()
            if dice < 0.3 and self.nth_crash(sb.resume_args(), limit=60):
                self.after_kill(what=f"resume nth-crash {round_no}")
                continue
            # The runner dies at its first lease renewal (a third of the 1 s TTL into the run).
            if 0.3 <= dice < 0.45 and self.named_crash(sb.resume_args(), "lease.heartbeat", env=MID_STEP):
                self.after_kill(what=f"resume heartbeat-crash {round_no}")
                continue
            killed, _, _ = self.killed_run("resume", sb.resume_args())
            if killed:
                self.after_kill(what=f"resume {round_no}")
        st, _ = sb.status()
        if st is not None and st.get("status") != "completed" and self.rng.random() < 0.5:
            self.concurrent_resumes()
        why = j.resume_until_done(sb)
        if why:
            self.failures.append(f"recovery: {why}")
        # 2. Append workload: batches of random size, the last one killed.
        for _ in range(self.rng.randint(2, 4)):
            batch_no, ids, lines = sb.next_batch(self.rng.randint(1, 6))
            code, out, _ = sb.run("events", "--append", j.JOB, stdin=lines)
            if code == 0:
                sb.acknowledge(batch_no, ids, out)
        for _ in range(self.rng.randint(8, 16)):
            batch_no, ids, lines = sb.next_batch(self.rng.randint(1, 40))
            if self.rng.random() < 0.3:
                if self.nth_crash(["events", "--append", j.JOB], stdin=lines, limit=6):
                    self.after_kill(what="append nth-crash")
            else:
                killed, code, out = self.killed_run("append", ["events", "--append", j.JOB], stdin=lines)
                if killed:
                    self.after_kill(what="append")
                elif code == 0:
                    sb.acknowledge(batch_no, ids, out)
        # 3. A wrap, killed.
        killed, _, _ = self.killed_run("wrap", ["wrap", "--job-id", j.WRAP_JOB, "--", "sh", "-c", "echo hi; sleep 0.03"])
        # (Killed before its first batch was durable, the wrap job does not exist: nothing to check.)
        if killed and j.job_exists(sb, j.WRAP_JOB):
            self.after_kill(job=j.WRAP_JOB, what="wrap")
        # 4. Exports, killed or crashed at their N-th point.
        for _ in range(self.rng.randint(3, 6)):
            if self.rng.random() < 0.3:
                if self.nth_crash(["export", j.JOB], limit=12):
                    self.after_kill(what="export nth-crash")
            else:
                killed, _, _ = self.killed_run("export", ["export", j.JOB])
                if killed:
                    self.after_kill(what="export")
        # 5. Accept runs, killed.
        for _ in range(self.rng.randint(1, 3)):
            killed, _, _ = self.killed_run("accept", ["accept", "run", j.JOB])
            if killed:
                self.after_kill(what="accept run")
        # The end: everything acknowledged is there, no completed step re-ran, the pack is stable.
        records, why = sb.ledger()
        if why:
            self.failures.append(f"final: {why}")
        self.failures += j.check_acknowledged(sb, records)
        found = []
        self.failures += j.check_steps(sb, self.marks, found)
        self.failures += j.check_final(sb, found)
        self.known.update(found)
        # The final exports are later writers in wrkr-out/jobpacks/: they remove a killed export's
        # temp file once it is 2 s old. (Job directories are checked by `wrkr fsck`, not here.)
        for temp in j.stale_temp_files(sb, older_than=3.0):
            if "jobpacks" in temp:
                self.failures.append(f"temp file not removed by later exports: {temp}")
        # 6. Retention, last (it removes the job): prune killed at a random moment or crashed at
        # `retention.remove` before its first or second job; every job stays whole or goes whole.
        self.prune()

    def prune(self):
        sb = self.sb
        args = ["store", "prune", "--job-max-age", "1ms"]
        if self.rng.random() < 0.4:
            killed = self.named_crash(args, "retention.remove", n=self.rng.randint(1, 2))
        else:
            killed, _, _ = self.killed_run("prune", args)
        if killed:
            for job in (j.JOB, j.WRAP_JOB):
                # Whole or gone: a job directory that is there reads as a ledger and a status.
                if os.path.isdir(sb.job_dir(job)) and not empty_job_dir(sb, job):
                    _, why = sb.ledger(job)
                    _, why2 = sb.status(job)
                    self.failures += [f"prune killed: {job}: {w}" for w in (why, why2) if w]
        # A runner killed after its job completed but before it released its lease leaves that
        # lease live for up to its TTL, and prune rightly skips a job holding an unexpired lease
        # (the contract's safety): wait it out before asking for the job to be gone.
        status, _ = sb.status(j.JOB) if os.path.isdir(sb.job_dir(j.JOB)) else (None, None)
        if status and status.get("lease") and not status["lease"].get("expired"):
            time.sleep(j.LEASE_WAIT)
        code, _, err = sb.run(*args)
        if code != 0:
            self.failures.append(f"prune after a killed prune: exit {code}: {j.oneline(err)}")
        if os.path.isdir(sb.job_dir(j.JOB)):
            self.failures.append("prune left the completed job in place")
        trash = os.path.join(sb.home, ".trash")
        if os.path.isdir(trash) and os.listdir(trash):
            self.failures.append(f"prune left its trash behind: {os.listdir(trash)}")
        # An interrupted wrap stays (it is running).
        if os.path.isdir(sb.job_dir(j.WRAP_JOB)) and not empty_job_dir(sb, j.WRAP_JOB):
            _, why = sb.ledger(j.WRAP_JOB)
            if why:
                self.failures.append(f"after prune: {why}")

    def concurrent_resumes(self):
        sb = self.sb
        j.wait_lease(sb)
        procs = [sb.spawn(*sb.resume_args()) for _ in range(3)]
        results = [(p.wait(timeout=120), p.communicate()[1]) for p in procs]
        ran = [code for code, _ in results if code == 0]
        refused = [err for code, err in results if code != 0]
        bad = [e.decode(errors="replace").strip() for e in refused
               if b"E_LEASE_CONFLICT" not in e and b"E_INVALID_STATE_TRANSITION" not in e]
        if len(ran) > 1 and not any(b"E_LEASE_CONFLICT" in e for e in refused):
            # Several may succeed one after another, but not all of them without any conflict:
            # side.log overlap (check_steps) is the proof that two never ran at once.
            pass
        if bad:
            self.failures.append(f"concurrent resume: unexpected refusals {bad}")


def run(binary, seed, min_kills, workers, keep, root):
    estimates = Estimates()
    lock = threading.Lock()
    totals = {"cases": 0, "kills": 0, "nth": 0, "named": {}, "failures": [], "known": []}
    next_case = [0]

    def worker():
        while True:
            with lock:
                if totals["kills"] + totals["nth"] >= min_kills:
                    return
                case_no = next_case[0]
                next_case[0] += 1
            case = Case(binary, seed * 100003 + case_no, estimates, root)
            try:
                case.run()
            except Exception as e:  # a harness error is a failure too, never a silent pass
                case.failures.append(f"harness: {type(e).__name__}: {e}")
            with lock:
                totals["cases"] += 1
                totals["kills"] += case.kills
                totals["nth"] += case.nth_crashes
                for point, n in case.named.items():
                    totals["named"][point] = totals["named"].get(point, 0) + n
                for f in case.failures:
                    totals["failures"].append(f"case {case_no} (WRKR_CHAOS_SEED={seed} WRKR_CHAOS_CASE={case_no}): {f}")
                for k in case.known:
                    totals["known"].append(f"case {case_no}: {k}")
            if case.failures and keep:
                print(f"kept sandbox of case {case_no}: {case.sb.dir}", flush=True)
            else:
                case.sb.remove()

    threads = [threading.Thread(target=worker) for _ in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return totals


def run_one(binary, seed, case_no, root):
    case = Case(binary, seed * 100003 + case_no, Estimates(), root)
    case.run()
    print(f"sandbox: {case.sb.dir}")
    return case
