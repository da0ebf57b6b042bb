//! The worker queue: which jobs a `wrkr worker` may claim, on either store.
//!
//! A job is *queued for workers* when its ledger has an `x-job_queued` record (`wrkr submit
//! --queue`, in the batch that creates the job), whose `labels` pin it to workers that have every
//! one of them. Jobs submitted without `--queue` are never claimed: their runner is the `submit` or
//! `resume` that started them. A job queued for workers is *claimable* when
//!
//! - its status is `queued` (never run), or
//! - its status is `running` and no live lease holds it (its worker died, or drained and released
//!   the lease between steps), or
//! - its status is `blocked_decision` and an `approval_recorded` record follows its last
//!   `status_changed` (the decision it waits for was approved).
//!
//! The claim takes the lease in the same critical section as the check (the job's lock), so two
//! workers never both win; on PostgreSQL the candidate row is locked `FOR UPDATE SKIP LOCKED`, so
//! they do not even wait for each other. The rule is written twice, here for the file store and as
//! SQL in `pg/claim.rs`; both are exercised by tests/pg_worker.rs and tests/worker.rs.
//!
//! A claim whose answer was lost (the connection broke at its commit) may have taken the lease.
//! Claiming again would skip that job (its lease is live) until the lease ran out, then lease it a
//! second time; so a worker first looks for a live lease in its own name ([`claimed_by`]).

use std::time::Duration;

use serde_json::Value;

use crate::contract::time::Timestamp;
use crate::contract::{Error, ReasonCode, Result};
use crate::job::lease::{self, is_expired};
use crate::job::{JobState, NewEvent, Status};
use crate::store::{AppendOptions, JobId, Store};

/// The record that queues a job for workers.
pub const QUEUED_EVENT: &str = "x-job_queued";

/// A label: 1 to 64 of `A-Z a-z 0-9 . _ : -`.
pub fn check_label(label: &str) -> Result<()> {
    let ok = (1..=64).contains(&label.len())
        && label.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-'));
    if ok {
        return Ok(());
    }
    Err(Error::invalid_input(format!("not a label: {label:?}"))
        .with("label", label)
        .with_hint("a label is 1 to 64 of A-Z a-z 0-9 . _ : -"))
}

/// The `x-job_queued` event for `labels` (sorted, without repeats, so the record is canonical).
pub fn queued_event(labels: &[String]) -> Result<NewEvent> {
    let mut labels = labels.to_vec();
    labels.iter().try_for_each(|l| check_label(l))?;
    labels.sort();
    labels.dedup();
    Ok(NewEvent::new(QUEUED_EVENT, serde_json::json!({"labels": labels})))
}

/// Whether the state alone allows a claim now (the ledger checks are `queue_facts`'s).
pub fn claimable_state(state: &JobState, now: Timestamp) -> bool {
    matches!(state.status, Status::Queued | Status::Running | Status::BlockedDecision)
        && state.lease.as_ref().is_none_or(|l| is_expired(l, now))
}

/// What the ledger says about a job's place in the queue.
struct QueueFacts {
    /// `None`: not queued for workers.
    labels: Option<Vec<String>>,
    /// An `approval_recorded` follows the last `status_changed`.
    approved_since_status: bool,
}

fn queue_facts(store: &dyn Store, job: &JobId) -> Result<QueueFacts> {
    let mut facts = QueueFacts { labels: None, approved_since_status: false };
    store.read_events(job, 1, &mut |record, _| {
        match record.event_type.as_str() {
            QUEUED_EVENT => {
                let labels = record.payload.as_ref().and_then(|p| p.get("labels")).and_then(Value::as_array);
                facts.labels =
                    Some(labels.into_iter().flatten().filter_map(Value::as_str).map(str::to_owned).collect());
            }
            "status_changed" => facts.approved_since_status = false,
            "approval_recorded" => facts.approved_since_status = true,
            _ => {}
        }
        Ok(())
    })?;
    Ok(facts)
}

/// The claim of a store without row locks (the file store): scan the jobs, check each candidate's
/// ledger, and take the first lease the job's lock grants. Returns the job and the lease epoch.
pub fn claim_by_scan(
    store: &dyn Store,
    worker: &str,
    labels: &[String],
    ttl: Duration,
) -> Result<Option<(JobId, u64)>> {
    let now = Timestamp::now();
    let mut candidates: Vec<(String, JobId)> = store
        .list_jobs()?
        .into_iter()
        .filter_map(|(job, state)| {
            state.ok().filter(|s| claimable_state(s, now)).map(|s| (s.started_at.unwrap_or_default(), job))
        })
        .collect();
    candidates.sort();
    for (_, job) in candidates {
        let facts = queue_facts(store, &job)?;
        let Some(wanted) = facts.labels else { continue };
        if !wanted.iter().all(|l| labels.contains(l)) {
            continue;
        }
        match take(store, &job, worker, ttl, facts.approved_since_status) {
            Ok(Some(epoch)) => return Ok(Some((job, epoch))),
            Ok(None) => continue,
            Err(err) if err.code == ReasonCode::LeaseConflict => continue,
            Err(err) => return Err(err),
        }
    }
    Ok(None)
}

/// The job (and epoch) whose live lease `worker` holds while still claimable by status: the claim
/// whose acknowledgement was lost, if it committed. A worker id names one slot of one process, and
/// a slot runs one job at a time, so the only such lease it does not know of is that claim.
/// Asked only after a claim failed with the connection (it reads every job's state).
pub fn claimed_by(store: &dyn Store, worker: &str, now: Timestamp) -> Result<Option<(JobId, u64)>> {
    let held = store.list_jobs()?.into_iter().find_map(|(job, state)| {
        let state = state.ok()?;
        let lease = state.lease.as_ref().filter(|l| l.worker_id == worker && !is_expired(l, now))?;
        let by_status = matches!(state.status, Status::Queued | Status::Running | Status::BlockedDecision);
        by_status.then_some((job, lease.epoch))
    });
    Ok(held)
}

/// Take the lease of `job` for `worker` if, under the job's lock, it is still claimable (`approved`:
/// the ledger check of a `blocked_decision` job, made by the caller). Returns the new epoch.
pub fn take(store: &dyn Store, job: &JobId, worker: &str, ttl: Duration, approved: bool) -> Result<Option<u64>> {
    let mut claimable = false;
    let done = store.append(job, AppendOptions::default(), &mut |state| {
        let now = Timestamp::now();
        claimable = claimable_state(state, now) && (state.status != Status::BlockedDecision || approved);
        match claimable {
            true => Ok(vec![lease::plan_acquire(state, worker, ttl, now)?]),
            false => Ok(Vec::new()),
        }
    })?;
    Ok(claimable.then_some(done.state.lease_epoch))
}
