//! Which store an invocation works on: a directory (the file store) or a PostgreSQL URL.
//!
//! Order: the global `--store` value, else `$WRKR_STORE`, else `$WRKR_HOME`, else `$HOME/.wrkr`.
//! A value that starts with `postgres://` or `postgresql://` names a PostgreSQL store; anything
//! else is a directory, so every existing `--store DIR` and `WRKR_HOME` keeps meaning what it did.
//! `$WRKR_HOME` is always a directory (it is also where other tools look for files).

use std::path::{Path, PathBuf};

use crate::contract::{Error, Result};

/// Where the store lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Location {
    Dir(PathBuf),
    /// A libpq-style URL; `PG*` variables fill in what it leaves out (see `pg::connect`).
    Postgres(String),
}

impl Location {
    fn of(value: &Path) -> Location {
        match value.to_str() {
            Some(url) if is_postgres_url(url) => Location::Postgres(url.to_owned()),
            _ => Location::Dir(value.to_path_buf()),
        }
    }
}

pub fn is_postgres_url(value: &str) -> bool {
    value.starts_with("postgres://") || value.starts_with("postgresql://")
}

/// The store named by `--store`, `$WRKR_STORE`, `$WRKR_HOME` or `$HOME/.wrkr`, in that order.
pub fn locate(store_flag: Option<&Path>) -> Result<Location> {
    if let Some(value) = store_flag {
        return Ok(Location::of(value));
    }
    if let Some(value) = std::env::var_os("WRKR_STORE").filter(|v| !v.is_empty()) {
        return Ok(Location::of(Path::new(&value)));
    }
    if let Some(home) = std::env::var_os("WRKR_HOME").filter(|v| !v.is_empty()) {
        return Ok(Location::Dir(PathBuf::from(home)));
    }
    match std::env::var_os("HOME").filter(|v| !v.is_empty()) {
        Some(home) => Ok(Location::Dir(PathBuf::from(home).join(".wrkr"))),
        None => Err(Error::invalid_input("no store: neither --store, WRKR_STORE, WRKR_HOME nor HOME is set")
            .with_hint("pass --store DIR|postgres://... or set WRKR_HOME")),
    }
}

/// The error for a command that runs only on a file store, asked to run on PostgreSQL.
pub fn file_store_only(url: &str) -> Error {
    Error::invalid_input("this command does not run on a PostgreSQL store yet")
        .with("store", crate::store::pg::connect::redact(url))
        .with_hint(
            "run it on a file store (--store DIR); on PostgreSQL run so far: wrkr-events, wrkr-lease, submit, resume, \
             status, jobs, checkpoint, approve, pause, cancel, budget, export, job, receipt, report, bridge",
        )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_and_dirs() {
        assert_eq!(Location::of(Path::new("postgres://h/db")), Location::Postgres("postgres://h/db".into()));
        assert_eq!(Location::of(Path::new("postgresql:///db")), Location::Postgres("postgresql:///db".into()));
        assert_eq!(Location::of(Path::new("postgres")), Location::Dir("postgres".into()));
        assert_eq!(Location::of(Path::new("./postgres://x")), Location::Dir("./postgres://x".into()));
    }
}
