//! The JSONL ledger reader: any bytes as `events.jsonl`. Finding the tail and reading forward
//! never panic; every record read parses back from its own line format to the same record.
#![no_main]

use std::io::{Seek, Write};

use libfuzzer_sys::fuzz_target;
use wrkr::store::ledger::{EventRecord, LedgerReader, Position, Tail};

fuzz_target!(|data: &[u8]| {
    let Ok(mut file) = tempfile::tempfile() else { return };
    if file.write_all(data).and_then(|()| file.rewind()).is_err() {
        return;
    }
    let Ok(tail) = Tail::read(&file) else { return };
    assert!(tail.complete_end <= tail.file_len);
    let Ok(clone) = file.try_clone() else { return };
    let Ok(mut reader) = LedgerReader::new(clone, Position::default(), tail.complete_end) else { return };
    let mut last = 0;
    while let Ok(Some((record, _))) = reader.next_record() {
        assert_eq!(record.seq, last + 1, "seqs rise by one");
        last = record.seq;
        let line = record.to_line();
        assert_eq!(EventRecord::parse(&line[..line.len() - 1]).as_ref(), Ok(&record));
    }
});
