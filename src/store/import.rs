//! Importing a whole ledger: how a job moves between stores (`wrkr-events J` from one store into
//! `wrkr-events --import J` of the other, either direction).
//!
//! The input is the ledger exactly as a store gives it out, one record per line. Every line is
//! checked before anything is written: it parses as a record, seqs start at 1 and rise by 1, and
//! replaying them gives a valid state (the first is `job_initialized`, transitions are legal). The
//! lines are then written byte for byte as one batch, so the moved job's records, hashes and
//! jobpacks are identical to the original's. The target must not have the job yet. The input is
//! held in memory (bounded by `max_bytes`): both backends write it as one all-or-nothing batch.

use std::io::BufRead;

use crate::contract::{Error, ReasonCode, Result};
use crate::job::JobState;
use crate::jsonl::{JsonlReader, is_blank};
use crate::store::JobId;
use crate::store::ledger::{EventRecord, MAX_RECORD_BYTES, corrupt};

/// A checked ledger, ready to import: its lines (without `\n`) and the state they replay to.
pub struct ImportedLedger {
    pub lines: Vec<Vec<u8>>,
    pub state: JobState,
}

/// Read and check a whole ledger for `job` from `input`.
pub fn read_ledger(input: impl BufRead, job: &JobId, max_bytes: u64) -> Result<ImportedLedger> {
    let mut reader = JsonlReader::new(input, MAX_RECORD_BYTES);
    let mut state = JobState::new(job.as_str());
    let mut lines = Vec::new();
    let mut total: u64 = 0;
    while let Some(next) = reader.next_line() {
        let (line_no, line) = next.map_err(|e| e.into_error(MAX_RECORD_BYTES).context("stdin"))?;
        if is_blank(line) {
            continue;
        }
        total += line.len() as u64 + 1;
        if total > max_bytes {
            return Err(Error::invalid_input(format!("ledger larger than {max_bytes} bytes at line {line_no}"))
                .with("line", line_no));
        }
        let record = EventRecord::parse(line).map_err(|why| invalid(corrupt(line_no, why)))?;
        let expected = state.last_applied_seq + 1;
        if record.seq != expected {
            return Err(Error::invalid_input(format!("line {line_no}: seq {} (expected {expected})", record.seq))
                .with("line", line_no)
                .with("seq", record.seq)
                .with("expected_seq", expected));
        }
        if record.seq == 1 && record.event_type != "job_initialized" {
            return Err(Error::invalid_input("a ledger starts with job_initialized").with("line", line_no));
        }
        state.apply(&record).map_err(|e| invalid(e.context(format!("line {line_no}"))))?;
        lines.push(line.to_vec());
    }
    if lines.is_empty() {
        return Err(
            Error::invalid_input("no ledger records on stdin").with_hint("pipe in the output of wrkr-events JOB")
        );
    }
    Ok(ImportedLedger { lines, state })
}

/// Input that would be corruption in a store is bad input here: nothing was stored.
fn invalid(mut err: Error) -> Error {
    err.code = ReasonCode::InvalidInputSchema;
    err.with_hint("the input must be a whole ledger as wrkr-events JOB prints it")
}

/// The error for importing a job the target store already has.
pub fn job_exists(job: &JobId) -> Error {
    Error::invalid_input("job already exists in this store")
        .with("job_id", job.as_str())
        .with_hint("an import creates the job; pick another store, or compare with wrkr-events JOB")
}
