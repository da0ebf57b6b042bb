//! Acceptance checks through the real binary: the Go journey verdict, each check failing alone
//! with exit 5 and its reason code, artifacts edited or deleted after export, command timeouts,
//! and the config's error paths. (JUnit, the GitHub summary and the bridge: tests/accept_report.rs.)

mod support;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::{Sandbox, fixture, journey};

/// A config under which the journey job passes every check (8 of them run).
const PASSING: &str = "\
required_artifacts: [reports/result.md]
test_command: \"true\"
lint_command: \"test -f reports/plan.md\"
path_rules: {max_artifact_paths: 5, forbidden_prefixes: [secrets/], allowed_prefixes: [reports/]}
required_checkpoint_types: [plan, completed]
max_budget_use: 0.5
commands:
  docs: \"test -s reports/result.md\"
";

struct Setup {
    sb: Sandbox,
    workspace: PathBuf,
}

fn setup() -> Setup {
    let sb = Sandbox::new();
    let workspace = sb.work().join("ws");
    journey::create(&sb, &workspace);
    Setup { sb, workspace }
}

impl Setup {
    fn config(&self, text: &str) -> PathBuf {
        let path = self.sb.work().join("accept.yaml");
        std::fs::write(&path, text).unwrap();
        path
    }

    /// `wrkr --json accept run job_a`: (exit code, output JSON).
    fn accept_run(&self, config_text: &str) -> (i32, Value) {
        self.config(config_text);
        let out = self.sb.wrkr().args(["--json", "accept", "run", journey::JOB]).output().unwrap();
        let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!("{e}: {}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
        });
        (out.status.code().unwrap(), json)
    }
}

fn statuses(out: &Value) -> Vec<(String, String)> {
    out["checks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| (c["name"].as_str().unwrap().to_owned(), c["status"].as_str().unwrap().to_owned()))
        .collect()
}

/// `wrkr-accept PACK` with Go's journey config, in a workspace holding the journey's artifact.
fn accept_with_journey_config(sb: &Sandbox, pack: &str, extra: &[&str]) -> std::process::Output {
    let ws = sb.work().join("ws");
    std::fs::create_dir_all(ws.join("reports")).unwrap();
    std::fs::write(ws.join("reports/result.md"), "result\n").unwrap();
    sb.program("wrkr-accept")
        .arg(fixture(pack))
        .args(["--config", fixture("go-wrkr/journey.accept.yaml").to_str().unwrap()])
        .args(extra)
        .arg("--workspace")
        .arg(&ws)
        .output()
        .unwrap()
}

/// Go's journey pack with Go's journey config: Go said 5 checks run, 5 passed (its
/// accept/accept_result.json in the fixture). Our harness runs the same five v1 checks; the two
/// additive checks are not configured there, so they are skipped and not counted in checks_run,
/// which keeps the count at Go's 5. The Go pack records artifacts by reference (no content hash),
/// so required_artifacts checks presence in the workspace.
#[test]
fn go_journey_pack_gets_the_go_verdict() {
    let sb = Sandbox::new();
    let out = accept_with_journey_config(&sb, "go-wrkr/jobpack_journey.zip", &["--checks"]);
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let lines: Vec<Value> =
        String::from_utf8(out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let result = &lines[0];
    assert_eq!(result["schema_id"], "wrkr.accept_result");
    assert_eq!((result["checks_run"].as_u64(), result["checks_passed"].as_u64()), (Some(5), Some(5)));
    assert_eq!(result["failures"], serde_json::json!([]));
    let names: Vec<&str> = lines[1..].iter().map(|c| c["check"].as_str().unwrap()).collect();
    assert_eq!(
        names,
        [
            "schema_validity",
            "required_artifacts",
            "path_constraints",
            "test_command",
            "lint_command",
            "required_checkpoint_types",
            "max_budget_use"
        ]
    );
    assert_eq!(lines[6]["status"], "skipped");
    // From stdin, too.
    let pack = std::fs::read(fixture("go-wrkr/jobpack_journey.zip")).unwrap();
    sb.program("wrkr-accept")
        .args(["--config", fixture("go-wrkr/journey.accept.yaml").to_str().unwrap(), "--workspace"])
        .arg(sb.work().join("ws"))
        .write_stdin(pack)
        .assert()
        .success();
}

#[test]
fn a_passing_job_runs_every_configured_check() {
    let s = setup();
    let (code, out) = s.accept_run(PASSING);
    assert_eq!(code, 0, "{out:#}");
    assert_eq!(out["accept_result"]["checks_run"], 8);
    assert_eq!(out["accept_result"]["checks_passed"], 8);
    assert!(statuses(&out).iter().all(|(_, s)| s == "passed"), "{out:#}");
    assert_eq!(statuses(&out).last().unwrap().0, "commands.docs");
    // Stored in the job: the next export carries accept/accept_result.json.
    let stored = s.sb.home().join("jobs/job_a/accept_result.json");
    assert_eq!(out["accept_result_path"], stored.display().to_string());
    let bytes = std::fs::read(&stored).unwrap();
    assert_eq!(serde_json::from_slice::<Value>(&bytes).unwrap(), out["accept_result"]);
    let ledger = String::from_utf8(s.sb.program("wrkr-events").arg(journey::JOB).output().unwrap().stdout).unwrap();
    assert!(ledger.lines().last().unwrap().contains("\"type\":\"x-accept_ran\""));
}

/// Each check failing alone: exit 5, exactly one failure, the right reason code.
#[test]
fn each_check_fails_alone_with_exit_5_and_its_code() {
    let s = setup();
    let cases = [
        ("required_artifacts", "reports/result.md]", "reports/missing.md]", "E_ACCEPT_MISSING_ARTIFACT"),
        (
            "path_constraints",
            "forbidden_prefixes: [secrets/]",
            "forbidden_prefixes: [reports/plan]",
            "E_ACCEPT_MISSING_ARTIFACT",
        ),
        (
            "path_constraints",
            "allowed_prefixes: [reports/]",
            "allowed_prefixes: [reports/result]",
            "E_ACCEPT_MISSING_ARTIFACT",
        ),
        ("path_constraints", "max_artifact_paths: 5", "max_artifact_paths: 1", "E_ACCEPT_MISSING_ARTIFACT"),
        ("test_command", "test_command: \"true\"", "test_command: \"echo boom; exit 3\"", "E_ACCEPT_TEST_FAIL"),
        ("lint_command", "test -f reports/plan.md", "test -f reports/nope.md", "E_ACCEPT_TEST_FAIL"),
        ("required_checkpoint_types", "[plan, completed]", "[plan, blocked]", "E_ACCEPT_MISSING_ARTIFACT"),
        ("max_budget_use", "max_budget_use: 0.5", "max_budget_use: 0.1", "E_BUDGET_EXCEEDED"),
        ("commands.docs", "test -s reports/result.md", "test -s reports/none.md", "E_ACCEPT_TEST_FAIL"),
    ];
    for (check, from, to, code) in cases {
        assert!(PASSING.contains(from), "{from}");
        let (exit, out) = s.accept_run(&PASSING.replace(from, to));
        assert_eq!(exit, 5, "{check}: {out:#}");
        let failures = out["accept_result"]["failures"].as_array().unwrap();
        assert_eq!(failures.len(), 1, "{check}: {out:#}");
        assert_eq!(failures[0]["check"], check);
        assert_eq!(out["accept_result"]["reason_codes"], serde_json::json!([code]), "{check}");
        assert_eq!(out["accept_result"]["checks_passed"], 7, "{check}");
    }
    let (_, out) = s.accept_run(&PASSING.replace("reports/result.md]", "reports/missing.md]"));
    assert_eq!(out["accept_result"]["failures"][0]["artifact"], "reports/missing.md");
    let (_, out) = s.accept_run(&PASSING.replace("test_command: \"true\"", "test_command: \"echo boom; exit 3\""));
    let msg = out["accept_result"]["failures"][0]["message"].as_str().unwrap();
    assert_eq!(msg, "command failed (exit=3): [stdout]\nboom");
}

#[test]
fn schema_validity_fails_alone_on_a_schema_invalid_pack() {
    let sb = Sandbox::new();
    let out = accept_with_journey_config(&sb, "jobpacks/schema_checkpoints_jsonl/pack.zip", &[]);
    assert_eq!(out.status.code(), Some(5));
    let result: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(result["failures"].as_array().unwrap().len(), 1, "{result:#}");
    assert_eq!(result["failures"][0]["check"], "schema_validity");
    assert!(result["failures"][0]["message"].as_str().unwrap().starts_with("checkpoints.jsonl:"), "{result:#}");
    assert_eq!(result["reason_codes"], serde_json::json!(["E_INVALID_INPUT_SCHEMA"]));
    // A pack that fails integrity is refused, not judged: verify's exit code, no verdict.
    sb.program("wrkr-accept")
        .arg(fixture("jobpacks/tampered_job_byte/pack.zip"))
        .args(["--config", fixture("go-wrkr/journey.accept.yaml").to_str().unwrap()])
        .assert()
        .code(2)
        .stdout("");
}

/// The harness compares the workspace with the content hashes the pack recorded at export.
#[test]
fn artifact_edited_or_deleted_after_export_fails_required_artifacts() {
    let s = setup();
    let config = s.config(PASSING);
    s.sb.wrkr().args(["export", journey::JOB]).assert().success();
    let pack = s.sb.work().join("wrkr-out/jobpacks/jobpack_job_a.zip");
    let accept = || {
        let out = s.sb.program("wrkr-accept").arg(&pack).arg("--config").arg(&config).output().unwrap();
        (out.status.code(), serde_json::from_slice::<Value>(&out.stdout).unwrap())
    };
    assert_eq!(accept().0, Some(0));
    std::fs::write(s.workspace.join("reports/result.md"), "edited\n").unwrap();
    let (code, result) = accept();
    assert_eq!(code, Some(5));
    assert_eq!(result["failures"][0]["check"], "required_artifacts");
    assert_eq!(result["failures"][0]["artifact"], "reports/result.md");
    assert!(result["failures"][0]["message"].as_str().unwrap().contains("changed since export"), "{result:#}");
    std::fs::remove_file(s.workspace.join("reports/result.md")).unwrap();
    let (code, result) = accept();
    assert_eq!(code, Some(5));
    assert!(result["failures"][0]["message"].as_str().unwrap().contains("missing from the workspace"), "{result:#}");
    // (commands.docs fails too now: it tests the same file.)
    assert_eq!(result["reason_codes"][0], "E_ACCEPT_MISSING_ARTIFACT");
}

#[test]
fn sleep_100_with_timeout_1_fails_in_about_a_second() {
    let s = setup();
    let started = Instant::now();
    let (code, out) = s.accept_run("test_command: {command: \"sleep 100\", timeout_seconds: 1}\n");
    let took = started.elapsed();
    assert_eq!(code, 5);
    assert!(took < Duration::from_secs(5), "took {took:?}");
    let msg = out["accept_result"]["failures"][0]["message"].as_str().unwrap();
    assert!(msg.starts_with("command timed out after 1s"), "{msg}");
}

#[test]
fn unconfigured_checks_are_skipped_not_passed() {
    let s = setup();
    let (code, out) = s.accept_run("x-team: core\n");
    assert_eq!(code, 0);
    assert_eq!(out["accept_result"]["checks_run"], 1, "only schema_validity runs: {out:#}");
    let skipped: Vec<_> = statuses(&out).into_iter().filter(|(_, s)| s == "skipped").map(|(n, _)| n).collect();
    assert_eq!(skipped.len(), 6);
    assert!(out["checks"].as_array().unwrap().iter().all(|c| c["status"] != "skipped" || c["passed"] == false));
}

#[test]
fn config_errors() {
    let s = setup();
    let out = s.sb.wrkr().args(["accept", "run", journey::JOB]).output().unwrap();
    assert_eq!(out.status.code(), Some(6));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("no such file") && stderr.contains("wrkr accept init"), "{stderr}");
    assert!(!s.sb.work().join("wrkr-out").exists(), "nothing is exported before the config loads");
    s.config("test_comand: make\n");
    s.sb.wrkr().args(["accept", "run", journey::JOB]).assert().code(6);
    // init writes the template, refuses to overwrite, --force does.
    std::fs::remove_file(s.sb.work().join("accept.yaml")).unwrap();
    s.sb.wrkr().args(["accept", "init"]).assert().success();
    s.sb.wrkr().args(["accept", "init"]).assert().code(6);
    s.sb.wrkr().args(["accept", "init", "--force", "--path", "other.yaml"]).assert().success();
    assert_eq!(
        std::fs::read(s.sb.work().join("accept.yaml")).unwrap(),
        std::fs::read(s.sb.work().join("other.yaml")).unwrap()
    );
}

/// Drop what differs between two runs of the same checks: times.
fn without_times(mut v: Value) -> Value {
    match &mut v {
        Value::Object(map) => {
            map.remove("seconds");
            map.remove("created_at");
            for item in map.values_mut() {
                *item = without_times(item.take());
            }
        }
        Value::Array(items) => items.iter_mut().for_each(|item| *item = without_times(item.take())),
        _ => {}
    }
    v
}

/// `accept run JOB` judges the pack it has just exported without verifying it again (it reuses
/// the entry hashes export computed); its verdict must be the one a full verify of that pack gives
/// (`accept run PACK`), check for check and word for word, passing and failing alike.
#[test]
fn accept_run_job_gives_the_verdict_of_a_full_verify_of_its_pack() {
    let s = setup();
    let failing =
        PASSING.replace("required_checkpoint_types: [plan, completed]", "required_checkpoint_types: [blocked]");
    for config in [PASSING, failing.as_str()] {
        let (code, by_job) = s.accept_run(config);
        let pack = s.sb.work().join("judged.zip");
        std::fs::copy(s.sb.work().join("wrkr-out/jobpacks/jobpack_job_a.zip"), &pack).unwrap();
        let out = s.sb.wrkr().args(["--json", "accept", "run"]).arg(&pack).output().unwrap();
        let by_pack: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(out.status.code(), Some(code), "{by_pack:#}");
        assert_eq!(without_times(by_job["checks"].clone()), without_times(by_pack["checks"].clone()));
        assert_eq!(without_times(by_job["accept_result"].clone()), without_times(by_pack["accept_result"].clone()));
        let message = by_job["checks"][0]["message"].as_str().unwrap();
        assert!(message.ends_with(" files verified; every record matches its schema"), "{message}");
    }
}
