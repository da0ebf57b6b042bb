//! wrkr status: a job's current status as a `wrkr.status_response`.
//!
//! Cheap on any ledger size: the state comes from the snapshot cache once the ledger tail proves
//! the snapshot current (see `store::fs`). The lease is shown with its epoch and whether it has
//! expired (wrkr additions declared in our status schema); Go shows an expired lease as if held.
//!
//! A job can only be recorded as `running` by a runner holding its lease. When that lease has
//! expired (its runner died without a word: SIGKILL, OOM, a lost machine), the job is shown as
//! *stale* with how long ago the lease expired and the command that takes it over, never as
//! plainly `running`; a `paused` job also names its resume command (`submit`/`resume` interrupted
//! with Ctrl-C end there). Both are additions: `status` itself is never rewritten.

use serde_json::{Map, Value, json};

use crate::cli::args::Args;
use crate::cli::io::Io;
use crate::cli::spec::{Command, Example, Kind};
use crate::contract::time::Timestamp;
use crate::contract::{Error, PRODUCER_VERSION, Result, SCHEMA_VERSION};
use crate::job::lease::is_expired;
use crate::job::{JobState, Status};
use crate::run::outlook::Outlook;
use crate::store::{JobId, Store};

pub const COMMAND: Command = Command {
    name: "status",
    kind: Kind::Command,
    about: "Show a job's status",
    usage: "JOB",
    long_about: "Text: `job_id=<id> status=<status>`, plus the lease holder, expiry, epoch and whether it \
                 expired when a lease is recorded. A job recorded as running whose lease expired (its \
                 runner died) adds `runner=stale stale_for=<N>s`; a paused or stale job adds \
                 `resume=\"wrkr resume <id>\"`. Then, as `git status` does, where the job is and what to \
                 run next: the current step (i/N, attempt, how it ended), the time since it was submitted \
                 and the time it ran, the latest progress note, the decisions waiting for approval, and the \
                 exact approve, resume or logs command. With --json, a wrkr.status_response document (with \
                 `runner` and `resume_command` in those cases, and current_step, elapsed_seconds, \
                 active_seconds, latest_note, pending_checkpoints, next_commands). A job that does not \
                 exist is exit 6.",
    flags: &[],
    examples: &[Example { command: "wrkr --json status job_1", what: "The status response as JSON." }],
    run,
};

fn run(args: Args, io: &mut Io) -> Result<()> {
    let job = one_job(&args, "status")?;
    let store = args.store()?;
    let state = store.state(&job)?;
    let now = Timestamp::now();
    let mut response = status_response(&state, now);
    let outlook = Outlook::of(&job, state.clone());
    if io.json {
        if let Value::Object(fields) = &mut response {
            fields.extend(outlook.json_fields(now));
        }
        return io.pretty(&response);
    }
    let mut line = format!("job_id={} status={}", state.job_id, state.status);
    if let Some(seconds) = stale_for(&state, Timestamp::now()) {
        line += &format!(" runner=stale stale_for={seconds}s");
    }
    if let Some(resume) = resume_command(&state, Timestamp::now()) {
        line += &format!(" resume=\"{resume}\"");
    }
    if let Some(lease) = response.get("lease") {
        let field = |k: &str| lease.get(k).map(|v| v.to_string().trim_matches('"').to_owned()).unwrap_or_default();
        line += &format!(
            " lease_worker={} lease_expires={} lease_epoch={} lease_expired={}",
            field("worker_id"),
            field("expires_at"),
            field("epoch"),
            field("expired")
        );
    }
    io.line(&line)?;
    print_outlook(io, &outlook, now)
}

/// Where the job is and what to run next, under the status line.
fn print_outlook(io: &mut Io, outlook: &Outlook, now: Timestamp) -> Result<()> {
    outlook.text_lines(now).iter().try_for_each(|line| io.line(line))
}

/// The `next:` lines `status` prints (stdout), for `submit` and `resume` that stop at a decision:
/// the approve command with the checkpoint, then resume.
pub fn print_next_commands(io: &mut Io, store: &dyn Store, job: &JobId) -> Result<()> {
    Outlook::load(store, job)?.next_commands().iter().try_for_each(|command| io.line(&format!("next: {command}")))
}

/// The `wrkr.status_response` for a state, keys in Go's order.
pub fn status_response(state: &JobState, now: Timestamp) -> Value {
    let mut summary = String::from("status materialized from durable store");
    if let Some(first) = state.last_reason_codes.first() {
        summary += &format!("; reason_codes={first}");
    }
    let mut out = Map::new();
    out.insert("schema_id".into(), json!("wrkr.status_response"));
    out.insert("schema_version".into(), json!(SCHEMA_VERSION));
    out.insert("created_at".into(), json!(now.to_string()));
    out.insert("producer_version".into(), json!(PRODUCER_VERSION));
    out.insert("job_id".into(), json!(state.job_id));
    out.insert("status".into(), json!(state.status.as_str()));
    out.insert("summary".into(), json!(summary));
    if !state.last_reason_codes.is_empty() {
        out.insert("reason_codes".into(), json!(state.last_reason_codes));
    }
    if !state.env_fingerprint_hash.is_empty() {
        out.insert("environment_hash".into(), json!(state.env_fingerprint_hash));
    }
    if !state.env_fingerprint_rules.is_empty() {
        out.insert("environment_rules".into(), json!(state.env_fingerprint_rules));
    }
    if let Some(lease) = &state.lease {
        let mut l = Map::new();
        l.insert("worker_id".into(), json!(lease.worker_id));
        l.insert("lease_id".into(), json!(lease.lease_id));
        l.insert("expires_at".into(), json!(lease.expires_at));
        if lease.epoch > 0 {
            l.insert("epoch".into(), json!(lease.epoch));
        }
        l.insert("expired".into(), json!(is_expired(lease, now)));
        out.insert("lease".into(), Value::Object(l));
    }
    if let Some(seconds) = stale_for(state, now) {
        out.insert("runner".into(), json!({"state": "stale", "stale_for_seconds": seconds}));
    }
    if let Some(resume) = resume_command(state, now) {
        out.insert("resume_command".into(), json!(resume));
    }
    Value::Object(out)
}

/// For a job recorded as `running` whose runner is gone (its lease expired, or none is held): the
/// seconds since the lease expired (since the last event, when no lease is recorded).
pub fn stale_for(state: &JobState, now: Timestamp) -> Option<u64> {
    if state.status != Status::Running {
        return None;
    }
    let since = match &state.lease {
        Some(lease) if !is_expired(lease, now) => return None,
        Some(lease) => Timestamp::parse(&lease.expires_at),
        None => state.updated_at.as_deref().and_then(Timestamp::parse),
    };
    Some(since.map_or(0, |t| now.seconds_since(t)))
}

/// `wrkr resume JOB` when that is what continues the job: it is paused, or its runner is gone.
pub fn resume_command(state: &JobState, now: Timestamp) -> Option<String> {
    let resumable = state.status == Status::Paused || stale_for(state, now).is_some();
    resumable.then(|| format!("wrkr resume {}", state.job_id))
}

/// The one JOB argument of a per-job command.
pub fn one_job(args: &Args, command: &str) -> Result<JobId> {
    let given = args.positional_strings()?;
    match given.as_slice() {
        [job] => JobId::parse(job),
        _ => Err(Error::invalid_input(format!("{command} takes exactly one JOB, got {}", given.len()))
            .with_hint(format!("wrkr {command} --help shows the usage"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn response_is_schema_valid() {
        let mut state = JobState::new("job_j");
        state.last_reason_codes = vec!["E_ADAPTER_FAIL".into()];
        state.lease = Some(crate::job::LeaseRecord {
            worker_id: "w".into(),
            lease_id: "l".into(),
            acquired_at: "2026-02-13T18:00:00Z".into(),
            heartbeat_at: "2026-02-13T18:00:00Z".into(),
            expires_at: "2026-02-13T18:00:30Z".into(),
            epoch: 2,
        });
        let response = status_response(&state, Timestamp::from_unix(1_770_998_400, 0));
        crate::contract::schema::find("wrkr.status_response").unwrap().check(&response, "status").unwrap();
        assert_eq!(response["summary"], "status materialized from durable store; reason_codes=E_ADAPTER_FAIL");
        assert_eq!(response["lease"]["expired"], false);
        assert!(response.get("runner").is_none(), "not running");
    }

    #[test]
    fn running_with_an_expired_lease_is_stale() {
        let mut state = JobState::new("job_s");
        state.status = Status::Running;
        state.lease = Some(crate::job::LeaseRecord {
            worker_id: "w".into(),
            lease_id: "l".into(),
            acquired_at: "2026-02-13T18:00:00Z".into(),
            heartbeat_at: "2026-02-13T18:00:00Z".into(),
            expires_at: "2026-02-13T18:00:30Z".into(),
            epoch: 1,
        });
        let before = Timestamp::parse("2026-02-13T18:00:10Z").unwrap();
        assert!(status_response(&state, before).get("runner").is_none(), "a live lease is a live runner");
        let after = Timestamp::parse("2026-02-13T18:01:12Z").unwrap();
        let response = status_response(&state, after);
        crate::contract::schema::find("wrkr.status_response").unwrap().check(&response, "status").unwrap();
        assert_eq!(response["status"], "running", "the recorded status is never rewritten");
        assert_eq!(response["runner"], json!({"state": "stale", "stale_for_seconds": 42}));
        assert_eq!(response["resume_command"], "wrkr resume job_s");
    }
}
