//! The gaps an audit of issue 12 still found in the human surface, each through the real binary:
//! a job id typed in another case (or with a typo) is answered with the id the store has, on
//! every command that takes one and on both stores; the `wrkr-events --append --create` advice
//! appears only where it applies.
//!
//! Every test says what was wrong before; each failed against the binary before its fix.

mod support;

use support::Sandbox;

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Every command that takes a job id, with `toktypo` where the id goes.
const JOB_COMMANDS: &[&[&str]] = &[
    &["status", "toktypo"],
    &["logs", "toktypo"],
    &["approve", "toktypo", "--reason", "ok"],
    &["resume", "toktypo"],
    &["pause", "toktypo"],
    &["cancel", "toktypo"],
    &["export", "toktypo"],
    &["receipt", "toktypo"],
    &["events", "toktypo"],
    &["fsck", "toktypo"],
    &["job", "inspect", "toktypo"],
    &["job", "diff", "toktypo", "TokTypo"],
    &["checkpoint", "list", "toktypo"],
    &["checkpoint", "show", "toktypo", "cp_1"],
    &["checkpoint", "emit", "toktypo", "--type", "progress", "--summary", "x"],
    &["budget", "show", "toktypo"],
    &["budget", "raise", "toktypo", "--max-tokens", "5", "--reason", "more"],
    &["bridge", "work-item", "toktypo", "--checkpoint", "cp_1"],
    &["lease", "show", "toktypo"],
    &["lease", "acquire", "toktypo", "--worker", "w"],
    &["report", "github", "toktypo"],
];

/// Each command refuses `toktypo` (exit 6, the store untouched) and names `TokTypo`; never the
/// `--append --create` advice, which makes a second job rather than finding the first.
fn case_different_ids_are_suggested(sb: &Sandbox) {
    sb.create_job("TokTypo");
    sb.create_job("other");
    let before = sb.store_contents();
    for argv in JOB_COMMANDS {
        let out = sb.wrkr().args(*argv).output().unwrap();
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(6), "{argv:?}: {stderr}");
        assert!(stderr.contains("job not found"), "{argv:?}: {stderr}");
        assert!(stderr.contains("hint: did you mean 'TokTypo'? Job ids are case-sensitive."), "{argv:?}: {stderr}");
        assert!(!stderr.contains("--create"), "{argv:?}: {stderr}");
        assert_eq!(sb.store_contents(), before, "{argv:?} changed the store");
    }
    // A typo (not only a case) finds the closest id, and JSON names it in details.
    let out = sb.wrkr().args(["--json", "status", "TokTyop"]).output().unwrap();
    let envelope = support::envelope(&out.stderr);
    assert_eq!(envelope["details"]["similar_job_ids"], serde_json::json!(["TokTypo"]), "{envelope}");
    assert_eq!(envelope["details"]["hint"], "did you mean 'TokTypo'? wrkr jobs lists the jobs in this store");
    // Nothing like it: the plain hint.
    let out = sb.wrkr().args(["status", "zzzzzzzz"]).output().unwrap();
    assert_eq!(text(&out.stderr).lines().nth(1), Some("hint: wrkr jobs lists the jobs in this store"));
    // Appending to a job that is not there is the one place where --create is the answer.
    let out = sb.program("wrkr-events").args(["--append", "toktypo"]).write_stdin("").output().unwrap();
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(6), "{stderr}");
    assert!(stderr.contains("did you mean 'TokTypo'?"), "{stderr}");
    assert!(stderr.contains("wrkr-events --append --create toktypo makes one"), "{stderr}");
}

/// Before: `wrkr status toktypo` for a job `TokTypo` said "job not found" with the hint
/// `wrkr-events --append --create toktypo makes one`, and `wrkr fsck toktypo` reported store
/// damage (`ledger_missing`, E_STORE_CORRUPT) for a job that never existed.
#[test]
fn case_different_job_id_is_suggested_file_store() {
    case_different_ids_are_suggested(&Sandbox::new());
}

/// The same on a PostgreSQL store (skipped with a reason when no server can run here).
#[test]
fn case_different_job_id_is_suggested_postgres() {
    let Some(sb) = Sandbox::postgres() else { return };
    case_different_ids_are_suggested(&sb);
}

/// Before: a hand-written spec's missing keys were said in the schema's words at the root's line
/// (`/objective: "" is shorter than 1 character` for a key not written at all, `"max_tool_calls"
/// is a required property`), an empty `producer_version` "is shorter than 1 character", a
/// string for a number "is not of type \"integer\"". Now each is said plainly, located at the
/// mapping that lacks it or the value that is wrong, every one at once; no job is created.
#[test]
fn newcomer_spec_findings_are_plain_and_placed() {
    let sb = Sandbox::new();
    std::fs::copy(support::fixture("jobspecs/newcomer.yaml"), sb.work().join("newcomer.yaml")).unwrap();
    let out = sb.wrkr().args(["validate", "newcomer.yaml"]).output().unwrap();
    assert_eq!(out.status.code(), Some(6));
    let golden = std::fs::read_to_string(support::fixture("jobspecs/newcomer.validate.txt")).unwrap();
    assert_eq!(text(&out.stdout), golden);
    // submit says the same, all at once, and makes no job.
    let out = sb.wrkr().args(["submit", "newcomer.yaml"]).output().unwrap();
    assert_eq!(out.status.code(), Some(6));
    let stderr = text(&out.stderr);
    for line in golden.lines() {
        assert!(stderr.contains(line), "{line}\n---\n{stderr}");
    }
    assert!(!sb.home().join("jobs").exists(), "no job is created");
    // On a terminal the summary line came first, above the findings it sums up (stdout was
    // flushed only after the error was printed).
    let (code, screen) = support::on_a_terminal(&sb, &["validate", "newcomer.yaml"], &[]);
    assert_eq!(code, Some(6), "{screen}");
    let (first_finding, summary) = (screen.find("newcomer.yaml:3:1:"), screen.find("E_INVALID_INPUT_SCHEMA"));
    assert!(first_finding.is_some() && summary.is_some() && first_finding < summary, "{screen}");
}

/// Before: `checkpoint list`, `checkpoint show` and `budget show` did not name the job in text.
/// `budget show` (wrkr's own command) now opens with `job_id=JOB`; the checkpoint lines keep Go's
/// format in a pipe (scripts read them line by line) and get a `job_id=JOB` line on a terminal.
#[test]
fn checkpoint_and_budget_text_name_the_job() {
    let sb = Sandbox::new();
    let steps = support::step("plan", "true");
    std::fs::write(sb.work().join("spec.yaml"), support::jobspec(&steps, "", "os")).unwrap();
    sb.wrkr().args(["submit", "spec.yaml", "--job-id", "named"]).assert().success();
    let out = sb.wrkr().args(["budget", "show", "named"]).output().unwrap();
    let shown = text(&out.stdout);
    assert_eq!(shown.lines().next(), Some("job_id=named"), "{shown}");
    assert!(shown.lines().nth(1).is_some_and(|l| l.starts_with("wall_time_seconds: used=")), "{shown}");
    // In a pipe: Go's lines, one per checkpoint, nothing else.
    let out = sb.wrkr().args(["checkpoint", "list", "named"]).output().unwrap();
    let piped = text(&out.stdout);
    assert!(piped.lines().all(|l| l.starts_with("checkpoint=cp_")), "{piped}");
    let first = piped.lines().next().unwrap().split(' ').next().unwrap().trim_start_matches("checkpoint=").to_owned();
    // On a terminal: the job first.
    let (code, screen) = support::on_a_terminal(&sb, &["checkpoint", "list", "named"], &[]);
    assert_eq!(code, Some(0), "{screen}");
    assert_eq!(screen.lines().next().map(str::trim_end), Some("job_id=named"), "{screen}");
    assert!(screen.contains("checkpoint=cp_"), "{screen}");
    let (_, screen) = support::on_a_terminal(&sb, &["checkpoint", "show", "named", &first], &[]);
    assert_eq!(screen.lines().next().map(str::trim_end), Some("job_id=named"), "{screen}");
    let out = sb.wrkr().args(["checkpoint", "show", "named", &first]).output().unwrap();
    assert!(text(&out.stdout).starts_with(&format!("checkpoint={first} ")), "{}", text(&out.stdout));
}

/// The segments the progress line drew (each redraw starts with carriage return + erase line).
fn drawn(screen: &str) -> Vec<&str> {
    screen.split("\r\x1b[2K").filter(|s| !s.is_empty()).collect()
}

/// Before: the progress line kept the first step's note (`fetched 12 files`) while the second
/// step ran, as if the second step had reported it. A note belongs to its step.
#[test]
fn progress_line_drops_the_previous_steps_note() {
    let sb = Sandbox::new();
    let steps = support::step("fetch", "echo '{\"type\":\"progress\",\"note\":\"fetched 12 files\"}' >&3; sleep 1")
        + &support::step("build", "sleep 1");
    std::fs::write(sb.work().join("spec.yaml"), support::jobspec(&steps, "", "os")).unwrap();
    let (code, screen) = support::on_a_terminal(&sb, &["submit", "spec.yaml", "--job-id", "n"], &[("NO_COLOR", "1")]);
    assert_eq!(code, Some(0), "{screen:?}");
    let segments = drawn(&screen);
    assert!(segments.iter().any(|s| s.contains(" 1/2 fetch ") && s.contains("fetched 12 files")), "{screen:?}");
    let build: Vec<&&str> = segments.iter().filter(|s| s.contains(" 2/2 build ")).collect();
    assert!(!build.is_empty(), "{screen:?}");
    assert!(build.iter().all(|s| !s.contains("fetched 12 files")), "{build:?}");
}

/// `resume` draws the same live line as `submit` (only submit's was tested): the step after the
/// decision, i/N, its note, the budgets, erased before the final line. Its first frame, drawn
/// before the runner took the job, said `r blocked_decision`.
#[test]
fn resume_on_a_terminal_draws_the_progress_line() {
    let sb = Sandbox::new();
    let steps = support::step("plan", "true")
        + "    - {id: review, summary: approve it, command: \"\", executed: false, decision_needed: true}\n"
        + &support::step("ship", "echo '{\"type\":\"progress\",\"note\":\"shipping\"}' >&3; sleep 1.5");
    std::fs::write(sb.work().join("spec.yaml"), support::jobspec(&steps, "", "os")).unwrap();
    sb.wrkr().args(["submit", "spec.yaml", "--job-id", "r"]).assert().success();
    sb.wrkr().args(["approve", "r", "--reason", "ok"]).assert().success();
    let (code, screen) = support::on_a_terminal(&sb, &["resume", "r"], &[("NO_COLOR", "1")]);
    assert_eq!(code, Some(0), "{screen:?}");
    let segments = drawn(&screen);
    assert!(
        segments.iter().any(|s| s.contains(" 3/3 ship ") && s.contains("shipping") && s.contains("steps ")),
        "{screen:?}"
    );
    assert!(screen.ends_with("\r\x1b[2Kjob_id=r status=completed\r\n"), "{screen:?}");
    // Before the runner takes the job, the line said `r blocked_decision`: the state in words.
    assert!(!screen.contains("blocked_decision"), "{screen:?}");
    assert!(!screen.replace("\r\n", "").contains('\n'), "the progress line never adds a line: {screen:?}");
}

/// Every `wrkr WORD [VERB]` and `wrkr-TOOL [VERB]` written in the source, with where it is.
fn commands_named_in_source() -> Vec<(Vec<String>, String)> {
    let mut found = Vec::new();
    let mut dirs = vec![support::repo().join("src")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            if path.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            for (no, line) in std::fs::read_to_string(&path).unwrap().lines().enumerate() {
                if line.trim_start().starts_with("//") {
                    continue;
                }
                let bytes = line.as_bytes();
                for (at, _) in line.match_indices("wrkr") {
                    let before = at.checked_sub(1).map(|i| bytes[i] as char);
                    if before.is_some_and(|c| c.is_ascii_alphanumeric() || "_./-".contains(c)) {
                        continue;
                    }
                    let rest = &line[at..];
                    let end =
                        rest.find(|c: char| !(c.is_ascii_lowercase() || c == '-' || c == ' ')).unwrap_or(rest.len());
                    let mut words: Vec<String> = rest[..end].split(' ').take(3).map(str::to_owned).collect();
                    // A word cut short by what follows (`wrkr status {job}`, `job_1`) is not a literal.
                    if end < rest.len() && words.len() > 1 && !rest[..end].ends_with(' ') {
                        words.pop();
                    }
                    words.retain(|w| !w.is_empty());
                    // Flags are checked by the parser's own tests; the command words come first.
                    if let Some(flag) = words.iter().position(|w| w.starts_with('-') && w != "-") {
                        words.truncate(flag);
                    }
                    if words.len() > 1 && words[1] == "-" {
                        words.truncate(1);
                    }
                    let first = &words[0];
                    let tool = first.strip_prefix("wrkr-");
                    if tool.is_some_and(|t| t.is_empty() || ["out", "rs", "tmp"].contains(&t)) {
                        continue; // wrkr-out/ (a directory), wrkr-rs, .wrkr-tmp-
                    }
                    if first == "wrkr" && words.len() == 1 || first.ends_with('-') || first != "wrkr" && tool.is_none()
                    {
                        continue;
                    }
                    found.push((words, format!("{}:{}", path.display(), no + 1)));
                }
            }
        }
    }
    found
}

/// The subcommand words a command's usage line lists (`list JOB | show ...`, `<acquire|show>`).
fn verbs(usage: &str) -> Vec<String> {
    let usage = usage.trim();
    let after_name = usage.split_once(' ').map_or("", |(_, rest)| rest);
    let after_name =
        if usage.starts_with("wrkr ") { after_name.split_once(' ').map_or("", |(_, rest)| rest) } else { after_name };
    if let Some(inner) = after_name.strip_prefix('<').and_then(|s| s.split_once('>')).map(|(inner, _)| inner) {
        return inner.split('|').map(str::to_owned).collect();
    }
    after_name
        .split(" | ")
        .filter_map(|segment| segment.split_whitespace().next())
        .filter(|w| w.chars().all(|c| c.is_ascii_lowercase() || c == '-'))
        .map(str::to_owned)
        .collect()
}

/// Before: hints could name a command spelling nobody checked (the audit found `wrkr lease
/// acquire` in wrkr-lease's advice). Every `wrkr X [VERB]` and `wrkr-TOOL [VERB]` in the source
/// (hints, next commands, help and examples) must name a command that answers `--help`, and a
/// subcommand word must be one its usage lists. Words after `wrkr` that are prose, not commands
/// (`wrkr turns`, `wrkr-accept takes`), are listed here.
#[test]
fn every_command_named_in_a_hint_parses() {
    const PROSE_FIRST: &[&str] = &[
        "acceptance",
        "binary",
        "command",
        "digest",
        "does",
        "itself",
        "manual",
        "migrated",
        "needs",
        "never",
        "or",
        "process",
        "public",
        "reads",
        "rejects",
        "signing",
        "turns",
        "yet",
    ];
    const PROSE_AFTER: &[&str] = &["takes", "for", "finding", "needs"];
    let sb = Sandbox::new();
    let mut usages: std::collections::BTreeMap<String, Vec<String>> = std::collections::BTreeMap::new();
    let mut problems = Vec::new();
    for (words, at) in commands_named_in_source() {
        let (program, command) = match words[0].strip_prefix("wrkr-") {
            Some(tool) => (format!("wrkr-{tool}"), None),
            None => ("wrkr".to_owned(), Some(words[1].clone())),
        };
        if command.as_deref().is_some_and(|c| PROSE_FIRST.contains(&c)) {
            continue;
        }
        let key = format!("{program} {}", command.clone().unwrap_or_default());
        let verbs_of = usages.entry(key.clone()).or_insert_with(|| {
            let out = sb.program(&program).args(command.iter()).arg("--help").output().unwrap();
            if !out.status.success() {
                return vec!["<not a command>".to_owned()];
            }
            let help = text(&out.stdout);
            let usage = help.lines().skip_while(|l| !l.starts_with("USAGE")).nth(1).unwrap_or_default().to_owned();
            verbs(&usage)
        });
        if verbs_of.first().is_some_and(|v| v == "<not a command>") {
            problems.push(format!("{at}: `{}` is not a command", words.join(" ")));
            continue;
        }
        let verb = words.get(if command.is_some() { 2 } else { 1 });
        if let Some(verb) = verb.filter(|v| !verbs_of.is_empty() && !PROSE_AFTER.contains(&v.as_str()))
            && !verbs_of.contains(verb)
        {
            problems.push(format!("{at}: `{}`: {key} takes {verbs_of:?}", words.join(" ")));
        }
    }
    assert!(usages.len() > 20, "the scan found commands: {usages:?}");
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}
