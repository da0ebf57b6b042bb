//! `wrkr store prune` through the real binary: Go's selectors, the dry run, and the safeties Go
//! lacks (active jobs are kept unless --include-active; a job leaves in one rename; output files
//! only when a selector names them).

mod support;

use std::path::Path;
use std::process::Command;

use serde_json::Value;
use support::Sandbox;

fn set_status(sandbox: &Sandbox, job: &str, from: &str, to: &str) {
    let event = format!("{{\"type\":\"status_changed\",\"payload\":{{\"from\":\"{from}\",\"to\":\"{to}\"}}}}\n");
    sandbox.program("wrkr-events").args(["--append", job]).write_stdin(event).assert().success();
}

/// Make every file under `path` (or the file itself) look `stamp` old (`touch -d`).
fn age(path: &Path, stamp: &str) {
    let ok = Command::new("find").arg(path).args(["-exec", "touch", "-h", "-d", stamp, "{}", "+"]).status().unwrap();
    assert!(ok.success());
}

fn prune(sandbox: &Sandbox, args: &[&str]) -> (Option<i32>, Value, String) {
    let out = sandbox.wrkr().args(["--json", "store", "prune"]).args(args).output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    (out.status.code(), serde_json::from_slice(&out.stdout).unwrap_or(Value::Null), stderr)
}

fn paths(report: &Value, key: &str) -> Vec<String> {
    report[key]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| Path::new(e["path"].as_str().unwrap()).file_name().unwrap().to_string_lossy().into_owned())
        .collect()
}

/// Was (in Go): prune deleted job directories with no check for a running job or a held lease.
#[test]
fn prune_removes_old_finished_jobs_and_never_active_ones() {
    let sandbox = Sandbox::new();
    for job in ["job_done", "job_paused", "job_leased", "job_blocked", "job_fresh"] {
        sandbox.create_job(job);
    }
    set_status(&sandbox, "job_done", "queued", "canceled");
    set_status(&sandbox, "job_paused", "queued", "running");
    set_status(&sandbox, "job_paused", "running", "paused");
    set_status(&sandbox, "job_blocked", "queued", "running");
    set_status(&sandbox, "job_blocked", "running", "blocked_decision");
    set_status(&sandbox, "job_fresh", "queued", "canceled");
    sandbox.program("wrkr-lease").args(["acquire", "job_leased", "--worker", "w1", "--ttl", "600"]).assert().success();
    let jobs = sandbox.home().join("jobs");
    for job in ["job_done", "job_paused", "job_leased", "job_blocked"] {
        age(&jobs.join(job), "2020-01-01");
    }

    let (code, dry, _) = prune(&sandbox, &["--job-max-age", "30d", "--dry-run"]);
    assert_eq!(code, Some(0));
    assert_eq!(
        (dry["dry_run"].as_bool(), dry["checked"].as_u64(), dry["matched"].as_u64()),
        (Some(true), Some(5), Some(1))
    );
    assert_eq!(dry["removed"], 0);
    assert_eq!(paths(&dry, "entries"), ["job_done"]);
    assert_eq!(paths(&dry, "skipped"), ["job_blocked", "job_leased", "job_paused"]);
    let whys: Vec<&str> = dry["skipped"].as_array().unwrap().iter().map(|s| s["why"].as_str().unwrap()).collect();
    assert!(
        whys[0].contains("blocked_decision") && whys[1].contains("unexpired lease") && whys[2].contains("paused"),
        "{whys:?}"
    );
    assert!(dry["freed_bytes"].as_u64().unwrap() > 0);
    assert!(jobs.join("job_done").is_dir(), "a dry run removes nothing");

    let (code, done, _) = prune(&sandbox, &["--job-max-age", "720h"]);
    assert_eq!(code, Some(0));
    assert_eq!((done["dry_run"].as_bool(), done["removed"].as_u64()), (Some(false), Some(1)));
    assert!(!jobs.join("job_done").exists());
    assert_eq!(std::fs::read_dir(sandbox.home().join(".trash")).unwrap().count(), 0, "the trash is emptied");
    for job in ["job_paused", "job_leased", "job_blocked", "job_fresh"] {
        sandbox.wrkr().args(["status", job]).assert().success();
    }

    let (code, all, _) = prune(&sandbox, &["--job-max-age", "720h", "--include-active"]);
    assert_eq!(code, Some(0));
    assert_eq!(paths(&all, "entries"), ["job_blocked", "job_leased", "job_paused"]);
    assert_eq!(std::fs::read_dir(&jobs).unwrap().count(), 1, "only the fresh job is left");
}

#[test]
fn prune_text_output_and_an_interrupted_prunes_trash() {
    let sandbox = Sandbox::new();
    sandbox.create_job("job_old");
    set_status(&sandbox, "job_old", "queued", "canceled");
    age(&sandbox.home().join("jobs/job_old"), "2020-01-01");
    // What a prune killed between its rename and its delete leaves: a whole job in the trash.
    std::fs::create_dir_all(sandbox.home().join(".trash/job_x.1/sub")).unwrap();
    std::fs::write(sandbox.home().join(".trash/job_x.1/sub/events.jsonl"), "{}\n").unwrap();
    let out = sandbox.wrkr().args(["store", "prune", "--job-max-age", "1d"]).output().unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let mut lines = text.lines();
    let head = lines.next().unwrap();
    assert!(head.starts_with("store prune dry_run=false checked=1 matched=1 removed=1 freed_bytes="), "{text}");
    let entry = lines.next().unwrap();
    assert!(entry.starts_with("- kind=job reason=age path=") && entry.contains("/jobs/job_old size="), "{text}");
    assert_eq!(std::fs::read_dir(sandbox.home().join(".trash")).unwrap().count(), 0);
}

/// Jobpacks and reports are touched only when a selector names them; count keeps the newest.
#[test]
fn prune_output_files_only_when_asked() {
    let sandbox = Sandbox::new();
    let out = sandbox.work().join("wrkr-out");
    std::fs::create_dir_all(out.join("jobpacks")).unwrap();
    std::fs::create_dir_all(out.join("reports")).unwrap();
    for (name, stamp) in [("a.zip", "2024-01-01"), ("b.zip", "2024-02-01"), ("c.zip", "2024-03-01")] {
        std::fs::write(out.join("jobpacks").join(name), name).unwrap();
        age(&out.join("jobpacks").join(name), stamp);
    }
    std::fs::write(out.join("jobpacks/notes.txt"), "not a pack").unwrap();
    std::fs::write(out.join("reports/old.md"), "old").unwrap();
    age(&out.join("reports/old.md"), "2020-01-01");

    let (code, report, _) = prune(&sandbox, &["--job-max-age", "1d"]);
    assert_eq!((code, report["matched"].as_u64()), (Some(0), Some(0)));
    assert!(out.join("jobpacks/a.zip").exists() && out.join("reports/old.md").exists(), "not asked: untouched");

    let (code, report, _) = prune(&sandbox, &["--max-jobpacks", "1"]);
    assert_eq!(code, Some(0));
    assert_eq!(paths(&report, "entries"), ["a.zip", "b.zip"]);
    assert!(report["entries"].as_array().unwrap().iter().all(|e| e["reason"] == "count" && e["kind"] == "jobpack"));
    assert!(out.join("jobpacks/c.zip").exists() && out.join("jobpacks/notes.txt").exists());
    assert!(!out.join("jobpacks/a.zip").exists() && !out.join("jobpacks/b.zip").exists());
    assert!(out.join("reports/old.md").exists());

    let (code, report, _) = prune(&sandbox, &["--report-max-age", "168h", "--max-reports", "5"]);
    assert_eq!(code, Some(0));
    assert_eq!(report["entries"][0]["reason"], "age", "age wins over count");
    assert!(!out.join("reports/old.md").exists());
}

#[test]
fn prune_bad_input_is_refused_with_its_reason_and_changes_nothing() {
    let sandbox = Sandbox::new();
    sandbox.create_job("job_keep");
    age(&sandbox.home().join("jobs/job_keep"), "2020-01-01");
    for args in [
        &[][..],
        &["--job-max-age", "7w"],
        &["--job-max-age", "0s"],
        &["--job-max-age", "30"],
        &["--max-jobpacks", "-1"],
        &["--max-reports", "many"],
    ] {
        let (code, _, stderr) = prune(&sandbox, args);
        assert_eq!(code, Some(6), "{args:?}: {stderr}");
        let envelope: Value = serde_json::from_str(stderr.trim()).unwrap();
        assert_eq!(envelope["code"], "E_INVALID_INPUT_SCHEMA", "{args:?}");
    }
    let out = sandbox.wrkr().args(["store", "frobnicate"]).output().unwrap();
    assert_eq!(out.status.code(), Some(6));
    assert!(sandbox.home().join("jobs/job_keep/events.jsonl").is_file(), "the store is intact");
}

/// The ledger `flock` every append holds, taken here as a runner's append would hold it.
fn hold_job_lock(sandbox: &Sandbox, job: &str) -> std::fs::File {
    let ledger = std::fs::File::open(sandbox.home().join("jobs").join(job).join("events.jsonl")).unwrap();
    ledger.try_lock().unwrap();
    ledger
}

/// Was: prune decided from a lock-free read and renamed the job away while a writer was in the
/// middle of an append (a runner taking the lease, say). Now the rename happens under the job's
/// lock; a lock that stays busy past the wait bound keeps the job, named under `skipped`.
#[test]
fn prune_never_removes_a_job_whose_lock_is_held() {
    let sandbox = Sandbox::new();
    sandbox.create_job("job_busy");
    set_status(&sandbox, "job_busy", "queued", "canceled");
    let dir = sandbox.home().join("jobs/job_busy");
    age(&dir, "2020-01-01");
    let before = support::tree(&dir);
    let held = hold_job_lock(&sandbox, "job_busy");

    let out = sandbox
        .wrkr()
        .env("WRKR_LOCK_TIMEOUT_MS", "300")
        .args(["--json", "store", "prune", "--job-max-age", "30d"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let report: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((report["matched"].as_u64(), report["removed"].as_u64()), (Some(0), Some(0)), "{report}");
    assert_eq!(paths(&report, "skipped"), ["job_busy"]);
    let why = report["skipped"][0]["why"].as_str().unwrap();
    assert!(why.contains("busy") && why.contains("store lock"), "{why}");
    assert_eq!(support::tree(&dir), before, "the job is whole and untouched");

    drop(held);
    let (code, report, _) = prune(&sandbox, &["--job-max-age", "30d"]);
    assert_eq!((code, report["removed"].as_u64()), (Some(0), Some(1)), "once the lock is free it goes");
    assert!(!dir.exists());
}

/// The other side of the same race: a writer that opened the ledger and waited for its lock while
/// prune moved the job into the trash under that lock. It must not write to the moved ledger.
/// Was: it got the lock on the moved inode and failed only by luck, creating `ledger.lock` by path
/// (E_GENERIC_FAILURE, "No such file or directory"). Now the lock checks that the path still names
/// the locked ledger, and the writer says the job is gone (exit 6).
#[test]
fn a_writer_that_waited_while_its_job_was_removed_acknowledges_nothing() {
    let sandbox = Sandbox::new();
    sandbox.create_job("job_gone");
    let dir = sandbox.home().join("jobs/job_gone");
    let held = hold_job_lock(&sandbox, "job_gone");
    let mut writer = sandbox
        .command("wrkr-events")
        .env("WRKR_LOCK_TIMEOUT_MS", "20000")
        .args(["--append", "job_gone"])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    {
        use std::io::Write;
        let mut stdin = writer.stdin.take().unwrap();
        stdin.write_all(b"{\"type\":\"x-late\",\"payload\":{}}\n").unwrap();
    }
    // Wait until the writer holds the ledger open (it then waits for the lock we hold).
    let ledger = std::fs::canonicalize(dir.join("events.jsonl")).unwrap();
    let fds = format!("/proc/{}/fd", writer.id());
    let opened = (0..2000).any(|_| {
        let found = std::fs::read_dir(&fds)
            .map(|fds| fds.flatten().any(|fd| std::fs::read_link(fd.path()).is_ok_and(|target| target == ledger)))
            .unwrap_or(false);
        if !found {
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        found
    });
    assert!(opened, "the writer never opened the ledger");
    // What prune does under the lock: the job leaves the store in one rename.
    let trash = sandbox.home().join(".trash");
    std::fs::create_dir_all(&trash).unwrap();
    std::fs::rename(&dir, trash.join("job_gone.1")).unwrap();
    drop(held);

    let out = writer.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(6), "{}", String::from_utf8_lossy(&out.stderr));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.starts_with("E_INVALID_INPUT_SCHEMA: job not found: it was removed while this writer waited"),
        "{stderr}"
    );
    let moved = std::fs::read_to_string(trash.join("job_gone.1/events.jsonl")).unwrap();
    assert!(!moved.contains("x-late"), "nothing was appended to the removed job: {moved}");
}
