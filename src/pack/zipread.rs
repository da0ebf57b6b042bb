//! The safe zip reader used by verify and inspect: structure first, content on demand.
//!
//! `ZipReader::open` reads only the end record, the central directory and every local header, and
//! refuses a zip that is not exactly what it claims to be before a single byte of content is read:
//!
//! - unreadable (exit 1, generic, as Go reports any zip it cannot open): no end record, a truncated
//!   file, a central directory outside the file, zip64 or multi-disk archives, encrypted entries,
//!   a local header that is not where the directory says;
//! - unsafe (exit 2, `E_VERIFY_HASH_MISMATCH`: the archive does not faithfully carry its declared
//!   content): entry names that are empty, absolute, contain `..` components, backslashes, NUL or
//!   a drive letter; repeated names; directory entries; a stored entry whose compressed and
//!   uncompressed sizes differ; an entry over the size limit, or a deflated one declaring more than
//!   `inflate::MAX_RATIO` times its compressed size; local headers or data descriptors that
//!   disagree with the central directory; entries that overlap or leave unaccounted bytes between
//!   them; bytes after the end record.
//!
//! Entry content is then read through `EntryReader`, which streams from the file with positioned
//! reads (no seeking, so several readers may share the file) and checks the CRC-32 at the end of the
//! entry (a mismatch is an `inflate::ContentMismatch`). wrkr and Go store every entry; a *deflated*
//! one (a pack re-zipped by hand) is inflated as it streams, bounded by its declared size
//! (`inflate`). Other compression methods are listed but refused when read (exit 1), so that an
//! undeclared entry is judged undeclared whatever its method, and nothing is read before the
//! manifest says what belongs. Memory is the central directory's names, capped by
//! `MAX_CENTRAL_DIRECTORY` bytes; content is never buffered here.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::os::unix::fs::FileExt;

use crate::contract::{Error, ReasonCode, Result};
use crate::pack::crc32::Crc32;
use crate::pack::inflate::{self, Inflate};
use crate::pack::zipwrite::{FLAG_DATA_DESCRIPTOR, SIG_CENTRAL, SIG_DESCRIPTOR, SIG_END, SIG_LOCAL};

/// The default cap on one entry's size (1 GiB).
pub const DEFAULT_MAX_ENTRY_BYTES: u64 = 1 << 30;
/// The cap on the central directory (names included): honest packs have a handful of entries.
pub const MAX_CENTRAL_DIRECTORY: u64 = 8 << 20;
/// The longest entry name accepted.
pub const MAX_NAME_BYTES: usize = 4096;

/// Compression methods: stored (every writer of jobpacks) and deflate (a re-zipped pack).
const STORED: u16 = 0;
const DEFLATED: u16 = 8;

/// One entry, as the central directory declares it (and the local header confirmed).
#[derive(Clone, Debug)]
pub struct Entry {
    pub name: String,
    /// The content's size (declared; inflating never yields more).
    pub size: u64,
    pub crc: u32,
    pub method: u16,
    /// Its bytes in the archive (`size` when stored).
    stored_size: u64,
    data_offset: u64,
}

/// An opened, structurally checked zip.
pub struct ZipReader {
    file: File,
    /// Sorted by name (bytewise).
    entries: Vec<Entry>,
}

/// The archive cannot be read: exit 1, with Go's wording.
fn unreadable(message: impl std::fmt::Display) -> Error {
    Error::generic(format!("open jobpack zip: {message}")).with("check", "zip_readable")
}

/// The archive is readable but not trustworthy: exit 2.
pub fn unsafe_zip(message: impl Into<String>) -> Error {
    Error::new(ReasonCode::VerifyHashMismatch, message).with("check", "zip_structure")
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// Read exactly `buf.len()` bytes at `pos`, or say the archive is truncated.
fn read_exact_at(file: &File, buf: &mut [u8], pos: u64, what: &str) -> Result<()> {
    file.read_exact_at(buf, pos).map_err(|e| match e.kind() {
        io::ErrorKind::UnexpectedEof => unreadable(format!("truncated archive ({what} at offset {pos})")),
        _ => Error::io("read jobpack", e),
    })
}

/// A `Read` over a file region, by positioned reads.
struct Region<'a> {
    file: &'a File,
    pos: u64,
    end: u64,
}

impl Read for Region<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let left = self.end.saturating_sub(self.pos);
        if left == 0 {
            return Ok(0);
        }
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        let n = self.file.read_at(&mut buf[..want], self.pos)?;
        if n == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "truncated entry data"));
        }
        self.pos += n as u64;
        Ok(n)
    }
}

/// Why an entry name is unsafe, if it is.
pub fn name_problem(name: &str) -> Option<&'static str> {
    if name.is_empty() {
        return Some("empty entry name");
    }
    if name.len() > MAX_NAME_BYTES {
        return Some("entry name too long");
    }
    if name.contains('\0') {
        return Some("entry name contains NUL");
    }
    if name.contains('\\') {
        return Some("entry name contains a backslash");
    }
    if name.starts_with('/') {
        return Some("absolute entry name");
    }
    let b = name.as_bytes();
    if b.len() >= 2 && b[1] == b':' && b[0].is_ascii_alphabetic() {
        return Some("entry name starts with a drive letter");
    }
    if name.ends_with('/') {
        return Some("directory entry");
    }
    if name.split('/').any(|part| part == ".." || part == "." || part.is_empty()) {
        return Some("entry name has an empty, `.` or `..` component");
    }
    None
}

impl ZipReader {
    /// Open and check the structure of the zip in `file`.
    pub fn open(file: File, max_entry_bytes: u64) -> Result<ZipReader> {
        let len = file.metadata().map_err(|e| Error::io("stat jobpack", e))?.len();
        if len < 22 {
            return Err(unreadable("not a valid zip file (too short)"));
        }
        let tail_len = len.min(22 + 0xFFFF);
        let mut tail = vec![0u8; tail_len as usize];
        read_exact_at(&file, &mut tail, len - tail_len, "end record")?;
        let (eocd_pos, count, cd_size, cd_offset) = find_end(&tail, len - tail_len, len)?;
        if cd_size > MAX_CENTRAL_DIRECTORY {
            return Err(unsafe_zip(format!("central directory is {cd_size} bytes (limit {MAX_CENTRAL_DIRECTORY})")));
        }
        let mut cd = BufReader::with_capacity(64 * 1024, Region { file: &file, pos: cd_offset, end: eocd_pos });
        let mut entries = Vec::with_capacity(usize::from(count).min(1024));
        let mut spans = Vec::new();
        for _ in 0..count {
            let mut h = [0u8; 46];
            cd.read_exact(&mut h).map_err(|_| unsafe_zip("central directory shorter than its entry count"))?;
            if u32_at(&h, 0) != SIG_CENTRAL {
                return Err(unsafe_zip("central directory entry has a bad signature"));
            }
            let flags = u16_at(&h, 8);
            let method = u16_at(&h, 10);
            let crc = u32_at(&h, 16);
            let csize = u32_at(&h, 20);
            let usize_ = u32_at(&h, 24);
            let (nlen, xlen, clen) = (u16_at(&h, 28), u16_at(&h, 30), u16_at(&h, 32));
            let offset = u64::from(u32_at(&h, 42));
            let mut name = vec![0u8; usize::from(nlen)];
            cd.read_exact(&mut name).map_err(|_| unsafe_zip("central directory entry truncated"))?;
            let mut skip = vec![0u8; usize::from(xlen) + usize::from(clen)];
            cd.read_exact(&mut skip).map_err(|_| unsafe_zip("central directory entry truncated"))?;
            let name = String::from_utf8(name).map_err(|_| unsafe_zip("entry name is not UTF-8"))?;
            if csize == u32::MAX || usize_ == u32::MAX || offset == u64::from(u32::MAX) {
                return Err(unreadable(format!("{name}: zip64 entries are not supported")));
            }
            if flags & 1 != 0 {
                return Err(unreadable(format!("{name}: encrypted entries are not supported")));
            }
            if let Some(problem) = name_problem(&name) {
                return Err(unsafe_zip(format!("unsafe entry name {name:?}: {problem}")).with("path", name.as_str()));
            }
            if method == STORED && csize != usize_ {
                return Err(unsafe_zip(format!("{name}: stored entry declares {csize} bytes stored, {usize_} real"))
                    .with("path", name.as_str()));
            }
            let size = u64::from(usize_);
            if size > max_entry_bytes {
                return Err(unsafe_zip(format!("{name}: entry is {size} bytes, over the limit of {max_entry_bytes}"))
                    .with("path", name.as_str())
                    .with("size", size)
                    .with("limit", max_entry_bytes)
                    .with_hint("raise the limit with --max-entry-bytes if the pack is trusted"));
            }
            let stored_size = u64::from(csize);
            if method == DEFLATED
                && size > inflate::RATIO_FLOOR
                && size > stored_size.saturating_mul(inflate::MAX_RATIO)
            {
                return Err(unsafe_zip(format!(
                    "{name}: deflated entry declares {size} bytes from {stored_size} (over {}:1; a zip bomb?)",
                    inflate::MAX_RATIO
                ))
                .with("path", name.as_str()));
            }
            let declared = Declared { flags, method, crc, stored_size, size };
            let (data_offset, end) = check_local(&file, &name, &declared, offset, cd_offset)?;
            spans.push((offset, end, name.clone()));
            entries.push(Entry { name, size, crc, method, stored_size, data_offset });
        }
        let mut rest = [0u8; 1];
        if cd.read(&mut rest).map_err(|e| Error::io("read jobpack", e))? != 0 {
            return Err(unsafe_zip("central directory is longer than its entries"));
        }
        check_spans(&mut spans, cd_offset)?;
        entries.sort_by(|a, b| a.name.cmp(&b.name));
        if let Some(w) = entries.windows(2).find(|w| w[0].name == w[1].name) {
            return Err(unsafe_zip(format!("duplicate entry name {:?}", w[0].name)).with("path", w[0].name.as_str()));
        }
        Ok(ZipReader { file, entries })
    }

    /// Every entry, sorted by name.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    pub fn find(&self, name: &str) -> Option<&Entry> {
        self.entries.binary_search_by(|e| e.name.as_str().cmp(name)).ok().map(|i| &self.entries[i])
    }

    /// Stream an entry's content (inflated when deflated); the CRC is checked when the end is
    /// reached.
    pub fn reader<'a>(&'a self, entry: &Entry) -> EntryReader<'a> {
        let region = Region { file: &self.file, pos: entry.data_offset, end: entry.data_offset + entry.stored_size };
        let content = match entry.method {
            STORED => Content::Stored(region),
            DEFLATED => Content::Deflated(Box::new(Inflate::new(region, entry.size))),
            other => Content::Unsupported(other),
        };
        EntryReader { content, crc: Crc32::new(), expected: entry.crc, checked: false }
    }

    /// Read a whole (small) entry into memory, refusing more than `max` bytes.
    pub fn read_to_vec(&self, entry: &Entry, max: u64) -> io::Result<Vec<u8>> {
        if entry.size > max {
            return Err(io::Error::other(format!("{} is {} bytes, over the limit of {max}", entry.name, entry.size)));
        }
        let mut out = Vec::with_capacity(entry.size as usize);
        self.reader(entry).read_to_end(&mut out)?;
        Ok(out)
    }
}

/// Find and decode the end record; `base` is the file offset of `tail`.
fn find_end(tail: &[u8], base: u64, len: u64) -> Result<(u64, u16, u64, u64)> {
    let mut garbage = None;
    for p in (0..=tail.len() - 22).rev() {
        if u32_at(tail, p) != SIG_END {
            continue;
        }
        let e = &tail[p..];
        let (disk, cd_disk, here, count) = (u16_at(e, 4), u16_at(e, 6), u16_at(e, 8), u16_at(e, 10));
        let (cd_size, cd_offset, clen) = (u64::from(u32_at(e, 12)), u64::from(u32_at(e, 16)), u64::from(u16_at(e, 20)));
        let pos = base + p as u64;
        let consistent = cd_offset.checked_add(cd_size) == Some(pos);
        if pos + 22 + clen == len {
            if count == 0xFFFF || cd_size == 0xFFFF_FFFF || cd_offset == 0xFFFF_FFFF {
                return Err(unreadable("zip64 archives are not supported"));
            }
            if disk != 0 || cd_disk != 0 || here != count {
                return Err(unreadable("multi-disk archives are not supported"));
            }
            if cd_offset.checked_add(cd_size).is_none_or(|end| end > pos) {
                return Err(unreadable("central directory lies outside the archive (truncated?)"));
            }
            if !consistent {
                return Err(unsafe_zip("bytes between the central directory and the end record"));
            }
            return Ok((pos, count, cd_size, cd_offset));
        }
        if consistent && pos + 22 + clen < len && garbage.is_none() {
            garbage = Some(len - (pos + 22 + clen));
        }
    }
    match garbage {
        Some(n) => Err(unsafe_zip(format!("{n} bytes of trailing data after the end of the zip"))),
        None => Err(unreadable("not a valid zip file (no end of central directory record)")),
    }
}

/// What the central directory declares about an entry's bytes.
struct Declared {
    flags: u16,
    method: u16,
    crc: u32,
    stored_size: u64,
    size: u64,
}

/// Check one local header against its central entry; return (data offset, end of the entry).
fn check_local(file: &File, name: &str, declared: &Declared, offset: u64, limit: u64) -> Result<(u64, u64)> {
    let Declared { flags, method, crc, stored_size, size } = *declared;
    let mut h = [0u8; 30];
    if offset + 30 > limit {
        return Err(unreadable(format!("{name}: local header offset {offset} is outside the entry area")));
    }
    read_exact_at(file, &mut h, offset, "local header")?;
    if u32_at(&h, 0) != SIG_LOCAL {
        return Err(unreadable(format!("{name}: no local header at offset {offset}")));
    }
    let disagree = |what: &str| {
        unsafe_zip(format!("{name}: local header {what} disagrees with the central directory")).with("path", name)
    };
    let (lflags, lmethod) = (u16_at(&h, 6), u16_at(&h, 8));
    if lflags & FLAG_DATA_DESCRIPTOR != flags & FLAG_DATA_DESCRIPTOR || lflags & 1 != 0 {
        return Err(disagree("flags"));
    }
    if lmethod != method {
        return Err(disagree("compression method"));
    }
    let (lcrc, lcsize, lusize) = (u32_at(&h, 14), u64::from(u32_at(&h, 18)), u64::from(u32_at(&h, 22)));
    let descriptor = flags & FLAG_DATA_DESCRIPTOR != 0;
    let zero = lcrc == 0 && lcsize == 0 && lusize == 0;
    if !(descriptor && zero) && (lcrc != crc || lcsize != stored_size || lusize != size) {
        return Err(disagree("CRC or size"));
    }
    let (nlen, xlen) = (u64::from(u16_at(&h, 26)), u64::from(u16_at(&h, 28)));
    let mut lname = vec![0u8; nlen as usize];
    read_exact_at(file, &mut lname, offset + 30, "local name")?;
    if lname != name.as_bytes() {
        return Err(disagree("name"));
    }
    let data = offset + 30 + nlen + xlen;
    let mut end = data + stored_size;
    if end > limit {
        return Err(unsafe_zip(format!("{name}: entry data runs into the central directory")).with("path", name));
    }
    if descriptor {
        let mut d = [0u8; 16];
        let avail = (limit - end).min(16) as usize;
        read_exact_at(file, &mut d[..avail], end, "data descriptor")?;
        let at = if avail >= 4 && u32_at(&d, 0) == SIG_DESCRIPTOR { 4 } else { 0 };
        if avail < at + 12 {
            return Err(unsafe_zip(format!("{name}: data descriptor missing")).with("path", name));
        }
        if u32_at(&d, at) != crc
            || u64::from(u32_at(&d, at + 4)) != stored_size
            || u64::from(u32_at(&d, at + 8)) != size
        {
            return Err(disagree("data descriptor"));
        }
        end += at as u64 + 12;
    }
    Ok((data, end))
}

/// Entries must tile the area before the central directory exactly: no overlaps, no hidden bytes.
fn check_spans(spans: &mut [(u64, u64, String)], cd_offset: u64) -> Result<()> {
    spans.sort();
    let mut expected = 0u64;
    for (start, end, name) in spans.iter() {
        if *start < expected {
            return Err(unsafe_zip(format!("entry {name:?} overlaps the entry before it")).with("path", name.as_str()));
        }
        if *start > expected {
            return Err(unsafe_zip(format!("{} unaccounted bytes before entry {name:?}", start - expected))
                .with("path", name.as_str()));
        }
        expected = *end;
    }
    if expected != cd_offset {
        return Err(unsafe_zip(format!("{} unaccounted bytes before the central directory", cd_offset - expected)));
    }
    Ok(())
}

/// An entry's bytes as stored, and how to get its content from them.
enum Content<'a> {
    Stored(Region<'a>),
    Deflated(Box<Inflate<Region<'a>>>),
    Unsupported(u16),
}

/// A streaming reader over one entry's content; yields an `inflate::ContentMismatch` error if
/// its CRC-32 is wrong.
pub struct EntryReader<'a> {
    content: Content<'a>,
    crc: Crc32,
    expected: u32,
    checked: bool,
}

impl Read for EntryReader<'_> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = match &mut self.content {
            Content::Stored(region) => region.read(buf)?,
            Content::Deflated(inflater) => inflater.read(buf)?,
            Content::Unsupported(method) => {
                return Err(io::Error::other(format!(
                    "compression method {method} is not supported (only stored and deflate)"
                )));
            }
        };
        if n == 0 {
            if !self.checked {
                self.checked = true;
                if self.crc.value() != self.expected {
                    return Err(inflate::mismatch("CRC-32 does not match the entry's bytes"));
                }
            }
            return Ok(0);
        }
        self.crc.update(&buf[..n]);
        Ok(n)
    }
}
