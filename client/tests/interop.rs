//! Live interop on one REAL 4.4.0 broker, both ways, every codec:
//!
//! * `kwire produce` (keys, a header, each codec) → kcat on librdkafka
//!   2.16 and Kafka's own Java consumer (kafka-clients 4.4.0) read the
//!   same keys, values and headers, byte for byte;
//! * kcat (`-z CODEC`, keys, headers) and Kafka's Java producer → `kwire
//!   consume --format json` and the library's `Consumer` read what they
//!   wrote.
//!
//! The broker starts through testsupport/kafka/broker; kcat comes from
//! client/tests/peers/install.sh (librdkafka 2.16 under $KWIRE_PEERS_DIR);
//! Java clients through testsupport/kafka/clients-run. A missing one fails
//! with what to install.

mod support;

use std::io::Write;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use kwire_client::consume::ConsumerConfig;
use support::kafka::{lock, runtime, testsupport, KafkaBroker};
use support::produce::{connect, create_topic, read_all};

const CODECS: [&str; 5] = ["none", "gzip", "snappy", "lz4", "zstd"];
const N: usize = 200;

fn peers_dir() -> PathBuf {
    std::env::var_os("KWIRE_PEERS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(std::env::var("HOME").unwrap()).join(".cache/kwire/peers"))
}

/// kcat on librdkafka 2.16 (the wheel's .so), checked by its -V line.
fn kcat() -> Command {
    let lib = peers_dir().join("librdkafka-2.16");
    let mut c = Command::new("kcat");
    c.env("LD_LIBRARY_PATH", &lib);
    let v = Command::new("kcat")
        .env("LD_LIBRARY_PATH", &lib)
        .arg("-V")
        .output()
        .unwrap_or_else(|e| {
            panic!("kcat is missing ({e}): run bash client/tests/peers/install.sh")
        });
    let text = String::from_utf8_lossy(&v.stdout);
    assert!(
        text.contains("librdkafka 2.16"),
        "kcat does not load librdkafka 2.16 from {} (run bash client/tests/peers/install.sh): {text}",
        lib.display()
    );
    c
}

fn kwire() -> Command {
    Command::new(env!("CARGO_BIN_EXE_kwire"))
}

fn run_with_input(mut c: Command, input: &[u8]) -> String {
    c.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = c.spawn().expect("spawn");
    child.stdin.take().unwrap().write_all(input).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{c:?} failed ({}): {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

fn lines(codec: &str) -> Vec<(String, String)> {
    (0..N)
        .map(|i| (format!("k{i}"), format!("v{i}-{codec} ünï\u{7f}")))
        .collect()
}

fn input(codec: &str) -> Vec<u8> {
    lines(codec)
        .iter()
        .map(|(k, v)| format!("{k}\t{v}\n"))
        .collect::<String>()
        .into_bytes()
}

fn json_lines(s: &str) -> Vec<serde_json::Value> {
    s.lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("{e}: {l}")))
        .collect()
}

#[test]
fn interop_4_4_0() {
    let _g = lock();
    let kafka = KafkaBroker::start("4.4.0", None);
    let rt = runtime();
    let c = rt.block_on(connect(&kafka.bootstrap));
    for codec in CODECS {
        for dir in ["out", "kcat", "java"] {
            rt.block_on(create_topic(&c, &format!("kw-{dir}-{codec}"), 1, 1));
        }
    }
    for codec in CODECS {
        // kwire → kcat and Java.
        let topic = format!("kw-out-{codec}");
        let mut p = kwire();
        p.args([
            "produce",
            "-b",
            &kafka.bootstrap,
            "-t",
            &topic,
            "-p",
            "0",
            "--key-separator",
            "\t",
        ])
        .args(["-H", "h=hv\u{e9}", "-H", "nullh", "-z", codec, "--report"]);
        let report = run_with_input(p, &input(codec));
        let offsets: Vec<&str> = report.lines().collect();
        assert_eq!(offsets.len(), N, "{codec}: one report line per record");
        assert_eq!(offsets[0], "0 0");
        assert_eq!(offsets[N - 1], format!("0 {}", N - 1));
        let mut k = kcat();
        k.args([
            "-b",
            &kafka.bootstrap,
            "-C",
            "-t",
            &topic,
            "-p",
            "0",
            "-o",
            "beginning",
            "-e",
            "-q",
        ])
        // kcat prints a null header value as NULL.
        .args(["-f", "%k\t%s\t%h\t%o\n"]);
        let got = run_with_input(k, b"");
        let want: Vec<String> = lines(codec)
            .iter()
            .enumerate()
            .map(|(i, (k, v))| format!("{k}\t{v}\th=hv\u{e9},nullh=NULL\t{i}"))
            .collect();
        assert_eq!(
            got.lines().collect::<Vec<_>>(),
            want,
            "{codec}: kcat reads kwire's records"
        );
        let java = Command::new(testsupport("clients-run"))
            .args([
                "consume",
                &kafka.bootstrap,
                &topic,
                &N.to_string(),
                "60000",
                "--isolation",
                "read_uncommitted",
            ])
            .stderr(Stdio::inherit())
            .output()
            .expect("testsupport/kafka/clients-run (needs java and mvn)");
        assert!(
            java.status.success(),
            "{codec}: Java consumer: {}",
            java.status
        );
        let recs = json_lines(&String::from_utf8_lossy(&java.stdout));
        assert_eq!(recs.len(), N, "{codec}: Java consumer record count");
        for (i, (r, (k, v))) in recs.iter().zip(lines(codec)).enumerate() {
            assert_eq!(r["offset"], i as i64);
            assert_eq!(r["key"], k.as_str(), "{codec}: Java key {i}");
            assert_eq!(r["value"], v.as_str(), "{codec}: Java value {i}");
            assert_eq!(
                r["headers"],
                serde_json::json!([["h", "hv\u{e9}"], ["nullh", null]]),
                "{codec}: Java headers {i}"
            );
        }

        // kcat → kwire (CLI, JSON).
        let topic = format!("kw-kcat-{codec}");
        let mut k = kcat();
        k.args([
            "-b",
            &kafka.bootstrap,
            "-P",
            "-t",
            &topic,
            "-p",
            "0",
            "-K",
            "\t",
            "-z",
            codec,
        ])
        .args(["-H", "from=kcat"]);
        run_with_input(k, &input(codec));
        let mut r = kwire();
        r.args([
            "consume",
            "-b",
            &kafka.bootstrap,
            "-t",
            &topic,
            "-e",
            "--format",
            "json",
        ]);
        let got = json_lines(&run_with_input(r, b""));
        assert_eq!(got.len(), N, "{codec}: kwire reads kcat's records");
        for (i, (r, (k, v))) in got.iter().zip(lines(codec)).enumerate() {
            assert_eq!(r["offset"], i as i64);
            assert_eq!(r["key"], k.as_str(), "{codec}: key {i}");
            assert_eq!(r["value"], v.as_str(), "{codec}: value {i}");
            assert_eq!(
                r["headers"],
                serde_json::json!([["from", "kcat"]]),
                "{codec}: headers {i}"
            );
        }

        // Java → kwire (library).
        let topic = format!("kw-java-{codec}");
        let out = Command::new(testsupport("clients-run"))
            .args(["produce", &kafka.bootstrap, &topic, codec, &N.to_string()])
            .stderr(Stdio::inherit())
            .output()
            .expect("testsupport/kafka/clients-run");
        assert!(
            out.status.success(),
            "{codec}: Java producer: {}",
            out.status
        );
        let got = rt.block_on(read_all(
            c.clone(),
            &topic,
            ConsumerConfig::default(),
            N,
            Duration::from_secs(30),
        ));
        assert_eq!(got.len(), N, "{codec}: kwire reads Java's records");
        for (i, r) in got.iter().enumerate() {
            assert_eq!(r.offset, i as i64);
            assert_eq!(r.key.as_deref(), Some(format!("k{i}").as_bytes()));
            assert_eq!(r.value.as_deref(), Some(format!("v{i}-{codec}").as_bytes()));
            assert_eq!(r.headers.len(), 1);
            assert_eq!(&r.headers[0].key[..], b"h");
            assert_eq!(
                r.headers[0].value.as_deref(),
                Some(i.to_string().as_bytes())
            );
        }
        eprintln!("4.4.0: {codec}: kwire → kcat/Java and kcat/Java → kwire agree on {N} records");
    }
    rt.block_on(c.shutdown());
}
