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

/// What still needs a file store, and why: the one place that says so. `(command, what, why)`:
/// `command` is the command table's name (what [`file_store_only`] is called with), `what` how a
/// person names the refused use. docs/contracts/store.md carries the same table; every other
/// command and tool runs on either store.
pub const FILE_STORE_ONLY: &[(&str, &str, &str)] = &[
    ("demo", "wrkr demo", "it writes its sample job into a file store"),
    ("doctor", "wrkr doctor --production-readiness", "it checks the file store's directory and permissions"),
    ("logs --follow", "wrkr logs --follow", "a running step's output is on its worker's disk until the step ends"),
    (
        "serve submit",
        "wrkr serve: POST /v1/jobs:submit and /v1/jobs/{job_id}:resume",
        "serve starts runners on the file store only so far",
    ),
];

/// The error for `command` (a name in [`FILE_STORE_ONLY`]) asked to run on the PostgreSQL store
/// at `url`: exit 6, naming the command and saying why.
pub fn file_store_only(command: &str, url: &str) -> Error {
    let (what, why) = FILE_STORE_ONLY
        .iter()
        .find(|(name, _, _)| *name == command)
        .map_or((command, "it needs a file store"), |(_, what, why)| (*what, *why));
    Error::invalid_input(format!("{what} does not run on a PostgreSQL store yet: {why}"))
        .with("command", what)
        .with("store", crate::store::pg::connect::redact(url))
        .with_hint("run it on a file store (--store DIR); docs/contracts/store.md lists what needs one")
}

/// [`file_store_only`] for the store this invocation would use (`$WRKR_STORE`, ...), for a use
/// refused after the store is open.
pub fn not_on_postgres(command: &str) -> Error {
    match locate(None) {
        Ok(Location::Postgres(url)) => file_store_only(command, &url),
        _ => file_store_only(command, "postgres://"),
    }
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
