//! wrkr doctor: judge a serve configuration without starting anything.
//!
//! Reads the same flags and `WRKR_SERVE_*` variables as `wrkr serve` (through the same
//! `serve::config::Config`) and reports each check as `{name, ok, severity, details?,
//! remediation?}`. It never binds, creates files or touches jobs. Exit 1 when a critical check
//! fails (the JSON report still goes to stdout first). `--production-readiness` adds the store,
//! disk, signing, retention and environment checks of cmd::readiness (whose store probe writes
//! only a temporary directory, removed again).

use std::os::unix::fs::PermissionsExt;

use serde_json::{Map, Value, json};

use crate::cli::args::Args;
use crate::cli::io::Io;
use crate::cli::spec::{Command, Example, Kind};
use crate::cmd::readiness;
use crate::contract::time::Timestamp;
use crate::contract::{Error, Result};
use crate::serve::config::{self, Config, TokenSource, is_loopback};

pub const COMMAND: Command = Command {
    name: "doctor",
    kind: Kind::Command,
    about: "Check a serve configuration for unsafe settings",
    usage: "[--production-readiness [--signing-key FILE]] [SERVE OPTIONS]",
    long_about: "Takes the flags of `wrkr serve` (and its WRKR_SERVE_* environment) and reports unsafe settings: \
                 a non-loopback listen without the three opt-ins, a missing, short or command-line token, a \
                 token file others can read, missing or very large limits. With --json: {checked_at, profile, \
                 ok, checks: [{name, ok, severity, details?, remediation?}]}. Exit 1 when a critical check \
                 fails. Nothing is bound or written.\n\n\
                 --production-readiness (profile `production-readiness`) adds: store_root_writable and \
                 store_lockable (probed in a temporary directory under the store root, removed afterwards; no \
                 job is created), store_format, store_permissions (directories other users can read), disk_space, signing_key (when signing is asked for), \
                 retention_configured and unsafe_env.",
    flags: &FLAGS,
    examples: &[
        Example { command: "wrkr doctor --listen 0.0.0.0:9488 --json", what: "Shows why that listen is refused." },
        Example {
            command: "wrkr doctor --production-readiness --signing-key ops.key --json",
            what: "Everything a production deployment needs, with remedies.",
        },
    ],
    run,
};

static FLAGS: [&crate::cli::spec::Flag; 10] = [
    config::FLAGS[0],
    config::FLAGS[1],
    config::FLAGS[2],
    config::FLAGS[3],
    config::FLAGS[4],
    config::FLAGS[5],
    config::FLAGS[6],
    config::FLAGS[7],
    &readiness::PRODUCTION_READINESS,
    &readiness::SIGNING_KEY,
];

pub struct Check {
    name: &'static str,
    ok: bool,
    severity: &'static str,
    details: Option<String>,
    remediation: Option<&'static str>,
}

pub fn check(name: &'static str, ok: bool, severity: &'static str, details: String, fix: &'static str) -> Check {
    Check { name, ok, severity, details: Some(details), remediation: (!ok && !fix.is_empty()).then_some(fix) }
}

fn run(args: Args, io: &mut Io) -> Result<()> {
    let production = args.switch(readiness::PRODUCTION_READINESS.long);
    let mut checks = match Config::from_args(&args) {
        Ok(config) => checks(&config),
        Err(err) => vec![Check {
            name: "config_valid",
            ok: false,
            severity: "critical",
            details: Some(err.to_string()),
            remediation: Some("fix the flag or environment value named in the details"),
        }],
    };
    if production {
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
        let root = crate::store::root(args.store.as_deref(), "doctor")?;
        checks.extend(readiness::checks(&root, args.value(readiness::SIGNING_KEY.long), &env));
    }
    let ok = checks.iter().all(|c| c.ok || c.severity != "critical");
    let list: Vec<Value> = checks
        .iter()
        .map(|c| {
            let mut m = Map::new();
            m.insert("name".into(), json!(c.name));
            m.insert("ok".into(), json!(c.ok));
            m.insert("severity".into(), json!(c.severity));
            if let Some(d) = &c.details {
                m.insert("details".into(), json!(d));
            }
            if let Some(r) = c.remediation {
                m.insert("remediation".into(), json!(r));
            }
            Value::Object(m)
        })
        .collect();
    let report = json!({"checked_at": Timestamp::now().to_string(), "profile": if production { "production-readiness" } else { "serve" }, "ok": ok, "checks": list});
    if io.json {
        io.pretty(&report)?;
    } else {
        for c in &checks {
            let mark = if c.ok { "ok" } else { c.severity };
            io.line(&format!("{mark:8}  {}  {}", c.name, c.details.as_deref().unwrap_or_default()))?;
            if let Some(fix) = c.remediation {
                io.line(&format!("          fix: {fix}"))?;
            }
        }
    }
    if ok {
        Ok(())
    } else {
        Err(Error::generic("a critical check failed").with_hint("see the checks above and their fixes"))
    }
}

fn checks(c: &Config) -> Vec<Check> {
    let loopback = is_loopback(&c.listen);
    let mut out = vec![
        check(
            "listen_loopback",
            loopback || c.allow_non_loopback,
            if loopback { "info" } else { "critical" },
            format!("listen {} is {}", c.listen, if loopback { "loopback" } else { "not loopback" }),
            "listen on 127.0.0.1, or pass --allow-non-loopback deliberately",
        ),
        check(
            "auth_token",
            c.token.is_some(),
            if loopback { "warning" } else { "critical" },
            match c.token_source {
                Some(_) => "a token is required on every request".to_owned(),
                None => "no token: any process that can reach the port can call the API".to_owned(),
            },
            "set WRKR_SERVE_TOKEN or --auth-token-file to a long random token",
        ),
        check(
            "max_body_bytes",
            loopback || c.max_body_explicit,
            if loopback { "info" } else { "critical" },
            format!("{} bytes{}", c.max_body_bytes, if c.max_body_explicit { "" } else { " (default)" }),
            "pass an explicit --max-body-bytes for a non-loopback listen",
        ),
        check(
            "max_body_bytes_size",
            c.max_body_bytes > 0 && c.max_body_bytes <= 64 << 20,
            "warning",
            format!("{} bytes", c.max_body_bytes),
            "request bodies are small JSON documents; 1 MiB is plenty",
        ),
        check(
            "max_connections",
            (1..=4096).contains(&c.max_connections),
            if c.max_connections == 0 { "critical" } else { "warning" },
            format!("{}", c.max_connections),
            "use 1..4096 connections",
        ),
        check(
            "header_timeout",
            c.header_timeout.as_secs() <= 30,
            "warning",
            format!("{} s", c.header_timeout.as_secs()),
            "a long header timeout lets slow clients hold connections; 5 s is the default",
        ),
    ];
    if let Some(token) = &c.token {
        out.push(check(
            "auth_token_length",
            token.len() >= 16,
            "warning",
            format!("{} bytes", token.len()),
            "use at least 16 random bytes (32 hex characters)",
        ));
        out.push(check(
            "auth_token_source",
            c.token_source != Some(TokenSource::Flag),
            "warning",
            format!(
                "from {}",
                match c.token_source {
                    Some(TokenSource::Flag) => "--auth-token (visible in the process list)",
                    Some(TokenSource::File) => "a file",
                    _ => "the environment",
                }
            ),
            "use --auth-token-file or WRKR_SERVE_TOKEN",
        ));
    }
    if let Some(path) = &c.token_file {
        let mode = std::fs::metadata(path).map(|m| m.permissions().mode() & 0o777).unwrap_or(0);
        out.push(check(
            "auth_token_file_mode",
            mode & 0o077 == 0,
            if loopback { "warning" } else { "critical" },
            format!("{} has mode {mode:o}", path.display()),
            "chmod 600 the token file",
        ));
    }
    out
}
