//! One value of a scanned document ([`ScanNode`]): what a reader of a ledger line asks of it
//! (members, items, text, numbers) and its canonical form, all read from the document's bytes.
//! The schema validator reads it too (`contract::validate::Instance`), so a record written from a
//! ledger line is checked without a second parse into another representation.

use std::borrow::Cow;

use serde_json::Number;

use super::{Kind, Node, Scan, Scratch, unescape_into};

/// One value of a scanned document.
#[derive(Clone, Copy)]
pub struct ScanNode<'a> {
    pub(super) scan: &'a Scan,
    /// The whole document (checked to be UTF-8 by [`Scan::root`]).
    pub(super) src: &'a str,
    pub(super) at: usize,
}

impl<'a> ScanNode<'a> {
    fn node(&self) -> &'a Node {
        &self.scan.nodes[self.at]
    }

    /// Append the value's canonical form (RFC 8785) to `out`.
    pub fn write_canonical(&self, out: &mut Vec<u8>, scratch: &mut Scratch) {
        scratch.members.clear();
        self.scan.write(self.src.as_bytes(), self.at, out, scratch);
    }

    /// The value's bytes as they stand in the document.
    pub fn bytes(&self) -> &'a [u8] {
        let node = self.node();
        &self.src.as_bytes()[node.start..node.end]
    }

    /// The text between the quotes of the string or key node at `at` (its raw content). A
    /// node starts and ends at an ASCII quote, so the slice is always on character boundaries.
    fn raw_text(&self, at: usize) -> &'a str {
        let node = &self.scan.nodes[at];
        self.src.get(node.start + 1..node.end - 1).unwrap_or_default()
    }

    pub fn is_object(&self) -> bool {
        matches!(self.node().kind, Kind::Object(_))
    }

    pub fn is_array(&self) -> bool {
        self.node().kind == Kind::Array
    }

    pub fn is_string(&self) -> bool {
        matches!(self.node().kind, Kind::Str { .. })
    }

    pub fn is_null(&self) -> bool {
        self.node().kind == Kind::Null
    }

    /// The value of member `key`, when this is an object that has it.
    pub fn member(&self, key: &str) -> Option<ScanNode<'a>> {
        let node = self.node();
        if !matches!(node.kind, Kind::Object(_)) {
            return None;
        }
        let (src, key) = (self.src.as_bytes(), key.as_bytes());
        let mut k = self.at + 1;
        while k < node.next {
            // Lengths first (quotes included): most keys differ there, without a byte compare.
            let key_node = &self.scan.nodes[k];
            if key_node.end - key_node.start == key.len() + 2 && &src[key_node.start + 1..key_node.end - 1] == key {
                return Some(ScanNode { at: k + 1, ..*self });
            }
            k = self.scan.nodes[k + 1].next;
        }
        None
    }

    /// The items, in document order, when this is an array.
    pub fn items(&self) -> Option<Items<'a>> {
        let node = self.node();
        (node.kind == Kind::Array).then_some(Items { next: self.at + 1, end: node.next, doc: *self })
    }

    /// The members (key, value), in document order, when this is an object. Keys are never
    /// escaped (the scan is unsure of those), so a key's bytes between its quotes are its text.
    pub fn members(&self) -> Option<Members<'a>> {
        let node = self.node();
        matches!(node.kind, Kind::Object(_)).then_some(Members { next: self.at + 1, end: node.next, doc: *self })
    }

    /// The text, when this is a string.
    pub fn str(&self) -> Option<Cow<'a, str>> {
        let Kind::Str { escaped } = self.node().kind else { return None };
        let raw = self.raw_text(self.at);
        if escaped {
            let mut text = String::new();
            unescape_into(raw.as_bytes(), &mut text);
            return Some(Cow::Owned(text));
        }
        Some(Cow::Borrowed(raw))
    }

    /// The number, when this is one, as `serde_json` reads the same text (`Value::Number`): an
    /// integer as an integer, anything else as its double.
    pub fn number(&self) -> Option<Number> {
        match self.node().kind {
            // At most 2^53 in magnitude, so it fits an i64 either way.
            Kind::Int { magnitude, negative: true } => i64::try_from(magnitude).ok().map(|m| Number::from(-m)),
            Kind::Int { magnitude, negative: false } => Some(Number::from(magnitude)),
            Kind::Float(f) => Number::from_f64(f),
            _ => None,
        }
    }

    /// The value, when this is an integer that fits a `u64` (as `Value::as_u64`).
    pub fn as_u64(&self) -> Option<u64> {
        match self.node().kind {
            Kind::Int { magnitude, negative: false } => Some(magnitude),
            _ => None,
        }
    }

    /// The value, when this is a boolean.
    pub fn as_bool(&self) -> Option<bool> {
        match self.node().kind {
            Kind::Bool(b) => Some(b),
            _ => None,
        }
    }

    /// Whether the value's bytes are exactly what `serde_json` writes (compact) for what
    /// [`crate::json::parse`] reads from them, so that a record can copy them instead of building
    /// and printing a `Value` (`wrkr-events --records`). The scan is sure of what it took: no
    /// duplicate key, no `\u` escape, integers spelt canonically. What is left to look at: no
    /// whitespace between tokens, no `\/` (serde_json writes `/`), and every other number spelt as
    /// serde_json spells the double it denotes (`1.5` is, `1.50` and `1e2` are not).
    pub fn is_serde_compact(&self) -> bool {
        serde_compact(self.bytes())
    }
}

/// [`ScanNode::is_serde_compact`] for the bytes of a document checked by [`crate::json::check`]
/// rather than scanned (duplicate keys are refused either way): also no `\u` escape, since
/// serde_json writes those characters as they are.
pub fn serde_compact(bytes: &[u8]) -> bool {
    let mut i = 0;
    while let Some(&byte) = bytes.get(i) {
        match byte {
            b'"' => {
                // To the closing quote; an escape is two bytes (a `\u` one refuses the copy).
                i += 1;
                loop {
                    match bytes.get(i) {
                        Some(b'"') => break,
                        Some(b'\\') if matches!(bytes.get(i + 1), Some(b'/' | b'u')) => return false,
                        Some(b'\\') => i += 2,
                        Some(_) => i += 1,
                        None => return false,
                    }
                }
                i += 1;
            }
            b' ' | b'\t' | b'\n' | b'\r' => return false,
            b'-' | b'0'..=b'9' => {
                let start = i;
                while bytes.get(i).is_some_and(|b| matches!(b, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E')) {
                    i += 1;
                }
                let text = &bytes[start..i];
                if text.iter().any(|b| matches!(b, b'.' | b'e' | b'E')) && !spelt_as_serde_writes(text) {
                    return false;
                }
            }
            _ => i += 1,
        }
    }
    true
}

/// Whether `text`, a JSON number with a fraction or an exponent, is how serde_json writes the
/// double it denotes (it parses to the nearest double, as serde_json's `float_roundtrip` does).
fn spelt_as_serde_writes(text: &[u8]) -> bool {
    let Some(value) = std::str::from_utf8(text).ok().and_then(|t| t.parse::<f64>().ok()) else { return false };
    serde_json::to_vec(&value).is_ok_and(|written| written == text)
}

/// The items of an array node ([`ScanNode::items`]).
#[derive(Clone)]
pub struct Items<'a> {
    next: usize,
    end: usize,
    doc: ScanNode<'a>,
}

impl<'a> Iterator for Items<'a> {
    type Item = ScanNode<'a>;

    fn next(&mut self) -> Option<ScanNode<'a>> {
        if self.next >= self.end {
            return None;
        }
        let at = self.next;
        self.next = self.doc.scan.nodes[at].next;
        Some(ScanNode { at, ..self.doc })
    }
}

/// The members of an object node ([`ScanNode::members`]), in document order.
#[derive(Clone)]
pub struct Members<'a> {
    next: usize,
    end: usize,
    doc: ScanNode<'a>,
}

impl<'a> Iterator for Members<'a> {
    type Item = (&'a str, ScanNode<'a>);

    fn next(&mut self) -> Option<(&'a str, ScanNode<'a>)> {
        if self.next >= self.end {
            return None;
        }
        let key = self.next;
        self.next = self.doc.scan.nodes[key + 1].next;
        Some((self.doc.raw_text(key), ScanNode { at: key + 1, ..self.doc }))
    }
}
