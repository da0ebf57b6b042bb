//! The one error type: a reason code, a message, structured details and an optional hint.
//!
//! Errors keep their code from the place they are made to the place they are printed. Adding
//! context (`context`) prefixes the message and never replaces the code, which is the bug the Go
//! implementation had: its envelope said `E_GENERIC_FAILURE` for any wrapped error.

use std::fmt;

use serde_json::{Map, Value, json};

use super::reason::ReasonCode;
use super::time::Timestamp;
use super::{PRODUCER_VERSION, SCHEMA_VERSION};

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Boxed so that `Result<T, Error>` stays one pointer wide on the happy path; the fields are
/// reached through `Deref` (`err.code`, `err.message`).
#[derive(Clone, Debug, PartialEq)]
pub struct Error(Box<ErrorData>);

#[derive(Clone, Debug, PartialEq)]
pub struct ErrorData {
    pub code: ReasonCode,
    pub message: String,
    /// Machine-readable facts about the failure (`{"line": 3}`, `{"job_id": "x"}`).
    pub details: Map<String, Value>,
    /// What to do next, for people. Goes into `details.hint` in the envelope (the envelope is closed).
    pub hint: Option<String>,
    /// The process exit code when it must differ from the code's (`wrkr wrap --exit-code child`).
    pub exit_override: Option<u8>,
    /// The thing asked for does not exist (a job, a checkpoint, a file). Not on the wire: the v1
    /// envelope says `E_INVALID_INPUT_SCHEMA`, exit 6; a transport that can say more (HTTP 404)
    /// reads it here instead of matching message text.
    pub missing: bool,
}

impl Error {
    pub fn new(code: ReasonCode, message: impl Into<String>) -> Error {
        Error(Box::new(ErrorData {
            code,
            message: message.into(),
            details: Map::new(),
            hint: None,
            exit_override: None,
            missing: false,
        }))
    }

    /// Bad input or usage: exit 6.
    pub fn invalid_input(message: impl Into<String>) -> Error {
        Error::new(ReasonCode::InvalidInputSchema, message)
    }

    /// Bad input naming something that does not exist: exit 6, and `missing` set.
    pub fn not_found(message: impl Into<String>) -> Error {
        let mut err = Error::invalid_input(message);
        err.missing = true;
        err
    }

    /// A file that writing would destroy. Go answers `E_INVALID_INPUT_SCHEMA` (exit 6) here and v1
    /// keeps its exit and reason codes, so the message and `details.path` say what is wrong and the
    /// caller's hint says which flag overwrites.
    pub fn already_exists(path: &std::path::Path) -> Error {
        let shown = path.display().to_string();
        Error::invalid_input(format!("{shown} already exists")).with("path", shown)
    }

    pub fn generic(message: impl Into<String>) -> Error {
        Error::new(ReasonCode::GenericFailure, message)
    }

    /// An I/O failure while doing `what` (exit 1).
    pub fn io(what: impl fmt::Display, err: std::io::Error) -> Error {
        Error::generic(format!("{what}: {err}"))
    }

    /// Add a detail. Later values for the same key replace earlier ones.
    pub fn with(mut self, key: &str, value: impl Into<Value>) -> Error {
        self.details.insert(key.to_owned(), value.into());
        self
    }

    pub fn with_hint(mut self, hint: impl Into<String>) -> Error {
        self.hint = Some(hint.into());
        self
    }

    /// Prefix the message with what was being done; the code and details are kept.
    pub fn context(mut self, what: impl fmt::Display) -> Error {
        self.message = format!("{what}: {}", self.message);
        self
    }

    /// Exit with `code` instead of the reason code's exit code; the reason code is kept.
    pub fn with_exit_code(mut self, code: u8) -> Error {
        self.exit_override = Some(code);
        self
    }

    pub fn exit_code(&self) -> u8 {
        self.exit_override.unwrap_or_else(|| self.code.exit_code())
    }

    /// The `wrkr.error_envelope` for this error, fields in contract order.
    pub fn envelope(&self, now: Timestamp) -> Value {
        let mut envelope = json!({
            "schema_id": "wrkr.error_envelope",
            "schema_version": SCHEMA_VERSION,
            "created_at": now.to_string(),
            "producer_version": PRODUCER_VERSION,
            "code": self.code.as_str(),
            "message": if self.message.is_empty() { self.code.as_str() } else { &self.message },
            "exit_code": self.exit_code(),
        });
        let mut details = self.details.clone();
        if let Some(hint) = &self.hint {
            details.insert("hint".to_owned(), Value::String(hint.clone()));
        }
        if !details.is_empty() {
            envelope["details"] = Value::Object(details);
        }
        envelope
    }
}

impl std::ops::Deref for Error {
    type Target = ErrorData;
    fn deref(&self) -> &ErrorData {
        &self.0
    }
}

impl std::ops::DerefMut for Error {
    fn deref_mut(&mut self) -> &mut ErrorData {
        &mut self.0
    }
}

impl fmt::Display for Error {
    /// The text-mode form: `E_CODE: message`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.message.is_empty() { write!(f, "{}", self.code) } else { write!(f, "{}: {}", self.code, self.message) }
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn context_keeps_code_and_details() {
        let err = Error::new(ReasonCode::LeaseConflict, "lease held").with("holder", "w1").context("resume job_x");
        assert_eq!(err.code, ReasonCode::LeaseConflict);
        assert_eq!(err.message, "resume job_x: lease held");
        assert_eq!(err.details["holder"], "w1");
        assert_eq!(err.exit_code(), 1);
    }

    #[test]
    fn envelope_shape() {
        let now = Timestamp::from_unix(1_770_998_400, 0);
        let env = Error::invalid_input("job not found").with("job_id", "nope").with_hint("wrkr jobs").envelope(now);
        let keys: Vec<&str> = env.as_object().unwrap().keys().map(String::as_str).collect();
        assert_eq!(
            keys,
            [
                "schema_id",
                "schema_version",
                "created_at",
                "producer_version",
                "code",
                "message",
                "exit_code",
                "details"
            ]
        );
        assert_eq!(env["code"], "E_INVALID_INPUT_SCHEMA");
        assert_eq!(env["exit_code"], 6);
        assert_eq!(env["details"]["hint"], "wrkr jobs");
        assert_eq!(env["created_at"], "2026-02-13T16:00:00Z");
    }

    #[test]
    fn envelope_omits_empty_details() {
        let env = Error::generic("boom").envelope(Timestamp::from_unix(0, 0));
        assert!(env.get("details").is_none());
    }
}
