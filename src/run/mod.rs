//! Running work: supervised step processes and their bounded logs.

pub mod channel;
pub mod log;
pub mod process;
pub mod protocol;
