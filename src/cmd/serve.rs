//! wrkr serve: run the local HTTP API (`crate::serve`) in the foreground.
//!
//! The configuration is checked before anything is bound (exit 8 for an unsafe one); with
//! `--json` the bound address and the effective limits are printed once on stdout (never the
//! token), then one JSON line per request goes to stderr. Stop it with a signal.

use serde_json::json;

use crate::cli::args::Args;
use crate::cli::io::Io;
use crate::cli::spec::{Command, Example, Kind};
use crate::contract::{Error, Result};
use crate::serve::config::{self, Config};
use crate::serve::endpoints::Ctx;
use crate::serve::server;

pub const COMMAND: Command = Command {
    name: "serve",
    kind: Kind::Command,
    about: "Serve the local HTTP API (loopback by default)",
    usage: "[OPTIONS]",
    long_about: "Answers the v1 HTTP API (GET /v1/openapi.json describes it) over the store: submit, status, \
                 checkpoints, approve, resume, pause, cancel, export, verify, accept, report-github, events, \
                 jobpack. Listening on a non-loopback address needs --allow-non-loopback, an auth token \
                 (--auth-token-file, WRKR_SERVE_TOKEN or --auth-token) and an explicit --max-body-bytes, \
                 else exit 8 before anything is bound. A token, also on loopback, requires \
                 `Authorization: Bearer TOKEN` on every request. Paths in requests are relative to the \
                 directory the server was started in and cannot leave it. `wrkr doctor` checks a \
                 configuration without starting anything.",
    flags: &config::FLAGS,
    examples: &[
        Example { command: "wrkr serve --json", what: "Listen on 127.0.0.1:9488; print the bound address." },
        Example {
            command: "WRKR_SERVE_TOKEN=$(cat token) wrkr serve --listen 127.0.0.1:0 --json",
            what: "A free port, with auth.",
        },
    ],
    run,
};

fn run(args: Args, io: &mut Io) -> Result<()> {
    if let Some(extra) = args.positionals.first() {
        return Err(Error::invalid_input(format!("serve takes no arguments (got {extra:?})")));
    }
    let config = Config::from_args(&args)?;
    config.check()?;
    let cwd = std::env::current_dir()
        .and_then(std::fs::canonicalize)
        .map_err(|e| Error::io("resolve the working directory", e))?;
    let store = crate::store::location::locate(args.store.as_deref())?;
    // Open it once now, so that a store that cannot be used (no server, an old schema) is an
    // error at start, not on every request.
    crate::store::open_at(&store)?;
    let ctx = Ctx { store, cwd, lease_ttl: crate::job::lease::DEFAULT_TTL, status_cache: Default::default() };
    server::run(&config, ctx, &mut |addr| {
        if io.json {
            io.pretty(&json!({
                "allow_non_loopback": config.allow_non_loopback,
                "auth_enabled": config.token.is_some(),
                "listen": addr.to_string(),
                "max_body_bytes": config.max_body_bytes,
            }))?;
        } else {
            io.line(&format!("wrkr serve: listening on http://{addr}"))?;
        }
        io.flush()
    })
}
