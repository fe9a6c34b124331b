//! A scripted fake broker built on kwire's own codecs, for the exact broker
//! quirks no real peer here shows (negotiation.md §1.4, §1.8, §2.3, §3.1):
//! KIP-511 replies, 2.3-style empty replies, Event Hubs resets, pre-0.10
//! brokers, a hostile broker, 4.x clusters at transaction.version 1,
//! per-connection tables and restarts.
//!
//! Like a real broker, it closes the connection when a request's version is
//! outside what it accepts (negotiation.md §1.5), and answers everything it
//! accepts with the default response of that API.
#![allow(dead_code)]

pub mod peers;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use kwire::messages::api_versions_response::{
    ApiVersion, ApiVersionsResponse, FinalizedFeatureKey,
};
use kwire::messages::request_header::RequestHeader;
use kwire::messages::response_header::ResponseHeader;
use kwire::wire::Reader;
use kwire::{ApiKey, Message, Request};
use kwire_client::frame::{finish_frame, read_frame, start_frame};
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
}

impl FakeConfig {
    pub fn new(mode: ApiVersionsMode, table: Table) -> Self {
        FakeConfig {
            mode,
            tables: vec![table],
            accepted: None,
            finalized: vec![],
            finalized_epoch: -1,
        }
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
        let Ok(Some(frame)) = read_frame(&mut s, 1 << 24).await else {
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
            api_versions(&cfg, conn, version)
        } else {
            other(&cfg, conn, key, version)
        };
        match answer {
            Answer::Reply(body) => {
                let rhv = kwire::headers::response_header_version(ApiKey(key), version);
                let mut h = ResponseHeader::default();
                h.correlation_id = header.correlation_id;
                let mut f = start_frame(body.len() + 8);
                h.encode(&mut f, rhv).expect("response header");
                f.extend_from_slice(&body);
                let f = finish_frame(f, 1 << 24).expect("frame");
                if s.write_all(&f).await.is_err() {
                    return;
                }
            }
            Answer::Close => return,
            Answer::Reset => {
                reset(s);
                return;
            }
        }
    }
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

fn default_body<R: Request>(version: i16) -> Option<Bytes> {
    R::Response::default().encode_to_bytes(version).ok()
}

fn other(cfg: &FakeConfig, conn: usize, key: i16, version: i16) -> Answer {
    let accepted = cfg
        .accepted
        .as_ref()
        .unwrap_or_else(|| table_for(cfg, conn));
    let ok = accepted
        .iter()
        .any(|&(k, min, max)| k == key && min <= version && version <= max);
    if !ok {
        // How brokers answer a version they do not take (§1.5).
        return Answer::Close;
    }
    use kwire::messages::*;
    let body = match key {
        0 => default_body::<ProduceRequest>(version),
        1 => default_body::<FetchRequest>(version),
        2 => default_body::<ListOffsetsRequest>(version),
        3 => default_body::<MetadataRequest>(version),
        10 => default_body::<FindCoordinatorRequest>(version),
        26 => default_body::<EndTxnRequest>(version),
        28 => default_body::<TxnOffsetCommitRequest>(version),
        _ => None,
    };
    match body {
        Some(b) => Answer::Reply(b),
        None => Answer::Close,
    }
}
