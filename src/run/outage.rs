//! Riding out a store outage: what a runner does when its PostgreSQL store stops answering.
//!
//! A cut link or a server restart breaks the connection (`store::pg::connect` bounds how long
//! that takes to notice: keepalives, `tcp_user_timeout`); the error carries the `connection`
//! detail, and the next use of the handle reconnects. Killing every running step at the first
//! broken connection would turn a two-second restart into a fleet of re-runs, so a runner instead:
//!
//! - keeps its step running and retries its writes (the watch's protocol records, the step's end,
//!   its evidence) with a backoff, for up to [`RIDE_OUT`];
//! - stops the step itself once the store has been unreachable for half the lease TTL
//!   (`run::watch`): at the TTL another worker may take the job over, and a step must not run on
//!   two hosts at once. Half, because the check itself can wait one network timeout
//!   (`tcp_user_timeout`, `connect_timeout`; keep them below TTL/2) before it sees the clock;
//! - lets the fence decide what its writes mean once the store answers again: accepted, the lease
//!   was still its own and the run goes on; refused (`E_LEASE_CONFLICT`), another worker has the
//!   job, the run stops, and [`refused`] says so on stderr (the chaos test counts those lines).
//!
//! An error that is not the connection's (a refused transition, a corrupt ledger, any file store
//! I/O error) is never retried here.
//!
//! A connection that broke at the commit leaves the batch's fate unknown: the server may have
//! committed it and the answer been lost. Every write retried here is therefore idempotent: an
//! append looks for its batch first ([`landed`]: the lease holder's own records after the seq it
//! last saw; the runner's `commit` and the step watch), a claim for its lease
//! (`store::queue::claimed_by`), and a job file (step evidence) is an upsert of the same bytes.
//! The file store has no such window: it acknowledges once the batch is fsynced, and reports no
//! error after that (a failed fsync removes the batch); a crash between fsync and answer ends the
//! writer, whose successor reads the ledger as it starts.

use std::time::{Duration, Instant};

use crate::contract::{Error, ReasonCode};
use crate::store::{JobId, Store};

/// How long a runner keeps retrying a write the store does not answer before it gives up.
pub const RIDE_OUT: Duration = Duration::from_secs(120);

/// Whether `err` is a broken or unreachable connection (worth another try), not an answer.
pub fn is_outage(err: &Error) -> bool {
    err.details.contains_key(crate::store::pg::connect::CONNECTION)
}

/// Whether `err` is the fence refusing an append (not a busy lock, which is retried elsewhere).
pub fn is_fenced(err: &Error) -> bool {
    err.code == ReasonCode::LeaseConflict && !err.details.contains_key("busy")
}

/// The seqs after `after` of records written under lease `epoch` by its holder (its records carry
/// the epoch in their payload; the heartbeat's `lease_*` records are left out): a batch whose
/// acknowledgement was lost, if it landed. Only one thread of a runner appends such records at a
/// time (the runner between steps, its step watch during one), and a batch lands whole or not at
/// all, so any seq here means the whole unacknowledged batch is in.
pub fn landed(store: &dyn Store, job: &JobId, epoch: u64, after: u64) -> Result<Vec<u64>, Error> {
    let mut seqs = Vec::new();
    store.read_events(job, after + 1, &mut |record, _| {
        let by_holder =
            record.payload.as_ref().and_then(|p| p.get("epoch")).and_then(serde_json::Value::as_u64) == Some(epoch);
        if by_holder && !record.event_type.starts_with("lease_") {
            seqs.push(record.seq);
        }
        Ok(())
    })?;
    Ok(seqs)
}

/// Report a late append the fence refused: the lease was taken over while this runner was away.
pub fn refused(job: &JobId, epoch: u64, what: &str, err: &Error) {
    crate::cli::io::diag(&format!(
        "wrkr: late append refused by the fence (E_LEASE_CONFLICT): job {job} epoch {epoch}: {what}: {}",
        err.message
    ));
}

/// The retry state of one write during an outage.
pub struct Outage {
    started: Option<Instant>,
    backoff: Duration,
}

impl Default for Outage {
    fn default() -> Outage {
        Outage { started: None, backoff: Duration::from_millis(100) }
    }
}

impl Outage {
    /// Give up at once when `abort` says so (a Ctrl-C, a drain deadline), checked while waiting.
    pub fn abort_when(self, abort: Box<dyn Fn() -> bool + '_>) -> AbortableOutage<'_> {
        AbortableOutage { outage: self, abort }
    }

    /// After `err`: wait the backoff and return true when the write is worth another try.
    pub fn retry(&mut self, job: &JobId, what: &str, err: &Error) -> bool {
        self.retry_unless(job, what, err, &|| false)
    }

    fn retry_unless(&mut self, job: &JobId, what: &str, err: &Error, abort: &dyn Fn() -> bool) -> bool {
        if !is_outage(err) || abort() {
            return false;
        }
        let started = match self.started {
            Some(started) => started,
            None => {
                crate::cli::io::diag(&format!(
                    "wrkr: job {job}: {what}: {}; retrying for up to {} s",
                    err.message,
                    RIDE_OUT.as_secs()
                ));
                *self.started.insert(Instant::now())
            }
        };
        if started.elapsed() >= RIDE_OUT {
            return false;
        }
        let until = Instant::now() + self.backoff;
        while Instant::now() < until {
            if abort() {
                return false;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        self.backoff = (self.backoff * 2).min(Duration::from_secs(2));
        true
    }
}

/// An [`Outage`] that also gives up when its `abort` check says so.
pub struct AbortableOutage<'a> {
    outage: Outage,
    abort: Box<dyn Fn() -> bool + 'a>,
}

impl AbortableOutage<'_> {
    pub fn retry(&mut self, job: &JobId, what: &str, err: &Error) -> bool {
        self.outage.retry_unless(job, what, err, &*self.abort)
    }
}
