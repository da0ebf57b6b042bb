//! Bounded streaming inflate for re-compressed jobpack entries.
//!
//! wrkr and Go write every entry *stored*, but a pack someone unzipped and zipped again (`zip -r`)
//! holds deflated entries, and Go verifies such a pack by content. So do we, without ever trusting
//! the archive about sizes: the output is bounded by the size the central directory declares
//! (`zipread` has already refused a declared size over the entry limit or a declared expansion over
//! [`MAX_RATIO`]), one byte past it is an error, and so is a stream that ends short of it. Memory is
//! the inflater's state (its 32 KiB window) plus one input buffer, whatever the entry's size; a
//! deflate bomb costs at most the declared bytes of work.
//!
//! Errors are `io::Error`s of kind `InvalidData`: [`ContentMismatch`] when the entry does not hold
//! what the directory declares (verify's tampering verdict), a plain message for a corrupt stream.

use std::io::{self, Read};

use miniz_oxide::inflate::stream::{InflateState, inflate};
use miniz_oxide::{DataFormat, MZError, MZFlush, MZStatus};

/// Largest declared expansion of a deflated entry over its compressed size. Honest JSON and JSONL
/// deflate about 5 to 30 times; deflate's own ceiling is about 1032.
pub const MAX_RATIO: u64 = 256;
/// Entries up to this declared size may have any ratio (tiny or very repetitive files).
pub const RATIO_FLOOR: u64 = 1 << 20;

const INPUT_BUFFER: usize = 64 * 1024;

/// The entry's bytes are not the ones its directory entry declares (size or CRC-32).
#[derive(Debug)]
pub struct ContentMismatch(pub String);

impl std::fmt::Display for ContentMismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ContentMismatch {}

/// An `io::Error` carrying a [`ContentMismatch`].
pub fn mismatch(message: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, ContentMismatch(message.into()))
}

/// Whether `err` says the content does not match its declaration.
pub fn is_mismatch(err: &io::Error) -> bool {
    err.get_ref().is_some_and(|inner| inner.is::<ContentMismatch>())
}

/// Raw deflate data from `inner`, inflated to exactly `declared` bytes.
pub struct Inflate<R> {
    inner: R,
    state: Box<InflateState>,
    input: Vec<u8>,
    start: usize,
    end: usize,
    input_done: bool,
    produced: u64,
    declared: u64,
    finished: bool,
}

impl<R: Read> Inflate<R> {
    pub fn new(inner: R, declared: u64) -> Inflate<R> {
        Inflate {
            inner,
            state: InflateState::new_boxed(DataFormat::Raw),
            input: vec![0; INPUT_BUFFER],
            start: 0,
            end: 0,
            input_done: false,
            produced: 0,
            declared,
            finished: false,
        }
    }
}

impl<R: Read> Read for Inflate<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if buf.is_empty() || self.finished {
            return Ok(0);
        }
        loop {
            if self.start == self.end && !self.input_done {
                self.end = self.inner.read(&mut self.input)?;
                self.start = 0;
                self.input_done = self.end == 0;
            }
            // Room for one byte past the declared size, so that a longer stream is caught.
            let room = (self.declared - self.produced).saturating_add(1);
            let want = buf.len().min(usize::try_from(room).unwrap_or(usize::MAX));
            let result = inflate(&mut self.state, &self.input[self.start..self.end], &mut buf[..want], MZFlush::None);
            self.start += result.bytes_consumed;
            self.produced += result.bytes_written as u64;
            if self.produced > self.declared {
                return Err(mismatch(format!("inflates past its declared {} bytes", self.declared)));
            }
            match result.status {
                Ok(MZStatus::StreamEnd) => {
                    self.finished = true;
                    if self.produced != self.declared {
                        return Err(mismatch(format!(
                            "inflates to {} bytes, not its declared {}",
                            self.produced, self.declared
                        )));
                    }
                    return Ok(result.bytes_written);
                }
                Ok(_) | Err(MZError::Buf) => {
                    if result.bytes_written > 0 {
                        return Ok(result.bytes_written);
                    }
                    if self.input_done && result.bytes_consumed == 0 {
                        return Err(io::Error::new(io::ErrorKind::InvalidData, "deflate data ends early"));
                    }
                }
                Err(e) => {
                    return Err(io::Error::new(io::ErrorKind::InvalidData, format!("corrupt deflate data ({e:?})")));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn deflate(data: &[u8]) -> Vec<u8> {
        miniz_oxide::deflate::compress_to_vec(data, 9)
    }

    fn inflate_all(data: &[u8], declared: u64) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        Inflate::new(data, declared).read_to_end(&mut out)?;
        Ok(out)
    }

    #[test]
    fn exact_size_roundtrips_and_other_sizes_are_mismatches() {
        let text: Vec<u8> = (0..200_000u32).flat_map(|i| format!("{{\"seq\":{i}}}\n").into_bytes()).collect();
        let packed = deflate(&text);
        assert_eq!(inflate_all(&packed, text.len() as u64).unwrap(), text);
        let short = inflate_all(&packed, text.len() as u64 - 1).unwrap_err();
        assert!(is_mismatch(&short), "{short}");
        let long = inflate_all(&packed, text.len() as u64 + 1).unwrap_err();
        assert!(is_mismatch(&long), "{long}");
        let empty = deflate(b"");
        assert_eq!(inflate_all(&empty, 0).unwrap(), b"");
    }

    #[test]
    fn a_bomb_stops_one_byte_past_its_declared_size() {
        let bomb = deflate(&vec![0u8; 64 << 20]);
        let mut reader = Inflate::new(&bomb[..], 1000);
        let mut out = Vec::new();
        let err = reader.read_to_end(&mut out).unwrap_err();
        assert!(is_mismatch(&err));
        assert!(out.len() <= 1001, "{}", out.len());
    }

    #[test]
    fn truncated_and_corrupt_streams_are_errors_not_mismatches() {
        let packed = deflate(&vec![7u8; 100_000]);
        let cut = inflate_all(&packed[..packed.len() / 2], 100_000).unwrap_err();
        assert!(!is_mismatch(&cut), "{cut}");
        let garbage = inflate_all(&[0xff; 64], 10).unwrap_err();
        assert!(!is_mismatch(&garbage), "{garbage}");
    }
}
