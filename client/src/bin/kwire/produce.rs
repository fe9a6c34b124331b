//! `kwire produce`: records from stdin lines or files to a topic, through
//! the library's `Producer`, or in one transaction through its
//! `TransactionalProducer` (`--transactional-id`).

use std::io::{BufRead, IsTerminal, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};
use kwire::records::Compression;
use kwire_client::escape::escape;
use kwire_client::produce::{
    Acks, DeliveryFuture, ProduceError, Producer, ProducerConfig, ProducerRecord,
    TransactionalConfig, TransactionalError, TransactionalProducer,
};
use kwire_client::{Cluster, ClusterConfig};

use crate::connect::ConnectArgs;
use crate::exit::{self, Failure};

#[derive(Clone, Copy, ValueEnum)]
pub enum Codec {
    None,
    Gzip,
    Snappy,
    Lz4,
    Zstd,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum AcksArg {
    #[value(name = "all", alias = "-1")]
    All,
    #[value(name = "1")]
    One,
    #[value(name = "0")]
    Zero,
}

#[derive(Args)]
pub struct ProduceArgs {
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// The topic.
    #[arg(long, short = 't')]
    pub topic: String,
    /// The partition (default: by key, or sticky for keyless records).
    #[arg(long, short = 'p')]
    pub partition: Option<i32>,
    /// One key for every record.
    #[arg(long, short = 'k')]
    pub key: Option<String>,
    /// Split each line at the first SEP into key and value.
    #[arg(long, value_name = "SEP", conflicts_with = "key")]
    pub key_separator: Option<String>,
    /// A header on every record: NAME=VALUE (repeatable; NAME alone: a null value).
    #[arg(long = "header", short = 'H', value_name = "NAME=VALUE")]
    pub headers: Vec<String>,
    /// Send each file's whole content as one record, instead of stdin lines.
    #[arg(long = "file", short = 'f', value_name = "PATH")]
    pub files: Vec<String>,
    #[arg(long, short = 'z', value_enum, default_value = "none")]
    pub compression: Codec,
    #[arg(long, value_enum, default_value = "all")]
    pub acks: AcksArg,
    /// Turn idempotence off (required for --acks 0 or 1).
    #[arg(long)]
    pub no_idempotence: bool,
    #[arg(long, default_value_t = 5)]
    pub linger_ms: u64,
    #[arg(long, default_value_t = 512 * 1024)]
    pub batch_size: usize,
    /// How long a record may take to be acknowledged, retries included.
    #[arg(long, default_value_t = 120_000)]
    pub delivery_timeout_ms: u64,
    /// Print `PARTITION OFFSET` of every record on stdout.
    #[arg(long)]
    pub report: bool,
    /// Progress on stderr every 2 s (default: when stderr is a terminal).
    #[arg(long)]
    pub progress: bool,
    /// Send every record in one transaction under this transactional id
    /// (KIP-98), committed at the end of the input.
    #[arg(long, value_name = "ID")]
    pub transactional_id: Option<String>,
    /// Abort the transaction instead of committing it (the records are
    /// written, then hidden from read_committed consumers).
    #[arg(long, requires = "transactional_id")]
    pub abort: bool,
    /// The transaction timeout the coordinator enforces.
    #[arg(long, default_value_t = 60_000, requires = "transactional_id")]
    pub transaction_timeout_ms: i32,
}

/// The producer `run` sends through.
enum Sink {
    Plain(Producer),
    Txn(Box<TransactionalProducer>),
}

impl Sink {
    async fn send(&self, rec: ProducerRecord) -> Result<DeliveryFuture, ProduceError> {
        match self {
            Sink::Plain(p) => p.send(rec).await,
            Sink::Txn(p) => p.send(rec).await,
        }
    }

    fn unresolved(&self) -> usize {
        match self {
            Sink::Plain(p) => p.unresolved(),
            Sink::Txn(p) => p.producer().unresolved(),
        }
    }
}

fn txn_failure(what: &str, e: TransactionalError) -> Failure {
    Failure {
        code: match &e {
            TransactionalError::Produce(ProduceError::Cluster(c)) => exit::code(c.kind()),
            _ => exit::OTHER,
        },
        message: format!("{what}: {e}"),
    }
}

pub async fn run(a: ProduceArgs) -> Result<(), Failure> {
    let (brokers, client) = a.connect.config().map_err(Failure::usage)?;
    let acks = match a.acks {
        AcksArg::All => Acks::All,
        AcksArg::One => Acks::Leader,
        AcksArg::Zero => Acks::None,
    };
    let headers = a
        .headers
        .iter()
        .map(|h| match h.split_once('=') {
            Some((k, v)) => (k.to_string(), Some(v.to_string())),
            None => (h.clone(), None),
        })
        .collect::<Vec<_>>();
    if headers.iter().any(|(k, _)| k.is_empty()) {
        return Err(Failure::usage("--header needs a name (NAME=VALUE)"));
    }
    let pcfg = ProducerConfig {
        acks,
        idempotent: !a.no_idempotence && acks == Acks::All,
        compression: match a.compression {
            Codec::None => Compression::None,
            Codec::Gzip => Compression::Gzip,
            Codec::Snappy => Compression::Snappy,
            Codec::Lz4 => Compression::Lz4,
            Codec::Zstd => Compression::Zstd,
        },
        linger: Duration::from_millis(a.linger_ms),
        batch_size: a.batch_size,
        delivery_timeout: Duration::from_millis(a.delivery_timeout_ms.max(1)),
        ..Default::default()
    };
    pcfg.validate().map_err(Failure::usage)?;
    if a.transactional_id.is_some() && !pcfg.idempotent {
        return Err(Failure::usage(
            "--transactional-id needs idempotence and --acks all (KIP-98)",
        ));
    }
    let cluster = Cluster::connect(&brokers, ClusterConfig::with_client(client))
        .await
        .map_err(|e| Failure {
            code: exit::code(e.kind()),
            message: e.to_string(),
        })?;
    let cluster = Arc::new(cluster);
    let producer = match &a.transactional_id {
        None => {
            Sink::Plain(Producer::new(cluster, pcfg).map_err(|e| Failure::usage(e.to_string()))?)
        }
        Some(id) => {
            let mut tc = TransactionalConfig::new(id.clone());
            tc.producer = pcfg;
            tc.txn.transaction_timeout_ms = a.transaction_timeout_ms;
            let p = TransactionalProducer::new(cluster, tc)
                .map_err(|e| Failure::usage(e.to_string()))?;
            p.init_transactions()
                .await
                .map_err(|e| txn_failure("init_transactions", e))?;
            let mode = p
                .begin_transaction()
                .await
                .map_err(|e| txn_failure("begin_transaction", e))?;
            if a.progress {
                eprintln!("kwire: transaction begins ({mode})");
            }
            Sink::Txn(Box::new(p))
        }
    };
    let make = |key: Option<Vec<u8>>, value: Vec<u8>| {
        let mut r = ProducerRecord::new(a.topic.clone(), value);
        r.partition = a.partition;
        r.key = key.or_else(|| a.key.clone().map(Vec::from)).map(Into::into);
        for (k, v) in &headers {
            r = r.header(k.clone(), v.clone());
        }
        r
    };
    let progress = a.progress || std::io::stderr().is_terminal();
    let started = Instant::now();
    let mut last_report = Instant::now();
    let (tx, mut rx) = tokio::sync::mpsc::channel(4096);
    // Deliveries are collected as they complete, in send order.
    let collector = tokio::spawn(async move {
        let mut ok = 0u64;
        let mut failed: Vec<ProduceError> = Vec::new();
        let mut lines: Vec<String> = Vec::new();
        while let Some(f) = rx.recv().await {
            let f: kwire_client::produce::DeliveryFuture = f;
            match f.await {
                Ok(d) => {
                    ok += 1;
                    lines.push(format!("{} {}", d.partition, d.offset));
                }
                Err(e) => failed.push(e),
            }
        }
        (ok, failed, lines)
    });
    let mut sent = 0u64;
    let send = |rec: ProducerRecord| {
        let producer = &producer;
        let tx = tx.clone();
        async move {
            let f = producer.send(rec).await?;
            let _ = tx.send(f).await;
            Ok::<(), ProduceError>(())
        }
    };
    let fail = |e: ProduceError| Failure {
        code: match e {
            ProduceError::Topic { .. } | ProduceError::TooLarge { .. } => exit::OTHER,
            ProduceError::Cluster(ref c) => exit::code(c.kind()),
            _ => exit::ITEMS_FAILED,
        },
        message: e.to_string(),
    };
    if a.files.is_empty() {
        // stdin is read on its own thread so the runtime keeps sending
        // while a terminal or a slow pipe has nothing new.
        let (ltx, mut lines_rx) = tokio::sync::mpsc::channel::<std::io::Result<Vec<u8>>>(1024);
        std::thread::spawn(move || {
            let stdin = std::io::stdin();
            let mut lock = stdin.lock();
            loop {
                let mut line = Vec::new();
                match lock.read_until(b'\n', &mut line) {
                    Ok(0) => return,
                    Ok(_) => {
                        if ltx.blocking_send(Ok(line)).is_err() {
                            return;
                        }
                    }
                    Err(e) => {
                        let _ = ltx.blocking_send(Err(e));
                        return;
                    }
                }
            }
        });
        while let Some(line) = lines_rx.recv().await {
            let mut line = line.map_err(|e| Failure {
                code: exit::OTHER,
                message: format!("reading stdin: {e}"),
            })?;
            if line.last() == Some(&b'\n') {
                line.pop();
                if line.last() == Some(&b'\r') {
                    line.pop();
                }
            }
            let (key, value) = match &a.key_separator {
                Some(sep) => match find(&line, sep.as_bytes()) {
                    Some(i) => (Some(line[..i].to_vec()), line[i + sep.len()..].to_vec()),
                    None => (None, line),
                },
                None => (None, line),
            };
            send(make(key, value)).await.map_err(fail)?;
            sent += 1;
            if progress && last_report.elapsed() >= Duration::from_secs(2) {
                last_report = Instant::now();
                eprintln!(
                    "kwire: {sent} records sent, {} waiting for acknowledgement",
                    producer.unresolved()
                );
            }
        }
    } else {
        for path in &a.files {
            let value = std::fs::read(path).map_err(|e| Failure {
                code: exit::OTHER,
                message: format!("{path}: {e}"),
            })?;
            send(make(None, value)).await.map_err(fail)?;
            sent += 1;
        }
    }
    drop(tx);
    match &producer {
        Sink::Plain(p) => p.close().await,
        Sink::Txn(p) => {
            let end = if a.abort {
                match p.flush().await {
                    Ok(()) => p.abort_transaction().await.map_err(|e| ("abort", e)),
                    Err(e) => Err(("flush", e)),
                }
            } else {
                p.commit_transaction().await.map_err(|e| ("commit", e))
            };
            if let Err((what, e)) = end {
                // The records' own errors say more than the commit's.
                let _ = p.abort_transaction().await;
                p.close().await;
                return Err(txn_failure(what, e));
            }
            p.close().await;
        }
    }
    let (ok, failed, lines) = collector.await.map_err(|e| Failure {
        code: exit::OTHER,
        message: e.to_string(),
    })?;
    if a.report {
        let mut out = std::io::stdout().lock();
        for l in lines {
            let _ = writeln!(out, "{l}");
        }
    }
    let secs = started.elapsed().as_secs_f64();
    if progress || !failed.is_empty() {
        eprintln!(
            "kwire: {ok} of {sent} records delivered to {} in {secs:.1} s",
            escape(&a.topic)
        );
    }
    match failed.into_iter().next() {
        None => Ok(()),
        Some(e) => Err(Failure {
            code: exit::ITEMS_FAILED,
            message: format!("{} of {sent} records not delivered; first: {e}", sent - ok),
        }),
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    if needle.is_empty() {
        return None;
    }
    hay.windows(needle.len()).position(|w| w == needle)
}
