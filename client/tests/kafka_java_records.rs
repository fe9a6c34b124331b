//! Record interop with Kafka's own Java producer and consumer (kafka-clients 4.4.0), every codec.
//!
//! One real 4.4.0 broker (`testsupport/kafka/broker start --release 4.4.0`, stopped by a Drop guard
//! also when an assertion fails); topics created through kwire-client; Kafka's clients run through
//! `testsupport/kafka/clients-run` (a Maven project built on first use, one JVM per command):
//!
//! * Java → kwire: one `produce-all` JVM writes [`COUNT`] records (key `k<i>`, value
//!   `v<i>-<codec>`, header `h` = `<i>`) to `kwire-java-to-kwire-<codec>` for none, gzip, snappy,
//!   lz4 and zstd, with `linger.ms` so they share batches. kwire-client Fetches each partition,
//!   [`decode_batches`] splits it, and each batch's compression attribute must be the codec Java
//!   was configured with (and the batches must hold several records), the records exactly what
//!   Java wrote.
//! * kwire → Java: kwire-client Produces a [`RecordBatchBuilder`] batch compressed with each codec
//!   (non-ASCII values, a null header value, a null value), plus an idempotent zstd producer
//!   (InitProducerId, two batches with sequences) and a transactional gzip producer (an aborted
//!   transaction, then a committed one). One `consume-all` JVM (read_committed, from the
//!   beginning) must print exactly those records, headers and offsets, and none of the aborted
//!   ones.
//!
//! Without java/mvn the test fails, naming the command to run. It needs kwire's codec features:
//! `cargo test --workspace` has them; alone, run
//! `cargo test -p kwire-client --features kwire/default --test kafka_java_records`.

mod support;

use std::collections::BTreeMap;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kwire::messages::create_topics_request::CreatableTopic;
use kwire::messages::fetch_request::{FetchPartition, FetchTopic};
use kwire::messages::metadata_request::MetadataRequestTopic;
use kwire::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kwire::messages::{
    CreateTopicsRequest, EndTxnRequest, FetchRequest, FindCoordinatorRequest,
    InitProducerIdRequest, MetadataRequest, ProduceRequest,
};
use kwire::records::{
    decode_batches, Batch, Compression, DecodeOptions, Header, RecordBatchBuilder, TimestampType,
};
use kwire::{Bytes, ErrorCode, Request, StrBytes, Uuid};
use kwire_client::protocol::api::api_name;
use kwire_client::{Broker, ClientConfig, SendOptions, Sent};
use support::kafka::{runtime, testsupport, KafkaBroker};

/// Records per codec, each direction.
const COUNT: usize = 8;

fn codec_name(c: Compression) -> &'static str {
    match c {
        Compression::None => "none",
        Compression::Gzip => "gzip",
        Compression::Snappy => "snappy",
        Compression::Lz4 => "lz4",
        Compression::Zstd => "zstd",
    }
}

/// Runs `clients-run ARGS`; returns its stdout lines, parsed.
fn java(args: &[&str]) -> Vec<Json> {
    let t = Instant::now();
    let out = Command::new(testsupport("clients-run"))
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .expect("run testsupport/kafka/clients-run");
    let text = String::from_utf8(out.stdout).expect("utf-8 from the Java clients");
    assert!(
        out.status.success(),
        "`testsupport/kafka/clients-run {}` failed ({}); stdout:\n{text}",
        args.join(" "),
        out.status
    );
    eprintln!("clients-run {} took {:.1?}", args[0], t.elapsed());
    text.lines()
        .map(|l| Json::parse(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

// ---------------------------------------------------------------------------------------------
// A minimal JSON reader for the Java clients' lines (the client crate has no serde_json).

#[derive(Debug, Clone, PartialEq)]
enum Json {
    Null,
    Bool(bool),
    Num(i64),
    Str(String),
    Arr(Vec<Json>),
    Obj(Vec<(String, Json)>),
}

impl Json {
    fn parse(s: &str) -> Result<Json, String> {
        let mut p = Parser {
            s: s.as_bytes(),
            i: 0,
        };
        let v = p.value()?;
        p.ws();
        if p.i != p.s.len() {
            return Err(format!("trailing text at {}", p.i));
        }
        Ok(v)
    }

    fn get(&self, key: &str) -> &Json {
        match self {
            Json::Obj(fields) => fields
                .iter()
                .find(|(k, _)| k == key)
                .map(|(_, v)| v)
                .unwrap_or_else(|| panic!("no {key:?} in {self:?}")),
            _ => panic!("not an object: {self:?}"),
        }
    }

    fn str(&self) -> &str {
        match self {
            Json::Str(s) => s,
            _ => panic!("not a string: {self:?}"),
        }
    }

    fn opt_str(&self) -> Option<&str> {
        match self {
            Json::Null => None,
            v => Some(v.str()),
        }
    }

    fn int(&self) -> i64 {
        match self {
            Json::Num(n) => *n,
            _ => panic!("not an integer: {self:?}"),
        }
    }

    fn arr(&self) -> &[Json] {
        match self {
            Json::Arr(a) => a,
            _ => panic!("not an array: {self:?}"),
        }
    }
}

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
}

impl Parser<'_> {
    fn ws(&mut self) {
        while self.s.get(self.i).is_some_and(|c| c.is_ascii_whitespace()) {
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8) -> Result<(), String> {
        self.ws();
        if self.s.get(self.i) == Some(&c) {
            self.i += 1;
            Ok(())
        } else {
            Err(format!("expected {:?} at {}", c as char, self.i))
        }
    }

    fn value(&mut self) -> Result<Json, String> {
        self.ws();
        let rest = &self.s[self.i..];
        for (word, v) in [
            ("null", Json::Null),
            ("true", Json::Bool(true)),
            ("false", Json::Bool(false)),
        ] {
            if rest.starts_with(word.as_bytes()) {
                self.i += word.len();
                return Ok(v);
            }
        }
        match rest.first() {
            Some(b'"') => self.string().map(Json::Str),
            Some(b'[') => {
                self.i += 1;
                let mut items = Vec::new();
                self.ws();
                if self.s.get(self.i) == Some(&b']') {
                    self.i += 1;
                    return Ok(Json::Arr(items));
                }
                loop {
                    items.push(self.value()?);
                    self.ws();
                    match self.s.get(self.i) {
                        Some(b',') => self.i += 1,
                        Some(b']') => {
                            self.i += 1;
                            return Ok(Json::Arr(items));
                        }
                        _ => return Err(format!("bad array at {}", self.i)),
                    }
                }
            }
            Some(b'{') => {
                self.i += 1;
                let mut fields = Vec::new();
                self.ws();
                if self.s.get(self.i) == Some(&b'}') {
                    self.i += 1;
                    return Ok(Json::Obj(fields));
                }
                loop {
                    self.ws();
                    let k = self.string()?;
                    self.eat(b':')?;
                    fields.push((k, self.value()?));
                    self.ws();
                    match self.s.get(self.i) {
                        Some(b',') => self.i += 1,
                        Some(b'}') => {
                            self.i += 1;
                            return Ok(Json::Obj(fields));
                        }
                        _ => return Err(format!("bad object at {}", self.i)),
                    }
                }
            }
            Some(c) if *c == b'-' || c.is_ascii_digit() => {
                let start = self.i;
                self.i += 1;
                while self.s.get(self.i).is_some_and(|c| c.is_ascii_digit()) {
                    self.i += 1;
                }
                let text = std::str::from_utf8(&self.s[start..self.i]).unwrap();
                text.parse()
                    .map(Json::Num)
                    .map_err(|e| format!("{text}: {e}"))
            }
            _ => Err(format!("unexpected input at {}", self.i)),
        }
    }

    fn hex4(&mut self) -> Result<u32, String> {
        let h = self
            .s
            .get(self.i..self.i + 4)
            .and_then(|h| std::str::from_utf8(h).ok())
            .and_then(|h| u32::from_str_radix(h, 16).ok())
            .ok_or(format!("bad \\u escape at {}", self.i))?;
        self.i += 4;
        Ok(h)
    }

    fn string(&mut self) -> Result<String, String> {
        self.eat(b'"')?;
        let mut out = String::new();
        loop {
            let c = *self.s.get(self.i).ok_or("unterminated string")?;
            self.i += 1;
            match c {
                b'"' => return Ok(out),
                b'\\' => {
                    let e = *self.s.get(self.i).ok_or("unterminated escape")?;
                    self.i += 1;
                    match e {
                        b'"' => out.push('"'),
                        b'\\' => out.push('\\'),
                        b'/' => out.push('/'),
                        b'n' => out.push('\n'),
                        b't' => out.push('\t'),
                        b'r' => out.push('\r'),
                        b'u' => {
                            let mut cp = self.hex4()?;
                            if (0xd800..0xdc00).contains(&cp)
                                && self.s[self.i..].starts_with(b"\\u")
                            {
                                self.i += 2;
                                let lo = self.hex4()?;
                                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                            }
                            out.push(char::from_u32(cp).ok_or("bad code point")?);
                        }
                        _ => return Err(format!("bad escape at {}", self.i)),
                    }
                }
                _ => {
                    // Multi-byte UTF-8 passes through unchanged.
                    let start = self.i - 1;
                    let mut end = self.i;
                    while end < self.s.len() && (self.s[end] & 0xc0) == 0x80 {
                        end += 1;
                    }
                    out.push_str(
                        std::str::from_utf8(&self.s[start..end]).map_err(|e| e.to_string())?,
                    );
                    self.i = end;
                }
            }
        }
    }
}

#[test]
fn json_reader() {
    let v = Json::parse(r#"{"a":[1,-2,null,true],"b":"x\"\u2713\ud83d\ude00✓","c":{}}"#).unwrap();
    assert_eq!(v.get("a").arr()[1].int(), -2);
    assert_eq!(v.get("a").arr()[2], Json::Null);
    assert_eq!(v.get("b").str(), "x\"✓😀✓");
    assert!(Json::parse("[1,]").is_err());
    assert!(Json::parse("{\"a\":1} x").is_err());
}

// ---------------------------------------------------------------------------------------------
// kwire-client helpers (the same requests as kafka_seeds.rs).

/// One record as both sides see it: key, value, headers (key, value).
type Rec = (
    Option<String>,
    Option<String>,
    Vec<(String, Option<String>)>,
);

fn client(addr: &str) -> Broker {
    let mut cfg = ClientConfig::default();
    cfg.conn.request_timeout = Duration::from_secs(30);
    Broker::new(addr, None, Arc::new(cfg))
}

fn err(code: i16) -> String {
    ErrorCode(code).to_string()
}

async fn send<R: Request + 'static>(b: &Broker, req: &R) -> Sent<R::Response> {
    b.send_with(req, &SendOptions::default())
        .await
        .unwrap_or_else(|e| panic!("{} to {}: {e}", api_name(R::API_KEY), b.name()))
}

async fn sleep_ms(ms: u64) {
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

/// Creates the topics (1 partition each) and waits until Metadata shows every leader; returns
/// the topic ids by name.
async fn create_topics(b: &Broker, names: &[String]) -> BTreeMap<String, Uuid> {
    let mut req = CreateTopicsRequest::default();
    req.timeout_ms = 30_000;
    req.topics = names
        .iter()
        .map(|n| {
            let mut t = CreatableTopic::default();
            t.name = StrBytes::from(n.clone());
            t.num_partitions = 1;
            t.replication_factor = 1;
            t
        })
        .collect();
    let sent = send(b, &req).await;
    for t in &sent.response.topics {
        assert_eq!(
            t.error_code,
            0,
            "CreateTopics {}: {} ({:?})",
            &*t.name,
            err(t.error_code),
            t.error_message
        );
    }
    let mut meta = MetadataRequest::default();
    meta.topics = Some(
        names
            .iter()
            .map(|n| {
                let mut t = MetadataRequestTopic::default();
                t.name = Some(StrBytes::from(n.clone()));
                t
            })
            .collect(),
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let m = send(b, &meta).await.response;
        let ready = m
            .topics
            .iter()
            .all(|t| t.error_code == 0 && t.partitions.first().is_some_and(|p| p.leader_id >= 0));
        if ready && m.topics.len() == names.len() {
            return m
                .topics
                .iter()
                .map(|t| (t.name.as_ref().expect("name").to_string(), t.topic_id))
                .collect();
        }
        assert!(Instant::now() < deadline, "no leaders after 30 s: {m:?}");
        sleep_ms(200).await;
    }
}

/// Produces one batch to partition 0; returns its base offset.
async fn produce(b: &Broker, topic: &str, id: Uuid, records: Bytes, txn: Option<&str>) -> i64 {
    let mut p = PartitionProduceData::default();
    p.index = 0;
    p.records = Some(records);
    let mut t = TopicProduceData::default();
    t.name = StrBytes::from(topic.to_string());
    t.topic_id = id;
    t.partition_data = vec![p];
    let mut req = ProduceRequest::default();
    req.transactional_id = txn.map(|s| StrBytes::from(s.to_string()));
    req.acks = -1;
    req.timeout_ms = 30_000;
    req.topic_data = vec![t];
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let sent = send(b, &req).await;
        let p = &sent.response.responses[0].partition_responses[0];
        // Not written, try again: the partition is not ready yet; or
        // (transactional) the coordinator is still writing the previous
        // transaction's markers when this one's first Produce adds the
        // partition (KIP-890 part 2), which Kafka's TransactionManager also
        // backs off from and retries. Seen under load on the 2-core machine.
        let retry = [
            ErrorCode::UNKNOWN_TOPIC_OR_PARTITION,
            ErrorCode::LEADER_NOT_AVAILABLE,
            ErrorCode::NOT_LEADER_OR_FOLLOWER,
        ]
        .contains(&ErrorCode(p.error_code))
            || (txn.is_some() && ErrorCode(p.error_code) == ErrorCode::CONCURRENT_TRANSACTIONS);
        if retry && Instant::now() < deadline {
            sleep_ms(200).await;
            continue;
        }
        assert_eq!(
            p.error_code,
            0,
            "Produce v{} to {topic}: {} ({:?})",
            sent.version,
            err(p.error_code),
            p.error_message
        );
        return p.base_offset;
    }
}

/// Fetches partition 0 of `topic` from offset 0 until `want` data records arrived; returns each
/// data batch's (compression, timestamp type, records with their offsets).
async fn fetch_batches(
    b: &Broker,
    topic: &str,
    id: Uuid,
    want: usize,
) -> Vec<(Compression, TimestampType, Vec<(i64, Rec)>)> {
    let mut out = Vec::new();
    let mut offset = 0;
    let mut got = 0;
    let deadline = Instant::now() + Duration::from_secs(30);
    while got < want {
        assert!(
            Instant::now() < deadline,
            "{topic}: {got} of {want} records after 30 s"
        );
        let mut p = FetchPartition::default();
        p.partition = 0;
        p.fetch_offset = offset;
        p.partition_max_bytes = 1 << 20;
        let mut t = FetchTopic::default();
        t.topic = StrBytes::from(topic.to_string());
        t.topic_id = id;
        t.partitions = vec![p];
        let mut req = FetchRequest::default();
        req.max_wait_ms = 500;
        req.min_bytes = 1;
        req.max_bytes = 1 << 20;
        req.isolation_level = 1;
        req.session_id = 0;
        req.session_epoch = -1;
        req.topics = vec![t];
        let sent = send(b, &req).await;
        let r = &sent.response;
        assert_eq!(r.error_code, 0, "Fetch: {}", err(r.error_code));
        let part = &r.responses[0].partitions[0];
        assert_eq!(
            part.error_code,
            0,
            "Fetch v{} {topic}: {}",
            sent.version,
            err(part.error_code)
        );
        let Some(bytes) = part.records.clone() else {
            sleep_ms(100).await;
            continue;
        };
        let decoded = decode_batches(bytes, &DecodeOptions::default())
            .unwrap_or_else(|e| panic!("{topic}: decode_batches: {e}"));
        for batch in &decoded.batches {
            let Batch::V2(rb) = batch else {
                panic!("{topic}: a legacy message set from the Java producer: {batch:?}")
            };
            offset = rb.header.next_offset();
            if rb.header.is_control() {
                continue;
            }
            let codec = rb
                .compression()
                .unwrap_or_else(|e| panic!("{topic}: compression attribute: {e}"));
            let records = rb
                .decode_records(&DecodeOptions::default())
                .unwrap_or_else(|e| panic!("{topic}: {codec:?} records: {e}"));
            got += records.len();
            let s = |b: Option<Bytes>| b.map(|b| String::from_utf8(b.to_vec()).expect("utf-8"));
            let recs = records
                .into_iter()
                .map(|r| {
                    let headers = r
                        .headers
                        .into_iter()
                        .map(|h| (s(Some(h.key)).unwrap(), s(h.value)))
                        .collect();
                    (r.offset, (s(r.key), s(r.value), headers))
                })
                .collect();
            out.push((codec, rb.header.timestamp_type(), recs));
        }
    }
    out
}

/// What the Java producer writes (Clients.java): key `k<i>`, value `v<i>-<codec>`, header h=`<i>`.
fn java_records(codec: &str) -> Vec<Rec> {
    (0..COUNT)
        .map(|i| {
            (
                Some(format!("k{i}")),
                Some(format!("v{i}-{codec}")),
                vec![("h".to_string(), Some(i.to_string()))],
            )
        })
        .collect()
}

/// What kwire writes to `topic`: non-ASCII values, a header with a null value on the first
/// record, a null value (tombstone) on the last.
fn kwire_records(tag: &str, from: usize, n: usize) -> Vec<Rec> {
    (from..from + n)
        .map(|i| {
            let mut headers = vec![("h".to_string(), Some(i.to_string()))];
            if i == 0 {
                headers.push(("kwire-null".to_string(), None));
            }
            let value = (i != COUNT - 1).then(|| format!("v{i}-{tag}-kwire ✓ ü"));
            (Some(format!("k{i}")), value, headers)
        })
        .collect()
}

/// A batch of `recs` at base offset 0 (the broker assigns offsets).
fn build(codec: Compression, producer: Option<(i64, i16, i32, bool)>, recs: &[Rec]) -> Bytes {
    let mut b = RecordBatchBuilder::new(0).compression(codec);
    if let Some((id, epoch, seq, txn)) = producer {
        b = b.producer(id, epoch, seq).transactional(txn);
    }
    for (k, v, hs) in recs {
        let headers: Vec<Header> = hs
            .iter()
            .map(|(k, v)| Header::new(Bytes::from(k.clone()), v.clone().map(Bytes::from)))
            .collect();
        b.append(
            1_700_000_000_000,
            k.as_deref().map(str::as_bytes),
            v.as_deref().map(str::as_bytes),
            &headers,
        )
        .expect("append");
    }
    b.build().unwrap_or_else(|e| {
        panic!(
            "build a {codec:?} batch: {e}; kwire's codec features are off in this build: run \
             `cargo test -p kwire-client --features kwire/default --test kafka_java_records` \
             (or `cargo test --workspace`)"
        )
    })
}

/// InitProducerId (idempotent when `txn` is None), retried while the coordinator loads.
async fn init_producer_id(b: &Broker, txn: Option<&str>) -> (i64, i16) {
    let mut req = InitProducerIdRequest::default();
    req.transactional_id = txn.map(|s| StrBytes::from(s.to_string()));
    req.transaction_timeout_ms = 60_000;
    req.producer_id = -1;
    req.producer_epoch = -1;
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let r = send(b, &req).await.response;
        if [14, 15, 16, 51].contains(&r.error_code) && Instant::now() < deadline {
            sleep_ms(250).await;
            continue;
        }
        assert_eq!(r.error_code, 0, "InitProducerId: {}", err(r.error_code));
        return (r.producer_id, r.producer_epoch);
    }
}

/// EndTxn; returns the epoch to use next (bumped by the coordinator with transaction.version 2).
async fn end_txn(b: &Broker, txn: &str, pid: i64, epoch: i16, commit: bool) -> i16 {
    let mut end = EndTxnRequest::default();
    end.transactional_id = StrBytes::from(txn.to_string());
    end.producer_id = pid;
    end.producer_epoch = epoch;
    end.committed = commit;
    let sent = send(b, &end).await;
    let r = &sent.response;
    assert_eq!(
        r.error_code,
        0,
        "EndTxn v{}: {}",
        sent.version,
        err(r.error_code)
    );
    if sent.version >= 5 {
        assert_eq!(r.producer_id, pid);
        r.producer_epoch
    } else {
        epoch
    }
}

/// Transactional gzip producer: an aborted transaction of 3 records, then a committed one of
/// [`COUNT`] records. Returns the records Java must see.
async fn transactional(b: &Broker, topic: &str, id: Uuid) -> Vec<Rec> {
    let txn = "kwire-java-records-txn";
    let mut fc = FindCoordinatorRequest::default();
    fc.key_type = 1;
    fc.coordinator_keys = vec![StrBytes::from(txn)];
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let r = send(b, &fc).await.response;
        let c = &r.coordinators[0];
        if c.error_code == 15 && Instant::now() < deadline {
            sleep_ms(250).await;
            continue;
        }
        assert_eq!(c.error_code, 0, "FindCoordinator: {}", err(c.error_code));
        break;
    }
    // A single node: the coordinator is this broker. 4.4.0 runs transaction.version 2, so
    // Produce adds the partition to the transaction (no AddPartitionsToTxn).
    let (pid, epoch) = init_producer_id(b, Some(txn)).await;
    let aborted: Vec<Rec> = (0..3)
        .map(|i| {
            (
                Some(format!("aborted{i}")),
                Some("aborted".to_string()),
                vec![],
            )
        })
        .collect();
    produce(
        b,
        topic,
        id,
        build(Compression::Gzip, Some((pid, epoch, 0, true)), &aborted),
        Some(txn),
    )
    .await;
    let next = end_txn(b, txn, pid, epoch, false).await;
    // A bumped epoch restarts the sequence.
    let seq = if next == epoch { 3 } else { 0 };
    let committed = kwire_records("txn", 0, COUNT);
    let batch = build(Compression::Gzip, Some((pid, next, seq, true)), &committed);
    assert_eq!(
        produce(b, topic, id, batch, Some(txn)).await,
        4,
        "after 3 aborted + marker"
    );
    end_txn(b, txn, pid, next, true).await;
    committed
}

#[test]
fn java_producer_and_consumer_every_codec() {
    let t0 = Instant::now();
    support::kafka::build_java_clients();
    // Fail early (before the broker) when kwire's codecs are compiled out.
    for c in Compression::ALL {
        build(c, None, &kwire_records("probe", 0, 1));
    }
    let kafka = KafkaBroker::start("4.4.0", None);
    let b = client(&kafka.bootstrap);
    let rt = runtime();

    let java_topic = |c: Compression| format!("kwire-java-to-kwire-{}", codec_name(c));
    let kwire_topic = |c: Compression| format!("kwire-to-java-{}", codec_name(c));
    let idempotent_topic = "kwire-to-java-idempotent-zstd".to_string();
    let txn_topic = "kwire-to-java-transactional-gzip".to_string();
    let mut names: Vec<String> = Compression::ALL.iter().map(|c| java_topic(*c)).collect();
    names.extend(Compression::ALL.iter().map(|c| kwire_topic(*c)));
    names.extend([idempotent_topic.clone(), txn_topic.clone()]);
    let ids = rt.block_on(create_topics(&b, &names));

    // Java → kwire: one JVM for every codec.
    let count = COUNT.to_string();
    let lines = java(&[
        "produce-all",
        &kafka.bootstrap,
        "kwire-java-to-kwire",
        &count,
    ]);
    assert_eq!(lines.len(), Compression::ALL.len(), "{lines:?}");
    for (line, c) in lines.iter().zip(Compression::ALL) {
        assert_eq!(line.get("topic").str(), java_topic(c));
        let offsets: Vec<i64> = line.get("offsets").arr().iter().map(Json::int).collect();
        assert_eq!(offsets, (0..COUNT as i64).collect::<Vec<_>>(), "{line:?}");
    }
    for c in Compression::ALL {
        let topic = java_topic(c);
        let batches = rt.block_on(fetch_batches(&b, &topic, ids[&topic], COUNT));
        let mut recs = Vec::new();
        for (codec, ts, rs) in &batches {
            assert_eq!(*codec, c, "{topic}: the batch's compression attribute");
            assert_eq!(*ts, TimestampType::CreateTime, "{topic}");
            recs.extend(rs.iter().cloned());
        }
        assert!(
            batches.len() < COUNT,
            "{topic}: linger.ms should batch the {COUNT} records, got {} batches",
            batches.len()
        );
        let offsets: Vec<i64> = recs.iter().map(|(o, _)| *o).collect();
        assert_eq!(offsets, (0..COUNT as i64).collect::<Vec<_>>(), "{topic}");
        let recs: Vec<Rec> = recs.into_iter().map(|(_, r)| r).collect();
        assert_eq!(recs, java_records(codec_name(c)), "{topic}");
        eprintln!(
            "Java {} → kwire: {} records in {} batch(es) ok",
            codec_name(c),
            COUNT,
            batches.len()
        );
    }

    // kwire → Java: a batch per codec, an idempotent producer, a transactional one.
    let mut expected: BTreeMap<String, Vec<(i64, Rec)>> = BTreeMap::new();
    rt.block_on(async {
        for c in Compression::ALL {
            let topic = kwire_topic(c);
            let recs = kwire_records(codec_name(c), 0, COUNT);
            let base = produce(&b, &topic, ids[&topic], build(c, None, &recs), None).await;
            assert_eq!(base, 0, "{topic}");
            expected.insert(topic, (0..).zip(recs).collect());
        }

        let (pid, epoch) = init_producer_id(&b, None).await;
        let half = COUNT / 2;
        let first = kwire_records("idempotent", 0, half);
        let second = kwire_records("idempotent", half, COUNT - half);
        let id = ids[&idempotent_topic];
        let batch = |seq: usize, recs: &[Rec]| {
            build(
                Compression::Zstd,
                Some((pid, epoch, seq as i32, false)),
                recs,
            )
        };
        assert_eq!(
            produce(&b, &idempotent_topic, id, batch(0, &first), None).await,
            0
        );
        assert_eq!(
            produce(&b, &idempotent_topic, id, batch(half, &second), None).await,
            half as i64
        );
        // A retried batch (same sequence) is deduplicated: same base offset, nothing appended.
        assert_eq!(
            produce(&b, &idempotent_topic, id, batch(half, &second), None).await,
            half as i64,
            "duplicate idempotent batch"
        );
        expected.insert(
            idempotent_topic.clone(),
            (0..).zip(first.into_iter().chain(second)).collect(),
        );

        let committed = transactional(&b, &txn_topic, ids[&txn_topic]).await;
        // Offsets 0-2 aborted, 3 the abort marker.
        expected.insert(txn_topic.clone(), (4..).zip(committed).collect());
    });

    let topics: Vec<String> = expected.keys().cloned().collect();
    let lines = java(&[
        "consume-all",
        &kafka.bootstrap,
        &topics.join(","),
        &count,
        "30000",
    ]);
    let mut got: BTreeMap<String, Vec<(i64, Rec)>> = BTreeMap::new();
    for l in &lines {
        assert_eq!(l.get("timestampType").str(), "CreateTime", "{l:?}");
        assert_eq!(l.get("timestamp").int(), 1_700_000_000_000, "{l:?}");
        let headers = l
            .get("headers")
            .arr()
            .iter()
            .map(|h| {
                let kv = h.arr();
                (kv[0].str().to_string(), kv[1].opt_str().map(str::to_string))
            })
            .collect();
        let rec = (
            l.get("key").opt_str().map(str::to_string),
            l.get("value").opt_str().map(str::to_string),
            headers,
        );
        got.entry(l.get("topic").str().to_string())
            .or_default()
            .push((l.get("offset").int(), rec));
    }
    for (topic, want) in &expected {
        assert_eq!(
            got.get(topic),
            Some(want),
            "{topic}: what Java's consumer read"
        );
        eprintln!("kwire {topic} → Java: {} records ok", want.len());
    }
    assert_eq!(
        got.len(),
        expected.len(),
        "topics Java read: {:?}",
        got.keys()
    );
    drop(kafka);
    eprintln!("done in {:.1?}", t0.elapsed());
}
