//! Job ids: the one gate between a user-supplied string and a directory name.
//!
//! A valid id matches `^[A-Za-z0-9._-]+$`, is not `.` or `..`, and is at most 128 bytes, so it is
//! always exactly one path component that cannot climb out of `jobs/`. Anything else is refused
//! with exit 6 before any file is opened or created.

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
                Err(Error::invalid_input(format!("invalid job id {shown:?}: {why}"))
                    .with("job_id", shown)
                    .with_hint("job ids match ^[A-Za-z0-9._-]+$, at most 128 bytes, not . or .."))
            }
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
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
}
