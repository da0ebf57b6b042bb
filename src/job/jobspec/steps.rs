//! A JobSpec's steps, packed: all their text in one buffer and each step a fixed record of spans.
//!
//! Why: a runner holds its job's steps for the whole run, and a 25,000-step spec held as one
//! `Step` per step (five strings and a vector each, a default summary formatted per step) is about
//! 6 MB of small allocations: a quarter of the runner's memory goal (issue 16). Packed, it is the
//! text itself plus 40 bytes a step. A step is handed out as an owned [`Step`], made when asked
//! for: the runner asks a few times per step, next to a process spawn that costs a thousand times
//! more. The default summary (`reference adapter step ID`) is not stored but made on the way out.
//!
//! Also here: reading the steps of `inputs.steps` (digest 7.7), one small document at a time.

use std::borrow::Cow;

use serde_json::Value;

use super::MAX_SUMMARY_BYTES;
use crate::contract::{Error, Result};

/// One step of the reference adapter.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Step {
    pub id: String,
    pub summary: String,
    /// Run with `sh -c` when non-empty and `executed`.
    pub command: String,
    /// `false`: recorded, not run.
    pub executed: bool,
    pub decision_needed: bool,
    pub required_action: Option<String>,
    /// Trimmed, deduplicated, sorted.
    pub artifacts: Vec<String>,
}

/// The steps of a spec, in order.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Steps {
    /// Every id, summary, command, required action and artifact, back to back.
    text: String,
    packed: Vec<Packed>,
    /// The artifacts of every step, back to back (a step names a run of them).
    artifacts: Vec<Span>,
}

/// `text[at..at + len]`, or for [`Packed::artifacts`] `artifacts[at..at + len]`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
struct Span {
    at: u32,
    len: u32,
}

#[derive(Clone, Debug, PartialEq)]
struct Packed {
    id: Span,
    /// Empty: the default summary.
    summary: Span,
    command: Span,
    /// Empty: none.
    required_action: Span,
    artifacts: Span,
    executed: bool,
    decision_needed: bool,
}

impl Steps {
    pub fn with_capacity(steps: usize) -> Steps {
        Steps { packed: Vec::with_capacity(steps), ..Steps::default() }
    }

    pub fn len(&self) -> usize {
        self.packed.len()
    }

    pub fn is_empty(&self) -> bool {
        self.packed.is_empty()
    }

    /// Step `index`, made whole; `None` past the end.
    pub fn get(&self, index: usize) -> Option<Step> {
        let packed = self.packed.get(index)?;
        let id = self.text(packed.id).to_owned();
        let summary = match self.text(packed.summary) {
            "" => default_summary(&id),
            written => written.to_owned(),
        };
        let artifacts = self.artifacts.get(span_range(packed.artifacts)).unwrap_or_default();
        Some(Step {
            summary,
            command: self.text(packed.command).to_owned(),
            executed: packed.executed,
            decision_needed: packed.decision_needed,
            required_action: Some(self.text(packed.required_action)).filter(|s| !s.is_empty()).map(str::to_owned),
            artifacts: artifacts.iter().map(|span| self.text(*span).to_owned()).collect(),
            id,
        })
    }

    pub fn last(&self) -> Option<Step> {
        self.get(self.len().checked_sub(1)?)
    }

    pub fn iter(&self) -> impl Iterator<Item = Step> + '_ {
        (0..self.len()).filter_map(|index| self.get(index))
    }

    /// Add a step at the end. Its summary is stored only when it is not the default.
    pub fn push(&mut self, step: &Step) -> Result<()> {
        let summary = if step.summary == default_summary(&step.id) { "" } else { step.summary.as_str() };
        let artifacts = Span { at: offset(self.artifacts.len())?, len: offset(step.artifacts.len())? };
        for artifact in &step.artifacts {
            let span = self.store(artifact)?;
            self.artifacts.push(span);
        }
        let packed = Packed {
            id: self.store(&step.id)?,
            summary: self.store(summary)?,
            command: self.store(&step.command)?,
            required_action: self.store(step.required_action.as_deref().unwrap_or_default())?,
            artifacts,
            executed: step.executed,
            decision_needed: step.decision_needed,
        };
        self.packed.push(packed);
        Ok(())
    }

    fn store(&mut self, s: &str) -> Result<Span> {
        let span = Span { at: offset(self.text.len())?, len: offset(s.len())? };
        self.text.push_str(s);
        Ok(span)
    }

    fn text(&self, span: Span) -> &str {
        self.text.get(span_range(span)).unwrap_or_default()
    }
}

impl FromIterator<Step> for Steps {
    fn from_iter<I: IntoIterator<Item = Step>>(iter: I) -> Steps {
        let mut steps = Steps::default();
        for step in iter {
            // Only a spec past 4 GiB of step text could fail; specs are at most 16 MiB.
            let _ = steps.push(&step);
        }
        steps
    }
}

/// The reference adapter's steps (digest 7.7) of a document: a non-empty list of mappings.
pub(super) fn steps_of_document(document: &Value) -> Result<Steps> {
    match document.pointer("/inputs/steps") {
        Some(Value::Array(items)) => step_list(items.iter().map(Cow::Borrowed)),
        _ => Err(no_steps()),
    }
}

pub(super) fn no_steps() -> Error {
    Error::invalid_input("the reference adapter needs inputs.steps: a list of steps").with("pointer", "/inputs/steps")
}

/// Each step read from its own small document (borrowed from a spec's, or made from a tape one at a
/// time, so that a recorded spec is never a whole document).
pub(super) fn step_list<'v>(items: impl Iterator<Item = Cow<'v, Value>>) -> Result<Steps> {
    let mut steps = Steps::with_capacity(items.size_hint().0);
    for (index, item) in items.enumerate() {
        steps.push(&step_at(index, &item)?)?;
    }
    match steps.is_empty() {
        true => Err(Error::invalid_input("inputs.steps is empty").with("pointer", "/inputs/steps")),
        false => Ok(steps),
    }
}

/// Step `index` of `inputs.steps`, as the reference adapter reads it.
pub(super) fn step_at(index: usize, item: &Value) -> Result<Step> {
    let Value::Object(map) = item else {
        return Err(Error::invalid_input(format!("inputs.steps[{index}] is not a mapping"))
            .with("index", index)
            .with("pointer", format!("/inputs/steps/{index}")));
    };
    let string = |key: &str| map.get(key).and_then(Value::as_str).map(|s| s.trim().to_owned()).unwrap_or_default();
    let mut id = string("id");
    if id.is_empty() {
        id = "step".to_owned();
    }
    let mut summary = string("summary");
    if summary.is_empty() {
        summary = format!("reference adapter step {id}");
    }
    if summary.len() > MAX_SUMMARY_BYTES {
        return Err(Error::invalid_input(format!(
            "inputs.steps[{index}].summary is longer than {MAX_SUMMARY_BYTES} bytes"
        ))
        .with("pointer", format!("/inputs/steps/{index}/summary")));
    }
    let mut artifacts: Vec<String> = map
        .get("artifacts")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(Value::as_str).map(|s| s.trim().to_owned()).filter(|s| !s.is_empty()).collect())
        .unwrap_or_default();
    artifacts.sort();
    artifacts.dedup();
    let required_action = Some(string("required_action")).filter(|s| !s.is_empty());
    Ok(Step {
        command: map.get("command").and_then(Value::as_str).unwrap_or_default().to_owned(),
        executed: map.get("executed").and_then(Value::as_bool).unwrap_or(true),
        decision_needed: map.get("decision_needed").and_then(Value::as_bool).unwrap_or(false),
        required_action,
        artifacts,
        id,
        summary,
    })
}

fn default_summary(id: &str) -> String {
    format!("reference adapter step {id}")
}

fn span_range(span: Span) -> std::ops::Range<usize> {
    let at = span.at as usize;
    at..at + span.len as usize
}

/// Offsets are `u32`: a JobSpec is at most 16 MiB, so its step text is far below 4 GiB.
fn offset(n: usize) -> Result<u32> {
    u32::try_from(n).map_err(|_| Error::invalid_input("the JobSpec's steps are too large to hold"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_step_comes_back_as_it_went_in() {
        let full = Step {
            id: "build".into(),
            summary: "compile it".into(),
            command: "make".into(),
            executed: true,
            decision_needed: true,
            required_action: Some("approve".into()),
            artifacts: vec!["a".into(), "b".into()],
        };
        let plain = Step {
            id: "s2".into(),
            summary: default_summary("s2"),
            command: String::new(),
            executed: false,
            ..Step::default()
        };
        let steps: Steps = [full.clone(), plain.clone(), full.clone()].into_iter().collect();
        assert_eq!(steps.len(), 3);
        assert_eq!(steps.get(0), Some(full.clone()));
        assert_eq!(steps.get(1), Some(plain));
        assert_eq!(steps.last(), Some(full));
        assert_eq!(steps.get(3), None);
        assert_eq!(steps.iter().count(), 3);
    }
}
