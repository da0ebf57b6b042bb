//! The zip reader and jobpack verifier: any bytes as a pack. A verdict or a finding with its
//! reason code, never a panic, never an allocation the declared sizes ask for.
#![no_main]

use std::io::{Seek, Write};

use libfuzzer_sys::fuzz_target;
use wrkr::pack::verify::{Options, verify};

fuzz_target!(|data: &[u8]| {
    let Ok(mut file) = tempfile::tempfile() else { return };
    if file.write_all(data).and_then(|()| file.rewind()).is_err() {
        return;
    }
    let opts = Options { all: true, ..Options::default() };
    let _ = verify(file, &opts);
});
