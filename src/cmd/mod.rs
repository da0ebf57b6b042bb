//! `wrkr <command>` modules: each a thin composition of library calls, never of other tools' `run`.

pub mod help;
pub mod job;
pub mod keygen;
pub mod receipt;
pub mod version;
