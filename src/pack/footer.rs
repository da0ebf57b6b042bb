//! The ticket footer: one line that names a job and its pack's manifest hash (digest 2.6).
//!
//! `WRKR job_id=<id> manifest=sha256:<hex> verify="wrkr verify <id>"`, single spaces, no trailing
//! space. The parser accepts exactly what Go's pattern accepts:
//! `^WRKR job_id=([a-zA-Z0-9._-]+) manifest=sha256:([a-f0-9]{64}) verify="wrkr verify ([^"]+)"$`
//! (the verify target need not equal the job id; no trailing newline).
//!
//! The verify command must work as printed ([`for_pack`]): a pack in the default place
//! (`./wrkr-out/jobpacks/`) is named by its job id, the v1 form; a pack anywhere else (`--out-dir`)
//! by its absolute path, which `wrkr verify` takes from any directory.

use std::path::Path;

use serde::Serialize;

use crate::contract::{Error, Result};
use crate::digest::is_sha256_hex;

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Footer {
    pub job_id: String,
    pub manifest_sha256: String,
    pub verify_target: String,
}

/// The footer line for a pack.
pub fn format(job_id: &str, manifest_sha256: &str) -> String {
    format!("WRKR job_id={job_id} manifest=sha256:{manifest_sha256} verify=\"wrkr verify {job_id}\"")
}

/// The footer for the pack written at `pack`, with a verify command that works as printed.
pub fn for_pack(job_id: &str, manifest_sha256: &str, pack: &Path) -> String {
    let default = Path::new(crate::cmd::export::DEFAULT_OUT_DIR).join("jobpacks").join(crate::pack::file_name(job_id));
    let pack = std::path::absolute(pack).ok();
    let target = pack.filter(|p| std::path::absolute(&default).ok().as_ref() != Some(p));
    match target.as_deref().and_then(Path::to_str).and_then(shell_word) {
        Some(target) => {
            format!("WRKR job_id={job_id} manifest=sha256:{manifest_sha256} verify=\"wrkr verify {target}\"")
        }
        None => format(job_id, manifest_sha256),
    }
}

/// `path` as one shell word: bare when it is only safe characters, else in single quotes. `None`
/// when no quoting fits inside the footer's double quotes (a `"`, `'` or control character).
fn shell_word(path: &str) -> Option<String> {
    let safe = |c: char| c.is_ascii_alphanumeric() || "._/+-=:@,%".contains(c);
    if !path.is_empty() && path.chars().all(safe) {
        return Some(path.to_owned());
    }
    (!path.chars().any(|c| c == '"' || c == '\'' || c.is_control())).then(|| format!("'{path}'"))
}

fn invalid(line: &str) -> Error {
    Error::invalid_input("invalid ticket footer format")
        .with("line", line)
        .with_hint("expected: WRKR job_id=<id> manifest=sha256:<64 hex> verify=\"wrkr verify <id>\"")
}

/// Parse a footer line.
pub fn parse(line: &str) -> Result<Footer> {
    let rest = line.strip_prefix("WRKR job_id=").ok_or_else(|| invalid(line))?;
    let (job_id, rest) = rest.split_once(" manifest=sha256:").ok_or_else(|| invalid(line))?;
    let id_ok = !job_id.is_empty() && job_id.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
    let (hash, rest) = (rest.get(..64).ok_or_else(|| invalid(line))?, &rest[64.min(rest.len())..]);
    let target = rest.strip_prefix(" verify=\"wrkr verify ").and_then(|r| r.strip_suffix('"'));
    match target {
        Some(t) if id_ok && is_sha256_hex(hash) && !t.is_empty() && !t.contains('"') => {
            Ok(Footer { job_id: job_id.to_owned(), manifest_sha256: hash.to_owned(), verify_target: t.to_owned() })
        }
        _ => Err(invalid(line)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: &str = "86b24ace685974f875febbb3871c7b1681394809ec7bb8d1a2a70b5bbf14804c";

    #[test]
    fn round_trip() {
        let line = format("job_j", H);
        assert_eq!(line, format!("WRKR job_id=job_j manifest=sha256:{H} verify=\"wrkr verify job_j\""));
        let f = parse(&line).unwrap();
        assert_eq!((f.job_id.as_str(), f.manifest_sha256.as_str(), f.verify_target.as_str()), ("job_j", H, "job_j"));
    }

    #[test]
    fn footers_name_packs_outside_the_default_place_by_path() {
        let line = for_pack("job_j", H, Path::new("/tmp/out dir/jobpacks/jobpack_job_j.zip"));
        assert_eq!(parse(&line).unwrap().verify_target, "'/tmp/out dir/jobpacks/jobpack_job_j.zip'");
        let line = for_pack("job_j", H, Path::new("/o/jobpacks/jobpack_job_j.zip"));
        assert_eq!(parse(&line).unwrap().verify_target, "/o/jobpacks/jobpack_job_j.zip");
        assert_eq!(for_pack("job_j", H, Path::new("wrkr-out/jobpacks/jobpack_job_j.zip")), format("job_j", H));
        assert_eq!(for_pack("job_j", H, Path::new("/o/it's.zip")), format("job_j", H));
    }

    #[test]
    fn rejects_near_misses() {
        for bad in [
            format!("{} ", format("job_j", H)),
            format!("{}\n", format("job_j", H)),
            format("job j", H),
            format("job_j", &H.to_uppercase()),
            format("job_j", &H[..63]),
            format!("WRKR job_id=job_j manifest=sha256:{H} verify=\"wrkr verify \""),
            format!("WRKR job_id=job_j manifest=sha256:{H} verify=\"wrkr verify a\"b\""),
            format!("WRKR  job_id=job_j manifest=sha256:{H} verify=\"wrkr verify job_j\""),
        ] {
            let err = parse(&bad).unwrap_err();
            assert_eq!(err.exit_code(), 6, "{bad}");
        }
        assert_eq!(
            parse(&format!("WRKR job_id=a.b-c manifest=sha256:{H} verify=\"wrkr verify x y\"")).unwrap().verify_target,
            "x y"
        );
    }
}
