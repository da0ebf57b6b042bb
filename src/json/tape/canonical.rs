//! RFC 8785 canonical bytes straight from a [`Tape`]: the hot path of `wrkr-jcs`.
//!
//! Same output as [`crate::jcs::write_value`] on the `Value` that [`crate::json::parse`] gives for
//! the same input (a test holds them to it), without building that `Value`: no allocation per key,
//! string or object once the tape and the scratch stack have grown, so a 100 MB JSONL stream costs
//! parsing and writing, not the allocator. Keys are sorted by UTF-16 code units per object on a
//! scratch stack of member slots shared by every level of nesting.

use super::{Slot, Tape};
use crate::jcs;

impl Tape {
    /// Append the canonical form of the parsed document to `out` (nothing before a successful
    /// parse). `members` is scratch, kept by the caller between documents.
    pub fn write_canonical(&self, out: &mut Vec<u8>, members: &mut Vec<usize>) {
        if !self.slots.is_empty() {
            members.clear();
            self.write_at(0, out, members);
        }
    }

    fn key_at(&self, slot: usize) -> &str {
        match self.slots.get(slot) {
            Some(Slot::String { at, len }) => self.str_at(*at, *len),
            _ => "",
        }
    }

    fn write_at(&self, at: usize, out: &mut Vec<u8>, members: &mut Vec<usize>) {
        let Some(slot) = self.slots.get(at) else { return };
        match slot {
            Slot::Null => out.extend_from_slice(b"null"),
            Slot::Bool(true) => out.extend_from_slice(b"true"),
            Slot::Bool(false) => out.extend_from_slice(b"false"),
            Slot::Number(n) => jcs::write_number(out, n),
            Slot::String { at, len } => jcs::write_string(out, self.str_at(*at, *len)),
            Slot::Array { end, .. } => {
                out.push(b'[');
                let mut item = at + 1;
                while item < *end {
                    if item > at + 1 {
                        out.push(b',');
                    }
                    self.write_at(item, out, members);
                    item = self.after(item);
                }
                out.push(b']');
            }
            Slot::Object { end, .. } => {
                // This object's member key slots go on top of the stack, sorted, then are written;
                // nested objects push theirs above and pop them before we go on.
                let base = members.len();
                let mut member = at + 1;
                while member < *end {
                    members.push(member);
                    member = self.after(member + 1);
                }
                members[base..].sort_unstable_by(|&a, &b| jcs::utf16_order(self.key_at(a), self.key_at(b)));
                out.push(b'{');
                for i in base..members.len() {
                    if i > base {
                        out.push(b',');
                    }
                    let key = members[i];
                    jcs::write_string(out, self.key_at(key));
                    out.push(b':');
                    self.write_at(key + 1, out, members);
                }
                members.truncate(base);
                out.push(b'}');
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The tape writer against the `Value` writer, over the JCS vectors' kinds of input.
    #[test]
    fn same_bytes_as_the_value_writer() {
        let wide: Vec<String> = (0..40).rev().map(|i| format!(r#""k{i}":[{i},{{"z":{i},"a":null}}]"#)).collect();
        let wide = format!("{{{}}}", wide.join(","));
        let inputs = [
            r#"{"b":1,"a":[1e21,0.1]}"#,
            r#"{"\u20ac":"Euro Sign","\r":"CR","\ufb33":"Dalet","1":"One","\ud83d\ude00":"Emoji","\u0080":"Control","\u00f6":"o"}"#,
            r#""\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/""#,
            r#"[0,-0,1e-7,1e20,9007199254740993,5e-324,1.7976931348623157e308,-1.5e-9,18446744073709551615,-9223372036854775808]"#,
            r#"{"c":{"b":{"a":{},"b":[]},"a":[{"y":1,"x":2},[]]},"a":true,"b":false,"d":null}"#,
            "  {\"x\" : [ 1 , 2 ] }  ",
            "[]",
            "{}",
            "\"\"",
            "null",
            wide.as_str(),
        ];
        let mut tape = Tape::new();
        let mut members = Vec::new();
        for input in inputs {
            tape.parse(input.as_bytes()).unwrap();
            let mut fast = Vec::new();
            tape.write_canonical(&mut fast, &mut members);
            let slow = jcs::value_to_vec(&crate::json::parse(input.as_bytes()).unwrap());
            assert_eq!(String::from_utf8_lossy(&fast), String::from_utf8_lossy(&slow), "{input}");
            assert!(members.is_empty(), "the scratch stack is popped back: {input}");
        }
    }
}
