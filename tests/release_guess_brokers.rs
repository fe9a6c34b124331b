//! The release guess against real peers: every Apache Kafka release of the
//! broker matrix must be named exactly from its own ApiVersions answer
//! (read with kwire's codecs over a TcpStream), its SupportedFeatures must
//! be the levels `schemas/history/features.toml` records for its line, and
//! librdkafka's mock cluster and tansu (Kafka-compatible, not Apache Kafka)
//! must get a sensible answer that does not claim a release.
//!
//! CI guesses 4.4.0, 3.8.1 and 2.3.1 (the newest, a 3.x with ZooKeeper
//! gone from the guess, the oldest); 4.0.2, 3.9.2 and 2.8.2 are the long
//! variant (`KWIRE_LONG=1`).
//!
//! Brokers start one at a time (testsupport/kafka/broker; a JDK, mvn and
//! Maven Central or a warm cache); the peers come from
//! `bash client/tests/peers/install.sh`. Missing either fails the test.

#[path = "support/exercised.rs"]
mod exercised;
#[path = "support/kafka.rs"]
mod kafka;
#[allow(dead_code)]
#[path = "../client/tests/support/peers.rs"]
mod peers;

use kafka::{advertised, api_versions_request, lock, Broker, Conn, UNSUPPORTED_VERSION};
use kwire::messages::ApiVersionsResponse;
use kwire::release::{guess, Guess, Verdict};
use kwire::{ApiKey, KafkaRelease, Message};

/// ApiVersions as a client negotiates it (KIP-511): kwire's highest version; on error 35 the
/// body is read as v0 and the request retried at the broker's ApiVersions maximum, or at v0 when
/// the broker lists none (before 2.4) or the body is not valid v0 (librdkafka's mock).
fn api_versions(c: &mut Conn) -> (ApiVersionsResponse, i16) {
    let mut v = ApiKey::API_VERSIONS.versions().expect("ApiVersions").max;
    for _ in 0..3 {
        let raw = c.call_raw(&api_versions_request(), v);
        if let Ok(r) = ApiVersionsResponse::decode_bytes(raw.clone(), v) {
            if r.error_code == 0 {
                c.exercised.push((ApiKey::API_VERSIONS.0, v));
                return (r, v);
            }
        }
        let next = match ApiVersionsResponse::decode_bytes(raw, 0) {
            Ok(r) if r.error_code == UNSUPPORTED_VERSION => r
                .api_keys
                .iter()
                .find(|k| k.api_key == ApiKey::API_VERSIONS.0)
                .map_or(0, |k| k.max_version.min(v - 1)),
            _ => 0,
        };
        assert!(
            next < v,
            "ApiVersions v{v} failed and no lower version is left"
        );
        v = next;
    }
    panic!("ApiVersions did not settle in three tries");
}

fn guess_broker(release: &str) {
    let _one = lock();
    let broker = Broker::start(release);
    let mut c = broker.connect();
    let (resp, v) = api_versions(&mut c);
    let adv = advertised(&resp, v);
    let g = guess(&adv);
    eprintln!("{release} (ApiVersions v{v}): {}", g.explain());
    let want: KafkaRelease = release.parse().expect("release");
    // The matrix's patch releases carry their line's newest table (4.0.2 has JoinGroup v0 again).
    assert_eq!(
        g.verdict,
        Verdict::Exact(want.line()),
        "{release}: {}",
        g.explain()
    );
    // The feature levels the broker supports are the ones recorded for its line.
    let mut seen = 0;
    for f in &resp.supported_features {
        if f.name.starts_with("test.") {
            continue;
        }
        let ours = want.feature(&f.name).unwrap_or_else(|| {
            panic!(
                "{release} supports {:?}, not recorded for {}",
                f.name,
                want.line()
            )
        });
        assert_eq!(
            (f.min_version, f.max_version),
            (ours.min, ours.max),
            "{release} {}",
            f.name
        );
        seen += 1;
    }
    if v >= 3 {
        // Brokers leave out a feature whose only production level is 0 (3.9's transaction.version),
        // and below ApiVersions v4 every feature whose minimum is 0.
        let recorded = want
            .features()
            .filter(|f| f.max > 0 && (v >= 4 || f.min > 0))
            .count();
        assert_eq!(
            seen, recorded,
            "{release} (v{v}): {:?}",
            resp.supported_features
        );
    }
    exercised::check(
        "release_guess_brokers",
        &format!("guess_{}", release.replace('.', "_")),
        release,
        &c.exercised,
    );
}

#[test]
fn guess_4_4_0() {
    guess_broker("4.4.0");
}

#[test]
#[ignore = "long: KWIRE_LONG=1 scripts/test.sh runs it (one more broker start)"]
fn guess_4_0_2() {
    guess_broker("4.0.2");
}

#[test]
#[ignore = "long: KWIRE_LONG=1 scripts/test.sh runs it (one more broker start)"]
fn guess_3_9_2() {
    guess_broker("3.9.2");
}

#[test]
fn guess_3_8_1() {
    guess_broker("3.8.1");
}

#[test]
#[ignore = "long: KWIRE_LONG=1 scripts/test.sh runs it (one more broker start)"]
fn guess_2_8_2() {
    guess_broker("2.8.2");
}

#[test]
fn guess_2_3_1() {
    guess_broker("2.3.1");
}

fn not_a_release(who: &str, g: &Guess) {
    eprintln!("{who}: {}", g.explain());
    assert!(
        matches!(g.verdict, Verdict::NotApacheKafka { closest: Some(_) }),
        "{who} is not Apache Kafka: {}",
        g.explain()
    );
    assert!(
        g.reasons.iter().any(|r| r.contains("closest")),
        "{}",
        g.explain()
    );
}

#[test]
fn librdkafka_mock_is_not_taken_for_a_release() {
    for lib in [peers::Librdkafka::V2_0, peers::Librdkafka::V2_16] {
        let mock = peers::MockCluster::start(lib, 1, &[]);
        let mut c = Conn::to(&mock.bootstrap[0]);
        let (resp, v) = api_versions(&mut c);
        not_a_release(
            &format!("librdkafka {} mock", mock.version),
            &guess(&advertised(&resp, v)),
        );
    }
}

#[test]
fn tansu_is_not_taken_for_a_release() {
    let t = peers::Tansu::start();
    let mut c = Conn::to(&t.addr);
    let (resp, v) = api_versions(&mut c);
    not_a_release("tansu", &guess(&advertised(&resp, v)));
}
