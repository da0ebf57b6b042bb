use super::*;
use crate::{jcs, json};

/// The scan's canonical bytes, or `None` when it is unsure.
fn canonical(text: &str) -> Option<Vec<u8>> {
    let mut scan = Scan::new();
    scan.parse(text.as_bytes()).ok()?;
    let mut out = Vec::new();
    scan.root(text.as_bytes())?.write_canonical(&mut out, &mut Scratch::default());
    Some(out)
}

/// What the strict path makes of `text`: `json::parse`, then `jcs::write_value`.
fn strict(text: &str) -> Option<Vec<u8>> {
    json::parse(text.as_bytes()).ok().map(|v| jcs::value_to_vec(&v))
}

/// Whenever the scan answers, its bytes are the strict path's.
fn agrees(text: &str) -> bool {
    match canonical(text) {
        None => true,
        Some(fast) => strict(text).is_some_and(|slow| slow == fast),
    }
}

#[test]
fn ledger_lines_are_taken_and_match_the_strict_path() {
    for text in [
        r#"{"seq":1,"created_at":"2026-02-13T18:00:00.12Z","type":"adapter_step","payload":{"step_id":"s0","step_index":0,"executed":true,"detail":"xx"}}"#,
        r#"{"a":[1,-2,0,9007199254740992,-9007199254740992,1.5,0.1,1e21,1E-7,2.50],"b":{"z":null,"y":false}}"#,
        r#"{"text":"tab\t quote\" slash\/ back\\ nl\n é 😀","":{}}"#,
        " [ 1 , { \"b\" : 2 , \"a\" : [ ] } ] \n",
        r#"{"z":2,"é":1}"#,
        "{\"\u{e000}\":1,\"\u{1f600}\":2}",
        "\"x\"",
        "0",
        "-1",
    ] {
        let fast = canonical(text).unwrap_or_else(|| panic!("unsure of {text}"));
        assert_eq!(Some(fast), strict(text), "{text}");
    }
}

#[test]
fn canonical_input_is_copied_as_it_stands() {
    let text = r#"{"a":[1,"x",{"b":null,"c":true}],"created_at":"2026-02-13T18:00:00Z","é":{"😀":-3}}"#;
    assert_eq!(canonical(text).as_deref(), Some(text.as_bytes()));
    let mut scan = Scan::new();
    scan.parse(text.as_bytes()).unwrap();
    assert!(scan.nodes[0].clean, "a canonical document is one copy");
}

#[test]
fn unsure_of_what_the_strict_path_decides() {
    let deep = "[".repeat(MAX_DEPTH + 1) + &"]".repeat(MAX_DEPTH + 1);
    for text in [
        r#"{"a":1,"a":2}"#,
        r#"{"b":1,"a":2,"b":3}"#,
        r#"{"a\n":1}"#,
        r#""\u0041""#,
        r#""\ud800""#,
        "\"\t\"",
        "\"\\x\"",
        "-0",
        "9007199254740993",
        "18446744073709551616",
        "1e400",
        "1e99999",
        "01",
        "1.",
        ".5",
        "+1",
        "[1,]",
        "{\"a\":1,}",
        "{} {}",
        "nul",
        "",
        deep.as_str(),
    ] {
        assert!(canonical(text).is_none(), "took {text:?}");
    }
    let mut scan = Scan::new();
    assert!(scan.parse(b"\"\xff\"").is_err(), "not UTF-8");
    assert!(scan.root(b"\"\xff\"").is_none());
}

/// Objects past the pairwise duplicate check are sorted at parse time and written in that order;
/// small ones are sorted when written. Both ways, duplicates (byte-equal keys, ASCII or not) are
/// the strict path's to refuse.
#[test]
fn unordered_objects_big_and_small() {
    let big: Vec<String> = (0..PAIRWISE_MEMBERS + 5).rev().map(|i| format!("\"k{i:02}\":{i}")).collect();
    let big = format!("{{{}}}", big.join(","));
    let big_nested = format!(r#"{{"z":{big},"a":[{big}]}}"#);
    let with_dup = big.replacen("\"k03\"", "\"k07\"", 1);
    for text in [big.as_str(), big_nested.as_str(), "{\"\u{ffff}\":1,\"\u{10000}\":2,\"é\":3,\"e\":4}"] {
        let fast = canonical(text).unwrap_or_else(|| panic!("unsure of {text}"));
        assert_eq!(Some(fast), strict(text), "{text}");
    }
    for text in [with_dup.as_str(), r#"{"é":1,"a":2,"é":3}"#, "{\"\u{1f600}\":1,\"b\":2,\"\u{1f600}\":3}"] {
        assert!(canonical(text).is_none(), "took {text}");
        assert!(strict(text).is_none(), "the strict path takes {text}");
    }
    let mut scan = Scan::new();
    scan.parse(big.as_bytes()).unwrap();
    assert!(matches!(scan.nodes[0].kind, Kind::Object(Order::Sorted { .. })), "sorted once, at parse time");
}

#[test]
fn reads_fields() {
    let src = br#"{"seq":7,"neg":-1,"f":1.0,"s":"a\"b","ok":false,"o":{"k":[]}}"#;
    let mut scan = Scan::new();
    scan.parse(src).unwrap();
    let root = scan.root(src).unwrap();
    assert_eq!(root.member("seq").and_then(|n| n.as_u64()), Some(7));
    assert_eq!(root.member("neg").and_then(|n| n.as_u64()), None);
    assert_eq!(root.member("f").and_then(|n| n.as_u64()), None);
    assert_eq!(root.member("s").and_then(|n| n.str()).as_deref(), Some("a\"b"));
    assert_eq!(root.member("ok").and_then(|n| n.as_bool()), Some(false));
    assert!(root.member("o").is_some_and(|o| o.is_object() && o.member("k").is_some_and(|k| k.bytes() == b"[]")));
    assert!(root.member("missing").is_none() && root.member("seq").unwrap().member("x").is_none());
    let numbers: Vec<_> = ["seq", "neg", "f"].iter().map(|k| root.member(k).and_then(|n| n.number())).collect();
    assert_eq!(numbers, [Some(7.into()), Some((-1).into()), serde_json::Number::from_f64(1.0)]);
    let keys: Vec<&str> = root.members().unwrap().map(|(k, _)| k).collect();
    assert_eq!(keys, ["seq", "neg", "f", "s", "ok", "o"]);
    let empty = root.member("o").and_then(|o| o.member("k")).and_then(|k| k.items());
    assert!(root.items().is_none() && empty.is_some_and(|mut items| items.next().is_none()));
}

mod differential {
    use proptest::prelude::*;
    use serde_json::{Map, Number, Value};

    fn key() -> impl Strategy<Value = String> {
        prop_oneof!["[a-z_]{0,6}", "\\PC{0,4}", Just("\u{e000}".to_owned()), Just("\u{1f600}".to_owned())]
    }

    /// Keys that collide often, sort differently in UTF-16 and code point order, or neither.
    fn member_key() -> impl Strategy<Value = String> {
        prop_oneof![
            "[ab]{0,2}",
            "[a-z]{3,8}",
            Just("é".to_owned()),
            Just("\u{e000}".to_owned()),
            Just("\u{ffff}".to_owned()),
            Just("\u{10000}".to_owned()),
            Just("\u{1f600}a".to_owned()),
        ]
    }

    /// Short texts over the characters where UTF-8 byte order and UTF-16 order part.
    fn ordered_text() -> impl Strategy<Value = String> {
        "[a-c\u{e9}\u{e000}\u{ffff}\u{10000}\u{1f600}]{0,4}"
    }

    fn value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(|i| Value::Number(i.into())),
            (-1i64 << 54..1i64 << 54).prop_map(|i| Value::Number(i.into())),
            any::<u64>().prop_map(|u| Value::Number(u.into())),
            any::<f64>().prop_filter_map("finite", |f| Number::from_f64(f).map(Value::Number)),
            (-1e25f64..1e25).prop_filter_map("finite", |f| Number::from_f64(f).map(Value::Number)),
            "\\PC{0,12}".prop_map(Value::String),
            "[\\x00-\\x1f\"\\\\/a]{0,6}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::vec((key(), inner), 0..6)
                    .prop_map(|entries| Value::Object(entries.into_iter().collect::<Map<String, Value>>())),
            ]
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(1500))]
        /// Compact, pretty and canonical spellings of random documents: wherever the scan
        /// answers, it answers what `json::parse` + `jcs` do; canonical text comes back as it was.
        #[test]
        fn same_bytes_as_the_strict_path(v in value()) {
            let compact = serde_json::to_string(&v).unwrap();
            let pretty = serde_json::to_string_pretty(&v).unwrap();
            let canonical = String::from_utf8(crate::jcs::value_to_vec(&v)).unwrap();
            for text in [&compact, &pretty, &canonical] {
                prop_assert!(super::agrees(text), "{}", text);
            }
            if let Some(fast) = super::canonical(&canonical) {
                prop_assert_eq!(String::from_utf8(fast).unwrap(), canonical);
            }
        }

        /// `is_serde_compact` never says yes to bytes serde_json would write otherwise, and says
        /// yes to serde_json's own compact writing whenever the scan takes it (only copies of
        /// what serde_json writes are copied; nothing it writes is built for nothing).
        #[test]
        fn serde_compact_bytes_are_what_serde_json_writes(v in value()) {
            let compact = serde_json::to_string(&v).unwrap();
            let pretty = serde_json::to_string_pretty(&v).unwrap();
            let canonical = String::from_utf8(crate::jcs::value_to_vec(&v)).unwrap();
            for text in [&compact, &pretty, &canonical] {
                let mut scan = super::Scan::new();
                if scan.parse(text.as_bytes()).is_err() {
                    continue;
                }
                let Some(root) = scan.root(text.as_bytes()) else { continue };
                let written = serde_json::to_string(&crate::json::parse(text.as_bytes()).unwrap()).unwrap();
                if root.is_serde_compact() {
                    prop_assert_eq!(text, &written);
                } else {
                    prop_assert!(text != &compact, "{}", text);
                }
            }
        }

        /// Objects with keys in any order and duplicates among them (small and big objects, ASCII
        /// and not, and the code points where UTF-16 order is not code point order): the scan
        /// answers what the strict path does, and is unsure exactly where a key comes twice.
        #[test]
        fn unordered_keys_and_duplicates(keys in prop::collection::vec(member_key(), 0..40)) {
            let members: Vec<String> =
                keys.iter().enumerate().map(|(i, k)| format!("{}:{i}", Value::String(k.clone()))).collect();
            let text = format!("{{{}}}", members.join(","));
            prop_assert!(super::agrees(&text), "{}", text);
            let distinct = keys.iter().collect::<std::collections::HashSet<_>>().len() == keys.len();
            prop_assert_eq!(super::canonical(&text).is_some(), distinct, "{}", text);
        }

        /// The scan's key order is JCS's (UTF-16 code units), read from UTF-8 bytes in one pass.
        #[test]
        fn key_order_is_utf16_order(a in ordered_text(), b in ordered_text()) {
            let text = format!("[{},{}]", Value::String(a.clone()), Value::String(b.clone()));
            let mut scan = super::Scan::new();
            prop_assert!(scan.parse(text.as_bytes()).is_ok());
            let order = super::key_order(text.as_bytes(), &scan.nodes[1], &scan.nodes[2]);
            prop_assert_eq!(order, crate::jcs::utf16_order(&a, &b));
        }

        /// Damaged documents: the scan never takes one that the strict path refuses or reads
        /// differently.
        #[test]
        fn damaged_documents_are_never_taken_wrongly(
            v in value(),
            at in any::<prop::sample::Index>(),
            with in prop::sample::select(&b"{}[]\",:\\ 0-.eE+tfnu\x01\xff"[..]),
            cut in any::<bool>(),
        ) {
            let mut bytes = serde_json::to_string(&v).unwrap().into_bytes();
            let i = at.index(bytes.len() + 1);
            if cut { bytes.truncate(i) } else if i < bytes.len() { bytes[i] = with } else { bytes.push(with) }
            let mut scan = super::Scan::new();
            if scan.parse(&bytes).is_ok() {
                let value = crate::json::parse(&bytes);
                prop_assert!(value.is_ok(), "took {:?}", String::from_utf8_lossy(&bytes));
                let mut out = Vec::new();
                scan.root(&bytes).unwrap().write_canonical(&mut out, &mut super::Scratch::default());
                prop_assert_eq!(out, crate::jcs::value_to_vec(&value.unwrap()));
            }
        }
    }
}
