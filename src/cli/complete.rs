//! What the shell completions know about wrkr beyond its flags: what each command's positional
//! arguments are (a job id, a step, a checkpoint, a subcommand word, a file), what a flag's value
//! can be, and the hidden `wrkr --complete WHAT [JOB]` the scripts call to ask the store for job
//! ids, step ids and checkpoint ids.
//!
//! The positional table is kept here, beside the scripts that read it, rather than in every
//! command's declaration; a unit test checks that every name in it is a command in the table.
//! `--complete` never fails loudly: a shell completing a word has nowhere to show an error, so it
//! prints what it can (nothing, when the store or job does not exist) and exits 0.

use std::ffi::OsString;

use crate::cli::io::Io;
use crate::contract::Result;
use crate::job::Status;
use crate::run::attempts::Attempts;
use crate::run::outlook::Outlook;
use crate::store::{JobId, Store};

/// Each command's positional arguments, in order. A word is a kind (`job`, `step`, `cp`,
/// `pending`, `file`, `jobfile` (a job id or a file), `command`) or literal subcommand words
/// separated by `|`. Commands not listed complete files.
pub const POSITIONALS: &[(&str, &str)] = &[
    ("approve", "job"),
    ("bridge", "work-item job"),
    ("budget", "show|raise|report job"),
    ("cancel", "job"),
    ("checkpoint", "list|show|emit job cp"),
    ("events", "job"),
    ("export", "job"),
    ("fsck", "job"),
    ("help", "command"),
    ("job", "inspect|diff jobfile jobfile"),
    ("lease", "acquire|heartbeat|release|show job"),
    ("logs", "job step"),
    ("pause", "job"),
    ("receipt", "jobfile"),
    ("report", "github jobfile"),
    ("resume", "job"),
    ("status", "job"),
    ("submit", "file"),
    ("verify", "jobfile"),
];

/// Flag values the completions offer, by long flag name: fixed words, or `@pending` (the
/// checkpoints of the job on the command line that wait for a decision).
pub fn flag_values() -> Vec<(&'static str, String)> {
    let statuses: Vec<&str> = Status::ALL.iter().map(|s| s.as_str()).collect();
    vec![
        ("status", statuses.join(" ")),
        ("type", "plan progress decision-needed blocked completed".to_owned()),
        ("template", "github jira".to_owned()),
        ("checkpoint", "@pending".to_owned()),
        ("capture", "reference-only raw".to_owned()),
    ]
}

/// `wrkr --complete jobs|steps JOB|checkpoints JOB|pending JOB`: one id per line.
pub fn run(words: Vec<OsString>, store: Option<&std::path::Path>, io: &mut Io) -> Result<()> {
    let words: Vec<String> = words.into_iter().map(|w| w.to_string_lossy().into_owned()).collect();
    // Either store; one that cannot be opened completes nothing (a completion never errors).
    let Ok(store) = crate::store::open(store) else { return Ok(()) };
    let ids = match words.iter().map(String::as_str).collect::<Vec<_>>().as_slice() {
        ["jobs", ..] => store
            .list_jobs()
            .map(|jobs| jobs.into_iter().map(|(id, _)| id.as_str().to_owned()).collect())
            .unwrap_or_default(),
        ["steps", job] => steps(&store, job),
        ["checkpoints", job] => JobId::parse(job)
            .and_then(|job| crate::cmd::checkpoint::checkpoints(&store, &job))
            .map(|list| list.iter().filter_map(|cp| cp["checkpoint_id"].as_str().map(str::to_owned)).collect())
            .unwrap_or_default(),
        ["pending", job] => JobId::parse(job)
            .and_then(|job| Outlook::load(&store, &job))
            .map(|outlook| outlook.pending.into_iter().map(|p| p.checkpoint_id).collect())
            .unwrap_or_default(),
        _ => Vec::new(),
    };
    ids.iter().try_for_each(|id: &String| io.line(id))
}

/// The steps of a job: those of its recorded spec that have run, in order, each once.
fn steps(store: &dyn Store, job: &str) -> Vec<String> {
    let Ok(job) = JobId::parse(job) else { return Vec::new() };
    let mut attempts = Attempts::default();
    let read = store.read_events(&job, 1, &mut |record, _| {
        attempts.observe(record);
        Ok(())
    });
    if read.is_err() {
        return Vec::new();
    }
    let mut ids: Vec<String> = Vec::new();
    for attempt in attempts.list {
        if !ids.contains(&attempt.step_id) {
            ids.push(attempt.step_id);
        }
    }
    ids
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_command_named_is_in_the_table() {
        for (name, _) in POSITIONALS {
            assert!(crate::cli::table::find(name).is_some(), "{name} is not a command");
        }
    }
}
