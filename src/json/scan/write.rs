//! The canonical form (RFC 8785) of a scanned value, written from the document's own bytes: a
//! clean value (already canonical) is one copy; otherwise numbers are printed by the ECMAScript
//! rule, escaped strings decoded and written again, and an object's members written in key order,
//! which the scan has either found in place, kept sorted, or leaves to be sorted here, once.

use super::{Kind, Order, Scan, key_order};
use crate::jcs;

/// Scratch space for writing canonical forms, kept by the caller between documents.
#[derive(Default)]
pub struct Scratch {
    /// Member key nodes of the objects being written, innermost on top.
    pub(super) members: Vec<usize>,
    /// A decoded escaped string.
    text: String,
}

impl Scan {
    /// Append the canonical form of the node at `at` to `out`.
    pub(super) fn write(&self, src: &[u8], at: usize, out: &mut Vec<u8>, scratch: &mut Scratch) {
        let Some(&node) = self.nodes.get(at) else { return };
        if node.clean {
            out.extend_from_slice(&src[node.start..node.end]);
            return;
        }
        match node.kind {
            Kind::Null | Kind::Bool(_) | Kind::Int { .. } => out.extend_from_slice(&src[node.start..node.end]),
            Kind::Float(f) => out.extend_from_slice(ryu_js::Buffer::new().format_finite(f).as_bytes()),
            Kind::Str { .. } => {
                scratch.text.clear();
                unescape_into(&src[node.start + 1..node.end - 1], &mut scratch.text);
                jcs::write_string(out, &scratch.text);
            }
            Kind::Array => {
                out.push(b'[');
                let mut item = at + 1;
                while item < node.next {
                    if item > at + 1 {
                        out.push(b',');
                    }
                    self.write(src, item, out, scratch);
                    item = self.nodes[item].next;
                }
                out.push(b']');
            }
            Kind::Object(order) => {
                out.push(b'{');
                match order {
                    Order::Document => {
                        let mut key = at + 1;
                        while key < node.next {
                            self.write_member(src, key, key == at + 1, out, scratch);
                            key = self.nodes[key + 1].next;
                        }
                    }
                    Order::Sorted { at: first, len } => {
                        let (first, len) = (first as usize, len as usize);
                        for i in first..first + len {
                            self.write_member(src, self.sorted[i], i == first, out, scratch);
                        }
                    }
                    Order::Unsorted => {
                        // Members sorted on top of the shared stack; nested objects push above and pop.
                        let base = scratch.members.len();
                        let mut key = at + 1;
                        while key < node.next {
                            scratch.members.push(key);
                            key = self.nodes[key + 1].next;
                        }
                        let nodes = &self.nodes;
                        scratch.members[base..].sort_unstable_by(|&a, &b| key_order(src, &nodes[a], &nodes[b]));
                        for i in base..scratch.members.len() {
                            self.write_member(src, scratch.members[i], i == base, out, scratch);
                        }
                        scratch.members.truncate(base);
                    }
                }
                out.push(b'}');
            }
        }
    }

    /// Append `"key":value` (with a leading comma unless `first`) for the key node at `key`.
    fn write_member(&self, src: &[u8], key: usize, first: bool, out: &mut Vec<u8>, scratch: &mut Scratch) {
        if !first {
            out.push(b',');
        }
        // Keys are never escaped (that is unsure), so their bytes are canonical.
        let node = &self.nodes[key];
        out.extend_from_slice(&src[node.start..node.end]);
        out.push(b':');
        self.write(src, key + 1, out, scratch);
    }
}

/// Decode the escapes of a string's content (`\u` never gets here: it is unsure).
pub(super) fn unescape_into(raw: &[u8], out: &mut String) {
    let mut bytes = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let b = raw[i];
        if b != b'\\' {
            bytes.push(b);
            i += 1;
            continue;
        }
        bytes.push(match raw.get(i + 1) {
            Some(b'b') => 0x08,
            Some(b'f') => 0x0c,
            Some(b'n') => b'\n',
            Some(b'r') => b'\r',
            Some(b't') => b'\t',
            Some(&other) => other, // `"`, `\`, `/`
            None => b'\\',
        });
        i += 2;
    }
    // The content was checked to be UTF-8, and unescaping ASCII keeps it so.
    out.push_str(&String::from_utf8_lossy(&bytes));
}
