//! The v1 JSON Schemas, embedded in the binary and compiled once each, on first use.
//!
//! The schema files under `schemas/v1/` are the source; `include_str!` bakes them in, so the binary
//! never reads schemas from disk or the network. Validation follows draft 2020-12 with `format` as
//! an annotation only, as the Go implementation does: a pack that Go accepts must not fail here on
//! a format check. The validator is wrkr's own ([`crate::contract::validate`]), for the keywords
//! these schemas use.

use std::sync::OnceLock;

use serde_json::Value;

use crate::contract::validate::{Finding, Validator};
use crate::contract::{Error, Result};
use crate::json::tape::TapeNode;

/// One embedded schema.
pub struct Schema {
    /// The `schema_id` const its instances carry (`wrkr.job`).
    pub id: &'static str,
    /// Path under `schemas/v1/` (`jobpack/job.schema.json`).
    pub path: &'static str,
    pub text: &'static str,
}

impl Schema {
    /// `wrkr.job` → `job`.
    pub fn short_name(&self) -> &'static str {
        self.id.strip_prefix("wrkr.").unwrap_or(self.id)
    }

    /// The compiled validator (compiled on first use, then shared).
    pub fn validator(&self) -> &'static Validator {
        let index = SCHEMAS.iter().position(|s| s.id == self.id).unwrap_or(0);
        COMPILED[index].get_or_init(|| {
            // The schemas are ours and fixed at build time; a test compiles every one of them, so a
            // failure here can only be a broken build.
            let doc: Value =
                serde_json::from_str(self.text).unwrap_or_else(|e| panic!("embedded schema {}: {e}", self.path));
            Validator::compile(&doc).unwrap_or_else(|e| panic!("embedded schema {}: {e}", self.path))
        })
    }

    /// Whether a [`crate::json::tape::Tape`] document is valid: the same validator, reading the
    /// tape directly. Only a yes is used; findings are always reported from a `Value`.
    pub fn is_valid_tape(&self, instance: TapeNode<'_>) -> bool {
        self.validator().is_valid(instance)
    }

    /// Every violation of `instance`, with what each keyword found (for [`crate::job::jobspec`]'s
    /// plain words), in the validator's stable order.
    pub fn findings<'v>(&self, instance: &'v Value) -> Vec<Finding<'static, 'v>> {
        self.validator().findings(instance)
    }

    /// Every violation of `instance`, in the validator's (deterministic) order.
    pub fn violations(&self, instance: &Value) -> Vec<Violation> {
        self.findings(instance).into_iter().map(|f| Violation { message: f.to_string(), pointer: f.pointer }).collect()
    }

    /// `Ok` when valid; otherwise `E_INVALID_INPUT_SCHEMA` naming the first violation.
    pub fn check(&self, instance: &Value, what: &str) -> Result<()> {
        // Collecting errors costs several times a yes/no answer, and nearly every instance is valid
        // (the pack builder checks each of a job's records here).
        if self.validator().is_valid(instance) {
            return Ok(());
        }
        match self.violations(instance).into_iter().next() {
            None => Ok(()),
            Some(v) => Err(Error::invalid_input(format!(
                "{what} schema invalid: {}: {}",
                pointer_label(&v.pointer),
                v.message
            ))
            .with("schema_id", self.id)
            .with("pointer", v.pointer)
            .with("error", v.message)),
        }
    }
}

/// One schema violation: where in the instance (a JSON Pointer) and what.
#[derive(Clone, Debug, PartialEq)]
pub struct Violation {
    pub pointer: String,
    pub message: String,
}

/// The root pointer is the empty string; print it as `/` so it is visible.
pub fn pointer_label(pointer: &str) -> &str {
    if pointer.is_empty() { "/" } else { pointer }
}

macro_rules! schemas {
    ($($id:literal => $path:literal),* $(,)?) => {
        pub static SCHEMAS: &[Schema] = &[
            $(Schema { id: $id, path: $path, text: include_str!(concat!("../../schemas/v1/", $path)) },)*
        ];
        static COMPILED: [OnceLock<Validator>; [$($id),*].len()] = [const { OnceLock::new() }; [$($id),*].len()];
    };
}

schemas! {
    "wrkr.jobspec" => "jobspec/jobspec.schema.json",
    "wrkr.environment_fingerprint" => "environment_fingerprint/environment_fingerprint.schema.json",
    "wrkr.lease" => "lease/lease.schema.json",
    "wrkr.checkpoint" => "checkpoint/checkpoint.schema.json",
    "wrkr.approval_record" => "checkpoint/approval_record.schema.json",
    "wrkr.jobpack_manifest" => "jobpack/manifest.schema.json",
    "wrkr.job" => "jobpack/job.schema.json",
    "wrkr.event" => "jobpack/event.schema.json",
    "wrkr.artifacts_manifest" => "jobpack/artifacts_manifest.schema.json",
    "wrkr.accept_result" => "accept/accept_result.schema.json",
    "wrkr.status_response" => "status/status_response.schema.json",
    "wrkr.work_item" => "bridge/work_item.schema.json",
    "wrkr.github_summary" => "report/github_summary.schema.json",
    "wrkr.error_envelope" => "serve/error_envelope.schema.json",
}

/// The OpenAPI document of `wrkr serve`.
pub const OPENAPI: &str = include_str!("../../schemas/v1/serve/api.openapi.json");

/// Find a schema by `schema_id` (`wrkr.job`), short name (`job`) or path (`jobpack/job.schema.json`).
pub fn find(name: &str) -> Option<&'static Schema> {
    SCHEMAS.iter().find(|s| s.id == name || s.short_name() == name || s.path == name)
}

/// The schema an instance names with its `schema_id`, or `E_INVALID_INPUT_SCHEMA`.
pub fn for_instance(instance: &Value) -> Result<&'static Schema> {
    match instance.get("schema_id") {
        Some(Value::String(id)) => find(id).filter(|s| s.id == id.as_str()).ok_or_else(|| {
            Error::invalid_input(format!("unknown schema_id {id:?}"))
                .with("schema_id", id.as_str())
                .with_hint("wrkr schema list")
        }),
        Some(_) => Err(Error::invalid_input("schema_id is not a string").with("pointer", "/schema_id")),
        None => Err(Error::invalid_input("record has no schema_id").with_hint("name a schema with --schema NAME")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_schema_compiles_and_names_its_id() {
        assert_eq!(SCHEMAS.len(), 14);
        for schema in SCHEMAS {
            let doc: Value = serde_json::from_str(schema.text).unwrap();
            assert_eq!(doc["$id"], format!("https://wrkr.dev/schemas/v1/{}", schema.path));
            assert_eq!(doc["properties"]["schema_id"]["const"], schema.id, "{}", schema.path);
            let _ = schema.validator();
        }
        let openapi: Value = serde_json::from_str(OPENAPI).unwrap();
        assert_eq!(openapi["openapi"], "3.1.0");
    }

    #[test]
    fn lookup_by_any_name() {
        assert_eq!(find("job").map(|s| s.id), Some("wrkr.job"));
        assert_eq!(find("wrkr.job").map(|s| s.id), Some("wrkr.job"));
        assert_eq!(find("jobpack/job.schema.json").map(|s| s.id), Some("wrkr.job"));
        assert!(find("nope").is_none());
    }
}
