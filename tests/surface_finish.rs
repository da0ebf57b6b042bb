//! The last rough edges of the human surface (issue 12), each through the real binary: wrap's
//! stdout belongs to the wrapped command, a forgotten `--`, the failed-step hint, the reason code
//! of "file already exists", `accept init`, no `null` in text, honest `logs` wording, one help
//! style, `job_id=` everywhere and readable `jobs`, "did you mean" for every verb, `-` for
//! stdin, approvals over HTTP that name a person, and stores with pre-0700 modes.
//!
//! Every test says what was wrong before; each failed against the binary before its fix.

mod support;

use std::fs;
use std::os::unix::fs::PermissionsExt;

use serde_json::Value;
use support::Sandbox;
use support::http::Server;

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A JobSpec whose one step fails with exit 3 after printing a line.
fn failing_spec(sb: &Sandbox) {
    fs::write(
        sb.work().join("spec.yaml"),
        "schema_id: wrkr.jobspec\nschema_version: v1\nproducer_version: test\nname: t\nobjective: test job\n\
         adapter: {name: reference}\ninputs:\n  workspace: .\n  steps:\n    - {id: test, summary: run tests, command: \
         \"echo boom; exit 3\"}\n\
         budgets: {max_wall_time_seconds: 600, max_retries: 0, max_step_count: 50, max_tool_calls: 50}\n\
         checkpoint_policy: {min_interval_seconds: 1}\nenvironment_fingerprint: {rules: [os]}\n",
    )
    .unwrap();
}

/// `wrkr wrap --job-id ID -- sh -c SCRIPT`, asserted to succeed; returns (stdout, stderr).
fn wrap_ok(sb: &Sandbox, id: &str, script: &str) -> (String, String) {
    let out = sb.wrkr().args(["wrap", "--job-id", id, "--", "sh", "-c", script]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    (text(&out.stdout), text(&out.stderr))
}

// ---- 1. wrap: stdout is the command's ------------------------------------------------------

/// Before: wrkr's summary lines followed the command's output on stdout, so `wrkr wrap -- gh pr
/// list --json title | jq` fed jq the summary too.
#[test]
fn wrap_stdout_is_the_commands_output_alone() {
    let sb = Sandbox::new();
    let (stdout, stderr) = wrap_ok(&sb, "w", r#"echo '{"title":"fix"}'"#);
    assert_eq!(stdout, "{\"title\":\"fix\"}\n");
    let summary: Vec<&str> = stderr.lines().collect();
    assert_eq!(summary[0], "job_id=w");
    assert_eq!(summary[1], "status=completed exit_code=0 outcome=succeeded");
    assert!(summary[2].starts_with("jobpack=") && summary[3].starts_with("footer=WRKR job_id=w "), "{stderr}");
}

/// With --json, stdout is wrkr's one JSON document (Go's contract, the SDK reads it) and the
/// command's stdout moves to stderr: the two are never mixed.
#[test]
fn wrap_json_keeps_the_result_and_the_commands_output_apart() {
    let sb = Sandbox::new();
    let out = sb.wrkr().args(["--json", "wrap", "--job-id", "wj", "--", "echo", "from-the-command"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let result: Value = serde_json::from_slice(&out.stdout).expect("stdout is one JSON document");
    assert_eq!(result["job_id"], "wj");
    assert!(!text(&out.stdout).contains("from-the-command"));
    assert!(text(&out.stderr).contains("from-the-command"));
}

// ---- 2. a forgotten -- ------------------------------------------------------------------------

/// Before: `--json` meant for gh was taken as wrkr's, and the error came out as a JSON envelope
/// that did not say what was wrong.
#[test]
fn forgotten_dashdash_is_a_text_error_that_shows_where_it_goes() {
    let sb = Sandbox::new();
    let out = sb.wrkr().args(["wrap", "gh", "pr", "list", "--json", "title"]).output().unwrap();
    assert_eq!(out.status.code(), Some(6));
    assert!(out.stdout.is_empty());
    let stderr = text(&out.stderr);
    assert!(stderr.starts_with("E_INVALID_INPUT_SCHEMA: wrkr wrap needs -- before the command"), "{stderr}");
    assert!(stderr.contains("hint: put -- before it: wrkr wrap [OPTIONS] -- gh pr list --json title"), "{stderr}");
    assert!(!sb.home().join("jobs").exists(), "no job was created");
    // wrkr's own --json before the command still asks for an envelope.
    let out = sb.wrkr().args(["--json", "wrap", "--job-id", "x", "gh", "--json", "title"]).output().unwrap();
    assert_eq!(out.status.code(), Some(6));
    assert_eq!(support::envelope(&out.stderr)["details"]["command"], "gh --json title");
}

// ---- 3. the failed-step hint ------------------------------------------------------------------

/// Before: `hint: ...; its output: wrkr logs J STEP --failed`, one run-on line.
#[test]
fn failed_step_hint_and_logs_command_are_separate_lines() {
    let sb = Sandbox::new();
    failing_spec(&sb);
    let out = sb.wrkr().args(["submit", "spec.yaml", "--job-id", "j"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    let hint = lines.iter().find(|l| l.starts_with("hint: ")).expect("a hint line");
    assert!(!hint.contains("wrkr logs"), "{stderr}");
    assert_eq!(lines.last(), Some(&"logs: wrkr logs j test --failed"), "{stderr}");
}

// ---- 4. file already exists -------------------------------------------------------------------

/// Go's codes stay (E_INVALID_INPUT_SCHEMA, exit 6: v1 keeps Go's exit and reason codes); the
/// message names the file, `details.path` carries it, and the file is left alone.
#[test]
fn an_existing_file_is_named_and_left_alone() {
    let sb = Sandbox::new();
    for argv in [&["init"][..], &["accept", "init"], &["keygen"]] {
        sb.wrkr().args(argv).assert().success();
        let before = support::tree(sb.work());
        let out = sb.wrkr().args(argv).output().unwrap();
        assert_eq!(out.status.code(), Some(6), "{argv:?}");
        assert!(text(&out.stderr).starts_with("E_INVALID_INPUT_SCHEMA: "), "{argv:?}: {}", text(&out.stderr));
        assert!(text(&out.stderr).contains(" already exists"), "{argv:?}");
        assert_eq!(support::tree(sb.work()), before, "{argv:?} changed a file");
        let json = sb.wrkr().arg("--json").args(argv).output().unwrap();
        let envelope = support::envelope(&json.stderr);
        assert_eq!(
            (envelope["code"].as_str(), envelope["exit_code"].as_u64()),
            (Some("E_INVALID_INPUT_SCHEMA"), Some(6))
        );
        assert!(envelope["details"]["path"].is_string(), "{envelope}");
    }
}

// ---- 5. accept init ---------------------------------------------------------------------------

/// Before: the template required `reports/result.md` (the sample job's file), so acceptance of
/// any other job failed out of the box; and the command printed a bare path, not Go's `config=`.
#[test]
fn accept_init_prints_config_and_its_template_fits_any_job() {
    let sb = Sandbox::new();
    sb.wrkr().args(["accept", "init"]).assert().success().stdout("config=accept.yaml\n");
    wrap_ok(&sb, "any", "echo hello");
    let out = sb.wrkr().args(["accept", "run", "any"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}{}", text(&out.stdout), text(&out.stderr));
    let json = sb.wrkr().args(["--json", "accept", "init", "--force", "--path", "b.yaml"]).output().unwrap();
    let printed: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(printed["config_path"], "b.yaml");
}

// ---- 6. no null in text -----------------------------------------------------------------------

/// Before: `budget show` printed `limit=null remaining=null`. Every text output of a finished job,
/// a blocked one and a failed one is checked.
#[test]
fn no_text_output_says_null() {
    let sb = Sandbox::new();
    sb.wrkr().args(["init"]).assert().success();
    wrap_ok(&sb, "done", "echo hi");
    sb.wrkr().args(["submit", "jobspec.yaml", "--job-id", "dec"]).assert().success();
    failing_spec(&sb);
    sb.wrkr().args(["submit", "spec.yaml", "--job-id", "bad"]).assert().code(1);
    let budget = text(&sb.wrkr().args(["budget", "show", "done"]).output().unwrap().stdout);
    assert!(budget.contains("tokens: used=0 limit=unlimited remaining=unlimited"), "{budget}");
    for job in ["done", "dec", "bad"] {
        for argv in [
            vec!["status", job],
            vec!["budget", "show", job],
            vec!["checkpoint", "list", job],
            vec!["checkpoint", "show", job, "cp_1"],
            vec!["logs", job],
            vec!["export", job],
            vec!["receipt", job],
            vec!["verify", job],
            vec!["job", "inspect", job],
            vec!["bridge", "work-item", job],
            vec!["jobs"],
        ] {
            let out = sb.wrkr().args(&argv).output().unwrap();
            let all = text(&out.stdout) + &text(&out.stderr);
            assert!(!all.contains("null"), "{argv:?} printed null:\n{all}");
        }
    }
}

// ---- 7. logs wording --------------------------------------------------------------------------

/// Before: "the selected steps of job J printed nothing" when no step had been selected.
#[test]
fn logs_of_a_silent_job_say_which_steps_were_looked_at() {
    let sb = Sandbox::new();
    wrap_ok(&sb, "quiet", "true");
    sb.wrkr().args(["logs", "quiet"]).assert().success().stdout("").stderr("no step of job quiet printed anything\n");
    sb.wrkr().args(["logs", "quiet", "wrap"]).assert().success().stderr("step wrap of job quiet printed nothing\n");
}

// ---- 8. one text style across help ------------------------------------------------------------

/// Before: `wrap --help` had "...adapter_result.exit_code); Everything after --": a sentence that
/// went on after a semicolon with a capital.
#[test]
fn no_help_text_goes_on_with_a_capital_after_a_semicolon() {
    let sb = Sandbox::new();
    let overview = text(&sb.wrkr().arg("help").output().unwrap().stdout);
    let names: Vec<&str> = overview
        .lines()
        .filter(|l| l.starts_with("    ") && l.chars().nth(4).is_some_and(|c| c.is_ascii_lowercase()))
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert!(names.len() > 20 && names.contains(&"wrap"), "{names:?}");
    for name in names {
        let help = text(&sb.wrkr().args([name, "--help"]).output().unwrap().stdout)
            .split_whitespace()
            .collect::<Vec<_>>()
            .join(" ");
        let bad: Vec<&str> = help
            .match_indices("; ")
            .map(|(at, _)| &help[at..(at + 4).min(help.len())])
            .filter(|s| {
                let c: Vec<char> = s.chars().skip(2).collect();
                c.len() == 2 && c[0].is_ascii_uppercase() && c[1].is_ascii_lowercase()
            })
            .collect();
        assert!(bad.is_empty(), "wrkr {name} --help: {bad:?}");
    }
}

// ---- 9. job_id= everywhere; readable jobs -----------------------------------------------------

/// Before: `status`, `pause`, `job inspect` and `accept run` said `job=`, the rest `job_id=`.
#[test]
fn every_text_output_names_the_job_as_job_id() {
    let sb = Sandbox::new();
    wrap_ok(&sb, "k", "echo hi");
    let first_line =
        |argv: &[&str]| text(&sb.wrkr().args(argv).output().unwrap().stdout).lines().next().unwrap_or("").to_owned();
    assert_eq!(first_line(&["status", "k"]), "job_id=k status=completed");
    assert!(first_line(&["job", "inspect", "k"]).starts_with("job_id=k status=completed "));
    sb.wrkr().args(["accept", "init"]).assert().success();
    assert!(first_line(&["accept", "run", "k"]).starts_with("job_id=k checks="));
    // `pause`: tests/runner_control.rs pause_lets_the_step_finish_and_resume_continues.
}

/// Before: `jobs` printed nanosecond timestamps (`2026-11-27T15:48:23.288416333Z`) and no header.
#[test]
fn jobs_prints_whole_second_timestamps_and_a_header_only_on_a_terminal() {
    let sb = Sandbox::new();
    wrap_ok(&sb, "one", "true");
    let piped = text(&sb.wrkr().arg("jobs").output().unwrap().stdout);
    let row: Vec<&str> = piped.lines().next().unwrap().split_whitespace().collect();
    assert_eq!((row[0], row[1], row[4]), ("one", "completed", "seq=12"), "{piped}");
    let (started, last) = (row[2], row[3]);
    assert!(started.len() == 20 && started.ends_with('Z') && !started.contains('.'), "{piped}");
    // The LAST EVENT column (issue 12 U9): when the job last did anything, same form.
    assert!(last.len() == 20 && last.ends_with('Z') && !last.contains('.') && last >= started, "{piped}");
    let json: serde_json::Value =
        serde_json::from_slice(&sb.wrkr().args(["--json", "jobs"]).output().unwrap().stdout).unwrap();
    assert_eq!(&json["updated_at"].as_str().unwrap()[..19], &last[..19], "{json}");
    assert_eq!(piped.lines().count(), 1, "no header in a pipe: {piped}");
    let screen = on_a_terminal(&sb, &["jobs"]);
    let lines: Vec<&str> = screen.lines().collect();
    assert!(lines[0].starts_with("JOB ") && lines[0].contains("STATUS") && lines[0].contains("STARTED"), "{screen:?}");
    assert!(lines[0].contains("  LAST EVENT (UTC)  "), "{screen:?}");
    assert!(lines[1].starts_with("one "), "{screen:?}");
}

fn on_a_terminal(sb: &Sandbox, args: &[&str]) -> String {
    support::on_a_terminal(sb, args, &[]).1.replace("\r\n", "\n")
}

// ---- 10. did you mean, for every verb ---------------------------------------------------------

/// Before: `wrkr-lease aquire` listed the operations without a suggestion, `wrkr-schema shwo`
/// tried to open a file called shwo, and `wrkr accept rnu J` said "takes one PACK".
#[test]
fn a_mistyped_verb_gets_the_closest_one_suggested() {
    let sb = Sandbox::new();
    for (argv, want) in [
        (vec!["wrkr-lease", "aquire", "j1"], "did you mean 'wrkr lease acquire'?"),
        (vec!["wrkr", "lease", "relase", "j1"], "did you mean 'wrkr lease release'?"),
        (vec!["wrkr-schema", "shwo", "checkpoint"], "did you mean 'wrkr schema show'?"),
        (vec!["wrkr", "accept", "rnu", "j1"], "did you mean 'wrkr accept run'?"),
        (vec!["wrkr", "accept", "ini"], "did you mean 'wrkr accept init'?"),
        (vec!["wrkr", "store", "migrat"], "did you mean 'wrkr store migrate'?"),
    ] {
        let out = sb.program(argv[0]).args(&argv[1..]).output().unwrap();
        assert_eq!(out.status.code(), Some(6), "{argv:?}");
        let stderr = text(&out.stderr);
        assert!(stderr.contains(want), "{argv:?}: {stderr}");
    }
}

// ---- 11. `-` for stdin ------------------------------------------------------------------------

/// Before: `--config -`, `--pubkey -` and `--sig -` were refused; `--junit -` was refused without
/// saying why.
#[test]
fn dash_reads_stdin_for_config_pubkey_and_sig_and_junit_says_why_not() {
    let sb = Sandbox::new();
    wrap_ok(&sb, "s", "echo signed");
    sb.wrkr().args(["keygen", "--out", "keys"]).assert().success();
    sb.wrkr().args(["export", "s", "--sign", "keys/wrkr_ed25519.key"]).assert().success();
    let public = fs::read(sb.work().join("keys/wrkr_ed25519.pub")).unwrap();
    let sig = fs::read(sb.work().join("wrkr-out/jobpacks/jobpack_s.zip.sig")).unwrap();
    sb.wrkr().args(["verify", "s", "--pubkey", "-"]).write_stdin(public.clone()).assert().success();
    sb.wrkr().args(["verify", "s", "--pubkey", "-"]).write_stdin("{}").assert().code(6);
    sb.wrkr()
        .args(["verify", "wrkr-out/jobpacks/jobpack_s.zip", "--sig", "-", "--pubkey", "keys/wrkr_ed25519.pub"])
        .write_stdin(sig)
        .assert()
        .success();
    let config = "schema_id: wrkr.accept_config\nschema_version: v1\ntest_command: \"false\"\n";
    let out = sb.wrkr().args(["accept", "run", "s", "--config", "-"]).write_stdin(config).output().unwrap();
    assert_eq!(out.status.code(), Some(5), "the config from stdin was used: {}", text(&out.stdout));
    let refused = sb.wrkr().args(["accept", "run", "s", "--junit", "-"]).output().unwrap();
    assert_eq!(refused.status.code(), Some(6));
    assert!(
        text(&refused.stderr).contains("stdout already carries the acceptance result"),
        "{}",
        text(&refused.stderr)
    );
    // Two readers of stdin: refused before anything is read.
    let both = sb.wrkr().args(["verify", "-", "--pubkey", "-"]).write_stdin(public).output().unwrap();
    assert_eq!(both.status.code(), Some(6));
    assert!(text(&both.stderr).contains("only one input can be read from stdin"), "{}", text(&both.stderr));
}

// ---- 12. approvals over HTTP name a person ----------------------------------------------------

/// Before: an approval without `approved_by` was recorded as approved by `serve`.
#[test]
fn serve_refuses_an_approval_that_names_nobody() {
    let sb = Sandbox::new();
    sb.wrkr().args(["init"]).assert().success();
    sb.wrkr().args(["submit", "jobspec.yaml", "--job-id", "h"]).assert().success();
    let cps = text(&sb.wrkr().args(["--json", "checkpoint", "list", "h"]).output().unwrap().stdout);
    let cps: Value = serde_json::from_str(&cps).unwrap();
    let cp = cps.as_array().unwrap().iter().rev().find(|c| c["type"] == "decision-needed").unwrap();
    let cp_id = cp["checkpoint_id"].as_str().unwrap();
    let server = Server::start(&sb, &[], &[]);
    for body in [
        format!(r#"{{"checkpoint_id": "{cp_id}", "reason": "looks good"}}"#),
        format!(r#"{{"checkpoint_id": "{cp_id}", "reason": "looks good", "approved_by": "  "}}"#),
    ] {
        let resp = server.post("/v1/jobs/h:approve", &body);
        assert_eq!(resp.status, 400, "{}", text(&resp.body));
        let envelope = resp.json();
        assert_eq!(envelope["code"], "E_INVALID_INPUT_SCHEMA");
        assert_eq!(envelope["details"]["field"], "approved_by");
    }
    let forced = server.post("/v1/jobs/h:resume", r#"{"force_env": true, "reason": "moved hosts"}"#);
    assert_eq!(forced.status, 400);
    assert_eq!(forced.json()["details"]["field"], "approved_by");
    assert_eq!(server.get("/v1/jobs/h:status").json()["status"], "blocked_decision", "nothing was approved");
    let ok = server.post(
        "/v1/jobs/h:approve",
        &format!(r#"{{"checkpoint_id": "{cp_id}", "reason": "looks good", "approved_by": "ana"}}"#),
    );
    assert_eq!(ok.status, 200);
    assert_eq!(ok.json()["approved_by"], "ana");
}

// ---- 13. stores made before 0700/0600 ---------------------------------------------------------

/// Before: a job directory left 0755 by an older wrkr stayed so; fsck and doctor said nothing.
#[test]
fn fsck_finds_and_repairs_modes_other_users_can_read_and_doctor_reports_them() {
    let sb = Sandbox::new();
    wrap_ok(&sb, "old", "echo secret");
    let job = sb.home().join("jobs/old");
    sb.wrkr().args(["fsck"]).assert().success();
    fs::set_permissions(&job, fs::Permissions::from_mode(0o755)).unwrap();
    fs::set_permissions(job.join("events.jsonl"), fs::Permissions::from_mode(0o644)).unwrap();
    let doctor = sb.wrkr().args(["--json", "doctor", "--production-readiness"]).output().unwrap();
    let report: Value = serde_json::from_slice(&doctor.stdout).unwrap();
    let check = report["checks"].as_array().unwrap().iter().find(|c| c["name"] == "store_permissions").unwrap();
    assert_eq!(check["ok"], false, "{check}");
    assert!(check["remediation"].as_str().unwrap().contains("wrkr fsck --repair"), "{check}");

    let out = sb.wrkr().args(["--json", "fsck"]).output().unwrap();
    assert_eq!(out.status.code(), Some(3));
    let finding: Value = serde_json::from_str(text(&out.stdout).lines().next().unwrap()).unwrap();
    assert_eq!((finding["check"].as_str(), finding["repairable"].as_bool()), (Some("permissions"), Some(true)));
    assert_eq!(finding["details"]["paths"], 2);

    sb.wrkr().args(["fsck", "--repair"]).assert().success();
    let mode = |p: &std::path::Path| fs::metadata(p).unwrap().permissions().mode() & 0o777;
    assert_eq!((mode(&job), mode(&job.join("events.jsonl"))), (0o700, 0o600));
    sb.wrkr().args(["fsck"]).assert().success();
    sb.wrkr().args(["verify", "old"]).assert().success();
}

// ---- a wrapped job's decision: nothing to resume --------------------------------------------

/// Before: after approving a wrapped command's decision, `approve` and `status` said `next: wrkr
/// resume J`, which refuses a wrapped job (exit 6, "not submitted from a JobSpec"). The command
/// ran once; what is left is the approval and the export, and that is what both now say.
#[test]
fn a_wrapped_jobs_decision_points_at_export_not_resume() {
    let sb = Sandbox::new();
    let decision = r#"printf '%s\n' '{"type":"checkpoint","checkpoint_type":"decision-needed","summary":"publish?","required_action":{"kind":"approval"}}' >&3"#;
    sb.wrkr().args(["wrap", "--job-id", "w", "--", "sh", "-c", decision]).output().unwrap();
    let status = sb.wrkr().args(["status", "w"]).output().unwrap();
    let before: Vec<String> =
        text(&status.stdout).lines().filter(|l| l.starts_with("next: ")).map(str::to_owned).collect();
    assert!(before.iter().any(|l| l.starts_with("next: wrkr approve w --checkpoint ")), "{before:?}");
    assert!(!before.iter().any(|l| l.contains("resume")), "{before:?}");
    let approved = sb.wrkr().args(["approve", "w", "--reason", "ok", "--approved-by", "ana"]).output().unwrap();
    assert_eq!(approved.status.code(), Some(0), "{}", text(&approved.stderr));
    let printed = text(&approved.stdout);
    let next: Vec<&str> = printed.lines().filter(|l| l.starts_with("next: ")).collect();
    assert_eq!(next, ["next: wrkr export w"], "{printed}");
    let status = text(&sb.wrkr().args(["status", "w"]).output().unwrap().stdout);
    assert!(status.contains("next: wrkr export w") && !status.contains("resume"), "{status}");
    // What it says works.
    sb.wrkr().args(["export", "w"]).assert().success();
}

/// Found by a newcomer: the footer's `wrkr verify JOB`, run from another directory, failed with
/// "no such file" and no hint; the pack of a job id is looked up relative to where it is run.
#[test]
fn verify_of_a_job_id_elsewhere_says_where_it_looked() {
    let sb = Sandbox::new();
    let out = sb.wrkr().args(["verify", "nosuchjob"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.contains("no such file"), "{stderr}");
    let hint = stderr.lines().find(|l| l.starts_with("hint: ")).unwrap_or_default();
    assert!(hint.contains("read as a job id") && hint.contains("wrkr-out/jobpacks/jobpack_nosuchjob.zip"), "{stderr}");
    assert!(hint.contains("--out-dir"), "{stderr}");
    // A path the user typed is not a job id and gets no such hint.
    let out = sb.wrkr().args(["verify", "missing.zip"]).output().unwrap();
    assert!(!text(&out.stderr).contains("read as a job id"), "{}", text(&out.stderr));
}
