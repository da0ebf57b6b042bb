//! Connecting to PostgreSQL the way libpq users expect.
//!
//! The store URL (`postgres://user:pass@host:port/db?sslmode=...&host=/socket/dir`) is parsed by
//! the `postgres` crate; what it leaves out is filled from the libpq variables `PGHOST`, `PGPORT`,
//! `PGUSER`, `PGPASSWORD`, `PGDATABASE`, `PGAPPNAME`, `PGCONNECT_TIMEOUT` and `PGSSLMODE`, as libpq
//! does (the URL wins). With no host at all, the Debian socket directory `/var/run/postgresql` is
//! used when it exists, else `localhost`. The user defaults to the OS user, the database to the
//! user. The password: the URL's, else `PGPASSWORD`, else the matching line of the file
//! `$PGPASSFILE` (`passfile`: how the runner hands it to steps); `~/.pgpass` and service files
//! are not read.
//!
//! A worker cut off from the server must hear about it within seconds, not hang for the kernel's
//! 15-minute retransmission limit, so every connection gets, unless the URL sets them: TCP
//! keepalives (`keepalives_idle=5`, `keepalives_interval=1`, `keepalives_retries=3`: an idle
//! connection to a dead peer fails in about 8 s), `tcp_user_timeout=10000` (ms: a request the
//! server does not acknowledge fails the connection after 10 s), a 5 s `connect_timeout`, and
//! `statement_timeout` (60 s, or `WRKR_STATEMENT_TIMEOUT_MS`: the server cancels a statement
//! stuck longer; always above the lock timeout, which bounds a busy row on its own). A connection
//! that failed is replaced by a fresh one at the next use (`PgStore::client`).
//!
//! TLS: `sslmode` and `sslrootcert` (also `PGSSLMODE`, `PGSSLROOTCERT`) with libpq's meaning,
//! resolved and checked before connecting; see `tls.rs`.

use std::time::Duration;

use postgres::{Client, Config};

use crate::contract::{Error, ReasonCode, Result};

/// Connect to the store at `url`; errors name the store with its password hidden.
pub fn connect(url: &str) -> Result<Client> {
    let env = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    let (config, tls) = settings(url, &env)?;
    let mut client = super::tls::connect(&config, &tls).map_err(|failure| match failure {
        super::tls::Failure::Setup(e) => e.with("store", redact(url)),
        super::tls::Failure::Postgres(e) => match super::tls::tls_error(&e, &tls) {
            Some(refused) => refused.with("store", redact(url)),
            None => Error::generic(format!("cannot connect to the PostgreSQL store: {}", describe(&e)))
                .with("store", redact(url))
                .with(CONNECTION, "unreachable")
                .with_hint("check the URL and the PG* variables (PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE)"),
        },
    })?;
    // A busy job row waits as long as a busy file lock would, then says so (E_LEASE_CONFLICT).
    let lock_timeout = crate::store::lock::timeout().as_millis();
    client
        .batch_execute(&format!(
            "SET lock_timeout = {lock_timeout}; SET statement_timeout = {}",
            statement_timeout(lock_timeout)
        ))
        .map_err(|e| sql_error("set lock_timeout", &e))?;
    Ok(client)
}

/// The server-side bound of one statement, in ms: `WRKR_STATEMENT_TIMEOUT_MS` (default 60 s),
/// never below the lock timeout plus 5 s, so that a busy row is still reported as busy.
fn statement_timeout(lock_timeout_ms: u128) -> u128 {
    let configured = std::env::var("WRKR_STATEMENT_TIMEOUT_MS").ok().and_then(|v| v.trim().parse::<u128>().ok());
    configured.unwrap_or(60_000).max(lock_timeout_ms + 5_000)
}

/// Fill in the network timeouts the URL leaves out (see the module essay for why these values).
fn network_defaults(url: &str, config: &mut Config) {
    if query_param(url, "keepalives").is_none() {
        config.keepalives(true);
    }
    if query_param(url, "keepalives_idle").is_none() {
        config.keepalives_idle(Duration::from_secs(5));
    }
    if query_param(url, "keepalives_interval").is_none() {
        config.keepalives_interval(Duration::from_secs(1));
    }
    if query_param(url, "keepalives_retries").is_none() {
        config.keepalives_retries(3);
    }
    // libpq reads tcp_user_timeout in milliseconds, the postgres crate in seconds: libpq wins.
    match query_param(url, "tcp_user_timeout").map(|ms| ms.trim().parse::<u64>()) {
        None => {
            config.tcp_user_timeout(Duration::from_secs(10));
        }
        Some(Ok(ms)) if ms > 0 => {
            config.tcp_user_timeout(Duration::from_millis(ms));
        }
        Some(_) => {}
    }
}

/// The connection settings for `url` and its TLS settings, with unset ones taken from `env`
/// (libpq's variables).
pub fn settings(url: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<(Config, super::tls::TlsSettings)> {
    let tls = super::tls::settings(url, env).map_err(|e| e.with("store", redact(url)))?;
    let mut config = config(&super::tls::without_tls_parameters(url), env)?;
    config.ssl_mode(tls.mode.for_crate());
    Ok((config, tls))
}

/// The connection settings for `url` (without its TLS parameters, see [`settings`]), with unset
/// ones taken from `env` (libpq's variables).
pub fn config(url: &str, env: &dyn Fn(&str) -> Option<String>) -> Result<Config> {
    let mut config: Config = url.parse().map_err(|e: postgres::Error| {
        Error::invalid_input(format!("not a PostgreSQL URL: {e}"))
            .with("store", redact(url))
            .with_hint("postgres://USER:PASSWORD@HOST:PORT/DATABASE, or postgres:///DATABASE?host=/socket/dir")
    })?;
    if config.get_hosts().is_empty() {
        match env("PGHOST") {
            Some(hosts) => hosts.split(',').for_each(|h| {
                config.host(h);
            }),
            None if std::path::Path::new("/var/run/postgresql").is_dir() => {
                config.host("/var/run/postgresql");
            }
            None => {
                config.host("localhost");
            }
        }
    }
    if config.get_ports().is_empty()
        && let Some(port) = env("PGPORT")
    {
        let port = port.parse().map_err(|_| Error::invalid_input(format!("PGPORT is not a port: {port:?}")))?;
        config.port(port);
    }
    if config.get_user().is_none()
        && let Some(user) = env("PGUSER")
    {
        config.user(&user);
    }
    if config.get_password().is_none()
        && let Some(password) = env("PGPASSWORD")
    {
        config.password(password);
    }
    if config.get_dbname().is_none()
        && let Some(db) = env("PGDATABASE")
    {
        config.dbname(&db);
    }
    // Last, as libpq: the file is matched against the host, port, database and user above.
    if config.get_password().is_none()
        && let Some(password) = env("PGPASSFILE").and_then(|path| super::passfile::lookup(path.as_ref(), &config))
    {
        config.password(password);
    }
    if config.get_application_name().is_none() {
        config.application_name(&env("PGAPPNAME").unwrap_or_else(|| "wrkr".into()));
    }
    if config.get_connect_timeout().is_none() {
        let seconds = env("PGCONNECT_TIMEOUT").and_then(|s| s.parse::<u64>().ok()).unwrap_or(5);
        config.connect_timeout(Duration::from_secs(seconds.max(2)));
    }
    network_defaults(url, &mut config);
    Ok(config)
}

pub(super) fn query_param(url: &str, name: &str) -> Option<String> {
    let query = url.split_once('?')?.1;
    query.split('&').find_map(|pair| pair.strip_prefix(name)?.strip_prefix('=').map(str::to_owned))
}

/// The URL with any password replaced by `***`, for messages.
pub fn redact(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{user}:***@{host}"),
            None => format!("{userinfo}@{host}"),
        },
        None => authority.to_owned(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let query: Vec<String> = query
                .split('&')
                .map(|p| if p.starts_with("password=") { "password=***".to_owned() } else { p.to_owned() })
                .collect();
            format!("{path}?{}", query.join("&"))
        }
        None => tail.to_owned(),
    };
    format!("{scheme}://{authority}{tail}")
}

/// A database error's message with its SQLSTATE, or the transport error.
pub fn describe(err: &postgres::Error) -> String {
    match err.as_db_error() {
        Some(db) => format!("{} (SQLSTATE {})", db.message(), db.code().code()),
        None => err.to_string(),
    }
}

/// A failed statement: a busy row past the lock timeout is the file store's busy lock
/// (`E_LEASE_CONFLICT`); anything else is a generic failure carrying the SQLSTATE.
pub fn sql_error(what: &str, err: &postgres::Error) -> Error {
    let state = err.code().map(|c| c.code().to_owned());
    if state.as_deref() == Some("55P03") {
        return Error::new(ReasonCode::LeaseConflict, "the job is busy: its row lock is held")
            .with("busy", "store_lock")
            .with_hint("another wrkr process is appending to this job; retry later");
    }
    let mut error = Error::generic(format!("{what}: {}", describe(err)));
    if let Some(state) = &state {
        error = error.with("sqlstate", state.as_str());
    }
    // Class 08 is a connection exception, 57P01-57P03 a server shutting down or starting up.
    let server_going = state.as_deref().is_some_and(|s| s.starts_with("08") || s.starts_with("57P0"));
    if err.is_closed() || err.as_db_error().is_none() || server_going {
        // Not an answer to the statement: the connection broke (a cut link, a restart). The next
        // use reconnects, and a runner rides such an outage out (`run::outage`).
        error = error.with(CONNECTION, "lost");
    }
    error
}

/// The detail that marks an error as the connection's, not the statement's: worth retrying.
pub const CONNECTION: &str = "connection";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_are_hidden() {
        assert_eq!(redact("postgres://u:secret@h:5/db?x=1"), "postgres://u:***@h:5/db?x=1");
        assert_eq!(redact("postgres://u@h/db?password=p&a=b"), "postgres://u@h/db?password=***&a=b");
        assert_eq!(redact("postgresql:///db"), "postgresql:///db");
    }

    #[test]
    fn libpq_variables_fill_what_the_url_leaves_out() {
        let env = |name: &str| match name {
            "PGHOST" => Some("/run/pg".to_owned()),
            "PGUSER" => Some("alice".to_owned()),
            "PGDATABASE" => Some("jobs".to_owned()),
            "PGPORT" => Some("6543".to_owned()),
            _ => None,
        };
        let c = config("postgres://", &env).unwrap();
        assert_eq!((c.get_user(), c.get_dbname(), c.get_ports()), (Some("alice"), Some("jobs"), &[6543][..]));
        let c = config("postgres://bob@db.example:5432/prod", &env).unwrap();
        assert_eq!((c.get_user(), c.get_dbname(), c.get_ports()), (Some("bob"), Some("prod"), &[5432][..]));
        assert!(matches!(&c.get_hosts()[0], postgres::config::Host::Tcp(h) if h == "db.example"));
        assert_eq!(c.get_keepalives_idle(), Duration::from_secs(5));
        assert_eq!(c.get_tcp_user_timeout(), Some(&Duration::from_secs(10)));
        assert_eq!(c.get_connect_timeout(), Some(&Duration::from_secs(5)));
        let c = config("postgres://h/db?keepalives_idle=30&tcp_user_timeout=2000", &env).unwrap();
        assert_eq!(c.get_keepalives_idle(), Duration::from_secs(30));
        assert_eq!(c.get_tcp_user_timeout(), Some(&Duration::from_millis(2000)));
        let err = settings("postgres://h/db?sslmode=verify-full", &env).unwrap_err();
        assert_eq!(err.exit_code(), 6);
        let (c, tls) = settings("postgres://h/db?sslmode=require&connect_timeout=7", &env).unwrap();
        assert_eq!(
            (c.get_ssl_mode(), tls.mode),
            (postgres::config::SslMode::Require, super::super::tls::SslMode::Require)
        );
        assert_eq!(c.get_connect_timeout(), Some(&Duration::from_secs(7)));
    }
}
