//! wrkr's validator against the `jsonschema` crate (a dev-dependency only): the same verdict on
//! every document of the fixtures, the Go implementation's artifacts and packs, and thousands of
//! variants of them, on all three representations (`Value`, tape, scan); the same findings
//! (pointer and message) as well.

use std::path::{Path, PathBuf};

use proptest::prelude::*;
use serde_json::{Map, Value, json};

use super::pattern::Pattern;
use super::{Validator, compile};
use crate::contract::schema::{SCHEMAS, Schema};
use crate::json::scan::Scan;
use crate::json::tape::Tape;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn reference(schema: &Schema) -> jsonschema::Validator {
    let doc: Value = serde_json::from_str(schema.text).unwrap();
    jsonschema::draft202012::new(&doc).unwrap()
}

/// Every record a test can find: the schema fixtures, the Go artifacts, and every JSON and JSONL
/// entry of the jobpack fixtures, each with the schema its `schema_id` names (or its directory).
/// The flag says whether it is a curated schema fixture (every variant is tried) or a record from
/// an artifact or pack (a few, rotating, so the test stays quick).
fn corpus() -> Vec<(&'static Schema, Value, bool, bool)> {
    let mut out = Vec::new();
    for schema in SCHEMAS {
        for kind in ["valid", "invalid"] {
            let Ok(dir) = std::fs::read_dir(fixtures().join("schemas").join(schema.id).join(kind)) else { continue };
            for file in dir.flatten().filter(|f| f.path().extension().is_some_and(|e| e == "json")) {
                let doc = crate::json::parse(&std::fs::read(file.path()).unwrap()).unwrap();
                out.push((schema, doc, kind == "valid", true));
            }
        }
    }
    let mut add = |bytes: &[u8]| {
        for line in bytes.split(|b| *b == b'\n') {
            if let Ok(doc) = crate::json::parse(line)
                && let Ok(schema) = crate::contract::schema::for_instance(&doc)
            {
                out.push((schema, doc, true, false));
            }
        }
    };
    let go = fixtures().join("go-wrkr");
    for file in std::fs::read_dir(&go).unwrap().flatten() {
        if file.path().extension().is_some_and(|e| e == "json") {
            add(&std::fs::read(file.path()).unwrap());
        }
    }
    let mut zips: Vec<PathBuf> = vec![go.join("jobpack_demo.zip"), go.join("jobpack_journey.zip")];
    for dir in std::fs::read_dir(fixtures().join("jobpacks")).unwrap().flatten() {
        zips.push(dir.path().join("pack.zip"));
    }
    for zip in zips {
        let Ok(file) = std::fs::File::open(&zip) else { continue };
        let Ok(reader) = crate::pack::zipread::ZipReader::open(file, 1 << 24) else { continue };
        for entry in reader.entries() {
            if let Ok(bytes) = reader.read_to_vec(entry, 1 << 24) {
                add(&bytes);
            }
        }
    }
    out
}

/// Both validators, both representations: one verdict; and when invalid, the same findings.
fn agree(schema: &Schema, reference: &jsonschema::Validator, doc: &Value, tape: &mut Tape) -> bool {
    let ours = schema.validator();
    let expected = reference.is_valid(doc);
    assert_eq!(ours.is_valid(doc), expected, "{}: Value verdict: {doc}", schema.id);
    tape.parse(doc.to_string().as_bytes()).unwrap();
    assert_eq!(ours.is_valid(tape.root().unwrap()), expected, "{}: tape verdict: {doc}", schema.id);
    // The scan, on the document as written and in canonical form (what export checks); where it
    // is unsure (a `\u` escape, a big integer), export takes the `Value` path.
    let mut scan = Scan::new();
    for text in [doc.to_string().into_bytes(), crate::jcs::value_to_vec(doc)] {
        if scan.parse(&text).is_ok() {
            assert_eq!(ours.is_valid(scan.root(&text).unwrap()), expected, "{}: scan verdict: {doc}", schema.id);
        }
    }
    let found: Vec<(String, String)> = ours.findings(doc).iter().map(|f| (f.pointer.clone(), f.to_string())).collect();
    let want: Vec<(String, String)> =
        reference.iter_errors(doc).map(|e| (e.instance_path().as_str().to_owned(), e.to_string())).collect();
    let sorted = |mut list: Vec<(String, String)>| {
        list.sort();
        list
    };
    assert_eq!(sorted(found), sorted(want), "{}: findings: {doc}", schema.id);
    expected
}

/// The JSON Pointer of every value below `doc`'s root.
fn paths(doc: &Value, prefix: &str) -> Vec<String> {
    let children: Vec<(String, &Value)> = match doc {
        Value::Object(map) => {
            map.iter().map(|(k, v)| (format!("{prefix}/{}", k.replace('~', "~0").replace('/', "~1")), v)).collect()
        }
        Value::Array(items) => items.iter().enumerate().map(|(i, v)| (format!("{prefix}/{i}"), v)).collect(),
        _ => vec![],
    };
    children.into_iter().flat_map(|(p, v)| std::iter::once(p.clone()).chain(paths(v, &p))).collect()
}

/// Values that sit on the edges of the keywords the schemas use.
fn replacements() -> Vec<Value> {
    let mut list = vec![
        Value::Null,
        Value::Bool(true),
        json!(0),
        json!(-1),
        json!(1),
        json!(1.5),
        json!(2.0),
        json!(-0.5),
        json!(0.0),
        json!(u64::MAX),
        json!(i64::MIN),
        json!(1e300),
        json!(""),
        json!("x"),
        json!(" "),
        json!("v1"),
        json!("v1.12"),
        json!("v1."),
        json!("v2"),
        json!("cp_1"),
        json!("cp_0"),
        json!("cp_12\n"),
        json!("a".repeat(64)),
        json!("A".repeat(64)),
        json!("é".repeat(2000)),
        json!("é".repeat(2001)),
        json!("plan"),
        json!("running"),
        json!("wrkr.job"),
        json!([]),
        json!(["a", "a"]),
        json!([""]),
        json!([1]),
        json!({}),
        json!({"k": 1}),
    ];
    list.extend(["reference-only", "blocked", "completed", "stale"].map(Value::from));
    list
}

/// Every fixture, and variants of each valid one with one value replaced, dropped or added at
/// any depth: the same verdict and findings from both validators.
#[test]
fn agrees_with_jsonschema_on_the_corpus_and_its_variants() {
    let (mut tape, mut compared, mut valid) = (Tape::new(), 0, 0);
    let corpus = corpus();
    let references: Vec<jsonschema::Validator> = SCHEMAS.iter().map(reference).collect();
    let reference_of = |schema: &Schema| &references[SCHEMAS.iter().position(|s| s.id == schema.id).unwrap()];
    // Records of one shape (the same schema and member paths) vary alike: one of each is varied.
    let mut shapes = std::collections::BTreeSet::new();
    for (schema, doc, must_be_valid, curated) in &corpus {
        let verdict = agree(schema, reference_of(schema), doc, &mut tape);
        compared += 1;
        let shape: Vec<String> = paths(doc, "").iter().map(|p| p.replace(|c: char| c.is_ascii_digit(), "")).collect();
        if (*must_be_valid && !verdict) || !shapes.insert((schema.id, shape)) {
            continue; // A negative jobpack fixture, or a shape already varied: compared only.
        }
        let all = replacements();
        for (n, path) in paths(doc, "").into_iter().enumerate() {
            let tried = if *curated { 13 } else { 5 };
            for new in (0..tried).map(|k| all[(n + k * 7) % all.len()].clone()) {
                let mut variant = doc.clone();
                *variant.pointer_mut(&path).unwrap() = new;
                valid += usize::from(agree(schema, reference_of(schema), &variant, &mut tape));
                compared += 1;
            }
            let (parent, last) = path.rsplit_once('/').unwrap();
            let mut variant = doc.clone();
            match variant.pointer_mut(parent).unwrap() {
                Value::Object(map) => drop(map.shift_remove(last)),
                Value::Array(items) => drop(items.pop()),
                _ => {}
            }
            agree(schema, reference_of(schema), &variant, &mut tape);
        }
        for path in std::iter::once(String::new()).chain(paths(doc, "")) {
            let mut variant = doc.clone();
            match variant.pointer_mut(&path).unwrap() {
                Value::Object(map) => drop(map.insert("x_unknown".into(), Value::from(1))),
                Value::Array(items) => items.push(Value::from("extra")),
                _ => continue,
            }
            agree(schema, reference_of(schema), &variant, &mut tape);
        }
    }
    eprintln!("{} documents, {} shapes, {compared} compared, {valid} valid", corpus.len(), shapes.len());
    assert!(corpus.len() > 250 && compared > 10_000 && valid > 1_000, "{} docs, {compared}, {valid}", corpus.len());
}

/// Each hand-written pattern against the regex engine, on strings around its edges.
#[test]
fn patterns_match_as_the_regex_engine_does() {
    let mut texts: Vec<String> = ["", "v1", "v1.", "v1.0", "v1.123", "v10", "v1.a", "xv1", "v1.2.3", "V1", "v1.٣"]
        .into_iter()
        .chain(["cp_", "cp_0", "cp_1", "cp_10", "cp_01", "cp_1a", "cp_١", "xcp_1", "CP_1"])
        .map(str::to_owned)
        .collect();
    for len in [0, 1, 63, 64, 65] {
        for c in ['a', 'f', 'g', '0', '9', 'A', 'é'] {
            texts.push(std::iter::repeat_n(c, len).collect());
        }
    }
    for text in texts.clone() {
        texts.push(format!("{text}\n"));
        texts.push(format!("\n{text}"));
        texts.push(format!(" {text}"));
    }
    for pattern in Pattern::all() {
        let regex = jsonschema::validator_for(&json!({"pattern": pattern.source()})).unwrap();
        assert_eq!(Pattern::compile(pattern.source()), Some(pattern));
        for text in &texts {
            assert_eq!(pattern.matches(text), regex.is_valid(&json!(text)), "{} on {text:?}", pattern.source());
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Random strings over the patterns' alphabets.
    #[test]
    fn patterns_agree_on_random_strings(text in "(v1|cp_|[a-f0-9]{60,64})?[a-g0-9._\n vp]{0,8}") {
        for pattern in Pattern::all() {
            let regex = jsonschema::validator_for(&json!({"pattern": pattern.source()})).unwrap();
            prop_assert_eq!(pattern.matches(&text), regex.is_valid(&json!(text)));
        }
    }
}

/// A schema that uses anything the validator does not check does not compile, so no schema is
/// ever silently under-validated.
#[test]
fn refuses_what_it_does_not_check() {
    for schema in [
        json!({"$ref": "#/$defs/x"}),
        json!({"maximum": 3}),
        json!({"minimum": 1.5}),
        json!({"pattern": "^[A-Z]+$"}),
        json!({"format": "email"}),
        json!({"type": ["string", "null"]}),
        json!({"const": 1}),
        json!({"enum": [1, "a"]}),
        json!({"if": {}, "then": {}}),
        json!({"properties": {"a": {"oneOf": []}}}),
        json!({"items": {"uniqueItems": true}}),
        json!({"additionalProperties": {"minItems": 1}}),
        json!({"$schema": "http://json-schema.org/draft-07/schema#"}),
        json!({"required": ["a", "a"]}),
    ] {
        assert!(Validator::compile(&schema).is_err(), "{schema}");
    }
    let many: Map<String, Value> = (0..65).map(|i| (format!("p{i}"), json!({}))).collect();
    assert!(compile(&json!({"properties": many}), "#").is_err());
}

/// Findings come in a stable order: per node type, const, enum, minimum, lengths, required,
/// pattern, then members in document order with the unexpected ones after them, then items.
#[test]
fn findings_are_ordered_and_pointed() {
    let schema = crate::contract::schema::find("wrkr.jobspec").unwrap();
    let doc =
        json!({"schema_id": "x", "zzz": 1, "budgets": {"max_retries": -1, "a~/b": 2}, "expected_artifacts": [1, ""]});
    let found: Vec<String> = schema.findings(&doc).iter().map(|f| format!("{}|{f}", f.pointer)).collect();
    let want = [
        r#"|"schema_version" is a required property"#,
        r#"|"created_at" is a required property"#,
        r#"|"producer_version" is a required property"#,
        r#"|"name" is a required property"#,
        r#"|"objective" is a required property"#,
        r#"|"inputs" is a required property"#,
        r#"|"adapter" is a required property"#,
        r#"|"checkpoint_policy" is a required property"#,
        r#"/schema_id|"wrkr.jobspec" was expected"#,
        r#"/budgets|"max_wall_time_seconds" is a required property"#,
        r#"/budgets|"max_step_count" is a required property"#,
        r#"/budgets|"max_tool_calls" is a required property"#,
        "/budgets/max_retries|-1 is less than the minimum of 0",
        "/budgets|Additional properties are not allowed ('a~/b' was unexpected)",
        r#"/expected_artifacts/0|1 is not of type "string""#,
        r#"/expected_artifacts/1|"" is shorter than 1 character"#,
        "|Additional properties are not allowed ('zzz' was unexpected)",
    ];
    assert_eq!(found, want);
}
