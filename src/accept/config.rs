//! `accept.yaml`: what acceptance checks, read strictly.
//!
//! The v1 keys of the Go implementation (`required_artifacts`, `test_command`, `lint_command`,
//! `path_rules`) plus, additively, `required_checkpoint_types`, `max_budget_use`, `commands` (named
//! extra checks) and `timeout_seconds`. Unlike Go, an unknown key is an error unless it starts with
//! `x-` (a typo must not silently disable a check), a missing file is an error that says how to make
//! one (Go silently ran `go test ./...`), and a check that is not configured is *skipped*, never
//! passed. An explicitly empty command is a configuration error the check reports as failed.

use std::path::Path;

use serde_json::{Map, Value};

use crate::contract::{Error, Result};

/// Commands run at most this long unless configured otherwise (seconds).
pub const DEFAULT_TIMEOUT_SECONDS: u64 = 600;
const MAX_CONFIG_BYTES: u64 = 1 << 20;

#[derive(Clone, Debug, PartialEq)]
pub struct CommandCheck {
    pub command: String,
    pub timeout_seconds: u64,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct PathRules {
    /// 0 = unlimited.
    pub max_artifact_paths: u64,
    pub forbidden_prefixes: Vec<String>,
    /// A real allow-list: every artifact path must start with one of these (when any are given).
    pub allowed_prefixes: Vec<String>,
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct AcceptConfig {
    pub required_artifacts: Vec<String>,
    pub test_command: Option<CommandCheck>,
    pub lint_command: Option<CommandCheck>,
    pub path_rules: Option<PathRules>,
    pub required_checkpoint_types: Vec<String>,
    /// Fail when any budget's usage passed this fraction of its limit.
    pub max_budget_use: Option<f64>,
    /// Named extra checks, in file order.
    pub commands: Vec<(String, CommandCheck)>,
}

/// The file `wrkr accept init` writes.
pub const TEMPLATE: &str = "\
# wrkr acceptance checks (accept.yaml). Run with: wrkr accept run JOB
# Unknown keys are an error unless they start with x-. A check that is not configured is skipped.
schema_id: wrkr.accept_config
schema_version: v1
# Paths your job must produce, e.g. [reports/result.md]: each claimed by a checkpoint AND present
# with the recorded hash. Empty: the check is skipped.
required_artifacts: []
test_command: \"true\"                      # sh -c in the job's workspace; exit 0 passes
lint_command: \"true\"
timeout_seconds: 600                        # per command
path_rules:
  max_artifact_paths: 0                     # 0 = unlimited
  forbidden_prefixes: []                    # no artifact path may start with these
  allowed_prefixes: []                      # if any: every artifact path must start with one
required_checkpoint_types: [plan, completed]
# max_budget_use: 0.9                       # fail when usage passed 90% of any budget limit
# commands:                                 # named extra checks
#   docs: \"test -f README.md\"
";

pub fn load(path: &Path) -> Result<AcceptConfig> {
    if path == Path::new("-") {
        // `--config -`: the config from stdin, as bounded as a file.
        let mut text = String::new();
        std::io::Read::read_to_string(
            &mut std::io::Read::take(std::io::stdin().lock(), MAX_CONFIG_BYTES + 1),
            &mut text,
        )
        .map_err(|e| Error::io("read the accept config from stdin", e))?;
        if text.len() as u64 > MAX_CONFIG_BYTES {
            return Err(Error::invalid_input(format!("accept config (stdin): larger than {MAX_CONFIG_BYTES} bytes")));
        }
        return parse(&text).map_err(|e| e.context("accept config (stdin)"));
    }
    let label = path.display().to_string();
    let meta = std::fs::metadata(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Error::invalid_input(format!("accept config {label}: no such file"))
            .with("path", label.as_str())
            .with_hint("create one with `wrkr accept init`, or pass --config PATH"),
        _ => Error::io(format!("read accept config {label}"), e),
    })?;
    if meta.len() > MAX_CONFIG_BYTES {
        return Err(Error::invalid_input(format!("accept config {label}: larger than {MAX_CONFIG_BYTES} bytes")));
    }
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(format!("read accept config {label}"), e))?;
    parse(&text).map_err(|e| e.context(format!("accept config {label}")))
}

pub fn parse(text: &str) -> Result<AcceptConfig> {
    let mut options = serde_saphyr::Options::default();
    options.duplicate_keys = serde_saphyr::DuplicateKeyPolicy::Error;
    options.strict_booleans = true;
    options.with_snippet = false;
    let mut budget = serde_saphyr::budget::Budget::default();
    budget.max_depth = 16;
    budget.max_aliases = 50;
    options.budget = Some(budget);
    let value: Value = serde_saphyr::from_str_with_options(text, options).map_err(|e| {
        Error::invalid_input(format!("invalid YAML: {}", e.to_string().lines().next().unwrap_or_default()))
    })?;
    let map = match value {
        Value::Object(map) => map,
        Value::Null => Map::new(),
        other => return Err(Error::invalid_input(format!("expected a mapping, found {}", crate::json::kind(&other)))),
    };
    let timeout = match map.get("timeout_seconds") {
        None => DEFAULT_TIMEOUT_SECONDS,
        Some(v) => positive(v, "timeout_seconds")?,
    };
    let mut config = AcceptConfig::default();
    for (key, value) in &map {
        match key.as_str() {
            "schema_id" | "schema_version" | "timeout_seconds" => {}
            "required_artifacts" => config.required_artifacts = string_list(value, key)?,
            "test_command" => config.test_command = Some(command(value, key, timeout)?),
            "lint_command" => config.lint_command = Some(command(value, key, timeout)?),
            "path_rules" => config.path_rules = Some(path_rules(value)?),
            "required_checkpoint_types" => {
                let types = string_list(value, key)?;
                if let Some(bad) = types.iter().find(|t| !crate::job::checkpoint_types().contains(&t.as_str())) {
                    return Err(Error::invalid_input(format!("required_checkpoint_types: unknown type {bad:?}"))
                        .with("key", key.as_str()));
                }
                config.required_checkpoint_types = types;
            }
            "max_budget_use" => {
                let f = value.as_f64().filter(|f| *f > 0.0 && f.is_finite()).ok_or_else(|| {
                    Error::invalid_input("max_budget_use: expected a fraction greater than 0 (0.9 = 90%)")
                        .with("key", key.as_str())
                })?;
                config.max_budget_use = Some(f);
            }
            "commands" => config.commands = named_commands(value, timeout)?,
            other if other.starts_with("x-") => {}
            other => {
                return Err(Error::invalid_input(format!("unknown key {other:?}"))
                    .with("key", other)
                    .with_hint("accept.yaml keys: required_artifacts, test_command, lint_command, timeout_seconds, path_rules, required_checkpoint_types, max_budget_use, commands (x-* keys are ignored)"));
            }
        }
    }
    Ok(config)
}

fn positive(value: &Value, key: &str) -> Result<u64> {
    value
        .as_u64()
        .filter(|n| *n > 0)
        .ok_or_else(|| Error::invalid_input(format!("{key}: expected a positive integer")).with("key", key))
}

/// Trimmed, non-empty, deduplicated and sorted (as Go normalises these lists).
fn string_list(value: &Value, key: &str) -> Result<Vec<String>> {
    let items = match value {
        Value::Null => return Ok(Vec::new()),
        Value::Array(items) => items,
        _ => return Err(Error::invalid_input(format!("{key}: expected a list of strings")).with("key", key)),
    };
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        let s = item
            .as_str()
            .ok_or_else(|| Error::invalid_input(format!("{key}: expected a list of strings")).with("key", key))?;
        let s = s.trim();
        if !s.is_empty() {
            out.push(s.to_owned());
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// A command: a string, or `{command, timeout_seconds}`.
fn command(value: &Value, key: &str, default_timeout: u64) -> Result<CommandCheck> {
    match value {
        Value::String(s) => Ok(CommandCheck { command: s.clone(), timeout_seconds: default_timeout }),
        Value::Object(map) => {
            if let Some(bad) =
                map.keys().find(|k| !matches!(k.as_str(), "command" | "timeout_seconds") && !k.starts_with("x-"))
            {
                return Err(Error::invalid_input(format!("{key}: unknown key {bad:?}")).with("key", key));
            }
            let command = map
                .get("command")
                .and_then(Value::as_str)
                .ok_or_else(|| Error::invalid_input(format!("{key}.command: expected a string")).with("key", key))?;
            let timeout_seconds = match map.get("timeout_seconds") {
                Some(v) => positive(v, &format!("{key}.timeout_seconds"))?,
                None => default_timeout,
            };
            Ok(CommandCheck { command: command.to_owned(), timeout_seconds })
        }
        _ => Err(Error::invalid_input(format!("{key}: expected a command string")).with("key", key)),
    }
}

fn named_commands(value: &Value, timeout: u64) -> Result<Vec<(String, CommandCheck)>> {
    let Value::Object(map) = value else {
        return Err(Error::invalid_input("commands: expected a mapping of name: command").with("key", "commands"));
    };
    map.iter()
        .map(|(name, v)| {
            if name.trim().is_empty()
                || !name.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
            {
                return Err(Error::invalid_input(format!("commands: check name {name:?} must match [A-Za-z0-9._-]+"))
                    .with("key", "commands"));
            }
            Ok((name.clone(), command(v, &format!("commands.{name}"), timeout)?))
        })
        .collect()
}

fn path_rules(value: &Value) -> Result<PathRules> {
    let Value::Object(map) = value else {
        return Err(Error::invalid_input("path_rules: expected a mapping").with("key", "path_rules"));
    };
    let mut rules = PathRules::default();
    for (key, v) in map {
        match key.as_str() {
            // Go clamps a negative maximum to 0 (unlimited).
            "max_artifact_paths" => {
                rules.max_artifact_paths = match v {
                    Value::Number(n) if n.as_i64().is_some_and(|i| i <= 0) => 0,
                    Value::Number(n) if n.as_u64().is_some() => n.as_u64().unwrap_or(0),
                    _ => {
                        return Err(Error::invalid_input("path_rules.max_artifact_paths: expected an integer")
                            .with("key", key.as_str()));
                    }
                }
            }
            "forbidden_prefixes" => rules.forbidden_prefixes = string_list(v, "path_rules.forbidden_prefixes")?,
            "allowed_prefixes" => rules.allowed_prefixes = string_list(v, "path_rules.allowed_prefixes")?,
            other if other.starts_with("x-") => {}
            other => return Err(Error::invalid_input(format!("path_rules: unknown key {other:?}")).with("key", other)),
        }
    }
    Ok(rules)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_journey_config_parses() {
        let c = parse(include_str!("../../tests/fixtures/go-wrkr/journey.accept.yaml")).unwrap();
        assert_eq!(c.required_artifacts, ["reports/result.md"]);
        assert_eq!(c.test_command, Some(CommandCheck { command: "true".into(), timeout_seconds: 600 }));
        assert_eq!(c.path_rules, Some(PathRules::default()));
    }

    #[test]
    fn template_parses() {
        let c = parse(TEMPLATE).unwrap();
        assert_eq!(c.required_checkpoint_types, ["completed", "plan"]);
        assert!(c.commands.is_empty());
    }

    #[test]
    fn unconfigured_checks_are_absent_not_passed() {
        let c = parse("required_artifacts: []\n").unwrap();
        assert_eq!(c.test_command, None);
        assert_eq!(c.lint_command, None);
        assert_eq!(c.path_rules, None);
    }

    #[test]
    fn extras_and_overrides() {
        let c = parse("timeout_seconds: 5\ncommands:\n  docs: test -f README.md\n  slow: {command: sleep 1, timeout_seconds: 2}\nx-team: core\nmax_budget_use: 0.9\n").unwrap();
        assert_eq!(
            c.commands[0],
            ("docs".into(), CommandCheck { command: "test -f README.md".into(), timeout_seconds: 5 })
        );
        assert_eq!(c.commands[1].1.timeout_seconds, 2);
        assert_eq!(c.max_budget_use, Some(0.9));
        let c = parse("path_rules: {max_artifact_paths: -3, allowed_prefixes: [' b', a, a]}\n").unwrap();
        assert_eq!(
            c.path_rules.unwrap(),
            PathRules {
                max_artifact_paths: 0,
                forbidden_prefixes: vec![],
                allowed_prefixes: vec!["a".into(), "b".into()]
            }
        );
    }

    #[test]
    fn mistakes_are_errors() {
        for (text, want) in [
            ("test_comand: make test\n", "unknown key \"test_comand\""),
            ("path_rules: {allow_prefixes: [a]}\n", "unknown key \"allow_prefixes\""),
            ("required_artifacts: reports\n", "expected a list"),
            ("timeout_seconds: 0\n", "positive integer"),
            ("required_checkpoint_types: [done]\n", "unknown type"),
            ("max_budget_use: -1\n", "fraction"),
            ("commands: {\"bad name\": x}\n", "must match"),
            ("a: 1\na: 2\n", "invalid YAML"),
            ("[1, 2]\n", "expected a mapping"),
        ] {
            let err = parse(text).unwrap_err();
            assert_eq!(err.exit_code(), 6, "{text}");
            assert!(err.message.contains(want), "{want:?} in {err}");
        }
    }
}
