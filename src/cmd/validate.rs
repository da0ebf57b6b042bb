//! wrkr validate: check JobSpecs without running them, reporting every finding of every spec.
//!
//! Each SPEC (a path, or `-` for stdin) goes through the same loader `submit` uses, so a spec that
//! validates is a spec `submit` accepts (the workspace directory is the one thing only `submit`
//! checks, because it depends on where it runs). Findings go to stdout, one per line: in text as
//! `SPEC:LINE:COLUMN: POINTER: message` (the form editors jump to), with `--json` as JSON Lines in
//! the `wrkr-schema` finding shape (`input`, `line`, `column`, `schema_id`, `pointer`, `message`,
//! `suggestion`). Nothing is written to the store. Exit 6 when any spec has a finding.

use std::path::Path;

use crate::cli::args::Args;
use crate::cli::io::Io;
use crate::cli::spec::{Command, Example, Kind};
use crate::contract::{Error, ReasonCode, Result};
use crate::job::jobspec::{self, Finding, Findings, Source};

pub const COMMAND: Command = Command {
    name: "validate",
    kind: Kind::Command,
    about: "Check JobSpecs and report every problem at once",
    usage: "SPEC...",
    long_about: "Loads each JobSpec exactly as `wrkr submit` does (YAML, or JSON by extension; `-` reads stdin) \
                 and reports every finding of every spec at once: unknown keys with the closest known key, \
                 schema violations, unsupported adapters, malformed steps, each with its field (a JSON \
                 Pointer), line and column. Findings go to stdout as `SPEC:LINE:COLUMN: POINTER: message`, \
                 or with --json one JSON object per line in the wrkr-schema finding shape. A valid spec prints \
                 `SPEC: ok` (nothing with --json). Warnings (valid, but likely not meant: a decision on the last step \
                 gates nothing) go to stderr as `SPEC: warning: ...` and do not change the exit code. Exit 6 \
                 when any spec has a finding; no job is created.",
    flags: &[],
    examples: &[
        Example { command: "wrkr validate jobspec.yaml", what: "Check one spec." },
        Example { command: "wrkr validate --json specs/*.yaml", what: "Findings of many specs as JSON Lines." },
        Example { command: "generate-spec | wrkr validate -", what: "Check a spec on stdin." },
    ],
    run,
};

fn run(args: Args, io: &mut Io) -> Result<()> {
    let specs = args.positional_strings()?;
    if specs.is_empty() {
        return Err(Error::invalid_input("validate needs at least one JobSpec path (or - for stdin)")
            .with_hint("wrkr validate jobspec.yaml"));
    }
    if specs.iter().filter(|s| *s == "-").count() > 1 {
        return Err(Error::invalid_input("stdin (-) can be read only once"));
    }
    let mut invalid = 0usize;
    for spec in &specs {
        let (label, findings) = match Source::read(Path::new(spec)) {
            Ok(source) => match jobspec::check(&source.bytes, source.is_json) {
                Ok(checked) => {
                    checked.warnings().iter().for_each(|w| crate::cli::io::diag(&format!("{}: {w}", source.label)));
                    (source.label.clone(), None)
                }
                Err(findings) => (source.label.clone(), Some(findings)),
            },
            Err(err) if err.code == ReasonCode::InvalidInputSchema => {
                (spec.clone(), Some(Findings(vec![Finding::at(None, None, unlabelled(&err, spec))])))
            }
            Err(err) => return Err(err),
        };
        match findings {
            None if !io.json => io.line(&format!("{label}: ok"))?,
            None => {}
            Some(findings) => {
                invalid += 1;
                for finding in &findings.0 {
                    if io.json {
                        io.record(&finding.to_json(&label))?;
                    } else {
                        io.line(&finding.render(&label))?;
                    }
                }
            }
        }
    }
    if invalid > 0 {
        let noun = if specs.len() == 1 { "JobSpec" } else { "JobSpecs" };
        return Err(Error::invalid_input(format!("{invalid} of {} {noun} invalid", specs.len()))
            .with("invalid", invalid)
            .with("specs", specs.len()));
    }
    Ok(())
}

/// A read error's message without the `jobspec PATH: ` prefix the finding's label already gives.
fn unlabelled(err: &Error, spec: &str) -> String {
    err.message.strip_prefix(&format!("jobspec {spec}: ")).unwrap_or(&err.message).to_owned()
}
