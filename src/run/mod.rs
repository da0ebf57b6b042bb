//! Running work: supervised step processes and their bounded logs.

pub mod channel;
pub mod heartbeat;
pub mod history;
pub mod log;
pub mod process;
pub mod protocol;
pub mod runner;
pub mod watch;
