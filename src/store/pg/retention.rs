//! `wrkr store prune` on PostgreSQL: the jobs side of `store::retention` for rows.
//!
//! A job's age is the time of its newest record (`wrkr_jobs.updated_at`, the `created_at` of its
//! last event); its size is the bytes of its event lines and job files. Removing a job is one
//! transaction: lock the job row (a busy row waits the lock timeout, then the job is skipped),
//! derive its state under that lock and check it again (a worker may have claimed it since the
//! selection), then delete its job files, its events and its row, and commit. A crash or a lost
//! connection before the commit removes nothing, so no job is ever half removed; the rows are
//! gone only from the commit on. There is no trash to empty.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::contract::{Error, ReasonCode, Result};
use crate::failpoint;
use crate::store::pg::connect::sql_error;
use crate::store::pg::{PgStore, append_in};
use crate::store::retention::{Candidate, Jobs, active_state};
use crate::store::{AppendOptions, JobId, Store};

/// How a job is named in prune's report (as `accept run` names a job file).
pub const PATH_PREFIX: &str = "wrkr_jobs:";

impl Jobs for PgStore {
    fn empty_trash(&self) -> Result<()> {
        Ok(())
    }

    fn candidates(&self) -> Result<Vec<Candidate>> {
        let rows = self
            .client()?
            .query("SELECT job_id FROM wrkr_jobs WHERE last_seq > 0 ORDER BY job_id", &[])
            .map_err(|e| sql_error("list the jobs", &e))?;
        Ok(rows
            .iter()
            .map(|r| r.get::<_, String>(0))
            .map(|name| Candidate { path: format!("{PATH_PREFIX}{name}"), name })
            .collect())
    }

    fn measure(&self, job: &Candidate) -> Result<(u64, SystemTime)> {
        let row = self
            .client()?
            .query_one(
                "SELECT (SELECT coalesce(sum(octet_length(line)), 0) FROM wrkr_events WHERE job_id = $1)::bigint \
                      + (SELECT coalesce(sum(octet_length(bytes)), 0) FROM wrkr_job_files WHERE job_id = $1)::bigint, \
                        (SELECT extract(epoch FROM updated_at::timestamptz)::float8 FROM wrkr_jobs WHERE job_id = $1)",
                &[&job.name],
            )
            .map_err(|e| sql_error("measure the job", &e).with("job_id", job.name.as_str()))?;
        let size: i64 = row.get(0);
        let seconds: Option<f64> = row.get(1);
        let newest = seconds
            .filter(|s| s.is_finite() && *s > 0.0)
            .map_or(UNIX_EPOCH, |s| UNIX_EPOCH + Duration::from_secs_f64(s));
        Ok((size.max(0) as u64, newest))
    }

    fn store(&self) -> &dyn Store {
        self
    }

    fn remove(&self, job: &Candidate, include_active: bool) -> Result<Option<String>> {
        let id = JobId::parse(&job.name)?;
        // Between the selection and the removal: where a worker can claim the job.
        failpoint::check("retention.remove").map_err(|e| Error::io(format!("remove {}", job.path), e))?;
        let mut client = self.client()?;
        let mut tx = client.transaction().map_err(|e| sql_error("begin", &e))?;
        // The row lock every append takes, and the state under it (an empty plan writes nothing).
        match append_in(&mut tx, &id, AppendOptions::default(), &mut |_| Ok(Vec::new())) {
            Ok(done) if !include_active => {
                if let Some(why) = active_state(&done.state) {
                    return Ok(Some(why));
                }
            }
            Ok(_) => {}
            // A busy row stays (as a busy file lock does), with or without --include-active.
            Err(err) if !include_active || err.code == ReasonCode::LeaseConflict => {
                return Ok(Some(err.message.clone()));
            }
            // --include-active also removes a job whose ledger does not replay. The failed
            // statement ended the transaction: lock the row again in a new one.
            Err(_) => {
                drop(tx);
                tx = client.transaction().map_err(|e| sql_error("begin", &e))?;
                tx.execute("SELECT 1 FROM wrkr_jobs WHERE job_id = $1 FOR UPDATE", &[&id.as_str()])
                    .map_err(|e| sql_error("lock the job", &e).with("job_id", id.as_str()))?;
            }
        }
        delete_in(&mut tx, &id)?;
        tx.commit().map_err(|e| sql_error("commit the removal", &e).with("job_id", id.as_str()))?;
        Ok(None)
    }
}

/// The job's files, events and row (the foreign keys' order).
fn delete_in(tx: &mut postgres::Transaction<'_>, job: &JobId) -> Result<()> {
    for table in ["wrkr_job_files", "wrkr_events", "wrkr_jobs"] {
        tx.execute(&format!("DELETE FROM {table} WHERE job_id = $1"), &[&job.as_str()])
            .map_err(|e| sql_error(&format!("delete from {table}"), &e).with("job_id", job.as_str()))?;
    }
    Ok(())
}
