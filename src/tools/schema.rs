//! wrkr-schema: validate JSONL records against the embedded v1 schemas.
//!
//! Each record is checked against the schema its `schema_id` names (or the one `--schema` forces).
//! Valid records pass through to stdout byte for byte, so the tool can sit in a pipeline as a
//! gate; every violation of an invalid record is reported on stderr with its line number, schema and
//! JSON Pointer, and the exit code is 6 once the input is done. `list` and `show NAME` print the
//! schemas themselves.
//!
//! A `.yaml`/`.yml` FILE is a JobSpec: it goes through the JobSpec loader (the one `wrkr submit`
//! and `wrkr validate` use), so its findings (unknown keys too) are reported in the same shape, and
//! a valid spec passes through unchanged. So does a `--doc` on stdin under `--schema jobspec` that
//! is not JSON.

use std::io::Read;

use serde_json::json;

use crate::cli::args::Args;
use crate::cli::io::{Io, diag, open_input};
use crate::cli::spec::{Command, Example, Flag, Kind};
use crate::cli::suggest;
use crate::contract::schema::{self, Schema, pointer_label};
use crate::contract::{Error, Result};
use crate::job::jobspec;
use crate::json;
use crate::jsonl::{DEFAULT_MAX_LINE_BYTES, JsonlReader, is_blank};
use crate::tools::jcs::{DOC, MAX_LINE_BYTES};

const SCHEMA: Flag = Flag {
    long: "schema",
    short: Some('s'),
    value: Some("NAME"),
    help: "Validate every record against NAME (wrkr.job, job, or jobpack/job.schema.json)",
    long_help: "",
};

pub const TOOL: Command = Command {
    name: "schema",
    kind: Kind::Tool,
    about: "Validate JSONL records against the v1 JSON Schemas",
    usage: "[OPTIONS] [FILE]...  |  list  |  show NAME",
    long_about: "Reads records (JSONL) from each FILE, or stdin, and validates each against the schema named \
                 by its schema_id, or by --schema. Valid records are copied to stdout unchanged; each violation \
                 of an invalid record is reported on stderr as `line N: SCHEMA: POINTER: message` (a JSON object \
                 per violation with --json), and the exit code is 6 when any record was invalid.\n\n\
                 A FILE ending in .yaml or .yml is a JobSpec: it is checked as `wrkr validate` checks it \
                 (unknown keys too) and its findings are reported the same way, with line and column.\n\n\
                 `wrkr schema list` prints the embedded schemas (schema_id and path); `wrkr schema show NAME` \
                 prints one. To read a file literally named `list` or `show`, write `./list`.",
    flags: &[&SCHEMA, &DOC, &MAX_LINE_BYTES],
    examples: &[
        Example { command: "wrkr-schema < records.jsonl > valid.jsonl", what: "Gate a record stream." },
        Example {
            command: "wrkr schema --doc --schema status_response status.json",
            what: "Check one pretty-printed file.",
        },
        Example { command: "wrkr schema show checkpoint", what: "Print the wrkr.checkpoint schema." },
    ],
    run,
};

fn run(args: Args, io: &mut Io) -> Result<()> {
    let words = args.positional_strings()?;
    match words.first().map(String::as_str) {
        Some("list") => return list(&words[1..], io),
        Some("show") => return show(&words[1..], io),
        Some(first) => suggest::check_verb("schema", first, &["list", "show"])?,
        None => {}
    }
    let forced = match args.value(SCHEMA.long) {
        Some(name) => Some(schema::find(name).ok_or_else(|| {
            Error::invalid_input(format!("unknown schema {name:?}")).with("schema", name).with_hint("wrkr schema list")
        })?),
        None => None,
    };
    let max = args.u64_or(&MAX_LINE_BYTES, DEFAULT_MAX_LINE_BYTES)?;
    let inputs = if words.is_empty() { vec!["-".to_owned()] } else { words };
    let mut tally = Tally::default();
    for name in &inputs {
        let label = if name == "-" { "stdin" } else { name.as_str() };
        if is_yaml_path(name) {
            if forced.is_some_and(|s| s.id != "wrkr.jobspec") {
                return Err(Error::invalid_input(format!("{label}: a YAML file is read as a JobSpec only"))
                    .with_hint("drop --schema, or give --schema jobspec"));
            }
            let source = jobspec::Source::read(std::path::Path::new(name))?;
            if check_jobspec(io, &mut tally, label, &source.bytes, source.is_json) {
                io.write(&source.bytes)?;
            }
            continue;
        }
        let reader = open_input(name)?;
        if args.switch(DOC.long) {
            let mut bytes = Vec::new();
            reader.take(max.saturating_add(1)).read_to_end(&mut bytes).map_err(|e| Error::io("read input", e))?;
            if bytes.len() as u64 > max {
                return Err(Error::invalid_input(format!("{label}: document longer than {max} bytes")));
            }
            if check_record(io, &mut tally, forced, label, 1, &bytes)? {
                io.write(&bytes)?;
                if bytes.last() != Some(&b'\n') {
                    io.write(b"\n")?;
                }
            }
            continue;
        }
        let mut lines = JsonlReader::new(reader, max);
        while let Some(next) = lines.next_line() {
            let (line_no, line) = match next {
                Ok((_, line)) if is_blank(line) => continue,
                Ok(ok) => ok,
                Err(err) => {
                    let err = err.into_error(max).context(label);
                    tally.records += 1;
                    tally.invalid += 1;
                    report(io, &err.message, &json!({"input": label, "error": err.message}));
                    continue;
                }
            };
            if check_record(io, &mut tally, forced, label, line_no, line)? {
                io.write(line)?;
                io.write(b"\n")?;
            }
        }
    }
    if tally.invalid > 0 {
        return Err(Error::invalid_input(format!(
            "{} of {} records failed schema validation",
            tally.invalid, tally.records
        ))
        .with("invalid", tally.invalid)
        .with("records", tally.records));
    }
    Ok(())
}

#[derive(Default)]
struct Tally {
    records: u64,
    invalid: u64,
}

/// Validate one record; report its problems. Returns whether it is valid.
fn check_record(
    io: &Io,
    tally: &mut Tally,
    forced: Option<&'static Schema>,
    label: &str,
    line: u64,
    bytes: &[u8],
) -> Result<bool> {
    let value = match json::parse(bytes) {
        Ok(v) => v,
        Err(_) if line == 1 && forced.is_some_and(|s| s.id == "wrkr.jobspec") => {
            return Ok(check_jobspec(io, tally, label, bytes, false));
        }
        Err(err) => {
            tally.records += 1;
            tally.invalid += 1;
            let why = format!("not JSON: {}", json::line_error(&err));
            report(io, &format!("{label}: line {line}: {why}"), &json!({"input": label, "line": line, "error": why}));
            return Ok(false);
        }
    };
    tally.records += 1;
    let schema = match forced.map(Ok).unwrap_or_else(|| schema::for_instance(&value)) {
        Ok(s) => s,
        Err(err) => {
            tally.invalid += 1;
            let msg = format!("{label}: line {line}: {}", err.message);
            report(io, &msg, &json!({"input": label, "line": line, "error": err.message}));
            return Ok(false);
        }
    };
    let violations = schema.violations(&value);
    if violations.is_empty() {
        return Ok(true);
    }
    tally.invalid += 1;
    for v in violations {
        let msg = format!("{label}: line {line}: {}: {}: {}", schema.id, pointer_label(&v.pointer), v.message);
        let detail =
            json!({"input": label, "line": line, "schema_id": schema.id, "pointer": v.pointer, "message": v.message});
        report(io, &msg, &detail);
    }
    Ok(false)
}

/// Check a JobSpec document with the JobSpec loader; report its findings. Returns whether it is valid.
fn check_jobspec(io: &Io, tally: &mut Tally, label: &str, bytes: &[u8], is_json: bool) -> bool {
    tally.records += 1;
    let Err(findings) = jobspec::check(bytes, is_json) else { return true };
    tally.invalid += 1;
    for finding in &findings.0 {
        report(io, &finding.render(label), &finding.to_json(label));
    }
    false
}

fn is_yaml_path(name: &str) -> bool {
    let ext = std::path::Path::new(name).extension().and_then(|e| e.to_str()).unwrap_or_default();
    ext.eq_ignore_ascii_case("yaml") || ext.eq_ignore_ascii_case("yml")
}

fn report(io: &Io, text: &str, detail: &serde_json::Value) {
    if io.json {
        diag(&detail.to_string());
    } else {
        diag(&format!("wrkr-schema: {text}"));
    }
}

fn list(rest: &[String], io: &mut Io) -> Result<()> {
    if !rest.is_empty() {
        return Err(Error::invalid_input("schema list takes no arguments"));
    }
    for s in schema::SCHEMAS {
        if io.json {
            io.record(&json!({"schema_id": s.id, "path": format!("schemas/v1/{}", s.path)}))?;
        } else {
            io.line(&format!("{:32} schemas/v1/{}", s.id, s.path))?;
        }
    }
    Ok(())
}

fn show(rest: &[String], io: &mut Io) -> Result<()> {
    let [name] = rest else {
        return Err(Error::invalid_input("usage: wrkr schema show NAME").with_hint("wrkr schema list"));
    };
    let schema = schema::find(name).ok_or_else(|| {
        Error::invalid_input(format!("unknown schema {name:?}"))
            .with("schema", name.as_str())
            .with_hint("wrkr schema list")
    })?;
    io.write(schema.text.as_bytes())
}
