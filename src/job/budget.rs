//! Budgets: the limits a job runs under and the usage measured against them.
//!
//! A limit of 0 (or absent) is disabled; usage violates a limit only when it is strictly greater.
//! Violations are named `wall_time_seconds>N`, `retry_count>N`, `step_count>N`, `tool_call_count>N`,
//! `estimated_cost>X.XXXX`, `tokens>N`, in that order, as the Go implementation names them, because
//! they appear in checkpoint summaries and reason details that people and scripts read.

use serde::{Deserialize, Serialize};

use crate::contract::time::Timestamp;

/// The JobSpec's `budgets` block (snake_case keys, as in the v1 schema).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Limits {
    pub max_wall_time_seconds: u64,
    #[serde(default)]
    pub max_retries: u64,
    pub max_step_count: u64,
    pub max_tool_calls: u64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_estimated_cost: Option<f64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u64>,
}

/// What a job has used so far.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Usage {
    pub wall_time_seconds: u64,
    pub retry_count: u64,
    pub step_count: u64,
    pub tool_call_count: u64,
    #[serde(default)]
    pub tokens: u64,
    #[serde(default)]
    pub estimated_cost: f64,
}

impl Limits {
    /// Every limit `usage` is over, in the contract's order and spelling. Empty when within budget.
    pub fn violations(&self, usage: &Usage) -> Vec<String> {
        let mut out = Vec::new();
        let mut check = |name: &str, limit: u64, used: u64| {
            if limit > 0 && used > limit {
                out.push(format!("{name}>{limit}"));
            }
        };
        check("wall_time_seconds", self.max_wall_time_seconds, usage.wall_time_seconds);
        check("retry_count", self.max_retries, usage.retry_count);
        check("step_count", self.max_step_count, usage.step_count);
        check("tool_call_count", self.max_tool_calls, usage.tool_call_count);
        if let Some(limit) = self.max_estimated_cost.filter(|l| *l > 0.0)
            && usage.estimated_cost > limit
        {
            out.push(format!("estimated_cost>{limit:.4}"));
        }
        if let Some(limit) = self.max_tokens.filter(|l| *l > 0)
            && usage.tokens > limit
        {
            out.push(format!("tokens>{limit}"));
        }
        out
    }
}

/// Wall time as every budget reader counts it (`budget show`, the runner, `accept run`, the GitHub
/// summary): the sum of the intervals the job spent `running`. Time waiting for an approval or
/// paused is not used time. Fed the ledger's `status_changed` events in order.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct ActiveTime {
    running_since: Option<Timestamp>,
    seconds: u64,
    /// Whether any status change was seen (packs made by the Go implementation have none).
    pub seen: bool,
}

impl ActiveTime {
    /// A `status_changed` event to `to_running` (or not) at `at`.
    pub fn status_changed(&mut self, to_running: bool, at: Option<Timestamp>) {
        self.seen = true;
        if let (Some(since), Some(now)) = (self.running_since.take(), at) {
            self.seconds += now.seconds_since(since);
        }
        if to_running {
            self.running_since = at;
        }
    }

    /// Seconds spent running up to `now` (a job still running counts until `now`).
    pub fn seconds(&self, now: Timestamp) -> u64 {
        self.seconds + self.running_since.map_or(0, |since| now.seconds_since(since))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> Limits {
        Limits {
            max_wall_time_seconds: 10,
            max_retries: 2,
            max_step_count: 3,
            max_tool_calls: 4,
            max_estimated_cost: Some(1.5),
            max_tokens: Some(100),
        }
    }

    #[test]
    fn at_the_limit_is_within_budget() {
        let usage = Usage {
            wall_time_seconds: 10,
            retry_count: 2,
            step_count: 3,
            tool_call_count: 4,
            tokens: 100,
            estimated_cost: 1.5,
        };
        assert!(limits().violations(&usage).is_empty());
    }

    #[test]
    fn over_every_limit_in_contract_order() {
        let usage = Usage {
            wall_time_seconds: 11,
            retry_count: 3,
            step_count: 4,
            tool_call_count: 5,
            tokens: 101,
            estimated_cost: 1.6,
        };
        assert_eq!(
            limits().violations(&usage),
            [
                "wall_time_seconds>10",
                "retry_count>2",
                "step_count>3",
                "tool_call_count>4",
                "estimated_cost>1.5000",
                "tokens>100"
            ]
        );
    }

    #[test]
    fn active_time_skips_waiting() {
        let t = |s| Some(Timestamp::from_unix(s, 0));
        let mut active = ActiveTime::default();
        active.status_changed(true, t(100));
        active.status_changed(false, t(103)); // blocked_decision for 1000 s
        active.status_changed(true, t(1103));
        assert_eq!(active.seconds(Timestamp::from_unix(1105, 0)), 5);
        active.status_changed(false, t(1106));
        assert_eq!(active.seconds(Timestamp::from_unix(9999, 0)), 6);
    }

    #[test]
    fn zero_limits_are_disabled() {
        let usage = Usage {
            wall_time_seconds: 99,
            retry_count: 99,
            step_count: 99,
            tool_call_count: 99,
            tokens: 99,
            estimated_cost: 99.0,
        };
        let off = Limits { max_estimated_cost: Some(0.0), max_tokens: Some(0), ..Limits::default() };
        assert!(off.violations(&usage).is_empty());
    }
}
