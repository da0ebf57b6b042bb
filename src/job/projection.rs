//! The jobpack projection of a ledger: the `wrkr.*` records a pack is made of.
//!
//! Streaming: each ledger event yields its `wrkr.event` record at once, plus a `wrkr.checkpoint` for
//! `checkpoint_emitted` and a `wrkr.approval_record` for `approval_recorded`; what needs the whole
//! ledger (`wrkr.job`, `wrkr.artifacts_manifest`) comes from [`Projection::finish`]. Memory is the
//! set of artifact paths, not the ledger.
//!
//! Reproducible: every `created_at` comes from the ledger (the record's own event, or the last event
//! for `job.json` and `artifacts_manifest.json`), never from the clock, so projecting the same ledger
//! twice gives the same records. Shapes follow digest 2.3 exactly (the files are closed schemas).
//!
//! Artifact hashes are real. The runner records each artifact's content hash in the ledger when
//! the step that claimed it ends (`artifact_hashes` in `x-step_finished` / `x-wrap_finished`, see
//! `run::evidence`); that recorded hash is what the manifest says, so any host exports the same
//! pack, with or without the workspace. A path without a recorded hash (a Go-made job, a checkpoint
//! appended from outside the runner, a file missing when its step ended) is hashed from the job's
//! workspace as it is now. A path that does not exist there either, or that would leave the
//! workspace (absolute, `..`), gets the Go-style reference hash (`sha256("reference:" + path)`)
//! and is reported as missing. With
//! [`Capture::Raw`] the manifest says `capture_mode: "raw"`, and [`Finished::files`] names the
//! files found so that the caller can put their bytes into the pack.

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Read;
use std::path::{Component, Path, PathBuf};

use serde_json::{Map, Value, json};

use crate::contract::{PRODUCER_VERSION, SCHEMA_VERSION};
use crate::digest::{self, Hasher};
use crate::jcs;
use crate::json::scan::ScanNode;

/// The step-end events that may carry recorded artifact hashes, and the payload key that holds them.
pub const STEP_FINISHED: &str = "x-step_finished";
pub const WRAP_FINISHED: &str = "x-wrap_finished";
pub const ARTIFACT_HASHES: &str = "artifact_hashes";

/// One ledger event, as the projection needs it.
pub struct LedgerEvent<'a> {
    pub seq: u64,
    pub created_at: &'a str,
    pub event_type: &'a str,
    pub payload: Option<&'a Value>,
}

/// The records one ledger event yields.
pub struct Projected {
    pub event: Value,
    pub checkpoint: Option<Value>,
    pub approval: Option<Value>,
}

/// [`Projected`] with the `wrkr.event` record not yet built.
pub struct ProjectedView<'a> {
    pub event: EventView<'a>,
    pub checkpoint: Option<Value>,
    pub approval: Option<Value>,
}

/// A ledger event's `wrkr.event` record, borrowed from the ledger record: build it as a `Value`
/// ([`EventView::to_value`]) or write its canonical bytes directly ([`EventView::write_canonical`]).
pub struct EventView<'a> {
    pub seq: u64,
    pub created_at: &'a str,
    pub event_type: &'a str,
    pub executed: bool,
    /// Always an object: a null or missing payload is `{}`, any other non-object `{"value": ...}`.
    pub payload: Cow<'a, Value>,
}

impl EventView<'_> {
    /// The record as a `Value`, keys in digest order (what `wrkr-events --records` prints).
    pub fn to_value(&self, job_id: &str) -> Value {
        json!({
            "schema_id": "wrkr.event",
            "schema_version": SCHEMA_VERSION,
            "created_at": self.created_at,
            "producer_version": PRODUCER_VERSION,
            "event_id": format!("evt_{}", self.seq),
            "job_id": job_id,
            "type": self.event_type,
            "executed": self.executed,
            "payload": self.payload.as_ref(),
        })
    }

    /// Append the JCS bytes of [`EventView::to_value`] to `out` without building it (see
    /// [`write_event_canonical`]).
    pub fn write_canonical(&self, job_id: &str, out: &mut Vec<u8>) {
        let event = EventHead {
            seq: self.seq,
            created_at: self.created_at,
            event_type: self.event_type,
            executed: self.executed,
        };
        write_event_canonical(&event, job_id, out, |out| jcs::write_value(out, &self.payload));
    }
}

/// A `wrkr.event` record without its payload.
pub struct EventHead<'a> {
    pub seq: u64,
    pub created_at: &'a str,
    pub event_type: &'a str,
    pub executed: bool,
}

/// Append the JCS bytes of a `wrkr.event` record to `out`, `payload` writing the canonical
/// payload object: the keys are ASCII and fixed, so their canonical (code-unit) order is written
/// out here once, and only the payload goes through a general writer.
pub fn write_event_canonical(
    event: &EventHead<'_>,
    job_id: &str,
    out: &mut Vec<u8>,
    payload: impl FnOnce(&mut Vec<u8>),
) {
    out.extend_from_slice(b"{\"created_at\":");
    jcs::write_string(out, event.created_at);
    out.extend_from_slice(b",\"event_id\":\"evt_");
    out.extend_from_slice(itoa::Buffer::new().format(event.seq).as_bytes());
    out.extend_from_slice(if event.executed { b"\",\"executed\":true" } else { b"\",\"executed\":false" });
    out.extend_from_slice(b",\"job_id\":");
    jcs::write_string(out, job_id);
    out.extend_from_slice(b",\"payload\":");
    payload(out);
    out.extend_from_slice(b",\"producer_version\":");
    jcs::write_string(out, PRODUCER_VERSION);
    out.extend_from_slice(b",\"schema_id\":\"wrkr.event\",\"schema_version\":");
    jcs::write_string(out, SCHEMA_VERSION);
    out.extend_from_slice(b",\"type\":");
    jcs::write_string(out, event.event_type);
    out.push(b'}');
}

#[derive(Default)]
pub struct Projection {
    job_id: String,
    last_created_at: String,
    status: String,
    counters: (u64, u64, u64),
    artifacts: BTreeSet<String>,
    /// path → content hash recorded when a step ended (`None`: not a file then); latest wins.
    recorded: BTreeMap<String, Option<String>>,
}

/// How artifacts are captured: by content hash only (the default, Go's `reference-only`), or
/// with the files themselves in the pack (`raw`, an explicit unsafe opt-in).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Capture {
    #[default]
    ReferenceOnly,
    Raw,
}

impl Capture {
    pub fn as_str(self) -> &'static str {
        match self {
            Capture::ReferenceOnly => "reference-only",
            Capture::Raw => "raw",
        }
    }
}

/// An artifact found in the workspace: its path in the manifest, where it is, its content hash.
pub struct ArtifactFile {
    pub path: String,
    pub file: PathBuf,
    pub sha256: String,
}

/// What `finish` returns.
pub struct Finished {
    pub job: Value,
    pub artifacts_manifest: Value,
    /// Artifact paths that were not found in the workspace (hashed by reference).
    pub missing: Vec<String>,
    /// Artifacts found in the workspace, in path order.
    pub files: Vec<ArtifactFile>,
}

impl Projection {
    pub fn new(job_id: &str) -> Projection {
        Projection { job_id: job_id.to_owned(), status: "queued".to_owned(), ..Projection::default() }
    }

    pub fn event(&mut self, e: &LedgerEvent<'_>) -> Projected {
        let view = self.project(e);
        Projected { event: view.event.to_value(&self.job_id), checkpoint: view.checkpoint, approval: view.approval }
    }

    /// Whether [`Projection::project`] reads the payload of events of this type (their state,
    /// counters, artifact hashes, checkpoints, approvals). Events of any other type change only
    /// the last `created_at`, which [`Projection::pass`] records without a payload.
    pub fn reads_payload(event_type: &str) -> bool {
        matches!(
            event_type,
            "status_changed"
                | "job_initialized"
                | "counters_updated"
                | "checkpoint_emitted"
                | "approval_recorded"
                | STEP_FINISHED
                | WRAP_FINISHED
        )
    }

    /// Take in an event whose type [`Projection::reads_payload`] says no to.
    pub fn pass(&mut self, created_at: &str) {
        self.last_created_at.clear();
        self.last_created_at.push_str(created_at);
    }

    /// Whether [`Projection::project_line`] can take events of this type: all but approvals,
    /// whose record is the payload itself (rare; they take the `Value` path).
    pub fn takes_line(event_type: &str) -> bool {
        event_type != "approval_recorded"
    }

    /// [`Projection::project`] for an event still as its scanned ledger line: the same changes to
    /// the projection, read from the scan (a payload that is not an object reads as `{}`, as
    /// `project` reads `{"value": ...}`). The records are the caller's to write from the line
    /// (`pack::records::LineEvent`, `LineCheckpoint`).
    pub fn project_line(&mut self, created_at: &str, event_type: &str, payload: Option<ScanNode<'_>>) {
        self.pass(created_at);
        if !Projection::reads_payload(event_type) {
            return;
        }
        let payload = payload.filter(ScanNode::is_object);
        let member = |key: &str| payload.and_then(|p| p.member(key));
        match event_type {
            "status_changed" | "job_initialized" => {
                let key = if event_type == "status_changed" { "to" } else { "status" };
                if let Some(status) = member(key).and_then(|s| s.str()) {
                    self.status = status.into_owned();
                }
            }
            "counters_updated" => {
                let n = |k: &str| member(k).and_then(|n| n.as_u64()).unwrap_or(0);
                self.counters = (n("retry_count"), n("step_count"), n("tool_call_count"));
            }
            STEP_FINISHED | WRAP_FINISHED => {
                for (path, hash) in member(ARTIFACT_HASHES).and_then(|h| h.members()).into_iter().flatten() {
                    let hash = hash.str().filter(|h| digest::is_sha256_hex(h)).map(Cow::into_owned);
                    self.recorded.insert(path.to_owned(), hash);
                }
            }
            "checkpoint_emitted" => {
                let delta = member("artifacts_delta");
                for kind in ["added", "changed"] {
                    let paths = delta.and_then(|d| d.member(kind)).and_then(|p| p.items());
                    for path in paths.into_iter().flatten().filter_map(|p| p.str()) {
                        if !path.trim().is_empty() {
                            self.artifacts.insert(path.into_owned());
                        }
                    }
                }
            }
            _ => {}
        }
    }

    /// [`Projection::event`] without building the `wrkr.event` record: export writes its canonical
    /// bytes straight from the ledger's payload ([`EventView::write_canonical`]), which spares a
    /// copy of every payload and a map per event on the hottest path of `wrkr export`.
    pub fn project<'a>(&mut self, e: &LedgerEvent<'a>) -> ProjectedView<'a> {
        self.last_created_at.clear();
        self.last_created_at.push_str(e.created_at);
        let payload: Cow<'a, Value> = match e.payload {
            Some(map @ Value::Object(_)) => Cow::Borrowed(map),
            Some(Value::Null) | None => Cow::Owned(json!({})),
            Some(other) => Cow::Owned(json!({ "value": other })),
        };
        let executed = payload.get("executed").and_then(Value::as_bool).unwrap_or(true);
        match e.event_type {
            "status_changed" => {
                if let Some(to) = payload.get("to").and_then(Value::as_str) {
                    self.status = to.to_owned();
                }
            }
            "job_initialized" => {
                if let Some(s) = payload.get("status").and_then(Value::as_str) {
                    self.status = s.to_owned();
                }
            }
            "counters_updated" => {
                let n = |k: &str| payload.get(k).and_then(Value::as_u64).unwrap_or(0);
                self.counters = (n("retry_count"), n("step_count"), n("tool_call_count"));
            }
            STEP_FINISHED | WRAP_FINISHED => self.remember_hashes(&payload),
            _ => {}
        }
        let checkpoint = (e.event_type == "checkpoint_emitted").then(|| self.checkpoint(e, &payload));
        let approval = (e.event_type == "approval_recorded").then(|| payload.as_ref().clone());
        let event = EventView { seq: e.seq, created_at: e.created_at, event_type: e.event_type, executed, payload };
        ProjectedView { event, checkpoint, approval }
    }

    /// Take in the artifact hashes a step end recorded (`run::evidence`).
    fn remember_hashes(&mut self, payload: &Value) {
        let Some(Value::Object(hashes)) = payload.get(ARTIFACT_HASHES) else { return };
        for (path, hash) in hashes {
            let hash = hash.as_str().filter(|h| digest::is_sha256_hex(h)).map(str::to_owned);
            self.recorded.insert(path.clone(), hash);
        }
    }

    fn checkpoint(&mut self, e: &LedgerEvent<'_>, payload: &Value) -> Value {
        let delta = checkpoint_delta(payload);
        let [added, changed, _] = &delta;
        for path in added.iter().chain(changed) {
            if !path.trim().is_empty() {
                self.artifacts.insert(path.clone());
            }
        }
        render_checkpoint(&self.job_id, e.seq, e.created_at, payload, delta)
    }

    /// The records that need the whole ledger. `workspace` is where artifact paths are resolved.
    pub fn finish(self, workspace: Option<&Path>) -> Finished {
        self.finish_with(workspace, Capture::ReferenceOnly)
    }

    /// [`Projection::finish`] with a capture mode (it only changes `capture_mode`; the caller adds
    /// the bytes of [`Finished::files`]).
    pub fn finish_with(self, workspace: Option<&Path>, capture: Capture) -> Finished {
        let mut missing = Vec::new();
        let mut files = Vec::new();
        let artifacts: Vec<Value> = self
            .artifacts
            .iter()
            .map(|path| {
                // Raw capture needs the bytes, so it hashes what it packs: the workspace's file.
                let recorded = match capture {
                    Capture::ReferenceOnly => self.recorded.get(path).cloned().flatten(),
                    Capture::Raw => None,
                };
                if let Some(sha256) = recorded {
                    return json!({"path": path, "sha256": sha256});
                }
                let found = workspace.and_then(|ws| content_hash(ws, path));
                let sha256 = match found {
                    Some((file, sha256)) => {
                        files.push(ArtifactFile { path: path.clone(), file, sha256: sha256.clone() });
                        sha256
                    }
                    None => {
                        missing.push(path.clone());
                        digest::sha256_hex(format!("reference:{path}").as_bytes())
                    }
                };
                json!({"path": path, "sha256": sha256})
            })
            .collect();
        let (retry_count, step_count, tool_call_count) = self.counters;
        let job = json!({
            "schema_id": "wrkr.job",
            "schema_version": SCHEMA_VERSION,
            "created_at": self.last_created_at,
            "producer_version": PRODUCER_VERSION,
            "job_id": self.job_id,
            "name": self.job_id,
            "status": self.status,
            "budgets": {"retry_count": retry_count, "step_count": step_count, "tool_call_count": tool_call_count},
        });
        let artifacts_manifest = json!({
            "schema_id": "wrkr.artifacts_manifest",
            "schema_version": SCHEMA_VERSION,
            "created_at": self.last_created_at,
            "producer_version": PRODUCER_VERSION,
            "job_id": self.job_id,
            "capture_mode": capture.as_str(),
            "artifacts": artifacts,
        });
        Finished { job, artifacts_manifest, missing, files }
    }
}

/// The `added`, `changed` and `removed` paths of a `checkpoint_emitted` payload (strings only).
pub fn checkpoint_delta(payload: &Value) -> [Vec<String>; 3] {
    ["added", "changed", "removed"].map(|k| {
        payload
            .pointer(&format!("/artifacts_delta/{k}"))
            .and_then(Value::as_array)
            .map(|a| a.iter().filter_map(Value::as_str).map(str::to_owned).collect())
            .unwrap_or_default()
    })
}

/// A `checkpoint_emitted` payload rendered as `wrkr.checkpoint` (digest 7.3 key order).
pub fn render_checkpoint(job_id: &str, seq: u64, created_at: &str, payload: &Value, delta: [Vec<String>; 3]) -> Value {
    let [added, changed, removed] = delta;
    let n = |k: &str| payload.pointer(&format!("/budget_state/{k}")).and_then(Value::as_u64).unwrap_or(0);
    let text = |k: &str| payload.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
    let mut cp = Map::new();
    cp.insert("schema_id".into(), json!("wrkr.checkpoint"));
    cp.insert("schema_version".into(), json!(SCHEMA_VERSION));
    cp.insert("created_at".into(), json!(created_at));
    // The version that emitted the checkpoint when the payload says so (ours do), else ours.
    let producer = payload.get("producer_version").and_then(Value::as_str).filter(|s| !s.is_empty());
    cp.insert("producer_version".into(), json!(producer.unwrap_or(PRODUCER_VERSION)));
    cp.insert("checkpoint_id".into(), json!(format!("cp_{seq}")));
    cp.insert("job_id".into(), json!(job_id));
    cp.insert("type".into(), json!(text("type")));
    cp.insert("summary".into(), json!(text("summary")));
    cp.insert("status".into(), json!(text("status")));
    cp.insert(
        "budget_state".into(),
        json!({
            "wall_time_seconds": n("wall_time_seconds"),
            "retry_count": n("retry_count"),
            "step_count": n("step_count"),
            "tool_call_count": n("tool_call_count"),
        }),
    );
    cp.insert("artifacts_delta".into(), json!({"added": added, "changed": changed, "removed": removed}));
    if let Some(action @ Value::Object(_)) = payload.get("required_action") {
        cp.insert("required_action".into(), action.clone());
    }
    let codes: Vec<&str> = payload
        .get("reason_codes")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    cp.insert("reason_codes".into(), json!(codes));
    Value::Object(cp)
}

/// Where `workspace/path` is and the sha256 of its content, or `None` when the path is unsafe or
/// not a regular file.
pub fn content_hash(workspace: &Path, path: &str) -> Option<(PathBuf, String)> {
    let rel = Path::new(path);
    if rel.components().any(|c| !matches!(c, Component::Normal(_) | Component::CurDir)) {
        return None;
    }
    let full = workspace.join(rel);
    let mut file = std::fs::File::open(&full).ok()?;
    if !file.metadata().ok()?.is_file() {
        return None;
    }
    let mut hasher = Hasher::new();
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => hasher.update(&buf[..n]),
            Err(_) => return None,
        }
    }
    Some((full, hasher.finish().0))
}

#[cfg(test)]
mod tests;
