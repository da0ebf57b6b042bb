//! The ledger file `events.jsonl`: its line format, finding its tail from the end, and reading it
//! forward with every line checked.
//!
//! Format (the Go format, digest 4.2): one compact JSON object per line, keys in the order
//! `seq, created_at, type, payload`, seqs starting at 1 and rising by exactly 1, each line ended by
//! `\n`. What a reader may see, and what it makes of it:
//!
//! - bytes after the last `\n` are a write in progress or a torn write: ignored, never an error;
//! - a complete line that does not parse, or whose seq is not the previous seq + 1, is
//!   `E_STORE_CORRUPT` naming the line number: nothing is ever skipped silently;
//! - blank complete lines are skipped (Go's reader does the same).
//!
//! The tail is found by reading backwards from the end of the file, so finding the last seq costs
//! the length of the last line, not the length of the ledger.

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Seek, SeekFrom};
use std::os::unix::fs::FileExt;

use serde_json::Value;

use crate::contract::{Error, ReasonCode, Result};
use crate::json::scan::Scan;
use crate::store::JOBSPEC_EVENT;

pub const LEDGER_FILE: &str = "events.jsonl";
/// A spec line longer than this is read without a scan index ([`LedgerReader::next_line`]).
pub const BIG_LINE: usize = 64 * 1024;
/// Longest ledger line a reader accepts (a longer one is corruption, not an allocation).
pub const MAX_RECORD_BYTES: u64 = 64 << 20;

/// One ledger record.
#[derive(Clone, Debug, PartialEq)]
pub struct EventRecord {
    pub seq: u64,
    pub created_at: String,
    pub event_type: String,
    pub payload: Option<Value>,
}

impl EventRecord {
    /// Parse one complete line (without its `\n`).
    pub fn parse(line: &[u8]) -> std::result::Result<EventRecord, String> {
        let mut object = crate::json::parse_object(line)?;
        let seq =
            object.get("seq").and_then(Value::as_u64).filter(|s| *s >= 1).ok_or("seq is not a positive integer")?;
        let created_at = match object.remove("created_at") {
            Some(Value::String(s)) if crate::contract::time::Timestamp::parse(&s).is_some() => s,
            _ => return Err("created_at is not an RFC 3339 timestamp".into()),
        };
        let event_type = match object.remove("type") {
            Some(Value::String(s)) if !s.is_empty() => s,
            _ => return Err("type is not a non-empty string".into()),
        };
        Ok(EventRecord { seq, created_at, event_type, payload: object.remove("payload") })
    }

    /// Parse one line as [`EventRecord::parse`] does, except that a record whose type is in `lean`
    /// comes without its payload (`None`): the line is checked by the strict parser without being
    /// built or indexed ([`crate::json::check`]'s rules), so a megabyte JobSpec costs the reader
    /// its line and nothing more (a `Value` of it was about 20 MB, a tape of it 3 MB). Its raw
    /// line still carries everything.
    pub fn parse_lean(line: &[u8], lean: &[&str]) -> std::result::Result<EventRecord, String> {
        // Our writer puts `type` third (see `to_line`), so the prefix names it; any other order
        // takes the ordinary path, which is only less lean, never wrong. So does any line the
        // check refuses: the strict parser says why, in the words `parse` would use.
        if lean.is_empty() || !declared_type(line).is_some_and(|t| lean.contains(&t)) {
            return EventRecord::parse(line);
        }
        let Ok(head) = LeanHead::read(line) else { return EventRecord::parse(line) };
        let seq =
            head.seq.as_ref().and_then(Value::as_u64).filter(|s| *s >= 1).ok_or("seq is not a positive integer")?;
        let created_at = match head.created_at {
            Some(Value::String(s)) if crate::contract::time::Timestamp::parse(&s).is_some() => s,
            _ => return Err("created_at is not an RFC 3339 timestamp".into()),
        };
        let event_type = match head.event_type {
            Some(Value::String(s)) if !s.is_empty() => s,
            _ => return Err("type is not a non-empty string".into()),
        };
        if !lean.contains(&event_type.as_str()) {
            return EventRecord::parse(line);
        }
        Ok(EventRecord { seq, created_at, event_type, payload: None })
    }

    /// The line as stored, `\n` included.
    pub fn to_line(&self) -> Vec<u8> {
        let mut line = Vec::new();
        self.write_line(&mut line, None);
        line
    }

    /// Append the line to `out`; with `written`, those bytes are the payload (a payload written
    /// already: `job::NewEvent::written`) in place of `self.payload`.
    pub fn write_line(&self, out: &mut Vec<u8>, written: Option<&[u8]>) {
        out.extend_from_slice(b"{\"seq\":");
        out.extend_from_slice(itoa::Buffer::new().format(self.seq).as_bytes());
        out.extend_from_slice(b",\"created_at\":");
        // Serializing strings and JSON values into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *out, &self.created_at);
        out.extend_from_slice(b",\"type\":");
        let _ = serde_json::to_writer(&mut *out, &self.event_type);
        if let Some(written) = written {
            out.extend_from_slice(b",\"payload\":");
            out.extend_from_slice(written);
        } else if let Some(payload) = &self.payload {
            out.extend_from_slice(b",\"payload\":");
            let _ = serde_json::to_writer(&mut *out, payload);
        }
        out.extend_from_slice(b"}\n");
    }
}

/// The type a line written by [`EventRecord::to_line`] names, read from its prefix without parsing
/// it: `{"seq":N,"created_at":"...","type":"T",...`. `None` for anything else.
pub(crate) fn declared_type(line: &[u8]) -> Option<&str> {
    const KEY: &[u8] = b"\",\"type\":\"";
    // seq, a timestamp and the key fit in the first 96 bytes; a type name is short.
    let head = line.get(..line.len().min(192))?;
    let start = head.windows(KEY.len()).position(|w| w == KEY)? + KEY.len();
    let len = head.get(start..)?.iter().position(|b| *b == b'"')?;
    std::str::from_utf8(head.get(start..start + len)?).ok()
}

/// The end of a ledger, found by reading backwards.
#[derive(Debug)]
pub struct Tail {
    /// Length of the file, torn bytes included.
    pub file_len: u64,
    /// Offset just after the last `\n` (0 when there is none): where the next record goes.
    pub complete_end: u64,
    /// The last complete non-blank line, with the offset it starts at.
    pub last: Option<(u64, Vec<u8>)>,
}

impl Tail {
    pub fn read(file: &File) -> std::io::Result<Tail> {
        Tail::read_up_to(file, file.metadata()?.len())
    }

    /// The tail of the first `file_len` bytes of the file.
    pub fn read_up_to(file: &File, file_len: u64) -> std::io::Result<Tail> {
        let complete_end = match previous_newline(file, file_len)? {
            Some(pos) => pos + 1,
            None => 0,
        };
        let mut end = complete_end;
        while end > 0 {
            let line_end = end - 1; // the `\n` ending this line
            let start = previous_newline(file, line_end)?.map_or(0, |p| p + 1);
            if line_end > start {
                let mut line = vec![0; (line_end - start) as usize];
                file.read_exact_at(&mut line, start)?;
                if !crate::jsonl::is_blank(&line) {
                    return Ok(Tail { file_len, complete_end, last: Some((start, line)) });
                }
            }
            end = start;
        }
        Ok(Tail { file_len, complete_end, last: None })
    }
}

/// The position of the last `\n` strictly before `before`, reading backwards in chunks that
/// start small and double: a ledger line is a few hundred bytes, so the first read nearly always
/// finds it, and a 64 KiB read per look-up (several per append) was most of the bytes an append
/// copied.
pub fn previous_newline(file: &File, before: u64) -> std::io::Result<Option<u64>> {
    const FIRST_CHUNK: u64 = 4 * 1024;
    const MAX_CHUNK: u64 = 64 * 1024;
    let mut buf = Vec::new();
    let mut chunk_len = FIRST_CHUNK;
    let mut end = before;
    while end > 0 {
        let start = end.saturating_sub(chunk_len);
        buf.resize((end - start) as usize, 0);
        file.read_exact_at(&mut buf, start)?;
        if let Some(i) = buf.iter().rposition(|&b| b == b'\n') {
            return Ok(Some(start + i as u64));
        }
        end = start;
        chunk_len = (chunk_len * 2).min(MAX_CHUNK);
    }
    Ok(None)
}

/// Where a forward read starts: byte offset, the number of lines before it, the seq before it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Position {
    pub offset: u64,
    pub lines: u64,
    pub seq: u64,
}

/// A ledger line's `seq`, `created_at` and `type` as read, every other member checked and dropped.
#[derive(Default)]
struct LeanHead {
    seq: Option<Value>,
    created_at: Option<Value>,
    event_type: Option<Value>,
}

impl LeanHead {
    fn read(line: &[u8]) -> std::result::Result<LeanHead, serde_json::Error> {
        let mut de = serde_json::Deserializer::from_slice(line);
        let head = serde::Deserializer::deserialize_any(&mut de, LeanHead::default())?;
        de.end()?;
        Ok(head)
    }
}

impl<'de> serde::de::Visitor<'de> for LeanHead {
    type Value = LeanHead;

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a ledger record")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(mut self, mut access: A) -> std::result::Result<LeanHead, A::Error> {
        let mut keys = crate::json::ObjectKeys::default();
        while let Some(key) = access.next_key::<String>()? {
            let slot = match key.as_str() {
                "seq" => Some(&mut self.seq),
                "created_at" => Some(&mut self.created_at),
                "type" => Some(&mut self.event_type),
                _ => None,
            };
            match slot {
                Some(slot) => *slot = Some(access.next_value_seed(crate::json::StrictValue)?),
                None => access.next_value_seed(crate::json::Checked)?,
            }
            keys.add(key)?;
        }
        keys.finish()?;
        Ok(self)
    }
}

/// Reads complete lines forward from a position up to a fixed end, checking each record.
pub struct LedgerReader {
    input: BufReader<std::io::Take<File>>,
    position: Position,
    buf: Vec<u8>,
}

impl LedgerReader {
    /// Read `file` from `from` up to byte `end` (normally a [`Tail::complete_end`]).
    pub fn new(mut file: File, from: Position, end: u64) -> std::io::Result<LedgerReader> {
        file.seek(SeekFrom::Start(from.offset))?;
        // No bigger than what there is to read: a follower reads a few records at a time, and a
        // 256 KiB buffer is an mmap and munmap for each of those reads.
        let span = end.saturating_sub(from.offset);
        let capacity = span.clamp(8 * 1024, 256 * 1024) as usize;
        let input = BufReader::with_capacity(capacity, file.take(span));
        Ok(LedgerReader { input, position: from, buf: Vec::new() })
    }

    pub fn position(&self) -> Position {
        self.position
    }

    /// [`LedgerReader::next_record`] without building the record: the line is checked on `scan`
    /// (`json::scan`, no allocation) and parsed as an [`EventRecord`] only when the scan is unsure
    /// of it, which accepts it after all or makes it the same corruption error. Returns the seq
    /// and the line; `scan` holds the line's index, or is empty when the strict parse was needed.
    pub fn next_line(&mut self, scan: &mut Scan) -> Result<Option<(u64, &[u8])>> {
        loop {
            let Some(line_no) = self.read_line()? else { return Ok(None) };
            if crate::jsonl::is_blank(&self.buf) {
                continue;
            }
            // A big spec line is checked without an index (its readers take it from the bytes:
            // `pack::records::BigEvent`); a 25,000-step spec is 1 MB, and 6 MB as a scan.
            let big = self.buf.len() > BIG_LINE && declared_type(&self.buf) == Some(JOBSPEC_EVENT);
            let fast = match big {
                true => None,
                false => scan.parse(&self.buf).ok().and_then(|()| scanned_seq(scan, &self.buf)),
            };
            let seq = match fast {
                Some(seq) => seq,
                None => {
                    scan.clear();
                    let lean: &[&str] = if big { &[JOBSPEC_EVENT] } else { &[] };
                    EventRecord::parse_lean(&self.buf, lean).map_err(|why| corrupt(line_no, why))?.seq
                }
            };
            self.check_seq(line_no, seq)?;
            return Ok(Some((seq, &self.buf)));
        }
    }

    /// Read the next complete line into `buf` (without `\n`); its line number, `None` at the end.
    fn read_line(&mut self) -> Result<Option<u64>> {
        self.buf.clear();
        let read = (&mut self.input)
            .take(MAX_RECORD_BYTES + 1)
            .read_until(b'\n', &mut self.buf)
            .map_err(|e| Error::io("read ledger", e))?;
        let line_no = self.position.lines + 1;
        if read == 0 || self.buf.last() != Some(&b'\n') {
            if self.buf.len() as u64 > MAX_RECORD_BYTES {
                return Err(corrupt(line_no, format!("line longer than {MAX_RECORD_BYTES} bytes")));
            }
            return Ok(None);
        }
        self.position.lines = line_no;
        self.position.offset += read as u64;
        self.buf.pop();
        Ok(Some(line_no))
    }

    /// Seqs start at 1 and rise by exactly 1.
    fn check_seq(&mut self, line_no: u64, seq: u64) -> Result<()> {
        let expected = self.position.seq + 1;
        if seq != expected {
            let what = if seq <= self.position.seq { "duplicate or out-of-order" } else { "gap before" };
            return Err(corrupt(line_no, format!("seq {seq} ({what}; expected {expected})"))
                .with("seq", seq)
                .with("expected_seq", expected));
        }
        self.position.seq = seq;
        Ok(())
    }

    /// The next record and its raw line (without `\n`), `None` at the end. A final line without
    /// `\n` is not returned.
    pub fn next_record(&mut self) -> Result<Option<(EventRecord, &[u8])>> {
        self.next_record_lean(&[])
    }

    /// As [`LedgerReader::next_record`], with the payloads of the `lean` types left unparsed
    /// ([`EventRecord::parse_lean`]); every line is still checked as strictly.
    pub fn next_record_lean(&mut self, lean: &[&str]) -> Result<Option<(EventRecord, &[u8])>> {
        loop {
            let Some(line_no) = self.read_line()? else { return Ok(None) };
            if crate::jsonl::is_blank(&self.buf) {
                continue;
            }
            let record = EventRecord::parse_lean(&self.buf, lean).map_err(|why| corrupt(line_no, why))?;
            self.check_seq(line_no, record.seq)?;
            return Ok(Some((record, &self.buf)));
        }
    }
}

/// Whether a scanned line is a ledger record as [`EventRecord::parse`] reads one (an object with a
/// positive integer `seq`, an RFC 3339 `created_at`, a non-empty `type`): its seq when it is,
/// `None` when the line needs the strict parse (to be accepted after all, or to say why not).
pub fn scanned_seq(scan: &Scan, line: &[u8]) -> Option<u64> {
    let root = scan.root(line)?;
    let seq = root.member("seq")?.as_u64().filter(|s| *s >= 1)?;
    let created_at = root.member("created_at")?.str()?;
    crate::contract::time::Timestamp::parse(&created_at)?;
    root.member("type")?.str().filter(|t| !t.is_empty())?;
    Some(seq)
}

pub fn corrupt(line: u64, why: impl std::fmt::Display) -> Error {
    Error::new(ReasonCode::StoreCorrupt, format!("ledger line {line}: {why}"))
        .with("line", line)
        .with_hint("the ledger is the job's truth and is never repaired silently; inspect events.jsonl at that line")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn line_format_is_gos() {
        let r = EventRecord {
            seq: 3,
            created_at: "2026-02-13T18:00:00.12Z".into(),
            event_type: "status_changed".into(),
            payload: Some(json!({"from": "queued", "to": "running"})),
        };
        let line = r.to_line();
        assert_eq!(
            String::from_utf8(line.clone()).unwrap(),
            "{\"seq\":3,\"created_at\":\"2026-02-13T18:00:00.12Z\",\"type\":\"status_changed\",\"payload\":{\"from\":\"queued\",\"to\":\"running\"}}\n"
        );
        assert_eq!(EventRecord::parse(&line[..line.len() - 1]).unwrap(), r);
    }

    #[test]
    fn a_lean_record_is_the_record_without_its_payload_and_as_strict() {
        let spec = EventRecord {
            seq: 1,
            created_at: "2026-02-13T18:00:00Z".into(),
            event_type: "x-jobspec_recorded".into(),
            payload: Some(json!({"jobspec": {"inputs": {"steps": [{"id": "a"}, {"id": "b"}]}}})),
        };
        let line = spec.to_line();
        let line = &line[..line.len() - 1];
        let lean = EventRecord::parse_lean(line, &["x-jobspec_recorded"]).unwrap();
        assert_eq!(lean, EventRecord { payload: None, ..spec.clone() });
        assert_eq!(EventRecord::parse_lean(line, &["status_changed"]).unwrap(), spec);
        assert_eq!(EventRecord::parse_lean(line, &[]).unwrap(), spec);
        // A duplicate key deep in the payload is refused on the lean path too.
        let twice = br#"{"seq":1,"created_at":"2026-02-13T18:00:00Z","type":"x-jobspec_recorded","payload":{"a":{"b":1,"b":2}}}"#;
        let err = EventRecord::parse_lean(twice, &["x-jobspec_recorded"]).unwrap_err();
        assert!(err.contains("duplicate object key"), "{err}");
        let no_seq = br#"{"seq":0,"created_at":"2026-02-13T18:00:00Z","type":"x-jobspec_recorded","payload":{}}"#;
        assert!(EventRecord::parse_lean(no_seq, &["x-jobspec_recorded"]).is_err());
    }

    /// The lean path refuses exactly the lines the strict path refuses, with the same words, and
    /// reads the same head from the rest: every byte of a spec line damaged in turn, and lines cut.
    #[test]
    fn a_lean_read_refuses_what_the_strict_read_refuses() {
        let line = br#"{"seq":7,"created_at":"2026-02-13T18:00:00Z","type":"x-jobspec_recorded","payload":{"jobspec":{"a":[1,2.5,"s\n",null,{"b":true}]},"w":"x"}}"#;
        let lean = ["x-jobspec_recorded"];
        let mut checked = 0;
        for at in 0..line.len() {
            for with in *b"{}[]\",:\\ 07-.eE+tfnuax\x01" {
                let mut bytes = line.to_vec();
                bytes[at] = with;
                for bytes in [&bytes[..], &line[..at]] {
                    let strict = EventRecord::parse(bytes);
                    match (EventRecord::parse_lean(bytes, &lean), strict) {
                        (Ok(lean_record), Ok(record)) => {
                            let payload =
                                if lean.contains(&record.event_type.as_str()) { None } else { record.payload.clone() };
                            assert_eq!(lean_record, EventRecord { payload, ..record });
                            checked += 1;
                        }
                        (Err(lean_why), Err(why)) => assert_eq!(lean_why, why, "{}", String::from_utf8_lossy(bytes)),
                        (lean_record, record) => {
                            panic!("{}: lean {lean_record:?}, strict {record:?}", String::from_utf8_lossy(bytes))
                        }
                    }
                }
            }
        }
        assert!(checked > 100, "only {checked} damaged lines still parsed");
    }

    #[test]
    fn bad_records() {
        for bad in [
            &b"{}"[..],
            b"[]",
            b"{\"seq\":0,\"created_at\":\"2026-02-13T18:00:00Z\",\"type\":\"x\"}",
            b"{\"seq\":1,\"created_at\":\"x\",\"type\":\"x\"}",
            b"{\"seq\":1,\"seq\":1}",
        ] {
            assert!(EventRecord::parse(bad).is_err(), "{}", String::from_utf8_lossy(bad));
        }
    }
}
