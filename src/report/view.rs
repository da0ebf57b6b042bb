//! Reading a jobpack into the [`PackView`] the GitHub summary is rendered from.
//!
//! Only the pack is read (never the store or the clock), so the same pack always gives the same
//! view. The checks table comes from the last `x-accept_ran` event in the pack's ledger (written by
//! `wrkr accept run`); budgets come from job.json's usage counters, the event times (wall time) and
//! the limits of the `x-jobspec_recorded` event, when the pack has one. The pack is not verified
//! here (as Go's report does not); `wrkr verify` is for that.

use std::fs::File;
use std::io::BufReader;

use serde_json::Value;

use crate::accept::checks::{BUDGETS, used};
use crate::accept::evidence;
use crate::accept::outcome::ACCEPT_EVENT;
use crate::contract::{Error, Result};
use crate::jsonl::{DEFAULT_MAX_LINE_BYTES, JsonlReader, is_blank};
use crate::pack::zipread::{DEFAULT_MAX_ENTRY_BYTES, ZipReader};
use crate::pack::{ACCEPT_RESULT, APPROVALS, ARTIFACTS_MANIFEST, CHECKPOINTS, EVENTS, JOB, MANIFEST};
use crate::report::github::{BudgetRow, CheckRow, PackView};

/// Read `file` (a jobpack) into a view.
pub fn from_pack(file: File) -> Result<PackView> {
    let ev = evidence::read(file.try_clone().map_err(|e| Error::io("reopen jobpack", e))?, None)?;
    let zip = ZipReader::open(file, DEFAULT_MAX_ENTRY_BYTES)?;
    let doc = |name: &str| -> Result<Option<Value>> {
        let Some(entry) = zip.find(name) else { return Ok(None) };
        let bytes = zip.read_to_vec(entry, DEFAULT_MAX_LINE_BYTES).map_err(|e| Error::io(name, e))?;
        crate::json::parse(&bytes).map(Some).map_err(|e| Error::invalid_input(format!("{name}: {e}")))
    };
    let job = doc(JOB)?.ok_or_else(|| Error::invalid_input("jobpack has no job.json").with("path", JOB))?;
    let created_at = doc(MANIFEST)?.and_then(|m| m.get("created_at").and_then(Value::as_str).map(str::to_owned));
    let artifacts = doc(ARTIFACTS_MANIFEST)?
        .and_then(|m| m.get("artifacts").and_then(Value::as_array).cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(|a| Some((a.get("path")?.as_str()?.to_owned(), a.get("sha256")?.as_str()?.to_owned())))
        .collect();
    let mut checks = Vec::new();
    lines(&zip, EVENTS, &mut |e| {
        if e.get("type").and_then(Value::as_str) == Some(ACCEPT_EVENT) {
            checks = e
                .pointer("/payload/checks")
                .and_then(Value::as_array)
                .map(|list| list.iter().map(check_row).collect())
                .unwrap_or_default();
        }
    })?;
    let mut checkpoints = Vec::new();
    lines(&zip, CHECKPOINTS, &mut |c| checkpoints.push(c.clone()))?;
    let mut approvals = Vec::new();
    lines(&zip, APPROVALS, &mut |a| approvals.push(a.clone()))?;
    let budgets = BUDGETS
        .iter()
        .filter_map(|(limit_key, usage)| {
            let used = used(&ev, usage)?;
            let limit = ev.limits.as_ref().and_then(|l| l.get(*limit_key)).and_then(Value::as_u64).filter(|l| *l > 0);
            Some(BudgetRow {
                name: usage,
                used: used.to_string(),
                limit: limit.map_or("none".into(), |l| l.to_string()),
            })
        })
        .collect();
    Ok(PackView { created_at, job, checkpoints, approvals, accept: doc(ACCEPT_RESULT)?, checks, artifacts, budgets })
}

fn check_row(v: &Value) -> CheckRow {
    let text = |k: &str| v.get(k).and_then(Value::as_str).unwrap_or_default().to_owned();
    CheckRow { name: text("check"), status: text("status"), message: text("message") }
}

fn lines(zip: &ZipReader, name: &str, f: &mut dyn FnMut(&Value)) -> Result<()> {
    let Some(entry) = zip.find(name) else { return Ok(()) };
    let mut reader = JsonlReader::new(BufReader::with_capacity(256 * 1024, zip.reader(entry)), DEFAULT_MAX_LINE_BYTES);
    while let Some(next) = reader.next_line() {
        let (line_no, line) = next.map_err(|e| e.into_error(DEFAULT_MAX_LINE_BYTES).context(name))?;
        if is_blank(line) {
            continue;
        }
        let value = crate::json::parse(line)
            .map_err(|e| Error::invalid_input(format!("{name} line {line_no}: {e}")).with("path", name))?;
        f(&value);
    }
    Ok(())
}
