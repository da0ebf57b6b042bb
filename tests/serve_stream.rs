//! `wrkr serve` streams a job's ledger (`/events`) and pack (`/jobpack`): the server's memory does
//! not grow with the answer, the bytes are those of the ledger and of `wrkr export`, and a failure
//! keeps its status when it comes before the first chunk or aborts the body (never a complete
//! wrong answer) when it comes after.
//!
//! Regression (issue 16): both endpoints built the whole body in memory first, so serving a
//! 25,000-step job's pack grew the server by the pack's size (tens of MiB) per request.

mod support;

use std::io::Write;

use support::Sandbox;
use support::http::{Server, connect, parse};

/// A job whose ledger is about 13.5 MiB: 1,700 events of 8 KiB each.
fn big_job(sb: &Sandbox, job: &str) {
    let pad = "x".repeat(8 * 1024);
    let batch: String =
        (0..1700).map(|i| format!("{{\"type\":\"x-filler\",\"payload\":{{\"i\":{i},\"pad\":\"{pad}\"}}}}\n")).collect();
    sb.wrkr().args(["events", "--append", "--create", job]).write_stdin(batch).assert().success();
}

fn ledger_path(sb: &Sandbox, job: &str) -> std::path::PathBuf {
    sb.home().join("jobs").join(job).join("events.jsonl")
}

#[test]
fn events_and_jobpack_stream_in_bounded_memory() {
    let sb = Sandbox::new();
    big_job(&sb, "big");
    sb.create_job("small");
    let server = Server::start(&sb, &[], &[]);
    // First touches of the code and of the blocking pool's threads are not what is measured.
    for path in ["/v1/jobs/small/events", "/v1/jobs/small/jobpack"] {
        assert_eq!(server.get(path).status, 200, "{path}");
    }
    sb.wrkr().args(["export", "big", "--out-dir", "out"]).assert().success();
    let exported = std::fs::read(sb.work().join("out/jobpacks/jobpack_big.zip")).unwrap();
    let ledger = std::fs::read(ledger_path(&sb, "big")).unwrap();
    for (path, want) in [("/v1/jobs/big/events", &ledger), ("/v1/jobs/big/jobpack", &exported)] {
        server.reset_peak_rss();
        let before = server.rss_kib();
        let resp = server.get(path);
        let grew_kib = server.peak_rss_kib().saturating_sub(before);
        assert_eq!(resp.status, 200, "{path}: {}", String::from_utf8_lossy(&resp.body[..resp.body.len().min(300)]));
        assert!(resp.body == *want, "{path}: {} bytes served, {} expected", resp.body.len(), want.len());
        assert!(want.len() > 12 << 20, "{path}: the body is big enough to show");
        assert!(grew_kib < 4 * 1024, "{path}: the server grew {grew_kib} KiB serving {} bytes", want.len());
        assert_eq!(resp.header("transfer-encoding"), Some("chunked"), "{path}");
    }
}

#[test]
fn an_early_failure_keeps_its_status() {
    let sb = Sandbox::new();
    sb.create_job("torn");
    let mut ledger = std::fs::OpenOptions::new().append(true).open(ledger_path(&sb, "torn")).unwrap();
    ledger.write_all(b"{not json}\n").unwrap();
    let server = Server::start(&sb, &[], &[]);
    let resp = server.get("/v1/jobs/torn/events");
    assert_eq!(resp.status, 500, "{}", String::from_utf8_lossy(&resp.body));
    assert_eq!(resp.json()["code"], "E_STORE_CORRUPT");
}

#[test]
fn a_late_failure_aborts_the_body() {
    let sb = Sandbox::new();
    big_job(&sb, "late");
    // Line 1,000 (about 8 MiB in) becomes garbage of the same length: the job's state (snapshot)
    // still reads, the ledger fails only once streaming has begun.
    let path = ledger_path(&sb, "late");
    let mut bytes = std::fs::read(&path).unwrap();
    let starts: Vec<usize> =
        std::iter::once(0).chain(bytes.iter().enumerate().filter(|(_, b)| **b == b'\n').map(|(i, _)| i + 1)).collect();
    bytes[starts[999]..starts[1000] - 1].fill(b'#');
    std::fs::write(&path, bytes).unwrap();
    let server = Server::start(&sb, &[], &[]);
    let mut stream = connect(server.addr);
    stream.write_all(b"GET /v1/jobs/late/events HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").unwrap();
    let mut raw = Vec::new();
    let _ = std::io::Read::read_to_end(&mut stream, &mut raw);
    let resp = parse(&raw);
    assert_eq!(resp.status, 200);
    assert!(resp.body.len() > 1 << 20, "the first chunks went out");
    assert!(!raw.ends_with(b"\r\n0\r\n\r\n"), "the chunked body must not end as if complete");
    assert!(server.stop().contains("\"stream_failed\""), "the failure is logged");
}
