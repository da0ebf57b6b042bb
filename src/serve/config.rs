//! The serve configuration: where to listen, who may call, how much a request may cost.
//!
//! One [`Config`] is read from flags, then `WRKR_SERVE_*` environment variables, by both
//! `wrkr serve` and `wrkr doctor`, so the doctor judges exactly what the server would run. The
//! safety rule is Go's (digest 9.1): listening on anything that is not loopback needs all of
//! `--allow-non-loopback`, an auth token and an explicit `--max-body-bytes`, else exit 8
//! `E_UNSAFE_OPERATION` before anything is bound. The token is kept in a [`Token`], whose
//! `Debug` never shows it, and it is compared in constant time.

use std::path::PathBuf;
use std::time::Duration;

use sha2::{Digest, Sha256};

use crate::cli::args::Args;
use crate::cli::spec::Flag;
use crate::contract::{Error, ReasonCode, Result};

pub const DEFAULT_LISTEN: &str = "127.0.0.1:9488";
pub const DEFAULT_MAX_BODY_BYTES: u64 = 1 << 20;
pub const DEFAULT_MAX_CONNECTIONS: u64 = 256;
pub const DEFAULT_HEADER_TIMEOUT_SECS: u64 = 5;
pub const DEFAULT_BODY_TIMEOUT_SECS: u64 = 10;

pub const LISTEN: Flag = Flag {
    long: "listen",
    short: Some('l'),
    value: Some("ADDR"),
    help: "Address to listen on [default: 127.0.0.1:9488; env WRKR_SERVE_LISTEN]",
    long_help: "Port 0 picks a free port; --json prints the bound address.",
};
pub const ALLOW_NON_LOOPBACK: Flag = Flag {
    long: "allow-non-loopback",
    short: None,
    value: None,
    help: "Allow a non-loopback address (also needs a token and --max-body-bytes)",
    long_help: "",
};
pub const AUTH_TOKEN: Flag = Flag {
    long: "auth-token",
    short: None,
    value: Some("TOKEN"),
    help: "Require `Authorization: Bearer TOKEN` [env WRKR_SERVE_TOKEN]",
    long_help: "A token on the command line is visible to other local users in the process list; prefer \
                --auth-token-file or WRKR_SERVE_TOKEN. The token is never logged or printed.",
};
pub const AUTH_TOKEN_FILE: Flag = Flag {
    long: "auth-token-file",
    short: None,
    value: Some("FILE"),
    help: "Read the token from FILE (first line) [env WRKR_SERVE_TOKEN_FILE]",
    long_help: "",
};
pub const MAX_BODY_BYTES: Flag = Flag {
    long: "max-body-bytes",
    short: None,
    value: Some("N"),
    help: "Largest request body; larger is 413 [default: 1048576; env WRKR_SERVE_MAX_BODY_BYTES]",
    long_help: "",
};
pub const MAX_CONNECTIONS: Flag = Flag {
    long: "max-connections",
    short: None,
    value: Some("N"),
    help: "Open connections served at once [default: 256; env WRKR_SERVE_MAX_CONNECTIONS]",
    long_help: "",
};
pub const HEADER_TIMEOUT: Flag = Flag {
    long: "header-timeout",
    short: None,
    value: Some("SECONDS"),
    help: "Time to send a request's headers, also the keep-alive idle limit [default: 5]",
    long_help: "",
};
pub const BODY_TIMEOUT: Flag = Flag {
    long: "body-timeout",
    short: None,
    value: Some("SECONDS"),
    help: "Time to send a request's body [default: 10]",
    long_help: "",
};

/// Every serve flag, for `wrkr serve` and `wrkr doctor`.
pub const FLAGS: [&Flag; 8] = [
    &LISTEN,
    &ALLOW_NON_LOOPBACK,
    &AUTH_TOKEN,
    &AUTH_TOKEN_FILE,
    &MAX_BODY_BYTES,
    &MAX_CONNECTIONS,
    &HEADER_TIMEOUT,
    &BODY_TIMEOUT,
];

/// A secret. `Debug` prints `Token(..)`; only [`Token::matches`] reads it.
#[derive(Clone)]
pub struct Token(Vec<u8>);

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Token(..)")
    }
}

impl Token {
    /// Constant time in the candidate's content: both sides are hashed to 32 bytes first, so
    /// neither the length nor a common prefix shows in the timing.
    pub fn matches(&self, candidate: &[u8]) -> bool {
        let (a, b) = (Sha256::digest(&self.0), Sha256::digest(candidate));
        a.iter().zip(b.iter()).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
    }

    pub fn len(&self) -> usize {
        self.0.len()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Where the token came from (the doctor warns about a command-line token).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenSource {
    Flag,
    File,
    Env,
}

#[derive(Clone, Debug)]
pub struct Config {
    pub listen: String,
    pub allow_non_loopback: bool,
    pub token: Option<Token>,
    pub token_source: Option<TokenSource>,
    pub token_file: Option<PathBuf>,
    pub max_body_bytes: u64,
    /// Given by flag or environment (the non-loopback rule wants it explicit).
    pub max_body_explicit: bool,
    pub max_connections: u64,
    pub header_timeout: Duration,
    pub body_timeout: Duration,
}

impl Config {
    /// Flags first, then `WRKR_SERVE_*`, then the defaults.
    pub fn from_args(args: &Args) -> Result<Config> {
        let env = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
        let text = |flag: &Flag, var: &str| args.value(flag.long).map(str::to_owned).or_else(|| env(var));
        let number = |flag: &Flag, var: &str| -> Result<Option<u64>> {
            match text(flag, var) {
                None => Ok(None),
                Some(v) => v.trim().parse::<u64>().map(Some).map_err(|_| {
                    Error::invalid_input(format!("--{} must be a whole number, got {v:?}", flag.long))
                        .with("flag", format!("--{}", flag.long))
                }),
            }
        };
        let allow_non_loopback = args.switch(ALLOW_NON_LOOPBACK.long)
            || env("WRKR_SERVE_ALLOW_NON_LOOPBACK").is_some_and(|v| matches!(v.trim(), "1" | "true" | "yes"));
        let token_file = text(&AUTH_TOKEN_FILE, "WRKR_SERVE_TOKEN_FILE").map(PathBuf::from);
        let (token, token_source) = if let Some(t) = args.value(AUTH_TOKEN.long) {
            (Some(t.trim().as_bytes().to_vec()), Some(TokenSource::Flag))
        } else if let Some(path) = &token_file {
            let raw = std::fs::read_to_string(path).map_err(|e| {
                Error::invalid_input(format!("cannot read --auth-token-file {}: {e}", path.display()))
                    .with("flag", "--auth-token-file")
            })?;
            (Some(raw.lines().next().unwrap_or_default().trim().as_bytes().to_vec()), Some(TokenSource::File))
        } else if let Some(t) = env("WRKR_SERVE_TOKEN") {
            (Some(t.trim().as_bytes().to_vec()), Some(TokenSource::Env))
        } else {
            (None, None)
        };
        if token.as_ref().is_some_and(Vec::is_empty) {
            return Err(Error::new(ReasonCode::UnsafeOperation, "the auth token is empty")
                .with_hint("use a long random token, e.g. from `openssl rand -hex 32`"));
        }
        let max_body = number(&MAX_BODY_BYTES, "WRKR_SERVE_MAX_BODY_BYTES")?;
        let secs = |flag: &Flag, default: u64| -> Result<Duration> {
            let s = args.u64_or(flag, default)?;
            if s == 0 {
                return Err(Error::invalid_input(format!("--{} must be at least 1 second", flag.long)));
            }
            Ok(Duration::from_secs(s))
        };
        Ok(Config {
            listen: text(&LISTEN, "WRKR_SERVE_LISTEN").unwrap_or_else(|| DEFAULT_LISTEN.to_owned()),
            allow_non_loopback,
            token: token.map(Token),
            token_source,
            token_file,
            max_body_bytes: max_body.unwrap_or(DEFAULT_MAX_BODY_BYTES),
            max_body_explicit: max_body.is_some(),
            max_connections: number(&MAX_CONNECTIONS, "WRKR_SERVE_MAX_CONNECTIONS")?.unwrap_or(DEFAULT_MAX_CONNECTIONS),
            header_timeout: secs(&HEADER_TIMEOUT, DEFAULT_HEADER_TIMEOUT_SECS)?,
            body_timeout: secs(&BODY_TIMEOUT, DEFAULT_BODY_TIMEOUT_SECS)?,
        })
    }

    /// The non-loopback rule and the limits: refused with exit 8 (or 6 for a bad value).
    pub fn check(&self) -> Result<()> {
        if let Some(problem) = port_problem(&self.listen) {
            // Before the loopback rule: `127.0.0.1:-1` is a bad address, not an unsafe one.
            return Err(Error::invalid_input(format!("invalid listen address {:?}: {problem}", self.listen))
                .with("listen", self.listen.as_str())
                .with_hint("use HOST:PORT with a port from 0 to 65535, e.g. 127.0.0.1:9488"));
        }
        if !is_loopback(&self.listen) {
            let mut missing = Vec::new();
            if !self.allow_non_loopback {
                missing.push("--allow-non-loopback");
            }
            if self.token.is_none() {
                missing.push("--auth-token");
            }
            if !self.max_body_explicit {
                missing.push("--max-body-bytes");
            }
            if !missing.is_empty() {
                return Err(Error::new(
                    ReasonCode::UnsafeOperation,
                    format!("non-loopback listen {} needs {}", self.listen, missing.join(", ")),
                )
                .with("listen", self.listen.as_str())
                .with("missing", missing)
                .with_hint(
                    "listen on 127.0.0.1, or pass --allow-non-loopback, --auth-token-file and --max-body-bytes",
                ));
            }
        }
        if self.max_body_bytes == 0 {
            return Err(Error::invalid_input("--max-body-bytes must be at least 1"));
        }
        if self.max_connections == 0 {
            return Err(Error::invalid_input("--max-connections must be at least 1"));
        }
        Ok(())
    }
}

/// What is wrong with the port of `listen`, if it has one (`HOST:PORT`, `[V6]:PORT`, `:PORT`).
/// A bare host or bare IPv6 address has no port part and is left to the bind.
fn port_problem(listen: &str) -> Option<String> {
    let port = if let Some(rest) = listen.strip_prefix('[') {
        let (_, after) = rest.split_once(']')?;
        if after.is_empty() {
            return None;
        }
        match after.strip_prefix(':') {
            Some(port) => port,
            None => return Some(format!("unexpected {after:?} after the bracketed host")),
        }
    } else {
        match listen.split_once(':') {
            Some((_, port)) if !port.contains(':') => port,
            _ => return None,
        }
    };
    let valid = !port.is_empty() && port.len() <= 5 && port.bytes().all(|b| b.is_ascii_digit());
    match port.parse::<u32>() {
        Ok(n) if valid && n <= 65535 => None,
        _ => Some(format!("port {port:?} is not a number from 0 to 65535")),
    }
}

/// Go's loopback test (digest 9.1): the host part, `[]` stripped; `localhost`, 127/8 and `::1`
/// are loopback; an empty host (`:9488`) and any other name are not.
pub fn is_loopback(listen: &str) -> bool {
    let host = match listen.rsplit_once(':') {
        Some((h, port)) if !h.is_empty() && port.chars().all(|c| c.is_ascii_digit()) && !h.ends_with(':') => h,
        Some(("", _)) => "",
        _ => listen,
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    if host.eq_ignore_ascii_case("localhost") {
        return true;
    }
    host.parse::<std::net::IpAddr>().is_ok_and(|ip| ip.is_loopback() && !ip.is_unspecified())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_rule() {
        for yes in ["127.0.0.1:9488", "localhost:1", "[::1]:9488", "127.3.2.1:0", "::1", "localhost"] {
            assert!(is_loopback(yes), "{yes}");
        }
        for no in [":9488", "0.0.0.0:9488", "[::]:9488", "10.0.0.1:80", "example.com:80", ""] {
            assert!(!is_loopback(no), "{no}");
        }
    }

    #[test]
    fn port_rule() {
        for ok in ["127.0.0.1:9488", ":0", "[::1]:65535", "localhost", "::1", "[::1]"] {
            assert_eq!(port_problem(ok), None, "{ok}");
        }
        for bad in ["127.0.0.1:-1", ":abc", "localhost:-1", "[::1]:-1", "127.0.0.1:", "h:65536", "[::1]x", "h:+1"] {
            assert!(port_problem(bad).is_some(), "{bad}");
        }
    }

    #[test]
    fn token_compare_and_debug() {
        let t = Token(b"s3cret-token".to_vec());
        assert!(t.matches(b"s3cret-token"));
        assert!(!t.matches(b"s3cret-tokeN"));
        assert!(!t.matches(b""));
        assert_eq!(format!("{t:?}"), "Token(..)");
    }
}
