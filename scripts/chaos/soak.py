"""Soak (issue 14 item 8): one long job for a configurable time: many steps with side effects,
periodic decisions approved by this script, heartbeats (a 1 s lease), forced takeovers (the
runner SIGKILLed, a new one resumes after the lease lapses), pauses and resumes. At the end the
invariants of the crash suite hold, and each runner's RSS and open descriptors stayed flat.
"""

import json
import os
import random
import signal
import time

import journey as j

STEPS = 4000
DECISION_EVERY = 150
WARM_UP_SECONDS = 3.0


def spec():
    lines = []
    for i in range(1, STEPS + 1):
        if i % DECISION_EVERY == 0:
            lines.append(f"    - {{id: d{i}, summary: gate {i}, command: \"\", executed: false, "
                         f"decision_needed: true, required_action: approve}}")
        else:
            lines.append(f"    - {{id: s{i}, summary: step {i}, command: \"echo start s{i} $$ >> side.log; "
                         f"echo out {i}; echo end s{i} $$ >> side.log\"}}")
    head = j.SPEC.split("  steps:\n")[0]
    tail = ("budgets: {max_wall_time_seconds: 86400, max_retries: 2, max_step_count: 100000, max_tool_calls: 100000}\n"
            "checkpoint_policy: {min_interval_seconds: 1, required_types: [plan]}\n"
            "environment_fingerprint: {rules: []}\n")
    return head + "  steps:\n" + "\n".join(lines) + "\n" + tail


def sample(pid):
    """(RSS KiB, open descriptors, when) of a live process, or None."""
    try:
        with open(f"/proc/{pid}/status") as f:
            rss = next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
        return rss, len(os.listdir(f"/proc/{pid}/fd")), time.monotonic()
    except (OSError, StopIteration, ValueError):
        return None


def size_of(path):
    try:
        return os.path.getsize(path)
    except OSError:
        return 0


def approve_latest(sb):
    code, out, _ = sb.run("checkpoint", "list", j.JOB, "--json")
    if code != 0:
        return f"checkpoint list exit {code}"
    pending = [c for c in json.loads(out) if c.get("type") == "decision-needed"]
    if not pending:
        return "blocked_decision without a decision-needed checkpoint"
    code, _, err = sb.run("approve", j.JOB, "--checkpoint", pending[-1]["checkpoint_id"], "--reason", "soak")
    if code != 0 and b"already" not in err:
        return f"approve exit {code}: {j.oneline(err)}"
    return None


def flat(samples):
    """Problems with one runner's RSS and descriptors over its life, or None when it lived too
    short to tell. The first seconds are warm-up (parsing the spec, replay); the rest is split in two
    halves whose medians are compared, so a leak shows as a rise and a step's pipes do not."""
    start = samples[0][2] if samples else 0
    body = [s for s in samples if s[2] - start >= WARM_UP_SECONDS]
    if len(body) < 16:
        return None
    half = len(body) // 2

    def median(values):
        return sorted(values)[len(values) // 2]

    rss_early, rss_late = median([s[0] for s in body[:half]]), median([s[0] for s in body[half:]])
    fd_early, fd_late = median([s[1] for s in body[:half]]), median([s[1] for s in body[half:]])
    problems = []
    if rss_late > rss_early * 1.25 + 2048:
        problems.append(f"RSS grew from {rss_early} KiB to {rss_late} KiB (medians)")
    if fd_late > fd_early + 3:
        problems.append(f"open descriptors rose from {fd_early} to {fd_late} (medians)")
    return problems


def run(binary, seed, seconds, root):
    rng = random.Random(seed)
    sb = j.Sandbox(binary, root)
    with open(os.path.join(sb.work, "spec.yaml"), "w") as f:
        f.write(spec())
    stats = {"runners": 0, "takeovers": 0, "pauses": 0, "approvals": 0, "samples": 0, "steps": 0}
    failures, known, marks = [], [], {}
    deadline = time.monotonic() + seconds
    first = True
    while time.monotonic() < deadline:
        args = sb.submit_args() if first else sb.resume_args()
        first = False
        proc = sb.spawn(*args)
        stats["runners"] += 1
        samples = []
        action_at = time.monotonic() + rng.uniform(1.0, 4.0)
        action = rng.choice(["kill", "pause", "none", "none"])
        # Samples count from the runner's first step on (side.log grows): before it, the runner
        # parses the 4,000-step spec and replays, which on a busy machine outlasted the warm-up,
        # and its 3 descriptors then were compared with a running step's 14 as a "leak".
        side_log = os.path.join(sb.work, "side.log")
        side_before = size_of(side_log)
        stepping = False
        while proc.poll() is None and time.monotonic() < deadline:
            stepping = stepping or size_of(side_log) > side_before
            s = sample(proc.pid) if stepping else None
            if s:
                samples.append(s)
            if time.monotonic() >= action_at and action != "none":
                if action == "kill":
                    os.killpg(proc.pid, signal.SIGKILL)
                    stats["takeovers"] += 1
                else:
                    sb.run("pause", j.JOB)
                    stats["pauses"] += 1
                action = "none"
            time.sleep(0.1)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        stats["samples"] += len(samples)
        problems = flat(samples)
        if problems:
            failures += [f"runner {stats['runners']}: {p}" for p in problems]
        if not j.job_exists(sb):
            first = True  # killed before the job's first batch was durable: submit again
            continue
        records, found = j.check_store(sb, known=known)
        failures += found
        if records is None:
            break
        for step, mark in j.completed_marks(sb, records).items():
            marks.setdefault(step, mark)
        st, why = sb.status()
        if why:
            failures.append(why)
            break
        if st.get("status") == "blocked_decision":
            why = approve_latest(sb)
            if why:
                failures.append(why)
                break
            stats["approvals"] += 1
        elif st.get("status") == "completed":
            break
        j.wait_lease(sb)
    records, why = sb.ledger()
    if why:
        failures.append(why)
    stats["steps"] = len(j.succeeded_steps(records or []))
    failures += j.check_steps(sb, marks, known)
    if failures:
        print(f"kept sandbox: {sb.dir}")
    else:
        sb.remove()
    return stats, failures, known
