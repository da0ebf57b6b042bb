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
//! verify it again), every entry read here is hashed (the two JSONL entries on a second thread) and must be what export wrote,
//! so that the evidence judged is the pack's (`E_VERIFY_HASH_MISMATCH` otherwise).

use std::borrow::Cow;
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
use crate::json::scan::{Scan, ScanNode};
use crate::json::tape::{Tape, TapeNode};
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
    let expect = Expected(written);
    // The two big entries are hashed on a second thread, each through its own reader, while this
    // one parses them: hashing 43 MiB was a third of this work on one core. Only entries export
    // declared are hashed (none for `wrkr-accept PACK`, which has no export to hold them to).
    if written.is_none() {
        return read_entries(&zip, expect);
    }
    std::thread::scope(|scope| {
        let hashing = scope.spawn(|| hash_entries(&zip, &[CHECKPOINTS, EVENTS], expect));
        let read = read_entries(&zip, expect);
        let hashed = hashing.join().unwrap_or_else(|_| Err(Error::generic("the jobpack hashing thread stopped")));
        // A changed entry is the finding that matters; a read error of that entry says less.
        hashed.and(read)
    })
}

/// The aggregates; the JSONL entries are read without hashing them ([`hash_entries`] does).
fn read_entries(zip: &ZipReader, expect: Expected<'_>) -> Result<Evidence> {
    let mut ev = Evidence::default();
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
    // Checkpoints are read on a reusable scan (byte spans into the line, no allocation per
    // record); a line the scan is unsure of goes to a reusable tape, which accepts exactly what
    // json::parse accepts. 25,000 records cost ~70 ms as `Value`s, ~15 ms on the tape.
    let (mut scan, mut tape) = (Scan::new(), Tape::new());
    each_raw_line(zip, CHECKPOINTS, expect, &mut |line| {
        if scan.parse(line).is_ok() {
            if let Some(cp) = scan.root(line) {
                note_checkpoint(&mut ev, cp);
            }
        } else if let Some(cp) = tape.parse(line).ok().and_then(|()| tape.root()) {
            note_checkpoint(&mut ev, cp);
        }
    })?;
    // Events: only the first and last times, status changes and the jobspec and budget events
    // are needed, so a line is parsed only when it is one of those (a byte search first: 100k
    // events cost ~no parsing).
    let (mut first, mut last): (Option<Vec<u8>>, Vec<u8>) = (None, Vec::new());
    let mut active = ActiveTime::default();
    each_raw_line(zip, EVENTS, expect, &mut |line| {
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

/// What one checkpoint record adds: its type, and the artifact paths its delta names.
fn note_checkpoint<'a, N: CheckpointNode<'a>>(ev: &mut Evidence, cp: N) {
    if let Some(t) = cp.member("type").and_then(|t| t.text()) {
        ev.checkpoint_types.insert(t.into_owned());
    }
    for (kind, claims) in [("added", true), ("changed", true), ("removed", false)] {
        let Some(paths) = cp.member("artifacts_delta").and_then(|d| d.member(kind)) else { continue };
        for path in paths.texts() {
            let path = path.trim();
            if path.is_empty() {
                continue;
            }
            if claims {
                ev.claimed.insert(path.to_owned());
            }
            ev.touched.insert(path.to_owned());
        }
    }
}

/// The little [`note_checkpoint`] asks of a record, scanned or on a tape.
trait CheckpointNode<'a>: Sized {
    fn member(&self, key: &str) -> Option<Self>;
    fn text(&self) -> Option<Cow<'a, str>>;
    /// The strings among the items, when this is an array.
    fn texts(&self) -> Vec<Cow<'a, str>>;
}

impl<'a> CheckpointNode<'a> for ScanNode<'a> {
    fn member(&self, key: &str) -> Option<Self> {
        ScanNode::member(self, key)
    }
    fn text(&self) -> Option<Cow<'a, str>> {
        self.str()
    }
    fn texts(&self) -> Vec<Cow<'a, str>> {
        self.items().into_iter().flatten().filter_map(|item| item.str()).collect()
    }
}

impl<'a> CheckpointNode<'a> for TapeNode<'a> {
    fn member(&self, key: &str) -> Option<Self> {
        TapeNode::member(self, key)
    }
    fn text(&self) -> Option<Cow<'a, str>> {
        self.string().map(Cow::Borrowed)
    }
    fn texts(&self) -> Vec<Cow<'a, str>> {
        self.items().into_iter().flatten().filter_map(|item| item.string()).map(Cow::Borrowed).collect()
    }
}

/// Call `f` with every non-blank line of a JSONL entry (over-long lines are skipped).
fn each_raw_line(zip: &ZipReader, name: &str, expect: Expected<'_>, f: &mut dyn FnMut(&[u8])) -> Result<()> {
    let Some(entry) = zip.find(name) else { return expect.absent(name) };
    let mut lines = JsonlReader::new(BufReader::with_capacity(256 * 1024, zip.reader(entry)), DEFAULT_MAX_LINE_BYTES);
    while let Some(next) = lines.next_line() {
        match next {
            Ok((_, line)) if is_blank(line) => {}
            Ok((_, line)) => f(line),
            Err(crate::jsonl::LineError::TooLong { .. }) => {}
            Err(crate::jsonl::LineError::Io(e)) => return Err(Error::io(name, e)),
        }
    }
    Ok(())
}

/// Hash each of `names` that export declared, in turn, against what export wrote (the first
/// mismatch is the error). An absent entry is left to [`each_raw_line`], which words it.
fn hash_entries(zip: &ZipReader, names: &[&str], expect: Expected<'_>) -> Result<()> {
    let mut buf = vec![0u8; 256 * 1024];
    for &name in names {
        let Some(entry) = zip.find(name).filter(|_| expect.sha256(name).is_some()) else { continue };
        let mut reader = zip.reader(entry);
        let mut hasher = Hasher::new();
        loop {
            let n = reader.read(&mut buf).map_err(|e| Error::io(name, e))?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
        }
        expect.check(name, hasher, &[])?;
    }
    Ok(())
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

    /// Checkpoint lines are read on a scan, and those it is unsure of (escapes, whitespace) on a
    /// tape: both count, with the same meaning.
    #[test]
    fn checkpoints_count_whether_scanned_or_read_on_the_tape() {
        use std::io::Write;
        let checkpoints = concat!(
            r#"{"artifacts_delta":{"added":["out/a.txt"],"changed":[],"removed":[]},"type":"plan"}"#,
            "\n",
            r#"{ "artifacts_delta": {"added": [], "changed": ["out/\u00e9.txt"], "removed": [" old.txt "]}, "type": "progress" }"#,
            "\n",
        );
        let mut zip = crate::pack::zipwrite::ZipWriter::new(Vec::new());
        zip.entry(CHECKPOINTS, checkpoints.as_bytes()).unwrap();
        let (bytes, _) = zip.finish().unwrap();
        let mut file = tempfile::tempfile().unwrap();
        file.write_all(&bytes).unwrap();
        let ev = read(file, None).unwrap();
        let set = |items: &[&str]| items.iter().map(|s| s.to_string()).collect::<BTreeSet<_>>();
        assert_eq!(ev.checkpoint_types, set(&["plan", "progress"]));
        assert_eq!(ev.claimed, set(&["out/a.txt", "out/\u{e9}.txt"]));
        assert_eq!(ev.touched, set(&["old.txt", "out/a.txt", "out/\u{e9}.txt"]));
    }
}
