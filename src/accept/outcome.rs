//! What an acceptance run is turned into: the `wrkr.accept_result` record (Go's closed schema),
//! the per-check list (ours, additive), the JUnit cases, and the `x-accept_ran` ledger event that
//! lets a later report show the checks table.

use serde_json::{Value, json};

use crate::accept::{CheckResult, Outcome, Status};
use crate::contract::time::Timestamp;
use crate::contract::{PRODUCER_VERSION, SCHEMA_VERSION};
use crate::report::junit::{self, Case};

/// The ledger event `wrkr accept run` appends to a job.
pub const ACCEPT_EVENT: &str = "x-accept_ran";

impl Outcome {
    pub fn passed(&self) -> bool {
        !self.checks.iter().any(|c| c.status == Status::Failed)
    }

    /// Checks that ran: every check but the skipped ones.
    pub fn checks_run(&self) -> usize {
        self.checks.iter().filter(|c| c.status != Status::Skipped).count()
    }

    pub fn checks_passed(&self) -> usize {
        self.checks.iter().filter(|c| c.status == Status::Passed).count()
    }

    /// `wrkr.accept_result`: failures in check order, reason codes deduplicated in first-seen order.
    pub fn accept_result(&self, created_at: Timestamp) -> Value {
        let mut failures = Vec::new();
        let mut codes: Vec<&str> = Vec::new();
        for c in self.checks.iter().filter(|c| c.status == Status::Failed) {
            let mut f = json!({"check": c.check, "message": c.message});
            if let Some(a) = &c.artifact {
                f["artifact"] = json!(a);
            }
            failures.push(f);
            if let Some(code) = c.reason_code.as_deref()
                && !codes.contains(&code)
            {
                codes.push(code);
            }
        }
        json!({
            "schema_id": "wrkr.accept_result",
            "schema_version": SCHEMA_VERSION,
            "created_at": created_at.to_string(),
            "producer_version": PRODUCER_VERSION,
            "job_id": self.job_id,
            "checks_run": self.checks_run(),
            "checks_passed": self.checks_passed(),
            "failures": failures,
            "reason_codes": codes,
        })
    }

    /// One value per check: `{check, status, message, reason_code?, artifact?, seconds}`.
    pub fn check_lines(&self) -> Vec<Value> {
        self.checks.iter().map(|c| serde_json::to_value(c).unwrap_or(Value::Null)).collect()
    }

    /// Go's `checks` shape, `{name, passed, message, reason_code?, artifact?}`, plus our `status`.
    pub fn go_checks(&self) -> Vec<Value> {
        self.checks
            .iter()
            .map(|c| {
                let mut v = json!({"name": c.check, "passed": c.status == Status::Passed, "status": c.status,
                    "message": c.message});
                if let Some(code) = &c.reason_code {
                    v["reason_code"] = json!(code);
                }
                if let Some(a) = &c.artifact {
                    v["artifact"] = json!(a);
                }
                v
            })
            .collect()
    }

    pub fn junit(&self) -> String {
        let cases: Vec<Case> = self.checks.iter().map(case).collect();
        junit::render("wrkr-accept", "wrkr.accept", &cases)
    }

    /// The payload of the `x-accept_ran` event: the verdict and the checks, without timings (a
    /// report made from it stays byte-stable).
    pub fn event_payload(&self, config_path: &str) -> Value {
        let checks: Vec<Value> =
            self.checks.iter().map(|c| json!({"check": c.check, "status": c.status, "message": c.message})).collect();
        json!({
            "config_path": config_path,
            "checks_run": self.checks_run(),
            "checks_passed": self.checks_passed(),
            "passed": self.passed(),
            "checks": checks,
        })
    }
}

fn case(c: &CheckResult) -> Case {
    let outcome = match c.status {
        Status::Passed => junit::Outcome::Passed,
        Status::Skipped => junit::Outcome::Skipped { message: c.message.clone() },
        Status::Failed => junit::Outcome::Failed {
            message: c.message.clone(),
            reason_code: c.reason_code.clone().unwrap_or_default(),
        },
    };
    Case { name: c.check.clone(), outcome, seconds: c.seconds, output: c.output.clone() }
}
