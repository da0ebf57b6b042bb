//! Running work: supervised step processes and their bounded logs, the runner, and wrap mode.

pub mod attempts;
pub mod channel;
pub mod evidence;
pub mod expected_artifacts;
pub mod failure_hint;
pub mod go_import;
pub mod heartbeat;
pub mod history;
pub mod interrupt;
pub mod log;
pub mod outage;
pub mod outlook;
pub mod process;
pub mod progress;
pub mod protocol;
pub mod pty;
pub mod ready;
pub mod runner;
pub mod step_group;
pub mod watch;
pub mod watchdog;
pub mod workspace;
pub mod wrap;
