//! The per-job write lock: an advisory `flock` on the ledger's own open file
//! (`jobs/<id>/events.jsonl`), held for one append.
//!
//! The lock lives on the ledger's inode, not on a separate lock file, so mutual exclusion does
//! not depend on any file staying put: an operator who deletes `ledger.lock` (the Go
//! implementation taught people to remove stale lock files) used to let two writers hold "the
//! lock" on two different inodes at once, and acknowledged appends were lost (issue 14). Deleting
//! the ledger itself deletes the job, so locking it adds no new way to break the store.
//! `flock` belongs to the open file description: a `dup` of the ledger fd (`try_clone`) shares
//! the lock, and closing it does not release it. The kernel drops the lock when its holder exits,
//! however it exits (SIGKILL included), so there is no stale lock to reclaim.
//! Locking an inode has one consequence: a writer that opened the ledger, then waited, may get
//! the lock on a file that is no longer the job's ledger (`wrkr store prune` moved the job into
//! the trash under the lock meanwhile). Its records would be acknowledged and then deleted, so
//! after locking, [`JobLock::acquire`] checks that the path still names the locked inode and
//! otherwise answers "job not found".
//! Waiting is bounded: `try_lock` with a growing, jittered sleep until a deadline (10 s, or
//! `WRKR_LOCK_TIMEOUT_MS`), then `E_LEASE_CONFLICT` with `busy: "store_lock"` — the job is busy,
//! retrying later is safe. (The Go implementation's `append.lock` is a different file with a
//! different protocol; the two must not write one store at the same time.)
//!
//! `ledger.lock` now only carries the *pending batch* record `start end`, written before each
//! ledger write. A writer killed in the middle of a multi-line write can leave whole lines of a
//! batch it never acknowledged; the next writer sees the record, finds the ledger between `start`
//! and `end`, and truncates back to `start`, so a batch is all or nothing. The file is opened by
//! path after the ledger lock is held (and recreated if it was deleted). The record is not
//! fsynced: after a power loss, or if the file is deleted while a writer is killed mid-batch, it
//! may be missing while part of an unacknowledged batch survived as complete lines.
//!
//! A store that appended to a job before keeps its ledger and record file open for the next
//! append (`store::held`); [`JobLock::acquire_held`] locks the kept ledger and makes the same
//! checks as `acquire` (the path still names it; a deleted record file is opened again by path).

use std::fs::{File, OpenOptions, TryLockError};
use std::os::unix::fs::{FileExt, MetadataExt, OpenOptionsExt};
use std::path::Path;
use std::time::{Duration, Instant};

use crate::contract::{Error, ReasonCode, Result};
use crate::store::ledger::LEDGER_FILE;

/// The pending-batch record file (historically also the flock target, hence the name).
pub const LOCK_FILE: &str = "ledger.lock";
const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// The pending-batch record of a job whose ledger lock is held. The ledger lock itself is released
/// when the ledger file it was taken on is closed.
pub struct JobLock {
    record: File,
}

/// The batch the previous lock holder was writing: ledger bytes `start..end`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PendingBatch {
    pub start: u64,
    pub end: u64,
}

impl JobLock {
    /// Lock the open `ledger` (waiting up to the deadline), then open (creating if needed)
    /// `dir/ledger.lock`. Returns whether the record file was new (empty).
    pub fn acquire(dir: &Path, job_id: &str, ledger: &File) -> Result<(JobLock, bool)> {
        lock_ledger(ledger, dir, job_id)?;
        if !still_at(ledger, &dir.join(LEDGER_FILE)) {
            return Err(Error::not_found("job not found: it was removed while this writer waited for its lock")
                .with("job_id", job_id)
                .with("store_dir", dir.display().to_string()));
        }
        let (record, created) = open_record(dir)?;
        Ok((JobLock { record }, created))
    }

    /// As [`JobLock::acquire`], for a ledger this process kept open since its previous append,
    /// with that append's record file (`store::held`). `Ok(None)`, with the ledger unlocked, when
    /// the path no longer names the held ledger: the caller opens it afresh. A record file that
    /// was deleted meanwhile is opened (and created) by path again, as `acquire` would.
    pub fn acquire_held(dir: &Path, job_id: &str, ledger: &File, record: File) -> Result<Option<(JobLock, bool)>> {
        lock_ledger(ledger, dir, job_id)?;
        if !still_at(ledger, &dir.join(LEDGER_FILE)) {
            let _ = ledger.unlock();
            return Ok(None);
        }
        if record.metadata().is_ok_and(|m| m.nlink() > 0) {
            return Ok(Some((JobLock { record }, false)));
        }
        match open_record(dir) {
            Ok((record, created)) => Ok(Some((JobLock { record }, created))),
            Err(err) => {
                let _ = ledger.unlock();
                Err(err)
            }
        }
    }

    /// The record file, to keep open for the next append (`store::held`).
    pub fn into_record(self) -> File {
        self.record
    }

    pub fn pending(&self) -> Option<PendingBatch> {
        let mut buf = [0u8; 64];
        let n = self.record.read_at(&mut buf, 0).ok()?;
        let text = std::str::from_utf8(&buf[..n]).ok()?;
        let mut words = text.split_whitespace();
        let start = words.next()?.parse().ok()?;
        let end = words.next()?.parse().ok()?;
        Some(PendingBatch { start, end })
    }

    /// Record the batch about to be written (page cache only; see the module notes).
    pub fn set_pending(&self, batch: PendingBatch) -> Result<()> {
        let text = format!("{:020} {:020}\n", batch.start, batch.end);
        self.record.write_all_at(text.as_bytes(), 0).map_err(|e| Error::io("write ledger.lock", e))
    }
}

/// Open `dir/ledger.lock`, creating it if it is missing; whether it holds nothing yet.
///
/// One open that creates the file if it is missing: an operator may delete it at any moment, and
/// a look-then-open pair (`create_new`, then a plain open on "exists") failed when the delete fell
/// between the two. A record file that holds nothing yet counts as created, so its directory entry
/// is synced (at worst once more than needed, after a crash).
fn open_record(dir: &Path) -> Result<(File, bool)> {
    let path = dir.join(LOCK_FILE);
    let record = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o600)
        .open(&path)
        .map_err(|e| Error::io(format!("open {}", path.display()), e))?;
    let created = record.metadata().map_err(|e| Error::io(format!("stat {}", path.display()), e))?.len() == 0;
    Ok((record, created))
}

/// Whether `path` names the open `ledger` (same device and inode). Stat errors count as moved.
fn still_at(ledger: &File, path: &Path) -> bool {
    match (ledger.metadata(), std::fs::metadata(path)) {
        (Ok(locked), Ok(named)) => locked.dev() == named.dev() && locked.ino() == named.ino(),
        _ => false,
    }
}

/// `flock` the ledger, retrying with a growing jittered sleep until the deadline.
pub fn lock_ledger(ledger: &File, dir: &Path, job_id: &str) -> Result<()> {
    let timeout = timeout();
    let started = Instant::now();
    let mut sleep = Duration::from_micros(50);
    let mut attempt: u64 = 0;
    loop {
        match ledger.try_lock() {
            Ok(()) => return Ok(()),
            Err(TryLockError::WouldBlock) => {}
            Err(TryLockError::Error(e)) => {
                return Err(Error::io(format!("lock the ledger in {}", dir.display()), e));
            }
        }
        let waited = started.elapsed();
        if waited >= timeout {
            return Err(Error::new(ReasonCode::LeaseConflict, format!("job {job_id} is busy: its store lock is held"))
                .with("job_id", job_id)
                .with("busy", "store_lock")
                .with("waited_ms", waited.as_millis() as u64)
                .with_hint("another wrkr process is appending to this job; retry later"));
        }
        attempt += 1;
        // Jitter from the attempt number and pid keeps waiting processes from polling in step.
        let jitter = Duration::from_micros((attempt * 7919 + u64::from(std::process::id())) % 97);
        std::thread::sleep((sleep + jitter).min(timeout - waited));
        sleep = (sleep * 2).min(Duration::from_millis(4));
    }
}

pub fn timeout() -> Duration {
    std::env::var("WRKR_LOCK_TIMEOUT_MS")
        .ok()
        .and_then(|v| v.trim().parse::<u64>().ok())
        .map_or(DEFAULT_TIMEOUT, Duration::from_millis)
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicBool, Ordering};

    use super::*;

    // An operator's `rm ledger.lock` may land at any moment, also between a writer's look for the
    // record file and its open of it: no acquire may fail because of it (a `checkpoint emit` from a
    // step failed with "open ledger.lock: No such file or directory" under load).
    #[test]
    fn the_record_file_deleted_at_any_moment_never_fails_an_acquire() {
        let dir = tempfile::TempDir::new().unwrap();
        let ledger = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(dir.path().join(LEDGER_FILE))
            .unwrap();
        let record = dir.path().join(LOCK_FILE);
        let done = AtomicBool::new(false);
        std::thread::scope(|scope| {
            scope.spawn(|| {
                while !done.load(Ordering::Relaxed) {
                    let _ = std::fs::remove_file(&record);
                }
            });
            let failures = (0..20_000)
                .filter(|_| {
                    let acquired = JobLock::acquire(dir.path(), "job_x", &ledger);
                    let _ = ledger.unlock();
                    acquired.is_err()
                })
                .count();
            done.store(true, Ordering::Relaxed);
            assert_eq!(failures, 0, "acquires failed while the record file was being deleted");
        });
    }
}
