//! Keeping the store's password out of a step's environment: the runner gives a step the store
//! URL without its password (`WRKR_STORE`) and the password in a libpq password file
//! (`PGPASSFILE`, mode 0600, in the job's directory on the worker's disk), which `connect` reads as
//! libpq does. A step's own `wrkr checkpoint emit` (or `psql`) still reaches the store; `env`,
//! `ps e`, a crash dump of the environment or a step that logs its variables show no password.
//!
//! The file format is libpq's (`hostname:port:database:username:password`, `*` matches anything,
//! `\` escapes `:` and `\`); the runner writes one line `*:*:*:*:<password>`, since the file
//! belongs to one store. Only `$PGPASSFILE` is read, never `~/.pgpass` (a store URL or
//! `PGPASSWORD` stays what it was everywhere else).

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use postgres::Config;
use postgres::config::Host;

use crate::contract::{Error, Result};

/// The file name the runner writes in a job's local directory.
pub const FILE: &str = "store.pgpass";

/// The URL's password (from `user:PASSWORD@` or `?password=`), and the URL without it.
/// `None` when the URL holds no password (or does not parse: `connect` reports that).
pub fn split(url: &str) -> Option<(String, Vec<u8>)> {
    // The TLS parameters (verify-full, sslrootcert) are ours, not the postgres crate's: without
    // them the URL parses, so a password next to them is found too.
    let config: Config = super::tls::without_tls_parameters(url).parse().ok()?;
    let password = config.get_password()?.to_vec();
    Some((without_password(url), password))
}

/// `url` with its password removed (the user name stays).
fn without_password(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else { return url.to_owned() };
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(authority_end);
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _)) => format!("{user}@{host}"),
            None => format!("{userinfo}@{host}"),
        },
        None => authority.to_owned(),
    };
    let tail = match tail.split_once('?') {
        Some((path, query)) => {
            let kept: Vec<&str> = query.split('&').filter(|p| !p.starts_with("password=")).collect();
            if kept.is_empty() { path.to_owned() } else { format!("{path}?{}", kept.join("&")) }
        }
        None => tail.to_owned(),
    };
    format!("{scheme}://{authority}{tail}")
}

/// Write `password` as the password file `dir/store.pgpass` (0600, replacing any older one).
pub fn write(dir: &Path, password: &[u8]) -> Result<PathBuf> {
    let path = dir.join(FILE);
    let mut line = b"*:*:*:*:".to_vec();
    for &byte in password {
        if byte == b':' || byte == b'\\' {
            line.push(b'\\');
        }
        line.push(byte);
    }
    line.push(b'\n');
    let _ = std::fs::remove_file(&path);
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .and_then(|mut f| f.write_all(&line))
        .map_err(|e| Error::io(format!("write the store password file {}", path.display()), e))?;
    Ok(path)
}

/// The password the file at `path` holds for `config`'s first host, port, database and user, as
/// libpq looks it up (first matching line wins; a unix socket matches `localhost`). `None` when
/// the file is missing or unreadable, or no line matches.
pub fn lookup(path: &Path, config: &Config) -> Option<Vec<u8>> {
    let text = std::fs::read(path).ok()?;
    let host = match config.get_hosts().first() {
        Some(Host::Tcp(name)) => name.clone(),
        _ => "localhost".to_owned(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432).to_string();
    let user = config.get_user().unwrap_or_default();
    let database = config.get_dbname().unwrap_or(user);
    let wanted = [host.as_bytes(), port.as_bytes(), database.as_bytes(), user.as_bytes()];
    text.split(|&b| b == b'\n').filter(|l| !l.starts_with(b"#")).find_map(|line| {
        let fields = fields(line.strip_suffix(b"\r").unwrap_or(line));
        let [h, p, d, u, password] = <[Vec<u8>; 5]>::try_from(fields).ok()?;
        let matches = [h, p, d, u].iter().zip(wanted).all(|(field, want)| field == b"*" || field == want);
        matches.then_some(password)
    })
}

/// A line's `:`-separated fields, with `\` escapes undone.
fn fields(line: &[u8]) -> Vec<Vec<u8>> {
    let mut out = vec![Vec::new()];
    let mut bytes = line.iter();
    while let Some(&byte) = bytes.next() {
        match byte {
            b'\\' => out.last_mut().into_iter().for_each(|f| f.extend(bytes.next())),
            b':' if out.len() < 5 => out.push(Vec::new()),
            _ => out.last_mut().into_iter().for_each(|f| f.push(byte)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_password_leaves_the_url() {
        let (bare, password) = split("postgres://u:s%3Acret@db:5433/x?sslmode=disable").unwrap();
        assert_eq!((bare.as_str(), password.as_slice()), ("postgres://u@db:5433/x?sslmode=disable", &b"s:cret"[..]));
        let (bare, password) = split("postgres:///x?user=u&password=pw&host=/tmp/s").unwrap();
        assert_eq!((bare.as_str(), password.as_slice()), ("postgres:///x?user=u&host=/tmp/s", &b"pw"[..]));
        assert_eq!(split("postgres:///x?password=pw").unwrap().0, "postgres:///x");
        assert!(split("postgres://u@db/x").is_none());
        // TLS parameters the postgres crate does not parse do not hide the password.
        let (bare, password) = split("postgres://u:pw@db/x?sslmode=verify-full&sslrootcert=/ca.crt").unwrap();
        assert_eq!(
            (bare.as_str(), password.as_slice()),
            ("postgres://u@db/x?sslmode=verify-full&sslrootcert=/ca.crt", &b"pw"[..])
        );
    }

    #[test]
    fn written_files_are_read_back_as_libpq_reads_them() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), b"a:b\\c").unwrap();
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        let config: Config = "postgres://u@db/x".parse().unwrap();
        assert_eq!(lookup(&path, &config).as_deref(), Some(&b"a:b\\c"[..]));

        std::fs::write(&path, "# comment\nother:*:*:*:no\ndb:5432:x:u:yes\n*:*:*:*:fallback\n").unwrap();
        assert_eq!(lookup(&path, &config).as_deref(), Some(&b"yes"[..]));
        let elsewhere: Config = "postgres://v@db/y".parse().unwrap();
        assert_eq!(lookup(&path, &elsewhere).as_deref(), Some(&b"fallback"[..]));
        assert_eq!(lookup(&dir.path().join("missing"), &config), None);
    }
}
