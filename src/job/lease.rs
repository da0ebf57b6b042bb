//! Leases with fencing: who may drive a job, until when, and with which epoch.
//!
//! A lease is a `lease_set` event (Go's payload plus `epoch`); releasing it is `lease_released`.
//! Every acquisition — first grant, re-grant to the same worker, takeover after expiry — gets the
//! next epoch, strictly greater than any epoch the job has seen, and the store checks that under
//! the job's lock. An append made for a holder carries its epoch; the store refuses it once a newer
//! epoch exists ([`check_fence`]). A worker that was paused (GC, SIGSTOP, a laptop lid) past its
//! TTL therefore cannot write after another worker took over, even if it never noticed.
//!
//! These functions only *plan* the event from the current state; the store runs them under the
//! lock, so the check and the append are one step. Time comes in as an argument.

use std::time::Duration;

use serde::Serialize;
use serde_json::json;

use crate::contract::time::Timestamp;
use crate::contract::{Error, ReasonCode, Result};
use crate::job::event::NewEvent;
use crate::job::state::{JobState, LeaseRecord};

/// Default lease time to live.
pub const DEFAULT_TTL: Duration = Duration::from_secs(30);
/// Default interval between heartbeats (a third of the TTL).
pub const DEFAULT_HEARTBEAT_INTERVAL: Duration = Duration::from_secs(10);

/// Whether a recorded lease has lapsed at `now`. An unparsable expiry counts as lapsed.
pub fn is_expired(lease: &LeaseRecord, now: Timestamp) -> bool {
    Timestamp::parse(&lease.expires_at).is_none_or(|expires| expires <= now)
}

/// The `lease_set` event for `worker` acquiring (or taking over) the lease.
pub fn plan_acquire(state: &JobState, worker: &str, ttl: Duration, now: Timestamp) -> Result<NewEvent> {
    if let Some(lease) = &state.lease
        && !is_expired(lease, now)
        && lease.worker_id != worker
    {
        return Err(Error::new(ReasonCode::LeaseConflict, "job lease already held by another worker")
            .with("job_id", state.job_id.as_str())
            .with("worker_id", worker)
            .with("existing_worker_id", lease.worker_id.as_str())
            .with("existing_lease_id", lease.lease_id.as_str())
            .with("existing_epoch", lease.epoch)
            .with("expires_at", lease.expires_at.as_str())
            .with_hint(format!(
                "wait for the lease to expire or be released; wrkr-lease show {} shows the holder",
                state.job_id
            )));
    }
    let lease_id = format!("lease-{}-{}", std::process::id(), now.unix_nanos());
    let record = LeaseRecord {
        worker_id: worker.to_owned(),
        lease_id,
        acquired_at: now.to_string(),
        heartbeat_at: now.to_string(),
        expires_at: now.plus(ttl).to_string(),
        epoch: state.lease_epoch + 1,
    };
    Ok(lease_set(&record))
}

/// The `lease_set` event renewing `worker`'s lease. With `epoch`, it must be the current one.
pub fn plan_heartbeat(
    state: &JobState,
    worker: &str,
    epoch: Option<u64>,
    ttl: Duration,
    now: Timestamp,
) -> Result<NewEvent> {
    let lease = holder(state, worker, epoch, "heartbeat")?;
    let record = LeaseRecord { heartbeat_at: now.to_string(), expires_at: now.plus(ttl).to_string(), ..lease.clone() };
    Ok(lease_set(&record))
}

/// The `lease_released` event, or `None` when no lease is held (release is then a no-op).
pub fn plan_release(state: &JobState, worker: &str, epoch: Option<u64>) -> Result<Option<NewEvent>> {
    if state.lease.is_none() {
        return Ok(None);
    }
    let lease = holder(state, worker, epoch, "release")?;
    Ok(Some(NewEvent::new(
        "lease_released",
        json!({"lease_id": lease.lease_id, "worker_id": lease.worker_id, "epoch": lease.epoch}),
    )))
}

/// Refuse an append fenced with `epoch` unless it is the newest epoch granted on the job.
pub fn check_fence(state: &JobState, epoch: u64) -> Result<()> {
    if epoch == state.lease_epoch && epoch > 0 {
        return Ok(());
    }
    let mut err = Error::new(
        ReasonCode::LeaseConflict,
        format!("fenced append with epoch {epoch}, but the job's lease epoch is {}", state.lease_epoch),
    )
    .with("job_id", state.job_id.as_str())
    .with("epoch", epoch)
    .with("current_epoch", state.lease_epoch);
    if let Some(lease) = &state.lease {
        err = err.with("existing_worker_id", lease.worker_id.as_str());
    }
    Err(err.with_hint("the lease was taken over: stop writing and re-acquire"))
}

fn holder<'s>(state: &'s JobState, worker: &str, epoch: Option<u64>, op: &str) -> Result<&'s LeaseRecord> {
    let Some(lease) = &state.lease else {
        return Err(Error::new(ReasonCode::LeaseConflict, format!("{op}: no active lease"))
            .with("job_id", state.job_id.as_str())
            .with("worker_id", worker)
            .with_hint(format!("acquire the lease first: wrkr-lease acquire {} --worker W", state.job_id)));
    };
    if lease.worker_id != worker || epoch.is_some_and(|e| e != lease.epoch) {
        return Err(Error::new(ReasonCode::LeaseConflict, format!("{op} lease mismatch"))
            .with("job_id", state.job_id.as_str())
            .with("worker_id", worker)
            .with("existing_worker_id", lease.worker_id.as_str())
            .with("existing_lease_id", lease.lease_id.as_str())
            .with("existing_epoch", lease.epoch));
    }
    Ok(lease)
}

fn lease_set(record: &LeaseRecord) -> NewEvent {
    NewEvent::new("lease_set", serde_json::to_value(record).unwrap_or_default())
}

/// A lease as the tools print it.
#[derive(Debug, Serialize)]
pub struct LeaseView {
    pub job_id: String,
    /// `held`, `expired`, `released` (by this call) or `none`.
    pub state: &'static str,
    pub epoch: u64,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub worker_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub lease_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub acquired_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub heartbeat_at: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<String>,
    pub expired: bool,
}

impl LeaseView {
    pub fn of(job_id: &str, lease: Option<&LeaseRecord>, last_epoch: u64, now: Timestamp) -> LeaseView {
        match lease {
            Some(l) => {
                let expired = is_expired(l, now);
                LeaseView {
                    job_id: job_id.to_owned(),
                    state: if expired { "expired" } else { "held" },
                    epoch: l.epoch,
                    worker_id: Some(l.worker_id.clone()),
                    lease_id: Some(l.lease_id.clone()),
                    acquired_at: Some(l.acquired_at.clone()),
                    heartbeat_at: Some(l.heartbeat_at.clone()),
                    expires_at: Some(l.expires_at.clone()),
                    expired,
                }
            }
            None => LeaseView {
                job_id: job_id.to_owned(),
                state: "none",
                epoch: last_epoch,
                worker_id: None,
                lease_id: None,
                acquired_at: None,
                heartbeat_at: None,
                expires_at: None,
                expired: false,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> Timestamp {
        Timestamp::from_unix(1_770_998_400, 0)
    }

    fn with_lease(worker: &str, epoch: u64, expires_in: i64) -> JobState {
        let mut state = JobState::new("j");
        let t = now();
        state.lease = Some(LeaseRecord {
            worker_id: worker.into(),
            lease_id: "l".into(),
            acquired_at: t.to_string(),
            heartbeat_at: t.to_string(),
            expires_at: Timestamp::from_unix(t.unix_seconds() + expires_in, 0).to_string(),
            epoch,
        });
        state.lease_epoch = epoch;
        state
    }

    #[test]
    fn acquire_conflicts_until_expiry_then_takes_over_with_a_higher_epoch() {
        let held = with_lease("a", 3, 10);
        let err = plan_acquire(&held, "b", DEFAULT_TTL, now()).unwrap_err();
        assert_eq!(err.code, ReasonCode::LeaseConflict);
        assert_eq!(err.details["existing_worker_id"], "a");
        let lapsed = with_lease("a", 3, 0);
        let event = plan_acquire(&lapsed, "b", DEFAULT_TTL, now()).unwrap();
        assert_eq!(event.payload["epoch"], 4);
        assert_eq!(event.payload["worker_id"], "b");
        assert_eq!(event.payload["expires_at"], "2026-02-13T16:00:30Z");
    }

    #[test]
    fn heartbeat_and_release_need_the_holder() {
        let held = with_lease("a", 2, 10);
        assert!(plan_heartbeat(&held, "a", Some(2), DEFAULT_TTL, now()).is_ok());
        assert!(plan_heartbeat(&held, "b", None, DEFAULT_TTL, now()).is_err());
        assert!(plan_heartbeat(&held, "a", Some(1), DEFAULT_TTL, now()).is_err());
        assert!(plan_release(&held, "b", None).is_err());
        assert!(plan_release(&JobState::new("j"), "a", None).unwrap().is_none());
        assert!(plan_heartbeat(&JobState::new("j"), "a", None, DEFAULT_TTL, now()).is_err());
    }

    #[test]
    fn fence_accepts_only_the_newest_epoch() {
        let held = with_lease("a", 2, 10);
        assert!(check_fence(&held, 2).is_ok());
        assert_eq!(check_fence(&held, 1).unwrap_err().code, ReasonCode::LeaseConflict);
        assert!(check_fence(&held, 3).is_err());
        assert!(check_fence(&JobState::new("j"), 0).is_err());
    }
}
