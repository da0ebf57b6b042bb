//! The adapter-protocol record parser (lines a step writes to WRKR_EVENTS_FD): a record or a
//! reason, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = wrkr::run::protocol::parse(data);
});
