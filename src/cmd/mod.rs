//! `wrkr <command>` modules: each a thin composition of library calls, never of other tools' `run`.

pub mod accept;
pub mod approve;
pub mod bridge;
pub mod budget;
pub mod cancel;
pub mod checkpoint;
pub mod demo;
pub mod doctor;
pub mod export;
pub mod fsck;
pub mod help;
pub mod init;
pub mod job;
pub mod jobs;
pub mod keygen;
pub mod pause;
pub mod receipt;
pub mod report;
pub mod resume;
pub mod serve;
pub mod status;
pub mod store;
pub mod submit;
pub mod version;
pub mod wrap;
