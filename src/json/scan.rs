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
//!
//! What it costs, per document: one UTF-8 check of the whole text (std's is fast on long ASCII
//! runs; strings and numbers are then cut at ASCII bytes, so every piece is UTF-8 too), one node
//! per value, and for an object whose keys are out of order (a ledger line's own keys, most
//! payloads) a duplicate check by byte equality. Such an object is sorted only when its canonical
//! form is written, once, or at parse time when it is too big for a pairwise check (then the
//! sorted order is kept for the writer). The root of a ledger line is never written, so it is
//! never sorted.

/// Deeper documents are left to the strict parser (serde_json stops at 128).
pub const MAX_DEPTH: usize = 100;

/// The largest integer JCS prints digit for digit (2^53); beyond it, the double it denotes.
const EXACT: u64 = 1 << 53;

/// Objects with up to this many members are checked for duplicate keys pair by pair (keys of
/// different lengths never compare their bytes); bigger ones are sorted, and keep that order.
const PAIRWISE_MEMBERS: usize = 16;

/// "Not on the fast path": the strict parser decides (and words any error).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Unsure;

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Null,
    Bool(bool),
    /// An integer whose text is its canonical form: its magnitude (at most 2^53) and sign.
    Int {
        magnitude: u64,
        negative: bool,
    },
    /// Any other number: a finite double, printed by the ECMAScript rule.
    Float(f64),
    /// `escaped`: holds `\` escapes (decoded when read or written).
    Str {
        escaped: bool,
    },
    Array,
    Object(Order),
}

/// The order an object's members are written in (JCS: keys sorted by UTF-16 code units).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Order {
    /// The keys are in order as they stand.
    Document,
    /// Out of order, sorted when written.
    Unsorted,
    /// Out of order and sorted already: the key node indices are `Scan::sorted[at..at + len]`.
    Sorted { at: u32, len: u32 },
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
    /// Scratch: the key spans of an object whose keys are out of order (the duplicate check).
    keys: Vec<(usize, usize)>,
    /// The sorted key node indices of big objects whose keys are out of order ([`Order::Sorted`]).
    sorted: Vec<usize>,
}

impl Scan {
    pub fn new() -> Scan {
        Scan::default()
    }

    /// Index `src`, one JSON value with optional surrounding whitespace.
    pub fn parse(&mut self, src: &[u8]) -> Result<(), Unsure> {
        self.nodes.clear();
        self.nodes.shrink_to(1 << 16);
        self.sorted.clear();
        self.sorted.shrink_to(1 << 12);
        // Once for the whole document: every span the scan cuts starts and ends at an ASCII byte
        // (a quote, a bracket, a digit), so each is UTF-8 as well.
        let Ok(text) = std::str::from_utf8(src) else { return Err(Unsure) };
        let mut parser = Parser { src, text, pos: 0, scan: self };
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
    /// unsure parse. Checks `src` to be UTF-8 once more (one fast pass), so that every read of
    /// the document's text is a slice of a `str`, without a check per string.
    pub fn root<'a>(&'a self, src: &'a [u8]) -> Option<ScanNode<'a>> {
        let src = std::str::from_utf8(src).ok().filter(|_| !self.nodes.is_empty())?;
        Some(ScanNode { scan: self, src, at: 0 })
    }
}

/// Key order of two key nodes (unescaped strings): UTF-16 code units, as JCS sorts.
///
/// One pass, no decoding: UTF-8 byte order is code point order, and UTF-16 order differs from it
/// only between a character in U+E000..=U+FFFF (lead byte 0xEE or 0xEF) and one beyond U+FFFF
/// (lead byte 0xF0..=0xF4, a surrogate pair in UTF-16, so it sorts first). The first byte where
/// two valid UTF-8 strings differ is at the same character boundary in both when it is a lead
/// byte in either, which is the only place that can happen.
fn key_order(src: &[u8], a: &Node, b: &Node) -> std::cmp::Ordering {
    let (a, b) = (&src[a.start + 1..a.end - 1], &src[b.start + 1..b.end - 1]);
    match a.iter().zip(b).find(|(x, y)| x != y) {
        None => a.len().cmp(&b.len()),
        Some((&x, &y)) if x >= 0xee && y >= 0xee && (x >= 0xf0) != (y >= 0xf0) => y.cmp(&x),
        Some((x, y)) => x.cmp(y),
    }
}

/// Skip from `i` over whole 8-byte words of plain string content (no `"`, `\` or control
/// character), and return where the byte-wise scan must go on. The word tests are the classic
/// "has a zero byte" bit tricks: exact for whether a word holds such a byte, not for where.
fn plain_run(src: &[u8], mut i: usize) -> usize {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    let has_zero = |w: u64| w.wrapping_sub(ONES) & !w & HIGHS;
    while let Some(Ok(word)) = src.get(i..i + 8).map(<[u8; 8]>::try_from) {
        let w = u64::from_le_bytes(word);
        let special = has_zero(w ^ (ONES * u64::from(b'"')))
            | has_zero(w ^ (ONES * u64::from(b'\\')))
            | (w.wrapping_sub(ONES * 0x20) & !w & HIGHS);
        if special != 0 {
            break;
        }
        i += 8;
    }
    i
}

struct Parser<'s, 'a> {
    src: &'a [u8],
    /// `src`, checked to be UTF-8.
    text: &'a str,
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
            i = plain_run(src, i);
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
        // UTF-8: the whole document was checked, and the quotes are ASCII.
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
        if !float {
            // serde_json reads `-0` as a double, and JCS prints integers beyond 2^53 through one.
            // At most 16 digits cannot overflow a u64.
            if int_len > 16 {
                return Err(Unsure);
            }
            let digits = &self.src[int_start..self.pos];
            let magnitude = digits.iter().fold(0u64, |n, d| n * 10 + u64::from(d - b'0'));
            if magnitude > EXACT || (negative && magnitude == 0) {
                return Err(Unsure);
            }
            self.push(Kind::Int { magnitude, negative }, start, true);
            return Ok(());
        }
        if self.pos - start > 64 {
            return Err(Unsure); // long mantissas: also the strict parser's to judge
        }
        // Only ASCII digits, signs, `.` and `e` were consumed: both ends are character boundaries.
        let f: f64 = self.text.get(start..self.pos).ok_or(Unsure)?.parse().map_err(|_| Unsure)?;
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
        let at = self.push(Kind::Object(Order::Document), start, true);
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
                if ordered && let Some(prev) = previous {
                    let nodes = &self.scan.nodes;
                    ordered = key_order(self.src, &nodes[prev], &nodes[key]).is_lt();
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
        let order = if ordered { Order::Document } else { self.scan.unordered(self.src, at, next)? };
        let node = &mut self.scan.nodes[at];
        (node.kind, node.end, node.next, node.clean) = (Kind::Object(order), self.pos, next, clean && ordered);
        Ok(())
    }
}

impl Scan {
    /// The order of the object at `at` (content up to `next`) whose keys are out of order, or
    /// [`Unsure`] when it names a key twice (`json::parse` words the duplicate). Keys are never
    /// escaped, so two keys are the same exactly when their bytes are.
    fn unordered(&mut self, src: &[u8], at: usize, next: usize) -> Result<Order, Unsure> {
        let mut keys = std::mem::take(&mut self.keys);
        keys.clear();
        let mut key = at + 1;
        while key < next {
            keys.push((self.nodes[key].start, self.nodes[key].end));
            key = self.nodes[key + 1].next;
        }
        let order = if keys.len() <= PAIRWISE_MEMBERS {
            let text = |&(start, end): &(usize, usize)| &src[start..end];
            let twice = keys.iter().enumerate().any(|(i, a)| keys[i + 1..].iter().any(|b| text(a) == text(b)));
            if twice { Err(Unsure) } else { Ok(Order::Unsorted) }
        } else {
            self.sorted_order(src, at, next)
        };
        self.keys = keys;
        order
    }

    /// Sort the keys of a big object once, for the duplicate check and for the writer.
    fn sorted_order(&mut self, src: &[u8], at: usize, next: usize) -> Result<Order, Unsure> {
        let first = self.sorted.len();
        let mut key = at + 1;
        while key < next {
            self.sorted.push(key);
            key = self.nodes[key + 1].next;
        }
        let nodes = &self.nodes;
        let keys = &mut self.sorted[first..];
        keys.sort_unstable_by(|&a, &b| key_order(src, &nodes[a], &nodes[b]));
        if keys.windows(2).any(|w| key_order(src, &nodes[w[0]], &nodes[w[1]]).is_eq()) {
            return Err(Unsure);
        }
        let (at, len) = (u32::try_from(first).map_err(|_| Unsure)?, u32::try_from(keys.len()).map_err(|_| Unsure)?);
        Ok(Order::Sorted { at, len })
    }
}

mod node;
mod write;
pub use node::{Items, Members, ScanNode, serde_compact};
pub use write::Scratch;
use write::unescape_into;

#[cfg(test)]
mod tests;
