//! Producer and consumer throughput against a REAL broker, kwire side by
//! side with librdkafka (kcat) and Kafka's own ProducerPerformance /
//! ConsumerPerformance, on the same broker in the same run.
//!
//! ```text
//! cargo bench -p kwire-client --bench throughput            # starts a 4.4.0 broker
//! KWIRE_BENCH_BOOTSTRAP=host:port cargo bench -p kwire-client --bench throughput
//! KWIRE_BENCH_TOOLS=kwire KWIRE_BENCH_SIZES=100 cargo bench ...   # a subset (e.g. to profile)
//! ```
//!
//! Every tool writes N records of S bytes (100 B and 10 KiB) with acks=all
//! to a one-partition topic of its own, then reads them back from the
//! start. Wall time per tool: kwire in process (connect included), kcat as
//! a process (its start included, a few ms), the Java tools as their own
//! summary says (JVM start excluded). One table on stdout; BENCHMARKS.md
//! keeps the numbers.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kwire::messages::create_topics_request::CreatableTopic;
use kwire::messages::CreateTopicsRequest;
use kwire::StrBytes;
use kwire_client::consume::{Consumer, ConsumerConfig, Offset};
use kwire_client::produce::{Producer, ProducerConfig, ProducerRecord};
use kwire_client::{Cluster, ClusterConfig};

fn testsupport(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../testsupport/kafka")
        .join(name)
}

struct Broker {
    dir: Option<String>,
    bootstrap: String,
}

impl Broker {
    fn get() -> Broker {
        if let Ok(b) = std::env::var("KWIRE_BENCH_BOOTSTRAP") {
            return Broker {
                dir: None,
                bootstrap: b,
            };
        }
        let out = Command::new(testsupport("broker"))
            .args(["start", "--release", "4.4.0", "--env", "--heap", "1g"])
            .stderr(Stdio::inherit())
            .output()
            .expect("testsupport/kafka/broker (needs java and mvn)");
        assert!(out.status.success(), "broker start failed");
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        let field = |k: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(&format!("KAFKA_{k}=")))
                .unwrap_or_else(|| panic!("no KAFKA_{k}"))
                .to_string()
        };
        Broker {
            dir: Some(field("DIR")),
            bootstrap: field("BOOTSTRAP"),
        }
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        if let Some(d) = &self.dir {
            let _ = Command::new(testsupport("broker"))
                .args(["stop", "--dir", d, "--clean"])
                .status();
        }
    }
}

async fn create(c: &Cluster, topic: &str) {
    let mut t = CreatableTopic::default();
    t.name = StrBytes::from(topic.to_string());
    t.num_partitions = 1;
    t.replication_factor = 1;
    let mut req = CreateTopicsRequest::default();
    req.topics = vec![t];
    req.timeout_ms = 30_000;
    c.send(&req).await.expect("CreateTopics");
    for _ in 0..100 {
        let md = c.refresh_metadata(&[topic]).await.unwrap();
        if md.topics.get(topic).is_some_and(|t| {
            t.partitions.values().all(|p| p.leader.is_some()) && !t.partitions.is_empty()
        }) {
            return;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn kwire_produce(c: Arc<Cluster>, topic: &str, n: usize, size: usize) -> Duration {
    let value = bytes::Bytes::from(vec![b'x'; size]);
    let t = Instant::now();
    let p = Producer::new(c, ProducerConfig::default()).unwrap();
    let mut pending = std::collections::VecDeque::new();
    for _ in 0..n {
        let mut r = ProducerRecord::new(topic, value.clone());
        r.partition = Some(0);
        pending.push_back(p.send(r).await.unwrap());
        // Keep the futures bounded; check deliveries as they complete.
        while pending.len() > 100_000 {
            pending.pop_front().unwrap().await.expect("delivered");
        }
    }
    p.flush().await;
    for f in pending {
        f.await.expect("delivered");
    }
    t.elapsed()
}

async fn kwire_consume(c: Arc<Cluster>, topic: &str, n: usize) -> Duration {
    let t = Instant::now();
    let mut k = Consumer::new(c, ConsumerConfig::default());
    k.assign(topic, 0, Offset::Earliest);
    let mut got = 0;
    while got < n {
        got += k.poll().await.unwrap().len();
    }
    t.elapsed()
}

fn kcat(args: &[&str], input: Option<&PathBuf>) -> Duration {
    let lib = std::env::var("HOME")
        .map(|h| format!("{h}/.cache/kwire/peers/librdkafka-2.16"))
        .unwrap();
    let mut c = Command::new("kcat");
    c.env("LD_LIBRARY_PATH", lib)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::inherit());
    if let Some(f) = input {
        c.stdin(std::fs::File::open(f).unwrap());
    }
    let t = Instant::now();
    let s = c
        .status()
        .expect("kcat (bash client/tests/peers/install.sh)");
    assert!(s.success(), "kcat {args:?}: {s}");
    t.elapsed()
}

fn perf(args: &[&str]) -> f64 {
    let out = Command::new(testsupport("perf"))
        .args(args)
        .stderr(Stdio::inherit())
        .output()
        .expect("perf");
    assert!(out.status.success(), "perf {args:?}");
    let text = String::from_utf8_lossy(&out.stdout);
    let key = "\"records_per_sec\": ";
    let i = text.rfind(key).expect("records_per_sec") + key.len();
    text[i..]
        .split([',', '}'])
        .next()
        .unwrap()
        .trim()
        .parse()
        .unwrap()
}

fn main() {
    // `cargo bench` passes --bench; nothing else is taken.
    let broker = Broker::get();
    let b = broker.bootstrap.clone();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let c = Arc::new(
        rt.block_on(Cluster::connect(&[b.as_str()], ClusterConfig::default()))
            .unwrap(),
    );
    // Subsets for profiling one side: comma lists, all by default.
    let pick = |var: &str, item: &str| {
        std::env::var(var).map_or(true, |v| v.split(',').any(|x| x.trim() == item))
    };
    println!("| records | tool | produce rec/s | produce MB/s | consume rec/s | consume MB/s |");
    println!("| --- | --- | ---: | ---: | ---: | ---: |");
    for (size, n) in [(100usize, 300_000usize), (10 * 1024, 10_000)] {
        if !pick("KWIRE_BENCH_SIZES", &size.to_string()) {
            continue;
        }
        let mb = |secs: f64| (n * size) as f64 / secs / 1e6;
        let row = |tool: &str, p: f64, k: f64| {
            println!(
                "| {n} x {size} B | {tool} | {p:.0} | {:.1} | {k:.0} | {:.1} |",
                p * size as f64 / 1e6,
                k * size as f64 / 1e6
            );
        };
        let _ = mb;
        // kwire
        if pick("KWIRE_BENCH_TOOLS", "kwire") {
            let topic = format!("bench-kwire-{size}");
            rt.block_on(create(&c, &topic));
            let pt = rt.block_on(kwire_produce(c.clone(), &topic, n, size));
            let ct = rt.block_on(kwire_consume(c.clone(), &topic, n));
            row(
                "kwire",
                n as f64 / pt.as_secs_f64(),
                n as f64 / ct.as_secs_f64(),
            );
        }
        // librdkafka (kcat)
        if pick("KWIRE_BENCH_TOOLS", "kcat") {
            let topic = format!("bench-kcat-{size}");
            rt.block_on(create(&c, &topic));
            let file = std::env::temp_dir().join(format!("kwire-bench-{size}.txt"));
            let line = format!("{}\n", "x".repeat(size));
            std::fs::write(&file, line.repeat(n)).unwrap();
            let pt = kcat(
                &[
                    "-P",
                    "-b",
                    &b,
                    "-t",
                    &topic,
                    "-p",
                    "0",
                    "-X",
                    "acks=all",
                    "-X",
                    "linger.ms=5",
                ],
                Some(&file),
            );
            let ct = kcat(
                &[
                    "-C",
                    "-b",
                    &b,
                    "-t",
                    &topic,
                    "-p",
                    "0",
                    "-o",
                    "beginning",
                    "-e",
                    "-q",
                ],
                None,
            );
            let _ = std::fs::remove_file(&file);
            row(
                "librdkafka 2.16 (kcat)",
                n as f64 / pt.as_secs_f64(),
                n as f64 / ct.as_secs_f64(),
            );
        }
        // Java
        if !pick("KWIRE_BENCH_TOOLS", "java") {
            continue;
        }
        let topic = format!("bench-java-{size}");
        rt.block_on(create(&c, &topic));
        let ns = n.to_string();
        let ss = size.to_string();
        let p = perf(&[
            "producer",
            "--bootstrap",
            &b,
            "--topic",
            &topic,
            "--records",
            &ns,
            "--record-size",
            &ss,
            "--acks",
            "all",
            "--throughput",
            "-1",
        ]);
        let k = perf(&[
            "consumer",
            "--bootstrap",
            &b,
            "--topic",
            &topic,
            "--records",
            &ns,
        ]);
        row("Java 4.4 (Producer/ConsumerPerformance)", p, k);
    }
    rt.block_on(c.shutdown());
}
