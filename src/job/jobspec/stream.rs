//! Reading a JobSpec file without building its document: each step is read on its own, typed into
//! the packed `Steps` and written out as the ledger records it, then dropped (issue 16).
//!
//! Why: a 25,000-step spec is about 1 MB of text but 7.8 MB as one `serde_json::Value` (an index
//! map per step), and that document was most of `wrkr submit`'s peak memory. Here the parser's
//! events go through seeds: every part of the spec but `inputs.steps` is read into a small
//! `Value` as before; each step is read into its own `Value`, checked (`strict::step`), typed
//! (`steps::step_at`), written as serde_json writes it, and dropped.
//!
//! What it guarantees: a spec accepted here is the spec the document path (`check`) accepts,
//! field for field, recording the same bytes. It keeps that promise by being only the happy path:
//! any error, any finding, anything unusual (a duplicate key, steps that are not a list, a step
//! that is not a mapping or does not type) gives `None`, and the caller reads the text again on
//! the document path, whose findings (pointers, lines, wording) are the ones a person sees. A
//! refused spec is read twice; an accepted one once.
//!
//! Values and keys are read with the seeds the document path uses (`serde_json::Value`'s own for
//! YAML, down to its first key being read as a `str`; the strict one for JSON), so numbers,
//! strings and nulls come out the same. The list under `inputs.steps` is never a document; the
//! schema does not look inside it (`inputs` is open, for the adapter), so the schema is checked
//! with `null` standing in for it (the test `the_schema_leaves_the_steps_to_the_adapter`).

use std::fmt;

use serde::de::{self, Deserialize, DeserializeSeed, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Map, Value};

use super::finding::Findings;
use super::steps::{Steps, step_at};
use super::strict;
use crate::json::StrictValue;

/// A spec as streamed: every top-level key as written, with `inputs.steps` (a list) held as
/// `null`, its steps packed and their recorded text beside.
#[derive(Default)]
pub(super) struct Streamed {
    pub raw: Map<String, Value>,
    /// `Some` when `inputs.steps` is a list.
    pub steps: Option<Steps>,
    /// `inputs.steps` as compact JSON: the bytes serde_json writes for that list.
    pub steps_json: Vec<u8>,
}

/// Read `text`; `None` when it is anything but a clean spec (the caller takes the document path).
pub(super) fn read(text: &str, is_json: bool) -> Option<Streamed> {
    if is_json {
        let mut out = Streamed::default();
        let mut de = serde_json::Deserializer::from_slice(text.as_bytes());
        Top { dialect: Dialect::Json, out: &mut out }.deserialize(&mut de).and_then(|()| de.end()).ok()?;
        Some(out)
    } else {
        serde_saphyr::from_str_with_options::<YamlSpec>(text, super::yaml_options()).ok().map(|spec| spec.0)
    }
}

/// Which document path is mirrored: JSON values are read strictly (`json::StrictValue`), YAML
/// values as `serde_json::Value` reads them.
#[derive(Clone, Copy)]
enum Dialect {
    Json,
    Yaml,
}

/// The YAML entry point: serde-saphyr hands a deserializer only to a `Deserialize` type.
struct YamlSpec(Streamed);

impl<'de> Deserialize<'de> for YamlSpec {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<YamlSpec, D::Error> {
        let mut out = Streamed::default();
        Top { dialect: Dialect::Yaml, out: &mut out }.deserialize(deserializer)?;
        Ok(YamlSpec(out))
    }
}

/// Why the stream gave up; never shown (the document path says what is wrong).
fn off_path<E: de::Error>(why: &str) -> E {
    E::custom(format_args!("not on the streaming path: {why}"))
}

/// Any value, as the document path reads it.
struct AnyValue(Dialect);

impl<'de> DeserializeSeed<'de> for AnyValue {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        match self.0 {
            Dialect::Json => StrictValue.deserialize(deserializer),
            Dialect::Yaml => Value::deserialize(deserializer),
        }
    }
}

/// A mapping key, as the document path reads it: `Value` reads the first key of a mapping as a
/// `str` and the others as `String`s; the strict reader reads every key as a `String`.
struct Key {
    dialect: Dialect,
    first: bool,
}

impl<'de> DeserializeSeed<'de> for Key {
    type Value = String;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<String, D::Error> {
        match (self.dialect, self.first) {
            (Dialect::Yaml, true) => deserializer.deserialize_str(KeyText),
            _ => String::deserialize(deserializer),
        }
    }
}

struct KeyText;

impl Visitor<'_> for KeyText {
    type Value = String;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a string key")
    }
    fn visit_str<E>(self, s: &str) -> Result<String, E> {
        Ok(s.to_owned())
    }
    fn visit_string<E>(self, s: String) -> Result<String, E> {
        Ok(s)
    }
}

/// Read the members of a mapping into `map`, each value by `value` (which sees the key). A key
/// given twice is off the path (the strict reader refuses it; YAML's parser refuses it too).
fn members<'de, A: MapAccess<'de>>(
    dialect: Dialect,
    access: &mut A,
    map: &mut Map<String, Value>,
    mut value: impl FnMut(&str, &mut A) -> Result<Value, A::Error>,
) -> Result<(), A::Error> {
    let mut first = true;
    while let Some(key) = access.next_key_seed(Key { dialect, first })? {
        first = false;
        if map.contains_key(&key) {
            return Err(off_path("a key given twice"));
        }
        let read = value(&key, access)?;
        map.insert(key, read);
    }
    Ok(())
}

/// The top level: a mapping, read whole except for `inputs.steps`.
struct Top<'a> {
    dialect: Dialect,
    out: &'a mut Streamed,
}

impl<'de> DeserializeSeed<'de> for Top<'_> {
    type Value = ();
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<(), D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Top<'_> {
    type Value = ();
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a mapping")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<(), A::Error> {
        let Streamed { raw, steps, steps_json } = self.out;
        let dialect = self.dialect;
        members(dialect, &mut access, raw, |key, access| match key {
            "inputs" => access.next_value_seed(Inputs { dialect, steps: &mut *steps, steps_json: &mut *steps_json }),
            _ => access.next_value_seed(AnyValue(dialect)),
        })
    }
}

/// `inputs`: a mapping (or null), read whole except for `steps`.
struct Inputs<'a> {
    dialect: Dialect,
    steps: &'a mut Option<Steps>,
    steps_json: &'a mut Vec<u8>,
}

impl<'de> DeserializeSeed<'de> for Inputs<'_> {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Inputs<'_> {
    type Value = Value;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a mapping or null")
    }
    fn visit_unit<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_none<E>(self) -> Result<Value, E> {
        Ok(Value::Null)
    }
    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        self.deserialize(deserializer)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        let Inputs { dialect, steps, steps_json } = self;
        let mut map = Map::new();
        members(dialect, &mut access, &mut map, |key, access| match key {
            "steps" => access.next_value_seed(StepList { dialect, steps: &mut *steps, json: &mut *steps_json }),
            _ => access.next_value_seed(AnyValue(dialect)),
        })?;
        Ok(Value::Object(map))
    }
}

/// `inputs.steps`: a list, each item read, checked, typed and written on its own. Stands in the
/// document as `null`.
struct StepList<'a> {
    dialect: Dialect,
    steps: &'a mut Option<Steps>,
    json: &'a mut Vec<u8>,
}

impl<'de> DeserializeSeed<'de> for StepList<'_> {
    type Value = Value;
    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<Value, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for StepList<'_> {
    type Value = Value;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a list of steps")
    }
    fn visit_seq<A: SeqAccess<'de>>(self, mut access: A) -> Result<Value, A::Error> {
        // A hint is a guess about the input, not a promise: capped, so it cannot reserve much.
        let mut steps = Steps::with_capacity(access.size_hint().unwrap_or(0).min(1 << 16));
        self.json.clear();
        self.json.push(b'[');
        let mut findings = Findings::default();
        while let Some(item) = access.next_element_seed(AnyValue(self.dialect))? {
            let index = steps.len();
            if let Value::Object(map) = &item {
                strict::step(map, index, &mut findings);
            }
            if !findings.is_empty() {
                return Err(off_path("a step has findings"));
            }
            let step = step_at(index, &item).map_err(|_| off_path("a step does not type"))?;
            steps.push(&step).map_err(|_| off_path("the steps are too large"))?;
            if index > 0 {
                self.json.push(b',');
            }
            serde_json::to_writer(&mut *self.json, &item).map_err(|_| off_path("a step does not write"))?;
        }
        self.json.push(b']');
        *self.steps = Some(steps);
        Ok(Value::Null)
    }
}

#[cfg(test)]
mod tests {
    use super::super::*;

    const JOURNEY: &str = include_str!("../../../tests/fixtures/go-wrkr/journey.jobspec.yaml");
    const NEWCOMER: &str = include_str!("../../../tests/fixtures/jobspecs/newcomer.yaml");
    const TYPOS: &str = include_str!("../../../tests/fixtures/jobspecs/typos.yaml");

    const HEAD_YAML: &str = "schema_id: wrkr.jobspec\nschema_version: v1\nproducer_version: dev\nname: t\n\
        objective: o\nbudgets: {max_wall_time_seconds: 60, max_step_count: 5, max_tool_calls: 5}\n\
        checkpoint_policy: {min_interval_seconds: 1}\nenvironment_fingerprint: {rules: []}\n";

    /// Valid specs that stress what the bytes depend on: key order (steps first, last, between),
    /// `x-` keys in steps and inputs, escapes, numbers of every kind, aliases and merge keys,
    /// nulls, block scalars, unicode, a noop spec that still records its steps.
    fn clean_specs() -> Vec<(String, bool)> {
        let yaml = |rest: &str| (format!("{HEAD_YAML}{rest}"), false);
        let json = |adapter: &str, inputs: &str| {
            let text = format!(
                r#"{{"schema_id":"wrkr.jobspec","schema_version":"v1.2","producer_version":"dev","name":"j\u00e9",
                "objective":"o\/\"q\"","adapter":{adapter},"inputs":{inputs},
                "budgets":{{"max_wall_time_seconds":1,"max_step_count":1,"max_tool_calls":1,"max_estimated_cost":2.50}},
                "checkpoint_policy":{{"min_interval_seconds":1}},"environment_fingerprint":{{"rules":["os"]}}}}"#
            );
            (text, true)
        };
        vec![
            (JOURNEY.to_owned(), false),
            yaml("adapter: {name: reference}\ninputs: {steps: [{id: a, command: 'true'}], workspace: .}\n"),
            yaml(
                "adapter: {name: Reference, config: {f: 1.0, g: 1e3, i: ~, j: yes, k: 0x1F}}\n\
                 inputs:\n  references: [a, b]\n  x-note: {deep: [1, 2.5, -0, null]}\n  steps:\n\
                 \x20   - &base {id: a, command: \"echo 'h\u{e9}llo' \\\"q\\\" \\t\", x-cost: 1.25}\n\
                 \x20   - {<<: *base, id: b, artifacts: [' z ', y, y]}\n\
                 \x20   - id: c\n      summary: |\n        two\n        lines \u{1F600}\n\
                 \x20     executed: false\n      decision_needed: true\n      required_action: ~\n\
                 \x20   - {}\n  workspace: .\n",
            ),
            yaml("adapter: {name: noop}\ninputs: {steps: [{id: a, command: 'true'}, {id: b, x-y: [1]}]}\n"),
            yaml("adapter: {name: noop}\n"),
            yaml("adapter: {name: noop}\ninputs: ~\n"),
            json(
                r#"{"name":"reference","config":{"n":12345678901234567890,"m":-9223372036854775808,"e":1E40,"f":1e-7}}"#,
                r#"{"steps":[{"id":"a\u0041","command":"printf '\u00e9\n'","executed":true,"artifacts":["b","a"]},
                   {"id":"s2","summary":"\ud83d\ude00","x-meta":{"k":[true,false,null,0.1,100]}}],"workspace":"."}"#,
            ),
            json(r#"{"name":"noop"}"#, r#"{"steps":[{"id":"a","command":"true"}]}"#),
        ]
    }

    /// Each clean spec streams, and gives the spec and the recorded bytes the document path gives.
    #[test]
    fn streaming_reads_and_records_what_the_document_path_did() {
        for (text, is_json) in clean_specs() {
            let Some(mut streamed) = streamed(&text, is_json) else { panic!("did not stream:\n{text}") };
            let mut document = check_document(&text, is_json).unwrap_or_else(|f| panic!("{f:?}\n{text}"));
            let recorded = serde_json::to_vec(&document.document).unwrap();
            let mut written = Vec::new();
            let count = streamed.write_document(&mut written);
            assert_eq!(String::from_utf8_lossy(&written), String::from_utf8_lossy(&recorded), "{text}");
            let mut again = Vec::new();
            assert_eq!(document.write_document(&mut again), count, "the step count the state reads");
            assert_eq!(again, recorded, "the document path writes what it wrote before");
            (streamed.document, document.document) = (Value::Null, Value::Null);
            assert_eq!(streamed, document, "{text}");
        }
    }

    /// Streaming is only the happy path: a spec with any finding is never accepted by it, so its
    /// findings come from the document path alone.
    #[test]
    fn refused_specs_never_stream() {
        let head = |adapter: &str| HEAD_YAML.to_owned() + &format!("adapter: {{name: {adapter}}}\n");
        let refused = [
            NEWCOMER.to_owned(),
            TYPOS.to_owned(),
            head("reference"),
            head("reference") + "inputs: {steps: []}\n",
            head("reference") + "inputs: {steps: [3]}\n",
            head("reference") + "inputs: {steps: {id: a}}\n",
            head("reference") + "inputs: {steps: [{id: a, comand: x}]}\n",
            head("reference") + "inputs: {steps: [{id: a, command: 3}]}\n",
            head("reference") + "inputs: {steps: [{id: a, executed: maybe}]}\n",
            head("reference") + "inputs: {steps: [{id: a, artifacts: [1]}]}\n",
            head("reference") + &format!("inputs: {{steps: [{{summary: {}}}]}}\n", "x".repeat(2001)),
            head("reference") + "inputs: {steps: [{id: a}], stepz: 1}\n",
            head("reference") + "inputs: {steps: [{id: a}], workspace: 3}\n",
            head("reference") + "inputs: 3\n",
            head("reference") + "inputs: {steps: [{id: a}]}\ninputs: {steps: [{id: b}]}\n",
            head("reference") + "inputs: {steps: [{id: a, id: b}]}\n",
            head("noop") + "inputs: {steps: [{id: a, comand: x}]}\n",
            head("shell") + "inputs: {steps: [{id: a}]}\n",
            head("noop").replace("max_step_count: 5", "max_step_count: 0"),
            head("noop").replace("name: t\n", ""),
            head("noop").replace("{name: noop}", "{name: noop, config: {h: .inf}}"),
            "- a list\n".to_owned(),
            String::new(),
        ];
        for text in refused {
            assert!(streamed(&text, false).is_none(), "streamed a refused spec:\n{text}");
            assert!(check(text.as_bytes(), false).is_err(), "{text}");
        }
        for json in
            [r#"{"adapter":{"name":"noop"},"adapter":{"name":"noop"}}"#, r#"{"inputs":{"steps":[{"a":1,"a":1}]}}"#]
        {
            assert!(streamed(json, true).is_none(), "{json}");
        }
    }

    /// A spec the stream leaves to the document path is still accepted there: `steps: null` on
    /// the noop adapter, which records it as written.
    #[test]
    fn unusual_clean_specs_take_the_document_path() {
        let text = format!("{HEAD_YAML}adapter: {{name: noop}}\ninputs: {{steps: ~}}\n");
        assert!(streamed(&text, false).is_none());
        let mut spec = check(text.as_bytes(), false).unwrap();
        let mut written = Vec::new();
        spec.write_document(&mut written);
        assert!(String::from_utf8_lossy(&written).contains(r#""inputs":{"steps":null}"#));
    }

    /// The stream checks the schema with `null` in place of `inputs.steps`; that is only sound
    /// while the schema says nothing about them. A schema that starts to will fail this test.
    #[test]
    fn the_schema_leaves_the_steps_to_the_adapter() {
        let schema = schema::find("wrkr.jobspec").unwrap();
        let mut document = check_document(JOURNEY, false).unwrap().document;
        assert!(schema.validator().is_valid(&document));
        let variants = [
            json!(null),
            json!([]),
            json!(3),
            json!("x"),
            json!({"id": 1}),
            json!([1, null, {"id": []}]),
            json!([{"summary": "x".repeat(3000)}]),
        ];
        for steps in variants {
            document["inputs"]["steps"] = steps.clone();
            assert!(schema.validator().is_valid(&document), "the schema looks at inputs.steps: {steps}");
        }
    }
}
