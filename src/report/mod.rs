//! Reports for people and CI systems: JUnit XML, the GitHub step summary, and tracker work items.

pub mod bridge;
pub mod github;
pub mod junit;
pub mod publish;
pub mod view;
