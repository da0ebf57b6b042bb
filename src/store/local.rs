//! The worker's local disk: the files a running job keeps on the host that runs it, whichever
//! store holds its ledger.
//!
//! What lives here, and why it is not in the store (docs/contracts/runner.md, "Where a runner
//! keeps its files"): the step's log files (streamed as the step writes them, unbounded but
//! capped, and read by `wrkr logs` on the same host), the step group record (a process group id
//! means something only on the host that started it), the foreground watchdog's pipe, and a
//! detached runner's `runner.log`. Everything another host needs to continue, export or accept
//! the job is in the store: the ledger and the job files.
//!
//! On the file store the local directory is the job's directory in the store, as it always was.
//! On PostgreSQL it is `$WRKR_HOME` (else `~/.wrkr`) + `pg/<store>/jobs/<job>`, where `<store>` is
//! the first 16 hex digits of the SHA-256 of the store URL with its password hidden: two stores
//! never share a directory, and rotating a password does not move it.

use std::path::{Path, PathBuf};

use crate::contract::{Error, Result};
use crate::store::location::Location;
use crate::store::{FsStore, JobId, pg};

/// The directory on this host where `job` of the store at `location` keeps its local files.
pub fn job_dir(location: &Location, job: &JobId) -> Result<PathBuf> {
    match location {
        Location::Dir(root) => Ok(FsStore::new(root.clone()).job_dir(job)),
        Location::Postgres(url) => {
            let store = crate::digest::sha256_hex(pg::connect::redact(url).as_bytes());
            Ok(local_root()?.join("pg").join(&store[..16]).join("jobs").join(job.as_str()))
        }
    }
}

/// `$WRKR_HOME`, else `$HOME/.wrkr`: where a host keeps what is its own.
fn local_root() -> Result<PathBuf> {
    let home = |name| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    home("WRKR_HOME").or_else(|| home("HOME").map(|h| h.join(".wrkr"))).ok_or_else(|| {
        Error::invalid_input("no local directory for the job's logs: neither WRKR_HOME nor HOME is set")
            .with_hint("set WRKR_HOME to a directory on this host")
    })
}

/// The variables that point a step's own `wrkr` calls at the store it runs in: `WRKR_HOME` for a
/// file store; `WRKR_STORE` for PostgreSQL, never with a password in it: the URL's password, else
/// this process's `PGPASSWORD`, goes into a 0600 password file in `dir` (the job's local
/// directory, or wrap's private log directory), named by `PGPASSFILE` (`pg::passfile`), so a
/// step's environment and anything that logs it hold no password. The step does not inherit
/// `PGPASSWORD` either ([`STRIPPED_FROM_STEPS`], removed by `run::process`).
pub fn store_env(location: &Location, dir: &Path) -> Result<Vec<(String, String)>> {
    let url = match location {
        Location::Dir(root) => return Ok(vec![("WRKR_HOME".into(), root.display().to_string())]),
        Location::Postgres(url) => url,
    };
    let (bare, password) = match pg::passfile::split(url) {
        Some((bare, password)) => (bare, Some(password)),
        None => (url.clone(), std::env::var("PGPASSWORD").ok().filter(|p| !p.is_empty()).map(String::into_bytes)),
    };
    let mut vars = vec![("WRKR_STORE".to_owned(), bare)];
    if let Some(password) = password {
        vars.push(("PGPASSFILE".into(), pg::passfile::write(dir, &password)?.display().to_string()));
    }
    Ok(vars)
}

/// What a step on a PostgreSQL store (its `WRKR_STORE` a `postgres://` URL) does not inherit from
/// the process that runs it: the store's password, which it gets through `PGPASSFILE` instead.
pub const STRIPPED_FROM_STEPS: [&str; 1] = ["PGPASSWORD"];
