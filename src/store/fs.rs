//! The filesystem backend of [`Store`]: one directory per job under `<root>/jobs/`.
//!
//! Write path (under the job's lock, see `lock.rs`):
//! 1. roll back a batch the previous holder left half-written, or truncate a torn last line;
//! 2. find the tail by reading backwards; derive the state from the snapshot (if it proves its
//!    position) plus the records after it, else by replaying the whole ledger;
//! 3. check the fence, run the plan, check each planned event against the state;
//! 4. record the pending batch in `ledger.lock`, `pwrite` the whole batch at the tail in one call,
//!    `fdatasync`; only then is anything acknowledged. A failed write or fsync truncates the
//!    ledger back to where the batch started (an error means "not in the ledger", so a retry
//!    cannot duplicate it);
//! 5. refresh the snapshot (cache durability) when the batch changed status or lease, or every
//!    [`SNAPSHOT_EVERY`] events, so that no reader replays more than that many records.
//!
//! New files and directories are followed by an fsync of their directory. Read paths take no lock;
//! they stop before a batch that is still being written or was left half-written (the pending
//! record tells them where it starts) and before a torn last line.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fs::{File, OpenOptions};
use std::io::ErrorKind;
use std::os::unix::fs::{DirBuilderExt, FileExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use crate::contract::{Error, ReasonCode, Result};
use crate::job::JobState;
use crate::json::scan::Scan;
use crate::store::atomic::{self, Durability, sync_dir};
use crate::store::derived::Derived;
use crate::store::held::HeldLedger;
use crate::store::import::{ImportedLedger, job_exists};
use crate::store::ledger::{EventRecord, LEDGER_FILE, LedgerReader, Position, Tail, previous_newline};
use crate::store::lock::{JobLock, LOCK_FILE, PendingBatch};
use crate::store::snapshot::Snapshot;
use crate::store::{AppendOptions, Appended, JobId, LineSink, Plan, Sink, Store, job_not_found};

mod append;

/// A reader never replays more than this many records past the snapshot.
pub const SNAPSHOT_EVERY: u64 = 128;

pub struct FsStore {
    root: PathBuf,
    /// Where the last read of each job ended, so that a follower does not rescan the ledger.
    read_positions: RefCell<HashMap<JobId, Remembered>>,
    /// The state derived at this store's last append to each job (see `derived.rs`).
    derived: RefCell<HashMap<JobId, Derived>>,
    /// The ledger of the job this store last appended to, kept open (see `held.rs`).
    held: RefCell<Option<HeldLedger>>,
}

/// Where this store's last read or append of a job ended, and where its last append began. A
/// caller that appends (a lease) without reading its own records back reads from before them
/// next: the batch start is then the place to begin, not the start of the ledger (a runner
/// re-read and re-parsed its whole JobSpec line after taking its lease).
#[derive(Clone, Copy)]
struct Remembered {
    end: Position,
    batch_start: Option<Position>,
}

impl FsStore {
    pub fn new(root: PathBuf) -> FsStore {
        FsStore {
            root,
            read_positions: RefCell::new(HashMap::new()),
            derived: RefCell::new(HashMap::new()),
            held: RefCell::new(None),
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn job_dir(&self, job: &JobId) -> PathBuf {
        self.root.join("jobs").join(job.as_str())
    }

    /// `job not found`, naming the store it was looked for in.
    fn not_found(&self, job: &JobId) -> Error {
        job_not_found(job).with("store", self.root.display().to_string())
    }

    pub(super) fn open_for_read(&self, job: &JobId) -> Result<(PathBuf, File, Tail)> {
        let dir = self.job_dir(job);
        let file = match File::open(dir.join(LEDGER_FILE)) {
            Ok(f) => f,
            Err(e) if e.kind() == ErrorKind::NotFound => return Err(self.not_found(job)),
            Err(e) => return Err(Error::io(format!("open ledger of {job}"), e)),
        };
        let tail = Tail::read(&file).map_err(|e| Error::io("read ledger tail", e))?;
        // Stop before a batch that is being written, or was left half-written by a killed writer
        // (the next writer rolls it back). Read the pending record *after* the tail.
        let pending = read_pending(&dir);
        let tail = match pending {
            Some(p) if p.start < tail.file_len && tail.file_len < p.end => {
                Tail::read_up_to(&file, p.start).map_err(|e| Error::io("read ledger tail", e))?
            }
            _ => tail,
        };
        Ok((dir, file, tail))
    }

    /// A reader of `job`'s complete records from the latest known position before `from_seq`
    /// (remembered from the last read, or the snapshot's), and the tail it stops at.
    fn reader_from(&self, job: &JobId, from_seq: u64) -> Result<(LedgerReader, Tail)> {
        let (dir, file, tail) = self.open_for_read(job)?;
        let remembered = self.read_positions.borrow().get(job).copied();
        let usable = |p: &Position| p.seq < from_seq && p.offset <= tail.complete_end && proves_position(&file, *p);
        let start = remembered
            .map(|r| r.end)
            .filter(usable)
            .or_else(|| remembered.and_then(|r| r.batch_start).filter(usable))
            .or_else(|| Snapshot::load(&dir, job.as_str()).map(|s| s.position()).filter(usable))
            .unwrap_or_default();
        let reader = LedgerReader::new(file, start, tail.complete_end).map_err(|e| Error::io("read ledger", e))?;
        Ok((reader, tail))
    }

    /// A read from `from_seq` that has nothing to return, answered without opening the ledger: the
    /// held ledger (`held.rs`) is still the job's and ends exactly where this store's last read or
    /// append of it ended, before `from_seq`. What such a read returns (the last seq before
    /// `from_seq`); `None` when the ordinary read must answer.
    fn nothing_new(&self, job: &JobId, from_seq: u64) -> Option<u64> {
        let held = self.held.borrow();
        let held = held.as_ref().filter(|h| &h.job == job)?;
        let end = self.read_positions.borrow().get(job).map(|r| r.end).filter(|p| p.seq >= 1 && p.seq < from_seq)?;
        let len = held.len_if_at(&self.job_dir(job).join(LEDGER_FILE))?;
        (len == end.offset).then(|| end.seq.max(from_seq - 1))
    }

    /// After a read: remember where it ended; the last seq seen (a job without records is not found).
    fn reader_done(&self, job: &JobId, from_seq: u64, reader: &LedgerReader, tail: &Tail) -> Result<u64> {
        let end = reader.position();
        if end.seq == 0 && tail.last.is_none() {
            return Err(self.not_found(job));
        }
        self.read_positions.borrow_mut().insert(job.clone(), Remembered { end, batch_start: None });
        Ok(end.seq.max(from_seq.saturating_sub(1)))
    }

    /// The state at `tail` of the open ledger `file` of `job` (in `dir`); fills the snapshot
    /// cache when it was far behind.
    pub(super) fn state_of(&self, job: &JobId, dir: &Path, file: &File, tail: &Tail) -> Result<JobState> {
        let (state, position, snapshot_seq) = self.derive(job, dir, file, tail)?;
        if position.seq == 0 {
            return Err(self.not_found(job));
        }
        if position.seq - snapshot_seq >= SNAPSHOT_EVERY {
            // Fill the cache for the next reader; a consistent snapshot is valid whoever writes it.
            Snapshot::of(&state, position).save(dir);
        }
        Ok(state)
    }

    /// The state at `tail`, the position it ends at, and the seq of the snapshot it started from.
    fn derive(&self, job: &JobId, dir: &Path, file: &File, tail: &Tail) -> Result<(JobState, Position, u64)> {
        let tail_seq = match &tail.last {
            None => 0,
            Some((_, line)) => match EventRecord::parse(line) {
                Ok(record) => record.seq,
                // Replaying from the start finds the line number of the damage.
                Err(_) => return self.replay(job, file, JobState::new(job.as_str()), Position::default(), tail),
            },
        };
        if let Some(snap) = Snapshot::load(dir, job.as_str())
            && snap.last_seq <= tail_seq
            && snap.ledger_offset <= tail.complete_end
        {
            if snap.last_seq == tail_seq && snap.ledger_offset == tail.complete_end {
                return Ok((snap.state.clone(), snap.position(), snap.last_seq));
            }
            if proves_position(file, snap.position()) {
                let (state, position, _) = self.replay(job, file, snap.state.clone(), snap.position(), tail)?;
                return Ok((state, position, snap.last_seq));
            }
        }
        self.replay(job, file, JobState::new(job.as_str()), Position::default(), tail)
    }

    fn replay(
        &self,
        job: &JobId,
        file: &File,
        mut state: JobState,
        from: Position,
        tail: &Tail,
    ) -> Result<(JobState, Position, u64)> {
        let start_seq = from.seq;
        let file = file.try_clone().map_err(|e| Error::io("open ledger", e))?;
        let mut reader = LedgerReader::new(file, from, tail.complete_end).map_err(|e| Error::io("read ledger", e))?;
        while let Some((record, _)) = reader.next_record()? {
            state.apply(&record).map_err(|e| e.context(format!("ledger line {}", reader.position().lines)))?;
        }
        let position = reader.position();
        if let Some((start, _)) = &tail.last
            && position.offset <= *start
        {
            return Err(Error::new(ReasonCode::StoreCorrupt, format!("ledger of {job} changed while it was read"))
                .with("job_id", job.as_str()));
        }
        Ok((state, position, start_seq))
    }
}

/// Whether the ledger line that ends just before `position.offset` holds `position.seq`.
fn proves_position(file: &File, position: Position) -> bool {
    let Some(newline) = position.offset.checked_sub(1) else { return false };
    let mut last = [0u8; 1];
    if file.read_exact_at(&mut last, newline).is_err() || last[0] != b'\n' {
        return false;
    }
    let Ok(before) = previous_newline(file, newline) else { return false };
    let start = before.map_or(0, |p| p + 1);
    let mut line = vec![0; (newline - start) as usize];
    file.read_exact_at(&mut line, start).is_ok() && EventRecord::parse(&line).is_ok_and(|r| r.seq == position.seq)
}

fn read_pending(dir: &Path) -> Option<PendingBatch> {
    let file = File::open(dir.join(LOCK_FILE)).ok()?;
    let mut buf = [0u8; 64];
    let n = file.read_at(&mut buf, 0).ok()?;
    let mut words = std::str::from_utf8(&buf[..n]).ok()?.split_whitespace();
    Some(PendingBatch { start: words.next()?.parse().ok()?, end: words.next()?.parse().ok()? })
}

fn create_dir_synced(dir: &Path) -> Result<()> {
    match std::fs::DirBuilder::new().mode(0o700).create(dir) {
        Ok(()) => {
            let parent = dir.parent().unwrap_or(Path::new("."));
            sync_dir(parent).map_err(|e| Error::io(format!("fsync {}", parent.display()), e))
        }
        Err(e) if e.kind() == ErrorKind::AlreadyExists => Ok(()),
        Err(e) => Err(Error::io(format!("create {}", dir.display()), e)),
    }
}

/// Create `dir` and any missing parents 0700 (job files may hold secrets: step output, specs).
/// Directories that exist keep their mode.
pub fn private_dir_all(dir: &Path) -> std::io::Result<()> {
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir)
}

fn fatal(what: &str, job: &JobId, err: std::io::Error) -> Error {
    Error::generic(format!("{what} of the ledger of {job} failed: {err}; the batch is not acknowledged"))
        .with("job_id", job.as_str())
        .with_hint("not retried: a failed fsync leaves the page cache in an unknown state; the next append recovers")
}

impl Store for FsStore {
    fn local_job_dir(&self, job: &JobId) -> Option<PathBuf> {
        Some(self.job_dir(job))
    }

    fn append(&self, job: &JobId, options: AppendOptions, plan: Plan<'_>) -> Result<Appended> {
        let dir = self.job_dir(job);
        // The ledger this store appended to last time, when it is this job's and still its ledger.
        let held = self.held.borrow_mut().take().filter(|h| &h.job == job);
        let relocked = match held {
            Some(held) => JobLock::acquire_held(&dir, job.as_str(), &held.file, held.record)?
                .map(|(lock, created)| (held.file, lock, created)),
            None => None,
        };
        let (file, lock, new_entry) = match relocked {
            Some(locked) => locked,
            None => self.open_and_lock(job, &dir, options)?,
        };
        if new_entry {
            sync_dir(&dir).map_err(|e| Error::io(format!("fsync {}", dir.display()), e))?;
        }
        let appended = self.append_locked(job, &dir, &file, &lock, options, plan);
        // Unlocked on every path, then kept open for the next append. Closing it alone would not
        // release the lock while another process shares the open file (a forked child).
        let unlocked = file.unlock();
        if appended.is_ok() && unlocked.is_ok() {
            *self.held.borrow_mut() = HeldLedger::new(job.clone(), file, lock.into_record());
        }
        appended
    }

    fn state(&self, job: &JobId) -> Result<JobState> {
        let (dir, file, tail) = self.open_for_read(job)?;
        self.state_of(job, &dir, &file, &tail)
    }

    fn read_events(&self, job: &JobId, from_seq: u64, sink: Sink<'_>) -> Result<u64> {
        self.read_events_lean(job, from_seq, &[], sink)
    }

    fn read_events_lean(&self, job: &JobId, from_seq: u64, lean: &[&str], sink: Sink<'_>) -> Result<u64> {
        if let Some(last) = self.nothing_new(job, from_seq) {
            return Ok(last);
        }
        let (mut reader, tail) = self.reader_from(job, from_seq)?;
        while let Some((record, line)) = reader.next_record_lean(lean)? {
            if record.seq >= from_seq {
                sink(&record, line)?;
            }
        }
        self.reader_done(job, from_seq, &reader, &tail)
    }

    fn read_lines(&self, job: &JobId, from_seq: u64, sink: LineSink<'_>) -> Result<u64> {
        if let Some(last) = self.nothing_new(job, from_seq) {
            return Ok(last);
        }
        let (mut reader, tail) = self.reader_from(job, from_seq)?;
        let mut scan = Scan::new();
        while let Some((seq, line)) = reader.next_line(&mut scan)? {
            if seq >= from_seq {
                sink(seq, line, &scan)?;
            }
        }
        self.reader_done(job, from_seq, &reader, &tail)
    }

    fn list_jobs(&self) -> Result<Vec<(JobId, Result<JobState>)>> {
        let jobs_dir = self.root.join("jobs");
        let entries = match std::fs::read_dir(&jobs_dir) {
            Ok(entries) => entries,
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::io(format!("list {}", jobs_dir.display()), e)),
        };
        let mut jobs = Vec::new();
        for entry in entries.flatten() {
            let Some(name) = entry.file_name().to_str().map(str::to_owned) else { continue };
            let Ok(job) = JobId::parse(&name) else { continue };
            if !entry.path().join(LEDGER_FILE).is_file() {
                continue;
            }
            match self.state(&job) {
                Err(e) if e.code == ReasonCode::InvalidInputSchema => continue, // an empty ledger: no job yet
                result => jobs.push((job, result)),
            }
        }
        Ok(jobs)
    }

    fn write_job_file(&self, job: &JobId, name: &str, bytes: &[u8]) -> Result<()> {
        let path = self.job_file(job, name)?;
        atomic::replace(&path, bytes, Durability::Durable)
            .map_err(|e| Error::io(format!("write {}", path.display()), e))
    }

    fn import_ledger(&self, job: &JobId, ledger: &ImportedLedger) -> Result<()> {
        self.import_into(job, ledger)
    }

    fn as_dyn(&self) -> &dyn Store {
        self
    }

    fn location(&self) -> crate::store::Location {
        crate::store::Location::Dir(self.root.clone())
    }

    fn read_job_file(&self, job: &JobId, name: &str) -> Result<Option<Vec<u8>>> {
        let path = self.job_file(job, name)?;
        match std::fs::read(&path) {
            Ok(bytes) => Ok(Some(bytes)),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(Error::io(format!("read {}", path.display()), e)),
        }
    }
}

impl FsStore {
    /// [`Store::import_ledger`]: under the job's lock, into an empty ledger, one write, one
    /// fdatasync. The pending record covers the whole write, so a killed import leaves no job.
    fn import_into(&self, job: &JobId, ledger: &ImportedLedger) -> Result<()> {
        let dir = self.job_dir(job);
        std::fs::create_dir_all(&self.root).map_err(|e| Error::io(format!("create {}", self.root.display()), e))?;
        create_dir_synced(&self.root.join("jobs"))?;
        create_dir_synced(&dir)?;
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .open(dir.join(LEDGER_FILE))
            .map_err(|e| Error::io("open ledger", e))?;
        // The lock is on the ledger's own inode (see lock.rs): held until `file` is closed.
        let (lock, _) = JobLock::acquire(&dir, job.as_str(), &file)?;
        sync_dir(&dir).map_err(|e| Error::io(format!("fsync {}", dir.display()), e))?;
        let tail = Tail::read(&file).map_err(|e| Error::io("read ledger tail", e))?;
        let half_written = lock.pending().is_some_and(|p| p.start == 0 && tail.file_len < p.end);
        if tail.last.is_some() && !half_written {
            return Err(job_exists(job));
        }
        let mut bytes = Vec::with_capacity(ledger.lines.iter().map(|l| l.len() + 1).sum());
        for line in &ledger.lines {
            bytes.extend_from_slice(line);
            bytes.push(b'\n');
        }
        file.set_len(0).map_err(|e| Error::io("truncate ledger", e))?;
        lock.set_pending(PendingBatch { start: 0, end: bytes.len() as u64 })?;
        file.write_all_at(&bytes, 0).map_err(|e| fatal("write", job, e))?;
        file.sync_data().map_err(|e| fatal("fdatasync", job, e))?;
        let position = Position {
            offset: bytes.len() as u64,
            lines: ledger.lines.len() as u64,
            seq: ledger.state.last_applied_seq,
        };
        Snapshot::of(&ledger.state, position).save(&dir);
        Ok(())
    }

    /// A small per-job file: a plain name that is not one of the store's own files.
    fn job_file(&self, job: &JobId, name: &str) -> Result<PathBuf> {
        crate::store::check_job_file_name(name)?;
        let dir = self.job_dir(job);
        if !dir.join(LEDGER_FILE).is_file() {
            return Err(self.not_found(job));
        }
        Ok(dir.join(name))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::{NewEvent, Status};
    use serde_json::json;

    fn store() -> (tempfile::TempDir, FsStore) {
        let dir = tempfile::TempDir::new().unwrap();
        let store = FsStore::new(dir.path().to_path_buf());
        (dir, store)
    }

    fn note(n: u64) -> NewEvent {
        NewEvent::new("x-note", json!({"n": n}))
    }

    #[test]
    fn create_append_replay_and_snapshot() {
        let (_dir, store) = store();
        let job = JobId::parse("job_a").unwrap();
        let create = AppendOptions { create: true, fence: None };
        let done = store.append(&job, create, &mut |_| Ok(vec![note(1)])).unwrap();
        assert_eq!(done.records.iter().map(|r| r.seq).collect::<Vec<_>>(), [1, 2]);
        for i in 0..300 {
            store.append(&job, AppendOptions::default(), &mut |_| Ok(vec![note(i)])).unwrap();
        }
        let state = store.state(&job).unwrap();
        assert_eq!(state.last_applied_seq, 302);
        store.change_status(&job, Status::Running, None).unwrap();
        let err = store.change_status(&job, Status::Queued, None).unwrap_err();
        assert_eq!(err.code, ReasonCode::InvalidStateTransition);
        std::fs::remove_file(store.job_dir(&job).join("snapshot.json")).unwrap();
        assert_eq!(store.state(&job).unwrap().status, Status::Running);
        let mut seen = Vec::new();
        let last = store
            .read_events(&job, 300, &mut |r, _| {
                seen.push(r.seq);
                Ok(())
            })
            .unwrap();
        assert_eq!((seen, last), (vec![300, 301, 302, 303], 303));
    }

    #[test]
    fn missing_job_is_not_created() {
        let (dir, store) = store();
        let job = JobId::parse("nope").unwrap();
        let err = store.append(&job, AppendOptions::default(), &mut |_| Ok(vec![note(1)])).unwrap_err();
        assert_eq!(err.exit_code(), 6);
        assert!(std::fs::read_dir(dir.path()).unwrap().next().is_none());
    }

    #[test]
    fn half_written_batch_is_rolled_back() {
        let (_dir, store) = store();
        let job = JobId::parse("j").unwrap();
        store.append(&job, AppendOptions { create: true, fence: None }, &mut |_| Ok(vec![])).unwrap();
        let path = store.job_dir(&job).join(LEDGER_FILE);
        let good = std::fs::read(&path).unwrap();
        // A killed writer: pending record for two lines, only the first one written.
        let line =
            EventRecord { seq: 2, created_at: "2026-02-13T18:00:00Z".into(), event_type: "x-a".into(), payload: None }
                .to_line();
        let ledger = OpenOptions::new().read(true).write(true).open(&path).unwrap();
        let (lock, _) = JobLock::acquire(&store.job_dir(&job), "j", &ledger).unwrap();
        lock.set_pending(PendingBatch { start: good.len() as u64, end: (good.len() + 2 * line.len()) as u64 }).unwrap();
        drop(lock);
        drop(ledger);
        let mut torn = good.clone();
        torn.extend_from_slice(&line);
        std::fs::write(&path, &torn).unwrap();
        assert_eq!(store.state(&job).unwrap().last_applied_seq, 1, "readers stop before the pending batch");
        let done = store.append(&job, AppendOptions::default(), &mut |_| Ok(vec![note(9)])).unwrap();
        assert_eq!(done.records[0].seq, 2);
        assert_eq!(std::fs::read(&path).unwrap().len(), good.len() + done.records[0].to_line().len());
    }
}
