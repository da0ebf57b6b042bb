//! The ticket footer parser: a footer or an error; a parsed footer formats back to a line that
//! parses to the same footer.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(line) = std::str::from_utf8(data) else { return };
    if let Ok(footer) = wrkr::pack::footer::parse(line) {
        let again = wrkr::pack::footer::format(&footer.job_id, &footer.manifest_sha256);
        let reparsed = wrkr::pack::footer::parse(&again).expect("a formatted footer parses");
        assert_eq!(reparsed.job_id, footer.job_id);
        assert_eq!(reparsed.manifest_sha256, footer.manifest_sha256);
    }
});
