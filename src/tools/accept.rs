//! wrkr-accept (also `wrkr accept`): acceptance checks over a jobpack.
//!
//! As a pipe tool, `wrkr-accept [PACK|-]` reads the pack (stdin by default, spilled to a temp file),
//! runs the checks of `--config` (default `./accept.yaml`) and writes the `wrkr.accept_result` as one
//! JSON line; `--checks` adds one line per check after it. `--junit FILE` also writes JUnit. Exit 5
//! when a check failed, after the output is written. `wrkr accept init` and `wrkr accept run` are
//! the commands (src/cmd/accept.rs); `wrkr accept PACK` is the tool.

use std::path::{Path, PathBuf};

use crate::accept::{self, config};
use crate::cli::args::Args;
use crate::cli::io::{Io, diag};
use crate::cli::spec::{Command, Example, Flag, Kind};
use crate::cli::suggest;
use crate::contract::time::Timestamp;
use crate::contract::{Error, Result};
use crate::pack::source;

pub const CONFIG: Flag = Flag {
    long: "config",
    short: None,
    value: Some("FILE"),
    help: "The acceptance config [default: ./accept.yaml]",
    long_help: "A missing file is an error (exit 6) that says how to create one: wrkr never guesses a toolchain. \
                `-` reads it from stdin (not when the pack is read from stdin too).",
};
pub const CHECKS: Flag = Flag {
    long: "checks",
    short: None,
    value: None,
    help: "Also write one line per check: {check, status, message, reason_code?, artifact?, seconds}",
    long_help: "",
};
pub const JUNIT: Flag = Flag {
    long: "junit",
    short: None,
    value: Some("FILE"),
    help: "Also write the checks as JUnit XML to FILE",
    long_help: "Not `-`: stdout already carries the acceptance result.",
};
pub const WORKSPACE: Flag = Flag {
    long: "workspace",
    short: None,
    value: Some("DIR"),
    help: "Where artifacts are looked up and commands run [default: the job's recorded workspace, else .]",
    long_help: "",
};
pub const PATH: Flag = Flag {
    long: "path",
    short: None,
    value: Some("FILE"),
    help: "accept init: where to write (`-`: stdout) [default: accept.yaml]",
    long_help: "",
};
pub const FORCE: Flag =
    Flag { long: "force", short: None, value: None, help: "accept init: overwrite an existing file", long_help: "" };
pub const CI: Flag = Flag {
    long: "ci",
    short: None,
    value: None,
    help: "accept run: also write JUnit, re-export the pack and write the GitHub summary",
    long_help: "JUnit goes to DIR/reports/accept_<job>.junit.xml unless --junit says otherwise; the summary to \
                DIR/reports/github_summary_<job>.{json,md} and, when set, $GITHUB_STEP_SUMMARY.",
};
pub const OUT_DIR: Flag = Flag {
    long: "out-dir",
    short: None,
    value: Some("DIR"),
    help: "accept run: where packs and reports go [default: ./wrkr-out]",
    long_help: "",
};

pub const TOOL: Command = Command {
    name: "accept",
    kind: Kind::Tool,
    about: "Run acceptance checks on a jobpack or job; exit 5 on failure",
    usage: "[OPTIONS] [PACK|-] | init [--path FILE] [--force] | run JOB|PACK [OPTIONS]",
    long_about: "Checks, in this order: schema_validity (every record against its schema; E_INVALID_INPUT_SCHEMA), \
                 required_artifacts (claimed by a checkpoint and present in the workspace with the content hash \
                 the pack recorded; E_ACCEPT_MISSING_ARTIFACT naming the path), path_constraints \
                 (max_artifact_paths, forbidden_prefixes, allowed_prefixes as an allow-list), test_command and \
                 lint_command (sh -c in the workspace, timeout_seconds, default 600; E_ACCEPT_TEST_FAIL), \
                 required_checkpoint_types, max_budget_use (E_BUDGET_EXCEEDED), then each commands.<name>. A \
                 check that is not configured is skipped, never passed; checks_run counts the checks that ran. \
                 A pack that does not verify is refused (its verify exit code), not judged.\n\n\
                 `wrkr-accept [PACK|-]`: the wrkr.accept_result as one JSON line (--checks: then one line per \
                 check). `wrkr accept init` writes a commented accept.yaml. `wrkr accept run JOB|PACK` exports \
                 a job's pack first, runs the checks, stores the result in the job (the next export carries \
                 accept/accept_result.json) and prints `job_id=<id> checks=N passed=N failures=N`, or with --json \
                 {job_id, config_path, accept_result_path, accept_result, checks, junit_path?, jobpack_path?, \
                 summary_json_path?, summary_markdown_path?, step_summary_path?}. Exit 5 when a check failed.",
    flags: &[&CONFIG, &CHECKS, &JUNIT, &WORKSPACE, &PATH, &FORCE, &CI, &OUT_DIR],
    examples: &[
        Example { command: "wrkr accept init", what: "Write ./accept.yaml to edit." },
        Example { command: "wrkr accept run job_x --ci", what: "Check a job; write JUnit and the GitHub summary." },
        Example { command: "wrkr-accept --checks jobpack_job_x.zip", what: "The verdict and each check, as JSONL." },
    ],
    run,
};

fn run(args: Args, io: &mut Io) -> Result<()> {
    let words = args.positional_strings()?;
    if !io.as_tool {
        match words.first().map(String::as_str) {
            Some("init") => return crate::cmd::accept::init(&args, &words[1..], io),
            Some("run") => return crate::cmd::accept::run(&args, &words[1..], io),
            Some(first) => suggest::check_verb("accept", first, &["init", "run"])?,
            None => {}
        }
    }
    if words.len() > 1 {
        return Err(Error::invalid_input("wrkr-accept takes one PACK or -").with_hint("wrkr accept --help"));
    }
    let pack = words.first().map_or("-", String::as_str);
    args.one_stdin_reader(&[CONFIG.long], pack == "-")?;
    let config = config::load(Path::new(args.value(CONFIG.long).unwrap_or("accept.yaml")))?;
    let file = source::open(pack)?;
    let opts =
        accept::Options { workspace: args.value(WORKSPACE.long).map(PathBuf::from), log_dir: None, written: None };
    let outcome = accept::run(&file, &config, &opts)?;
    if let Some(path) = args.value(JUNIT.long) {
        crate::report::publish::write_file(Path::new(path), outcome.junit().as_bytes())?;
    }
    io.record(&outcome.accept_result(Timestamp::now()))?;
    if args.switch(CHECKS.long) {
        for line in outcome.check_lines() {
            io.record(&line)?;
        }
    }
    finish(io, &outcome)
}

/// Exit 5 after the output when a check failed (no error envelope: the output is the report).
pub fn finish(io: &mut Io, outcome: &accept::Outcome) -> Result<()> {
    if outcome.passed() {
        return Ok(());
    }
    io.flush()?;
    let failed = outcome.checks.iter().filter(|c| c.status == accept::Status::Failed).count();
    if !io.json {
        diag(&format!("wrkr accept: {failed} of {} checks failed (exit 5)", outcome.checks_run()));
    }
    std::process::exit(5)
}
