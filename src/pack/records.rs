//! A job in the store, as the record stream a pack is made of (`wrkr-events --records`).
//!
//! Order of the stream: every ledger event's `wrkr.event` in seq order, each followed by the
//! `wrkr.checkpoint` or `wrkr.approval_record` it yields (see `job::projection`); then `wrkr.job`,
//! `wrkr.artifacts_manifest`, the raw artifacts when capture is raw, and `wrkr.accept_result` when
//! the store has the job file `accept_result.json` (written by `wrkr accept run`). The packer
//! does not depend on this order; people reading the stream do.
//!
//! Streaming: the ledger is read once, line by line; memory is the projection's set of artifact
//! paths. Reproducible: nothing here reads the clock, so the same ledger and workspace give the
//! same records.
//!
//! The workspace that artifact paths are relative to is the `workspace` of the job's last
//! `x-jobspec_recorded` event (written by the runner at submit: `{jobspec, spec_path,
//! workspace}`), or of its `x-wrap_recorded` event for a job made by `wrkr wrap`. A job without one has no workspace: every artifact is then hashed by reference
//! and reported missing. Missing artifacts are returned, never dropped silently.
//!
//! Raw capture does not read file bytes itself: it hands each found file to the sink as
//! [`Record::Raw`], and the sink decides (the pipe tool base64-encodes it into a
//! `wrkr.raw_artifact` record; in-process export streams it into the packer).

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::contract::{Error, Result};
use crate::job::projection::{ArtifactFile, Capture, EventView, LedgerEvent, Projection};
use crate::store::{EventRecord, JobId, Store};

mod lines;
pub use lines::{BigEvent, LineCheckpoint, LineEvent};

/// The store job file holding the acceptance result.
pub const ACCEPT_RESULT_FILE: &str = "accept_result.json";
/// The ledger event type that records the job spec and its workspace.
pub const JOBSPEC_EVENT: &str = "x-jobspec_recorded";
/// The ledger event type that records what `wrkr wrap` ran, and in which workspace.
pub const WRAP_EVENT: &str = "x-wrap_recorded";
/// The ledger event type that yields a `wrkr.checkpoint` record.
const CHECKPOINT_EVENT: &str = "checkpoint_emitted";

/// One item of the stream.
pub enum Record<'a> {
    /// A pack record (`wrkr.checkpoint`, `wrkr.job`, ...).
    Value(&'a Value),
    /// A `wrkr.event` record of `job_id`, not yet built: the sink builds it
    /// ([`EventView::to_value`]) or writes its canonical bytes ([`EventView::write_canonical`]).
    Event { event: &'a EventView<'a>, job_id: &'a str },
    /// A `wrkr.event` record of `job_id` still as its scanned ledger line (an event the
    /// projection takes nothing from): the sink writes its canonical bytes
    /// ([`LineEvent::write_canonical`]) or builds it ([`LineEvent::to_value`]), same as `Event`.
    Line { event: &'a LineEvent<'a>, job_id: &'a str },
    /// A `wrkr.checkpoint` record of `job_id` still as its scanned ledger line, sent after the
    /// `Line` of its `checkpoint_emitted` event: written ([`LineCheckpoint::write_canonical`]) or
    /// built ([`LineCheckpoint::to_value`]) like `Line`.
    LineCheckpoint { checkpoint: &'a LineCheckpoint<'a>, job_id: &'a str },
    /// A `wrkr.event` record of `job_id` from a spec line too big to index ([`BigEvent`]): written
    /// or built like `Line`, from the line's bytes.
    Big { event: &'a BigEvent<'a>, job_id: &'a str },
    /// A raw artifact file to include (only with [`Capture::Raw`]).
    Raw(&'a ArtifactFile),
}

/// What the stream was made from.
#[derive(Debug, Default)]
pub struct Streamed {
    pub job_id: String,
    /// Seq and `created_at` of the last ledger event.
    pub last_seq: u64,
    pub last_created_at: String,
    pub workspace: Option<PathBuf>,
    /// Artifact paths not found in the workspace (hashed by reference).
    pub missing: Vec<String>,
    /// Number of records sent to the sink (raw files included).
    pub records: u64,
}

/// Stream `job`'s pack records into `sink`. A missing job is the store's "job not found" (exit 6).
pub fn stream(
    store: &dyn Store,
    job: &JobId,
    capture: Capture,
    sink: &mut dyn FnMut(Record<'_>) -> Result<()>,
) -> Result<Streamed> {
    let mut projection = Projection::new(job.as_str());
    let mut out = Streamed { job_id: job.as_str().to_owned(), ..Streamed::default() };
    store.read_lines(job, 1, &mut |seq, line, scan| {
        // The fast path: every event but an approval goes on as its line's scan; the projection
        // reads what it needs from the scan, and so does the workspace of a spec or wrap event.
        let root = scan.root(line);
        let head = root.and_then(|root| Some((root.member("created_at")?.str()?, root.member("type")?.str()?)));
        if let (Some(root), Some((created_at, event_type))) = (root, head)
            && Projection::takes_line(&event_type)
        {
            let payload = root.member("payload");
            if event_type == JOBSPEC_EVENT || event_type == WRAP_EVENT {
                // Read from the scan: a 25,000-step spec line is 1 MB, and about 20 MB as a `Value`.
                out.workspace = workspace_of(payload.and_then(|p| p.member("workspace")).and_then(|w| w.str()));
            }
            projection.project_line(&created_at, &event_type, payload);
            out.last_seq = seq;
            out.last_created_at.clear();
            out.last_created_at.push_str(&created_at);
            let event = LineEvent { seq, created_at: &created_at, event_type: &event_type, payload };
            sink(Record::Line { event: &event, job_id: job.as_str() })?;
            out.records += 1;
            if event_type == CHECKPOINT_EVENT {
                let checkpoint = LineCheckpoint { seq, created_at: &created_at, payload };
                sink(Record::LineCheckpoint { checkpoint: &checkpoint, job_id: job.as_str() })?;
                out.records += 1;
            }
            return Ok(());
        }
        if root.is_none() && crate::store::ledger::declared_type(line) == Some(JOBSPEC_EVENT) {
            // A spec line the store read without an index (too big): from its bytes.
            if let Some(event) = big_event(line) {
                projection.project_line(&event.created_at, &event.event_type, None);
                out.workspace = workspace_of(
                    event
                        .payload
                        .and_then(|p| crate::jcs::stream::member(p, "workspace"))
                        .and_then(|w| serde_json::from_slice::<String>(w).ok())
                        .map(std::borrow::Cow::Owned),
                );
                out.last_seq = seq;
                out.last_created_at.clear();
                out.last_created_at.push_str(&event.created_at);
                sink(Record::Big { event: &event, job_id: job.as_str() })?;
                out.records += 1;
                return Ok(());
            }
        }
        // The store checked the line already; this parse cannot fail on it.
        let record = EventRecord::parse(line).map_err(|why| corrupt(seq, why))?;
        if record.event_type == JOBSPEC_EVENT || record.event_type == WRAP_EVENT {
            let workspace = record.payload.as_ref().and_then(|p| p.get("workspace")).and_then(Value::as_str);
            out.workspace = workspace_of(workspace.map(std::borrow::Cow::Borrowed));
        }
        let projected = projection.project(&LedgerEvent {
            seq: record.seq,
            created_at: &record.created_at,
            event_type: &record.event_type,
            payload: record.payload.as_ref(),
        });
        out.last_seq = record.seq;
        out.last_created_at.clone_from(&record.created_at);
        sink(Record::Event { event: &projected.event, job_id: job.as_str() })?;
        out.records += 1;
        for value in [projected.checkpoint, projected.approval].iter().flatten() {
            sink(Record::Value(value))?;
            out.records += 1;
        }
        Ok(())
    })?;
    let finished = projection.finish_with(out.workspace.as_deref(), capture);
    for value in [&finished.job, &finished.artifacts_manifest] {
        sink(Record::Value(value))?;
        out.records += 1;
    }
    if capture == Capture::Raw {
        for file in &finished.files {
            sink(Record::Raw(file))?;
            out.records += 1;
        }
    }
    if let Some(accept) = accept_result(store, job)? {
        sink(Record::Value(&accept))?;
        out.records += 1;
    }
    out.missing = finished.missing;
    Ok(out)
}

/// A spec line as a [`BigEvent`]: its head read and the whole line checked without building it
/// (`None` when that fails; the caller then parses the line, which words any error).
fn big_event(line: &[u8]) -> Option<BigEvent<'_>> {
    let head = EventRecord::parse_lean(line, &[JOBSPEC_EVENT]).ok().filter(|r| r.payload.is_none())?;
    let payload = crate::jcs::stream::member(line, "payload");
    Some(BigEvent { seq: head.seq, created_at: head.created_at, event_type: head.event_type, payload })
}

/// The workspace a spec or wrap event names (its `workspace`, when a non-empty string).
fn workspace_of(workspace: Option<std::borrow::Cow<'_, str>>) -> Option<PathBuf> {
    workspace.filter(|w| !w.is_empty()).map(|w| PathBuf::from(w.as_ref()))
}

/// A line the store accepted that does not parse now (the file changed under the reader).
pub(crate) fn corrupt(seq: u64, why: impl std::fmt::Display) -> Error {
    Error::new(crate::contract::reason::ReasonCode::StoreCorrupt, format!("ledger record seq {seq}: {why}"))
        .with("seq", seq)
}

/// The job's stored acceptance result, if `wrkr accept run` wrote one.
pub fn accept_result(store: &dyn Store, job: &JobId) -> Result<Option<Value>> {
    let Some(bytes) = store.read_job_file(job, ACCEPT_RESULT_FILE)? else { return Ok(None) };
    crate::json::parse(&bytes).map(Some).map_err(|e| {
        Error::new(crate::contract::reason::ReasonCode::StoreCorrupt, format!("{ACCEPT_RESULT_FILE}: {e}"))
            .with("job_id", job.as_str())
            .with("file", ACCEPT_RESULT_FILE)
            .with_hint("re-run wrkr accept run for this job to rewrite it")
    })
}

/// Open an artifact found in the workspace for reading.
pub fn open_artifact(file: &ArtifactFile) -> Result<std::fs::File> {
    std::fs::File::open(&file.file).map_err(|e| {
        Error::io(format!("read artifact {} ({})", file.path, display(&file.file)), e).with("path", file.path.as_str())
    })
}

fn display(path: &Path) -> String {
    path.display().to_string()
}
