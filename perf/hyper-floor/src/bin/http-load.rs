//! http-load: the load generator of scripts/bench_serve.py, so that the client is never what a
//! server figure measures (a Python client tops out below what hyper answers).
//!
//! `http-load ADDR PATH REQUESTS CONCURRENCY`: CONCURRENCY threads, each with one HTTP/1.1
//! keep-alive connection, send GET PATH until REQUESTS were sent in all, each waiting for its
//! answer (closed loop). Prints one JSON line: requests, errors (a status other than 200, or a
//! broken connection, after which the thread reconnects), seconds, and latency percentiles in ms.
//! Responses must carry Content-Length (the endpoints it is pointed at do).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 5 {
        eprintln!("usage: http-load ADDR PATH REQUESTS CONCURRENCY");
        std::process::exit(2);
    }
    let (addr, path) = (args[1].clone(), args[2].clone());
    let requests: usize = args[3].parse().unwrap_or(0);
    let concurrency: usize = args[4].parse().unwrap_or(1).max(1);
    let tickets = Arc::new(AtomicUsize::new(0));
    let start = Instant::now();
    let workers: Vec<_> = (0..concurrency)
        .map(|_| {
            let (addr, path, tickets) = (addr.clone(), path.clone(), tickets.clone());
            std::thread::spawn(move || worker(&addr, &path, requests, &tickets))
        })
        .collect();
    let mut latencies = Vec::with_capacity(requests);
    let mut errors = 0;
    for w in workers {
        let (mine, bad) = w.join().unwrap_or_default();
        latencies.extend(mine);
        errors += bad;
    }
    let seconds = start.elapsed().as_secs_f64();
    latencies.sort_unstable();
    let pct = |p: f64| {
        let i = ((p / 100.0) * latencies.len() as f64) as usize;
        latencies.get(i.min(latencies.len().saturating_sub(1))).map_or(0.0, |d| d.as_secs_f64() * 1e3)
    };
    println!(
        "{{\"requests\": {}, \"errors\": {errors}, \"seconds\": {seconds:.6}, \"p50_ms\": {:.4}, \"p95_ms\": {:.4}, \"p99_ms\": {:.4}}}",
        latencies.len(),
        pct(50.0),
        pct(95.0),
        pct(99.0)
    );
}

fn worker(addr: &str, path: &str, requests: usize, tickets: &AtomicUsize) -> (Vec<Duration>, usize) {
    let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\n\r\n").into_bytes();
    let (mut latencies, mut errors) = (Vec::new(), 0);
    let mut conn = None;
    while tickets.fetch_add(1, Ordering::Relaxed) < requests {
        let t = Instant::now();
        let ok = match conn.as_mut() {
            Some(c) => exchange(c, &request),
            None => match TcpStream::connect(addr) {
                Ok(stream) => {
                    let _ = stream.set_nodelay(true);
                    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
                    let c = conn.insert(BufReader::new(stream));
                    exchange(c, &request)
                }
                Err(_) => Err(()),
            },
        };
        latencies.push(t.elapsed());
        match ok {
            Ok(200) => {}
            Ok(_) => errors += 1,
            Err(()) => {
                errors += 1;
                conn = None;
            }
        }
    }
    (latencies, errors)
}

/// One request and its response on a keep-alive connection; the response's status.
fn exchange(conn: &mut BufReader<TcpStream>, request: &[u8]) -> Result<u16, ()> {
    conn.get_mut().write_all(request).map_err(drop)?;
    let mut line = String::new();
    conn.read_line(&mut line).map_err(drop)?;
    let status = line.split(' ').nth(1).and_then(|s| s.parse().ok()).ok_or(())?;
    let mut length = None;
    loop {
        line.clear();
        if conn.read_line(&mut line).map_err(drop)? == 0 {
            return Err(());
        }
        let header = line.trim_end();
        if header.is_empty() {
            break;
        }
        if let Some((name, value)) = header.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse::<u64>().ok();
        }
    }
    let length = length.ok_or(())?;
    std::io::copy(&mut conn.by_ref().take(length), &mut std::io::sink()).map_err(drop)?;
    Ok(status)
}
