//! Durability of the ledger through real processes: SIGKILLed writers, torn last records, and
//! concurrent writers. Each test reads the ledger back through `wrkr-events`, the way a user would.

mod support;

use std::io::Write;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use support::{EnvClearButCoverage, Sandbox};

/// A `wrkr-<tool>` process under the sandbox's store, with piped stdio.
fn spawn(sandbox: &Sandbox, tool: &str, args: &[&str]) -> Child {
    Command::new(support::bin())
        .arg0(tool)
        .args(args)
        .env_clear_but_coverage()
        .env("WRKR_HOME", sandbox.home())
        .env("WRKR_LOCK_TIMEOUT_MS", "60000")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn wrkr")
}

fn batch(writer: usize, events: usize, payload_bytes: usize) -> Vec<u8> {
    let pad = "p".repeat(payload_bytes);
    let mut out = Vec::new();
    for i in 0..events {
        writeln!(out, "{{\"type\":\"x-test\",\"payload\":{{\"writer\":{writer},\"i\":{i},\"pad\":\"{pad}\"}}}}")
            .unwrap();
    }
    out
}

/// A small xorshift; the seed is printed so that a failure can be replayed.
struct Rng(u64);
impl Rng {
    fn next(&mut self, bound: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % bound
    }
}

/// 60 writers, each appending one batch of 40 events of ~2 KiB (so a batch spans many pages),
/// SIGKILLed at random moments. Every seq a writer printed must be in the ledger with the event
/// it acknowledged; the ledger must parse and be contiguous; the next append must succeed.
#[test]
fn sigkilled_writers_lose_no_acknowledged_event() {
    let sandbox = Sandbox::new();
    sandbox.create_job("job_crash");
    let seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64 | 1;
    println!("seed {seed}");
    let mut rng = Rng(seed);
    let mut acknowledged: Vec<(u64, usize)> = Vec::new();
    for wave in 0..6 {
        let mut children = Vec::new();
        for w in 0..10 {
            let writer = wave * 10 + w;
            let mut child = spawn(&sandbox, "wrkr-events", &["--append", "job_crash"]);
            let input = batch(writer, 40, 2048);
            let mut stdin = child.stdin.take().unwrap();
            let feeder = std::thread::spawn(move || {
                let _ = stdin.write_all(&input);
            });
            children.push((writer, child, feeder));
        }
        for (_, child, _) in children.iter_mut() {
            std::thread::sleep(Duration::from_micros(rng.next(8000)));
            let _ = child.kill(); // SIGKILL
        }
        for (writer, child, feeder) in children {
            let _ = feeder.join();
            let out = child.wait_with_output().unwrap();
            for line in out.stdout.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
                // A killed process can leave a partial last line on its stdout: not an acknowledgement.
                if let Ok(ack) = serde_json::from_slice::<Value>(line) {
                    acknowledged.push((ack["seq"].as_u64().unwrap(), writer));
                }
            }
        }
    }
    let records = sandbox.ledger("job_crash");
    for (seq, writer) in &acknowledged {
        let record = &records[(*seq - 1) as usize];
        assert_eq!(record["payload"]["writer"], *writer as u64, "acknowledged seq {seq} holds writer {writer}'s event");
    }
    // Batches are all or nothing: each writer's events form one contiguous run of all 40.
    let mut by_writer = std::collections::BTreeMap::<u64, Vec<u64>>::new();
    for r in records.iter().skip(1) {
        by_writer
            .entry(r["payload"]["writer"].as_u64().unwrap())
            .or_default()
            .push(r["payload"]["i"].as_u64().unwrap());
    }
    for (writer, is) in &by_writer {
        assert_eq!(is, &(0..40).collect::<Vec<u64>>(), "writer {writer}'s batch is whole");
    }
    println!("{} acknowledged, {} in the ledger", acknowledged.len(), records.len());
    let out =
        sandbox.program("wrkr-events").args(["--append", "job_crash"]).write_stdin(batch(999, 1, 1)).output().unwrap();
    assert!(out.status.success());
    assert_eq!(sandbox.ledger("job_crash").len(), records.len() + 1);
}

/// For every byte offset inside the last record, a ledger cut there reads back as the records
/// before it, and the next append repairs it (the torn bytes are gone, the seq is reused).
#[test]
fn torn_last_record_at_every_offset() {
    let sandbox = Sandbox::new();
    sandbox.create_job("job_torn");
    sandbox.program("wrkr-events").args(["--append", "job_torn"]).write_stdin(batch(1, 2, 10)).assert().success();
    let dir = sandbox.home().join("jobs/job_torn");
    let path = dir.join("events.jsonl");
    let full = std::fs::read(&path).unwrap();
    let last_start = full[..full.len() - 1].iter().rposition(|&b| b == b'\n').unwrap() + 1;
    let before = sandbox.ledger("job_torn")[..2].to_vec();
    for cut in last_start..full.len() {
        std::fs::write(&path, &full[..cut]).unwrap();
        // Without the pending-batch record, only the torn-tail rule applies.
        let _ = std::fs::remove_file(dir.join("ledger.lock"));
        assert_eq!(sandbox.ledger("job_torn"), before, "cut at {cut}");
        let out = sandbox
            .program("wrkr-events")
            .args(["--append", "job_torn"])
            .write_stdin(batch(2, 1, 10))
            .output()
            .unwrap();
        assert!(out.status.success(), "append after cut at {cut}: {}", String::from_utf8_lossy(&out.stderr));
        let ack: Value = serde_json::from_slice(&out.stdout).unwrap();
        assert_eq!(ack["seq"], 3);
        let repaired = std::fs::read(&path).unwrap();
        assert_eq!(&repaired[..last_start], &full[..last_start], "cut at {cut}: the records before are untouched");
        assert_eq!(repaired.iter().filter(|&&b| b == b'\n').count(), 3);
        let records = sandbox.ledger("job_torn");
        assert_eq!(records[2]["payload"]["writer"], 2);
    }
}

/// 8 processes appending 1,000 events each (20 batches of 50) to one job end with 8,000
/// contiguous seqs, each writer's events in its own order.
#[test]
fn eight_concurrent_writers_give_contiguous_seqs() {
    let sandbox = Sandbox::new();
    sandbox.create_job("job_many");
    std::thread::scope(|scope| {
        for writer in 0..8 {
            let sandbox = &sandbox;
            scope.spawn(move || {
                for round in 0..20 {
                    let mut child = spawn(sandbox, "wrkr-events", &["--append", "job_many"]);
                    let input: Vec<u8> = (0..50)
                        .map(|i| {
                            format!(
                                "{{\"type\":\"x-c\",\"payload\":{{\"writer\":{writer},\"i\":{}}}}}\n",
                                round * 50 + i
                            )
                        })
                        .collect::<String>()
                        .into_bytes();
                    child.stdin.take().unwrap().write_all(&input).unwrap();
                    let out = child.wait_with_output().unwrap();
                    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
                }
            });
        }
    });
    let records = sandbox.ledger("job_many");
    assert_eq!(records.len(), 8001);
    for writer in 0..8u64 {
        let is: Vec<u64> = records
            .iter()
            .filter(|r| r["payload"]["writer"] == writer)
            .map(|r| r["payload"]["i"].as_u64().unwrap())
            .collect();
        assert_eq!(is, (0..1000).collect::<Vec<u64>>());
    }
}

/// A complete line that does not parse, or a seq gap, is E_STORE_CORRUPT naming the line.
#[test]
fn corrupt_ledger_names_the_line() {
    let sandbox = Sandbox::new();
    sandbox.create_job("job_bad");
    sandbox.program("wrkr-events").args(["--append", "job_bad"]).write_stdin(batch(1, 3, 1)).assert().success();
    let path = sandbox.home().join("jobs/job_bad/events.jsonl");
    let good = std::fs::read_to_string(&path).unwrap();
    let mut lines: Vec<String> = good.lines().map(str::to_owned).collect();
    let cases = [("garbage", 3, "{not json".to_owned()), ("gap", 3, lines[2].replace("\"seq\":3", "\"seq\":7"))];
    for (what, line, replacement) in cases {
        lines[line - 1] = replacement;
        std::fs::write(&path, lines.join("\n") + "\n").unwrap();
        // The damage is not a half-written batch: no pending-batch record covers it.
        let _ = std::fs::remove_file(sandbox.home().join("jobs/job_bad/ledger.lock"));
        let out = sandbox.program("wrkr-events").args(["--json", "job_bad"]).output().unwrap();
        assert_eq!(out.status.code(), Some(1), "{what}");
        let envelope = support::envelope(&out.stderr);
        assert_eq!(envelope["code"], "E_STORE_CORRUPT", "{what}");
        assert_eq!(envelope["details"]["line"], line as u64, "{what}");
        lines = good.lines().map(str::to_owned).collect();
    }
}
