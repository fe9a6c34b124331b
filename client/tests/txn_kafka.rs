//! The transactional producer against real Kafka brokers started by the test
//! (`testsupport/kafka/broker`; fails, never skips, without java/mvn).
//!
//! * 4.4.0 started at `transaction.version` 1: classic transactions commit
//!   and abort (AddPartitionsToTxn, AddOffsetsToTxn + TxnOffsetCommit to the
//!   group coordinator); the level is raised to 2 (UpdateFeatures) in the
//!   middle of a transaction, which still completes classic; the next ones
//!   run KIP-890 part 2 (an epoch bump first, then Produce v12+,
//!   TxnOffsetCommit v5, EndTxn v5, no AddPartitionsToTxn/AddOffsetsToTxn).
//!   Every request of a transaction has a version of that transaction's
//!   mode; a read_committed kwire consumer reads exactly the committed
//!   records, and so does Kafka's Java consumer (kafka-clients 4.4.0); the
//!   group's offsets are those the last committed transaction carried. A
//!   user cap on Produce (<= v11) keeps a transaction classic on the level-2
//!   cluster; a second producer with the same transactional id fences the
//!   first. Exactly-once read-process-write: a pipeline incarnation stops
//!   in the middle of a transaction (records written, nothing committed)
//!   and the next resumes from the group's committed offsets; each input
//!   record is in the output exactly once (read_committed).
//! * 4.4.0 started at `transaction.version` 2: the very first transaction
//!   runs KIP-890 part 2 (one InitProducerId, from init_transactions, no
//!   upgrade bump; no AddPartitionsToTxn/AddOffsetsToTxn; Produce v12+,
//!   TxnOffsetCommit v5, EndTxn v5), then an abort with offsets and a
//!   commit, a new epoch each; a user cap on Produce (<= v11) makes another
//!   producer's transaction classic; read_committed sees exactly the
//!   committed records and the group keeps the committed offset.
//!   (Retried requests, e.g. TxnOffsetCommit answered
//!   CONCURRENT_TRANSACTIONS while the previous transaction completes, are
//!   allowed: `assert_one_mode` counts the accepted ones.)
//! * 3.8.1 (classic only): commit and abort, read back read_committed; the
//!   same through `kwire produce --transactional-id` (and `--abort`); a
//!   `kwire produce --transactional-id` process killed mid-transaction (its
//!   records in the log) is aborted when the next one with its id starts.
//! * On both, at the end: the `eos_pipeline` example (client/examples: a
//!   read_committed static group member and a transactional producer) as a
//!   real process, SIGKILLed after one committed transaction, in a pause
//!   between writing the next one's records and offsets and committing it
//!   (read_uncommitted then holds that transaction's records,
//!   read_committed does not). Restarted with the same transactional id and
//!   group instance id, it aborts the dead process's transaction
//!   (InitProducerId), takes its place in the group at once (KIP-345),
//!   resumes from the committed offsets and exits when idle. Read
//!   read_committed, the output is the input record by record: each value
//!   once as `out-<value>`, same key, same partition, input order; the
//!   group's offsets are the input's end; every transaction is classic on
//!   3.8.1 and KIP-890 part 2 on 4.4.0 (at level 2 by then). The example
//!   must be built: `cargo test -p kwire-client` builds it, `--test
//!   txn_kafka` alone does not (`cargo build -p kwire-client --example
//!   eos_pipeline` first).

mod support;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kwire::messages::offset_fetch_request::OffsetFetchRequestTopic;
use kwire::messages::OffsetFetchRequest;
use kwire::{ApiKey, ErrorCode, StrBytes};
use kwire_client::admin::{Admin, FeatureUpdate, UpgradeType};
use kwire_client::consume::{ConsumerConfig, Isolation};
use kwire_client::group::{GroupMetadata, TopicPartition};
use kwire_client::net::SendOptions;
use kwire_client::produce::{
    ProducerRecord, SentRequest, TransactionalConfig, TransactionalProducer,
};
use kwire_client::txn::{OffsetAndMetadata, TxnMode};
use kwire_client::Cluster;
use support::kafka::{lock, runtime, KafkaBroker};
use support::produce::{connect, create_topic, read_all};

const OUT: &str = "txn-out";
const IN: &str = "txn-in";
const GROUP: &str = "txn-group";

fn logs() {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
}

fn config(id: &str) -> TransactionalConfig {
    let mut c = TransactionalConfig::new(id);
    c.max_block = Duration::from_secs(60);
    // Every begin asks the coordinator for the finalized level: the test
    // raises it on the live broker.
    c.features_max_age = Duration::ZERO;
    c
}

type Deliveries = Vec<kwire_client::produce::DeliveryFuture>;

/// Begins a transaction and sends `values` (keyed, so both partitions get
/// some). Returns its mode.
/// The output (2 partitions) and input topics, and a transactional
/// producer with `id` past InitProducerId.
async fn topics_and_producer(c: &Arc<Cluster>, id: &str) -> TransactionalProducer {
    create_topic(c, OUT, 2, 1).await;
    create_topic(c, IN, 1, 1).await;
    let p = TransactionalProducer::new(c.clone(), config(id)).expect("producer");
    p.init_transactions().await.expect("init");
    p
}

async fn open(p: &TransactionalProducer, values: &[String], out: &mut Deliveries) -> TxnMode {
    let mode = p.begin_transaction().await.expect("begin");
    send(p, values, out).await;
    mode
}

async fn send(p: &TransactionalProducer, values: &[String], out: &mut Deliveries) {
    for v in values {
        let rec = ProducerRecord::new(OUT, v.clone().into_bytes()).key(v.clone().into_bytes());
        out.push(p.send(rec).await.expect("send"));
    }
}

/// Adds the input offset if given, then commits or aborts.
async fn finish(p: &TransactionalProducer, out: Deliveries, offset: Option<i64>, commit: bool) {
    if let Some(o) = offset {
        let offsets = BTreeMap::from([(
            TopicPartition::new(IN, 0),
            OffsetAndMetadata {
                offset: o,
                leader_epoch: None,
                metadata: Some(format!("upto-{o}")),
            },
        )]);
        p.send_offsets_to_transaction(offsets, GroupMetadata::unjoined(GROUP))
            .await
            .expect("send_offsets_to_transaction");
    }
    if commit {
        if let Err(e) = p.commit_transaction().await {
            panic!("commit: {e}; requests so far: {:?}", p.requests());
        }
        for f in out {
            let d = f.await.expect("a committed record is acknowledged");
            assert!(d.offset >= 0, "{d:?}");
        }
    } else {
        // Written first, so that the abort has records to hide.
        p.flush().await.expect("flush");
        if let Err(e) = p.abort_transaction().await {
            panic!("abort: {e}; requests so far: {:?}", p.requests());
        }
    }
}

/// One whole transaction; returns its mode.
async fn transaction(
    p: &TransactionalProducer,
    values: &[String],
    offset: Option<i64>,
    commit: bool,
) -> TxnMode {
    let mut out = Vec::new();
    let mode = open(p, values, &mut out).await;
    finish(p, out, offset, commit).await;
    mode
}

fn values(tag: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{tag}-{i}")).collect()
}

/// Checks every request of transaction `t` against `mode`: every version
/// of that mode's, every error one that is retried, one EndTxn and (with
/// `with_offsets`) one TxnOffsetCommit accepted.
fn assert_one_mode(log: &[SentRequest], t: u64, mode: TxnMode, with_offsets: bool) {
    let reqs: Vec<&SentRequest> = log.iter().filter(|r| r.transaction == t).collect();
    let of = |api: ApiKey| -> Vec<i16> {
        reqs.iter()
            .filter(|r| r.api == api)
            .map(|r| r.version)
            .collect()
    };
    // A request answered with a retriable error (CONCURRENT_TRANSACTIONS
    // while the previous transaction's markers are written, a moved
    // coordinator) is sent again: count the accepted ones.
    let accepted = |api: ApiKey| -> Vec<i16> {
        reqs.iter()
            .filter(|r| r.api == api && r.error == ErrorCode::NONE)
            .map(|r| r.version)
            .collect()
    };
    let retried = reqs.iter().all(|r| {
        r.error == ErrorCode::NONE
            || r.error == ErrorCode::CONCURRENT_TRANSACTIONS
            || r.error.is_retriable()
    });
    let produce = of(ApiKey::PRODUCE);
    let end = accepted(ApiKey::END_TXN);
    let offsets = of(ApiKey::TXN_OFFSET_COMMIT);
    let offsets_accepted = accepted(ApiKey::TXN_OFFSET_COMMIT);
    let add_partitions = of(ApiKey::ADD_PARTITIONS_TO_TXN);
    let add_offsets = accepted(ApiKey::ADD_OFFSETS_TO_TXN);
    let add_offsets_sent = of(ApiKey::ADD_OFFSETS_TO_TXN);
    let all = format!("transaction {t} ({mode}): {reqs:?}");
    assert!(retried, "an error other than a retriable one: {all}");
    assert!(!produce.is_empty() && end.len() == 1, "{all}");
    assert!(
        reqs.iter()
            .all(|r| r.mode == Some(mode) || r.api == ApiKey::INIT_PRODUCER_ID),
        "{all}"
    );
    match mode {
        TxnMode::Classic => {
            assert!(produce.iter().all(|v| (3..=11).contains(v)), "{all}");
            assert!(end[0] <= 4, "{all}");
            assert!(!add_partitions.is_empty(), "{all}");
            assert!(add_partitions.iter().all(|v| *v <= 3), "{all}");
            assert!(offsets.iter().all(|v| *v <= 4), "{all}");
            assert_eq!(add_offsets.len(), usize::from(with_offsets), "{all}");
        }
        TxnMode::Tv2 => {
            assert!(produce.iter().all(|v| *v >= 12), "{all}");
            assert!(end[0] >= 5, "{all}");
            assert!(
                add_partitions.is_empty() && add_offsets_sent.is_empty(),
                "{all}"
            );
            assert!(offsets.iter().all(|v| *v == 5), "{all}");
        }
    }
    assert_eq!(offsets_accepted.len(), usize::from(with_offsets), "{all}");
    assert!(with_offsets || offsets.is_empty(), "{all}");
}

/// The committed offset of `IN`-0 for the group.
async fn committed_offset(c: &Cluster) -> i64 {
    fetch_offset(c, GROUP, IN, 0).await
}

/// The committed offset of `topic`-`partition` for `group` (-1: none),
/// by OffsetFetch v7 with require_stable (waits out pending transactional
/// offsets).
async fn fetch_offset(c: &Cluster, group: &str, topic: &str, partition: i32) -> i64 {
    let mut t = OffsetFetchRequestTopic::default();
    t.name = StrBytes::from(topic.to_string());
    t.partition_indexes = vec![partition];
    let mut req = OffsetFetchRequest::default();
    req.group_id = StrBytes::from(group.to_string());
    req.topics = Some(vec![t]);
    req.require_stable = true;
    let opts = SendOptions {
        max_version: Some(7),
        ..Default::default()
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let r = c.send_with(&req, &opts).await.expect("OffsetFetch");
        let p = &r.response.topics[0].partitions[0];
        if ErrorCode(r.response.error_code) != ErrorCode::UNSTABLE_OFFSET_COMMIT
            && ErrorCode(p.error_code) != ErrorCode::UNSTABLE_OFFSET_COMMIT
        {
            assert_eq!(ErrorCode(p.error_code), ErrorCode::NONE, "{:?}", r.response);
            return p.committed_offset;
        }
        assert!(
            Instant::now() < deadline,
            "offsets still unstable after 30 s"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

const EOS_IN: &str = "eos-in";
const EOS_OUT: &str = "eos-out";
const EOS_GROUP: &str = "eos-group";
const EOS_PER_PARTITION: i64 = 12;

/// One incarnation of a read-process-write pipeline (KIP-98, KIP-447
/// standalone group metadata): resumes `EOS_IN` at the group's committed
/// offsets (read_committed), writes `out-<value>` to `EOS_OUT` and commits
/// the consumed offsets in the same transaction, up to 4 records per
/// transaction. With `crash_after`, it stops in the middle of that
/// transaction (records written, nothing committed or aborted) as a
/// process that dies would. Returns the records it committed.
async fn eos_incarnation(c: &Arc<Cluster>, crash_after: Option<usize>) -> usize {
    use kwire_client::consume::{Consumer, Offset};
    let p = TransactionalProducer::new(c.clone(), config("kw-eos")).expect("producer");
    // Fences the previous incarnation; the coordinator aborts its open
    // transaction first.
    p.init_transactions().await.expect("init");
    let cfg = ConsumerConfig {
        isolation: Isolation::ReadCommitted,
        ..Default::default()
    };
    let mut consumer = Consumer::new(c.clone(), cfg);
    let mut next = BTreeMap::new();
    for part in 0..2 {
        let at = fetch_offset(c, EOS_GROUP, EOS_IN, part).await;
        consumer.assign(
            EOS_IN,
            part,
            if at >= 0 {
                Offset::At(at)
            } else {
                Offset::Earliest
            },
        );
        next.insert(part, at.max(0));
    }
    let mut done = 0usize;
    let mut transactions = 0usize;
    let deadline = Instant::now() + Duration::from_secs(60);
    while next.values().any(|n| *n < EOS_PER_PARTITION) {
        assert!(Instant::now() < deadline, "pipeline stalled at {next:?}");
        let batch = consumer.poll().await.expect("poll");
        for chunk in batch.chunks(4) {
            p.begin_transaction().await.expect("begin");
            let mut offsets = BTreeMap::new();
            for r in chunk {
                let v =
                    String::from_utf8_lossy(r.value.as_deref().unwrap_or_default()).into_owned();
                p.send(ProducerRecord::new(
                    EOS_OUT,
                    format!("out-{v}").into_bytes(),
                ))
                .await
                .expect("send");
                offsets.insert(
                    TopicPartition::new(EOS_IN, r.partition),
                    OffsetAndMetadata {
                        offset: r.offset + 1,
                        leader_epoch: None,
                        metadata: None,
                    },
                );
            }
            transactions += 1;
            if crash_after.is_some_and(|n| transactions > n) {
                // Dies mid-transaction: its records are in the log, its
                // offsets not committed.
                p.flush().await.expect("flush");
                p.close().await;
                return done;
            }
            p.send_offsets_to_transaction(offsets.clone(), GroupMetadata::unjoined(EOS_GROUP))
                .await
                .expect("send offsets");
            p.commit_transaction().await.expect("commit");
            for (tp, o) in offsets {
                next.insert(tp.partition, o.offset);
            }
            done += chunk.len();
        }
    }
    p.close().await;
    done
}

/// Reads `OUT` read_committed and compares with `want` (as a multiset).
async fn assert_read_committed(c: Arc<Cluster>, want: &[String]) {
    let cfg = ConsumerConfig {
        isolation: Isolation::ReadCommitted,
        ..Default::default()
    };
    let got = read_all(c, OUT, cfg, want.len(), Duration::from_secs(30)).await;
    let mut got: Vec<String> = got
        .iter()
        .map(|r| String::from_utf8_lossy(r.value.as_deref().unwrap_or_default()).into_owned())
        .collect();
    let mut want = want.to_vec();
    got.sort();
    want.sort();
    assert_eq!(
        got, want,
        "read_committed must see exactly the committed records"
    );
}

/// The values Kafka's Java consumer (kafka-clients 4.4.0, read_committed,
/// every partition from the beginning) reads from `OUT` until `count`
/// arrived (`testsupport/kafka/clients-run consume`, built on first use).
fn java_read_committed(bootstrap: &str, count: usize) -> Vec<String> {
    let out = std::process::Command::new(support::kafka::testsupport("clients-run"))
        .args(["consume", bootstrap, OUT, &count.to_string(), "30000"])
        .args(["--isolation", "read_committed", "--all-partitions", "true"])
        .stdin(std::process::Stdio::null())
        .stderr(std::process::Stdio::inherit())
        .output()
        .expect("run testsupport/kafka/clients-run (needs java and mvn)");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "clients-run consume failed ({}): {text}",
        out.status
    );
    // Values are plain ASCII here: the JSON string after "value":.
    text.lines()
        .map(|l| {
            let i = l
                .find("\"value\":\"")
                .unwrap_or_else(|| panic!("no value: {l}"))
                + 9;
            let j = l[i..]
                .find('"')
                .unwrap_or_else(|| panic!("unterminated value: {l}"));
            l[i..i + j].to_string()
        })
        .collect()
}

/// `kwire produce --transactional-id` with `input` on stdin.
fn cli_produce(bootstrap: &str, input: &str, abort: bool) {
    cli_produce_to(bootstrap, OUT, "kw-cli", input, abort)
}

fn cli_cmd(bootstrap: &str, topic: &str, id: &str) -> std::process::Command {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_kwire"));
    cmd.args([
        "produce",
        "-b",
        bootstrap,
        "-t",
        topic,
        "--transactional-id",
        id,
    ]);
    cmd
}

fn cli_produce_to(bootstrap: &str, topic: &str, id: &str, input: &str, abort: bool) {
    use std::io::Write;
    use std::process::Stdio;
    let mut cmd = cli_cmd(bootstrap, topic, id);
    if abort {
        cmd.arg("--abort");
    }
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run kwire");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("write stdin");
    let out = child.wait_with_output().expect("kwire produce");
    assert!(
        out.status.success(),
        "kwire produce --transactional-id (abort {abort}): {}; {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn kafka_4_4_0_classic_then_level_raised_mid_transaction_then_kip_890() {
    let _l = lock();
    logs();
    let t0 = Instant::now();
    let kafka = KafkaBroker::start("4.4.0", Some(1));
    runtime().block_on(async {
        let c = connect(&kafka.bootstrap).await;
        let p = topics_and_producer(&c, "kw-txn-44").await;
        let first = p.producer_id();
        assert!(first.producer_id >= 0 && first.epoch >= 0, "{first:?}");

        let mut committed = Vec::new();
        let v = values("c1", 4);
        assert_eq!(transaction(&p, &v, Some(3), true).await, TxnMode::Classic);
        committed.extend(v);
        assert_eq!(
            transaction(&p, &values("a2", 3), None, false).await,
            TxnMode::Classic
        );
        // The level rises after the first record of transaction 3: it
        // completes classic all the same.
        let admin = Admin::new(c.clone());
        let v = values("c3", 3);
        let mut out = Vec::new();
        assert_eq!(open(&p, &v[..1], &mut out).await, TxnMode::Classic);
        let up = FeatureUpdate {
            feature: "transaction.version".into(),
            level: 2,
            upgrade: UpgradeType::Upgrade,
        };
        let r = admin
            .update_features(&[up], false, Duration::from_secs(30))
            .await
            .expect("UpdateFeatures");
        assert!(r[0].result.is_ok(), "{r:?}");
        admin
            .wait_for_finalized("transaction.version", 2, Duration::from_secs(30))
            .await
            .expect("level 2 everywhere");
        send(&p, &v[1..], &mut out).await;
        finish(&p, out, Some(5), true).await;
        committed.extend(v);
        let classic_epoch = p.producer_id();
        assert_eq!(
            classic_epoch, first,
            "classic keeps its epoch across transactions"
        );
        // The next transactions run KIP-890 part 2.
        let v = values("c4", 3);
        assert_eq!(transaction(&p, &v, Some(7), true).await, TxnMode::Tv2);
        committed.extend(v);
        assert_eq!(
            transaction(&p, &values("a5", 2), None, false).await,
            TxnMode::Tv2
        );
        let v = values("c6", 2);
        assert_eq!(transaction(&p, &v, None, true).await, TxnMode::Tv2);
        committed.extend(v);
        let last = p.producer_id();
        assert_eq!(last.producer_id, first.producer_id);
        assert!(
            last.epoch >= first.epoch + 4,
            "an upgrade bump plus one per V2 transaction: {first:?} -> {last:?}"
        );

        let log = p.requests();
        for (t, mode, offsets) in [
            (1, TxnMode::Classic, true),
            (3, TxnMode::Classic, true),
            (4, TxnMode::Tv2, true),
            (6, TxnMode::Tv2, false),
        ] {
            assert_one_mode(&log, t, mode, offsets);
        }
        // The upgrade bump (KIP-360 InitProducerId with the current epoch)
        // belongs to the first V2 transaction; the aborts sent EndTxn.
        assert!(
            log.iter()
                .any(|r| r.transaction == 4 && r.api == ApiKey::INIT_PRODUCER_ID && r.version >= 3),
            "{log:?}"
        );
        for t in [2, 5] {
            assert!(
                log.iter()
                    .any(|r| r.transaction == t && r.api == ApiKey::END_TXN),
                "{log:?}"
            );
        }

        // A user cap that forbids Produce v12 keeps a transaction classic
        // on this level-2 cluster, every request of it.
        let mut capped = config("kw-txn-44-capped");
        capped.txn.caps.produce = Some(11);
        let p3 = TransactionalProducer::new(c.clone(), capped).expect("producer");
        p3.init_transactions().await.expect("init capped");
        let v = values("cap", 2);
        assert_eq!(transaction(&p3, &v, None, true).await, TxnMode::Classic);
        committed.extend(v);
        assert_one_mode(&p3.requests(), 1, TxnMode::Classic, false);
        p3.close().await;

        // Fencing: a second producer with the same transactional id; the
        // first can neither commit nor abort afterwards, and stops.
        let p2 = TransactionalProducer::new(c.clone(), config("kw-txn-44")).expect("producer");
        p2.init_transactions().await.expect("init the second");
        assert!(
            p2.producer_id().epoch > last.epoch,
            "{:?}",
            p2.producer_id()
        );
        p.begin_transaction().await.expect("begin (local)");
        let _zombie = p
            .send(ProducerRecord::new(OUT, b"zombie".to_vec()))
            .await
            .expect("queued");
        let commit = p.commit_transaction().await;
        assert!(commit.is_err(), "a fenced producer committed");
        let abort = p.abort_transaction().await;
        let state = p.state();
        assert_eq!(
            state,
            kwire_client::txn::TxnState::FatalError,
            "commit: {commit:?}; abort: {abort:?}; {:?}",
            p.requests()
        );
        let e = abort.err().or(commit.err()).expect("an error");
        assert!(
            e.to_string().contains("fenced") || e.to_string().contains("PRODUCER_FENCED"),
            "{e}"
        );
        p.close().await;
        p2.close().await;

        assert_read_committed(c.clone(), &committed).await;
        assert_eq!(committed_offset(&c).await, 7);

        // Exactly once, read-process-write: an incarnation dies in the
        // middle of its third transaction; the next resumes from the
        // committed offsets; every input record is in the output once.
        create_topic(&c, EOS_IN, 2, 1).await;
        create_topic(&c, EOS_OUT, 1, 1).await;
        let input =
            kwire_client::produce::Producer::new(c.clone(), Default::default()).expect("producer");
        let mut want = Vec::new();
        for part in 0..2 {
            for i in 0..EOS_PER_PARTITION {
                let v = format!("p{part}-{i}");
                input
                    .send(ProducerRecord::new(EOS_IN, v.clone().into_bytes()).partition(part))
                    .await
                    .expect("send input");
                want.push(format!("out-{v}"));
            }
        }
        input.close().await;
        let first = eos_incarnation(&c, Some(2)).await;
        assert_eq!(first, 8, "two transactions of 4 before the crash");
        let second = eos_incarnation(&c, None).await;
        assert_eq!(first + second, want.len());
        let cfg = ConsumerConfig {
            isolation: Isolation::ReadCommitted,
            ..Default::default()
        };
        // A duplicate would come after the originals (the second
        // incarnation writes later): among the first records read.
        let got = read_all(c.clone(), EOS_OUT, cfg, want.len(), Duration::from_secs(30)).await;
        let mut got: Vec<String> = got
            .iter()
            .map(|r| String::from_utf8_lossy(r.value.as_deref().unwrap_or_default()).into_owned())
            .collect();
        got.sort();
        want.sort();
        assert_eq!(got, want, "every input record exactly once in the output");
        // Kafka's own read_committed consumer sees the same.
        let mut java = java_read_committed(&kafka.bootstrap, committed.len());
        java.sort();
        committed.sort();
        assert_eq!(java, committed, "Kafka's Java consumer (read_committed)");

        // The same across a real crash, now under KIP-890 part 2.
        eos_pipeline_killed_and_restarted(&c, &kafka.bootstrap, TxnMode::Tv2).await;
    });
    eprintln!("4.4.0 tv1 -> tv2 transactions: {:.1?}", t0.elapsed());
}

/// 4.4.0 formatted at `transaction.version` 2: no classic past to leave.
/// The producer id comes from InitProducerId and the very first
/// transaction already runs KIP-890 part 2 (no upgrade bump, no
/// AddPartitionsToTxn/AddOffsetsToTxn, Produce v12+, TxnOffsetCommit v5,
/// EndTxn v5 returning the next epoch); an abort (with offsets) and a
/// commit follow, each a new epoch of the same id. A user cap on Produce
/// (<= v11) makes a second producer's transaction classic, every request
/// of it. read_committed sees exactly the committed records, and the group
/// keeps the committed transaction's offset, not the aborted one's.
#[test]
fn kafka_4_4_0_started_at_transaction_version_2() {
    let _l = lock();
    logs();
    let t0 = Instant::now();
    let kafka = KafkaBroker::start("4.4.0", Some(2));
    runtime().block_on(async {
        let t = Instant::now();
        let c = connect(&kafka.bootstrap).await;
        assert_eq!(c.features().transaction_version(), 2, "{:?}", c.features());
        let p = topics_and_producer(&c, "kw-txn-tv2").await;
        let first = p.producer_id();
        assert!(first.producer_id >= 0 && first.epoch >= 0, "{first:?}");

        let mut committed = Vec::new();
        let v = values("v1", 4);
        assert_eq!(transaction(&p, &v, Some(4), true).await, TxnMode::Tv2);
        committed.extend(v);
        assert_eq!(
            transaction(&p, &values("v2", 3), Some(9), false).await,
            TxnMode::Tv2
        );
        let v = values("v3", 2);
        assert_eq!(transaction(&p, &v, None, true).await, TxnMode::Tv2);
        committed.extend(v);
        let last = p.producer_id();
        assert_eq!(last.producer_id, first.producer_id, "{first:?} -> {last:?}");
        assert!(
            last.epoch >= first.epoch + 3,
            "one new epoch per V2 transaction (EndTxn v5): {first:?} -> {last:?}"
        );

        let log = p.requests();
        for (t, offsets) in [(1, true), (2, true), (3, false)] {
            assert_one_mode(&log, t, TxnMode::Tv2, offsets);
        }
        // One InitProducerId, from init_transactions: an epoch obtained at
        // level 2 needs no upgrade bump before the first V2 transaction.
        let inits: Vec<&SentRequest> = log
            .iter()
            .filter(|r| r.api == ApiKey::INIT_PRODUCER_ID)
            .collect();
        assert!(
            inits.len() == 1 && inits[0].transaction == 0,
            "InitProducerId: {inits:?}"
        );
        p.close().await;

        // A user cap that forbids Produce v12: classic on this level-2
        // broker from the first transaction on.
        let mut capped = config("kw-txn-tv2-capped");
        capped.txn.caps.produce = Some(11);
        let p2 = TransactionalProducer::new(c.clone(), capped).expect("producer");
        p2.init_transactions().await.expect("init capped");
        let v = values("cap", 2);
        assert_eq!(transaction(&p2, &v, Some(6), true).await, TxnMode::Classic);
        committed.extend(v);
        assert_one_mode(&p2.requests(), 1, TxnMode::Classic, true);
        p2.close().await;

        assert_read_committed(c.clone(), &committed).await;
        assert_eq!(committed_offset(&c).await, 6);
        c.shutdown().await;
        eprintln!("4.4.0 started at tv2, transactions: {:.1?}", t.elapsed());
    });
    eprintln!("4.4.0 started at tv2: {:.1?}", t0.elapsed());
}

#[test]
fn kafka_3_8_1_classic_commit_and_abort() {
    let _l = lock();
    logs();
    let t0 = Instant::now();
    let kafka = KafkaBroker::start("3.8.1", None);
    runtime().block_on(async {
        let c = connect(&kafka.bootstrap).await;
        let p = topics_and_producer(&c, "kw-txn-38").await;
        let mut committed = Vec::new();
        let v = values("c1", 5);
        assert_eq!(transaction(&p, &v, Some(2), true).await, TxnMode::Classic);
        committed.extend(v);
        assert_eq!(
            transaction(&p, &values("a2", 3), Some(9), false).await,
            TxnMode::Classic
        );
        let v = values("c3", 2);
        assert_eq!(transaction(&p, &v, None, true).await, TxnMode::Classic);
        committed.extend(v);
        let log = p.requests();
        assert_one_mode(&log, 1, TxnMode::Classic, true);
        assert_one_mode(&log, 3, TxnMode::Classic, false);
        p.close().await;
        // The CLI: one transaction per invocation, committed, or aborted
        // with --abort.
        cli_produce(&kafka.bootstrap, "cli-c1\ncli-c2\n", false);
        cli_produce(&kafka.bootstrap, "cli-a1\n", true);
        committed.extend(["cli-c1".to_string(), "cli-c2".to_string()]);
        assert_read_committed(c.clone(), &committed).await;

        // A process killed (SIGKILL) in the middle of its transaction, its
        // records already in the log: the next producer with the same id
        // has the coordinator abort it; read_committed never sees them.
        const KILL: &str = "txn-kill";
        create_topic(&c, KILL, 1, 1).await;
        let mut child = cli_cmd(&kafka.bootstrap, KILL, "kw-kill")
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::inherit())
            .spawn()
            .expect("run kwire");
        {
            use std::io::Write;
            let stdin = child.stdin.as_mut().expect("stdin");
            stdin.write_all(b"killed-1\nkilled-2\n").expect("write");
            stdin.flush().expect("flush");
        }
        let uncommitted = read_all(
            c.clone(),
            KILL,
            ConsumerConfig::default(),
            2,
            Duration::from_secs(30),
        )
        .await;
        assert_eq!(
            uncommitted.len(),
            2,
            "the killed transaction's records are in the log"
        );
        child.kill().expect("SIGKILL");
        let _ = child.wait();
        cli_produce_to(&kafka.bootstrap, KILL, "kw-kill", "after-1\n", false);
        let cfg = ConsumerConfig {
            isolation: Isolation::ReadCommitted,
            ..Default::default()
        };
        let seen = read_all(c.clone(), KILL, cfg, 1, Duration::from_secs(30)).await;
        let seen: Vec<String> = seen
            .iter()
            .map(|r| String::from_utf8_lossy(r.value.as_deref().unwrap_or_default()).into_owned())
            .collect();
        assert_eq!(
            seen,
            vec!["after-1".to_string()],
            "read_committed after the kill"
        );
        // The aborted transaction's offsets did not stick.
        assert_eq!(committed_offset(&c).await, 2);

        eos_pipeline_killed_and_restarted(&c, &kafka.bootstrap, TxnMode::Classic).await;
    });
    eprintln!("3.8.1 classic transactions: {:.1?}", t0.elapsed());
}

const KILL_IN: &str = "eos-kill-in";
const KILL_OUT: &str = "eos-kill-out";
const KILL_GROUP: &str = "eos-kill-group";
const KILL_TXN_ID: &str = "kw-eos-kill";
const KILL_INSTANCE: &str = "eos-kill-member-1";
const KILL_RECORDS: usize = 160;
/// Input records per transaction: several transactions out of one poll.
const KILL_TXN_RECORDS: &str = "25";

/// The `eos_pipeline` example's binary. `cargo test` without a target
/// filter builds the examples next to the tests' `deps/` directory;
/// `--test txn_kafka` alone does not, hence the check.
fn eos_pipeline_bin() -> std::path::PathBuf {
    let exe = std::env::current_exe().expect("the test binary's path");
    let profile_dir = exe
        .parent()
        .and_then(std::path::Path::parent)
        .unwrap_or_else(|| panic!("{} is not in target/<profile>/deps", exe.display()));
    let bin = profile_dir
        .join("examples")
        .join(format!("eos_pipeline{}", std::env::consts::EXE_SUFFIX));
    let build = "build it with `cargo build -p kwire-client --example eos_pipeline` (the \
                 tests' profile and target), or run `cargo test -p kwire-client` without \
                 --test, which builds the examples";
    let built = std::fs::metadata(&bin)
        .and_then(|m| m.modified())
        .unwrap_or_else(|e| panic!("{}: {e}; {build}", bin.display()));
    let src = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/eos_pipeline.rs");
    let edited = std::fs::metadata(&src)
        .and_then(|m| m.modified())
        .unwrap_or_else(|e| panic!("{}: {e}", src.display()));
    assert!(
        built >= edited,
        "{} is older than {}; {build}",
        bin.display(),
        src.display()
    );
    bin
}

/// A line the pipeline prints per transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TxnLine {
    /// `open txn N: K records written, MODE` (records and offsets
    /// written, not committed).
    Open {
        txn: u64,
        records: usize,
        mode: TxnMode,
    },
    /// `committed txn N: K records (total T)`.
    Committed {
        txn: u64,
        records: usize,
        total: usize,
    },
}

fn parse_txn_line(line: &str) -> Option<TxnLine> {
    if let Some(rest) = line.strip_prefix("open txn ") {
        let (txn, rest) = rest.split_once(": ")?;
        let (records, mode) = rest.split_once(" records written, ")?;
        let mode = [TxnMode::Classic, TxnMode::Tv2]
            .into_iter()
            .find(|m| m.to_string() == mode)?;
        return Some(TxnLine::Open {
            txn: txn.parse().ok()?,
            records: records.parse().ok()?,
            mode,
        });
    }
    let rest = line.strip_prefix("committed txn ")?;
    let (txn, rest) = rest.split_once(": ")?;
    let (records, total) = rest.split_once(" records (total ")?;
    Some(TxnLine::Committed {
        txn: txn.parse().ok()?,
        records: records.parse().ok()?,
        total: total.strip_suffix(')')?.parse().ok()?,
    })
}

/// A running `eos_pipeline` process: its stdout lines arrive on a channel
/// (parsed), both streams are kept for failure messages. Dropped while
/// running (a failed assertion), it is killed.
struct Pipeline {
    name: &'static str,
    child: std::process::Child,
    lines: std::sync::mpsc::Receiver<String>,
    stdout: Arc<std::sync::Mutex<Vec<String>>>,
    stderr: Arc<std::sync::Mutex<Vec<String>>>,
    readers: Vec<std::thread::JoinHandle<()>>,
}

impl Pipeline {
    fn spawn(name: &'static str, bootstrap: &str, extra: &[&str]) -> Pipeline {
        use std::io::BufRead;
        use std::process::{Command, Stdio};
        let bin = eos_pipeline_bin();
        let mut child = Command::new(&bin)
            .args([
                "--bootstrap",
                bootstrap,
                "--input",
                KILL_IN,
                "--output",
                KILL_OUT,
            ])
            .args(["--group", KILL_GROUP, "--transactional-id", KILL_TXN_ID])
            .args(["--group-instance-id", KILL_INSTANCE])
            .args(["--max-txn-records", KILL_TXN_RECORDS])
            .args(extra)
            // The client's decisions, for the failure message.
            .env("RUST_LOG", "kwire_client=info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("run {}: {e}", bin.display()));
        let stdout = Arc::new(std::sync::Mutex::new(Vec::new()));
        let stderr = Arc::new(std::sync::Mutex::new(Vec::new()));
        let (tx, lines) = std::sync::mpsc::channel();
        let out = child.stdout.take().expect("stdout");
        let keep = stdout.clone();
        let out_reader = std::thread::spawn(move || {
            for line in std::io::BufReader::new(out).lines().map_while(Result::ok) {
                keep.lock().unwrap().push(line.clone());
                let _ = tx.send(line);
            }
        });
        let err = child.stderr.take().expect("stderr");
        let keep = stderr.clone();
        let err_reader = std::thread::spawn(move || {
            for line in std::io::BufReader::new(err).lines().map_while(Result::ok) {
                keep.lock().unwrap().push(line);
            }
        });
        Pipeline {
            name,
            child,
            lines,
            stdout,
            stderr,
            readers: vec![out_reader, err_reader],
        }
    }

    /// Its stdout, and the last 60 lines of its stderr.
    fn transcript(&self) -> String {
        let out = self.stdout.lock().unwrap().join("\n");
        let err = self.stderr.lock().unwrap();
        let tail = &err[err.len().saturating_sub(60)..];
        format!(
            "--- {} stdout:\n{out}\n--- {} stderr ({} lines, the last {}):\n{}\n---",
            self.name,
            self.name,
            err.len(),
            tail.len(),
            tail.join("\n")
        )
    }

    /// The next progress line, before `deadline`. Blocks the test's
    /// runtime meanwhile: nothing of the test runs on it then.
    fn next(&mut self, deadline: Instant, waiting_for: &str) -> TxnLine {
        let left = deadline.saturating_duration_since(Instant::now());
        let line = match self.lines.recv_timeout(left) {
            Ok(l) => l,
            Err(std::sync::mpsc::RecvTimeoutError::Timeout) => panic!(
                "{}: no line within the deadline while waiting for {waiting_for}\n{}",
                self.name,
                self.transcript()
            ),
            Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
                let status = self.child.wait();
                self.join_readers();
                panic!(
                    "{}: exited ({status:?}) while waiting for {waiting_for}\n{}",
                    self.name,
                    self.transcript()
                )
            }
        };
        parse_txn_line(&line).unwrap_or_else(|| {
            panic!(
                "{}: unexpected line {line:?}\n{}",
                self.name,
                self.transcript()
            )
        })
    }

    fn join_readers(&mut self) {
        for r in self.readers.drain(..) {
            let _ = r.join();
        }
    }

    /// SIGKILL, then the lines it printed before dying.
    fn kill(&mut self) -> Vec<TxnLine> {
        self.child.kill().expect("SIGKILL");
        let status = self.child.wait().expect("wait for the killed process");
        assert!(!status.success(), "{}: {status}", self.name);
        self.join_readers();
        self.lines
            .try_iter()
            .map(|l| parse_txn_line(&l).unwrap_or_else(|| panic!("{}: line {l:?}", self.name)))
            .collect()
    }

    /// Waits for it to exit 0 within `within`; returns every progress line.
    fn wait_success(&mut self, within: Duration) -> Vec<TxnLine> {
        let deadline = Instant::now() + within;
        let status = loop {
            if let Some(s) = self.child.try_wait().expect("try_wait") {
                break s;
            }
            if Instant::now() >= deadline {
                let _ = self.child.kill();
                let _ = self.child.wait();
                self.join_readers();
                panic!(
                    "{}: still running after {within:?} (killed)\n{}",
                    self.name,
                    self.transcript()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        self.join_readers();
        assert!(
            status.success(),
            "{}: {status}\n{}",
            self.name,
            self.transcript()
        );
        let lines = self.stdout.lock().unwrap().clone();
        lines
            .iter()
            .map(|l| {
                parse_txn_line(l)
                    .unwrap_or_else(|| panic!("{}: line {l:?}\n{}", self.name, self.transcript()))
            })
            .collect()
    }
}

impl Drop for Pipeline {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Every partition of `topic` from the start to its end: the high
/// watermark (read_uncommitted) or the last stable offset (read_committed),
/// and with `settled` until no transaction is open there (LSO = HW: the
/// markers of the last commit are written).
async fn read_to_end(
    c: &Arc<Cluster>,
    topic: &str,
    isolation: Isolation,
    settled: bool,
) -> Vec<kwire_client::consume::ConsumedRecord> {
    use kwire_client::consume::{Consumer, Offset};
    let cfg = ConsumerConfig {
        isolation,
        max_wait: Duration::from_millis(200),
        ..Default::default()
    };
    let mut consumer = Consumer::new(c.clone(), cfg);
    let parts = consumer.partitions(topic).await.expect("partitions");
    for p in &parts {
        consumer.assign(topic, *p, Offset::Earliest);
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut out = Vec::new();
    loop {
        out.extend(consumer.poll().await.expect("poll"));
        let stable = parts.iter().all(|p| {
            consumer
                .state(topic, *p)
                .is_some_and(|s| s.last_stable_offset == s.high_watermark)
        });
        if consumer.at_end() && (stable || !settled) {
            out.sort_by_key(|r| (r.partition, r.offset));
            return out;
        }
        if Instant::now() >= deadline {
            let states: Vec<_> = parts
                .iter()
                .map(|p| (*p, consumer.state(topic, *p).cloned()))
                .collect();
            panic!(
                "{topic} ({isolation:?}, settled {settled}) not read to its end within 30 s: \
                 {} records read; {states:?}",
                out.len()
            );
        }
    }
}

fn text(b: &Option<bytes::Bytes>) -> String {
    String::from_utf8_lossy(b.as_deref().unwrap_or_default()).into_owned()
}

/// Exactly once, across a real crash: the `eos_pipeline` example (group
/// consumer, read_committed, static member; transactional producer)
/// commits a transaction, writes the next one's records and offsets and is
/// SIGKILLed before committing it; restarted with the same transactional id
/// and instance id, it aborts what the dead process left open
/// (InitProducerId), takes its place in the group and resumes from the
/// group's committed offsets. The output, read_committed, is the input
/// record by record: each value once as `out-<value>`, same key, same
/// partition, input order.
async fn eos_pipeline_killed_and_restarted(c: &Arc<Cluster>, bootstrap: &str, mode: TxnMode) {
    let t0 = Instant::now();
    create_topic(c, KILL_IN, 2, 1).await;
    create_topic(c, KILL_OUT, 2, 1).await;
    // Input: unique numbered values over 8 keys; by partition in offset
    // order, (key, value).
    let mut input: BTreeMap<i32, Vec<(i64, String, String)>> = BTreeMap::new();
    {
        let p =
            kwire_client::produce::Producer::new(c.clone(), Default::default()).expect("producer");
        let mut sent = Vec::new();
        for i in 0..KILL_RECORDS {
            let (key, value) = (format!("key-{}", i % 8), format!("rec-{i:03}"));
            let rec = ProducerRecord::new(KILL_IN, value.clone().into_bytes())
                .key(key.clone().into_bytes());
            sent.push((key, value, p.send(rec).await.expect("send input")));
        }
        for (key, value, d) in sent {
            let d = d.await.expect("input acknowledged");
            input
                .entry(d.partition)
                .or_default()
                .push((d.offset, key, value));
        }
        p.close().await;
    }
    for recs in input.values_mut() {
        recs.sort();
    }
    let sizes: Vec<(i32, usize)> = input.iter().map(|(p, r)| (*p, r.len())).collect();
    assert_eq!(sizes.len(), 2, "the keys cover both partitions: {sizes:?}");

    // The first process pauses before each commit: the kill lands in the
    // pause after its second transaction's records and offsets are written.
    let mut first = Pipeline::spawn(
        "first process",
        bootstrap,
        &["--pause-before-commit-ms", "3000"],
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut committed = None;
    let mut modes = Vec::new();
    let open = loop {
        let line = first.next(deadline, "a commit, then the next transaction open");
        if let TxnLine::Open { mode, .. } = line {
            modes.push(mode);
        }
        match line {
            TxnLine::Committed { txn, total, .. } => committed = Some((txn, total)),
            TxnLine::Open { txn, records, .. } if committed.is_some() => break (txn, records),
            TxnLine::Open { .. } => {}
        }
    };
    let after = first.kill();
    let first_transcript = first.transcript();
    let (last_txn, committed_total) = committed.expect("a commit");
    let (open_txn, open_records) = open;
    assert_eq!(open_txn, last_txn + 1, "{first_transcript}");
    assert!(
        after.is_empty(),
        "the process printed {after:?} after the open transaction, before the kill\n{first_transcript}"
    );
    eprintln!(
        "eos_pipeline killed in transaction {open_txn} ({open_records} records written), \
         {committed_total} committed, {:.1?} in",
        t0.elapsed()
    );

    // It really died mid-transaction: its open transaction's records are
    // in the log (read_uncommitted) and not visible read_committed.
    let uncommitted = read_to_end(c, KILL_OUT, Isolation::ReadUncommitted, false).await;
    let visible = read_to_end(c, KILL_OUT, Isolation::ReadCommitted, false).await;
    assert!(
        uncommitted.len() > visible.len(),
        "read_uncommitted {} records, read_committed {}: the kill did not land mid-transaction\n\
         {first_transcript}",
        uncommitted.len(),
        visible.len()
    );
    assert_eq!(
        (uncommitted.len(), visible.len()),
        (committed_total + open_records, committed_total),
        "(read_uncommitted, read_committed) after the kill\n{first_transcript}"
    );

    // Restarted: fences the dead one, resumes at the committed offsets and
    // exits once the input is drained.
    let mut second = Pipeline::spawn(
        "second process",
        bootstrap,
        &["--exit-when-idle-ms", "3000"],
    );
    let lines = second.wait_success(Duration::from_secs(90));
    let second_transcript = second.transcript();
    let transcripts = format!("{first_transcript}\n{second_transcript}");
    let redone: usize = lines
        .iter()
        .map(|l| match l {
            TxnLine::Committed { records, .. } => *records,
            TxnLine::Open { .. } => 0,
        })
        .sum();
    assert_eq!(
        redone,
        KILL_RECORDS - committed_total,
        "the second process resumes at the committed offsets: it commits what the first did \
         not (the killed transaction's records again, and the rest)\n{transcripts}"
    );
    modes.extend(lines.iter().filter_map(|l| match l {
        TxnLine::Open { mode, .. } => Some(*mode),
        TxnLine::Committed { .. } => None,
    }));
    assert!(
        modes.iter().all(|m| *m == mode),
        "every transaction {mode}: {modes:?}\n{transcripts}"
    );

    // Record by record, read_committed.
    let got = read_to_end(c, KILL_OUT, Isolation::ReadCommitted, true).await;
    let mut times: BTreeMap<String, usize> = BTreeMap::new();
    for r in &got {
        *times.entry(text(&r.value)).or_default() += 1;
    }
    let want: Vec<String> = input
        .values()
        .flatten()
        .map(|(_, _, v)| format!("out-{v}"))
        .collect();
    let missing: Vec<&String> = want.iter().filter(|v| !times.contains_key(*v)).collect();
    let twice: Vec<(&String, &usize)> = times.iter().filter(|(_, n)| **n > 1).collect();
    let extra: Vec<&String> = times.keys().filter(|v| !want.contains(v)).collect();
    assert!(
        missing.is_empty() && twice.is_empty() && extra.is_empty(),
        "{} records read_committed for {KILL_RECORDS} inputs: missing {missing:?}, more than \
         once {twice:?}, not from the input {extra:?}\n{transcripts}",
        got.len()
    );
    assert_eq!(got.len(), KILL_RECORDS, "{transcripts}");
    // Same key, so the same partition (both topics have two, one
    // partitioner), in input order.
    for (p, recs) in &input {
        let want: Vec<(String, String)> = recs
            .iter()
            .map(|(_, k, v)| (k.clone(), format!("out-{v}")))
            .collect();
        let have: Vec<(String, String)> = got
            .iter()
            .filter(|r| r.partition == *p)
            .map(|r| (text(&r.key), text(&r.value)))
            .collect();
        if let Some(i) = (0..want.len().max(have.len())).find(|i| want.get(*i) != have.get(*i)) {
            panic!(
                "output partition {p}, record {i}: {:?}, expected {:?} (the input's partition \
                 {p} in order; {} records there, {} expected)\n{transcripts}",
                have.get(i),
                want.get(i),
                have.len(),
                want.len()
            );
        }
    }
    // The group's offsets are the input's end.
    for (p, recs) in &input {
        let end = recs.last().map_or(0, |r| r.0 + 1);
        assert_eq!(
            fetch_offset(c, KILL_GROUP, KILL_IN, *p).await,
            end,
            "{KILL_GROUP} on {KILL_IN}-{p}\n{transcripts}"
        );
    }
    eprintln!(
        "eos_pipeline killed and restarted: {KILL_RECORDS} records exactly once, in order, in {:.1?}",
        t0.elapsed()
    );
}
