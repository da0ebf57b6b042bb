//! Four rough edges a newcomer hit on main's binary (issue 12), each through the real binary:
//! `budget show` calls a retry limit of 0 what the runner does with it (no retries); `submit` and
//! `resume` that stop at a decision say which checkpoint waits and what to run next, as `status`
//! does; the README's acceptance line can be run twice; and a decision on the last step (which
//! gates nothing) is warned about by `validate` and `submit --explain`.
//!
//! Each test failed against the binary before its fix (WRKR_TEST_BIN=/work/main/target/debug/wrkr).

mod support;

use support::{Sandbox, jobspec, step};

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A decision step that runs nothing (a gate).
fn gate(id: &str) -> String {
    format!(
        "    - {{id: {id}, summary: gate {id}, executed: false, decision_needed: true, required_action: approve}}\n"
    )
}

/// Before: `retry_count: used=0 limit=unlimited remaining=unlimited`, while the runner never retries
/// a step of a spec with `max_retries: 0`.
#[test]
fn budget_show_says_a_retry_limit_of_zero_means_no_retries() {
    let sb = Sandbox::new();
    std::fs::write(sb.work().join("spec.yaml"), jobspec(&step("a", "true"), "", "")).unwrap();
    sb.wrkr().args(["submit", "spec.yaml", "--job-id", "j"]).assert().success();
    let out = sb.wrkr().args(["budget", "show", "j"]).output().unwrap();
    assert!(out.status.success());
    let shown = text(&out.stdout);
    assert!(shown.contains("retry_count: used=0 limit=0 (no retries) remaining=0\n"), "{shown}");
    // The other limits of 0/absent stay `unlimited` (tokens has no limit in this spec).
    assert!(shown.contains("tokens: used=0 limit=unlimited remaining=unlimited\n"), "{shown}");
    let json = support::stdout_json(&sb.wrkr().args(["--json", "budget", "show", "j"]).output().unwrap());
    assert_eq!(json["limits"]["retry_count"], 0);
    assert_eq!(json["remaining"]["retry_count"], 0);
}

/// Before: `submit` printed no `next:` line at a decision, and `resume` printed only
/// `job_id=X status=blocked_decision` (no checkpoint, no next).
#[test]
fn submit_and_resume_stopping_at_a_decision_say_what_is_next() {
    let sb = Sandbox::new();
    let steps = format!("{}{}{}{}{}", step("a", "true"), gate("g1"), step("b", "true"), gate("g2"), step("c", "true"));
    std::fs::write(sb.work().join("spec.yaml"), jobspec(&steps, "", "")).unwrap();

    let out = sb.wrkr().args(["submit", "spec.yaml", "--job-id", "j"]).output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let first = stdout.lines().next().unwrap_or_default().to_owned();
    assert!(first.starts_with("job_id=j status=blocked_decision adapter=reference checkpoint=cp_"), "{stdout}");
    let cp = first.rsplit("checkpoint=").next().unwrap().to_owned();
    let next = format!("next: wrkr approve j --checkpoint {cp} --reason TEXT\nnext: wrkr resume j\n");
    assert_eq!(stdout, format!("{first}\n{next}"));
    // The same lines `status` prints.
    assert!(text(&sb.wrkr().args(["status", "j"]).output().unwrap().stdout).ends_with(&next));

    sb.wrkr().args(["approve", "j", "--checkpoint", &cp, "--reason", "ok"]).assert().success();
    let out = sb.wrkr().args(["resume", "j"]).output().unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    let first = stdout.lines().next().unwrap_or_default().to_owned();
    assert!(first.starts_with("job_id=j status=blocked_decision checkpoint=cp_"), "{stdout}");
    let cp2 = first.rsplit("checkpoint=").next().unwrap().to_owned();
    assert_ne!(cp2, cp);
    let next = format!("next: wrkr approve j --checkpoint {cp2} --reason TEXT\nnext: wrkr resume j\n");
    assert_eq!(stdout, format!("{first}\n{next}"));

    // A resume that completes keeps its one line.
    sb.wrkr().args(["approve", "j", "--reason", "ok"]).assert().success();
    sb.wrkr().args(["resume", "j"]).assert().success().stdout("job_id=j status=completed\n");
}

/// Before: README's `bin/wrkr accept init && bin/wrkr accept run demo` failed the second time
/// (accept.yaml exists: exit 6, and the checks never ran).
#[test]
fn the_readme_acceptance_lines_run_twice() {
    let sb = Sandbox::new();
    let readme = std::fs::read_to_string(support::repo().join("README.md")).unwrap();
    let lines: Vec<&str> =
        readme.lines().filter(|l| l.contains("bin/wrkr accept")).map(|l| l.split("  #").next().unwrap()).collect();
    assert!(!lines.is_empty(), "README has no `bin/wrkr accept` lines");
    let script = lines.join("\n");
    std::fs::create_dir(sb.work().join("bin")).unwrap();
    std::os::unix::fs::symlink(support::bin(), sb.work().join("bin/wrkr")).unwrap();
    sb.wrkr().args(["wrap", "--job-id", "demo", "--", "true"]).assert().success();
    let run = || {
        std::process::Command::new("sh")
            .args(["-c", &script])
            .env("WRKR_HOME", sb.home())
            .env("HOME", sb.home())
            .current_dir(sb.work())
            .output()
            .unwrap()
    };
    let first = run();
    assert!(first.status.success(), "{script}\n{}", text(&first.stderr));
    let second = run();
    assert!(second.status.success(), "second run of\n{script}\nfailed: {}", text(&second.stderr));
}

/// Before: a spec whose last step asks for a decision (after running its command) validated as
/// plainly `ok`, though its approval gates nothing.
#[test]
fn a_decision_on_the_last_step_is_warned_about() {
    let sb = Sandbox::new();
    let last = "    - {id: report, summary: report, command: \"true\", decision_needed: true}\n";
    let steps = format!("{}{last}", step("a", "true"));
    std::fs::write(sb.work().join("last.yaml"), jobspec(&steps, "", "")).unwrap();
    let warning = "warning: step report is the last step: its decision gates nothing (its command runs before \
                   the approval); put the decision on the step before, or add a gate step with executed: false\n";

    sb.wrkr()
        .args(["validate", "last.yaml"])
        .assert()
        .success()
        .stdout("last.yaml: ok\n")
        .stderr(format!("last.yaml: {warning}"));
    let out = sb.wrkr().args(["submit", "--explain", "last.yaml", "--job-id", "j"]).output().unwrap();
    assert!(out.status.success());
    assert_eq!(text(&out.stderr), warning);
    assert!(text(&out.stdout).contains("(explain: nothing was created)"));

    // A gate that runs nothing, or a decision with steps after it, is what was meant: no warning.
    for steps in [format!("{}{}", step("a", "true"), gate("g")), format!("{last}{}", step("b", "true"))] {
        std::fs::write(sb.work().join("fine.yaml"), jobspec(&steps, "", "")).unwrap();
        sb.wrkr().args(["validate", "fine.yaml"]).assert().success().stderr("");
    }
    // The init template says so too, and does not trip the warning itself.
    sb.wrkr().args(["init"]).assert().success();
    let template = std::fs::read_to_string(sb.work().join("jobspec.yaml")).unwrap();
    assert!(template.contains("a decision on the LAST step gates nothing"), "{template}");
    sb.wrkr().args(["validate", "jobspec.yaml"]).assert().success().stderr("");
}
