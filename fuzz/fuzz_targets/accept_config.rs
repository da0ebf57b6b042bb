//! The accept.yaml loader: a config or an error with its reason code, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = wrkr::accept::config::parse(text);
    }
});
