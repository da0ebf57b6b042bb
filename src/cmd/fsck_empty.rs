//! fsck's `empty_job` finding: a job directory without a single record in it.
//!
//! A submit that fails before its first batch is durable (a write or fsync error, a full disk)
//! leaves `jobs/<id>/` with an `events.jsonl` of 0 bytes and a `ledger.lock` holding the
//! pending-batch record of the batch that never landed; one that fails between creating the
//! directory and creating the ledger leaves the directory empty. No reader takes either for a job
//! (`status`: job not found) and submitting the same id again works, so this is not corruption but
//! litter: a warning of its own kind, which `--repair` removes.
//!
//! Removing a job directory is the one repair that deletes more than a cache, so it is guarded.
//! It happens only when every entry is a regular file holding nothing (a pending-batch record in
//! `ledger.lock` counts as nothing: it describes bytes that never reached the empty ledger), no
//! writer holds the ledger's lock, and nothing in the directory changed in the last
//! [`STALE_AFTER`] (a submit between creating the ledger and taking its lock). The checks are made
//! again under the ledger's lock, taken without waiting, and the directory leaves the store as a
//! pruned job does (`retention::discard`: one durable rename into the trash, then a delete), so a
//! crash never leaves half of it, and a writer that opened the ledger before the rename finds the
//! job gone when it gets the lock (`store::lock`) rather than acknowledging records into the
//! trash.

use std::fs::{File, TryLockError};
use std::path::Path;
use std::time::SystemTime;

use crate::cmd::fsck::{Finding, Repair};
use crate::contract::{Error, Result};
use crate::store::atomic::STALE_AFTER;
use crate::store::ledger::LEDGER_FILE;
use crate::store::lock::LOCK_FILE;
use crate::store::retention;
use crate::store::{FsStore, JobId};

pub(crate) const CHECK: &str = "empty_job";

/// The `empty_job` finding for `dir` when it holds no record: an empty ledger, or no ledger and
/// nothing else with content. `None` when the ledger has bytes, or is missing from a directory
/// that holds something: that is `ledger_missing` damage, for a person to look at.
pub(crate) fn finding(id: &str, dir: &Path) -> Result<Option<Finding>> {
    let survey = survey(dir)?;
    let has_ledger = survey.files.iter().any(|name| name == LEDGER_FILE);
    if survey.has_records || (!has_ledger && survey.kept.is_some()) {
        return Ok(None);
    }
    let files = survey.files.join(", ");
    let mut message = format!(
        "no record: an empty job directory ({}), as a submit that failed before its first record was durable leaves",
        if files.is_empty() { "no files".to_owned() } else { files }
    );
    let held = lock_held(dir)?;
    let left_because =
        survey.kept.clone().or_else(|| held.then(|| "a writer holds its lock".to_owned())).or_else(|| {
            (!old_enough(survey.newest)).then(|| format!("it changed in the last {} s", STALE_AFTER.as_secs()))
        });
    if let Some(why) = &left_because {
        message.push_str(&format!("; left as it is: {why}"));
    }
    Ok(Some(
        Finding::new(id, CHECK, "warning", left_because.is_none(), message)
            .with("files", survey.files)
            .with("lock_held", held),
    ))
}

/// `--repair`: the checks again, under the ledger's lock (not waited for), then the directory
/// into the trash and deleted.
pub(crate) fn remove(store: &FsStore, job: &JobId) -> Result<Repair> {
    let dir = store.job_dir(job);
    let ledger = match File::open(dir.join(LEDGER_FILE)) {
        Ok(file) => Some(file),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => return Err(Error::io(format!("open the ledger of {job}"), e)),
    };
    if let Some(ledger) = &ledger {
        match ledger.try_lock() {
            Ok(()) => {}
            Err(TryLockError::WouldBlock) => return Ok(Repair::Declined("a writer holds its lock".to_owned())),
            Err(TryLockError::Error(e)) => return Err(Error::io(format!("lock the ledger of {job}"), e)),
        }
    }
    let survey = survey(&dir)?;
    if let Some(why) = survey.kept {
        return Ok(Repair::Declined(why));
    }
    if survey.has_records {
        return Ok(Repair::Declined("a record was written since fsck looked".to_owned()));
    }
    if !old_enough(survey.newest) {
        return Ok(Repair::Declined(format!("it changed in the last {} s", STALE_AFTER.as_secs())));
    }
    retention::discard(&dir, &retention::trash_dir(store), ledger)?;
    Ok(Repair::Done(format!("removed the empty job directory {}", dir.display())))
}

/// What an empty-looking job directory holds.
struct Survey {
    /// Every entry's name, sorted.
    files: Vec<String>,
    /// The ledger has bytes: not litter at all.
    has_records: bool,
    /// Why the directory must stay although its ledger is empty (an entry with content).
    kept: Option<String>,
    /// The newest modification time of the directory and its entries.
    newest: SystemTime,
}

fn survey(dir: &Path) -> Result<Survey> {
    let io = |what: &str, e| Error::io(format!("{what} {}", dir.display()), e);
    let mut newest = std::fs::metadata(dir).and_then(|m| m.modified()).map_err(|e| io("stat", e))?;
    let mut files = Vec::new();
    let mut has_records = false;
    let mut kept = None;
    for entry in std::fs::read_dir(dir).map_err(|e| io("list", e))? {
        let entry = entry.map_err(|e| io("list", e))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let meta = entry.path().symlink_metadata().map_err(|e| io("stat an entry of", e))?;
        newest = newest.max(meta.modified().map_err(|e| io("stat an entry of", e))?);
        if name == LEDGER_FILE {
            has_records |= meta.len() > 0;
        } else if !meta.is_file() {
            kept.get_or_insert_with(|| format!("{name} is not a regular file"));
        } else if meta.len() > 0 && !(name == LOCK_FILE && only_a_pending_record(&entry.path())) {
            kept.get_or_insert_with(|| format!("{name} holds {} byte(s)", meta.len()));
        }
        files.push(name);
    }
    files.sort();
    Ok(Survey { files, has_records, kept, newest })
}

/// `ledger.lock` holds the `start end` record of a batch (`store::lock`) and nothing else.
fn only_a_pending_record(path: &Path) -> bool {
    let Ok(text) = std::fs::read(path) else { return false };
    let words: Vec<&[u8]> = text.split(|b| b.is_ascii_whitespace()).filter(|w| !w.is_empty()).collect();
    text.len() <= 64 && words.len() == 2 && words.iter().all(|w| w.iter().all(u8::is_ascii_digit))
}

/// Whether a writer holds the lock of the ledger in `dir` (taken and released at once).
fn lock_held(dir: &Path) -> Result<bool> {
    let ledger = match File::open(dir.join(LEDGER_FILE)) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(Error::io(format!("open {}", dir.join(LEDGER_FILE).display()), e)),
    };
    match ledger.try_lock() {
        Ok(()) => Ok(false),
        Err(TryLockError::WouldBlock) => Ok(true),
        Err(TryLockError::Error(e)) => Err(Error::io(format!("lock {}", dir.join(LEDGER_FILE).display()), e)),
    }
}

fn old_enough(newest: SystemTime) -> bool {
    newest.elapsed().is_ok_and(|age| age >= STALE_AFTER)
}
