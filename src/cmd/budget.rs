//! wrkr budget show|raise|report|check: a job's limits, what it used, and changes to both.
//!
//! `check` is Go's command (digest 7.6): the job's usage against limits given as flags only, exit 0
//! `{"result": "within_budget"}` or exit 1 `E_BUDGET_EXCEEDED` with the violations. Unlike Go it
//! changes nothing: stopping a job is its runner's work (a second writer of `blocked_budget` would
//! race the runner), so a check is a question, safe to ask of a running job.
//!
//! `raise` records new limits (`x-budget_raised`, with who and why), so a job stopped by a budget
//! can continue with `wrkr resume` (the Go implementation could never resume such a job). `report`
//! is how a step tells wrkr about work wrkr cannot see: tool calls (added to the job's counter under
//! the lock), tokens and cost; a running job's runner applies it within one poll.

use serde_json::{Map, Value, json};

use crate::cli::args::Args;
use crate::cli::io::Io;
use crate::cli::spec::{Command, Example, Flag, Kind};
use crate::cmd::resume::{APPROVED_BY, approver};
use crate::contract::time::Timestamp;
use crate::contract::{Error, Result};
use crate::job::NewEvent;
use crate::job::budget::{Limits, Usage};
use crate::run::history::History;
use crate::store::{AppendOptions, JobId, Store};

const MAX_WALL: Flag = Flag {
    long: "max-wall-time-seconds",
    short: None,
    value: Some("N"),
    help: "New wall-time limit (seconds of running)",
    long_help: "",
};
const MAX_STEPS: Flag =
    Flag { long: "max-step-count", short: None, value: Some("N"), help: "New step limit", long_help: "" };
const MAX_TOOLS: Flag =
    Flag { long: "max-tool-calls", short: None, value: Some("N"), help: "New tool-call limit", long_help: "" };
const MAX_RETRIES: Flag =
    Flag { long: "max-retries", short: None, value: Some("N"), help: "New retry limit", long_help: "" };
const MAX_TOKENS: Flag =
    Flag { long: "max-tokens", short: None, value: Some("N"), help: "New token limit", long_help: "" };
const MAX_COST: Flag =
    Flag { long: "max-estimated-cost", short: None, value: Some("X"), help: "New cost limit", long_help: "" };
const REASON: Flag = Flag {
    long: "reason",
    short: None,
    value: Some("TEXT"),
    help: "Why the limit changes (required for raise)",
    long_help: "",
};
const TOOL_CALLS: Flag =
    Flag { long: "tool-calls", short: None, value: Some("N"), help: "Tool calls made (report)", long_help: "" };
const TOKENS: Flag =
    Flag { long: "tokens", short: None, value: Some("N"), help: "Tokens used (report)", long_help: "" };
const COST: Flag =
    Flag { long: "cost", short: None, value: Some("X"), help: "Estimated cost incurred (report)", long_help: "" };

pub const COMMAND: Command = Command {
    name: "budget",
    kind: Kind::Command,
    about: "Show, raise or report against a job's budgets",
    usage: "show JOB | raise JOB --max-... N --reason TEXT | report JOB [--tool-calls N] [--tokens N] [--cost X] | \
            check JOB [--max-... N]",
    long_about: "Budgets are the JobSpec's limits: wall time (seconds spent running), steps, tool calls, retries, \
                 tokens and estimated cost. Exceeding one stops the job (blocked_budget, E_BUDGET_EXCEEDED); \
                 `raise` changes a limit so `wrkr resume` can continue. `check` compares the usage with the \
                 limits given as flags (not the JobSpec's), as the Go implementation's `budget check` does: \
                 exit 0 {\"result\": \"within_budget\"} (text budget=within_limits), or exit 1 E_BUDGET_EXCEEDED \
                 with the violations; it changes nothing (Go also blocked the job). Text output of show, raise \
                 and report is a job_id=JOB line, then one line per budget (KEY: used=N limit=N remaining=N).",
    flags: &[
        &MAX_WALL,
        &MAX_STEPS,
        &MAX_TOOLS,
        &MAX_RETRIES,
        &MAX_TOKENS,
        &MAX_COST,
        &REASON,
        &APPROVED_BY,
        &TOOL_CALLS,
        &TOKENS,
        &COST,
    ],
    examples: &[
        Example { command: "wrkr budget show job_1", what: "Limits, usage and what is left." },
        Example {
            command: "wrkr budget raise job_1 --max-step-count 40 --reason 'bigger repo'",
            what: "Then: wrkr resume job_1.",
        },
        Example {
            command: "wrkr budget report \"$WRKR_JOB_ID\" --tool-calls 3 --tokens 1200",
            what: "From inside a step.",
        },
    ],
    run,
};

fn run(args: Args, io: &mut Io) -> Result<()> {
    let words = args.positional_strings()?;
    const VERBS: &[&str] = &["show", "raise", "report", "check"];
    if let Some(verb) = words.first().filter(|w| !VERBS.contains(&w.as_str())) {
        return Err(crate::cli::suggest::unknown_verb("budget", verb, VERBS));
    }
    let (verb, job) = match words.as_slice() {
        [verb, job] => (verb.as_str(), JobId::parse(job)?),
        _ => {
            return Err(
                Error::invalid_input("usage: wrkr budget show|raise|report JOB").with_hint("wrkr budget --help")
            );
        }
    };
    let store = args.store()?;
    match verb {
        "show" => {}
        "check" => return check(&args, io, &job, &History::load(&store, &job)?),
        "raise" => {
            let reason = args
                .value(REASON.long)
                .map(str::trim)
                .filter(|r| !r.is_empty())
                .ok_or_else(|| Error::invalid_input("budget raise needs --reason TEXT"))?;
            let mut limits = Map::new();
            for flag in [&MAX_WALL, &MAX_STEPS, &MAX_TOOLS, &MAX_RETRIES, &MAX_TOKENS] {
                if args.value(flag.long).is_some() {
                    limits.insert(flag.long.replace('-', "_"), json!(args.u64_or(flag, 0)?));
                }
            }
            if let Some(cost) = args.value(MAX_COST.long) {
                limits.insert("max_estimated_cost".into(), json!(number(cost, &MAX_COST)?));
            }
            if limits.is_empty() {
                return Err(Error::invalid_input("budget raise needs at least one --max-... limit"));
            }
            let event = NewEvent::new("x-budget_raised", {
                let by = approver(&args);
                json!({"limits": limits, "reason": reason, "raised_by": by.name, "raised_by_source": by.source})
            });
            store.append(&job, AppendOptions::default(), &mut |_| Ok(vec![event.clone()]))?;
        }
        "report" => {
            let tools = args.u64_or(&TOOL_CALLS, 0)?;
            let tokens = args.u64_or(&TOKENS, 0)?;
            let cost = args.value(COST.long).map(|c| number(c, &COST)).transpose()?.unwrap_or(0.0);
            if tools == 0 && tokens == 0 && cost == 0.0 {
                return Err(Error::invalid_input("budget report needs --tool-calls, --tokens or --cost"));
            }
            let usage = NewEvent::new(
                "x-usage_reported",
                json!({"tool_calls": tools, "tokens": tokens, "cost": cost, "source": "budget report"}),
            );
            store.append(&job, AppendOptions::default(), &mut |s| {
                let mut events = vec![usage.clone()];
                if tools > 0 {
                    events.push(NewEvent::new(
                        "counters_updated",
                        json!({"retry_count": s.retry_count, "step_count": s.step_count, "tool_call_count": s.tool_call_count + tools}),
                    ));
                }
                Ok(events)
            })?;
        }
        other => {
            return Err(Error::invalid_input(format!("unknown budget verb {other:?}"))
                .with_hint("show, raise, report or check"));
        }
    }
    let history = History::load(&store, &job)?;
    let view = view(&job, &history);
    if io.json {
        io.pretty(&view)
    } else {
        io.line(&format!("job_id={job}"))?;
        for key in ["wall_time_seconds", "step_count", "tool_call_count", "retry_count", "tokens", "estimated_cost"] {
            // No limit is `null` in JSON; people read `unlimited`.
            let shown = |v: &Value| if v.is_null() { "unlimited".to_owned() } else { v.to_string() };
            // A retry limit of 0 is a real limit (the runner does not retry), unlike the others.
            let no_retries = key == "retry_count" && view["limits"][key] == json!(0);
            io.line(&format!(
                "{key}: used={} limit={}{} remaining={}",
                shown(&view["usage"][key]),
                shown(&view["limits"][key]),
                if no_retries { " (no retries)" } else { "" },
                shown(&view["remaining"][key])
            ))?;
        }
        Ok(())
    }
}

/// `budget check`: the job's usage against the limits given as flags (0 or absent: no limit).
fn check(args: &Args, io: &mut Io, job: &JobId, history: &History) -> Result<()> {
    let limits = Limits {
        max_wall_time_seconds: args.u64_or(&MAX_WALL, 0)?,
        max_retries: args.u64_or(&MAX_RETRIES, 0)?,
        max_step_count: args.u64_or(&MAX_STEPS, 0)?,
        max_tool_calls: args.u64_or(&MAX_TOOLS, 0)?,
        max_tokens: Some(args.u64_or(&MAX_TOKENS, 0)?),
        max_estimated_cost: args.value(MAX_COST.long).map(|c| number(c, &MAX_COST)).transpose()?,
    };
    let violations = limits.violations(&history.usage(Timestamp::now()));
    if !violations.is_empty() {
        return Err(Error::new(
            crate::contract::ReasonCode::BudgetExceeded,
            format!("budget exceeded: {}", violations.join(", ")),
        )
        .with("job_id", job.as_str())
        .with("violations", violations)
        .with_hint(format!("wrkr budget show {job} shows the job's own limits")));
    }
    if io.json {
        io.pretty(&json!({"result": "within_budget", "job_id": job.as_str(), "violations": []}))
    } else {
        io.line("budget=within_limits")
    }
}

fn number(text: &str, flag: &Flag) -> Result<f64> {
    text.trim()
        .parse::<f64>()
        .ok()
        .filter(|f| f.is_finite() && *f >= 0.0)
        .ok_or_else(|| Error::invalid_input(format!("--{}: expected a non-negative number, got {text:?}", flag.long)))
}

/// Limits, usage and remaining, keyed by usage name; a limit of 0 (or none) is unlimited (null),
/// except `max_retries`, whose 0 (the default) means what the runner does: no retries.
fn view(job: &JobId, history: &History) -> Value {
    let limits = history.limits().unwrap_or_default();
    let usage = history.usage(Timestamp::now());
    let rows = rows(&limits, &usage);
    let pick = |f: fn(&Row) -> Value| Value::Object(rows.iter().map(|r| (r.0.to_owned(), f(r))).collect());
    // Whole numbers print as integers (counts); only cost has a fraction.
    json!({
        "job_id": job.as_str(),
        "status": history.status.as_str(),
        "limits": pick(|r| r.2.map_or(Value::Null, number_value)),
        "usage": pick(|r| number_value(r.1)),
        "remaining": pick(|r| r.2.map_or(Value::Null, |l| number_value((l - r.1).max(0.0)))),
        "violations": limits.violations(&usage),
    })
}

type Row = (&'static str, f64, Option<f64>);

fn number_value(f: f64) -> Value {
    if f.fract() == 0.0 && f.abs() < 9.0e15 { json!(f as i64) } else { json!(f) }
}

fn rows(l: &Limits, u: &Usage) -> Vec<Row> {
    let limit = |n: u64| (n > 0).then_some(n as f64);
    vec![
        ("wall_time_seconds", u.wall_time_seconds as f64, limit(l.max_wall_time_seconds)),
        ("step_count", u.step_count as f64, limit(l.max_step_count)),
        ("tool_call_count", u.tool_call_count as f64, limit(l.max_tool_calls)),
        // The runner retries while retry_count < max_retries: 0 is "no retries", not "no limit".
        ("retry_count", u.retry_count as f64, Some(l.max_retries as f64)),
        ("tokens", u.tokens as f64, l.max_tokens.and_then(limit)),
        ("estimated_cost", u.estimated_cost, l.max_estimated_cost.filter(|c| *c > 0.0)),
    ]
}
