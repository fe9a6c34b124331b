//! The `kwire` command line against the scripted fake broker: exit codes,
//! what reaches the terminal, and how long it waits. The binary is run as a
//! child process, so what is asserted is what a user sees.

mod support;

use std::time::{Duration, Instant};

use bytes::Bytes;
use kwire::messages::api_versions_response::{
    ApiVersion, ApiVersionsResponse, SupportedFeatureKey,
};
use kwire::{ApiKey, Message};
use support::{ApiVersionsMode, FakeBroker, FakeConfig, Fault, FaultPlan};

// The documented exit codes (client/README.md).
const OK: i32 = 0;
const USAGE: i32 = 2;
const CONNECT: i32 = 3;
const NO_REPLY: i32 = 4;
const CLOSED: i32 = 5;
const TRUNCATED: i32 = 6;
const UNEXPECTED_REPLY: i32 = 7;
const TOO_LARGE: i32 = 8;

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
    took: Duration,
}

impl std::fmt::Debug for Run {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let cut = |s: &str| s.chars().take(1500).collect::<String>();
        write!(
            f,
            "exit {} after {:?}\n--- stdout ({} bytes)\n{}\n--- stderr ({} bytes)\n{}",
            self.code,
            self.took,
            self.stdout.len(),
            cut(&self.stdout),
            self.stderr.len(),
            cut(&self.stderr)
        )
    }
}

/// Runs `kwire ARGS`; a run that has not ended within 60 s fails the test.
async fn kwire(args: &[&str]) -> Run {
    let start = Instant::now();
    let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_kwire"))
        .args(args)
        .env_remove("RUST_LOG")
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(Duration::from_secs(60), child)
        .await
        .unwrap_or_else(|_| panic!("kwire {args:?} still running after 60 s"))
        .expect("run kwire");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        took: start.elapsed(),
    }
}

const TABLE: &[(i16, i16, i16)] = &[(0, 0, 9), (1, 0, 12), (3, 0, 12), (18, 0, 3)];

async fn fake(fault: Fault) -> FakeBroker {
    FakeBroker::start(
        FakeConfig::kafka(TABLE.to_vec())
            .with_fault(FaultPlan::always(ApiKey::API_VERSIONS, fault)),
    )
    .await
}

/// Defect 8: bad arguments are errors with exit code 2, before anything is
/// sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_arguments_exit_2() {
    let fake = FakeBroker::start(FakeConfig::kafka(TABLE.to_vec())).await;
    let addr = fake.addr();
    let cases: Vec<Vec<&str>> = vec![
        vec!["api-versions", "--bootstrap", ","],
        vec!["api-versions", "--bootstrap", " , "],
        vec!["api-versions", "--bootstrap", "localhost"],
        vec!["api-versions", "--bootstrap", "localhost:port"],
        vec![
            "api-versions",
            "--bootstrap",
            &addr,
            "--server-name",
            "broker.example",
        ],
        vec!["api-versions", "--bootstrap", &addr, "--cap", "Fetch"],
        vec!["api-versions", "--bootstrap", &addr, "--cap", "NoSuchApi=3"],
        vec![
            "api-versions",
            "--bootstrap",
            &addr,
            "--fallback",
            "Fetch=x",
        ],
        vec!["api-versions", "--bootstrap", &addr, "--timeout-ms", "0"],
    ];
    for args in cases {
        let r = kwire(&args).await;
        assert_eq!(r.code, USAGE, "{args:?}: {r:?}");
        assert!(r.stderr.contains("kwire"), "{args:?}: {r:?}");
        assert!(r.stdout.is_empty(), "{args:?}: {r:?}");
    }
    assert!(
        fake.received().is_empty(),
        "a request was sent: {:?}",
        fake.received()
    );
}

/// Defect 3: a reply with thousands of repeated and unknown keys prints a
/// count and the first few, on stderr and on stdout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_and_unknown_keys_print_a_count() {
    let mut table = TABLE.to_vec();
    table.extend(std::iter::repeat((1, 0, 12)).take(4000));
    table.extend((0..4000).map(|i| (20_000 + i, 0, 1)));
    let fake = FakeBroker::start(FakeConfig::kafka(table)).await;
    let r = kwire(&["api-versions", "--bootstrap", &fake.addr()]).await;
    assert_eq!(r.code, OK, "{r:?}");
    assert!(r.stderr.len() < 4096, "{r:?}");
    assert!(r.stderr.contains("4000"), "{r:?}");
    assert!(r.stdout.len() < 32 << 10, "{r:?}");
    assert!(r.stdout.contains("4000"), "{r:?}");
    for verbose in ["-v", "-vv"] {
        let r = kwire(&[verbose, "api-versions", "--bootstrap", &fake.addr()]).await;
        assert_eq!(r.code, OK, "{r:?}");
        assert!(r.stderr.len() < 32 << 10, "{verbose}: {r:?}");
    }
}

/// Defect 1: an oversized ApiVersions reply (a complete, valid one of
/// 2 MiB, or a 99 MiB size prefix) is an error, not a success.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_api_versions_reply_is_an_error() {
    let mut resp = ApiVersionsResponse::default();
    let mut a = ApiVersion::default();
    a.api_key = 18;
    a.max_version = 3;
    resp.api_keys.push(a);
    let mut f = SupportedFeatureKey::default();
    f.name = "x".repeat(2 << 20).into();
    f.max_version = 1;
    resp.supported_features.push(f);
    let body: Bytes = resp.encode_to_bytes(3).unwrap();
    let fake_big = fake(Fault::Body(body)).await;
    let r = kwire(&["api-versions", "--bootstrap", &fake_big.addr()]).await;
    assert_eq!(r.code, TOO_LARGE, "{r:?}");
    let fake_stall = fake(Fault::Stall {
        declared: 99 << 20,
        send: 4096,
    })
    .await;
    let r = kwire(&["api-versions", "--bootstrap", &fake_stall.addr()]).await;
    assert_eq!(r.code, TOO_LARGE, "{r:?}");
    assert!(r.took < Duration::from_secs(5), "{r:?}");
}

/// Defect 5: broker text is escaped: no terminal control sequence gets
/// through and a newline in a feature name cannot forge a row.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broker_text_is_escaped() {
    let mut c = FakeConfig::kafka(TABLE.to_vec());
    c.supported = vec![
        ("title\x1b]0;pwned\x07\x1b[2Jclear".into(), 0, 1),
        ("fake\nFetch(1)  0-99  0-99  v99  forged".into(), 0, 1),
        ("rtl\u{202e}txet".into(), 0, 1),
    ];
    c.finalized = vec![("red\x1b[31m".into(), 1)];
    c.finalized_epoch = 3;
    let fake = FakeBroker::start(c).await;
    let addr = fake.addr();
    for args in [
        vec!["api-versions", "--bootstrap", &addr],
        vec!["-vv", "api-versions", "--bootstrap", &addr],
    ] {
        let r = kwire(&args).await;
        assert_eq!(r.code, OK, "{r:?}");
        for (name, out) in [("stdout", &r.stdout), ("stderr", &r.stderr)] {
            let bad: Vec<char> = out
                .chars()
                .filter(|&c| {
                    (c.is_control() && c != '\n') || ('\u{202a}'..='\u{202e}').contains(&c)
                })
                .collect();
            assert!(bad.is_empty(), "{name} carries {bad:?}: {r:?}");
        }
        let forged = r
            .stdout
            .lines()
            .filter(|l| l.contains("forged") && !l.starts_with("  "))
            .count();
        assert_eq!(forged, 0, "a forged row: {r:?}");
        assert!(r.stdout.contains(r"\u{1b}"), "{r:?}");
        assert!(r.stdout.contains(r"\n"), "{r:?}");
    }
}

/// Defect 6: --timeout-ms bounds the TCP connect and the TLS handshake.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn timeout_bounds_connect_and_tls() {
    let full = tokio::net::TcpSocket::new_v4().unwrap();
    full.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let full = full.listen(0).unwrap();
    let full_addr = full.local_addr().unwrap().to_string();
    let _filler = std::net::TcpStream::connect(&full_addr).unwrap();
    let r = kwire(&[
        "api-versions",
        "--bootstrap",
        &full_addr,
        "--timeout-ms",
        "300",
    ])
    .await;
    assert_eq!(r.code, CONNECT, "{r:?}");
    assert!(r.took < Duration::from_secs(5), "{r:?}");

    let silent = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let silent_addr = silent.local_addr().unwrap().to_string();
    let held = tokio::spawn(async move {
        let mut keep = vec![];
        while let Ok((s, _)) = silent.accept().await {
            keep.push(s);
        }
    });
    let r = kwire(&[
        "api-versions",
        "--bootstrap",
        &silent_addr,
        "--tls",
        "--timeout-ms",
        "300",
    ])
    .await;
    assert_eq!(r.code, CONNECT, "{r:?}");
    assert!(r.took < Duration::from_secs(5), "{r:?}");
    held.abort();
}

/// Defect 7: no reply, a truncated reply, a reply to a different request
/// and a reset are told apart, and only "no reply" may use --fallback.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reply_faults_have_their_own_exit_codes() {
    let truncated = fake(Fault::Truncate {
        keep: 10,
        reset: false,
    })
    .await;
    let reset_inside = fake(Fault::Truncate {
        keep: 10,
        reset: true,
    })
    .await;
    let wrong_id = fake(Fault::WrongCorrelation { delta: 7 }).await;
    let silent = fake(Fault::Silent).await;
    let reset = FakeBroker::start(FakeConfig::new(
        ApiVersionsMode::ResetAbove { max: -1 },
        TABLE.to_vec(),
    ))
    .await;
    let closed = FakeBroker::start(FakeConfig::new(
        ApiVersionsMode::CloseAlways,
        TABLE.to_vec(),
    ))
    .await;
    let cases = [
        (&truncated, TRUNCATED, "cut short"),
        (&reset_inside, TRUNCATED, "cut short"),
        (&wrong_id, UNEXPECTED_REPLY, "different request"),
        (&silent, NO_REPLY, "did not answer"),
        (&reset, CLOSED, "reset"),
        (&closed, CLOSED, "closed"),
    ];
    for (f, code, words) in cases {
        let r = kwire(&[
            "api-versions",
            "--bootstrap",
            &f.addr(),
            "--timeout-ms",
            "2000",
        ])
        .await;
        assert_eq!(r.code, code, "{words}: {r:?}");
        assert!(r.stderr.contains(words), "{words}: {r:?}");
        assert!(!r.stderr.contains("no reply (timed out) every"), "{r:?}");
        if code != NO_REPLY && code != CLOSED {
            assert!(!r.stderr.contains("before 0.10"), "{words}: {r:?}");
            // Told at once, not after three deadlines.
            assert!(r.took < Duration::from_secs(5), "{words}: {r:?}");
        }
        // With fallback versions: only a broker that never answered gets them.
        let r = kwire(&[
            "api-versions",
            "--bootstrap",
            &f.addr(),
            "--timeout-ms",
            "300",
            "--fallback",
            "Metadata=0",
        ])
        .await;
        if code == NO_REPLY || code == CLOSED {
            assert_eq!(r.code, OK, "{words} with --fallback: {r:?}");
            assert!(r.stdout.contains("fallback"), "{r:?}");
        } else {
            assert_eq!(r.code, code, "{words} with --fallback: {r:?}");
            assert!(!r.stdout.contains("fallback"), "{r:?}");
        }
    }
}
