//! wrkr export: write a job's jobpack to `<out>/jobpacks/jobpack_<id>.zip` (digest 2.9).
//!
//! A thin shell over [`crate::pack::export::export_job`], which is the in-process form of
//! `wrkr-events --records JOB | wrkr-pack` (same bytes). Text output is Go's three lines
//! `job_id=`, `jobpack=`, `footer=` (plus `signature=` when signed); artifacts missing from the
//! workspace are named on stderr. `--json` prints `{job_id, path, manifest_sha256, footer,
//! missing_artifacts}` (plus `signature` when signed), pretty.

use std::path::{Path, PathBuf};

use serde_json::json;

use crate::cli::args::Args;
use crate::cli::io::{Io, diag};
use crate::cli::spec::{Command, Example, Flag, Kind};
use crate::contract::{Error, Result};
use crate::pack::export::{ExportOptions, Exported, export_job};
use crate::store::JobId;
use crate::tools::pack::{self, CAPTURE, UNSAFE_CAPTURE_RAW};

pub const OUT_DIR: Flag = Flag {
    long: "out-dir",
    short: None,
    value: Some("DIR"),
    help: "Write the pack to DIR/jobpacks/jobpack_<id>.zip [default: ./wrkr-out]",
    long_help: "",
};
pub const SIGN: Flag = Flag {
    long: "sign",
    short: None,
    value: Some("KEY"),
    help: "Also write the detached ed25519 signature jobpack_<id>.zip.sig with the private key in KEY",
    long_help: "KEY is a private key file written by `wrkr keygen`. The pack itself is unchanged.",
};

pub const COMMAND: Command = Command {
    name: "export",
    kind: Kind::Command,
    about: "Write a job's jobpack and print its ticket footer",
    usage: "[OPTIONS] JOB",
    long_about: "Builds the pack from the store exactly as `wrkr-events --records JOB | wrkr-pack` does (same \
                 bytes), writes it atomically to DIR/jobpacks/jobpack_<id>.zip and prints `job_id=`, \
                 `jobpack=` and `footer=` lines. Every timestamp in the pack comes from the ledger, so \
                 exporting an unchanged job again gives the same bytes and the same footer.\n\n\
                 Artifacts are listed with the sha256 of their content in the job's workspace; one that no \
                 longer exists is listed with its reference hash and named on stderr (and in \
                 missing_artifacts with --json). A job that does not exist is exit 6.",
    flags: &[&OUT_DIR, &SIGN, &CAPTURE, &UNSAFE_CAPTURE_RAW],
    examples: &[
        Example { command: "wrkr export job_x", what: "Write ./wrkr-out/jobpacks/jobpack_job_x.zip." },
        Example {
            command: "wrkr export job_x --out-dir /tmp/out --sign wrkr_ed25519.key",
            what: "Write the pack and its signature under /tmp/out.",
        },
    ],
    run,
};

/// The default out dir of every jobpack command.
pub const DEFAULT_OUT_DIR: &str = "wrkr-out";

fn run(args: Args, io: &mut Io) -> Result<()> {
    let [job] = args.positional_strings()?.try_into().map_err(|given: Vec<String>| {
        Error::invalid_input(format!("expected exactly one JOB, got {}", given.len()))
            .with_hint("wrkr export --help shows the usage")
    })?;
    let job = JobId::parse(&job)?;
    let opts = ExportOptions { capture: pack::capture(&args)?, sign: args.value(SIGN.long).map(PathBuf::from) };
    let out_dir = Path::new(args.value(OUT_DIR.long).unwrap_or(DEFAULT_OUT_DIR));
    let exported = export_job(&args.store()?, &job, out_dir, &opts)?;
    print(io, &exported)
}

/// Text: `job_id=`, `jobpack=`, `footer=` (and `signature=`), missing artifacts on stderr; JSON
/// with `--json`.
pub fn print(io: &mut Io, e: &Exported) -> Result<()> {
    if io.json {
        let mut out = json!({
            "job_id": e.job_id,
            "path": e.path.display().to_string(),
            "manifest_sha256": e.manifest_sha256,
            "footer": e.footer,
            "missing_artifacts": e.missing,
        });
        if let Some(sig) = &e.signature {
            out["signature"] = json!(sig.display().to_string());
        }
        return io.pretty(&out);
    }
    for path in &e.missing {
        diag(&format!("wrkr export: artifact {path} not found in the workspace; listed with its reference hash"));
    }
    io.line(&format!("job_id={}", e.job_id))?;
    io.line(&format!("jobpack={}", e.path.display()))?;
    if let Some(sig) = &e.signature {
        io.line(&format!("signature={}", sig.display()))?;
    }
    io.line(&format!("footer={}", e.footer))
}
