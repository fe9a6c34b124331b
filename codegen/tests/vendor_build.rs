//! Vendored output that the example crate does not exercise (the broker
//! side, both sides, serde, a data message) compiled and run in a scratch
//! crate that depends on the `kwire` runtime alone (`default-features =
//! false`), as a user's crate would: a module that only writes the code is
//! not enough, the output must build and round-trip.
//!
//! The scratch crate vendors the same three APIs twice: `broker` (request
//! decoders and response encoders, no serde) and `both` (every codec, serde,
//! `ConsumerProtocolAssignment`). Its `main` sends bytes from one module to
//! the other in each direction and through JSON, and exits non-zero on any
//! mismatch.

mod support;

use std::path::Path;
use std::process::Command;

use kwire_codegen::{Builder, Side};

const APIS: [&str; 3] = ["ApiVersions", "Metadata", "Produce"];

const MAIN: &str = r#"
#[rustfmt::skip]
#[path = "broker/mod.rs"]
mod broker;
#[rustfmt::skip]
#[path = "both/mod.rs"]
mod both;

use kwire::{ApiKey, Bytes, Message, Request, StrBytes};

fn check(what: &str, ok: bool) {
    if !ok {
        eprintln!("FAILED: {what}");
        std::process::exit(1);
    }
    println!("ok: {what}");
}

fn main() {
    // A client's request (the `both` module encodes it) read by the broker side.
    let mut req = both::messages::ApiVersionsRequest::default();
    req.client_software_name = StrBytes::from_static("vendor-check");
    req.client_software_version = StrBytes::from_static("1.0");
    let bytes = req.encode_to_bytes(3).expect("v3 encodes");
    let got = broker::messages::ApiVersionsRequest::decode_bytes(bytes, 3).expect("v3 decodes");
    check("broker decodes the client's ApiVersions v3", &got.client_software_name[..] == "vendor-check"
        && &got.client_software_version[..] == "1.0");
    check("header versions come from the runtime",
        broker::messages::ApiVersionsRequest::request_header_version(3) == 2
        && <broker::messages::ApiVersionsRequest as Request>::API_KEY == ApiKey::API_VERSIONS);

    // The broker side's response, decoded by the client side.
    let mut resp = broker::messages::ApiVersionsResponse::default();
    let mut k = broker::messages::api_versions_response::ApiVersion::default();
    k.api_key = ApiKey::PRODUCE.0;
    k.min_version = 3;
    k.max_version = 13;
    resp.api_keys.push(k);
    resp.throttle_time_ms = 7;
    for v in [0i16, 3, 4] {
        let bytes = resp.encode_to_bytes(v).expect("encodes");
        check(&format!("encoded_len matches at v{v}"), resp.encoded_len(v).expect("len") == bytes.len());
        let back = both::messages::ApiVersionsResponse::decode_bytes(bytes, v).expect("decodes");
        check(&format!("ApiVersionsResponse v{v} broker -> client"),
            back.api_keys.len() == 1 && back.api_keys[0].max_version == 13
            && back.throttle_time_ms == if v == 0 { 0 } else { 7 });
    }

    // Produce, request side, both directions across the modules.
    let mut p = broker::messages::ProduceRequest::default();
    p.acks = -1;
    p.timeout_ms = 1500;
    let mut t = broker::messages::produce_request::TopicProduceData::default();
    t.name = StrBytes::from_static("orders");
    let mut part = broker::messages::produce_request::PartitionProduceData::default();
    part.index = 2;
    part.records = Some(Bytes::from_static(b"not a real batch"));
    t.partition_data.push(part);
    p.topic_data.push(t);
    let mut c = both::messages::ProduceRequest::default();
    c.acks = p.acks;
    c.timeout_ms = p.timeout_ms;
    let mut ct = both::messages::produce_request::TopicProduceData::default();
    ct.name = StrBytes::from_static("orders");
    let mut cp = both::messages::produce_request::PartitionProduceData::default();
    cp.index = 2;
    cp.records = Some(Bytes::from_static(b"not a real batch"));
    ct.partition_data.push(cp);
    c.topic_data.push(ct);
    let wire = c.encode_to_bytes(9).expect("v9 encodes");
    let read = broker::messages::ProduceRequest::decode_bytes(wire, 9).expect("v9 decodes");
    check("ProduceRequest v9 client -> broker", read == p);

    // Dispatch of the broker-side module decodes requests by api key.
    let body = c.encode_to_bytes(9).expect("v9 encodes");
    let mut r = kwire::wire::Reader::new(body);
    let any = broker::dispatch::RequestKind::decode(ApiKey::PRODUCE, 9, &mut r).expect("dispatch");
    check("broker dispatch decodes Produce", any.api_key() == ApiKey::PRODUCE);

    // serde: Kafka's JSON field names, and back.
    let json = serde_json::to_value(&c).expect("to json");
    check("JSON uses Kafka's field names", json["timeoutMs"] == 1500 && json["topicData"][0]["name"] == "orders");
    let back: both::messages::ProduceRequest = serde_json::from_value(json).expect("from json");
    check("ProduceRequest JSON round trip", back == c);
    let any = both::dispatch::RequestKind::Produce(c.clone());
    let j = any.to_json().expect("dispatch to json");
    let again = both::dispatch::RequestKind::from_json(ApiKey::PRODUCE, j).expect("dispatch from json");
    check("dispatch JSON round trip", matches!(again, both::dispatch::RequestKind::Produce(ref x) if *x == c));

    // A data message: either side encodes and decodes it.
    let mut a = both::messages::ConsumerProtocolAssignment::default();
    let mut tp = both::messages::consumer_protocol_assignment::TopicPartition::default();
    tp.topic = StrBytes::from_static("orders");
    tp.partitions = vec![0, 2];
    a.assigned_partitions.push(tp);
    for v in [0i16, 3] {
        let bytes = a.encode_to_bytes(v).expect("encodes");
        let back = both::messages::ConsumerProtocolAssignment::decode_bytes(bytes, v).expect("decodes");
        check(&format!("ConsumerProtocolAssignment v{v} round trip"), back == a);
    }

    // Bad input is an error, not a panic.
    check("truncated request is an error",
        broker::messages::ProduceRequest::decode_bytes(Bytes::from_static(&[0, 0, 0]), 9).is_err());
}
"#;

fn write_crate(dir: &Path) {
    let root = support::repo_root();
    let manifest = format!(
        "[package]\nname = \"kwire-vendor-build-check\"\nversion = \"0.0.0\"\nedition = \"2021\"\npublish = false\n\n\
         [workspace]\n\n[dependencies]\n\
         kwire = {{ path = {:?}, default-features = false, features = [\"serde\"] }}\n\
         serde = {{ version = \"1\", features = [\"derive\"] }}\nserde_json = \"1\"\n",
        root.display().to_string()
    );
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(dir.join("Cargo.toml"), manifest).unwrap();
    // The workspace's lock keeps the scratch build offline and on the
    // versions the repository tests.
    std::fs::copy(root.join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
    std::fs::write(dir.join("src/main.rs"), MAIN).unwrap();
    Builder::kafka_release("4.4.0")
        .apis(APIS)
        .side(Side::Broker)
        .out_dir(dir.join("src/broker"))
        .generate()
        .unwrap();
    Builder::kafka_release("4.4.0")
        .apis(APIS)
        .message("ConsumerProtocolAssignment")
        .side(Side::Both)
        .serde(true)
        .out_dir(dir.join("src/both"))
        .generate()
        .unwrap();
}

#[test]
fn broker_side_and_serde_output_builds_against_the_runtime_and_round_trips() {
    let tmp = tempfile::tempdir().unwrap();
    write_crate(tmp.path());
    let out = Command::new(env!("CARGO"))
        .args(["run", "--quiet", "--offline"])
        .current_dir(tmp.path())
        // A target directory of its own (kept warm across runs) so this
        // build never waits on the lock of the one running the tests.
        .env(
            "CARGO_TARGET_DIR",
            support::repo_root().join("target/vendor-check"),
        )
        .env_remove("RUSTFLAGS")
        .env_remove("CARGO_BUILD_RUSTFLAGS")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "the vendored scratch crate failed to build or its round trips failed:\n{stdout}\n{stderr}"
    );
    assert!(!stdout.contains("FAILED"), "{stdout}");
    // Every check in main ran (an early exit would print fewer).
    assert_eq!(stdout.matches("ok: ").count(), 16, "{stdout}");
}
