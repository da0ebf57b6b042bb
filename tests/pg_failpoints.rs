//! The PostgreSQL store's commit failpoints (issue 14 item 1), armed in the real binary against a
//! real cluster: `pg.commit.before` (the fault comes before `COMMIT` is sent: the transaction
//! rolls back) and `pg.commit.after` (the server committed, the acknowledgement is lost). Both
//! reach the caller as a connection broken at the commit: exit 1, details `connection: "lost"`,
//! the hint "the batch may or may not be committed; read the ledger before retrying".
//!
//! What they prove:
//! - before: nothing lands (the store is byte for byte as it was) and a retry lands the batch once;
//! - after, for `wrkr-events --append`: the batch is in the ledger once, unacknowledged. The
//!   contract is the hint's: a caller reads the ledger before it appends again; a blind retry
//!   appends a second copy (there is no idempotency key on a raw append), as it would after a
//!   crash between the file store's fsync and its acknowledgement;
//! - after, for the runner: it reads before it retries (`run::outage`), so no record lands twice;
//! - at every commit of a runner's journey in turn (before; after; after with the process
//!   SIGKILLing itself): the job completes after a resume, no step recorded as succeeded ran
//!   again, each step ran at most as often as the ledger has attempts of it, and `wrkr fsck` on
//!   the PostgreSQL store is clean.
//!
//! Only with `--features failpoints` (`make test-hardening`). Skipped with a printed reason when no
//! PostgreSQL server can start here, failed under `CI=true`.
#![cfg(feature = "failpoints")]

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;
use support::Sandbox;

const EVENT: &str = "{\"type\":\"x-fp\",\"payload\":{\"n\":1}}\n";
const HINT: &str = "the batch may or may not be committed; read the ledger before retrying";

fn armed(sb: &Sandbox, points: &str) -> assert_cmd::Command {
    let mut cmd = sb.wrkr();
    cmd.env("FAILPOINTS", points);
    cmd
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// The `x-fp` events in `job`'s ledger (read through the checked reader: contiguous seqs).
fn appended(sb: &Sandbox, job: &str) -> usize {
    sb.ledger(job).iter().filter(|r| r["type"] == "x-fp").count()
}

/// A failed commit as the caller sees it: exit 1, `E_GENERIC_FAILURE` naming the point, the
/// connection marked lost, the hint to read before retrying.
fn assert_commit_error(out: &std::process::Output, point: &str) {
    assert_eq!(out.status.code(), Some(1), "{point}: {}", stderr(out));
    let envelope = support::envelope(&out.stderr);
    assert_eq!(envelope["code"], "E_GENERIC_FAILURE", "{envelope}");
    assert!(envelope["message"].as_str().unwrap().contains(&format!("at {point}")), "{envelope}");
    assert_eq!(envelope["details"]["connection"], "lost", "{envelope}");
    assert_eq!(envelope["details"]["hint"], HINT, "{envelope}");
}

#[test]
fn a_fault_before_the_commit_lands_nothing_and_the_retry_lands_once() {
    let Some(sb) = Sandbox::postgres() else { return };
    sb.create_job("job_b");
    let before = sb.store_contents();
    let out = armed(&sb, "pg.commit.before=return")
        .args(["--json", "events", "--append", "job_b"])
        .write_stdin(EVENT)
        .output()
        .unwrap();
    assert_commit_error(&out, "pg.commit.before");
    assert_eq!(sb.store_contents(), before, "the rolled-back batch left nothing");
    sb.wrkr().args(["events", "--append", "job_b"]).write_stdin(EVENT).assert().success();
    assert_eq!(appended(&sb, "job_b"), 1);
    sb.wrkr().arg("fsck").assert().success();
}

#[test]
fn a_lost_ack_leaves_the_batch_committed_once_and_says_read_before_retrying() {
    let Some(sb) = Sandbox::postgres() else { return };
    sb.create_job("job_a");
    let out = armed(&sb, "pg.commit.after=return")
        .args(["--json", "events", "--append", "job_a"])
        .write_stdin(EVENT)
        .output()
        .unwrap();
    assert_commit_error(&out, "pg.commit.after");
    assert!(out.stdout.is_empty(), "no acknowledgement: {}", String::from_utf8_lossy(&out.stdout));
    // Committed, though never acknowledged: reading the ledger (as the hint says) finds it, once.
    assert_eq!(appended(&sb, "job_a"), 1);
    sb.wrkr().arg("fsck").assert().success();
    // The contract for a caller that ignores the hint: a raw append carries no idempotency key,
    // so a blind retry is a second batch with the same content (and the ledger stays sound).
    sb.wrkr().args(["events", "--append", "job_a"]).write_stdin(EVENT).assert().success();
    assert_eq!(appended(&sb, "job_a"), 2);
    sb.wrkr().arg("fsck").assert().success();
}

/// A job's steps, from its ledger: attempts started (`adapter_step`) and successes recorded.
#[derive(Default, Debug)]
struct Steps {
    attempts: BTreeMap<String, usize>,
    succeeded: BTreeMap<String, usize>,
}

fn steps(sb: &Sandbox, job: &str) -> Steps {
    let mut steps = Steps::default();
    for record in sb.ledger(job) {
        let step = record["payload"]["step_id"].as_str().unwrap_or_default().to_owned();
        if record["type"] == "adapter_step" {
            *steps.attempts.entry(step).or_default() += 1;
        } else if record["type"] == "x-step_finished" && record["payload"]["outcome"] == "succeeded" {
            *steps.succeeded.entry(step).or_default() += 1;
        }
    }
    steps
}

/// How often each step of `job` ran (its side effect, `JOB:STEP` lines in runs.txt).
fn runs(sb: &Sandbox, job: &str) -> BTreeMap<String, usize> {
    let mut runs = BTreeMap::new();
    let text = std::fs::read_to_string(sb.work().join("runs.txt")).unwrap_or_default();
    for line in text.lines() {
        if let Some(step) = line.strip_prefix(&format!("{job}:")) {
            *runs.entry(step.to_owned()).or_default() += 1;
        }
    }
    runs
}

/// The record types of `job`'s ledger but the lease's (heartbeats come and go with timing).
fn types(sb: &Sandbox, job: &str) -> Vec<String> {
    sb.ledger(job)
        .iter()
        .filter_map(|r| r["type"].as_str())
        .filter(|t| !t.starts_with("lease_"))
        .map(str::to_owned)
        .collect()
}

fn status(sb: &Sandbox, job: &str) -> Option<Value> {
    let out = sb.wrkr().args(["status", job, "--json"]).output().unwrap();
    out.status.success().then(|| serde_json::from_slice(&out.stdout).unwrap())
}

/// Submit `job` with `points` armed, then resume (a killed runner's 1 s lease lapses first) until
/// it completes; then check its steps against its ledger. A run that rode the fault out has the
/// clean run's records (`clean`: their types), none twice. Returns how the armed submit ended.
fn journey(sb: &Sandbox, job: &str, points: &str, clean: &[String]) -> &'static str {
    let submit = ["submit", "spec.yaml", "--job-id", job, "--lease-ttl", "1"];
    let out = armed(sb, points).args(submit).output().unwrap();
    let code = out.status.code();
    // Rode the fault out (0), stopped with an error naming it (1), or killed by its own SIGKILL.
    assert!(
        code == Some(0) || (code == Some(1) && stderr(&out).contains("injected")) || code.is_none(),
        "{job} ({points}): exit {code:?}: {}",
        stderr(&out)
    );
    let mut completed = false;
    for _ in 0..40 {
        match status(sb, job).as_ref().and_then(|s| s["status"].as_str().map(str::to_owned)) {
            Some(s) if s == "completed" => {
                completed = true;
                break;
            }
            // The fault came before the job's first batch committed: there is no job yet.
            None => drop(sb.wrkr().args(submit).assert().success()),
            Some(_) => {
                let out = sb.wrkr().args(["resume", job, "--lease-ttl", "1"]).output().unwrap();
                if !out.status.success() {
                    assert!(stderr(&out).contains("E_LEASE_CONFLICT"), "{job}: resume: {}", stderr(&out));
                    std::thread::sleep(Duration::from_millis(300));
                }
            }
        }
    }
    assert!(completed, "{job} ({points}): never completed");
    let steps = steps(sb, job);
    let runs = runs(sb, job);
    for step in ["s0", "s1"] {
        assert_eq!(steps.succeeded.get(step), Some(&1), "{job} ({points}): {step} succeeded once: {steps:?}");
        let (ran, attempts) = (runs.get(step).copied().unwrap_or(0), steps.attempts.get(step).copied().unwrap_or(0));
        assert!(ran >= 1 && ran <= attempts, "{job} ({points}): {step} ran {ran} times, {attempts} attempts");
    }
    if code == Some(0) {
        assert_eq!(types(sb, job), clean, "{job} ({points}): the records of a clean run, each once");
    }
    match code {
        Some(0) => "rode_out",
        Some(_) => "error",
        None => "killed",
    }
}

/// Every commit of a two-step job, failed in turn, in three ways (three lanes at once, each in
/// its own database). A clean run first counts the commits (`WRKR_FAIL_IO_TRACE`) and shows both
/// points reached; heartbeats commit too, so the count is the clean run's, give or take one.
#[test]
fn a_runner_survives_a_fault_at_every_commit() {
    let Some(probe) = Sandbox::postgres() else { return };
    let setup = |sb: &Sandbox| {
        std::fs::create_dir_all(sb.work().join("ws")).unwrap();
        std::fs::write(sb.work().join("spec.yaml"), support::side_effect_spec(2, "0")).unwrap();
    };
    setup(&probe);
    let trace = probe.work().join("trace");
    probe
        .wrkr()
        .env("WRKR_FAIL_IO_TRACE", &trace)
        .args(["submit", "spec.yaml", "--job-id", "clean", "--lease-ttl", "1"])
        .assert()
        .success();
    let clean = types(&probe, "clean");
    let reached = std::fs::read_to_string(&trace).unwrap();
    let commits = reached.lines().filter(|l| l.ends_with(" pg.commit.before")).count();
    assert!(commits >= 4, "a two-step job commits more often: {commits}");
    // (The job file points: `a_lost_ack_of_a_step_evidence_write_is_written_once`.)
    for point in wrkr::failpoint::POINTS.iter().filter(|p| p.starts_with("pg.commit.")) {
        assert!(reached.lines().any(|l| l.ends_with(&format!(" {point}"))), "{point} never reached");
    }

    let lanes = [("pg.commit.before", "return"), ("pg.commit.after", "return"), ("pg.commit.after", "return(crash)")];
    std::thread::scope(|scope| {
        for (lane, (point, action)) in lanes.into_iter().enumerate() {
            let clean = &clean;
            scope.spawn(move || {
                let Some(sb) = Sandbox::postgres() else { return };
                setup(&sb);
                let mut ends = BTreeMap::<&str, usize>::new();
                for k in 0..commits {
                    let skip = if k == 0 { String::new() } else { format!("{k}*off->") };
                    let end = journey(&sb, &format!("j{lane}_{k}"), &format!("{point}={skip}1*{action}->off"), clean);
                    *ends.entry(end).or_default() += 1;
                }
                // For the record (`--nocapture`): how the armed runs ended.
                eprintln!("{point}={action}: {commits} commits, each failed once: {ends:?}");
                let out = sb.wrkr().args(["fsck", "--json"]).output().unwrap();
                assert_eq!(
                    out.status.code(),
                    Some(0),
                    "fsck after {point}={action}: {}",
                    String::from_utf8_lossy(&out.stdout)
                );
            });
        }
    });
}

// The retried writes besides the runner's `commit` (issue 14 follow-up): a lost acknowledgement
// there must not land a record twice. Each case fails one write of a clean journey, found in the
// clean run's failpoint trace, and needs the runner to ride it out (exit 0) with the clean run's
// records, each once. The lease TTL is long so that no heartbeat commits in between and moves the
// count.

/// The clean run of the reporting job, and what its failpoint trace says about its writes.
struct Clean {
    types: Vec<String>,
    /// For each step, the index (among all `pg.commit.before`) of the first commit after its
    /// spawn: the step watch's batch of its records.
    watch_commits: Vec<usize>,
    /// How many job files (log tails: step evidence) were written.
    job_file_writes: usize,
    job_files: String,
}

fn clean_reporting_run(sb: &Sandbox) -> Clean {
    std::fs::create_dir_all(sb.work().join("ws")).unwrap();
    std::fs::write(sb.work().join("spec.yaml"), support::reporting_spec()).unwrap();
    let trace = sb.work().join("trace");
    sb.wrkr()
        .env("WRKR_FAIL_IO_TRACE", &trace)
        .args(["submit", "spec.yaml", "--job-id", "clean", "--lease-ttl", "30"])
        .assert()
        .success();
    let (mut commits, mut in_step, mut watch_commits) = (0, false, Vec::new());
    let (mut job_file_writes, mut job_files_written) = (0, 0);
    for point in std::fs::read_to_string(&trace).unwrap().lines().filter_map(|l| l.rsplit(' ').next()) {
        match point {
            "step.spawn" => in_step = true,
            "pg.job_file.before" => job_file_writes += 1,
            "pg.job_file.after" => job_files_written += 1,
            "pg.commit.before" => {
                if std::mem::take(&mut in_step) {
                    watch_commits.push(commits);
                }
                commits += 1;
            }
            _ => {}
        }
    }
    let clean = Clean { types: types(sb, "clean"), watch_commits, job_file_writes, job_files: job_files(sb, "clean") };
    let reports = clean.types.iter().filter(|t| *t == "x-progress" || *t == "x-usage_reported").count();
    assert_eq!(
        (clean.watch_commits.len(), reports),
        (2, 2),
        "each step's report in a batch of its own: {:?}",
        clean.types
    );
    assert!(clean.job_file_writes >= 2, "a log tail per step: {}", clean.job_file_writes);
    assert_eq!(job_files_written, clean.job_file_writes, "both job file points are reached");
    clean
}

/// The names of `job`'s job files.
fn job_files(sb: &Sandbox, job: &str) -> String {
    let cluster = support::pg::cluster().unwrap();
    let database = support::pg::database_of(sb.store.as_deref().unwrap());
    let sql = format!("SELECT name FROM wrkr_job_files WHERE job_id = '{job}' ORDER BY name");
    cluster.psql(database, &sql).replace(job, "JOB")
}

/// Run the reporting job with `points` armed: the runner rides the fault out and the job ends as
/// the clean run did: completed, each step succeeded and ran once, the same records, each once.
fn rides_out(sb: &Sandbox, job: &str, points: &str, clean: &Clean) {
    let out = armed(sb, points).args(["submit", "spec.yaml", "--job-id", job, "--lease-ttl", "30"]).output().unwrap();
    let err = stderr(&out);
    assert_eq!(out.status.code(), Some(0), "{job} ({points}) rides the fault out: {err}");
    let point = points.split('=').next().unwrap_or_default();
    assert!(
        err.contains("injected") && err.contains(&format!(" at {point} ")),
        "{job} ({points}): the fault was reached: {err}"
    );
    assert_eq!(status(sb, job).unwrap()["status"], "completed", "{job} ({points})");
    assert_eq!(types(sb, job), clean.types, "{job} ({points}): the records of a clean run, each once");
    let (steps, runs) = (steps(sb, job), runs(sb, job));
    for step in ["s0", "s1"] {
        assert_eq!(steps.succeeded.get(step), Some(&1), "{job} ({points}): {step} succeeded once: {steps:?}");
        assert_eq!(runs.get(step), Some(&1), "{job} ({points}): {step} ran once: {runs:?}");
    }
    assert_eq!(job_files(sb, job), clean.job_files, "{job} ({points}): the step evidence");
}

/// [`rides_out`] for each `(job, points)`; every case runs, and the failed ones are listed.
fn ride_out_each(sb: &Sandbox, cases: Vec<(String, String)>, clean: &Clean) {
    let failed: Vec<String> = cases
        .into_iter()
        .filter(|(job, points)| {
            std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| rides_out(sb, job, points, clean))).is_err()
        })
        .map(|(job, points)| format!("{job} ({points})"))
        .collect();
    assert!(failed.is_empty(), "failed (see each one's panic above): {failed:#?}");
    fsck_is_clean(sb);
}

fn fsck_is_clean(sb: &Sandbox) {
    let out = sb.wrkr().args(["fsck", "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "fsck: {}", String::from_utf8_lossy(&out.stdout));
}

/// `k*off->` (the k-th time the point is reached is the one that fails: 0-based).
fn skip(k: usize) -> String {
    if k == 0 { String::new() } else { format!("{k}*off->") }
}

/// Regression: the step watch appended its held-back records again after a commit whose answer
/// was lost, so they landed twice (and a reported tool call counted twice against its budget).
#[test]
fn a_lost_ack_of_the_step_watchs_records_lands_them_once() {
    let Some(sb) = Sandbox::postgres() else { return };
    let clean = clean_reporting_run(&sb);
    let mut cases = Vec::new();
    for point in ["pg.commit.before", "pg.commit.after"] {
        for (step, k) in clean.watch_commits.iter().enumerate() {
            let job = format!("watch_{}_s{step}", point.rsplit('.').next().unwrap());
            cases.push((job, format!("{point}={}1*return->off", skip(*k))));
        }
    }
    ride_out_each(&sb, cases, &clean);
}

/// A step's evidence (its log tails, job files) written again after a lost answer replaces itself:
/// the write is an upsert of the same bytes, and the runner retries it (`run::outage`).
#[test]
fn a_lost_ack_of_a_step_evidence_write_is_written_once() {
    let Some(sb) = Sandbox::postgres() else { return };
    let clean = clean_reporting_run(&sb);
    let mut cases = Vec::new();
    for point in ["pg.job_file.before", "pg.job_file.after"] {
        for k in 0..clean.job_file_writes {
            let job = format!("evidence_{}_{k}", point.rsplit('.').next().unwrap());
            cases.push((job, format!("{point}={}1*return->off", skip(k))));
        }
    }
    ride_out_each(&sb, cases, &clean);
}

/// Regression: a worker whose claim committed but lost its answer claimed again, found the job
/// leased (to itself) and went on without it: the job waited out the lease, then was leased a
/// second time. The worker now looks for its own live lease first and runs the job under it.
#[test]
fn a_lost_ack_of_a_claim_runs_the_job_once_under_that_lease() {
    let Some(sb) = Sandbox::postgres() else { return };
    std::fs::create_dir_all(sb.work().join("ws")).unwrap();
    std::fs::write(sb.work().join("spec.yaml"), support::side_effect_spec(2, "0")).unwrap();
    for point in ["pg.commit.before", "pg.commit.after"] {
        let job = format!("claim_{}", point.rsplit('.').next().unwrap());
        sb.wrkr().args(["submit", "spec.yaml", "--queue", "--job-id", &job]).assert().success();
        // The worker's first commit is its claim.
        let out = armed(&sb, &format!("{point}=1*return->off"))
            .args(["worker", "--once", "--lease-ttl", "30"])
            .output()
            .unwrap();
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(0), "{job}: {err}");
        assert!(
            err.contains("injected") && err.contains(&format!(" at {point} ")),
            "{job}: the claim's commit failed: {err}"
        );
        let line = support::json_lines(&out.stdout);
        assert_eq!(line.len(), 1, "{job}: one job run: {}", String::from_utf8_lossy(&out.stdout));
        assert_eq!((line[0]["job_id"].as_str(), line[0]["status"].as_str()), (Some(job.as_str()), Some("completed")));
        let epochs: std::collections::BTreeSet<u64> = sb
            .ledger(&job)
            .iter()
            .filter(|r| r["type"] == "lease_set")
            .filter_map(|r| r["payload"]["epoch"].as_u64())
            .collect();
        assert_eq!(epochs, [1].into(), "{job}: leased once");
        let (steps, runs) = (steps(&sb, &job), runs(&sb, &job));
        for step in ["s0", "s1"] {
            assert_eq!(steps.succeeded.get(step), Some(&1), "{job}: {step} succeeded once: {steps:?}");
            assert_eq!(runs.get(step), Some(&1), "{job}: {step} ran once: {runs:?}");
        }
    }
    fsck_is_clean(&sb);
}
