//! The client's fault paths against the scripted fake broker: each asserts
//! the kind of failure, a time bound (generous: it proves a wait ended at
//! its deadline or earlier, not how fast anything is) and a heap bound.
//!
//! Heap is measured by a counting global allocator, so the tests of this
//! binary run one at a time (`serial()`): the allocator counts the whole
//! process. The bound is the memory contract's: the heap may grow by at
//! most 16 times the bytes that arrived plus 64 KiB, plus what the test
//! itself allocates on purpose (a large request) and a fixed allowance for
//! the runtime, the fake broker and the test harness.

mod support;

use std::future::Future;
use std::io;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::{BufMut, Bytes, BytesMut};
use kwire::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kwire::messages::{MetadataRequest, ProduceRequest};
use kwire::ApiKey;
use kwire_client::net::RequestMeta;
use kwire_client::{
    Broker, ClientConfig, ClientError, ConnConfig, ConnError, Connection, FailureKind, SendOptions,
};
use peak_alloc::PeakAlloc;
use support::{FakeBroker, FakeConfig, Fault, FaultPlan};

#[global_allocator]
static HEAP: PeakAlloc = PeakAlloc;

/// One test at a time: the allocator's counters are process-wide.
static SERIAL: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

async fn serial() -> tokio::sync::MutexGuard<'static, ()> {
    SERIAL.lock().await
}

/// The runtime's tasks, the fake broker's buffers, tracing and the test
/// harness: a fixed allowance on top of the contract.
const ALLOWANCE: usize = 1 << 20;

struct HeapWatch {
    base: usize,
}

impl HeapWatch {
    fn start() -> Self {
        HEAP.reset_peak_usage();
        HeapWatch {
            base: HEAP.current_usage(),
        }
    }

    /// Asserts the peak since `start` stays within 16 x `arrived` + 64 KiB
    /// + `own` (what the test allocated on purpose) + the allowance.
    fn assert_bound(&self, arrived: usize, own: usize, what: &str) {
        let grew = HEAP.peak_usage().saturating_sub(self.base);
        let bound = 16 * arrived + (64 << 10) + own + ALLOWANCE;
        assert!(
            grew <= bound,
            "{what}: the heap grew by {grew} bytes at its peak, more than {bound} \
             (16 x {arrived} bytes arrived + 64 KiB + {own} bytes of our own + {ALLOWANCE})"
        );
    }
}

/// Runs `f`, failing the test if it has not finished within `bound` (a
/// wait that ignores its deadline shows up here, not as a hung test).
async fn within<T>(bound: Duration, what: &str, f: impl Future<Output = T>) -> (T, Duration) {
    let start = Instant::now();
    match tokio::time::timeout(bound, f).await {
        Ok(v) => (v, start.elapsed()),
        Err(_) => panic!("{what}: still waiting after {bound:?}; a wait ignores its deadline"),
    }
}

const TABLE: &[(i16, i16, i16)] = &[(0, 0, 9), (1, 0, 12), (3, 0, 12), (18, 0, 3)];

fn cfg(timeout: Duration) -> ClientConfig {
    let mut c = ClientConfig::default();
    c.conn.connect_timeout = timeout;
    c.conn.request_timeout = timeout;
    c.api_versions_timeout = timeout;
    c
}

fn broker(addr: &str, c: ClientConfig) -> Broker {
    Broker::new(addr, Some(1), Arc::new(c))
}

fn kind(r: &Result<impl std::fmt::Debug, ClientError>) -> FailureKind {
    match r {
        Ok(v) => panic!("expected a failure, got {v:?}"),
        Err(e) => e.kind(),
    }
}

fn fake_with(fault: FaultPlan) -> FakeConfig {
    FakeConfig::kafka(TABLE.to_vec()).with_fault(fault)
}

/// Defect 1: an ApiVersions reply is about 1 KiB; a size prefix of 99 MiB
/// is refused as soon as it is read, before any of it is buffered, instead
/// of being waited for (and allocated) under the 100 MiB frame limit.
#[tokio::test]
async fn api_versions_reply_over_its_cap_is_refused_at_the_size_prefix() {
    let _s = serial().await;
    let fake = FakeBroker::start(fake_with(FaultPlan::always(
        ApiKey::API_VERSIONS,
        Fault::Stall {
            declared: 99 << 20,
            send: 4096,
        },
    )))
    .await;
    let b = broker(&fake.addr(), cfg(Duration::from_secs(5)));
    let heap = HeapWatch::start();
    let (r, took) = within(Duration::from_secs(30), "ApiVersions", b.connection()).await;
    assert_eq!(kind(&r), FailureKind::ReplyTooLarge, "{:?}", r.err());
    assert!(
        took < Duration::from_secs(3),
        "refused after {took:?}: it waited for the 5 s deadline"
    );
    // Not retried: a broker that answers with 99 MiB is not a pre-0.10 one.
    assert_eq!(fake.api_versions_attempts().len(), 1);
    heap.assert_bound(fake.bytes_sent(), 0, "99 MiB size prefix");
}

/// The heap follows the bytes that arrived, not the size a peer declares:
/// a Metadata reply (under the generic 100 MiB limit) that declares 90 MiB
/// and sends 1 KiB costs about 1 KiB.
#[tokio::test]
async fn a_declared_size_is_not_allocated_before_its_bytes_arrive() {
    let _s = serial().await;
    let fake = FakeBroker::start(fake_with(FaultPlan::always(
        ApiKey::METADATA,
        Fault::Stall {
            declared: 90 << 20,
            send: 1024,
        },
    )))
    .await;
    let b = broker(&fake.addr(), cfg(Duration::from_secs(5)));
    b.connection().await.unwrap();
    let heap = HeapWatch::start();
    let opts = SendOptions {
        timeout: Some(Duration::from_millis(500)),
        ..Default::default()
    };
    let (r, _) = within(
        Duration::from_secs(30),
        "Metadata",
        b.send_with(&MetadataRequest::default(), &opts),
    )
    .await;
    assert_eq!(kind(&r), FailureKind::TruncatedReply, "{:?}", r.err());
    let text = r.unwrap_err().to_string();
    assert!(text.contains("1024") || text.contains("1028"), "{text}");
    heap.assert_bound(fake.bytes_sent(), 0, "90 MiB declared, 1 KiB sent");
}

/// Defect 3: duplicate and unknown api keys in one reply are summarized (a
/// count and the first few keys) at every log level, not listed.
#[tokio::test]
async fn duplicate_and_unknown_keys_log_a_bounded_summary() {
    let _s = serial().await;
    let mut table = TABLE.to_vec();
    // About 56 KB as v3: under the ApiVersions cap, so it is accepted.
    table.extend(std::iter::repeat((1, 0, 12)).take(4000));
    table.extend((0..4000).map(|i| (20_000 + i, 0, 1)));
    let fake = FakeBroker::start(FakeConfig::kafka(table)).await;
    let logs = LogCapture::default();
    let sub = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::DEBUG)
        .with_writer(logs.clone())
        .with_ansi(false)
        .finish();
    let _g = tracing::subscriber::set_default(sub);
    let b = broker(&fake.addr(), cfg(Duration::from_secs(5)));
    let heap = HeapWatch::start();
    let n = b.connection().await.unwrap();
    assert_eq!(n.versions.unknown_apis().count(), 4000);
    let text = logs.text();
    assert!(
        text.len() < 16 << 10,
        "one reply logged {} bytes at debug; first 2 KiB:\n{}",
        text.len(),
        &text[..text.len().min(2048)]
    );
    assert!(text.contains("4000"), "no count in the logs:\n{text}");
    heap.assert_bound(fake.bytes_sent(), 0, "8000 repeated and unknown keys");
}

/// Defect 7: a reply cut short is not "no reply": no reconnect, no retry,
/// and never the fallback table.
#[tokio::test]
async fn truncated_reply_is_not_no_reply_and_never_falls_back() {
    let _s = serial().await;
    for reset in [false, true] {
        let fake = FakeBroker::start(fake_with(FaultPlan::always(
            ApiKey::API_VERSIONS,
            Fault::Truncate { keep: 10, reset },
        )))
        .await;
        let c = cfg(Duration::from_secs(5)).fallback_versions([(ApiKey::METADATA, 0)]);
        let b = broker(&fake.addr(), c);
        let heap = HeapWatch::start();
        let (r, took) = within(Duration::from_secs(30), "ApiVersions", b.connection()).await;
        assert_eq!(
            kind(&r),
            FailureKind::TruncatedReply,
            "reset={reset}: {:?}",
            r.err()
        );
        let text = r.unwrap_err().to_string();
        assert!(!text.contains("before 0.10"), "{text}");
        assert!(
            took < Duration::from_secs(3),
            "reset={reset}: took {took:?}"
        );
        assert_eq!(fake.api_versions_attempts().len(), 1, "reset={reset}");
        heap.assert_bound(fake.bytes_sent(), 0, "truncated reply");
    }
}

/// Defect 7: a reply whose correlation id matches no request is a reply to
/// a different request (Kafka's own client disconnects on it too:
/// NetworkClient's CorrelationIdMismatchException), not a timeout.
#[tokio::test]
async fn reply_with_a_wrong_correlation_id_is_a_reply_to_a_different_request() {
    let _s = serial().await;
    let fake = FakeBroker::start(fake_with(FaultPlan::always(
        ApiKey::API_VERSIONS,
        Fault::WrongCorrelation { delta: 7 },
    )))
    .await;
    let c = cfg(Duration::from_secs(5)).fallback_versions([(ApiKey::METADATA, 0)]);
    let b = broker(&fake.addr(), c);
    let heap = HeapWatch::start();
    let (r, took) = within(Duration::from_secs(60), "ApiVersions", b.connection()).await;
    assert_eq!(kind(&r), FailureKind::UnexpectedReply, "{:?}", r.err());
    assert!(took < Duration::from_secs(3), "took {took:?}");
    assert_eq!(fake.api_versions_attempts().len(), 1);
    heap.assert_bound(fake.bytes_sent(), 0, "wrong correlation id");
}

/// A flood of frames nobody asked for ends the connection at the first
/// one; the client reads its header and nothing more.
#[tokio::test]
async fn flood_of_unrelated_frames_ends_at_the_first() {
    let _s = serial().await;
    let fake = FakeBroker::start(fake_with(FaultPlan::always(
        ApiKey::API_VERSIONS,
        Fault::Flood {
            frames: 2000,
            size: 64 << 10,
        },
    )))
    .await;
    let b = broker(&fake.addr(), cfg(Duration::from_secs(5)));
    let heap = HeapWatch::start();
    let (r, took) = within(Duration::from_secs(60), "ApiVersions", b.connection()).await;
    assert_eq!(kind(&r), FailureKind::UnexpectedReply, "{:?}", r.err());
    assert!(took < Duration::from_secs(3), "took {took:?}");
    // The fake could push at most the socket buffers' worth before the
    // client closed; whatever it was, the heap did not follow it.
    heap.assert_bound(0, 0, "flood of unrelated frames");
    assert!(fake.bytes_sent() < 2000 * (64 << 10));
}

/// A slow writer within the deadline is fine; past it, the partial reply
/// is reported as such (not as "no reply", which would reconnect and retry
/// and, with a fallback configured, end on the fallback table).
#[tokio::test]
async fn slow_writers() {
    let _s = serial().await;
    let mut table = TABLE.to_vec();
    table.extend((40..80).map(|k| (k, 0, 3)));
    let slow_ok = FakeConfig::kafka(table.clone()).with_fault(FaultPlan::always(
        ApiKey::API_VERSIONS,
        Fault::Slow {
            chunk: 32,
            pause: Duration::from_millis(5),
        },
    ));
    let fake = FakeBroker::start(slow_ok).await;
    let b = broker(&fake.addr(), cfg(Duration::from_secs(5)));
    let heap = HeapWatch::start();
    let (n, _) = within(Duration::from_secs(30), "slow ApiVersions", b.connection()).await;
    assert!(n.is_ok(), "{:?}", n.err());
    heap.assert_bound(fake.bytes_sent(), 0, "slow writer");

    let too_slow = FakeConfig::kafka(table).with_fault(FaultPlan::always(
        ApiKey::API_VERSIONS,
        Fault::Slow {
            chunk: 1,
            pause: Duration::from_millis(100),
        },
    ));
    let fake = FakeBroker::start(too_slow).await;
    let c = cfg(Duration::from_millis(500)).fallback_versions([(ApiKey::METADATA, 0)]);
    let b = broker(&fake.addr(), c);
    let heap = HeapWatch::start();
    let (r, took) = within(
        Duration::from_secs(30),
        "too slow ApiVersions",
        b.connection(),
    )
    .await;
    assert_eq!(kind(&r), FailureKind::TruncatedReply, "{:?}", r.err());
    assert!(took < Duration::from_secs(3), "took {took:?}");
    assert_eq!(fake.api_versions_attempts().len(), 1);
    heap.assert_bound(fake.bytes_sent(), 0, "too slow writer");
}

/// A reset before any reply is still a reset (Event Hubs): retried, then
/// reported as a reset.
#[tokio::test]
async fn reset_before_any_reply_is_a_reset() {
    let _s = serial().await;
    let fake = FakeBroker::start(FakeConfig::new(
        support::ApiVersionsMode::ResetAbove { max: -1 },
        TABLE.to_vec(),
    ))
    .await;
    let b = broker(&fake.addr(), cfg(Duration::from_secs(5)));
    let heap = HeapWatch::start();
    let (r, took) = within(Duration::from_secs(30), "ApiVersions", b.connection()).await;
    assert_eq!(kind(&r), FailureKind::Reset, "{:?}", r.err());
    assert!(took < Duration::from_secs(5), "took {took:?}");
    assert_eq!(fake.api_versions_attempts().len(), 3);
    heap.assert_bound(fake.bytes_sent(), 0, "reset before reply");
}

/// No reply at all: bounded by the deadline on each attempt, and reported
/// as "no reply" in plain words.
#[tokio::test]
async fn silence_is_no_reply() {
    let _s = serial().await;
    let fake = FakeBroker::start(fake_with(FaultPlan::always(
        ApiKey::API_VERSIONS,
        Fault::Silent,
    )))
    .await;
    let b = broker(&fake.addr(), cfg(Duration::from_millis(300)));
    let heap = HeapWatch::start();
    let (r, took) = within(Duration::from_secs(30), "ApiVersions", b.connection()).await;
    assert_eq!(kind(&r), FailureKind::NoReply, "{:?}", r.err());
    let text = r.unwrap_err().to_string();
    assert!(!text.contains("no reply (timed out) every"), "{text}");
    assert!(text.contains("did not answer"), "{text}");
    assert!(took < Duration::from_secs(5), "took {took:?}");
    heap.assert_bound(fake.bytes_sent(), 0, "silence");
}

fn big_produce(bytes: usize) -> ProduceRequest {
    let mut r = ProduceRequest::default();
    r.acks = 1;
    r.timeout_ms = 1000;
    let mut t = TopicProduceData::default();
    t.name = "t".into();
    let mut p = PartitionProduceData::default();
    p.records = Some(Bytes::from(vec![0u8; bytes]));
    t.partition_data.push(p);
    r.topic_data.push(t);
    r
}

/// Defect 4: a broker that stops reading. Every send ends at its deadline
/// (including sends that wait for room in the writer queue), `disconnect`
/// returns, and the broker works again on a new connection.
#[tokio::test]
async fn peer_that_never_reads_cannot_wedge_a_broker() {
    let _s = serial().await;
    let mut fc = FakeConfig::kafka(TABLE.to_vec()).with_fault(FaultPlan {
        api: ApiKey::API_VERSIONS,
        conns: vec![1],
        fault: Fault::NeverRead,
    });
    fc.recv_buffer = Some(4096);
    let fake = FakeBroker::start(fc).await;
    let mut c = cfg(Duration::from_secs(5));
    c.conn.request_timeout = Duration::from_millis(500);
    let b = Arc::new(broker(&fake.addr(), c));
    b.connection().await.unwrap();
    const BIG: usize = 16 << 20;
    let produce = Arc::new(big_produce(BIG));
    let heap = HeapWatch::start();
    let mut set = tokio::task::JoinSet::new();
    {
        let (b, p) = (b.clone(), produce.clone());
        set.spawn(async move { b.send(&*p).await.map(|_| ()) });
    }
    // Let the big request block the writer, then queue more than the
    // writer queue holds.
    tokio::time::sleep(Duration::from_millis(100)).await;
    for _ in 0..100 {
        let b = b.clone();
        set.spawn(async move { b.send(&MetadataRequest::default()).await.map(|_| ()) });
    }
    let (results, _) = within(
        Duration::from_secs(20),
        "sends to a peer that never reads",
        async {
            let mut out = vec![];
            while let Some(r) = set.join_next().await {
                out.push(r.unwrap());
            }
            out
        },
    )
    .await;
    assert_eq!(results.len(), 101);
    for r in &results {
        assert_eq!(kind(r), FailureKind::WriteStalled, "{:?}", r.as_ref().err());
    }
    let (_, took) = within(Duration::from_secs(20), "disconnect", b.disconnect()).await;
    assert!(took < Duration::from_secs(3), "disconnect took {took:?}");
    // The second connection reads: the broker is usable again.
    let (r, _) = within(
        Duration::from_secs(20),
        "Metadata on a new connection",
        b.send(&MetadataRequest::default()),
    )
    .await;
    assert!(r.is_ok(), "{:?}", r.err());
    heap.assert_bound(fake.bytes_sent(), 2 * BIG, "peer that never reads");
}

/// Defect 4, one level down: a `Connection` whose peer never reads. Queueing
/// for the writer counts against the request's deadline, and `shutdown`
/// does not queue behind the stuck writer.
#[tokio::test]
async fn connection_deadlines_cover_the_writer_queue_and_shutdown() {
    let _s = serial().await;
    let mut fc = FakeConfig::kafka(TABLE.to_vec())
        .with_fault(FaultPlan::always(ApiKey::API_VERSIONS, Fault::NeverRead));
    fc.recv_buffer = Some(4096);
    let fake = FakeBroker::start(fc).await;
    let conn = Arc::new(
        Connection::connect(&fake.addr(), ConnConfig::default())
            .await
            .unwrap(),
    );
    // One ApiVersions v0 is answered; then the fake stops reading.
    let meta = RequestMeta {
        api_key: ApiKey::API_VERSIONS,
        version: 0,
    };
    let api_versions_v0 = |id: i32, b: &mut BytesMut| -> Result<(), ConnError> {
        b.put_i16(ApiKey::API_VERSIONS.0);
        b.put_i16(0);
        b.put_i32(id);
        b.put_i16(-1);
        Ok(())
    };
    conn.send_with_timeout(meta, Duration::from_secs(5), api_versions_v0)
        .await
        .unwrap();
    let heap = HeapWatch::start();
    const BIG: usize = 16 << 20;
    let mut set = tokio::task::JoinSet::new();
    {
        let conn = conn.clone();
        set.spawn(async move {
            conn.send_with_timeout(meta, Duration::from_millis(300), move |id, b| {
                api_versions_v0(id, b)?;
                b.put_bytes(0, BIG);
                Ok(())
            })
            .await
        });
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
    for _ in 0..100 {
        let conn = conn.clone();
        set.spawn(async move {
            conn.send_with_timeout(meta, Duration::from_millis(300), api_versions_v0)
                .await
        });
    }
    let (results, _) = within(Duration::from_secs(20), "sends", async {
        let mut out = vec![];
        while let Some(r) = set.join_next().await {
            out.push(r.unwrap());
        }
        out
    })
    .await;
    for r in &results {
        match r {
            Err(e) => assert_eq!(e.kind(), FailureKind::WriteStalled, "{e}"),
            Ok(_) => panic!("a reply from a peer that never reads"),
        }
    }
    let (_, took) = within(Duration::from_secs(20), "shutdown", conn.shutdown()).await;
    assert!(took < Duration::from_secs(3), "shutdown took {took:?}");
    heap.assert_bound(
        fake.bytes_sent(),
        BIG + (BIG >> 1),
        "connection to a peer that never reads",
    );
}

/// Defect 4: `disconnect` does not wait for another user's negotiation
/// (no lock is held across a network wait).
#[tokio::test]
async fn disconnect_does_not_wait_for_a_negotiation_in_progress() {
    let _s = serial().await;
    let fake = FakeBroker::start(fake_with(FaultPlan::always(
        ApiKey::API_VERSIONS,
        Fault::Silent,
    )))
    .await;
    let b = Arc::new(broker(&fake.addr(), cfg(Duration::from_secs(5))));
    let negotiating = {
        let b = b.clone();
        tokio::spawn(async move { b.connection().await.map(|_| ()) })
    };
    while fake.api_versions_attempts().is_empty() {
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let (_, took) = within(Duration::from_secs(30), "disconnect", b.disconnect()).await;
    assert!(took < Duration::from_secs(2), "disconnect took {took:?}");
    negotiating.abort();
}

/// Defect 6, library side: the connect timeout bounds the TCP connect and
/// the TLS handshake together.
#[tokio::test]
async fn connect_timeout_covers_tcp_and_tls() {
    let _s = serial().await;
    // A listener whose accept queue is full: SYNs go unanswered.
    let full = tokio::net::TcpSocket::new_v4().unwrap();
    full.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let full = full.listen(0).unwrap();
    let full_addr = full.local_addr().unwrap();
    let _filler = std::net::TcpStream::connect(full_addr).unwrap();
    // A listener that accepts and never says a word (no TLS ServerHello).
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_addr = silent.local_addr().unwrap();
    let held = tokio::spawn(async move {
        let mut keep = vec![];
        while let Ok((s, _)) = silent.accept().await {
            keep.push(s);
        }
    });
    let timeout = Duration::from_millis(300);
    let plain = ConnConfig {
        connect_timeout: timeout,
        ..Default::default()
    };
    let mut tls_cfg = plain.clone();
    tls_cfg.tls = Some(kwire_client::TlsConfig::webpki_roots().unwrap());
    let heap = HeapWatch::start();
    for (addr, c, what) in [
        (full_addr, plain, "TCP connect"),
        (silent_addr, tls_cfg, "TLS handshake"),
    ] {
        let (r, took) = within(
            Duration::from_secs(30),
            what,
            Connection::connect(&addr.to_string(), c),
        )
        .await;
        match r {
            Err(e) => assert_eq!(e.kind(), FailureKind::Connect, "{what}: {e}"),
            Ok(_) => panic!("{what}: connected"),
        }
        assert!(took < Duration::from_secs(3), "{what} took {took:?}");
    }
    heap.assert_bound(0, 0, "connect timeouts");
    held.abort();
}

/// Collects tracing output in memory.
#[derive(Clone, Default)]
struct LogCapture(Arc<Mutex<Vec<u8>>>);

impl LogCapture {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

impl io::Write for LogCapture {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for LogCapture {
    type Writer = LogCapture;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}
