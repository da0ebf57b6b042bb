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
    for point in wrkr::failpoint::POINTS.iter().filter(|p| p.starts_with("pg.")) {
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
