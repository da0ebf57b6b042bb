//! Acceptance: the deterministic checks that turn a jobpack into a CI verdict.
//!
//! [`run`] takes a pack (a file), an [`config::AcceptConfig`] and a workspace, and runs the checks
//! in a fixed order (docs/contracts/acceptance.md is the normative text):
//!
//! 1. `schema_validity`: every record against its schema (`E_INVALID_INPUT_SCHEMA`); a pack that
//!    fails integrity is refused outright, not judged;
//! 2. `required_artifacts`: claimed by a checkpoint and present in the workspace with the recorded
//!    content hash (`E_ACCEPT_MISSING_ARTIFACT`, naming the path);
//! 3. `path_constraints`: `max_artifact_paths`, `forbidden_prefixes`, `allowed_prefixes` (an
//!    allow-list) (`E_ACCEPT_MISSING_ARTIFACT`, as Go);
//! 4. `test_command`, 5. `lint_command` (`E_ACCEPT_TEST_FAIL`);
//! 6. `required_checkpoint_types` (`E_ACCEPT_MISSING_ARTIFACT`), 7. `max_budget_use`
//!    (`E_BUDGET_EXCEEDED`);
//! 8. `commands.<name>` for each extra command, in file order (`E_ACCEPT_TEST_FAIL`).
//!
//! A check that is not configured is `skipped`, never passed. `checks_run` counts the checks that
//! ran (not the skipped ones), so a config with exactly Go's v1 keys gives Go's count of 5; Go
//! always says 5 because it runs its defaults (`go test ./...`) when a key is absent. Any failure
//! makes the verdict "failed" (exit 5), whatever the reason code.

pub mod checks;
pub mod command;
pub mod config;
pub mod evidence;
pub mod outcome;

use std::fs::File;
use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::Serialize;

use crate::contract::{Error, ReasonCode, Result};
use crate::pack::manifest::FileDigest;
use config::AcceptConfig;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Passed,
    Failed,
    Skipped,
}

/// The result of one check.
#[derive(Clone, Debug, Serialize)]
pub struct CheckResult {
    pub check: String,
    pub status: Status,
    pub message: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub artifact: Option<String>,
    pub seconds: f64,
    /// The captured output excerpt (commands only); for JUnit, not for the JSON line.
    #[serde(skip)]
    pub output: String,
}

impl CheckResult {
    pub fn passed(check: &str, message: impl Into<String>) -> CheckResult {
        CheckResult::new(check, Status::Passed, message.into(), None, None)
    }

    pub fn skipped(check: &str, message: impl Into<String>) -> CheckResult {
        CheckResult::new(check, Status::Skipped, message.into(), None, None)
    }

    pub fn failed(check: &str, message: String, code: ReasonCode, artifact: Option<String>) -> CheckResult {
        CheckResult::new(check, Status::Failed, message, Some(code.as_str().to_owned()), artifact)
    }

    fn new(check: &str, status: Status, message: String, code: Option<String>, artifact: Option<String>) -> Self {
        CheckResult {
            check: check.to_owned(),
            status,
            message,
            reason_code: code,
            artifact,
            seconds: 0.0,
            output: String::new(),
        }
    }
}

/// Where to run.
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// The workspace artifacts and commands are relative to; else the pack's recorded workspace,
    /// else the current directory.
    pub workspace: Option<PathBuf>,
    /// Where command logs go (`<dir>/<check>.stdout.log`); else a temp dir removed afterwards.
    pub log_dir: Option<PathBuf>,
    /// Set when this process has just exported the pack (`accept run JOB`): the entries it wrote
    /// and the sha256 it computed of each. The pack is then not verified again:
    /// `schema_validity` is the exporter's (it checked every record against its schema as it
    /// packed it, and hashed every entry as it wrote it), and every entry acceptance reads is
    /// hashed as it is read and must match (docs/contracts/acceptance.md).
    pub written: Option<Vec<FileDigest>>,
}

/// What acceptance found.
#[derive(Clone, Debug)]
pub struct Outcome {
    pub job_id: String,
    pub workspace: PathBuf,
    pub checks: Vec<CheckResult>,
}

/// Run every check against the pack at `pack` (a file; `-` is the caller's to spill).
pub fn run(pack: &File, config: &AcceptConfig, opts: &Options) -> Result<Outcome> {
    let dup = || pack.try_clone().map_err(|e| Error::io("reopen jobpack", e));
    let mut checks = Vec::new();
    let started = Instant::now();
    let mut schema = match &opts.written {
        Some(files) => checks::schema_validity_of_export(files),
        None => checks::schema_validity(dup()?)?,
    };
    schema.seconds = started.elapsed().as_secs_f64();
    checks.push(schema);
    let ev = evidence::read(dup()?, opts.written.as_deref())?;
    let workspace = match (&opts.workspace, &ev.workspace) {
        (Some(w), _) => w.clone(),
        (None, Some(w)) => w.clone(),
        (None, None) => std::env::current_dir().map_err(|e| Error::io("current directory", e))?,
    };
    timed(&mut checks, || checks::required_artifacts(&config.required_artifacts, &ev, &workspace));
    timed(&mut checks, || checks::path_constraints(config.path_rules.as_ref(), &ev));

    let temp;
    let log_dir: &Path = match &opts.log_dir {
        Some(d) => d,
        None => {
            temp = tempfile::tempdir().map_err(|e| Error::io("create a temp dir for command logs", e))?;
            temp.path()
        }
    };
    let commands = [("test_command", config.test_command.as_ref()), ("lint_command", config.lint_command.as_ref())];
    for (name, check) in commands {
        checks.push(run_command(name, check, &workspace, log_dir)?);
    }
    timed(&mut checks, || checks::required_checkpoint_types(&config.required_checkpoint_types, &ev));
    timed(&mut checks, || checks::max_budget_use(config.max_budget_use, &ev));
    for (name, check) in &config.commands {
        checks.push(run_command(&format!("commands.{name}"), Some(check), &workspace, log_dir)?);
    }
    Ok(Outcome { job_id: ev.job_id, workspace, checks })
}

fn timed(checks: &mut Vec<CheckResult>, f: impl FnOnce() -> CheckResult) {
    let started = Instant::now();
    let mut result = f();
    result.seconds = started.elapsed().as_secs_f64();
    checks.push(result);
}

fn run_command(name: &str, check: Option<&config::CommandCheck>, cwd: &Path, log_dir: &Path) -> Result<CheckResult> {
    let Some(check) = check else {
        let key = name.strip_prefix("commands.").unwrap_or(name);
        return Ok(CheckResult::skipped(name, format!("not configured ({key})")));
    };
    let ran = command::run(name, check, cwd, log_dir)?;
    let mut result = if ran.passed {
        CheckResult::passed(name, format!("command passed: {}", check.command))
    } else {
        CheckResult::failed(name, ran.message, ReasonCode::AcceptTestFail, None)
    };
    result.seconds = ran.seconds;
    result.output = ran.output;
    Ok(result)
}
