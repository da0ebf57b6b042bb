//! The JobSpec loader, YAML and JSON: a spec or an error with its reason code, never a panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = wrkr::job::jobspec::parse(data, false);
    let _ = wrkr::job::jobspec::parse(data, true);
});
