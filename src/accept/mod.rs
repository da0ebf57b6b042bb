//! Acceptance: the deterministic checks that turn a jobpack into a CI verdict.

pub mod config;
