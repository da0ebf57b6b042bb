//! wrkr store migrate|version: the PostgreSQL store's schema.
//!
//! `migrate` is the only command that changes the schema: it applies the embedded migrations that
//! the store lacks, under an advisory lock, and reports what it did. Every other command checks
//! the version when it connects and refuses an old store with a hint naming this command.
//! `version` reports the store's schema version and the one this wrkr needs, changing nothing.
//! A file store has no schema: both say so and succeed (`"backend": "file"`).

use serde_json::{Value, json};

use crate::cli::args::Args;
use crate::cli::io::Io;
use crate::cli::spec::{Command, Example, Kind};
use crate::contract::{Error, Result};
use crate::store::pg::schema;
use crate::store::{Location, PgStore, location};

pub const COMMAND: Command = Command {
    name: "store",
    kind: Kind::Command,
    about: "Migrate or inspect the schema of a PostgreSQL store",
    usage: "migrate | version",
    long_about: "A PostgreSQL store (--store postgres://... or WRKR_STORE) has a versioned schema. `migrate` applies \
                 what is missing, under an advisory lock, so two hosts may run it at once; every other command \
                 refuses a store whose schema is older (E_INVALID_INPUT_SCHEMA, exit 6, naming this command). \
                 `version` prints the store's version and the one this wrkr needs. The PG* variables of libpq \
                 (PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE, PGSSLMODE) fill in what the URL leaves out.",
    flags: &[],
    examples: &[
        Example {
            command: "wrkr store migrate --store postgres://wrkr@db.internal/wrkr",
            what: "Create or upgrade the schema; prints the versions before and after.",
        },
        Example { command: "WRKR_STORE=postgres:///wrkr wrkr store version", what: "Check without changing anything." },
    ],
    run,
};

fn run(args: Args, io: &mut Io) -> Result<()> {
    let words = args.positional_strings()?;
    let verb = match words.as_slice() {
        [verb] if verb == "migrate" || verb == "version" => verb.as_str(),
        _ => return Err(Error::invalid_input("usage: wrkr store migrate|version").with_hint("wrkr store --help")),
    };
    let report = match location::locate(args.store.as_deref())? {
        Location::Dir(dir) => json!({"backend": "file", "store": dir.display().to_string()}),
        Location::Postgres(url) => {
            let store = PgStore::open_unchecked(&url)?;
            let mut client = store.client()?;
            let mut report = if verb == "migrate" {
                schema::migrate(&mut client, store.name())?
            } else {
                let have = schema::version(&mut client)?;
                json!({"store": store.name(), "schema_version": have, "required_version": schema::latest()})
            };
            if let Value::Object(map) = &mut report {
                map.insert("backend".into(), json!("postgres"));
            }
            report
        }
    };
    if io.json {
        return io.pretty(&report);
    }
    let text = match (&report["backend"], verb) {
        (Value::String(b), _) if b == "file" => format!("file store {}: no schema to migrate", report["store"]),
        (_, "migrate") => {
            format!("store schema version {} -> {}", report["from_version"], report["to_version"])
        }
        _ => format!(
            "store schema version {} (this wrkr needs {})",
            report["schema_version"], report["required_version"]
        ),
    };
    io.line(&text)
}
