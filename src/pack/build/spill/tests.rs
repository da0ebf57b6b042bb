use std::io::{BufWriter, Read, Seek, SeekFrom};

use serde_json::{Value, json};

use super::*;
use crate::job::projection::{LedgerEvent, Projection};
use crate::pack::build::Packer;

/// `count` distinct lines of about 150 bytes: 2,000 of them span a few chunks.
fn lines(count: u64) -> Vec<(u64, Vec<u8>)> {
    (1..=count).map(|seq| (seq, format!(r#"{{"seq":{seq},"pad":"{}"}}"#, "x".repeat(130)).into_bytes())).collect()
}

/// A fixed shuffle (no randomness in tests): stride through the keys.
fn shuffled<T: Clone>(items: &[T]) -> Vec<T> {
    let n = items.len();
    let stride = (n / 3..n).find(|s| gcd(*s, n) == 1).unwrap_or(1);
    (0..n).map(|i| items[(i * stride) % n].clone()).collect()
}

fn gcd(a: usize, b: usize) -> usize {
    if b == 0 { a } else { gcd(b, a % b) }
}

fn joined(lines: &[(u64, Vec<u8>)]) -> Vec<u8> {
    lines.iter().flat_map(|(_, l)| l.iter().copied().chain([b'\n'])).collect()
}

/// The zip `ZipWriter::entry` makes of `bytes` (a header entry before it, one after).
fn reference_zip(bytes: &[u8]) -> Vec<u8> {
    let mut zip = ZipWriter::new(Vec::new());
    zip.entry("a.json", b"{}").unwrap();
    zip.entry("events.jsonl", bytes).unwrap();
    zip.entry("z.json", b"[]").unwrap();
    zip.finish().unwrap().0
}

fn spill_zip<W: Write>(spill: &Spill, out: W) -> W {
    let mut zip = ZipWriter::new(out);
    zip.entry("a.json", b"{}").unwrap();
    spill.write_to(&mut zip, "events.jsonl").unwrap();
    zip.entry("z.json", b"[]").unwrap();
    zip.finish().unwrap().0
}

/// The same zip written through a `BufWriter<&mut File>`, as `write_atomic` gives export: the
/// spill is copied file to file by the kernel, after the buffered header.
fn spill_zip_via_file(spill: &Spill) -> Vec<u8> {
    let mut file = tempfile::tempfile().unwrap();
    drop(spill_zip(spill, BufWriter::with_capacity(256 * 1024, &mut file)));
    file.seek(SeekFrom::Start(0)).unwrap();
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).unwrap();
    bytes
}

/// Seal `spill`: its sha256 and its zip entry, to a `Vec` and to a file, are those of `expected`.
fn assert_entry_is(spill: &mut Spill, expected: &[u8]) {
    assert_eq!(spill.seal("event", "evt_").unwrap(), crate::digest::sha256_hex(expected));
    let reference = reference_zip(expected);
    assert!(spill_zip(spill, Vec::new()) == reference, "to a Vec");
    assert!(spill_zip_via_file(spill) == reference, "to a file");
}

#[test]
fn lines_in_order_are_hashed_by_the_writer_and_copied_whole() {
    let lines = lines(5_000);
    let mut spill = Spill::new().unwrap();
    for (key, line) in &lines {
        spill.push(*key, line).unwrap();
    }
    assert!(spill.in_order);
    let expected = joined(&lines);
    assert!(expected.len() > 2 * CHUNK_BYTES, "the test must span several chunks");
    assert_entry_is(&mut spill, &expected);
}

/// Out of order, the entry is the lines in key order, the same bytes in-order input gives.
#[test]
fn lines_out_of_order_give_the_bytes_of_lines_in_order() {
    let lines = lines(5_000);
    let mut spill = Spill::new().unwrap();
    for (key, line) in shuffled(&lines) {
        spill.push(key, &line).unwrap();
    }
    assert!(!spill.in_order);
    assert_entry_is(&mut spill, &joined(&lines));
}

/// Keys as a ledger gives them (a run: no memory), in order with gaps (checkpoints: listed), a run
/// broken by a smaller key, and runs that end at u64::MAX: the keys read back are those pushed.
#[test]
fn keys_read_back_as_pushed() {
    let cases: [&[u64]; 5] =
        [&[1, 2, 3, 4], &[4, 8, 12, 100], &[5, 6, 7, 2, 3], &[u64::MAX - 1, u64::MAX, 0], &[u64::MAX, u64::MAX, 7]];
    for pushed in cases {
        let mut keys = Keys::Run { first: 0, count: 0 };
        assert_eq!(keys.last(), None);
        for &key in pushed {
            keys.push(key);
            assert_eq!(keys.last(), Some(key), "{pushed:?}");
        }
        assert_eq!(keys.iter().collect::<Vec<_>>(), pushed, "{pushed:?}");
        assert_eq!(keys.len(), pushed.len() as u64);
    }
    let mut run = Keys::Run { first: 0, count: 0 };
    (10..10_010).for_each(|key| run.push(key));
    assert!(matches!(run, Keys::Run { first: 10, count: 10_000 }), "consecutive keys stay a run: {run:?}");
}

/// Out of order with keys at the top of the range: the entry is still the lines in key order.
#[test]
fn keys_up_to_u64_max_sort_out_of_order() {
    let keys = [u64::MAX, 3, u64::MAX - 1, 1];
    let mut spill = Spill::new().unwrap();
    for key in keys {
        spill.push(key, format!("{{\"k\":{key}}}").as_bytes()).unwrap();
    }
    let mut sorted = keys;
    sorted.sort_unstable();
    let expected: Vec<(u64, Vec<u8>)> = sorted.iter().map(|&k| (k, format!("{{\"k\":{k}}}").into_bytes())).collect();
    assert_entry_is(&mut spill, &joined(&expected));
}

/// A line with a newline of its own (no JSONL record has one) would split into two when seal
/// finds the lines of an out-of-order spill: that is an error, never a wrong entry.
#[test]
fn a_line_with_its_own_newline_out_of_order_is_an_error() {
    let mut spill = Spill::new().unwrap();
    spill.push(2, b"{}\n{}").unwrap();
    spill.push(1, b"{}").unwrap();
    let err = spill.seal("event", "evt_").unwrap_err();
    assert!(err.message.contains("lines do not match"), "{}", err.message);
}

#[test]
fn empty_spill_is_an_empty_entry() {
    let mut spill = Spill::new().unwrap();
    assert_eq!(spill.seal("event", "evt_").unwrap(), crate::digest::sha256_hex(b""));
    assert!(spill_zip_via_file(&spill) == reference_zip(b""));
}

#[test]
fn duplicate_keys_out_of_order_are_refused_at_seal() {
    let mut spill = Spill::new().unwrap();
    for key in [3, 1, 3] {
        spill.push(key, b"{}").unwrap();
    }
    let err = spill.seal("event", "evt_").unwrap_err();
    assert_eq!(err.message, "duplicate event id evt_3");
}

/// A full disk under the spill: the writer thread's ENOSPC comes back from a push as the spill
/// error (not a panic, not a hang), and again from every later push and from seal.
#[test]
fn a_write_error_on_the_writer_thread_surfaces_at_a_push() {
    let full = File::options().write(true).open("/dev/full").unwrap();
    let mut spill = Spill::to_file(full).unwrap();
    let line = vec![b'x'; 1000];
    // The first chunk fails; within a few more chunks' worth of pushes the error must be back.
    let limit = (CHUNK_BYTES / line.len()) as u64 * (QUEUED_CHUNKS as u64 + 4);
    let err = (1..=limit).find_map(|key| spill.push(key, &line).err()).expect("no push reported the error");
    assert!(err.message.starts_with("write pack spill file: "), "{}", err.message);
    assert!(err.message.contains("No space left on device"), "{}", err.message);
    assert_eq!(spill.push(limit + 1, &line).unwrap_err(), err);
    assert_eq!(spill.seal("event", "evt_").unwrap_err(), err);
}

/// The same when the only write happens at seal (an entry smaller than a chunk).
#[test]
fn a_write_error_at_seal_is_the_seal_error() {
    let full = File::options().write(true).open("/dev/full").unwrap();
    let mut spill = Spill::to_file(full).unwrap();
    spill.push(1, b"{}").unwrap();
    let err = spill.seal("event", "evt_").unwrap_err();
    assert!(err.message.contains("No space left on device"), "{}", err.message);
}

/// A packer dropped before it finished ends its writer threads (the test would hang otherwise).
#[test]
fn dropping_an_unsealed_spill_ends_its_writer() {
    let mut spill = Spill::new().unwrap();
    for (key, line) in lines(3_000) {
        spill.push(key, &line).unwrap();
    }
    drop(spill);
}

fn records(job: &str, events: u64) -> Vec<Value> {
    let mut projection = Projection::new(job);
    let mut out = super::super::tests::job_records(job).to_vec();
    for seq in 1..=events {
        let payload = json!({"step": seq, "detail": "x".repeat(200)});
        let view = projection.project(&LedgerEvent {
            seq,
            created_at: "2026-02-13T18:00:01Z",
            event_type: "x-step",
            payload: Some(&payload),
        });
        out.push(view.event.to_value(job));
    }
    out
}

fn pack(records: &[Value], to_file: bool) -> Vec<u8> {
    let mut packer = Packer::new().unwrap();
    for record in records {
        packer.add_record(record).unwrap();
    }
    if !to_file {
        let mut out = Vec::new();
        packer.finish(&mut out).unwrap();
        return out;
    }
    let mut file = tempfile::tempfile().unwrap();
    packer.finish(&mut BufWriter::with_capacity(256 * 1024, &mut file)).unwrap();
    file.seek(SeekFrom::Start(0)).unwrap();
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes).unwrap();
    bytes
}

/// The whole pack: records in order or shuffled, to a pipe-like `Vec` or to a file (the kernel
/// copy), are one and the same zip, and it verifies.
#[test]
fn a_pack_is_the_same_bytes_in_any_order_and_to_any_output() {
    let in_order = records("job_spill", 3_000);
    let (head, events) = in_order.split_at(2);
    let mut out_of_order = head.to_vec();
    out_of_order.extend(shuffled(events));
    let reference = pack(&in_order, false);
    assert!(pack(&in_order, true) == reference, "in order, to a file");
    assert!(pack(&out_of_order, false) == reference, "out of order, to a Vec");
    assert!(pack(&out_of_order, true) == reference, "out of order, to a file");

    let mut file = tempfile::tempfile().unwrap();
    file.write_all(&reference).unwrap();
    file.seek(SeekFrom::Start(0)).unwrap();
    crate::pack::verify::verify(file, &crate::pack::verify::Options::default()).unwrap();
}
