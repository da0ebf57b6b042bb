//! `manifest.json`: what a jobpack declares, and the self-hash that seals it (digest 2.4).
//!
//! `files` lists every entry except `manifest.json` with the sha256 of its raw bytes, sorted by
//! path. `manifest_sha256` is the sha256 of the JCS bytes of the manifest with that field set to 64
//! ASCII zeros. On verify the hash is recomputed the way Go does it: from the decoded fields, with
//! `created_at` re-serialised through [`Timestamp`] (Go's RFC3339Nano), never from the raw bytes, so
//! whitespace and key order in the file do not matter but a non-normalised timestamp does.
//!
//! Decoding mirrors Go's typed decode (step 0c of verify): a field of the wrong JSON type, or a
//! `created_at` that is not RFC 3339, is "cannot decode" (exit 1); a missing or unknown field decodes
//! fine and is left to the schema check (exit 6).

use serde::Serialize;
use serde_json::{Map, Value};

use crate::contract::time::Timestamp;
use crate::contract::{PRODUCER_VERSION, SCHEMA_VERSION};
use crate::digest::sha256_hex;
use crate::jcs;

pub const SCHEMA_ID: &str = "wrkr.jobpack_manifest";
const ZEROS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One declared file: its entry name and the sha256 of its raw bytes.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct FileDigest {
    pub path: String,
    pub sha256: String,
}

/// The manifest, with its fields in the v1 contract order.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Manifest {
    pub schema_id: String,
    pub schema_version: String,
    #[serde(serialize_with = "as_go_time")]
    pub created_at: Timestamp,
    pub producer_version: String,
    pub job_id: String,
    pub manifest_sha256: String,
    pub files: Vec<FileDigest>,
}

fn as_go_time<S: serde::Serializer>(t: &Timestamp, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(t)
}

impl Manifest {
    /// A sealed manifest for `files` (sorted here), made by this binary.
    pub fn seal(job_id: &str, created_at: Timestamp, mut files: Vec<FileDigest>) -> Manifest {
        files.sort();
        let mut manifest = Manifest {
            schema_id: SCHEMA_ID.to_owned(),
            schema_version: SCHEMA_VERSION.to_owned(),
            created_at,
            producer_version: PRODUCER_VERSION.to_owned(),
            job_id: job_id.to_owned(),
            manifest_sha256: String::new(),
            files,
        };
        manifest.manifest_sha256 = manifest.compute_sha256();
        manifest
    }

    /// sha256 of JCS(manifest with `manifest_sha256` = 64 zeros).
    pub fn compute_sha256(&self) -> String {
        let zeroed = Manifest { manifest_sha256: ZEROS.to_owned(), ..self.clone() };
        sha256_hex(&jcs::to_vec(&zeroed))
    }

    /// The bytes of `manifest.json`.
    pub fn to_jcs(&self) -> Vec<u8> {
        jcs::to_vec(self)
    }

    /// Decode like Go's typed decode: wrong types and bad timestamps fail; absent fields default.
    pub fn decode(value: &Value) -> Result<Manifest, String> {
        let Value::Object(map) = value else { return Err("manifest is not a JSON object".to_owned()) };
        let created_at = match map.get("created_at") {
            None | Some(Value::Null) => Timestamp::from_unix(-62_135_596_800, 0),
            Some(Value::String(s)) => {
                Timestamp::parse(s).ok_or_else(|| format!("created_at {s:?} is not an RFC 3339 time"))?
            }
            Some(_) => return Err("created_at is not a string".to_owned()),
        };
        let files = match map.get("files") {
            None | Some(Value::Null) => Vec::new(),
            Some(Value::Array(items)) => items
                .iter()
                .map(|item| match item {
                    Value::Object(f) => Ok(FileDigest { path: string(f, "path")?, sha256: string(f, "sha256")? }),
                    Value::Null => Ok(FileDigest { path: String::new(), sha256: String::new() }),
                    _ => Err("files[] item is not an object".to_owned()),
                })
                .collect::<Result<_, _>>()?,
            Some(_) => return Err("files is not an array".to_owned()),
        };
        Ok(Manifest {
            schema_id: string(map, "schema_id")?,
            schema_version: string(map, "schema_version")?,
            created_at,
            producer_version: string(map, "producer_version")?,
            job_id: string(map, "job_id")?,
            manifest_sha256: string(map, "manifest_sha256")?,
            files,
        })
    }
}

fn string(map: &Map<String, Value>, key: &str) -> Result<String, String> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(String::new()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => Err(format!("{key} is not a string")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Digest 2.4's test vector: job.json = `{}`, created_at 2026-02-13T18:00:00Z, producer `test`.
    #[test]
    fn digest_test_vector() {
        let files = vec![FileDigest { path: "job.json".into(), sha256: sha256_hex(b"{}") }];
        let created = Timestamp::parse("2026-02-13T18:00:00Z").unwrap();
        let mut m = Manifest::seal("job_x", created, files);
        m.producer_version = "test".into();
        let zeroed = Manifest { manifest_sha256: ZEROS.into(), ..m.clone() };
        assert_eq!(
            String::from_utf8(jcs::to_vec(&zeroed)).unwrap(),
            r#"{"created_at":"2026-02-13T18:00:00Z","files":[{"path":"job.json","sha256":"44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"}],"job_id":"job_x","manifest_sha256":"0000000000000000000000000000000000000000000000000000000000000000","producer_version":"test","schema_id":"wrkr.jobpack_manifest","schema_version":"v1"}"#
        );
        assert_eq!(m.compute_sha256(), "e8326b0b85c46b59c4dc3116e2d0c643e76c7b5db3664bdb343433800a3e7932");
    }

    #[test]
    fn decode_normalises_time_and_rejects_wrong_types() {
        let v: Value = serde_json::json!({"created_at": "2026-02-13T18:00:00.120+00:00", "files": []});
        let m = Manifest::decode(&v).unwrap();
        assert_eq!(m.created_at.to_string(), "2026-02-13T18:00:00.12Z");
        assert!(Manifest::decode(&serde_json::json!({"job_id": 3})).is_err());
        assert!(Manifest::decode(&serde_json::json!({"created_at": "yesterday"})).is_err());
        assert!(Manifest::decode(&serde_json::json!([])).is_err());
    }
}
