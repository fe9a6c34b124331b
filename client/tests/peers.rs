//! Negotiation against real peers: librdkafka's mock cluster (2.0.2 and
//! 2.16.0) and tansu. Peers are installed by client/tests/peers/install.sh;
//! a missing peer fails the test with that command.

mod support;

use std::sync::Arc;
use std::time::Duration;

use kwire::messages::fetch_request::{FetchPartition, FetchTopic};
use kwire::messages::metadata_request::MetadataRequestTopic;
use kwire::messages::{FetchRequest, MetadataRequest};
use kwire::{ApiKey, VersionRange};
use kwire_client::protocol::negotiate::NegotiationError;
use kwire_client::{Broker, ClientConfig, ClientError, ConnError, SendOptions, TableSource};
use support::peers::{Librdkafka, MockCluster, Tansu};

fn our_api_versions_max() -> i16 {
    ApiKey::API_VERSIONS.versions().unwrap().max
}

fn broker(addr: &str) -> Broker {
    let mut c = ClientConfig::default();
    c.conn.request_timeout = Duration::from_secs(5);
    c.api_versions_timeout = Duration::from_secs(5);
    Broker::new(addr, None, Arc::new(c))
}

fn metadata(topic: &str) -> MetadataRequest {
    let mut m = MetadataRequest::default();
    let mut t = MetadataRequestTopic::default();
    t.name = Some(topic.into());
    m.topics = Some(vec![t]);
    m
}

fn fetch(topic: &str) -> FetchRequest {
    let mut r = FetchRequest::default();
    r.replica_id = -1;
    r.max_wait_ms = 0;
    r.min_bytes = 1;
    r.max_bytes = 1 << 20;
    let mut t = FetchTopic::default();
    t.topic = topic.into();
    let mut p = FetchPartition::default();
    p.partition = 0;
    p.partition_max_bytes = 1 << 20;
    t.partitions.push(p);
    r.topics.push(t);
    r
}

const BOTH: [Librdkafka; 2] = [Librdkafka::V2_0, Librdkafka::V2_16];

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mock_negotiation_through_the_malformed_error_35() {
    for lib in BOTH {
        let mock = MockCluster::start(lib, 1, &[]);
        let b = broker(&mock.bootstrap[0]);
        let n = b
            .connection()
            .await
            .unwrap_or_else(|e| panic!("{lib:?}: {e}"));
        // Our max, answered with the mock's not-v0 error body, then v0 on
        // the same connection.
        assert_eq!(n.api_versions_sent, Some(0), "{lib:?}");
        assert_eq!(n.attempts.len(), 2, "{lib:?} {:?}", n.attempts);
        assert!(
            n.attempts[0].result.contains("not valid v0"),
            "{:?}",
            n.attempts
        );
        assert!(n.attempts.iter().all(|a| a.connection == 1));
        assert_eq!(
            mock.received("ApiVersion"),
            vec![our_api_versions_max(), 0],
            "{lib:?}"
        );
        assert_eq!(
            n.versions.get(ApiKey::API_VERSIONS),
            Some(VersionRange::new(0, 2))
        );
        let produce = n.versions.get(ApiKey::PRODUCE).expect("Produce advertised");
        match lib {
            Librdkafka::V2_0 => assert_eq!(produce, VersionRange::new(0, 7)),
            Librdkafka::V2_16 => assert_eq!(produce, VersionRange::new(0, 10)),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mock_restricted_fetch_and_metadata_get_the_versions_we_chose() {
    for lib in BOTH {
        let mut mock = MockCluster::start(lib, 1, &["1:0:7", "3:0:2"]);
        if lib == Librdkafka::V2_16 {
            mock.cmd("T");
        }
        let b = broker(&mock.bootstrap[0]);
        let md = b
            .send_with(&metadata("kw1"), &SendOptions::default())
            .await
            .unwrap();
        assert_eq!(md.version, 2, "{lib:?}");
        assert!(
            md.response
                .topics
                .iter()
                .any(|t| t.name.as_deref() == Some("kw1")),
            "{lib:?}: {:?}",
            md.response
        );
        let f = b
            .send_with(&fetch("kw1"), &SendOptions::default())
            .await
            .unwrap();
        assert_eq!(f.version, 7, "{lib:?}");
        assert_eq!(f.response.responses.len(), 1, "{lib:?}");
        // The mock's own log says what it received.
        assert_eq!(mock.received("Metadata"), vec![2], "{lib:?}");
        assert_eq!(mock.received("Fetch"), vec![7], "{lib:?}");
        // Narrow further at run time: Fetch 0..4.
        mock.cmd("a 1:0:4");
        b.disconnect().await;
        let f = b
            .send_with(&fetch("kw1"), &SendOptions::default())
            .await
            .unwrap();
        assert_eq!(f.version, 4);
        assert_eq!(mock.received("Fetch"), vec![7, 4]);
        if lib == Librdkafka::V2_16 {
            // Request tracking agrees on the api keys (it has no versions).
            let reqs = mock.cmd("R");
            let keys: Vec<i16> = reqs
                .iter()
                .filter_map(|l| l.strip_prefix("req "))
                .filter_map(|l| l.split(' ').nth(1)?.parse().ok())
                .collect();
            assert_eq!(keys.iter().filter(|&&k| k == 1).count(), 2, "{reqs:?}");
            assert_eq!(keys.iter().filter(|&&k| k == 3).count(), 1, "{reqs:?}");
        }
        // Fetch 0..3, the versions Kafka 4.0 removed (KIP-896): kwire still
        // speaks them (historic codecs) and goes down to v3.
        mock.cmd("a 1:0:3");
        b.disconnect().await;
        let f = b
            .send_with(&fetch("kw1"), &SendOptions::default())
            .await
            .unwrap();
        assert_eq!(f.version, 3);
        assert_eq!(mock.received("Fetch"), vec![7, 4, 3], "{lib:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mock_injected_unsupported_version_on_api_versions() {
    for lib in BOTH {
        let mut mock = MockCluster::start(lib, 1, &[]);
        // The first error goes to our v5 (rejected anyway), the second to
        // v0: error 35 to v0 has nothing lower to go to.
        mock.cmd("e 18:UNSUPPORTED_VERSION,UNSUPPORTED_VERSION");
        let b = broker(&mock.bootstrap[0]);
        match b.connection().await {
            Err(ClientError::Negotiation { source, .. }) => {
                assert!(
                    matches!(*source, NegotiationError::UnsupportedAtV0 { .. }),
                    "{lib:?}: {source}"
                )
            }
            other => panic!("{lib:?}: {other:?}"),
        }
        assert_eq!(mock.received("ApiVersion"), vec![our_api_versions_max(), 0]);
        // The stack is empty now: the next connection negotiates.
        let n = b.connection().await.unwrap();
        assert_eq!(n.api_versions_sent, Some(0));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mock_injected_transport_error_on_api_versions_reconnects() {
    for lib in BOTH {
        let mut mock = MockCluster::start(lib, 1, &[]);
        mock.cmd("e 18:_TRANSPORT");
        let b = broker(&mock.bootstrap[0]);
        let n = b
            .connection()
            .await
            .unwrap_or_else(|e| panic!("{lib:?}: {e}"));
        let max = our_api_versions_max();
        assert_eq!(mock.received("ApiVersion"), vec![max, max, 0], "{lib:?}");
        let conns: Vec<u32> = n.attempts.iter().map(|a| a.connection).collect();
        assert_eq!(conns, vec![1, 2, 2], "{:?}", n.attempts);
        assert_eq!(n.api_versions_sent, Some(0));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mock_broker_set_down_and_up() {
    for lib in BOTH {
        let mut mock = MockCluster::start(lib, 2, &[]);
        let b1 = broker(&mock.bootstrap[0]);
        let b2 = broker(&mock.bootstrap[1]);
        b1.send(&metadata("kw2")).await.unwrap();
        mock.cmd("d 1");
        // Broker 1's connection is dropped and new ones are refused;
        // broker 2 is unaffected.
        let e = loop {
            match b1.send(&metadata("kw2")).await {
                Ok(_) => tokio::time::sleep(Duration::from_millis(50)).await,
                Err(e) => break e,
            }
        };
        assert!(
            matches!(
                e,
                ClientError::Conn(ConnError::Connect { .. })
                    | ClientError::ClosedAfterRequest { .. }
            ),
            "{lib:?}: {e:?}"
        );
        assert!(matches!(
            b1.connection().await,
            Err(ClientError::Conn(ConnError::Connect { .. }))
        ));
        b2.send(&metadata("kw2")).await.unwrap();
        mock.cmd("u 1");
        let md = b1
            .send_with(&metadata("kw2"), &SendOptions::default())
            .await
            .unwrap();
        assert!(md.generation >= 2, "reconnected and renegotiated");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tansu_negotiation_with_its_api_versions_answers() {
    let tansu = Tansu::start();
    let b = broker(&tansu.addr);
    let n = b.connection().await.unwrap();
    // tansu answers any ApiVersions version with error 0 and a v3-shaped
    // body: accepted on the first attempt.
    let max = our_api_versions_max();
    assert_eq!(n.attempts.len(), 1, "{:?}", n.attempts);
    match n.versions.source {
        TableSource::ApiVersions { sent, decoded_at } => {
            assert_eq!(sent, max);
            assert!(decoded_at >= 3);
        }
        ref o => panic!("{o:?}"),
    }
    assert!(n.versions.apis().count() >= 35, "{:?}", n.versions);
    assert_eq!(
        n.versions.get(ApiKey::FETCH),
        Some(VersionRange::new(0, 17))
    );
    assert_eq!(
        n.versions.get(ApiKey::METADATA),
        Some(VersionRange::new(0, 12))
    );
    assert_eq!(n.versions.finalized_epoch, None);
    let md = b
        .send_with(&metadata("kwt"), &SendOptions::default())
        .await
        .unwrap();
    assert_eq!(md.version, 12);
    assert!(!md.response.brokers.is_empty(), "{:?}", md.response);
    // Capping ApiVersions: sent at 4, same table.
    let mut c = ClientConfig::default().cap(ApiKey::API_VERSIONS, 4);
    c.conn.request_timeout = Duration::from_secs(5);
    let b4 = Broker::new(&tansu.addr, None, Arc::new(c));
    let n4 = b4.connection().await.unwrap();
    assert_eq!(n4.api_versions_sent, Some(4));
    assert_eq!(
        n4.versions.get(ApiKey::FETCH),
        n.versions.get(ApiKey::FETCH)
    );
}

fn kwire_cli(args: &[&str]) -> (bool, String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kwire"))
        .args(args)
        .output()
        .expect("run kwire");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn row<'a>(out: &'a str, api: &str) -> &'a str {
    out.lines()
        .find(|l| l.starts_with(api))
        .unwrap_or_else(|| panic!("no {api} row in:\n{out}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_api_versions_against_the_mock() {
    let mock = MockCluster::start(Librdkafka::V2_16, 1, &["1:0:7", "3:0:2"]);
    let (ok, out, err) = kwire_cli(&["api-versions", "--bootstrap", &mock.bootstrap[0], "-v"]);
    assert!(ok, "{out}\n{err}");
    assert!(out.contains("ApiVersions v0"), "{out}");
    assert!(out.contains("not valid v0"), "{out}");
    let fetch = row(&out, "Fetch(1)");
    assert!(
        fetch.contains("0-7") && fetch.contains("0-18") && fetch.contains("v7"),
        "{fetch}"
    );
    let md = row(&out, "Metadata(3)");
    assert!(md.contains("v2") && md.contains("broker 0-2"), "{md}");
    assert!(out.contains("finalized features: none reported"), "{out}");
    // Decisions are tracing events on stderr.
    assert!(err.contains("ApiVersions negotiated"), "{err}");
    // A cap shows up in the reasoning.
    let (ok, out, _) = kwire_cli(&["api-versions", "-b", &mock.bootstrap[0], "--cap", "fetch=5"]);
    assert!(ok);
    let fetch = row(&out, "Fetch(1)");
    assert!(
        fetch.contains("v5") && fetch.contains("user cap <= 5"),
        "{fetch}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_api_versions_against_tansu() {
    let tansu = Tansu::start();
    let (ok, out, err) = kwire_cli(&["api-versions", "--bootstrap", &tansu.addr]);
    assert!(ok, "{out}\n{err}");
    let max = our_api_versions_max();
    assert!(out.contains(&format!("ApiVersions v{max}")), "{out}");
    let fetch = row(&out, "Fetch(1)");
    assert!(fetch.contains("0-17") && fetch.contains("v17"), "{fetch}");
    let produce = row(&out, "Produce(0)");
    assert!(
        produce.contains("0-11") && produce.contains("v11"),
        "{produce}"
    );
    assert!(out.contains("transaction.version = 0"), "{out}");
}

#[test]
fn cli_reports_a_dead_broker_and_fails() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .unwrap()
        .port();
    let (ok, out, err) = kwire_cli(&["api-versions", "-b", &format!("127.0.0.1:{port}")]);
    assert!(!ok);
    // Reports go to stdout, failures to stderr.
    assert!(out.is_empty(), "{out}");
    assert!(err.contains("cannot connect"), "{err}");
    assert!(err.contains("negotiation failed"), "{err}");
}
