//! Events a writer asks to append, and the two checks they pass before they reach the ledger.
//!
//! 1. [`parse_request`] checks one `{"type", "payload"}` line from outside (`wrkr-events --append`):
//!    the payload is an object, the type is one of the Go types (digest 4.2) with a payload of the
//!    right shape, or a namespaced extension `x-...`. Types only wrkr itself may write
//!    (`job_initialized`, `lease_set`, `lease_released`) are refused here: a lease event written by
//!    hand would bypass the epoch numbering that fencing depends on. Failures are exit 6.
//! 2. [`check_against_state`] runs under the job's lock, for every event of a batch in order,
//!    against the state the batch has produced so far: status transitions follow the table,
//!    `job_initialized` is only ever seq 1, lease epochs only grow. Failures leave the ledger as
//!    it was (the batch is all or nothing).

use serde_json::{Map, Value};

use crate::contract::{Error, ReasonCode, Result};
use crate::job::state::JobState;
use crate::job::status::{Status, invalid_transition};

/// An event before it has a seq and a time.
#[derive(Clone, Debug, PartialEq)]
pub struct NewEvent {
    pub event_type: String,
    pub payload: Map<String, Value>,
    /// The payload already written as compact JSON (serde_json's bytes for it), for a payload too
    /// big to hold as a `Value`: a long job's recorded JobSpec (issue 16). When set, the ledger
    /// line carries these bytes and `payload` is only a stand-in holding what the job's state
    /// reads of them (`JobState::apply` is given a record with the stand-in). Only wrkr's own
    /// extension events (`x-...`) are written this way.
    pub written: Option<Vec<u8>>,
}

impl NewEvent {
    pub fn new(event_type: &str, payload: Value) -> NewEvent {
        let payload = match payload {
            Value::Object(map) => map,
            _ => Map::new(),
        };
        NewEvent { event_type: event_type.to_owned(), payload, written: None }
    }

    /// An extension event whose payload is written already: `payload` must be one compact JSON
    /// object, as serde_json writes it (the ledger's line format); `read_by_state` holds what
    /// `JobState::apply` reads of it.
    pub fn written(event_type: &str, payload: Vec<u8>, read_by_state: Value) -> NewEvent {
        let Value::Object(stand_in) = read_by_state else { return NewEvent::new(event_type, Value::Null) };
        NewEvent { event_type: event_type.to_owned(), payload: stand_in, written: Some(payload) }
    }

    pub fn status_changed(from: Status, to: Status) -> NewEvent {
        NewEvent::new("status_changed", serde_json::json!({"from": from.as_str(), "to": to.as_str()}))
    }
}

/// Types only wrkr writes itself.
const INTERNAL_TYPES: [&str; 3] = ["job_initialized", "lease_set", "lease_released"];

const CHECKPOINT_TYPES: [&str; 5] = ["plan", "progress", "decision-needed", "blocked", "completed"];

/// Check one requested event from outside. `line` is for messages.
pub fn parse_request(value: Value, line: u64) -> Result<NewEvent> {
    let bad = |msg: String| Error::invalid_input(format!("line {line}: {msg}")).with("line", line);
    let Value::Object(mut object) = value else {
        return Err(bad(format!("expected an object {{\"type\", \"payload\"}}, found {}", crate::json::kind(&value))));
    };
    if let Some(extra) = object.keys().find(|k| !matches!(k.as_str(), "type" | "payload")) {
        return Err(bad(format!("unknown key {extra:?} (an event request has only \"type\" and \"payload\")")));
    }
    let event_type = match object.remove("type") {
        Some(Value::String(t)) if !t.is_empty() => t,
        Some(_) => return Err(bad("\"type\" must be a non-empty string".into())),
        None => return Err(bad("missing \"type\"".into())),
    };
    let payload = match object.remove("payload") {
        Some(Value::Object(map)) => map,
        Some(other) => return Err(bad(format!("\"payload\" must be an object, found {}", crate::json::kind(&other)))),
        None => return Err(bad("missing \"payload\" (use {} for none)".into())),
    };
    if INTERNAL_TYPES.contains(&event_type.as_str()) {
        return Err(bad(format!("{event_type} events are written by wrkr itself"))
            .with("type", event_type.as_str())
            .with_hint("use --create to initialize a job, wrkr-lease for leases"));
    }
    if let Some(rest) = event_type.strip_prefix("x-") {
        let ok = !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_alphanumeric() || b"._-".contains(&b));
        if !ok {
            return Err(bad(format!("extension type {event_type:?} must match x-[A-Za-z0-9._-]+")));
        }
        return Ok(NewEvent { event_type, payload, written: None });
    }
    check_payload(&event_type, &payload)
        .map_err(|msg| bad(format!("{event_type}: {msg}")).with("type", event_type.as_str()))?;
    Ok(NewEvent { event_type, payload, written: None })
}

/// The payload shape of each known type (the fields Go writes and replays).
fn check_payload(event_type: &str, p: &Map<String, Value>) -> std::result::Result<(), String> {
    let string = |key: &str| match p.get(key) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s.as_str()),
        _ => Err(format!("payload.{key} must be a non-empty string")),
    };
    let count = |key: &str| {
        p.get(key).and_then(Value::as_u64).map(|_| ()).ok_or(format!("payload.{key} must be a non-negative integer"))
    };
    let strings = |key: &str| match p.get(key) {
        Some(Value::Array(items)) if items.iter().all(Value::is_string) => Ok(()),
        _ => Err(format!("payload.{key} must be an array of strings")),
    };
    let object =
        |key: &str| p.get(key).filter(|v| v.is_object()).map(|_| ()).ok_or(format!("payload.{key} must be an object"));
    let status = |key: &str| {
        string(key).and_then(|s| Status::parse(s).map(|_| ()).ok_or(format!("payload.{key}: unknown status {s:?}")))
    };
    match event_type {
        "status_changed" => status("from").and(status("to")),
        "counters_updated" => count("retry_count").and(count("step_count")).and(count("tool_call_count")),
        "idempotency_recorded" => string("key").map(|_| ()),
        "checkpoint_emitted" => {
            let kind = string("type")?;
            if !CHECKPOINT_TYPES.contains(&kind) {
                return Err(format!("payload.type: unknown checkpoint type {kind:?}"));
            }
            let summary = string("summary")?;
            if summary.len() > 2000 {
                return Err("payload.summary is longer than 2000 bytes".into());
            }
            status("status")?;
            strings("reason_codes")
        }
        "approval_recorded" => crate::contract::schema::find("wrkr.approval_record").map_or(Ok(()), |schema| {
            schema.check(&Value::Object(p.clone()), "approval_recorded payload").map_err(|e| e.message.clone())
        }),
        "adapter_step" => string("step_id").and(count("step_index")),
        "env_fingerprint_set" => string("hash").and(strings("rules")).and(object("values")),
        "env_override_recorded" => string("actual_hash").and(string("expected_hash")).and(string("reason")).map(|_| ()),
        other => Err(format!("unknown event type {other:?}; extensions must be named x-...")),
    }
}

/// Check an event against the state the ledger (plus the batch so far) has produced. `seq` is
/// the seq it would get.
pub fn check_against_state(state: &JobState, event: &NewEvent, seq: u64) -> Result<()> {
    let field = |key: &str| event.payload.get(key).and_then(Value::as_str).unwrap_or_default();
    match event.event_type.as_str() {
        "job_initialized" if seq != 1 => {
            Err(Error::invalid_input("job_initialized can only be the first event of a job").with("seq", seq))
        }
        "status_changed" => {
            let (from, to) = (field("from"), field("to"));
            if from != state.status.as_str() {
                return Err(Error::new(
                    ReasonCode::InvalidStateTransition,
                    format!("status_changed from {from:?}, but the job is {:?}", state.status.as_str()),
                )
                .with("from", state.status.as_str())
                .with("to", to));
            }
            let to_status = Status::parse(to).ok_or_else(|| invalid_transition(from, to))?;
            state.status.check_transition(to_status)
        }
        "lease_set" => {
            let epoch = event.payload.get("epoch").and_then(Value::as_u64).unwrap_or(0);
            // A heartbeat renews the held lease: same lease id, same epoch. Anything else must
            // take a new epoch. (Refusing renewals made every runner lose its lease at its first
            // heartbeat, a third of the TTL into any step.)
            let renewal = state.lease.as_ref().is_some_and(|held| {
                held.epoch == epoch
                    && event.payload.get("lease_id").and_then(Value::as_str) == Some(held.lease_id.as_str())
            });
            if epoch <= state.lease_epoch && !renewal {
                return Err(Error::new(ReasonCode::LeaseConflict, "lease epoch does not increase")
                    .with("epoch", epoch)
                    .with("current_epoch", state.lease_epoch));
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn requests_are_checked() {
        assert!(parse_request(json!({"type": "x-note", "payload": {"a": 1}}), 1).is_ok());
        assert!(
            parse_request(json!({"type": "status_changed", "payload": {"from": "queued", "to": "running"}}), 1).is_ok()
        );
        for bad in [
            json!([1]),
            json!({"type": "x-note", "payload": [1]}),
            json!({"type": "x-note", "payload": "s"}),
            json!({"type": "x-note"}),
            json!({"type": "note", "payload": {}}),
            json!({"type": "x-", "payload": {}}),
            json!({"type": "lease_set", "payload": {}}),
            json!({"type": "status_changed", "payload": {"from": "queued", "to": "done"}}),
            json!({"type": "x-note", "payload": {}, "seq": 9}),
        ] {
            let err = parse_request(bad.clone(), 3).unwrap_err();
            assert_eq!(err.exit_code(), 6, "{bad}");
            assert_eq!(err.details["line"], 3);
        }
    }

    #[test]
    fn transitions_are_checked_against_state() {
        let mut state = JobState::new("j");
        assert!(check_against_state(&state, &NewEvent::status_changed(Status::Queued, Status::Running), 2).is_ok());
        let err =
            check_against_state(&state, &NewEvent::status_changed(Status::Queued, Status::Paused), 2).unwrap_err();
        assert_eq!(err.code, ReasonCode::InvalidStateTransition);
        state.status = Status::Completed;
        let err =
            check_against_state(&state, &NewEvent::status_changed(Status::Queued, Status::Running), 2).unwrap_err();
        assert_eq!(err.details["from"], "completed");
    }
}
