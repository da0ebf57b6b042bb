//! Job ids: the one gate between a user-supplied string and a directory name.
//!
//! A valid id matches `^[A-Za-z0-9._-]+$`, is not `.` or `..`, and is at most 128 bytes, so it is
//! always exactly one path component that cannot climb out of `jobs/`. Anything else is refused
//! with exit 6 before any file is opened or created, with the rule and a valid id close to it.
//! An id is never rewritten: `TokTypo` stays `TokTypo` in every command (ids are case-sensitive).
//!
//! Ids wrkr picks itself (`<name>_<unix seconds>`, `job_wrap_<unix seconds>`) are claimed with
//! [`claim_fresh`], which takes the next free suffix, so two jobs started in the same second never
//! collide.

use std::fmt;

use crate::contract::{Error, Result};

pub const MAX_JOB_ID_BYTES: usize = 128;

#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct JobId(String);

impl JobId {
    pub fn parse(raw: &str) -> Result<JobId> {
        let why = if raw.is_empty() {
            Some("it is empty".to_owned())
        } else if raw.len() > MAX_JOB_ID_BYTES {
            Some(format!("it is {} bytes long (at most {MAX_JOB_ID_BYTES})", raw.len()))
        } else if raw == "." || raw == ".." {
            Some("it is a relative directory name".to_owned())
        } else {
            raw.chars()
                .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-')))
                .map(|c| format!("it contains {c:?}"))
        };
        match why {
            None => Ok(JobId(raw.to_owned())),
            Some(why) => {
                let shown: String = raw.chars().take(MAX_JOB_ID_BYTES).collect();
                let rule = "job ids match ^[A-Za-z0-9._-]+$, at most 128 bytes, not . or ..";
                let err = Error::invalid_input(format!("invalid job id {shown:?}: {why}")).with("job_id", shown);
                Err(match suggest(raw) {
                    Some(id) => err.with("suggestion", id.as_str()).with_hint(format!("{rule}; did you mean {id}?")),
                    None => err.with_hint(rule),
                })
            }
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A valid id close to `raw`: every run of other characters becomes `_`, the ends are trimmed,
/// the length capped. Case is kept. `None` when nothing usable is left.
fn suggest(raw: &str) -> Option<String> {
    let mut out = String::new();
    for c in raw.chars() {
        if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
            out.push(c);
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    let mut id = out.trim_matches(|c| matches!(c, '_' | '.' | '-')).to_owned();
    id.truncate(MAX_JOB_ID_BYTES);
    (!id.is_empty() && id != raw).then_some(id)
}

/// Create a job under the first free id of `base`, `base_1`, `base_2`, ... (at most 1000 tries).
/// `try_create` creates the job and returns `Ok(false)` when the id is already taken.
pub fn claim_fresh(base: &str, try_create: &mut dyn FnMut(&JobId) -> Result<bool>) -> Result<JobId> {
    for n in 0..1000 {
        let job = JobId::parse(&if n == 0 { base.to_owned() } else { format!("{base}_{n}") })?;
        if try_create(&job)? {
            return Ok(job);
        }
    }
    Err(Error::generic(format!("no free job id for {base} (tried {base} to {base}_999)"))
        .with_hint("pass --job-id to name the job"))
}

impl fmt::Display for JobId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn accepts_and_refuses() {
        for ok in ["job_1", "a.b-c", "...", "x".repeat(128).as_str()] {
            assert!(JobId::parse(ok).is_ok(), "{ok}");
        }
        for bad in
            ["", ".", "..", "../x", "a/b", "a\0b", "a b", "é", "x".repeat(129).as_str(), "x".repeat(300).as_str()]
        {
            let err = JobId::parse(bad).unwrap_err();
            assert_eq!(err.exit_code(), 6, "{bad:?}");
        }
    }

    #[test]
    fn suggestions_keep_case_and_are_valid() {
        assert_eq!(suggest("Tok Typo!").as_deref(), Some("Tok_Typo"));
        assert_eq!(suggest("../x").as_deref(), Some("x"));
        assert_eq!(suggest("é"), None);
        assert!(JobId::parse(&suggest(&"a b".repeat(100)).unwrap()).is_ok());
    }
}
