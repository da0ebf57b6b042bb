//! What a person at a terminal sees, through the real binary: `wrkr logs`, `status` saying what
//! is next, approving the one pending decision, `checkpoint show`, live progress on a terminal
//! (a real pseudo-terminal) and its absence in a pipe, and the bash completions.

mod support;

use std::fs;
use std::time::{Duration, Instant};

use serde_json::Value;
use support::{Sandbox, step};

/// A JobSpec with `steps` (YAML list items, indented under `steps:`).
fn spec(steps: &str) -> String {
    support::jobspec(steps, "", "os")
}

/// `wrkr` with the binary's directory on PATH, so steps can call it.
fn wrkr(sb: &Sandbox) -> assert_cmd::Command {
    let mut cmd = sb.wrkr();
    let dir = support::bin().parent().unwrap().to_path_buf();
    cmd.env("PATH", format!("{}:{}", dir.display(), std::env::var("PATH").unwrap_or_default()));
    cmd
}

fn write_spec(sb: &Sandbox, steps: &str) {
    fs::write(sb.work().join("spec.yaml"), spec(steps)).unwrap();
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A two-step job whose second step prints five lines and a line on stderr, then fails.
fn failing_job(sb: &Sandbox) -> std::process::Output {
    let steps = step("build", "echo building; echo warn >&2")
        + &step("test", "for i in 1 2 3 4 5; do echo line $i; done; echo boom >&2; exit 3");
    write_spec(sb, &steps);
    wrkr(sb).args(["submit", "spec.yaml", "--job-id", "j"]).output().unwrap()
}

// ---- wrkr logs (U2) -------------------------------------------------------------------------

/// Before: a failing step's output was only in files under the store that no message named.
#[test]
fn failed_step_error_ends_with_the_logs_command() {
    let sb = Sandbox::new();
    let out = failing_job(&sb);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(stderr.starts_with("E_ADAPTER_FAIL: step test failed (exit=3)"), "{stderr}");
    assert!(stderr.trim_end().ends_with("\nlogs: wrkr logs j test --failed"), "{stderr}");
}

#[test]
fn logs_prints_every_attempt_and_stream_in_order() {
    let sb = Sandbox::new();
    failing_job(&sb);
    let out = wrkr(&sb).args(["logs", "j"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "==> build attempt 1 stdout (succeeded) <==\nbuilding\n==> build attempt 1 stderr (succeeded) <==\nwarn\n\
         ==> test attempt 1 stdout (failed, exit 3) <==\nline 1\nline 2\nline 3\nline 4\nline 5\n\
         ==> test attempt 1 stderr (failed, exit 3) <==\nboom\n"
    );
}

#[test]
fn logs_failed_with_tail_shows_the_end_of_the_failing_step() {
    let sb = Sandbox::new();
    failing_job(&sb);
    // The command the failure message printed works as printed.
    let out = wrkr(&sb).args(["logs", "j", "test", "--failed", "--tail", "2"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout),
        "==> test attempt 1 stdout (failed, exit 3) <==\nline 4\nline 5\n\
         ==> test attempt 1 stderr (failed, exit 3) <==\nboom\n"
    );
    let json = wrkr(&sb).args(["logs", "j", "--failed", "--json"]).output().unwrap();
    let records: Vec<Value> = text(&json.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(records.len(), 2);
    assert_eq!(records[1]["stream"], "stderr");
    assert_eq!(records[1]["text"], "boom\n");
    assert_eq!(records[1]["exit_code"], 3);
}

#[test]
fn logs_refuses_unknown_jobs_steps_and_bad_tail() {
    let sb = Sandbox::new();
    failing_job(&sb);
    let before = support::tree(sb.home());
    for (args, says) in [
        (vec!["logs", "nope"], "job not found"),
        (vec!["logs", "j", "tset"], "job j has no attempt of step \"tset\""),
        (vec!["logs", "j", "--tail", "x"], "--tail: expected a non-negative integer"),
    ] {
        let out = wrkr(&sb).args(&args).output().unwrap();
        assert_eq!(out.status.code(), Some(6), "{args:?}");
        let stderr = text(&out.stderr);
        assert!(stderr.starts_with("E_INVALID_INPUT_SCHEMA: ") && stderr.contains(says), "{args:?}: {stderr}");
    }
    let out = wrkr(&sb).args(["logs", "j", "--follow", "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(6));
    assert_eq!(support::envelope(&out.stderr)["code"], "E_INVALID_INPUT_SCHEMA");
    assert_eq!(support::tree(sb.home()), before, "a refused logs command changes nothing");
}

#[test]
fn logs_follow_prints_output_as_it_comes_and_stops_with_the_job() {
    let sb = Sandbox::new();
    let steps = step("slow", "echo first; sleep 1; echo second") + &step("after", "echo third");
    write_spec(&sb, &steps);
    wrkr(&sb).args(["submit", "spec.yaml", "--job-id", "f", "--detach"]).assert().success();
    let started = Instant::now();
    let out = wrkr(&sb).args(["logs", "f", "--follow"]).timeout(Duration::from_secs(30)).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(started.elapsed() < Duration::from_secs(25));
    assert_eq!(
        text(&out.stdout),
        "==> slow attempt 1 stdout <==\nfirst\nsecond\n==> after attempt 1 stdout <==\nthird\n"
    );
}

// ---- status says what is next; approve the one pending decision (U4) ----------------------------

/// A three-step job: `plan` reports a progress note, `review` needs a decision and names an
/// artifact, `apply` runs after the approval.
fn decision_job(sb: &Sandbox) -> String {
    let steps = step("plan", "echo '{\"type\":\"progress\",\"note\":\"planned 3 things\"}' >&3")
        + "    - {id: review, summary: review the plan, command: \"echo plan > plan.md\", decision_needed: true, artifacts: [plan.md]}\n"
        + &step("apply", "echo applied");
    write_spec(sb, &steps);
    let out = wrkr(sb).args(["submit", "spec.yaml", "--job-id", "d", "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let result: Value = serde_json::from_slice(&out.stdout).unwrap();
    result["checkpoint_id"].as_str().unwrap().to_owned()
}

/// Before: `status` printed only `job=d status=blocked_decision`; what to run next was nowhere.
#[test]
fn status_names_the_step_the_note_and_the_exact_approve_command() {
    let sb = Sandbox::new();
    let cp = decision_job(&sb);
    let out = wrkr(&sb).args(["status", "d"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    let lines: Vec<String> = text(&out.stdout).lines().map(str::to_owned).collect();
    assert_eq!(lines[0], "job_id=d status=blocked_decision");
    assert_eq!(lines[1], "step: 2/3 review, attempt 1, succeeded");
    assert!(lines[2].starts_with("elapsed: ") && lines[2].ends_with(" running"), "{lines:?}");
    assert!(lines[3].starts_with("note: planned 3 things ("), "{lines:?}");
    assert_eq!(lines[4], format!("waiting for: {cp} decision-needed: review the plan"));
    assert_eq!(lines[5], format!("next: wrkr approve d --checkpoint {cp} --reason TEXT"));
    assert_eq!(lines[6], "next: wrkr resume d");
    assert_eq!(lines.len(), 7);

    let json = wrkr(&sb).args(["status", "d", "--json"]).output().unwrap();
    fs::write(sb.work().join("status.json"), &json.stdout).unwrap();
    let status: Value = serde_json::from_slice(&json.stdout).unwrap();
    assert_eq!(status["current_step"]["step_id"], "review");
    assert_eq!(status["current_step"]["step_total"], 3);
    assert_eq!(status["latest_note"]["note"], "planned 3 things");
    assert_eq!(status["pending_checkpoints"][0]["checkpoint_id"], cp.as_str());
    assert_eq!(
        status["next_commands"],
        serde_json::json!([format!("wrkr approve d --checkpoint {cp} --reason TEXT"), "wrkr resume d"])
    );
    // The additions are declared: the response still validates against its schema.
    wrkr(&sb).args(["schema", "--doc", "--schema", "status_response", "status.json"]).assert().success();
}

#[test]
fn status_after_a_failed_step_names_the_logs_and_resume_commands() {
    let sb = Sandbox::new();
    failing_job(&sb);
    let out = wrkr(&sb).args(["status", "j"]).output().unwrap();
    let stdout = text(&out.stdout);
    assert!(stdout.contains("\nstep: 2/2 test, attempt 1, failed, exit 3\n"), "{stdout}");
    assert!(stdout.ends_with("next: wrkr logs j test --failed\nnext: wrkr resume j\n"), "{stdout}");
}

/// Before: `approve JOB --reason R` without --checkpoint was refused even with one decision waiting.
#[test]
fn approve_without_checkpoint_takes_the_one_pending_decision() {
    let sb = Sandbox::new();
    let cp = decision_job(&sb);
    // A second decision makes the choice ambiguous: refused, both listed, nothing recorded.
    let second = wrkr(&sb)
        .args(["checkpoint", "emit", "d", "--type", "decision-needed", "--summary", "second thoughts"])
        .args(["--required-kind", "approval", "--json"])
        .output()
        .unwrap();
    let second: Value = serde_json::from_slice(&second.stdout).unwrap();
    let second = second["checkpoint_id"].as_str().unwrap().to_owned();
    let before = support::tree(sb.home());
    let out = wrkr(&sb).args(["approve", "d", "--reason", "ok"]).output().unwrap();
    assert_eq!(out.status.code(), Some(6));
    let stderr = text(&out.stderr);
    assert!(
        stderr.starts_with(&format!(
            "E_INVALID_INPUT_SCHEMA: job d has 2 decisions waiting for approval: {cp} (review the plan), {second} (second thoughts)"
        )),
        "{stderr}"
    );
    assert!(stderr.contains(&format!("hint: name one: wrkr approve d --checkpoint {second} --reason TEXT")));
    assert_eq!(support::tree(sb.home()), before);

    wrkr(&sb).args(["approve", "d", "--checkpoint", &second, "--reason", "fine"]).assert().success();
    let out = wrkr(&sb).args(["approve", "d", "--reason", "ok"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert!(
        text(&out.stdout).starts_with(&format!("job_id=d approved checkpoint={cp} approved_by=")),
        "{}",
        text(&out.stdout)
    );

    let out = wrkr(&sb).args(["approve", "d", "--reason", "again", "--json"]).output().unwrap();
    assert_eq!(out.status.code(), Some(6));
    let envelope = support::envelope(&out.stderr);
    assert_eq!(envelope["code"], "E_INVALID_INPUT_SCHEMA");
    assert_eq!(envelope["message"], "job d has no decision waiting for approval");
}

/// Before: `checkpoint show` printed only the type, status and summary in text mode.
#[test]
fn checkpoint_show_prints_the_required_action_and_artifacts() {
    let sb = Sandbox::new();
    let cp = decision_job(&sb);
    let out = wrkr(&sb).args(["checkpoint", "show", "d", &cp]).output().unwrap();
    assert_eq!(
        text(&out.stdout),
        format!(
            "checkpoint={cp} type=decision-needed status=blocked_decision\nsummary=review the plan\n\
             required_action=approval\ninstructions=review and approve step review\nartifacts_added=plan.md\n"
        )
    );
}

/// Before: `resume --detach` was an unknown flag.
#[test]
fn resume_detach_runs_in_the_background_and_says_how_to_watch() {
    let sb = Sandbox::new();
    decision_job(&sb);
    // The gates run in the foreground: an unapproved decision is refused at once.
    let refused = wrkr(&sb).args(["resume", "d", "--detach"]).output().unwrap();
    assert_eq!(refused.status.code(), Some(4));
    wrkr(&sb).args(["approve", "d", "--reason", "ok"]).assert().success();
    let out = wrkr(&sb).args(["resume", "d", "--detach"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "job_id=d detached=true\n");
    assert_eq!(text(&out.stderr), "watch it: wrkr logs d --follow   (where it is: wrkr status d)\n");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let status = wrkr(&sb).args(["status", "d", "--json"]).output().unwrap();
        let status: Value = serde_json::from_slice(&status.stdout).unwrap();
        if status["status"] == "completed" {
            assert_eq!(status["next_commands"], serde_json::json!(["wrkr export d"]));
            break;
        }
        assert!(Instant::now() < deadline, "the background runner did not finish: {status}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

// ---- live progress on a terminal (U1) ---------------------------------------------------------

fn slow_steps() -> String {
    step("fetch", "echo '{\"type\":\"progress\",\"note\":\"fetched 12 files\"}' >&3; sleep 1")
        + &step("build", "sleep 0.6")
}

/// Before: nothing at all was shown while a job ran.
#[test]
fn submit_on_a_terminal_draws_one_updating_progress_line() {
    let sb = Sandbox::new();
    write_spec(&sb, &slow_steps());
    let (code, screen) = support::on_a_terminal(&sb, &["submit", "spec.yaml", "--job-id", "p"], &[]);
    assert_eq!(code, Some(0), "{screen:?}");
    // Redrawn in place (carriage return + erase line), never scrolled, and erased at the end.
    let spinner_then_step = ['|', '/', '-', '\\'].map(|c| format!("\r\x1b[2K{c} 1/2 \x1b[1mfetch\x1b[0m 0s"));
    assert!(spinner_then_step.iter().any(|s| screen.contains(s.as_str())), "{screen:?}");
    assert!(screen.contains(" · fetched 12 files · \x1b[2msteps 0/50 · tools 0/50 · wall "), "{screen:?}");
    assert!(screen.contains("2/2 \x1b[1mbuild\x1b[0m"), "{screen:?}");
    assert!(screen.ends_with("\r\x1b[2Kjob_id=p status=completed adapter=reference\r\n"), "{screen:?}");
    assert!(!screen.replace("\r\n", "").contains('\n'), "the progress line never adds a line: {screen:?}");

    // NO_COLOR: the same line without colour.
    let (_, plain) = support::on_a_terminal(&sb, &["submit", "spec.yaml", "--job-id", "p2"], &[("NO_COLOR", "1")]);
    assert!(plain.contains(" 1/2 fetch 0s · fetched 12 files · steps 0/50"), "{plain:?}");
    assert!(!plain.contains("\x1b[1m") && !plain.contains("\x1b[2m"), "{plain:?}");

    // -q: no progress line at all.
    let (_, quiet) = support::on_a_terminal(&sb, &["submit", "spec.yaml", "--job-id", "p3", "-q"], &[]);
    assert_eq!(quiet, "job_id=p3 status=completed adapter=reference\r\n");
}

#[test]
fn a_failing_step_on_a_terminal_shows_its_last_lines_of_output() {
    let sb = Sandbox::new();
    failing_job(&sb); // job j, in a pipe
    let (code, screen) =
        support::on_a_terminal(&sb, &["submit", "spec.yaml", "--job-id", "t", "-v"], &[("NO_COLOR", "1")]);
    assert_eq!(code, Some(1));
    assert!(screen.contains("+ 1/2 build succeeded in "), "{screen:?}");
    assert!(screen.contains("x 2/2 test failed, exit 3 in "), "{screen:?}");
    // After the line is erased for the last time: the failing step's output, then the error.
    let last = screen.rsplit("\r\x1b[2K").next().unwrap().replace("\r\n", "\n");
    assert!(
        last.starts_with(
            "--- last lines of test (stdout) ---\nline 1\nline 2\nline 3\nline 4\nline 5\n\
             --- last lines of test (stderr) ---\nboom\nE_ADAPTER_FAIL: step test failed (exit=3)\n"
        ),
        "{screen:?}"
    );
}

/// Not a terminal: exactly the bytes wrkr printed before progress existed (no thread even starts).
#[test]
fn in_a_pipe_submit_and_resume_print_nothing_extra() {
    let sb = Sandbox::new();
    write_spec(&sb, &slow_steps());
    let out = wrkr(&sb).args(["submit", "spec.yaml", "--job-id", "p"]).output().unwrap();
    assert_eq!(text(&out.stdout), "job_id=p status=completed adapter=reference\n");
    assert_eq!(text(&out.stderr), "");
    let failed = failing_job(&sb);
    assert_eq!(text(&failed.stdout), "");
    assert_eq!(
        text(&failed.stderr),
        format!(
            "E_ADAPTER_FAIL: step test failed (exit=3) (job_id=j)\n\
             hint: `wrkr resume j` runs step test again as recorded at submit (sh -c \"for i in 1 2 3 4 5; do echo line \
             $i; done; echo boom >&2; exit 3\"): fix what it depends on first. Edits to {spec} do not change this job: \
             to run them, submit it as a new job (wrkr submit {spec}).\n\
             logs: wrkr logs j test --failed\n",
            spec = fs::canonicalize(sb.work().join("spec.yaml")).unwrap().display()
        )
    );
    // -v asks for a line per finished step, terminal or not.
    write_spec(&sb, &slow_steps());
    let verbose = wrkr(&sb).args(["submit", "spec.yaml", "--job-id", "v", "-v"]).output().unwrap();
    let stderr = text(&verbose.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 2, "{stderr}");
    assert!(lines[0].starts_with("+ 1/2 fetch succeeded in 1.") && lines[1].starts_with("+ 2/2 build succeeded in 0."));
}

// ---- bash completions that know wrkr (U5) -----------------------------------------------------

/// Complete `words` (the last one is the word being completed) the way bash does on TAB: source
/// the checked-in script, set COMP_WORDS/COMP_CWORD, call the function, print COMPREPLY sorted.
fn complete(sb: &Sandbox, words: &[&str]) -> Vec<String> {
    let script = support::repo().join("completions/wrkr.bash");
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let program = format!(
        "source '{}'; COMP_WORDS=({}); COMP_CWORD={}; _wrkr; printf '%s\\n' \"${{COMPREPLY[@]}}\"",
        script.display(),
        quoted.join(" "),
        words.len() - 1
    );
    let mut cmd = wrkr(sb);
    let env: Vec<(std::ffi::OsString, std::ffi::OsString)> =
        cmd.get_envs().filter_map(|(k, v)| Some((k.to_owned(), v?.to_owned()))).collect();
    cmd.env_clear();
    let out = std::process::Command::new("bash")
        .args(["--norc", "--noprofile", "-c", &program])
        .envs(env)
        .current_dir(sb.work())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", text(&out.stderr));
    let mut reply: Vec<String> = text(&out.stdout).lines().filter(|l| !l.is_empty()).map(str::to_owned).collect();
    reply.sort();
    reply
}

/// Before: completing after `wrkr status` offered file names, `checkpoint` offered no subcommands,
/// `help` was offered twice, and nothing knew a job id.
#[test]
fn bash_completes_job_ids_subcommands_steps_checkpoints_and_statuses() {
    let sb = Sandbox::new();
    let cp = decision_job(&sb); // job d, blocked on cp
    failing_job(&sb); // job j: steps build, test
    let first = complete(&sb, &["wrkr", ""]);
    let mut unique = first.clone();
    unique.dedup();
    assert_eq!(first, unique, "no duplicated entries");
    assert!(first.contains(&"logs".to_owned()) && first.contains(&"help".to_owned()));
    assert_eq!(complete(&sb, &["wrkr", "sta"]), ["status"]);

    assert_eq!(complete(&sb, &["wrkr", "status", ""]), ["d", "j"]);
    assert_eq!(complete(&sb, &["wrkr", "logs", "--tail", "3", ""]), ["d", "j"], "a flag's value is skipped");
    assert_eq!(complete(&sb, &["wrkr-events", ""]), ["d", "j"], "tool links too");
    assert_eq!(complete(&sb, &["wrkr", "logs", "j", ""]), ["build", "test"]);
    assert_eq!(complete(&sb, &["wrkr", "checkpoint", ""]), ["emit", "list", "show"]);
    assert_eq!(complete(&sb, &["wrkr", "checkpoint", "show", ""]), ["d", "j"]);
    let checkpoints = complete(&sb, &["wrkr", "checkpoint", "show", "d", ""]);
    assert!(checkpoints.len() == 3 && checkpoints.contains(&cp), "{checkpoints:?}");
    assert_eq!(complete(&sb, &["wrkr", "approve", "d", "--checkpoint", ""]), [cp], "pending only");
    assert_eq!(
        complete(&sb, &["wrkr", "jobs", "--status", "blocked_"]),
        ["blocked_budget", "blocked_decision", "blocked_error"]
    );
    assert_eq!(complete(&sb, &["wrkr", "status", "--j"]), ["--json"]);
    // Another store named on the command line is the one asked.
    let other = tempfile::TempDir::new().unwrap();
    let store = other.path().to_str().unwrap();
    assert!(complete(&sb, &["wrkr", "status", "--store", store, ""]).is_empty());
}

// ---- make install and the man pages (U6) -----------------------------------------------------

/// Before: there was no install target; a user copied bin/ by hand and had no man pages or
/// completions where their shell looks.
#[test]
fn make_install_puts_binary_links_man_pages_and_completions_under_prefix() {
    let prefix = tempfile::TempDir::new().unwrap();
    let out = std::process::Command::new("make")
        .args(["-s", "install"])
        .arg(format!("PREFIX={}", prefix.path().display()))
        .arg(format!("INSTALL_BIN={}", support::bin().display()))
        .current_dir(support::repo())
        .output()
        .unwrap();
    assert!(out.status.success(), "{}{}", text(&out.stdout), text(&out.stderr));
    let root = prefix.path();
    let verify = root.join("bin/wrkr-verify");
    assert_eq!(fs::read_link(&verify).unwrap(), std::path::Path::new("wrkr"));
    let help = std::process::Command::new(&verify).arg("--help").output().unwrap();
    assert!(text(&help.stdout).starts_with("wrkr-verify "), "the link runs as the tool");
    for (installed, source) in [
        ("share/man/man1/wrkr-logs.1", "man/wrkr-logs.1"),
        ("share/man/man1/wrkr.1", "man/wrkr.1"),
        ("share/bash-completion/completions/wrkr", "completions/wrkr.bash"),
        ("share/zsh/site-functions/_wrkr", "completions/_wrkr"),
        ("share/fish/vendor_completions.d/wrkr.fish", "completions/wrkr.fish"),
    ] {
        assert_eq!(
            fs::read(root.join(installed)).unwrap(),
            fs::read(support::repo().join(source)).unwrap(),
            "{installed}"
        );
    }
    assert!(root.join("share/bash-completion/completions/wrkr-events").exists(), "bash finds it by tool name too");
}

fn section<'a>(page: &'a str, name: &str) -> &'a str {
    let heading = if name.contains(' ') { format!(".SH \"{name}\"\n") } else { format!(".SH {name}\n") };
    let start = page.find(&heading).unwrap_or_else(|| panic!("no {name} section"));
    let rest = &page[start + heading.len()..];
    &rest[..rest.find("\n.SH ").unwrap_or(rest.len())]
}

/// Every variable the code reads (`env::var("X")`, `var_os("X")`, serve's `"WRKR_SERVE_..."`)
/// is named in wrkr(1)'s ENVIRONMENT; exit codes are listed in order; no page has a backtick.
#[test]
fn man_pages_name_every_variable_files_sorted_exit_codes_and_related_commands() {
    let wrkr1 = fs::read_to_string(support::repo().join("man/wrkr.1")).unwrap();
    let environment = section(&wrkr1, "ENVIRONMENT");
    let mut stack = vec![support::repo().join("src")];
    let mut read = std::collections::BTreeSet::new();
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            // Fault injection is read only by builds with the `failpoints` feature (tests), never by
            // the wrkr people run, so its variables are not part of the documented environment.
            if path.file_name().is_some_and(|n| n == "failpoint.rs") {
                continue;
            }
            let source = fs::read_to_string(&path).unwrap_or_default();
            for line in source.lines().filter(|l| {
                // `env::var` calls, readiness's `env("...")` lookups and its lists of names.
                l.contains("env::var")
                    || l.contains("env(\"")
                    || l.contains("\"WRKR_SERVE_")
                    || l.contains("in [\"WRKR_")
            }) {
                for name in line.split('"').skip(1).step_by(2) {
                    if !name.is_empty() && name.chars().all(|c| c.is_ascii_uppercase() || c == '_') {
                        read.insert(name.to_owned());
                    }
                }
            }
        }
    }
    assert!(read.len() >= 10, "{read:?}");
    for name in &read {
        assert!(
            environment.contains(&format!("\\fB{name}")) || environment.contains(name.as_str()),
            "{name} in ENVIRONMENT"
        );
    }
    assert!(section(&wrkr1, "FILES").contains("logs/INDEX\\-STEP\\-ATTEMPT"), "{}", section(&wrkr1, "FILES"));

    let status = fs::read_to_string(support::repo().join("man/wrkr-status.1")).unwrap();
    let exits: Vec<u8> = section(&status, "EXIT STATUS")
        .lines()
        .filter_map(|l| l.strip_prefix("\\fB").and_then(|l| l.strip_suffix("\\fR")))
        .map(|n| n.parse().unwrap())
        .collect();
    assert_eq!(exits, [0, 1, 2, 4, 5, 6, 8]);
    let see_also = section(&status, "SEE ALSO");
    for related in ["wrkr\\-approve", "wrkr\\-resume", "wrkr\\-logs"] {
        assert!(see_also.contains(related), "{see_also}");
    }
    for entry in fs::read_dir(support::repo().join("man")).unwrap().flatten() {
        let page = fs::read_to_string(entry.path()).unwrap();
        assert!(!page.contains('`'), "{} has a literal backtick", entry.path().display());
    }
    // A flag's longer help stays indented under it (.IP), not back at the margin (.PP).
    let events = fs::read_to_string(support::repo().join("man/wrkr-events.1")).unwrap();
    let options = section(&events, "OPTIONS");
    assert!(options.contains(".IP\nAll lines are checked"), "{options}");
}

/// `resume -v` reports the steps this run finishes, not those an earlier run finished.
#[test]
fn resume_verbose_reports_only_the_steps_it_runs() {
    let sb = Sandbox::new();
    decision_job(&sb);
    wrkr(&sb).args(["approve", "d", "--reason", "ok"]).assert().success();
    let out = wrkr(&sb).args(["resume", "d", "-v"]).output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(stderr.starts_with("+ 3/3 apply succeeded in ") && stderr.lines().count() == 1, "{stderr}");
    assert_eq!(text(&out.stdout), "job_id=d status=completed\n");
}
