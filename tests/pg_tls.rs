//! TLS to the PostgreSQL store (src/store/pg/tls.rs), against real servers listening on
//! 127.0.0.1: one with `ssl=on`, a certificate for `localhost` signed by a CA made here with the
//! openssl CLI, and a `pg_hba.conf` that admits TCP clients only over TLS (so a connection that
//! works there was encrypted); one without TLS. Skipped with a printed reason when no server (or
//! no openssl) is here, failed under `CI=true`.

#[macro_use]
mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use support::Sandbox;
use support::pg::{Cluster, Setup, free_port, own_cluster};

/// The CA files of the test: the one that signed the server's certificate, and another.
struct Pki {
    dir: tempfile::TempDir,
}

impl Pki {
    fn ca(&self) -> PathBuf {
        self.dir.path().join("ca.crt")
    }

    fn other_ca(&self) -> PathBuf {
        self.dir.path().join("other.crt")
    }
}

struct Servers {
    pki: Pki,
    tls: Cluster,
    tls_port: u16,
    clear: Cluster,
    clear_port: u16,
}

fn openssl(dir: &Path, args: &[&str]) -> Result<(), String> {
    let out = Command::new("openssl").args(args).current_dir(dir).output().map_err(|e| format!("openssl: {e}"))?;
    if out.status.success() {
        return Ok(());
    }
    Err(format!("openssl {args:?}: {}", String::from_utf8_lossy(&out.stderr)))
}

/// A CA, another CA, and a server certificate for DNS name `localhost` (not for 127.0.0.1).
fn make_pki() -> Result<Pki, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
    for (name, cn) in [("ca", "wrkr test CA"), ("other", "some other CA")] {
        let key = format!("{name}.key");
        let crt = format!("{name}.crt");
        let subject = format!("/CN={cn}");
        let mut args = vec!["req", "-x509"];
        args.extend(ec);
        args.extend(["-keyout", &key, "-out", &crt, "-days", "2", "-subj", &subject]);
        args.extend([
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,cRLSign",
        ]);
        openssl(dir.path(), &args)?;
    }
    let mut args = vec!["req"];
    args.extend(ec);
    args.extend(["-keyout", "server.key", "-out", "server.csr", "-subj", "/CN=localhost"]);
    openssl(dir.path(), &args)?;
    std::fs::write(
        dir.path().join("server.ext"),
        "subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n",
    )
    .map_err(|e| e.to_string())?;
    openssl(
        dir.path(),
        &[
            "x509",
            "-req",
            "-in",
            "server.csr",
            "-CA",
            "ca.crt",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "server.crt",
            "-days",
            "2",
            "-extfile",
            "server.ext",
        ],
    )?;
    Ok(Pki { dir })
}

fn servers() -> Option<&'static Servers> {
    static SERVERS: OnceLock<Option<Servers>> = OnceLock::new();
    SERVERS
        .get_or_init(|| {
            let pki = match make_pki() {
                Ok(pki) => pki,
                Err(why) if std::env::var("CI").is_ok_and(|v| v == "true") => panic!("CI=true and {why}"),
                Err(why) => {
                    eprintln!("SKIPPED (TLS): {why}");
                    return None;
                }
            };
            let read = |name: &str| std::fs::read(pki.dir.path().join(name)).unwrap();
            let tls_port = free_port();
            let tls = own_cluster(&Setup {
                files: vec![("server.crt".into(), read("server.crt")), ("server.key".into(), read("server.key"))],
                hba: Some("local all all trust\nhostssl all all 127.0.0.1/32 trust\n".into()),
                options:
                    "-c listen_addresses=127.0.0.1 -c ssl=on -c ssl_cert_file=server.crt -c ssl_key_file=server.key"
                        .into(),
                port: Some(tls_port),
            })?;
            let clear_port = free_port();
            let clear = own_cluster(&Setup {
                options: "-c listen_addresses=127.0.0.1 -c ssl=off".into(),
                port: Some(clear_port),
                ..Setup::default()
            })?;
            Some(Servers { pki, tls, tls_port, clear, clear_port })
        })
        .as_ref()
}

/// A sandbox on a new database of `cluster`, reached over TCP as `host:port` with `params`.
fn sandbox(cluster: &Cluster, host: &str, port: u16, params: &str) -> Sandbox {
    let unix = cluster.database();
    let database = support::pg::database_of(&unix);
    let mut sandbox = Sandbox::new();
    sandbox.store = Some(format!("postgres://wrkr@{host}:{port}/{database}?{params}"));
    sandbox
}

/// `wrkr store migrate` and a job created and read back: the store works over this connection.
fn works(sandbox: &Sandbox) {
    sandbox.wrkr().args(["store", "migrate"]).assert().success();
    sandbox.create_job("j");
    assert_eq!(sandbox.ledger("j").len(), 1);
}

/// A refusal: its exit code, reason code and details.tls.
fn refused(sandbox: &Sandbox) -> (Option<i32>, String, String) {
    let out = sandbox.wrkr().args(["--json", "store", "version"]).output().unwrap();
    let envelope = support::envelope(&out.stderr);
    (
        out.status.code(),
        envelope["code"].as_str().unwrap_or("").to_owned(),
        envelope["details"]["tls"].as_str().unwrap_or("").to_owned(),
    )
}

#[test]
fn require_encrypts() {
    let Some(s) = servers() else { return };
    works(&sandbox(&s.tls, "127.0.0.1", s.tls_port, "sslmode=require"));
    // The server admits TCP clients over TLS only: in clear, the same URL is turned away.
    let clear = sandbox(&s.tls, "127.0.0.1", s.tls_port, "sslmode=disable");
    let out = clear.wrkr().args(["--json", "store", "version"]).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("no encryption"), "{}", String::from_utf8_lossy(&out.stderr));
    // prefer (the default) takes TLS when the server offers it.
    works(&sandbox(&s.tls, "127.0.0.1", s.tls_port, "application_name=t"));
}

#[test]
fn verify_full_with_the_right_ca() {
    let Some(s) = servers() else { return };
    let ca = s.pki.ca();
    works(&sandbox(&s.tls, "localhost", s.tls_port, &format!("sslmode=verify-full&sslrootcert={}", ca.display())));
    // The same from libpq's variables; verify-ca does not check the name, so 127.0.0.1 passes.
    let mut env_only = sandbox(&s.tls, "127.0.0.1", s.tls_port, "");
    env_only.store = env_only.store.map(|url| url.trim_end_matches('?').to_owned());
    let out = env_only
        .wrkr()
        .env("PGSSLMODE", "verify-ca")
        .env("PGSSLROOTCERT", &ca)
        .args(["store", "migrate"])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
}

#[test]
fn verify_full_refuses_a_wrong_ca_or_host() {
    let Some(s) = servers() else { return };
    let other = format!("sslmode=verify-full&sslrootcert={}", s.pki.other_ca().display());
    assert_eq!(
        refused(&sandbox(&s.tls, "localhost", s.tls_port, &other)),
        (Some(8), "E_UNSAFE_OPERATION".to_owned(), "unknown_issuer".to_owned())
    );
    let right = format!("sslmode=verify-full&sslrootcert={}", s.pki.ca().display());
    assert_eq!(
        refused(&sandbox(&s.tls, "127.0.0.1", s.tls_port, &right)),
        (Some(8), "E_UNSAFE_OPERATION".to_owned(), "name_mismatch".to_owned())
    );
    // A CA file in require mode is used as libpq uses it: the chain is checked.
    let require_other = format!("sslmode=require&sslrootcert={}", s.pki.other_ca().display());
    assert_eq!(refused(&sandbox(&s.tls, "localhost", s.tls_port, &require_other)).2, "unknown_issuer");
    // No CA file at all for verify-full: refused before connecting.
    let (code, reason, _) = refused(&sandbox(&s.tls, "localhost", s.tls_port, "sslmode=verify-full"));
    assert_eq!((code, reason.as_str()), (Some(6), "E_INVALID_INPUT_SCHEMA"));
}

#[test]
fn prefer_connects_to_a_server_without_tls() {
    let Some(s) = servers() else { return };
    works(&sandbox(&s.clear, "127.0.0.1", s.clear_port, "sslmode=prefer"));
    let required = sandbox(&s.clear, "127.0.0.1", s.clear_port, "sslmode=require");
    assert_eq!(refused(&required), (Some(8), "E_UNSAFE_OPERATION".to_owned(), "no_tls".to_owned()));
}
