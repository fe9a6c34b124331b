//! The release guess on synthetic tables: every release line's own table,
//! as each role of its brokers advertises it, must come back as that line;
//! tables no release has must not be taken for one.

use kwire::release::{guess, Advertised, Role, Verdict};
use kwire::{ApiKey, KafkaRelease};

const ROLES: [Role; 4] = [
    Role::KRaftBroker,
    Role::ZooKeeper,
    Role::KRaftController,
    Role::Schema,
];

fn without_features(adv: &Advertised) -> Advertised {
    let mut a = Advertised::new();
    for (k, v) in adv.apis() {
        a.api(k, v.min, v.max);
    }
    a
}

/// Pairs of consecutive lines whose tables are identical in a role, so only
/// feature levels (ApiVersions v3+) tell them apart:
/// * KRaft broker 3.3 / 3.4: 3.4 changed only ZooKeeper-mode keys (LeaderAndIsr v7, StopReplica
///   v4, UpdateMetadata v8, KIP-866) and the controller's BrokerRegistration v1;
/// * KRaft controller 3.7 / 3.8: 3.8's changes are all broker-listener keys;
/// * 4.4 / next: trunk declares the same API table as 4.4 so far.
const TWINS: [(Role, &str, &str); 5] = [
    (Role::KRaftBroker, "3.3", "3.4"),
    (Role::KRaftController, "3.7", "3.8"),
    (Role::KRaftBroker, "4.4", "next"),
    (Role::KRaftController, "4.4", "next"),
    (Role::Schema, "4.4", "next"),
];

fn twin(role: Role, r: KafkaRelease) -> Option<(KafkaRelease, KafkaRelease)> {
    TWINS.iter().find_map(|(ro, a, b)| {
        let (a, b): (KafkaRelease, KafkaRelease) = (a.parse().unwrap(), b.parse().unwrap());
        (*ro == role && (r == a || r == b)).then_some((a, b))
    })
}

#[test]
fn every_line_and_role_is_guessed_exactly() {
    let mut checked = 0;
    for r in KafkaRelease::lines().filter(|r| r.has_api_versions()) {
        for role in ROLES {
            let adv = Advertised::of_release(r, role);
            if adv.apis().next().is_none() {
                continue;
            }
            checked += 1;
            let g = guess(&adv);
            let g_plain = guess(&without_features(&adv));
            let explain = g.explain();
            match twin(role, r) {
                // Feature levels single out every released line; trunk has none recorded.
                Some((a, b)) if r.is_next() || b.is_next() && r.features().next().is_none() => {
                    assert_eq!(
                        g.verdict,
                        Verdict::OneOf {
                            oldest: a,
                            newest: b
                        },
                        "{r} {role}: {explain}"
                    );
                }
                Some((a, b)) => {
                    assert_eq!(
                        g.verdict,
                        Verdict::Exact(r),
                        "{r} {role} with features: {explain}"
                    );
                    assert_eq!(
                        g_plain.verdict,
                        Verdict::OneOf {
                            oldest: a,
                            newest: b
                        },
                        "{r} {role} without features: {}",
                        g_plain.explain()
                    );
                }
                None => {
                    assert_eq!(g.verdict, Verdict::Exact(r), "{r} {role}: {explain}");
                    assert_eq!(
                        g_plain.verdict,
                        Verdict::Exact(r),
                        "{r} {role} without features: {}",
                        g_plain.explain()
                    );
                }
            }
            assert_eq!(g.compared, adv.apis().count());
            assert!(!g.reasons.is_empty(), "{r} {role}: no reasons");
        }
    }
    // 0.10.0 ... 2.7: ZooKeeper + schema; 2.8 ... 3.9: four roles; 4.x and next: three.
    assert!(checked > 80, "only {checked} tables checked");
}

#[test]
fn exact_guesses_name_the_keys_that_rule_out_the_neighbours() {
    let g = guess(&Advertised::of_release(
        KafkaRelease::V3_8,
        Role::KRaftBroker,
    ));
    assert_eq!(g.verdict, Verdict::Exact(KafkaRelease::V3_8));
    assert_eq!(g.role, Some(Role::KRaftBroker));
    let text = g.explain();
    assert!(text.contains("not 3.7:"), "{text}");
    assert!(text.contains("not 3.9:"), "{text}");
    // 3.9 raised Fetch to v17 (KIP-853's replica directory id came with 3.9's ReplicaState).
    assert!(
        text.contains("Fetch (1): broker max 16, 3.9 max 17"),
        "{text}"
    );
}

#[test]
fn a_patch_release_is_told_apart_by_its_minimums() {
    // 4.0.0 shipped JoinGroup 2-9; 4.0.1 re-added v0-v1 (KAFKA-19444).
    let v400: KafkaRelease = "4.0.0".parse().unwrap();
    let g = guess(&Advertised::of_release(v400, Role::KRaftBroker));
    assert_eq!(g.verdict, Verdict::Exact(v400), "{}", g.explain());
    let g = guess(&Advertised::of_release(
        KafkaRelease::V4_0,
        Role::KRaftBroker,
    ));
    assert_eq!(
        g.verdict,
        Verdict::Exact(KafkaRelease::V4_0),
        "{}",
        g.explain()
    );
    assert!(
        g.explain().contains("a patch release after 4.0.0"),
        "{}",
        g.explain()
    );
}

#[test]
fn newer_and_in_between_tables() {
    // A 3.5 broker with unstable.api.versions.enable advertises ConsumerGroupHeartbeat v0 and
    // AddPartitionsToTxn v4 (both unstable in 3.5): newer than 3.5, older than 3.6.
    let mut adv = Advertised::of_release(KafkaRelease::V3_5, Role::KRaftBroker);
    adv.api(ApiKey::ADD_PARTITIONS_TO_TXN, 0, 4);
    let g = guess(&adv);
    assert_eq!(
        g.verdict,
        Verdict::Between {
            above: KafkaRelease::V3_5,
            below: KafkaRelease::V3_6
        },
        "{}",
        g.explain()
    );
    assert!(
        g.explain().contains("AddPartitionsToTxn (24)"),
        "{}",
        g.explain()
    );

    // Beyond every known line: a 4.4 broker with one key bumped.
    let mut adv = Advertised::of_release(KafkaRelease::V4_4, Role::KRaftBroker);
    adv.api(ApiKey::FETCH, 4, 19);
    let g = guess(&adv);
    assert_eq!(
        g.verdict,
        Verdict::AtLeast(KafkaRelease::NEXT),
        "{}",
        g.explain()
    );
    assert_eq!(g.verdict.to_string(), "at least next");
}

#[test]
fn inconsistent_tables_are_not_apache_kafka() {
    // Fetch v11 (2.3+) with Metadata v2 (0.10.1/0.10.2 only): librdkafka 2.0.2's mock has this.
    let mut adv = Advertised::new();
    adv.api(ApiKey::PRODUCE, 0, 7)
        .api(ApiKey::FETCH, 0, 11)
        .api(ApiKey::METADATA, 0, 2)
        .api(ApiKey::API_VERSIONS, 0, 2);
    let g = guess(&adv);
    assert!(
        matches!(g.verdict, Verdict::NotApacheKafka { .. }),
        "{}",
        g.explain()
    );
    assert!(g.explain().contains("closest"), "{}", g.explain());

    let g = guess(&Advertised::new());
    assert_eq!(g.verdict, Verdict::NotApacheKafka { closest: None });

    // An api key listed twice is said, escaped feature names too.
    let mut adv = Advertised::of_release(KafkaRelease::V3_9, Role::KRaftBroker);
    adv.api(ApiKey::FETCH, 0, 17);
    adv.feature("evil\u{1b}[2J", 0, 1);
    let g = guess(&adv);
    let text = g.explain();
    assert!(text.contains("advertised more than once"), "{text}");
    assert!(
        !text.contains('\u{1b}'),
        "broker text reaches the terminal unescaped: {text:?}"
    );
}

#[test]
fn features_decide_between_twins() {
    let mut adv = without_features(&Advertised::of_release(
        KafkaRelease::V3_3,
        Role::KRaftBroker,
    ));
    adv.feature("metadata.version", 1, 8);
    let g = guess(&adv);
    assert_eq!(
        g.verdict,
        Verdict::Exact(KafkaRelease::V3_4),
        "{}",
        g.explain()
    );
    assert!(
        g.explain()
            .contains("not 3.3 by its feature levels: metadata.version 1-8"),
        "{}",
        g.explain()
    );
}
