//! `wrkr submit --queue` and `wrkr worker` on a real PostgreSQL server (tests/support/pg.rs; skipped
//! with a printed reason when none can start here, failed under `CI=true`), and on the file store.
//! Every job's steps append `JOB:STEP` to a shared file outside the store, so a step that ran twice,
//! or a job two workers both ran, shows there.

#[macro_use]
mod support;

use std::io::Read;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;
use support::Sandbox;

fn queue(sandbox: &Sandbox, job: &str, spec_text: &str, labels: &[&str]) {
    std::fs::create_dir_all(sandbox.work().join("ws")).unwrap();
    let path = sandbox.work().join(format!("{job}.yaml"));
    std::fs::write(&path, spec_text).unwrap();
    let mut cmd = sandbox.wrkr();
    cmd.args(["--json", "submit"]).arg(&path).args(["--queue", "--job-id", job]);
    for label in labels {
        cmd.args(["--label", label]);
    }
    let out = cmd.output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let reply: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((reply["status"].as_str(), reply["queued"].as_bool()), (Some("queued"), Some(true)));
}

fn worker(sandbox: &Sandbox, args: &[&str]) -> Child {
    sandbox
        .command("wrkr")
        .arg("worker")
        .args(args)
        .env("WRKR_WORKER_POLL_MS", "20000")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

fn status(sandbox: &Sandbox, job: &str) -> String {
    let out = sandbox.wrkr().args(["--json", "status", job]).output().unwrap();
    let reply: Value = serde_json::from_slice(&out.stdout).unwrap_or_default();
    reply["status"].as_str().unwrap_or("?").to_owned()
}

/// How many jobs are completed (one `wrkr jobs`, not one process per job: the machine is shared).
fn completed(sandbox: &Sandbox) -> usize {
    let out = sandbox.wrkr().args(["jobs", "--json"]).output().unwrap();
    String::from_utf8_lossy(&out.stdout).matches("\"status\":\"completed\"").count()
}

fn wait_for(what: &str, limit: Duration, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < limit, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn runs(sandbox: &Sandbox) -> Vec<String> {
    let text = std::fs::read_to_string(sandbox.work().join("runs.txt")).unwrap_or_default();
    let mut lines: Vec<String> = text.lines().map(str::to_owned).collect();
    lines.sort();
    lines
}

fn terminate(child: &mut Child) -> (Option<i32>, String) {
    // SAFETY: kill(2) on the pid of a child we spawned and have not reaped.
    unsafe { libc::kill(child.id() as i32, libc::SIGTERM) };
    let status = child.wait().unwrap();
    let mut out = String::new();
    child.stdout.take().unwrap().read_to_string(&mut out).unwrap();
    (status.code(), out)
}

/// Three workers of two slots each, twelve two-step jobs: every step runs exactly once, every job
/// completes, and each job's pack verifies.
fn every_job_runs_exactly_once(sandbox: &Sandbox) {
    let jobs: Vec<String> = (0..12).map(|i| format!("j{i:02}")).collect();
    for job in &jobs {
        queue(sandbox, job, &support::side_effect_spec(2, "0"), &[]);
    }
    let started = Instant::now();
    let mut workers: Vec<Child> = (0..3).map(|_| worker(sandbox, &["--concurrency", "2"])).collect();
    wait_for("every job to complete", Duration::from_secs(120), || completed(sandbox) == jobs.len());
    let elapsed = started.elapsed();
    let mut claimed = 0;
    for worker in &mut workers {
        let (code, out) = terminate(worker);
        assert_eq!(code, Some(0), "a drained worker exits 0");
        claimed += out.lines().count();
    }
    let expected: Vec<String> = jobs.iter().flat_map(|j| [format!("{j}:s0"), format!("{j}:s1")]).collect();
    assert_eq!(runs(sandbox), expected, "every step ran exactly once");
    assert_eq!(claimed, jobs.len(), "every job was claimed once");
    for job in &jobs[..2] {
        let out_dir = sandbox.work().join("out");
        sandbox.wrkr().args(["export", job, "--out-dir"]).arg(&out_dir).assert().success();
        sandbox.program("wrkr-verify").arg(out_dir.join(format!("jobpacks/jobpack_{job}.zip"))).assert().success();
    }
    eprintln!("figure: 12 two-step jobs, 3 workers x 2 slots: {:.2} jobs/s", 12.0 / elapsed.as_secs_f64());
}

/// Labels pin a job: a worker without the label leaves it queued, one with it runs it.
fn labels_pin_jobs(sandbox: &Sandbox) {
    queue(sandbox, "plain", &support::side_effect_spec(1, "0"), &[]);
    queue(sandbox, "gpu_job", &support::side_effect_spec(1, "0"), &["gpu", "linux"]);
    let out = sandbox.wrkr().args(["worker", "--once", "--label", "gpu"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 1, "only the unlabelled job");
    assert_eq!((status(sandbox, "plain").as_str(), status(sandbox, "gpu_job").as_str()), ("completed", "queued"));
    let out = sandbox.wrkr().args(["worker", "--once", "--label", "linux", "--label", "gpu"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(status(sandbox, "gpu_job"), "completed");
    assert_eq!(runs(sandbox), ["gpu_job:s0", "plain:s0"]);
    let bad = sandbox.wrkr().args(["--json", "submit", "x.yaml", "--queue", "--label", "no space"]).output().unwrap();
    assert_eq!(bad.status.code(), Some(6));
}

/// SIGTERM while a step runs: the step finishes, the next does not start, the job stays running
/// without a lease, the worker exits 0; another worker continues it from the next step.
fn sigterm_drains(sandbox: &Sandbox) {
    queue(sandbox, "long", &support::side_effect_spec(2, "1"), &[]);
    let mut first = worker(sandbox, &[]);
    wait_for("the first step to start", Duration::from_secs(30), || {
        let out = sandbox.program("wrkr-events").arg("long").output().unwrap();
        String::from_utf8_lossy(&out.stdout).contains("\"type\":\"adapter_step\"")
    });
    let (code, _) = terminate(&mut first);
    assert_eq!(code, Some(0));
    assert_eq!(runs(sandbox), ["long:s0"], "the running step finished; the next did not start");
    assert_eq!(status(sandbox, "long"), "running");
    let lease = sandbox.program("wrkr-lease").args(["show", "long"]).output().unwrap();
    assert!(String::from_utf8_lossy(&lease.stdout).contains("none"), "{}", String::from_utf8_lossy(&lease.stdout));
    let out = sandbox.wrkr().args(["worker", "--once"]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(status(sandbox, "long"), "completed");
    assert_eq!(runs(sandbox), ["long:s0", "long:s1"]);
}

/// An approved decision makes a queued job claimable again.
fn approval_requeues(sandbox: &Sandbox) {
    let gate = "    - {id: gate, summary: gate, command: \"\", executed: false, decision_needed: true}\n";
    let text = support::side_effect_spec(1, "0").replace("  steps:\n", &format!("  steps:\n{gate}"));
    queue(sandbox, "gated", &text, &[]);
    sandbox.wrkr().args(["worker", "--once"]).assert().success();
    assert_eq!(status(sandbox, "gated"), "blocked_decision");
    let out = sandbox.wrkr().args(["worker", "--once"]).output().unwrap();
    assert_eq!(out.stdout, b"", "an unapproved decision is not claimed");
    sandbox.wrkr().args(["approve", "gated", "--reason", "ok"]).assert().success();
    sandbox.wrkr().args(["worker", "--once"]).assert().success();
    assert_eq!(status(sandbox, "gated"), "completed");
    assert_eq!(runs(sandbox), ["gated:s0"]);
}

/// A queued job whose first step, on its first attempt only, runs until killed (writing its pid to
/// `../step.pid` first); then a short step. Each step appends `JOB:STEP:ATTEMPT` to `../runs.txt`.
fn stubborn_spec() -> String {
    let first = "echo $$ > ../step.pid; if [ $WRKR_STEP_ATTEMPT = 1 ]; then sleep 60; fi; \
                 echo $WRKR_JOB_ID:s0:$WRKR_STEP_ATTEMPT >> ../runs.txt";
    support::side_effect_spec(2, "0").replacen("sleep 0; echo $WRKR_JOB_ID:s0 >> ../runs.txt", first, 1)
}

fn records(sandbox: &Sandbox, job: &str) -> Vec<Value> {
    let out = sandbox.program("wrkr-events").arg(job).output().unwrap();
    String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect()
}

fn wait_for_step_start(sandbox: &Sandbox, job: &str) -> i32 {
    wait_for("the first step to start", Duration::from_secs(30), || {
        records(sandbox, job).iter().any(|r| r["type"] == "adapter_step")
            && std::fs::read_to_string(sandbox.work().join("step.pid")).is_ok_and(|p| p.trim().parse::<i32>().is_ok())
    });
    std::fs::read_to_string(sandbox.work().join("step.pid")).unwrap().trim().parse().unwrap()
}

fn alive(pid: i32) -> bool {
    // SAFETY: kill(2) with signal 0 only checks that the process exists.
    unsafe { libc::kill(pid, 0) == 0 }
}

/// `--drain-timeout 1`: SIGTERM while a step would run for a minute; a second later the step is
/// stopped, its end recorded as interrupted with the reason, the job left running without a
/// lease, and the worker exits 0 well before the step would have ended. The next worker runs the
/// step again as attempt 2 and completes the job.
fn drain_deadline_stops_the_step(sandbox: &Sandbox) {
    queue(sandbox, "stubborn", &stubborn_spec(), &[]);
    let mut first = worker(sandbox, &["--drain-timeout", "1"]);
    let pid = wait_for_step_start(sandbox, "stubborn");
    let signalled = Instant::now();
    let (code, out) = terminate(&mut first);
    assert_eq!(code, Some(0), "a drained worker exits 0");
    assert!(signalled.elapsed() < Duration::from_secs(20), "stopped at the deadline: {:?}", signalled.elapsed());
    assert!(!alive(pid), "the step's process was stopped");
    assert!(out.contains("\"status\":\"running\""), "{out}");
    let ended: Vec<Value> =
        records(sandbox, "stubborn").into_iter().filter(|r| r["type"] == "x-step_finished").collect();
    assert_eq!(ended.len(), 1, "{ended:?}");
    assert_eq!(ended[0]["payload"]["outcome"], "interrupted");
    assert!(ended[0]["payload"]["reason"].as_str().unwrap().contains("grace deadline"), "{ended:?}");
    assert_eq!(status(sandbox, "stubborn"), "running");
    let lease = sandbox.program("wrkr-lease").args(["show", "stubborn"]).output().unwrap();
    assert!(String::from_utf8_lossy(&lease.stdout).contains("none"), "{}", String::from_utf8_lossy(&lease.stdout));
    sandbox.wrkr().args(["worker", "--once"]).assert().success();
    assert_eq!(status(sandbox, "stubborn"), "completed");
    assert_eq!(runs(sandbox), ["stubborn:s0:2", "stubborn:s1"]);
}

/// Fencing: a worker frozen (SIGSTOP) past its lease loses the job to another holder; thawed, its
/// lease renewal is refused (E_LEASE_CONFLICT, said on stderr), it kills its step's process group
/// and stops, reporting the job with E_LEASE_CONFLICT, and appends nothing more.
fn taken_over_worker_stops_its_step(sandbox: &Sandbox) {
    queue(sandbox, "taken", &stubborn_spec(), &[]);
    let mut frozen = worker(sandbox, &["--lease-ttl", "2"]);
    let pid = wait_for_step_start(sandbox, "taken");
    // SAFETY: kill(2) on the pid of a child we spawned and have not reaped.
    unsafe { libc::kill(frozen.id() as i32, libc::SIGSTOP) };
    wait_for("the lease to be taken over", Duration::from_secs(30), || {
        let out =
            sandbox.program("wrkr-lease").args(["acquire", "taken", "--worker", "thief", "--ttl", "600"]).output();
        out.is_ok_and(|o| o.status.success())
    });
    let last_seq = records(sandbox, "taken").len();
    // SAFETY: as above.
    unsafe { libc::kill(frozen.id() as i32, libc::SIGCONT) };
    wait_for("the frozen worker's step to stop", Duration::from_secs(30), || !alive(pid));
    let mut stderr = String::new();
    let stderr_pipe = frozen.stderr.take().unwrap();
    let (code, out) = terminate(&mut frozen);
    std::io::BufReader::new(stderr_pipe).read_to_string(&mut stderr).unwrap();
    assert_eq!(code, Some(0));
    assert!(out.contains("\"error\":\"E_LEASE_CONFLICT\""), "{out}");
    assert!(stderr.contains("late append refused by the fence (E_LEASE_CONFLICT): job taken"), "{stderr}");
    let after: Vec<Value> = records(sandbox, "taken").into_iter().skip(last_seq).collect();
    assert!(after.is_empty(), "the taken-over worker appended nothing: {after:?}");
    assert_eq!(runs(sandbox), Vec::<String>::new(), "the stopped attempt wrote no side effect");
}

on_both_backends!(
    every_job_runs_exactly_once,
    labels_pin_jobs,
    sigterm_drains,
    approval_requeues,
    drain_deadline_stops_the_step,
    taken_over_worker_stops_its_step
);

/// An idle worker (its poll fallback 20 s) is woken by the submit's NOTIFY. The latency is read
/// from the ledger: the claim's `lease_set` minus the job's creation (both stamped by wrkr on this
/// host). The figures are printed; the bound is generous for a loaded machine.
#[test]
fn idle_worker_wakes_on_notify() {
    let Some(sandbox) = Sandbox::postgres() else { return };
    let mut idle = worker(&sandbox, &[]);
    std::thread::sleep(Duration::from_millis(1500)); // listening by now
    let mut latencies = Vec::new();
    for i in 0..5 {
        let job = format!("wake{i}");
        queue(&sandbox, &job, &support::side_effect_spec(1, "0"), &[]);
        wait_for("the job to complete", Duration::from_secs(30), || status(&sandbox, &job) == "completed");
        let out = sandbox.program("wrkr-events").arg(&job).output().unwrap();
        let records: Vec<Value> =
            String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        let at =
            |kind: &str| seconds(records.iter().find(|r| r["type"] == kind).unwrap()["created_at"].as_str().unwrap());
        latencies.push(Duration::from_secs_f64(at("lease_set") - at("job_initialized")));
        std::thread::sleep(Duration::from_millis(300)); // idle again
    }
    let (code, _) = terminate(&mut idle);
    assert_eq!(code, Some(0));
    latencies.sort();
    eprintln!("figure: submit commit to worker claim commit (NOTIFY wake), sorted: {latencies:?}");
    assert!(latencies.iter().all(|l| *l < Duration::from_secs(2)), "woken by NOTIFY, not the 20 s poll: {latencies:?}");
}

/// Seconds since midnight of an RFC 3339 UTC time (a run across midnight would fail the bound
/// and be re-run; not worth a date parser in a test).
fn seconds(time: &str) -> f64 {
    let clock = time.split('T').nth(1).unwrap().trim_end_matches('Z');
    let parts: Vec<f64> = clock.split(':').map(|p| p.parse().unwrap()).collect();
    parts[0] * 3600.0 + parts[1] * 60.0 + parts[2]
}

/// `WRKR_WORKER_LISTEN=0`: an idle worker does not LISTEN, so a submit does not wake it; its poll
/// (here 1.5 s after it last looked) finds the job. With LISTEN on, the same submit is claimed at
/// once (`idle_worker_wakes_on_notify`).
#[test]
fn listen_off_worker_only_polls() {
    let Some(sandbox) = Sandbox::postgres() else { return };
    let mut idle = sandbox
        .command("wrkr")
        .arg("worker")
        .env("WRKR_WORKER_POLL_MS", "4000")
        .env("WRKR_WORKER_LISTEN", "0")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(500)); // idle: it looked and found nothing
    queue(&sandbox, "polled", &support::side_effect_spec(1, "0"), &[]);
    std::thread::sleep(Duration::from_millis(1000));
    assert_eq!(status(&sandbox, "polled"), "queued", "no NOTIFY wake-up without LISTEN");
    wait_for("the poll to claim the job", Duration::from_secs(30), || status(&sandbox, "polled") == "completed");
    let (code, out) = terminate(&mut idle);
    assert_eq!((code, out.lines().count()), (Some(0), 1));
}
