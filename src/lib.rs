//! wrkr: durable, supervised, reviewable jobs for long-running agent work.
//!
//! One library behind one multicall binary. `cli` dispatches to the pipe tools in `tools` and the
//! commands in `cmd`; both are thin layers over the library modules (`contract`, `jcs`, `digest`,
//! `json`, `jsonl`, ...), which hold all the logic and know nothing about argv.

pub mod accept;
pub mod base64;
pub mod cli;
pub mod cmd;
pub mod contract;
pub mod digest;
pub mod failpoint;
pub mod jcs;
pub mod job;
pub mod json;
pub mod jsonl;
pub mod pack;
pub mod report;
pub mod run;
pub mod serve;
pub mod store;
pub mod tools;
