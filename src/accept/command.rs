//! Running a check's command: `sh -c` (never a login shell, so no profile changes the result) in
//! the job's workspace, in its own process group, stopped at its timeout (SIGTERM, then SIGKILL
//! after a short grace), with stdout and stderr streamed to bounded log files (`run::process`).
//!
//! A failure message quotes the output: the first and the last KiB of each stream, with the number
//! of bytes left out in between, so a CI log shows how the command started and how it ended without
//! carrying megabytes. Nothing is held in memory but those excerpts.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::accept::config::CommandCheck;
use crate::contract::Result;
use crate::run::process::{self, Ending, Program, StepCommand, StopWhen};

/// Bytes quoted from the start and from the end of each stream.
pub const EXCERPT_BYTES: u64 = 1024;
/// Cap per log file (the log keeps the most recent output beyond it).
const LOG_CAP: u64 = 8 << 20;
const GRACE: Duration = Duration::from_millis(500);

/// How a command check ended.
#[derive(Clone, Debug)]
pub struct Ran {
    pub passed: bool,
    /// Why it failed, with the output excerpt; empty when it passed.
    pub message: String,
    /// The output excerpt (stdout then stderr), for JUnit's `<system-out>`.
    pub output: String,
    pub seconds: f64,
}

/// Run `check` in `cwd`, logging to `<log_dir>/<name>.{stdout,stderr}.log`.
pub fn run(name: &str, check: &CommandCheck, cwd: &Path, log_dir: &Path) -> Result<Ran> {
    let started = Instant::now();
    if check.command.trim().is_empty() {
        return Ok(Ran { passed: false, message: "command is empty".into(), output: String::new(), seconds: 0.0 });
    }
    let step = StepCommand {
        program: Program::Shell(check.command.clone()),
        cwd: cwd.to_path_buf(),
        env: Vec::new(),
        log_dir: log_dir.to_path_buf(),
        log_name: name.to_owned(),
        log_cap: LOG_CAP,
        deadline: Some(started + Duration::from_secs(check.timeout_seconds)),
        grace: GRACE,
        tee: false,
        tee_stdout_to_stderr: false,
        protocol: false,
        pass_stdin: false,
        terminal: false,
    };
    let outcome = process::run(&step, &mut StopWhen(|| None))?;
    let seconds = started.elapsed().as_secs_f64();
    let log = |stream: &str| log_dir.join(format!("{name}.{stream}.log"));
    let output = [("stdout", log("stdout")), ("stderr", log("stderr"))]
        .iter()
        .filter_map(|(label, path)| excerpt(path).filter(|e| !e.is_empty()).map(|e| format!("[{label}]\n{e}")))
        .collect::<Vec<_>>()
        .join("\n");
    let why = match &outcome.ending {
        Ending::Exited(0) => return Ok(Ran { passed: true, message: String::new(), output, seconds }),
        Ending::Exited(code) => format!("command failed (exit={code})"),
        Ending::TimedOut => format!("command timed out after {}s (timeout_seconds)", check.timeout_seconds),
        Ending::Signaled(sig) => format!("command killed by signal {sig}"),
        Ending::Stopped(reason) => format!("command stopped: {reason}"),
        Ending::FailedToStart(err) => format!("command could not start: {err}"),
    };
    let message = if output.is_empty() { format!("{why}: (no output)") } else { format!("{why}: {output}") };
    Ok(Ran { passed: false, message, output, seconds })
}

/// The first and last [`EXCERPT_BYTES`] of a log (the whole log when it is short), lossily UTF-8.
fn excerpt(path: &PathBuf) -> Option<String> {
    let mut file = File::open(path).ok()?;
    let len = file.metadata().ok()?.len();
    let rotated = {
        let mut p = path.clone().into_os_string();
        p.push(".1");
        Path::new(&p).exists()
    };
    let mut head = Vec::new();
    (&mut file).take(EXCERPT_BYTES * 2).read_to_end(&mut head).ok()?;
    if len <= EXCERPT_BYTES * 2 && !rotated {
        return Some(String::from_utf8_lossy(&head).trim_end().to_owned());
    }
    head.truncate(EXCERPT_BYTES as usize);
    let mut tail = Vec::new();
    file.seek(SeekFrom::Start(len.saturating_sub(EXCERPT_BYTES))).ok()?;
    file.read_to_end(&mut tail).ok()?;
    let gap = if rotated {
        "[... earlier output rotated away; the first KiB shown is from the kept log ...]".to_owned()
    } else {
        format!("[... {} bytes omitted ...]", len - 2 * EXCERPT_BYTES)
    };
    Some(format!("{}\n{gap}\n{}", String::from_utf8_lossy(&head), String::from_utf8_lossy(&tail).trim_end()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_output_is_quoted_head_and_tail() {
        let dir = tempfile::tempdir().unwrap();
        let check = CommandCheck { command: "seq 1 5000; echo bad >&2; exit 3".into(), timeout_seconds: 10 };
        let ran = run("t", &check, dir.path(), dir.path()).unwrap();
        assert!(!ran.passed);
        assert!(ran.message.starts_with("command failed (exit=3): [stdout]\n1\n2\n"), "{}", ran.message);
        assert!(ran.message.contains("bytes omitted"));
        assert!(ran.message.contains("4999\n5000\n[stderr]\nbad"));
        assert!(ran.message.len() < 3000);
    }

    #[test]
    fn empty_and_passing() {
        let dir = tempfile::tempdir().unwrap();
        let ok = run("ok", &CommandCheck { command: "echo hi".into(), timeout_seconds: 5 }, dir.path(), dir.path());
        assert!(ok.unwrap().passed);
        let empty = run("e", &CommandCheck { command: " ".into(), timeout_seconds: 5 }, dir.path(), dir.path());
        assert_eq!(empty.unwrap().message, "command is empty");
    }
}
