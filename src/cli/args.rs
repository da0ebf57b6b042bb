//! Parsing a command's arguments against its declared flags (lexopt underneath).
//!
//! Both `--flag value` and `--flag=value` work, short flags may be grouped, `--` ends the flags.
//! An unknown flag or a missing or malformed value is `E_INVALID_INPUT_SCHEMA` (exit 6), with the
//! closest known flag suggested. Global flags (`--json`, `--explain`, `--help`) are taken out by the
//! dispatcher before a command sees its arguments.

use std::ffi::OsString;

use crate::cli::spec::{Command, Flag};
use crate::cli::suggest;
use crate::contract::{Error, Result};

/// The parsed arguments of one invocation.
#[derive(Debug, Default)]
pub struct Args {
    /// (flag long name, value) in the order given; switches have `None`.
    flags: Vec<(&'static str, Option<String>)>,
    pub positionals: Vec<OsString>,
    /// The global `--store DIR`, taken out by the dispatcher.
    pub store: Option<std::path::PathBuf>,
    /// How many positionals came before a `--` (`None`: there was no `--`). Everything after the
    /// first `--` is positional, verbatim, as `wrkr wrap -- CMD ARGS...` needs.
    pub dashdash: Option<usize>,
    /// The global `--explain`, for a command that explains itself (`table::EXPLAINS_ITSELF`).
    pub explain: bool,
    /// The command's name in the command table (to name it when it refuses a store).
    pub command: &'static str,
}

impl Args {
    /// The store this invocation works on, either backend (`--store`, `$WRKR_STORE`,
    /// `$WRKR_HOME`, `~/.wrkr`).
    pub fn store(&self) -> Result<Box<dyn crate::store::Store>> {
        crate::store::open(self.store.as_deref())
    }

    /// The file store this invocation works on; a PostgreSQL store is refused with an error naming
    /// the command and why (the commands that need a file store are listed in one table,
    /// `store::location::FILE_STORE_ONLY`).
    pub fn file_store(&self) -> Result<crate::store::FsStore> {
        Ok(crate::store::FsStore::new(crate::store::root(self.store.as_deref(), self.command)?))
    }

    pub fn parse(command: &Command, mut raw: Vec<OsString>) -> Result<Args> {
        use lexopt::prelude::*;
        let tail = match raw.iter().position(|a| a == "--") {
            Some(at) => {
                let tail = raw.split_off(at + 1);
                raw.pop();
                Some(tail)
            }
            None => None,
        };
        let mut parser = lexopt::Parser::from_args(raw);
        let mut args = Args { command: command.name, ..Args::default() };
        loop {
            let arg = parser.next().map_err(|e| usage(command, e.to_string()))?;
            let Some(arg) = arg else { break };
            let flag = match arg {
                Long(name) => command.flag(name).ok_or_else(|| unknown_flag(command, &format!("--{name}")))?,
                Short(c) => command.flag_by_short(c).ok_or_else(|| unknown_flag(command, &format!("-{c}")))?,
                Value(v) if tail.is_none() && command.usage.contains("-- CMD") => {
                    return Err(forgotten_dashdash(command, v, &mut parser));
                }
                Value(v) => {
                    args.positionals.push(v);
                    continue;
                }
            };
            let value = match flag.value {
                Some(_) => {
                    let v = parser.value().map_err(|_| {
                        usage(command, format!("--{} needs a value ({})", flag.long, flag.value.unwrap_or("VALUE")))
                    })?;
                    Some(v.into_string().map_err(|_| usage(command, format!("--{}: value is not UTF-8", flag.long)))?)
                }
                None => {
                    if let Some(v) = parser.optional_value() {
                        return Err(usage(command, format!("--{} takes no value (got {:?})", flag.long, v)));
                    }
                    None
                }
            };
            if let (Some("-"), Some(kind)) = (value.as_deref(), flag.value) {
                refuse_dash(command, flag.long, kind)?;
            }
            args.flags.push((flag.long, value));
        }
        if let Some(tail) = tail {
            args.dashdash = Some(args.positionals.len());
            args.positionals.extend(tail);
        }
        Ok(args)
    }

    pub fn switch(&self, long: &str) -> bool {
        self.flags.iter().any(|(name, _)| *name == long)
    }

    /// The last value given for a flag.
    pub fn value(&self, long: &str) -> Option<&str> {
        self.flags.iter().rev().find(|(name, _)| *name == long).and_then(|(_, v)| v.as_deref())
    }

    /// Every value given for a repeatable flag, in order.
    pub fn values(&self, long: &str) -> Vec<&str> {
        self.flags.iter().filter(|(name, _)| *name == long).filter_map(|(_, v)| v.as_deref()).collect()
    }

    /// A non-negative integer flag value, or `default` when absent.
    pub fn u64_or(&self, flag: &Flag, default: u64) -> Result<u64> {
        match self.value(flag.long) {
            None => Ok(default),
            Some(v) => v.trim().parse::<u64>().map_err(|_| {
                Error::invalid_input(format!("--{}: expected a non-negative integer, got {v:?}", flag.long))
                    .with("flag", flag.long)
            }),
        }
    }

    /// Positionals as UTF-8 strings (paths and ids must be UTF-8 in wrkr's contracts).
    pub fn positional_strings(&self) -> Result<Vec<String>> {
        self.positionals
            .iter()
            .map(|p| p.clone().into_string().map_err(|p| Error::invalid_input(format!("argument is not UTF-8: {p:?}"))))
            .collect()
    }
}

/// Flags whose `-` means stdin or stdout (the command handles it, and refuses it when stdin or
/// stdout is already taken): `wrkr-pack -o -`, `accept init --path -`, `init --path -`,
/// `accept run JOB --config -`, `verify PACK --pubkey -` or `--sig -`.
const DASH_MEANS_STDIO: &[&str] = &["output", "path", "config", "pubkey", "sig"];

/// Why `-` is refused for a flag, where there is more to say than "not supported".
const DASH_REFUSED_BECAUSE: &[(&str, &str)] =
    &[("junit", "stdout already carries the acceptance result; write the JUnit report to a file")];

/// `-` for a flag that names a file or directory: stdin/stdout where the flag supports it, else
/// refused here, before anything runs, rather than read or written as a file named `-`.
fn refuse_dash(command: &Command, long: &str, kind: &str) -> Result<()> {
    if !matches!(kind, "FILE" | "PATH" | "DIR" | "KEY") || DASH_MEANS_STDIO.contains(&long) {
        return Ok(());
    }
    let what = if kind == "DIR" { "a directory" } else { "a file" };
    let why = DASH_REFUSED_BECAUSE
        .iter()
        .find(|(flag, _)| *flag == long)
        .map_or_else(|| "`-` (stdin/stdout) is not supported here".to_owned(), |(_, why)| (*why).to_owned());
    Err(Error::invalid_input(format!("--{long} -: {} --{long} needs {what}: {why}", command.display_name()))
        .with("flag", long)
        .with_hint(format!("name {what}; for one called -, write ./-")))
}

/// `wrkr wrap gh pr list --json title`: the command's words would be taken for wrkr's, so the
/// `--` that separates them is required, and the error shows where it goes.
fn forgotten_dashdash(command: &Command, first: OsString, parser: &mut lexopt::Parser) -> Error {
    let mut words = vec![first.to_string_lossy().into_owned()];
    if let Ok(rest) = parser.raw_args() {
        words.extend(rest.map(|w| w.to_string_lossy().into_owned()));
    }
    let given = words.join(" ");
    Error::invalid_input(format!("{} needs -- before the command to run (got {given:?})", command.display_name()))
        .with("command", given.as_str())
        .with_hint(format!("put -- before it: {} [OPTIONS] -- {given}", command.display_name()))
}

impl Args {
    /// Refuse two readers of stdin: `flags` (long names) whose value is `-`, plus the positional
    /// input when `positional_is_stdin`. One of them may read stdin; a second would see nothing.
    pub fn one_stdin_reader(&self, flags: &[&str], positional_is_stdin: bool) -> Result<()> {
        let mut readers: Vec<String> =
            flags.iter().filter(|f| self.value(f) == Some("-")).map(|f| format!("--{f} -")).collect();
        if positional_is_stdin {
            readers.insert(0, "the input (-)".to_owned());
        }
        if readers.len() < 2 {
            return Ok(());
        }
        Err(Error::invalid_input(format!("only one input can be read from stdin, got {}", readers.join(" and ")))
            .with_hint("give all but one of them as files"))
    }
}

fn usage(command: &Command, message: String) -> Error {
    Error::invalid_input(message).with_hint(format!("{} --help shows the usage", command.display_name()))
}

fn unknown_flag(command: &Command, given: &str) -> Error {
    // The global flags too: `--jsno` is as likely a typo as a misspelled flag of the command.
    let flags = command.flags.iter().chain(crate::cli::spec::GLOBAL_FLAGS);
    let known = flags.map(|f| format!("--{}", f.long)).collect::<Vec<_>>();
    let mut err =
        Error::invalid_input(format!("unknown flag {given} for {}", command.display_name())).with("flag", given);
    err = match suggest::closest(given, known.iter().map(String::as_str)) {
        Some(best) => err.with_hint(format!("did you mean {best}?")),
        None => err.with_hint(format!("{} --help lists the flags", command.display_name())),
    };
    err
}
