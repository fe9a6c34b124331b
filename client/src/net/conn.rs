//! One broker connection: TCP (optionally TLS) or any byte stream the
//! caller opened, framing, correlation ids, many requests in flight
//! (pipelining) with responses matched by id, deadlines on every wait, and
//! a bounded shutdown.
//!
//! Codec-agnostic on purpose: the caller builds the request frame for a
//! given correlation id and gets the response frame (header and body) back.
//! It knows nothing of ApiVersions or any other API: the handshake and the
//! broker sit above it. A writer owns the write half so a caller that gives
//! up (timeout, dropped future) never leaves half a frame on the wire.
//!
//! Generic over its stream, hyper-style ([`Connection::over`]): a reader
//! and a writer run as one [`Driver`] future, spawned on the runtime by
//! default or handed to a caller that wants to own the task
//! ([`Connection::over_with_driver`]).
//!
//! What a peer can make this cost is bounded (see [`crate::limits`]): a
//! reply larger than its API's cap is refused at its size prefix; a reply
//! buffer grows with the bytes that arrived, never with the declared size;
//! a reply whose correlation id matches no request ends the connection at
//! its header. What a peer can make a caller wait is bounded by the
//! caller's deadline, including the wait for room in the writer queue; a
//! write that cannot finish within `write_timeout` (a peer that does not
//! read) closes the connection, and `shutdown` never waits longer than
//! `shutdown_timeout`.

use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;
use tokio::time::{timeout, timeout_at, Instant};

use super::frame::{discard, finish_frame, read_size_with, read_to_len, start_frame, FrameError};
use super::tls::TlsConfig;
use crate::limits::{
    ResponseCaps, ABANDONED_IDS_REMEMBERED, DEFAULT_MAX_FRAME_SIZE, WRITER_QUEUE_DEPTH,
};
use crate::protocol::api::{api_name, ApiKey};

/// How to open and run a connection.
#[derive(Clone)]
pub struct ConnConfig {
    /// Bounds DNS, the TCP connect and the TLS handshake together.
    pub connect_timeout: Duration,
    /// Default per-request timeout: from the call until the whole reply has
    /// arrived, waiting for room in the writer queue included.
    pub request_timeout: Duration,
    /// A frame the socket does not take within this (the peer stopped
    /// reading) closes the connection, so later requests reconnect instead
    /// of queueing behind it.
    pub write_timeout: Duration,
    /// The longest [`Connection::shutdown`] waits for the writer to finish
    /// (TLS close_notify, TCP FIN) before it drops the socket.
    pub shutdown_timeout: Duration,
    /// Largest frame read or written (the generic limit).
    pub max_frame_size: usize,
    /// Per-API reply caps below `max_frame_size` (ApiVersions by default).
    pub response_caps: ResponseCaps,
    /// TLS, verified by default (see [`TlsConfig`]); `None` = plaintext.
    pub tls: Option<TlsConfig>,
}

impl Default for ConnConfig {
    fn default() -> Self {
        ConnConfig {
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            write_timeout: Duration::from_secs(30),
            shutdown_timeout: Duration::from_secs(5),
            max_frame_size: DEFAULT_MAX_FRAME_SIZE,
            response_caps: ResponseCaps::default(),
            tls: None,
        }
    }
}

impl ConnConfig {
    /// Sets every deadline of a connection to `t` (the CLI's
    /// `--timeout-ms`).
    pub fn all_timeouts(mut self, t: Duration) -> Self {
        self.connect_timeout = t;
        self.request_timeout = t;
        self.write_timeout = t;
        self.shutdown_timeout = t;
        self
    }
}

impl fmt::Debug for ConnConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnConfig")
            .field("connect_timeout", &self.connect_timeout)
            .field("request_timeout", &self.request_timeout)
            .field("write_timeout", &self.write_timeout)
            .field("shutdown_timeout", &self.shutdown_timeout)
            .field("max_frame_size", &self.max_frame_size)
            .field("response_caps", &self.response_caps)
            .field("tls", &self.tls.is_some())
            .finish()
    }
}

/// How a connection ended before a reply arrived.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Closed {
    /// Orderly close (EOF).
    Eof,
    /// TCP reset (ECONNRESET, or WSAECONNRESET on Windows), or a broken pipe.
    Reset,
    /// No reply within the request timeout.
    TimedOut,
}

impl fmt::Display for Closed {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Closed::Eof => "closed",
            Closed::Reset => "reset",
            Closed::TimedOut => "no reply before the deadline",
        })
    }
}

/// Which part of opening a connection ran out of time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectStage {
    Tcp,
    Tls,
}

impl fmt::Display for ConnectStage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ConnectStage::Tcp => "the TCP connect",
            ConnectStage::Tls => "the TLS handshake",
        })
    }
}

/// What went wrong on a connection. Cloneable: one close fails every
/// request in flight with the same reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConnError {
    #[error("cannot connect to {addr}: {message}")]
    Connect { addr: String, message: String },
    #[error("connecting to {addr}: {stage} did not finish within {after:?}")]
    ConnectTimeout {
        addr: String,
        stage: ConnectStage,
        after: Duration,
    },
    #[error("TLS with {addr} failed: {message}")]
    Tls { addr: String, message: String },
    /// The peer closed or reset the connection before any byte of a reply.
    /// `in_flight`: a request was waiting for its reply when it happened
    /// (how brokers answer a request version they do not take).
    #[error("connection to {addr} {how}{}", if *in_flight { " while a request was in flight" } else { "" })]
    Closed {
        addr: String,
        how: Closed,
        in_flight: bool,
    },
    /// No byte of the reply arrived within the deadline.
    #[error("{what} to {addr}: the broker did not answer within {after:?}")]
    TimedOut {
        addr: String,
        what: String,
        after: Duration,
    },
    /// The request could not be handed to the socket within the deadline:
    /// the writer queue stayed full or the socket did not drain (the broker
    /// is not reading).
    #[error("{what} to {addr} could not be written within {after:?}: the broker is not reading")]
    WriteTimedOut {
        addr: String,
        what: String,
        after: Duration,
    },
    /// Part of a reply arrived, then the connection ended or the deadline
    /// passed (`how`). Counted in bytes of the frame, size prefix included;
    /// `expected` is `None` when the size prefix itself was cut.
    #[error(
        "the reply to {what} from {addr} was cut short: {read} of {} bytes arrived, then {}",
        expected.map_or_else(|| "a 4-byte size prefix".to_string(), |e| e.to_string()),
        truncated_how(*how)
    )]
    TruncatedReply {
        addr: String,
        what: String,
        how: Closed,
        read: usize,
        expected: Option<usize>,
    },
    /// A reply whose correlation id matches no request sent on this
    /// connection (nor one whose caller gave up): a reply to a different
    /// request. The connection is closed, as Kafka's own client does
    /// (NetworkClient's CorrelationIdMismatchException).
    #[error(
        "connection to {addr} closed: a reply carries correlation id {correlation_id}, which \
         matches no request sent on this connection (a reply to a different request)"
    )]
    UnexpectedReply { addr: String, correlation_id: i32 },
    /// A reply larger than its API's cap or the frame limit; refused at
    /// its size prefix and the connection closed.
    #[error("connection to {addr} closed: the reply to {what} is {size} bytes, over the limit of {max} bytes")]
    ReplyTooLarge {
        addr: String,
        what: String,
        size: i64,
        max: usize,
    },
    #[error("connection to {addr}: {message}")]
    Frame { addr: String, message: String },
    #[error("connection to {addr} was shut down")]
    Shutdown { addr: String },
}

fn truncated_how(how: Closed) -> &'static str {
    match how {
        Closed::Eof => "the connection closed",
        Closed::Reset => "the connection was reset",
        Closed::TimedOut => "the deadline passed",
    }
}

impl ConnError {
    /// The peer closed/reset before any byte of a reply, or no byte of one
    /// came in time: what the ApiVersions negotiation treats as "no reply".
    /// Everything else (a reply cut short, a reply to another
    /// request, an oversized one) means the broker did answer, so it is
    /// not this.
    pub fn as_closed(&self) -> Option<Closed> {
        match self {
            ConnError::Closed { how, .. } => Some(*how),
            ConnError::TimedOut { .. } => Some(Closed::TimedOut),
            _ => None,
        }
    }
}

fn classify_io(e: &io::Error) -> Closed {
    match e.kind() {
        io::ErrorKind::ConnectionReset
        | io::ErrorKind::ConnectionAborted
        | io::ErrorKind::BrokenPipe => Closed::Reset,
        _ => Closed::Eof,
    }
}

/// Per-request facts the connection needs (for limits, logs and errors).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestMeta {
    pub api_key: ApiKey,
    pub version: i16,
}

impl RequestMeta {
    fn describe(&self, id: i32) -> String {
        format!(
            "{} v{} (correlation id {id})",
            api_name(self.api_key),
            self.version
        )
    }
}

struct Pending {
    meta: RequestMeta,
    tx: oneshot::Sender<Result<Bytes, ConnError>>,
    /// The largest reply accepted for this request.
    max_reply: usize,
    /// The writer has handed the whole request to the socket.
    written: bool,
}

#[derive(Default)]
struct State {
    pending: HashMap<i32, Pending>,
    /// Requests whose caller gave up, oldest first: a late reply to one is
    /// read past and dropped.
    abandoned: VecDeque<i32>,
    /// The frame being read, from its first byte on.
    reading: Option<Reading>,
    closed: Option<ConnError>,
}

/// Progress of the frame being read, in bytes of the frame (size prefix
/// included).
#[derive(Debug, Clone, Copy)]
struct Reading {
    /// `None` until the correlation id has arrived.
    id: Option<i32>,
    read: usize,
    /// `None` until the size prefix has arrived; then size + 4.
    expected: Option<usize>,
}

impl State {
    /// Whether the frame being read is (or, before its correlation id has
    /// arrived, is likely) the reply to `id`. Brokers answer the requests
    /// of one connection in order, so an unidentified frame belongs to the
    /// oldest request waiting.
    fn reading_for(&self, id: i32) -> Option<Reading> {
        let r = self.reading?;
        let mine = match r.id {
            Some(rid) => rid == id,
            None => self.pending.keys().min() == Some(&id),
        };
        mine.then_some(r)
    }
}

struct Shared {
    addr: String,
    state: Mutex<State>,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        // A panic while holding this lock cannot leave the map inconsistent
        // (single inserts/removes), so a poisoned lock is still usable.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Marks the connection closed and fails every request in flight:
    /// `reason(None)` is kept as the close reason, `reason(Some(id))` goes
    /// to the request with that correlation id.
    fn close(&self, reason: impl Fn(Option<i32>) -> ConnError) {
        let pending = {
            let mut st = self.lock();
            if st.closed.is_none() {
                st.closed = Some(reason(None));
            }
            st.reading = None;
            std::mem::take(&mut st.pending)
        };
        for (id, p) in pending {
            tracing::debug!(
                broker = %self.addr, correlation_id = id, api_key = p.meta.api_key.0,
                version = p.meta.version, "request failed: connection closed"
            );
            let _ = p.tx.send(Err(reason(Some(id))));
        }
    }

    /// Closes with the same error for everyone.
    fn close_with(&self, e: ConnError) {
        self.close(|_| e.clone());
    }

    /// Closed or reset: `in_flight` for the requests that were waiting.
    fn close_closed(&self, how: Closed) {
        let addr = self.addr.clone();
        self.close(|id| ConnError::Closed {
            addr: addr.clone(),
            how,
            in_flight: id.is_some(),
        });
    }
}

struct Outgoing {
    id: i32,
    frame: Bytes,
}

/// An open connection. Dropping it closes the socket.
pub struct Connection {
    shared: Arc<Shared>,
    tx: mpsc::Sender<Outgoing>,
    /// Tells the writer to stop (no queueing behind frames).
    stop: watch::Sender<bool>,
    /// Becomes true when the writer has ended, however it ended.
    writer_done: watch::Receiver<bool>,
    next_id: AtomicI32,
    cfg: ConnConfig,
    /// The driver's task when this connection spawned it; `None` when the
    /// caller runs the [`Driver`] itself.
    task: Option<JoinHandle<()>>,
}

/// The future that moves a connection's bytes: its reader and its writer.
/// It ends when the peer closes and the connection is dropped or shut
/// down; [`Connection::shutdown`] bounds how long that takes. From
/// [`Connection::over_with_driver`], for a caller that owns the task.
pub struct Driver(Pin<Box<dyn Future<Output = ()> + Send>>);

impl Future for Driver {
    type Output = ();
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.0.as_mut().poll(cx)
    }
}

impl fmt::Debug for Driver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Driver")
    }
}

impl fmt::Debug for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Connection")
            .field("addr", &self.shared.addr)
            .field("closed", &self.is_closed())
            .finish()
    }
}

impl Connection {
    /// Opens a TCP connection (then TLS if configured), all within
    /// `connect_timeout`.
    pub async fn connect(addr: &str, cfg: ConnConfig) -> Result<Connection, ConnError> {
        let deadline = Instant::now() + cfg.connect_timeout;
        let timed_out = |stage| ConnError::ConnectTimeout {
            addr: addr.to_string(),
            stage,
            after: cfg.connect_timeout,
        };
        let tcp = timeout_at(deadline, TcpStream::connect(addr))
            .await
            .map_err(|_| timed_out(ConnectStage::Tcp))?
            .map_err(|e| ConnError::Connect {
                addr: addr.to_string(),
                message: e.to_string(),
            })?;
        // Requests are small and latency matters more than coalescing.
        let _ = tcp.set_nodelay(true);
        match &cfg.tls {
            None => {
                tracing::debug!(broker = %addr, tls = false, "connected");
                Ok(Self::over(addr, tcp, cfg))
            }
            Some(tls) => {
                let s = timeout_at(deadline, tls.connect(addr, tcp))
                    .await
                    .map_err(|_| timed_out(ConnectStage::Tls))?
                    .map_err(|message| ConnError::Tls {
                        addr: addr.to_string(),
                        message,
                    })?;
                tracing::debug!(broker = %addr, tls = true, "connected");
                Ok(Self::over(addr, s, cfg))
            }
        }
    }

    /// A connection over a stream the caller opened (TCP, TLS, a Unix
    /// socket, an in-memory pipe). `addr` names the peer in logs and
    /// errors. The driver is spawned on the current runtime.
    pub fn over<S>(addr: &str, io: S, cfg: ConnConfig) -> Connection
    where
        S: AsyncRead + AsyncWrite + Send + 'static,
    {
        let (mut conn, driver) = Self::over_with_driver(addr, io, cfg);
        conn.task = Some(tokio::spawn(driver));
        conn
    }

    /// [`Connection::over`] without spawning: the caller runs the returned
    /// [`Driver`] (on its own task, a `LocalSet`, or joined with other
    /// work). Requests make progress only while it runs.
    pub fn over_with_driver<S>(addr: &str, io: S, cfg: ConnConfig) -> (Connection, Driver)
    where
        S: AsyncRead + AsyncWrite + Send + 'static,
    {
        let shared = Arc::new(Shared {
            addr: addr.to_string(),
            state: Mutex::new(State::default()),
        });
        let (rd, wr) = tokio::io::split(io);
        let (tx, rx) = mpsc::channel(WRITER_QUEUE_DEPTH);
        let (stop, stop_rx) = watch::channel(false);
        let (done_tx, writer_done) = watch::channel(false);
        let reader = {
            let shared = shared.clone();
            let mut stop = stop_rx.clone();
            let max_frame = cfg.max_frame_size;
            async move {
                // Stops with the connection (shutdown, or the handle
                // dropped): requests in flight were failed by then.
                tokio::select! {
                    biased;
                    _ = stop.wait_for(|s| *s) => {}
                    _ = read_loop(rd, shared, max_frame) => {}
                }
            }
        };
        let writer = write_loop(
            wr,
            rx,
            shared.clone(),
            stop_rx,
            DoneOnDrop(done_tx),
            cfg.write_timeout,
            cfg.shutdown_timeout,
        );
        let driver = Driver(Box::pin(async move {
            tokio::join!(reader, writer);
        }));
        let conn = Connection {
            shared,
            tx,
            stop,
            writer_done,
            next_id: AtomicI32::new(1),
            cfg,
            task: None,
        };
        (conn, driver)
    }

    pub fn addr(&self) -> &str {
        &self.shared.addr
    }

    pub fn config(&self) -> &ConnConfig {
        &self.cfg
    }

    pub fn is_closed(&self) -> bool {
        self.shared.lock().closed.is_some()
    }

    /// Why the connection closed, if it did.
    pub fn close_reason(&self) -> Option<ConnError> {
        self.shared.lock().closed.clone()
    }

    /// Requests waiting for a reply.
    pub fn in_flight(&self) -> usize {
        self.shared.lock().pending.len()
    }

    /// Sends one request and waits for its reply frame (response header
    /// and body, without the size prefix), with the default timeout.
    ///
    /// `build` appends the request header and body for the correlation id
    /// it is given.
    pub async fn send<E>(
        &self,
        meta: RequestMeta,
        build: impl FnOnce(i32, &mut BytesMut) -> Result<(), E>,
    ) -> Result<Bytes, E>
    where
        E: From<ConnError>,
    {
        self.send_with_timeout(meta, self.cfg.request_timeout, build)
            .await
    }

    /// [`Connection::send`] with an explicit timeout, which bounds the
    /// whole call: waiting for room in the writer queue, writing, and the
    /// reply.
    pub async fn send_with_timeout<E>(
        &self,
        meta: RequestMeta,
        timeout: Duration,
        build: impl FnOnce(i32, &mut BytesMut) -> Result<(), E>,
    ) -> Result<Bytes, E>
    where
        E: From<ConnError>,
    {
        let deadline = Instant::now() + timeout;
        let id = self.next_correlation_id();
        let mut buf = start_frame(64);
        build(id, &mut buf)?;
        let frame = finish_frame(buf, self.cfg.max_frame_size).map_err(|e| ConnError::Frame {
            addr: self.shared.addr.clone(),
            message: format!("request {}: {e}", meta.describe(id)),
        })?;
        let max_reply = self
            .cfg
            .response_caps
            .max_for(meta.api_key, self.cfg.max_frame_size);
        let (tx, rx) = oneshot::channel();
        {
            let mut st = self.shared.lock();
            if let Some(e) = &st.closed {
                return Err(e.clone().into());
            }
            st.pending.insert(
                id,
                Pending {
                    meta,
                    tx,
                    max_reply,
                    written: false,
                },
            );
        }
        let guard = PendingGuard {
            shared: &self.shared,
            id,
        };
        let res = match timeout_at(deadline, self.tx.reserve()).await {
            Err(_) => {
                // Never queued, so never sent: no late reply to expect.
                self.shared.lock().pending.remove(&id);
                Err(ConnError::WriteTimedOut {
                    addr: self.shared.addr.clone(),
                    what: format!(
                        "{} (waiting for room in the writer queue)",
                        meta.describe(id)
                    ),
                    after: timeout,
                })
            }
            Ok(Err(_)) => Err(self.closed_error()),
            Ok(Ok(permit)) => {
                permit.send(Outgoing { id, frame });
                match timeout_at(deadline, rx).await {
                    Ok(Ok(r)) => r,
                    Ok(Err(_)) => Err(self.closed_error()),
                    Err(_) => Err(self.timeout_error(id, meta, timeout)),
                }
            }
        };
        drop(guard);
        res.map_err(E::from)
    }

    /// Queues a request the broker does not answer (Produce with acks=0):
    /// no correlation entry is kept, so nothing waits for a reply. Returns
    /// once the frame is queued for the writer; `timeout` bounds the wait
    /// for room in the queue.
    pub async fn send_no_reply<E>(
        &self,
        meta: RequestMeta,
        timeout: Duration,
        build: impl FnOnce(i32, &mut BytesMut) -> Result<(), E>,
    ) -> Result<(), E>
    where
        E: From<ConnError>,
    {
        let id = self.next_correlation_id();
        let mut buf = start_frame(64);
        build(id, &mut buf)?;
        let frame = finish_frame(buf, self.cfg.max_frame_size).map_err(|e| ConnError::Frame {
            addr: self.shared.addr.clone(),
            message: format!("request {}: {e}", meta.describe(id)),
        })?;
        if let Some(e) = &self.shared.lock().closed {
            return Err(e.clone().into());
        }
        match tokio::time::timeout(timeout, self.tx.reserve()).await {
            Err(_) => Err(ConnError::WriteTimedOut {
                addr: self.shared.addr.clone(),
                what: format!(
                    "{} (waiting for room in the writer queue)",
                    meta.describe(id)
                ),
                after: timeout,
            }
            .into()),
            Ok(Err(_)) => Err(self.closed_error().into()),
            Ok(Ok(permit)) => {
                permit.send(Outgoing { id, frame });
                Ok(())
            }
        }
    }

    /// Why request `id` ran out of time: never fully written, part of its
    /// reply arrived, or nothing arrived.
    fn timeout_error(&self, id: i32, meta: RequestMeta, after: Duration) -> ConnError {
        let st = self.shared.lock();
        let addr = self.shared.addr.clone();
        let what = meta.describe(id);
        let err = match st.reading_for(id) {
            Some(r) => ConnError::TruncatedReply {
                addr,
                what,
                how: Closed::TimedOut,
                read: r.read,
                expected: r.expected,
            },
            _ if st.pending.get(&id).is_some_and(|p| !p.written) => {
                ConnError::WriteTimedOut { addr, what, after }
            }
            _ => ConnError::TimedOut { addr, what, after },
        };
        tracing::debug!(broker = %self.shared.addr, correlation_id = id, api_key = meta.api_key.0,
            version = meta.version, ?after, error = %err, "request timed out");
        err
    }

    fn next_correlation_id(&self) -> i32 {
        loop {
            let id = self.next_id.fetch_add(1, Ordering::Relaxed);
            // Wrapping past i32::MAX restarts at MIN; skip ids still in use.
            let st = self.shared.lock();
            if !st.pending.contains_key(&id) && !st.abandoned.contains(&id) {
                return id;
            }
        }
    }

    fn closed_error(&self) -> ConnError {
        self.close_reason().unwrap_or(ConnError::Shutdown {
            addr: self.shared.addr.clone(),
        })
    }

    /// Closes the connection: requests in flight fail with
    /// [`ConnError::Shutdown`], queued frames are dropped, and the write
    /// half is shut down (TLS close_notify, TCP FIN) if the writer gets
    /// there within `shutdown_timeout`; after that the socket is dropped.
    pub async fn shutdown(&self) {
        let addr = self.shared.addr.clone();
        self.shared
            .close_with(ConnError::Shutdown { addr: addr.clone() });
        self.stop.send_replace(true);
        let mut done = self.writer_done.clone();
        if timeout(self.cfg.shutdown_timeout, done.wait_for(|d| *d))
            .await
            .is_err()
        {
            tracing::debug!(broker = %addr, after = ?self.cfg.shutdown_timeout,
                "writer did not finish shutting down in time: socket dropped");
        }
        if let Some(task) = &self.task {
            task.abort();
        }
        tracing::debug!(broker = %addr, "connection shut down");
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        // A caller-run driver sees the stop and ends on its own.
        self.stop.send_replace(true);
        if let Some(task) = &self.task {
            task.abort();
        }
    }
}

/// Removes a pending entry when the caller gives up (timeout or a dropped
/// future) and remembers its id, so a late reply is read and dropped.
struct PendingGuard<'a> {
    shared: &'a Shared,
    id: i32,
}

impl Drop for PendingGuard<'_> {
    fn drop(&mut self) {
        let mut st = self.shared.lock();
        if st.pending.remove(&self.id).is_some() && st.closed.is_none() {
            if st.abandoned.len() >= ABANDONED_IDS_REMEMBERED {
                st.abandoned.pop_front();
            }
            st.abandoned.push_back(self.id);
        }
    }
}

/// Reads replies until the connection ends, then closes it with the reason.
async fn read_loop<R: AsyncRead + Unpin>(mut rd: R, shared: Arc<Shared>, max_frame: usize) {
    loop {
        if let Err(end) = read_one(&mut rd, &shared, max_frame).await {
            end.close(&shared);
            return;
        }
    }
}

/// Why the reader stopped.
enum ReadEnd {
    /// Closed or reset between frames.
    Closed(Closed),
    /// Closed or reset inside the frame of `id` (`None`: inside a size
    /// prefix or before the correlation id).
    Cut {
        id: Option<i32>,
        how: Closed,
        read: usize,
        expected: Option<usize>,
    },
    /// A protocol violation, the same error for everyone.
    Fatal(ConnError),
}

impl ReadEnd {
    fn close(self, shared: &Shared) {
        let addr = shared.addr.clone();
        match self {
            ReadEnd::Closed(how) => shared.close_closed(how),
            ReadEnd::Cut {
                id,
                how,
                read,
                expected,
            } => {
                let (metas, oldest) = {
                    let st = shared.lock();
                    let metas: HashMap<i32, RequestMeta> =
                        st.pending.iter().map(|(&i, p)| (i, p.meta)).collect();
                    (metas, st.pending.keys().min().copied())
                };
                // Cut before its correlation id: the oldest request's reply
                // (brokers answer one connection's requests in order).
                let cut_id = id.or(oldest);
                shared.close(|for_id| match for_id {
                    Some(i) if cut_id == Some(i) => ConnError::TruncatedReply {
                        addr: addr.clone(),
                        what: metas
                            .get(&i)
                            .map_or_else(|| "a request".into(), |m| m.describe(i)),
                        how,
                        read,
                        expected,
                    },
                    Some(_) => ConnError::Closed {
                        addr: addr.clone(),
                        how,
                        in_flight: true,
                    },
                    None => ConnError::TruncatedReply {
                        addr: addr.clone(),
                        what: "a request".into(),
                        how,
                        read,
                        expected,
                    },
                });
            }
            ReadEnd::Fatal(e) => shared.close_with(e),
        }
    }
}

/// Reads one frame and delivers it.
async fn read_one<R: AsyncRead + Unpin>(
    rd: &mut R,
    shared: &Shared,
    max_frame: usize,
) -> Result<(), ReadEnd> {
    let addr = || shared.addr.clone();
    let set = |r: Option<Reading>| shared.lock().reading = r;
    let size = match read_size_with(rd, max_frame, |n| {
        set(Some(Reading {
            id: None,
            read: n,
            expected: None,
        }))
    })
    .await
    {
        Ok(Some(size)) => size,
        Ok(None) => return Err(ReadEnd::Closed(Closed::Eof)),
        // Nothing of a frame had arrived: closed or reset between frames.
        Err(FrameError::Io(e)) if shared.lock().reading.is_none() => {
            return Err(ReadEnd::Closed(classify_io(&e)))
        }
        Err(FrameError::Io(e)) => {
            let read = shared.lock().reading.map_or(0, |r| r.read);
            return Err(ReadEnd::Cut {
                id: None,
                how: classify_io(&e),
                read,
                expected: None,
            });
        }
        Err(FrameError::Truncated { read, .. }) => {
            return Err(ReadEnd::Cut {
                id: None,
                how: Closed::Eof,
                read,
                expected: None,
            })
        }
        Err(FrameError::TooLarge { size, max }) => {
            return Err(ReadEnd::Fatal(ConnError::ReplyTooLarge {
                addr: addr(),
                what: "a request".into(),
                size,
                max,
            }))
        }
        Err(e @ FrameError::Negative(_)) => {
            return Err(ReadEnd::Fatal(ConnError::Frame {
                addr: addr(),
                message: e.to_string(),
            }))
        }
    };
    if size < 4 {
        return Err(ReadEnd::Fatal(ConnError::Frame {
            addr: addr(),
            message: format!("response frame of {size} bytes has no correlation id"),
        }));
    }
    let expected = Some(size + 4);
    let cut = |e: io::Error, id: Option<i32>, got: usize| {
        let how = if e.kind() == io::ErrorKind::UnexpectedEof {
            Closed::Eof
        } else {
            classify_io(&e)
        };
        ReadEnd::Cut {
            id,
            how,
            read: got + 4,
            expected,
        }
    };
    let mut buf = BytesMut::with_capacity(4);
    set(Some(Reading {
        id: None,
        read: 4,
        expected,
    }));
    if let Err(e) = read_to_len(rd, &mut buf, 4, |n| {
        set(Some(Reading {
            id: None,
            read: n + 4,
            expected,
        }))
    })
    .await
    {
        return Err(cut(e, None, buf.len()));
    }
    let id = i32::from_be_bytes([buf[0], buf[1], buf[2], buf[3]]);
    enum Known {
        Waiting(usize, RequestMeta),
        Abandoned,
    }
    let known = {
        let mut st = shared.lock();
        if let Some(p) = st.pending.get(&id) {
            Some(Known::Waiting(p.max_reply, p.meta))
        } else if let Some(i) = st.abandoned.iter().position(|&a| a == id) {
            st.abandoned.remove(i);
            Some(Known::Abandoned)
        } else {
            None
        }
    };
    match known {
        None => Err(ReadEnd::Fatal(ConnError::UnexpectedReply {
            addr: addr(),
            correlation_id: id,
        })),
        Some(Known::Abandoned) => {
            set(None);
            tracing::debug!(broker = %shared.addr, correlation_id = id, size,
                "late reply to a request whose caller gave up: read past and dropped");
            discard(rd, size - 4)
                .await
                .map_err(|e| cut(e, Some(id), size))
        }
        Some(Known::Waiting(max, meta)) if size > max => {
            Err(ReadEnd::Fatal(ConnError::ReplyTooLarge {
                addr: addr(),
                what: meta.describe(id),
                size: size as i64,
                max,
            }))
        }
        Some(Known::Waiting(..)) => {
            let progress = |n: usize| {
                set(Some(Reading {
                    id: Some(id),
                    read: n + 4,
                    expected,
                }))
            };
            progress(4);
            let res = read_to_len(rd, &mut buf, size, progress).await;
            let got = buf.len();
            let mut st = shared.lock();
            st.reading = None;
            if let Err(e) = res {
                drop(st);
                return Err(cut(e, Some(id), got));
            }
            match st.pending.remove(&id) {
                Some(p) => {
                    drop(st);
                    let _ = p.tx.send(Ok(buf.freeze()));
                }
                None => {
                    // Its caller gave up while the reply was arriving.
                    if let Some(i) = st.abandoned.iter().position(|&a| a == id) {
                        st.abandoned.remove(i);
                    }
                    drop(st);
                    tracing::debug!(broker = %shared.addr, correlation_id = id,
                        "reply completed after its caller gave up: dropped");
                }
            }
            Ok(())
        }
    }
}

/// Flags the writer's end, however it ends (return, abort, panic).
struct DoneOnDrop(watch::Sender<bool>);

impl Drop for DoneOnDrop {
    fn drop(&mut self) {
        self.0.send_replace(true);
    }
}

async fn write_loop<W: AsyncWrite + Unpin>(
    mut wr: W,
    mut rx: mpsc::Receiver<Outgoing>,
    shared: Arc<Shared>,
    mut stop: watch::Receiver<bool>,
    _done: DoneOnDrop,
    write_timeout: Duration,
    shutdown_timeout: Duration,
) {
    loop {
        let first = tokio::select! {
            biased;
            _ = stop.wait_for(|s| *s) => break,
            m = rx.recv() => match m {
                Some(m) => m,
                None => break,
            },
        };
        // Pipelining: write whatever else is queued before one flush.
        let batch = async {
            let mut ids = vec![first.id];
            wr.write_all(&first.frame).await?;
            while let Ok(next) = rx.try_recv() {
                ids.push(next.id);
                wr.write_all(&next.frame).await?;
            }
            wr.flush().await?;
            Ok::<_, io::Error>(ids)
        };
        let res = tokio::select! {
            biased;
            // Shutdown does not wait for a write the peer does not take.
            _ = stop.wait_for(|s| *s) => return,
            r = timeout(write_timeout, batch) => r,
        };
        match res {
            Ok(Ok(ids)) => {
                let mut st = shared.lock();
                for id in ids {
                    if let Some(p) = st.pending.get_mut(&id) {
                        p.written = true;
                    }
                }
            }
            Ok(Err(e)) => {
                shared.close_closed(classify_io(&e));
                return;
            }
            Err(_) => {
                tracing::warn!(broker = %shared.addr, after = ?write_timeout,
                    "a request could not be written in time (the broker is not reading): closing");
                shared.close_with(ConnError::WriteTimedOut {
                    addr: shared.addr.clone(),
                    what: "a request".into(),
                    after: write_timeout,
                });
                return;
            }
        }
    }
    // TLS close_notify and FIN; a peer that does not read cannot hold the
    // driver past the shutdown deadline.
    let _ = timeout(shutdown_timeout, wr.shutdown()).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::frame::read_frame;
    use bytes::BufMut;
    use tokio::io::AsyncReadExt;
    use tokio::net::TcpListener;

    #[derive(Debug, thiserror::Error, PartialEq)]
    enum E {
        #[error(transparent)]
        C(#[from] ConnError),
    }

    fn meta() -> RequestMeta {
        RequestMeta {
            api_key: ApiKey::METADATA,
            version: 1,
        }
    }

    fn body(payload: &'static [u8]) -> impl FnOnce(i32, &mut BytesMut) -> Result<(), E> {
        move |id, b| {
            b.put_i32(id);
            b.extend_from_slice(payload);
            Ok(())
        }
    }

    async fn read_req(s: &mut TcpStream) -> Option<(i32, Vec<u8>)> {
        let f = read_frame(s, 1 << 20).await.ok()??;
        Some((i32::from_be_bytes(f[..4].try_into().ok()?), f[4..].to_vec()))
    }

    async fn reply(s: &mut TcpStream, id: i32, payload: &[u8]) {
        let mut f = start_frame(0);
        f.put_i32(id);
        f.extend_from_slice(payload);
        s.write_all(&finish_frame(f, 1 << 20).unwrap())
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn pipelined_replies_out_of_order_are_matched_by_id() {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap().to_string();
        let server = tokio::spawn(async move {
            let (mut s, _) = l.accept().await.unwrap();
            let a = read_req(&mut s).await.unwrap();
            let b = read_req(&mut s).await.unwrap();
            let c = read_req(&mut s).await.unwrap();
            // Answer in reverse order.
            for (id, p) in [c, b, a] {
                reply(&mut s, id, &p).await;
            }
            s
        });
        let c = Connection::connect(&addr, ConnConfig::default())
            .await
            .unwrap();
        let (r1, r2, r3) = tokio::join!(
            c.send::<E>(meta(), body(b"one")),
            c.send::<E>(meta(), body(b"two")),
            c.send::<E>(meta(), body(b"three")),
        );
        assert_eq!(&r1.unwrap()[4..], b"one");
        assert_eq!(&r2.unwrap()[4..], b"two");
        assert_eq!(&r3.unwrap()[4..], b"three");
        assert_eq!(c.in_flight(), 0);
        let _s = server.await.unwrap();
    }

    #[tokio::test]
    async fn timeout_then_late_reply_is_discarded() {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap().to_string();
        let server = tokio::spawn(async move {
            let (mut s, _) = l.accept().await.unwrap();
            let (id1, _) = read_req(&mut s).await.unwrap();
            let (id2, _) = read_req(&mut s).await.unwrap();
            reply(&mut s, id1, b"late").await;
            reply(&mut s, id2, b"second").await;
            s
        });
        let c = Connection::connect(&addr, ConnConfig::default())
            .await
            .unwrap();
        let r = c
            .send_with_timeout::<E>(meta(), Duration::from_millis(1), |id, b| {
                b.put_i32(id);
                Ok(())
            })
            .await;
        assert!(matches!(r, Err(E::C(ConnError::TimedOut { .. }))), "{r:?}");
        let r2 = c.send::<E>(meta(), body(b"x")).await.unwrap();
        assert_eq!(&r2[4..], b"second");
        let _s = server.await.unwrap();
    }

    #[tokio::test]
    async fn close_with_request_in_flight_is_reported_as_such() {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap().to_string();
        tokio::spawn(async move {
            let (mut s, _) = l.accept().await.unwrap();
            let _ = read_req(&mut s).await;
            drop(s);
        });
        let c = Connection::connect(&addr, ConnConfig::default())
            .await
            .unwrap();
        let r = c.send::<E>(meta(), body(b"x")).await;
        match r {
            Err(E::C(ConnError::Closed {
                in_flight: true, ..
            })) => {}
            other => panic!("{other:?}"),
        }
        assert!(c.is_closed());
        // Later sends fail fast with the close reason.
        assert!(matches!(
            c.send::<E>(meta(), body(b"y")).await,
            Err(E::C(ConnError::Closed {
                in_flight: false,
                ..
            }))
        ));
    }

    #[tokio::test]
    async fn oversized_reply_closes_with_a_frame_error() {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap().to_string();
        tokio::spawn(async move {
            let (mut s, _) = l.accept().await.unwrap();
            let _ = read_req(&mut s).await;
            s.write_all(&1000i32.to_be_bytes()).await.unwrap();
            let mut sink = [0u8; 16];
            let _ = s.read(&mut sink).await;
        });
        let cfg = ConnConfig {
            max_frame_size: 100,
            ..Default::default()
        };
        let c = Connection::connect(&addr, cfg).await.unwrap();
        match c.send::<E>(meta(), body(b"x")).await {
            Err(E::C(ConnError::ReplyTooLarge {
                size: 1000,
                max: 100,
                ..
            })) => {}
            other => panic!("{other:?}"),
        }
        // And a request larger than the limit is never sent.
        let c2 = Connection::connect(
            &addr,
            ConnConfig {
                max_frame_size: 4,
                ..Default::default()
            },
        )
        .await;
        if let Ok(c2) = c2 {
            assert!(matches!(
                c2.send::<E>(meta(), body(b"too long")).await,
                Err(E::C(ConnError::Frame { .. }))
            ));
        }
    }

    #[tokio::test]
    async fn shutdown_fails_in_flight_and_sends_fin() {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap().to_string();
        let server = tokio::spawn(async move {
            let (mut s, _) = l.accept().await.unwrap();
            let _ = read_req(&mut s).await;
            // After shutdown the client half-closes: we read EOF.
            read_req(&mut s).await.is_none()
        });
        let c = Arc::new(
            Connection::connect(&addr, ConnConfig::default())
                .await
                .unwrap(),
        );
        let c2 = c.clone();
        let pending = tokio::spawn(async move { c2.send::<E>(meta(), body(b"x")).await });
        while c.in_flight() == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        c.shutdown().await;
        assert!(matches!(
            pending.await.unwrap(),
            Err(E::C(ConnError::Shutdown { .. }))
        ));
        assert!(
            server.await.unwrap(),
            "server did not see EOF after shutdown"
        );
    }

    #[tokio::test]
    async fn reply_to_an_unknown_correlation_id_closes_the_connection() {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap().to_string();
        let server = tokio::spawn(async move {
            let (mut s, _) = l.accept().await.unwrap();
            let (id, _) = read_req(&mut s).await.unwrap();
            reply(&mut s, id + 100, b"not yours").await;
            let mut sink = [0u8; 16];
            let _ = s.read(&mut sink).await;
        });
        let c = Connection::connect(&addr, ConnConfig::default())
            .await
            .unwrap();
        match c.send::<E>(meta(), body(b"x")).await {
            Err(E::C(ConnError::UnexpectedReply { correlation_id, .. })) => {
                assert_eq!(correlation_id, 101)
            }
            other => panic!("{other:?}"),
        }
        assert!(c.is_closed());
        server.abort();
    }

    #[tokio::test]
    async fn per_api_cap_applies_to_its_replies_only() {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap().to_string();
        let server = tokio::spawn(async move {
            let (mut s, _) = l.accept().await.unwrap();
            while let Some((id, p)) = read_req(&mut s).await {
                reply(&mut s, id, &vec![0; p.len() * 100]).await;
            }
        });
        let cfg = ConnConfig {
            response_caps: ResponseCaps::none().cap(ApiKey::METADATA, 1000),
            ..Default::default()
        };
        let c = Connection::connect(&addr, cfg).await.unwrap();
        // 5 bytes asked, 500 answered: fine for api key 1, not for key 3.
        let fetch = RequestMeta {
            api_key: ApiKey::FETCH,
            version: 4,
        };
        assert_eq!(c.send::<E>(fetch, body(b"12345")).await.unwrap().len(), 504);
        assert!(c.send::<E>(meta(), body(b"12345")).await.is_ok());
        match c.send::<E>(meta(), body(b"0123456789")).await {
            Err(E::C(ConnError::ReplyTooLarge { size, max, .. })) => {
                assert_eq!((size, max), (1004, 1000))
            }
            other => panic!("{other:?}"),
        }
        server.abort();
    }

    #[tokio::test]
    async fn reply_cut_short_is_not_a_close_before_the_reply() {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap().to_string();
        tokio::spawn(async move {
            let (mut s, _) = l.accept().await.unwrap();
            let (id, _) = read_req(&mut s).await.unwrap();
            s.write_all(&100i32.to_be_bytes()).await.unwrap();
            s.write_all(&id.to_be_bytes()).await.unwrap();
            s.write_all(b"half").await.unwrap();
        });
        let c = Connection::connect(&addr, ConnConfig::default())
            .await
            .unwrap();
        match c.send::<E>(meta(), body(b"x")).await {
            Err(E::C(e @ ConnError::TruncatedReply { .. })) => {
                assert_eq!(e.as_closed(), None);
                let t = e.to_string();
                assert!(
                    t.contains("12 of 104 bytes") && t.contains("cut short"),
                    "{t}"
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[tokio::test]
    async fn a_caller_owned_driver_over_an_in_memory_stream() {
        let (client, mut server) = tokio::io::duplex(1 << 16);
        let (c, driver) = Connection::over_with_driver("in-memory", client, ConnConfig::default());
        let peer = async move {
            let f = read_frame(&mut server, 1 << 20).await.unwrap().unwrap();
            let id = i32::from_be_bytes(f[..4].try_into().unwrap());
            let mut out = start_frame(0);
            out.put_i32(id);
            out.extend_from_slice(&f[4..]);
            out.extend_from_slice(b"-pong");
            server
                .write_all(&finish_frame(out, 1 << 20).unwrap())
                .await
                .unwrap();
            server
        };
        let call = async {
            let r = c.send::<E>(meta(), body(b"ping")).await;
            c.shutdown().await;
            r
        };
        // The driver ends by itself once the connection is shut down.
        let ((), _server, r) = tokio::time::timeout(Duration::from_secs(10), async {
            tokio::join!(driver, peer, call)
        })
        .await
        .expect("driver, peer and call all finish");
        assert_eq!(&r.unwrap()[4..], b"ping-pong");
        assert!(c.is_closed());
    }

    #[tokio::test]
    async fn connect_refused_is_typed() {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap().to_string();
        drop(l);
        assert!(matches!(
            Connection::connect(&addr, ConnConfig::default()).await,
            Err(ConnError::Connect { .. })
        ));
    }
}
