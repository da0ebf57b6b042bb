//! TLS to the PostgreSQL store, with libpq's `sslmode` and `sslrootcert` semantics.
//!
//! The mode comes from the URL's `sslmode`, else `PGSSLMODE`, else `prefer`; the CA file from the
//! URL's `sslrootcert`, else `PGSSLROOTCERT`, else `~/.postgresql/root.crt` when it exists. As in
//! libpq:
//!
//! | mode | TLS | server certificate |
//! |---|---|---|
//! | `disable` | never | - |
//! | `allow`, `prefer` | tried first; a server without TLS (or a failed handshake) gets a clear connection | checked against the CA file when there is one |
//! | `require` | or no connection | checked against the CA file when there is one, else not checked |
//! | `verify-ca` | or no connection | signed by a CA of the CA file (which must exist) |
//! | `verify-full` | or no connection | as `verify-ca`, and it names the host connected to |
//!
//! A unix socket never uses TLS, whatever the mode (libpq does not either: the socket is local).
//! Two stricter choices than libpq, because a silent downgrade is what TLS is asked for to
//! prevent: a CA file named explicitly (URL or `PGSSLROOTCERT`) that cannot be read is an error
//! in every mode but `disable`, and `sslrootcert=system` (libpq 16's operating-system store) is
//! refused with a hint to name the CA file, as wrkr carries no system store.
//!
//! Everything up to here is plain parsing and compiled always; the handshake is the `pg-tls`
//! feature (on by default): rustls with the ring provider through `tokio-postgres-rustls`. A
//! build without it refuses `require`, `verify-ca` and `verify-full` before connecting rather than
//! connecting in clear.
//!
//! A certificate that does not verify, or a server without TLS where TLS is required, is
//! `E_UNSAFE_OPERATION` (exit 8): the server is not who the settings say, which retrying does not
//! change (it carries no `connection` detail, so a runner does not ride it out as an outage).

use std::path::{Path, PathBuf};

use postgres::config::SslMode as CrateSslMode;

use crate::contract::{Error, Result};

/// libpq's `sslmode` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SslMode {
    Disable,
    Allow,
    Prefer,
    Require,
    VerifyCa,
    VerifyFull,
}

impl SslMode {
    fn parse(text: &str) -> Option<SslMode> {
        Some(match text {
            "disable" => SslMode::Disable,
            "allow" => SslMode::Allow,
            "prefer" => SslMode::Prefer,
            "require" => SslMode::Require,
            "verify-ca" => SslMode::VerifyCa,
            "verify-full" => SslMode::VerifyFull,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            SslMode::Disable => "disable",
            SslMode::Allow => "allow",
            SslMode::Prefer => "prefer",
            SslMode::Require => "require",
            SslMode::VerifyCa => "verify-ca",
            SslMode::VerifyFull => "verify-full",
        }
    }

    /// Whether a connection without TLS is acceptable.
    pub fn may_fall_back(self) -> bool {
        matches!(self, SslMode::Disable | SslMode::Allow | SslMode::Prefer)
    }

    /// What the postgres crate is told (it knows disable, prefer and require; we verify).
    pub fn for_crate(self) -> CrateSslMode {
        match self {
            SslMode::Disable => CrateSslMode::Disable,
            SslMode::Allow | SslMode::Prefer => CrateSslMode::Prefer,
            SslMode::Require | SslMode::VerifyCa | SslMode::VerifyFull => CrateSslMode::Require,
        }
    }
}

/// The resolved TLS settings of one store URL.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TlsSettings {
    pub mode: SslMode,
    /// The CA file the server's certificate must chain to; `None`: not checked (only in the
    /// modes that allow it).
    pub root_cert: Option<PathBuf>,
}

/// The URL parameters handled here; the postgres crate's parser does not know them all, so
/// they are taken out of the URL before it parses it.
pub const URL_PARAMETERS: [&str; 2] = ["sslmode", "sslrootcert"];

/// Resolve the settings of `url` (with `env` for the libpq variables and `HOME`), refusing what
/// cannot be honoured before anything is sent.
pub fn settings(url: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<TlsSettings> {
    let mode_text = super::connect::query_param(url, "sslmode").or_else(|| env("PGSSLMODE"));
    let mode = match mode_text.as_deref() {
        None => SslMode::Prefer,
        Some(text) => SslMode::parse(text).ok_or_else(|| {
            Error::invalid_input(format!("sslmode={text} is not a libpq sslmode"))
                .with("sslmode", text)
                .with_hint("disable, allow, prefer, require, verify-ca or verify-full")
        })?,
    };
    let from_url = super::connect::query_param(url, "sslrootcert")
        .map(|raw| String::from_utf8_lossy(&crate::serve::routes::percent_decode(&raw)).into_owned());
    let explicit = from_url.or_else(|| env("PGSSLROOTCERT"));
    let root_cert = match explicit {
        _ if mode == SslMode::Disable => None,
        Some(name) if name == "system" => {
            return Err(Error::invalid_input("sslrootcert=system: this build carries no operating-system CA store")
                .with("sslmode", mode.as_str())
                .with_hint("name the CA file that signed the server's certificate: sslrootcert=/path/to/ca.crt"));
        }
        Some(name) => {
            let path = PathBuf::from(name);
            if let Err(e) = std::fs::metadata(&path) {
                return Err(Error::invalid_input(format!("sslrootcert {}: {e}", path.display()))
                    .with("sslmode", mode.as_str())
                    .with("sslrootcert", path.display().to_string())
                    .with_hint("sslrootcert (or PGSSLROOTCERT) must name a readable PEM file of CA certificates"));
            }
            Some(path)
        }
        None => env("HOME").map(|home| Path::new(&home).join(".postgresql/root.crt")).filter(|p| p.is_file()),
    };
    if matches!(mode, SslMode::VerifyCa | SslMode::VerifyFull) && root_cert.is_none() {
        return Err(Error::invalid_input(format!(
            "sslmode={} needs the CA certificate to verify the server with",
            mode.as_str()
        ))
        .with("sslmode", mode.as_str())
        .with_hint("sslrootcert=/path/to/ca.crt in the URL, or PGSSLROOTCERT, or ~/.postgresql/root.crt"));
    }
    if !cfg!(feature = "pg-tls") && !mode.may_fall_back() {
        return Err(Error::invalid_input(format!(
            "sslmode={}: this build is without TLS (cargo feature pg-tls)",
            mode.as_str()
        ))
        .with("sslmode", mode.as_str())
        .with_hint("use a build with default features, or a unix socket, or sslmode=disable|prefer"));
    }
    Ok(TlsSettings { mode, root_cert })
}

/// `url` without the parameters of [`URL_PARAMETERS`] (for the postgres crate's parser).
pub fn without_tls_parameters(url: &str) -> String {
    let Some((base, query)) = url.split_once('?') else { return url.to_owned() };
    let kept: Vec<&str> = query
        .split('&')
        .filter(|pair| !URL_PARAMETERS.iter().any(|name| pair.split('=').next() == Some(name)))
        .collect();
    if kept.is_empty() { base.to_owned() } else { format!("{base}?{}", kept.join("&")) }
}

#[cfg(feature = "pg-tls")]
pub use handshake::{Failure, connect, tls_error};

#[cfg(not(feature = "pg-tls"))]
pub use clear::{Failure, connect, tls_error};

/// Without the `pg-tls` feature: only modes that may go without TLS get here (see [`settings`]).
#[cfg(not(feature = "pg-tls"))]
mod clear {
    use postgres::{Client, Config, NoTls};

    use super::TlsSettings;

    pub enum Failure {
        Postgres(postgres::Error),
        Setup(crate::contract::Error),
    }

    pub fn connect(config: &Config, _: &TlsSettings) -> Result<Client, Failure> {
        let mut clear = config.clone();
        clear.ssl_mode(postgres::config::SslMode::Disable);
        clear.connect(NoTls).map_err(Failure::Postgres)
    }

    pub fn tls_error(_: &postgres::Error, _: &TlsSettings) -> Option<crate::contract::Error> {
        None
    }
}

#[cfg(feature = "pg-tls")]
#[path = "tls_handshake.rs"]
mod handshake;

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(url: &str, vars: &[(&str, &str)]) -> Result<TlsSettings> {
        let vars: Vec<(String, String)> = vars.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        settings(url, &|name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()))
    }

    #[test]
    fn mode_from_the_url_else_pgsslmode_else_prefer() {
        assert_eq!(resolve("postgres://h/db", &[]).unwrap().mode, SslMode::Prefer);
        assert_eq!(resolve("postgres://h/db", &[("PGSSLMODE", "disable")]).unwrap().mode, SslMode::Disable);
        let url = "postgres://h/db?sslmode=disable";
        assert_eq!(resolve(url, &[("PGSSLMODE", "require")]).unwrap().mode, SslMode::Disable);
        let err = resolve("postgres://h/db?sslmode=sometimes", &[]).unwrap_err();
        assert_eq!(err.exit_code(), 6);
    }

    #[test]
    fn verify_modes_need_a_ca_file() {
        let err = resolve("postgres://h/db?sslmode=verify-full", &[("HOME", "/nonexistent")]).unwrap_err();
        assert_eq!(err.exit_code(), 6);
        assert!(err.message.contains("needs the CA certificate"), "{}", err.message);
        let err = resolve("postgres://h/db?sslmode=require&sslrootcert=/nonexistent/ca.crt", &[]).unwrap_err();
        assert_eq!(err.exit_code(), 6);
        let err = resolve("postgres://h/db?sslmode=verify-ca", &[("PGSSLROOTCERT", "system")]).unwrap_err();
        assert!(err.message.contains("system"), "{}", err.message);
        let dir = tempfile::tempdir().unwrap();
        let ca = dir.path().join("ca.crt");
        std::fs::write(&ca, b"").unwrap();
        let ca_text = ca.to_str().unwrap();
        let got = resolve("postgres://h/db?sslmode=verify-ca", &[("PGSSLROOTCERT", ca_text)]).unwrap();
        assert_eq!((got.mode, got.root_cert.as_deref()), (SslMode::VerifyCa, Some(ca.as_path())));
        // libpq's default file is used when it exists, in any mode that tries TLS.
        std::fs::create_dir(dir.path().join(".postgresql")).unwrap();
        std::fs::write(dir.path().join(".postgresql/root.crt"), b"").unwrap();
        let home = dir.path().to_str().unwrap();
        let got = resolve("postgres://h/db", &[("HOME", home)]).unwrap();
        assert_eq!(got.root_cert, Some(dir.path().join(".postgresql/root.crt")));
        assert_eq!(resolve("postgres://h/db?sslmode=disable", &[("HOME", home)]).unwrap().root_cert, None);
    }

    #[test]
    fn tls_parameters_are_taken_out_of_the_url() {
        let url = "postgres://u@h/db?sslmode=verify-full&application_name=x&sslrootcert=/c.pem";
        assert_eq!(without_tls_parameters(url), "postgres://u@h/db?application_name=x");
        assert_eq!(without_tls_parameters("postgres://h/db?sslmode=require"), "postgres://h/db");
        assert_eq!(without_tls_parameters("postgres://h/db"), "postgres://h/db");
    }
}
