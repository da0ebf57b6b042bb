//! Peak memory of the runner on a big JobSpec, measured on the real binary (issue 16).
//!
//! A 25,000-step spec is about 1 MB of JSON but 19 MB as a `serde_json::Value` (an index map per
//! step), and the runner used to build that document twice over: at submit (the spec as written
//! and its normalised copy) and at every resume (the recorded spec, parsed whole from the ledger).
//! Now a spec is held once at submit and a resume reads only the typed steps from the recorded
//! line. The spec here stops at its first step (a decision), so a run costs a few appends, not
//! 25,000 processes; what is measured is the child's own peak RSS (`wait4`'s `ru_maxrss`, the
//! kernel's high-water mark of that one process), with a bound well above the figure now and well
//! below the figure before (see the bounds).

mod support;

use std::os::unix::process::ExitStatusExt;
use std::process::{Command, ExitStatus};

use support::Sandbox;

const STEPS: usize = 25_000;

/// Submit (parse, check, record and run the first step) and resume both stayed under this in a
/// debug build after the fix (about 25 MiB and 19 MiB); before it they peaked at about 60 MiB and
/// 39 MiB.
const SUBMIT_BOUND_KIB: i64 = 40 * 1024;
const RESUME_BOUND_KIB: i64 = 30 * 1024;

/// A spec whose first step asks for a decision without running anything, then 24,999 `true` steps.
fn big_spec() -> String {
    let mut steps = vec![r#"{"id":"gate","executed":false,"decision_needed":true}"#.to_owned()];
    steps.extend((1..STEPS).map(|i| format!(r#"{{"id":"s{i}","command":"true"}}"#)));
    format!(
        r#"{{"schema_id":"wrkr.jobspec","schema_version":"v1","producer_version":"test","name":"big",
"objective":"{STEPS} steps","adapter":{{"name":"reference"}},
"inputs":{{"workspace":".","steps":[{}]}},"expected_artifacts":[],
"budgets":{{"max_wall_time_seconds":86400,"max_retries":0,"max_step_count":{STEPS},"max_tool_calls":{STEPS}}},
"checkpoint_policy":{{"min_interval_seconds":1,"required_types":[]}},"environment_fingerprint":{{"rules":[]}}}}"#,
        steps.join(",")
    )
}

/// Run `cmd` to its end; its exit status and its own peak RSS in KiB.
fn run_measured(mut cmd: Command) -> (ExitStatus, i64) {
    let child = cmd.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::piped()).spawn().unwrap();
    let pid = i32::try_from(child.id()).unwrap();
    let mut status = 0;
    // SAFETY: an all-zero `rusage` is a valid value; wait4 fills it in.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: `pid` is our unreaped child; `status` and `usage` are valid for writes. The child
    // is reaped here, so `child` is only dropped afterwards (dropping never waits).
    let reaped = unsafe { libc::wait4(pid, &raw mut status, 0, &raw mut usage) };
    assert_eq!(reaped, pid, "wait4: {}", std::io::Error::last_os_error());
    drop(child);
    (ExitStatus::from_raw(status), usage.ru_maxrss)
}

#[test]
fn big_spec_submit_and_resume_stay_small() {
    let sb = Sandbox::new();
    std::fs::write(sb.work().join("big.json"), big_spec()).unwrap();

    let mut submit = sb.command("wrkr");
    submit.args(["submit", "big.json", "--job-id", "big", "-q"]);
    let (status, submit_kib) = run_measured(submit);
    assert_eq!(status.code(), Some(0), "submit stops at the decision");

    // Refused for want of an approval, after the ledger is replayed and the spec is read.
    let mut resume = sb.command("wrkr");
    resume.args(["resume", "big", "--json"]);
    let (status, resume_kib) = run_measured(resume);
    assert_eq!(status.code(), Some(4), "resume waits for the approval");

    eprintln!("peak RSS: submit {submit_kib} KiB, resume {resume_kib} KiB");
    assert!(submit_kib < SUBMIT_BOUND_KIB, "submit peaked at {submit_kib} KiB (bound {SUBMIT_BOUND_KIB})");
    assert!(resume_kib < RESUME_BOUND_KIB, "resume peaked at {resume_kib} KiB (bound {RESUME_BOUND_KIB})");
}
