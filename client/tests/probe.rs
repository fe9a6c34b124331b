//! `kwire probe` against a REAL Apache Kafka 4.4.0 broker (started by the
//! test through testsupport/kafka/broker, stopped from a Drop guard): every
//! client-facing version the broker advertises is sent a harmless request
//! at exactly that version and must be accepted (a well-formed reply at
//! that version, an error code inside allowed). Without java/mvn the test
//! fails with the command to run.

mod support;

use std::process::Command;

use serde_json::Value;
use support::kafka::{lock, KafkaBroker};

#[test]
fn kafka_4_4_0_accepts_every_advertised_version() {
    let _l = lock();
    let kafka = KafkaBroker::start("4.4.0", None);
    let out = Command::new(env!("CARGO_BIN_EXE_kwire"))
        .args(["probe", "-b", &kafka.bootstrap, "--json"])
        .env_remove("RUST_LOG")
        .output()
        .expect("run kwire");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    // Kafka 4.x still advertises Produce v0-2 although KIP-896 removed
    // them (KAFKA-18659: librdkafka refuses to produce compressed records
    // to a broker that does not list Produce v0) and closes the connection
    // on each: exactly the advertised-but-rejected case the probe exists
    // for. Those three, and nothing else, are rejected (exit 13).
    assert_eq!(out.status.code(), Some(13), "{stdout}\n{stderr}");
    assert!(stderr.contains("versions"), "progress on stderr: {stderr}");
    let doc: Value = serde_json::from_str(&stdout).expect("JSON");
    assert_eq!(doc["rejected"], 3, "{doc:#}");
    let rows = doc["versions"].as_array().expect("versions");
    let status = |api: &str, v: i64| -> String {
        rows.iter()
            .find(|r| r["api"] == api && r["version"] == v)
            .unwrap_or_else(|| panic!("{api} v{v} not in the report"))["status"]
            .as_str()
            .unwrap_or("")
            .to_string()
    };
    for v in 0..=13 {
        assert_eq!(status("Metadata", v), "accepted", "Metadata v{v}");
    }
    for v in 0..=5 {
        assert_eq!(status("ApiVersions", v), "accepted", "ApiVersions v{v}");
    }
    for v in 0..=2 {
        assert_eq!(status("Produce", v), "rejected", "Produce v{v}");
    }
    for v in 3..=13 {
        assert_eq!(status("Produce", v), "accepted", "Produce v{v}");
    }
    // An empty group id: refused inside a well-formed reply = accepted.
    let join = rows
        .iter()
        .find(|r| r["api"] == "JoinGroup" && r["version"] == 9)
        .expect("JoinGroup v9");
    assert_eq!(join["status"], "accepted");
    assert!(
        join["detail"]
            .as_str()
            .unwrap_or("")
            .contains("INVALID_GROUP_ID"),
        "{join}"
    );
    let mut accepted = 0;
    for r in rows {
        match r["status"].as_str() {
            Some("accepted") => accepted += 1,
            Some("rejected") if r["api"] == "Produce" && r["version"].as_i64() < Some(3) => {}
            Some("not_probed") => {
                let why = r["detail"].as_str().unwrap_or("");
                assert!(
                    why == "not on the harmless list"
                        || why == "outside this build's versions"
                        || why.starts_with("v4+ is the inter-broker form"),
                    "{r}"
                );
            }
            _ => panic!("neither accepted nor deliberately skipped: {r}"),
        }
    }
    assert!(accepted >= 240, "{accepted} versions accepted");
}

/// tansu advertises more than it takes: the probe's report of it, on the
/// parts that do not depend on tansu's exact build.
#[test]
fn tansu_report() {
    let t = support::peers::Tansu::start();
    let out = Command::new(env!("CARGO_BIN_EXE_kwire"))
        .args(["probe", "-b", &t.addr, "--json", "--timeout-ms", "3000"])
        .env_remove("RUST_LOG")
        .output()
        .expect("run kwire");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let doc: Value = serde_json::from_str(&stdout).expect("JSON");
    let rows = doc["versions"].as_array().expect("versions");
    let accepted = |api: &str, v: i64| {
        rows.iter()
            .any(|r| r["api"] == api && r["version"] == v && r["status"] == "accepted")
    };
    assert!(accepted("ApiVersions", 0), "{stderr}");
    assert!(accepted("Metadata", 1), "{stderr}");
    // tansu (the build tests/peers/install.sh pins) answers an empty
    // CreateAcls with a null Results array, which no version allows, and
    // closes the connection on JoinGroup and EndTxn with empty ids: the
    // probe reports those versions as rejected and exits 13.
    let status = |api: &str, v: i64| -> (String, String) {
        let r = rows
            .iter()
            .find(|r| r["api"] == api && r["version"] == v)
            .unwrap_or_else(|| panic!("{api} v{v} not in the report"));
        (
            r["status"].as_str().unwrap_or("").to_string(),
            r["detail"].as_str().unwrap_or("").to_string(),
        )
    };
    for v in 1..=3 {
        let (s, why) = status("CreateAcls", v);
        assert_eq!(s, "rejected", "CreateAcls v{v}: {why}");
        assert!(why.contains("does not decode"), "{why}");
    }
    let (s, why) = status("JoinGroup", 5);
    assert_eq!(s, "rejected", "{why}");
    assert!(why.starts_with("closed"), "{why}");
    let rejected = doc["rejected"].as_u64().unwrap_or(0);
    assert!(rejected >= 4, "{doc:#}");
    assert_eq!(out.status.code(), Some(13), "{stderr}");
    assert!(
        stderr.contains(&format!("{rejected} advertised version(s) rejected")),
        "{stderr}"
    );
}
