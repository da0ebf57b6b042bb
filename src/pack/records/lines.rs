//! Pack records written straight from a scanned ledger line ([`crate::json::scan`]): the fast
//! path of `wrkr export`, for every event but approvals.
//!
//! [`LineEvent`] is the `wrkr.event` record of a ledger event and [`LineCheckpoint`] the
//! `wrkr.checkpoint` record of a `checkpoint_emitted` event. Each has two ways out, and they agree
//! byte for byte with the `Value` path (`Projection::project`, then `jcs`), which tests hold them
//! to: `write_canonical` writes the record's JCS bytes from the line (canonical parts copied as
//! they stand, fixed keys written in their canonical order here), `to_value` builds the record as
//! the `Value` path does (what `wrkr-events --records` prints, and what a record that does not
//! validate is judged on, so that its error is worded the same).

use serde_json::Value;

use crate::contract::{PRODUCER_VERSION, Result, SCHEMA_VERSION};
use crate::jcs;
use crate::job::projection::{EventHead, EventView, checkpoint_delta, render_checkpoint, write_event_canonical};
use crate::json::scan::{ScanNode, Scratch};
use crate::pack::records::corrupt;

/// A ledger payload as the projection reads it: an object, else `{}` (null or none) or
/// `{"value": ...}` (anything else).
fn payload_value(seq: u64, payload: Option<&[u8]>) -> Result<Value> {
    let parsed = match payload {
        None => None,
        Some(p) => Some(crate::json::parse(p).map_err(|e| corrupt(seq, e))?),
    };
    Ok(match parsed {
        Some(map @ Value::Object(_)) => map,
        Some(Value::Null) | None => serde_json::json!({}),
        Some(other) => serde_json::json!({ "value": other }),
    })
}

/// A spec event whose line is too big to index (`store::ledger`): checked by
/// [`crate::json::check`] and read from its bytes, one object at a time ([`jcs::stream`]), so a
/// 1 MB spec costs its line, not a 6 MB scan index or a 20 MB `Value`. The records it makes are
/// [`LineEvent`]'s, byte for byte.
pub struct BigEvent<'a> {
    pub seq: u64,
    pub created_at: String,
    pub event_type: String,
    /// The payload's bytes as they stand in the line; `None` when the line has none.
    pub payload: Option<&'a [u8]>,
}

/// What a payload is, by its first byte (the document is checked).
enum Shape {
    Object,
    Null,
    Other,
}

fn shape(payload: &[u8]) -> Shape {
    match payload.iter().find(|b| !b.is_ascii_whitespace()) {
        Some(b'{') => Shape::Object,
        Some(b'n') => Shape::Null,
        _ => Shape::Other,
    }
}

impl BigEvent<'_> {
    fn head(&self) -> EventHead<'_> {
        let executed = self.payload.and_then(|p| jcs::stream::member(p, "executed")).is_none_or(|e| e != b"false");
        EventHead { seq: self.seq, created_at: &self.created_at, event_type: &self.event_type, executed }
    }

    /// The record as a `Value`, exactly [`LineEvent::to_value`] of the same line.
    pub fn to_value(&self, job_id: &str) -> Result<Value> {
        event_value(self.head(), self.payload, job_id)
    }

    /// Append the record's canonical bytes to `out`, as [`LineEvent::write_canonical`] does.
    pub fn write_canonical(&self, job_id: &str, out: &mut Vec<u8>) -> Result<()> {
        let start = out.len();
        let mut written = Some(());
        write_event_canonical(&self.head(), job_id, out, |out| {
            written = match self.payload.map(|p| (shape(p), p)) {
                None | Some((Shape::Null, _)) => {
                    out.extend_from_slice(b"{}");
                    Some(())
                }
                Some((Shape::Object, p)) => jcs::stream::write_checked(p, out),
                Some((Shape::Other, p)) => {
                    out.extend_from_slice(b"{\"value\":");
                    let value = jcs::stream::write_checked(p, out);
                    out.push(b'}');
                    value
                }
            }
        });
        if written.is_none() {
            out.truncate(start);
            jcs::write_value(out, &self.to_value(job_id)?);
        }
        Ok(())
    }

    /// Append the record as `wrkr-events --records` prints it, as [`LineEvent::write_compact`] does.
    pub fn write_compact(&self, job_id: &str, out: &mut Vec<u8>) -> Result<()> {
        let printed = match self.payload.map(|p| (shape(p), p)) {
            None | Some((Shape::Null, _)) => Some(Printed::Empty),
            Some((_, p)) if !crate::json::scan::serde_compact(p) => None,
            Some((Shape::Object, p)) => Some(Printed::Object(p)),
            Some((Shape::Other, p)) => Some(Printed::Wrapped(p)),
        };
        write_compact_record(&self.head(), job_id, printed, || self.to_value(job_id), out)
    }
}

/// The `wrkr.event` record of a ledger event, built as [`EventView::to_value`] builds it, from its
/// head and its payload's bytes (an object, else `{}` or `{"value": ...}`: [`payload_value`]).
fn event_value(head: EventHead<'_>, payload: Option<&[u8]>, job_id: &str) -> Result<Value> {
    let payload = payload_value(head.seq, payload)?;
    let view = EventView {
        seq: head.seq,
        created_at: head.created_at,
        event_type: head.event_type,
        executed: head.executed,
        payload: std::borrow::Cow::Owned(payload),
    };
    Ok(view.to_value(job_id))
}

/// How a printed record holds a payload whose bytes are what serde_json writes.
enum Printed<'p> {
    /// None or null: `{}`.
    Empty,
    Object(&'p [u8]),
    /// Anything else: `{"value": ...}`.
    Wrapped(&'p [u8]),
}

/// Append the record of `head` as serde_json prints [`EventView::to_value`]: the payload copied
/// as `printed` says, or, when it cannot be (`None`), the record built by `value` and printed.
fn write_compact_record(
    head: &EventHead<'_>,
    job_id: &str,
    printed: Option<Printed<'_>>,
    value: impl FnOnce() -> Result<Value>,
    out: &mut Vec<u8>,
) -> Result<()> {
    let Some(printed) = printed else {
        // Serializing a `Value` into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *out, &value()?);
        return Ok(());
    };
    write_compact_head(head, job_id, out);
    match printed {
        Printed::Empty => out.extend_from_slice(b"{}"),
        Printed::Object(p) => out.extend_from_slice(p),
        Printed::Wrapped(p) => {
            out.extend_from_slice(b"{\"value\":");
            out.extend_from_slice(p);
            out.push(b'}');
        }
    }
    out.push(b'}');
    Ok(())
}

/// A `wrkr.event` record as serde_json writes [`EventView::to_value`], up to its payload.
fn write_compact_head(head: &EventHead<'_>, job_id: &str, out: &mut Vec<u8>) {
    let string = |out: &mut Vec<u8>, text: &str| {
        let _ = serde_json::to_writer(&mut *out, text);
    };
    out.extend_from_slice(b"{\"schema_id\":\"wrkr.event\",\"schema_version\":");
    string(out, SCHEMA_VERSION);
    out.extend_from_slice(b",\"created_at\":");
    string(out, head.created_at);
    out.extend_from_slice(b",\"producer_version\":");
    string(out, PRODUCER_VERSION);
    out.extend_from_slice(b",\"event_id\":\"evt_");
    out.extend_from_slice(itoa::Buffer::new().format(head.seq).as_bytes());
    out.extend_from_slice(b"\",\"job_id\":");
    string(out, job_id);
    out.extend_from_slice(b",\"type\":");
    string(out, head.event_type);
    out.extend_from_slice(if head.executed { b",\"executed\":true" } else { b",\"executed\":false" });
    out.extend_from_slice(b",\"payload\":");
}

/// A ledger event as its scanned line: the `wrkr.event` record [`EventView`] would make of it,
/// with the payload taken from the line's bytes.
pub struct LineEvent<'a> {
    pub seq: u64,
    pub created_at: &'a str,
    pub event_type: &'a str,
    /// The payload as stored; `None` when the line has none.
    pub payload: Option<ScanNode<'a>>,
}

impl LineEvent<'_> {
    /// `executed` as the projection reads it: the payload's boolean `executed`, else true.
    fn head(&self) -> EventHead<'_> {
        let object = self.payload.filter(ScanNode::is_object);
        let executed = object.and_then(|p| p.member("executed")).and_then(|e| e.as_bool()).unwrap_or(true);
        EventHead { seq: self.seq, created_at: self.created_at, event_type: self.event_type, executed }
    }

    /// The record as a `Value`, exactly [`EventView::to_value`] of the same ledger event.
    pub fn to_value(&self, job_id: &str) -> Result<Value> {
        event_value(self.head(), self.payload.map(|p| p.bytes()), job_id)
    }

    /// Append the record as `wrkr-events --records` prints it, exactly the compact serde_json
    /// bytes of [`LineEvent::to_value`], without building the `Value` when the payload's own bytes
    /// are those (`ScanNode::is_serde_compact`: any payload our writers wrote, as long as its
    /// numbers are integers or spelt as serde_json spells them). Key order is `to_value`'s.
    pub fn write_compact(&self, job_id: &str, out: &mut Vec<u8>) -> Result<()> {
        let printed = match self.payload {
            None => Some(Printed::Empty),
            Some(p) if p.is_null() => Some(Printed::Empty),
            Some(p) if !p.is_serde_compact() => None,
            Some(p) if p.is_object() => Some(Printed::Object(p.bytes())),
            Some(p) => Some(Printed::Wrapped(p.bytes())),
        };
        write_compact_record(&self.head(), job_id, printed, || self.to_value(job_id), out)
    }

    /// Append the record's canonical bytes to `out`, as [`EventView::write_canonical`] does.
    pub fn write_canonical(&self, job_id: &str, out: &mut Vec<u8>, scratch: &mut Scratch) {
        write_event_canonical(&self.head(), job_id, out, |out| match self.payload {
            Some(p) if p.is_object() => p.write_canonical(out, scratch),
            Some(p) if !p.is_null() => {
                out.extend_from_slice(b"{\"value\":");
                p.write_canonical(out, scratch);
                out.push(b'}');
            }
            _ => out.extend_from_slice(b"{}"),
        });
    }
}

/// A `checkpoint_emitted` ledger event as its scanned line: the `wrkr.checkpoint` record
/// [`render_checkpoint`] makes of it, written from the line's bytes.
pub struct LineCheckpoint<'a> {
    pub seq: u64,
    pub created_at: &'a str,
    /// The event's payload as stored; `None` when the line has none.
    pub payload: Option<ScanNode<'a>>,
}

impl LineCheckpoint<'_> {
    /// The record as a `Value`, exactly what the projection renders for the same ledger event.
    pub fn to_value(&self, job_id: &str) -> Result<Value> {
        let payload = payload_value(self.seq, self.payload.map(|p| p.bytes()))?;
        Ok(render_checkpoint(job_id, self.seq, self.created_at, &payload, checkpoint_delta(&payload)))
    }

    /// Append the JCS bytes of [`LineCheckpoint::to_value`] to `out` without building it: the keys
    /// are fixed and ASCII, so they are written here in their canonical order; values the payload
    /// gives are read as [`render_checkpoint`] reads them (a missing or mistyped one is `""`, `0`
    /// or left out alike).
    pub fn write_canonical(&self, job_id: &str, out: &mut Vec<u8>, scratch: &mut Scratch) {
        let payload = self.payload.filter(ScanNode::is_object);
        let member = |key: &str| payload.and_then(|p| p.member(key));
        let strings = |out: &mut Vec<u8>, list: Option<ScanNode<'_>>| {
            out.push(b'[');
            let texts = list.and_then(|l| l.items()).into_iter().flatten().filter_map(|item| item.str());
            for (i, text) in texts.enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                jcs::write_string(out, &text);
            }
            out.push(b']');
        };
        let text = |key: &str| member(key).and_then(|v| v.str()).unwrap_or_default();
        let delta = member("artifacts_delta");
        out.extend_from_slice(b"{\"artifacts_delta\":{\"added\":");
        strings(out, delta.and_then(|d| d.member("added")));
        out.extend_from_slice(b",\"changed\":");
        strings(out, delta.and_then(|d| d.member("changed")));
        out.extend_from_slice(b",\"removed\":");
        strings(out, delta.and_then(|d| d.member("removed")));
        out.extend_from_slice(b"},\"budget_state\":{");
        let budget = member("budget_state");
        let keys = ["retry_count", "step_count", "tool_call_count", "wall_time_seconds"];
        for (i, key) in keys.into_iter().enumerate() {
            out.extend_from_slice(if i == 0 { b"\"" } else { b",\"" });
            out.extend_from_slice(key.as_bytes());
            out.extend_from_slice(b"\":");
            let n = budget.and_then(|b| b.member(key)).and_then(|n| n.as_u64()).unwrap_or(0);
            out.extend_from_slice(itoa::Buffer::new().format(n).as_bytes());
        }
        out.extend_from_slice(b"},\"checkpoint_id\":\"cp_");
        out.extend_from_slice(itoa::Buffer::new().format(self.seq).as_bytes());
        out.extend_from_slice(b"\",\"created_at\":");
        jcs::write_string(out, self.created_at);
        out.extend_from_slice(b",\"job_id\":");
        jcs::write_string(out, job_id);
        out.extend_from_slice(b",\"producer_version\":");
        let producer = text("producer_version");
        jcs::write_string(out, if producer.is_empty() { PRODUCER_VERSION } else { &producer });
        out.extend_from_slice(b",\"reason_codes\":");
        strings(out, member("reason_codes"));
        if let Some(action) = member("required_action").filter(ScanNode::is_object) {
            out.extend_from_slice(b",\"required_action\":");
            action.write_canonical(out, scratch);
        }
        out.extend_from_slice(b",\"schema_id\":\"wrkr.checkpoint\",\"schema_version\":");
        jcs::write_string(out, SCHEMA_VERSION);
        out.extend_from_slice(b",\"status\":");
        jcs::write_string(out, &text("status"));
        out.extend_from_slice(b",\"summary\":");
        jcs::write_string(out, &text("summary"));
        out.extend_from_slice(b",\"type\":");
        jcs::write_string(out, &text("type"));
        out.push(b'}');
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::job::projection::{LedgerEvent, Projection};
    use crate::json::scan::Scan;

    /// Payloads of every shape a ledger may hold: canonical, unsorted, escaped, mistyped members,
    /// missing members, non-object payloads and deltas, odd numbers.
    const PAYLOADS: &[&str] = &[
        r#"{"artifacts_delta":{"added":["a.md"],"changed":[],"removed":[]},"budget_state":{"retry_count":0,"step_count":1,"tool_call_count":2,"wall_time_seconds":3},"reason_codes":[],"status":"running","summary":"s","type":"progress"}"#,
        r#"{"type":"decision-needed","summary":"tab\t \"q\" \/ é 😀","status":"blocked_decision","required_action":{"kind":"approve","instructions":"say \"yes\""},"producer_version":"","reason_codes":["E_X",7,null]}"#,
        r#"{"budget_state":{"wall_time_seconds":-1,"retry_count":2.5,"step_count":"3","tool_call_count":1e2},"artifacts_delta":{"added":["c.md",3,null,"  ",""],"changed":"x.md"}}"#,
        r#" { "type" : "progress" , "producer_version" : "0.0.1-other" , "budget_state" : { } , "artifacts_delta" : { "removed" : [ "old.md" ] , "added" : [ "d\/e.md" ] } , "required_action" : "no" } "#,
        r#"{"budget_state":[1,2],"artifacts_delta":["e.md"],"required_action":{},"reason_codes":"E_Y"}"#,
        r#"{"required_action":{"z":{"b":[1,{"y":null,"x":0.5}],"a":true},"kind":""},"summary":""}"#,
        r#"{}"#,
        r#"[1,"a"]"#,
        r#""text""#,
        r#"null"#,
        r#"7"#,
    ];

    #[test]
    fn checkpoint_bytes_are_the_value_paths_jcs() {
        let (mut scan, mut scratch) = (Scan::new(), Scratch::default());
        for text in PAYLOADS.iter().copied().map(Some).chain([None]) {
            let payload = match text {
                Some(text) => {
                    scan.parse(text.as_bytes()).unwrap_or_else(|_| panic!("unsure of {text}"));
                    scan.root(text.as_bytes())
                }
                None => None,
            };
            let checkpoint = LineCheckpoint { seq: 12, created_at: "2026-02-13T18:00:00.5Z", payload };
            let mut fast = Vec::new();
            checkpoint.write_canonical("job_x", &mut fast, &mut scratch);
            let value = checkpoint.to_value("job_x").unwrap();
            assert_eq!(
                String::from_utf8(fast).unwrap(),
                String::from_utf8(jcs::value_to_vec(&value)).unwrap(),
                "{text:?}"
            );
            // `to_value` is the projection's own record of the same event.
            let parsed = text.map(|t| crate::json::parse(t.as_bytes()).unwrap());
            let event = LedgerEvent {
                seq: 12,
                created_at: "2026-02-13T18:00:00.5Z",
                event_type: "checkpoint_emitted",
                payload: parsed.as_ref(),
            };
            assert_eq!(Projection::new("job_x").event(&event).checkpoint, Some(value), "{text:?}");
        }
    }

    /// The packer checks a line's checkpoint record on its scan; whatever that check says, the
    /// outcome is `add_record`'s on the `Value` (the same error, worded the same). Some of these
    /// the check refuses (schema violations); the scan is unsure of a record with a `\u` escape
    /// (a control character in the job id), which the `Value` path then adds.
    #[test]
    fn checkpoint_check_on_the_scan_is_add_records() {
        use crate::pack::build::Packer;
        let (mut scan, mut scratch, mut line) = (Scan::new(), Scratch::default(), Vec::new());
        let payloads = [
            r#"{"type":"bogus","summary":"s","status":"running"}"#,
            r#"{"type":"plan","summary":"","status":"running"}"#,
            r#"{"type":"plan","summary":"s","status":"sleeping"}"#,
            r#"{"type":"plan","summary":"s","status":"running","reason_codes":["E_X",""]}"#,
            r#"{"type":"plan","summary":"s","status":"running","required_action":{"kind":1}}"#,
            r#"{"type":"plan","summary":"s","status":"running","required_action":{"why":"x"}}"#,
            r#"{"type":"plan","summary":"a\tb \"c\"","status":"running","required_action":{"kind":"x\ny"}}"#,
            r#"{"type":"plan","summary":"s","status":"running"}"#,
        ];
        let mut refused = 0;
        let cases = payloads.iter().map(|p| (*p, "job_x")).chain([(payloads[7], "job_\u{1}")]);
        for (text, job_id) in cases {
            scan.parse(text.as_bytes()).unwrap_or_else(|_| panic!("unsure of {text}"));
            let checkpoint =
                LineCheckpoint { seq: 5, created_at: "2026-02-13T18:00:00Z", payload: scan.root(text.as_bytes()) };
            let mut by_line = Packer::new().unwrap();
            let fast = by_line.add_line_checkpoint(&checkpoint, job_id, &mut line, &mut scratch);
            let mut by_value = Packer::new().unwrap();
            let slow = by_value.add_record(&checkpoint.to_value(job_id).unwrap());
            assert_eq!(format!("{fast:?}"), format!("{slow:?}"), "{text}");
            refused += usize::from(fast.is_err());
        }
        assert_eq!(refused, 6, "the invalid payloads are refused");
    }

    /// `wrkr-events --records` writes a line's event without the `Value` when it can: the same
    /// bytes either way, for payloads whose bytes serde_json would write (copied) and for those
    /// it would not (whitespace, `\/`, numbers spelt otherwise: built), and for odd heads.
    #[test]
    fn compact_event_bytes_are_the_value_paths() {
        // Each with whether its bytes are copied (serde_json writes 1e21 as `1e+21`).
        let more = [
            (
                r#"{"step_id":"s1","n":-3,"f":0.5,"g":1.0,"big":9007199254740992,"nested":[{"b":null,"a":true}],"s":"tab\t q\" é 😀 /"}"#,
                true,
            ),
            (r#"{"cost":1e+21,"tiny":1.5e-7,"neg":-2.25}"#, true),
            (r#"{"cost":1e21}"#, false),
            (r#"{"x":1.50}"#, false),
            (r#"{"x":1e2}"#, false),
            (r#"{"x":1E2}"#, false),
            (r#"{"path":"a\/b"}"#, false),
            (r#"{"a": 1}"#, false),
            (r#"[ 1 ]"#, false),
            (r#"[1.0,"x"]"#, true),
            ("{\"executed\":false,\"k\":\"v\"}", true),
            (r#"{"executed":"no"}"#, true),
        ];
        let mut scan = Scan::new();
        for (text, copies) in more {
            scan.parse(text.as_bytes()).unwrap();
            assert_eq!(scan.root(text.as_bytes()).map(|p| p.is_serde_compact()), Some(copies), "{text}");
        }
        let mut copied = 0;
        for text in PAYLOADS.iter().copied().chain(more.map(|(text, _)| text)).map(Some).chain([None]) {
            let payload = match text {
                Some(text) => {
                    scan.parse(text.as_bytes()).unwrap_or_else(|_| panic!("unsure of {text}"));
                    scan.root(text.as_bytes())
                }
                None => None,
            };
            copied += usize::from(payload.is_some_and(|p| p.is_serde_compact()));
            for (created_at, event_type, job_id) in
                [("2026-02-13T18:00:00Z", "x-step_finished", "job_x"), ("t\"1\u{1}", "x-\\odd\n", "job_\u{7f}é")]
            {
                let event = LineEvent { seq: 41, created_at, event_type, payload };
                let mut fast = Vec::new();
                event.write_compact(job_id, &mut fast).unwrap();
                let slow = serde_json::to_vec(&event.to_value(job_id).unwrap()).unwrap();
                assert_eq!(String::from_utf8(fast).unwrap(), String::from_utf8(slow).unwrap(), "{text:?}");
            }
        }
        // The copying path is taken where it may be, and not where it may not.
        assert_eq!(copied, 8 + 5, "payloads whose bytes serde_json writes as they stand");
    }

    /// A spec line too big to index makes the records its scanned line would: canonical and
    /// printed, for payloads of every shape (the non-object ones wrapped, `executed` read from
    /// the bytes, escaped keys decoded), whether its payload is copied or built.
    #[test]
    fn big_event_records_are_the_line_events() {
        let more = [
            r#"{"executed":false,"jobspec":{"z":1,"a":[{"id":"s0","command":"true"}]},"workspace":"/w"}"#,
            r#"{"exec\u0075ted":false,"s":"\u00e9\ud83d\ude00","n":[1.50,1e2,-0]}"#,
            r#"{"executed":"false"}"#,
            r#" { "a" : 1 } "#,
        ];
        let (mut scan, mut scratch) = (Scan::new(), Scratch::default());
        for text in PAYLOADS.iter().chain(&more).copied().map(Some).chain([None]) {
            let bytes = text.map(str::as_bytes);
            let big = BigEvent {
                seq: 9,
                created_at: "2026-02-13T18:00:00Z".into(),
                event_type: "x-jobspec_recorded".into(),
                payload: bytes,
            };
            let mut canonical = Vec::new();
            big.write_canonical("job_x", &mut canonical).unwrap();
            let mut compact = Vec::new();
            big.write_compact("job_x", &mut compact).unwrap();
            // The same event through the strict path: its record, canonical and printed.
            let value = big.to_value("job_x").unwrap();
            assert_eq!(
                String::from_utf8(canonical).unwrap(),
                String::from_utf8(jcs::value_to_vec(&value)).unwrap(),
                "{text:?}"
            );
            assert_eq!(String::from_utf8(compact).unwrap(), serde_json::to_string(&value).unwrap(), "{text:?}");
            // And what the projection makes of the event (its `executed` included).
            let parsed = text.map(|t| crate::json::parse(t.as_bytes()).unwrap());
            let ledger = LedgerEvent {
                seq: 9,
                created_at: "2026-02-13T18:00:00Z",
                event_type: "x-jobspec_recorded",
                payload: parsed.as_ref(),
            };
            assert_eq!(Projection::new("job_x").event(&ledger).event, value, "{text:?}");
            // Where the scan is sure of the payload, the line path agrees too.
            if let Some(text) = text.filter(|t| scan.parse(t.as_bytes()).is_ok()) {
                let line = LineEvent {
                    seq: 9,
                    created_at: "2026-02-13T18:00:00Z",
                    event_type: "x-jobspec_recorded",
                    payload: scan.root(text.as_bytes()),
                };
                let mut fast = Vec::new();
                line.write_canonical("job_x", &mut fast, &mut scratch);
                assert_eq!(fast, jcs::value_to_vec(&value), "{text}");
            }
        }
    }

    #[test]
    fn event_bytes_are_the_value_paths_jcs() {
        let (mut scan, mut scratch) = (Scan::new(), Scratch::default());
        for text in PAYLOADS {
            scan.parse(text.as_bytes()).unwrap();
            let event = LineEvent {
                seq: 3,
                created_at: "2026-02-13T18:00:00Z",
                event_type: "checkpoint_emitted",
                payload: scan.root(text.as_bytes()),
            };
            let mut fast = Vec::new();
            event.write_canonical("job_x", &mut fast, &mut scratch);
            assert_eq!(fast, jcs::value_to_vec(&event.to_value("job_x").unwrap()), "{text}");
        }
    }
}
