//! A zero-copy index of one JSON document, and its canonical form written from the document's own
//! bytes: the hot path of `wrkr export` (ledger lines into pack records).
//!
//! Why it exists: a `serde_json::Value` per ledger line allocates every key, string and map, and a
//! [`crate::json::tape::Tape`] still copies every string; export then writes nearly all of those
//! bytes back out unchanged. A [`Scan`] keeps only byte spans into the caller's line, so a string
//! without escapes, an exact integer, or a whole object that is already canonical (compact, keys
//! in order: what our own writers produce) is copied as it stands, with one `memcpy`.
//!
//! Conservative by design: it says yes only to documents it is sure about, and for those its
//! canonical bytes are exactly [`crate::jcs::write_value`] of what [`crate::json::parse`] gives
//! (a property test holds them to it). Everything else is [`Unsure`]: any syntax error, a string
//! that is not UTF-8 or holds a control character, a `\u` escape, an escaped key, an integer that
//! is `-0` or beyond 2^53 (JCS prints those through a double), a number that is not a finite
//! double, a duplicate key, nesting deeper than [`MAX_DEPTH`]. The caller then takes the strict
//! path (`json::parse`), which accepts the document with the same bytes or words the error, so
//! being unsure costs time, never a different answer.
use crate::jcs;

/// Deeper documents are left to the strict parser (serde_json stops at 128).
pub const MAX_DEPTH: usize = 100;

/// The largest integer JCS prints digit for digit (2^53); beyond it, the double it denotes.
const EXACT: u64 = 1 << 53;

/// "Not on the fast path": the strict parser decides (and words any error).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Unsure;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Null,
    Bool(bool),
    /// An integer whose text is its canonical form.
    Int,
    /// Any other number: a finite double, printed by the ECMAScript rule.
    Float(f64),
    /// `escaped`: holds `\` escapes (decoded when read or written).
    Str {
        escaped: bool,
    },
    Array,
    Object,
}

/// One value: its kind, its bytes `start..end` in the document, the index of the first node after
/// its content (`next`), and whether its bytes are already its canonical form (`clean`).
#[derive(Clone, Copy, Debug)]
struct Node {
    kind: Kind,
    start: usize,
    end: usize,
    next: usize,
    clean: bool,
}

/// One scanned document. Reuse it: [`Scan::parse`] clears it first.
#[derive(Default)]
pub struct Scan {
    /// Pre-order, as in the tape: a container, then its content (objects: key, value, ...).
    nodes: Vec<Node>,
    /// Scratch: the key nodes of an object whose keys are out of order (the duplicate check).
    keys: Vec<usize>,
}

/// Scratch space for writing canonical forms, kept by the caller between documents.
#[derive(Default)]
pub struct Scratch {
    /// Member key nodes of the objects being written, innermost on top.
    members: Vec<usize>,
    /// A decoded escaped string.
    text: String,
}

impl Scan {
    pub fn new() -> Scan {
        Scan::default()
    }

    /// Index `src`, one JSON value with optional surrounding whitespace.
    pub fn parse(&mut self, src: &[u8]) -> Result<(), Unsure> {
        self.nodes.clear();
        self.nodes.shrink_to(1 << 16);
        let mut parser = Parser { src, pos: 0, scan: self };
        parser.skip_ws();
        let parsed = parser.value(0).and_then(|()| {
            parser.skip_ws();
            if parser.pos == src.len() { Ok(()) } else { Err(Unsure) }
        });
        if parsed.is_err() {
            self.nodes.clear();
        }
        parsed
    }

    /// Forget the last document (its root is then `None`).
    pub fn clear(&mut self) {
        self.nodes.clear();
    }

    /// The root of the last document parsed from `src` (pass the same bytes); `None` after an
    /// unsure parse.
    pub fn root<'a>(&'a self, src: &'a [u8]) -> Option<ScanNode<'a>> {
        (!self.nodes.is_empty()).then_some(ScanNode { scan: self, src, at: 0 })
    }

    /// Append the canonical form of the node at `at` to `out`.
    fn write(&self, src: &[u8], at: usize, out: &mut Vec<u8>, scratch: &mut Scratch) {
        let Some(&node) = self.nodes.get(at) else { return };
        if node.clean {
            out.extend_from_slice(&src[node.start..node.end]);
            return;
        }
        match node.kind {
            Kind::Null | Kind::Bool(_) | Kind::Int => out.extend_from_slice(&src[node.start..node.end]),
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
            Kind::Object => {
                // Members sorted on top of the shared stack; nested objects push above and pop.
                let base = scratch.members.len();
                let mut key = at + 1;
                while key < node.next {
                    scratch.members.push(key);
                    key = self.nodes[key + 1].next;
                }
                let nodes = &self.nodes;
                scratch.members[base..].sort_unstable_by(|&a, &b| key_order(src, &nodes[a], &nodes[b]));
                out.push(b'{');
                for i in base..scratch.members.len() {
                    if i > base {
                        out.push(b',');
                    }
                    let key = scratch.members[i];
                    // Keys are never escaped (that is unsure), so their bytes are canonical.
                    out.extend_from_slice(&src[self.nodes[key].start..self.nodes[key].end]);
                    out.push(b':');
                    self.write(src, key + 1, out, scratch);
                }
                scratch.members.truncate(base);
                out.push(b'}');
            }
        }
    }
}

/// Key order of two key nodes (unescaped strings): UTF-16 code units, as JCS sorts.
fn key_order(src: &[u8], a: &Node, b: &Node) -> std::cmp::Ordering {
    let (a, b) = (&src[a.start + 1..a.end - 1], &src[b.start + 1..b.end - 1]);
    if a.is_ascii() && b.is_ascii() {
        return a.cmp(b);
    }
    // Both were checked to be UTF-8 when scanned.
    jcs::utf16_order(std::str::from_utf8(a).unwrap_or_default(), std::str::from_utf8(b).unwrap_or_default())
}

/// Decode the escapes of a string's content (`\u` never gets here: it is unsure).
fn unescape_into(raw: &[u8], out: &mut String) {
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

struct Parser<'s, 'a> {
    src: &'a [u8],
    pos: usize,
    scan: &'s mut Scan,
}

impl Parser<'_, '_> {
    fn skip_ws(&mut self) -> bool {
        let start = self.pos;
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.src.get(self.pos) {
            self.pos += 1;
        }
        self.pos > start
    }

    fn push(&mut self, kind: Kind, start: usize, clean: bool) -> usize {
        let at = self.scan.nodes.len();
        self.scan.nodes.push(Node { kind, start, end: self.pos, next: at + 1, clean });
        at
    }

    fn literal(&mut self, word: &[u8], kind: Kind) -> Result<(), Unsure> {
        if !self.src[self.pos..].starts_with(word) {
            return Err(Unsure);
        }
        let start = self.pos;
        self.pos += word.len();
        self.push(kind, start, true);
        Ok(())
    }

    fn value(&mut self, depth: usize) -> Result<(), Unsure> {
        match self.src.get(self.pos) {
            Some(b'{') => self.object(depth + 1),
            Some(b'[') => self.array(depth + 1),
            Some(b'"') => self.string().map(|_| ()),
            Some(b'n') => self.literal(b"null", Kind::Null),
            Some(b't') => self.literal(b"true", Kind::Bool(true)),
            Some(b'f') => self.literal(b"false", Kind::Bool(false)),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => Err(Unsure),
        }
    }

    /// A string; returns its node index.
    fn string(&mut self) -> Result<usize, Unsure> {
        let start = self.pos;
        let src = self.src;
        let mut i = start + 1;
        let mut escaped = false;
        loop {
            // Plain bytes first: the common case is a run of them up to the closing quote.
            while let Some(&b) = src.get(i) {
                if b == b'"' || b == b'\\' || b < 0x20 {
                    break;
                }
                i += 1;
            }
            match src.get(i) {
                Some(b'"') => break,
                Some(b'\\') => {
                    match src.get(i + 1) {
                        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => {}
                        _ => return Err(Unsure), // `\u` and anything invalid
                    }
                    escaped = true;
                    i += 2;
                }
                _ => return Err(Unsure), // a control character, or no closing quote
            }
        }
        std::str::from_utf8(&src[start + 1..i]).map_err(|_| Unsure)?;
        self.pos = i + 1;
        Ok(self.push(Kind::Str { escaped }, start, !escaped))
    }

    fn digits(&mut self) -> usize {
        let start = self.pos;
        while let Some(b'0'..=b'9') = self.src.get(self.pos) {
            self.pos += 1;
        }
        self.pos - start
    }

    fn number(&mut self) -> Result<(), Unsure> {
        let start = self.pos;
        let negative = self.src.get(self.pos) == Some(&b'-');
        if negative {
            self.pos += 1;
        }
        let int_start = self.pos;
        let int_len = self.digits();
        if int_len == 0 || (int_len > 1 && self.src[int_start] == b'0') {
            return Err(Unsure);
        }
        let mut float = false;
        if self.src.get(self.pos) == Some(&b'.') {
            self.pos += 1;
            if self.digits() == 0 {
                return Err(Unsure);
            }
            float = true;
        }
        if let Some(b'e' | b'E') = self.src.get(self.pos) {
            self.pos += 1;
            if let Some(b'+' | b'-') = self.src.get(self.pos) {
                self.pos += 1;
            }
            let exp_len = self.digits();
            // A huge exponent is where parsers differ (range errors): leave it to the strict one.
            if exp_len == 0 || exp_len > 4 {
                return Err(Unsure);
            }
            float = true;
        }
        // Only ASCII digits, signs, `.` and `e` were consumed.
        let text = std::str::from_utf8(&self.src[start..self.pos]).map_err(|_| Unsure)?;
        if !float {
            // serde_json reads `-0` as a double, and JCS prints integers beyond 2^53 through one.
            let exact = int_len <= 16 && text[usize::from(negative)..].parse::<u64>().is_ok_and(|n| n <= EXACT);
            if !exact || text == "-0" {
                return Err(Unsure);
            }
            self.push(Kind::Int, start, true);
            return Ok(());
        }
        if self.pos - start > 64 {
            return Err(Unsure); // long mantissas: also the strict parser's to judge
        }
        let f: f64 = text.parse().map_err(|_| Unsure)?;
        if !f.is_finite() {
            return Err(Unsure);
        }
        self.push(Kind::Float(f), start, false);
        Ok(())
    }

    fn array(&mut self, depth: usize) -> Result<(), Unsure> {
        if depth > MAX_DEPTH {
            return Err(Unsure);
        }
        let start = self.pos;
        let at = self.push(Kind::Array, start, true);
        self.pos += 1;
        let mut clean = !self.skip_ws();
        if self.src.get(self.pos) != Some(&b']') {
            loop {
                let item = self.scan.nodes.len();
                self.value(depth)?;
                clean &= self.scan.nodes[item].clean;
                clean &= !self.skip_ws();
                match self.src.get(self.pos) {
                    Some(b',') => {
                        self.pos += 1;
                        clean &= !self.skip_ws();
                    }
                    Some(b']') => break,
                    _ => return Err(Unsure),
                }
            }
        }
        self.pos += 1;
        let next = self.scan.nodes.len();
        let node = &mut self.scan.nodes[at];
        (node.end, node.next, node.clean) = (self.pos, next, clean);
        Ok(())
    }

    fn object(&mut self, depth: usize) -> Result<(), Unsure> {
        if depth > MAX_DEPTH {
            return Err(Unsure);
        }
        let start = self.pos;
        let at = self.push(Kind::Object, start, true);
        self.pos += 1;
        let mut clean = !self.skip_ws();
        let mut previous: Option<usize> = None;
        let mut ordered = true;
        if self.src.get(self.pos) != Some(&b'}') {
            loop {
                if self.src.get(self.pos) != Some(&b'"') {
                    return Err(Unsure);
                }
                let key = self.string()?;
                if !self.scan.nodes[key].clean {
                    return Err(Unsure); // an escaped key
                }
                if let Some(prev) = previous {
                    let nodes = &self.scan.nodes;
                    ordered &= key_order(self.src, &nodes[prev], &nodes[key]).is_lt();
                }
                previous = Some(key);
                clean &= !self.skip_ws();
                if self.src.get(self.pos) != Some(&b':') {
                    return Err(Unsure);
                }
                self.pos += 1;
                clean &= !self.skip_ws();
                let value = self.scan.nodes.len();
                self.value(depth)?;
                clean &= self.scan.nodes[value].clean;
                clean &= !self.skip_ws();
                match self.src.get(self.pos) {
                    Some(b',') => {
                        self.pos += 1;
                        clean &= !self.skip_ws();
                    }
                    Some(b'}') => break,
                    _ => return Err(Unsure),
                }
            }
        }
        self.pos += 1;
        let next = self.scan.nodes.len();
        if !ordered && has_duplicate_key(self.scan, self.src, at, next) {
            return Err(Unsure); // json::parse words the duplicate
        }
        let node = &mut self.scan.nodes[at];
        (node.end, node.next, node.clean) = (self.pos, next, clean && ordered);
        Ok(())
    }
}

/// Whether the object at `at` (content up to `next`) names a key twice (its keys out of order).
fn has_duplicate_key(scan: &mut Scan, src: &[u8], at: usize, next: usize) -> bool {
    let mut keys = std::mem::take(&mut scan.keys);
    keys.clear();
    let mut key = at + 1;
    while key < next {
        keys.push(key);
        key = scan.nodes[key + 1].next;
    }
    let nodes = &scan.nodes;
    keys.sort_unstable_by(|&a, &b| key_order(src, &nodes[a], &nodes[b]));
    let twice = keys.windows(2).any(|w| key_order(src, &nodes[w[0]], &nodes[w[1]]).is_eq());
    scan.keys = keys;
    twice
}

mod node;
pub use node::ScanNode;

#[cfg(test)]
mod tests;
