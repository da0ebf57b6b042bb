//! wrkr keygen: a new ed25519 key pair for signing jobpacks.
//!
//! Writes `wrkr_ed25519.key` (private, mode 0600, created exclusively: an existing key is never
//! overwritten) and `wrkr_ed25519.pub` into DIR (default: the current directory). Both are one JSON
//! object: algorithm, key_id (first 16 hex of sha256 of the public key), public_key (hex), and in the
//! private file the 32-byte seed (hex). The seed comes from /dev/urandom.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use serde_json::json;

use crate::cli::args::Args;
use crate::cli::io::Io;
use crate::cli::spec::{Command, Example, Flag, Kind};
use crate::contract::{Error, Result};
use crate::pack::signature::{self, PRIVATE_KEY_FILE, PUBLIC_KEY_FILE};

const OUT: Flag = Flag {
    long: "out",
    short: None,
    value: Some("DIR"),
    help: "Directory for wrkr_ed25519.key and wrkr_ed25519.pub [default: .]",
    long_help: "",
};

pub const COMMAND: Command = Command {
    name: "keygen",
    kind: Kind::Command,
    about: "Create an ed25519 key pair for signing jobpacks",
    usage: "[--out DIR]",
    long_about: "Writes DIR/wrkr_ed25519.key (the private key, mode 0600) and DIR/wrkr_ed25519.pub. Refuses to \
                 overwrite an existing key (exit 6). Sign with `wrkr-pack --sign DIR/wrkr_ed25519.key`; verify \
                 with `wrkr verify PACK --pubkey DIR/wrkr_ed25519.pub`.",
    flags: &[&OUT],
    examples: &[Example { command: "wrkr keygen --out ~/.config/wrkr", what: "A key pair for this machine." }],
    run,
};

fn create(path: &Path, mode: u32, bytes: &[u8]) -> Result<()> {
    let mut file =
        std::fs::OpenOptions::new().write(true).create_new(true).mode(mode).open(path).map_err(|e| match e.kind() {
            std::io::ErrorKind::AlreadyExists => {
                Error::already_exists(path).with_hint("keygen never overwrites a key; use another --out DIR")
            }
            _ => Error::io(format!("create {}", path.display()), e),
        })?;
    file.write_all(bytes).and_then(|()| file.sync_all()).map_err(|e| Error::io(format!("write {}", path.display()), e))
}

fn run(args: Args, io: &mut Io) -> Result<()> {
    if let Some(extra) = args.positionals.first() {
        return Err(Error::invalid_input(format!("keygen takes no arguments (got {extra:?})")));
    }
    let dir = Path::new(args.value(OUT.long).unwrap_or("."));
    std::fs::create_dir_all(dir).map_err(|e| Error::io(format!("create {}", dir.display()), e))?;
    let (private, public) = (dir.join(PRIVATE_KEY_FILE), dir.join(PUBLIC_KEY_FILE));
    for p in [&private, &public] {
        if p.exists() {
            return Err(Error::already_exists(p).with_hint("keygen never overwrites a key; use another --out DIR"));
        }
    }
    let key = signature::generate()?;
    create(&private, 0o600, &signature::signing_key_json(&key))?;
    create(&public, 0o644, &signature::public_key_json(&key.verifying_key()))?;
    let key_id = signature::key_id(&key.verifying_key());
    let (private, public) = (private.display().to_string(), public.display().to_string());
    if io.json {
        io.pretty(&json!({"key_id": key_id, "private_key": private, "public_key": public}))
    } else {
        io.line(&format!("key_id={key_id}"))?;
        io.line(&format!("private_key={private}"))?;
        io.line(&format!("public_key={public}"))
    }
}
