//! wrkr wrap: run any command as a supervised one-step job, then export and verify its jobpack.
//!
//! A thin shell over [`crate::run::wrap::wrap`]: it reads the flags, runs the sequence, prints the
//! result (text lines, or Go's JSON shape plus the artifact delta and stream hashes) and then, for
//! a job that did not complete, returns the job's error so that the envelope follows on stderr.
//! Exit codes are Go's: 1 with E_ADAPTER_FAIL when the command fails (its code is in
//! `adapter_result.exit_code`), unless `--exit-code child` asks for the command's own code.

use std::path::PathBuf;

use serde_json::json;

use crate::cli::args::Args;
use crate::cli::io::{Io, diag};
use crate::cli::spec::{Command, Example, Flag, Kind};
use crate::cmd::export::{DEFAULT_OUT_DIR, OUT_DIR};
use crate::cmd::submit::{LEASE_TTL, QUIET, lease_ttl};
use crate::contract::{Error, Result};
use crate::job::budget::Limits;
use crate::run::progress::{Display, Verbosity};
use crate::run::wrap::{WrapOptions, WrapReport, stream_json, wrap};
use crate::store::JobId;
use crate::tools::pack::{self, UNSAFE_CAPTURE_RAW};

const JOB_ID: Flag = Flag {
    long: "job-id",
    short: None,
    value: Some("ID"),
    help: "The job id [default: job_wrap_<unix seconds>]",
    long_help: "Used exactly as given (case-sensitive). An existing id is refused (exit 6): wrap never appends \
                to another job.",
};
const ARTIFACT: Flag = Flag {
    long: "artifact",
    short: None,
    value: Some("PATH"),
    help: "An artifact the command produces, relative to the workspace (repeatable)",
    long_help: "",
};
const WORKSPACE: Flag = Flag {
    long: "workspace",
    short: None,
    value: Some("DIR"),
    help: "Report the files created, changed or removed under DIR (content hashes before and after)",
    long_help: "In a git work tree the files git considers are compared (.gitignore is honoured); otherwise the \
                whole tree, without .git/. Artifact paths are relative to DIR. The command itself still runs \
                in the current directory.",
};
const BUDGET_WALL_TIME: Flag = Flag {
    long: "budget-wall-time",
    short: None,
    value: Some("SECONDS"),
    help: "Stop the command after SECONDS (status blocked_budget, E_BUDGET_EXCEEDED)",
    long_help: "",
};
const BUDGET_TOOL_CALLS: Flag = Flag {
    long: "budget-tool-calls",
    short: None,
    value: Some("N"),
    help: "Stop the command when it reports more than N tool calls (adapter protocol)",
    long_help: "",
};
const BUDGET_TOKENS: Flag = Flag {
    long: "budget-tokens",
    short: None,
    value: Some("N"),
    help: "Stop the command when it reports more than N tokens (adapter protocol)",
    long_help: "",
};
const VERBOSE: Flag = Flag {
    long: "verbose",
    short: Some('v'),
    value: None,
    help: "Also a line on stderr per progress note the command reports (terminal or not)",
    long_help: "",
};
const TTY: Flag = Flag {
    long: "tty",
    short: None,
    value: None,
    help: "Give CMD a pseudo-terminal for its stdout and its stderr, so it keeps its colours",
    long_help: "Each stream gets a terminal of its own: they stay apart, are logged and hashed as without \
                --tty (bytes as written: no \\r is added), and stdout still goes where it would (stdout, or \
                stderr with --json). The terminal has our terminal's size (80x24 when there is none). Stdin \
                is handled as without --tty. Unix only.",
};
const EXIT_CODE: Flag = Flag {
    long: "exit-code",
    short: None,
    value: Some("child"),
    help: "Exit with the command's own exit code instead of 1 when it fails",
    long_help: "A command ended by a signal gives 128 + the signal number. When wrkr itself stopped the command \
                (budget), wrkr's code applies.",
};

pub const COMMAND: Command = Command {
    name: "wrap",
    kind: Kind::Command,
    about: "Run a command as a supervised job and export its jobpack",
    usage: "[OPTIONS] -- CMD [ARGS]...",
    long_about: "Creates a job, takes its lease, and runs CMD directly (no shell) in its own process group. Its \
                 output goes to the terminal unchanged and to bounded logs in the job (the sha256 of each full \
                 stream is recorded). Adapter-protocol records it writes to WRKR_EVENTS_FD or WRKR_EVENTS_PATH \
                 are applied as they arrive (docs/contracts/adapter_protocol.md); records wrkr rejects are \
                 named on stderr as well as recorded. Stdin passes through to CMD when it is a pipe or a \
                 file (`git diff | wrkr wrap -- reviewer`); a terminal is not passed (CMD runs in its own \
                 process group, where reading the terminal would stop it), CMD reads /dev/null then. A CMD \
                 that cannot start is E_ADAPTER_FAIL naming it. On a terminal, a progress line on stderr \
                 shows the command, how long it has run, its latest progress note and the budgets; it steps \
                 aside for the command's own output and is never written to stdout (-q: none). Ctrl-C or SIGTERM is \
                 forwarded to the command; the job is then recorded as interrupted (blocked_error). Plan, \
                 progress and completed or blocked checkpoints are written; the jobpack is exported to \
                 DIR/jobpacks/ and verified, also when the command failed, and the footer is printed.\n\n\
                 Stdout belongs to CMD: wrkr's summary (job_id=, status=, jobpack=, footer=) goes to \
                 stderr, so `wrkr wrap -- CMD | jq` reads CMD's output alone. With --json, stdout holds \
                 only wrkr's JSON result (as in Go, for scripts and the SDK) and CMD's stdout is copied to \
                 stderr; the two are never mixed. A failing command is exit 1 E_ADAPTER_FAIL (its own code \
                 is in adapter_result.exit_code). Everything after -- reaches CMD untouched, --json \
                 included: wrkr's own --json goes before --.",
    flags: &[
        &JOB_ID,
        &ARTIFACT,
        &WORKSPACE,
        &BUDGET_WALL_TIME,
        &BUDGET_TOOL_CALLS,
        &BUDGET_TOKENS,
        &OUT_DIR,
        &EXIT_CODE,
        &TTY,
        &UNSAFE_CAPTURE_RAW,
        &LEASE_TTL,
        &QUIET,
        &VERBOSE,
    ],
    examples: &[
        Example {
            command: "wrkr wrap -- make test",
            what: "Run the tests as a job; the summary (job_id=, jobpack=, footer=) is on stderr.",
        },
        Example {
            command: "wrkr wrap --workspace . --budget-wall-time 600 -- ./agent.sh --task fix-bug",
            what: "Run an agent for at most ten minutes and record what it changed.",
        },
    ],
    run,
};

fn run(args: Args, io: &mut Io) -> Result<()> {
    let Some(before) = args.dashdash else {
        return Err(
            Error::invalid_input("wrap needs -- before the command").with_hint("wrkr wrap [OPTIONS] -- CMD ARGS...")
        );
    };
    if before > 0 {
        return Err(Error::invalid_input("wrap takes no arguments before --")
            .with_hint("put the command after --: wrkr wrap [OPTIONS] -- CMD ARGS..."));
    }
    let child_code = match args.value(EXIT_CODE.long) {
        None => false,
        Some("child") => true,
        Some(other) => {
            return Err(
                Error::invalid_input(format!("--exit-code: expected 'child', got {other:?}")).with("flag", "exit-code")
            );
        }
    };
    let cwd = std::env::current_dir().map_err(|e| Error::io("read the current directory", e))?;
    let mut opts = WrapOptions::new(args.positionals.clone(), cwd);
    opts.job = args.value(JOB_ID.long).map(JobId::parse).transpose()?;
    opts.artifacts = args.values(ARTIFACT.long).into_iter().map(str::to_owned).collect();
    opts.workspace = match args.value(WORKSPACE.long) {
        Some(dir) => Some(
            std::fs::canonicalize(dir)
                .ok()
                .filter(|p| p.is_dir())
                .ok_or_else(|| Error::invalid_input(format!("--workspace {dir:?} is not a directory")))?,
        ),
        None => None,
    };
    let tokens = args.u64_or(&BUDGET_TOKENS, 0)?;
    opts.limits = Limits {
        max_wall_time_seconds: args.u64_or(&BUDGET_WALL_TIME, 0)?,
        max_tool_calls: args.u64_or(&BUDGET_TOOL_CALLS, 0)?,
        max_tokens: (tokens > 0).then_some(tokens),
        ..Limits::default()
    };
    opts.out_dir = PathBuf::from(args.value(OUT_DIR.long).unwrap_or(DEFAULT_OUT_DIR));
    opts.capture = pack::capture(&args)?;
    opts.ttl = lease_ttl(&args)?;
    opts.json = io.json;
    opts.tty = args.switch(TTY.long);
    let verbosity = match (args.switch(QUIET.long), args.switch(VERBOSE.long)) {
        (true, _) => Verbosity::Quiet,
        (false, true) => Verbosity::Verbose,
        (false, false) => Verbosity::Normal,
    };
    opts.display = Some(Display::detect(verbosity, io.json));
    let report = wrap(&crate::store::location::locate(args.store.as_deref())?, &opts);
    crate::run::process::finish_teed_output();
    let report = report?;
    print(io, &report)?;
    io.flush()?;
    match report.ended.failure {
        Some(err) => match report.ended.child_exit.filter(|_| child_code) {
            Some(code) => Err(err.with_exit_code(code)),
            None => Err(err),
        },
        None => Ok(()),
    }
}

fn print(io: &mut Io, report: &WrapReport) -> Result<()> {
    let (ended, pack) = (&report.ended, &report.exported);
    if io.json {
        return io.pretty(&json!({
            "adapter_result": {"job_id": ended.job_id, "status": ended.status.as_str(), "exit_code": ended.exit_code,
                               "outcome": ended.outcome},
            "footer": pack.footer,
            "job_id": ended.job_id,
            "jobpack_path": pack.path.display().to_string(),
            "manifest_sha256": pack.manifest_sha256,
            "artifacts": ended.artifacts,
            "stdout": stream_json(&ended.stdout),
            "stderr": stream_json(&ended.stderr),
        }));
    }
    // Text mode: stdout belongs to the command (`wrkr wrap -- gh pr list --json title | jq`), so
    // wrkr's own summary goes to stderr, after the command's output has been flushed.
    io.flush()?;
    diag(&format!("job_id={}", ended.job_id));
    diag(&format!("status={} exit_code={} outcome={}", ended.status, ended.exit_code, ended.outcome));
    diag(&format!("jobpack={}", pack.path.display()));
    diag(&format!("footer={}", pack.footer));
    Ok(())
}
