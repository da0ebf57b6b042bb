//! sha256 in the two spellings the v1 contracts use: bare lowercase hex (manifest entries,
//! fingerprints) and `sha256:<hex>` (the ticket footer).

use sha2::{Digest, Sha256};

/// The sha256 of no bytes: what most steps' stdout and stderr hash to.
pub const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// Lowercase hex sha256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

/// `sha256:<hex>`.
pub fn prefixed(hex_digest: &str) -> String {
    format!("sha256:{hex_digest}")
}

/// Accept `sha256:<hex>` or bare `<hex>`; return the bare hex when it is 64 lowercase hex digits.
pub fn parse(s: &str) -> Option<&str> {
    let bare = s.strip_prefix("sha256:").unwrap_or(s);
    is_sha256_hex(bare).then_some(bare)
}

pub fn is_sha256_hex(s: &str) -> bool {
    s.len() == 64 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// An incremental hasher that also counts the bytes it saw.
#[derive(Default, Clone)]
pub struct Hasher {
    inner: Sha256,
    bytes: u64,
}

impl Hasher {
    pub fn new() -> Hasher {
        Hasher::default()
    }
    pub fn update(&mut self, bytes: &[u8]) {
        self.inner.update(bytes);
        self.bytes += bytes.len() as u64;
    }
    pub fn bytes(&self) -> u64 {
        self.bytes
    }
    /// The lowercase hex digest and the byte count.
    pub fn finish(self) -> (String, u64) {
        // Known without a compression round: a runner finishes two of these per step, on the path
        // between a step's exit and its record (issue 16).
        if self.bytes == 0 {
            return (EMPTY_SHA256.to_owned(), 0);
        }
        (hex(&self.inner.finalize()), self.bytes)
    }
}

impl std::io::Write for Hasher {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Lowercase hex of any bytes.
pub fn hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0xf)] as char);
    }
    out
}

/// Decode lowercase or uppercase hex; `None` for odd length or a non-hex digit.
pub fn hex_decode(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    let digit = |c: u8| (c as char).to_digit(16).map(|d| d as u8);
    s.as_bytes().chunks(2).map(|p| Some(digit(p[0])? << 4 | digit(p[1])?)).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_digests() {
        assert_eq!(sha256_hex(b""), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
        assert_eq!(sha256_hex(b""), EMPTY_SHA256);
        assert_eq!(Hasher::new().finish(), (EMPTY_SHA256.to_owned(), 0));
        let mut empty_update = Hasher::new();
        empty_update.update(b"");
        assert_eq!(empty_update.finish().0, EMPTY_SHA256);
        assert_eq!(sha256_hex(b"{}"), "44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a");
        // Digest 2.3: Go's reference-only artifact "hash".
        assert_eq!(
            sha256_hex(b"reference:reports/demo.md"),
            "d3be897ea5e96f3e05da6ec32449a9f25fdf30ce6548e8b2e09a55c250f5e9b7"
        );
    }

    #[test]
    fn both_spellings() {
        let h = sha256_hex(b"");
        assert_eq!(parse(&prefixed(&h)), Some(h.as_str()));
        assert_eq!(parse(&h), Some(h.as_str()));
        assert_eq!(parse(&h.to_uppercase()), None);
        assert_eq!(parse("sha256:abc"), None);
    }

    #[test]
    fn incremental_matches_one_shot() {
        let mut hasher = Hasher::new();
        hasher.update(b"ab");
        hasher.update(b"c");
        assert_eq!(hasher.finish(), (sha256_hex(b"abc"), 3));
    }
}
