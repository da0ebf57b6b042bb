//! Verify a jobpack: Go's checks in Go's order (digest 2.8), plus safety checks no honest pack trips.
//!
//! Order, and what each failure is:
//!
//! | step | check | code (exit) |
//! |---|---|---|
//! | 0 | zip readable | generic (1) |
//! | 0s | zip structure safe (see `zipread`): names, duplicates, directories, sizes, declared deflate ratios, overlaps, trailing bytes | `E_VERIFY_HASH_MISMATCH` (2) |
//! | 0b | `manifest.json` present | generic (1) |
//! | 0c | manifest decodes (JSON object, right types, RFC 3339 `created_at`) | generic (1) |
//! | 0d | each *declared* entry readable (an unknown compression method, a corrupt deflate stream: generic (1)) and its content what the directory declares (CRC-32, inflated size) | `E_VERIFY_HASH_MISMATCH` (2; Go: 1) |
//! | 1 | manifest schema | `E_INVALID_INPUT_SCHEMA` (6) |
//! | 2 | recomputed `manifest_sha256` | `E_VERIFY_HASH_MISMATCH` (2) |
//! | 3 | each declared file, in manifest order: present, then hash | `E_VERIFY_HASH_MISMATCH` (2) |
//! | 4 | no undeclared entry (sorted by name, so the first reported is deterministic) | `E_VERIFY_HASH_MISMATCH` (2) |
//! | 5a–f | job, artifacts manifest, accept result, then events/checkpoints/approvals lines | `E_INVALID_INPUT_SCHEMA` (6) |
//!
//! The manifest is read first; an entry it does not declare is never read, so it is reported at
//! step 4 whatever its compression, and no undeclared bytes are ever inflated.
//! Every declared entry is read exactly once, in one streaming pass: hashed, CRC-checked, and (for the known
//! entries) schema-checked line by line as it streams (a large entry's lines by one worker per core,
//! see `lines`); findings are then reported in the order above. Memory holds the manifest and the
//! three small JSON documents and a few batches of lines, never a JSONL entry or the pack.
//! Records are judged on a reusable tape first (`json::tape`), which costs no allocation per record;
//! only a record that is not plainly valid is parsed again into a `Value`, whose validator words the
//! finding.
//! With `all`, every finding is kept (up to [`MAX_FINDINGS`]) and the first one is still the error.

mod lines;

use std::fs::File;
use std::io::{self, BufReader, Read};

use serde::Serialize;
use serde_json::Value;

use crate::contract::schema::{self, Schema};
use crate::contract::{Error, ReasonCode, Result};
use crate::digest::Hasher;
use crate::json;
use crate::json::tape::Tape;
use crate::jsonl::{DEFAULT_MAX_LINE_BYTES, JsonlReader};
use crate::pack::inflate;
use crate::pack::manifest::{Manifest, SCHEMA_ID};
use crate::pack::zipread::{DEFAULT_MAX_ENTRY_BYTES, ZipReader};
use crate::pack::{ACCEPT_RESULT, APPROVALS, ARTIFACTS_MANIFEST, CHECKPOINTS, EVENTS, JOB, MANIFEST};

/// At most this many findings are kept under `all`.
pub const MAX_FINDINGS: usize = 1000;

#[derive(Clone, Debug)]
pub struct Options {
    pub max_entry_bytes: u64,
    /// Largest JSON document or JSONL line that is parsed (manifest, job.json, one event...).
    pub max_doc_bytes: u64,
    pub all: bool,
}

impl Default for Options {
    fn default() -> Options {
        Options { max_entry_bytes: DEFAULT_MAX_ENTRY_BYTES, max_doc_bytes: DEFAULT_MAX_LINE_BYTES, all: false }
    }
}

/// One check that ran, and what it found.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct Check {
    pub check: &'static str,
    pub result: String,
}

/// A passing verify: Go's JSON shape plus the checks that ran.
#[derive(Clone, Debug, Serialize)]
pub struct Report {
    pub job_id: String,
    pub manifest_sha256: String,
    pub files_verified: usize,
    pub checks: Vec<Check>,
}

/// Schema-checked entries, in the order their findings are reported (steps 5a–5f).
const SCHEMA_ENTRIES: [(&str, &str, &str, bool); 6] = [
    (JOB, "wrkr.job", "job schema invalid", false),
    (ARTIFACTS_MANIFEST, "wrkr.artifacts_manifest", "artifacts_manifest schema invalid", false),
    (ACCEPT_RESULT, "wrkr.accept_result", "accept_result schema invalid", false),
    (EVENTS, "wrkr.event", "event schema invalid", true),
    (CHECKPOINTS, "wrkr.checkpoint", "checkpoint schema invalid", true),
    (APPROVALS, "wrkr.approval_record", "approval schema invalid", true),
];

fn mismatch(message: &str) -> Error {
    Error::new(ReasonCode::VerifyHashMismatch, message)
}

/// A reader that hashes everything read through it.
struct Tee<R> {
    inner: R,
    hasher: Hasher,
}

impl<R: Read> Read for Tee<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

/// The findings collected so far.
struct Findings {
    all: bool,
    list: Vec<Error>,
}

impl Findings {
    /// Record a finding; true when the caller should stop (first finding without `all`).
    fn add(&mut self, err: Error) -> bool {
        if self.list.len() < MAX_FINDINGS {
            self.list.push(err);
        }
        !self.all
    }
}

fn schema_error(message: &str, text: String) -> Error {
    Error::invalid_input(message).with("error", text)
}

/// Validate one JSON value; `None` when valid. `tape` is scratch space reused between calls.
fn violation(schema: &Schema, bytes: &[u8], tape: &mut Tape) -> Option<String> {
    // The fast path answers only "parsed and valid"; anything else is judged again below by the
    // strict parser and the `Value` validator, which alone word the findings (see json::tape).
    if tape.parse(bytes).is_ok() && tape.root().is_some_and(|root| schema.is_valid_tape(root)) {
        return None;
    }
    let value = match json::parse(bytes) {
        Ok(v) => v,
        Err(e) => return Some(format!("invalid JSON: {e}")),
    };
    if schema.validator().is_valid(&value) {
        return None;
    }
    schema
        .violations(&value)
        .into_iter()
        .next()
        .map(|v| format!("{}: {}", schema::pointer_label(&v.pointer), v.message))
}

/// What the streaming pass learned about one entry.
struct Scanned {
    sha256: String,
    /// Schema findings of this entry (5a–5f), in line order.
    findings: Vec<Error>,
}

fn scan_entry(
    zip: &ZipReader,
    entry: &crate::pack::zipread::Entry,
    opts: &Options,
    keep: &mut Option<Vec<u8>>,
) -> Result<Scanned> {
    let read_err = |e: io::Error| {
        if inflate::is_mismatch(&e) {
            // Bytes that are not what the directory declares (CRC-32, inflated size): tampering,
            // exit 2. Go reports a CRC error as a generic read error (exit 1).
            return mismatch("entry content does not match the zip directory")
                .with("path", entry.name.as_str())
                .with("error", e.to_string())
                .with("check", "entry_content");
        }
        Error::generic(format!("open jobpack zip: {}: {e}", entry.name))
            .with("path", entry.name.as_str())
            .with("check", "zip_readable")
    };
    let mut tee = Tee { inner: zip.reader(entry), hasher: Hasher::new() };
    let mut findings = Vec::new();
    let mut tape = Tape::new();
    let spec = SCHEMA_ENTRIES.iter().find(|(name, ..)| *name == entry.name);
    let wants_doc = entry.name == MANIFEST || spec.is_some_and(|s| !s.3);
    if wants_doc {
        let mut bytes = Vec::new();
        (&mut tee).take(opts.max_doc_bytes.saturating_add(1)).read_to_end(&mut bytes).map_err(read_err)?;
        io::copy(&mut tee, &mut io::sink()).map_err(read_err)?;
        if let Some(&(_, id, message, _)) = spec {
            let schema = schema::find(id).ok_or_else(|| Error::generic(format!("schema {id} missing")))?;
            let problem = if bytes.len() as u64 > opts.max_doc_bytes {
                Some(format!("document longer than {} bytes", opts.max_doc_bytes))
            } else {
                violation(schema, &bytes, &mut tape)
            };
            if let Some(text) = problem {
                findings.push(schema_error(message, text).with("path", entry.name.as_str()));
            }
        }
        *keep = Some(bytes);
    } else if let Some(&(_, id, message, _)) = spec {
        let schema = schema::find(id).ok_or_else(|| Error::generic(format!("schema {id} missing")))?;
        let mut lines = JsonlReader::new(BufReader::with_capacity(256 * 1024, &mut tee), opts.max_doc_bytes);
        let workers = if entry.size < lines::PARALLEL_MIN_BYTES { 0 } else { lines::workers() };
        let problems = lines::check(&mut lines, schema, opts.max_doc_bytes, opts.all, workers).map_err(read_err)?;
        for (line_no, text) in problems {
            findings.push(schema_error(message, text).with("path", entry.name.as_str()).with("line", line_no));
        }
        drop(lines);
        io::copy(&mut tee, &mut io::sink()).map_err(read_err)?;
    } else {
        io::copy(&mut tee, &mut io::sink()).map_err(read_err)?;
    }
    Ok(Scanned { sha256: tee.hasher.finish().0, findings })
}

/// Verify the pack in `file`. The error is the first finding (with every finding under
/// `details.findings` when `opts.all` found more than one).
pub fn verify(file: File, opts: &Options) -> Result<Report> {
    let mut findings = Findings { all: opts.all, list: Vec::new() };
    let report = run(file, opts, &mut findings)?;
    let mut list = findings.list.into_iter();
    match list.next() {
        None => report.ok_or_else(|| Error::generic("verify ended without a verdict")),
        Some(first) => {
            let rest: Vec<Error> = list.collect();
            if rest.is_empty() {
                return Err(first);
            }
            let all: Vec<Value> = std::iter::once(&first).chain(&rest).map(finding_json).collect();
            Err(first.with("findings", Value::Array(all)))
        }
    }
}

/// A finding as JSON: `{code, message, details...}`.
pub fn finding_json(err: &Error) -> Value {
    let mut v = serde_json::json!({"code": err.code.as_str(), "message": err.message});
    if !err.details.is_empty() {
        v["details"] = Value::Object(err.details.clone());
    }
    v
}

/// Fatal problems return `Err`; the rest go to `findings`. `Ok(None)` means findings stopped it.
fn run(file: File, opts: &Options, findings: &mut Findings) -> Result<Option<Report>> {
    let zip = ZipReader::open(file, opts.max_entry_bytes)?;
    let mut checks = vec![Check { check: "zip_structure", result: "ok".into() }];
    // The manifest first: it says which entries belong, and nothing else is read (or inflated)
    // before that is known.
    let manifest_entry = zip
        .find(MANIFEST)
        .ok_or_else(|| Error::generic("jobpack missing manifest.json").with("check", "manifest_present"))?;
    let mut keep = None;
    let mut manifest_scan = Some(scan_entry(&zip, manifest_entry, opts, &mut keep)?);
    let manifest_bytes = keep.unwrap_or_default();
    if manifest_bytes.len() as u64 > opts.max_doc_bytes {
        return Err(Error::generic(format!("decode manifest.json: longer than {} bytes", opts.max_doc_bytes)));
    }
    let value = json::parse(&manifest_bytes).map_err(|e| Error::generic(format!("decode manifest.json: {e}")))?;
    let manifest = Manifest::decode(&value).map_err(|e| Error::generic(format!("decode manifest.json: {e}")))?;
    let declared: std::collections::BTreeSet<&str> = manifest.files.iter().map(|f| f.path.as_str()).collect();
    let mut scanned = Vec::with_capacity(zip.entries().len());
    for entry in zip.entries() {
        scanned.push(if entry.name == MANIFEST {
            manifest_scan.take()
        } else if declared.contains(entry.name.as_str()) {
            Some(scan_entry(&zip, entry, opts, &mut None)?)
        } else {
            None // undeclared: never read; step 4 reports it
        });
    }
    checks.push(Check { check: "entries_readable", result: "ok".into() });
    let entries: Vec<(&str, Option<&Scanned>)> =
        zip.entries().iter().map(|e| e.name.as_str()).zip(scanned.iter().map(Option::as_ref)).collect();

    // 1: schema.
    let manifest_schema = schema::find(SCHEMA_ID).ok_or_else(|| Error::generic("manifest schema missing"))?;
    if let Some(v) = manifest_schema.violations(&value).into_iter().next() {
        let err =
            schema_error("manifest schema invalid", format!("{}: {}", schema::pointer_label(&v.pointer), v.message));
        if findings.add(err) {
            return Ok(None);
        }
    } else {
        checks.push(Check { check: "manifest_schema", result: "ok".into() });
    }
    // 2: the self-hash.
    let actual = manifest.compute_sha256();
    if actual != manifest.manifest_sha256 {
        let err = mismatch("manifest_sha256 mismatch")
            .with("expected", manifest.manifest_sha256.as_str())
            .with("actual", actual);
        if findings.add(err) {
            return Ok(None);
        }
    } else {
        checks.push(Check { check: "manifest_sha256", result: "ok".into() });
    }
    // 3: declared files, in manifest order.
    let lookup = |name: &str| entries.binary_search_by(|(n, _)| (*n).cmp(name)).ok().and_then(|i| entries[i].1);
    let mut files_ok = true;
    for file in &manifest.files {
        let err = match lookup(&file.path) {
            None => mismatch("manifest references missing file").with("path", file.path.as_str()),
            Some(s) if s.sha256 != file.sha256 => mismatch("file hash mismatch")
                .with("path", file.path.as_str())
                .with("expected", file.sha256.as_str())
                .with("actual", s.sha256.as_str()),
            Some(_) => continue,
        };
        files_ok = false;
        if findings.add(err) {
            return Ok(None);
        }
    }
    if files_ok {
        checks.push(Check { check: "file_hashes", result: format!("{} ok", manifest.files.len()) });
    }
    // 4: undeclared entries, by name.
    let mut undeclared_ok = true;
    for (name, _) in &entries {
        if *name != MANIFEST && !manifest.files.iter().any(|f| f.path == *name) {
            undeclared_ok = false;
            if findings.add(mismatch("archive contains undeclared file").with("path", *name)) {
                return Ok(None);
            }
        }
    }
    if undeclared_ok {
        checks.push(Check { check: "undeclared_files", result: "none".into() });
    }
    // 5a–5f: record schemas.
    let mut schemas_ok = true;
    for (name, ..) in SCHEMA_ENTRIES {
        let Some(s) = lookup(name) else { continue };
        for err in &s.findings {
            schemas_ok = false;
            if findings.add(err.clone()) {
                return Ok(None);
            }
        }
    }
    if schemas_ok {
        checks.push(Check { check: "record_schemas", result: "ok".into() });
    }
    Ok(Some(Report {
        job_id: manifest.job_id,
        manifest_sha256: manifest.manifest_sha256,
        files_verified: manifest.files.len(),
        checks,
    }))
}
