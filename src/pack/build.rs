//! From a record stream to a jobpack: the `wrkr-pack` library (digest 2.2–2.4).
//!
//! Records are JSON objects typed by `schema_id`: exactly one `wrkr.job`, any number of
//! `wrkr.event`, `wrkr.checkpoint` and `wrkr.approval_record`, exactly one `wrkr.artifacts_manifest`,
//! at most one `wrkr.accept_result`. Each is checked against its closed v1 schema and must name the
//! same `job_id`; anything else is `E_INVALID_INPUT_SCHEMA` (exit 6) naming the record.
//!
//! Guarantees:
//! - **Same records, same bytes**, in whatever order they arrive: events are ordered by the `<seq>`
//!   of `evt_<seq>`, checkpoints by that of `cp_<seq>`, approvals by (`created_at` as an instant,
//!   `checkpoint_id`, canonical bytes). Entry bytes are JCS (JSONL lines end in `\n`).
//! - **No clock**: `manifest.json`'s `created_at` is the latest `created_at` among the records (the
//!   job's last event), so packing the same job twice gives identical zips.
//! - **Bounded memory**: each JSONL entry is spilled to an anonymous temp file as it arrives, by a
//!   writer thread per entry that also hashes it (sha256 for the manifest, CRC-32 for the zip) off
//!   the main thread (`build/spill.rs`); memory holds a few 64 KiB chunks per entry and the lines' seqs
//!   (none for a run of consecutive seqs). Single documents (job,
//!   artifacts manifest, accept result) and approvals are held in memory (they are small and few).
//!
//! Raw artifacts (`artifacts/<path>` entries, see [`crate::pack::raw`]) come in as
//! `wrkr.raw_artifact` records or through [`Packer::add_file`], only after
//! [`Packer::allow_raw_artifacts`]; otherwise such a record is exit 8 `E_UNSAFE_OPERATION`. Each is
//! spilled to a temp file, and must match its hash in the artifacts manifest.
//!
//! Not done here: reading a job store (`pack::records` does that), and deciding artifact hashes
//! (the `wrkr.artifacts_manifest` record arrives complete).

use std::fs::File;
use std::io::{self, BufRead, Read, Seek, SeekFrom, Write};
use std::os::unix::fs::FileExt;

use serde_json::Value;

use crate::contract::schema;
use crate::contract::time::Timestamp;
use crate::contract::{Error, Result};
use crate::digest::Hasher;
use crate::jcs;
use crate::job::projection::EventView;
use crate::json;
use crate::json::scan::{Scan, Scratch};
use crate::jsonl::{JsonlReader, is_blank};
use crate::pack::manifest::{FileDigest, Manifest};
use crate::pack::raw;
use crate::pack::records::{BigEvent, LineCheckpoint, LineEvent};
use crate::pack::zipread::name_problem;
use crate::pack::zipwrite::ZipWriter;
use crate::pack::{ACCEPT_RESULT, APPROVALS, ARTIFACTS_MANIFEST, CHECKPOINTS, EVENTS, JOB, MANIFEST};

mod spill;
use spill::{Spill, spill_error};

/// What a finished pack is: enough for `export` to print its path, hash and footer.
#[derive(Clone, Debug, serde::Serialize)]
pub struct PackSummary {
    pub job_id: String,
    pub manifest_sha256: String,
    #[serde(serialize_with = "as_string")]
    pub created_at: Timestamp,
    pub files: Vec<FileDigest>,
    pub bytes: u64,
}

fn as_string<S: serde::Serializer>(t: &Timestamp, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.collect_str(t)
}

/// A raw file added through the API, spilled and hashed.
struct ExtraFile {
    name: String,
    file: File,
    sha256: String,
}

/// Collects records, then writes the pack.
pub struct Packer {
    job_id: Option<String>,
    latest: Option<Timestamp>,
    job: Option<Vec<u8>>,
    artifacts: Option<Vec<u8>>,
    accept: Option<Vec<u8>>,
    events: Spill,
    checkpoints: Spill,
    approvals: Vec<(Timestamp, String, Vec<u8>)>,
    extra: Vec<ExtraFile>,
    raw_allowed: bool,
    /// Reused to check line-path checkpoints against their schema without a `Value`.
    scan: Scan,
}

/// `evt_12` → 12 (the prefix and the digits must be exact: no sign, no leading zeros).
fn seq_of(id: &str, prefix: &str) -> Option<u64> {
    let digits = id.strip_prefix(prefix)?;
    if digits.is_empty() || (digits.len() > 1 && digits.starts_with('0')) || !digits.bytes().all(|b| b.is_ascii_digit())
    {
        return None;
    }
    digits.parse().ok()
}

fn str_field<'a>(record: &'a Value, key: &str) -> &'a str {
    record.get(key).and_then(Value::as_str).unwrap_or_default()
}

impl Packer {
    pub fn new() -> Result<Packer> {
        Ok(Packer {
            job_id: None,
            latest: None,
            job: None,
            artifacts: None,
            accept: None,
            events: Spill::new()?,
            checkpoints: Spill::new()?,
            approvals: Vec::new(),
            extra: Vec::new(),
            raw_allowed: false,
            scan: Scan::new(),
        })
    }

    /// Accept raw artifact content (`wrkr.raw_artifact` records, [`Packer::add_file`]).
    pub fn allow_raw_artifacts(&mut self) {
        self.raw_allowed = true;
    }

    fn check_job_id(&mut self, kind: &str, job_id: &str) -> Result<()> {
        match &self.job_id {
            Some(id) if id != job_id => {
                Err(Error::invalid_input(format!("{kind} record is for job {job_id:?}, the stream is for {id:?}"))
                    .with("job_id", job_id)
                    .with("expected", id.as_str()))
            }
            _ => Ok(()),
        }
    }

    /// Add one record. On error nothing was added; the error names what was wrong (exit 6).
    pub fn add_record(&mut self, record: &Value) -> Result<()> {
        if record.get("schema_id").and_then(Value::as_str) == Some(raw::SCHEMA_ID) {
            if !self.raw_allowed {
                return Err(raw::refused("a wrkr.raw_artifact record"));
            }
            let artifact = raw::parse(record)?;
            self.check_job_id("raw_artifact", &artifact.job_id)?;
            self.add_file(&raw::entry_name(&artifact.path), &mut artifact.content.as_slice())?;
            self.job_id.get_or_insert(artifact.job_id);
            return Ok(());
        }
        let schema = schema::for_instance(record)?;
        let kind = schema.short_name();
        if !matches!(
            schema.id,
            "wrkr.job"
                | "wrkr.event"
                | "wrkr.checkpoint"
                | "wrkr.approval_record"
                | "wrkr.artifacts_manifest"
                | "wrkr.accept_result"
        ) {
            return Err(Error::invalid_input(format!("{} records do not go into a jobpack", schema.id))
                .with("schema_id", schema.id)
                .with_hint("a pack takes wrkr.job, wrkr.event, wrkr.checkpoint, wrkr.approval_record, wrkr.artifacts_manifest and wrkr.accept_result records"));
        }
        schema.check(record, kind)?;
        let created = str_field(record, "created_at");
        let at = Timestamp::parse(created).ok_or_else(|| {
            Error::invalid_input(format!("{kind}: created_at {created:?} is not an RFC 3339 time"))
                .with("pointer", "/created_at")
        })?;
        let job_id = str_field(record, "job_id");
        self.check_job_id(kind, job_id)?;
        let bytes = jcs::value_to_vec(record);
        let once = |slot: &mut Option<Vec<u8>>, bytes: Vec<u8>| {
            if slot.is_some() {
                return Err(Error::invalid_input(format!("two {} records in one stream", schema.id))
                    .with("schema_id", schema.id));
            }
            *slot = Some(bytes);
            Ok(())
        };
        match schema.id {
            "wrkr.job" => once(&mut self.job, bytes)?,
            "wrkr.artifacts_manifest" => once(&mut self.artifacts, bytes)?,
            "wrkr.accept_result" => once(&mut self.accept, bytes)?,
            "wrkr.event" => {
                let id = str_field(record, "event_id");
                let seq = seq_of(id, "evt_").ok_or_else(|| {
                    Error::invalid_input(format!("event_id {id:?} is not evt_<seq>")).with("pointer", "/event_id")
                })?;
                self.push_event(seq, &bytes)?;
            }
            "wrkr.checkpoint" => {
                let id = str_field(record, "checkpoint_id");
                let seq = seq_of(id, "cp_").ok_or_else(|| {
                    Error::invalid_input(format!("checkpoint_id {id:?} is not cp_<seq>"))
                        .with("pointer", "/checkpoint_id")
                })?;
                if self.checkpoints.repeats_last(seq) {
                    return Err(Error::invalid_input(format!("duplicate checkpoint id {id}")).with("id", id));
                }
                self.checkpoints.push(seq, &bytes)?;
            }
            _ => self.approvals.push((at, str_field(record, "checkpoint_id").to_owned(), bytes)),
        }
        self.job_id.get_or_insert_with(|| job_id.to_owned());
        self.latest = Some(self.latest.map_or(at, |l| l.max(at)));
        Ok(())
    }

    /// Add the `wrkr.event` record of a ledger event ([`EventView`]) of job `job_id`, as
    /// [`Packer::add_record`] would add `event.to_value(job_id)`, with the same bytes and the same
    /// errors, but without building that `Value` or running the schema validator over it: the
    /// record is written straight into `line` (scratch, reused between calls) in canonical form.
    /// Skipping the validator is sound because the view's record is valid by construction (fixed
    /// `schema_id`, `schema_version`, `producer_version` and `event_id`, a boolean `executed`, an
    /// object `payload`) once `type` and `job_id` are non-empty and `created_at` is an RFC 3339
    /// time, which is checked here; anything else takes the `Value` path and its error.
    pub fn add_event(&mut self, event: &EventView<'_>, job_id: &str, line: &mut Vec<u8>) -> Result<()> {
        let at = Timestamp::parse(event.created_at);
        let Some(at) = at.filter(|_| !event.event_type.is_empty() && !job_id.is_empty()) else {
            return self.add_record(&event.to_value(job_id));
        };
        self.check_job_id("event", job_id)?;
        line.clear();
        event.write_canonical(job_id, line);
        self.push_event(event.seq, line)?;
        self.job_id.get_or_insert_with(|| job_id.to_owned());
        self.latest = Some(self.latest.map_or(at, |l| l.max(at)));
        Ok(())
    }

    /// [`Packer::add_event`] for an event still as its scanned ledger line ([`LineEvent`]): the
    /// same bytes and errors, the payload copied from the line where it is already canonical.
    pub fn add_line_event(
        &mut self,
        event: &LineEvent<'_>,
        job_id: &str,
        line: &mut Vec<u8>,
        scratch: &mut Scratch,
    ) -> Result<()> {
        let at = Timestamp::parse(event.created_at);
        let Some(at) = at.filter(|_| !event.event_type.is_empty() && !job_id.is_empty()) else {
            return self.add_record(&event.to_value(job_id)?);
        };
        self.check_job_id("event", job_id)?;
        line.clear();
        event.write_canonical(job_id, line, scratch);
        self.push_event(event.seq, line)?;
        self.job_id.get_or_insert_with(|| job_id.to_owned());
        self.latest = Some(self.latest.map_or(at, |l| l.max(at)));
        Ok(())
    }

    /// [`Packer::add_line_event`] for a spec line too big to index ([`BigEvent`]): the same bytes
    /// and errors, the payload written from the line one object at a time.
    pub fn add_big_event(&mut self, event: &BigEvent<'_>, job_id: &str, line: &mut Vec<u8>) -> Result<()> {
        let at = Timestamp::parse(&event.created_at);
        let Some(at) = at.filter(|_| !event.event_type.is_empty() && !job_id.is_empty()) else {
            return self.add_record(&event.to_value(job_id)?);
        };
        self.check_job_id("event", job_id)?;
        line.clear();
        event.write_canonical(job_id, line)?;
        self.push_event(event.seq, line)?;
        self.job_id.get_or_insert_with(|| job_id.to_owned());
        self.latest = Some(self.latest.map_or(at, |l| l.max(at)));
        Ok(())
    }

    /// Add the `wrkr.checkpoint` record of a `checkpoint_emitted` ledger line ([`LineCheckpoint`])
    /// of job `job_id`, as [`Packer::add_record`] would add `checkpoint.to_value(job_id)`: the same
    /// bytes and errors. The record is written into `line` from the scan, then scanned and checked
    /// against its schema where it stands (the same validator, no allocation per record). The
    /// check stays: the record's strings, arrays and `required_action` come from the ledger, and a
    /// ledger may hold what makes an invalid record (an unknown `type`, an empty summary). A record
    /// the scan is unsure of (a `\u` escape) or that is not plainly valid is built as a `Value` and
    /// added by `add_record`, which words its error.
    pub fn add_line_checkpoint(
        &mut self,
        checkpoint: &LineCheckpoint<'_>,
        job_id: &str,
        line: &mut Vec<u8>,
        scratch: &mut Scratch,
    ) -> Result<()> {
        let at = Timestamp::parse(checkpoint.created_at);
        let Some(at) = at.filter(|_| !job_id.is_empty()) else {
            return self.add_record(&checkpoint.to_value(job_id)?);
        };
        line.clear();
        checkpoint.write_canonical(job_id, line, scratch);
        let schema = schema::find("wrkr.checkpoint");
        let valid = self.scan.parse(line).is_ok()
            && self.scan.root(line).zip(schema).is_some_and(|(root, schema)| schema.validator().is_valid(root));
        if !valid {
            return self.add_record(&checkpoint.to_value(job_id)?);
        }
        self.check_job_id("checkpoint", job_id)?;
        let seq = checkpoint.seq;
        if self.checkpoints.repeats_last(seq) {
            let id = format!("cp_{seq}");
            return Err(Error::invalid_input(format!("duplicate checkpoint id {id}")).with("id", id));
        }
        self.checkpoints.push(seq, line)?;
        self.job_id.get_or_insert_with(|| job_id.to_owned());
        self.latest = Some(self.latest.map_or(at, |l| l.max(at)));
        Ok(())
    }

    fn push_event(&mut self, seq: u64, bytes: &[u8]) -> Result<()> {
        if self.events.repeats_last(seq) {
            let id = format!("evt_{seq}");
            return Err(Error::invalid_input(format!("duplicate event id {id}")).with("id", id));
        }
        self.events.push(seq, bytes)
    }

    /// Read a whole JSONL record stream (blank lines skipped); errors name the line.
    pub fn add_stream<R: BufRead>(&mut self, input: R, max_line_bytes: u64) -> Result<u64> {
        let mut lines = JsonlReader::new(input, max_line_bytes);
        let mut count = 0;
        while let Some(next) = lines.next_line() {
            let (line_no, line) = next.map_err(|e| e.into_error(max_line_bytes))?;
            if is_blank(line) {
                continue;
            }
            let value = json::parse(line).map_err(|e| {
                Error::invalid_input(format!("line {line_no}: {}", json::line_error(&e))).with("line", line_no)
            })?;
            self.add_record(&value).map_err(|e| e.context(format!("line {line_no}")).with("line", line_no))?;
            count += 1;
        }
        Ok(count)
    }

    /// Declare a raw artifact entry (`artifacts/<path>`), streamed from `content`.
    pub fn add_file(&mut self, name: &str, content: &mut dyn Read) -> Result<()> {
        if !self.raw_allowed {
            return Err(raw::refused(&format!("entry {name:?}")));
        }
        if !name.starts_with(raw::PREFIX) {
            return Err(Error::invalid_input(format!("extra entry {name:?} is not under {}", raw::PREFIX)));
        }
        if let Some(problem) = name_problem(name) {
            return Err(Error::invalid_input(format!("entry name {name:?}: {problem}")));
        }
        let reserved = [ACCEPT_RESULT, APPROVALS, ARTIFACTS_MANIFEST, CHECKPOINTS, EVENTS, JOB, MANIFEST];
        if reserved.contains(&name) || self.extra.iter().any(|f| f.name == name) {
            return Err(Error::invalid_input(format!("entry {name:?} is already in the pack")));
        }
        let mut file = tempfile::tempfile().map_err(|e| Error::io("create pack spill file", e))?;
        let mut hasher = Hasher::new();
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = content.read(&mut buf).map_err(|e| Error::io(format!("read {name}"), e))?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
            file.write_all(&buf[..n]).map_err(spill_error)?;
        }
        file.seek(SeekFrom::Start(0)).map_err(spill_error)?;
        self.extra.push(ExtraFile { name: name.to_owned(), file, sha256: hasher.finish().0 });
        Ok(())
    }

    /// Write the pack to `out` (entries in name order) and say what was written.
    pub fn finish<W: Write>(mut self, out: W) -> Result<PackSummary> {
        let missing = |what: &str| {
            Error::invalid_input(format!("the record stream has no {what} record"))
                .with("schema_id", what)
                .with_hint("wrkr-events --records JOB emits a complete stream")
        };
        let job = self.job.take().ok_or_else(|| missing("wrkr.job"))?;
        let artifacts = self.artifacts.take().ok_or_else(|| missing("wrkr.artifacts_manifest"))?;
        let job_id = self.job_id.clone().unwrap_or_default();
        let created_at = self.latest.unwrap_or_else(|| Timestamp::from_unix(0, 0));
        let events_sha = self.events.seal("event", "evt_")?;
        let checkpoints_sha = self.checkpoints.seal("checkpoint", "cp_")?;
        let raw: Vec<(&str, &str)> = self.extra.iter().map(|f| (f.name.as_str(), f.sha256.as_str())).collect();
        raw::check_manifest(&artifacts, &raw)?;
        self.approvals.sort();
        let approvals: Vec<u8> = self.approvals.iter().flat_map(|(_, _, b)| b.iter().copied().chain([b'\n'])).collect();

        enum Source<'a> {
            Bytes(&'a [u8]),
            Spill(&'a Spill),
            File(&'a File),
        }
        let mut entries: Vec<(&str, Source, String)> = vec![
            (ARTIFACTS_MANIFEST, Source::Bytes(&artifacts), sha(&artifacts)),
            (CHECKPOINTS, Source::Spill(&self.checkpoints), checkpoints_sha),
            (EVENTS, Source::Spill(&self.events), events_sha),
            (JOB, Source::Bytes(&job), sha(&job)),
        ];
        if let Some(accept) = &self.accept {
            entries.push((ACCEPT_RESULT, Source::Bytes(accept), sha(accept)));
        }
        if !self.approvals.is_empty() {
            entries.push((APPROVALS, Source::Bytes(&approvals), sha(&approvals)));
        }
        for f in &self.extra {
            entries.push((&f.name, Source::File(&f.file), f.sha256.clone()));
        }
        let files = entries.iter().map(|(n, _, h)| FileDigest { path: (*n).to_owned(), sha256: h.clone() }).collect();
        let manifest = Manifest::seal(&job_id, created_at, files);
        let manifest_bytes = manifest.to_jcs();
        entries.push((MANIFEST, Source::Bytes(&manifest_bytes), String::new()));
        entries.sort_by(|a, b| a.0.cmp(b.0));

        let write = |e: io::Error| Error::io("write pack", e);
        let mut zip = ZipWriter::new(out);
        for (name, source, _) in &entries {
            match source {
                Source::Bytes(b) => zip.entry(name, b).map_err(write)?,
                Source::Spill(s) => s.write_to(&mut zip, name)?,
                Source::File(f) => {
                    zip.start(name).map_err(write)?;
                    let mut buf = vec![0u8; 64 * 1024];
                    let mut pos = 0;
                    loop {
                        let n = f.read_at(&mut buf, pos).map_err(spill_error)?;
                        if n == 0 {
                            break;
                        }
                        zip.data(&buf[..n]).map_err(write)?;
                        pos += n as u64;
                    }
                    zip.finish_entry().map_err(write)?;
                }
            }
        }
        let (_, bytes) = zip.finish().map_err(write)?;
        Ok(PackSummary {
            job_id,
            manifest_sha256: manifest.manifest_sha256.clone(),
            created_at,
            files: manifest.files,
            bytes,
        })
    }
}

fn sha(bytes: &[u8]) -> String {
    crate::digest::sha256_hex(bytes)
}

#[cfg(test)]
mod tests;
