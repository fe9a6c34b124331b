//! An exactly-once consume-transform-produce pipeline (KIP-98, KIP-447).
//!
//! Reads `--input` as a member of `--group`, writes each record to
//! `--output` with the same key and the value `out-<input value>`, and
//! commits the input offsets in the same transaction as the records they
//! produced: the output records and the group's progress become visible
//! together or not at all. A process that dies in the middle of a
//! transaction loses nothing and duplicates nothing: run it again with the
//! same `--transactional-id` and it aborts what the dead one left open and
//! carries on from the group's committed offsets.
//!
//! ```text
//! cargo run -p kwire-client --example eos_pipeline -- \
//!     --bootstrap 127.0.0.1:9092 --input words --output shouted \
//!     --group shouter --transactional-id shouter-0
//! ```
//!
//! One line per transaction goes to stdout (`open txn 3: 4 records
//! written, classic (transaction V1)` once its records and offsets are
//! written, `committed txn 3: 4 records (total 12)`); errors go to
//! stderr with a nonzero exit; `RUST_LOG=kwire_client=info` shows the
//! client's decisions on stderr.

use std::collections::BTreeMap;
use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use kwire_client::consume::{ConsumedRecord, GroupConfig, GroupConsumer, Isolation, OffsetReset};
use kwire_client::escape::escape;
use kwire_client::group::select::Preference;
use kwire_client::group::TopicPartition;
use kwire_client::produce::{ProducerRecord, TransactionalConfig, TransactionalProducer};
use kwire_client::txn::OffsetAndMetadata;
use kwire_client::{Cluster, ClusterConfig};

const USAGE: &str = "\
usage: eos_pipeline --bootstrap HOST:PORT[,HOST:PORT] --input TOPIC --output TOPIC
                    --group GROUP --transactional-id ID [--group-instance-id ID]
                    [--max-txn-records N] [--exit-when-idle-ms MS] [--pause-before-commit-ms MS]

  --group-instance-id        static group member id (default: the transactional id)
  --max-txn-records          at most this many input records per transaction (default 100)
  --exit-when-idle-ms        exit 0 once partitions are assigned and nothing new arrived for MS
  --pause-before-commit-ms   sleep MS after a transaction's records and offsets are written,
                             before committing it (to stop a process mid-transaction)";

struct Args {
    bootstrap: Vec<String>,
    input: String,
    output: String,
    group: String,
    transactional_id: String,
    group_instance_id: String,
    max_txn_records: usize,
    exit_when_idle: Option<Duration>,
    pause_before_commit: Duration,
}

/// `Ok(None)`: `--help`.
fn parse_args(mut argv: impl Iterator<Item = String>) -> Result<Option<Args>, String> {
    let mut flags: BTreeMap<String, String> = BTreeMap::new();
    while let Some(flag) = argv.next() {
        if flag == "--help" || flag == "-h" {
            return Ok(None);
        }
        const KNOWN: &[&str] = &[
            "--bootstrap",
            "--input",
            "--output",
            "--group",
            "--transactional-id",
            "--group-instance-id",
            "--max-txn-records",
            "--exit-when-idle-ms",
            "--pause-before-commit-ms",
        ];
        if !KNOWN.contains(&flag.as_str()) {
            return Err(format!("unknown argument {flag:?}"));
        }
        let value = argv.next().ok_or_else(|| format!("{flag} needs a value"))?;
        flags.insert(flag, value);
    }
    let mut take = |flag: &str| flags.remove(flag);
    let required = |v: Option<String>, flag: &str| v.ok_or_else(|| format!("{flag} is required"));
    let number = |v: Option<String>, flag: &str| -> Result<Option<u64>, String> {
        v.map(|s| {
            s.parse::<u64>()
                .map_err(|_| format!("{flag} takes a whole number, not {s:?}"))
        })
        .transpose()
    };
    let bootstrap: Vec<String> = required(take("--bootstrap"), "--bootstrap")?
        .split(',')
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    if bootstrap.is_empty() {
        return Err("--bootstrap is empty".into());
    }
    let transactional_id = required(take("--transactional-id"), "--transactional-id")?;
    let max_txn_records = number(take("--max-txn-records"), "--max-txn-records")?.unwrap_or(100);
    if max_txn_records == 0 {
        return Err("--max-txn-records must be at least 1".into());
    }
    Ok(Some(Args {
        bootstrap,
        input: required(take("--input"), "--input")?,
        output: required(take("--output"), "--output")?,
        group: required(take("--group"), "--group")?,
        group_instance_id: take("--group-instance-id").unwrap_or_else(|| transactional_id.clone()),
        transactional_id,
        max_txn_records: usize::try_from(max_txn_records).unwrap_or(usize::MAX),
        exit_when_idle: number(take("--exit-when-idle-ms"), "--exit-when-idle-ms")?
            .map(Duration::from_millis),
        pause_before_commit: Duration::from_millis(
            number(take("--pause-before-commit-ms"), "--pause-before-commit-ms")?.unwrap_or(0),
        ),
    }))
}

/// One progress line. A closed stdout must not stop the pipeline: the
/// lines are for whoever watches, the work is in Kafka.
fn progress(line: std::fmt::Arguments<'_>) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // Colours only on a terminal: a log file or a pipe gets plain text.
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let args = match parse_args(std::env::args().skip(1)) {
        Ok(Some(a)) => a,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(e) => {
            eprintln!("eos_pipeline: {e}\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("eos_pipeline: {}", escape(&e));
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), String> {
    let cluster = Arc::new(
        Cluster::connect(&args.bootstrap, ClusterConfig::default())
            .await
            .map_err(|e| format!("connect to {}: {e}", args.bootstrap.join(",")))?,
    );

    // The producer first: InitProducerId fences any earlier process with
    // this transactional id and has the coordinator abort the transaction
    // it left open (KIP-98). That transaction's offsets stay pending in the
    // group until the abort, so a consumer started after it reads the last
    // committed transaction's offsets at once (KIP-447).
    let producer = TransactionalProducer::new(
        cluster.clone(),
        TransactionalConfig::new(&args.transactional_id),
    )
    .map_err(|e| format!("transactional producer: {e}"))?;
    producer
        .init_transactions()
        .await
        .map_err(|e| format!("init_transactions: {e}"))?;

    let mut cfg = GroupConfig::new(&args.group);
    // A static member (KIP-345): a restarted process with the same instance
    // id takes the dead one's place in the group at once, with the same
    // partitions, instead of waiting out its session timeout and a
    // rebalance. Under KIP-848's protocol a member that died without
    // leaving keeps its instance id until its session expires (the new one
    // is refused with UNRELEASED_INSTANCE_ID), hence the classic protocol.
    cfg.protocol = Preference::Classic;
    cfg.group_instance_id = Some(args.group_instance_id.clone());
    // Offsets are committed by the transactions, never on their own: an
    // offset committed outside one could skip records whose output was
    // aborted.
    cfg.auto_commit = None;
    // Only committed input: an upstream transaction that aborts must not
    // reach the output (KIP-98). read_committed also makes the group's
    // OffsetFetch wait out offsets still pending in a transaction (KIP-447).
    cfg.consumer.isolation = Isolation::ReadCommitted;
    // A group that never committed starts at the beginning of the input.
    cfg.consumer.offset_reset = OffsetReset::Earliest;
    let mut consumer = GroupConsumer::new(cluster.clone(), cfg)
        .await
        .map_err(|e| format!("group consumer: {e}"))?;
    consumer
        .subscribe(&[args.input.as_str()])
        .map_err(|e| format!("subscribe to {}: {e}", args.input))?;

    let mut txn = 0u64;
    let mut total = 0usize;
    let mut last_news = Instant::now();
    let outcome = loop {
        let records = match consumer.poll().await {
            Ok(r) => r,
            Err(e) => break Err(format!("poll: {e}")),
        };
        // Idle time counts only while partitions are assigned: joining the
        // group is not "nothing new".
        if !records.is_empty() || consumer.assignment().is_empty() {
            last_news = Instant::now();
        }
        if args
            .exit_when_idle
            .is_some_and(|idle| last_news.elapsed() >= idle)
        {
            break Ok(());
        }
        // Every record of this poll is written before the next poll: a
        // rebalance (handled inside poll) never lands between a record and
        // its offset.
        let mut failed = None;
        for chunk in records.chunks(args.max_txn_records) {
            txn += 1;
            if let Err(e) = transaction(&producer, &consumer, &args, txn, chunk).await {
                failed = Some(format!("transaction {txn}: {e}"));
                break;
            }
            total += chunk.len();
            progress(format_args!(
                "committed txn {txn}: {} records (total {total})",
                chunk.len()
            ));
        }
        if let Some(e) = failed {
            break Err(e);
        }
    };

    if outcome.is_err() {
        // Not needed for correctness (the next process's InitProducerId
        // aborts it), but an open transaction holds back every
        // read_committed reader of the output until it ends.
        if let Err(e) = producer.abort_transaction().await {
            tracing::info!(error = %e, "abort after a failure");
        }
    }
    producer.close().await;
    // A static member does not leave the group on close (KIP-345): the next
    // process with this instance id gets the same partitions back.
    if let Err(e) = consumer.close(Duration::from_secs(10)).await {
        tracing::info!(error = %e, "closing the group consumer");
    }
    outcome
}

/// One transaction: the transformed records, then the offsets after them,
/// then the commit.
async fn transaction(
    producer: &TransactionalProducer,
    consumer: &GroupConsumer,
    args: &Args,
    txn: u64,
    records: &[ConsumedRecord],
) -> Result<(), String> {
    // Classic or KIP-890 part 2, as the cluster's transaction.version
    // says: decided here, kept until the transaction ends.
    let mode = producer
        .begin_transaction()
        .await
        .map_err(|e| format!("begin_transaction: {e}"))?;
    let mut deliveries = Vec::with_capacity(records.len());
    let mut offsets = BTreeMap::new();
    for r in records {
        let out = ProducerRecord {
            topic: args.output.clone(),
            // The same key: the same output partition for every record of a
            // key, in input order.
            key: r.key.clone(),
            // A tombstone stays one.
            value: r
                .value
                .as_ref()
                .map(|v| [b"out-".as_slice(), &v[..]].concat().into()),
            ..Default::default()
        };
        let sent = producer
            .send(out)
            .await
            .map_err(|e| format!("send to {}: {e}", args.output))?;
        deliveries.push(sent);
        // The next offset to read, as a commit always names; the leader
        // epoch lets the next owner detect a truncated log (KIP-320).
        offsets.insert(
            TopicPartition::new(r.topic.clone(), r.partition),
            OffsetAndMetadata {
                offset: r.offset + 1,
                leader_epoch: (r.leader_epoch >= 0).then_some(r.leader_epoch),
                metadata: None,
            },
        );
    }
    producer.flush().await.map_err(|e| format!("flush: {e}"))?;
    for d in deliveries {
        d.await.map_err(|e| format!("a record failed: {e}"))?;
    }
    // The group metadata (generation, member id, instance id) lets the
    // group coordinator refuse these offsets if this process has been
    // replaced in the group meanwhile (KIP-447): a zombie cannot commit.
    producer
        .send_offsets_to_transaction(offsets, consumer.group_metadata())
        .await
        .map_err(|e| format!("send_offsets_to_transaction: {e}"))?;
    progress(format_args!(
        "open txn {txn}: {} records written, {mode}",
        records.len()
    ));
    if !args.pause_before_commit.is_zero() {
        tokio::time::sleep(args.pause_before_commit).await;
    }
    producer
        .commit_transaction()
        .await
        .map_err(|e| format!("commit_transaction: {e}"))
}
