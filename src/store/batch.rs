//! Turning the events a plan asked for into one checked batch of ledger records.
//!
//! Every backend builds its batch here, so the same state and plan give the same records and the
//! same line bytes whatever the store: that is what keeps ledgers, hashes and jobpacks identical
//! across backends. The caller holds the job's lock (a file lock, a row lock) and has derived
//! `state` from the ledger under it; nothing here touches storage.

use serde_json::{Value, json};

use crate::contract::Result;
use crate::contract::time::Timestamp;
use crate::job::event::check_against_state;
use crate::job::{JobState, NewEvent};
use crate::store::ledger::EventRecord;

/// A checked batch: its records, their lines back to back (each ended by `\n`), and the state
/// after the last of them.
pub struct Batch {
    pub records: Vec<EventRecord>,
    pub bytes: Vec<u8>,
    /// Where each record's line ends in `bytes` (just after its `\n`).
    pub line_ends: Vec<usize>,
    pub state: JobState,
}

impl Batch {
    /// Each record's line without its `\n`, in seq order.
    pub fn lines(&self) -> impl Iterator<Item = &[u8]> {
        let starts = std::iter::once(0).chain(self.line_ends.iter().copied());
        starts.zip(self.line_ends.iter()).map(|(start, end)| &self.bytes[start..end - 1])
    }

    /// Whether the batch changed the job's status or lease (backends refresh their snapshot then).
    pub fn changes_state(&self) -> bool {
        self.records.iter().any(|r| {
            matches!(r.event_type.as_str(), "job_initialized" | "status_changed" | "lease_set" | "lease_released")
        })
    }
}

/// Build the batch for `events` on a job whose ledger ends at `last_seq` with `state`. A job with
/// no records yet gets its `job_initialized` first. Returns `None` when there is nothing to write.
/// Any event that the state refuses fails the whole batch.
pub fn build(state: JobState, last_seq: u64, mut events: Vec<NewEvent>) -> Result<Result<Batch, JobState>> {
    let now = Timestamp::now().to_string();
    if last_seq == 0 {
        let init = json!({"started_at": now, "status": "queued"});
        events.insert(0, NewEvent::new("job_initialized", init));
    }
    if events.is_empty() {
        return Ok(Err(state));
    }
    let mut working = state;
    // A runner's step batch is four lines of about 1.4 KiB: room for them without regrowing.
    let mut bytes = Vec::with_capacity(512 * events.len());
    let mut line_ends = Vec::with_capacity(events.len());
    let mut records = Vec::with_capacity(events.len());
    for (i, event) in events.into_iter().enumerate() {
        let seq = last_seq + 1 + i as u64;
        check_against_state(&working, &event, seq)?;
        // A payload written already goes into the line as it is; the record (what the state
        // applies and the caller gets back) holds the stand-in, so it is kept once (it is the
        // recorded JobSpec, megabytes for a long job).
        let payload = match event.written {
            // State checks and `apply` read the payloads of Go's types: those must be built.
            Some(_) if !event.event_type.starts_with("x-") => {
                return Err(crate::contract::Error::generic(format!(
                    "a written payload is for extension events only, not {}",
                    event.event_type
                )));
            }
            _ => Some(Value::Object(event.payload)),
        };
        let record = EventRecord { seq, created_at: now.clone(), event_type: event.event_type, payload };
        working.apply(&record)?;
        record.write_line(&mut bytes, event.written.as_deref());
        line_ends.push(bytes.len());
        records.push(record);
    }
    Ok(Ok(Batch { records, bytes, line_ends, state: working }))
}
