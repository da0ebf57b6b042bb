//! Reading a pack without verifying it: the timeline of `wrkr job inspect` and the file- and
//! record-level comparison of `wrkr job diff` (digest 2.9).
//!
//! Both go through the safe zip reader (so a hostile zip is refused the same way verify refuses it)
//! but do not check hashes: inspect is for looking, verify is for trusting. JSONL entries are read
//! line by line; the timeline itself is the output and is held in memory, the diff keeps one
//! (id → sha256) map per record kind.
//!
//! [`inspect_job`] builds the same view from a job in the store (digest 2.9: "job id: builds the
//! same view from the store"), through the same projection that export uses, so inspecting a job
//! and inspecting its freshly exported pack give the same timeline.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufReader, Read};

use serde::Serialize;
use serde_json::Value;

use crate::contract::reason::ReasonCode;
use crate::contract::time::Timestamp;
use crate::contract::{Error, Result};
use crate::digest::sha256_hex;
use crate::job::projection::{LedgerEvent, Projection};
use crate::jsonl::{DEFAULT_MAX_LINE_BYTES, JsonlReader, is_blank};
use crate::pack::manifest::Manifest;
use crate::pack::zipread::ZipReader;
use crate::pack::{APPROVALS, CHECKPOINTS, EVENTS, JOB, MANIFEST};
use crate::store::{JobId, Store};
use crate::{jcs, json};

#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct TimelineItem {
    #[serde(serialize_with = "as_string")]
    pub at: Timestamp,
    pub kind: &'static str,
    pub id: String,
    pub summary: String,
}

fn as_string<S: serde::Serializer>(t: &Timestamp, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.collect_str(t)
}

/// `wrkr job inspect`'s JSON shape.
#[derive(Clone, Debug, Serialize)]
pub struct Inspection {
    pub job_id: String,
    pub status: String,
    pub event_count: usize,
    pub checkpoint_count: usize,
    pub approval_count: usize,
    pub timeline: Vec<TimelineItem>,
}

/// Order a timeline by time, then kind, then id by its number: events of one batch share a time,
/// and `evt_10` must follow `evt_9` (Go compared the id text, which put `evt_10` first).
fn sort_timeline(timeline: &mut [TimelineItem]) {
    let number = |id: &str| id.rsplit_once('_').and_then(|(_, n)| n.parse::<u64>().ok()).unwrap_or(u64::MAX);
    timeline.sort_by(|a, b| (a.at, a.kind, number(&a.id), &a.id).cmp(&(b.at, b.kind, number(&b.id), &b.id)));
}

fn bad(entry: &str, line: u64, what: impl std::fmt::Display) -> Error {
    Error::invalid_input(format!("{entry}: line {line}: {what}")).with("path", entry).with("line", line)
}

fn read_err(entry: &str) -> impl Fn(std::io::Error) -> Error + '_ {
    move |e| Error::generic(format!("open jobpack zip: {entry}: {e}")).with("path", entry)
}

/// Visit each non-blank line of a JSONL entry as a parsed value (absent entry: no lines).
fn each_record(zip: &ZipReader, name: &str, mut f: impl FnMut(u64, Value) -> Result<()>) -> Result<()> {
    let Some(entry) = zip.find(name) else { return Ok(()) };
    let mut lines = JsonlReader::new(BufReader::with_capacity(256 * 1024, zip.reader(entry)), DEFAULT_MAX_LINE_BYTES);
    while let Some(next) = lines.next_line() {
        let (no, line) = match next {
            Ok((_, line)) if is_blank(line) => continue,
            Ok(ok) => ok,
            Err(e) => return Err(e.into_error(DEFAULT_MAX_LINE_BYTES).context(name)),
        };
        let value = json::parse(line).map_err(|e| bad(name, no, json::line_error(&e)))?;
        f(no, value)?;
    }
    Ok(())
}

fn small_doc(zip: &ZipReader, name: &str) -> Result<Option<Value>> {
    let Some(entry) = zip.find(name) else { return Ok(None) };
    let bytes = zip.read_to_vec(entry, DEFAULT_MAX_LINE_BYTES).map_err(read_err(name))?;
    json::parse(&bytes).map(Some).map_err(|e| Error::invalid_input(format!("{name}: {e}")).with("path", name))
}

fn text(v: &Value, key: &str) -> String {
    v.get(key).and_then(Value::as_str).unwrap_or_default().to_owned()
}

fn at(v: &Value, name: &str, no: u64) -> Result<Timestamp> {
    let s = text(v, "created_at");
    Timestamp::parse(&s).ok_or_else(|| bad(name, no, format!("created_at {s:?} is not an RFC 3339 time")))
}

/// The timeline of `job` in the store: what `inspect` shows for the pack `wrkr export` would write.
pub fn inspect_job(store: &dyn Store, job: &JobId) -> Result<Inspection> {
    let mut projection = Projection::new(job.as_str());
    let mut timeline = Vec::new();
    let (mut events, mut checkpoints) = (0, 0);
    let mut approvals: Vec<(Timestamp, String, Vec<u8>)> = Vec::new();
    store.read_events(job, 1, &mut |record, _| {
        let when = Timestamp::parse(&record.created_at).ok_or_else(|| {
            Error::new(ReasonCode::StoreCorrupt, format!("seq {}: created_at is not an RFC 3339 time", record.seq))
                .with("seq", record.seq)
        })?;
        let p = projection.event(&LedgerEvent {
            seq: record.seq,
            created_at: &record.created_at,
            event_type: &record.event_type,
            payload: record.payload.as_ref(),
        });
        events += 1;
        timeline.push(TimelineItem {
            at: when,
            kind: "event",
            id: text(&p.event, "event_id"),
            summary: record.event_type.clone(),
        });
        if let Some(cp) = p.checkpoint {
            checkpoints += 1;
            let summary = format!("{}:{}", text(&cp, "type"), text(&cp, "status"));
            timeline.push(TimelineItem { at: when, kind: "checkpoint", id: text(&cp, "checkpoint_id"), summary });
        }
        if let Some(a) = p.approval {
            // The pack orders approvals by their own created_at (then checkpoint, then bytes).
            let at_a = Timestamp::parse(&text(&a, "created_at")).unwrap_or(when);
            approvals.push((at_a, text(&a, "checkpoint_id"), jcs::to_vec(&a)));
        }
        Ok(())
    })?;
    approvals.sort();
    let approval_count = approvals.len();
    for (i, (at_a, checkpoint_id, _)) in approvals.into_iter().enumerate() {
        timeline.push(TimelineItem {
            at: at_a,
            kind: "approval",
            id: format!("approval_{}", i + 1),
            summary: checkpoint_id,
        });
    }
    sort_timeline(&mut timeline);
    let finished = projection.finish(None);
    Ok(Inspection {
        job_id: job.as_str().to_owned(),
        status: text(&finished.job, "status"),
        event_count: events,
        checkpoint_count: checkpoints,
        approval_count,
        timeline,
    })
}

/// The timeline of the pack in `file`.
pub fn inspect(file: File, max_entry_bytes: u64) -> Result<Inspection> {
    let zip = ZipReader::open(file, max_entry_bytes)?;
    let job = small_doc(&zip, JOB)?;
    let manifest = small_doc(&zip, MANIFEST)?;
    let job_id = job.as_ref().map(|j| text(j, "job_id")).filter(|s| !s.is_empty());
    let job_id = job_id.or_else(|| manifest.as_ref().map(|m| text(m, "job_id"))).unwrap_or_default();
    let status = job.as_ref().map(|j| text(j, "status")).unwrap_or_default();
    let mut timeline = Vec::new();
    let (mut events, mut checkpoints, mut approvals) = (0, 0, 0);
    each_record(&zip, EVENTS, |no, v| {
        events += 1;
        timeline.push(TimelineItem {
            at: at(&v, EVENTS, no)?,
            kind: "event",
            id: text(&v, "event_id"),
            summary: text(&v, "type"),
        });
        Ok(())
    })?;
    each_record(&zip, CHECKPOINTS, |no, v| {
        checkpoints += 1;
        let summary = format!("{}:{}", text(&v, "type"), text(&v, "status"));
        timeline.push(TimelineItem {
            at: at(&v, CHECKPOINTS, no)?,
            kind: "checkpoint",
            id: text(&v, "checkpoint_id"),
            summary,
        });
        Ok(())
    })?;
    each_record(&zip, APPROVALS, |no, v| {
        approvals += 1;
        let id = format!("approval_{approvals}");
        timeline.push(TimelineItem {
            at: at(&v, APPROVALS, no)?,
            kind: "approval",
            id,
            summary: text(&v, "checkpoint_id"),
        });
        Ok(())
    })?;
    sort_timeline(&mut timeline);
    Ok(Inspection {
        job_id,
        status,
        event_count: events,
        checkpoint_count: checkpoints,
        approval_count: approvals,
        timeline,
    })
}

/// Added, removed and changed names, each sorted.
#[derive(Clone, Debug, Default, Serialize, PartialEq)]
pub struct Changes {
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub changed: Vec<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct RecordChanges {
    pub events: Changes,
    pub checkpoints: Changes,
}

/// `wrkr job diff`'s JSON shape: Go's file-level fields, then the record-level comparison.
#[derive(Clone, Debug, Serialize)]
pub struct Diff {
    pub job_id_a: String,
    pub job_id_b: String,
    pub added: Vec<String>,
    pub removed: Vec<String>,
    pub changed: Vec<String>,
    pub records: RecordChanges,
}

/// Sort key for ids: the numeric `<seq>` of `evt_<seq>`/`cp_<seq>` first, then the text.
type Keyed = BTreeMap<(u64, String), String>;

fn keyed(id: String) -> (u64, String) {
    let seq = id.rsplit('_').next().and_then(|d| d.parse().ok()).unwrap_or(u64::MAX);
    (seq, id)
}

fn compare(a: &Keyed, b: &Keyed) -> Changes {
    let mut c = Changes::default();
    for (k, h) in b {
        match a.get(k) {
            None => c.added.push(k.1.clone()),
            Some(old) if old != h => c.changed.push(k.1.clone()),
            Some(_) => {}
        }
    }
    c.removed = a.keys().filter(|k| !b.contains_key(k)).map(|k| k.1.clone()).collect();
    c
}

struct Side {
    job_id: String,
    files: BTreeMap<String, String>,
    events: Keyed,
    checkpoints: Keyed,
}

/// A record's identity-free content hash: canonical bytes without what differs between any two
/// runs, at any depth: `producer_version`, the job id (`job_id`, `idempotency_key`), timestamps
/// (keys ending in `_at`), measured times (`wall_time_seconds`, `duration_ms`) and the runner's
/// identity (`lease_id`, `worker_id`). So the same job packed by two wrkr versions, or two runs of
/// one spec, do not show every record as changed.
fn content_hash(mut v: Value) -> String {
    const VOLATILE: [&str; 7] =
        ["producer_version", "job_id", "idempotency_key", "wall_time_seconds", "duration_ms", "lease_id", "worker_id"];
    fn strip(v: &mut Value) {
        match v {
            Value::Object(map) => {
                map.retain(|k, _| !(k.ends_with("_at") || VOLATILE.contains(&k.as_str())));
                map.values_mut().for_each(strip);
            }
            Value::Array(items) => items.iter_mut().for_each(strip),
            _ => {}
        }
    }
    strip(&mut v);
    sha256_hex(&jcs::to_vec(&v))
}

fn side(file: File, max_entry_bytes: u64) -> Result<Side> {
    let zip = ZipReader::open(file, max_entry_bytes)?;
    let value = small_doc(&zip, MANIFEST)?.ok_or_else(|| Error::generic("jobpack missing manifest.json"))?;
    let manifest = Manifest::decode(&value).map_err(|e| Error::generic(format!("decode manifest.json: {e}")))?;
    let files = manifest.files.into_iter().map(|f| (f.path, f.sha256)).collect();
    let mut events = Keyed::new();
    each_record(&zip, EVENTS, |_, v| {
        events.insert(keyed(text(&v, "event_id")), content_hash(v));
        Ok(())
    })?;
    let mut checkpoints = Keyed::new();
    each_record(&zip, CHECKPOINTS, |_, v| {
        checkpoints.insert(keyed(text(&v, "checkpoint_id")), content_hash(v));
        Ok(())
    })?;
    Ok(Side { job_id: manifest.job_id, files, events, checkpoints })
}

/// Compare two packs (neither is verified).
pub fn diff(a: File, b: File, max_entry_bytes: u64) -> Result<Diff> {
    let (a, b) = (side(a, max_entry_bytes)?, side(b, max_entry_bytes)?);
    let key = |m: &BTreeMap<String, String>| -> Keyed { m.iter().map(|(k, v)| ((0, k.clone()), v.clone())).collect() };
    let files = compare(&key(&a.files), &key(&b.files));
    Ok(Diff {
        job_id_a: a.job_id,
        job_id_b: b.job_id,
        added: files.added,
        removed: files.removed,
        changed: files.changed,
        records: RecordChanges {
            events: compare(&a.events, &b.events),
            checkpoints: compare(&a.checkpoints, &b.checkpoints),
        },
    })
}

/// Read one whole entry of a pack (for tests and tools that need raw bytes).
pub fn read_entry(zip: &ZipReader, name: &str, max: u64) -> Result<Option<Vec<u8>>> {
    let Some(entry) = zip.find(name) else { return Ok(None) };
    let mut out = Vec::new();
    zip.reader(entry).take(max).read_to_end(&mut out).map_err(read_err(name))?;
    Ok(Some(out))
}
