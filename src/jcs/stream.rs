//! The canonical form of a checked document written from its bytes, one object at a time: for a
//! ledger line too big to index (a 25,000-step JobSpec is 1 MB of JSON; its scan index is 6 MB
//! and its `Value` about 20 MB).
//!
//! The document must have passed [`crate::json::check`] (syntax, duplicate keys, depth). Memory
//! is the members of the objects on the path being written: an object's members are found by
//! skipping over their values, sorted, and each value is then written from its bytes; an array
//! is written item by item as it is read. A value nested n deep is read n + 1 times, which is
//! what bounds the memory. Strings and numbers go through serde_json and the same writers as
//! [`super::write_value`], so the bytes are those of `jcs::value_to_vec(&json::parse(..))`,
//! which a property test holds this to.

use serde_json::Number;

use super::{utf16_order, write_number, write_string};

/// Append the canonical form of `src` to `out`. `None` (with `out` partly written) when `src`
/// is not a checked document after all; the caller then takes the `Value` path.
pub fn write_checked(src: &[u8], out: &mut Vec<u8>) -> Option<()> {
    let mut cursor = Cursor { src, at: 0 };
    cursor.write_value(out)?;
    cursor.skip_whitespace();
    (cursor.at == src.len()).then_some(())
}

/// The bytes of member `key` of the object `src` (a checked document), if it has it.
pub fn member<'a>(src: &'a [u8], key: &str) -> Option<&'a [u8]> {
    let mut cursor = Cursor { src, at: 0 };
    cursor.members()?.into_iter().find(|(name, _)| name == key).map(|(_, span)| &src[span.0..span.1])
}

struct Cursor<'a> {
    src: &'a [u8],
    at: usize,
}

impl Cursor<'_> {
    fn skip_whitespace(&mut self) {
        while self.src.get(self.at).is_some_and(|b| matches!(b, b' ' | b'\t' | b'\n' | b'\r')) {
            self.at += 1;
        }
    }

    fn peek(&mut self) -> Option<u8> {
        self.skip_whitespace();
        self.src.get(self.at).copied()
    }

    fn expect(&mut self, byte: u8) -> Option<()> {
        (self.peek()? == byte).then(|| self.at += 1)
    }

    /// The span of the string starting at the cursor, quotes included, and whether it has escapes.
    fn string_span(&mut self) -> Option<(usize, usize, bool)> {
        let start = self.at;
        let mut escaped = false;
        self.at += 1;
        loop {
            match self.src.get(self.at)? {
                b'"' => break,
                b'\\' => {
                    escaped = true;
                    self.at += 2;
                }
                _ => self.at += 1,
            }
        }
        self.at += 1;
        Some((start, self.at, escaped))
    }

    /// The string at the cursor, decoded as serde_json decodes it.
    fn string(&mut self) -> Option<String> {
        let (start, end, escaped) = self.string_span()?;
        match escaped {
            false => std::str::from_utf8(&self.src[start + 1..end - 1]).ok().map(str::to_owned),
            true => serde_json::from_slice(&self.src[start..end]).ok(),
        }
    }

    /// Move past the value at the cursor; its span.
    fn skip_value(&mut self) -> Option<(usize, usize)> {
        self.skip_whitespace();
        let start = self.at;
        match *self.src.get(self.at)? {
            b'"' => {
                self.string_span()?;
            }
            b'{' | b'[' => {
                let mut depth = 0usize;
                loop {
                    match *self.src.get(self.at)? {
                        b'"' => {
                            self.string_span()?;
                            continue;
                        }
                        b'{' | b'[' => depth += 1,
                        b'}' | b']' => {
                            depth = depth.checked_sub(1)?;
                            if depth == 0 {
                                self.at += 1;
                                break;
                            }
                        }
                        _ => {}
                    }
                    self.at += 1;
                }
            }
            _ => {
                let delimiter = |b: &u8| matches!(b, b',' | b':' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r');
                while self.src.get(self.at).is_some_and(|b| !delimiter(b)) {
                    self.at += 1;
                }
                if self.at == start {
                    return None;
                }
            }
        }
        Some((start, self.at))
    }

    /// The members of the object at the cursor: decoded keys and the spans of their values.
    fn members(&mut self) -> Option<Vec<(String, (usize, usize))>> {
        self.expect(b'{')?;
        let mut members = Vec::new();
        if self.peek()? == b'}' {
            self.at += 1;
            return Some(members);
        }
        loop {
            if self.peek()? != b'"' {
                return None;
            }
            let key = self.string()?;
            self.expect(b':')?;
            let span = self.skip_value()?;
            members.push((key, span));
            match self.peek()? {
                b',' => self.at += 1,
                b'}' => {
                    self.at += 1;
                    return Some(members);
                }
                _ => return None,
            }
        }
    }

    fn write_value(&mut self, out: &mut Vec<u8>) -> Option<()> {
        match self.peek()? {
            b'{' => {
                let mut members = self.members()?;
                members.sort_by(|a, b| utf16_order(&a.0, &b.0));
                if members.windows(2).any(|pair| pair[0].0 == pair[1].0) {
                    return None;
                }
                out.push(b'{');
                for (i, (key, (start, end))) in members.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    write_string(out, key);
                    out.push(b':');
                    write_checked(&self.src[*start..*end], out)?;
                }
                out.push(b'}');
            }
            b'[' => {
                self.at += 1;
                out.push(b'[');
                if self.peek()? == b']' {
                    self.at += 1;
                } else {
                    loop {
                        self.write_value(out)?;
                        match self.peek()? {
                            b',' => {
                                self.at += 1;
                                out.push(b',');
                            }
                            b']' => {
                                self.at += 1;
                                break;
                            }
                            _ => return None,
                        }
                    }
                }
                out.push(b']');
            }
            b'"' => write_string(out, &self.string()?),
            _ => {
                let (start, end) = self.skip_value()?;
                match &self.src[start..end] {
                    literal @ (b"true" | b"false" | b"null") => out.extend_from_slice(literal),
                    number => write_number(out, &serde_json::from_slice::<Number>(number).ok()?),
                }
            }
        }
        Some(())
    }
}
