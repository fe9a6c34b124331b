//! The `kwire` tools against a REAL Apache Kafka 4.4.0 broker (started by
//! the test through testsupport/kafka/broker, stopped from a Drop guard):
//! the api-versions report's release guess, `--json`, `--release` as a cap
//! on negotiation; `kwire topics`; `kwire decode`/`encode` round-tripping
//! a frame captured from the broker; and `--fallback-release` against a scripted pre-0.10
//! broker that never answers ApiVersions. The binary runs as a child
//! process: what is asserted is what a user sees. Without java/mvn the
//! broker tests fail with the command to run (never skip).

mod support;

use std::process::Command;

use serde_json::Value;
use support::kafka::{lock, KafkaBroker};
use support::{ApiVersionsMode, FakeBroker, FakeConfig};

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let cut = |s: &str| s.chars().take(3000).collect::<String>();
        write!(
            f,
            "exit {}\n--- stdout\n{}\n--- stderr\n{}",
            self.code,
            cut(&self.stdout),
            cut(&self.stderr)
        )
    }
}

fn kwire(args: &[&str]) -> Run {
    let out = Command::new(env!("CARGO_BIN_EXE_kwire"))
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .expect("run kwire");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn json(r: &Run) -> Value {
    serde_json::from_str(&r.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {r:?}"))
}

/// The row of API `name` in a `--json` report's first broker.
fn api<'a>(doc: &'a Value, name: &str) -> &'a Value {
    doc["brokers"][0]["apis"]
        .as_array()
        .expect("apis")
        .iter()
        .find(|a| a["name"] == name)
        .unwrap_or_else(|| panic!("no {name} row in {doc:#}"))
}

fn api_versions_report(b: &str) {
    // Text: the guess line with its explanation.
    let r = kwire(&["api-versions", "-b", b]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout.contains("Kafka release: 4.4 (as a KRaft broker)"),
        "{r:?}"
    );
    assert!(r.stdout.contains("  not 4.3: "), "{r:?}");

    // JSON: the same facts, machine-readable.
    let r = kwire(&["api-versions", "-b", b, "--json"]);
    assert_eq!(r.code, 0, "{r:?}");
    let doc = json(&r);
    let g = &doc["brokers"][0]["release_guess"];
    assert_eq!(g["verdict"]["kind"], "exact", "{g:#}");
    assert_eq!(g["verdict"]["releases"][0], "4.4", "{g:#}");
    assert_eq!(g["role"], "KRaft broker", "{g:#}");
    assert_eq!(doc["brokers"][0]["source"]["sent"], 5, "{doc:#}");
    assert_eq!(doc["brokers"][0]["transaction_version"], 2);
    assert_eq!(api(&doc, "Produce")["chosen"], 13);
    assert_eq!(api(&doc, "Produce")["broker"]["max"], 13);
    assert_eq!(doc["failed"].as_array().map(Vec::len), Some(0));

    // --release 3.8: a cap from 3.8's table, negotiation still runs.
    let r = kwire(&["api-versions", "-b", b, "--json", "--release", "3.8"]);
    assert_eq!(r.code, 0, "{r:?}");
    let doc = json(&r);
    assert_eq!(doc["release_pin"], "3.8");
    let produce = api(&doc, "Produce");
    assert_eq!(produce["chosen"], 11, "{produce:#}");
    assert_eq!(produce["caps"][0]["source"], "release 3.8", "{produce:#}");
    assert_eq!(api(&doc, "Fetch")["chosen"], 16);
    // ApiVersions itself is capped: 3.8 has v0-3, so v3 went out.
    assert_eq!(doc["brokers"][0]["source"]["sent"], 3, "{doc:#}");
    // An API 3.8 does not have is never chosen.
    let upd = api(&doc, "StreamsGroupTopologyDescriptionUpdate");
    assert!(upd["chosen"].is_null(), "{upd:#}");
    assert!(
        upd["error"]
            .as_str()
            .unwrap_or("")
            .contains("release 3.8 <= -1"),
        "{upd:#}"
    );

    // --release 2.3 in the text report: the cap is named in the why column.
    let r = kwire(&["api-versions", "-b", b, "--release", "2.3"]);
    assert_eq!(r.code, 0, "{r:?}");
    let line = r
        .stdout
        .lines()
        .find(|l| l.starts_with("Produce(0)"))
        .unwrap_or_else(|| panic!("{r:?}"));
    assert!(
        line.contains(" v7 ") && line.contains("release 2.3 <= 7: 13 -> 7"),
        "{line}"
    );
    assert!(r.stdout.contains("ApiVersions v2\n"), "{r:?}");

    // A release this build does not know: usage error, nothing sent.
    let r = kwire(&["api-versions", "-b", b, "--release", "9.9"]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stderr.contains("--release"), "{r:?}");
}

/// `kwire topics`: per-topic lines and exit code 12 when any topic failed.
fn topics(b: &str) {
    let r = kwire(&[
        "topics", "-b", b, "create", "cli-a", "cli-b", "-p", "2", "-r", "1",
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(
        r.stdout
            .contains("cli-a: created (partitions 2, replication factor 1, id "),
        "{r:?}"
    );
    assert!(r.stdout.contains("cli-b: created"), "{r:?}");

    // One exists already, one has a bad config: both fail, each with its reason.
    let r = kwire(&[
        "topics",
        "-b",
        b,
        "create",
        "cli-a",
        "cli-c",
        "-c",
        "cleanup.policy=bogus",
        "--json",
    ]);
    assert_eq!(r.code, 12, "{r:?}");
    let doc = json(&r);
    assert_eq!(doc["failed"], 2, "{doc:#}");
    assert_eq!(doc["topics"][0]["topic"], "cli-a");
    assert_eq!(doc["topics"][0]["error"], "TOPIC_ALREADY_EXISTS");
    assert_eq!(doc["topics"][1]["error"], "INVALID_CONFIG");
    assert!(r.stderr.contains("2 of 2 topic(s) failed"), "{r:?}");

    let r = kwire(&["topics", "-b", b, "list"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert!(r.stdout.contains("cli-a: 2 partition(s)"), "{r:?}");
    assert!(!r.stdout.contains("__consumer_offsets"), "{r:?}");

    let r = kwire(&["topics", "-b", b, "describe", "cli-a", "cli-none", "--json"]);
    assert_eq!(r.code, 12, "{r:?}");
    let doc = json(&r);
    assert_eq!(
        doc["topics"][0]["partitions"].as_array().map(Vec::len),
        Some(2)
    );
    assert_eq!(doc["topics"][0]["partitions"][0]["leader"], 1);
    assert_eq!(doc["topics"][1]["error"], "UNKNOWN_TOPIC_OR_PARTITION");

    let r = kwire(&["topics", "-b", b, "delete", "cli-a", "cli-b"]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(r.stdout, "cli-a: deleted\ncli-b: deleted\n", "{r:?}");

    // A bad --config is a usage error before anything is sent.
    let r = kwire(&["topics", "-b", b, "create", "x", "-c", "novalue"]);
    assert_eq!(r.code, 2, "{r:?}");
}

fn kwire_stdin(args: &[&str], stdin: &str) -> Run {
    use std::io::Write;
    let mut child = Command::new(env!("CARGO_BIN_EXE_kwire"))
        .args(args)
        .env_remove("RUST_LOG")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run kwire");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    let out = child.wait_with_output().expect("kwire output");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// `kwire encode` builds an ApiVersions v3 request frame; the real broker
/// answers it; `kwire decode` reads the captured answer and `kwire encode`
/// gives back the same bytes.
fn decode_encode(b: &str) {
    use std::io::{Read, Write};
    let request = r#"{"apiKey":18,"version":3,"header":{"requestApiKey":18,"requestApiVersion":3,
        "correlationId":7,"clientId":"kcat"},"body":{"clientSoftwareName":"kwire",
        "clientSoftwareVersion":"0.1"}}"#;
    let r = kwire_stdin(&["encode"], request);
    assert_eq!(r.code, 0, "{r:?}");
    let hex = r.stdout.trim().to_string();
    // Size 26; header v2: key, version, correlation id, client id as a
    // (non-compact) string, no tags; body: two compact strings, no tags.
    assert_eq!(
        hex, "0000001a001200030000000700046b63617400066b7769726504302e3100",
        "{r:?}"
    );
    let frame: Vec<u8> = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect();
    let mut s = std::net::TcpStream::connect(b).expect("connect");
    s.set_read_timeout(Some(std::time::Duration::from_secs(20)))
        .unwrap();
    s.write_all(&frame).expect("send");
    let mut size = [0u8; 4];
    s.read_exact(&mut size).expect("response size");
    let mut resp = vec![0u8; i32::from_be_bytes(size) as usize];
    s.read_exact(&mut resp).expect("response");
    let captured: String = size
        .iter()
        .chain(&resp)
        .map(|x| format!("{x:02x}"))
        .collect();

    let r = kwire(&[
        "decode",
        "--frame",
        "--response",
        "--api",
        "ApiVersions",
        "--version",
        "3",
        "--hex",
        &captured,
    ]);
    assert_eq!(r.code, 0, "{r:?}");
    let doc = json(&r);
    assert_eq!(doc["header"]["correlationId"], 7, "{doc:#}");
    assert_eq!(doc["body"]["errorCode"], 0, "{doc:#}");
    let keys = doc["body"]["apiKeys"].as_array().expect("apiKeys");
    assert!(
        keys.iter()
            .any(|k| k["apiKey"] == 0 && k["maxVersion"] == 13),
        "{doc:#}"
    );
    let r = kwire_stdin(&["encode"], &r.stdout);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(r.stdout.trim(), captured, "the captured frame round-trips");

    // The request frame decodes too (its header names the API).
    let r = kwire(&["decode", "--frame", "--hex", &hex]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(json(&r)["body"]["clientSoftwareName"], "kwire");
    // A byte too many, a body cut short: malformed (exit 9), with where.
    let r = kwire(&["decode", "--frame", "--hex", &format!("{hex}00")]);
    assert_eq!(r.code, 9, "{r:?}");
    let r = kwire(&[
        "decode",
        "--api",
        "Metadata",
        "--version",
        "12",
        "--hex",
        "00",
    ]);
    assert_eq!(r.code, 9, "{r:?}");
    assert!(r.stderr.contains("AllowAutoTopicCreation"), "{r:?}");
}

#[test]
fn kafka_4_4_0_cli_tools() {
    let _l = lock();
    let kafka = KafkaBroker::start("4.4.0", None);
    api_versions_report(&kafka.bootstrap);
    topics(&kafka.bootstrap);
    decode_encode(&kafka.bootstrap);
}

/// A broker before 0.10 never answers ApiVersions: `--fallback-release`
/// supplies that release's table, `--fallback` entries refine it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fallback_release_when_apiversions_never_answers() {
    let closed = FakeBroker::start(FakeConfig::new(
        ApiVersionsMode::CloseAlways,
        vec![(0, 0, 2), (1, 0, 2), (3, 0, 1)],
    ))
    .await;
    let addr = closed.addr();
    let args = |extra: &[&str]| {
        let mut v: Vec<String> = ["api-versions", "-b", &addr, "--timeout-ms", "500", "--json"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        v.extend(extra.iter().map(|s| s.to_string()));
        v
    };
    let run = |a: Vec<String>| {
        tokio::task::spawn_blocking(move || {
            kwire(&a.iter().map(String::as_str).collect::<Vec<_>>())
        })
    };
    let r = run(args(&["--fallback-release", "0.9.0"])).await.unwrap();
    assert_eq!(r.code, 0, "{r:?}");
    let doc = json(&r);
    let b = &doc["brokers"][0];
    assert_eq!(b["source"]["kind"], "fallback", "{doc:#}");
    assert_eq!(b["source"]["source"], "release 0.9.0 (fallback)", "{doc:#}");
    // 0.9.0: Produce v1, Fetch v1, Metadata v0; no guess without an answer.
    assert_eq!(api(&doc, "Fetch")["broker"]["max"], 1, "{doc:#}");
    assert_eq!(api(&doc, "Metadata")["broker"]["max"], 0, "{doc:#}");
    assert!(b["release_guess"].is_null(), "{doc:#}");

    let r = run(args(&[
        "--fallback-release",
        "0.9.0",
        "--fallback",
        "Metadata=1",
    ]))
    .await
    .unwrap();
    assert_eq!(r.code, 0, "{r:?}");
    let doc = json(&r);
    assert_eq!(api(&doc, "Metadata")["broker"]["max"], 1, "{doc:#}");
    assert_eq!(api(&doc, "Fetch")["broker"]["max"], 1, "{doc:#}");

    // Without a fallback the same broker is an error (closed, exit 5).
    let r = run(args(&[])).await.unwrap();
    assert_eq!(r.code, 5, "{r:?}");
    assert_eq!(json(&r)["failed"][0]["exit_code"], 5, "{r:?}");
}
