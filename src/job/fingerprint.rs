//! The environment fingerprint: a hash of the facts a job's rules name, so that `resume` can tell
//! whether it runs where the job started.
//!
//! `hash = sha256(JCS({"rules": [...], "values": {rule: value}}))`, with rules trimmed, deduped and
//! sorted, and `["arch", "go_version", "os"]` when none are given, exactly as the Go implementation
//! computes it. `os` and `arch` use Go's spellings (`linux`, `darwin`, `amd64`, `arm64`) so that a
//! fingerprint taken by either implementation on the same machine matches. `go_version` is accepted
//! (Go's default rules list it); its value is this program's toolchain string, so it mismatches a
//! Go-made baseline, which is what the `--force-env` override is for.

use std::collections::BTreeMap;

use serde_json::json;

use crate::contract::time::Timestamp;
use crate::contract::{Error, PRODUCER_VERSION, Result};
use crate::{digest, jcs};

pub const DEFAULT_RULES: [&str; 3] = ["arch", "go_version", "os"];

/// A captured fingerprint (the payload of an `env_fingerprint_set` event).
#[derive(Clone, Debug, PartialEq)]
pub struct Fingerprint {
    pub rules: Vec<String>,
    pub values: BTreeMap<String, String>,
    pub hash: String,
    pub captured_at: Timestamp,
}

impl Fingerprint {
    /// The event payload, keys as Go writes them.
    pub fn to_json(&self) -> serde_json::Value {
        json!({
            "rules": self.rules,
            "values": self.values,
            "hash": self.hash,
            "captured_at": self.captured_at.to_string(),
        })
    }
}

/// Trim, drop empties, dedupe and sort; the defaults when nothing is left.
pub fn normalize_rules<S: AsRef<str>>(rules: &[S]) -> Vec<String> {
    let mut out: Vec<String> = rules.iter().map(|r| r.as_ref().trim().to_owned()).filter(|r| !r.is_empty()).collect();
    if out.is_empty() {
        out = DEFAULT_RULES.iter().map(|r| (*r).to_owned()).collect();
    }
    out.sort();
    out.dedup();
    out
}

/// Check that every rule is one we can capture (before any job is created).
pub fn validate_rules<S: AsRef<str>>(rules: &[S]) -> Result<()> {
    for rule in normalize_rules(rules) {
        if !is_known(&rule) {
            return Err(Error::invalid_input(format!("unsupported environment fingerprint rule {rule:?}"))
                .with("rule", rule)
                .with_hint("rules are os, arch, go_version, cwd, hostname and env:NAME"));
        }
    }
    Ok(())
}

fn is_known(rule: &str) -> bool {
    matches!(rule, "os" | "arch" | "go_version" | "cwd" | "hostname")
        || rule.strip_prefix("env:").is_some_and(|name| !name.is_empty())
}

/// Capture the fingerprint for `rules` now.
pub fn capture<S: AsRef<str>>(rules: &[S]) -> Result<Fingerprint> {
    validate_rules(rules)?;
    let rules = normalize_rules(rules);
    let values: BTreeMap<String, String> = rules.iter().map(|r| (r.clone(), value_of(r))).collect();
    let hash = hash(&rules, &values);
    Ok(Fingerprint { rules, values, hash, captured_at: Timestamp::now() })
}

/// The fingerprint hash of rules and their values.
pub fn hash(rules: &[String], values: &BTreeMap<String, String>) -> String {
    digest::sha256_hex(&jcs::to_vec(&json!({"rules": rules, "values": values})))
}

fn value_of(rule: &str) -> String {
    match rule {
        "os" => go_os().to_owned(),
        "arch" => go_arch().to_owned(),
        "go_version" => format!("wrkr-rs/{PRODUCER_VERSION}"),
        "cwd" => std::env::current_dir().map(|p| p.display().to_string()).unwrap_or_default(),
        "hostname" => hostname(),
        _ => rule.strip_prefix("env:").and_then(|name| std::env::var(name).ok()).unwrap_or_default(),
    }
}

/// `std::env::consts::OS` in Go's GOOS spelling.
pub fn go_os() -> &'static str {
    match std::env::consts::OS {
        "macos" => "darwin",
        other => other,
    }
}

/// `std::env::consts::ARCH` in Go's GOARCH spelling.
pub fn go_arch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "x86" => "386",
        "powerpc64" => "ppc64",
        "loongarch64" => "loong64",
        other => other,
    }
}

pub fn hostname() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .or_else(|_| std::fs::read_to_string("/etc/hostname"))
        .map(|s| s.trim().to_owned())
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Digest 6.2's vector.
    #[test]
    fn go_test_vector() {
        let rules = normalize_rules(&["os", "arch"]);
        let values = BTreeMap::from([("arch".to_owned(), "arm64".to_owned()), ("os".to_owned(), "darwin".to_owned())]);
        assert_eq!(hash(&rules, &values), "cacf3b8e0a13e5dbcb04dd3e74db1e1ec50bca3ac7952d270ee01b40136db450");
    }

    #[test]
    fn rules_normalised_like_go() {
        assert_eq!(normalize_rules::<&str>(&[]), ["arch", "go_version", "os"]);
        assert_eq!(normalize_rules(&[" ", ""]), ["arch", "go_version", "os"]);
        assert_eq!(normalize_rules(&["os", " arch ", "os", "env:X"]), ["arch", "env:X", "os"]);
    }

    #[test]
    fn unknown_rules_are_bad_input() {
        assert_eq!(validate_rules(&["os", "kernel"]).unwrap_err().exit_code(), 6);
        assert_eq!(validate_rules(&["env:"]).unwrap_err().exit_code(), 6);
        assert!(validate_rules(&["env:HOME", "cwd", "hostname", "go_version"]).is_ok());
    }

    #[test]
    fn capture_uses_go_spellings() {
        let fp = capture(&["os", "arch"]).unwrap();
        assert_eq!(fp.values["os"], go_os());
        assert!(!fp.values["arch"].contains("x86_64") && !fp.values["arch"].contains("aarch64"));
        assert!(digest::is_sha256_hex(&fp.hash));
    }
}
