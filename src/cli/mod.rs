//! The command line: dispatch, argument parsing, output, and everything rendered from the
//! command table (help, man pages, completions).
//!
//! `main` resolves which tool or command runs (from the program name, else the first word), takes
//! out the global flags, runs it, and turns an error into the right stderr text and exit code. It
//! holds no logic of any command.

pub mod args;
pub mod complete;
pub mod completions;
pub mod help;
pub mod io;
pub mod man;
pub mod spec;
pub mod suggest;
pub mod table;

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::json;

use crate::contract::time::Timestamp;
use crate::contract::{Error, Result};
use args::Args;
use io::Io;
use spec::{Command, Kind};

/// Whether errors (including a panic) are reported as JSON envelopes.
static JSON_MODE: AtomicBool = AtomicBool::new(false);

/// Run wrkr with the full argv (program name first) and return the process exit code.
pub fn main(argv: Vec<OsString>) -> u8 {
    crate::run::channel::note_inherited_fd3();
    install_panic_hook();
    crate::failpoint::setup();
    let mut argv = argv.into_iter();
    let program = argv.next().unwrap_or_else(|| OsString::from("wrkr"));
    let mut rest: Vec<OsString> = argv.collect();
    // `wrkr wrap gh pr list --json title` (the `--` forgotten): that `--json` is the command's,
    // so the error that says to add `--` is text, not an envelope.
    let command_start = forgotten_dashdash(&rest);
    let json = take_all(&mut rest, "--json", command_start);
    let command_start = forgotten_dashdash(&rest);
    let explain = take_all(&mut rest, "--explain", command_start);
    JSON_MODE.store(json, Ordering::Relaxed);
    let mut io = Io::new(json);
    let result = take_store(&mut rest)
        .and_then(|store| dispatch(&program, rest, explain, &Globals { store }, &mut io))
        .and_then(|()| io.flush());
    match result {
        Ok(()) => 0,
        Err(err) => {
            // What the command printed before it failed (validate's findings) comes first: on a
            // terminal, the summary line must not land above the lines it sums up.
            let _ = io.flush();
            report(&err, json);
            err.exit_code()
        }
    }
}

/// Global flags that a command sees through its `Args`.
struct Globals {
    store: Option<PathBuf>,
}

fn dispatch(program: &OsStr, mut rest: Vec<OsString>, explain: bool, globals: &Globals, io: &mut Io) -> Result<()> {
    let basename = Path::new(program).file_name().and_then(OsStr::to_str).unwrap_or("wrkr");
    if let Some(tool) = table::tool_for_program(basename) {
        io.as_tool = true;
        return run(tool, rest, explain, globals, io);
    }
    if rest.is_empty() {
        if explain {
            return run(&crate::cmd::version::COMMAND, rest, true, globals, io);
        }
        return io.write(help::overview().as_bytes());
    }
    let first = rest.remove(0);
    let Some(word) = first.to_str() else {
        return Err(Error::invalid_input(format!("unknown command {first:?}")));
    };
    match word {
        "--list" => {
            for cmd in table::all().iter().filter(|c| c.kind == Kind::Tool) {
                io.line(&cmd.page_name())?;
            }
            Ok(())
        }
        "--version" | "-V" => run(&crate::cmd::version::COMMAND, rest, explain, globals, io),
        "--help" | "-h" => run(&crate::cmd::help::COMMAND, rest, explain, globals, io),
        "--generate" => generate(rest, io),
        // Hidden: what the shell completions ask the store (see `complete`).
        "--complete" => complete::run(rest, globals.store.as_deref(), io),
        _ => match table::find(word) {
            Some(cmd) => run(cmd, rest, explain, globals, io),
            None => Err(unknown_command(word)),
        },
    }
}

/// Run one tool or command: `--help` and `--explain` first, then parse and call it.
fn run(cmd: &'static Command, rest: Vec<OsString>, explain: bool, globals: &Globals, io: &mut Io) -> Result<()> {
    let wants_help = rest.iter().take_while(|a| *a != "--").any(|a| a == "--help" || a == "-h");
    if wants_help {
        return io.write(help::command(cmd).as_bytes());
    }
    let wants_version = rest.iter().take_while(|a| *a != "--").any(|a| a == "--version" || a == "-V");
    if wants_version && !explain && cmd.name != "version" {
        return (crate::cmd::version::COMMAND.run)(Args::default(), io);
    }
    if explain && !table::EXPLAINS_ITSELF.contains(&cmd.name) {
        return if io.json {
            io.record(&json!({"command": cmd.name, "intent": cmd.about}))
        } else {
            io.line(&format!("wrkr {}: {}", cmd.name, cmd.about))
        };
    }
    let mut args = Args::parse(cmd, rest)?;
    args.store = globals.store.clone();
    args.explain = explain;
    (cmd.run)(args, io).map_err(|err| suggest::similar_job_ids(err, globals.store.as_deref()))
}

fn unknown_command(word: &str) -> Error {
    let names = table::all().iter().map(|c| c.name);
    let err = if word.starts_with('-') {
        Error::invalid_input(format!("unknown flag {word}")).with("flag", word)
    } else {
        Error::invalid_input(format!("unknown command {word:?}")).with("command", word)
    };
    match suggest::closest(word.trim_start_matches('-'), names) {
        Some(best) => err.with_hint(format!("did you mean 'wrkr {best}'? 'wrkr help' lists the commands")),
        None => err.with_hint("'wrkr help' lists the commands"),
    }
}

/// `wrkr --generate man|completions DIR`.
fn generate(rest: Vec<OsString>, io: &mut Io) -> Result<()> {
    let words: Vec<String> = rest.into_iter().map(|a| a.to_string_lossy().into_owned()).collect();
    let [kind, dir] = words.as_slice() else {
        return Err(Error::invalid_input("usage: wrkr --generate <man|completions> <DIR>"));
    };
    let files = match kind.as_str() {
        "man" => man::pages(),
        "completions" => completions::files(),
        other => {
            return Err(Error::invalid_input(format!("--generate: unknown kind {other:?}"))
                .with_hint("use 'man' or 'completions'"));
        }
    };
    let dir = Path::new(dir);
    std::fs::create_dir_all(dir).map_err(|e| Error::io(format!("create {}", dir.display()), e))?;
    let mut written = Vec::new();
    for (name, contents) in files {
        let path = dir.join(&name);
        std::fs::write(&path, contents).map_err(|e| Error::io(format!("write {}", path.display()), e))?;
        written.push(path.display().to_string());
    }
    if io.json {
        io.pretty(&json!({"kind": kind, "dir": dir.display().to_string(), "files": written}))
    } else {
        written.iter().try_for_each(|p| io.line(p))
    }
}

/// Take out every `--store DIR` / `--store=DIR` before `--`; the last one wins.
fn take_store(args: &mut Vec<OsString>) -> Result<Option<PathBuf>> {
    let mut store = None;
    let mut i = 0;
    while i < args.len() {
        if args[i] == "--" {
            break;
        }
        if args[i] == "--store" {
            if i + 1 >= args.len() || args[i + 1] == "--" {
                return Err(Error::invalid_input("--store needs a value (DIR|URL)").with("flag", "--store"));
            }
            store = Some(PathBuf::from(args.remove(i + 1)));
            args.remove(i);
            continue;
        }
        if let Some(value) = args[i].to_str().and_then(|a| a.strip_prefix("--store=")) {
            if value.is_empty() {
                return Err(Error::invalid_input("--store needs a value (DIR|URL)").with("flag", "--store"));
            }
            store = Some(PathBuf::from(value));
            args.remove(i);
            continue;
        }
        i += 1;
    }
    Ok(store)
}

/// Remove every occurrence of `flag` before `--` (and before index `until`, when given).
fn take_all(args: &mut Vec<OsString>, flag: &str, until: Option<usize>) -> bool {
    let end = args.iter().position(|a| a == "--").unwrap_or(args.len()).min(until.unwrap_or(usize::MAX));
    let before = args.len();
    let mut i = 0;
    let mut seen = 0;
    args.retain(|a| {
        let keep = !(i < end && a == flag);
        i += 1;
        if !keep {
            seen += 1;
        }
        keep
    });
    debug_assert_eq!(before - seen, args.len());
    seen > 0
}

/// For a command that runs another one after `--` (`wrap`) when the `--` is missing: the index in
/// `args` where that other command starts (the first word that is not a flag of wrkr's). What
/// follows it is the other command's, `--json` included; `Args::parse` then refuses the missing `--`.
fn forgotten_dashdash(args: &[OsString]) -> Option<usize> {
    if args.iter().any(|a| a == "--") {
        return None;
    }
    let mut command = None;
    let mut i = 0;
    while let Some(word) = args.get(i).and_then(|a| a.to_str()) {
        i += 1;
        if word == "--store" {
            i += 1;
            continue;
        }
        let Some(flag) = word.strip_prefix("--") else {
            match command {
                None => command = Some(table::find(word).filter(|c| c.usage.contains("-- CMD"))?),
                Some(_) => return Some(i - 1),
            }
            continue;
        };
        let (name, inline_value) = flag.split_once('=').map_or((flag, false), |(n, _)| (n, true));
        let takes_value = command.and_then(|c| c.flag(name)).is_some_and(|f| f.value.is_some());
        if takes_value && !inline_value {
            i += 1;
        }
    }
    None
}

/// Print an error the way the output mode asks: an envelope (JSON) or `E_CODE: message` (text).
pub fn report(err: &Error, json: bool) {
    if json {
        let envelope = err.envelope(Timestamp::now());
        let text = serde_json::to_string_pretty(&envelope).unwrap_or_else(|_| err.to_string());
        io::diag(&text);
    } else {
        // A refused transition is said in words; its raw names stay in the envelope's details.
        let text = match crate::job::status::transition_in_words(err) {
            Some(words) => format!("{}: {words}", err.code),
            None => err.to_string(),
        };
        io::diag(&format!("{text}{}", subjects(err, &text)));
        if let Some(hint) = &err.hint {
            io::diag(&format!("hint: {hint}"));
        }
        // Where the failing step's output is (`wrkr logs J STEP --failed`): a line of its own, so
        // the hint stays one sentence and the command can be copied whole.
        if let Some(logs) = err.details.get("logs").and_then(serde_json::Value::as_str) {
            io::diag(&format!("logs: {logs}"));
        }
    }
}

/// What a text-mode error is about, when its message does not already say: ` (job_id=x
/// checkpoint_id=cp_3 store=/home/me/.wrkr)`. JSON mode has them in `details`.
fn subjects(err: &Error, text: &str) -> String {
    let named: Vec<String> = ["job_id", "checkpoint_id", "store", "path"]
        .iter()
        .filter_map(|key| {
            let value = err.details.get(*key)?.as_str()?;
            (!value.is_empty() && !text.contains(value)).then(|| format!("{key}={value}"))
        })
        .collect();
    if named.is_empty() { String::new() } else { format!(" ({})", named.join(" ")) }
}

/// A panic is a bug; it still ends as one line of error (or an envelope) and exit 1, never a
/// backtrace dump.
fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let what = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_owned());
        let at = info.location().map(|l| format!(" at {}:{}", l.file(), l.line())).unwrap_or_default();
        let err =
            Error::generic(format!("internal error: {what}{at}")).with_hint("this is a bug in wrkr; please report it");
        report(&err, JSON_MODE.load(Ordering::Relaxed));
        std::process::exit(1);
    }));
}
