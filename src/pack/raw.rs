//! Raw artifact capture: the artifact files themselves inside the pack (`--unsafe-capture-raw`).
//!
//! A reference-only pack holds each artifact's path and content hash; a raw pack also holds the
//! bytes, as declared entries `artifacts/<path>` (so Go's verifier checks their hashes like any
//! other file), and its artifacts manifest says `capture_mode: "raw"`. That copies whatever the
//! workspace holds (secrets included) into a file meant to be shared, which is why it is an
//! explicit, unsafe opt-in: without the flag, asking for it is exit 8 `E_UNSAFE_OPERATION`.
//!
//! In a record stream the bytes travel as one `wrkr.raw_artifact` record per file:
//! `{"schema_id":"wrkr.raw_artifact","schema_version":"v1","job_id","path","sha256","content_base64"}`
//! (exactly these keys; strict padded base64; `sha256` of the decoded bytes). The record is a
//! transport record, not a pack entry: it has no JSON Schema and never appears in a pack. In-process
//! export streams the file from the workspace into the packer instead; both give the same entry.
//!
//! Consistency, checked when the pack is finished: every `artifacts/<path>` entry is listed in the
//! artifacts manifest with the same sha256, and that manifest's capture mode is `raw`.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use crate::base64;
use crate::contract::reason::ReasonCode;
use crate::contract::{Error, Result, SCHEMA_VERSION};
use crate::digest;

pub const SCHEMA_ID: &str = "wrkr.raw_artifact";
/// Entry-name prefix of raw artifacts.
pub const PREFIX: &str = "artifacts/";

/// `artifacts/<path>`.
pub fn entry_name(path: &str) -> String {
    format!("{PREFIX}{path}")
}

/// The error for raw content without the opt-in.
pub fn refused(what: &str) -> Error {
    Error::new(ReasonCode::UnsafeOperation, format!("{what} would put artifact file contents into the jobpack"))
        .with_hint("pass --unsafe-capture-raw to include the files themselves (anything in them is then in the pack)")
}

/// The transport record for one file.
pub fn record(job_id: &str, path: &str, content: &[u8]) -> Value {
    json!({
        "schema_id": SCHEMA_ID,
        "schema_version": SCHEMA_VERSION,
        "job_id": job_id,
        "path": path,
        "sha256": digest::sha256_hex(content),
        "content_base64": base64::encode(content),
    })
}

/// A decoded `wrkr.raw_artifact` record.
pub struct RawArtifact {
    pub job_id: String,
    pub path: String,
    pub content: Vec<u8>,
}

/// Decode and check a `wrkr.raw_artifact` record (exit 6 on any defect).
pub fn parse(record: &Value) -> Result<RawArtifact> {
    let bad = |what: String| Error::invalid_input(format!("{SCHEMA_ID}: {what}")).with("schema_id", SCHEMA_ID);
    let Some(map) = record.as_object() else { return Err(bad("not an object".into())) };
    const KEYS: [&str; 6] = ["schema_id", "schema_version", "job_id", "path", "sha256", "content_base64"];
    if let Some(extra) = map.keys().find(|k| !KEYS.contains(&k.as_str())) {
        return Err(bad(format!("unknown field {extra:?}")));
    }
    let field = |k: &str| -> Result<&str> {
        map.get(k)
            .and_then(Value::as_str)
            .ok_or_else(|| bad(format!("{k} must be a string")).with("pointer", format!("/{k}")))
    };
    if field("schema_version")? != SCHEMA_VERSION {
        return Err(bad("schema_version must be v1".into()));
    }
    let (job_id, path, sha256) = (field("job_id")?, field("path")?, field("sha256")?);
    if job_id.is_empty() || path.is_empty() {
        return Err(bad("job_id and path must not be empty".into()));
    }
    let content = base64::decode(field("content_base64")?)
        .ok_or_else(|| bad(format!("content_base64 of {path:?} is not canonical padded base64")))?;
    let actual = digest::sha256_hex(&content);
    if actual != sha256 {
        return Err(bad(format!("content of {path:?} does not match its sha256"))
            .with("expected", sha256)
            .with("actual", actual));
    }
    Ok(RawArtifact { job_id: job_id.to_owned(), path: path.to_owned(), content })
}

/// Check raw entries (`(entry name, sha256)`) against the artifacts manifest's JCS bytes.
pub fn check_manifest(artifacts_manifest: &[u8], raw: &[(&str, &str)]) -> Result<()> {
    if raw.is_empty() {
        return Ok(());
    }
    let doc =
        crate::json::parse(artifacts_manifest).map_err(|e| Error::invalid_input(format!("artifacts manifest: {e}")))?;
    if doc.get("capture_mode").and_then(Value::as_str) != Some("raw") {
        return Err(Error::invalid_input(
            "the pack has raw artifacts but the artifacts manifest's capture_mode is not raw",
        )
        .with("pointer", "/capture_mode"));
    }
    let listed: BTreeMap<&str, &str> = doc
        .get("artifacts")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|x| Some((x.get("path")?.as_str()?, x.get("sha256")?.as_str()?))).collect())
        .unwrap_or_default();
    for (name, sha) in raw {
        let path = name.strip_prefix(PREFIX).ok_or_else(|| {
            Error::invalid_input(format!("extra entry {name:?} is not under {PREFIX}")).with("path", *name)
        })?;
        match listed.get(path) {
            Some(listed_sha) if listed_sha == sha => {}
            Some(listed_sha) => {
                return Err(Error::invalid_input(format!(
                    "raw artifact {path:?} does not match its hash in the artifacts manifest (changed during export?)"
                ))
                .with("path", path)
                .with("expected", *listed_sha)
                .with("actual", *sha));
            }
            None => {
                return Err(Error::invalid_input(format!("raw artifact {path:?} is not in the artifacts manifest"))
                    .with("path", path));
            }
        }
    }
    Ok(())
}
