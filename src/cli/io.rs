//! Where output goes: data on stdout, diagnostics on stderr, chosen once per invocation.
//!
//! A closed stdout (`wrkr --list | head -1`) is not a failure: the first write that meets a broken
//! pipe ends the process quietly with exit 0, as `cat` and `grep` do. Binary output to a terminal
//! is refused, with a hint.

use std::fs::File;
use std::io::{self, BufRead, BufReader, BufWriter, IsTerminal, Stdout, Write};

use serde::Serialize;

use crate::contract::{Error, Result};

pub struct Io {
    /// `--json` was given: commands print JSON, errors print an envelope.
    pub json: bool,
    /// Invoked as a pipe tool (`wrkr-verify`, by program name) rather than as `wrkr verify`: a tool
    /// that is also a command writes JSONL data then, and people-facing text otherwise.
    pub as_tool: bool,
    out: BufWriter<Stdout>,
}

impl Io {
    pub fn new(json: bool) -> Io {
        Io { json, as_tool: false, out: BufWriter::with_capacity(64 * 1024, io::stdout()) }
    }

    /// Raw bytes to stdout.
    pub fn write(&mut self, bytes: &[u8]) -> Result<()> {
        let result = self.out.write_all(bytes);
        check(result)
    }

    /// One line of text (a `\n` is added).
    pub fn line(&mut self, text: &str) -> Result<()> {
        self.write(text.as_bytes())?;
        self.write(b"\n")
    }

    /// One compact JSON value and `\n`: the pipe-tool record form.
    pub fn record<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        let result = serde_json::to_writer(&mut self.out, value).map_err(io::Error::from);
        check(result)?;
        self.write(b"\n")
    }

    /// Pretty (2-space) JSON and `\n`: the `--json` command output form.
    pub fn pretty<T: Serialize + ?Sized>(&mut self, value: &T) -> Result<()> {
        let result = serde_json::to_writer_pretty(&mut self.out, value).map_err(io::Error::from);
        check(result)?;
        self.write(b"\n")
    }

    /// A writer for streaming output; errors from it should go through [`Io::check`].
    pub fn stdout(&mut self) -> &mut impl Write {
        &mut self.out
    }

    pub fn flush(&mut self) -> Result<()> {
        let result = self.out.flush();
        check(result)
    }

    /// Refuse to write binary data to a terminal.
    pub fn refuse_binary_to_terminal(&self, what: &str) -> Result<()> {
        if io::stdout().is_terminal() {
            return Err(Error::invalid_input(format!("refusing to write {what} (binary) to a terminal"))
                .with_hint("redirect stdout to a file or pipe, or use -o FILE"));
        }
        Ok(())
    }

    /// Map a stdout write result: broken pipe ends the process with 0.
    pub fn check(result: io::Result<()>) -> Result<()> {
        check(result)
    }
}

fn check(result: io::Result<()>) -> Result<()> {
    match result {
        Ok(()) => Ok(()),
        Err(err) if err.kind() == io::ErrorKind::BrokenPipe => std::process::exit(0),
        Err(err) => Err(Error::io("write stdout", err)),
    }
}

/// Write a diagnostic line to stderr. Failures to write diagnostics are ignored: there is nowhere
/// left to report them.
pub fn diag(text: &str) {
    let mut err = io::stderr().lock();
    let _ = err.write_all(text.as_bytes());
    let _ = err.write_all(b"\n");
}

/// Open a named input for reading; `-` is stdin. A missing file is bad input (exit 6).
pub fn open_input(name: &str) -> Result<Box<dyn BufRead>> {
    if name == "-" {
        return Ok(Box::new(BufReader::with_capacity(256 * 1024, io::stdin())));
    }
    let file = File::open(name).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => Error::invalid_input(format!("open {name}: no such file")).with("path", name),
        _ => Error::io(format!("open {name}"), e),
    })?;
    Ok(Box::new(BufReader::with_capacity(256 * 1024, file)))
}
