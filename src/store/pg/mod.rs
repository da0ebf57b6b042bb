//! The PostgreSQL backend of [`Store`]: the same contract as the file store, one database for
//! many hosts.
//!
//! Layout (`schema.rs`): one `wrkr_jobs` row per job (status, last seq, lease, a snapshot of the
//! replayed state), one `wrkr_events` row per ledger record holding the record's line exactly as
//! the file store writes it (without its `\n`), and `wrkr_job_files` for the small per-job files.
//! Because the line bytes are built by the same code (`store::batch`), records, hashes and jobpacks
//! are identical across backends.
//!
//! `append` is one transaction: `SELECT ... FOR UPDATE` on the job row (the job's lock), derive the
//! state (snapshot column plus the events after it), check the fence, run the plan, check every
//! event (`batch::build`), insert the rows with the next seqs, update the job row, commit. The
//! acknowledgement is the commit (synchronous commit, the server's default); a failed commit is
//! reported and never retried. A busy row waits `WRKR_LOCK_TIMEOUT_MS` (10 s) and then is
//! `E_LEASE_CONFLICT` with `busy: "store_lock"`, as a busy file lock is.
//!
//! Reads take no lock: each is one statement, which sees only committed batches, whole.
//! Every commit that adds records notifies channel `wrkr_events` with the job id as payload
//! (`pg_notify` in the job row update: delivered on commit, dropped on rollback). A follower
//! `LISTEN`s and wakes at once; its poll interval is only the fallback.
//!
//! The snapshot column is refreshed when a batch changes status or lease, or 128 records after the
//! last refresh, so no reader replays more than that.

pub mod claim;
pub mod connect;
mod listing;
pub mod passfile;
pub mod retention;
pub mod schema;
pub mod tls;

use std::cell::{RefCell, RefMut};
use std::time::{Duration, Instant};

use postgres::fallible_iterator::FallibleIterator;
use postgres::types::ToSql;
use postgres::{Client, GenericClient};

use crate::contract::{Error, ReasonCode, Result};
use crate::job::{JobState, lease};
use crate::store::fs::SNAPSHOT_EVERY;
use crate::store::import::{ImportedLedger, job_exists};
use crate::store::ledger::{EventRecord, corrupt};
use crate::store::{
    AppendOptions, Appended, JobId, Plan, Sink, Store, batch, check_job_file_name, job_not_found, queue,
};
use connect::sql_error;

pub struct PgStore {
    /// The store URL with its password hidden, for messages.
    name: String,
    /// The URL as given (password included): a thread or child process opens the store with it.
    url: String,
    client: RefCell<Client>,
    /// Whether this connection has run `LISTEN wrkr_events`.
    listening: std::cell::Cell<bool>,
}

impl PgStore {
    /// Connect and check the schema version (never migrating).
    pub fn open(url: &str) -> Result<PgStore> {
        let store = PgStore::open_unchecked(url)?;
        schema::check(&mut *store.client()?, &store.name)?;
        Ok(store)
    }

    /// Connect without checking the schema (`wrkr store migrate`).
    pub fn open_unchecked(url: &str) -> Result<PgStore> {
        Ok(PgStore {
            name: connect::redact(url),
            url: url.to_owned(),
            client: RefCell::new(connect::connect(url)?),
            listening: std::cell::Cell::new(false),
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The connection. A plan that calls back into the same store would need it twice: that is
    /// a bug in the caller, reported as an error rather than a panic.
    ///
    /// A connection that broke (a cut link, a server restart) is replaced here, at its next use,
    /// so a handle outlives an outage; what was `LISTEN`ing listens again at the next wait.
    pub fn client(&self) -> Result<RefMut<'_, Client>> {
        let mut client = self
            .client
            .try_borrow_mut()
            .map_err(|_| Error::generic("the PostgreSQL store was used from inside its own append"))?;
        if client.is_closed() {
            *client = connect::connect(&self.url)?;
            self.listening.set(false);
        }
        Ok(client)
    }
}

/// A job row as read for a state derivation.
#[derive(Clone)]
struct JobRow {
    last_seq: u64,
    snapshot_seq: u64,
    snapshot: Option<Vec<u8>>,
}

impl JobRow {
    fn of(row: &postgres::Row, first: usize) -> JobRow {
        JobRow {
            last_seq: row.get::<_, i64>(first) as u64,
            snapshot_seq: row.get::<_, i64>(first + 1) as u64,
            snapshot: row.get(first + 2),
        }
    }
}

/// The snapshot column's state, when it is usable: this job's, at the row's `snapshot_seq`.
fn usable_snapshot(job: &JobId, row: &JobRow) -> Option<JobState> {
    row.snapshot.as_deref().and_then(|bytes| serde_json::from_slice::<JobState>(bytes).ok()).filter(|s| {
        s.job_id == job.as_str() && s.last_applied_seq == row.snapshot_seq && s.last_applied_seq <= row.last_seq
    })
}

/// A derived state that must end at the job row's `last_seq` (else the row and its events disagree).
fn check_end(job: &JobId, state: JobState, row: &JobRow) -> Result<JobState> {
    if state.last_applied_seq != row.last_seq {
        return Err(Error::new(
            ReasonCode::StoreCorrupt,
            format!("ledger of {job} ends at seq {} but its job row says {}", state.last_applied_seq, row.last_seq),
        )
        .with("job_id", job.as_str()));
    }
    Ok(state)
}

/// The job's state: the snapshot column when it is usable, plus the events after it.
fn derive(db: &mut impl GenericClient, job: &JobId, row: &JobRow) -> Result<JobState> {
    let mut state = usable_snapshot(job, row).unwrap_or_else(|| JobState::new(job.as_str()));
    if state.last_applied_seq < row.last_seq {
        let from = state.last_applied_seq as i64;
        let to = row.last_seq as i64;
        let params: [&(dyn ToSql + Sync); 3] = [&job.as_str(), &from, &to];
        let mut rows = db
            .query_raw(
                "SELECT seq, line FROM wrkr_events WHERE job_id = $1 AND seq > $2 AND seq <= $3 ORDER BY seq",
                params,
            )
            .map_err(|e| sql_error("read the ledger", &e))?;
        while let Some(row) = rows.next().map_err(|e| sql_error("read the ledger", &e))? {
            let record = checked_record(&row, state.last_applied_seq + 1)?;
            state.apply(&record).map_err(|e| e.context(format!("ledger seq {}", record.seq)))?;
        }
    }
    check_end(job, state, row)
}

/// The record in an event row, checked: it parses, and its seq is the row's and the expected one.
fn checked_record(row: &postgres::Row, expected: u64) -> Result<EventRecord> {
    checked_line(row.get::<_, i64>(0) as u64, row.get(1), expected)
}

/// [`checked_record`] for a seq and line read from any columns.
fn checked_line(seq: u64, line: &[u8], expected: u64) -> Result<EventRecord> {
    let record = EventRecord::parse(line).map_err(|why| corrupt(seq, why))?;
    if record.seq != seq || seq != expected {
        return Err(corrupt(seq, format!("seq {} in row {seq} (expected {expected})", record.seq))
            .with("seq", record.seq)
            .with("expected_seq", expected));
    }
    Ok(record)
}

/// One round trip for a whole batch: the seqs and lines as two arrays.
const INSERT_EVENTS: &str =
    "INSERT INTO wrkr_events (job_id, seq, line) SELECT $1, * FROM unnest($2::bigint[], $3::bytea[])";

/// The update's target, and the wake-up of followers (sent on commit) in the same round trip.
const WHERE_AND_NOTIFY: &str = "WHERE job_id = $1 RETURNING pg_notify('wrkr_events', job_id)";

/// Bring the job row up to `state`; with `refresh_snapshot`, also its snapshot column.
fn update_job_row(tx: &mut impl GenericClient, job: &JobId, state: &JobState, refresh_snapshot: bool) -> Result<()> {
    let lease = state.lease.as_ref();
    let columns: [&(dyn ToSql + Sync); 8] = [
        &job.as_str(),
        &state.status.to_string(),
        &(state.last_applied_seq as i64),
        &(state.lease_epoch as i64),
        &lease.map(|l| l.worker_id.as_str()),
        &lease.map(|l| l.expires_at.as_str()),
        &state.started_at,
        &state.updated_at,
    ];
    const SET: &str = "UPDATE wrkr_jobs SET status = $2, last_seq = $3, lease_epoch = $4, lease_worker = $5, \
                       lease_expires = $6, started_at = $7, updated_at = $8";
    let updated = if refresh_snapshot {
        let snapshot = serde_json::to_vec(state).map_err(|e| Error::generic(format!("encode the snapshot: {e}")))?;
        let mut params = columns.to_vec();
        params.push(&snapshot);
        tx.execute(&format!("{SET}, snapshot_seq = $3, snapshot = $9 {WHERE_AND_NOTIFY}"), &params)
    } else {
        tx.execute(&format!("{SET} {WHERE_AND_NOTIFY}"), &columns)
    };
    updated.map(drop).map_err(|e| sql_error("update the job row", &e))
}

/// The body of an append, inside the caller's transaction (which commits it): lock the job row,
/// derive, fence, plan, check, insert, update the row. `claim` runs it after its own row lock.
pub(crate) fn append_in(
    tx: &mut postgres::Transaction<'_>,
    job: &JobId,
    options: AppendOptions,
    plan: Plan<'_>,
) -> Result<Appended> {
    if options.create {
        tx.execute("INSERT INTO wrkr_jobs (job_id) VALUES ($1) ON CONFLICT DO NOTHING", &[&job.as_str()])
            .map_err(|e| sql_error("create the job", &e))?;
    }
    let row = tx
        .query_opt(
            "SELECT last_seq, snapshot_seq, snapshot FROM wrkr_jobs WHERE job_id = $1 FOR UPDATE",
            &[&job.as_str()],
        )
        .map_err(|e| sql_error("lock the job", &e).with("job_id", job.as_str()))?;
    let Some(row) = row.map(|r| JobRow::of(&r, 0)) else { return Err(job_not_found(job)) };
    if row.last_seq == 0 && !options.create {
        return Err(job_not_found(job));
    }
    let state = derive(tx, job, &row)?;
    if let Some(epoch) = options.fence {
        lease::check_fence(&state, epoch)?;
    }
    let events = plan(&state)?;
    let batch = match batch::build(state, row.last_seq, events)? {
        Ok(batch) => batch,
        Err(state) => return Ok(Appended { records: Vec::new(), state }),
    };
    let seqs: Vec<i64> = batch.records.iter().map(|r| r.seq as i64).collect();
    let lines: Vec<&[u8]> = batch.lines().collect();
    tx.execute(INSERT_EVENTS, &[&job.as_str(), &seqs, &lines]).map_err(|e| sql_error("insert the events", &e))?;
    let refresh = batch.changes_state() || batch.state.last_applied_seq - row.snapshot_seq >= SNAPSHOT_EVERY;
    update_job_row(tx, job, &batch.state, refresh)?;
    if batch.records.iter().any(|r| r.event_type == queue::QUEUED_EVENT) {
        claim::mark_queued(tx, job, &batch.records)?;
    }
    Ok(Appended { records: batch.records, state: batch.state })
}

impl PgStore {
    /// Rebuild the job row (its copies of the state and its snapshot column) from a full replay
    /// of its event rows, under the row lock (`wrkr fsck --repair`). Never touches an event row;
    /// a ledger that does not replay is `E_STORE_CORRUPT` and nothing changes. Returns the seq.
    pub fn rebuild_job_row(&self, job: &JobId) -> Result<u64> {
        let mut client = self.client()?;
        let mut tx = client.transaction().map_err(|e| sql_error("begin", &e))?;
        tx.query_opt("SELECT 1 FROM wrkr_jobs WHERE job_id = $1 FOR UPDATE", &[&job.as_str()])
            .map_err(|e| sql_error("lock the job", &e).with("job_id", job.as_str()))?
            .ok_or_else(|| job_not_found(job))?;
        let last: i64 = tx
            .query_one("SELECT coalesce(max(seq), 0) FROM wrkr_events WHERE job_id = $1", &[&job.as_str()])
            .map_err(|e| sql_error("read the ledger", &e))?
            .get(0);
        let state = derive(&mut tx, job, &JobRow { last_seq: last as u64, snapshot_seq: 0, snapshot: None })?;
        update_job_row(&mut tx, job, &state, true)?;
        tx.commit().map_err(|e| sql_error("commit", &e).with("job_id", job.as_str()))?;
        Ok(state.last_applied_seq)
    }
}

/// A failed commit, as the caller sees it: whether the server committed is unknown, so the
/// caller reads the ledger before it appends again (the runner looks for its own records).
/// An injected fault (no `sqlstate`) is marked as the broken connection it stands for.
fn commit_error(job: &JobId, error: Error) -> Error {
    let error = if error.details.contains_key("sqlstate") || error.details.contains_key(connect::CONNECTION) {
        error
    } else {
        error.with(connect::CONNECTION, "lost")
    };
    error
        .with("job_id", job.as_str())
        .with_hint("the batch may or may not be committed; read the ledger before retrying")
}

/// Commit an append's transaction (`append`, and `claim`'s): the acknowledgement. The failpoints
/// on its two sides are for the crash suites: before COMMIT is sent (the dropped transaction rolls
/// back) and after the server committed, before the caller knows (the lost ack). Either fails as a
/// connection broken at the commit does.
pub(crate) fn commit(tx: postgres::Transaction<'_>, job: &JobId) -> Result<()> {
    crate::failpoint::check("pg.commit.before")
        .map_err(|e| commit_error(job, Error::generic(format!("commit: {e}"))))?;
    tx.commit().map_err(|e| commit_error(job, sql_error("commit", &e)))?;
    crate::failpoint::check("pg.commit.after").map_err(|e| commit_error(job, Error::generic(format!("commit: {e}"))))
}

/// A fault injected at a job file's write (`pg.job_file.*`), marked as the broken connection it
/// stands for: the write may or may not have happened, and writing again replaces the file.
fn job_file_fault(job: &JobId, name: &str, fault: std::io::Error) -> Error {
    Error::generic(format!("write {name}: {fault}")).with(connect::CONNECTION, "lost").with("job_id", job.as_str())
}

impl Store for PgStore {
    fn append(&self, job: &JobId, options: AppendOptions, plan: Plan<'_>) -> Result<Appended> {
        let mut client = self.client()?;
        let mut tx = client.transaction().map_err(|e| sql_error("begin", &e))?;
        let appended = append_in(&mut tx, job, options, plan)?;
        commit(tx, job)?;
        Ok(appended)
    }

    fn state(&self, job: &JobId) -> Result<JobState> {
        let mut client = self.client()?;
        let row = client
            .query_opt("SELECT last_seq, snapshot_seq, snapshot FROM wrkr_jobs WHERE job_id = $1", &[&job.as_str()])
            .map_err(|e| sql_error("read the job", &e))?
            .map(|r| JobRow::of(&r, 0))
            .filter(|r| r.last_seq > 0)
            .ok_or_else(|| job_not_found(job))?;
        derive(&mut *client, job, &row)
    }

    fn read_events(&self, job: &JobId, from_seq: u64, sink: Sink<'_>) -> Result<u64> {
        let mut client = self.client()?;
        let first = from_seq.max(1);
        let params: [&(dyn ToSql + Sync); 2] = [&job.as_str(), &(first as i64)];
        let mut rows = client
            .query_raw("SELECT seq, line FROM wrkr_events WHERE job_id = $1 AND seq >= $2 ORDER BY seq", params)
            .map_err(|e| sql_error("read the ledger", &e))?;
        let mut expected = first;
        while let Some(row) = rows.next().map_err(|e| sql_error("read the ledger", &e))? {
            let record = checked_record(&row, expected)?;
            sink(&record, row.get(1))?;
            expected += 1;
        }
        drop(rows);
        if expected == first {
            let exists = client
                .query_opt("SELECT 1 FROM wrkr_jobs WHERE job_id = $1 AND last_seq > 0", &[&job.as_str()])
                .map_err(|e| sql_error("read the job", &e))?;
            if exists.is_none() {
                return Err(job_not_found(job));
            }
        }
        Ok(expected - 1)
    }

    fn list_jobs(&self) -> Result<Vec<(JobId, Result<JobState>)>> {
        listing::list_jobs(self)
    }

    fn write_job_file(&self, job: &JobId, name: &str, bytes: &[u8]) -> Result<()> {
        check_job_file_name(name)?;
        crate::failpoint::check("pg.job_file.before").map_err(|e| job_file_fault(job, name, e))?;
        let written = self
            .client()?
            .execute(
                "INSERT INTO wrkr_job_files (job_id, name, bytes) \
                 SELECT job_id, $2, $3 FROM wrkr_jobs WHERE job_id = $1 AND last_seq > 0 \
                 ON CONFLICT (job_id, name) DO UPDATE SET bytes = excluded.bytes",
                &[&job.as_str(), &name, &bytes],
            )
            .map_err(|e| sql_error(&format!("write {name}"), &e))?;
        if written == 0 {
            return Err(job_not_found(job));
        }
        // The upsert is its own acknowledgement: a retry after a lost one writes the same bytes.
        crate::failpoint::check("pg.job_file.after").map_err(|e| job_file_fault(job, name, e))
    }

    fn import_ledger(&self, job: &JobId, ledger: &ImportedLedger) -> Result<()> {
        let mut client = self.client()?;
        let mut tx = client.transaction().map_err(|e| sql_error("begin", &e))?;
        let created = tx
            .execute("INSERT INTO wrkr_jobs (job_id) VALUES ($1) ON CONFLICT DO NOTHING", &[&job.as_str()])
            .map_err(|e| sql_error("create the job", &e))?;
        if created == 0 {
            return Err(job_exists(job));
        }
        let seqs: Vec<i64> = (1..=ledger.lines.len() as i64).collect();
        let lines: Vec<&[u8]> = ledger.lines.iter().map(Vec::as_slice).collect();
        tx.execute(INSERT_EVENTS, &[&job.as_str(), &seqs, &lines]).map_err(|e| sql_error("insert the events", &e))?;
        update_job_row(&mut tx, job, &ledger.state, true)?;
        // A job queued for workers stays queued, with its labels, on its new store. The line
        // filter keeps a long ledger's import from parsing every line a second time.
        let queued: Vec<EventRecord> = ledger
            .lines
            .iter()
            .filter(|line| line.windows(queue::QUEUED_EVENT.len()).any(|w| w == queue::QUEUED_EVENT.as_bytes()))
            .filter_map(|line| EventRecord::parse(line).ok())
            .collect();
        claim::mark_queued(&mut tx, job, &queued)?;
        tx.commit().map_err(|e| sql_error("commit", &e).with("job_id", job.as_str()))
    }

    fn wait_for_change(&self, job: &JobId, timeout: Duration) -> Result<()> {
        let mut client = self.client()?;
        if !self.listening.get() {
            // Records committed between the caller's last read and this LISTEN send no wake-up:
            // return at once so that the caller reads again, now listening.
            client.batch_execute("LISTEN wrkr_events").map_err(|e| sql_error("listen", &e))?;
            self.listening.set(true);
            return Ok(());
        }
        let deadline = Instant::now() + timeout;
        let mut notifications = client.notifications();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match notifications.timeout_iter(left).next() {
                Ok(Some(n)) if n.payload() == job.as_str() => return Ok(()),
                Ok(Some(_)) if !left.is_zero() => continue,
                Ok(_) => return Ok(()),
                Err(e) => return Err(sql_error("wait for notifications", &e)),
            }
        }
    }

    fn notifies(&self) -> bool {
        true
    }

    fn location(&self) -> crate::store::Location {
        crate::store::Location::Postgres(self.url.clone())
    }

    fn as_dyn(&self) -> &dyn Store {
        self
    }

    fn claim(&self, worker: &str, labels: &[String], ttl: Duration) -> Result<Option<(JobId, u64)>> {
        self.claim_queued(worker, labels, ttl)
    }

    fn wait_for_news(&self, timeout: Duration) -> Result<bool> {
        let mut client = self.client()?;
        if !self.listening.get() {
            // As in `wait_for_change`: what committed before the LISTEN sent no wake-up, so the
            // caller must look again now that it listens.
            client.batch_execute("LISTEN wrkr_events").map_err(|e| sql_error("listen", &e))?;
            self.listening.set(true);
            return Ok(true);
        }
        let mut notifications = client.notifications();
        let woken = notifications.timeout_iter(timeout).next().map_err(|e| sql_error("wait for notifications", &e))?;
        // Whatever else arrived meanwhile is news of the same kind: drain it without waiting.
        if woken.is_some() {
            let mut pending = notifications.iter();
            while let Ok(Some(_)) = pending.next() {}
        }
        Ok(woken.is_some())
    }

    fn read_job_file(&self, job: &JobId, name: &str) -> Result<Option<Vec<u8>>> {
        check_job_file_name(name)?;
        let row = self
            .client()?
            .query_opt(
                "SELECT f.bytes FROM wrkr_jobs j LEFT JOIN wrkr_job_files f ON f.job_id = j.job_id AND f.name = $2 \
                 WHERE j.job_id = $1 AND j.last_seq > 0",
                &[&job.as_str(), &name],
            )
            .map_err(|e| sql_error(&format!("read {name}"), &e))?;
        match row {
            None => Err(job_not_found(job)),
            Some(row) => Ok(row.get(0)),
        }
    }
}
