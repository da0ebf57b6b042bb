//! Streamed response bodies: a job's ledger (`/events`) and its pack (`/jobpack`) go out as they
//! are produced, never built in memory, so serving a 25,000-step job costs the server a few chunks
//! of memory, not the size of the answer.
//!
//! A [`Producer`] writes the body into a `Write` on tokio's blocking pool (store reads and pack
//! building are synchronous). The writer cuts the bytes into [`CHUNK`]-sized pieces and hands
//! them over a bounded channel of [`CHANNEL_CHUNKS`] to the connection, so a slow client slows
//! the producer down instead of growing a buffer; a client that goes away stops the producer at
//! its next chunk (the write fails as a broken pipe).
//!
//! Errors keep their status: the response head is sent only once the first chunk is full or the
//! producer has finished. An error before that (a corrupt ledger line near the start, a pack
//! record that does not validate: the pack builder writes nothing until its records are all
//! read) is answered as any handler's error is. An error after bytes went out can no longer
//! change the status: the connection is aborted mid-body (the client sees an incomplete chunked
//! body, never a complete wrong one) and the error is logged on stderr.

use std::io::{self, Write};
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use hyper::body::{Body, Frame, SizeHint};
use serde_json::json;
use tokio::sync::mpsc;

use crate::contract::{Error, Result};
use crate::serve::server::log;

/// Bytes per chunk handed to the connection.
pub const CHUNK: usize = 64 * 1024;
/// Chunks in flight between the producer and the connection: with [`CHUNK`], at most 256 KiB
/// (plus one being filled) per streamed response.
pub const CHANNEL_CHUNKS: usize = 4;

/// What a producer does: write the whole body into the writer it is given.
pub type Produce = dyn FnOnce(&mut dyn Write) -> Result<()> + Send;

/// Writes a streamed body; runs on the blocking pool.
pub struct Producer(pub Box<Produce>);

impl std::fmt::Debug for Producer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Producer")
    }
}

/// A response body: whole bytes (sent with a `Content-Length`), or chunks from a producer
/// (chunked transfer encoding).
pub enum ResponseBody {
    Full(Option<Bytes>),
    Streamed { first: Option<Bytes>, chunks: mpsc::Receiver<Result<Bytes>> },
}

impl ResponseBody {
    pub fn full(bytes: Vec<u8>) -> ResponseBody {
        ResponseBody::Full((!bytes.is_empty()).then(|| Bytes::from(bytes)))
    }
}

/// Start `producer` on the blocking pool and wait for its first chunk (or its end): the stream's
/// body, or the error it failed with before sending anything.
pub async fn start(producer: Producer) -> Result<ResponseBody> {
    let (tx, mut chunks) = mpsc::channel(CHANNEL_CHUNKS);
    tokio::task::spawn_blocking(move || {
        let mut writer = ChannelWriter { pending: Vec::with_capacity(CHUNK), tx };
        let result = (producer.0)(&mut writer).and_then(|()| writer.send_pending());
        if let Err(err) = result {
            // Fails only when the connection is gone, which is what the error would tell it.
            let _ = writer.tx.blocking_send(Err(err));
        }
    });
    match chunks.recv().await {
        Some(Err(err)) => Err(err),
        Some(Ok(first)) => Ok(ResponseBody::Streamed { first: Some(first), chunks }),
        // The producer wrote nothing and ended (or died): an empty body.
        None => Ok(ResponseBody::Full(None)),
    }
}

impl Body for ResponseBody {
    type Data = Bytes;
    type Error = io::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<io::Result<Frame<Bytes>>>> {
        match self.get_mut() {
            ResponseBody::Full(bytes) => Poll::Ready(bytes.take().map(|b| Ok(Frame::data(b)))),
            ResponseBody::Streamed { first, chunks } => {
                if let Some(bytes) = first.take() {
                    return Poll::Ready(Some(Ok(Frame::data(bytes))));
                }
                match chunks.poll_recv(cx) {
                    Poll::Pending => Poll::Pending,
                    Poll::Ready(None) => Poll::Ready(None),
                    Poll::Ready(Some(Ok(bytes))) => Poll::Ready(Some(Ok(Frame::data(bytes)))),
                    Poll::Ready(Some(Err(err))) => {
                        log(&json!({"event": "stream_failed", "code": err.code.as_str(), "error": err.to_string()}));
                        Poll::Ready(Some(Err(io::Error::other(err.to_string()))))
                    }
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        matches!(self, ResponseBody::Full(None))
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            ResponseBody::Full(bytes) => SizeHint::with_exact(bytes.as_ref().map_or(0, |b| b.len() as u64)),
            ResponseBody::Streamed { .. } => SizeHint::default(),
        }
    }
}

/// Collects writes into [`CHUNK`]-sized pieces and sends each over the channel, waiting while
/// the channel is full.
struct ChannelWriter {
    pending: Vec<u8>,
    tx: mpsc::Sender<Result<Bytes>>,
}

impl ChannelWriter {
    fn send_pending(&mut self) -> Result<()> {
        self.send().map_err(|e| Error::io("send the response", e))
    }

    fn send(&mut self) -> io::Result<()> {
        if self.pending.is_empty() {
            return Ok(());
        }
        let chunk = Bytes::from(std::mem::replace(&mut self.pending, Vec::with_capacity(CHUNK)));
        self.tx
            .blocking_send(Ok(chunk))
            .map_err(|_| io::Error::new(io::ErrorKind::BrokenPipe, "the client closed the connection"))
    }
}

impl Write for ChannelWriter {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.pending.extend_from_slice(data);
        if self.pending.len() >= CHUNK {
            self.send()?;
        }
        Ok(data.len())
    }

    /// Not a send: a chunk goes out when it is full (the producers flush their own buffers often).
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
