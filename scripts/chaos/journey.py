"""One chaos journey in a sandbox, and the invariants a crash or an I/O error must leave intact.

A sandbox is a temp directory holding the store (WRKR_HOME), the workspace and wrkr-out/. The
journey: submit a job whose steps have side effects outside the store (each step appends
`start <step> <pid>` and `end <step> <pid>` to side.log; step s2 sleeps `CHAOS_S2_SLEEP` seconds,
0.05 unless a suite wants a step caught running), resume it until it completes, an append
workload (batches through `wrkr-events --append`, each acknowledged batch remembered), a wrap, an
export, an accept run. The suites interrupt these commands and then call `check_*` here.

Failures are strings. Two of them check the bugs issue 14 listed as "fix these first" (fixed on
main by the `rel` branch): two attempts of one step overlapping, and temp files that no later
writer removes.
"""

import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time

SPEC = """schema_id: wrkr.jobspec
schema_version: v1
created_at: "2026-02-13T00:00:00Z"
producer_version: dev
name: chaos
objective: survive crashes
adapter: {name: reference, config: {}}
inputs:
  workspace: .
  references: []
  steps:
    - {id: s1, summary: one, command: "flock -n .lock-s1 sh -c 'echo start s1 $$ >> side.log; echo end s1 $$ >> side.log' || echo overlap s1 >> side.log"}
    - {id: s2, summary: two, command: "flock -n .lock-s2 sh -c 'echo start s2 $$ >> side.log; sleep ${CHAOS_S2_SLEEP:-0.05}; echo end s2 $$ >> side.log' || echo overlap s2 >> side.log"}
    - {id: s3, summary: three, command: "flock -n .lock-s3 sh -c 'echo start s3 $$ >> side.log; sleep 0.02; echo end s3 $$ >> side.log' || echo overlap s3 >> side.log"}
    - {id: s4, summary: four, command: "flock -n .lock-s4 sh -c 'echo start s4 $$ >> side.log; mkdir -p reports && echo done > reports/result.md; echo end s4 $$ >> side.log' || echo overlap s4 >> side.log", artifacts: [reports/result.md]}
expected_artifacts: [reports/result.md]
budgets: {max_wall_time_seconds: 3600, max_retries: 2, max_step_count: 40, max_tool_calls: 400}
checkpoint_policy: {min_interval_seconds: 1, required_types: [plan, completed]}
environment_fingerprint: {rules: []}
"""

ACCEPT = """schema_id: wrkr.accept_config
schema_version: v1
required_artifacts: [reports/result.md]
"""

JOB = "job_chaos"
WRAP_JOB = "job_wrap"
LEASE_TTL = "1"
# How long a lease left by a killed runner can stay live: the TTL plus slack for a loaded machine.
LEASE_WAIT = 1.3


class Sandbox:
    def __init__(self, binary, root=None):
        self.binary = binary
        self.dir = tempfile.mkdtemp(prefix="wrkr-chaos-", dir=root)
        self.home = os.path.join(self.dir, "home")
        self.work = os.path.join(self.dir, "work")
        os.makedirs(self.work)
        with open(os.path.join(self.work, "spec.yaml"), "w") as f:
            f.write(SPEC)
        self.env = {
            "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
            "WRKR_HOME": self.home,
            "HOME": self.dir,
            "USER": "chaos",
            "WRKR_LOCK_TIMEOUT_MS": "20000",
        }
        self.batches = []  # (batch number, [payload ids]) whose append was acknowledged
        self.batch_no = 0
        self.sizes = {}  # batch number -> events in it, acknowledged or not

    def remove(self):
        shutil.rmtree(self.dir, ignore_errors=True)

    def argv(self, *args):
        return [self.binary, *args]

    def run(self, *args, env=None, stdin=None, timeout=120):
        """Run wrkr to completion: (exit code, stdout, stderr)."""
        proc = subprocess.run(
            self.argv(*args), cwd=self.work, env={**self.env, **(env or {})}, input=stdin,
            capture_output=True, timeout=timeout, start_new_session=True)
        return proc.returncode, proc.stdout, proc.stderr

    def spawn(self, *args, env=None, stdin=None):
        """Start wrkr in its own process group (so the whole group can be SIGKILLed)."""
        return subprocess.Popen(
            self.argv(*args), cwd=self.work, env={**self.env, **(env or {})},
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)

    # --- the journey's commands, as argv -------------------------------------------------------

    def submit_args(self):
        return ["submit", "spec.yaml", "--job-id", JOB, "--lease-ttl", LEASE_TTL]

    def resume_args(self):
        return ["resume", JOB, "--lease-ttl", LEASE_TTL]

    def next_batch(self, size):
        self.batch_no += 1
        ids = [f"b{self.batch_no}e{i}" for i in range(size)]
        self.sizes[self.batch_no] = size
        lines = "".join(json.dumps({"type": "x-chaos", "payload": {"id": i}}) + "\n" for i in ids)
        return self.batch_no, ids, lines.encode()

    def acknowledge(self, batch_no, ids, stdout):
        acks = [line for line in stdout.decode(errors="replace").splitlines() if line.strip()]
        if len(acks) == len(ids):
            self.batches.append((batch_no, ids))

    # --- reading the store ---------------------------------------------------------------------

    def ledger(self, job=JOB):
        """The job's records through `wrkr events` (the reader checks parse and seq order)."""
        code, out, err = self.run("events", job)
        if code != 0:
            return None, f"wrkr events {job} exit {code}: {oneline(err)}"
        records = [json.loads(line) for line in out.decode().splitlines() if line.strip()]
        for i, r in enumerate(records):
            if r["seq"] != i + 1:
                return None, f"seq {r['seq']} at position {i + 1}: not contiguous"
        return records, None

    def status(self, job=JOB):
        code, out, err = self.run("status", job, "--json")
        if code != 0:
            return None, f"wrkr status {job} exit {code}: {oneline(err)}"
        return json.loads(out), None

    def job_dir(self, job=JOB):
        return os.path.join(self.home, "jobs", job)

    def pack_path(self, job=JOB):
        return os.path.join(self.work, "wrkr-out", "jobpacks", f"jobpack_{job}.zip")

    def side_log(self):
        try:
            with open(os.path.join(self.work, "side.log")) as f:
                return [line.split() for line in f if line.strip()]
        except FileNotFoundError:
            return []


def oneline(err):
    """An error (often a pretty JSON envelope) on one short line."""
    return " ".join(err.decode(errors="replace").split())[:400]


def job_exists(sb, job=JOB):
    code, _, _ = sb.run("status", job)
    return code != 6


def succeeded_steps(records):
    return {r["payload"]["step_id"] for r in records
            if r["type"] == "x-step_finished" and r["payload"].get("outcome") == "succeeded"}


def lease_live(sb, job=JOB):
    """Whether the job's lease is still held (by a killed runner)."""
    st, _ = sb.status(job)
    return bool(st and st.get("lease"))


def check_store(sb, job=JOB, known=None):
    """After an interruption: the ledger replays, seqs are contiguous, status answers, the final
    pack path holds no torn file, stale temp files are counted (known bug 3)."""
    failures = []
    records, why = sb.ledger(job)
    if why:
        failures.append(why)
    _, why = sb.status(job)
    if why:
        failures.append(why)
    pack = sb.pack_path(job)
    if os.path.exists(pack):
        code, _, err = sb.run("verify", pack)
        if code != 0:
            failures.append(f"final pack path holds a pack that does not verify: {oneline(err)}")
    return records, failures


def stale_temp_files(sb, older_than=0.0):
    """Temp files of atomic writes; with `older_than`, only those a later writer should have
    removed by now (writers remove a free temp file older than 2 s, issue 14 fix-first 3)."""
    found = []
    now = time.time()
    for base in (sb.home, os.path.join(sb.work, "wrkr-out")):
        for dirpath, _, files in os.walk(base):
            for name in files:
                path = os.path.join(dirpath, name)
                if not (name.startswith(".tmp-") or name.startswith(".wrkr-tmp-")):
                    continue
                try:
                    age = now - os.stat(path).st_mtime
                except FileNotFoundError:
                    continue
                if age >= older_than:
                    found.append(os.path.relpath(path, sb.dir))
    return found


def check_acknowledged(sb, records):
    """Every batch whose append was acknowledged is in the ledger, whole and in order."""
    present = [r["payload"]["id"] for r in records or [] if r["type"] == "x-chaos"]
    index = {pid: i for i, pid in enumerate(present)}
    failures = []
    for batch_no, ids in sb.batches:
        missing = [pid for pid in ids if pid not in index]
        if missing:
            failures.append(f"acknowledged batch {batch_no} lost events {missing}")
    # All or nothing: a batch, acknowledged or not, is present whole or not at all.
    counts = {}
    for pid in present:
        batch_no = int(pid[1:].split("e")[0])
        counts[batch_no] = counts.get(batch_no, 0) + 1
    for batch_no, n in counts.items():
        if n != sb.sizes.get(batch_no):
            failures.append(f"batch {batch_no} is present in part: {n} of {sb.sizes.get(batch_no)} events")
    return failures


def check_steps(sb, completed_at_kill, known):
    """Side effects: a step recorded as completed never ran again; an interrupted step re-ran at
    most once per interruption; two attempts of one step never overlapped."""
    failures = []
    lines = sb.side_log()
    starts = {}
    for i, words in enumerate(lines):
        if len(words) == 3 and words[0] == "start":
            starts.setdefault(words[1], []).append(i)
    for step, (offset, done) in completed_at_kill.items():
        again = [i for i in starts.get(step, []) if i >= offset]
        if done and again:
            failures.append(f"step {step} was recorded completed, yet ran again")
    # Each attempt holds flock(1) on .lock-<step> while it runs: a second attempt that starts while
    # the first still runs cannot take it and writes `overlap <step>` (issue 14 fix-first 2).
    for words in lines:
        if len(words) == 2 and words[0] == "overlap":
            failures.append(f"two attempts of step {words[1]} overlapped")
    return failures


def completed_marks(sb, records):
    """For each step recorded as succeeded: the side.log line count now (it must not start again)."""
    n = len(sb.side_log())
    return {step: (n, True) for step in succeeded_steps(records or [])}


def wait_lease(sb, job=JOB, limit=10.0):
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline and lease_live(sb, job):
        time.sleep(0.1)


def resume_until_done(sb, env=None, attempts=20):
    """Resume until completed (waiting out a dead runner's lease). Returns a failure or None."""
    for _ in range(attempts):
        st, why = sb.status()
        if why:
            return why
        if st.get("status") == "completed":
            return None
        code, _, err = sb.run(*sb.resume_args(), env=env)
        text = err.decode(errors="replace")
        if code == 0:
            continue
        if "E_LEASE_CONFLICT" in text:
            time.sleep(0.3)
            continue
        return f"resume exit {code}: {oneline(err)}"
    return "resume did not complete the job"


def check_final(sb, known):
    """The end of a journey: completed, export verifies, a second export is byte-identical."""
    failures = []
    st, why = sb.status()
    if why:
        return [why]
    if st.get("status") != "completed":
        failures.append(f"final status {st.get('status')}, not completed")
    code, _, err = sb.run("export", JOB)
    if code != 0:
        return failures + [f"export exit {code}: {oneline(err)}"]
    with open(sb.pack_path(), "rb") as f:
        first = f.read()
    code, _, err = sb.run("verify", sb.pack_path())
    if code != 0:
        failures.append(f"exported pack does not verify: {oneline(err)}")
    code, _, err = sb.run("export", JOB)
    with open(sb.pack_path(), "rb") as f:
        second = f.read()
    if code != 0 or first != second:
        failures.append("a second export is not byte-identical")
    return failures


def kill_group(proc):
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    proc.communicate()


def error_names_operation(stderr):
    """An injected error must surface as a clear message: reason code plus the failing point."""
    text = stderr.decode(errors="replace")
    return bool(re.search(r"E_[A-Z_]+", text)) and "injected" in text
