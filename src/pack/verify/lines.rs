//! Checking the lines of a JSONL entry against a schema, on every core.
//!
//! Why threads: reading, CRC and sha256 of an entry are one sequential pass, but each record's
//! parse and validation is independent of the others and costs more than those together (a
//! 25,000-step job's 125,000 records). So the reading thread cuts the lines into batches and
//! workers check them, while the reading thread goes on hashing. The verdict must not depend on
//! the schedule; it does not, because problems are keyed by line number and what is kept is
//! always "the smallest line numbers": the first [`MAX_FINDINGS`] under `all`, else the first one.
//! Without `all`, no batch is handed out once a problem is known, and every line before that
//! point has been handed out, so the smallest line seen is the first problem of the entry.
//!
//! Memory stays bounded: at most `2 × workers` batches wait, each of at most [`BATCH_BYTES`]; a
//! longer line is checked on the reading thread itself, as the sequential pass did. Small entries
//! are checked inline: threads would cost more than they save.

use std::io::{self, BufRead};
use std::sync::Mutex;
use std::sync::mpsc::{self, Receiver, Sender};

use crate::contract::schema::Schema;
use crate::json::tape::Tape;
use crate::jsonl::{JsonlReader, LineError, is_blank};

use super::{MAX_FINDINGS, violation};

/// The most bytes of lines one batch holds.
pub(super) const BATCH_BYTES: usize = 64 * 1024;

/// Entries smaller than this are checked inline.
pub(super) const PARALLEL_MIN_BYTES: u64 = 1 << 20;

/// A worker's stack: the main thread's usual size, since a record may nest as deep as the parser
/// allows (128 levels) and is then parsed, validated and dropped recursively.
const WORKER_STACK: usize = 8 << 20;

/// A line number and what is wrong with that line.
pub(super) type Problem = (u64, String);

/// Lines handed to a worker together: their bytes back to back, and each line's number and end.
#[derive(Default)]
struct Batch {
    bytes: Vec<u8>,
    lines: Vec<(u64, usize)>,
}

/// The problems found so far, trimmed to the ones that can still be reported.
struct Problems {
    all: bool,
    list: Vec<Problem>,
}

impl Problems {
    /// How many problems are reported: the first one, or under `all` up to [`MAX_FINDINGS`].
    fn cap(&self) -> usize {
        if self.all { MAX_FINDINGS } else { 1 }
    }

    fn add(&mut self, problem: Problem) {
        self.list.push(problem);
        if self.list.len() >= 2 * MAX_FINDINGS {
            self.trim();
        }
    }

    /// Without `all`, the first problem ends the check.
    fn stop(&self) -> bool {
        !self.all && !self.list.is_empty()
    }

    fn trim(&mut self) {
        self.list.sort_unstable_by_key(|p| p.0);
        self.list.truncate(self.cap());
    }

    fn finish(mut self) -> Vec<Problem> {
        self.trim();
        self.list
    }
}

/// How many workers a large entry gets: one per core, none (inline) on one core.
pub(super) fn workers() -> usize {
    match std::thread::available_parallelism().map_or(1, usize::from) {
        1 => 0,
        n => n,
    }
}

/// Check every line of `lines` against `schema`; blank lines are skipped, a line longer than
/// `max_line_bytes` is a problem. Returns the problems in line order: only the first unless `all`,
/// and never more than [`MAX_FINDINGS`]. With `workers == 0` (or when no thread can be started)
/// everything happens on this thread.
pub(super) fn check<R: BufRead>(
    lines: &mut JsonlReader<R>,
    schema: &'static Schema,
    max_line_bytes: u64,
    all: bool,
    workers: usize,
) -> io::Result<Vec<Problem>> {
    let mut problems = Problems { all, list: Vec::new() };
    let too_long = || format!("line longer than {max_line_bytes} bytes");
    let mut tape = Tape::new();
    let (work_tx, work_rx) = mpsc::sync_channel::<Batch>(2 * workers.max(1));
    let work_rx = Mutex::new(work_rx);
    let (done_tx, done_rx) = mpsc::channel();
    let cap = problems.cap();
    std::thread::scope(|scope| {
        // A worker that cannot be started is one fewer; with none, this thread checks every line.
        let mut started = 0;
        for _ in 0..workers {
            let (work_rx, done_tx) = (&work_rx, done_tx.clone());
            let worker = std::thread::Builder::new().name("verify-lines".into()).stack_size(WORKER_STACK);
            started += usize::from(worker.spawn_scoped(scope, move || work(schema, cap, work_rx, done_tx)).is_ok());
        }
        if started == 0 {
            while let Some(next) = lines.next_line() {
                match next {
                    Ok((_, line)) if is_blank(line) => continue,
                    Ok((line_no, line)) => {
                        if let Some(text) = violation(schema, line, &mut tape) {
                            problems.add((line_no, text));
                        }
                    }
                    Err(LineError::TooLong { line }) => problems.add((line, too_long())),
                    Err(LineError::Io(e)) => return Err(e),
                }
                if problems.stop() {
                    break;
                }
            }
            return Ok(problems.finish());
        }
        drop(done_tx);
        let mut spare: Vec<Batch> = Vec::new();
        let mut batch = Batch::default();
        let mut read = Ok(());
        while let Some(next) = lines.next_line() {
            while let Ok((done, found)) = done_rx.try_recv() {
                found.into_iter().for_each(|p| problems.add(p));
                spare.push(done);
            }
            if problems.stop() {
                break;
            }
            match next {
                Ok((_, line)) if is_blank(line) => continue,
                Ok((line_no, line)) if line.len() > BATCH_BYTES => {
                    if let Some(text) = violation(schema, line, &mut tape) {
                        problems.add((line_no, text));
                    }
                }
                Ok((line_no, line)) => {
                    if batch.bytes.len() + line.len() > BATCH_BYTES {
                        let full = std::mem::replace(&mut batch, spare.pop().unwrap_or_default());
                        if work_tx.send(full).is_err() {
                            break;
                        }
                        batch.bytes.clear();
                        batch.lines.clear();
                    }
                    batch.bytes.extend_from_slice(line);
                    batch.lines.push((line_no, batch.bytes.len()));
                }
                Err(LineError::TooLong { line }) => problems.add((line, too_long())),
                Err(LineError::Io(e)) => {
                    read = Err(e);
                    break;
                }
            }
            if problems.stop() {
                break;
            }
        }
        // The lines already read are checked even when stopping: one of them may come first.
        if !batch.lines.is_empty() {
            let _ = work_tx.send(batch);
        }
        drop(work_tx);
        for (_, found) in done_rx {
            found.into_iter().for_each(|p| problems.add(p));
        }
        read.map(|()| problems.finish())
    })
}

/// One worker: check batches until the reading thread closes the queue. At most `cap` problems
/// of a batch are reported (and then the rest of it is not checked): later lines of the same
/// batch could only be reported in their place if those were not problems.
fn work(schema: &Schema, cap: usize, queue: &Mutex<Receiver<Batch>>, done: Sender<(Batch, Vec<Problem>)>) {
    let mut tape = Tape::new();
    loop {
        let next = match queue.lock() {
            Ok(queue) => queue.recv(),
            Err(_) => return,
        };
        let Ok(batch) = next else { return };
        let mut found = Vec::new();
        let mut start = 0;
        for &(line_no, end) in &batch.lines {
            if let Some(text) = violation(schema, &batch.bytes[start..end], &mut tape) {
                found.push((line_no, text));
                if found.len() == cap {
                    break;
                }
            }
            start = end;
        }
        if done.send((batch, found)).is_err() {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::contract::schema;

    fn event(i: usize) -> String {
        format!(
            r#"{{"created_at":"2026-02-13T18:00:00Z","event_id":"evt_{i}","executed":true,"job_id":"job_1","payload":{{"step":{i},"detail":"{}"}},"producer_version":"dev","schema_id":"wrkr.event","schema_version":"v1","type":"x-step"}}"#,
            "x".repeat(i % 50)
        )
    }

    /// A large events entry with problems of every kind scattered through it: bad JSON, a
    /// duplicate key, schema violations, an over-long line, a record nested 120 deep (parsed and
    /// dropped recursively on a worker's stack), blank lines; `bad` lines in all.
    fn entry(lines: usize, bad: &[usize]) -> Vec<u8> {
        let mut out = String::new();
        for i in 1..=lines {
            let line = match (bad.contains(&i), i % 6) {
                (false, _) if i % 997 == 0 => "  ".to_owned(),
                (false, _) => event(i),
                (true, 0) => "{not json".to_owned(),
                (true, 1) => event(i).replacen(r#""executed":true"#, r#""executed":true,"executed":false"#, 1),
                (true, 2) => event(i).replace(r#""executed":true"#, r#""executed":"yes""#),
                (true, 3) => format!(r#"{{"pad":"{}"}}"#, "p".repeat(600)),
                (true, 5) => format!("{}{}", "[".repeat(120), "]".repeat(120)),
                (true, _) => event(i).replace(r#""schema_version":"v1""#, r#""schema_version":"v2""#),
            };
            out.push_str(&line);
            out.push('\n');
        }
        out.into_bytes()
    }

    fn run(bytes: &[u8], all: bool, workers: usize) -> Vec<Problem> {
        let schema = schema::find("wrkr.event").unwrap();
        let mut lines = JsonlReader::new(bytes, 512);
        check(&mut lines, schema, 512, all, workers).unwrap()
    }

    #[test]
    fn workers_report_what_the_inline_pass_reports() {
        let many: Vec<usize> = (0..1500).map(|i| 7 + i * 7).collect();
        for bad in [vec![], vec![6_000], vec![2_999, 6_000, 11_999], vec![1], vec![12_000], many] {
            let bytes = entry(12_000, &bad);
            assert!(bytes.len() > 10 * BATCH_BYTES);
            for all in [false, true] {
                let inline = run(&bytes, all, 0);
                let expected = if all { bad.len().min(MAX_FINDINGS) } else { bad.len().min(1) };
                assert_eq!(inline.len(), expected, "bad at {:?}", &bad[..bad.len().min(3)]);
                assert_eq!(inline.first().map(|p| p.0), bad.first().map(|&b| b as u64));
                for workers in [1, 3] {
                    assert_eq!(run(&bytes, all, workers), inline, "all={all} workers={workers}");
                }
            }
        }
    }

    #[test]
    fn a_read_error_is_returned_after_the_workers_stop() {
        struct Broken(usize);
        impl io::Read for Broken {
            fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
                if self.0 > 1 << 20 {
                    return Err(io::Error::other("disk on fire"));
                }
                let line = event(1) + "\n";
                let n = line.len().min(buf.len());
                buf[..n].copy_from_slice(&line.as_bytes()[..n]);
                self.0 += n;
                Ok(n)
            }
        }
        let schema = schema::find("wrkr.event").unwrap();
        let mut lines = JsonlReader::new(io::BufReader::new(Broken(0)), 1 << 20);
        let err = check(&mut lines, schema, 1 << 20, true, 2).unwrap_err();
        assert_eq!(err.to_string(), "disk on fire");
    }
}
