//! Where a JSON Pointer is written in JobSpec text: line and column for findings.
//!
//! serde-saphyr gives us a value without positions, so positions come from a second, separate
//! walk over the YAML events (JSON is YAML 1.2, so the same walk serves `.json` specs). The walk
//! runs only when a spec has findings: the happy path pays nothing. Each mapping entry is located
//! at its key, each sequence item at its first character; a pointer that is not written (a
//! required key that is missing) is located at its nearest written ancestor. Best effort: text the
//! parser stops on yields the positions seen so far.

use std::collections::HashMap;

use granit_parser::{Event, Parser};

/// 1-based line and column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Location {
    pub line: usize,
    pub column: usize,
}

/// The positions of every key and item in one document, by JSON Pointer.
pub struct Locations(HashMap<String, Location>);

enum Frame {
    /// `key`: `None` while the next node is a key, the key's text while the next node is its value.
    Mapping {
        base: String,
        key: Option<String>,
    },
    Sequence {
        base: String,
        next: usize,
    },
}

impl Locations {
    /// Index the first document of `text`.
    pub fn index(text: &str) -> Locations {
        let mut found = HashMap::new();
        let mut stack: Vec<Frame> = Vec::new();
        let mut parser = Parser::new_from_str(text);
        while let Some(Ok((event, span))) = parser.next_event() {
            let at = Location { line: span.start.line(), column: span.start.col() + 1 };
            let scalar = match &event {
                Event::Scalar(value, ..) => Some(value.to_string()),
                Event::Alias(_) => Some(String::new()),
                Event::MappingStart(..) | Event::SequenceStart(..) => None,
                Event::MappingEnd | Event::SequenceEnd => {
                    stack.pop();
                    finish_child(&mut stack, None);
                    continue;
                }
                Event::DocumentEnd => break,
                _ => continue,
            };
            let pointer = child_pointer(&stack, scalar.as_deref());
            found.entry(pointer.clone()).or_insert(at);
            match event {
                Event::MappingStart(..) => stack.push(Frame::Mapping { base: pointer, key: None }),
                Event::SequenceStart(..) => stack.push(Frame::Sequence { base: pointer, next: 0 }),
                _ => finish_child(&mut stack, scalar.as_deref()),
            }
        }
        Locations(found)
    }

    /// The location of `pointer`, or of its nearest located ancestor.
    pub fn find(&self, pointer: &str) -> Option<Location> {
        let mut pointer = pointer;
        loop {
            if let Some(at) = self.0.get(pointer) {
                return Some(*at);
            }
            pointer = &pointer[..pointer.rfind('/')?];
        }
    }
}

/// The pointer of the node that starts now: a key is located at itself, a value shares its key's
/// pointer (so the key's earlier position wins), an item is its index.
fn child_pointer(stack: &[Frame], scalar: Option<&str>) -> String {
    match stack.last() {
        None => String::new(),
        Some(Frame::Mapping { base, key: None }) => format!("{base}/{}", escape(scalar.unwrap_or("?"))),
        Some(Frame::Mapping { base, key: Some(key) }) => format!("{base}/{}", escape(key)),
        Some(Frame::Sequence { base, next }) => format!("{base}/{next}"),
    }
}

/// A child of the top frame is complete: a key makes the next node its value, a value or an item
/// moves on.
fn finish_child(stack: &mut [Frame], scalar: Option<&str>) {
    match stack.last_mut() {
        Some(Frame::Mapping { key, .. }) => {
            *key = match key {
                None => Some(scalar.unwrap_or("?").to_owned()),
                Some(_) => None,
            }
        }
        Some(Frame::Sequence { next, .. }) => *next += 1,
        None => {}
    }
}

/// JSON Pointer escaping (RFC 6901).
fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(locations: &Locations, pointer: &str) -> Option<(usize, usize)> {
        locations.find(pointer).map(|l| (l.line, l.column))
    }

    #[test]
    fn keys_items_and_flow_styles() {
        let text = "a: 1\nbudgets:\n  max_tool_calls: 3\n  max_tokns: 0\nsteps:\n  - id: x\n    comand: y\n  - {id: z, comand: w}\n";
        let l = Locations::index(text);
        assert_eq!(at(&l, "/a"), Some((1, 1)));
        assert_eq!(at(&l, "/budgets/max_tokns"), Some((4, 3)));
        assert_eq!(at(&l, "/steps/0/comand"), Some((7, 5)));
        assert_eq!(at(&l, "/steps/1"), Some((8, 5)));
        assert_eq!(at(&l, "/steps/1/comand"), Some((8, 13)));
        assert_eq!(at(&l, "/budgets/missing"), Some((2, 1)), "an absent key is located at its parent");
        assert_eq!(at(&l, "/nope"), Some((1, 1)), "the root is the last resort");
    }

    #[test]
    fn json_text_and_escapes() {
        let text = "{\n  \"a/b\": {\"c~d\": [1, {\"e\": 2}]}\n}\n";
        let l = Locations::index(text);
        assert_eq!(at(&l, "/a~1b/c~0d/1/e"), Some((2, 23)));
    }

    #[test]
    fn broken_text_keeps_what_was_seen() {
        let l = Locations::index("a: 1\nb: [unclosed\n");
        assert_eq!(at(&l, "/a"), Some((1, 1)));
    }
}
