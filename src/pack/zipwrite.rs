//! The deterministic zip writer: the exact layout Go's `archive/zip` produces for a stored entry
//! with a fixed 1980-01-01 modification time (digest 2.5), so a pack made here is byte-for-byte the
//! pack the Go implementation would make from the same entry bytes.
//!
//! Hand-written rather than the `zip` crate because (1) the layout must match Go's to the byte
//! (data descriptors, the 9-byte extended-timestamp extra, made-by 0x14, external attributes 0),
//! which the crate does not produce, and (2) the output must stream to a non-seekable stdout: with
//! the data-descriptor flag the sizes and CRC follow the data, so nothing is ever rewritten.
//!
//! What it guarantees: entries appear in the order they are added (the caller sorts); no directory
//! entries, comments, or encryption; every entry stored (method 0). What it does not do: zip64. An
//! entry of 4 GiB or more, an archive whose offsets pass 4 GiB, or more than 65,535 entries is an
//! error rather than a silently different layout (a 25,000-step job's pack is a few tens of MiB).
//!
//! A caller that already has an entry's CRC-32 and size (the pack builder hashes its spills as it
//! writes them) can copy the bytes in itself with [`ZipWriter::entry_known`], a kernel copy when the
//! output is a file; the layout is the same as for bytes passed through [`ZipWriter::data`].

use std::io::{self, Write};

use crate::pack::crc32::Crc32;

/// DOS date of 1980-01-01 (year 0, month 1, day 1); the DOS time is 0.
pub const DOS_DATE_1980: u16 = 0x0021;
/// Extended timestamp extra field: id 0x5455, length 5, flags 1 (mtime), mtime 315532800 LE.
pub const EXTRA_TIMESTAMP: [u8; 9] = [0x55, 0x54, 0x05, 0x00, 0x01, 0x00, 0xa6, 0xce, 0x12];
/// Version 2.0, FAT host: both "made by" and "needed to extract".
pub const VERSION_20: u16 = 0x14;
/// General-purpose flag bit 3: CRC and sizes follow the data in a descriptor.
pub const FLAG_DATA_DESCRIPTOR: u16 = 0x08;
/// General-purpose flag bit 11: the name is UTF-8 (set only for non-ASCII names, as Go does).
pub const FLAG_UTF8: u16 = 0x800;

pub const SIG_LOCAL: u32 = 0x0403_4b50;
pub const SIG_CENTRAL: u32 = 0x0201_4b50;
pub const SIG_DESCRIPTOR: u32 = 0x0807_4b50;
pub const SIG_END: u32 = 0x0605_4b50;

struct Written {
    name: String,
    flags: u16,
    crc: u32,
    size: u32,
    offset: u32,
}

/// A zip being written to `out`, one entry at a time.
pub struct ZipWriter<W: Write> {
    out: W,
    offset: u64,
    entries: Vec<Written>,
    open: Option<(Crc32, u64)>,
}

fn too_big(what: &str) -> io::Error {
    io::Error::other(format!("{what} needs zip64, which wrkr does not write"))
}

impl<W: Write> ZipWriter<W> {
    pub fn new(out: W) -> ZipWriter<W> {
        ZipWriter { out, offset: 0, entries: Vec::new(), open: None }
    }

    fn put(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.out.write_all(bytes)?;
        self.offset += bytes.len() as u64;
        Ok(())
    }

    /// Begin an entry named `name` (the previous one must be finished).
    pub fn start(&mut self, name: &str) -> io::Result<()> {
        if self.open.is_some() {
            return Err(io::Error::other("zip entry started before the previous one finished"));
        }
        if self.entries.len() >= 0xFFFF {
            return Err(too_big("more than 65535 entries"));
        }
        let offset = u32::try_from(self.offset).map_err(|_| too_big("an archive over 4 GiB"))?;
        let name_len = u16::try_from(name.len()).map_err(|_| io::Error::other("zip entry name too long"))?;
        let flags = FLAG_DATA_DESCRIPTOR | if name.is_ascii() { 0 } else { FLAG_UTF8 };
        let mut header = Vec::with_capacity(30 + name.len() + EXTRA_TIMESTAMP.len());
        header.extend_from_slice(&SIG_LOCAL.to_le_bytes());
        header.extend_from_slice(&VERSION_20.to_le_bytes());
        header.extend_from_slice(&flags.to_le_bytes());
        header.extend_from_slice(&0u16.to_le_bytes()); // method: store
        header.extend_from_slice(&0u16.to_le_bytes()); // DOS time
        header.extend_from_slice(&DOS_DATE_1980.to_le_bytes());
        header.extend_from_slice(&[0u8; 12]); // crc, sizes: in the descriptor
        header.extend_from_slice(&name_len.to_le_bytes());
        header.extend_from_slice(&(EXTRA_TIMESTAMP.len() as u16).to_le_bytes());
        header.extend_from_slice(name.as_bytes());
        header.extend_from_slice(&EXTRA_TIMESTAMP);
        self.put(&header)?;
        self.entries.push(Written { name: name.to_owned(), flags, crc: 0, size: 0, offset });
        self.open = Some((Crc32::new(), 0));
        Ok(())
    }

    /// Append bytes to the open entry.
    pub fn data(&mut self, bytes: &[u8]) -> io::Result<()> {
        let Some((crc, size)) = self.open.as_mut() else {
            return Err(io::Error::other("zip data written outside an entry"));
        };
        crc.update(bytes);
        *size += bytes.len() as u64;
        self.put(bytes)
    }

    /// Finish the open entry: write its data descriptor.
    pub fn finish_entry(&mut self) -> io::Result<()> {
        let Some((crc, size)) = self.open.take() else {
            return Err(io::Error::other("no zip entry is open"));
        };
        self.close_entry(crc.value(), size)
    }

    /// A whole entry whose CRC-32 and size the caller already knows (it hashed the bytes as it
    /// spilled them): `copy` writes the entry's `size` bytes to the output itself and says how many
    /// it wrote, so they need not pass through this writer, nor through the CRC a second time. When
    /// the output is a file, `copy` can be `std::io::copy` from a `File`, a kernel copy; std flushes
    /// a `BufWriter` output before such a copy, so the header written here lands first. The bytes
    /// are those of `start`, `data`, `finish_entry` with the same content, provided `crc` is its
    /// CRC-32, which is the caller's to get right; a wrong count is an error.
    pub fn entry_known(
        &mut self,
        name: &str,
        crc: u32,
        size: u64,
        copy: impl FnOnce(&mut W) -> io::Result<u64>,
    ) -> io::Result<()> {
        self.start(name)?;
        self.open = None;
        let copied = copy(&mut self.out)?;
        self.offset += copied;
        if copied != size {
            return Err(io::Error::other(format!("zip entry {name}: {copied} bytes copied, {size} expected")));
        }
        self.close_entry(crc, size)
    }

    /// Write the data descriptor of the entry just written and note its CRC and size.
    fn close_entry(&mut self, crc: u32, size: u64) -> io::Result<()> {
        let size = u32::try_from(size).map_err(|_| too_big("an entry of 4 GiB or more"))?;
        let mut descriptor = Vec::with_capacity(16);
        descriptor.extend_from_slice(&SIG_DESCRIPTOR.to_le_bytes());
        descriptor.extend_from_slice(&crc.to_le_bytes());
        descriptor.extend_from_slice(&size.to_le_bytes());
        descriptor.extend_from_slice(&size.to_le_bytes());
        self.put(&descriptor)?;
        if let Some(last) = self.entries.last_mut() {
            last.crc = crc;
            last.size = size;
        }
        Ok(())
    }

    /// A whole entry in one call.
    pub fn entry(&mut self, name: &str, bytes: &[u8]) -> io::Result<()> {
        self.start(name)?;
        self.data(bytes)?;
        self.finish_entry()
    }

    /// Write the central directory and the end record; returns the writer and the archive size.
    pub fn finish(mut self) -> io::Result<(W, u64)> {
        if self.open.is_some() {
            self.finish_entry()?;
        }
        let cd_start = u32::try_from(self.offset).map_err(|_| too_big("an archive over 4 GiB"))?;
        let entries = std::mem::take(&mut self.entries);
        for e in &entries {
            let mut h = Vec::with_capacity(46 + e.name.len() + EXTRA_TIMESTAMP.len());
            h.extend_from_slice(&SIG_CENTRAL.to_le_bytes());
            h.extend_from_slice(&VERSION_20.to_le_bytes()); // made by
            h.extend_from_slice(&VERSION_20.to_le_bytes()); // needed
            h.extend_from_slice(&e.flags.to_le_bytes());
            h.extend_from_slice(&0u16.to_le_bytes()); // method
            h.extend_from_slice(&0u16.to_le_bytes()); // time
            h.extend_from_slice(&DOS_DATE_1980.to_le_bytes());
            h.extend_from_slice(&e.crc.to_le_bytes());
            h.extend_from_slice(&e.size.to_le_bytes());
            h.extend_from_slice(&e.size.to_le_bytes());
            h.extend_from_slice(&(e.name.len() as u16).to_le_bytes());
            h.extend_from_slice(&(EXTRA_TIMESTAMP.len() as u16).to_le_bytes());
            h.extend_from_slice(&0u16.to_le_bytes()); // comment length
            h.extend_from_slice(&0u16.to_le_bytes()); // disk
            h.extend_from_slice(&0u16.to_le_bytes()); // internal attributes
            h.extend_from_slice(&0u32.to_le_bytes()); // external attributes
            h.extend_from_slice(&e.offset.to_le_bytes());
            h.extend_from_slice(e.name.as_bytes());
            h.extend_from_slice(&EXTRA_TIMESTAMP);
            self.put(&h)?;
        }
        let cd_size = u32::try_from(self.offset - u64::from(cd_start)).map_err(|_| too_big("a central directory"))?;
        let count = entries.len() as u16;
        let mut end = Vec::with_capacity(22);
        end.extend_from_slice(&SIG_END.to_le_bytes());
        end.extend_from_slice(&0u16.to_le_bytes()); // this disk
        end.extend_from_slice(&0u16.to_le_bytes()); // disk with the directory
        end.extend_from_slice(&count.to_le_bytes());
        end.extend_from_slice(&count.to_le_bytes());
        end.extend_from_slice(&cd_size.to_le_bytes());
        end.extend_from_slice(&cd_start.to_le_bytes());
        end.extend_from_slice(&0u16.to_le_bytes()); // comment length
        self.put(&end)?;
        self.out.flush()?;
        Ok((self.out, self.offset))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pack::zipread::ZipReader;
    use std::io::Read;

    /// The strongest interop check: re-packing the entries of a pack the Go implementation made
    /// reproduces its bytes exactly.
    #[test]
    fn repacking_go_fixtures_reproduces_their_bytes() {
        for name in ["jobpack_demo.zip", "jobpack_journey.zip"] {
            let path = format!("{}/tests/fixtures/go-wrkr/{name}", env!("CARGO_MANIFEST_DIR"));
            let original = std::fs::read(&path).unwrap();
            let zip = ZipReader::open(std::fs::File::open(&path).unwrap(), 1 << 30).unwrap();
            let mut writer = ZipWriter::new(Vec::new());
            for entry in zip.entries() {
                let mut bytes = Vec::new();
                zip.reader(entry).read_to_end(&mut bytes).unwrap();
                writer.entry(&entry.name, &bytes).unwrap();
            }
            let (out, len) = writer.finish().unwrap();
            assert_eq!(len as usize, out.len());
            assert!(out == original, "{name}: our layout differs from Go's");
        }
    }

    /// An entry written by `entry_known` (its bytes copied in by the caller) is byte for byte the
    /// entry `entry` writes from the same bytes; a copy that comes up short is an error.
    #[test]
    fn entry_known_writes_what_entry_writes() {
        let bytes: Vec<u8> = (0u32..70_000).map(|i| (i.wrapping_mul(2_654_435_761) >> 11) as u8).collect();
        let mut plain = ZipWriter::new(Vec::new());
        plain.entry("a.txt", b"first").unwrap();
        plain.entry("b.jsonl", &bytes).unwrap();
        plain.entry("c.json", b"{}").unwrap();
        let mut known = ZipWriter::new(Vec::new());
        known.entry("a.txt", b"first").unwrap();
        let crc = crate::pack::crc32::checksum(&bytes);
        known
            .entry_known("b.jsonl", crc, bytes.len() as u64, |out| {
                out.extend_from_slice(&bytes);
                Ok(bytes.len() as u64)
            })
            .unwrap();
        known.entry("c.json", b"{}").unwrap();
        assert!(plain.finish().unwrap() == known.finish().unwrap());

        let mut short = ZipWriter::new(Vec::new());
        let err = short.entry_known("b.jsonl", crc, bytes.len() as u64, |out| {
            out.extend_from_slice(&bytes[1..]);
            Ok(bytes.len() as u64 - 1)
        });
        assert!(err.is_err());
    }
}
