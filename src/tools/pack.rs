//! wrkr-pack: a record stream in, a deterministic jobpack zip out.
//!
//! Reads JSONL records (from FILE or stdin) and writes the pack to stdout, refusing a terminal, or
//! atomically to `-o FILE` (temp file in the same directory, fsync, rename, directory fsync). With
//! `--sign KEY` the detached `FILE.sig` is written as well (so `--sign` needs `-o`). When the pack
//! goes to a file, stdout carries one JSONL line describing it. The same records in any order give
//! the same bytes; see `pack::build` for what is checked.

use std::path::Path;

use serde_json::json;

use crate::cli::args::Args;
use crate::cli::io::{Io, open_input};
use crate::cli::spec::{Command, Example, Flag, Kind};
use crate::contract::{Error, Result};
use crate::job::projection::Capture;
use crate::jsonl::DEFAULT_MAX_LINE_BYTES;
use crate::pack::build::Packer;
use crate::pack::{footer, raw, signature, source};
use crate::tools::jcs::MAX_LINE_BYTES;

pub const OUTPUT: Flag = Flag {
    long: "output",
    short: Some('o'),
    value: Some("FILE"),
    help: "Write the pack to FILE atomically (mode 0600) instead of stdout (`-`: stdout)",
    long_help: "",
};
pub const SIGN: Flag = Flag {
    long: "sign",
    short: None,
    value: Some("KEY"),
    help: "Also write a detached ed25519 signature FILE.sig with the private key in KEY (needs -o)",
    long_help: "KEY is a private key file written by `wrkr keygen`. The pack itself is unchanged.",
};

pub const UNSAFE_CAPTURE_RAW: Flag = Flag {
    long: "unsafe-capture-raw",
    short: None,
    value: None,
    help: "Put the artifact files themselves into the pack, under artifacts/ (capture_mode raw)",
    long_help: "Whatever the files hold (secrets included) is then in a file meant to be shared. Without \
                this flag, raw capture is refused with exit 8 E_UNSAFE_OPERATION.",
};
pub const CAPTURE: Flag = Flag {
    long: "capture",
    short: None,
    value: Some("MODE"),
    help: "Artifact capture: reference-only (hashes only) or raw (needs --unsafe-capture-raw) [default: reference-only]",
    long_help: "",
};

/// The capture mode asked for: `--capture MODE` and `--unsafe-capture-raw`. Raw without the
/// unsafe flag is exit 8.
pub fn capture(args: &Args) -> Result<Capture> {
    let unsafe_raw = args.switch(UNSAFE_CAPTURE_RAW.long);
    match args.value(CAPTURE.long) {
        None if unsafe_raw => Ok(Capture::Raw),
        None | Some("reference-only") => Ok(Capture::ReferenceOnly),
        Some("raw") if unsafe_raw => Ok(Capture::Raw),
        Some("raw") => Err(raw::refused("--capture raw")),
        Some(other) => Err(Error::invalid_input(format!("--capture: unknown mode {other:?}"))
            .with("flag", "capture")
            .with_hint("--capture reference-only, or --capture raw with --unsafe-capture-raw")),
    }
}

pub const TOOL: Command = Command {
    name: "pack",
    kind: Kind::Tool,
    about: "Build a deterministic jobpack zip from a record stream",
    usage: "[OPTIONS] [FILE]",
    long_about: "Reads the job's pack records as JSONL (from FILE, or stdin when FILE is absent or `-`): \
                 one wrkr.job, the wrkr.event, wrkr.checkpoint and wrkr.approval_record records, one \
                 wrkr.artifacts_manifest and at most one wrkr.accept_result. Each is checked against its v1 \
                 schema and must name the same job_id (exit 6 otherwise).\n\n\
                 The zip has the entries, names, order and bytes of a Go-made pack: JCS documents, JSONL \
                 with `\\n`, stored entries dated 1980-01-01, no directory entries, and a manifest.json whose \
                 created_at is the latest created_at among the records, so the same records (in any order) \
                 always give the same bytes. Memory stays bounded: JSONL entries are spilled to temp files.\n\n\
                 wrkr.raw_artifact records (from `wrkr-events --records --unsafe-capture-raw`) carry artifact \
                 files; they become entries under artifacts/ only with --unsafe-capture-raw (exit 8 otherwise). \
                 A large artifact needs a larger --max-line-bytes.",
    flags: &[&OUTPUT, &SIGN, &UNSAFE_CAPTURE_RAW, &MAX_LINE_BYTES],
    examples: &[
        Example { command: "wrkr-events --records job_x | wrkr-pack > jobpack_job_x.zip", what: "Pack a job." },
        Example {
            command: "wrkr-pack -o jobpack_job_x.zip --sign wrkr_ed25519.key records.jsonl",
            what: "Write the pack and its signature; print {job_id, path, manifest_sha256, footer, signature}.",
        },
    ],
    run,
};

fn run(args: Args, io: &mut Io) -> Result<()> {
    let inputs = args.positional_strings()?;
    if inputs.len() > 1 {
        return Err(Error::invalid_input("wrkr-pack takes at most one input FILE"));
    }
    let input = inputs.first().map_or("-", String::as_str);
    let max_line = args.u64_or(&MAX_LINE_BYTES, DEFAULT_MAX_LINE_BYTES)?;
    // `-o -` is stdout, as no -o is.
    let output = args.value(OUTPUT.long).filter(|o| *o != "-");
    if args.value(SIGN.long).is_some() && output.is_none() {
        return Err(Error::invalid_input("--sign needs -o FILE (the signature is written to FILE.sig)"));
    }
    let key = match args.value(SIGN.long) {
        Some(path) => Some(signature::load_signing_key(Path::new(path))?),
        None => None,
    };
    let mut packer = Packer::new()?;
    if args.switch(UNSAFE_CAPTURE_RAW.long) {
        packer.allow_raw_artifacts();
    }
    packer.add_stream(open_input(input)?, max_line)?;
    let Some(out) = output else {
        io.refuse_binary_to_terminal("a jobpack zip")?;
        packer.finish(QuietPipe(io.stdout()))?;
        return io.flush();
    };
    let path = Path::new(out);
    let summary = source::write_atomic(path, |w| packer.finish(w))?;
    let mut line = json!({
        "job_id": summary.job_id,
        "path": out,
        "manifest_sha256": summary.manifest_sha256,
        "footer": footer::format(&summary.job_id, &summary.manifest_sha256),
    });
    if let Some(key) = key {
        let sig_path = signature::sig_path(path);
        let doc = signature::sign(&key, &summary.job_id, &summary.manifest_sha256);
        source::write_atomic(&sig_path, |w| {
            std::io::Write::write_all(w, &doc.to_bytes()).map_err(|e| Error::io("write signature", e))
        })?;
        line["signature"] = json!(sig_path.display().to_string());
    }
    io.record(&line)
}

/// stdout for binary data: a closed pipe (`wrkr-pack | head -c 10`) ends the process with 0.
struct QuietPipe<W>(W);

impl<W: std::io::Write> std::io::Write for QuietPipe<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let result = self.0.write(buf);
        quiet(result)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        let result = self.0.flush();
        quiet(result)
    }
}

fn quiet<T>(result: std::io::Result<T>) -> std::io::Result<T> {
    match result {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(0),
        other => other,
    }
}
