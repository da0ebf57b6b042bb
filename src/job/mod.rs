//! Jobs: what a job is asked to do (the JobSpec), the environment it must run in (fingerprint),
//! and the limits it runs under (budgets).

pub mod budget;
pub mod fingerprint;
pub mod jobspec;
