//! `wrkr serve` against hostile clients: bad tokens, oversized bodies and heads, slow clients,
//! path tricks. Each test starts its own server on an ephemeral loopback port and stops it; every
//! loop is bounded in count and time.

mod support;

use std::io::{Read, Write};
use std::time::{Duration, Instant};

use support::Sandbox;
use support::http::{Server, connect, request};

const TOKEN: &str = "s3cret-serve-token-0123456789";

#[test]
fn auth_requires_bearer_token() {
    let sb = Sandbox::new();
    let server = Server::start(&sb, &[], &[("WRKR_SERVE_TOKEN", TOKEN)]);
    assert_eq!(server.started["auth_enabled"], true);
    let bearer = format!("Bearer {TOKEN}");
    let lower = format!("bearer {TOKEN}");
    for (header, want) in [
        (None, 401),
        (Some("Bearer wrong-token"), 401),
        (Some(TOKEN), 401),
        (Some("Basic czNjcmV0"), 401),
        (Some(bearer.as_str()), 200),
        (Some(lower.as_str()), 200),
    ] {
        let headers: Vec<(&str, &str)> = header.map(|h| ("authorization", h)).into_iter().collect();
        let resp = request(server.addr, "GET", "/healthz", &headers, None);
        assert_eq!(resp.status, want, "{header:?}");
        if want == 401 {
            assert_eq!(resp.header("www-authenticate"), Some("Bearer realm=\"wrkr\""));
            assert_eq!(resp.json()["code"], "E_UNSAFE_OPERATION");
        }
    }
    // Unknown paths are behind auth too (no route probing without the token).
    assert_eq!(server.get("/v1/anything").status, 401);
    let started = server.started.to_string();
    let log = server.stop();
    assert!(!log.contains(TOKEN) && !started.contains(TOKEN), "the token leaked");
    assert!(log.contains("\"status\":401"));
}

#[test]
fn oversized_body_is_413_without_buffering() {
    let sb = Sandbox::new();
    let server = Server::start(&sb, &["--max-body-bytes", "1048576"], &[]);
    let body = vec![b' '; 2_000_000];
    let warm = request(server.addr, "POST", "/v1/jobs:submit", &[], Some(b"{}"));
    assert_eq!(warm.status, 400);
    let before = server.rss_kib();
    // Declared length over the limit: refused before the body is read.
    let declared = request(server.addr, "POST", "/v1/jobs:submit", &[], Some(&body));
    assert_eq!(declared.status, 413);
    assert_eq!(declared.json()["code"], "E_UNSAFE_OPERATION");
    assert_eq!(declared.json()["details"]["limit"], 1_048_576);
    // Chunked, no length: refused as soon as the streamed body passes the limit.
    let mut stream = connect(server.addr);
    let head = "POST /v1/jobs:submit HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
    let _ = stream.write_all(head.as_bytes());
    for _ in 0..32 {
        let chunk = [b' '; 65_536];
        if stream.write_all(format!("{:x}\r\n", chunk.len()).as_bytes()).is_err()
            || stream.write_all(&chunk).is_err()
            || stream.write_all(b"\r\n").is_err()
        {
            break;
        }
    }
    let _ = stream.write_all(b"0\r\n\r\n");
    let chunked = support::http::read_response(&mut stream);
    assert_eq!(chunked.status, 413);
    let after = server.rss_kib();
    assert!(after < before + 2048, "RSS grew from {before} KiB to {after} KiB");
}

#[test]
fn oversized_head_is_431() {
    let sb = Sandbox::new();
    let server = Server::start(&sb, &[], &[]);
    let big = "a".repeat(64 * 1024);
    let resp = request(server.addr, "GET", "/healthz", &[("x-big", &big)], None);
    assert_eq!(resp.status, 431);
    assert_eq!(server.get("/healthz").status, 200);
}

/// 200 connections each sending one byte a second do not stop a normal request from being
/// answered within a second; the header timeout then closes them.
#[test]
fn slow_connections_do_not_starve_the_server() {
    let sb = Sandbox::new();
    let server = Server::start(&sb, &["--header-timeout", "2"], &[]);
    let mut slow: Vec<_> = (0..200).map(|_| connect(server.addr)).collect();
    let prefix = b"GET /healthz HTTP/1.1\r\nX-Slow: ";
    let started = Instant::now();
    let mut answered = 0;
    for second in 0..3 {
        for s in &mut slow {
            let _ = s.write_all(&prefix[second..=second]);
        }
        let t = Instant::now();
        let resp = server.get("/healthz");
        assert_eq!(resp.status, 200);
        assert!(t.elapsed() < Duration::from_secs(1), "normal request took {:?}", t.elapsed());
        answered += 1;
        std::thread::sleep(Duration::from_millis(1000).saturating_sub(t.elapsed()));
    }
    assert_eq!(answered, 3);
    // The header timeout (2 s) closes the slow connections: each read ends (EOF or reset)
    // instead of timing out. Bounded: at most 8 s from the start for all of them.
    let deadline = started + Duration::from_secs(8);
    let mut closed = 0;
    for s in &mut slow {
        let left = deadline.saturating_duration_since(Instant::now()).max(Duration::from_millis(10));
        s.set_read_timeout(Some(left)).unwrap();
        let mut buf = [0u8; 256];
        match s.read(&mut buf) {
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {}
            _ => closed += 1,
        }
    }
    assert_eq!(closed, 200, "only {closed} of 200 slow connections were closed");
    assert!(started.elapsed() < Duration::from_secs(15));
}

#[test]
fn path_tricks_are_unsafe() {
    let sb = Sandbox::new();
    sb.wrkr().args(["init"]).assert().success();
    let outside = tempfile::tempdir().unwrap();
    std::fs::copy(sb.work().join("jobspec.yaml"), outside.path().join("spec.yaml")).unwrap();
    std::os::unix::fs::symlink(outside.path(), sb.work().join("link")).unwrap();
    let server = Server::start(&sb, &[], &[]);
    let abs = outside.path().join("spec.yaml").display().to_string();
    for body in [
        r#"{"jobspec_path": "../spec.yaml"}"#.to_owned(),
        r#"{"jobspec_path": "a/../../spec.yaml"}"#.to_owned(),
        format!(r#"{{"jobspec_path": "{abs}"}}"#),
        r#"{"jobspec_path": "link/spec.yaml"}"#.to_owned(),
    ] {
        let resp = server.post("/v1/jobs:submit", &body);
        assert_eq!(resp.status, 400, "{body}");
        assert_eq!(resp.json()["code"], "E_UNSAFE_OPERATION", "{body}");
    }
    for body in [r#"{"out_dir": "../out"}"#, r#"{"out_dir": "/tmp"}"#, r#"{"out_dir": "link/new"}"#] {
        for op in ["export", "verify", "report-github"] {
            let resp = server.post(&format!("/v1/jobs/any:{op}"), body);
            assert_eq!(resp.status, 400, "{op} {body}");
            assert_eq!(resp.json()["code"], "E_UNSAFE_OPERATION", "{op} {body}");
        }
    }
    let resp = server.post("/v1/jobs/any:accept", r#"{"config_path": "link/spec.yaml"}"#);
    assert_eq!(resp.json()["code"], "E_UNSAFE_OPERATION");
    for path in
        ["/v1/jobs/%2e%2e:status", "/v1/jobs/..:status", "/v1/jobs/%2E%2e%2Fetc:status", "/v1/jobs/a%2fb/checkpoints"]
    {
        let resp = server.get(path);
        assert_eq!(resp.status, 400, "{path}");
        assert_eq!(resp.json()["code"], "E_UNSAFE_OPERATION", "{path}");
    }
    let bad_id = server.get("/v1/jobs/a%20b:status");
    assert_eq!(bad_id.status, 400);
    assert_eq!(bad_id.json()["code"], "E_INVALID_INPUT_SCHEMA");
    assert!(!sb.home().join("jobs").exists(), "a refused request created a job");
    assert!(!outside.path().join("out").exists() && !outside.path().join("new").exists());
}
