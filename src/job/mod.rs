//! The job: its statuses and transitions, the state replayed from its ledger, the events writers
//! may ask for, leases with fencing epochs; and what a job is asked to do (the JobSpec), the
//! environment it must run in (fingerprint), the limits it runs under (budgets), and the jobpack
//! projection of its ledger.
//!
//! Nothing here touches the store. The store (`crate::store`) runs the state checks under the
//! job's lock, so "check the current state, then append" is a single step for every writer.

pub mod approver;
pub mod budget;
pub mod checkpoint;
pub mod event;
pub mod fingerprint;
pub mod jobspec;
pub mod lease;
pub mod outlook_facts;
pub mod projection;
pub mod state;
pub mod status;

pub use event::NewEvent;
pub use state::{JobState, LeaseRecord};
pub use status::Status;

/// The five checkpoint types, in the order the v1 schema lists them.
pub const CHECKPOINT_TYPES: [&str; 5] = ["plan", "progress", "decision-needed", "blocked", "completed"];

pub fn checkpoint_types() -> &'static [&'static str] {
    &CHECKPOINT_TYPES
}
