//! The v1 contract: what other programs may rely on.
//!
//! Reason codes and their exit codes, the error type that carries them, the error envelope,
//! timestamps written the way the Go implementation writes them, identifiers, and the embedded
//! JSON Schemas. Nothing here knows about the store, the runner or the CLI; everything else
//! reports through these types so that a code can never be lost on the way out.

pub mod error;
pub mod reason;
pub mod schema;
pub mod time;
pub mod validate;

pub use error::{Error, Result};
pub use reason::ReasonCode;

/// The version every artifact we write names as its `producer_version`.
pub const PRODUCER_VERSION: &str = env!("CARGO_PKG_VERSION");

/// Every persisted v1 artifact says `schema_version: "v1"`.
pub const SCHEMA_VERSION: &str = "v1";
