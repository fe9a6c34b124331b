//! Consumer groups and committed offsets against REAL Apache Kafka brokers
//! (started by the test through testsupport/kafka/broker on 127.0.0.1,
//! stopped from a Drop guard). One broker per release, several scenarios
//! on it. Without java/mvn the tests fail with the command to run.
//!
//! The protocol choice (KIP-848 or classic) on real brokers: on 3.8.1
//! `Preference::Auto` gives classic and says why, and insisting on KIP-848
//! is refused up front; on 4.4.0 with group.version downgraded to 0 (the
//! last scenario on its broker) the same; on 4.4.0 with
//! `group.coordinator.rebalance.protocols=classic` (its own broker)
//! heartbeats are answered UNSUPPORTED_VERSION and Auto falls back to
//! classic, while insisting on KIP-848 fails the poll. The requests sent are
//! checked through a `WireLog`.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kwire::{ApiKey, ErrorCode};
use kwire_client::admin::{Admin, FeatureUpdate, UpgradeType};
use kwire_client::consume::offsets::{self, FetchOffsets, OffsetAndMetadata, OffsetsError};
use kwire_client::consume::{GroupConfig, GroupConsumer, OffsetReset, RebalanceListener};
use kwire_client::group::select::{GroupProtocol, Preference, ProtocolChoice};
use kwire_client::group::{GroupMetadata, TopicPartition};
use kwire_client::net::{WireLog, WireSnapshot};
use kwire_client::produce::{Producer, ProducerConfig, ProducerRecord};
use kwire_client::Cluster;
use serde_json::Value as Json;
use support::kafka::{lock, runtime, testsupport, KafkaBroker, Start};
use support::produce::{connect, create_topic};

const T: Duration = Duration::from_secs(30);

/// `RUST_LOG=kwire_client=debug` shows the members' decisions.
fn logs() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}

fn tp(t: &str, p: i32) -> TopicPartition {
    TopicPartition::new(t, p)
}

/// OffsetCommit then OffsetFetch (require_stable) for a group nobody joined:
/// what was committed comes back, a partition never committed comes back
/// empty, and a commit for a partition that does not exist names it.
async fn offsets_round_trip(kafka: &KafkaBroker, expect_version: i16) {
    let c = connect(&kafka.bootstrap).await;
    create_topic(&c, "off-a", 3, 1).await;
    let group = GroupMetadata::unjoined("off-g");
    let mut want = BTreeMap::new();
    want.insert(
        tp("off-a", 0),
        OffsetAndMetadata {
            offset: 17,
            leader_epoch: 0,
            metadata: Some("m0".into()),
        },
    );
    want.insert(tp("off-a", 2), OffsetAndMetadata::new(5));
    let done = offsets::commit(&c, &group, &want, T)
        .await
        .expect("OffsetCommit");
    assert_eq!(done.version, Some(expect_version), "{done:?}");
    assert_eq!(done.requests, 1);
    let parts = [tp("off-a", 0), tp("off-a", 1), tp("off-a", 2)];
    let how = FetchOffsets {
        require_stable: true,
        member: None,
    };
    let got = offsets::fetch(&c, "off-g", &parts, &how, T)
        .await
        .expect("OffsetFetch");
    assert_eq!(got[&tp("off-a", 0)].as_ref(), want.get(&tp("off-a", 0)));
    assert_eq!(got[&tp("off-a", 1)], None);
    assert_eq!(got[&tp("off-a", 2)].as_ref().map(|o| o.offset), Some(5));

    // A partition that does not exist: its own error, the others committed.
    let mut bad = BTreeMap::new();
    bad.insert(tp("off-a", 1), OffsetAndMetadata::new(3));
    bad.insert(tp("off-a", 9), OffsetAndMetadata::new(3));
    let err = offsets::commit(&c, &group, &bad, Duration::from_secs(5))
        .await
        .expect_err("partition 9 does not exist");
    match &err {
        OffsetsError::Partitions { failed, .. } => {
            assert_eq!(failed.len(), 1, "{err}");
            assert_eq!(failed[0].0, tp("off-a", 9));
            assert_eq!(failed[0].1, ErrorCode::UNKNOWN_TOPIC_OR_PARTITION, "{err}");
        }
        other => panic!("{other}"),
    }
    let got = offsets::fetch(&c, "off-g", &[tp("off-a", 1)], &how, T)
        .await
        .expect("OffsetFetch");
    assert_eq!(got[&tp("off-a", 1)].as_ref().map(|o| o.offset), Some(3));
    c.shutdown().await;
}

/// Kafka's own `KafkaConsumer` as a group member (`clients-run group-consume`),
/// its JSON-line events collected by a reader thread.
struct JavaMember {
    child: Child,
    lines: Arc<Mutex<Vec<Json>>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl JavaMember {
    fn start(bootstrap: &str, group: &str, topic: &str, protocol: GroupProtocol) -> JavaMember {
        let mut cmd = Command::new(testsupport("clients-run"));
        cmd.args([
            "group-consume",
            "--bootstrap",
            bootstrap,
            "--group",
            group,
            "--topics",
            topic,
            "--count",
            "0",
            "--timeout-ms",
            "180000",
            "--offset-reset",
            "earliest",
            "--client-id",
            "java-member",
        ]);
        match protocol {
            GroupProtocol::Classic => {
                cmd.args(["--protocol", "classic", "--assignor", "cooperative-sticky"]);
            }
            GroupProtocol::Consumer => {
                cmd.args(["--protocol", "consumer"]);
            }
        }
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("run testsupport/kafka/clients-run group-consume");
        let out = child.stdout.take().expect("stdout");
        let lines = Arc::new(Mutex::new(Vec::new()));
        let sink = lines.clone();
        let reader = std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                if let Ok(v) = serde_json::from_str::<Json>(&line) {
                    sink.lock().unwrap().push(v);
                }
            }
        });
        JavaMember {
            child,
            lines,
            reader: Some(reader),
        }
    }

    fn events(&self) -> Vec<Json> {
        self.lines.lock().unwrap().clone()
    }

    /// What it owns now, from its assigned / revoked / lost events.
    fn owned(&self) -> BTreeSet<i32> {
        let mut owned = BTreeSet::new();
        let parts = |v: &Json| -> Vec<i32> {
            v.as_array()
                .map(|a| {
                    a.iter()
                        .filter_map(|p| p["partition"].as_i64())
                        .map(|p| p as i32)
                        .collect()
                })
                .unwrap_or_default()
        };
        for e in self.events() {
            match e["event"].as_str() {
                Some("assigned") => {
                    if e.get("assignment").is_some() {
                        owned = parts(&e["assignment"]).into_iter().collect();
                    } else {
                        owned.extend(parts(&e["partitions"]));
                    }
                }
                Some("revoked") | Some("lost") => {
                    for p in parts(&e["partitions"]) {
                        owned.remove(&p);
                    }
                }
                _ => {}
            }
        }
        owned
    }

    fn consumed(&self) -> BTreeSet<(i32, i64)> {
        self.events()
            .iter()
            .filter(|e| e["event"] == "record")
            .filter_map(|e| Some((e["partition"].as_i64()? as i32, e["offset"].as_i64()?)))
            .collect()
    }

    fn errors(&self) -> Vec<Json> {
        self.events()
            .into_iter()
            .filter(|e| e["event"] == "error")
            .collect()
    }

    /// SIGTERM: it leaves the group and prints `done`.
    fn stop(mut self) -> Vec<Json> {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let _ = self.child.wait();
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
        self.events()
    }
}

impl Drop for JavaMember {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// What a kwire member's task reports.
#[derive(Debug, Default)]
struct KwireView {
    consumed: BTreeSet<(i32, i64)>,
    owned: BTreeSet<i32>,
    /// Partitions as the rebalance callbacks gave them, in order.
    callbacks: Vec<(&'static str, Vec<i32>)>,
    protocol: Option<GroupProtocol>,
    /// Why that protocol ([`GroupConsumer::protocol`]).
    why: Option<String>,
    stop: bool,
    error: Option<String>,
}

/// The rebalance callbacks, recorded.
struct Recorder(Arc<Mutex<KwireView>>);

impl Recorder {
    fn note(&self, what: &'static str, parts: &[TopicPartition]) {
        let parts = parts.iter().map(|tp| tp.partition).collect();
        self.0.lock().unwrap().callbacks.push((what, parts));
    }
}

impl RebalanceListener for Recorder {
    fn on_assigned(&mut self, parts: &[TopicPartition]) {
        self.note("assigned", parts);
    }
    fn on_revoked(&mut self, parts: &[TopicPartition]) {
        self.note("revoked", parts);
    }
    fn on_lost(&mut self, parts: &[TopicPartition]) {
        self.note("lost", parts);
    }
}

/// A kwire group member polling in a task until told to stop, then closing
/// (LeaveGroup, or the leave heartbeat under KIP-848).
fn kwire_member(
    cluster: Arc<Cluster>,
    group: &str,
    topic: &str,
    protocol: Preference,
    assignors: &[&str],
) -> (Arc<Mutex<KwireView>>, tokio::task::JoinHandle<()>) {
    let view = Arc::new(Mutex::new(KwireView::default()));
    let v = view.clone();
    let mut cfg = GroupConfig::new(group);
    cfg.protocol = protocol;
    cfg.assignors = assignors.iter().map(|a| a.to_string()).collect();
    cfg.auto_commit = Some(Duration::from_millis(200));
    cfg.session_timeout = Duration::from_secs(10);
    cfg.heartbeat_interval = Duration::from_secs(1);
    cfg.rebalance_timeout = Duration::from_secs(30);
    cfg.consumer.offset_reset = OffsetReset::Earliest;
    cfg.consumer.max_wait = Duration::from_millis(200);
    let topic = topic.to_string();
    let task = tokio::spawn(async move {
        let run = async {
            let mut gc = GroupConsumer::new(cluster, cfg).await?;
            {
                let mut st = v.lock().unwrap();
                st.protocol = Some(gc.protocol().protocol);
                st.why = Some(gc.protocol().why.clone());
            }
            gc.set_listener(Box::new(Recorder(v.clone())));
            gc.subscribe(&[topic.as_str()])?;
            while !v.lock().unwrap().stop {
                let recs = gc.poll().await?;
                let mut st = v.lock().unwrap();
                st.consumed
                    .extend(recs.iter().map(|r| (r.partition, r.offset)));
                st.owned = gc.assignment().iter().map(|tp| tp.partition).collect();
            }
            gc.close(Duration::from_secs(10)).await?;
            v.lock().unwrap().owned.clear();
            Ok::<(), kwire_client::consume::GroupConsumerError>(())
        };
        if let Err(e) = run.await {
            v.lock().unwrap().error = Some(e.to_string());
        }
    });
    (view, task)
}

async fn produce(c: &Arc<Cluster>, topic: &str, partitions: i32, per_partition: i32) {
    let p = Producer::new(c.clone(), ProducerConfig::default()).expect("producer");
    let mut futs = Vec::new();
    for i in 0..per_partition {
        for part in 0..partitions {
            let r = ProducerRecord::new(topic, format!("v{i}")).partition(part);
            futs.push(p.send(r).await.expect("send"));
        }
    }
    p.flush().await;
    for f in futs {
        f.await.expect("delivered");
    }
    p.close().await;
}

/// Polls `cond` every 200 ms until it holds or `within` passes; the
/// message says what was last seen.
async fn until(within: Duration, what: &str, mut cond: impl FnMut() -> Result<(), String>) {
    let deadline = Instant::now() + within;
    loop {
        match cond() {
            Ok(()) => return,
            Err(seen) if Instant::now() >= deadline => {
                panic!("{what}: not within {within:?}; last seen: {seen}")
            }
            Err(_) => tokio::time::sleep(Duration::from_millis(200)).await,
        }
    }
}

/// Committed offsets of every partition, -1 when none.
async fn committed(c: &Cluster, group: &str, topic: &str, partitions: i32) -> Vec<i64> {
    let parts: Vec<TopicPartition> = (0..partitions).map(|p| tp(topic, p)).collect();
    let got = offsets::fetch(c, group, &parts, &FetchOffsets::default(), T)
        .await
        .expect("OffsetFetch");
    parts
        .iter()
        .map(|tp| got[tp].as_ref().map_or(-1, |o| o.offset))
        .collect()
}

async fn wait_committed(c: &Cluster, group: &str, topic: &str, partitions: i32, want: i64) {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        let now = committed(c, group, topic, partitions).await;
        if now.iter().all(|o| *o == want) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{group}: committed offsets {now:?}, want {want} everywhere"
        );
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

/// Two kwire members (and one Java member when `with_java`) share a topic's
/// partitions in one group; one kwire member leaves, the group rebalances,
/// and at the end every partition is owned by exactly one member, every
/// record was consumed and its offset committed. The kwire members ask for
/// `pref` and must end up speaking `protocol`; returns why member a chose
/// it ([`GroupConsumer::protocol`]).
async fn mixed_group(
    kafka: &KafkaBroker,
    protocol: GroupProtocol,
    pref: Preference,
    with_java: bool,
    assignors: &[&str],
) -> String {
    const P: i32 = 6;
    const HALF: i32 = 50;
    let name = match protocol {
        GroupProtocol::Classic => "classic",
        GroupProtocol::Consumer => "consumer",
    };
    let topic = format!("mix-{name}-{}", assignors.join("-"));
    let group = format!("{topic}-g");
    let c = connect(&kafka.bootstrap).await;
    create_topic(&c, &topic, P, 1).await;
    produce(&c, &topic, P, HALF).await;

    let java = with_java.then(|| JavaMember::start(&kafka.bootstrap, &group, &topic, protocol));
    let java_owned = || java.as_ref().map(JavaMember::owned);
    let (a, task_a) = kwire_member(
        connect(&kafka.bootstrap).await,
        &group,
        &topic,
        pref,
        assignors,
    );
    let (b, task_b) = kwire_member(
        connect(&kafka.bootstrap).await,
        &group,
        &topic,
        pref,
        assignors,
    );
    let all: BTreeSet<i32> = (0..P).collect();
    // Exactly one owner per partition, from the members' own views.
    let shared = |views: &[BTreeSet<i32>]| -> Result<(), String> {
        let mut seen = BTreeSet::new();
        for v in views {
            for p in v {
                if !seen.insert(*p) {
                    return Err(format!("partition {p} owned twice: {views:?}"));
                }
            }
        }
        if seen == all {
            Ok(())
        } else {
            Err(format!("{views:?}"))
        }
    };
    until(
        Duration::from_secs(90),
        "three members share the partitions",
        || {
            for v in [&a, &b] {
                if let Some(e) = &v.lock().unwrap().error {
                    panic!("kwire member failed: {e}");
                }
            }
            let mut views = vec![
                a.lock().unwrap().owned.clone(),
                b.lock().unwrap().owned.clone(),
            ];
            views.extend(java_owned());
            if views.iter().any(|v| v.is_empty()) {
                let errors = java.as_ref().map(JavaMember::errors);
                return Err(format!("{views:?}; java errors {errors:?}"));
            }
            shared(&views)
        },
    )
    .await;
    assert_eq!(
        a.lock().unwrap().protocol,
        Some(protocol),
        "asked for {pref:?}: {:?}",
        a.lock().unwrap().why
    );
    let why = a.lock().unwrap().why.clone().unwrap_or_default();
    wait_committed(&c, &group, &topic, P, i64::from(HALF)).await;

    // One kwire member leaves; the others take its partitions over.
    b.lock().unwrap().stop = true;
    tokio::time::timeout(Duration::from_secs(30), task_b)
        .await
        .expect("member b closes within 30 s")
        .expect("member b task");
    assert_eq!(b.lock().unwrap().error, None);
    produce(&c, &topic, P, HALF).await;
    wait_committed(&c, &group, &topic, P, i64::from(2 * HALF)).await;
    // KIP-320: every kwire commit carried the epoch of the last batch
    // consumed (one broker, a new topic: epoch 0), not -1. (The Java member
    // of the test harness commits offsets without an epoch.)
    let parts: Vec<TopicPartition> = (0..P).map(|p| tp(&topic, p)).collect();
    let got = offsets::fetch(&c, &group, &parts, &FetchOffsets::default(), T)
        .await
        .expect("OffsetFetch");
    let epochs: Vec<i32> = parts
        .iter()
        .map(|tp| got[tp].as_ref().map_or(-2, |o| o.leader_epoch))
        .collect();
    assert!(
        with_java || epochs.iter().all(|e| *e == 0),
        "{group}: committed leader epochs {epochs:?}"
    );
    until(
        Duration::from_secs(60),
        "two members share the partitions",
        || {
            if let Some(e) = &a.lock().unwrap().error {
                panic!("kwire member failed: {e}");
            }
            let mut views = vec![a.lock().unwrap().owned.clone()];
            views.extend(java_owned());
            shared(&views)
        },
    )
    .await;

    // The callbacks tell the same story as the assignment: replaying a's
    // gives what it owns; b's close revoked everything it had.
    let replay = |cbs: &[(&str, Vec<i32>)]| {
        let mut owned = BTreeSet::new();
        for (what, parts) in cbs {
            for p in parts {
                if *what == "assigned" {
                    owned.insert(*p);
                } else {
                    owned.remove(p);
                }
            }
        }
        owned
    };
    {
        let a = a.lock().unwrap();
        assert_eq!(replay(&a.callbacks), a.owned, "{:?}", a.callbacks);
        let b = b.lock().unwrap();
        assert!(
            b.callbacks.iter().any(|(w, _)| *w == "assigned"),
            "{:?}",
            b.callbacks
        );
        assert!(replay(&b.callbacks).is_empty(), "{:?}", b.callbacks);
    }

    // Nothing lost: every offset reached some member.
    let mut consumed = a.lock().unwrap().consumed.clone();
    consumed.extend(b.lock().unwrap().consumed.iter().copied());
    if let Some(j) = &java {
        consumed.extend(j.consumed());
    }
    for p in 0..P {
        for o in 0..i64::from(2 * HALF) {
            assert!(
                consumed.contains(&(p, o)),
                "{topic}-{p} offset {o} consumed by nobody"
            );
        }
    }
    // Member a owns partitions since b left and the second half was
    // committed everywhere, so it consumed; b may have got nothing (the
    // first members to join can read the first half before it joins).
    assert!(
        !a.lock().unwrap().consumed.is_empty(),
        "kwire member a consumed nothing"
    );
    if let Some(j) = &java {
        assert!(!j.consumed().is_empty(), "the Java member consumed nothing");
    }
    a.lock().unwrap().stop = true;
    tokio::time::timeout(Duration::from_secs(30), task_a)
        .await
        .expect("member a closes within 30 s")
        .expect("member a task");
    assert_eq!(a.lock().unwrap().error, None);
    if let Some(j) = java {
        let events = j.stop();
        let assigned = events.iter().filter(|e| e["event"] == "assigned").count();
        assert!(
            assigned >= 2,
            "the Java member saw no rebalance: {events:?}"
        );
    }
    c.shutdown().await;
    why
}

#[test]
fn kafka_4_4_0_groups() {
    let _g = lock();
    logs();
    support::kafka::build_java_clients();
    let kafka = KafkaBroker::start("4.4.0", None);
    let rt = runtime();
    let t = Instant::now();
    // 4.4: OffsetCommit v10 names topics by id (KIP-848).
    rt.block_on(offsets_round_trip(&kafka, 10));
    eprintln!("4.4.0 offsets round trip: {:.1?}", t.elapsed());
    let t = Instant::now();
    rt.block_on(mixed_group(
        &kafka,
        GroupProtocol::Classic,
        Preference::Classic,
        true,
        &["cooperative-sticky"],
    ));
    eprintln!("4.4.0 mixed classic group: {:.1?}", t.elapsed());
    let t = Instant::now();
    rt.block_on(mixed_group(
        &kafka,
        GroupProtocol::Consumer,
        Preference::Consumer,
        true,
        &[],
    ));
    eprintln!("4.4.0 mixed KIP-848 group: {:.1?}", t.elapsed());
    let t = Instant::now();
    rt.block_on(static_member_returns(&kafka));
    eprintln!("4.4.0 static member: {:.1?}", t.elapsed());
    let t = Instant::now();
    rt.block_on(slow_processing(&kafka, Preference::Classic, true));
    eprintln!(
        "4.4.0 classic member processing past its session timeout: {:.1?}",
        t.elapsed()
    );
    let t = Instant::now();
    rt.block_on(slow_processing(&kafka, Preference::Consumer, false));
    eprintln!(
        "4.4.0 KIP-848 member stuck past its rebalance timeout: {:.1?}",
        t.elapsed()
    );
    let t = Instant::now();
    rt.block_on(cli_resumes(&kafka));
    eprintln!("4.4.0 kwire consume --group: {:.1?}", t.elapsed());
    // Last: it turns KIP-848 off on this broker.
    let t = Instant::now();
    rt.block_on(group_version_0(&kafka));
    eprintln!(
        "4.4.0 group.version 0: Auto -> classic: {:.1?}",
        t.elapsed()
    );
}

/// 3.8.1 (no KIP-848 for clients): kwire members alone in a classic group
/// with the default assignors (range first, so the eager protocol), and the
/// offsets round trip at OffsetCommit v9 (topic names). The members ask
/// for `Preference::Auto` and get classic, saying why (no finalized
/// group.version); a member that insists on KIP-848 is refused at once,
/// naming why, without a ConsumerGroupHeartbeat sent.
#[test]
fn kafka_3_8_1_classic_group() {
    let _g = lock();
    logs();
    let kafka = KafkaBroker::start("3.8.1", None);
    let rt = runtime();
    let t = Instant::now();
    rt.block_on(offsets_round_trip(&kafka, 9));
    let why = rt.block_on(mixed_group(
        &kafka,
        GroupProtocol::Classic,
        Preference::Auto,
        false,
        &["range", "cooperative-sticky"],
    ));
    assert!(
        why.contains("finalized group.version is 0") && why.contains("v1+ is needed"),
        "Auto on 3.8.1: {why}"
    );
    eprintln!("3.8.1 classic group (Auto): {:.1?}", t.elapsed());
    let t = Instant::now();
    rt.block_on(consumer_refused(
        &kafka.bootstrap,
        "finalized group.version is 0",
    ));
    eprintln!("3.8.1 KIP-848 refused: {:.1?}", t.elapsed());
}

/// A cluster whose requests a [`WireLog`] records.
async fn connect_logged(bootstrap: &str) -> (Arc<Cluster>, Arc<WireLog>) {
    let log = WireLog::new();
    let mut cfg = support::produce::cluster_config();
    cfg.client.observer = Some(log.clone());
    let addrs: Vec<&str> = bootstrap.split(',').collect();
    let c = Cluster::connect(&addrs, cfg)
        .await
        .unwrap_or_else(|e| panic!("connect {bootstrap}: {e}"));
    (Arc::new(c), log)
}

/// How often `api` was answered, at any version, on any connection.
fn sent(w: &WireSnapshot, api: ApiKey) -> u64 {
    w.sent
        .iter()
        .filter(|(k, _)| k.api == api)
        .map(|(_, n)| n)
        .sum()
}

/// A lone kwire member asking for `pref` on a new 2-partition topic of 10
/// records: it must get both partitions and read every record. Returns the
/// protocol chosen up front, the one it ended with (after a fallback), and
/// the requests its cluster sent.
async fn lone_member(
    bootstrap: &str,
    name: &str,
    pref: Preference,
) -> (ProtocolChoice, ProtocolChoice, WireSnapshot) {
    let (c, log) = connect_logged(bootstrap).await;
    let topic = format!("{name}-t");
    create_topic(&c, &topic, 2, 1).await;
    produce(&c, &topic, 2, 5).await;
    let mut cfg = GroupConfig::new(format!("{name}-g"));
    cfg.protocol = pref;
    cfg.session_timeout = Duration::from_secs(10);
    cfg.heartbeat_interval = Duration::from_secs(1);
    cfg.consumer.offset_reset = OffsetReset::Earliest;
    cfg.consumer.max_wait = Duration::from_millis(200);
    let mut gc = tokio::time::timeout(T, GroupConsumer::new(c.clone(), cfg))
        .await
        .unwrap_or_else(|_| panic!("{name}: GroupConsumer::new took over {T:?}"))
        .unwrap_or_else(|e| panic!("{name}: {e}"));
    let first = gc.protocol().clone();
    gc.subscribe(&[topic.as_str()]).expect("subscribe");
    let mut consumed = BTreeSet::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    while consumed.len() < 10 || gc.assignment().len() < 2 {
        assert!(
            Instant::now() < deadline,
            "{name} ({pref:?}): within 60 s, assignment {:?}, {} of 10 records; protocol {:?}; \
             requests {:?}",
            gc.assignment(),
            consumed.len(),
            gc.protocol(),
            log.snapshot().sent
        );
        let recs = gc
            .poll()
            .await
            .unwrap_or_else(|e| panic!("{name}: poll: {e}; protocol {:?}", gc.protocol()));
        consumed.extend(recs.iter().map(|r| (r.partition, r.offset)));
    }
    let last = gc.protocol().clone();
    gc.close(Duration::from_secs(10)).await.expect("close");
    let wire = log.snapshot();
    c.shutdown().await;
    (first, last, wire)
}

/// `Preference::Consumer` where the consumer protocol is not there: the
/// member is refused when it is made, the error naming KIP-848 and `why`;
/// no ConsumerGroupHeartbeat is sent.
async fn consumer_refused(bootstrap: &str, why: &str) {
    let (c, log) = connect_logged(bootstrap).await;
    let mut cfg = GroupConfig::new("refused-g");
    cfg.protocol = Preference::Consumer;
    let made = tokio::time::timeout(T, GroupConsumer::new(c.clone(), cfg))
        .await
        .unwrap_or_else(|_| panic!("GroupConsumer::new (KIP-848 asked for) took over {T:?}"));
    let e = made.expect_err("a KIP-848 member where the protocol is not offered");
    let said = e.to_string();
    assert!(
        said.contains("KIP-848") && said.contains(why) && said.contains("ConsumerGroupHeartbeat"),
        "{said}"
    );
    let wire = log.snapshot();
    assert_eq!(
        sent(&wire, ApiKey::CONSUMER_GROUP_HEARTBEAT),
        0,
        "{:?}",
        wire.sent
    );
    c.shutdown().await;
}

/// KIP-848 off on a live 4.4.0 (group.version downgraded to 0, the last
/// scenario on its broker): `Preference::Auto` chooses classic up front,
/// saying so; the member gets both partitions and reads every record
/// through JoinGroup/SyncGroup, no ConsumerGroupHeartbeat sent; insisting
/// on KIP-848 is refused.
async fn group_version_0(kafka: &KafkaBroker) {
    let c = connect(&kafka.bootstrap).await;
    let admin = Admin::new(c.clone());
    let down = FeatureUpdate {
        feature: "group.version".into(),
        level: 0,
        upgrade: UpgradeType::SafeDowngrade,
    };
    let r = admin
        .update_features(&[down], false, T)
        .await
        .expect("UpdateFeatures");
    assert!(r[0].result.is_ok(), "group.version -> 0: {r:?}");
    admin
        .wait_for_finalized("group.version", 0, T)
        .await
        .expect("group.version 0 everywhere");
    c.shutdown().await;
    let (first, last, wire) = lone_member(&kafka.bootstrap, "gv0", Preference::Auto).await;
    assert_eq!(first, last);
    assert_eq!(first.protocol, GroupProtocol::Classic, "{first:?}");
    assert!(
        first.why.contains("finalized group.version is 0"),
        "{first:?}"
    );
    assert_eq!(
        sent(&wire, ApiKey::CONSUMER_GROUP_HEARTBEAT),
        0,
        "{:?}",
        wire.sent
    );
    assert!(
        sent(&wire, ApiKey::JOIN_GROUP) >= 1 && sent(&wire, ApiKey::SYNC_GROUP) >= 1,
        "{:?}",
        wire.sent
    );
    consumer_refused(&kafka.bootstrap, "finalized group.version is 0").await;
}

/// 4.4.0 with `group.coordinator.rebalance.protocols=classic`: group.version
/// 1 is finalized and ConsumerGroupHeartbeat v0-1 advertised, but the
/// coordinator answers every heartbeat UNSUPPORTED_VERSION in the body.
/// `Preference::Auto` starts KIP-848, meets that answer and falls back to
/// classic (`select::after_unsupported`): the member gets both partitions
/// and reads every record, and `protocol()` says why. Insisting on KIP-848
/// fails the poll with an error naming UNSUPPORTED_VERSION, within the
/// deadline (no hang).
#[test]
fn kafka_4_4_0_coordinator_without_the_consumer_protocol() {
    let _g = lock();
    logs();
    let t0 = Instant::now();
    let kafka = KafkaBroker::start_with(Start {
        release: "4.4.0",
        config: &["group.coordinator.rebalance.protocols=classic"],
        ..Default::default()
    });
    let rt = runtime();
    let t = Instant::now();
    let (first, last, wire) = rt.block_on(lone_member(&kafka.bootstrap, "unsup", Preference::Auto));
    assert_eq!(first.protocol, GroupProtocol::Consumer, "{first:?}");
    assert_eq!(last.protocol, GroupProtocol::Classic, "{last:?}");
    assert!(last.why.contains("UNSUPPORTED_VERSION"), "{last:?}");
    let refused = wire
        .errors
        .get(&(
            ApiKey::CONSUMER_GROUP_HEARTBEAT,
            ErrorCode::UNSUPPORTED_VERSION,
        ))
        .copied()
        .unwrap_or(0);
    assert!(
        refused >= 1 && sent(&wire, ApiKey::JOIN_GROUP) >= 1,
        "heartbeats refused {refused}; {:?}; {:?}",
        wire.errors,
        wire.sent
    );
    eprintln!(
        "4.4.0 heartbeat refused, classic fallback: {:.1?}",
        t.elapsed()
    );

    let t = Instant::now();
    rt.block_on(async {
        let c = connect(&kafka.bootstrap).await;
        create_topic(&c, "unsup-strict-t", 1, 1).await;
        let mut cfg = GroupConfig::new("unsup-strict-g");
        cfg.protocol = Preference::Consumer;
        cfg.consumer.max_wait = Duration::from_millis(200);
        let mut gc = GroupConsumer::new(c.clone(), cfg)
            .await
            .expect("the choice up front is KIP-848");
        assert_eq!(gc.protocol().protocol, GroupProtocol::Consumer);
        gc.subscribe(&["unsup-strict-t"]).expect("subscribe");
        let deadline = Instant::now() + T;
        let e = loop {
            assert!(
                Instant::now() < deadline,
                "a KIP-848-only member polled for {T:?} without an error: {gc:?}"
            );
            match gc.poll().await {
                Ok(_) => continue,
                Err(e) => break e,
            }
        };
        let said = e.to_string();
        assert!(
            said.contains("UNSUPPORTED_VERSION") && said.contains("ConsumerGroupHeartbeat"),
            "{said}"
        );
        c.shutdown().await;
    });
    eprintln!(
        "4.4.0 heartbeat refused, KIP-848 insisted: {:.1?}",
        t.elapsed()
    );
    eprintln!("4.4.0 without the consumer protocol: {:.1?}", t0.elapsed());
}

/// KIP-62, against the coordinator: a member that processes a batch for
/// longer than its session timeout keeps its membership (its heartbeats run
/// in the member's task, not in poll): the other member never gets its
/// partition and the generation does not change. A member that does not
/// poll within the rebalance timeout (`max.poll.interval.ms`) is taken out
/// of the group: the other member gets every partition, and the stuck one's
/// next poll reports its partition lost (not revoked) and rejoins.
/// `survives` only for the classic protocol: KIP-848's session timeout is
/// the broker's (45 s by default).
async fn slow_processing(kafka: &KafkaBroker, protocol: Preference, survives: bool) {
    let c = connect(&kafka.bootstrap).await;
    let topic = format!("slow-{protocol:?}").to_lowercase();
    let group = format!("{topic}-g");
    create_topic(&c, &topic, 2, 1).await;
    let member = |view: &Arc<Mutex<KwireView>>| {
        let mut cfg = GroupConfig::new(&group);
        cfg.protocol = protocol;
        cfg.assignors = vec!["range".into()];
        cfg.auto_commit = None;
        cfg.session_timeout = Duration::from_secs(6);
        cfg.heartbeat_interval = Duration::from_secs(1);
        cfg.rebalance_timeout = Duration::from_secs(12);
        cfg.consumer.offset_reset = OffsetReset::Earliest;
        cfg.consumer.max_wait = Duration::from_millis(200);
        let c = c.clone();
        let view = view.clone();
        async move {
            let mut gc = GroupConsumer::new(c, cfg).await.expect("group consumer");
            gc.set_listener(Box::new(Recorder(view)));
            gc
        }
    };
    let (va, vb) = (
        Arc::new(Mutex::new(KwireView::default())),
        Arc::new(Mutex::new(KwireView::default())),
    );
    let mut a = member(&va).await;
    let mut b = member(&vb).await;
    a.subscribe(&[topic.as_str()]).expect("subscribe");
    b.subscribe(&[topic.as_str()]).expect("subscribe");
    let deadline = Instant::now() + Duration::from_secs(40);
    while a.assignment().len() != 1 || b.assignment().len() != 1 {
        assert!(
            Instant::now() < deadline,
            "{group}: the two members did not share the partitions: {:?} / {:?}",
            a.assignment(),
            b.assignment()
        );
        a.poll().await.expect("poll a");
        b.poll().await.expect("poll b");
    }
    let a_part = a.assignment();
    if survives {
        let generation = a.group_metadata().generation_id;
        // A processes for 9 s (session timeout 6 s) while B goes on polling.
        let busy = Instant::now() + Duration::from_secs(9);
        while Instant::now() < busy {
            b.poll().await.expect("poll b");
            assert_eq!(
                b.assignment().len(),
                1,
                "{group}: A lost its membership while processing (heartbeats stopped): B has {:?}",
                b.assignment()
            );
        }
        a.poll().await.expect("poll a");
        assert_eq!(a.assignment(), a_part, "{group}: A's partition moved");
        assert_eq!(
            a.group_metadata().generation_id,
            generation,
            "{group}: a rebalance happened while A processed"
        );
        assert_eq!(
            va.lock()
                .unwrap()
                .callbacks
                .iter()
                .filter(|(w, _)| *w != "assigned")
                .count(),
            0,
            "{group}: {:?}",
            va.lock().unwrap().callbacks
        );
    }
    // A is stuck past the rebalance timeout (12 s): B ends up with both.
    let before_stuck = va.lock().unwrap().callbacks.len();
    let stuck = Instant::now();
    let deadline = stuck + Duration::from_secs(40);
    while b.assignment().len() != 2 {
        assert!(
            Instant::now() < deadline,
            "{group}: A did not leave though it stopped polling {:?} ago: B has {:?}",
            stuck.elapsed(),
            b.assignment()
        );
        b.poll().await.expect("poll b");
    }
    assert!(
        stuck.elapsed() >= Duration::from_secs(10),
        "{group}: A was out after {:?}, before its rebalance timeout",
        stuck.elapsed()
    );
    // A is back: its partition is reported lost, it rejoins and the two
    // share again.
    let deadline = Instant::now() + Duration::from_secs(40);
    loop {
        a.poll().await.expect("poll a after being stuck");
        b.poll().await.expect("poll b");
        if a.assignment().len() == 1 && b.assignment().len() == 1 {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{group}: A did not rejoin: {:?} / {:?}; A's callbacks {:?}",
            a.assignment(),
            b.assignment(),
            va.lock().unwrap().callbacks
        );
    }
    let lost: Vec<i32> = a_part.iter().map(|tp| tp.partition).collect();
    let calls = va.lock().unwrap().callbacks[before_stuck..].to_vec();
    assert!(
        calls.contains(&("lost", lost.clone())),
        "{group}: A's partition {lost:?} was not reported lost: {calls:?}"
    );
    assert!(
        !calls.iter().any(|(w, _)| *w == "revoked"),
        "{group}: a stuck member's partitions are lost, not revoked: {calls:?}"
    );
    a.close(Duration::from_secs(10)).await.expect("close a");
    b.close(Duration::from_secs(10)).await.expect("close b");
    c.shutdown().await;
}

/// A static member (KIP-345) that closes does not leave: the same
/// `group.instance.id` back within the session timeout takes its place in
/// the same generation (no rebalance) with the same partitions.
async fn static_member_returns(kafka: &KafkaBroker) {
    let c = connect(&kafka.bootstrap).await;
    create_topic(&c, "static-t", 2, 1).await;
    let join = || async {
        let mut cfg = GroupConfig::new("static-g");
        cfg.protocol = Preference::Classic;
        cfg.group_instance_id = Some("static-1".into());
        cfg.session_timeout = Duration::from_secs(30);
        cfg.heartbeat_interval = Duration::from_secs(1);
        cfg.consumer.max_wait = Duration::from_millis(200);
        let mut gc = GroupConsumer::new(connect(&kafka.bootstrap).await, cfg)
            .await
            .expect("group consumer");
        gc.subscribe(&["static-t"]).expect("subscribe");
        let deadline = Instant::now() + Duration::from_secs(20);
        while gc.assignment().len() < 2 {
            assert!(Instant::now() < deadline, "static member: {gc:?}");
            gc.poll().await.expect("poll");
        }
        gc
    };
    let first = join().await;
    let before = first.group_metadata();
    assert!(before.generation_id > 0, "{before:?}");
    first.close(Duration::from_secs(10)).await.expect("close");
    let t = Instant::now();
    let second = join().await;
    let after = second.group_metadata();
    assert!(
        t.elapsed() < Duration::from_secs(10),
        "the static member waited {:?} to come back (session timeout 30 s)",
        t.elapsed()
    );
    assert_eq!(after.generation_id, before.generation_id, "{after:?}");
    assert_eq!(after.group_instance_id.as_deref(), Some("static-1"));
    second.close(Duration::from_secs(10)).await.expect("close");
    c.shutdown().await;
}

fn kwire_cli(args: &[&str]) -> Vec<Json> {
    let out = Command::new(env!("CARGO_BIN_EXE_kwire"))
        .args(args)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .expect("run kwire");
    assert!(out.status.success(), "kwire {args:?}: {}", out.status);
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{l:?}: {e}")))
        .collect()
}

/// `kwire consume --group`: a first run stops after 7 records, a second one
/// resumes from what the first committed and reads the rest to the end;
/// together every record exactly once.
async fn cli_resumes(kafka: &KafkaBroker) {
    let c = connect(&kafka.bootstrap).await;
    create_topic(&c, "cli-g", 2, 1).await;
    produce(&c, "cli-g", 2, 10).await;
    let base = [
        "consume",
        "-b",
        kafka.bootstrap.as_str(),
        "-t",
        "cli-g",
        "--group",
        "cli-grp",
        "--format",
        "json",
    ];
    let first = {
        let mut a = base.to_vec();
        a.extend(["--group-protocol", "classic", "-c", "7"]);
        kwire_cli(&a)
    };
    assert_eq!(first.len(), 7, "{first:?}");
    let done = committed(&c, "cli-grp", "cli-g", 2).await;
    assert_eq!(done.iter().map(|o| (*o).max(0)).sum::<i64>(), 7, "{done:?}");
    let second = {
        let mut a = base.to_vec();
        a.extend(["--group-protocol", "classic", "-e"]);
        kwire_cli(&a)
    };
    let mut seen = BTreeSet::new();
    for r in first.iter().chain(&second) {
        let key = (
            r["partition"].as_i64().unwrap(),
            r["offset"].as_i64().unwrap(),
        );
        assert!(seen.insert(key), "{key:?} printed twice");
    }
    assert_eq!(seen.len(), 20, "first {first:?} second {second:?}");
    assert_eq!(committed(&c, "cli-grp", "cli-g", 2).await, vec![10, 10]);
    c.shutdown().await;
}

/// `kwire consume --group` refuses what a group cannot mean, before any
/// connection (the address is never dialled).
#[test]
fn cli_group_usage_errors() {
    let cases: [(&[&str], &str); 3] = [
        (&["--group", "g", "-p", "0"], "--partition"),
        (&["--group", "g", "-o", "5"], "committed"),
        (&["--group-protocol", "classic"], "--group"),
    ];
    for (extra, says) in cases {
        let out = Command::new(env!("CARGO_BIN_EXE_kwire"))
            .args(["consume", "-b", "127.0.0.1:1", "-t", "t"])
            .args(extra)
            .stdin(Stdio::null())
            .output()
            .expect("run kwire");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{extra:?}: {err}");
        assert!(err.contains(says), "{extra:?}: {err}");
    }
}
