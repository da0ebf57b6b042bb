//! The serve router and request-path decoding: method and path from the input (split at the
//! first space); a route, a 404/405 or an error, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let (method, path) = text.split_once(' ').unwrap_or(("GET", text));
    let _ = wrkr::serve::routes::find(method, path);
    let _ = wrkr::serve::routes::percent_decode(path);
});
