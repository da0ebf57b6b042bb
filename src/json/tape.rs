//! A reusable, allocation-free JSON document for validating many records: the fast path of
//! `wrkr verify` and acceptance's `schema_validity`.
//!
//! Why it exists: checking a 100,000-record pack through `serde_json::Value` spends most of its
//! time allocating (every key and string, an index map per object) and freeing, not parsing or
//! validating. A [`Tape`] holds one document as a flat list of slots plus one text buffer, both
//! kept from record to record, so a record costs no allocation once the buffers have grown.
//! The schema validator reads it directly (`contract::validate::Instance`), without a `Value`.
//!
//! It is built by the same tokenizer as [`crate::json::parse`] (serde_json's, with the same
//! recursion limit, number handling and duplicate-key rule), so it accepts exactly the documents
//! `json::parse` accepts, with the same content. Its errors are not worded for people: a verdict
//! of "invalid" is always re-derived with `json::parse` and the `Value` validator, so every
//! finding and its message still come from the one strict parser and the one validator.

mod canonical;

use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Number, Value};

/// Up to this many members, a key is compared with each earlier sibling as it arrives; a larger
/// object is checked once at its end by sorting its keys, so hostile objects cost n log n, not n².
const LINEAR_MEMBERS: usize = 32;

/// Capacity kept between documents (slots, text bytes); more is released.
const KEEP_SLOTS: usize = 1 << 16;
const KEEP_TEXT: usize = 1 << 20;

/// One JSON document, flattened. Reuse it: [`Tape::parse`] clears it first.
#[derive(Default)]
pub struct Tape {
    /// Pre-order: a container is followed by its content (for objects: key, value, key, value).
    slots: Vec<Slot>,
    /// Every string and key of the document, back to back.
    text: String,
    /// Scratch for the duplicate check of large objects: (start, len) of each key in `text`.
    keys: Vec<(usize, usize)>,
}

#[derive(Clone, Debug)]
enum Slot {
    Null,
    Bool(bool),
    Number(Number),
    /// `text[at..at + len]`; also an object's key.
    String {
        at: usize,
        len: usize,
    },
    /// `end` is the index of the first slot after the array's content.
    Array {
        end: usize,
    },
    /// `len` members (key slot, then value slots); `end` as for arrays.
    Object {
        len: usize,
        end: usize,
    },
}

impl Tape {
    pub fn new() -> Tape {
        Tape::default()
    }

    /// Parse exactly one JSON value (surrounding whitespace allowed), as [`crate::json::parse`]
    /// does. An error means only "not on the fast path": the caller asks `json::parse` why.
    pub fn parse(&mut self, bytes: &[u8]) -> Result<(), serde_json::Error> {
        // One huge record must not pin its memory for the rest of the stream.
        self.slots.clear();
        self.slots.shrink_to(KEEP_SLOTS);
        self.text.clear();
        self.text.shrink_to(KEEP_TEXT);
        self.keys.clear();
        self.keys.shrink_to(KEEP_SLOTS);
        let mut de = serde_json::Deserializer::from_slice(bytes);
        let parsed = Build(self).deserialize(&mut de).and_then(|()| de.end());
        if parsed.is_err() {
            // A half-built document must never be validated.
            self.slots.clear();
        }
        parsed
    }

    /// The parsed document's root; `None` before a successful parse.
    pub fn root(&self) -> Option<TapeNode<'_>> {
        (!self.slots.is_empty()).then_some(TapeNode { tape: self, at: 0 })
    }

    fn str_at(&self, at: usize, len: usize) -> &str {
        self.text.get(at..at + len).unwrap_or_default()
    }

    /// The index of the first slot after the value at `at`.
    fn after(&self, at: usize) -> usize {
        match self.slots.get(at) {
            Some(Slot::Array { end, .. } | Slot::Object { end, .. }) => *end,
            _ => at + 1,
        }
    }

    fn push_str(&mut self, s: &str) -> Slot {
        let at = self.text.len();
        self.text.push_str(s);
        Slot::String { at, len: s.len() }
    }
}

/// Appends one value to the tape.
struct Build<'t>(&'t mut Tape);

impl<'de> DeserializeSeed<'de> for Build<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Build<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a JSON value")
    }
    fn visit_bool<E>(self, v: bool) -> Result<(), E> {
        self.0.slots.push(Slot::Bool(v));
        Ok(())
    }
    fn visit_i64<E>(self, v: i64) -> Result<(), E> {
        self.0.slots.push(Slot::Number(v.into()));
        Ok(())
    }
    fn visit_u64<E>(self, v: u64) -> Result<(), E> {
        self.0.slots.push(Slot::Number(v.into()));
        Ok(())
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<(), E> {
        let n = Number::from_f64(v).ok_or_else(|| E::custom("number out of range"))?;
        self.0.slots.push(Slot::Number(n));
        Ok(())
    }
    fn visit_str<E>(self, v: &str) -> Result<(), E> {
        let slot = self.0.push_str(v);
        self.0.slots.push(slot);
        Ok(())
    }
    fn visit_unit<E>(self) -> Result<(), E> {
        self.0.slots.push(Slot::Null);
        Ok(())
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<(), A::Error> {
        let tape = self.0;
        let at = tape.slots.len();
        tape.slots.push(Slot::Array { end: 0 });
        while seq.next_element_seed(Build(&mut *tape))?.is_some() {}
        tape.slots[at] = Slot::Array { end: tape.slots.len() };
        Ok(())
    }
    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<(), A::Error> {
        let tape = self.0;
        let at = tape.slots.len();
        tape.slots.push(Slot::Object { len: 0, end: 0 });
        let mut len = 0;
        while access.next_key_seed(Key(&mut *tape))?.is_some() {
            let key_at = tape.slots.len() - 1;
            if len < LINEAR_MEMBERS {
                let key = member_key(tape, key_at);
                let mut sibling = at + 1;
                while sibling < key_at {
                    if member_key(tape, sibling) == key {
                        return Err(duplicate(key));
                    }
                    sibling = tape.after(sibling + 1);
                }
            }
            access.next_value_seed(Build(&mut *tape))?;
            len += 1;
        }
        let end = tape.slots.len();
        tape.slots[at] = Slot::Object { len, end };
        if len > LINEAR_MEMBERS {
            let mut keys = std::mem::take(&mut tape.keys);
            keys.clear();
            let mut member = at + 1;
            while member < end {
                if let Some(Slot::String { at, len }) = tape.slots.get(member) {
                    keys.push((*at, *len));
                }
                member = tape.after(member + 1);
            }
            keys.sort_unstable_by(|a, b| tape.str_at(a.0, a.1).cmp(tape.str_at(b.0, b.1)));
            let twice = keys.windows(2).find(|w| tape.str_at(w[0].0, w[0].1) == tape.str_at(w[1].0, w[1].1));
            let found = twice.map(|w| duplicate::<A::Error>(tape.str_at(w[0].0, w[0].1)));
            tape.keys = keys;
            if let Some(err) = found {
                return Err(err);
            }
        }
        Ok(())
    }
}

fn duplicate<E: de::Error>(key: &str) -> E {
    E::custom(format_args!("duplicate object key {key:?}"))
}

fn member_key(tape: &Tape, at: usize) -> &str {
    match tape.slots.get(at) {
        Some(Slot::String { at, len }) => tape.str_at(*at, *len),
        _ => "",
    }
}

/// Appends one object key (a string slot) to the tape.
struct Key<'t>(&'t mut Tape);

impl<'de> DeserializeSeed<'de> for Key<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for Key<'_> {
    type Value = ();

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string key")
    }
    fn visit_str<E>(self, v: &str) -> Result<(), E> {
        let slot = self.0.push_str(v);
        self.0.slots.push(slot);
        Ok(())
    }
}

/// One value of a [`Tape`].
#[derive(Clone, Copy)]
pub struct TapeNode<'a> {
    tape: &'a Tape,
    at: usize,
}

impl<'a> TapeNode<'a> {
    fn slot(&self) -> &'a Slot {
        // `at` always indexes a slot: nodes are made only from the root and from container walks.
        &self.tape.slots[self.at]
    }

    fn str(&self) -> Option<&'a str> {
        match self.slot() {
            Slot::String { at, len } => Some(self.tape.str_at(*at, *len)),
            _ => None,
        }
    }
}

/// Plain reading: what the schema validator and callers that want a few fields of a record use.
impl<'a> TapeNode<'a> {
    pub fn is_null(&self) -> bool {
        matches!(self.slot(), Slot::Null)
    }

    /// The value, when this is `true` or `false`.
    pub fn boolean(&self) -> Option<bool> {
        match self.slot() {
            Slot::Bool(b) => Some(*b),
            _ => None,
        }
    }

    /// The number, when this is one.
    pub fn number(&self) -> Option<&'a Number> {
        match self.slot() {
            Slot::Number(n) => Some(n),
            _ => None,
        }
    }

    /// The members in document order, when this is an object.
    pub fn members(&self) -> Option<Members<'a>> {
        match self.slot() {
            Slot::Object { end, .. } => Some(Members { tape: self.tape, next: self.at + 1, end: *end }),
            _ => None,
        }
    }

    /// This value as a `serde_json::Value` (a copy: for small parts of a big document, tests, messages).
    pub fn to_value(&self) -> Value {
        match self.slot() {
            Slot::Null => Value::Null,
            Slot::Bool(b) => Value::Bool(*b),
            Slot::Number(n) => Value::Number(n.clone()),
            Slot::String { .. } => Value::String(self.str().unwrap_or_default().to_owned()),
            Slot::Array { .. } => Value::Array(self.items().into_iter().flatten().map(|e| e.to_value()).collect()),
            Slot::Object { len, .. } => {
                let mut map = Map::with_capacity(*len);
                for (k, v) in self.members().into_iter().flatten() {
                    map.insert(k.to_owned(), v.to_value());
                }
                Value::Object(map)
            }
        }
    }
}

/// The members of an object node: (key, value) in document order.
pub struct Members<'a> {
    tape: &'a Tape,
    next: usize,
    end: usize,
}

impl<'a> Iterator for Members<'a> {
    type Item = (&'a str, TapeNode<'a>);

    fn next(&mut self) -> Option<Self::Item> {
        if self.next >= self.end {
            return None;
        }
        let key = member_key(self.tape, self.next);
        let value = TapeNode { tape: self.tape, at: self.next + 1 };
        self.next = self.tape.after(self.next + 1);
        Some((key, value))
    }
}

/// The elements of an array node, in order.
pub struct Elements<'a> {
    tape: &'a Tape,
    next: usize,
    end: usize,
}

impl<'a> Iterator for Elements<'a> {
    type Item = TapeNode<'a>;

    fn next(&mut self) -> Option<TapeNode<'a>> {
        if self.next >= self.end {
            return None;
        }
        let node = TapeNode { tape: self.tape, at: self.next };
        self.next = self.tape.after(self.next);
        Some(node)
    }
}

impl<'a> TapeNode<'a> {
    /// The value of member `key`, when this is an object that has it.
    pub fn member(&self, key: &str) -> Option<TapeNode<'a>> {
        self.members()?.find(|(name, _)| *name == key).map(|(_, value)| value)
    }

    /// The text, when this is a string.
    pub fn string(&self) -> Option<&'a str> {
        self.str()
    }

    /// The elements, when this is an array.
    pub fn items(&self) -> Option<Elements<'a>> {
        match self.slot() {
            Slot::Array { end, .. } => Some(Elements { tape: self.tape, next: self.at + 1, end: *end }),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(text: &str) -> Option<Value> {
        let mut tape = Tape::new();
        tape.parse(text.as_bytes()).ok()?;
        tape.root().map(|r| r.to_value())
    }

    #[test]
    fn round_trips_what_json_parse_reads() {
        for text in [
            r#"{"b":1,"a":[true,null,-2,1.5,"x\u00e9\n"],"c":{"d":{}},"e":[]}"#,
            "  42 \n",
            r#""\ud83d\ude00""#,
            "[[[[]]],{}]",
            "1e300",
            "-0",
            "18446744073709551615",
        ] {
            assert_eq!(value(text), crate::json::parse(text.as_bytes()).ok(), "{text}");
        }
    }

    #[test]
    fn refuses_what_json_parse_refuses() {
        let deep = "[".repeat(200) + &"]".repeat(200);
        for text in [r#"{"a":1,"a":2}"#, r#"[{"x":{"b":1,"b":1}}]"#, "{} {}", "1e400", "[1,]", deep.as_str(), "\"\t\""]
        {
            assert!(value(text).is_none(), "{text}");
            assert!(crate::json::parse(text.as_bytes()).is_err(), "{text}");
        }
    }

    #[test]
    fn large_objects_are_checked_for_duplicates_too() {
        for n in [LINEAR_MEMBERS, LINEAR_MEMBERS + 1, 1000] {
            let members: Vec<String> = (0..n).map(|i| format!(r#""k{i}":{{"k{i}":[{i}]}}"#)).collect();
            let text = format!("{{{}}}", members.join(","));
            assert_eq!(value(&text), crate::json::parse(text.as_bytes()).ok(), "{n} members");
            assert!(value(&text).is_some());
            for twice in [0, n / 2, n - 1] {
                let text = format!(r#"{{{},"k{twice}":null}}"#, members.join(","));
                assert!(value(&text).is_none(), "{n} members, k{twice} twice");
                assert!(crate::json::parse(text.as_bytes()).is_err());
            }
        }
    }

    #[test]
    fn reads_fields() {
        let mut tape = Tape::new();
        tape.parse(br#"{"type":"progress","delta":{"added":["a",1,"b"]},"n":[]}"#).unwrap();
        let root = tape.root().unwrap();
        assert_eq!(root.member("type").and_then(|t| t.string()), Some("progress"));
        let added = root.member("delta").and_then(|d| d.member("added")).and_then(|a| a.items());
        assert_eq!(added.unwrap().filter_map(|n| n.string()).collect::<Vec<_>>(), ["a", "b"]);
        assert!(root.member("n").unwrap().items().unwrap().next().is_none());
        assert!(root.member("type").unwrap().member("x").is_none() && root.member("missing").is_none());
        assert!(root.member("type").unwrap().items().is_none());
    }

    #[test]
    fn reuse_clears_the_previous_document() {
        let mut tape = Tape::new();
        tape.parse(br#"{"a":"long string value"}"#).unwrap();
        tape.parse(b"[1]").unwrap();
        assert_eq!(tape.root().map(|r| r.to_value()), Some(serde_json::json!([1])));
        assert!(tape.parse(b"[1").is_err());
        assert!(tape.root().is_none());
    }
}
