//! `kwire consume`: records of a topic to stdout, through the library's
//! `Consumer` (no group).

use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Args, ValueEnum};
use kwire_client::consume::{
    ConsumedRecord, Consumer, ConsumerConfig, Isolation, Offset, OffsetReset,
};
use kwire_client::escape::escape;
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

#[derive(Args)]
pub struct ConsumeArgs {
    #[command(flatten)]
    pub connect: ConnectArgs,
    #[arg(long, short = 't')]
    pub topic: String,
    /// Partitions to read (repeatable; default: all).
    #[arg(long = "partition", short = 'p')]
    pub partitions: Vec<i32>,
    /// Where to start: earliest, latest, an offset, or @TIMESTAMP_MS.
    #[arg(long, short = 'o', default_value = "earliest")]
    pub from: String,
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

pub async fn run(a: ConsumeArgs) -> Result<(), Failure> {
    let (brokers, client) = a.connect.config().map_err(Failure::usage)?;
    let start = parse_from(&a.from).map_err(Failure::usage)?;
    let cluster = Cluster::connect(&brokers, ClusterConfig::with_client(client))
        .await
        .map_err(|e| Failure {
            code: exit::code(e.kind()),
            message: e.to_string(),
        })?;
    let cfg = ConsumerConfig {
        isolation: match a.isolation {
            IsolationArg::ReadUncommitted => Isolation::ReadUncommitted,
            IsolationArg::ReadCommitted => Isolation::ReadCommitted,
        },
        offset_reset: OffsetReset::Earliest,
        ..Default::default()
    };
    let mut consumer = Consumer::new(Arc::new(cluster), cfg);
    let fail = |e: kwire_client::consume::ConsumeError| Failure {
        code: match &e {
            kwire_client::consume::ConsumeError::Cluster(c) => exit::code(c.kind()),
            _ => exit::OTHER,
        },
        message: e.to_string(),
    };
    let partitions = if a.partitions.is_empty() {
        consumer.partitions(&a.topic).await.map_err(fail)?
    } else {
        a.partitions.clone()
    };
    for p in partitions {
        consumer.assign(&a.topic, p, start);
    }
    let progress =
        a.progress || (std::io::stderr().is_terminal() && !std::io::stdout().is_terminal());
    let mut n = 0u64;
    let mut last_record = Instant::now();
    let mut last_report = Instant::now();
    let stdout = std::io::stdout();
    loop {
        if a.count.is_some_and(|c| n >= c) {
            break;
        }
        let got = consumer.poll().await.map_err(fail)?;
        if !got.is_empty() {
            last_record = Instant::now();
        }
        let mut out = stdout.lock();
        for r in got {
            if a.count.is_some_and(|c| n >= c) {
                break;
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
        if a.exit_at_end && consumer.at_end() {
            break;
        }
        if a.idle_ms
            .is_some_and(|ms| last_record.elapsed() >= Duration::from_millis(ms))
        {
            break;
        }
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
