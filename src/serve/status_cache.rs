//! `GET /v1/jobs/{job_id}:status` from memory: the answer is kept per job, with the open ledger it
//! came from, and served on the runtime thread while two `fstat`s show the ledger unchanged and still
//! in the store.
//!
//! Why: a status read through the store costs three opens, four preads, two stats and the snapshot
//! parse, and the blocking-pool hop costs four futex calls and two context switches; a client
//! polling a job's status pays that on every request although the job has not changed. Here the
//! first request for a job (and the first after any change) goes the whole way on the blocking
//! pool ([`StatusCache::status`]) and keeps what it found; the next ones are answered inline
//! ([`StatusCache::answer`]).
//!
//! Correctness: an entry is kept only when the ledger was at rest while its state was derived
//! (`store::at_rest`: whole lines, no batch being written, the same stamp before and after); it is
//! used only while the kept handle's stamp and that of the store's `jobs/` directory are
//! unchanged, and any append, roll-back or removal changes one of them, so a status after an
//! append always shows the append. The body depends on the
//! time in four places (`created_at`, whether the lease has expired, how long a dead runner has
//! been stale, and so whether `resume_command` is shown): it is kept as the bytes before and
//! after `created_at`, with the time facts it was made with, and used only while the facts are
//! the same now (else the slow path makes it again).
//!
//! Why the inline work is bounded, so the runtime never stalls on it: two `fstat`s of handles
//! already open on local files (an open handle pins its inode in memory: no path is walked,
//! nothing is read from disk; a store on a network file system is outside this bound), a
//! hash-map look-up under a lock that is only ever held for a look-up or an insert (never across
//! I/O), two timestamp parses, and one copy of a body that is at most [`MAX_INLINE_BODY`]
//! bytes. A bigger body, a job the cache has not seen, and every error go to the pool. The cache
//! holds at most [`MAX_JOBS`] entries (each an open file and a few hundred bytes); a full cache
//! drops an entry to make room.

use std::collections::HashMap;
use std::fs::File;
use std::sync::{Arc, Mutex};

use crate::cmd::status::{stale_for, status_response};
use crate::contract::Result;
use crate::contract::time::Timestamp;
use crate::job::JobState;
use crate::job::lease::is_expired;
use crate::store::at_rest::{AtRest, Stamp};
use crate::store::{FsStore, JobId, Store};

/// Jobs kept at once (each holds one open file).
pub const MAX_JOBS: usize = 256;
/// The largest body served inline; a bigger one (a job with many reason codes or environment
/// rules) is made on the pool each time.
pub const MAX_INLINE_BODY: usize = 16 * 1024;

/// What in a status body depends on the time besides `created_at`: whether the lease has expired,
/// and for how many seconds a running job's runner has been gone (which also decides
/// `resume_command`).
#[derive(Clone, Debug, PartialEq, Eq)]
struct TimeFacts {
    lease_expired: Option<bool>,
    stale_for: Option<u64>,
}

impl TimeFacts {
    fn of(clock: &JobState, now: Timestamp) -> TimeFacts {
        TimeFacts { lease_expired: clock.lease.as_ref().map(|l| is_expired(l, now)), stale_for: stale_for(clock, now) }
    }
}

#[derive(Debug)]
struct Entry {
    ledger: AtRest,
    /// The store's `jobs/` directory the ledger was found in.
    jobs_dir: Arc<File>,
    /// Only what the time facts are computed from (status, lease, updated_at): the full state of
    /// a long job holds every idempotency key.
    clock: JobState,
    facts: TimeFacts,
    body: Template,
}

/// A status body cut around the value of its `created_at`.
#[derive(Debug)]
struct Template {
    head: Vec<u8>,
    rest: Vec<u8>,
}

impl Template {
    /// The template of `body`, made at `now`: the first `"created_at":` is the response's own,
    /// its third key, after two of fixed value.
    fn of(body: &[u8], now: Timestamp) -> Option<Template> {
        let value = format!("\"created_at\":\"{now}\"");
        let start = body.windows(value.len()).position(|w| w == value.as_bytes())?;
        let head_end = start + "\"created_at\":".len();
        Some(Template { head: body[..head_end].to_vec(), rest: body[start + value.len()..].to_vec() })
    }

    fn render(&self, now: Timestamp) -> Vec<u8> {
        // 32: the longest timestamp of a year 0-9999 and its quotes.
        let mut body = Vec::with_capacity(self.head.len() + 32 + self.rest.len());
        body.extend_from_slice(&self.head);
        body.push(b'"');
        now.push_to(&mut body);
        body.push(b'"');
        body.extend_from_slice(&self.rest);
        body
    }
}

/// The part of `state` the time facts depend on.
fn clock_of(state: &JobState) -> JobState {
    let mut clock = JobState::new(&state.job_id);
    clock.status = state.status;
    clock.lease.clone_from(&state.lease);
    clock.updated_at.clone_from(&state.updated_at);
    clock
}

/// The status bodies of the jobs served lately; shared by the runtime thread and the pool.
#[derive(Debug, Default)]
pub struct StatusCache {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// The store's `jobs/` directory, opened again when it was removed.
    jobs_dir: Option<Arc<File>>,
    entries: HashMap<JobId, Arc<Entry>>,
}

impl StatusCache {
    /// The status body of `job` at `now` from memory, when the cache holds it and its ledger is
    /// unchanged; `None` sends the request down the slow path ([`StatusCache::status`]).
    pub fn answer(&self, job: &JobId, now: Timestamp) -> Option<Vec<u8>> {
        let entry = self.inner.lock().ok()?.entries.get(job).cloned()?;
        (entry.ledger.unchanged(&entry.jobs_dir) && TimeFacts::of(&entry.clock, now) == entry.facts)
            .then(|| entry.body.render(now))
    }

    /// The status body of `job` at `now` read from the file store, kept for the next request when
    /// the ledger was at rest and the body is small enough to serve inline.
    pub fn status(&self, store: &FsStore, job: &JobId, now: Timestamp) -> Result<Vec<u8>> {
        let Some(jobs_dir) = self.jobs_dir(store) else {
            return Ok(body_of(&store.state(job)?, now));
        };
        let (state, ledger) = store.state_at_rest(job, &jobs_dir)?;
        let body = body_of(&state, now);
        let Ok(mut inner) = self.inner.lock() else { return Ok(body) };
        inner.entries.remove(job);
        let Some(ledger) = ledger.filter(|_| body.len() <= MAX_INLINE_BODY) else { return Ok(body) };
        let Some(template) = Template::of(&body, now) else { return Ok(body) };
        let clock = clock_of(&state);
        let facts = TimeFacts::of(&clock, now);
        if inner.entries.len() >= MAX_JOBS
            && let Some(victim) = inner.entries.keys().next().cloned()
        {
            inner.entries.remove(&victim);
        }
        let entry = Entry { ledger, jobs_dir, clock, facts, body: template };
        inner.entries.insert(job.clone(), Arc::new(entry));
        Ok(body)
    }

    /// The store's `jobs/` directory, opened once (again after it was removed); `None` when it
    /// cannot be opened, and then nothing is kept.
    fn jobs_dir(&self, store: &FsStore) -> Option<Arc<File>> {
        // The lock is not held across the fstat or the open: the runtime thread takes it too.
        let held = self.inner.lock().ok()?.jobs_dir.clone();
        if let Some(dir) = held.filter(|dir| Stamp::of(dir).is_some()) {
            return Some(dir);
        }
        let dir = Arc::new(store.open_jobs_dir().ok()?);
        self.inner.lock().ok()?.jobs_dir = Some(dir.clone());
        Some(dir)
    }
}

fn body_of(state: &JobState, now: Timestamp) -> Vec<u8> {
    let mut body = serde_json::to_vec(&status_response(state, now)).unwrap_or_else(|_| b"{}".to_vec());
    body.push(b'\n');
    body
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::{LeaseRecord, Status};

    fn at(secs: i64, nanos: u32) -> Timestamp {
        Timestamp::from_unix(1_770_998_400 + secs, nanos)
    }

    fn lease(expires: Timestamp) -> LeaseRecord {
        LeaseRecord {
            worker_id: "w".into(),
            lease_id: "l".into(),
            acquired_at: at(-60, 0).to_string(),
            heartbeat_at: at(-60, 0).to_string(),
            expires_at: expires.to_string(),
            epoch: 2,
        }
    }

    // Whenever the time facts of the moment a template was made still hold, the template renders
    // exactly the body status_response would make now; across an expiry they differ, so the cache
    // must not (and does not) serve it. If status_response gains a field that depends on the time,
    // this is the test that fails.
    #[test]
    fn a_template_renders_the_fresh_body_while_its_facts_hold() {
        let mut states = Vec::new();
        for status in Status::ALL {
            for lease_until in [None, Some(at(10, 0)), Some(at(-5, 0))] {
                let mut state = JobState::new("job_t");
                state.status = status;
                state.lease = lease_until.map(lease);
                state.updated_at = Some(at(-30, 0).to_string());
                state.last_reason_codes = vec!["E_BUDGET_EXCEEDED".into()];
                states.push(state);
            }
        }
        let made = at(0, 120_000_000);
        let laters = [at(0, 120_000_000), at(0, 999_999_999), at(1, 0), at(9, 5), at(10, 0), at(11, 7), at(3600, 1)];
        let (mut reused, mut refused) = (0, 0);
        for state in &states {
            let template = Template::of(&body_of(state, made), made).expect("created_at is found");
            let clock = clock_of(state);
            let facts = TimeFacts::of(&clock, made);
            for later in laters {
                let fresh = body_of(state, later);
                if TimeFacts::of(&clock, later) == facts {
                    assert_eq!(String::from_utf8(template.render(later)).unwrap(), String::from_utf8(fresh).unwrap());
                    reused += 1;
                } else {
                    assert_ne!(template.render(later), fresh, "facts changed, so must the body");
                    refused += 1;
                }
            }
        }
        assert!(reused > 20 && refused > 10, "both sides were exercised: {reused} reused, {refused} refused");
    }
}
