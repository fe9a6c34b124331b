//! One broker connection: TCP (optionally TLS), framing, correlation ids,
//! many requests in flight (pipelining) with responses matched by id,
//! per-request timeouts and clean shutdown.
//!
//! Codec-agnostic on purpose: the caller builds the request frame for a
//! given correlation id and gets the response frame (header and body) back.
//! A writer task owns the write half so a caller that gives up (timeout,
//! dropped future) never leaves half a frame on the wire.

use std::collections::HashMap;
use std::fmt;
use std::io;
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::frame::{finish_frame, read_frame, start_frame, FrameError, DEFAULT_MAX_FRAME_SIZE};
use crate::negotiate::Closed;
use crate::tls::TlsConfig;

/// How to open and run a connection.
#[derive(Clone)]
pub struct ConnConfig {
    pub connect_timeout: Duration,
    /// Default per-request timeout.
    pub request_timeout: Duration,
    /// Largest frame read or written.
    pub max_frame_size: usize,
    /// TLS, verified by default (see [`TlsConfig`]); `None` = plaintext.
    pub tls: Option<TlsConfig>,
}

impl Default for ConnConfig {
    fn default() -> Self {
        ConnConfig {
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            max_frame_size: DEFAULT_MAX_FRAME_SIZE,
            tls: None,
        }
    }
}

impl fmt::Debug for ConnConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ConnConfig")
            .field("connect_timeout", &self.connect_timeout)
            .field("request_timeout", &self.request_timeout)
            .field("max_frame_size", &self.max_frame_size)
            .field("tls", &self.tls.is_some())
            .finish()
    }
}

/// What went wrong on a connection. Cloneable: one close fails every
/// request in flight with the same reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConnError {
    #[error("cannot connect to {addr}: {message}")]
    Connect { addr: String, message: String },
    #[error("connecting to {addr} timed out after {after:?}")]
    ConnectTimeout { addr: String, after: Duration },
    #[error("TLS with {addr} failed: {message}")]
    Tls { addr: String, message: String },
    /// The peer closed or reset the connection. `in_flight`: a request was
    /// waiting for its reply when it happened (how brokers answer a request
    /// version they do not take, negotiation.md §1.5).
    #[error("connection to {addr} {how}{}", if *in_flight { " while a request was in flight" } else { "" })]
    Closed {
        addr: String,
        how: Closed,
        in_flight: bool,
    },
    #[error("{what} to {addr} got no reply within {after:?}")]
    TimedOut {
        addr: String,
        what: String,
        after: Duration,
    },
    #[error("connection to {addr}: {message}")]
    Frame { addr: String, message: String },
    #[error("connection to {addr} was shut down")]
    Shutdown { addr: String },
}

impl ConnError {
    /// The peer closed/reset, or a reply never came: the ApiVersions
    /// state machine's "closed before a reply".
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

/// Per-request facts the connection needs (for logs and errors).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestMeta {
    pub api_key: i16,
    pub version: i16,
}

struct Pending {
    meta: RequestMeta,
    tx: oneshot::Sender<Result<Bytes, ConnError>>,
}

#[derive(Default)]
struct State {
    pending: HashMap<i32, Pending>,
    closed: Option<ConnError>,
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

    /// Marks the connection closed and fails every request in flight.
    fn close(&self, reason: impl Fn(bool) -> ConnError) {
        let pending = {
            let mut st = self.lock();
            if st.closed.is_none() {
                st.closed = Some(reason(false));
            }
            std::mem::take(&mut st.pending)
        };
        for (id, p) in pending {
            tracing::debug!(
                broker = %self.addr, correlation_id = id, api_key = p.meta.api_key,
                version = p.meta.version, "request failed: connection closed"
            );
            let _ = p.tx.send(Err(reason(true)));
        }
    }
}

enum WriterMsg {
    Frame(Bytes),
    Shutdown,
}

trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// An open connection. Dropping it closes the socket.
pub struct Connection {
    shared: Arc<Shared>,
    tx: mpsc::Sender<WriterMsg>,
    next_id: AtomicI32,
    cfg: ConnConfig,
    reader: JoinHandle<()>,
    writer: JoinHandle<()>,
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
    /// Opens a TCP connection (then TLS if configured).
    pub async fn connect(addr: &str, cfg: ConnConfig) -> Result<Connection, ConnError> {
        let tcp = tokio::time::timeout(cfg.connect_timeout, TcpStream::connect(addr))
            .await
            .map_err(|_| ConnError::ConnectTimeout {
                addr: addr.to_string(),
                after: cfg.connect_timeout,
            })?
            .map_err(|e| ConnError::Connect {
                addr: addr.to_string(),
                message: e.to_string(),
            })?;
        // Requests are small and latency matters more than coalescing.
        let _ = tcp.set_nodelay(true);
        let stream: Box<dyn Stream> = match &cfg.tls {
            None => Box::new(tcp),
            Some(tls) => {
                let s = tokio::time::timeout(cfg.connect_timeout, tls.connect(addr, tcp))
                    .await
                    .map_err(|_| ConnError::ConnectTimeout {
                        addr: addr.to_string(),
                        after: cfg.connect_timeout,
                    })?
                    .map_err(|message| ConnError::Tls {
                        addr: addr.to_string(),
                        message,
                    })?;
                Box::new(s)
            }
        };
        tracing::debug!(broker = %addr, tls = cfg.tls.is_some(), "connected");
        Ok(Self::from_stream(addr, stream, cfg))
    }

    fn from_stream(addr: &str, stream: Box<dyn Stream>, cfg: ConnConfig) -> Connection {
        let shared = Arc::new(Shared {
            addr: addr.to_string(),
            state: Mutex::new(State::default()),
        });
        let (rd, wr) = tokio::io::split(stream);
        let (tx, rx) = mpsc::channel(64);
        let reader = tokio::spawn(read_loop(rd, shared.clone(), cfg.max_frame_size));
        let writer = tokio::spawn(write_loop(wr, rx, shared.clone()));
        Connection {
            shared,
            tx,
            next_id: AtomicI32::new(1),
            cfg,
            reader,
            writer,
        }
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

    /// [`Connection::send`] with an explicit timeout.
    pub async fn send_with_timeout<E>(
        &self,
        meta: RequestMeta,
        timeout: Duration,
        build: impl FnOnce(i32, &mut BytesMut) -> Result<(), E>,
    ) -> Result<Bytes, E>
    where
        E: From<ConnError>,
    {
        let id = self.next_correlation_id();
        let mut buf = start_frame(64);
        build(id, &mut buf)?;
        let frame = finish_frame(buf, self.cfg.max_frame_size).map_err(|e| ConnError::Frame {
            addr: self.shared.addr.clone(),
            message: format!("request {}v{}: {e}", meta.api_key, meta.version),
        })?;
        let (tx, rx) = oneshot::channel();
        {
            let mut st = self.shared.lock();
            if let Some(e) = &st.closed {
                return Err(e.clone().into());
            }
            st.pending.insert(id, Pending { meta, tx });
        }
        let guard = PendingGuard {
            shared: &self.shared,
            id,
        };
        if self.tx.send(WriterMsg::Frame(frame)).await.is_err() {
            return Err(self.closed_error().into());
        }
        let res = match tokio::time::timeout(timeout, rx).await {
            Ok(Ok(r)) => r,
            Ok(Err(_)) => Err(self.closed_error()),
            Err(_) => {
                tracing::debug!(
                    broker = %self.shared.addr, correlation_id = id, api_key = meta.api_key,
                    version = meta.version, ?timeout, "request timed out"
                );
                Err(ConnError::TimedOut {
                    addr: self.shared.addr.clone(),
                    what: format!(
                        "request (api key {} v{}, correlation id {id})",
                        meta.api_key, meta.version
                    ),
                    after: timeout,
                })
            }
        };
        drop(guard);
        res.map_err(E::from)
    }

    fn next_correlation_id(&self) -> i32 {
        loop {
            let id = self.next_id.fetch_add(1, Ordering::Relaxed);
            // Wrapping past i32::MAX restarts at MIN; skip ids still in use.
            if !self.shared.lock().pending.contains_key(&id) {
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
    /// [`ConnError::Shutdown`], the write half is shut down (TLS
    /// close_notify, TCP FIN).
    pub async fn shutdown(&self) {
        let addr = self.shared.addr.clone();
        self.shared
            .close(|_| ConnError::Shutdown { addr: addr.clone() });
        let _ = self.tx.send(WriterMsg::Shutdown).await;
        self.reader.abort();
        tracing::debug!(broker = %self.shared.addr, "connection shut down");
    }
}

impl Drop for Connection {
    fn drop(&mut self) {
        self.reader.abort();
        self.writer.abort();
    }
}

/// Removes a pending entry when the caller gives up (timeout or a dropped
/// future); a late reply is then logged and discarded by the reader.
struct PendingGuard<'a> {
    shared: &'a Shared,
    id: i32,
}

impl Drop for PendingGuard<'_> {
    fn drop(&mut self) {
        self.shared.lock().pending.remove(&self.id);
    }
}

async fn read_loop<R: AsyncRead + Unpin>(mut rd: R, shared: Arc<Shared>, max: usize) {
    let addr = shared.addr.clone();
    loop {
        match read_frame(&mut rd, max).await {
            Ok(Some(frame)) => {
                if frame.len() < 4 {
                    let a = addr.clone();
                    shared.close(move |_| ConnError::Frame {
                        addr: a.clone(),
                        message: format!(
                            "response frame of {} bytes has no correlation id",
                            frame.len()
                        ),
                    });
                    return;
                }
                let id = i32::from_be_bytes([frame[0], frame[1], frame[2], frame[3]]);
                let p = shared.lock().pending.remove(&id);
                match p {
                    Some(p) => {
                        let _ = p.tx.send(Ok(frame));
                    }
                    None => tracing::debug!(
                        broker = %addr, correlation_id = id,
                        "reply for a request nobody waits for (timed out or cancelled): discarded"
                    ),
                }
            }
            Ok(None) => {
                shared.close(|in_flight| ConnError::Closed {
                    addr: addr.clone(),
                    how: Closed::Eof,
                    in_flight,
                });
                return;
            }
            Err(FrameError::Io(e)) => {
                let how = classify_io(&e);
                shared.close(|in_flight| ConnError::Closed {
                    addr: addr.clone(),
                    how,
                    in_flight,
                });
                return;
            }
            Err(FrameError::Truncated { .. }) => {
                shared.close(|in_flight| ConnError::Closed {
                    addr: addr.clone(),
                    how: Closed::Eof,
                    in_flight,
                });
                return;
            }
            Err(e) => {
                let message = e.to_string();
                shared.close(|_| ConnError::Frame {
                    addr: addr.clone(),
                    message: message.clone(),
                });
                return;
            }
        }
    }
}

async fn write_loop<W: AsyncWrite + Unpin>(
    mut wr: W,
    mut rx: mpsc::Receiver<WriterMsg>,
    shared: Arc<Shared>,
) {
    while let Some(msg) = rx.recv().await {
        let frame = match msg {
            WriterMsg::Frame(f) => f,
            WriterMsg::Shutdown => break,
        };
        let mut res = wr.write_all(&frame).await;
        // Pipelining: write whatever else is queued before one flush.
        while res.is_ok() {
            match rx.try_recv() {
                Ok(WriterMsg::Frame(f)) => res = wr.write_all(&f).await,
                Ok(WriterMsg::Shutdown) => {
                    let _ = wr.flush().await;
                    let _ = wr.shutdown().await;
                    return;
                }
                Err(_) => break,
            }
        }
        if res.is_ok() {
            res = wr.flush().await;
        }
        if let Err(e) = res {
            let how = classify_io(&e);
            let addr = shared.addr.clone();
            shared.close(|in_flight| ConnError::Closed {
                addr: addr.clone(),
                how,
                in_flight,
            });
            return;
        }
    }
    let _ = wr.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::BufMut;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    #[derive(Debug, thiserror::Error, PartialEq)]
    enum E {
        #[error(transparent)]
        C(#[from] ConnError),
    }

    fn meta() -> RequestMeta {
        RequestMeta {
            api_key: 3,
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
            Err(E::C(ConnError::Frame { message, .. })) => {
                assert!(message.contains("exceeds"), "{message}")
            }
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
