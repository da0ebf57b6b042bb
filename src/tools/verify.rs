//! wrkr-verify (also `wrkr verify`): check a jobpack's integrity, schemas and signature.
//!
//! The target is a pack file, `-` for stdin (spilled to a temp file, memory stays flat), or a job id,
//! which names `<out-dir>/jobpacks/jobpack_<id>.zip` (default out-dir `./wrkr-out`; nothing is
//! exported). Checks run in the order of docs/contracts/jobpack.md, so a pack gets the verdict Go
//! gives it, plus safety checks no honest pack trips. As a pipe tool the result is one JSONL line;
//! as `wrkr verify` it is `verified job_id=<id> manifest=sha256:<h> files=<n>`, or Go's JSON shape
//! (pretty) with `--json`. Either way the JSON carries `checks`, the list of checks that passed.
//!
//! Signatures: with `--pubkey KEY` a valid detached `<pack>.sig` (or `--sig FILE`) is required;
//! without it an existing `.sig` is checked for form only.

use std::path::{Path, PathBuf};

use crate::cli::args::Args;
use crate::cli::io::{Io, diag};
use crate::cli::spec::{Command, Example, Flag, Kind};
use crate::contract::{Error, Result};
use crate::pack::verify::{self, Check, Options};
use crate::pack::zipread::DEFAULT_MAX_ENTRY_BYTES;
use crate::pack::{file_name, signature, source};

pub const PUBKEY: Flag = Flag {
    long: "pubkey",
    short: None,
    value: Some("KEY"),
    help: "Require a valid detached signature by this public key (a wrkr keygen .pub or .key file)",
    long_help: "A missing, malformed or wrong signature is exit 2 E_VERIFY_HASH_MISMATCH with its own message. \
                `-` reads the key from stdin (not together with a pack or --sig read from stdin).",
};
pub const SIG: Flag = Flag {
    long: "sig",
    short: None,
    value: Some("FILE"),
    help: "The detached signature file [default: the pack's path + .sig]",
    long_help: "`-` reads it from stdin (not together with a pack or --pubkey read from stdin).",
};
pub const ALL: Flag = Flag {
    long: "all",
    short: None,
    value: None,
    help: "Report every finding, not just the first (the exit code is still that of the first)",
    long_help: "",
};
pub const MAX_ENTRY_BYTES: Flag = Flag {
    long: "max-entry-bytes",
    short: None,
    value: Some("N"),
    help: "Refuse a pack declaring an entry larger than N bytes [default: 1073741824]",
    long_help: "",
};
pub const OUT_DIR: Flag = Flag {
    long: "out-dir",
    short: None,
    value: Some("DIR"),
    help: "Where a job id's pack is looked up: DIR/jobpacks/jobpack_<id>.zip [default: ./wrkr-out]",
    long_help: "",
};

pub const TOOL: Command = Command {
    name: "verify",
    kind: Kind::Tool,
    about: "Verify a jobpack: hashes, schemas, zip safety, signature",
    usage: "[OPTIONS] [PACK|JOB_ID|-]",
    long_about: "Checks a jobpack in the order the Go implementation does, with the same codes: an unreadable \
                 zip or a missing or undecodable manifest.json is exit 1; a manifest that fails its schema \
                 exit 6; a wrong manifest_sha256, a missing, altered or undeclared file exit 2 \
                 (E_VERIFY_HASH_MISMATCH); a job, event, checkpoint, approval, artifacts manifest or accept \
                 result that fails its schema exit 6. Before those, the zip itself must be safe: no absolute, \
                 `..`, backslash or NUL names, no repeated names or directory entries, no entry over \
                 --max-entry-bytes, local headers that agree with the central directory, nothing hidden \
                 between entries or after the end record (exit 2); encrypted entries are not read (exit 1). \
                 A re-zipped pack verifies by content: deflated entries are inflated as they stream, never \
                 past their declared size (over 256:1 declared, or inflating past it: exit 2); a CRC-32 that \
                 does not match is exit 2 (Go: 1). Entries the manifest does not declare are never read.\n\n\
                 Without an argument (or with `-`) the pack is read from stdin. An argument that is not an \
                 existing file is a job id: DIR/jobpacks/jobpack_<id>.zip.\n\n\
                 Output: as wrkr-verify, one JSON line {job_id, manifest_sha256, files_verified, checks}; as \
                 wrkr verify, `verified job_id=<id> manifest=sha256:<hash> files=<n>`, or that JSON pretty \
                 with --json.",
    flags: &[&PUBKEY, &SIG, &ALL, &MAX_ENTRY_BYTES, &OUT_DIR],
    examples: &[
        Example { command: "wrkr verify ./wrkr-out/jobpacks/jobpack_job_x.zip", what: "Verify a pack file." },
        Example {
            command: "wrkr-events --records job_x | wrkr-pack | wrkr-verify -",
            what: "Pack and verify in a pipe.",
        },
        Example { command: "wrkr verify job_x --pubkey team.pub", what: "Also require a signature by team.pub." },
    ],
    run,
};

/// Resolve the target: `-`, an existing file, or a job id under the out dir.
fn target(arg: &str, out_dir: Option<&str>) -> PathBuf {
    let path = Path::new(arg);
    if arg == "-" || path.is_file() {
        return path.to_path_buf();
    }
    let is_id = !arg.is_empty()
        && arg != "."
        && arg != ".."
        && arg.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    // Go treats anything that is not an existing file as a job id; a name that looks like a path
    // (a `/` or a `.zip` suffix) is kept as a path here so the error names what the user typed.
    if is_id && !arg.ends_with(".zip") {
        return Path::new(out_dir.unwrap_or("wrkr-out")).join("jobpacks").join(file_name(arg));
    }
    path.to_path_buf()
}

fn run(args: Args, io: &mut Io) -> Result<()> {
    let positionals = args.positional_strings()?;
    if positionals.len() > 1 {
        return Err(Error::invalid_input("verify takes one PACK, JOB_ID or -"));
    }
    let arg = positionals.first().map_or("-", String::as_str);
    args.one_stdin_reader(&[PUBKEY.long, SIG.long], arg == "-")?;
    let opts = Options {
        max_entry_bytes: args.u64_or(&MAX_ENTRY_BYTES, DEFAULT_MAX_ENTRY_BYTES)?,
        all: args.switch(ALL.long),
        ..Options::default()
    };
    let trusted = match args.value(PUBKEY.long) {
        Some(p) => Some(signature::load_public_key(Path::new(p))?),
        None => None,
    };
    let path = target(arg, args.value(OUT_DIR.long));
    let looked_up = path.as_os_str() != arg;
    let file = source::open(&path.to_string_lossy()).map_err(|err| match looked_up && !path.exists() {
        // The footer's `wrkr verify JOB` names a pack relative to where it was exported.
        true => err.with_hint(format!(
            "{arg} is read as a job id: its pack is looked up at {} (relative to this directory); run this where \
             the pack was exported, pass --out-dir DIR, or give the pack's path",
            path.display()
        )),
        false => err,
    })?;
    let mut report = match verify::verify(file, &opts) {
        Ok(r) => r,
        Err(err) if io.json => return Err(err),
        Err(err) => return Err(explain_findings(err)),
    };
    let sig_path = match args.value(SIG.long) {
        Some(s) => Some(PathBuf::from(s)),
        None if arg == "-" => None,
        None => Some(signature::sig_path(&path)),
    };
    let verdict = signature::check(sig_path.as_deref(), &report.job_id, &report.manifest_sha256, trusted.as_ref())?;
    report.checks.push(Check { check: "signature", result: verdict.as_str().to_owned() });
    if io.as_tool {
        io.record(&report)
    } else if io.json {
        io.pretty(&report)
    } else {
        io.line(&format!(
            "verified job_id={} manifest=sha256:{} files={}",
            report.job_id, report.manifest_sha256, report.files_verified
        ))
    }
}

/// Text mode: each finding is printed once. The other findings (under `--all`) go to stderr
/// first; the returned error's own line carries its details (path, line, hashes), so it says where.
fn explain_findings(mut err: Error) -> Error {
    let main = verify::finding_json(&err);
    if let Some(serde_json::Value::Array(list)) = err.details.get("findings") {
        for finding in list {
            let same = finding["code"] == main["code"]
                && finding["message"] == main["message"]
                && details_text(finding) == details_text(&main);
            if !same {
                diag(&format!(
                    "wrkr verify: {}: {}{}",
                    finding["code"].as_str().unwrap_or_default(),
                    finding["message"].as_str().unwrap_or_default(),
                    details_text(finding)
                ));
            }
        }
    }
    err.message.push_str(&details_text(&main));
    err
}

/// ` k=v` for each detail of a finding (the nested findings list left out).
fn details_text(finding: &serde_json::Value) -> String {
    let mut text = String::new();
    if let Some(details) = finding.get("details").and_then(|d| d.as_object()) {
        for (k, v) in details {
            if k == "findings" {
                continue;
            }
            let v = v.as_str().map_or_else(|| v.to_string(), str::to_owned);
            text.push_str(&format!(" {k}={v}"));
        }
    }
    text
}
