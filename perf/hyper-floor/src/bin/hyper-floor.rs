//! hyper-floor: the least an HTTP/1 server on this machine can do per request, as a floor for
//! `wrkr serve` (scripts/bench_serve.py). Answers every request with the bytes of the file given
//! as its only argument, with the same response headers wrkr serve sends, on the runtime wrkr
//! serve uses (tokio current-thread, hyper HTTP/1 with keep-alive, TCP_NODELAY). No routing, no
//! store, no blocking pool, no request log: what is left is the HTTP work itself.
//!
//! Prints `{"listen": "127.0.0.1:PORT"}` on stdout once it listens, as `wrkr serve --json` does.

use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;

fn main() -> std::io::Result<()> {
    let path = std::env::args().nth(1).unwrap_or_else(|| "/dev/null".into());
    let body = Bytes::from(std::fs::read(path)?);
    let runtime = tokio::runtime::Builder::new_current_thread().enable_io().build()?;
    runtime.block_on(async move {
        let listener = TcpListener::bind("127.0.0.1:0").await?;
        println!("{{\"listen\": \"{}\"}}", listener.local_addr()?);
        loop {
            let (stream, _) = listener.accept().await?;
            let _ = stream.set_nodelay(true);
            let body = body.clone();
            tokio::spawn(async move {
                let service = service_fn(move |_: Request<hyper::body::Incoming>| {
                    let response = Response::builder()
                        .header("content-type", "application/json")
                        .header("x-content-type-options", "nosniff")
                        .header("cache-control", "no-store")
                        .body(Full::new(body.clone()));
                    async move { Ok::<_, Infallible>(response.unwrap_or_default()) }
                });
                let _ =
                    hyper::server::conn::http1::Builder::new().serve_connection(TokioIo::new(stream), service).await;
            });
        }
    })
}
