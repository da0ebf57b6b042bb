//! Reports for people and CI systems: JUnit XML (and, later, the GitHub step summary).

pub mod junit;
