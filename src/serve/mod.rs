//! `wrkr serve`: a local HTTP API over the same core the CLI uses.
//!
//! For systems that prefer HTTP to subprocesses. Every endpoint calls the library function its
//! CLI command calls (status, checkpoints, approve, resume, export, verify, accept, report), so
//! the two cannot disagree; the server adds only transport, limits and authentication. Safe by
//! default: loopback only unless three explicit opt-ins are given ([`config`]), bounded in every
//! dimension a client controls (head size, body size, time to send either, open connections),
//! and path parameters are confined to the working directory ([`confine`]). HTTP/1 only, plain
//! text: put a TLS proxy in front for anything beyond the local machine.
//!
//! Parts: [`config`] (flags, environment, the safety rule), [`routes`] (the route table the
//! OpenAPI document is tested against), [`server`] (hyper, limits, auth, logging), [`reply`]
//! (envelopes and the status table), [`stream`] (bodies sent as they are produced: a job's
//! ledger and pack), [`endpoints`] and [`actions`] (the handlers), [`status_cache`] (status
//! answered from memory while the job's ledger is unchanged).

pub mod actions;
pub mod config;
pub mod confine;
pub mod endpoints;
pub mod reply;
pub mod routes;
pub mod server;
pub mod status_cache;
pub mod stream;
