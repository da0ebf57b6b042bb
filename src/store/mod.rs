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
//!
//! The second backend, [`PgStore`], keeps the same contract in PostgreSQL (`--store postgres://...`
//! or `$WRKR_STORE`; see `location.rs` and `pg/`). [`open`] picks the backend.

pub mod at_rest;
pub mod atomic;
pub mod batch;
pub mod derived;
pub mod fs;
pub mod held;
pub mod import;
pub mod job_id;
pub mod ledger;
pub mod local;
pub mod location;
pub mod lock;
pub mod pg;
pub mod queue;
pub mod retention;
pub mod snapshot;

use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::contract::time::Timestamp;
use crate::contract::{Error, Result};
use crate::job::lease::{self, LeaseView};
use crate::job::{JobState, NewEvent, Status};
use crate::json::scan::Scan;
pub use fs::FsStore;
pub use job_id::JobId;
pub use ledger::EventRecord;
pub use location::Location;
pub use pg::PgStore;

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

/// The event that records a job's JobSpec at submit: the one ledger line that can be megabytes
/// (a 25,000-step spec is about 1 MB of JSON and 19 MB as a `serde_json::Value`).
pub const JOBSPEC_EVENT: &str = "x-jobspec_recorded";

/// Receives ledger records in seq order, with the raw line as stored (no `\n`).
pub type Sink<'a> = &'a mut dyn FnMut(&EventRecord, &[u8]) -> Result<()>;

/// Receives ledger lines in seq order: the seq, the line as stored (no `\n`), and the line's
/// index (`json::scan`) when the fast check took it; an empty scan means "parse the line".
pub type LineSink<'a> = &'a mut dyn FnMut(u64, &[u8], &Scan) -> Result<()>;

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

    /// As [`Store::read_events`], except that records of the `lean` types may come with
    /// `payload: None`: the reader takes what it needs from the raw line, and a megabyte JobSpec
    /// ([`JOBSPEC_EVENT`]) is not built into a document nobody keeps. Every line is still checked.
    /// The default hands over full records, which is correct, only not lean.
    fn read_events_lean(&self, job: &JobId, from_seq: u64, lean: &[&str], sink: Sink<'_>) -> Result<u64> {
        let _ = lean;
        self.read_events(job, from_seq, sink)
    }

    /// [`Store::read_events`] without building each record's `Value` (export's hot path): the
    /// same lines, checks and errors. The default scans what `read_events` read.
    fn read_lines(&self, job: &JobId, from_seq: u64, sink: LineSink<'_>) -> Result<u64> {
        let mut scan = Scan::new();
        self.read_events(job, from_seq, &mut |record, line| {
            if scan.parse(line).is_err() || ledger::scanned_seq(&scan, line) != Some(record.seq) {
                scan.clear();
            }
            sink(record.seq, line, &scan)
        })
    }

    /// Every job in the store, with its state or the error that prevented reading it.
    fn list_jobs(&self) -> Result<Vec<(JobId, Result<JobState>)>>;

    /// Replace a small per-job file atomically and durably (`runtime_config.json`, ...).
    fn write_job_file(&self, job: &JobId, name: &str, bytes: &[u8]) -> Result<()>;

    /// A small per-job file, or `None` when it does not exist.
    fn read_job_file(&self, job: &JobId, name: &str) -> Result<Option<Vec<u8>>>;

    /// Create `job` from a whole checked ledger (`import::read_ledger`), its lines stored byte
    /// for byte as one durable batch. Refused when the store already has the job.
    fn import_ledger(&self, job: &JobId, ledger: &import::ImportedLedger) -> Result<()>;

    /// Wait until `job` may have new records, at most `timeout` (followers call this between
    /// reads). It may return early without news; the default just sleeps (polling).
    fn wait_for_change(&self, _job: &JobId, timeout: Duration) -> Result<()> {
        std::thread::sleep(timeout);
        Ok(())
    }

    /// Whether [`Store::wait_for_change`] is woken by appends (so a follower may poll rarely).
    fn notifies(&self) -> bool {
        false
    }

    /// The job's directory on this host's disk, when the store keeps jobs in directories (the
    /// file store); `None` for a store that lives elsewhere (PostgreSQL). Files written there
    /// (step logs) are then already in the store.
    fn local_job_dir(&self, _job: &JobId) -> Option<PathBuf> {
        None
    }

    /// Where this store is, so that a thread or a child process can open it again ([`open_at`]).
    fn location(&self) -> Location;

    /// Take the lease of one job queued for workers that a worker with `labels` may run now
    /// (`store::queue` has the rule). Its id and the lease epoch, or `None` when there is none.
    fn claim(&self, worker: &str, labels: &[String], ttl: Duration) -> Result<Option<(JobId, u64)>> {
        queue::claim_by_scan(self.as_dyn(), worker, labels, ttl)
    }

    /// Wait until any job may have changed, at most `timeout` (an idle worker between claims).
    /// True when woken by news (the caller looks again at once); false when `timeout` passed.
    fn wait_for_news(&self, timeout: Duration) -> Result<bool> {
        std::thread::sleep(timeout);
        Ok(false)
    }

    /// This store as a trait object (for the provided methods that call free functions).
    fn as_dyn(&self) -> &dyn Store;

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

    /// Release `worker`'s lease at the end of a run, best effort: when the store refuses (another
    /// worker took the job over, the store is unreachable, the job is gone) one warning line on
    /// stderr says so, and the lease expires at its TTL instead. Was: refused in silence.
    fn release_lease_or_warn(&self, job: &JobId, worker: &str, epoch: Option<u64>) {
        if let Err(err) = self.release_lease(job, worker, epoch) {
            let epoch = epoch.map(|e| format!(" epoch {e}")).unwrap_or_default();
            crate::cli::io::diag(&format!(
                "warning: lease of job {job} (worker {worker}{epoch}) not released: {} ({}); it expires at its TTL",
                err.message,
                err.code.as_str()
            ));
        }
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

/// The file store root: `--store DIR`, else `$WRKR_STORE`, else `$WRKR_HOME`, else `$HOME/.wrkr`.
/// A PostgreSQL store is an error naming `command`, which runs only on a file store (see
/// [`location::FILE_STORE_ONLY`]).
pub fn root(store_flag: Option<&Path>, command: &str) -> Result<PathBuf> {
    match location::locate(store_flag)? {
        Location::Dir(dir) => Ok(dir),
        Location::Postgres(url) => Err(location::file_store_only(command, &url)),
    }
}

/// The store an invocation works on, whichever backend it is.
pub fn open(store_flag: Option<&Path>) -> Result<Box<dyn Store>> {
    Ok(open_at(&location::locate(store_flag)?)?)
}

/// Open the store at `location` (a thread's own handle: the heartbeat, the progress display).
/// A PostgreSQL store is a new connection, its schema checked.
pub fn open_at(location: &Location) -> Result<Box<dyn Store + Send>> {
    Ok(match location {
        Location::Dir(dir) => Box::new(FsStore::new(dir.clone())),
        Location::Postgres(url) => Box::new(PgStore::open(url)?),
    })
}

/// A small per-job file name: a plain name that is not one of the file store's own files (the
/// rule is the same on every backend, so a job moves between stores with its files).
pub fn check_job_file_name(name: &str) -> Result<()> {
    let own = [ledger::LEDGER_FILE, lock::LOCK_FILE, snapshot::SNAPSHOT_FILE];
    if JobId::parse(name).is_err() || own.contains(&name) || name.starts_with(".tmp-") {
        return Err(Error::invalid_input(format!("not a job file name: {name:?}")).with("name", name));
    }
    Ok(())
}

/// The error for a job the store does not have (exit 6, as Go's per-job commands). The command
/// line adds the ids of the store that look like it (`cli::suggest::similar_job_ids`).
pub fn job_not_found(job: &JobId) -> Error {
    Error::not_found(JOB_NOT_FOUND).with("job_id", job.as_str()).with_hint("wrkr jobs lists the jobs in this store")
}

const JOB_NOT_FOUND: &str = "job not found";

/// Whether `err` is [`job_not_found`] (possibly with context added), and for which id.
pub fn not_found_job_id(err: &Error) -> Option<&str> {
    if !err.missing || !err.message.ends_with(JOB_NOT_FOUND) {
        return None;
    }
    err.details.get("job_id").and_then(serde_json::Value::as_str)
}

/// A boxed store is a store: commands hold whichever backend [`open`] chose.
impl<S: Store + ?Sized> Store for Box<S> {
    fn append(&self, job: &JobId, options: AppendOptions, plan: Plan<'_>) -> Result<Appended> {
        (**self).append(job, options, plan)
    }
    fn state(&self, job: &JobId) -> Result<JobState> {
        (**self).state(job)
    }
    fn read_events(&self, job: &JobId, from_seq: u64, sink: Sink<'_>) -> Result<u64> {
        (**self).read_events(job, from_seq, sink)
    }
    fn read_events_lean(&self, job: &JobId, from_seq: u64, lean: &[&str], sink: Sink<'_>) -> Result<u64> {
        (**self).read_events_lean(job, from_seq, lean, sink)
    }
    fn read_lines(&self, job: &JobId, from_seq: u64, sink: LineSink<'_>) -> Result<u64> {
        (**self).read_lines(job, from_seq, sink)
    }
    fn list_jobs(&self) -> Result<Vec<(JobId, Result<JobState>)>> {
        (**self).list_jobs()
    }
    fn write_job_file(&self, job: &JobId, name: &str, bytes: &[u8]) -> Result<()> {
        (**self).write_job_file(job, name, bytes)
    }
    fn read_job_file(&self, job: &JobId, name: &str) -> Result<Option<Vec<u8>>> {
        (**self).read_job_file(job, name)
    }
    fn import_ledger(&self, job: &JobId, ledger: &import::ImportedLedger) -> Result<()> {
        (**self).import_ledger(job, ledger)
    }
    fn wait_for_change(&self, job: &JobId, timeout: Duration) -> Result<()> {
        (**self).wait_for_change(job, timeout)
    }
    fn notifies(&self) -> bool {
        (**self).notifies()
    }
    fn local_job_dir(&self, job: &JobId) -> Option<PathBuf> {
        (**self).local_job_dir(job)
    }
    fn location(&self) -> Location {
        (**self).location()
    }
    fn claim(&self, worker: &str, labels: &[String], ttl: Duration) -> Result<Option<(JobId, u64)>> {
        (**self).claim(worker, labels, ttl)
    }
    fn wait_for_news(&self, timeout: Duration) -> Result<bool> {
        (**self).wait_for_news(timeout)
    }
    fn as_dyn(&self) -> &dyn Store {
        (**self).as_dyn()
    }
    fn acquire_lease(&self, job: &JobId, worker: &str, ttl: Duration) -> Result<LeaseView> {
        (**self).acquire_lease(job, worker, ttl)
    }
    fn heartbeat_lease(&self, job: &JobId, worker: &str, epoch: Option<u64>, ttl: Duration) -> Result<LeaseView> {
        (**self).heartbeat_lease(job, worker, epoch, ttl)
    }
    fn release_lease(&self, job: &JobId, worker: &str, epoch: Option<u64>) -> Result<LeaseView> {
        (**self).release_lease(job, worker, epoch)
    }
    fn show_lease(&self, job: &JobId) -> Result<LeaseView> {
        (**self).show_lease(job)
    }
    fn change_status(&self, job: &JobId, to: Status, fence: Option<u64>) -> Result<JobState> {
        (**self).change_status(job, to, fence)
    }
}
