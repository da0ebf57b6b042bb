//! One value of a scanned document ([`ScanNode`]): what a reader of a ledger line asks of it
//! (members, items, text, numbers) and its canonical form, all read from the document's bytes.

use std::borrow::Cow;

use super::{Kind, Node, Scan, Scratch, unescape_into};

/// One value of a scanned document.
#[derive(Clone, Copy)]
pub struct ScanNode<'a> {
    pub(super) scan: &'a Scan,
    pub(super) src: &'a [u8],
    pub(super) at: usize,
}

impl<'a> ScanNode<'a> {
    fn node(&self) -> &'a Node {
        &self.scan.nodes[self.at]
    }

    /// Append the value's canonical form (RFC 8785) to `out`.
    pub fn write_canonical(&self, out: &mut Vec<u8>, scratch: &mut Scratch) {
        scratch.members.clear();
        self.scan.write(self.src, self.at, out, scratch);
    }

    /// The value's bytes as they stand in the document.
    pub fn bytes(&self) -> &'a [u8] {
        let node = self.node();
        &self.src[node.start..node.end]
    }

    pub fn is_object(&self) -> bool {
        self.node().kind == Kind::Object
    }

    pub fn is_null(&self) -> bool {
        self.node().kind == Kind::Null
    }

    /// The value of member `key`, when this is an object that has it.
    pub fn member(&self, key: &str) -> Option<ScanNode<'a>> {
        let node = self.node();
        if node.kind != Kind::Object {
            return None;
        }
        let mut k = self.at + 1;
        while k < node.next {
            let key_node = &self.scan.nodes[k];
            if &self.src[key_node.start + 1..key_node.end - 1] == key.as_bytes() {
                return Some(ScanNode { at: k + 1, ..*self });
            }
            k = self.scan.nodes[k + 1].next;
        }
        None
    }

    /// The items, in document order, when this is an array.
    pub fn items(&self) -> Option<impl Iterator<Item = ScanNode<'a>> + use<'a>> {
        let node = self.node();
        if node.kind != Kind::Array {
            return None;
        }
        let (first, end, this) = (self.at + 1, node.next, *self);
        Some(
            std::iter::successors((first < end).then_some(first), move |&at| {
                let next = this.scan.nodes[at].next;
                (next < end).then_some(next)
            })
            .map(move |at| ScanNode { at, ..this }),
        )
    }

    /// The members (key, value), in document order, when this is an object. Keys are never
    /// escaped (the scan is unsure of those), so a key's bytes between its quotes are its text.
    pub fn members(&self) -> Option<impl Iterator<Item = (&'a str, ScanNode<'a>)> + use<'a>> {
        let node = self.node();
        if node.kind != Kind::Object {
            return None;
        }
        let (first, end, this) = (self.at + 1, node.next, *self);
        Some(
            std::iter::successors((first < end).then_some(first), move |&key| {
                let next = this.scan.nodes[key + 1].next;
                (next < end).then_some(next)
            })
            .map(move |key| {
                let key_node = &this.scan.nodes[key];
                // Checked to be UTF-8 when scanned.
                let text = std::str::from_utf8(&this.src[key_node.start + 1..key_node.end - 1]).unwrap_or_default();
                (text, ScanNode { at: key + 1, ..this })
            }),
        )
    }

    /// The text, when this is a string.
    pub fn str(&self) -> Option<Cow<'a, str>> {
        let node = self.node();
        let Kind::Str { escaped } = node.kind else { return None };
        let raw = &self.src[node.start + 1..node.end - 1];
        if escaped {
            let mut text = String::new();
            unescape_into(raw, &mut text);
            return Some(Cow::Owned(text));
        }
        std::str::from_utf8(raw).ok().map(Cow::Borrowed)
    }

    /// The value, when this is an integer that fits a `u64` (as `Value::as_u64`).
    pub fn as_u64(&self) -> Option<u64> {
        match self.node().kind {
            Kind::Int => std::str::from_utf8(self.bytes()).ok()?.parse().ok(),
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
}
