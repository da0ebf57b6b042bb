//! Where a pack comes from and where it goes: a named file, stdin spilled to a temp file, or an
//! atomic write.
//!
//! Verify needs random access (the central directory is at the end), so stdin is first copied to an
//! anonymous temp file in 256 KiB chunks: memory stays flat however large the pack. Writes are atomic:
//! a temp file in the target's directory, fsync, rename over the target, fsync the directory, so a
//! reader sees the old file or the whole new one, never a prefix. The temp file is locked while it
//! is written, and a killed writer's leftover is removed by the next write in that directory.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::Path;

use crate::contract::{Error, Result};
use crate::store::atomic::OUTPUT_TEMP_PREFIX;

/// Open a pack for reading; `-` spills stdin to a temp file first.
pub fn open(path: &str) -> Result<File> {
    if path == "-" {
        let mut file = tempfile::tempfile().map_err(|e| Error::io("create temp file for stdin", e))?;
        let mut stdin = io::stdin().lock();
        let mut buf = vec![0u8; 256 * 1024];
        loop {
            let n = match stdin.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(Error::io("read stdin", e)),
            };
            file.write_all(&buf[..n]).map_err(|e| Error::io("spill stdin", e))?;
        }
        return Ok(file);
    }
    File::open(path).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => {
            Error::generic(format!("open jobpack zip: open {path}: no such file")).with("path", path)
        }
        _ => Error::io(format!("open jobpack zip: open {path}"), e),
    })
}

/// Write `path` atomically with mode 0600, the content coming from `fill`.
pub fn write_atomic<T>(path: &Path, fill: impl FnOnce(&mut io::BufWriter<&mut File>) -> Result<T>) -> Result<T> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    // A killed writer's temp file is removed by the next one (see `store::atomic`).
    crate::store::atomic::remove_stale(dir, OUTPUT_TEMP_PREFIX);
    let mut temp = tempfile::Builder::new()
        .prefix(OUTPUT_TEMP_PREFIX)
        .tempfile_in(dir)
        .map_err(|e| Error::io(format!("create temp file in {}", dir.display()), e))?;
    crate::store::atomic::hold(temp.as_file());
    let value = {
        let mut out = io::BufWriter::with_capacity(256 * 1024, temp.as_file_mut());
        crate::failpoint::check("pack.write").map_err(|e| Error::io(format!("write {}", path.display()), e))?;
        let value = fill(&mut out)?;
        out.flush().map_err(|e| Error::io(format!("write {}", path.display()), e))?;
        value
    };
    temp.as_file().sync_all().map_err(|e| Error::io(format!("fsync {}", path.display()), e))?;
    crate::failpoint::check("pack.rename").map_err(|e| Error::io(format!("rename into {}", path.display()), e))?;
    temp.persist(path).map_err(|e| Error::io(format!("rename into {}", path.display()), e.error))?;
    crate::failpoint::check("pack.dir_fsync")
        .and_then(|()| File::open(dir))
        .and_then(|d| d.sync_all())
        .map_err(|e| Error::io(format!("fsync {}", dir.display()), e))?;
    Ok(value)
}
