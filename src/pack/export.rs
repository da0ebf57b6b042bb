//! Export: a job in the store to `<out>/jobpacks/jobpack_<id>.zip`, the library behind
//! `wrkr export`, `wrkr receipt JOB`, `wrkr demo` and the acceptance harness.
//!
//! One path only: the job's record stream ([`records::stream`]) goes into a [`Packer`], exactly
//! what `wrkr-events --records J | wrkr-pack` does across a pipe, so the two give the same bytes
//! (a test holds them to it). The pack is written atomically (temp file, fsync, rename, directory
//! fsync, mode 0600); a failed export leaves the previous pack, if any, in place. The clock is
//! never read, so exporting an unchanged job twice gives identical bytes.
//!
//! The job is looked up before anything is created: a missing job (exit 6, the store's "job not
//! found") leaves no `jobpacks/` directory behind. Go exits 1 here; wrkr uses the store's code so
//! that every per-job command fails the same way (docs/contracts/jobpack.md §10).
//!
//! [`receipt`] reuses the existing pack when it is up to date — it verifies, it is for this job,
//! its last event is the ledger's last event (same seq and `created_at`), and its accept result is
//! the store's — so the footer stays stable while the job does not change. Otherwise it exports.

use std::io::{BufReader, Write};
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::contract::{Error, Result};
use crate::digest;
use crate::jcs;
use crate::job::projection::Capture;
use crate::json::scan::Scratch;
use crate::jsonl::{DEFAULT_MAX_LINE_BYTES, JsonlReader, is_blank};
use crate::pack::build::{PackSummary, Packer};
use crate::pack::manifest::FileDigest;
use crate::pack::records::{self, Record, Streamed};
use crate::pack::zipread::{DEFAULT_MAX_ENTRY_BYTES, ZipReader};
use crate::pack::{ACCEPT_RESULT, ARTIFACTS_MANIFEST, EVENTS, file_name, footer, raw, signature, source, verify};
use crate::store::{JobId, Store};

/// How to export.
#[derive(Clone, Debug, Default)]
pub struct ExportOptions {
    /// `Capture::Raw` puts the artifact files into the pack (the caller has the user's opt-in).
    pub capture: Capture,
    /// A private key file (`wrkr keygen`): also write the detached `<pack>.sig`.
    pub sign: Option<PathBuf>,
}

/// What an export (or a reused pack) is.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Exported {
    pub job_id: String,
    /// Absolute path of the pack.
    pub path: PathBuf,
    pub manifest_sha256: String,
    pub footer: String,
    /// Artifact paths not found in the workspace (hashed by reference).
    pub missing: Vec<String>,
    /// The detached signature written next to the pack, if any.
    pub signature: Option<PathBuf>,
    /// `true` when [`receipt`] found the pack up to date and did not rewrite it.
    pub reused: bool,
    /// The entries this export wrote and the sha256 it computed of each as it wrote it (the
    /// manifest's `files`); empty for a reused pack. `wrkr accept run JOB` checks what it reads
    /// of the pack against these instead of verifying it again.
    #[serde(skip)]
    pub files: Vec<FileDigest>,
}

/// How `receipt`, `job inspect` and `verify` read an argument: an existing file (or `-`, or a name
/// ending in `.zip`) is a pack; anything else that is a valid job id is a job.
pub fn job_argument(arg: &str) -> Option<JobId> {
    if arg == "-" || arg.ends_with(".zip") || Path::new(arg).is_file() {
        return None;
    }
    JobId::parse(arg).ok()
}

/// `<out_dir>/jobpacks/jobpack_<id>.zip`.
pub fn pack_path(out_dir: &Path, job: &JobId) -> PathBuf {
    out_dir.join("jobpacks").join(file_name(job.as_str()))
}

/// Stream `job`'s records into a pack written to `out`: the whole pipeline, without the file.
pub fn pack_job<W: Write>(store: &dyn Store, job: &JobId, capture: Capture, out: W) -> Result<(PackSummary, Streamed)> {
    let mut packer = Packer::new()?;
    if capture == Capture::Raw {
        packer.allow_raw_artifacts();
    }
    let mut line = Vec::with_capacity(1024);
    let mut scratch = Scratch::default();
    let streamed = records::stream(store, job, capture, &mut |record| match record {
        Record::Value(value) => packer.add_record(value),
        Record::Event { event, job_id } => packer.add_event(event, job_id, &mut line),
        Record::Line { event, job_id } => packer.add_line_event(event, job_id, &mut line, &mut scratch),
        Record::Big { event, job_id } => packer.add_big_event(event, job_id, &mut line),
        Record::LineCheckpoint { checkpoint, job_id } => {
            packer.add_line_checkpoint(checkpoint, job_id, &mut line, &mut scratch)
        }
        Record::Raw(file) => {
            let mut reader = BufReader::with_capacity(256 * 1024, records::open_artifact(file)?);
            packer.add_file(&raw::entry_name(&file.path), &mut reader)
        }
    })?;
    Ok((packer.finish(out)?, streamed))
}

/// Export `job` to `<out_dir>/jobpacks/jobpack_<id>.zip` (atomically), signing it if asked.
pub fn export_job(store: &dyn Store, job: &JobId, out_dir: &Path, opts: &ExportOptions) -> Result<Exported> {
    let key = match &opts.sign {
        Some(path) => Some(signature::load_signing_key(path)?),
        None => None,
    };
    store.state(job)?;
    let out_dir = std::path::absolute(out_dir).map_err(|e| Error::io(format!("resolve {}", out_dir.display()), e))?;
    let path = pack_path(&out_dir, job);
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)
            .map_err(|e| Error::io(format!("create {}", dir.display()), e).with("path", dir.display().to_string()))?;
    }
    let (summary, streamed) = source::write_atomic(&path, |w| pack_job(store, job, opts.capture, w))?;
    let signature = match key {
        Some(key) => {
            let sig_path = signature::sig_path(&path);
            let doc = signature::sign(&key, &summary.job_id, &summary.manifest_sha256);
            source::write_atomic(&sig_path, |w| {
                w.write_all(&doc.to_bytes()).map_err(|e| Error::io("write signature", e))
            })?;
            Some(sig_path)
        }
        None => None,
    };
    Ok(Exported {
        footer: footer::for_pack(&summary.job_id, &summary.manifest_sha256, &path),
        job_id: summary.job_id,
        path,
        manifest_sha256: summary.manifest_sha256,
        missing: streamed.missing,
        signature,
        reused: false,
        files: summary.files,
    })
}

/// The pack for a receipt: the existing one when it is up to date, else a fresh export.
/// An existing pack that fails verification is an error (its evidence is not overwritten).
pub fn receipt(store: &dyn Store, job: &JobId, out_dir: &Path, opts: &ExportOptions) -> Result<Exported> {
    let out_abs = std::path::absolute(out_dir).map_err(|e| Error::io(format!("resolve {}", out_dir.display()), e))?;
    let path = pack_path(&out_abs, job);
    if path.is_file() {
        let report =
            verify::verify(source::open(&path.to_string_lossy())?, &verify::Options::default()).map_err(|e| {
                e.with_hint(format!("the existing pack does not verify; wrkr export {job} rewrites it from the store"))
            })?;
        if report.job_id == job.as_str()
            && let Some(missing) = up_to_date(store, job, &path)?
        {
            return Ok(Exported {
                footer: footer::for_pack(&report.job_id, &report.manifest_sha256, &path),
                job_id: report.job_id,
                path,
                manifest_sha256: report.manifest_sha256,
                missing,
                signature: None,
                reused: true,
                files: Vec::new(),
            });
        }
    }
    export_job(store, job, out_dir, opts)
}

/// `Some(missing artifacts)` when the pack at `path` holds the ledger's last event and the
/// store's accept result; `None` when it is stale.
fn up_to_date(store: &dyn Store, job: &JobId, path: &Path) -> Result<Option<Vec<String>>> {
    let file = source::open(&path.to_string_lossy())?;
    let zip = ZipReader::open(file, DEFAULT_MAX_ENTRY_BYTES)?;
    let Some((seq, created_at)) = last_event(&zip)? else { return Ok(None) };
    let mut tail = Vec::new();
    store.read_events(job, seq, &mut |record, _| {
        tail.push((record.seq, record.created_at.clone()));
        Ok(())
    })?;
    if tail != [(seq, created_at)] {
        return Ok(None);
    }
    let stored_accept = records::accept_result(store, job)?.map(|v| jcs::to_vec(&v));
    let packed_accept = match zip.find(ACCEPT_RESULT) {
        Some(entry) => Some(zip.read_to_vec(entry, DEFAULT_MAX_LINE_BYTES).map_err(|e| Error::io(ACCEPT_RESULT, e))?),
        None => None,
    };
    if stored_accept != packed_accept {
        return Ok(None);
    }
    Ok(Some(missing_in(&zip)?))
}

/// Seq and `created_at` of the last line of `events.jsonl`.
fn last_event(zip: &ZipReader) -> Result<Option<(u64, String)>> {
    let Some(entry) = zip.find(EVENTS) else { return Ok(None) };
    let mut lines = JsonlReader::new(BufReader::with_capacity(256 * 1024, zip.reader(entry)), DEFAULT_MAX_LINE_BYTES);
    let mut last = None;
    while let Some(next) = lines.next_line() {
        let (_, line) = next.map_err(|e| e.into_error(DEFAULT_MAX_LINE_BYTES).context(EVENTS))?;
        if !is_blank(line) {
            last = Some(line.to_vec());
        }
    }
    let Some(line) = last else { return Ok(None) };
    let value = crate::json::parse(&line).map_err(|e| Error::invalid_input(format!("{EVENTS}: {e}")))?;
    let text = |k: &str| value.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
    let seq = text("event_id").strip_prefix("evt_").and_then(|s| s.parse::<u64>().ok());
    Ok(seq.map(|seq| (seq, text("created_at"))))
}

/// The artifacts of a pack hashed by reference (`sha256("reference:" + path)`): the ones that were
/// missing when it was exported.
fn missing_in(zip: &ZipReader) -> Result<Vec<String>> {
    let Some(entry) = zip.find(ARTIFACTS_MANIFEST) else { return Ok(Vec::new()) };
    let bytes = zip.read_to_vec(entry, DEFAULT_MAX_LINE_BYTES).map_err(|e| Error::io(ARTIFACTS_MANIFEST, e))?;
    let doc = crate::json::parse(&bytes).map_err(|e| Error::invalid_input(format!("{ARTIFACTS_MANIFEST}: {e}")))?;
    let artifacts = doc.get("artifacts").and_then(Value::as_array).cloned().unwrap_or_default();
    Ok(artifacts
        .iter()
        .filter_map(|a| {
            let path = a.get("path")?.as_str()?;
            let by_reference = digest::sha256_hex(format!("reference:{path}").as_bytes());
            (a.get("sha256")?.as_str()? == by_reference).then(|| path.to_owned())
        })
        .collect())
}
