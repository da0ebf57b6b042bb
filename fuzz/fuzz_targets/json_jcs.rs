//! The strict JSON parser against serde_json as the oracle, the tape parser against the strict
//! parser, and JCS:
//! - what the strict parser accepts, serde_json accepts with the same value; what serde_json
//!   accepts and the strict parser refuses has a duplicate key (the one rule it adds);
//! - the tape (`json::tape`, the verify fast path) accepts exactly what the strict parser accepts,
//!   with the same content, also when its buffers are reused from the previous input;
//! - canonical bytes parse back to the same value and are a fixed point.
#![no_main]

use std::cell::RefCell;

use libfuzzer_sys::fuzz_target;
use serde_json::Value;
use wrkr::json::tape::Tape;

thread_local! {
    static TAPE: RefCell<Tape> = RefCell::new(Tape::new());
}

fuzz_target!(|data: &[u8]| {
    let ours = wrkr::json::parse(data);
    let oracle: Result<Value, _> = serde_json::from_slice(data);
    match (&ours, &oracle) {
        (Ok(value), Ok(reference)) => assert_eq!(value, reference),
        (Ok(_), Err(e)) => panic!("the strict parser accepts what serde_json refuses: {e}"),
        (Err(e), Ok(_)) => assert!(e.to_string().contains("duplicate object key"), "refused for another reason: {e}"),
        (Err(_), Err(_)) => {}
    }
    TAPE.with(|tape| {
        let mut tape = tape.borrow_mut();
        let taped = tape.parse(data);
        assert_eq!(taped.is_ok(), ours.is_ok(), "tape and strict parser disagree: {taped:?} vs {ours:?}");
        if let (Ok(()), Ok(value)) = (&taped, &ours) {
            let root = tape.root().expect("a parsed tape has a root");
            assert_eq!(&root.to_value(), value, "tape content differs");
        }
    });
    if let Ok(value) = &ours {
        let canonical = wrkr::jcs::value_to_vec(value);
        let back: Value = serde_json::from_slice(&canonical).expect("JCS output is JSON");
        assert_eq!(wrkr::jcs::value_to_vec(&back), canonical, "JCS is a fixed point");
    }
});
