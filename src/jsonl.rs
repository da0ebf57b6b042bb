//! Reading JSONL streams line by line with a bound on line length.
//!
//! Memory is one line at a time (the buffer is reused), so a 1 GB stream needs the memory of its
//! longest line, and a line longer than the limit is an error that names its line number instead
//! of an allocation the size of the input. A final line without `\n` is still a line here: this is
//! the reader for pipes, where `printf '{}'` is normal. (The ledger has its own reader, because there
//! a missing `\n` means a torn write.)

use std::io::BufRead;

use crate::contract::Error;

/// The default bound on one JSONL line (64 MiB).
pub const DEFAULT_MAX_LINE_BYTES: u64 = 64 << 20;

pub struct JsonlReader<R> {
    input: R,
    buf: Vec<u8>,
    line_no: u64,
    max_line_bytes: u64,
}

/// Why a line could not be read.
pub enum LineError {
    /// The line is longer than the limit; its remaining bytes have been skipped.
    TooLong {
        line: u64,
    },
    Io(std::io::Error),
}

impl LineError {
    pub fn into_error(self, max: u64) -> Error {
        match self {
            LineError::TooLong { line } => Error::invalid_input(format!("line {line}: longer than {max} bytes"))
                .with("line", line)
                .with_hint("raise the limit with --max-line-bytes"),
            LineError::Io(err) => Error::io("read input", err),
        }
    }
}

impl<R: BufRead> JsonlReader<R> {
    pub fn new(input: R, max_line_bytes: u64) -> JsonlReader<R> {
        JsonlReader { input, buf: Vec::new(), line_no: 0, max_line_bytes }
    }

    /// The next line without its `\n` (and without a `\r` before it), or `None` at end of input.
    /// Blank lines are returned too; callers decide whether they mean anything.
    pub fn next_line(&mut self) -> Option<Result<(u64, &[u8]), LineError>> {
        self.buf.clear();
        let limit = self.max_line_bytes.saturating_add(1);
        let read = match std::io::Read::take(&mut self.input, limit).read_until(b'\n', &mut self.buf) {
            Ok(n) => n,
            Err(err) => return Some(Err(LineError::Io(err))),
        };
        if read == 0 {
            return None;
        }
        self.line_no += 1;
        let ended = self.buf.last() == Some(&b'\n');
        if ended {
            self.buf.pop();
        }
        if self.buf.len() as u64 > self.max_line_bytes {
            if !ended && let Err(err) = self.skip_rest_of_line() {
                return Some(Err(LineError::Io(err)));
            }
            return Some(Err(LineError::TooLong { line: self.line_no }));
        }
        if self.buf.last() == Some(&b'\r') {
            self.buf.pop();
        }
        Some(Ok((self.line_no, &self.buf)))
    }

    fn skip_rest_of_line(&mut self) -> std::io::Result<()> {
        loop {
            let available = self.input.fill_buf()?;
            if available.is_empty() {
                return Ok(());
            }
            match available.iter().position(|&b| b == b'\n') {
                Some(i) => {
                    self.input.consume(i + 1);
                    return Ok(());
                }
                None => {
                    let n = available.len();
                    self.input.consume(n);
                }
            }
        }
    }
}

/// True when a line holds only ASCII whitespace.
pub fn is_blank(line: &[u8]) -> bool {
    line.iter().all(u8::is_ascii_whitespace)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn lines(input: &[u8], max: u64) -> Vec<Result<(u64, Vec<u8>), u64>> {
        let mut reader = JsonlReader::new(input, max);
        let mut out = Vec::new();
        while let Some(item) = reader.next_line() {
            out.push(match item {
                Ok((n, line)) => Ok((n, line.to_vec())),
                Err(LineError::TooLong { line }) => Err(line),
                Err(LineError::Io(e)) => panic!("{e}"),
            });
        }
        out
    }

    #[test]
    fn splits_and_strips() {
        assert_eq!(
            lines(b"a\r\nb\n\nc", 10),
            vec![Ok((1, b"a".to_vec())), Ok((2, b"b".to_vec())), Ok((3, vec![])), Ok((4, b"c".to_vec()))]
        );
    }

    #[test]
    fn too_long_line_is_skipped_and_numbered() {
        assert_eq!(lines(b"12345678\nok\n", 4), vec![Err(1), Ok((2, b"ok".to_vec()))]);
        assert_eq!(lines(b"1234\n", 4), vec![Ok((1, b"1234".to_vec()))]);
        assert_eq!(lines(b"12345", 4), vec![Err(1)]);
    }
}
