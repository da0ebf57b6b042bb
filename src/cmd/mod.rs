//! `wrkr <command>` modules: each a thin composition of library calls, never of other tools' `run`.

pub mod help;
pub mod init;
pub mod version;
