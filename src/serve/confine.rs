//! Path parameters confined to the server's working directory.
//!
//! A request may name files (`jobspec_path`, `config_path`) and directories (`out_dir`), always
//! relative to the directory the server was started in. A value must be non-empty, relative, free
//! of `..` components and NUL, and must resolve — after every symlink is followed — inside that
//! directory; anything else is 400 `E_UNSAFE_OPERATION` before the path is used. For a directory
//! that does not exist yet, its deepest existing ancestor is resolved and the rest (which has no
//! `..`) is appended. There is a window between this check and the use of the path (a local user
//! who can write inside the working directory could swap in a symlink); the server runs for its
//! own user on loopback, where that user could as well call the CLI.

use std::path::{Component, Path, PathBuf};

use crate::contract::{Error, ReasonCode, Result};

/// Must the path exist (a file to read) or may it be created (an output directory)?
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    ExistingFile,
    OutputDir,
}

fn unsafe_path(field: &str, value: &str, why: &str) -> Error {
    Error::new(ReasonCode::UnsafeOperation, format!("unsafe {field}: {why}"))
        .with("field", field)
        .with("value", value.chars().take(256).collect::<String>())
        .with_hint("paths are relative to the server's working directory and stay inside it")
}

/// Resolve `value` under `root` (already canonical), or refuse it.
pub fn confine(root: &Path, field: &str, value: &str, kind: Kind) -> Result<PathBuf> {
    if value.trim().is_empty() {
        return Err(Error::invalid_input(format!("{field} is empty")).with("field", field));
    }
    if value.contains('\0') {
        return Err(unsafe_path(field, value, "it contains NUL"));
    }
    let rel = Path::new(value);
    for part in rel.components() {
        match part {
            Component::Normal(_) | Component::CurDir => {}
            Component::ParentDir => return Err(unsafe_path(field, value, "it contains ..")),
            Component::RootDir | Component::Prefix(_) => return Err(unsafe_path(field, value, "it is absolute")),
        }
    }
    let joined = root.join(rel);
    let resolved = match kind {
        Kind::ExistingFile => match std::fs::canonicalize(&joined) {
            Ok(p) => p,
            Err(_) => {
                return Err(Error::not_found(format!("{field} not found"))
                    .with("field", field)
                    .with("value", value.chars().take(256).collect::<String>()));
            }
        },
        Kind::OutputDir => {
            let mut existing = joined.as_path();
            let mut rest = Vec::new();
            loop {
                if let Ok(p) = std::fs::canonicalize(existing) {
                    let mut out = p;
                    out.extend(rest.iter().rev());
                    break out;
                }
                match (existing.parent(), existing.file_name()) {
                    (Some(parent), Some(name)) => {
                        rest.push(name.to_owned());
                        existing = parent;
                    }
                    _ => return Err(unsafe_path(field, value, "it does not resolve")),
                }
            }
        }
    };
    if !resolved.starts_with(root) {
        return Err(unsafe_path(field, value, "it resolves outside the working directory"));
    }
    if kind == Kind::ExistingFile && !resolved.is_file() {
        return Err(Error::invalid_input(format!("{field} is not a file")).with("field", field));
    }
    if kind == Kind::OutputDir && resolved.exists() && !resolved.is_dir() {
        return Err(Error::invalid_input(format!("{field} is not a directory")).with("field", field));
    }
    Ok(resolved)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_escapes() {
        let dir = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(dir.path()).unwrap();
        std::fs::write(root.join("spec.yaml"), "x").unwrap();
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("secret"), "x").unwrap();
        std::os::unix::fs::symlink(outside.path(), root.join("link")).unwrap();
        let ok = confine(&root, "jobspec_path", "spec.yaml", Kind::ExistingFile).unwrap();
        assert_eq!(ok, root.join("spec.yaml"));
        assert_eq!(confine(&root, "out_dir", "a/b/c", Kind::OutputDir).unwrap(), root.join("a/b/c"));
        for bad in ["../x", "a/../../x", "/etc/passwd", "link/secret"] {
            let err = confine(&root, "jobspec_path", bad, Kind::ExistingFile).unwrap_err();
            assert_eq!(err.code, ReasonCode::UnsafeOperation, "{bad}");
        }
        let err = confine(&root, "out_dir", "link/new", Kind::OutputDir).unwrap_err();
        assert_eq!(err.code, ReasonCode::UnsafeOperation);
    }
}
