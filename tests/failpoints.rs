//! Each failpoint, armed through `FAILPOINTS` in the real binary, and what it proves (issue 14
//! item 1). Only with `--features failpoints` (`make test-hardening` runs it; `make test` builds
//! no failpoints at all).
#![cfg(feature = "failpoints")]

mod support;

use std::path::PathBuf;

use serde_json::Value;
use support::Sandbox;

const SPEC: &str = "schema_id: wrkr.jobspec\nschema_version: v1\nproducer_version: test\nname: fp\n\
    objective: failpoints\nadapter: {name: reference}\ninputs:\n  workspace: .\n  steps:\n\
    \x20   - {id: s1, summary: one, command: \"echo out; echo ran s1 >> side.log\"}\n\
    \x20   - {id: s2, summary: two, command: \"mkdir -p reports && echo done > reports/result.md\", artifacts: [reports/result.md]}\n\
    budgets: {max_wall_time_seconds: 600, max_retries: 0, max_step_count: 50, max_tool_calls: 50}\n\
    checkpoint_policy: {min_interval_seconds: 1}\nenvironment_fingerprint: {rules: [os]}\n";

const EVENT: &str = "{\"type\":\"x-fp\",\"payload\":{}}\n";

fn sandbox_with_job(job: &str) -> Sandbox {
    let sb = Sandbox::new();
    std::fs::write(sb.work().join("spec.yaml"), SPEC).unwrap();
    sb.wrkr().args(["submit", "spec.yaml", "--job-id", job]).assert().success();
    sb
}

fn armed(sb: &Sandbox, points: &str) -> assert_cmd::Command {
    let mut cmd = sb.wrkr();
    cmd.env("FAILPOINTS", points);
    cmd
}

fn ledger(sb: &Sandbox, job: &str) -> PathBuf {
    sb.home().join("jobs").join(job).join("events.jsonl")
}

/// Seqs through the reader (which checks parse and order), and the x-fp events among them.
fn seqs(sb: &Sandbox, job: &str) -> (Vec<u64>, usize) {
    let out = sb.wrkr().args(["events", job]).output().unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let records: Vec<Value> =
        String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let fp = records.iter().filter(|r| r["type"] == "x-fp").count();
    (records.iter().map(|r| r["seq"].as_u64().unwrap()).collect(), fp)
}

fn stderr(out: &std::process::Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Every ledger write failure is an error naming the point, and leaves the ledger as it was; the
/// next append works. Regression for the fsync cases: a batch whose write or fsync failed (exit 1,
/// "not acknowledged") used to stay in the ledger, so a caller's retry appended it twice.
#[test]
fn ledger_write_faults_leave_no_unacknowledged_batch() {
    for point in [
        "ledger.append.before_write=return",
        "ledger.append.short_write=return(short)",
        "ledger.append.before_fsync=return",
        "ledger.append.fsync=return",
        "ledger.append.before_write=return(enospc)",
    ] {
        let sb = sandbox_with_job("job_l");
        let before = std::fs::read(ledger(&sb, "job_l")).unwrap();
        let out = armed(&sb, point).args(["events", "--append", "job_l"]).write_stdin(EVENT).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{point}: {}", stderr(&out));
        let name = point.split('=').next().unwrap();
        assert!(stderr(&out).contains(&format!("at {name}")), "{point}: the error names the point: {}", stderr(&out));
        assert!(stderr(&out).contains("not acknowledged"), "{point}");
        assert_eq!(std::fs::read(ledger(&sb, "job_l")).unwrap(), before, "{point}: ledger unchanged");
        sb.wrkr().args(["events", "--append", "job_l"]).write_stdin(EVENT).assert().success();
        let (seqs, fp) = seqs(&sb, "job_l");
        assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>(), "{point}");
        assert_eq!(fp, 1, "{point}: exactly the acknowledged event");
    }
}

/// A crash in the middle of the write or between write and fsync: the reader never sees half a
/// batch, and the next append cuts a torn tail and continues the seqs.
#[test]
fn ledger_crashes_leave_a_readable_ledger() {
    for (point, torn) in
        [("ledger.append.short_write=return(short-crash)", true), ("ledger.append.before_fsync=return(crash)", false)]
    {
        let sb = sandbox_with_job("job_c");
        let batch = EVENT.repeat(3);
        let out = armed(&sb, point).args(["events", "--append", "job_c"]).write_stdin(batch).output().unwrap();
        assert_eq!(out.status.code(), None, "{point}: killed by its own SIGKILL");
        let (_, fp) = seqs(&sb, "job_c");
        // Unacknowledged: the batch is all there (the page cache survived the crash) or not at all.
        assert!(fp == 0 || fp == 3, "{point}: {fp} of 3 events of a batch");
        assert_eq!(fp == 0, torn, "{point}");
        sb.wrkr().args(["events", "--append", "job_c"]).write_stdin(EVENT).assert().success();
        let (seqs, fp2) = seqs(&sb, "job_c");
        assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>(), "{point}");
        assert_eq!(fp2, fp + 1, "{point}");
    }
}

/// Atomic replacement (a store job file: accept run's result): a failure at the temp write, the
/// rename or the directory fsync is an error naming it; no temp file stays; no half file appears.
#[test]
fn atomic_replace_faults_are_errors_and_leave_no_temp_file() {
    for point in ["atomic.write", "atomic.rename", "accept.result_write"] {
        let sb = sandbox_with_job("job_a");
        sb.wrkr().args(["accept", "init"]).assert().success();
        let out = armed(&sb, &format!("{point}=return")).args(["accept", "run", "job_a"]).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{point}: {}", stderr(&out));
        assert!(stderr(&out).contains(&format!("at {point}")), "{point}: {}", stderr(&out));
        let dir = sb.home().join("jobs/job_a");
        let names: Vec<String> =
            std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        assert!(!names.iter().any(|n| n.starts_with(".tmp-")), "{point}: temp file left: {names:?}");
        assert!(!names.contains(&"accept_result.json".to_owned()), "{point}: {names:?}");
        sb.wrkr().args(["accept", "run", "job_a"]).assert().success();
    }
    // After the rename, the directory fsync fails: the error is reported, the new file is whole.
    let sb = sandbox_with_job("job_d");
    sb.wrkr().args(["accept", "init"]).assert().success();
    let out = armed(&sb, "atomic.dir_fsync=return").args(["accept", "run", "job_d"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(stderr(&out).contains("at atomic.dir_fsync"), "{}", stderr(&out));
    let result: Value =
        serde_json::from_slice(&std::fs::read(sb.home().join("jobs/job_d/accept_result.json")).unwrap()).unwrap();
    assert_eq!(result["schema_id"], "wrkr.accept_result");
}

/// The snapshot is a cache: failing to write it changes nothing a reader sees.
#[test]
fn snapshot_write_fault_is_harmless() {
    let sb = Sandbox::new();
    std::fs::write(sb.work().join("spec.yaml"), SPEC).unwrap();
    armed(&sb, "snapshot.write=return").args(["submit", "spec.yaml", "--job-id", "job_s"]).assert().success();
    assert!(!sb.home().join("jobs/job_s/snapshot.json").exists());
    let out = sb.wrkr().args(["status", "job_s", "--json"]).output().unwrap();
    assert_eq!(serde_json::from_slice::<Value>(&out.stdout).unwrap()["status"], "completed");
}

/// Missed heartbeats alone do not stop a job (nobody took the lease over); a step that cannot be
/// spawned blocks the job with the cause named, and resume runs it; a failing output log fails the
/// step's stream, not the store.
#[test]
fn heartbeat_spawn_and_log_faults() {
    let sb = Sandbox::new();
    std::fs::write(sb.work().join("spec.yaml"), SPEC.replace("echo out;", "sleep 1.2; echo out;")).unwrap();
    armed(&sb, "lease.heartbeat=return")
        .args(["submit", "spec.yaml", "--job-id", "job_h", "--lease-ttl", "1"])
        .assert()
        .success();

    let sb = Sandbox::new();
    std::fs::write(sb.work().join("spec.yaml"), SPEC).unwrap();
    let out = armed(&sb, "step.spawn=return").args(["submit", "spec.yaml", "--job-id", "job_p"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("step s1 could not start") && stderr(&out).contains("at step.spawn"),
        "{}",
        stderr(&out)
    );
    assert!(!sb.work().join("side.log").exists(), "the step never ran");
    sb.wrkr().args(["resume", "job_p"]).assert().success();
    assert_eq!(std::fs::read_to_string(sb.work().join("side.log")).unwrap(), "ran s1\n");

    let sb = Sandbox::new();
    std::fs::write(sb.work().join("spec.yaml"), SPEC).unwrap();
    let out = armed(&sb, "log.write=return").args(["submit", "spec.yaml", "--job-id", "job_g"]).output().unwrap();
    assert!(out.status.code().is_some(), "no crash on a log write fault: {}", stderr(&out));
    let (seqs, _) = seqs(&sb, "job_g");
    assert_eq!(seqs, (1..=seqs.len() as u64).collect::<Vec<_>>());
}

/// A step spec whose one step runs `body` (a long step, to be stopped).
fn one_step_spec(body: &str) -> String {
    support::jobspec(&support::step("slow", body), "", "os")
}

/// The pids of live processes whose environment carries `WRKR_JOB_ID=job` (a step's processes).
fn processes_of_job(job: &str) -> Vec<i32> {
    let var = format!("WRKR_JOB_ID={job}");
    std::fs::read_dir("/proc")
        .unwrap()
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            let live = std::fs::read_to_string(format!("/proc/{pid}/stat"))
                .is_ok_and(|st| st.rsplit_once(')').is_some_and(|(_, rest)| !rest.trim_start().starts_with('Z')));
            live && std::fs::read(format!("/proc/{pid}/environ"))
                .is_ok_and(|env| env.split(|&b| b == 0).any(|v| v == var.as_bytes()))
        })
        .collect()
}

/// Waits up to `within` for no process to carry the job's id; returns those still there.
fn survivors_of_job(job: &str, within: std::time::Duration) -> Vec<i32> {
    let until = std::time::Instant::now() + within;
    loop {
        let left = processes_of_job(job);
        if left.is_empty() || std::time::Instant::now() >= until {
            return left;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
}

/// Regression (issue 14; CI caught it under load in `runner_crash`): a runner that died after a
/// step's spawn but before it recorded the step's process group left nothing to stop, so the step
/// ran on. Now a pending record, written before the spawn, lets the runner's watchdog find the step
/// by its environment. `step.started` sits in exactly that window.
#[test]
fn a_runner_killed_between_spawn_and_record_leaves_no_step_running() {
    let sb = Sandbox::new();
    let job = "job_window_watchdog";
    std::fs::write(sb.work().join("spec.yaml"), one_step_spec("sleep 30 & wait")).unwrap();
    let out = armed(&sb, "step.started=return(crash)").args(["submit", "spec.yaml", "--job-id", job]).output().unwrap();
    assert_eq!(out.status.code(), None, "the runner crashed at step.started: {}", stderr(&out));
    let left = survivors_of_job(job, std::time::Duration::from_secs(10));
    for pid in &left {
        let _ =
            rustix::process::kill_process(rustix::process::Pid::from_raw(*pid).unwrap(), rustix::process::Signal::KILL);
    }
    assert!(left.is_empty(), "the step outlived its runner: {left:?}");
}

/// The same window on the takeover path (no watchdog, as on a platform without one): the runner
/// stalls at `step.started` and is SIGKILLed there with its watchdog; `resume` takes the expired
/// lease over and must stop the first attempt before it runs the step again.
#[test]
fn a_takeover_stops_a_step_whose_group_was_never_recorded() {
    let sb = Sandbox::new();
    let job = "job_window_takeover";
    let body = "echo \"start $WRKR_STEP_ATTEMPT\" >> marks; sleep 4; echo \"end $WRKR_STEP_ATTEMPT\" >> marks";
    std::fs::write(sb.work().join("spec.yaml"), one_step_spec(body)).unwrap();
    let mut runner = std::process::Command::new(support::bin())
        .args(["submit", "spec.yaml", "--job-id", job, "--lease-ttl", "1"])
        .current_dir(sb.work())
        .env("WRKR_HOME", sb.home())
        .env("FAILPOINTS", "step.started=sleep(5000)")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let marks = sb.work().join("marks");
    let started = std::time::Instant::now();
    while !std::fs::read_to_string(&marks).is_ok_and(|m| m.contains("start 1")) {
        assert!(started.elapsed() < std::time::Duration::from_secs(30), "attempt 1 never started");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    // The watchdog first (the runner's child running this binary), then the stalled runner.
    if let Some(pid) = support::watchdog_of(runner.id()) {
        rustix::process::kill_process(rustix::process::Pid::from_raw(pid).unwrap(), rustix::process::Signal::KILL)
            .unwrap();
    }
    runner.kill().unwrap();
    runner.wait().unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while !sb.wrkr().args(["resume", job, "--lease-ttl", "1"]).output().unwrap().status.success() {
        assert!(std::time::Instant::now() < deadline, "resume never took the lease over");
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    std::thread::sleep(std::time::Duration::from_millis(4500)); // a surviving first attempt would end now
    let marks = std::fs::read_to_string(&marks).unwrap();
    assert_eq!(marks, "start 1\nstart 2\nend 2\n", "attempt 1 ran on beside attempt 2");
}

/// The jobpack: a fault while writing or renaming leaves no file at the final path and no temp
/// file; after the rename, a failed directory fsync is reported and the pack there verifies.
#[test]
fn pack_write_faults_never_leave_a_torn_pack() {
    for point in ["pack.write", "pack.rename"] {
        let sb = sandbox_with_job("job_x");
        let out = armed(&sb, &format!("{point}=return")).args(["export", "job_x"]).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{point}: {}", stderr(&out));
        assert!(stderr(&out).contains(&format!("at {point}")), "{point}: {}", stderr(&out));
        let dir = sb.work().join("wrkr-out/jobpacks");
        let names: Vec<String> =
            std::fs::read_dir(&dir).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
        assert!(names.is_empty(), "{point}: nothing at the final path, no temp file: {names:?}");
    }
    let sb = sandbox_with_job("job_y");
    let out = armed(&sb, "pack.dir_fsync=return").args(["export", "job_y"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    sb.wrkr().args(["verify", "wrkr-out/jobpacks/jobpack_job_y.zip"]).assert().success();
}

/// A spill write that fails (a full disk: the spill files fill before the pack does) is the
/// export's error, with its exit and reason code, and the pack an earlier export wrote stays at
/// its path byte for byte: the failure is seen before anything is renamed over it.
#[test]
fn a_failed_spill_write_keeps_the_previous_pack() {
    let sb = sandbox_with_job("job_s");
    sb.wrkr().args(["export", "job_s"]).assert().success();
    let pack = sb.work().join("wrkr-out/jobpacks/jobpack_job_s.zip");
    let before = std::fs::read(&pack).unwrap();
    for action in ["return(enospc)", "1*off->return"] {
        let out =
            armed(&sb, &format!("pack.spill_write={action}")).args(["--json", "export", "job_s"]).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{action}: {}", stderr(&out));
        let envelope = support::envelope(&out.stderr);
        assert_eq!(envelope["code"], "E_GENERIC_FAILURE", "{action}: {envelope}");
        assert!(envelope["message"].as_str().unwrap().contains("at pack.spill_write"), "{action}: {envelope}");
        assert_eq!(std::fs::read(&pack).unwrap(), before, "{action}: the earlier pack is kept");
        let names: Vec<String> = std::fs::read_dir(pack.parent().unwrap())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["jobpack_job_s.zip"], "{action}: no temp file left");
    }
    sb.wrkr().args(["verify", "wrkr-out/jobpacks/jobpack_job_s.zip"]).assert().success();
}

/// Every point in failpoint::POINTS is reached by the journey above (a point nobody reaches
/// proves nothing): WRKR_FAIL_IO_TRACE lists the points a run reached.
#[test]
fn every_point_is_reached() {
    let sb = Sandbox::new();
    std::fs::write(sb.work().join("spec.yaml"), SPEC.replace("echo out;", "sleep 1.2; echo out;")).unwrap();
    let trace = sb.work().join("trace");
    let run = |args: &[&str]| {
        sb.wrkr().env("WRKR_FAIL_IO_TRACE", &trace).args(args).assert().success();
    };
    run(&["submit", "spec.yaml", "--job-id", "job_t", "--lease-ttl", "1"]);
    run(&["accept", "init"]);
    run(&["accept", "run", "job_t"]);
    run(&["store", "prune", "--job-max-age", "1ms"]);
    let reached = std::fs::read_to_string(&trace).unwrap();
    // The PostgreSQL store's points are reached, and armed, in tests/pg_failpoints.rs.
    for point in wrkr::failpoint::POINTS.iter().filter(|p| !p.starts_with("pg.")) {
        assert!(reached.lines().any(|l| l.ends_with(&format!(" {point}"))), "{point} never reached");
    }
}

/// `wrkr store prune` against a real runner that starts between prune's selection and its removal
/// (the `retention.remove` point holds prune there). Was: prune renamed the job away and deleted
/// it under the running job. Now it takes the job's lock, sees the runner's lease and skips the
/// job; the runner completes.
#[test]
fn prune_skips_a_job_a_runner_took_after_the_selection() {
    let sb = Sandbox::new();
    // The step outlasts prune's pause, so the runner still holds its lease when prune wakes.
    std::fs::write(sb.work().join("spec.yaml"), SPEC.replace("echo out;", "sleep 7; echo out;")).unwrap();
    // A queued job with its spec: the submit's runner dies before it takes the lease.
    let out = armed(&sb, "ledger.append.before_write=1*off->return(crash)")
        .args(["submit", "spec.yaml", "--job-id", "job_q"])
        .output()
        .unwrap();
    assert!(out.status.code() != Some(0), "{}", stderr(&out));
    let status = sb.wrkr().args(["status", "job_q", "--json"]).output().unwrap();
    assert!(String::from_utf8_lossy(&status.stdout).contains("\"queued\""), "{}", stderr(&status));
    let dir = sb.home().join("jobs/job_q");
    let aged = std::process::Command::new("find")
        .arg(&dir)
        .args(["-exec", "touch", "-h", "-d", "2020-01-01", "{}", "+"])
        .status()
        .unwrap();
    assert!(aged.success());

    let trace = sb.work().join("prune.trace");
    let prune = sb
        .command("wrkr")
        .env("FAILPOINTS", "retention.remove=sleep(4000)")
        .env("WRKR_FAIL_IO_TRACE", &trace)
        .args(["--json", "store", "prune", "--job-max-age", "30d"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let selected = (0..1000).any(|_| {
        let hit = std::fs::read_to_string(&trace).is_ok_and(|t| t.contains("retention.remove"));
        if !hit {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        hit
    });
    assert!(selected, "prune never reached its removal");
    let runner = sb.command("wrkr").args(["resume", "job_q"]).output().unwrap();
    let pruned = prune.wait_with_output().unwrap();

    assert_eq!(pruned.status.code(), Some(0), "{}", stderr(&pruned));
    let report: Value = serde_json::from_slice(&pruned.stdout).unwrap();
    assert_eq!(report["removed"], 0, "{report}");
    assert_eq!(report["skipped"][0]["path"].as_str().map(|p| p.ends_with("/jobs/job_q")), Some(true), "{report}");
    assert_eq!(runner.status.code(), Some(0), "the runner finishes its job: {}", stderr(&runner));
    assert_eq!(std::fs::read_to_string(sb.work().join("side.log")).unwrap(), "ran s1\n");
    sb.wrkr().args(["fsck", "job_q"]).assert().success();
}

/// A submit refused before its first record was durable (a full disk at the first write) leaves
/// `jobs/<id>/` with an empty ledger: no job. Was: fsck called the store clean and the directory
/// stayed for ever. Now fsck reports it as `empty_job` (a warning, exit 3) and `--repair` removes
/// it; the same id submits again.
#[test]
fn failed_first_submit_leaves_an_empty_job_that_fsck_removes() {
    let sb = Sandbox::new();
    std::fs::write(sb.work().join("spec.yaml"), SPEC).unwrap();
    let out = armed(&sb, "ledger.append.before_write=return(enospc)")
        .args(["submit", "spec.yaml", "--job-id", "job_e"])
        .output()
        .unwrap();
    assert!(out.status.code() != Some(0) && stderr(&out).contains("not acknowledged"), "{}", stderr(&out));
    let dir = sb.home().join("jobs/job_e");
    assert_eq!(std::fs::metadata(dir.join("events.jsonl")).unwrap().len(), 0);
    std::thread::sleep(std::time::Duration::from_millis(2100)); // no longer a submit at work

    let out = sb.wrkr().args(["fsck", "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(3), "{}", stderr(&out));
    let finding: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!((&finding["check"], &finding["severity"]), (&"empty_job".into(), &"warning".into()), "{finding}");
    sb.wrkr().args(["fsck", "--repair"]).assert().success();
    assert!(!dir.exists(), "removed");
    sb.wrkr().args(["submit", "spec.yaml", "--job-id", "job_e"]).assert().success();
    sb.wrkr().args(["fsck"]).assert().success();
}

/// The file store's lost acknowledgement is a crash between the batch's fsync and the answer: it
/// reports no error once the batch is durable, so no writer retries a batch that landed. A crash
/// at the step watch's batch of each step (found in a clean run's trace) leaves the batch in the
/// ledger once; the resumed run completes, each step succeeds once, and no runner's report is
/// there twice (each runner reports under its own lease epoch; a re-run step reports again).
#[test]
fn a_crash_after_the_watchs_fsync_leaves_its_records_once() {
    let sb = Sandbox::new();
    std::fs::create_dir_all(sb.work().join("ws")).unwrap();
    std::fs::write(sb.work().join("spec.yaml"), support::reporting_spec()).unwrap();
    let submit = |job: &str| ["submit", "spec.yaml", "--job-id", job, "--lease-ttl", "3"].map(str::to_owned);
    let trace = sb.work().join("trace");
    sb.wrkr().env("WRKR_FAIL_IO_TRACE", &trace).args(submit("clean")).assert().success();
    let (mut fsyncs, mut in_step, mut watch_fsyncs) = (0, false, Vec::new());
    for point in std::fs::read_to_string(&trace).unwrap().lines().filter_map(|l| l.rsplit(' ').next()) {
        match point {
            "step.spawn" => in_step = true,
            "ledger.append.fsync" => {
                if std::mem::take(&mut in_step) {
                    watch_fsyncs.push(fsyncs);
                }
                fsyncs += 1;
            }
            _ => {}
        }
    }
    assert_eq!(watch_fsyncs.len(), 2, "{watch_fsyncs:?}");
    let reports = ["x-progress", "x-usage_reported"];
    for (step, k) in watch_fsyncs.into_iter().enumerate() {
        // A heartbeat (every TTL/3) may move the count on a slow machine: try again, a few times.
        let hit = (0..3).any(|attempt| {
            let job = format!("crash_s{step}_{attempt}");
            let skip = if k == 0 { String::new() } else { format!("{k}*off->") };
            let out = armed(&sb, &format!("ledger.append.fsync={skip}1*return(crash)->off"))
                .args(submit(&job))
                .output()
                .unwrap();
            assert_eq!(out.status.code(), None, "{job}: killed at the fsync: {}", stderr(&out));
            let last = events(&sb, &job).into_iter().rev().find(|r| !r["type"].as_str().unwrap().starts_with("lease_"));
            if last.as_ref().map(|r| &r["type"]) != Some(&Value::from(reports[step])) {
                return false;
            }
            for _ in 0..60 {
                let out = sb.wrkr().args(["status", &job, "--json"]).output().unwrap();
                if serde_json::from_slice::<Value>(&out.stdout).unwrap()["status"] == "completed" {
                    break;
                }
                if !sb.wrkr().args(["resume", &job, "--lease-ttl", "3"]).output().unwrap().status.success() {
                    std::thread::sleep(std::time::Duration::from_millis(300)); // the dead runner's lease
                }
            }
            let records = events(&sb, &job);
            let succeeded = |s: &str| {
                records
                    .iter()
                    .filter(|r| r["type"] == "x-step_finished" && r["payload"]["step_id"] == s)
                    .filter(|r| r["payload"]["outcome"] == "succeeded")
                    .count()
            };
            assert_eq!((succeeded("s0"), succeeded("s1")), (1, 1), "{job}: completed, each step succeeded once");
            for report in reports {
                let mut epochs: Vec<u64> = records
                    .iter()
                    .filter(|r| r["type"] == report)
                    .map(|r| r["payload"]["epoch"].as_u64().unwrap())
                    .collect();
                let all = epochs.len();
                epochs.dedup();
                assert_eq!(epochs.len(), all, "{job}: {report} once per runner");
            }
            true
        });
        assert!(hit, "the crash never hit step s{step}'s batch");
    }
    let out = sb.wrkr().args(["fsck", "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "fsck: {}", String::from_utf8_lossy(&out.stdout));
}

/// The job's ledger through the checked reader (`wrkr events`), contiguous from seq 1.
fn events(sb: &Sandbox, job: &str) -> Vec<Value> {
    let out = sb.wrkr().args(["events", job]).output().unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    let records = support::json_lines(&out.stdout);
    assert!(records.iter().enumerate().all(|(i, r)| r["seq"] == i as u64 + 1), "{job}: seqs contiguous");
    records
}
