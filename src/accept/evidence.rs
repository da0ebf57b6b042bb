//! What acceptance needs to know about a jobpack, read in one streaming pass.
//!
//! The checks never hold the pack's records: a 25,000-step job has tens of thousands of events and
//! checkpoints, and acceptance needs only aggregates of them: which artifact paths checkpoints
//! claimed (added, changed, removed), which checkpoint types occurred, what the artifacts manifest
//! recorded for each path, the job's usage counters, the wall time, and from the
//! `x-jobspec_recorded` event (the runner writes it at submit) the workspace and the budget limits,
//! with every `x-budget_raised` applied. Memory is the set of artifact paths.
//!
//! Wall time is counted exactly as `wrkr budget show` and the runner count it
//! ([`ActiveTime`]): seconds spent `running`, up to the last event; waiting for an approval or
//! paused is not used time. A pack without any `status_changed` event (the Go implementation's)
//! falls back to the span from the first to the last event.
//!
//! The pack's *integrity* is not this module's business (verify's is); a record that does not
//! parse is skipped here and reported by the schema check, which sees every record. One exception:
//! given the entry hashes of the export that just wrote the pack (`accept run JOB`, which does not
//! verify it again), every entry read here is hashed as it streams and must be what export wrote,
//! so that the evidence judged is the pack's (`E_VERIFY_HASH_MISMATCH` otherwise).

use std::collections::{BTreeMap, BTreeSet};
use std::fs::File;
use std::io::{BufReader, Read};
use std::path::PathBuf;

use serde_json::Value;

use crate::contract::time::Timestamp;
use crate::contract::{Error, ReasonCode, Result};
use crate::digest::Hasher;
use crate::job::Status;
use crate::job::budget::ActiveTime;
use crate::json::tape::Tape;
use crate::jsonl::{DEFAULT_MAX_LINE_BYTES, JsonlReader, is_blank};
use crate::pack::manifest::FileDigest;
use crate::pack::zipread::{DEFAULT_MAX_ENTRY_BYTES, ZipReader};
use crate::pack::{ARTIFACTS_MANIFEST, CHECKPOINTS, EVENTS, JOB, MANIFEST};

/// The ledger event that records the job spec and its workspace.
pub const JOBSPEC_EVENT: &str = "x-jobspec_recorded";
const STATUS_EVENT: &str = "status_changed";
const RAISE_EVENT: &str = "x-budget_raised";
const WRAP_EVENT: &str = crate::pack::records::WRAP_EVENT;

#[derive(Clone, Debug, Default)]
pub struct Evidence {
    pub job_id: String,
    pub status: String,
    /// Paths checkpoints added or changed (what they claim exists).
    pub claimed: BTreeSet<String>,
    /// Every path checkpoints touched: added, changed or removed.
    pub touched: BTreeSet<String>,
    pub checkpoint_types: BTreeSet<String>,
    /// path → sha256, from artifacts_manifest.json.
    pub recorded: BTreeMap<String, String>,
    /// `retry_count`, `step_count`, `tool_call_count` from job.json.
    pub usage: BTreeMap<String, u64>,
    /// Seconds spent running (see the module notes).
    pub wall_time_seconds: Option<u64>,
    /// The `workspace` of the last `x-jobspec_recorded` (or `x-wrap_recorded`) event.
    pub workspace: Option<PathBuf>,
    /// The `jobspec.budgets` of the last `x-jobspec_recorded` event, raised limits applied.
    pub limits: Option<Value>,
}

/// Read the aggregates of the pack in `file`; with `written` (the entries export wrote and their
/// sha256), each entry read must hash to what export wrote.
pub fn read(file: File, written: Option<&[FileDigest]>) -> Result<Evidence> {
    let zip = ZipReader::open(file, DEFAULT_MAX_ENTRY_BYTES)?;
    let mut ev = Evidence::default();
    let expect = Expected(written);
    let doc = |name: &str| -> Result<Option<Value>> {
        let Some(entry) = zip.find(name) else { return expect.absent(name).map(|()| None) };
        let bytes = zip.read_to_vec(entry, DEFAULT_MAX_LINE_BYTES).map_err(|e| Error::io(name, e))?;
        expect.check(name, Hasher::new(), &bytes)?;
        Ok(crate::json::parse(&bytes).ok())
    };
    let manifest = doc(MANIFEST)?;
    let job = doc(JOB)?;
    let text = |v: &Option<Value>, k: &str| {
        v.as_ref().and_then(|v| v.get(k)).and_then(Value::as_str).unwrap_or_default().to_owned()
    };
    ev.job_id = text(&manifest, "job_id");
    if ev.job_id.is_empty() {
        ev.job_id = text(&job, "job_id");
    }
    ev.status = text(&job, "status");
    if let Some(Value::Object(budgets)) = job.as_ref().and_then(|j| j.get("budgets")) {
        for (k, v) in budgets {
            if let Some(n) = v.as_u64() {
                ev.usage.insert(k.clone(), n);
            }
        }
    }
    if let Some(artifacts) =
        doc(ARTIFACTS_MANIFEST)?.as_ref().and_then(|m| m.get("artifacts")).and_then(Value::as_array)
    {
        for a in artifacts {
            if let (Some(p), Some(s)) = (a.get("path").and_then(Value::as_str), a.get("sha256").and_then(Value::as_str))
            {
                ev.recorded.insert(p.to_owned(), s.to_owned());
            }
        }
    }
    // Checkpoints are read on a reusable tape: it accepts exactly what json::parse accepts, without
    // allocating per record (25,000 of them cost ~70 ms as `Value`s, ~15 ms this way).
    let mut tape = Tape::new();
    each_raw_line(&zip, CHECKPOINTS, expect, &mut |line| {
        let Some(cp) = tape.parse(line).ok().and_then(|()| tape.root()) else { return };
        if let Some(t) = cp.member("type").and_then(|t| t.string()) {
            ev.checkpoint_types.insert(t.to_owned());
        }
        for (kind, claims) in [("added", true), ("changed", true), ("removed", false)] {
            let paths = cp.member("artifacts_delta").and_then(|d| d.member(kind)).and_then(|p| p.items());
            for p in paths.into_iter().flatten().filter_map(|p| p.string()).map(str::trim).filter(|p| !p.is_empty()) {
                if claims {
                    ev.claimed.insert(p.to_owned());
                }
                ev.touched.insert(p.to_owned());
            }
        }
    })?;
    // Events: only the first and last times, status changes and the jobspec and budget events
    // are needed, so a line is parsed only when it is one of those (a byte search first: 100k
    // events cost ~no parsing).
    let (mut first, mut last): (Option<Vec<u8>>, Vec<u8>) = (None, Vec::new());
    let mut active = ActiveTime::default();
    each_raw_line(&zip, EVENTS, expect, &mut |line| {
        if first.is_none() {
            first = Some(line.to_vec());
        }
        last.clear();
        last.extend_from_slice(line);
        if !contains_any(line, &[STATUS_EVENT, JOBSPEC_EVENT, RAISE_EVENT, WRAP_EVENT]) {
            return;
        }
        let Ok(event) = crate::json::parse(line) else { return };
        let payload = event.get("payload");
        match event.get("type").and_then(Value::as_str) {
            Some(STATUS_EVENT) => {
                let to = payload.and_then(|p| p.get("to")).and_then(Value::as_str).and_then(Status::parse);
                if let Some(to) = to {
                    let at = event.get("created_at").and_then(Value::as_str).and_then(Timestamp::parse);
                    active.status_changed(to == Status::Running, at);
                }
            }
            Some(JOBSPEC_EVENT) => {
                if let Some(w) =
                    payload.and_then(|p| p.get("workspace")).and_then(Value::as_str).filter(|w| !w.is_empty())
                {
                    ev.workspace = Some(PathBuf::from(w));
                }
                if let Some(b) = payload.and_then(|p| p.pointer("/jobspec/budgets")) {
                    ev.limits = Some(b.clone());
                }
            }
            // A wrapped command's workspace (its `--workspace`, else where it ran), as export reads it.
            Some(WRAP_EVENT) => {
                if let Some(w) =
                    payload.and_then(|p| p.get("workspace")).and_then(Value::as_str).filter(|w| !w.is_empty())
                {
                    ev.workspace = Some(PathBuf::from(w));
                }
            }
            Some(RAISE_EVENT) => {
                if let (Some(Value::Object(limits)), Some(Value::Object(raised))) =
                    (ev.limits.as_mut(), payload.and_then(|p| p.get("limits")))
                {
                    limits.extend(raised.clone());
                }
            }
            _ => {}
        }
    })?;
    let time = |line: Option<&[u8]>| {
        let v = crate::json::parse(line?).ok()?;
        Timestamp::parse(v.get("created_at")?.as_str()?)
    };
    if let (Some(first), Some(last)) = (time(first.as_deref()), time(Some(&last))) {
        ev.wall_time_seconds = Some(if active.seen { active.seconds(last) } else { last.seconds_since(first) });
    }
    Ok(ev)
}

/// Call `f` with every non-blank line of a JSONL entry (over-long lines are skipped).
fn each_raw_line(zip: &ZipReader, name: &str, expect: Expected<'_>, f: &mut dyn FnMut(&[u8])) -> Result<()> {
    let Some(entry) = zip.find(name) else { return expect.absent(name) };
    let mut hasher = Hasher::new();
    let hashed = Hashing { inner: zip.reader(entry), hasher: &mut hasher };
    let mut lines = JsonlReader::new(BufReader::with_capacity(256 * 1024, hashed), DEFAULT_MAX_LINE_BYTES);
    while let Some(next) = lines.next_line() {
        match next {
            Ok((_, line)) if is_blank(line) => {}
            Ok((_, line)) => f(line),
            Err(crate::jsonl::LineError::TooLong { .. }) => {}
            Err(crate::jsonl::LineError::Io(e)) => return Err(Error::io(name, e)),
        }
    }
    drop(lines);
    expect.check(name, hasher, &[])
}

/// A reader that hashes what is read through it.
struct Hashing<'h, R> {
    inner: R,
    hasher: &'h mut Hasher,
}

impl<R: Read> Read for Hashing<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
}

/// The entry hashes export computed, when acceptance runs on the pack it has just written.
#[derive(Clone, Copy)]
struct Expected<'a>(Option<&'a [FileDigest]>);

impl Expected<'_> {
    fn sha256(&self, name: &str) -> Option<&str> {
        self.0?.iter().find(|f| f.path == name).map(|f| f.sha256.as_str())
    }

    /// `hasher` has seen the entry up to its last bytes, `rest`.
    fn check(&self, name: &str, mut hasher: Hasher, rest: &[u8]) -> Result<()> {
        let Some(wrote) = self.sha256(name) else { return Ok(()) };
        hasher.update(rest);
        let read = hasher.finish().0;
        if read == wrote {
            return Ok(());
        }
        Err(Error::new(
            ReasonCode::VerifyHashMismatch,
            format!("jobpack entry {name} changed since it was exported: sha256 {read}, export wrote {wrote}"),
        )
        .with("path", name)
        .with("expected", wrote)
        .with("actual", read))
    }

    fn absent(&self, name: &str) -> Result<()> {
        match self.sha256(name) {
            None => Ok(()),
            Some(_) => Err(Error::new(
                ReasonCode::VerifyHashMismatch,
                format!("jobpack entry {name} is missing from the pack just exported"),
            )
            .with("path", name)),
        }
    }
}

/// Whether any of `needles` occurs in `line`. A line that is not UTF-8 is not JSON either
/// (json::parse refuses it), so it contains nothing worth finding; `str::contains` is much faster
/// than a byte-window scan over 100,000 lines.
fn contains_any(line: &[u8], needles: &[&str]) -> bool {
    std::str::from_utf8(line).is_ok_and(|text| needles.iter().any(|n| text.contains(n)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::ReasonCode;

    /// A pack exported from `odd_checkpoints.jsonl` (tests/export.rs) and the entry hashes its
    /// manifest declares: what export says it wrote.
    fn pack() -> (File, Vec<FileDigest>) {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/export/odd_checkpoints.zip");
        let zip = ZipReader::open(File::open(path).unwrap(), DEFAULT_MAX_ENTRY_BYTES).unwrap();
        let entry = zip.find(MANIFEST).unwrap();
        let manifest: Value = serde_json::from_slice(&zip.read_to_vec(entry, 1 << 20).unwrap()).unwrap();
        let files = manifest["files"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| FileDigest {
                path: f["path"].as_str().unwrap().into(),
                sha256: f["sha256"].as_str().unwrap().into(),
            })
            .collect();
        (File::open(path).unwrap(), files)
    }

    #[test]
    fn entries_read_must_be_what_export_wrote() {
        let (file, files) = pack();
        let trusted = read(file.try_clone().unwrap(), None).unwrap();
        let checked = read(file.try_clone().unwrap(), Some(&files)).unwrap();
        assert_eq!(format!("{trusted:?}"), format!("{checked:?}"));
        for name in [EVENTS, CHECKPOINTS, JOB, ARTIFACTS_MANIFEST] {
            let mut changed = files.clone();
            changed.iter_mut().filter(|f| f.path == name).for_each(|f| f.sha256 = "0".repeat(64));
            let err = read(file.try_clone().unwrap(), Some(&changed)).unwrap_err();
            assert_eq!(err.code, ReasonCode::VerifyHashMismatch, "{name}: {err:?}");
            assert!(err.message.contains(name), "{name}: {err:?}");
        }
        // Entries acceptance does not read are not hashed here (nothing judged comes from them).
        let mut unread = files;
        unread.iter_mut().filter(|f| f.path == "approvals.jsonl").for_each(|f| f.sha256 = "0".repeat(64));
        assert!(read(file, Some(&unread)).is_ok());
    }
}
