//! The PostgreSQL schema: embedded, versioned migrations, applied only by `wrkr store migrate`.
//!
//! `wrkr_migrations` records every version applied. `migrate` takes a session advisory lock
//! (so two hosts migrating at once apply each step once) and applies each missing step in its own
//! transaction together with its row in `wrkr_migrations`. Every other command only *checks* the
//! version when it connects: an older schema (or none) is an error naming `wrkr store migrate`; a
//! newer one (a newer wrkr migrated) is an error asking for the newer wrkr. Migrations are
//! append-only: a released step is never edited, a change is a new step.

use postgres::Client;
use serde_json::{Value, json};

use crate::contract::{Error, Result};
use crate::store::pg::connect::sql_error;

/// One schema step: its version (1, 2, ...), a name, and its SQL.
pub struct Migration {
    pub version: i32,
    pub name: &'static str,
    pub sql: &'static str,
}

pub const MIGRATIONS: &[Migration] = &[
    Migration {
        version: 1,
        name: "jobs, events and job files",
        sql: "
CREATE TABLE wrkr_jobs (
    job_id        text PRIMARY KEY,
    status        text NOT NULL DEFAULT 'queued',
    last_seq      bigint NOT NULL DEFAULT 0,
    lease_epoch   bigint NOT NULL DEFAULT 0,
    lease_worker  text,
    lease_expires text,
    started_at    text,
    updated_at    text,
    snapshot_seq  bigint NOT NULL DEFAULT 0,
    snapshot      bytea
);
CREATE INDEX wrkr_jobs_status ON wrkr_jobs (status);
CREATE TABLE wrkr_events (
    job_id text NOT NULL REFERENCES wrkr_jobs (job_id),
    seq    bigint NOT NULL CHECK (seq >= 1),
    line   bytea NOT NULL,
    PRIMARY KEY (job_id, seq)
);
CREATE TABLE wrkr_job_files (
    job_id text NOT NULL REFERENCES wrkr_jobs (job_id),
    name   text NOT NULL,
    bytes  bytea NOT NULL,
    PRIMARY KEY (job_id, name)
);
",
    },
    Migration {
        version: 2,
        name: "worker queue: labels of jobs queued for workers",
        sql: "
ALTER TABLE wrkr_jobs ADD COLUMN queue_labels text[];
CREATE INDEX wrkr_jobs_queued ON wrkr_jobs (started_at) WHERE queue_labels IS NOT NULL;
",
    },
];

/// The schema version this wrkr reads and writes.
pub fn latest() -> i32 {
    MIGRATIONS.last().map_or(0, |m| m.version)
}

/// Arbitrary but fixed: the advisory lock key that serialises `wrkr store migrate` runs.
const MIGRATE_LOCK: i64 = 0x0077_726b_726d_6967; // "wrkrmig"

/// The schema version of the store (0: never migrated).
pub fn version(client: &mut Client) -> Result<i32> {
    let exists: bool = client
        .query_one("SELECT to_regclass('wrkr_migrations') IS NOT NULL", &[])
        .map_err(|e| sql_error("read the schema version", &e))?
        .get(0);
    if !exists {
        return Ok(0);
    }
    let row = client
        .query_one("SELECT coalesce(max(version), 0) FROM wrkr_migrations", &[])
        .map_err(|e| sql_error("read the schema version", &e))?;
    Ok(row.get(0))
}

/// Refuse a store whose schema is not the one this wrkr knows.
pub fn check(client: &mut Client, store: &str) -> Result<()> {
    let have = version(client)?;
    let want = latest();
    if have == want {
        return Ok(());
    }
    let err = Error::invalid_input(format!("the PostgreSQL store is at schema version {have}; this wrkr needs {want}"))
        .with("store", store)
        .with("schema_version", have)
        .with("required_version", want);
    Err(if have < want {
        err.with_hint(format!("run: wrkr store migrate --store {store}"))
    } else {
        err.with_hint("a newer wrkr migrated this store: upgrade wrkr")
    })
}

/// Apply every missing step under the advisory lock. Returns what was done, as JSON.
pub fn migrate(client: &mut Client, store: &str) -> Result<Value> {
    client
        .execute("SELECT pg_advisory_lock($1)", &[&MIGRATE_LOCK])
        .map_err(|e| sql_error("take the migrate lock", &e))?;
    let result = migrate_locked(client, store);
    let unlocked = client.execute("SELECT pg_advisory_unlock($1)", &[&MIGRATE_LOCK]);
    let report = result?;
    unlocked.map_err(|e| sql_error("release the migrate lock", &e))?;
    Ok(report)
}

fn migrate_locked(client: &mut Client, store: &str) -> Result<Value> {
    client
        .batch_execute(
            "CREATE TABLE IF NOT EXISTS wrkr_migrations (
                version    integer PRIMARY KEY,
                name       text NOT NULL,
                applied_at timestamptz NOT NULL DEFAULT now())",
        )
        .map_err(|e| sql_error("create wrkr_migrations", &e))?;
    let from = version(client)?;
    if from > latest() {
        return check(client, store).map(|()| Value::Null);
    }
    let mut applied = Vec::new();
    for step in MIGRATIONS.iter().filter(|m| m.version > from) {
        let mut tx = client.transaction().map_err(|e| sql_error("begin", &e))?;
        tx.batch_execute(step.sql).map_err(|e| sql_error(&format!("migration {}", step.version), &e))?;
        tx.execute("INSERT INTO wrkr_migrations (version, name) VALUES ($1, $2)", &[&step.version, &step.name])
            .map_err(|e| sql_error("record the migration", &e))?;
        tx.commit().map_err(|e| sql_error(&format!("commit migration {}", step.version), &e))?;
        applied.push(json!({"version": step.version, "name": step.name}));
    }
    Ok(json!({"store": store, "from_version": from, "to_version": latest(), "applied": applied}))
}
