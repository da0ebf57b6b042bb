//! Peak memory of the runner on a big JobSpec, measured on the real binary (issue 16).
//!
//! A 25,000-step spec is about 1 MB of JSON but 19 MB as a `serde_json::Value` (an index map per
//! step). The runner used to build that document twice over: at submit (the spec as written and
//! its normalised copy) and at every resume (the recorded spec, parsed whole from the ledger).
//! Now a resume reads only the typed steps from the recorded line, and submit (and validate)
//! stream the file's steps one at a time into the packed steps and the recorded bytes, so the
//! spec is never one document. The spec here stops at its first step (a decision), so a run
//! costs a few appends, not 25,000 processes; what is measured is the child's own peak RSS
//! (`wait4`'s `ru_maxrss`, the kernel's high-water mark of that one process), with a bound above
//! the figure now and well below the figure before (see the bounds).

mod support;

use std::io::Read;
use std::os::unix::process::ExitStatusExt;
use std::process::{Command, ExitStatus, Stdio};

use support::Sandbox;

const STEPS: usize = 25_000;

/// In a debug build, submit (parse, check, record, run to the first decision) peaked at 60 MiB
/// and resume (replay, read the spec, run to the next decision) at 57 MiB when both built the
/// whole document; 41 MiB and 34 MiB once resume read the recorded line lean (31 and 24 MiB on
/// the main of session 24); submit 25 MiB once it streamed the file. `validate` of the same spec
/// streams too: 29-30 MiB before, 15-17 MiB after (JSON, YAML). Some of each figure is this test
/// process's own high-water mark: a child spawned with vfork starts its ru_maxrss there.
const SUBMIT_BOUND_KIB: i64 = 28 * 1024;
const RESUME_BOUND_KIB: i64 = 28 * 1024;
const VALIDATE_BOUND_KIB: i64 = 22 * 1024;

/// A spec whose first two steps ask for a decision without running anything, then `true` steps.
fn big_spec() -> String {
    let gate = |id: &str| format!(r#"{{"id":"{id}","executed":false,"decision_needed":true}}"#);
    let mut steps = vec![gate("gate1"), gate("gate2")];
    steps.extend((2..STEPS).map(|i| format!(r#"{{"id":"s{i}","command":"true"}}"#)));
    format!(
        r#"{{"schema_id":"wrkr.jobspec","schema_version":"v1","producer_version":"test","name":"big",
"objective":"{STEPS} steps","adapter":{{"name":"reference"}},
"inputs":{{"workspace":".","steps":[{}]}},"expected_artifacts":[],
"budgets":{{"max_wall_time_seconds":86400,"max_retries":0,"max_step_count":{STEPS},"max_tool_calls":{STEPS}}},
"checkpoint_policy":{{"min_interval_seconds":1,"required_types":[]}},"environment_fingerprint":{{"rules":[]}}}}"#,
        steps.join(",")
    )
}

/// Run `cmd` to its end: its exit status, its stdout (small: it waits in the pipe) and its own
/// peak RSS in KiB.
#[allow(clippy::zombie_processes)] // reaped by `wait4`, which `Child::wait` cannot replace: it has no rusage
fn run_measured(mut cmd: Command) -> (ExitStatus, String, i64) {
    let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::null()).spawn().unwrap();
    let pid = i32::try_from(child.id()).unwrap();
    let mut status = 0;
    // SAFETY: an all-zero `rusage` is a valid value; wait4 fills it in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `pid` is our unreaped child; `status` and `usage` are valid for writes. The child
    // is reaped here, and `child` is never waited on afterwards (dropping it does not wait).
    let reaped = unsafe { libc::wait4(pid, &raw mut status, 0, &raw mut usage) };
    assert_eq!(reaped, pid, "wait4: {}", std::io::Error::last_os_error());
    let mut stdout = String::new();
    child.stdout.take().unwrap().read_to_string(&mut stdout).unwrap();
    (ExitStatus::from_raw(status), stdout, usage.ru_maxrss)
}

#[test]
fn big_spec_submit_and_resume_stay_small() {
    let sb = Sandbox::new();
    std::fs::write(sb.work().join("big.json"), big_spec()).unwrap();
    // The same text read as YAML (JSON is YAML's flow style): the YAML parser's path.
    std::fs::write(sb.work().join("big.yaml"), big_spec()).unwrap();
    let mut validate_kib = Vec::new();
    for spec in ["big.json", "big.yaml"] {
        let mut validate = sb.command("wrkr");
        validate.args(["validate", spec]);
        let (status, out, kib) = run_measured(validate);
        assert_eq!(status.code(), Some(0), "{spec}: {out}");
        validate_kib.push(kib);
    }

    let mut submit = sb.command("wrkr");
    submit.args(["submit", "big.json", "--job-id", "big", "--json"]);
    let (status, out, submit_kib) = run_measured(submit);
    assert_eq!(status.code(), Some(0), "submit stops at the first decision");
    let result: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(result["status"], "blocked_decision");
    let checkpoint = result["checkpoint_id"].as_str().unwrap();
    sb.wrkr().args(["approve", "big", "--checkpoint", checkpoint, "--reason", "ok"]).assert().success();

    // The ledger replayed, the recorded spec read, the second gate run.
    let mut resume = sb.command("wrkr");
    resume.args(["resume", "big", "--json"]);
    let (status, out, resume_kib) = run_measured(resume);
    assert_eq!(status.code(), Some(0), "resume stops at the second decision");
    let result: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(result["status"], "blocked_decision");
    assert_eq!(result["next_step_index"], 2, "{result}");

    eprintln!("peak RSS: submit {submit_kib} KiB, resume {resume_kib} KiB, validate (json, yaml) {validate_kib:?} KiB");
    for kib in validate_kib {
        assert!(kib < VALIDATE_BOUND_KIB, "validate peaked at {kib} KiB (bound {VALIDATE_BOUND_KIB})");
    }
    assert!(submit_kib < SUBMIT_BOUND_KIB, "submit peaked at {submit_kib} KiB (bound {SUBMIT_BOUND_KIB})");
    assert!(resume_kib < RESUME_BOUND_KIB, "resume peaked at {resume_kib} KiB (bound {RESUME_BOUND_KIB})");
}
