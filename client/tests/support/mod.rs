//! A scripted fake broker built on kwire's own codecs, for the exact broker
//! quirks no real peer here shows:
//! KIP-511 replies, 2.3-style empty replies, Event Hubs resets, pre-0.10
//! brokers, a hostile broker, 4.x clusters at transaction.version 1,
//! per-connection tables and restarts.
//!
//! Like a real broker, it closes the connection when a request's version is
//! outside what it accepts, and answers everything it
//! accepts with the default response of that API.
#![allow(dead_code)]

pub mod kafka;
pub mod peers;
pub mod produce;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use kwire::messages::api_versions_response::{
    ApiVersion, ApiVersionsResponse, FinalizedFeatureKey, SupportedFeatureKey,
};
use kwire::messages::request_header::RequestHeader;
use kwire::messages::response_header::ResponseHeader;
use kwire::wire::Reader;
use kwire::{ApiKey, Message, Request};
use kwire_client::net::frame::{finish_frame, read_frame, start_frame};
use tokio::io::AsyncWriteExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// How the fake answers ApiVersions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiVersionsMode {
    /// Brokers 2.4+ (KIP-511): above `max`, error 35 with only key 18, as v0.
    Kip511 { max: i16 },
    /// Brokers 0.10–2.3: above `max`, error 35 with an empty list, as v0.
    Empty { max: i16 },
    /// Azure Event Hubs: a TCP reset on ApiVersions above `max`.
    ResetAbove { max: i16 },
    /// Brokers before 0.10: no ApiVersions, the connection is closed.
    CloseAlways,
    /// Always error 35, advertising ApiVersions max `advertise` (a hostile
    /// or buggy broker).
    Hostile { advertise: i16 },
    /// tansu: anything above `max` is answered with error 0 and a body
    /// shaped for `max`.
    AnswerAnyAs { max: i16 },
    /// Error `code` on every ApiVersions.
    Error { code: i16 },
}

/// A broker's version table: (api key, min, max).
pub type Table = Vec<(i16, i16, i16)>;

/// A scripted misbehaviour on the reply to one API.
#[derive(Debug, Clone)]
pub enum Fault {
    /// Send only the first `keep` bytes of the reply frame (size prefix
    /// included), then end the connection: a FIN, or an RST if `reset`.
    Truncate { keep: usize, reset: bool },
    /// Answer with the request's correlation id plus `delta`.
    WrongCorrelation { delta: i32 },
    /// Read the request and never answer it (the connection stays open).
    Silent,
    /// Send a size prefix declaring `declared` bytes and `send` bytes after
    /// it (the real reply, padded with zeros), then nothing more (the
    /// connection stays open).
    Stall { declared: u32, send: usize },
    /// Send the reply frame `chunk` bytes at a time, `pause` apart.
    Slow { chunk: usize, pause: Duration },
    /// Before the reply, send `frames` frames of `size` bytes each whose
    /// correlation ids no request used.
    Flood { frames: usize, size: usize },
    /// Answer this request, then never read the connection again (it stays
    /// open).
    NeverRead,
    /// Answer with this body after a correct response header.
    Body(Bytes),
}

/// Which replies a [`Fault`] applies to.
#[derive(Debug, Clone)]
pub struct FaultPlan {
    /// The API whose replies misbehave.
    pub api: ApiKey,
    /// Connections (1-based) it applies to; empty = every connection.
    pub conns: Vec<usize>,
    pub fault: Fault,
}

impl FaultPlan {
    /// `fault` on every reply to `api`, on every connection.
    pub fn always(api: ApiKey, fault: Fault) -> Self {
        FaultPlan {
            api,
            conns: vec![],
            fault,
        }
    }

    fn applies(&self, conn: usize, api: i16) -> bool {
        self.api.0 == api && (self.conns.is_empty() || self.conns.contains(&conn))
    }
}

/// What the fake does.
#[derive(Debug, Clone)]
pub struct FakeConfig {
    pub mode: ApiVersionsMode,
    /// Advertised table per connection (1st, 2nd, ...); the last repeats.
    pub tables: Vec<Table>,
    /// What the broker really accepts; `None` = the advertised table of the
    /// connection.
    pub accepted: Option<Table>,
    /// Finalized features (name, level), and their epoch (-1 = unknown).
    pub finalized: Vec<(String, i16)>,
    pub finalized_epoch: i64,
    /// Supported features (name, min, max), in v3+ replies.
    pub supported: Vec<(String, i16, i16)>,
    /// A scripted misbehaviour.
    pub fault: Option<FaultPlan>,
    /// SO_RCVBUF for accepted connections (small: a peer that stops reading
    /// pushes back on the client sooner).
    pub recv_buffer: Option<usize>,
    /// Bodies for an API instead of its default response.
    pub responders: Vec<(ApiKey, Responder)>,
    /// The cluster id this broker belongs to: ApiVersions v5+ naming
    /// another one gets REBOOTSTRAP_REQUIRED (KIP-1242).
    pub cluster_id: Option<String>,
}

/// Builds a response body from the request's version and body; `None`
/// closes the connection.
#[derive(Clone)]
pub struct Responder(pub Arc<dyn Fn(i16, Bytes) -> Option<Bytes> + Send + Sync>);

impl std::fmt::Debug for Responder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Responder")
    }
}

impl Responder {
    /// Answers with `resp` encoded at the request's version.
    pub fn with<M: Message + kwire::Encodable + Send + Sync + 'static>(resp: M) -> Self {
        Responder(Arc::new(move |version, _| {
            resp.encode_to_bytes(version).ok()
        }))
    }
}

impl FakeConfig {
    pub fn new(mode: ApiVersionsMode, table: Table) -> Self {
        FakeConfig {
            mode,
            tables: vec![table],
            accepted: None,
            finalized: vec![],
            finalized_epoch: -1,
            supported: vec![],
            fault: None,
            recv_buffer: None,
            responders: vec![],
            cluster_id: None,
        }
    }

    /// Answers `api` through `r`.
    pub fn respond(mut self, api: ApiKey, r: Responder) -> Self {
        self.responders.push((api, r));
        self
    }

    /// With a scripted misbehaviour.
    pub fn with_fault(mut self, plan: FaultPlan) -> Self {
        self.fault = Some(plan);
        self
    }

    /// A 2.4+ broker with ApiVersions 0-3 and `table`.
    pub fn kafka(table: Table) -> Self {
        let mut t = table;
        if !t.iter().any(|e| e.0 == 18) {
            t.push((18, 0, 3));
        }
        Self::new(ApiVersionsMode::Kip511 { max: 3 }, t)
    }
}

/// One request the fake received.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Received {
    /// Which connection (1-based) carried it.
    pub conn: usize,
    pub api_key: i16,
    pub version: i16,
}

struct Inner {
    cfg: FakeConfig,
    log: Vec<Received>,
    conns: usize,
    tasks: Vec<JoinHandle<()>>,
    /// Bytes written to clients, over every connection.
    sent: usize,
}

/// The fake broker. Stopped (listener and connections) on drop.
pub struct FakeBroker {
    addr: SocketAddr,
    inner: Arc<Mutex<Inner>>,
    accept: JoinHandle<()>,
}

impl FakeBroker {
    pub async fn start(cfg: FakeConfig) -> FakeBroker {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind 127.0.0.1");
        let addr = listener.local_addr().expect("local addr");
        let inner = Arc::new(Mutex::new(Inner {
            cfg,
            log: vec![],
            conns: 0,
            tasks: vec![],
            sent: 0,
        }));
        let accept = tokio::spawn(accept_loop(listener, inner.clone()));
        FakeBroker {
            addr,
            inner,
            accept,
        }
    }

    pub fn addr(&self) -> String {
        self.addr.to_string()
    }

    pub fn received(&self) -> Vec<Received> {
        self.inner.lock().unwrap().log.clone()
    }

    /// Versions received for `api`, in order.
    pub fn versions_of(&self, api: i16) -> Vec<i16> {
        self.received()
            .iter()
            .filter(|r| r.api_key == api)
            .map(|r| r.version)
            .collect()
    }

    /// (connection, version) of each ApiVersions received.
    pub fn api_versions_attempts(&self) -> Vec<(usize, i16)> {
        self.received()
            .iter()
            .filter(|r| r.api_key == 18)
            .map(|r| (r.conn, r.version))
            .collect()
    }

    pub fn connections(&self) -> usize {
        self.inner.lock().unwrap().conns
    }

    /// Bytes the fake has written to clients so far: what "arrived" at the
    /// client, for memory bounds.
    pub fn bytes_sent(&self) -> usize {
        self.inner.lock().unwrap().sent
    }

    /// A restart: every connection is dropped, the port is closed, then
    /// the broker comes back on the same port with `cfg`.
    pub async fn restart(&mut self, cfg: FakeConfig) {
        self.accept.abort();
        let _ = (&mut self.accept).await;
        {
            let mut g = self.inner.lock().unwrap();
            for t in g.tasks.drain(..) {
                t.abort();
            }
            g.cfg = cfg;
            g.conns = 0;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        let listener = TcpListener::bind(self.addr)
            .await
            .expect("rebind the same port");
        self.accept = tokio::spawn(accept_loop(listener, self.inner.clone()));
    }
}

impl Drop for FakeBroker {
    fn drop(&mut self) {
        self.accept.abort();
        if let Ok(mut g) = self.inner.lock() {
            for t in g.tasks.drain(..) {
                t.abort();
            }
        }
    }
}

async fn accept_loop(listener: TcpListener, inner: Arc<Mutex<Inner>>) {
    while let Ok((s, _)) = listener.accept().await {
        let mut g = inner.lock().unwrap();
        if let Some(n) = g.cfg.recv_buffer {
            let _ = socket2::SockRef::from(&s).set_recv_buffer_size(n);
        }
        g.conns += 1;
        let n = g.conns;
        let t = tokio::spawn(serve(s, n, inner.clone()));
        g.tasks.push(t);
    }
}

enum Answer {
    Reply(Bytes),
    Close,
    Reset,
}

fn reset(s: TcpStream) {
    // SO_LINGER 0 then close: the peer sees ECONNRESET, like Event Hubs.
    let _ = socket2::SockRef::from(&s).set_linger(Some(Duration::ZERO));
    drop(s);
}

async fn serve(mut s: TcpStream, conn: usize, inner: Arc<Mutex<Inner>>) {
    loop {
        let Ok(Some(frame)) = read_frame(&mut s, 1 << 28).await else {
            return;
        };
        if frame.len() < 4 {
            return;
        }
        let key = i16::from_be_bytes([frame[0], frame[1]]);
        let version = i16::from_be_bytes([frame[2], frame[3]]);
        let mut r = Reader::new(frame);
        let hv = kwire::headers::request_header_version(ApiKey(key), version);
        let Ok(header) = RequestHeader::decode(&mut r, hv) else {
            return;
        };
        let cfg = {
            let mut g = inner.lock().unwrap();
            g.log.push(Received {
                conn,
                api_key: key,
                version,
            });
            g.cfg.clone()
        };
        let answer = if key == 18 {
            let body = r.peek_rest().clone();
            match identity_mismatch(&cfg, version, body) {
                true => Answer::Reply(api_versions_body(
                    &cfg,
                    conn,
                    version,
                    kwire::ErrorCode::REBOOTSTRAP_REQUIRED.0,
                    &vec![],
                )),
                false => api_versions(&cfg, conn, version),
            }
        } else {
            let body = r.peek_rest().clone();
            other(&cfg, conn, key, version, body)
        };
        let fault = cfg
            .fault
            .as_ref()
            .filter(|p| p.applies(conn, key))
            .map(|p| p.fault.clone());
        let body = match answer {
            Answer::Reply(body) => body,
            Answer::Close => return,
            Answer::Reset => {
                reset(s);
                return;
            }
        };
        let body = match &fault {
            Some(Fault::Body(b)) => b.clone(),
            _ => body,
        };
        let mut id = header.correlation_id;
        if let Some(Fault::WrongCorrelation { delta }) = &fault {
            id = id.wrapping_add(*delta);
        }
        let rhv = kwire::headers::response_header_version(ApiKey(key), version);
        let mut h = ResponseHeader::default();
        h.correlation_id = id;
        let mut f = start_frame(body.len() + 8);
        h.encode(&mut f, rhv).expect("response header");
        f.extend_from_slice(&body);
        let f = finish_frame(f, usize::MAX >> 1).expect("frame");
        let ok = match fault {
            None | Some(Fault::Body(_)) | Some(Fault::WrongCorrelation { .. }) => {
                write(&mut s, &inner, &f).await
            }
            Some(Fault::Truncate { keep, reset: rst }) => {
                let _ = write(&mut s, &inner, &f[..keep.min(f.len())]).await;
                let _ = s.flush().await;
                if rst {
                    // Let the partial frame reach the client before the RST.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    reset(s);
                }
                return;
            }
            Some(Fault::Silent) => true,
            Some(Fault::Stall { declared, send }) => {
                let mut head = declared.to_be_bytes().to_vec();
                head.extend_from_slice(&f[4..(4 + send).min(f.len())]);
                head.resize(4 + send, 0);
                let _ = write(&mut s, &inner, &head).await;
                std::future::pending::<()>().await;
                return;
            }
            Some(Fault::Slow { chunk, pause }) => {
                let mut ok = true;
                for c in f.chunks(chunk.max(1)) {
                    if !write(&mut s, &inner, c).await {
                        ok = false;
                        break;
                    }
                    tokio::time::sleep(pause).await;
                }
                ok
            }
            Some(Fault::Flood { frames, size }) => {
                let mut ok = true;
                let mut junk = vec![0u8; 4 + size.max(4)];
                junk[..4].copy_from_slice(&(size.max(4) as u32).to_be_bytes());
                for i in 0..frames {
                    // Ids far from any the client has used.
                    let bogus = header.correlation_id.wrapping_add(1_000_000 + i as i32);
                    junk[4..8].copy_from_slice(&bogus.to_be_bytes());
                    if !write(&mut s, &inner, &junk).await {
                        ok = false;
                        break;
                    }
                }
                ok && write(&mut s, &inner, &f).await
            }
            Some(Fault::NeverRead) => {
                let _ = write(&mut s, &inner, &f).await;
                std::future::pending::<()>().await;
                return;
            }
        };
        if !ok {
            return;
        }
    }
}

async fn write(s: &mut TcpStream, inner: &Mutex<Inner>, bytes: &[u8]) -> bool {
    if s.write_all(bytes).await.is_err() {
        return false;
    }
    inner.lock().unwrap().sent += bytes.len();
    true
}

fn table_for(cfg: &FakeConfig, conn: usize) -> &Table {
    let i = (conn - 1).min(cfg.tables.len() - 1);
    &cfg.tables[i]
}

fn api_versions_body(
    cfg: &FakeConfig,
    conn: usize,
    version: i16,
    error: i16,
    keys: &Table,
) -> Bytes {
    let mut r = ApiVersionsResponse::default();
    r.error_code = error;
    for &(k, min, max) in keys {
        let mut a = ApiVersion::default();
        a.api_key = k;
        a.min_version = min;
        a.max_version = max;
        r.api_keys.push(a);
    }
    let _ = conn;
    if version >= 3 {
        for (name, min, max) in &cfg.supported {
            let mut f = SupportedFeatureKey::default();
            f.name = name.clone().into();
            f.min_version = *min;
            f.max_version = *max;
            r.supported_features.push(f);
        }
        r.finalized_features_epoch = cfg.finalized_epoch;
        for (name, level) in &cfg.finalized {
            let mut f = FinalizedFeatureKey::default();
            f.name = name.clone().into();
            f.min_version_level = *level;
            f.max_version_level = *level;
            r.finalized_features.push(f);
        }
    }
    let mut b = BytesMut::new();
    r.encode(&mut b, version)
        .expect("encode ApiVersionsResponse");
    b.freeze()
}

fn api_versions(cfg: &FakeConfig, conn: usize, version: i16) -> Answer {
    let table = table_for(cfg, conn);
    let key18 = |max: i16| vec![(18, 0, max)];
    match cfg.mode {
        ApiVersionsMode::Kip511 { max } if version > max => {
            Answer::Reply(api_versions_body(cfg, conn, 0, 35, &key18(max)))
        }
        ApiVersionsMode::Empty { max } if version > max => {
            Answer::Reply(api_versions_body(cfg, conn, 0, 35, &vec![]))
        }
        ApiVersionsMode::ResetAbove { max } if version > max => Answer::Reset,
        ApiVersionsMode::CloseAlways => Answer::Close,
        ApiVersionsMode::Hostile { advertise } => {
            Answer::Reply(api_versions_body(cfg, conn, 0, 35, &key18(advertise)))
        }
        ApiVersionsMode::AnswerAnyAs { max } => {
            Answer::Reply(api_versions_body(cfg, conn, version.min(max), 0, table))
        }
        ApiVersionsMode::Error { code } => {
            Answer::Reply(api_versions_body(cfg, conn, version.min(3), code, &vec![]))
        }
        _ => Answer::Reply(api_versions_body(cfg, conn, version, 0, table)),
    }
}

/// ApiVersions v5+ naming a cluster other than this broker's (KIP-1242).
fn identity_mismatch(cfg: &FakeConfig, version: i16, body: Bytes) -> bool {
    let Some(mine) = &cfg.cluster_id else {
        return false;
    };
    if version < 5 {
        return false;
    }
    match kwire::messages::ApiVersionsRequest::decode_bytes(body, version) {
        Ok(req) => req
            .cluster_id
            .as_deref()
            .is_some_and(|c| c != mine.as_str()),
        Err(_) => false,
    }
}

fn default_body<R: Request>(version: i16) -> Option<Bytes> {
    R::Response::default().encode_to_bytes(version).ok()
}

fn other(cfg: &FakeConfig, conn: usize, key: i16, version: i16, req: Bytes) -> Answer {
    let accepted = cfg
        .accepted
        .as_ref()
        .unwrap_or_else(|| table_for(cfg, conn));
    let ok = accepted
        .iter()
        .any(|&(k, min, max)| k == key && min <= version && version <= max);
    if !ok {
        // How brokers answer a version they do not take.
        return Answer::Close;
    }
    if let Some((_, r)) = cfg.responders.iter().find(|(k, _)| k.0 == key) {
        return match (r.0)(version, req) {
            Some(b) => Answer::Reply(b),
            None => Answer::Close,
        };
    }
    use kwire::messages::*;
    let body = match key {
        0 => default_body::<ProduceRequest>(version),
        1 => default_body::<FetchRequest>(version),
        2 => default_body::<ListOffsetsRequest>(version),
        3 => default_body::<MetadataRequest>(version),
        9 => default_body::<OffsetFetchRequest>(version),
        10 => default_body::<FindCoordinatorRequest>(version),
        17 => default_body::<SaslHandshakeRequest>(version),
        22 => default_body::<InitProducerIdRequest>(version),
        26 => default_body::<EndTxnRequest>(version),
        28 => default_body::<TxnOffsetCommitRequest>(version),
        _ => None,
    };
    match body {
        Some(b) => Answer::Reply(b),
        None => Answer::Close,
    }
}
