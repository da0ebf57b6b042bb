//! What people who ran the Go implementation rely on (issue 13), each through the real binary:
//! output files created where Go creates them, listen addresses judged as Go judges them, Go-made
//! jobs continued here, and the bridge and verify fixes of issue 12 (W9, W10).

mod support;

use serde_json::Value;
use support::{Sandbox, fixture, journey};

fn json_out(out: &std::process::Output) -> Value {
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Regression: `accept run --junit DIR/x.xml` into a folder that did not exist failed with a temp
/// file error; Go creates the folders.
#[test]
fn junit_into_a_missing_folder_is_created() {
    let sb = Sandbox::new();
    journey::create(&sb, &sb.work().join("ws"));
    let out = sb
        .wrkr()
        .args(["--json", "accept", "run", journey::JOB, "--config"])
        .arg(fixture("go-wrkr/journey.accept.yaml"))
        .args(["--junit", "ci/junit/deep/accept.xml"])
        .output()
        .unwrap();
    let json = json_out(&out);
    assert!(json["junit_path"].as_str().unwrap().ends_with("ci/junit/deep/accept.xml"), "{json}");
    let xml = std::fs::read_to_string(sb.work().join("ci/junit/deep/accept.xml")).unwrap();
    assert!(xml.contains("<testsuite"), "{xml}");
}

/// Regression: `$GITHUB_STEP_SUMMARY` (and `report github --out-dir`) pointing into a folder that
/// does not exist yet failed; Go creates it.
#[test]
fn step_summary_into_a_missing_folder_is_created() {
    let sb = Sandbox::new();
    journey::create(&sb, &sb.work().join("ws"));
    let summary = sb.work().join("runner/tmp/step_summary.md");
    let out = sb
        .wrkr()
        .env("GITHUB_STEP_SUMMARY", &summary)
        .args(["--json", "report", "github", journey::JOB, "--out-dir", "new/out"])
        .output()
        .unwrap();
    let json = json_out(&out);
    assert_eq!(json["step_summary_path"], summary.display().to_string());
    let md = std::fs::read_to_string(&summary).unwrap();
    assert!(md.starts_with("# Wrkr GitHub Summary"), "{md}");
    assert!(sb.work().join("new/out/reports/github_summary_job_a.md").is_file());
}

/// Regression: `serve --listen 127.0.0.1:-1` was exit 8 "non-loopback" for a loopback host; a
/// bad port is a bad address: exit 6, and the message says it is the port.
#[test]
fn serve_with_a_bad_port_is_invalid_input() {
    let sb = Sandbox::new();
    for listen in ["127.0.0.1:-1", ":abc", "localhost:-1", "[::1]:-1", "127.0.0.1:65536"] {
        let out = sb.wrkr().args(["--json", "serve", "--listen", listen]).output().unwrap();
        assert_eq!(out.status.code(), Some(6), "{listen}: {}", String::from_utf8_lossy(&out.stderr));
        let env = support::envelope(&out.stderr);
        assert_eq!(env["code"], "E_INVALID_INPUT_SCHEMA", "{listen}");
        assert!(env["message"].as_str().unwrap().contains("port"), "{listen}: {env}");
        assert_eq!(env["details"]["listen"], listen);
        let text = sb.wrkr().args(["serve", "--listen", listen]).output().unwrap();
        assert_eq!(text.status.code(), Some(6));
        assert!(String::from_utf8_lossy(&text.stderr).contains("port"), "{listen}");
    }
}

/// A copy of the Go store fixture (`job_go_blocked`, blocked at decision cp_11 after step 2 of 3)
/// as this sandbox's store, and the workspace the Go run left (`reports/plan.md`).
fn go_store(sb: &Sandbox) {
    let from = fixture("go-wrkr/store_blocked_decision/jobs/job_go_blocked");
    let to = sb.home().join("jobs/job_go_blocked");
    std::fs::create_dir_all(&to).unwrap();
    for name in ["events.jsonl", "snapshot.json", "runtime_config.json"] {
        std::fs::write(to.join(name), std::fs::read(from.join(name)).unwrap()).unwrap();
    }
    std::fs::create_dir_all(sb.work().join("reports")).unwrap();
    std::fs::write(sb.work().join("reports/plan.md"), "plan\n").unwrap();
}

fn step_ids(sb: &Sandbox) -> Vec<String> {
    let ledger = std::fs::read_to_string(sb.home().join("jobs/job_go_blocked/events.jsonl")).unwrap();
    ledger
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|e| e["type"] == "adapter_step")
        .map(|e| e["payload"]["step_id"].as_str().unwrap().to_owned())
        .collect()
}

/// The exported pack verifies here, and holds only what Go's verify accepts: its seven entry
/// names, and the manifest's seven fields.
fn assert_pack_verifies_under_both_rules(sb: &Sandbox) {
    let export = json_out(&sb.wrkr().args(["--json", "export", "job_go_blocked"]).output().unwrap());
    let verified = json_out(&sb.wrkr().args(["--json", "verify", "job_go_blocked"]).output().unwrap());
    assert_eq!(verified["manifest_sha256"], export["manifest_sha256"]);
    let pack = std::fs::read(export["path"].as_str().unwrap()).unwrap();
    let names = zip_names(&pack);
    let go_names = [
        "accept/accept_result.json",
        "approvals.jsonl",
        "artifacts_manifest.json",
        "checkpoints.jsonl",
        "events.jsonl",
        "job.json",
        "manifest.json",
    ];
    assert!(names.iter().all(|n| go_names.contains(&n.as_str())), "{names:?}");
    assert!(names.contains(&"approvals.jsonl".to_owned()));
}

/// Entry names from the central directory (the packs are small, stored, no zip64).
fn zip_names(zip: &[u8]) -> Vec<String> {
    let mut names = Vec::new();
    let mut i = 0;
    while i + 46 <= zip.len() {
        if zip[i..i + 4] == [0x50, 0x4b, 0x01, 0x02] {
            let len = u16::from_le_bytes([zip[i + 28], zip[i + 29]]) as usize;
            names.push(String::from_utf8_lossy(&zip[i + 46..i + 46 + len]).into_owned());
            i += 46 + len;
        } else {
            i += 1;
        }
    }
    names
}

/// Regression: resuming a Go-made job recorded the approval, then exit 6 "this job was not
/// submitted from a JobSpec": Go's runtime_config.json was not read. Now approve → resume runs
/// only the remaining step (`finalize`), from the Go cursor, and the pack verifies.
#[test]
fn a_go_job_blocked_at_a_decision_finishes_here() {
    let sb = Sandbox::new();
    go_store(&sb);
    let out = sb.wrkr().args(["--json", "resume", "job_go_blocked"]).output().unwrap();
    assert_eq!(out.status.code(), Some(4), "the approval gate holds: {}", String::from_utf8_lossy(&out.stderr));
    sb.wrkr()
        .args(["approve", "job_go_blocked", "--checkpoint", "cp_11", "--reason", "go plan reviewed"])
        .assert()
        .success();
    let resumed = json_out(&sb.wrkr().args(["--json", "resume", "job_go_blocked"]).output().unwrap());
    assert_eq!(resumed["status"], "completed", "{resumed}");
    assert_eq!(resumed["adapter"], "reference");
    assert_eq!(resumed["next_step_index"], 3);
    assert_eq!(step_ids(&sb), ["plan", "review", "finalize"], "only finalize ran here");
    assert_eq!(std::fs::read_to_string(sb.work().join("reports/result.md")).unwrap(), "done\n");
    let status = json_out(&sb.wrkr().args(["--json", "status", "job_go_blocked"]).output().unwrap());
    assert_eq!(status["status"], "completed");
    // The Go files are read, never rewritten.
    let from = fixture("go-wrkr/store_blocked_decision/jobs/job_go_blocked/runtime_config.json");
    let ours = sb.home().join("jobs/job_go_blocked/runtime_config.json");
    assert_eq!(std::fs::read(ours).unwrap(), std::fs::read(from).unwrap());
    assert_pack_verifies_under_both_rules(&sb);
}

/// The fingerprint gate applies to Go jobs: the same job captured on a Mac (Go's own test vector,
/// arm64/darwin) is blocked here with exit 1, and continues with the audited `--force-env`.
#[test]
fn a_go_job_from_another_machine_needs_the_audited_override() {
    let sb = Sandbox::new();
    go_store(&sb);
    let ledger = sb.home().join("jobs/job_go_blocked/events.jsonl");
    let text = std::fs::read_to_string(&ledger).unwrap();
    let text = text
        .replace(r#""values":{"arch":"amd64","os":"linux"}"#, r#""values":{"arch":"arm64","os":"darwin"}"#)
        .replace(
            "65d92663b6648f3ac4ad9131b8c552699ef3696519faae2d6b6ddcc0bef77094",
            "cacf3b8e0a13e5dbcb04dd3e74db1e1ec50bca3ac7952d270ee01b40136db450",
        );
    std::fs::write(&ledger, text).unwrap();
    std::fs::remove_file(sb.home().join("jobs/job_go_blocked/snapshot.json")).unwrap();
    sb.wrkr().args(["approve", "job_go_blocked", "--checkpoint", "cp_11", "--reason", "ok"]).assert().success();
    let out = sb.wrkr().args(["--json", "resume", "job_go_blocked"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(support::envelope(&out.stderr)["code"], "E_ENV_FINGERPRINT_MISMATCH");
    assert_eq!(step_ids(&sb), ["plan", "review"], "nothing ran");
    let resumed = json_out(
        &sb.wrkr()
            .args([
                "--json",
                "resume",
                "job_go_blocked",
                "--force-env",
                "--reason",
                "moved from the Go mac runner",
                "--approved-by",
                "tester",
            ])
            .output()
            .unwrap(),
    );
    assert_eq!(resumed["status"], "completed", "{resumed}");
    assert_eq!(step_ids(&sb), ["plan", "review", "finalize"]);
    let ledger = std::fs::read_to_string(&ledger).unwrap();
    let override_line = ledger.lines().find(|l| l.contains("env_override_recorded")).expect("the override is recorded");
    assert!(override_line.contains("moved from the Go mac runner") && override_line.contains("tester"));
    assert_pack_verifies_under_both_rules(&sb);
}

/// A Go runtime_config.json whose cursor is past its steps is refused before anything runs.
#[test]
fn a_broken_go_runtime_config_is_refused() {
    let sb = Sandbox::new();
    go_store(&sb);
    let path = sb.home().join("jobs/job_go_blocked/runtime_config.json");
    let text = std::fs::read_to_string(&path).unwrap().replace(r#""next_step_index": 2"#, r#""next_step_index": 9"#);
    std::fs::write(&path, text).unwrap();
    sb.wrkr().args(["approve", "job_go_blocked", "--checkpoint", "cp_11", "--reason", "ok"]).assert().success();
    let before = support::tree(sb.home());
    let out = sb.wrkr().args(["--json", "resume", "job_go_blocked"]).output().unwrap();
    assert_eq!(out.status.code(), Some(6), "{}", String::from_utf8_lossy(&out.stderr));
    let env = support::envelope(&out.stderr);
    assert!(env["message"].as_str().unwrap().contains("next_step_index 9"), "{env}");
    assert_eq!(support::tree(sb.home()), before, "store intact");
}

fn bridge(sb: &Sandbox, args: &[&str]) -> std::process::Output {
    sb.wrkr().args(["bridge", "work-item", journey::JOB]).args(args).output().unwrap()
}

/// Regression (issue 12 W10): a work item was made for an already approved decision, and the
/// markdown had neither the checkpoint's summary nor its instructions, but an empty
/// `Reason codes:` line when there were none.
#[test]
fn bridge_refuses_a_decided_checkpoint_and_carries_the_checkpoint_words() {
    let sb = Sandbox::new();
    journey::create(&sb, &sb.work().join("ws"));
    let out = bridge(&sb, &["--json", "--checkpoint", "cp_8", "--dry-run"]);
    assert_eq!(out.status.code(), Some(6), "{}", String::from_utf8_lossy(&out.stdout));
    let env = support::envelope(&out.stderr);
    assert!(env["message"].as_str().unwrap().contains("already decided (approved by alice)"), "{env}");
    assert!(out.stdout.is_empty());

    // A decision with no reason codes, still open: Go's names, the checkpoint's words.
    let sb = Sandbox::new();
    std::fs::copy(fixture("go-wrkr/journey.jobspec.yaml"), sb.work().join("spec.yaml")).unwrap();
    let submitted = json_out(&sb.wrkr().args(["--json", "submit", "spec.yaml", "--job-id", "jb"]).output().unwrap());
    let cp = submitted["checkpoint_id"].as_str().unwrap();
    let out = sb
        .wrkr()
        .args(["--json", "bridge", "work-item", "jb", "--checkpoint", cp, "--template", "github", "--out-dir", "o"])
        .output()
        .unwrap();
    let json = json_out(&out);
    assert_eq!(json["json_path"], json["work_item_path"]);
    assert_eq!(json["checkpoint"]["summary"], "manager approval");
    let md = std::fs::read_to_string(json["template_path"].as_str().unwrap()).unwrap();
    assert!(md.contains("\n\nCheckpoint summary: manager approval\n"), "{md}");
    assert!(md.contains("\n\nInstructions: review and approve step review\n"), "{md}");
    assert!(!md.contains("Reason codes:"), "{md}");
    let text = sb.wrkr().args(["bridge", "work-item", "jb", "--checkpoint", cp, "--dry-run"]).output().unwrap();
    let text = String::from_utf8(text.stdout).unwrap();
    assert!(text.contains("\nsummary=manager approval\ninstructions=review and approve step review\n"), "{text}");
    let out = sb.wrkr().args(["--json", "bridge", "work-item", "jb", "--checkpoint", cp]).output().unwrap();
    assert_eq!(json_out(&out)["template_path"], "", "Go prints an empty template_path without --template");
}

/// Regression (issue 12 W9): in text mode `wrkr verify` printed the failing finding twice, once
/// as a detail line and once as the error line.
#[test]
fn verify_text_prints_each_finding_once() {
    let sb = Sandbox::new();
    let pack = fixture("jobpacks/tampered_job_byte/pack.zip");
    for extra in [&[][..], &["--all"][..]] {
        let out = sb.wrkr().arg("verify").args(extra).arg(&pack).output().unwrap();
        assert_eq!(out.status.code(), Some(2));
        let stderr = String::from_utf8(out.stderr).unwrap();
        assert_eq!(stderr.matches("file hash mismatch").count(), 1, "{extra:?}: {stderr}");
        let last = stderr.lines().last().unwrap();
        assert!(last.starts_with("E_VERIFY_HASH_MISMATCH: file hash mismatch path=job.json expected="), "{last}");
    }
    let all = sb.wrkr().args(["verify", "--all"]).arg(&pack).output().unwrap();
    let stderr = String::from_utf8(all.stderr).unwrap();
    assert_eq!(stderr.matches("job schema invalid").count(), 1, "--all still lists the other findings: {stderr}");
}

/// CPU seconds (user + system, which a busy machine does not inflate as it does wall time) and
/// peak RSS (KiB) of `wrkr verify PACK`, with its exit code, by `/usr/bin/time`.
fn measured_verify(sb: &Sandbox, pack: &std::path::Path) -> (f64, u64, i32) {
    let report = sb.work().join("time.txt");
    let status = std::process::Command::new("/usr/bin/time")
        .args(["-f", "%U %S %M", "-o"])
        .arg(&report)
        .arg(support::bin())
        .arg("verify")
        .arg(pack)
        .env("WRKR_HOME", sb.home())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .expect("/usr/bin/time (Debian package `time`)");
    let text = std::fs::read_to_string(&report).unwrap();
    let last = text.lines().last().unwrap_or_default().to_owned();
    let fields: Vec<&str> = last.split(' ').collect();
    let [user, system, kib] = fields.as_slice() else { panic!("time output {text:?}") };
    let secs = user.parse::<f64>().unwrap() + system.parse::<f64>().unwrap();
    (secs, kib.parse().unwrap(), status.code().unwrap_or(-1))
}

/// Issue 13 item 5: a deflate bomb, declared or not, is refused with exit 2 in well under a second
/// and without its expanded bytes ever being held: peak memory stays that of an honest verify.
#[test]
fn deflate_bombs_are_refused_fast_with_flat_memory() {
    let sb = Sandbox::new();
    let (_, honest_kib, code) = measured_verify(&sb, &fixture("jobpacks/rezipped_deflate/pack.zip"));
    assert_eq!(code, 0, "a re-zipped honest pack verifies");
    for bomb in ["zip_bomb", "declared_deflate_bomb", "deflate_past_declared_size"] {
        let (secs, kib, code) = measured_verify(&sb, &fixture(&format!("jobpacks/{bomb}/pack.zip")));
        assert_eq!(code, 2, "{bomb}");
        assert!(secs < 0.5, "{bomb}: {secs} s");
        assert!(kib < honest_kib + 8 * 1024, "{bomb}: {kib} KiB against {honest_kib} KiB for an honest pack");
    }
}

/// Go's `budget check JOB --max-...` (in the CLI map, missing here before): exit 0 with
/// `{"result": "within_budget"}`, or exit 1 `E_BUDGET_EXCEEDED` naming the violations; the job is
/// left as it was.
#[test]
fn budget_check_answers_as_go_does_and_changes_nothing() {
    let sb = Sandbox::new();
    journey::create(&sb, &sb.work().join("ws"));
    let within = json_out(
        &sb.wrkr().args(["--json", "budget", "check", journey::JOB, "--max-step-count", "5"]).output().unwrap(),
    );
    assert_eq!(within["result"], "within_budget");
    let text = sb.wrkr().args(["budget", "check", journey::JOB]).output().unwrap();
    assert_eq!(String::from_utf8(text.stdout).unwrap(), "budget=within_limits\n");
    let before = support::tree(sb.home());
    let out = sb
        .wrkr()
        .args(["--json", "budget", "check", journey::JOB, "--max-step-count", "1", "--max-tool-calls", "1"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let env = support::envelope(&out.stderr);
    assert_eq!(env["code"], "E_BUDGET_EXCEEDED");
    assert_eq!(env["details"]["violations"], serde_json::json!(["step_count>1", "tool_call_count>1"]));
    assert_eq!(support::tree(sb.home()), before, "a check changes nothing");
}
