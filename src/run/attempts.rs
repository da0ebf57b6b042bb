//! A job's step attempts as its ledger records them, and where each attempt's output lives.
//!
//! The runner writes each attempt's output to `<job dir>/logs/<index:05>-<step>-<attempt>.<stream>.log`
//! (and `wrkr wrap` to `logs/wrap.<stream>.log`); a stream that reached its cap was rotated to
//! `.log.1` (see `run::log`), so one stream is up to two files, oldest first. `wrkr logs`, `wrkr
//! status` and the live progress line all read the same facts from here, so they cannot disagree
//! about which file belongs to which attempt.
//!
//! [`Attempts`] is fed records one at a time (a reader that tails the ledger keeps feeding it) and
//! keeps one small entry per attempt. [`tail_start`] finds where the last N lines of a stream begin
//! by reading backwards, so `--tail` costs what it prints, not the size of the log.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::job::status::outcome_in_words;
use crate::pack::records::WRAP_EVENT;
use crate::run::wrap::WRAP_LOG_NAME;
use crate::store::EventRecord;

/// The two streams a step's output is kept in, in the order they are shown.
pub const STREAMS: [&str; 2] = ["stdout", "stderr"];

/// One attempt of one step. The job state keeps the latest one (`job::outlook_facts`, in the
/// snapshot cache), built by the same constructors as the list here, so the two cannot disagree.
/// Its log name is derived on demand, not stored: the state applies every `adapter_step` as it is
/// appended, and most attempts are never asked where their logs are.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Attempt {
    pub step_index: u64,
    pub step_id: String,
    pub attempt: u64,
    /// When the attempt was recorded as started (ledger time).
    pub started_at: String,
    /// How it ended (`succeeded`, `failed`, ...); `None` while it runs or when its runner died.
    pub outcome: Option<String>,
    pub exit_code: Option<i64>,
    pub duration_ms: Option<u64>,
    /// A wrapped command's run (`wrkr wrap`), not a JobSpec step.
    pub wrap: bool,
}

impl Attempt {
    /// The attempt an `adapter_step` record starts; `None` when it names no step index and attempt.
    pub fn step_started(record: &EventRecord) -> Option<Attempt> {
        let payload = record.payload.as_ref()?;
        let number = |key: &str| payload.get(key).and_then(Value::as_u64);
        let (index, attempt) = (number("step_index")?, number("attempt")?);
        let step_id = payload.get("step_id").and_then(Value::as_str).unwrap_or_default().to_owned();
        Some(Attempt {
            step_index: index,
            step_id,
            attempt,
            started_at: record.created_at.clone(),
            outcome: None,
            exit_code: None,
            duration_ms: None,
            wrap: false,
        })
    }

    /// The one attempt of a wrapped command, started by a `WRAP_EVENT` record: attempt 1 of step 0.
    pub fn wrap_started(record: &EventRecord) -> Attempt {
        Attempt {
            step_index: 0,
            step_id: "wrap".to_owned(),
            attempt: 1,
            started_at: record.created_at.clone(),
            outcome: None,
            exit_code: None,
            duration_ms: None,
            wrap: true,
        }
    }

    /// Take in how it ended, from the payload of its `x-step_finished` or `x-wrap_finished`.
    pub fn finish(&mut self, payload: Option<&Map<String, Value>>) {
        let field = |key: &str| payload.and_then(|p| p.get(key));
        self.outcome = Some(field("outcome").and_then(Value::as_str).unwrap_or_default().to_owned());
        self.exit_code = field("exit_code").and_then(Value::as_i64);
        self.duration_ms = field("duration_ms").and_then(Value::as_u64);
    }

    /// The base name of its log files (without `.<stream>.log`), as the runner and wrap name them.
    pub fn log_name(&self) -> String {
        match self.wrap {
            true => WRAP_LOG_NAME.to_owned(),
            false => log_name(self.step_index, &self.step_id, self.attempt),
        }
    }

    /// Ended in a way a person has to look at: the step failed, timed out or hit a budget.
    pub fn failed(&self) -> bool {
        matches!(self.outcome.as_deref(), Some("failed" | "timed_out" | "stopped_budget"))
    }

    /// The files holding one stream of this attempt's output, oldest first (only those that exist).
    pub fn log_files(&self, job_dir: &Path, stream: &str) -> Vec<PathBuf> {
        let current = job_dir.join("logs").join(format!("{}.{stream}.log", self.log_name()));
        let mut rotated = current.clone().into_os_string();
        rotated.push(".1");
        [PathBuf::from(rotated), current].into_iter().filter(|p| p.is_file()).collect()
    }

    /// `failed, exit 3` / `running` / `succeeded`: how the attempt ended, for people.
    pub fn ending(&self) -> String {
        match (&self.outcome, self.exit_code) {
            (None, _) => "no end recorded".to_owned(),
            (Some(outcome), Some(code)) if outcome != "succeeded" => {
                format!("{}, exit {code}", outcome_in_words(outcome))
            }
            (Some(outcome), _) => outcome_in_words(outcome),
        }
    }
}

/// The file-name form of a step id, as the runner names its logs.
pub fn log_safe_id(step_id: &str) -> String {
    step_id.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '_' }).collect()
}

/// The base name of the log files of attempt `attempt` of step `index`.
pub fn log_name(index: u64, step_id: &str, attempt: u64) -> String {
    format!("{index:05}-{}-{attempt}", log_safe_id(step_id))
}

/// Every attempt the ledger records, in the order they started.
#[derive(Clone, Debug, Default)]
pub struct Attempts {
    pub list: Vec<Attempt>,
    /// How many steps the recorded JobSpec has (0 for a wrapped command or before it is seen).
    pub step_total: usize,
    /// The latest `progress` note a step reported, with the ledger time it was recorded.
    pub latest_note: Option<(String, String)>,
}

impl Attempts {
    /// Take in one ledger record (records must come in seq order).
    pub fn observe(&mut self, record: &EventRecord) {
        let payload = record.payload.as_ref();
        let text = |key: &str| payload.and_then(|p| p.get(key)).and_then(Value::as_str).unwrap_or_default().to_owned();
        let number = |key: &str| payload.and_then(|p| p.get(key)).and_then(Value::as_u64);
        match record.event_type.as_str() {
            "x-jobspec_recorded" => {
                self.step_total = payload
                    .and_then(|p| p.pointer("/jobspec/inputs/steps"))
                    .and_then(Value::as_array)
                    .map_or(0, Vec::len);
            }
            "adapter_step" => {
                let Some(started) = Attempt::step_started(record) else { return };
                if self.find(started.step_index, started.attempt).is_none() {
                    self.list.push(started);
                }
            }
            "x-step_finished" => {
                let (Some(index), Some(attempt)) = (number("step_index"), number("attempt")) else { return };
                if let Some(found) = self.find(index, attempt) {
                    found.finish(payload.and_then(Value::as_object));
                }
            }
            kind if kind == WRAP_EVENT => self.list.push(Attempt::wrap_started(record)),
            "x-wrap_finished" => {
                if let Some(found) = self.list.iter_mut().rev().find(|a| a.wrap) {
                    found.finish(payload.and_then(Value::as_object));
                }
            }
            "x-progress" => self.latest_note = Some((text("note"), record.created_at.clone())),
            _ => {}
        }
    }

    /// Searched from the end: the attempt asked about is nearly always one of the last.
    fn find(&mut self, index: u64, attempt: u64) -> Option<&mut Attempt> {
        self.list.iter_mut().rev().find(|a| a.step_index == index && a.attempt == attempt)
    }

    /// The attempt that started last.
    pub fn latest(&self) -> Option<&Attempt> {
        self.list.last()
    }
}

/// Where the last `lines` lines of the stream held in `files` (oldest first) begin: the index of
/// the file and the offset in it. A final `\n` ends the last line; it does not start another.
pub fn tail_start(files: &[PathBuf], lines: u64) -> io::Result<(usize, u64)> {
    const CHUNK: u64 = 64 * 1024;
    let mut newlines = 0u64;
    let mut at_the_end = true;
    let mut buf = vec![0u8; CHUNK as usize];
    for (i, path) in files.iter().enumerate().rev() {
        let mut file = File::open(path)?;
        let mut pos = file.metadata()?.len();
        if lines == 0 {
            return Ok((i, pos));
        }
        while pos > 0 {
            let take = pos.min(CHUNK);
            pos -= take;
            file.seek(SeekFrom::Start(pos))?;
            let chunk = &mut buf[..take as usize];
            file.read_exact(chunk)?;
            for (k, byte) in chunk.iter().enumerate().rev() {
                if *byte == b'\n' {
                    if at_the_end {
                        at_the_end = false;
                        continue;
                    }
                    newlines += 1;
                    if newlines == lines {
                        return Ok((i, pos + k as u64 + 1));
                    }
                }
                at_the_end = false;
            }
        }
    }
    Ok((0, 0))
}

/// Copy a stream to `out`, from `start` (as [`tail_start`] gives it) to its end. Returns the
/// offset reached in the last file, where a follower continues.
pub fn copy_stream(files: &[PathBuf], start: (usize, u64), out: &mut dyn Write) -> io::Result<u64> {
    let mut reached = 0;
    for (i, path) in files.iter().enumerate().skip(start.0) {
        let mut file = File::open(path)?;
        reached = if i == start.0 { start.1 } else { 0 };
        file.seek(SeekFrom::Start(reached))?;
        reached += io::copy(&mut file, out)?;
    }
    Ok(reached)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stream(dir: &Path, parts: &[&str]) -> Vec<PathBuf> {
        parts
            .iter()
            .enumerate()
            .map(|(i, text)| {
                let path = dir.join(format!("part{i}"));
                std::fs::write(&path, text).unwrap();
                path
            })
            .collect()
    }

    fn tail(files: &[PathBuf], n: u64) -> String {
        let mut out = Vec::new();
        copy_stream(files, tail_start(files, n).unwrap(), &mut out).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn tail_counts_lines_across_a_rotated_pair() {
        let dir = tempfile::tempdir().unwrap();
        let files = stream(dir.path(), &["a\nb\nc", "d\ne\n"]);
        assert_eq!(tail(&files, 1), "e\n");
        assert_eq!(tail(&files, 2), "cd\ne\n");
        assert_eq!(tail(&files, 3), "b\ncd\ne\n");
        assert_eq!(tail(&files, 99), "a\nb\ncd\ne\n");
        assert_eq!(tail(&files, 0), "");
    }

    #[test]
    fn tail_without_a_final_newline() {
        let dir = tempfile::tempdir().unwrap();
        let files = stream(dir.path(), &["one\ntwo\nthree"]);
        assert_eq!(tail(&files, 1), "three");
        assert_eq!(tail(&files, 2), "two\nthree");
    }
}
