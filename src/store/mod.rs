//! The durable store: every job's ledger, its lock, its snapshot cache and its small files, behind
//! one narrow interface ([`Store`]) that the runner and every command go through.
//!
//! Guarantees (the filesystem backend, [`FsStore`]; docs/contracts/store.md is the normative text):
//!
//! - An append is acknowledged only after its bytes are written with one `write` and made durable
//!   with one `fdatasync`; a failed fsync ends the append with an error and is never retried.
//! - A batch is all or nothing, and seqs are contiguous: appends to one job are serialised by the
//!   job's lock, and the state checks (status transitions, lease fencing) run under that lock
//!   against the state replayed from the ledger, in the same critical section as the write.
//! - State is always derivable from the ledger; the snapshot is a cache that proves its position.
//! - Finding the last seq reads the end of the file backwards: O(length of the last line).
//!
//! Root: `--store DIR`, else `$WRKR_HOME`, else `$HOME/.wrkr`. Per job: `jobs/<id>/events.jsonl`,
//! `snapshot.json`, `ledger.lock` (the pending-batch record; the lock is on the ledger itself),
//! and whatever small files other modules keep there.

pub mod atomic;
pub mod fs;
pub mod job_id;
pub mod ledger;
pub mod lock;
pub mod retention;
pub mod snapshot;

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::contract::time::Timestamp;
use crate::contract::{Error, Result};
use crate::job::lease::{self, LeaseView};
use crate::job::{JobState, NewEvent, Status};
pub use fs::FsStore;
pub use job_id::JobId;
pub use ledger::EventRecord;

/// How an append is made.
#[derive(Clone, Copy, Debug, Default)]
pub struct AppendOptions {
    /// Create the job (a `job_initialized` event, status `queued`) when it does not exist.
    pub create: bool,
    /// Append on behalf of the lease holder with this epoch; refused unless it is the newest.
    pub fence: Option<u64>,
}

/// What an append wrote, and the state after it.
#[derive(Debug)]
pub struct Appended {
    pub records: Vec<EventRecord>,
    pub state: JobState,
}

/// Decides, from the job's current state and under its lock, which events to append.
pub type Plan<'a> = &'a mut dyn FnMut(&JobState) -> Result<Vec<NewEvent>>;

/// Receives ledger records in seq order, with the raw line as stored (no `\n`).
pub type Sink<'a> = &'a mut dyn FnMut(&EventRecord, &[u8]) -> Result<()>;

/// The store interface. A backend implements the six required methods; the lease and status
/// operations are built on `append` and may be overridden.
pub trait Store {
    /// Under the job's lock: replay its state, check the fence, run `plan`, check every planned
    /// event against the state, write them as one durable batch. Returns after the batch is durable.
    fn append(&self, job: &JobId, options: AppendOptions, plan: Plan<'_>) -> Result<Appended>;

    /// The job's current state (from the snapshot cache when it matches the ledger tail).
    fn state(&self, job: &JobId) -> Result<JobState>;

    /// Stream the records with `seq >= from_seq` that are complete now. Returns the last seq
    /// seen (or `from_seq - 1` when none), so that a follower can call again from there.
    fn read_events(&self, job: &JobId, from_seq: u64, sink: Sink<'_>) -> Result<u64>;

    /// Every job in the store, with its state or the error that prevented reading it.
    fn list_jobs(&self) -> Result<Vec<(JobId, Result<JobState>)>>;

    /// Replace a small per-job file atomically and durably (`runtime_config.json`, ...).
    fn write_job_file(&self, job: &JobId, name: &str, bytes: &[u8]) -> Result<()>;

    /// A small per-job file, or `None` when it does not exist.
    fn read_job_file(&self, job: &JobId, name: &str) -> Result<Option<Vec<u8>>>;

    fn acquire_lease(&self, job: &JobId, worker: &str, ttl: Duration) -> Result<LeaseView> {
        let now = Timestamp::now();
        let done =
            self.append(job, AppendOptions::default(), &mut |s| Ok(vec![lease::plan_acquire(s, worker, ttl, now)?]))?;
        Ok(LeaseView::of(job.as_str(), done.state.lease.as_ref(), done.state.lease_epoch, now))
    }

    fn heartbeat_lease(&self, job: &JobId, worker: &str, epoch: Option<u64>, ttl: Duration) -> Result<LeaseView> {
        let now = Timestamp::now();
        let done = self.append(job, AppendOptions::default(), &mut |s| {
            Ok(vec![lease::plan_heartbeat(s, worker, epoch, ttl, now)?])
        })?;
        Ok(LeaseView::of(job.as_str(), done.state.lease.as_ref(), done.state.lease_epoch, now))
    }

    /// Release `worker`'s lease; a no-op (state `none`) when no lease is held.
    fn release_lease(&self, job: &JobId, worker: &str, epoch: Option<u64>) -> Result<LeaseView> {
        let now = Timestamp::now();
        let mut released = None;
        let done = self.append(job, AppendOptions::default(), &mut |s| {
            released = s.lease.clone();
            Ok(lease::plan_release(s, worker, epoch)?.into_iter().collect())
        })?;
        let mut view = LeaseView::of(job.as_str(), released.as_ref(), done.state.lease_epoch, now);
        if released.is_some() {
            view.state = "released";
        }
        Ok(view)
    }

    fn show_lease(&self, job: &JobId) -> Result<LeaseView> {
        let state = self.state(job)?;
        Ok(LeaseView::of(job.as_str(), state.lease.as_ref(), state.lease_epoch, Timestamp::now()))
    }

    /// Move the job to `to` (checked against the transition table under the lock).
    fn change_status(&self, job: &JobId, to: Status, fence: Option<u64>) -> Result<JobState> {
        let options = AppendOptions { create: false, fence };
        Ok(self.append(job, options, &mut |s| Ok(vec![NewEvent::status_changed(s.status, to)]))?.state)
    }
}

/// The store root: `--store DIR`, else `$WRKR_HOME`, else `$HOME/.wrkr`.
pub fn root(store_flag: Option<&Path>) -> Result<PathBuf> {
    if let Some(dir) = store_flag {
        return Ok(dir.to_path_buf());
    }
    if let Some(home) = std::env::var_os("WRKR_HOME").filter(|v| !v.is_empty()) {
        return Ok(PathBuf::from(home));
    }
    match std::env::var_os("HOME").filter(|v| !v.is_empty()) {
        Some(home) => Ok(PathBuf::from(home).join(".wrkr")),
        None => Err(Error::invalid_input("no store: neither --store, WRKR_HOME nor HOME is set")
            .with_hint("pass --store DIR or set WRKR_HOME")),
    }
}

/// The error for a job the store does not have (exit 6, as Go's per-job commands).
pub fn job_not_found(job: &JobId) -> Error {
    Error::not_found("job not found")
        .with("job_id", job.as_str())
        .with_hint(format!("wrkr jobs lists the jobs in this store; wrkr-events --append --create {job} makes one"))
}
