//! The job: its statuses and transitions, the state replayed from its ledger, the events writers
//! may ask for, and leases with fencing epochs.
//!
//! Nothing here touches the disk. The store (`crate::store`) runs these checks under the job's
//! lock, so "check the current state, then append" is a single step for every writer.

pub mod event;
pub mod lease;
pub mod state;
pub mod status;

pub use event::NewEvent;
pub use state::{JobState, LeaseRecord};
pub use status::Status;
