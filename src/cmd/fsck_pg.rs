//! `wrkr fsck` on a PostgreSQL store: the same findings, exit codes and `--repair` promise as on
//! the file store (`cmd::fsck`), for what a database can get wrong.
//!
//! Per job, streaming its event rows in seq order (one query, bounded memory): every stored line
//! parses and holds its row's seq, seqs run 1..n without a gap (`ledger_corrupt`, not repairable:
//! the ledger is never changed by fsck); the job row's copies (`last_seq`, `status`,
//! `lease_epoch`, `lease_worker`, `lease_expires`) agree with the full replay (`job_row`: an
//! append refuses a row whose `last_seq` disagrees); the snapshot column, when set, is the state
//! replayed to its `snapshot_seq` (`snapshot`: every reader starts from it, so a wrong one is
//! believed); a `running` job's lease has not expired (`stale_runner`); and every log tail the
//! ledger says a step wrote is in `wrkr_job_files` (`job_file`: a tail is written before the step's
//! end is appended, so a missing one was removed afterwards, or the job was imported from a file
//! store, whose logs stay on its disk).
//!
//! There is no torn tail, temp file or file mode in a database. `--repair` rebuilds the job row
//! and its snapshot from the replayed events in one transaction under the row lock
//! (`PgStore::rebuild_job_row`); no event row is ever updated or deleted.

use std::collections::BTreeSet;

use postgres::fallible_iterator::FallibleIterator;
use postgres::types::ToSql;
use serde_json::Value;

use crate::cli::io::Io;
use crate::cmd::fsck::{Finding, Repair, Tally};
use crate::contract::Result;
use crate::contract::time::Timestamp;
use crate::job::JobState;
use crate::run::attempts::{Attempts, STREAMS};
use crate::run::evidence::tail_file_name;
use crate::store::ledger::{EventRecord, corrupt};
use crate::store::pg::connect::sql_error;
use crate::store::{JobId, PgStore};

/// Check `named` jobs (every job row when empty), reporting through `tally`.
pub(crate) fn check_store(store: &PgStore, named: Vec<JobId>, tally: &mut Tally, io: &mut Io) -> Result<()> {
    let jobs = if named.is_empty() { all_jobs(store)? } else { named };
    for job in &jobs {
        for finding in check(store, job)? {
            tally.settle(finding, io, |f| {
                let seq = store.rebuild_job_row(job)?;
                Ok(Repair::Done(format!(
                    "rebuilt the job row and its snapshot from the ledger (seq {seq}) for {}",
                    f.check
                )))
            })?;
        }
    }
    Ok(())
}

fn all_jobs(store: &PgStore) -> Result<Vec<JobId>> {
    let rows = store
        .client()?
        .query("SELECT job_id FROM wrkr_jobs ORDER BY job_id", &[])
        .map_err(|e| sql_error("list the jobs", &e))?;
    Ok(rows.iter().filter_map(|r| JobId::parse(r.get::<_, &str>(0)).ok()).collect())
}

/// The job row as stored: what the replay is compared with.
struct Row {
    last_seq: i64,
    snapshot_seq: i64,
    snapshot: Option<Vec<u8>>,
    status: String,
    lease_epoch: i64,
    lease_worker: Option<String>,
    lease_expires: Option<String>,
}

/// What a full replay found: the state at the end and at the snapshot's seq, and the log tails
/// that finished steps recorded.
struct Replayed {
    state: JobState,
    at_snapshot: Option<JobState>,
    tails: BTreeSet<String>,
}

fn check(store: &PgStore, job: &JobId) -> Result<Vec<Finding>> {
    let id = job.as_str();
    let mut found = Vec::new();
    // Only a job named on the command line can lack its row (every listed job has one): a typo.
    let Some(row) = job_row(store, job)? else { return Err(crate::store::job_not_found(job)) };
    let replayed = match replay(store, job, row.snapshot_seq) {
        Ok(Some(replayed)) => replayed,
        Ok(None) => {
            found.push(Finding::new(id, "ledger_missing", "error", false, "the job row has no event rows".into()));
            return Ok(found);
        }
        Err(err) => {
            let mut finding = Finding::new(id, "ledger_corrupt", "error", false, err.message.clone());
            finding.details = err.details.clone();
            found.push(finding);
            return Ok(found);
        }
    };
    let state = &replayed.state;
    if let Some(message) = row_disagrees(&row, state) {
        found.push(Finding::new(id, "job_row", "error", true, message).with("last_seq", state.last_applied_seq));
    }
    if let Some(message) = snapshot_problem(job, &row, replayed.at_snapshot.as_ref()) {
        found.push(Finding::new(id, "snapshot", "warning", true, message).with("snapshot_seq", row.snapshot_seq));
    }
    if let Some(seconds) = crate::cmd::status::stale_for(state, Timestamp::now()) {
        found.push(
            Finding::new(id, "stale_runner", "warning", false, format!("running, but its runner is gone ({seconds}s)"))
                .with("stale_for_seconds", seconds)
                .with("resume_command", format!("wrkr resume {id}")),
        );
    }
    let stored = job_file_names(store, job)?;
    for name in replayed.tails.difference(&stored) {
        found.push(
            Finding::new(id, "job_file", "warning", false, format!("log tail {name} is recorded but not stored"))
                .with("file", name.as_str()),
        );
    }
    Ok(found)
}

fn job_row(store: &PgStore, job: &JobId) -> Result<Option<Row>> {
    let row = store
        .client()?
        .query_opt(
            "SELECT last_seq, snapshot_seq, snapshot, status, lease_epoch, lease_worker, lease_expires \
             FROM wrkr_jobs WHERE job_id = $1",
            &[&job.as_str()],
        )
        .map_err(|e| sql_error("read the job", &e))?;
    Ok(row.map(|r| Row {
        last_seq: r.get(0),
        snapshot_seq: r.get(1),
        snapshot: r.get(2),
        status: r.get(3),
        lease_epoch: r.get(4),
        lease_worker: r.get(5),
        lease_expires: r.get(6),
    }))
}

/// Stream every event row once; `None` when the job has none.
fn replay(store: &PgStore, job: &JobId, snapshot_seq: i64) -> Result<Option<Replayed>> {
    let mut client = store.client()?;
    let params: [&(dyn ToSql + Sync); 1] = [&job.as_str()];
    let mut rows = client
        .query_raw("SELECT seq, line FROM wrkr_events WHERE job_id = $1 ORDER BY seq", params)
        .map_err(|e| sql_error("read the ledger", &e))?;
    let mut replayed = Replayed { state: JobState::new(job.as_str()), at_snapshot: None, tails: BTreeSet::new() };
    let mut attempts = Attempts::default();
    let mut expected = 1;
    while let Some(row) = rows.next().map_err(|e| sql_error("read the ledger", &e))? {
        let seq = row.get::<_, i64>(0);
        let record = EventRecord::parse(row.get(1)).map_err(|why| corrupt(seq as u64, why))?;
        if record.seq as i64 != seq || seq != expected {
            return Err(corrupt(seq as u64, format!("seq {} in row {seq} (expected {expected})", record.seq))
                .with("seq", record.seq)
                .with("expected_seq", expected));
        }
        replayed.state.apply(&record).map_err(|e| e.context(format!("ledger seq {seq}")))?;
        attempts.observe(&record);
        note_tails(&record, &attempts, &mut replayed.tails);
        if seq == snapshot_seq {
            replayed.at_snapshot = Some(replayed.state.clone());
        }
        expected += 1;
    }
    Ok((expected > 1).then_some(replayed))
}

/// The tail job files a step's end implies: one per stream that had output (`run::evidence`).
fn note_tails(record: &EventRecord, attempts: &Attempts, tails: &mut BTreeSet<String>) {
    let Some(payload) = record.payload.as_ref() else { return };
    let number = |key: &str| payload.get(key).and_then(Value::as_u64);
    let attempt = match record.event_type.as_str() {
        "x-step_finished" => {
            let (Some(index), Some(attempt)) = (number("step_index"), number("attempt")) else { return };
            attempts.list.iter().rev().find(|a| a.step_index == index && a.attempt == attempt)
        }
        "x-wrap_finished" => attempts.list.iter().rev().find(|a| a.wrap),
        _ => None,
    };
    let Some(attempt) = attempt else { return };
    for stream in STREAMS {
        if payload.get(stream).and_then(|d| d.get("bytes")).and_then(Value::as_u64).unwrap_or(0) > 0 {
            tails.insert(tail_file_name(&attempt.log_name(), stream));
        }
    }
}

fn job_file_names(store: &PgStore, job: &JobId) -> Result<BTreeSet<String>> {
    let rows = store
        .client()?
        .query("SELECT name FROM wrkr_job_files WHERE job_id = $1", &[&job.as_str()])
        .map_err(|e| sql_error("list the job files", &e))?;
    Ok(rows.iter().map(|r| r.get::<_, String>(0)).collect())
}

/// How the job row's copies differ from the replayed state, if they do.
fn row_disagrees(row: &Row, state: &JobState) -> Option<String> {
    let lease = state.lease.as_ref();
    let mut differs = Vec::new();
    if row.last_seq != state.last_applied_seq as i64 {
        differs.push(format!("last_seq {} (ledger: {})", row.last_seq, state.last_applied_seq));
    }
    if row.status != state.status.to_string() {
        differs.push(format!("status {} (ledger: {})", row.status, state.status));
    }
    if row.lease_epoch != state.lease_epoch as i64 {
        differs.push(format!("lease_epoch {} (ledger: {})", row.lease_epoch, state.lease_epoch));
    }
    if row.lease_worker.as_deref() != lease.map(|l| l.worker_id.as_str())
        || row.lease_expires.as_deref() != lease.map(|l| l.expires_at.as_str())
    {
        differs.push("lease_worker/lease_expires".to_owned());
    }
    (!differs.is_empty()).then(|| format!("the job row disagrees with its ledger: {}", differs.join(", ")))
}

/// Why the snapshot column cannot be trusted, if it cannot.
fn snapshot_problem(job: &JobId, row: &Row, at_snapshot: Option<&JobState>) -> Option<String> {
    let bytes = row.snapshot.as_deref()?;
    let Ok(snapshot) = serde_json::from_slice::<JobState>(bytes) else {
        return Some("the snapshot column is not a job state".to_owned());
    };
    if snapshot.job_id != job.as_str() || snapshot.last_applied_seq as i64 != row.snapshot_seq {
        return Some(format!("the snapshot column is not this job's state at seq {}", row.snapshot_seq));
    }
    match at_snapshot {
        None => Some(format!("the snapshot at seq {} is ahead of the ledger", row.snapshot_seq)),
        Some(state) if *state != snapshot => {
            Some(format!("the snapshot at seq {} differs from the ledger replayed to that seq", row.snapshot_seq))
        }
        Some(_) => None,
    }
}
