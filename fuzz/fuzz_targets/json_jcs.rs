//! The strict JSON parser against serde_json as the oracle, and JCS: what ours accepts, serde_json
//! accepts with the same value; canonical bytes parse back to the same value and are a fixed point.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::Value;

fuzz_target!(|data: &[u8]| {
    let ours = wrkr::json::parse(data);
    let oracle: Result<Value, _> = serde_json::from_slice(data);
    if let Ok(value) = &ours {
        let reference = oracle.as_ref().expect("serde_json accepts what the strict parser accepts");
        assert_eq!(value, reference);
        let canonical = wrkr::jcs::value_to_vec(value);
        let back: Value = serde_json::from_slice(&canonical).expect("JCS output is JSON");
        assert_eq!(wrkr::jcs::value_to_vec(&back), canonical, "JCS is a fixed point");
    }
});
