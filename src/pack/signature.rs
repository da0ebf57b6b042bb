//! Detached ed25519 signatures for jobpacks: `jobpack_<id>.zip.sig` next to the pack.
//!
//! The pack is never changed (Go's closed schemas and undeclared-entry check forbid new fields or
//! entries), so a signed pack still verifies under Go. The signed message is exactly the ASCII bytes
//!
//! ```text
//! wrkr.jobpack.v1\n<job_id>\n<manifest_sha256>\n
//! ```
//!
//! which covers every declared file transitively (the manifest hash covers the file hashes). The
//! `.sig` file is one JCS JSON object plus `\n`: `schema_id` `wrkr.jobpack_signature`,
//! `schema_version`, `algorithm` `ed25519`, `message_format` `wrkr.jobpack.v1`, `key_id` (first 16
//! hex digits of sha256 of the 32-byte public key), `public_key` (64 hex), `job_id`,
//! `manifest_sha256`, `signature` (128 hex). Keys are JSON files too: the private key file holds
//! the 32-byte seed in hex and is written with mode 0600.
//!
//! Without a trusted public key a `.sig` is only checked for form (fields, the pack's job id and
//! hash, a signature valid under its *own* embedded key): that catches a corrupt or stale file but
//! proves nothing about who signed. With one (`--pubkey`), the signature must verify under it.
//! Verification uses `verify_strict` (no malleable or small-order keys).

use std::fs::File;
use std::io::Read;
use std::path::{Path, PathBuf};

use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::Serialize;
use serde_json::Value;

use crate::contract::{Error, ReasonCode, Result, SCHEMA_VERSION};
use crate::digest::{hex, hex_decode, sha256_hex};
use crate::{jcs, json};

pub const SIGNATURE_SCHEMA_ID: &str = "wrkr.jobpack_signature";
pub const SIGNING_KEY_SCHEMA_ID: &str = "wrkr.signing_key";
pub const PUBLIC_KEY_SCHEMA_ID: &str = "wrkr.public_key";
pub const MESSAGE_FORMAT: &str = "wrkr.jobpack.v1";
/// Key files written by `wrkr keygen`.
pub const PRIVATE_KEY_FILE: &str = "wrkr_ed25519.key";
pub const PUBLIC_KEY_FILE: &str = "wrkr_ed25519.pub";

/// The `.sig` document.
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct SignatureDoc {
    pub schema_id: String,
    pub schema_version: String,
    pub algorithm: String,
    pub message_format: String,
    pub key_id: String,
    pub public_key: String,
    pub job_id: String,
    pub manifest_sha256: String,
    pub signature: String,
}

/// The exact bytes that are signed.
pub fn message(job_id: &str, manifest_sha256: &str) -> Vec<u8> {
    format!("{MESSAGE_FORMAT}\n{job_id}\n{manifest_sha256}\n").into_bytes()
}

/// First 16 hex digits of sha256(public key bytes).
pub fn key_id(key: &VerifyingKey) -> String {
    sha256_hex(key.as_bytes())[..16].to_owned()
}

/// `<pack>.sig`.
pub fn sig_path(pack: &Path) -> PathBuf {
    let mut name = pack.as_os_str().to_owned();
    name.push(".sig");
    PathBuf::from(name)
}

fn bad_signature(message: impl Into<String>) -> Error {
    Error::new(ReasonCode::VerifyHashMismatch, message).with("check", "signature")
}

/// A new key from 32 bytes of `/dev/urandom`.
pub fn generate() -> Result<SigningKey> {
    let mut seed = [0u8; 32];
    File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut seed))
        .map_err(|e| Error::io("read /dev/urandom", e))?;
    Ok(SigningKey::from_bytes(&seed))
}

/// The private key file's JSON.
pub fn signing_key_json(key: &SigningKey) -> Vec<u8> {
    let public = key.verifying_key();
    let mut out = jcs::to_vec(&serde_json::json!({
        "schema_id": SIGNING_KEY_SCHEMA_ID, "schema_version": SCHEMA_VERSION, "algorithm": "ed25519",
        "key_id": key_id(&public), "public_key": hex(public.as_bytes()), "private_key": hex(&key.to_bytes()),
    }));
    out.push(b'\n');
    out
}

/// The public key file's JSON.
pub fn public_key_json(key: &VerifyingKey) -> Vec<u8> {
    let mut out = jcs::to_vec(&serde_json::json!({
        "schema_id": PUBLIC_KEY_SCHEMA_ID, "schema_version": SCHEMA_VERSION, "algorithm": "ed25519",
        "key_id": key_id(key), "public_key": hex(key.as_bytes()),
    }));
    out.push(b'\n');
    out
}

/// A key or signature file is a few hundred bytes; stdin (`-`) is read up to this much.
const MAX_STDIN_KEY_BYTES: u64 = 64 * 1024;

/// The file's bytes; `-` is stdin (`wrkr verify PACK --pubkey -`, `--sig -`), bounded.
fn read_or_stdin(path: &Path) -> std::io::Result<Vec<u8>> {
    if path != Path::new("-") {
        return std::fs::read(path);
    }
    let mut bytes = Vec::new();
    std::io::Read::read_to_end(&mut std::io::Read::take(std::io::stdin().lock(), MAX_STDIN_KEY_BYTES), &mut bytes)?;
    Ok(bytes)
}

fn read_key_file(path: &Path) -> Result<serde_json::Map<String, Value>> {
    let bytes = read_or_stdin(path).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => Error::invalid_input(format!("key file {}: no such file", path.display())),
        _ => Error::io(format!("read {}", path.display()), e),
    })?;
    json::parse_object(&bytes).map_err(|e| Error::invalid_input(format!("key file {}: {e}", path.display())))
}

fn hex32(map: &serde_json::Map<String, Value>, key: &str, path: &Path) -> Result<[u8; 32]> {
    map.get(key)
        .and_then(Value::as_str)
        .and_then(hex_decode)
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .ok_or_else(|| Error::invalid_input(format!("key file {}: {key} is not 64 hex digits", path.display())))
}

/// Load a private key file (`wrkr keygen` output).
pub fn load_signing_key(path: &Path) -> Result<SigningKey> {
    let map = read_key_file(path)?;
    if map.get("schema_id").and_then(Value::as_str) != Some(SIGNING_KEY_SCHEMA_ID) {
        return Err(Error::invalid_input(format!("{} is not a wrkr signing key", path.display()))
            .with_hint("wrkr keygen writes one (wrkr_ed25519.key)"));
    }
    let key = SigningKey::from_bytes(&hex32(&map, "private_key", path)?);
    if hex(key.verifying_key().as_bytes()) != map.get("public_key").and_then(Value::as_str).unwrap_or_default() {
        return Err(Error::invalid_input(format!(
            "key file {}: public_key does not match private_key",
            path.display()
        )));
    }
    Ok(key)
}

/// Load a public key from a public or private key file.
pub fn load_public_key(path: &Path) -> Result<VerifyingKey> {
    let map = read_key_file(path)?;
    match map.get("schema_id").and_then(Value::as_str) {
        Some(PUBLIC_KEY_SCHEMA_ID | SIGNING_KEY_SCHEMA_ID) => {}
        _ => return Err(Error::invalid_input(format!("{} is not a wrkr public key", path.display()))),
    }
    VerifyingKey::from_bytes(&hex32(&map, "public_key", path)?)
        .map_err(|_| Error::invalid_input(format!("key file {}: not a valid ed25519 public key", path.display())))
}

/// Sign a pack's (job id, manifest hash).
pub fn sign(key: &SigningKey, job_id: &str, manifest_sha256: &str) -> SignatureDoc {
    let public = key.verifying_key();
    let signature = key.sign(&message(job_id, manifest_sha256));
    SignatureDoc {
        schema_id: SIGNATURE_SCHEMA_ID.to_owned(),
        schema_version: SCHEMA_VERSION.to_owned(),
        algorithm: "ed25519".to_owned(),
        message_format: MESSAGE_FORMAT.to_owned(),
        key_id: key_id(&public),
        public_key: hex(public.as_bytes()),
        job_id: job_id.to_owned(),
        manifest_sha256: manifest_sha256.to_owned(),
        signature: hex(&signature.to_bytes()),
    }
}

impl SignatureDoc {
    /// The `.sig` file bytes: JCS and `\n`.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = jcs::to_vec(self);
        out.push(b'\n');
        out
    }
}

/// What the signature check concluded (when it passed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// No `.sig` and no key asked for.
    Absent,
    /// A `.sig` that is well-formed and self-consistent; no trusted key given.
    WellFormed,
    /// Valid under the trusted key.
    Valid,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Absent => "absent",
            Verdict::WellFormed => "well-formed (not checked against a trusted key)",
            Verdict::Valid => "valid",
        }
    }
}

/// Check the `.sig` at `path` (if any) for a pack with this job id and manifest hash.
pub fn check(
    path: Option<&Path>,
    job_id: &str,
    manifest_sha256: &str,
    trusted: Option<&VerifyingKey>,
) -> Result<Verdict> {
    let bytes = match path.map(read_or_stdin) {
        Some(Ok(b)) => b,
        Some(Err(e)) if e.kind() != std::io::ErrorKind::NotFound => return Err(Error::io("read signature", e)),
        _ if trusted.is_some() => {
            return Err(bad_signature("signature missing")
                .with_hint("a pack verified with --pubkey needs its detached jobpack_<id>.zip.sig"));
        }
        _ => return Ok(Verdict::Absent),
    };
    let map = json::parse_object(&bytes).map_err(|e| bad_signature(format!("signature malformed: {e}")))?;
    let field = |k: &str| map.get(k).and_then(Value::as_str).unwrap_or_default();
    let known = [
        "schema_id",
        "schema_version",
        "algorithm",
        "message_format",
        "key_id",
        "public_key",
        "job_id",
        "manifest_sha256",
        "signature",
    ];
    if let Some(extra) = map.keys().find(|k| !known.contains(&k.as_str())) {
        return Err(bad_signature(format!("signature malformed: unknown field {extra:?}")));
    }
    if field("schema_id") != SIGNATURE_SCHEMA_ID
        || field("algorithm") != "ed25519"
        || field("message_format") != MESSAGE_FORMAT
    {
        return Err(bad_signature(
            "signature malformed: not a wrkr.jobpack_signature with algorithm ed25519 and message format wrkr.jobpack.v1",
        ));
    }
    if field("job_id") != job_id || field("manifest_sha256") != manifest_sha256 {
        return Err(bad_signature("signature is for a different pack")
            .with("signed_job_id", field("job_id"))
            .with("signed_manifest_sha256", field("manifest_sha256")));
    }
    let public = hex_decode(field("public_key"))
        .and_then(|b| <[u8; 32]>::try_from(b).ok())
        .and_then(|b| VerifyingKey::from_bytes(&b).ok())
        .ok_or_else(|| bad_signature("signature malformed: public_key is not an ed25519 key"))?;
    if field("key_id") != key_id(&public) {
        return Err(bad_signature("signature malformed: key_id does not match public_key"));
    }
    let signature = hex_decode(field("signature"))
        .and_then(|b| <[u8; 64]>::try_from(b).ok())
        .map(|b| Signature::from_bytes(&b))
        .ok_or_else(|| bad_signature("signature malformed: signature is not 128 hex digits"))?;
    let msg = message(job_id, manifest_sha256);
    let key = trusted.unwrap_or(&public);
    if let Some(t) = trusted
        && t.as_bytes() != public.as_bytes()
    {
        return Err(bad_signature("signature made by a different key")
            .with("key_id", key_id(t))
            .with("signed_by", field("key_id")));
    }
    key.verify_strict(&msg, &signature).map_err(|_| bad_signature("signature invalid"))?;
    Ok(if trusted.is_some() { Verdict::Valid } else { Verdict::WellFormed })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_and_check() {
        let key = SigningKey::from_bytes(&[7u8; 32]);
        let dir = tempfile::tempdir().unwrap();
        let sig = dir.path().join("p.zip.sig");
        let h = "a".repeat(64);
        std::fs::write(&sig, sign(&key, "job_x", &h).to_bytes()).unwrap();
        let public = key.verifying_key();
        assert_eq!(check(Some(&sig), "job_x", &h, Some(&public)).unwrap(), Verdict::Valid);
        assert_eq!(check(Some(&sig), "job_x", &h, None).unwrap(), Verdict::WellFormed);
        let other = SigningKey::from_bytes(&[8u8; 32]).verifying_key();
        assert_eq!(check(Some(&sig), "job_x", &h, Some(&other)).unwrap_err().exit_code(), 2);
        assert_eq!(check(Some(&sig), "job_x", &"b".repeat(64), None).unwrap_err().exit_code(), 2);
        assert_eq!(check(Some(&dir.path().join("nope")), "job_x", &h, None).unwrap(), Verdict::Absent);
        assert_eq!(
            check(Some(&dir.path().join("nope")), "job_x", &h, Some(&public)).unwrap_err().message,
            "signature missing"
        );
        assert_eq!(message("j", "h"), b"wrkr.jobpack.v1\nj\nh\n");
    }
}
