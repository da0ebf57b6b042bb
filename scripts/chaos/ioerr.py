"""I/O-error suite, as SQLite does it: for each command of the journey, fail the N-th failpoint
(file write, fsync, rename, directory fsync, spawn, ...) for every N the command reaches, once
transient (only the N-th fails) and once persistent (the N-th and every later one fails); and a
full disk, from a small tmpfs with a little free space left.

After each injected failure: the command either failed with a clear error (a reason code and the
failing operation named) or tolerated it (a cache write, a missed heartbeat); it never panicked;
the store still replays, and once the fault is gone the job resumes to completion and its pack
verifies.
"""

import os
import random
import shutil
import subprocess
import tempfile

import journey as j


def trace_ops(sb, args, stdin=None):
    """How many failpoints `args` reaches in a clean run (its N range)."""
    fd, path = tempfile.mkstemp(prefix="wrkr-trace-", dir=sb.dir)
    os.close(fd)
    code, _, err = sb.run(*args, env={"WRKR_FAIL_IO_TRACE": path}, stdin=stdin)
    with open(path) as f:
        ops = sum(1 for _ in f)
    os.unlink(path)
    return code, ops


def panicked(code, stderr):
    return code in (101, -6) or b"panicked" in stderr


class Totals:
    def __init__(self):
        self.cases = 0
        self.clean_errors = 0
        self.tolerated = 0
        self.n_max = 0
        self.failures = []
        self.known = []


def walk(totals, sb, label, args_for, prepare, recover, stdin_for=None):
    """Fail the N-th point of one command for every N, transient and persistent."""
    args = args_for("trace")
    stdin = stdin_for() if stdin_for else None
    prepare("trace")
    code, ops = trace_ops(sb, args, stdin)
    if code != 0:
        totals.failures.append(f"{label}: clean run failed (exit {code})")
        return
    recover("trace")
    totals.n_max = max(totals.n_max, ops)
    for mode in ("transient", "persistent"):
        for n in range(1, ops + 1):
            tag = f"{mode}-{n}"
            prepare(tag)
            args = args_for(tag)
            stdin = stdin_for() if stdin_for else None
            env = {"WRKR_FAIL_IO_AT": str(n), "WRKR_FAIL_IO_MODE": mode}
            code, out, err = sb.run(*args, env=env, stdin=stdin)
            totals.cases += 1
            where = f"{label} {mode} N={n}"
            if panicked(code, err):
                totals.failures.append(f"{where}: panicked: {err.decode(errors='replace')[-300:]}")
            elif code == 0:
                totals.tolerated += 1
            elif j.error_names_operation(err) or (code == 5 and b"injected" in out):
                # (exit 5: accept reports a test command that could not start as a failed check,
                # naming the error in the result; see the report)
                totals.clean_errors += 1
            else:
                totals.failures.append(f"{where}: exit {code} without a clear error: {j.oneline(err)}")
            why = recover(tag)
            if why:
                totals.failures.append(f"{where}: after the fault: {why}")


def check_recoverable(sb, job):
    _, failures = j.check_store(sb, job)
    return "; ".join(failures) or None


def run(binary, root):
    totals = Totals()
    sb = j.Sandbox(binary, root)
    try:
        sb.run("accept", "init")
        # submit: a new job per N, each resumed to completion after the fault.
        def submit_args(tag):
            return ["submit", "spec.yaml", "--job-id", f"job_{tag.replace('-', '_')}", "--lease-ttl", j.LEASE_TTL]

        def submit_recover(tag):
            job = f"job_{tag.replace('-', '_')}"
            if not j.job_exists(sb, job):
                # Failed before the job's first batch was durable: there is no job, and submitting
                # again must work (a torn or empty ledger left behind is no obstacle).
                code, _, err = sb.run("submit", "spec.yaml", "--job-id", job, "--lease-ttl", j.LEASE_TTL)
                return None if code == 0 else f"submit again exit {code}: {j.oneline(err)}"
            why = check_recoverable(sb, job)
            if why:
                return why
            for _ in range(40):
                st, why = sb.status(job)
                if why:
                    return why
                if st.get("status") == "completed":
                    return None
                code, _, err = sb.run("resume", job, "--lease-ttl", j.LEASE_TTL)
                if code != 0 and b"E_LEASE_CONFLICT" in err:
                    j.time.sleep(0.3)
                elif code != 0:
                    return f"resume exit {code}: {j.oneline(err)}"
            return "resume did not complete the job"

        walk(totals, sb, "submit", submit_args, lambda tag: None, submit_recover)

        # The rest work on one completed job.
        code, _, err = sb.run(*sb.submit_args())
        if code != 0:
            totals.failures.append(f"setup submit exit {code}: {err.decode(errors='replace')}")
            return totals

        def store_ok(tag):
            return check_recoverable(sb, j.JOB)

        def append_stdin():
            _, _, lines = sb.next_batch(5)
            return lines

        walk(totals, sb, "append", lambda t: ["events", "--append", j.JOB], lambda t: None, store_ok, append_stdin)
        walk(totals, sb, "export", lambda t: ["export", j.JOB], lambda t: None, store_ok)
        walk(totals, sb, "accept run", lambda t: ["accept", "run", j.JOB, "--json"], lambda t: None, store_ok)

        def wrap_recover(tag):
            job = f"job_w_{tag.replace('-', '_')}"
            if not j.job_exists(sb, job):
                return None
            return check_recoverable(sb, job)

        walk(totals, sb, "wrap",
             lambda t: ["wrap", "--job-id", f"job_w_{t.replace('-', '_')}", "--", "sh", "-c", "echo hi"],
             lambda t: None, wrap_recover)
        totals.failures += j.check_final(sb, totals.known)
    finally:
        if not totals.failures:
            sb.remove()
        else:
            print(f"kept sandbox: {sb.dir}")
    return totals


def run_full_disk(binary, seed, rounds):
    """A full disk: a 4 MiB tmpfs, filled to a random amount of free space before the journey."""
    rng = random.Random(seed)
    totals = Totals()
    mount = tempfile.mkdtemp(prefix="wrkr-enospc-")
    try:
        subprocess.run(["mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", mount], check=True, capture_output=True)
    except (subprocess.CalledProcessError, FileNotFoundError) as e:
        os.rmdir(mount)
        totals.failures.append(f"cannot mount a tmpfs (root needed): {e}")
        return totals
    try:
        for round_no in range(rounds):
            sb = j.Sandbox(binary, mount)
            sb.run("accept", "init")
            filler = os.path.join(mount, "filler")
            stat = os.statvfs(mount)
            free = stat.f_bavail * stat.f_frsize
            leave = rng.randint(0, 40 * 1024)
            with open(filler, "wb") as f:
                try:
                    f.write(b"\0" * max(0, free - leave))
                except OSError:
                    pass
            where = f"full disk round {round_no} ({leave} bytes left)"
            for args in (sb.submit_args(), ["export", j.JOB], ["accept", "run", j.JOB]):
                code, _, err = sb.run(*args)
                totals.cases += 1
                if panicked(code, err):
                    totals.failures.append(f"{where}: {args[0]} panicked: {err.decode(errors='replace')[-300:]}")
                elif code == 0:
                    totals.tolerated += 1
                elif b"No space left" in err or b"E_" in err:
                    totals.clean_errors += 1
                else:
                    totals.failures.append(f"{where}: {args[0]} exit {code}: {err.decode(errors='replace')[:300]}")
            os.unlink(filler)
            ledger = os.path.join(sb.job_dir(), "events.jsonl")
            if not os.path.exists(ledger) or os.path.getsize(ledger) == 0:
                # The submit was never acknowledged (the disk filled before its first record was
                # durable): the job does not exist, and the same id must be free to submit again.
                code, _, err = sb.run(*sb.submit_args())
                totals.cases += 1
                if code != 0:
                    totals.failures.append(
                        f"{where}: once space is back, submit again exit {code}: {err.decode(errors='replace')[:300]}")
            if os.path.exists(ledger):
                _, failures = j.check_store(sb)
                totals.failures += [f"{where}: {f}" for f in failures]
                why = j.resume_until_done(sb)
                if why:
                    totals.failures.append(f"{where}: once space is back: {why}")
                else:
                    totals.failures += [f"{where}: {f}" for f in j.check_final(sb, totals.known)]
            sb.remove()
    finally:
        subprocess.run(["umount", mount], capture_output=True)
        shutil.rmtree(mount, ignore_errors=True)
    return totals
