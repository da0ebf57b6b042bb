//! What a handler answers, and how an error becomes an HTTP status.
//!
//! Every error response is a `wrkr.error_envelope` carrying the real reason code (never a
//! wrapped `E_GENERIC_FAILURE`). The status comes from the code, in one table
//! ([`status_of`], documented in docs/contracts/serve.md): bad input 400, a job, checkpoint or
//! file that does not exist 404, a state conflict (lease, transition, pending approval, changed
//! environment) 409, a valid request whose work failed (verify, budget, adapter) 422, and store
//! or I/O failures 500. JSON is compact with a trailing newline, as Go writes it.

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::contract::time::Timestamp;
use crate::contract::{Error, ReasonCode, Result};
use crate::serve::routes::Body;
use crate::serve::stream::Producer;

pub const JSON: &str = "application/json";

/// A reply's body: bytes in hand, or a producer that streams them (`serve::stream`).
#[derive(Debug)]
pub enum Payload {
    Bytes(Vec<u8>),
    Stream(Producer),
}

#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub content_type: &'static str,
    pub body: Payload,
    /// Extra headers (`Allow`, `WWW-Authenticate`).
    pub headers: Vec<(&'static str, String)>,
}

impl Reply {
    pub fn json(status: u16, value: &Value) -> Reply {
        let mut body = serde_json::to_vec(value).unwrap_or_else(|_| b"{}".to_vec());
        body.push(b'\n');
        Reply { status, content_type: JSON, body: Payload::Bytes(body), headers: Vec::new() }
    }

    pub fn bytes(content_type: &'static str, body: Vec<u8>) -> Reply {
        Reply { status: 200, content_type, body: Payload::Bytes(body), headers: Vec::new() }
    }

    /// A 200 whose body `produce` writes as the client reads it (`serve::stream`).
    pub fn stream(
        content_type: &'static str,
        produce: impl FnOnce(&mut dyn std::io::Write) -> Result<()> + Send + 'static,
    ) -> Reply {
        Reply { status: 200, content_type, body: Payload::Stream(Producer(Box::new(produce))), headers: Vec::new() }
    }

    pub fn error(err: &Error) -> Reply {
        Reply::error_with(status_of(err), err)
    }

    pub fn error_with(status: u16, err: &Error) -> Reply {
        Reply::json(status, &err.envelope(Timestamp::now()))
    }

    /// The body, leaving an empty one in its place.
    pub fn take_body(&mut self) -> Payload {
        std::mem::replace(&mut self.body, Payload::Bytes(Vec::new()))
    }

    /// The body of a reply made of bytes (every reply but a stream); empty for a stream.
    pub fn take_bytes(&mut self) -> Vec<u8> {
        match self.take_body() {
            Payload::Bytes(bytes) => bytes,
            Payload::Stream(_) => Vec::new(),
        }
    }

    pub fn header(mut self, name: &'static str, value: String) -> Reply {
        self.headers.push((name, value));
        self
    }
}

/// The HTTP status of an error: the one table.
pub fn status_of(err: &Error) -> u16 {
    if err.missing {
        return 404;
    }
    match err.code {
        ReasonCode::InvalidInputSchema | ReasonCode::UnsafeOperation => 400,
        ReasonCode::LeaseConflict
        | ReasonCode::InvalidStateTransition
        | ReasonCode::CheckpointApprovalRequired
        | ReasonCode::EnvFingerprintMismatch => 409,
        ReasonCode::VerifyHashMismatch
        | ReasonCode::AcceptMissingArtifact
        | ReasonCode::AcceptTestFail
        | ReasonCode::BudgetExceeded
        | ReasonCode::AdapterFail => 422,
        ReasonCode::StoreCorrupt | ReasonCode::GenericFailure => 500,
    }
}

/// Decode a request body into `T`: strict JSON (duplicate keys refused), a JSON object at the top
/// (serde would also build a struct from an array), unknown fields refused by `T`'s derive. An
/// empty body is `{}` where the route allows it. Only an empty one: a body of whitespace alone is
/// no JSON document, and was taken for `{}` (schemathesis's ST201, `-d $'\r'`).
pub fn decode<T: DeserializeOwned>(body: &[u8], kind: Body) -> Result<T> {
    let empty = body.is_empty();
    let bytes: &[u8] = if empty && kind != Body::Required { b"{}" } else { body };
    if empty && kind == Body::Required {
        return Err(Error::invalid_input("request body required").with_hint("send a JSON object"));
    }
    let invalid =
        |e: String| Error::invalid_input("invalid request json").with("error", e.chars().take(300).collect::<String>());
    let value = crate::json::parse(bytes).map_err(|e| invalid(e.to_string()))?;
    if !value.is_object() {
        return Err(invalid(format!("expected a JSON object, found {}", crate::json::kind(&value))));
    }
    serde_json::from_value(value).map_err(|e| invalid(e.to_string()))
}

/// A nested request object: like `T`, but only from a JSON object (serde's derive would also
/// accept an array, `[null, null]`, for a struct).
#[derive(Debug)]
pub struct Obj<T>(pub T);

impl<'de, T: DeserializeOwned> serde::Deserialize<'de> for Obj<T> {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> std::result::Result<Self, D::Error> {
        use serde::de::Error as _;
        let value = serde_json::Value::deserialize(deserializer)?;
        if !value.is_object() {
            return Err(D::Error::custom(format!("expected an object, found {}", crate::json::kind(&value))));
        }
        serde_json::from_value(value).map(Obj).map_err(D::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    struct Req {
        #[allow(dead_code)]
        a: Option<String>,
    }

    #[derive(serde::Deserialize, Debug)]
    #[serde(deny_unknown_fields)]
    struct Outer {
        #[allow(dead_code)]
        inner: Option<Obj<Req>>,
    }

    #[test]
    fn arrays_are_not_objects() {
        assert!(decode::<Req>(b"[null]", Body::Optional).is_err());
        assert!(decode::<Outer>(br#"{"inner":[null]}"#, Body::Optional).is_err());
        assert!(decode::<Outer>(br#"{"inner":{"a":"x"}}"#, Body::Optional).is_ok());
        assert!(decode::<Outer>(br#"{"inner":null}"#, Body::Optional).is_ok());
    }

    #[test]
    fn decoding() {
        assert!(decode::<Req>(b"", Body::Optional).is_ok());
        assert!(decode::<Req>(b"", Body::Required).is_err());
        assert!(decode::<Req>(br#"{"b":1}"#, Body::Optional).is_err());
        assert!(decode::<Req>(br#"{"a":"x","a":"y"}"#, Body::Optional).is_err());
    }

    #[test]
    fn statuses() {
        assert_eq!(status_of(&crate::store::job_not_found(&crate::store::JobId::parse("j").unwrap())), 404);
        assert_eq!(status_of(&Error::new(ReasonCode::LeaseConflict, "x")), 409);
        assert_eq!(status_of(&Error::new(ReasonCode::UnsafeOperation, "x")), 400);
        assert_eq!(status_of(&Error::generic("x")), 500);
        // 404 comes from the error's kind, not its wording: context keeps it, look-alike text does not.
        let wrapped = crate::store::job_not_found(&crate::store::JobId::parse("j").unwrap()).context("export j");
        assert_eq!(status_of(&wrapped), 404);
        assert_eq!(status_of(&Error::invalid_input("field not found")), 400);
    }
}
