//! wrkr init: write a commented, working JobSpec to start from.
//!
//! `-` writes the template to stdout instead. The file is written atomically (temp file, fsync, rename) and never over an existing file unless
//! `--force` is given. The template is tested to load, so `wrkr init && wrkr submit jobspec.yaml`
//! always works.

use std::path::{Path, PathBuf};

use serde_json::json;

use crate::cli::args::Args;
use crate::cli::io::Io;
use crate::cli::spec::{Command, Example, Flag, Kind};
use crate::contract::{Error, Result};

/// The JobSpec `wrkr init` writes.
pub const TEMPLATE: &str = include_str!("init/jobspec.yaml");

const PATH: Flag = Flag {
    long: "path",
    short: None,
    value: Some("PATH"),
    help: "Where to write the JobSpec [default: jobspec.yaml]",
    long_help: "",
};
const FORCE: Flag =
    Flag { long: "force", short: Some('f'), value: None, help: "Overwrite an existing file", long_help: "" };

pub const COMMAND: Command = Command {
    name: "init",
    kind: Kind::Command,
    about: "Write a commented, working JobSpec to start from",
    usage: "[PATH] [--force]",
    long_about: "Writes a JobSpec with three reference-adapter steps (plan, a decision gate, finalize), \
                 budgets, a checkpoint policy and environment fingerprint rules, each key commented. The \
                 path is PATH, --path, or jobspec.yaml; `-` writes it to stdout. An existing file is left alone (exit 6) unless \
                 --force is given.",
    flags: &[&PATH, &FORCE],
    examples: &[
        Example { command: "wrkr init", what: "Write ./jobspec.yaml." },
        Example { command: "wrkr init specs/refactor.yaml --force", what: "Write (or overwrite) another path." },
        Example { command: "wrkr init - | less", what: "Print the template." },
    ],
    run,
};

fn run(args: Args, io: &mut Io) -> Result<()> {
    let words = args.positional_strings()?;
    let path: PathBuf = match (words.as_slice(), args.value(PATH.long)) {
        ([], None) => PathBuf::from("jobspec.yaml"),
        ([p], None) => PathBuf::from(p),
        ([], Some(p)) => PathBuf::from(p),
        ([_], Some(_)) => return Err(Error::invalid_input("give the path once: as an argument or with --path")),
        _ => return Err(Error::invalid_input("init takes at most one path")),
    };
    if path.as_os_str() == "-" {
        return io.write(TEMPLATE.as_bytes());
    }
    if path.exists() && !args.switch(FORCE.long) {
        return Err(Error::already_exists(&path).with_hint("pass --force to overwrite it"));
    }
    write_atomic(&path, TEMPLATE.as_bytes())?;
    if io.json {
        io.pretty(&json!({"jobspec_path": path.display().to_string()}))
    } else {
        io.line(&format!("jobspec={}", path.display()))
    }
}

/// Temp file beside the target, fsync, rename, fsync the directory.
fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).map_err(|e| Error::io(format!("create {}", dir.display()), e))?;
    let name =
        path.file_name().ok_or_else(|| Error::invalid_input(format!("{} is not a file path", path.display())))?;
    let tmp = dir.join(format!(".{}.tmp-{}", name.to_string_lossy(), std::process::id()));
    let result = (|| -> std::io::Result<()> {
        let mut file = std::fs::OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)?;
        std::fs::File::open(&dir)?.sync_all()
    })();
    result.map_err(|e| {
        let _ = std::fs::remove_file(&tmp);
        Error::io(format!("write {}", path.display()), e)
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn template_loads() {
        let spec = crate::job::jobspec::parse(super::TEMPLATE.as_bytes(), false).unwrap();
        assert_eq!(spec.steps.len(), 3);
        assert!(spec.steps.get(1).unwrap().decision_needed);
    }
}
