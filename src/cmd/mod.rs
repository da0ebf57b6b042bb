//! `wrkr <command>` modules: each a thin composition of library calls, never of other tools' `run`.

pub mod accept;
pub mod bridge;
pub mod cancel;
pub mod export;
pub mod help;
pub mod init;
pub mod job;
pub mod jobs;
pub mod keygen;
pub mod pause;
pub mod receipt;
pub mod report;
pub mod status;
pub mod version;
