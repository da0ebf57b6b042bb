//! The worker queue on PostgreSQL (the rule: `store::queue`).
//!
//! `wrkr_jobs.queue_labels` (schema version 2) mirrors the job's `x-job_queued` record: NULL for a
//! job not queued for workers, else its labels. It is set in the transaction that appends the
//! record, so a job is claimable from the commit that queues it. A claim is one transaction: the
//! oldest claimable row whose labels the worker has is locked `FOR UPDATE SKIP LOCKED` (a row
//! another worker is claiming is skipped, not waited for), the lease is planned against the state
//! derived under that lock (the same code as every append), and the commit's NOTIFY tells the
//! other workers that something changed.

use std::time::Duration;

use postgres::Transaction;

use crate::contract::time::Timestamp;
use crate::contract::{Error, Result};
use crate::job::lease;
use crate::store::ledger::EventRecord;
use crate::store::pg::{PgStore, append_in, commit, connect::sql_error};
use crate::store::{AppendOptions, JobId, queue};

/// Claimable rows, oldest first: the SQL form of the rule in `store::queue`. An approval follows
/// the last status change when the newest `approval_recorded` line has a higher seq than the newest
/// `status_changed` line (the record type is the line's third key, written by `store::batch`).
const CANDIDATE: &str = "
SELECT j.job_id FROM wrkr_jobs j
WHERE j.queue_labels IS NOT NULL AND j.queue_labels <@ $1::text[]
  AND (j.lease_worker IS NULL OR j.lease_expires::timestamptz < now())
  AND (j.status IN ('queued', 'running')
       OR (j.status = 'blocked_decision' AND
           (SELECT max(seq) FROM wrkr_events e WHERE e.job_id = j.job_id
              AND position('\"type\":\"approval_recorded\"'::bytea IN e.line) > 0)
         > (SELECT max(seq) FROM wrkr_events e WHERE e.job_id = j.job_id
              AND position('\"type\":\"status_changed\"'::bytea IN e.line) > 0)))
ORDER BY j.started_at, j.job_id
LIMIT 1
FOR UPDATE OF j SKIP LOCKED";

/// Set the job row's `queue_labels` from the `x-job_queued` record among `records`.
pub(crate) fn mark_queued(tx: &mut Transaction<'_>, job: &JobId, records: &[EventRecord]) -> Result<()> {
    let Some(record) = records.iter().rev().find(|r| r.event_type == queue::QUEUED_EVENT) else { return Ok(()) };
    let labels: Vec<String> = record
        .payload
        .as_ref()
        .and_then(|p| p.get("labels"))
        .and_then(|l| l.as_array())
        .map(|l| l.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
        .unwrap_or_default();
    tx.execute("UPDATE wrkr_jobs SET queue_labels = $2 WHERE job_id = $1", &[&job.as_str(), &labels])
        .map(drop)
        .map_err(|e| sql_error("queue the job", &e))
}

impl PgStore {
    /// Claim the oldest claimable job for `worker`; its id and lease epoch, or `None`.
    pub fn claim_queued(&self, worker: &str, labels: &[String], ttl: Duration) -> Result<Option<(JobId, u64)>> {
        let mut client = self.client()?;
        let mut tx = client.transaction().map_err(|e| sql_error("begin", &e))?;
        let row = tx.query_opt(CANDIDATE, &[&labels]).map_err(|e| sql_error("find a queued job", &e))?;
        let Some(row) = row else { return Ok(None) };
        let job = JobId::parse(row.get::<_, &str>(0))
            .map_err(|e| Error::generic(format!("a queued job's id is not valid: {}", e.message)))?;
        let mut claimable = false;
        let done = append_in(&mut tx, &job, AppendOptions::default(), &mut |state| {
            let now = Timestamp::now();
            // The row matched under its lock; the derived state is checked once more (a
            // snapshot column could in principle lag the row's status).
            claimable = queue::claimable_state(state, now);
            match claimable {
                true => Ok(vec![lease::plan_acquire(state, worker, ttl, now)?]),
                false => Ok(Vec::new()),
            }
        })?;
        // A lost acknowledgement here leaves the lease taken: the worker looks for it before it
        // claims again (`queue::claimed_by`).
        commit(tx, &job)?;
        Ok(claimable.then_some((job, done.state.lease_epoch)))
    }
}
