//! The HTTP/1 server: one current-thread tokio runtime, hyper connections, handlers on the
//! blocking pool (a route's bounded inline answer, when it has one, on the runtime thread).
//!
//! Order of work per request (each step can end it): auth (`Bearer` token, constant-time; 401 with
//! `WWW-Authenticate`, on every path including unknown ones), route (404 unknown, 405 with `Allow`,
//! 400 for an unsafe path segment), body (413 by `Content-Length` before reading, or as soon as the
//! streamed body passes the limit — never buffered past it; 408 when it is not sent within the body
//! timeout), then the handler. Connection limits: a semaphore caps open connections (the accept
//! loop waits for a free slot; the kernel backlog holds the rest), hyper's header read timeout
//! closes a connection that does not finish its headers in time (slowloris) and also bounds how
//! long an idle keep-alive connection is kept, and the read buffer caps the request head (431).
//! Each request is logged to stderr as one JSON line: method, route template (never the raw path,
//! which could carry ids or tokens), status, duration. Headers are never logged. The line is
//! written unbuffered, before the answer is handed to hyper: it costs a `write` per request, but
//! a client that has its answer can find it in the log, and no crash loses it (a product
//! decision, issue 16; docs/contracts/serve.md).

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use http_body_util::{BodyExt, LengthLimitError, Limited};
use hyper::body::Incoming;
use hyper::header::{CACHE_CONTROL, CONTENT_TYPE, HeaderValue, X_CONTENT_TYPE_OPTIONS};
use hyper::service::service_fn;
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use serde_json::json;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use crate::contract::time::Timestamp;
use crate::contract::{Error, ReasonCode, Result};
use crate::serve::config::{Config, Token};
use crate::serve::endpoints::{Call, Ctx};
use crate::serve::reply::{Payload, Reply};
use crate::serve::routes::{self, Body, Match};
use crate::serve::stream::{self, ResponseBody};

/// Largest request head (request line and headers); more is 431.
pub const MAX_HEAD_BYTES: usize = 16 * 1024;

struct Shared {
    ctx: Ctx,
    token: Option<Token>,
    max_body_bytes: u64,
    body_timeout: std::time::Duration,
}

/// Bind `config.listen`, call `ready` with the bound address, then serve until the process ends.
pub fn run(config: &Config, ctx: Ctx, ready: &mut dyn FnMut(SocketAddr) -> Result<()>) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        .build()
        .map_err(|e| Error::io("start the runtime", e))?;
    runtime.block_on(async {
        let listener = TcpListener::bind(config.listen.as_str())
            .await
            .map_err(|e| Error::io(format!("listen on {}", config.listen), e).with("listen", config.listen.as_str()))?;
        let local = listener.local_addr().map_err(|e| Error::io("read the bound address", e))?;
        if !config.allow_non_loopback && !local.ip().is_loopback() {
            return Err(Error::new(
                ReasonCode::UnsafeOperation,
                format!("{} resolved to non-loopback {local}", config.listen),
            )
            .with("listen", config.listen.as_str()));
        }
        ready(local)?;
        let shared = Arc::new(Shared {
            ctx,
            token: config.token.clone(),
            max_body_bytes: config.max_body_bytes,
            body_timeout: config.body_timeout,
        });
        let slots = Arc::new(Semaphore::new(
            usize::try_from(config.max_connections).unwrap_or(usize::MAX).min(Semaphore::MAX_PERMITS),
        ));
        let header_timeout = config.header_timeout;
        loop {
            let Ok(permit) = slots.clone().acquire_owned().await else { return Ok(()) };
            let stream = match listener.accept().await {
                Ok((stream, _)) => stream,
                Err(err) => {
                    log(&json!({"event": "accept_failed", "error": err.to_string()}));
                    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                    continue;
                }
            };
            let _ = stream.set_nodelay(true);
            let shared = shared.clone();
            tokio::spawn(async move {
                let service = service_fn(move |req| respond(shared.clone(), req));
                let _ = hyper::server::conn::http1::Builder::new()
                    .timer(TokioTimer::new())
                    .header_read_timeout(header_timeout)
                    .max_buf_size(MAX_HEAD_BYTES)
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
                drop(permit);
            });
        }
    })
}

async fn respond(
    shared: Arc<Shared>,
    req: Request<Incoming>,
) -> std::result::Result<Response<ResponseBody>, Infallible> {
    let start = Instant::now();
    // A standard method is an enum: cloning it allocates nothing (an extension method is rare).
    let method = req.method().clone();
    let (route, mut reply) = handle(&shared, req).await;
    // A streamed reply answers once its first chunk is ready, so an early failure keeps its status.
    let body = match reply.take_body() {
        Payload::Bytes(bytes) => ResponseBody::full(bytes),
        Payload::Stream(producer) => match stream::start(producer).await {
            Ok(body) => body,
            Err(err) => {
                reply = Reply::error(&err);
                ResponseBody::full(reply.take_bytes())
            }
        },
    };
    log_request(method.as_str(), route, reply.status, start.elapsed().as_secs_f64() * 1000.0);
    // Names and values known at compile time are not parsed or copied per response.
    let mut builder = Response::builder()
        .status(reply.status)
        .header(CONTENT_TYPE, HeaderValue::from_static(reply.content_type))
        .header(X_CONTENT_TYPE_OPTIONS, HeaderValue::from_static("nosniff"))
        .header(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    for (name, value) in &reply.headers {
        builder = builder.header(*name, value.as_str());
    }
    Ok(builder.body(body).unwrap_or_else(|_| Response::new(ResponseBody::Full(None))))
}

/// Write one log line to stderr in one `write`: stderr is unbuffered, and `eprintln!` of a JSON
/// value wrote each token separately (39 system calls per request, more than the request itself
/// cost: issue 16). A failed write is dropped, as `eprintln!` would panic.
pub fn log(line: &serde_json::Value) {
    use std::io::Write;
    let mut bytes = serde_json::to_vec(line).unwrap_or_default();
    bytes.push(b'\n');
    let _ = std::io::stderr().lock().write_all(&bytes);
}

/// Log one request (`request_line`).
fn log_request(method: &str, route: &str, status: u16, ms: f64) {
    use std::io::Write;
    let _ = std::io::stderr().lock().write_all(&request_line(Timestamp::now(), method, route, status, ms));
}

/// `{"ts", "method", "route", "status", "duration_ms"}` and a newline: the bytes [`log`] writes for
/// that object, written out directly (a `Value` per request was a map and five allocations).
fn request_line(ts: Timestamp, method: &str, route: &str, status: u16, ms: f64) -> Vec<u8> {
    use std::io::Write;
    let mut line = Vec::with_capacity(128);
    line.extend_from_slice(b"{\"ts\":\"");
    ts.push_to(&mut line);
    line.extend_from_slice(b"\",\"method\":");
    push_json_str(&mut line, method);
    line.extend_from_slice(b",\"route\":");
    push_json_str(&mut line, route);
    let _ = write!(line, ",\"status\":{status},\"duration_ms\":");
    let _ = serde_json::to_writer(&mut line, &((ms * 1000.0).round() / 1000.0));
    line.extend_from_slice(b"}\n");
    line
}

/// `text` as a JSON string. A method or route template needs no escape (the serializer's escape
/// loop was two of the instructions a cached status answer costs in a hundred); anything else
/// goes through it.
fn push_json_str(line: &mut Vec<u8>, text: &str) {
    if text.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\' && b < 0x7f) {
        line.push(b'"');
        line.extend_from_slice(text.as_bytes());
        line.push(b'"');
    } else {
        let _ = serde_json::to_writer(line, text);
    }
}

/// The route template (for the log) and the reply.
async fn handle(shared: &Shared, req: Request<Incoming>) -> (&'static str, Reply) {
    if let Some(token) = &shared.token {
        let given = req.headers().get("authorization").map(|v| v.as_bytes()).unwrap_or_default();
        let bearer =
            given.get(..7).is_some_and(|s| s.eq_ignore_ascii_case(b"bearer ")).then(|| given[7..].trim_ascii());
        if !bearer.is_some_and(|b| token.matches(b)) {
            let err = Error::new(ReasonCode::UnsafeOperation, "invalid auth token")
                .with_hint("send Authorization: Bearer <token>");
            return ("-", Reply::error_with(401, &err).header("www-authenticate", "Bearer realm=\"wrkr\"".to_owned()));
        }
    }
    // The path and query are borrowed from the request while it is routed and answered inline;
    // only a request that goes to the pool takes a copy of its query.
    let path = req.uri().path();
    let (route, captures) = match routes::find(req.method().as_str(), path) {
        Err(err) => return ("-", Reply::error(&err)),
        Ok(Match::NotFound) => {
            let err = Error::invalid_input("unknown endpoint").with("path", path.chars().take(256).collect::<String>());
            return ("-", Reply::error_with(404, &err));
        }
        Ok(Match::WrongMethod(allowed)) => {
            let err =
                Error::invalid_input(format!("method {} not allowed", req.method())).with("allow", allowed.join(", "));
            return ("-", Reply::error_with(405, &err).header("allow", allowed.join(", ")));
        }
        Ok(Match::Found(route, captures)) => (route, captures),
    };
    let captures = match route.inline {
        Some(inline) => {
            let query = req.uri().query().unwrap_or_default();
            let call = Call { ctx: &shared.ctx, captures, body: &[], body_kind: route.body, query };
            if let Some(reply) = inline(&call) {
                return (route.template, reply);
            }
            call.captures
        }
        None => captures,
    };
    let query = req.uri().query().unwrap_or_default().to_owned();
    let body = match route.body {
        Body::None => Vec::new(),
        Body::Required | Body::Optional => match read_body(shared, req).await {
            Ok(body) => body,
            Err(reply) => return (route.template, reply),
        },
    };
    let ctx = shared.ctx.clone();
    let kind = route.body;
    let handler = route.handler;
    let result = tokio::task::spawn_blocking(move || {
        let call = Call { ctx: &ctx, captures, body: &body, body_kind: kind, query: &query };
        handler(&call)
    })
    .await;
    let reply = match result {
        Ok(Ok(reply)) => reply,
        Ok(Err(err)) => Reply::error(&err),
        Err(join) => Reply::error(&Error::generic(format!("handler failed: {join}"))),
    };
    (route.template, reply)
}

/// Read the body within the limit and the body timeout.
async fn read_body(shared: &Shared, req: Request<Incoming>) -> std::result::Result<Vec<u8>, Reply> {
    let limit = shared.max_body_bytes;
    let too_large = || {
        let err = Error::new(ReasonCode::UnsafeOperation, "request body too large").with("limit", limit);
        Reply::error_with(413, &err)
    };
    let declared =
        req.headers().get("content-length").and_then(|v| v.to_str().ok()).and_then(|v| v.parse::<u64>().ok());
    if declared.is_some_and(|n| n > limit) {
        return Err(too_large());
    }
    let limited = Limited::new(req.into_body(), usize::try_from(limit).unwrap_or(usize::MAX));
    match tokio::time::timeout(shared.body_timeout, limited.collect()).await {
        Err(_) => Err(Reply::error_with(408, &Error::invalid_input("request body not received in time"))),
        Ok(Err(err)) if err.downcast_ref::<LengthLimitError>().is_some() => Err(too_large()),
        Ok(Err(err)) => Err(Reply::error(&Error::invalid_input(format!("read the request body: {err}")))),
        Ok(Ok(collected)) => Ok(collected.to_bytes().to_vec()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // The request line is written without a `Value`; it must stay the bytes the `Value` gave.
    #[test]
    fn request_lines_are_what_the_json_value_was() {
        let ts = Timestamp::from_unix(1_770_998_400, 123_000_000);
        for (method, route, status, ms) in [
            ("GET", "/v1/jobs/{job_id}:status", 200, 0.123_456_f64),
            ("POST", "-", 404, 12.0),
            ("M\"\\\u{1}", "/v1/jobs", 500, 0.0),
            ("GET", "/healthz", 200, 1234.5678),
            ("GÉT", "/v1/\u{7f}", 200, 0.5),
        ] {
            let mut want = serde_json::to_vec(&json!({"ts": ts.to_string(), "method": method, "route": route,
                                                      "status": status, "duration_ms": (ms * 1000.0).round() / 1000.0}))
            .unwrap();
            want.push(b'\n');
            assert_eq!(
                String::from_utf8(request_line(ts, method, route, status, ms)).unwrap(),
                String::from_utf8(want).unwrap()
            );
        }
    }
}
