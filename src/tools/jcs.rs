//! wrkr-jcs: canonical JSON (RFC 8785), one value per line, or its sha256.
//!
//! Reads JSONL (or one multi-line document with `--doc`) from files or stdin and writes each value
//! in canonical form on its own line. Memory is bounded by the longest line: values are parsed one
//! line at a time and written straight to the output; with `--sha256` they are hashed on a second
//! thread in batches of a few hundred KiB (`hashed`), answered in input order.
//! Duplicate object keys are an error: a canonical form must not silently pick one of them.
//!
//! A line goes the cheapest way that is sure of it: a [`Scan`] (byte spans into the line; what is
//! already canonical is copied as it stands), else the reused [`Tape`], else `json::parse`, which
//! words the error. Each gives the bytes `jcs::write_value` gives for the parsed value (the scan's
//! and the tape's property tests hold them to it), so the path taken never shows in the output.

use std::io::{BufRead, Read};

use crate::cli::args::Args;
use crate::cli::io::{Io, diag, open_input};
use crate::cli::spec::{Command, Example, Flag, Kind};
use crate::contract::{Error, Result};
use crate::json::scan::{Scan, Scratch};
use crate::json::tape::Tape;
use crate::jsonl::{DEFAULT_MAX_LINE_BYTES, JsonlReader, is_blank};
use crate::{jcs, json};

mod hashed;
use hashed::Hashed;

/// Shared with wrkr-schema: both read JSONL, or whole documents with --doc.
pub const DOC: Flag = Flag {
    long: "doc",
    short: None,
    value: None,
    help: "Read each input as one JSON document (may span lines) instead of JSONL",
    long_help: "",
};
const SHA256: Flag = Flag {
    long: "sha256",
    short: None,
    value: None,
    help: "Write {\"sha256\": \"<hex>\", \"bytes\": N} of each canonical value instead of the value",
    long_help: "",
};
const TEXT: Flag = Flag {
    long: "text",
    short: None,
    value: None,
    help: "With --sha256: write `<hex>  <bytes>` lines instead of JSON",
    long_help: "",
};
const KEEP_GOING: Flag = Flag {
    long: "keep-going",
    short: Some('k'),
    value: None,
    help: "Report a bad line on stderr and continue; exit 6 at the end if any line was bad",
    long_help: "",
};
pub const MAX_LINE_BYTES: Flag = Flag {
    long: "max-line-bytes",
    short: None,
    value: Some("N"),
    help: "Longest accepted line (or --doc document), in bytes [default: 67108864]",
    long_help: "",
};

pub const TOOL: Command = Command {
    name: "jcs",
    kind: Kind::Tool,
    about: "Canonicalize JSON values (RFC 8785), or hash their canonical form",
    usage: "[OPTIONS] [FILE]...",
    long_about: "Reads JSON values, one per line (JSONL), from each FILE or from stdin when there is none \
                 or FILE is `-`, and writes each in RFC 8785 canonical form on its own line: keys sorted by \
                 UTF-16 code units, no whitespace, ECMAScript number formatting. Blank lines are skipped.\n\n\
                 A line that is not one JSON value, or an object with a duplicate key, is an error naming the \
                 line (exit 6). These canonical bytes are what every wrkr digest is computed over.",
    flags: &[&DOC, &SHA256, &TEXT, &KEEP_GOING, &MAX_LINE_BYTES],
    examples: &[
        Example {
            command: "printf '{\"b\":1,\"a\":[1e21,0.1]}\\n' | wrkr-jcs",
            what: "Prints {\"a\":[1e+21,0.1],\"b\":1}.",
        },
        Example { command: "wrkr-jcs --sha256 --text records.jsonl", what: "One `<hex>  <bytes>` line per record." },
        Example { command: "wrkr jcs --doc manifest.json", what: "Canonicalize a pretty-printed document." },
    ],
    run,
};

enum Output {
    Canonical,
    HashJson,
    HashText,
}

struct Opts {
    doc: bool,
    output: Output,
    keep_going: bool,
    max_line_bytes: u64,
    inputs: Vec<String>,
}

impl Opts {
    fn parse(args: &Args) -> Result<Opts> {
        let output = match (args.switch(SHA256.long), args.switch(TEXT.long)) {
            (false, false) => Output::Canonical,
            (true, false) => Output::HashJson,
            (true, true) => Output::HashText,
            (false, true) => return Err(Error::invalid_input("--text goes with --sha256")),
        };
        let mut inputs = args.positional_strings()?;
        if inputs.is_empty() {
            inputs.push("-".to_owned());
        }
        Ok(Opts {
            doc: args.switch(DOC.long),
            output,
            keep_going: args.switch(KEEP_GOING.long),
            max_line_bytes: args.u64_or(&MAX_LINE_BYTES, DEFAULT_MAX_LINE_BYTES)?,
            inputs,
        })
    }
}

fn run(args: Args, io: &mut Io) -> Result<()> {
    let opts = Opts::parse(&args)?;
    std::thread::scope(|scope| {
        let mut sink = match opts.output {
            Output::HashJson | Output::HashText if !opts.doc => Sink::Hashed(Hashed::start(scope, &opts.output)),
            _ => Sink::Direct,
        };
        let result = convert(&opts, io, &mut sink);
        // What was read is answered before the error (if any) is reported.
        let flushed = sink.flush(io);
        result.and(flushed)
    })
}

/// Where canonical values go: written in the chosen form as they come, or (`--sha256` over JSONL)
/// hashed on a second thread ([`hashed`]).
enum Sink<'scope> {
    Direct,
    Hashed(Hashed<'scope>),
}

impl Sink<'_> {
    fn flush(&mut self, io: &mut Io) -> Result<()> {
        match self {
            Sink::Direct => Ok(()),
            Sink::Hashed(hashed) => hashed.flush(io),
        }
    }
}

fn convert(opts: &Opts, io: &mut Io, sink: &mut Sink<'_>) -> Result<()> {
    let mut bad = 0u64;
    let mut total = 0u64;
    let mut buf = Vec::with_capacity(4096);
    let mut scan = Scan::new();
    let mut scratch = Scratch::default();
    let mut tape = Tape::new();
    let mut members = Vec::new();
    for name in &opts.inputs {
        let reader = open_input(name)?;
        let label = if name == "-" { "stdin" } else { name.as_str() };
        if opts.doc {
            total += 1;
            let bytes = read_document(reader, opts.max_line_bytes).map_err(|e| e.context(label))?;
            match json::parse(&bytes) {
                Ok(value) => emit(io, sink, &opts.output, &value, &mut buf)?,
                Err(err) => {
                    let err = Error::invalid_input(format!("{label}: {err}")).with("input", label);
                    bad += 1;
                    if !opts.keep_going {
                        return Err(err);
                    }
                    report_bad(io, &err);
                }
            }
            continue;
        }
        let mut lines = JsonlReader::new(reader, opts.max_line_bytes);
        while let Some(next) = lines.next_line() {
            // Scanned, or parsed onto the reused tape, and written from it (no allocation per
            // line); a line both refuse is parsed again by json::parse, which words the error.
            let result = match next {
                Ok((_, line)) if is_blank(line) => continue,
                Ok((_, line)) if scanned(&mut scan, line, &mut buf, &mut scratch) => {
                    total += 1;
                    emit_bytes(io, sink, &opts.output, &mut buf)?;
                    continue;
                }
                Ok((_, line)) if tape.parse(line).is_ok() => Ok(None),
                Ok((line_no, line)) => json::parse(line).map(Some).map_err(|err| {
                    Error::invalid_input(format!("{label}: line {line_no}: {}", json::line_error(&err)))
                        .with("line", line_no)
                        .with("input", label)
                }),
                Err(err) => Err(err.into_error(opts.max_line_bytes).context(label)),
            };
            total += 1;
            match result {
                Ok(None) => {
                    buf.clear();
                    tape.write_canonical(&mut buf, &mut members);
                    emit_bytes(io, sink, &opts.output, &mut buf)?;
                }
                Ok(Some(value)) => emit(io, sink, &opts.output, &value, &mut buf)?,
                Err(err) if opts.keep_going && err.exit_code() == 6 => {
                    bad += 1;
                    report_bad(io, &err);
                }
                Err(err) => return Err(err),
            }
        }
    }
    if bad > 0 {
        return Err(Error::invalid_input(format!("{bad} of {total} inputs were not valid JSON"))
            .with("bad", bad)
            .with("total", total));
    }
    Ok(())
}

/// The canonical form of `line` into `buf` when the scan is sure of it; `false` leaves the line to
/// the tape.
fn scanned(scan: &mut Scan, line: &[u8], buf: &mut Vec<u8>, scratch: &mut Scratch) -> bool {
    let Some(root) = scan.parse(line).ok().and_then(|()| scan.root(line)) else { return false };
    buf.clear();
    root.write_canonical(buf, scratch);
    true
}

/// Write one value in the chosen form. `buf` is reused across lines so the steady state allocates
/// nothing for the output.
fn emit(io: &mut Io, sink: &mut Sink<'_>, output: &Output, value: &serde_json::Value, buf: &mut Vec<u8>) -> Result<()> {
    buf.clear();
    jcs::write_value(buf, value);
    emit_bytes(io, sink, output, buf)
}

/// Write canonical bytes (in `buf`) in the chosen form.
fn emit_bytes(io: &mut Io, sink: &mut Sink<'_>, output: &Output, buf: &mut Vec<u8>) -> Result<()> {
    if let Sink::Hashed(hashed) = sink {
        return hashed.put(io, buf);
    }
    match output {
        Output::Canonical => {
            buf.push(b'\n');
            io.write(buf)
        }
        Output::HashJson | Output::HashText => {
            let mut line = Vec::with_capacity(96);
            hashed::put_hash_line(&mut line, buf, matches!(output, Output::HashText));
            io.write(&line)
        }
    }
}

fn report_bad(io: &Io, err: &Error) {
    if io.json {
        let envelope = err.envelope(crate::contract::time::Timestamp::now());
        diag(&serde_json::to_string(&envelope).unwrap_or_default());
    } else {
        diag(&format!("wrkr-jcs: {err}"));
    }
}

/// Read a whole document, refusing more than `max` bytes.
fn read_document(reader: Box<dyn BufRead>, max: u64) -> Result<Vec<u8>> {
    let mut bytes = Vec::new();
    reader.take(max.saturating_add(1)).read_to_end(&mut bytes).map_err(|e| Error::io("read input", e))?;
    if bytes.len() as u64 > max {
        return Err(Error::invalid_input(format!("document longer than {max} bytes"))
            .with_hint("raise the limit with --max-line-bytes"));
    }
    Ok(bytes)
}
