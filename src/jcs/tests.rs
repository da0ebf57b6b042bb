use super::*;
use crate::json;

fn canon(input: &str) -> String {
    String::from_utf8(to_vec(&json::parse(input.as_bytes()).unwrap())).unwrap()
}

#[test]
fn issue_example() {
    assert_eq!(canon(r#"{"b":1,"a":[1e21,0.1]}"#), r#"{"a":[1e+21,0.1],"b":1}"#);
}

/// RFC 8785 appendix B: IEEE 754 values and their ECMAScript serialisation.
#[test]
fn rfc8785_numbers() {
    let vectors = [
        ("0", "0"),
        ("-0", "0"),
        ("1e-7", "1e-7"),
        ("1e+21", "1e+21"),
        ("1e21", "1e+21"),
        ("1e20", "100000000000000000000"),
        ("9007199254740992", "9007199254740992"),
        ("9007199254740993", "9007199254740992"),
        ("295147905179352830000", "295147905179352830000"),
        ("5e-324", "5e-324"),
        ("1.7976931348623157e308", "1.7976931348623157e+308"),
        ("0.000001", "0.000001"),
        ("333333333.3333333", "333333333.3333333"),
        ("-1.5e-9", "-1.5e-9"),
        ("123456789012345680000", "123456789012345680000"),
        ("0.1", "0.1"),
        ("100", "100"),
    ];
    for (input, want) in vectors {
        assert_eq!(canon(input), want, "input {input}");
    }
}

/// RFC 8785 section 3.2.3: the sorting example (UTF-16 code unit order).
#[test]
fn rfc8785_key_sorting() {
    let input = r#"{"\u20ac":"Euro Sign","\r":"Carriage Return","\ufb33":"Hebrew Letter Dalet With Dagesh","1":"One","\ud83d\ude00":"Emoji: Grinning Face","\u0080":"Control","\u00f6":"Latin Small Letter O With Diaeresis"}"#;
    let out = canon(input);
    let keys: Vec<&str> = ["\r", "1", "\u{80}", "\u{f6}", "\u{20ac}", "\u{1f600}", "\u{fb33}"].to_vec();
    let mut last = 0;
    for key in keys {
        let pos = out.find(&format!("\"{}\":", key.replace('\r', "\\r"))).unwrap_or_else(|| panic!("{key:?} in {out}"));
        assert!(pos >= last, "key {key:?} out of order in {out}");
        last = pos;
    }
}

/// RFC 8785 section 3.2.2.2: string escaping.
#[test]
fn rfc8785_strings() {
    assert_eq!(canon(r#""\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/""#), "\"€$\\u000f\\nA'B\\\"\\\\\\\\\\\"/\"");
    assert_eq!(canon(r#""<>&""#), r#""<>&""#);
}

#[test]
fn rfc8785_structure_example() {
    let input = r#"{
      "numbers": [333333333.33333329, 1E30, 4.50, 2e-3, 0.000000000000000000000000001],
      "string": "\u20ac$\u000F\u000aA'\u0042\u0022\u005c\\\"\/",
      "literals": [null, true, false]
    }"#;
    let want = r#"{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],"string":"€$\u000f\nA'B\"\\\\\"/"}"#;
    assert_eq!(canon(input), want);
}

/// Our writer against `serde_jcs` 0.2 (the reference implementation we replaced on the hot path)
/// over random JSON trees: same bytes, always.
mod differential {
    use proptest::prelude::*;
    use serde_json::{Map, Number, Value};

    fn key() -> impl Strategy<Value = String> {
        prop_oneof![
            "[a-z_]{0,8}",
            "\\PC{0,6}",
            Just("\u{e000}".to_owned()),
            Just("\u{1f600}".to_owned()),
            Just("\r\n\"\\".to_owned()),
        ]
    }

    fn number() -> impl Strategy<Value = Value> {
        prop_oneof![
            any::<i64>().prop_map(|i| Value::Number(i.into())),
            any::<u64>().prop_map(|u| Value::Number(u.into())),
            any::<f64>().prop_filter_map("finite", |f| Number::from_f64(f).map(Value::Number)),
            (-1e25f64..1e25).prop_filter_map("finite", |f| Number::from_f64(f).map(Value::Number)),
        ]
    }

    fn value() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            number(),
            "\\PC{0,12}".prop_map(Value::String),
            "[\\x00-\\x1f\"\\\\/]{0,6}".prop_map(Value::String),
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
        #![proptest_config(ProptestConfig::with_cases(2000))]
        #[test]
        fn same_bytes_as_serde_jcs(v in value()) {
            let ours = super::value_to_vec(&v);
            let reference = serde_jcs::to_vec(&v).unwrap();
            prop_assert_eq!(String::from_utf8_lossy(&ours), String::from_utf8_lossy(&reference));
        }

        /// The streaming writer (one object at a time, for lines too big to index) writes what the
        /// `Value` path writes, from compact, pretty and `\u`-escaped spellings of the document.
        #[test]
        fn streamed_bytes_are_the_value_paths(v in value()) {
            let expected = super::value_to_vec(&v);
            let compact = serde_json::to_string(&v).unwrap();
            let pretty = serde_json::to_string_pretty(&v).unwrap();
            // Every non-ASCII character (only strings and keys hold them) as `\u` escapes,
            // supplementary ones as surrogate pairs.
            let escaped: String = compact.chars().map(|c| match c.is_ascii() {
                true => c.to_string(),
                false => c.encode_utf16(&mut [0; 2]).iter().map(|unit| format!("\\u{unit:04x}")).collect(),
            }).collect();
            for text in [&compact, &pretty, &escaped] {
                prop_assert!(crate::json::check(text.as_bytes()).is_ok(), "{}", text);
                let mut streamed = Vec::new();
                prop_assert!(super::stream::write_checked(text.as_bytes(), &mut streamed).is_some(), "{}", text);
                prop_assert_eq!(String::from_utf8_lossy(&streamed), String::from_utf8_lossy(&expected), "{}", text);
            }
        }
    }
}

#[test]
fn streamed_members_and_odd_spellings() {
    use super::stream::{member, write_checked};
    let text = br#" { "b" : [ 1 , 2.50 , -0 , 1e21 , 9007199254740993 , "x\u00e9\ud83d\ude00" ] , "a" : { } , "exec\u0075ted" : false , "c" : [ ] , "\u0041" : null } "#;
    let mut streamed = Vec::new();
    write_checked(text, &mut streamed).unwrap();
    let expected = super::value_to_vec(&crate::json::parse(text).unwrap());
    assert_eq!(String::from_utf8(streamed).unwrap(), String::from_utf8(expected).unwrap());
    assert_eq!(member(text, "executed"), Some(&b"false"[..]), "keys are compared decoded");
    assert_eq!(member(text, "a"), Some(&b"{ }"[..]));
    assert_eq!(member(text, "zz"), None);
    assert_eq!(member(b"[1]", "a"), None, "not an object");
    for bad in [&b"{\"a\":1,\"a\":2}"[..], b"[1,]", b"{", b"\"open", b"1 2", b""] {
        assert!(write_checked(bad, &mut Vec::new()).is_none(), "{}", String::from_utf8_lossy(bad));
    }
}
