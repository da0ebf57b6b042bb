//! Jobs: what a job is asked to do (the JobSpec), the environment it must run in (fingerprint),
//! and the limits it runs under (budgets).

pub mod budget;
pub mod fingerprint;
pub mod jobspec;
pub mod projection;

/// The five checkpoint types, in the order the v1 schema lists them.
pub const CHECKPOINT_TYPES: [&str; 5] = ["plan", "progress", "decision-needed", "blocked", "completed"];

pub fn checkpoint_types() -> &'static [&'static str] {
    &CHECKPOINT_TYPES
}
