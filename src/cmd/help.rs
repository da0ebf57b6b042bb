//! wrkr help [COMMAND]: the command map, or one command's full help.

use crate::cli::args::Args;
use crate::cli::io::Io;
use crate::cli::spec::{Command, Example, Kind};
use crate::cli::{help, table};
use crate::contract::{Error, Result};

pub const COMMAND: Command = Command {
    name: "help",
    kind: Kind::Command,
    about: "Print help for wrkr or one command",
    usage: "[COMMAND]",
    long_about: "Without an argument, lists every pipe tool and command. With one, prints that command's \
                 help, the same text as `wrkr COMMAND --help`.",
    flags: &[],
    examples: &[Example { command: "wrkr help jcs", what: "Help for the wrkr-jcs tool." }],
    run,
};

fn run(args: Args, io: &mut Io) -> Result<()> {
    let words = args.positional_strings()?;
    match words.as_slice() {
        [] => io.write(help::overview().as_bytes()),
        [name] => match table::find(name) {
            Some(cmd) => io.write(help::command(cmd).as_bytes()),
            None => Err(Error::invalid_input(format!("no help for unknown command {name:?}"))
                .with("command", name.as_str())
                .with_hint("'wrkr help' lists the commands")),
        },
        _ => Err(Error::invalid_input("help takes at most one command name")),
    }
}
