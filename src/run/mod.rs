//! Running work: supervised step processes and their bounded logs.

pub mod log;
pub mod process;
