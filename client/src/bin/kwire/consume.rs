//! `kwire consume`: records of a topic to stdout, through the library's
//! `Consumer` (partitions chosen here) or, with `--group`, its
//! `GroupConsumer` (partitions assigned by the group, resuming from the
//! group's committed offsets and committing what was printed).

use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};
use kwire_client::consume::{
    ConsumedRecord, Consumer, ConsumerConfig, GroupConfig, GroupConsumer, GroupConsumerError,
    Isolation, Offset, OffsetReset,
};
use kwire_client::escape::escape;
use kwire_client::group::select::Preference;
use kwire_client::group::TopicPartition;
use kwire_client::{Cluster, ClusterConfig};

use crate::connect::ConnectArgs;
use crate::exit::{self, Failure};

#[derive(Clone, Copy, ValueEnum, PartialEq, Eq)]
pub enum Format {
    /// The value (escaped), with the key first if --print-key.
    Text,
    /// One JSON object per record (text escaped as JSON).
    Json,
    /// The value's bytes as they are, then a newline (no escaping).
    Raw,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum IsolationArg {
    ReadUncommitted,
    ReadCommitted,
}

#[derive(Clone, Copy, ValueEnum)]
pub enum GroupProtocolArg {
    /// KIP-848's consumer protocol where the cluster's group.version allows
    /// it, else classic.
    Auto,
    /// JoinGroup/SyncGroup/Heartbeat.
    Classic,
    /// KIP-848 (ConsumerGroupHeartbeat, server-side assignment), or fail.
    Consumer,
}

#[derive(Args)]
pub struct ConsumeArgs {
    #[command(flatten)]
    pub connect: ConnectArgs,
    #[arg(long, short = 't')]
    pub topic: String,
    /// Partitions to read (repeatable; default: all).
    #[arg(long = "partition", short = 'p')]
    pub partitions: Vec<i32>,
    /// Where to start: earliest, latest, an offset, or @TIMESTAMP_MS. With
    /// --group: where a partition without a committed offset starts
    /// (earliest or latest).
    #[arg(long, short = 'o', default_value = "earliest")]
    pub from: String,
    /// Consume as a member of this consumer group: the group assigns the
    /// partitions, each starts at the group's committed offset, and the
    /// offsets of the records printed are committed (every 5 s, before a
    /// partition moves to another member, and on exit), then the member
    /// leaves the group.
    #[arg(long, short = 'g', conflicts_with = "partitions")]
    pub group: Option<String>,
    /// The group protocol.
    #[arg(long, value_enum, default_value = "auto", requires = "group")]
    pub group_protocol: GroupProtocolArg,
    /// A static member's group.instance.id (KIP-345): it does not leave the
    /// group on exit, so a restart within the session timeout gets the same
    /// partitions back without a rebalance.
    #[arg(long, requires = "group")]
    pub group_instance_id: Option<String>,
    /// Classic protocol: the assignors offered, preferred first (range,
    /// roundrobin, cooperative-sticky; repeatable; default: range, then
    /// cooperative-sticky).
    #[arg(long = "assignor", requires = "group")]
    pub assignors: Vec<String>,
    /// Stop after this many records.
    #[arg(long, short = 'c')]
    pub count: Option<u64>,
    /// Stop once every partition is at its end.
    #[arg(long, short = 'e')]
    pub exit_at_end: bool,
    /// Stop after this long without a record.
    #[arg(long)]
    pub idle_ms: Option<u64>,
    #[arg(long, value_enum, default_value = "text")]
    pub format: Format,
    /// Text format: print the key and a tab before the value.
    #[arg(long)]
    pub print_key: bool,
    #[arg(long, value_enum, default_value = "read-uncommitted")]
    pub isolation: IsolationArg,
    /// Progress on stderr every 2 s (default: when stderr is a terminal
    /// and stdout is not).
    #[arg(long)]
    pub progress: bool,
}

fn parse_from(s: &str) -> Result<Offset, String> {
    match s {
        "earliest" | "beginning" => Ok(Offset::Earliest),
        "latest" | "end" => Ok(Offset::Latest),
        _ => {
            if let Some(ts) = s.strip_prefix('@') {
                ts.parse::<i64>()
                    .map(Offset::Timestamp)
                    .map_err(|e| format!("--from {s:?}: {e}"))
            } else {
                s.parse::<i64>()
                    .ok()
                    .filter(|o| *o >= 0)
                    .map(Offset::At)
                    .ok_or_else(|| {
                        format!(
                            "--from {s:?}: expected earliest, latest, an offset or @TIMESTAMP_MS"
                        )
                    })
            }
        }
    }
}

/// Where records come from.
enum Source {
    Plain(Box<Consumer>),
    Group(Box<GroupConsumer>),
}

fn consume_failure(e: kwire_client::consume::ConsumeError) -> Failure {
    Failure {
        code: match &e {
            kwire_client::consume::ConsumeError::Cluster(c) => exit::code(c.kind()),
            _ => exit::OTHER,
        },
        message: e.to_string(),
    }
}

fn group_failure(e: GroupConsumerError) -> Failure {
    match e {
        GroupConsumerError::Consume(c) => consume_failure(c),
        GroupConsumerError::Cluster { ref source, .. } => Failure {
            code: exit::code(source.kind()),
            message: e.to_string(),
        },
        e => Failure {
            code: exit::OTHER,
            message: e.to_string(),
        },
    }
}

impl Source {
    async fn poll(&mut self) -> Result<Vec<ConsumedRecord>, Failure> {
        match self {
            Source::Plain(c) => c.poll().await.map_err(consume_failure),
            Source::Group(g) => g.poll().await.map_err(group_failure),
        }
    }

    fn at_end(&self) -> bool {
        match self {
            Source::Plain(c) => c.at_end(),
            // Nothing assigned yet is not the end.
            Source::Group(g) => !g.assignment().is_empty() && g.consumer().at_end(),
        }
    }
}

pub async fn run(a: ConsumeArgs) -> Result<(), Failure> {
    let (brokers, client) = a.connect.config().map_err(Failure::usage)?;
    let start = parse_from(&a.from).map_err(Failure::usage)?;
    let reset = match (&a.group, start) {
        (None, _) | (Some(_), Offset::Earliest) => OffsetReset::Earliest,
        (Some(_), Offset::Latest) => OffsetReset::Latest,
        (Some(_), _) => {
            return Err(Failure::usage(format!(
                "--from {:?} with --group: a group starts where it committed; --from says only \
                 where a partition without a committed offset starts (earliest or latest)",
                a.from
            )))
        }
    };
    let cluster = Cluster::connect(&brokers, ClusterConfig::with_client(client))
        .await
        .map_err(|e| Failure {
            code: exit::code(e.kind()),
            message: e.to_string(),
        })?;
    let cluster = Arc::new(cluster);
    let cfg = ConsumerConfig {
        isolation: match a.isolation {
            IsolationArg::ReadUncommitted => Isolation::ReadUncommitted,
            IsolationArg::ReadCommitted => Isolation::ReadCommitted,
        },
        offset_reset: reset,
        ..Default::default()
    };
    let mut source = match &a.group {
        None => {
            let mut consumer = Consumer::new(cluster, cfg);
            let partitions = if a.partitions.is_empty() {
                consumer
                    .partitions(&a.topic)
                    .await
                    .map_err(consume_failure)?
            } else {
                a.partitions.clone()
            };
            for p in partitions {
                consumer.assign(&a.topic, p, start);
            }
            Source::Plain(Box::new(consumer))
        }
        Some(group) => {
            let mut g = GroupConfig::new(group.clone());
            g.protocol = match a.group_protocol {
                GroupProtocolArg::Auto => Preference::Auto,
                GroupProtocolArg::Classic => Preference::Classic,
                GroupProtocolArg::Consumer => Preference::Consumer,
            };
            g.group_instance_id = a.group_instance_id.clone();
            if !a.assignors.is_empty() {
                g.assignors = a.assignors.clone();
            }
            g.consumer = cfg;
            let mut gc = GroupConsumer::new(cluster, g)
                .await
                .map_err(group_failure)?;
            gc.subscribe(&[a.topic.as_str()]).map_err(group_failure)?;
            tracing::info!(group = %escape(group), protocol = %gc.protocol().protocol,
                why = %gc.protocol().why, "kwire consume: group protocol");
            Source::Group(Box::new(gc))
        }
    };
    let progress =
        a.progress || (std::io::stderr().is_terminal() && !std::io::stdout().is_terminal());
    let mut n = 0u64;
    let mut last_record = Instant::now();
    let mut last_report = Instant::now();
    let stdout = std::io::stdout();
    // Partitions with records fetched but not printed (--count reached
    // mid-batch): the first offset not printed, to go back to before the
    // group commits.
    let mut unprinted: std::collections::BTreeMap<(String, i32), i64> = Default::default();
    loop {
        if a.count.is_some_and(|c| n >= c) {
            break;
        }
        let got = source.poll().await?;
        if !got.is_empty() {
            last_record = Instant::now();
        }
        let mut out = stdout.lock();
        for r in got {
            if a.count.is_some_and(|c| n >= c) {
                unprinted
                    .entry((r.topic.clone(), r.partition))
                    .or_insert(r.offset);
                continue;
            }
            write_record(&mut out, &r, a.format, a.print_key).map_err(|e| Failure {
                code: exit::OTHER,
                message: format!("writing stdout: {e}"),
            })?;
            n += 1;
        }
        let _ = out.flush();
        drop(out);
        if progress && last_report.elapsed() >= Duration::from_secs(2) {
            last_report = Instant::now();
            eprintln!("kwire: {n} records");
        }
        if a.exit_at_end && source.at_end() {
            break;
        }
        if a.idle_ms
            .is_some_and(|ms| last_record.elapsed() >= Duration::from_millis(ms))
        {
            break;
        }
    }
    if let Source::Group(mut gc) = source {
        for ((topic, partition), offset) in unprinted {
            gc.seek(&TopicPartition::new(topic, partition), offset);
        }
        // Commits what was printed, then leaves the group.
        gc.commit().await.map_err(group_failure)?;
        gc.close(Duration::from_secs(30))
            .await
            .map_err(group_failure)?;
    }
    if progress {
        eprintln!("kwire: {n} records from {}", escape(&a.topic));
    }
    Ok(())
}

fn text(b: &Option<bytes::Bytes>) -> String {
    match b {
        None => String::new(),
        Some(b) => escape(&String::from_utf8_lossy(b)).into_owned(),
    }
}

/// A JSON string, or null; bytes that are not UTF-8 become U+FFFD (the
/// raw format keeps them).
fn json_str(b: Option<&[u8]>) -> String {
    let Some(b) = b else {
        return "null".into();
    };
    let s = String::from_utf8_lossy(b);
    let mut o = String::with_capacity(s.len() + 2);
    o.push('"');
    for c in s.chars() {
        match c {
            '"' => o.push_str("\\\""),
            '\\' => o.push_str("\\\\"),
            '\n' => o.push_str("\\n"),
            '\r' => o.push_str("\\r"),
            '\t' => o.push_str("\\t"),
            c if (c as u32) < 0x20 || c == '\u{7f}' || ('\u{80}'..='\u{9f}').contains(&c) => {
                o.push_str(&format!("\\u{:04x}", c as u32))
            }
            c => o.push(c),
        }
    }
    o.push('"');
    o
}

fn write_record(
    out: &mut impl Write,
    r: &ConsumedRecord,
    format: Format,
    print_key: bool,
) -> std::io::Result<()> {
    match format {
        Format::Raw => {
            if let Some(v) = &r.value {
                out.write_all(v)?;
            }
            out.write_all(b"\n")
        }
        Format::Text => {
            if print_key {
                write!(out, "{}\t", text(&r.key))?;
            }
            writeln!(out, "{}", text(&r.value))
        }
        Format::Json => {
            let headers: Vec<String> = r
                .headers
                .iter()
                .map(|h| {
                    format!(
                        "[{},{}]",
                        json_str(Some(&h.key)),
                        json_str(h.value.as_deref())
                    )
                })
                .collect();
            writeln!(
                out,
                "{{\"topic\":{},\"partition\":{},\"offset\":{},\"timestamp\":{},\"key\":{},\"value\":{},\"headers\":[{}]}}",
                json_str(Some(r.topic.as_bytes())),
                r.partition,
                r.offset,
                r.timestamp,
                json_str(r.key.as_deref()),
                json_str(r.value.as_deref()),
                headers.join(",")
            )
        }
    }
}
