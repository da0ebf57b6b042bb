//! The jobpack: wrkr's unit of review, a deterministic zip of a job's evidence that anyone can
//! verify offline, wire-compatible both ways with packs made by the Go implementation.
//!
//! The pieces, each usable alone so that `wrkr export` (store → records → pack), `wrkr receipt` and
//! `wrkr demo` are thin compositions:
//!
//! - [`build::Packer`]: records in, pack bytes out (reproducible, bounded memory);
//! - [`zipwrite::ZipWriter`] and [`zipread::ZipReader`]: Go's exact zip layout out, a suspicious
//!   reader in;
//! - [`manifest::Manifest`]: the declared files and the self-hash;
//! - [`verify::verify`]: the checks of digest 2.8 in Go's order plus stricter safety checks;
//! - [`signature`]: detached ed25519 signatures next to the pack (the pack itself never changes);
//! - [`footer`]: the one-line ticket footer;
//! - [`inspect`]: the timeline and the record-level diff of two packs.
//!
//! The normative description is `docs/contracts/jobpack.md`.

pub mod build;
pub mod crc32;
pub mod export;
pub mod footer;
pub mod inflate;
pub mod inspect;
pub mod manifest;
pub mod raw;
pub mod records;
pub mod signature;
pub mod source;
pub mod verify;
pub mod zipread;
pub mod zipwrite;

/// Entry names (digest 2.2), in the byte order they appear in a pack.
pub const ACCEPT_RESULT: &str = "accept/accept_result.json";
pub const APPROVALS: &str = "approvals.jsonl";
pub const ARTIFACTS_MANIFEST: &str = "artifacts_manifest.json";
pub const CHECKPOINTS: &str = "checkpoints.jsonl";
pub const EVENTS: &str = "events.jsonl";
pub const JOB: &str = "job.json";
pub const MANIFEST: &str = "manifest.json";

/// `jobpack_<id>.zip`.
pub fn file_name(job_id: &str) -> String {
    format!("jobpack_{job_id}.zip")
}
