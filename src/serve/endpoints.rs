//! The read-only endpoints, and what every handler is given.
//!
//! A handler is a plain synchronous function over the core (the same library calls the CLI
//! commands make); the server runs it on tokio's blocking pool so that a slow store read never
//! stalls the accept loop. A route may also have an inline answer ([`Inline`]): bounded work from
//! memory, tried on the runtime thread first (`GET status` from `serve::status_cache`). Handlers see ids only after validation ([`Call::job`]), paths only after
//! confinement (`serve::confine`), and bodies only after the size limit. The state-changing
//! endpoints live in `serve::actions`.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use serde_json::{Value, json};

use crate::cmd::{checkpoint, jobs, status};
use crate::contract::time::Timestamp;
use crate::contract::{Error, PRODUCER_VERSION, Result};
use crate::job::projection::Capture;
use crate::pack::export::pack_job;
use crate::serve::reply::{self, Reply};
use crate::serve::routes::{Body, Captures, percent_decode};
use crate::serve::status_cache::StatusCache;
use crate::store::{FsStore, JOBSPEC_EVENT, JobId, Location, Store};

pub use crate::serve::actions::{accept, approve, cancel, emit, export, pause, report_github, resume, submit, verify};

/// What the server knows, shared by every request.
#[derive(Clone, Debug)]
pub struct Ctx {
    /// The store every request works on, either backend (each request opens its own handle).
    pub store: Location,
    /// The canonical working directory every path parameter is confined to.
    pub cwd: PathBuf,
    pub lease_ttl: Duration,
    /// Status answers kept while their job's ledger is unchanged (file store only).
    pub status_cache: Arc<StatusCache>,
}

/// One request, as a handler sees it.
pub struct Call<'a> {
    pub ctx: &'a Ctx,
    pub captures: Captures,
    pub body: &'a [u8],
    pub body_kind: Body,
    /// The raw query string (without `?`), empty when absent.
    pub query: &'a str,
}

pub type Handler = fn(&Call<'_>) -> Result<Reply>;

/// An answer from memory on the runtime thread, or `None` to run the route's [`Handler`] on the
/// pool. It must be bounded: no path look-up, no read, no work that grows with the job.
pub type Inline = fn(&Call<'_>) -> Option<Reply>;

impl Call<'_> {
    pub fn store(&self) -> Result<Box<dyn Store + Send>> {
        crate::store::open_at(&self.ctx.store)
    }

    /// The file store, for an endpoint that runs only there (`store::location::FILE_STORE_ONLY`).
    pub fn file_store(&self) -> Result<FsStore> {
        match &self.ctx.store {
            Location::Dir(root) => Ok(FsStore::new(root.clone())),
            Location::Postgres(url) => Err(crate::store::location::file_store_only("serve submit", url)),
        }
    }

    /// The `{job_id}` of the route, validated.
    pub fn job(&self) -> Result<JobId> {
        JobId::parse(self.captures.job_id.as_deref().unwrap_or_default())
    }

    /// The validated job, which must exist.
    pub fn existing_job(&self, store: &dyn Store) -> Result<JobId> {
        let job = self.job()?;
        store.state(&job)?;
        Ok(job)
    }

    pub fn decode<T: serde::de::DeserializeOwned>(&self) -> Result<T> {
        reply::decode(self.body, self.body_kind)
    }
}

pub fn healthz(_: &Call<'_>) -> Result<Reply> {
    Ok(Reply::json(200, &json!({"status": "ok", "producer_version": PRODUCER_VERSION})))
}

pub fn openapi(_: &Call<'_>) -> Result<Reply> {
    Ok(Reply::bytes(reply::JSON, crate::contract::schema::OPENAPI.as_bytes().to_vec()))
}

/// `GET /v1/jobs`: `{"jobs": [{job_id, status, started_at, updated_at, last_seq}]}`, newest first.
pub fn list(call: &Call<'_>) -> Result<Reply> {
    let filter = match query_value(call.query, "status") {
        None => None,
        Some(s) => Some(
            crate::job::Status::parse(&s)
                .ok_or_else(|| Error::invalid_input(format!("unknown status {s:?}")).with("status", s))?,
        ),
    };
    let rows = jobs::rows(&call.store()?, filter)?;
    let jobs: Vec<Value> = rows
        .into_iter()
        .map(|(job_id, status, started_at, updated_at, last_seq)| {
            json!({"job_id": job_id, "status": status, "started_at": started_at, "updated_at": updated_at, "last_seq": last_seq})
        })
        .collect();
    Ok(Reply::json(200, &json!({"jobs": jobs})))
}

pub fn status(call: &Call<'_>) -> Result<Reply> {
    let job = call.job()?;
    let Location::Dir(root) = &call.ctx.store else {
        let state = call.store()?.state(&job)?;
        return Ok(Reply::json(200, &status::status_response(&state, Timestamp::now())));
    };
    let body = call.ctx.status_cache.status(&FsStore::new(root.clone()), &job, Timestamp::now())?;
    Ok(Reply::bytes(reply::JSON, body))
}

/// `GET status` from the status cache, when it holds the job and its ledger is unchanged.
pub fn status_inline(call: &Call<'_>) -> Option<Reply> {
    let job = call.job().ok()?;
    let body = call.ctx.status_cache.answer(&job, Timestamp::now())?;
    Some(Reply::bytes(reply::JSON, body))
}

pub fn checkpoints(call: &Call<'_>) -> Result<Reply> {
    let store = call.store()?;
    let job = call.existing_job(&store)?;
    Ok(Reply::json(200, &Value::Array(checkpoint::checkpoints(&store, &job)?)))
}

pub fn checkpoint(call: &Call<'_>) -> Result<Reply> {
    let store = call.store()?;
    let job = call.existing_job(&store)?;
    let id = call.captures.checkpoint_id.as_deref().unwrap_or_default();
    Ok(Reply::json(200, &checkpoint::find(&store, &job, id)?))
}

/// `GET /v1/jobs/{job_id}/events?from_seq=N`: the ledger lines from seq N (default 1), as stored,
/// one per line (`application/x-ndjson`). A snapshot of what is durable now; it does not follow.
/// Streamed (`serve::stream`): the ledger is read as the client takes it.
pub fn events(call: &Call<'_>) -> Result<Reply> {
    let store = call.store()?;
    let job = call.existing_job(&store)?;
    let from = match query_value(call.query, "from_seq") {
        None => 1,
        Some(v) => v.parse::<u64>().ok().filter(|n| *n >= 1).ok_or_else(|| {
            Error::invalid_input(format!("from_seq must be a positive integer, got {v:?}")).with("from_seq", v)
        })?,
    };
    Ok(Reply::stream("application/x-ndjson", move |out| {
        // Lean: only lines go out, and the spec line of a long job is megabytes as a document.
        store
            .read_events_lean(&job, from, &[JOBSPEC_EVENT], &mut |_, line| {
                out.write_all(line).and_then(|()| out.write_all(b"\n")).map_err(|e| Error::io("send the events", e))
            })
            .map(drop)
    }))
}

/// `GET /v1/jobs/{job_id}/jobpack`: the job's pack, built from the store as the client reads it
/// (the same bytes `wrkr export` writes); nothing is written to disk but the builder's spill files.
pub fn jobpack(call: &Call<'_>) -> Result<Reply> {
    let store = call.store()?;
    let job = call.existing_job(&store)?;
    let disposition = format!("attachment; filename=\"{}\"", crate::pack::file_name(job.as_str()));
    Ok(Reply::stream("application/zip", move |out| pack_job(&store, &job, Capture::ReferenceOnly, out).map(drop))
        .header("content-disposition", disposition))
}

/// The first value of `name` in a query string (`+` and `%XX` decoded), if any.
pub fn query_value(query: &str, name: &str) -> Option<String> {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| String::from_utf8_lossy(&percent_decode(&v.replace('+', " "))).into_owned())
}
