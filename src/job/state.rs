//! A job's state, derived by replaying its ledger: the one function that turns events into state.
//!
//! The state is never stored as the truth. The snapshot file holds a copy of it together with the
//! ledger position it was derived from, and anything that cannot prove the copy matches the ledger
//! replays the events again through [`JobState::apply`]. The field order and names are the Go
//! snapshot's `state` object (digest 4.5); `lease_epoch`, `lease.epoch`, `updated_at` and `outlook`
//! are wrkr additions, which Go's decoder ignores.
//!
//! Replay is tolerant of event types it does not know: they leave the state as it was. The Go
//! implementation fails closed there (digest 11.3 item 8), which makes a store unreadable the day a
//! newer writer adds a type; appends, in contrast, accept only known types and `x-` extensions.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::contract::{Error, ReasonCode, Result};
use crate::job::outlook_facts::OutlookFacts;
use crate::job::status::Status;
use crate::store::ledger::EventRecord;

/// The holder of a job's lease, as stored in `lease_set` payloads.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LeaseRecord {
    pub worker_id: String,
    pub lease_id: String,
    pub acquired_at: String,
    pub heartbeat_at: String,
    pub expires_at: String,
    /// Fencing epoch (wrkr addition). Go-written leases have none; replay numbers them.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub epoch: u64,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct JobState {
    pub job_id: String,
    pub status: Status,
    #[serde(default)]
    pub retry_count: u64,
    #[serde(default)]
    pub step_count: u64,
    #[serde(default)]
    pub tool_call_count: u64,
    #[serde(default)]
    pub idempotency_keys: BTreeMap<String, bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease: Option<LeaseRecord>,
    #[serde(default)]
    pub last_applied_seq: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub last_reason_codes: Vec<String>,
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub env_fingerprint_hash: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub env_fingerprint_rules: Vec<String>,
    #[serde(default, skip_serializing_if = "Map::is_empty")]
    pub env_fingerprint_values: Map<String, Value>,
    /// The highest lease epoch ever granted on this job (wrkr addition); survives release.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub lease_epoch: u64,
    /// `created_at` of the last applied event (wrkr addition), for `wrkr jobs`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub updated_at: Option<String>,
    /// What `wrkr status` shows about where the job is (wrkr addition). Required when read, so a
    /// snapshot written before it existed fails to load and is rebuilt from the ledger.
    pub outlook: OutlookFacts,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

impl JobState {
    pub fn new(job_id: &str) -> JobState {
        JobState {
            job_id: job_id.to_owned(),
            status: Status::Queued,
            retry_count: 0,
            step_count: 0,
            tool_call_count: 0,
            idempotency_keys: BTreeMap::new(),
            lease: None,
            last_applied_seq: 0,
            started_at: None,
            last_reason_codes: Vec::new(),
            env_fingerprint_hash: String::new(),
            env_fingerprint_rules: Vec::new(),
            env_fingerprint_values: Map::new(),
            lease_epoch: 0,
            updated_at: None,
            outlook: OutlookFacts::default(),
        }
    }

    /// Apply one ledger record. The caller guarantees `record.seq == last_applied_seq + 1`.
    /// A known event whose payload cannot mean anything is `E_STORE_CORRUPT` naming its seq.
    pub fn apply(&mut self, record: &EventRecord) -> Result<()> {
        let empty = Map::new();
        let payload = record.payload.as_ref().and_then(Value::as_object).unwrap_or(&empty);
        let corrupt = |what: &str| {
            Error::new(ReasonCode::StoreCorrupt, format!("event seq {}: {} {what}", record.seq, record.event_type))
                .with("seq", record.seq)
                .with("type", record.event_type.as_str())
        };
        match record.event_type.as_str() {
            "job_initialized" => {
                self.status = Status::Queued;
                self.started_at = payload.get("started_at").and_then(Value::as_str).map(str::to_owned);
            }
            "status_changed" => {
                let to = payload.get("to").and_then(Value::as_str).ok_or_else(|| corrupt("has no \"to\""))?;
                self.status = Status::parse(to).ok_or_else(|| corrupt(&format!("names unknown status {to:?}")))?;
            }
            "counters_updated" => {
                let count = |key: &str, old: u64| payload.get(key).and_then(Value::as_u64).unwrap_or(old);
                self.retry_count = count("retry_count", self.retry_count);
                self.step_count = count("step_count", self.step_count);
                self.tool_call_count = count("tool_call_count", self.tool_call_count);
            }
            "idempotency_recorded" => {
                if let Some(key) = payload.get("key").and_then(Value::as_str) {
                    self.idempotency_keys.insert(key.to_owned(), true);
                }
            }
            "lease_set" => {
                let mut lease: LeaseRecord = serde_json::from_value(Value::Object(payload.clone()))
                    .map_err(|e| corrupt(&format!("payload: {e}")))?;
                // Go-written leases carry no epoch: number them in ledger order.
                if lease.epoch == 0 {
                    lease.epoch = self.lease_epoch + 1;
                }
                self.lease_epoch = self.lease_epoch.max(lease.epoch);
                self.lease = Some(lease);
            }
            "lease_released" => self.lease = None,
            "checkpoint_emitted" => {
                self.last_reason_codes = payload
                    .get("reason_codes")
                    .and_then(Value::as_array)
                    .map(|codes| codes.iter().filter_map(Value::as_str).map(str::to_owned).collect())
                    .unwrap_or_default();
            }
            "env_fingerprint_set" => self.set_fingerprint(payload, "hash"),
            "env_override_recorded" => self.set_fingerprint(payload, "actual_hash"),
            // approval_recorded, adapter_step, x-* and types from newer writers: no state effect.
            _ => {}
        }
        self.outlook.apply(record);
        self.last_applied_seq = record.seq;
        self.updated_at = Some(record.created_at.clone());
        Ok(())
    }

    fn set_fingerprint(&mut self, payload: &Map<String, Value>, hash_key: &str) {
        self.env_fingerprint_hash = payload.get(hash_key).and_then(Value::as_str).unwrap_or_default().to_owned();
        self.env_fingerprint_rules = payload
            .get("rules")
            .and_then(Value::as_array)
            .map(|rules| rules.iter().filter_map(Value::as_str).map(str::to_owned).collect())
            .unwrap_or_default();
        self.env_fingerprint_values = payload.get("values").and_then(Value::as_object).cloned().unwrap_or_default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn record(seq: u64, event_type: &str, payload: Value) -> EventRecord {
        EventRecord {
            seq,
            created_at: "2026-02-13T18:00:00Z".into(),
            event_type: event_type.into(),
            payload: Some(payload),
        }
    }

    #[test]
    fn replays_the_go_event_types() {
        let mut state = JobState::new("job_a");
        let events = [
            record(1, "job_initialized", json!({"started_at": "2026-02-13T18:00:00Z", "status": "queued"})),
            record(2, "status_changed", json!({"from": "queued", "to": "running"})),
            record(3, "counters_updated", json!({"retry_count": 1, "step_count": 2, "tool_call_count": 3})),
            record(
                4,
                "lease_set",
                json!({"worker_id": "w", "lease_id": "l", "acquired_at": "t", "heartbeat_at": "t", "expires_at": "t"}),
            ),
            record(5, "checkpoint_emitted", json!({"reason_codes": ["E_ADAPTER_FAIL"]})),
            record(6, "x-note", json!({"anything": true})),
            record(7, "from_a_newer_writer", json!({})),
        ];
        for e in &events {
            state.apply(e).unwrap();
        }
        assert_eq!(state.status, Status::Running);
        assert_eq!((state.retry_count, state.step_count, state.tool_call_count), (1, 2, 3));
        assert_eq!(state.lease.as_ref().map(|l| l.epoch), Some(1));
        assert_eq!(state.last_reason_codes, ["E_ADAPTER_FAIL"]);
        assert_eq!(state.last_applied_seq, 7);
        state.apply(&record(8, "lease_released", json!({"worker_id": "w", "lease_id": "l"}))).unwrap();
        assert!(state.lease.is_none());
        assert_eq!(state.lease_epoch, 1, "the epoch survives a release");
    }

    #[test]
    fn unknown_status_is_corruption() {
        let mut state = JobState::new("j");
        let err = state.apply(&record(1, "status_changed", json!({"from": "queued", "to": "done"}))).unwrap_err();
        assert_eq!(err.code, ReasonCode::StoreCorrupt);
        assert_eq!(err.details["seq"], 1);
    }

    #[test]
    fn serializes_in_go_snapshot_order() {
        let state = JobState::new("j");
        let keys: Vec<String> = serde_json::to_value(&state).unwrap().as_object().unwrap().keys().cloned().collect();
        assert_eq!(
            keys,
            [
                "job_id",
                "status",
                "retry_count",
                "step_count",
                "tool_call_count",
                "idempotency_keys",
                "last_applied_seq",
                "outlook"
            ]
        );
    }
}
