//! Text output speaks words (issue 12, U9 "plain words instead of raw transition names"): the
//! ledger's names (`blocked_decision`, `not_executed`, `status_changed`...) stay in `--json` and
//! in `key=value` fields, which programs read; sentences for people say "waiting for a decision".
//! Also: a refused pause says what state the job is in and that there is nothing to pause, and a
//! job queued for workers is not sent to `resume` once its decision is approved.

mod support;

use support::Sandbox;

/// The ledger's snake_case names of states, step outcomes and transitions.
const RAW: [&str; 8] = [
    "blocked_decision",
    "blocked_error",
    "blocked_budget",
    "not_executed",
    "timed_out",
    "stopped_budget",
    "status_changed",
    "invalid status transition",
];

/// A three-step spec from `wrkr init`, the middle step a decision; `first` replaces step one's
/// command.
fn spec(sb: &Sandbox, name: &str, first: &str) -> String {
    let template = sb.wrkr().args(["init", "-"]).output().unwrap().stdout;
    let text = String::from_utf8(template).unwrap();
    let text = text.replace("\"mkdir -p reports && echo plan > reports/plan.md\"", &format!("{first:?}"));
    let path = sb.work().join(name);
    std::fs::write(&path, text).unwrap();
    path.display().to_string()
}

fn run(sb: &Sandbox, args: &[&str]) -> (Option<i32>, String) {
    let out = sb.wrkr().args(args).output().unwrap();
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    (out.status.code(), text)
}

/// A line with its `key=value` fields (the parseable part) taken out.
fn prose(line: &str) -> String {
    line.split(' ').filter(|word| !word.contains('=')).collect::<Vec<_>>().join(" ")
}

/// Finished, blocked, failed and paused jobs; every text output of status, job inspect (whose
/// summaries said `status_changed` and `decision-needed:blocked_decision` before), checkpoint list
/// and show, approve, resume, pause and cancel on them is scanned for the ledger's raw names.
#[test]
fn text_output_names_states_in_words() {
    let sb = Sandbox::new();
    let gate = spec(&sb, "gate.yaml", "mkdir -p reports && echo plan > reports/plan.md");
    let fail = spec(&sb, "fail.yaml", "echo boom >&2; exit 3");
    for (job, path) in [("blocked", &gate), ("done", &gate), ("failed", &fail), ("paused", &gate)] {
        sb.wrkr().args(["submit", path, "--job-id", job]).output().unwrap();
    }
    run(&sb, &["approve", "done", "--reason", "ok"]);
    run(&sb, &["resume", "done"]);
    // A running job to pause: a status change appended as a runner would.
    sb.wrkr().args(["approve", "paused", "--reason", "ok"]).output().unwrap();
    sb.program("wrkr-events")
        .args(["--append", "paused"])
        .write_stdin("{\"type\":\"status_changed\",\"payload\":{\"from\":\"blocked_decision\",\"to\":\"running\"}}\n")
        .assert()
        .success();
    assert_eq!(run(&sb, &["pause", "paused"]), (Some(0), "job_id=paused status=paused\n".to_owned()));

    // --json keeps the raw names.
    let (_, json) = run(&sb, &["--json", "status", "blocked"]);
    assert!(json.contains("\"outcome\": \"not_executed\"") && json.contains("\"blocked_decision\""), "{json}");

    let mut seen = String::new();
    for job in ["blocked", "done", "failed", "paused"] {
        for args in [
            vec!["status", job],
            vec!["job", "inspect", job],
            vec!["checkpoint", "list", job],
            vec!["approve", job, "--reason", "ok"],
            vec!["pause", job],
            vec!["resume", job, "-q"],
            vec!["cancel", job],
            vec!["cancel", job],
        ] {
            let (_, text) = run(&sb, &args);
            seen += &format!("$ wrkr {}\n{text}", args.join(" "));
        }
    }
    let (_, show) = run(&sb, &["checkpoint", "show", "blocked", "cp_15"]);
    seen += &show;
    for line in seen.lines() {
        let words = prose(line);
        for raw in RAW {
            assert!(!words.contains(raw), "{raw:?} in {line:?}\n\nall output:\n{seen}");
        }
    }
    // wrkr's own event types read without their ledger prefix (`x-jobspec recorded` before).
    assert!(seen.contains(" event evt_2 jobspec recorded"), "{seen}");
    // The words are there.
    assert!(seen.contains("step: 2/3 review, attempt 1, not run (recorded only)"), "{seen}");
}

/// `pause` of a finished job said `invalid status transition "completed" -> "paused"`; then the
/// words said "the job", naming it only after the sentence (`(job_id=done)`) and in the hint.
#[test]
fn pausing_a_finished_job_says_there_is_nothing_to_pause() {
    let sb = Sandbox::new();
    let gate = spec(&sb, "gate.yaml", "mkdir -p reports && echo plan > reports/plan.md");
    sb.wrkr().args(["submit", &gate, "--job-id", "done"]).assert().success();
    sb.wrkr().args(["approve", "done", "--reason", "ok"]).assert().success();
    sb.wrkr().args(["resume", "done"]).assert().success();
    let store = sb.store_contents();
    let (code, text) = run(&sb, &["pause", "done"]);
    assert_eq!(code, Some(1), "E_INVALID_STATE_TRANSITION is exit 1, as in Go");
    assert_eq!(
        text,
        "E_INVALID_STATE_TRANSITION: job done is completed and cannot become paused\n\
         hint: it has finished (completed): there is nothing to pause; wrkr status done shows how it ended\n"
    );
    let (_, text) = run(&sb, &["pause", "done", "--now"]);
    assert!(text.contains("there is nothing to pause"), "{text}");
    // The envelope keeps Go's message and the raw names.
    let out = sb.wrkr().args(["--json", "pause", "done"]).output().unwrap();
    let envelope = support::envelope(&out.stderr);
    assert_eq!(envelope["message"], "invalid status transition \"completed\" -> \"paused\"");
    assert_eq!(envelope["details"]["from"], "completed");
    assert_eq!(sb.store_contents(), store, "nothing was written");
}

/// After `approve` of a job queued for workers, the next line said `wrkr resume`, which would run
/// it here, outside the workers and their labels; a worker claims an approved job by itself.
#[test]
fn approving_a_job_queued_for_workers_points_at_the_worker() {
    let sb = Sandbox::new();
    let gate = spec(&sb, "gate.yaml", "mkdir -p reports && echo plan > reports/plan.md");
    sb.wrkr().args(["submit", &gate, "--job-id", "q", "--queue"]).assert().success();
    sb.wrkr().args(["worker", "--once"]).assert().success();
    let (_, status) = run(&sb, &["status", "q"]);
    assert!(status.ends_with("next: wrkr approve q --checkpoint cp_16 --reason TEXT\nnext: wrkr worker\n"), "{status}");
    let (code, approved) = run(&sb, &["approve", "q", "--reason", "ok"]);
    assert_eq!(code, Some(0), "{approved}");
    assert!(approved.contains("next: wrkr worker\n") && !approved.contains("resume"), "{approved}");
    let (_, json) = run(&sb, &["--json", "status", "q"]);
    assert!(json.contains("\"wrkr worker\""), "{json}");
    // Not queued: resume, as before.
    sb.wrkr().args(["submit", &gate, "--job-id", "here"]).assert().success();
    let (_, approved) = run(&sb, &["approve", "here", "--reason", "ok"]);
    assert!(approved.ends_with("next: wrkr resume here\n"), "{approved}");
}

/// cli.md promises "did you mean" for every unknown flag of every pipe tool. Each long flag of
/// each tool (read from its own --help), misspelled by swapping two letters, gets it named back;
/// the global flags were not candidates (`wrkr-jcs --jsno` got no suggestion).
#[test]
fn every_pipe_tool_suggests_the_flag_meant() {
    let sb = Sandbox::new();
    let list = sb.wrkr().arg("--list").output().unwrap().stdout;
    let tools: Vec<String> = String::from_utf8(list).unwrap().lines().map(str::to_owned).collect();
    assert!(tools.len() >= 7, "{tools:?}");
    for tool in &tools {
        let help = String::from_utf8(sb.program(tool).arg("--help").output().unwrap().stdout).unwrap();
        let mut flags: Vec<String> = help
            .lines()
            .filter(|l| l.starts_with("    -"))
            .filter_map(|l| l.trim_start().split([' ', ',']).find(|w| w.starts_with("--")).map(str::to_owned))
            .filter(|f| f.len() > 4)
            .collect();
        flags.dedup();
        assert!(flags.iter().any(|f| f == "--json"), "{tool}: {flags:?}");
        for flag in flags {
            let mut typo: Vec<char> = flag.chars().collect();
            // The first two neighbours after `--` that differ (a swap of equal letters is no typo).
            let at = (2..typo.len() - 1).find(|&i| typo[i] != typo[i + 1]).unwrap();
            typo.swap(at, at + 1);
            let typo: String = typo.into_iter().collect();
            let out = sb.program(tool).arg(&typo).output().unwrap();
            assert_eq!(out.status.code(), Some(6), "{tool} {typo}");
            let err = String::from_utf8_lossy(&out.stderr);
            assert!(err.contains(&format!("hint: did you mean {flag}?")), "{tool} {typo}: {err}");
        }
    }
}
