//! Pipe tools: each reads JSONL (or a zip) on stdin and writes JSONL on stdout. One module per tool,
//! each with the same three parts: its flag declarations, `run`, and the library call it wraps.

pub mod accept;
pub mod events;
pub mod jcs;
pub mod lease;
pub mod pack;
pub mod schema;
pub mod verify;
