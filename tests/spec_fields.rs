//! JobSpec fields that used to be accepted and ignored now do what they say (expected_artifacts),
//! and a failed step's hint tells the truth about what `resume` runs. Through the real binary.

mod support;

use support::Sandbox;

fn spec(steps: &str, expected: &str) -> String {
    format!(
        "schema_id: wrkr.jobspec\nschema_version: v1\nproducer_version: dev\nname: fields\nobjective: o\n\
         adapter: {{name: reference}}\ninputs:\n  steps:\n{steps}expected_artifacts: {expected}\n\
         budgets: {{max_wall_time_seconds: 60, max_step_count: 5, max_tool_calls: 5}}\n\
         checkpoint_policy: {{min_interval_seconds: 1}}\nenvironment_fingerprint: {{rules: []}}\n"
    )
}

fn completed_checkpoint(events: &[serde_json::Value]) -> serde_json::Value {
    let cp = events.iter().rev().find(|e| e["type"] == "checkpoint_emitted").expect("a checkpoint");
    cp["payload"].clone()
}

/// Go validated `expected_artifacts` and did nothing with it: a job that never wrote its result
/// completed clean. Now the completion records the check, and what is missing is a finding.
#[test]
fn missing_expected_artifact_is_recorded_at_completion() {
    let sb = Sandbox::new();
    let steps = "    - {id: write, command: 'mkdir -p out && echo a > out/a.md'}\n";
    std::fs::write(sb.work().join("spec.yaml"), spec(steps, "[out/a.md, out/b.md]")).unwrap();
    let out = sb.wrkr().args(["submit", "spec.yaml", "--job-id", "j1"]).output().unwrap();
    assert!(out.status.success(), "a missing artifact does not fail the job: {}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "job_id=j1 status=completed adapter=reference\n");
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "warning: job j1 completed without expected artifacts: out/b.md (recorded in its ledger and checkpoint)\n"
    );
    let events = sb.ledger("j1");
    let checked = events.iter().find(|e| e["type"] == "x-expected_artifacts_checked").expect("the check is recorded");
    assert_eq!(checked["payload"]["expected"], serde_json::json!(["out/a.md", "out/b.md"]));
    assert_eq!(checked["payload"]["missing"], serde_json::json!(["out/b.md"]));
    let cp = completed_checkpoint(&events);
    assert_eq!(cp["type"], "completed");
    assert_eq!(cp["reason_codes"], serde_json::json!(["E_ACCEPT_MISSING_ARTIFACT"]));
    assert_eq!(cp["summary"], "reference adapter completed; expected artifacts missing: out/b.md");
    let status = sb.wrkr().args(["--json", "status", "j1"]).output().unwrap();
    let status: serde_json::Value = serde_json::from_slice(&status.stdout).unwrap();
    assert_eq!(status["reason_codes"], serde_json::json!(["E_ACCEPT_MISSING_ARTIFACT"]));
    sb.wrkr().args(["export", "j1", "--out-dir", "packs"]).assert().success();
    sb.wrkr().args(["verify", "packs/jobpacks/jobpack_j1.zip"]).assert().success();
}

#[test]
fn present_expected_artifacts_complete_clean() {
    let sb = Sandbox::new();
    let steps = "    - {id: write, command: 'mkdir -p out && echo a > out/a.md'}\n";
    std::fs::write(sb.work().join("spec.yaml"), spec(steps, "[out/a.md]")).unwrap();
    let out = sb.wrkr().args(["--json", "submit", "spec.yaml", "--job-id", "j2"]).output().unwrap();
    assert!(out.status.success());
    assert!(out.stderr.is_empty(), "{}", String::from_utf8_lossy(&out.stderr));
    let reply: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(reply.get("missing_artifacts").is_none());
    let events = sb.ledger("j2");
    let checked = events.iter().find(|e| e["type"] == "x-expected_artifacts_checked").unwrap();
    assert_eq!(checked["payload"]["missing"], serde_json::json!([]));
    assert_eq!(completed_checkpoint(&events)["reason_codes"], serde_json::json!([]));
}

/// People fixed the spec file after a failed step and resumed; the recorded command ran again,
/// because a job runs the spec recorded at submit. The hint now says so, with the real job id, the
/// recorded command, and how to run an edited spec.
#[test]
fn failed_step_hint_names_the_recorded_command() {
    let sb = Sandbox::new();
    let steps = "    - {id: check, command: 'test -f ready'}\n";
    let path = sb.work().join("spec.yaml");
    std::fs::write(&path, spec(steps, "[]")).unwrap();
    let out = sb.wrkr().args(["submit", "spec.yaml", "--job-id", "h1"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    let abs = std::fs::canonicalize(&path).unwrap();
    let want = format!(
        "hint: `wrkr resume h1` runs step check again as recorded at submit (sh -c \"test -f ready\"): fix what it \
         depends on first. Edits to {p} do not change this job: to run them, submit it as a new job (wrkr submit \
         {p}).\nlogs: wrkr logs h1 check --failed\n",
        p = abs.display()
    );
    assert!(stderr.starts_with("E_ADAPTER_FAIL: "), "{stderr}");
    assert!(stderr.ends_with(&want), "{stderr}");
    // The hint is true: editing the file changes nothing for this job...
    std::fs::write(&path, spec("    - {id: check, command: 'true'}\n", "[]")).unwrap();
    sb.wrkr().args(["resume", "h1"]).assert().code(1);
    // ...fixing what the recorded command depends on does.
    std::fs::write(sb.work().join("ready"), "").unwrap();
    sb.wrkr().args(["resume", "h1"]).assert().success().stdout("job_id=h1 status=completed\n");
}

/// A decision step that also has a command (issue 12 follow-up): as in Go, the command runs first
/// and the job stops after it; the decision gates the steps that follow. Documented in
/// docs/contracts/jobspec.md and the `init` template; this keeps the behaviour the docs describe.
#[test]
fn a_decision_step_runs_its_command_before_the_job_stops() {
    let sb = Sandbox::new();
    let steps = "    - {id: gate, command: \"echo ran > gate.txt\", decision_needed: true}\n\
                 \x20   - {id: after, command: \"echo ran > after.txt\"}\n";
    std::fs::write(sb.work().join("spec.yaml"), spec(steps, "[]")).unwrap();
    let out = sb.wrkr().current_dir(sb.work()).args(["submit", "spec.yaml", "--job-id", "g"]).output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout).split(' ').nth(1), Some("status=blocked_decision"));
    assert!(sb.work().join("gate.txt").is_file(), "the gate step's command ran before the job stopped");
    assert!(!sb.work().join("after.txt").exists(), "the step after the decision waits for it");
    let status = sb.wrkr().args(["status", "g"]).output().unwrap().stdout;
    assert!(String::from_utf8_lossy(&status).contains("step: 1/2 gate, attempt 1, succeeded"));
}
