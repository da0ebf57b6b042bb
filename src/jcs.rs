//! RFC 8785 JSON Canonicalization Scheme: the bytes that every wrkr hash is computed over.
//!
//! Keys sorted by UTF-16 code units, no insignificant whitespace, ECMAScript number formatting,
//! minimal string escaping. The writer is ours (a tree walk into a reused buffer) because it is the
//! hot path of `wrkr-jcs` and of every digest, and the general-purpose `serde_jcs` serialiser spent
//! most of its time re-buffering each object; `serde_jcs` 0.2 stays as the oracle in the tests.
//! Numbers are formatted by `ryu-js`, which implements ECMAScript's Number-to-String exactly.

use std::cmp::Ordering;

use serde::Serialize;
use serde_json::{Number, Value};

/// The canonical bytes of any serialisable value.
pub fn to_vec<T: Serialize + ?Sized>(value: &T) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    match serde_json::to_value(value) {
        Ok(v) => write_value(&mut out, &v),
        // Our Serialize impls produce plain JSON (string keys, finite numbers); failing here is a bug.
        Err(err) => panic!("canonical JSON serialisation failed: {err}"),
    }
    out
}

/// The canonical bytes of a parsed value.
pub fn value_to_vec(value: &Value) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    write_value(&mut out, value);
    out
}

/// Write the canonical form of `value` to `out`.
pub fn to_writer<W: std::io::Write>(mut out: W, value: &Value) -> std::io::Result<()> {
    let mut buf = Vec::with_capacity(256);
    write_value(&mut buf, value);
    out.write_all(&buf)
}

/// Append the canonical form of `value` to `out`.
pub fn write_value(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => write_number(out, n),
        Value::String(s) => write_string(out, s),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(out, item);
            }
            out.push(b']');
        }
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_unstable_by(|a, b| utf16_order(a.0, b.0));
            out.push(b'{');
            for (i, (key, item)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_string(out, key);
                out.push(b':');
                write_value(out, item);
            }
            out.push(b'}');
        }
    }
}

/// Order of keys by UTF-16 code units. UTF-8 byte order equals code point order, which differs from
/// UTF-16 order only between U+E000..U+FFFF and supplementary characters; ASCII keys take the fast path.
pub(crate) fn utf16_order(a: &str, b: &str) -> Ordering {
    if a.is_ascii() && b.is_ascii() { a.cmp(b) } else { a.encode_utf16().cmp(b.encode_utf16()) }
}

/// Integers up to 2^53 print exactly; everything else goes through the double it denotes, as in
/// JavaScript (`9007199254740993` is `9007199254740992`, `1e21` is `1e+21`).
pub(crate) fn write_number(out: &mut Vec<u8>, n: &Number) {
    const EXACT: u64 = 1 << 53;
    if let Some(u) = n.as_u64().filter(|u| *u <= EXACT) {
        out.extend_from_slice(itoa::Buffer::new().format(u).as_bytes());
    } else if let Some(i) = n.as_i64().filter(|i| i.unsigned_abs() <= EXACT) {
        out.extend_from_slice(itoa::Buffer::new().format(i).as_bytes());
    } else {
        let f = n.as_f64().unwrap_or(0.0);
        out.extend_from_slice(ryu_js::Buffer::new().format_finite(f).as_bytes());
    }
}

pub(crate) fn write_string(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    let bytes = s.as_bytes();
    let mut start = 0;
    for (i, &b) in bytes.iter().enumerate() {
        let escape: &[u8] = match b {
            b'"' => b"\\\"",
            b'\\' => b"\\\\",
            0x08 => b"\\b",
            b'\t' => b"\\t",
            b'\n' => b"\\n",
            0x0c => b"\\f",
            b'\r' => b"\\r",
            0x00..=0x1f => {
                out.extend_from_slice(&bytes[start..i]);
                const HEX: &[u8; 16] = b"0123456789abcdef";
                out.extend_from_slice(&[b'\\', b'u', b'0', b'0', HEX[usize::from(b >> 4)], HEX[usize::from(b & 0xf)]]);
                start = i + 1;
                continue;
            }
            _ => continue,
        };
        out.extend_from_slice(&bytes[start..i]);
        out.extend_from_slice(escape);
        start = i + 1;
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

pub mod stream;

#[cfg(test)]
mod tests;
