//! A rolling upgrade of a REAL three-node KRaft cluster under load, with
//! kwire as the client, in the manner of Kafka's own system tests
//! (`kraft_upgrade_test.py`, `transactions_upgrade_test.py`): replication
//! 3, `min.insync.replicas` 2, a workload running throughout while nodes
//! are restarted one at a time on other releases' jars with the same data
//! directories (`testsupport/kafka/broker cluster node-start --release`),
//! then `metadata.version`, `transaction.version` and `group.version`
//! raised through kwire's own admin client (UpdateFeatures).
//!
//! The workload: an idempotent producer (acks=all), a transactional
//! producer committing and aborting in turn, and a consumer group member
//! reading both topics under read_committed. Afterwards:
//! * every acknowledged record was read exactly once, in order per
//!   partition; every committed transaction's records were read, no
//!   aborted one's;
//! * every request went at a version inside the range the broker
//!   advertised on that very connection, and each release's brokers were
//!   sent Produce at their own highest version (v11 on 3.9, v12 on 4.0,
//!   v13 with topic ids on 4.4) while the cluster was mixed; each restart
//!   shows in the client's negotiation record for that node;
//! * no answer carried UNSUPPORTED_VERSION or INVALID_TXN_STATE, and no
//!   broker closed a connection on a request;
//! * the transaction in flight when `transaction.version` rose to 2
//!   finished classic, the next ones ran KIP-890 part 2.
//!
//! The CI plan (six restarts) takes the cluster through every kind of
//! state: one node forward to 4.0 and back to 3.9 (the rollback drill,
//! allowed until `metadata.version` moves), three releases at once
//! (4.0, 4.4 and 3.9), one node held back on 3.9 while the others run 4.4,
//! then all on 4.4 and the features raised. The long variant (`KWIRE_LONG`)
//! runs Kafka's own path (every node to 4.0.2, then every node to 4.4.0)
//! with the drill first and a busier workload.
//!
//! The test writes a timeline (phases with their wall times, which node ran
//! which release, what each connection advertised, the versions kwire used
//! per node, records produced/acknowledged/consumed) to
//! `target/rolling-upgrade[-long]-timeline.txt` and to its output.

mod support;

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kwire::{ApiKey, ErrorCode};
use kwire_client::admin::{Admin, FeatureUpdate, UpgradeType};
use kwire_client::consume::{GroupConfig, GroupConsumer, Isolation, OffsetReset};
use kwire_client::net::observe::NegotiationRecord;
use kwire_client::net::{WireLog, WireSnapshot};
use kwire_client::produce::{
    Delivery, ProduceError, Producer, ProducerConfig, ProducerRecord, TransactionalConfig,
    TransactionalProducer,
};
use kwire_client::protocol::api::api_name;
use kwire_client::protocol::route::TopicPartition;
use kwire_client::txn::TxnMode;
use kwire_client::Cluster;
use support::kafka::{cluster_cmd_async, lock, runtime, KafkaNodes};
use support::produce::{cluster_config, create_topic, read_all};

const IDEM: &str = "roll-idem";
const TXN: &str = "roll-txn";
const GROUP: &str = "roll-group";
const START: &str = "3.9.2";

/// One step of a plan.
#[derive(Debug, Clone, Copy)]
enum Step {
    /// Restart `node` on `release` (controlled shutdown, same data dir).
    Restart(i32, &'static str),
    /// Raise metadata.version to the highest every node supports, then
    /// transaction.version to 2 (with a transaction in flight) and
    /// group.version to 1.
    Features,
}

/// How busy the workload is.
#[derive(Debug, Clone, Copy)]
struct Load {
    /// Idempotent records per tick (one tick every 100 ms).
    idem_per_tick: usize,
    /// Records per transaction.
    txn_records: usize,
    /// Running time before the first and after the last step.
    settle: Duration,
}

#[test]
fn kafka_3_9_to_4_4_rolling_upgrade_under_load() {
    use Step::*;
    run(
        "rolling-upgrade",
        &[
            Restart(3, "4.0.2"),
            Restart(3, START),
            Restart(1, "4.0.2"),
            Restart(2, "4.4.0"),
            Restart(1, "4.4.0"),
            Restart(3, "4.4.0"),
            Features,
        ],
        Load {
            idem_per_tick: 10,
            txn_records: 5,
            settle: Duration::from_secs(3),
        },
    );
}

#[test]
#[ignore = "long: Kafka's own upgrade path (every node to 4.0.2, then to 4.4.0) after a rollback drill, busier workload; KWIRE_LONG=1 scripts/test.sh"]
fn kafka_3_9_to_4_0_to_4_4_every_node_long() {
    use Step::*;
    run(
        "rolling-upgrade-long",
        &[
            Restart(2, "4.0.2"),
            Restart(2, START),
            Restart(1, "4.0.2"),
            Restart(2, "4.0.2"),
            Restart(3, "4.0.2"),
            Restart(1, "4.4.0"),
            Restart(2, "4.4.0"),
            Restart(3, "4.4.0"),
            Features,
        ],
        Load {
            idem_per_tick: 40,
            txn_records: 20,
            settle: Duration::from_secs(10),
        },
    );
}

/// What the workload tasks share with the test.
#[derive(Default)]
struct Progress {
    stop: AtomicBool,
    produced: AtomicU64,
    acked: AtomicU64,
    committed_txns: AtomicU64,
    aborted_txns: AtomicU64,
    consumed: AtomicU64,
    /// Set by the test: the transactional task holds its next transaction
    /// open (records sent, not ended) and says so in `held`.
    hold: AtomicBool,
    held: Mutex<Option<(u64, TxnMode)>>,
    release: tokio::sync::Notify,
    /// Set once the producers are done: what the consumer must reach
    /// (acknowledged idempotent records, committed transactional ones).
    target: Mutex<Option<(usize, usize)>>,
}

/// One transaction of the transactional task.
#[derive(Debug, Clone)]
struct Txn {
    n: u64,
    mode: TxnMode,
    commit: bool,
    values: Vec<String>,
    /// Whether the test held it open across the transaction.version change.
    held: bool,
    error: Option<String>,
}

/// What the consumer read.
#[derive(Debug, Default)]
struct Consumed {
    records: Vec<(String, i32, i64, String)>,
    error: Option<String>,
    protocol: Option<String>,
}

fn run(name: &str, plan: &[Step], load: Load) {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let _g = lock();
    let t0 = Instant::now();
    // Leaders move back to their preferred replicas within seconds of a
    // restart (Kafka's default check runs every 300 s), so every restarted
    // node leads again and carries traffic at its new versions.
    let nodes = KafkaNodes::start_args(
        START,
        3,
        &["--config", "leader.imbalance.check.interval.seconds=5"],
    );
    let mut timeline = Timeline::new(name, t0);
    let mut releases: BTreeMap<i32, &str> = (1..=3).map(|n| (n, START)).collect();
    timeline.line(format!(
        "cluster of 3 nodes on {START} ready (format + start {:.1}s)",
        t0.elapsed().as_secs_f64()
    ));
    runtime().block_on(async {
        let log = WireLog::new();
        let mut cfg = cluster_config();
        cfg.client.observer = Some(log.clone());
        let addrs = nodes.addrs();
        let c = Arc::new(Cluster::connect(&addrs, cfg).await.expect("connect"));
        create_topic(&c, IDEM, 3, 3).await;
        create_topic(&c, TXN, 3, 3).await;
        let admin = Admin::new(c.clone());
        let progress = Arc::new(Progress::default());

        let idem = tokio::spawn(idempotent_task(c.clone(), progress.clone(), load));
        let txn = tokio::spawn(transactional_task(c.clone(), progress.clone(), load));
        let consumer = tokio::spawn(consumer_task(c.clone(), progress.clone()));

        let mut phase_start = log.snapshot();
        let mut phase_t = Instant::now();
        tokio::time::sleep(load.settle).await;
        let mut tv2_from: Option<u64> = None;
        let mut held_txn: Option<u64> = None;
        for step in plan {
            timeline.phase(
                &format!("{step:?}"),
                &releases,
                phase_t,
                &log.snapshot().since(&phase_start),
                &progress,
            );
            phase_start = log.snapshot();
            phase_t = Instant::now();
            match *step {
                Step::Restart(node, release) => {
                    let from = releases[&node];
                    let id = node.to_string();
                    let out = cluster_cmd_async(&["node-stop", "--dir", &nodes.dir, "--node", &id]).await;
                    let stop_s = env_field(&out, "STOP_SECONDS");
                    let out = cluster_cmd_async(&[
                        "node-start", "--dir", &nodes.dir, "--node", &id, "--release", release,
                    ])
                    .await;
                    releases.insert(node, release);
                    timeline.line(format!(
                        "node {node}: {from} -> {release} (stopped in {stop_s}s, ready in {}s, in sync +{}s)",
                        env_field(&out, "READY_SECONDS"),
                        env_field(&out, "IN_SYNC_SECONDS"),
                    ));
                    // The restarted node is asked for its features at once
                    // (a fresh connection: the negotiation record shows its
                    // new table) and then leads again within seconds.
                    let f = admin.describe_features(Some(node)).await.expect("describe features");
                    let mv = f
                        .supported
                        .get("metadata.version")
                        .map_or("-".to_string(), |r| format!("{}-{}", r.min, r.max));
                    timeline.line(format!(
                        "node {node} supports metadata.version {mv}, finalized {} (epoch {})",
                        f.level("metadata.version"),
                        f.epoch.map_or("unknown".to_string(), |e| e.to_string())
                    ));
                    wait_until_leading(&c, node, Duration::from_secs(60)).await;
                }
                Step::Features => {
                    let levels = metadata_version_maxima(&admin).await;
                    let mv = levels.iter().map(|(_, max)| *max).min().expect("nodes");
                    raise(&admin, "metadata.version", mv, &mut timeline).await;
                    // A transaction is held open across the change of
                    // transaction.version: it must end in the mode it began in.
                    progress.hold.store(true, Ordering::SeqCst);
                    let (n, mode) = wait_held(&progress).await;
                    timeline.line(format!("transaction {n} held open in {mode} mode"));
                    held_txn = Some(n);
                    raise(&admin, "transaction.version", 2, &mut timeline).await;
                    raise(&admin, "group.version", 1, &mut timeline).await;
                    progress.hold.store(false, Ordering::SeqCst);
                    progress.release.notify_one();
                    tv2_from = Some(n + 1);
                }
            }
        }
        tokio::time::sleep(load.settle).await;
        progress.stop.store(true, Ordering::SeqCst);
        let deliveries = idem.await.expect("idempotent task");
        let txns = txn.await.expect("transactional task");
        let acked: Vec<(usize, Delivery)> = deliveries
            .iter()
            .map(|(i, r)| match r {
                Ok(d) => (*i, d.clone()),
                Err(e) => panic!("idempotent record {i} not delivered: {e}"),
            })
            .collect();
        let committed: Vec<&Txn> = txns.iter().filter(|t| t.commit && t.error.is_none()).collect();
        let committed_values: BTreeSet<String> =
            committed.iter().flat_map(|t| t.values.iter().cloned()).collect();
        *progress.target.lock().unwrap() = Some((acked.len(), committed_values.len()));
        let consumed = consumer.await.expect("consumer task");
        timeline.phase(
            "after the last step",
            &releases,
            phase_t,
            &log.snapshot().since(&phase_start),
            &progress,
        );
        let wire = log.snapshot();
        timeline.summary(&wire);
        let text = timeline.finish();
        eprintln!("{text}");

        // -- the workload itself
        for t in &txns {
            assert!(t.error.is_none(), "transaction {} failed: {t:?}", t.n);
        }
        assert!(consumed.error.is_none(), "consumer: {:?}", consumed.error);
        // Idempotent records: each acknowledged one read exactly once, in
        // send order per partition, at the offset its delivery reported (a
        // batch found already in the log has no offset to report: -1).
        let unknown_offset = acked.iter().filter(|(_, d)| d.offset < 0).count();
        eprintln!("{unknown_offset} of {} deliveries without an offset (already in the log)", acked.len());
        let by_offset: BTreeMap<(i32, i64), usize> = acked
            .iter()
            .filter(|(_, d)| d.offset >= 0)
            .map(|(i, d)| ((d.partition, d.offset), *i))
            .collect();
        assert_eq!(by_offset.len(), acked.len() - unknown_offset, "two records at one offset");
        let index: BTreeMap<String, (usize, i32)> =
            acked.iter().map(|(i, d)| (format!("i{i}"), (*i, d.partition))).collect();
        let mut seen = BTreeSet::new();
        let mut last: BTreeMap<i32, usize> = BTreeMap::new();
        let mut txn_read = Vec::new();
        for (topic, p, off, v) in &consumed.records {
            if topic == TXN {
                txn_read.push(v.clone());
                continue;
            }
            let (i, partition) = *index
                .get(v)
                .unwrap_or_else(|| panic!("{IDEM}-{p}@{off}: not an acknowledged record ({v})"));
            assert_eq!(partition, *p, "{v} read from partition {p}");
            let at = acked[i].1.offset;
            assert!(at < 0 || at == *off, "{v}: read at {off}, delivered at {at}");
            assert!(seen.insert(i), "{v} read twice ({IDEM}-{p}@{off})");
            if let Some(prev) = last.insert(*p, i) {
                assert!(prev < i, "{IDEM}-{p}: i{i} after i{prev}");
            }
        }
        assert_eq!(seen.len(), acked.len(), "every acknowledged record read");
        // Transactional records: exactly the committed ones, once each.
        let read: BTreeSet<String> = txn_read.iter().cloned().collect();
        assert_eq!(read.len(), txn_read.len(), "a transactional record read twice");
        let aborted: Vec<&String> = txns
            .iter()
            .filter(|t| !t.commit)
            .flat_map(|t| t.values.iter())
            .filter(|v| read.contains(*v))
            .collect();
        assert!(aborted.is_empty(), "aborted records visible: {aborted:?}");
        assert_eq!(read, committed_values, "read_committed sees the committed records");
        // And the log agrees with what the group read (a plain consumer,
        // read_uncommitted: every record written, committed or not).
        let log_all = read_all(c.clone(), IDEM, Default::default(), acked.len(), Duration::from_secs(60)).await;
        assert_eq!(log_all.len(), acked.len(), "the idempotent topic holds each record once");

        // -- versions
        let outside = wire.outside_advertised();
        assert!(outside.is_empty(), "requests outside the connection's advertised range: {outside:?}");
        assert_eq!(wire.dropped, 0, "the wire log kept everything");
        for code in [ErrorCode::UNSUPPORTED_VERSION, ErrorCode::INVALID_TXN_STATE] {
            assert_eq!(wire.error_count(code), 0, "{code} in an answer: {:?}", wire.errors);
        }
        assert!(wire.unanswered.is_empty(), "a broker closed on a request: {:?}", wire.unanswered);
        // Each release was sent Produce at its own highest version.
        let ours = ApiKey::PRODUCE.versions().expect("Produce").max;
        let mut produce_max_used: BTreeMap<i16, i16> = BTreeMap::new();
        for (k, _) in wire.sent.iter().filter(|(k, _)| k.api == ApiKey::PRODUCE) {
            let adv = wire
                .negotiation(k.connection)
                .and_then(|n| n.range(ApiKey::PRODUCE))
                .expect("negotiated")
                .max;
            let e = produce_max_used.entry(adv).or_insert(k.version);
            *e = (*e).max(k.version);
        }
        let expected: BTreeSet<i16> = [11, 12, 13].into();
        assert_eq!(
            produce_max_used.keys().copied().collect::<BTreeSet<_>>(),
            expected,
            "brokers of 3.9, 4.0 and 4.4 (Produce max 11, 12, 13) all carried Produce: {produce_max_used:?}"
        );
        for (adv, used) in &produce_max_used {
            assert_eq!(*used, (*adv).min(ours), "highest Produce sent to brokers advertising v{adv}");
        }
        // Each restart shows in the node's negotiation record: its Produce
        // maximum follows the releases it ran (the drill: up and down again).
        for (node, want) in produce_history(plan) {
            let got = negotiated_produce_max(&wire.negotiations, node);
            assert!(
                is_subsequence(&want, &got),
                "node {node}: Produce maxima negotiated {got:?}, the plan's releases give {want:?}"
            );
        }
        // The transaction held across the feature change ended classic; the
        // next ones ran KIP-890 part 2.
        if let (Some(held), Some(from)) = (held_txn, tv2_from) {
            let h = txns.iter().find(|t| t.n == held).expect("held transaction");
            assert!(h.held && h.mode == TxnMode::Classic, "{h:?}");
            let after: Vec<&Txn> = txns.iter().filter(|t| t.n >= from).collect();
            assert!(!after.is_empty(), "no transaction after the feature change");
            assert!(after.iter().all(|t| t.mode == TxnMode::Tv2), "{after:?}");
            assert!(txns.iter().filter(|t| t.n < from).all(|t| t.mode == TxnMode::Classic));
        }
        eprintln!("{name}: {:.1}s in all", t0.elapsed().as_secs_f64());
        c.shutdown().await;
    });
}

/// The idempotent producer: `idem_per_tick` records every 100 ms, round
/// robin over the partitions, until told to stop; every delivery result.
async fn idempotent_task(
    c: Arc<Cluster>,
    progress: Arc<Progress>,
    load: Load,
) -> Vec<(usize, Result<Delivery, ProduceError>)> {
    let cfg = ProducerConfig {
        request_timeout: Duration::from_secs(15),
        ..Default::default()
    };
    let p = Producer::new(c, cfg).expect("producer");
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel();
    let mut i = 0usize;
    while !progress.stop.load(Ordering::SeqCst) {
        for _ in 0..load.idem_per_tick {
            let rec = ProducerRecord::new(IDEM, format!("i{i}")).partition((i % 3) as i32);
            let fut = p.send(rec).await.expect("send");
            progress.produced.fetch_add(1, Ordering::Relaxed);
            let (tx, pr) = (tx.clone(), progress.clone());
            let n = i;
            tokio::spawn(async move {
                let r = fut.await;
                if r.is_ok() {
                    pr.acked.fetch_add(1, Ordering::Relaxed);
                }
                let _ = tx.send((n, r));
            });
            i += 1;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    p.close().await;
    drop(tx);
    let mut out = Vec::with_capacity(i);
    while let Some(r) = rx.recv().await {
        out.push(r);
    }
    out.sort_by_key(|(n, _)| *n);
    assert_eq!(out.len(), i, "a delivery result for every record");
    out
}

/// The transactional producer: transactions of `txn_records` records,
/// committed and aborted in turn, until told to stop.
async fn transactional_task(c: Arc<Cluster>, progress: Arc<Progress>, load: Load) -> Vec<Txn> {
    let mut cfg = TransactionalConfig::new("roll-txn-producer");
    cfg.max_block = Duration::from_secs(90);
    // Each begin reads the finalized level again: it rises on the live cluster.
    cfg.features_max_age = Duration::ZERO;
    let p = TransactionalProducer::new(c, cfg).expect("transactional producer");
    let mut out = Vec::new();
    if let Err(e) = p.init_transactions().await {
        out.push(Txn {
            n: 0,
            mode: TxnMode::Classic,
            commit: false,
            values: vec![],
            held: false,
            error: Some(format!("init: {e}")),
        });
        return out;
    }
    let mut n = 0u64;
    while !progress.stop.load(Ordering::SeqCst) {
        n += 1;
        let commit = n % 2 == 1;
        let values: Vec<String> = (0..load.txn_records).map(|k| format!("t{n}-{k}")).collect();
        let mode = match p.begin_transaction().await {
            Ok(m) => m,
            Err(e) => {
                out.push(Txn {
                    n,
                    mode: TxnMode::Classic,
                    commit,
                    values: vec![],
                    held: false,
                    error: Some(format!("begin: {e}")),
                });
                break;
            }
        };
        let mut txn = Txn {
            n,
            mode,
            commit,
            values: values.clone(),
            held: false,
            error: None,
        };
        let mut futs = Vec::new();
        for v in &values {
            match p
                .send(ProducerRecord::new(TXN, v.clone()).key(v.clone()))
                .await
            {
                Ok(f) => futs.push(f),
                Err(e) => txn.error = Some(format!("send: {e}")),
            }
        }
        if txn.error.is_none() && progress.hold.load(Ordering::SeqCst) && commit {
            if let Err(e) = p.flush().await {
                txn.error = Some(format!("flush: {e}"));
            }
            let released = progress.release.notified();
            *progress.held.lock().unwrap() = Some((n, mode));
            txn.held = true;
            released.await;
        }
        if txn.error.is_none() {
            let r = if commit {
                p.commit_transaction().await
            } else {
                match p.flush().await {
                    Ok(()) => p.abort_transaction().await,
                    Err(e) => Err(e),
                }
            };
            if let Err(e) = r {
                txn.error = Some(format!(
                    "{}: {e}; requests: {:?}",
                    if commit { "commit" } else { "abort" },
                    p.requests().iter().rev().take(8).collect::<Vec<_>>()
                ));
            }
        }
        if commit && txn.error.is_none() {
            for f in futs {
                if let Err(e) = f.await {
                    txn.error = Some(format!("a committed record failed: {e}"));
                }
            }
        }
        let failed = txn.error.is_some();
        if !failed {
            let counter = if commit {
                &progress.committed_txns
            } else {
                &progress.aborted_txns
            };
            counter.fetch_add(1, Ordering::Relaxed);
        }
        out.push(txn);
        if failed {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // Each request of a transaction went at a version of its mode.
    for r in p.requests() {
        if let Some(t) = out.iter().find(|t| t.n == r.transaction) {
            assert_eq!(r.mode, Some(t.mode), "{r:?} in transaction {}", t.n);
        }
    }
    p.close().await;
    out
}

/// One group member reading both topics under read_committed until it has
/// what the producers say it must.
async fn consumer_task(c: Arc<Cluster>, progress: Arc<Progress>) -> Consumed {
    let mut out = Consumed::default();
    let mut cfg = GroupConfig::new(GROUP);
    cfg.consumer.isolation = Isolation::ReadCommitted;
    cfg.consumer.offset_reset = OffsetReset::Earliest;
    cfg.consumer.max_wait = Duration::from_millis(200);
    cfg.consumer.request_timeout = Duration::from_secs(15);
    cfg.session_timeout = Duration::from_secs(30);
    cfg.heartbeat_interval = Duration::from_secs(1);
    cfg.rebalance_timeout = Duration::from_secs(30);
    cfg.auto_commit = Some(Duration::from_secs(1));
    let run = async {
        let mut gc = GroupConsumer::new(c, cfg).await?;
        out.protocol = Some(format!("{:?}", gc.protocol().protocol));
        gc.subscribe(&[IDEM, TXN])?;
        let mut deadline: Option<tokio::time::Instant> = None;
        loop {
            let target = *progress.target.lock().unwrap();
            if let Some((idem, txn)) = target {
                let (mut i, mut t) = (0, 0);
                for r in &out.records {
                    if r.0 == TXN {
                        t += 1
                    } else {
                        i += 1
                    }
                }
                if i >= idem && t >= txn {
                    break;
                }
                let d = *deadline
                    .get_or_insert_with(|| tokio::time::Instant::now() + Duration::from_secs(90));
                if tokio::time::Instant::now() > d {
                    out.error = Some(format!("read {i} of {idem} idempotent and {t} of {txn} transactional records within 90 s"));
                    break;
                }
            }
            for r in gc.poll().await? {
                let v =
                    String::from_utf8_lossy(r.value.as_deref().unwrap_or_default()).into_owned();
                out.records
                    .push((r.topic.clone(), r.partition, r.offset, v));
                progress.consumed.fetch_add(1, Ordering::Relaxed);
            }
        }
        gc.close(Duration::from_secs(10)).await?;
        Ok::<(), kwire_client::consume::GroupConsumerError>(())
    };
    if let Err(e) = run.await {
        out.error = Some(e.to_string());
    }
    out
}

/// Every node's highest metadata.version.
async fn metadata_version_maxima(admin: &Admin) -> Vec<(i32, i16)> {
    let mut out = Vec::new();
    for node in 1..=3 {
        let f = admin
            .describe_features(Some(node))
            .await
            .expect("describe features");
        let mv = f
            .supported
            .get("metadata.version")
            .expect("metadata.version supported")
            .max;
        out.push((node, mv));
    }
    out
}

async fn raise(admin: &Admin, feature: &str, level: i16, timeline: &mut Timeline) {
    let t = Instant::now();
    let up = FeatureUpdate {
        feature: feature.into(),
        level,
        upgrade: UpgradeType::Upgrade,
    };
    let r = admin
        .update_features(&[up], false, Duration::from_secs(30))
        .await
        .unwrap_or_else(|e| panic!("UpdateFeatures {feature}={level}: {e}"));
    assert!(r[0].result.is_ok(), "{feature}={level}: {r:?}");
    admin
        .wait_for_finalized(feature, level, Duration::from_secs(60))
        .await
        .unwrap_or_else(|e| panic!("{feature}={level} everywhere: {e}"));
    timeline.line(format!(
        "{feature} finalized at {level} on every node (UpdateFeatures from kwire's admin client, {:.1}s)",
        t.elapsed().as_secs_f64()
    ));
}

async fn wait_held(progress: &Progress) -> (u64, TxnMode) {
    let deadline = Instant::now() + Duration::from_secs(120);
    loop {
        if let Some(h) = *progress.held.lock().unwrap() {
            return h;
        }
        assert!(
            Instant::now() < deadline,
            "no transaction held open within 120 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Waits until `node` leads a partition of both topics (leaders move back
/// to their preferred replicas after a restart).
async fn wait_until_leading(c: &Cluster, node: i32, within: Duration) {
    let deadline = Instant::now() + within;
    loop {
        let md = c.refresh_metadata(&[IDEM, TXN]).await.expect("metadata");
        let leads = |topic: &str| {
            (0..3).any(|p| {
                md.leader(&TopicPartition::new(topic, p))
                    .is_ok_and(|l| l.id == node)
            })
        };
        if leads(IDEM) && leads(TXN) {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "node {node} leads nothing {within:?} after its restart"
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

fn env_field(out: &str, key: &str) -> String {
    out.lines()
        .find_map(|l| l.strip_prefix(&format!("KAFKA_{key}=")))
        .unwrap_or("?")
        .to_string()
}

/// Produce's maximum per release of the plan.
fn produce_max(release: &str) -> i16 {
    match release {
        "3.9.2" => 11,
        "4.0.2" => 12,
        "4.4.0" => 13,
        other => panic!("no Produce maximum known for {other}"),
    }
}

/// Per node, the Produce maxima its releases advertise, in plan order
/// (consecutive repeats folded).
fn produce_history(plan: &[Step]) -> BTreeMap<i32, Vec<i16>> {
    let mut h: BTreeMap<i32, Vec<i16>> = (1..=3).map(|n| (n, vec![produce_max(START)])).collect();
    for s in plan {
        if let Step::Restart(node, release) = s {
            let v = h.get_mut(node).expect("node");
            let m = produce_max(release);
            if v.last() != Some(&m) {
                v.push(m);
            }
        }
    }
    h
}

fn negotiated_produce_max(negs: &[NegotiationRecord], node: i32) -> Vec<i16> {
    let mut v: Vec<i16> = Vec::new();
    for n in negs.iter().filter(|n| n.node_id == Some(node)) {
        if let Some(r) = n.range(ApiKey::PRODUCE) {
            if v.last() != Some(&r.max) {
                v.push(r.max);
            }
        }
    }
    v
}

fn is_subsequence(want: &[i16], got: &[i16]) -> bool {
    let mut it = got.iter();
    want.iter().all(|w| it.any(|g| g == w))
}

/// The test's report: phases with their wall times and what happened.
struct Timeline {
    name: String,
    t0: Instant,
    text: String,
}

impl Timeline {
    fn new(name: &str, t0: Instant) -> Self {
        Timeline {
            name: name.to_string(),
            t0,
            text: format!(
                "# {name}: kwire's workload across a rolling upgrade of a 3-node KRaft cluster\n"
            ),
        }
    }

    fn line(&mut self, s: String) {
        let l = format!("+{:7.1}s  {s}", self.t0.elapsed().as_secs_f64());
        // As it happens too, so a failing run shows how far it got.
        eprintln!("{l}");
        let _ = writeln!(self.text, "{l}");
    }

    /// A phase that ended now: how long it took, the nodes' releases,
    /// connections negotiated, versions used per node, workload counters.
    fn phase(
        &mut self,
        next: &str,
        releases: &BTreeMap<i32, &str>,
        started: Instant,
        wire: &WireSnapshot,
        p: &Progress,
    ) {
        let nodes: Vec<String> = releases.iter().map(|(n, r)| format!("{n}={r}")).collect();
        self.line(format!(
            "phase over ({:.1}s; nodes {}): idempotent records sent {}, acked {}; transactions committed {}, aborted {}; records read by the group (both topics) {}; next: {next}",
            started.elapsed().as_secs_f64(),
            nodes.join(" "),
            p.produced.load(Ordering::Relaxed),
            p.acked.load(Ordering::Relaxed),
            p.committed_txns.load(Ordering::Relaxed),
            p.aborted_txns.load(Ordering::Relaxed),
            p.consumed.load(Ordering::Relaxed),
        ));
        for n in &wire.negotiations {
            let r = |api: ApiKey| {
                n.range(api)
                    .map_or("-".to_string(), |r| format!("{}-{}", r.min, r.max))
            };
            // Brokers leave level-0 features out (3.9+).
            let level = |f: &str| n.finalized_features.get(f).map_or(0, |v| v.max);
            let _ = writeln!(
                self.text,
                "            negotiated {} (connection {}) at +{:.1}s: ApiVersions {} Produce {} Fetch {} EndTxn {}; finalized metadata.version {}, transaction.version {} (epoch {})",
                n.broker,
                n.connection,
                n.at.as_secs_f64(),
                r(ApiKey::API_VERSIONS),
                r(ApiKey::PRODUCE),
                r(ApiKey::FETCH),
                r(ApiKey::END_TXN),
                level("metadata.version"),
                level("transaction.version"),
                n.finalized_epoch.map_or("unknown".to_string(), |e| e.to_string()),
            );
        }
        let mut per_node: BTreeMap<Option<i32>, BTreeMap<(ApiKey, i16), u64>> = BTreeMap::new();
        for (k, count) in &wire.sent {
            *per_node
                .entry(k.node_id)
                .or_default()
                .entry((k.api, k.version))
                .or_default() += count;
        }
        for (node, used) in per_node {
            let shown: Vec<String> = used
                .iter()
                .filter(|((api, _), _)| {
                    [
                        ApiKey::PRODUCE,
                        ApiKey::FETCH,
                        ApiKey::END_TXN,
                        ApiKey::TXN_OFFSET_COMMIT,
                        ApiKey::ADD_PARTITIONS_TO_TXN,
                        ApiKey::OFFSET_COMMIT,
                        ApiKey::HEARTBEAT,
                    ]
                    .contains(api)
                })
                .map(|((api, v), c)| format!("{} v{v} x{c}", api_name(*api)))
                .collect();
            let who = node.map_or("bootstrap".to_string(), |n| format!("node {n}"));
            let _ = writeln!(self.text, "            {who}: {}", shown.join(", "));
        }
    }

    fn summary(&mut self, wire: &WireSnapshot) {
        let errors: Vec<String> = wire
            .errors
            .iter()
            .map(|((api, code), n)| {
                let name = code
                    .name()
                    .map_or_else(|| code.0.to_string(), str::to_string);
                format!("{} {name} x{n}", api_name(*api))
            })
            .collect();
        self.line(format!(
            "error codes answered over the whole run (retried by kwire): {}",
            if errors.is_empty() {
                "none".to_string()
            } else {
                errors.join(", ")
            }
        ));
        self.line(format!(
            "connections negotiated: {}; requests answered: {}; closed on a request: {}",
            wire.negotiations.len(),
            wire.sent.values().sum::<u64>(),
            wire.unanswered.len()
        ));
    }

    fn finish(self) -> String {
        let dir = std::env::var_os("CARGO_TARGET_DIR")
            .map(std::path::PathBuf::from)
            .unwrap_or_else(|| {
                std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target")
            });
        let path = dir.join(format!("{}-timeline.txt", self.name));
        if let Err(e) = std::fs::write(&path, &self.text) {
            eprintln!("cannot write {}: {e}", path.display());
        } else {
            eprintln!("timeline written to {}", path.display());
        }
        self.text
    }
}
