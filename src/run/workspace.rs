//! What a wrapped command changed in its workspace: content hashes before and after.
//!
//! A [`Snapshot`] maps each file's path (relative to the workspace, `/`-separated) to the sha256 of
//! its content; two snapshots give the created, changed and removed files. When the workspace is in
//! a git work tree and `git` runs, the files are the ones git would consider (`git ls-files -co
//! --exclude-standard`: tracked plus untracked, minus ignored), so build output named in
//! `.gitignore` is not reported. Otherwise the tree is walked, skipping `.git/`.
//!
//! Only regular files are hashed (streamed, 64 KiB at a time; memory is the path map). Symbolic
//! links are hashed by their target, not followed, so a link out of the workspace is never read.
//! Paths under `skip` (the store or the jobpack directory when they live inside the workspace) are
//! left out, or wrkr would report its own files. A file that cannot be read is left out too: a
//! snapshot is evidence of change, not a backup.

use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::digest::Hasher;

#[derive(Clone, Debug, Default, PartialEq)]
pub struct Snapshot {
    files: BTreeMap<String, String>,
}

/// Files created, changed and removed between two snapshots, each list sorted.
#[derive(Clone, Debug, Default, PartialEq, serde::Serialize)]
pub struct Delta {
    pub added: Vec<String>,
    pub changed: Vec<String>,
    pub removed: Vec<String>,
}

impl Snapshot {
    /// Hash every file under `root` (see the module notes for which), leaving out `skip`.
    pub fn take(root: &Path, skip: &[PathBuf]) -> Snapshot {
        let skip: Vec<PathBuf> = skip.iter().filter_map(|p| p.strip_prefix(root).ok()).map(Path::to_path_buf).collect();
        let paths = git_files(root).unwrap_or_else(|| walk(root));
        let files = paths
            .into_iter()
            .filter(|rel| !skip.iter().any(|s| !s.as_os_str().is_empty() && Path::new(rel).starts_with(s)))
            .filter_map(|rel| hash_entry(&root.join(&rel)).map(|h| (rel, h)))
            .collect();
        Snapshot { files }
    }

    pub fn len(&self) -> usize {
        self.files.len()
    }

    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// What changed from `self` (before) to `after`.
    pub fn delta(&self, after: &Snapshot) -> Delta {
        let mut delta = Delta::default();
        for (path, hash) in &after.files {
            match self.files.get(path) {
                None => delta.added.push(path.clone()),
                Some(old) if old != hash => delta.changed.push(path.clone()),
                Some(_) => {}
            }
        }
        delta.removed = self.files.keys().filter(|p| !after.files.contains_key(*p)).cloned().collect();
        delta
    }
}

/// `git ls-files -co --exclude-standard -z` in `root`, or `None` when git is missing or `root` is
/// not in a work tree.
fn git_files(root: &Path) -> Option<Vec<String>> {
    let out = Command::new("git")
        .arg("-C")
        .arg(root)
        .args(["ls-files", "-co", "--exclude-standard", "-z"])
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let mut paths: Vec<String> = out
        .stdout
        .split(|b| *b == 0)
        .filter(|p| !p.is_empty())
        .filter_map(|p| std::str::from_utf8(p).ok().map(str::to_owned))
        .collect();
    paths.sort();
    paths.dedup();
    Some(paths)
}

/// Every file under `root`, relative, skipping `.git/` directories; symlinks are not followed.
fn walk(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut dirs = vec![PathBuf::new()];
    while let Some(rel) = dirs.pop() {
        let Ok(entries) = std::fs::read_dir(root.join(&rel)) else { continue };
        for entry in entries.flatten() {
            let name = entry.file_name();
            let Ok(kind) = entry.file_type() else { continue };
            let path = rel.join(&name);
            if kind.is_dir() {
                if name != ".git" {
                    dirs.push(path);
                }
            } else if let Some(text) = path.to_str() {
                out.push(text.to_owned());
            }
        }
    }
    out.sort();
    out
}

/// The sha256 of a regular file's content, or of `symlink:<target>` for a link.
fn hash_entry(path: &Path) -> Option<String> {
    let meta = std::fs::symlink_metadata(path).ok()?;
    let mut hasher = Hasher::new();
    if meta.file_type().is_symlink() {
        let target = std::fs::read_link(path).ok()?;
        hasher.update(b"symlink:");
        hasher.update(target.as_os_str().as_encoded_bytes());
        return Some(hasher.finish().0);
    }
    if !meta.is_file() {
        return None;
    }
    let mut file = std::fs::File::open(path).ok()?;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        match file.read(&mut buf) {
            Ok(0) => return Some(hasher.finish().0),
            Ok(n) => hasher.update(&buf[..n]),
            Err(_) => return None,
        }
    }
}
