//! Negotiation and version choice against the scripted fake broker.

mod support;

use std::time::Duration;

use kwire::messages::fetch_request::FetchTopic;
use kwire::messages::produce_request::TopicProduceData;
use kwire::messages::{
    EndTxnRequest, FetchRequest, MetadataRequest, ProduceRequest, SaslHandshakeRequest,
};
use kwire::{ApiKey, ErrorCode, Uuid, VersionRange};
use kwire_client::net::auth::{AuthContext, AuthError, AuthFuture, Authenticated, Authenticator};
use kwire_client::protocol::negotiate::{NegotiationError, NoReply};
use kwire_client::{
    Broker, ClientConfig, ClientError, FailureKind, NoVersion, SendOptions, TableSource,
};
use support::{ApiVersionsMode, FakeBroker, FakeConfig};

fn our_api_versions_max() -> i16 {
    ApiKey::API_VERSIONS.versions().unwrap().max
}

fn cfg() -> ClientConfig {
    let mut c = ClientConfig::default();
    c.conn.request_timeout = Duration::from_secs(5);
    c.api_versions_timeout = Duration::from_secs(2);
    c
}

fn broker(addr: &str, c: ClientConfig) -> Broker {
    Broker::new(addr, Some(1), std::sync::Arc::new(c))
}

fn fetch(topics: &[(&str, u128)]) -> FetchRequest {
    let mut r = FetchRequest::default();
    r.max_wait_ms = 0;
    for &(name, id) in topics {
        let mut t = FetchTopic::default();
        t.topic = name.into();
        t.topic_id = Uuid::from_u128(id);
        r.topics.push(t);
    }
    r
}

fn produce(transactional: bool, topic_id: u128) -> ProduceRequest {
    let mut r = ProduceRequest::default();
    r.acks = 1;
    r.timeout_ms = 1000;
    if transactional {
        r.transactional_id = Some("tx-1".into());
    }
    let mut t = TopicProduceData::default();
    t.name = "t".into();
    t.topic_id = Uuid::from_u128(topic_id);
    r.topic_data.push(t);
    r
}

const TABLE_38: &[(i16, i16, i16)] = &[(0, 0, 11), (1, 0, 16), (3, 0, 12), (26, 0, 4), (18, 0, 3)];

#[tokio::test]
async fn kip511_reply_to_v4_and_v5_downgrades_on_the_same_connection() {
    // A 2.4–3.8 broker: ApiVersions 0-3.
    let fake = FakeBroker::start(FakeConfig::new(
        ApiVersionsMode::Kip511 { max: 3 },
        TABLE_38.to_vec(),
    ))
    .await;
    let b = broker(&fake.addr(), cfg());
    let n = b.connection().await.unwrap();
    assert_eq!(
        fake.api_versions_attempts(),
        vec![(1, our_api_versions_max()), (1, 3)]
    );
    assert_eq!(n.api_versions_sent, Some(3));
    assert_eq!(
        n.versions.get(ApiKey::FETCH),
        Some(VersionRange::new(0, 16))
    );
    assert_eq!(fake.connections(), 1);

    // Capped to v4 the same way.
    let fake = FakeBroker::start(FakeConfig::new(
        ApiVersionsMode::Kip511 { max: 3 },
        TABLE_38.to_vec(),
    ))
    .await;
    let b = broker(&fake.addr(), cfg().cap(ApiKey::API_VERSIONS, 4));
    b.connection().await.unwrap();
    assert_eq!(fake.api_versions_attempts(), vec![(1, 4), (1, 3)]);
}

#[tokio::test]
async fn pre_2_4_empty_reply_retries_v0() {
    let fake = FakeBroker::start(FakeConfig::new(
        ApiVersionsMode::Empty { max: 2 },
        TABLE_38.to_vec(),
    ))
    .await;
    let b = broker(&fake.addr(), cfg());
    let n = b.connection().await.unwrap();
    assert_eq!(
        fake.api_versions_attempts(),
        vec![(1, our_api_versions_max()), (1, 0)]
    );
    assert_eq!(
        n.versions.source,
        TableSource::ApiVersions {
            sent: 0,
            decoded_at: 0
        }
    );
    assert_eq!(
        n.versions.get(ApiKey::PRODUCE),
        Some(VersionRange::new(0, 11))
    );
}

#[tokio::test]
async fn event_hubs_reset_on_v4_ends_on_v0() {
    let fake = FakeBroker::start(FakeConfig::new(
        ApiVersionsMode::ResetAbove { max: 3 },
        TABLE_38.to_vec(),
    ))
    .await;
    let b = broker(&fake.addr(), cfg());
    let n = b.connection().await.unwrap();
    let max = our_api_versions_max();
    assert_eq!(
        fake.api_versions_attempts(),
        vec![(1, max), (2, max), (3, 0)]
    );
    assert_eq!(n.api_versions_sent, Some(0));
    assert!(n.attempts[0].result.contains("reset"), "{:?}", n.attempts);
    // And the negotiated connection works.
    let sent = b
        .send_with(&fetch(&[("t", 0)]), &SendOptions::default())
        .await
        .unwrap();
    assert_eq!(sent.version, 12);
}

#[tokio::test]
async fn pre_0_10_broker_without_fallback_is_a_clear_error() {
    let fake = FakeBroker::start(FakeConfig::new(
        ApiVersionsMode::CloseAlways,
        vec![(3, 0, 0)],
    ))
    .await;
    let b = broker(&fake.addr(), cfg());
    let e = b.connection().await.unwrap_err();
    match &e {
        ClientError::Negotiation { source, .. } => match &**source {
            NegotiationError::ClosedBeforeReply { how, attempts } => {
                assert_eq!(*how, NoReply::Eof);
                assert_eq!(attempts.len(), 3);
            }
            other => panic!("{other:?}"),
        },
        other => panic!("{other:?}"),
    }
    let text = e.to_string();
    assert!(
        text.contains("before 0.10") && text.contains("fallback"),
        "{text}"
    );
    // Bounded: three connections, one ApiVersions each.
    assert_eq!(fake.api_versions_attempts().len(), 3);
}

#[tokio::test]
async fn pre_0_10_broker_with_configured_fallback() {
    let fake = FakeBroker::start(FakeConfig::new(
        ApiVersionsMode::CloseAlways,
        vec![(3, 0, 0)],
    ))
    .await;
    let c = cfg().fallback_versions([(ApiKey::METADATA, 0), (ApiKey::PRODUCE, 2)]);
    let b = broker(&fake.addr(), c);
    let n = b.connection().await.unwrap();
    assert_eq!(n.api_versions_sent, None);
    assert!(matches!(n.versions.source, TableSource::Fallback { .. }));
    let sent = b
        .send_with(&MetadataRequest::default(), &SendOptions::default())
        .await
        .unwrap();
    assert_eq!(sent.version, 0);
    assert_eq!(fake.versions_of(3), vec![0]);
    // A transactional Produce encodes from v3 (transactional_id), the
    // fallback stops at 2: typed error, nothing sent.
    let e = b.send(&produce(true, 0)).await.unwrap_err();
    assert!(
        matches!(e, ClientError::NoVersion(ref nv) if matches!(**nv, NoVersion::Empty { .. })),
        "{e}"
    );
    assert!(fake.versions_of(0).is_empty());
}

#[tokio::test]
async fn hostile_broker_advertising_a_non_lower_version_is_an_error() {
    for advertise in [our_api_versions_max(), 9] {
        let fake = FakeBroker::start(FakeConfig::new(
            ApiVersionsMode::Hostile { advertise },
            TABLE_38.to_vec(),
        ))
        .await;
        let b = broker(&fake.addr(), cfg());
        let e = b.connection().await.unwrap_err();
        match e {
            ClientError::Negotiation { source, .. } => {
                assert!(
                    matches!(*source, NegotiationError::NonDowngrade { .. }),
                    "{source}"
                )
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(fake.api_versions_attempts().len(), 1);
    }
    // One that keeps advertising a lower version until it reaches 2, then 2:
    // bounded by the strictly-lower rule.
    let fake = FakeBroker::start(FakeConfig::new(
        ApiVersionsMode::Hostile { advertise: 2 },
        TABLE_38.to_vec(),
    ))
    .await;
    let b = broker(&fake.addr(), cfg());
    assert!(b.connection().await.is_err());
    assert_eq!(
        fake.api_versions_attempts(),
        vec![(1, our_api_versions_max()), (1, 2)]
    );
}

#[tokio::test]
async fn other_api_versions_errors_are_surfaced() {
    let fake =
        FakeBroker::start(FakeConfig::new(ApiVersionsMode::Error { code: 42 }, vec![])).await;
    let b = broker(&fake.addr(), cfg());
    let e = b.connection().await.unwrap_err();
    assert!(e.to_string().contains("INVALID_REQUEST"), "{e}");
}

#[tokio::test]
async fn fetch_max_7_sends_7() {
    let fake = FakeBroker::start(FakeConfig::kafka(vec![(1, 0, 7)])).await;
    let b = broker(&fake.addr(), cfg());
    let sent = b
        .send_with(&fetch(&[("t", 0)]), &SendOptions::default())
        .await
        .unwrap();
    assert_eq!(sent.version, 7);
    assert_eq!(fake.versions_of(1), vec![7]);
}

#[tokio::test]
async fn kafka_4_with_transaction_version_1() {
    // A 4.x cluster advertises Produce 0-12 (min 0, KAFKA-18659) and EndTxn
    // 0-5, but transaction.version is finalized at 1.
    let mut c = FakeConfig::kafka(vec![(0, 0, 12), (26, 0, 5), (18, 0, 4)]);
    c.mode = ApiVersionsMode::Kip511 { max: 4 };
    c.finalized = vec![
        ("transaction.version".into(), 1),
        ("metadata.version".into(), 25),
    ];
    c.finalized_epoch = 42;
    let fake = FakeBroker::start(c).await;
    let b = broker(&fake.addr(), cfg());
    let v = b.versions().await.unwrap();
    assert_eq!(v.transaction_version(), 1);
    assert_eq!(v.finalized_epoch, Some(42));
    let txn = b
        .send_with(&produce(true, 0), &SendOptions::default())
        .await
        .unwrap();
    assert_eq!(txn.version, 11);
    assert!(txn.choice.gated());
    let plain = b
        .send_with(&produce(false, 0), &SendOptions::default())
        .await
        .unwrap();
    assert_eq!(plain.version, 12);
    let end = b
        .send_with(&EndTxnRequest::default(), &SendOptions::default())
        .await
        .unwrap();
    assert_eq!(end.version, 4);
    assert_eq!(fake.versions_of(0), vec![11, 12]);
    assert_eq!(fake.versions_of(26), vec![4]);
    // The caller may know better (cluster-wide, highest epoch).
    let opts = SendOptions {
        transaction_version: Some(2),
        ..Default::default()
    };
    assert_eq!(
        b.send_with(&produce(true, 0), &opts).await.unwrap().version,
        12
    );
}

#[tokio::test]
async fn topics_without_ids_cap_fetch_at_12_and_never_raise() {
    let fake = FakeBroker::start(FakeConfig::kafka(vec![(1, 4, 17)])).await;
    let b = broker(&fake.addr(), cfg());
    let no_ids = b
        .send_with(&fetch(&[("a", 0), ("b", 5)]), &SendOptions::default())
        .await
        .unwrap();
    assert_eq!(no_ids.version, 12);
    let ids = b
        .send_with(&fetch(&[("a", 4), ("b", 5)]), &SendOptions::default())
        .await
        .unwrap();
    assert_eq!(ids.version, 17);
    // librdkafka 2.6.0 raised Fetch to 12 against a 4-11 broker (#4887).
    let old = FakeBroker::start(FakeConfig::kafka(vec![(1, 4, 11)])).await;
    let b2 = broker(&old.addr(), cfg());
    assert_eq!(
        b2.send_with(&fetch(&[("a", 0)]), &SendOptions::default())
            .await
            .unwrap()
            .version,
        11
    );
    assert_eq!(fake.versions_of(1), vec![12, 17]);
    assert_eq!(old.versions_of(1), vec![11]);
}

#[tokio::test]
async fn two_brokers_keep_their_own_tables() {
    let a = FakeBroker::start(FakeConfig::kafka(vec![(1, 0, 7)])).await;
    let z = FakeBroker::start(FakeConfig::kafka(vec![(1, 0, 16)])).await;
    // One configuration, two brokers: each negotiates its own table.
    let shared = std::sync::Arc::new(cfg());
    let ba = Broker::new(&a.addr(), None, shared.clone());
    let bz = Broker::new(&z.addr(), None, shared);
    let (fa, fz, opts) = (
        fetch(&[("t", 0)]),
        fetch(&[("t", 1)]),
        SendOptions::default(),
    );
    let (ra, rz) = tokio::join!(ba.send_with(&fa, &opts), bz.send_with(&fz, &opts));
    assert_eq!(ra.unwrap().version, 7);
    assert_eq!(rz.unwrap().version, 16);
    assert_eq!(a.versions_of(1), vec![7]);
    assert_eq!(z.versions_of(1), vec![16]);
    ba.disconnect().await;
    bz.disconnect().await;
}

#[tokio::test]
async fn restarted_broker_with_a_new_table_is_renegotiated() {
    let mut fake = FakeBroker::start(FakeConfig::kafka(vec![(1, 0, 12)])).await;
    let b = broker(&fake.addr(), cfg());
    let first = b
        .send_with(&fetch(&[("t", 0)]), &SendOptions::default())
        .await
        .unwrap();
    assert_eq!((first.version, first.generation), (12, 1));
    fake.restart(FakeConfig::kafka(vec![(1, 0, 7)])).await;
    // The old connection is gone; wait until the client has seen it close.
    let live = b.connection().await;
    let second = match live {
        Ok(_) => b
            .send_with(&fetch(&[("t", 0)]), &SendOptions::default())
            .await
            .unwrap(),
        Err(e) => panic!("{e}"),
    };
    assert_eq!(second.version, 7);
    assert_eq!(second.generation, 2);
    // The log spans the restart: v12 before, v7 after.
    assert_eq!(fake.versions_of(1), vec![12, 7]);
    // Each connection: v5 rejected (KIP-511), then v3.
    assert_eq!(
        fake.api_versions_attempts()
            .iter()
            .map(|a| a.0)
            .collect::<Vec<_>>(),
        vec![1, 1, 1, 1]
    );
}

#[tokio::test]
async fn close_right_after_a_request_renegotiates_and_retries_once_if_safe() {
    // The first connection advertises Fetch 0-12 but the broker only takes
    // 0-7 (a broker downgraded behind a proxy); it closes on v12. The second
    // connection advertises the truth.
    let mut c = FakeConfig::kafka(vec![(1, 0, 12), (0, 0, 12)]);
    c.tables.push(vec![(1, 0, 7), (0, 0, 7), (18, 0, 3)]);
    c.accepted = Some(vec![(1, 0, 7), (0, 0, 7), (18, 0, 3)]);
    let fake = FakeBroker::start(c).await;
    let b = broker(&fake.addr(), cfg());
    let sent = b
        .send_with(&fetch(&[("t", 0)]), &SendOptions::default())
        .await
        .unwrap();
    assert_eq!(sent.version, 7);
    assert_eq!(sent.generation, 2);
    assert_eq!(fake.versions_of(1), vec![12, 7]);

    // Produce is not safe to send twice: reported, not retried.
    let mut c = FakeConfig::kafka(vec![(1, 0, 12), (0, 0, 12)]);
    c.tables.push(vec![(1, 0, 7), (0, 0, 7), (18, 0, 3)]);
    c.accepted = Some(vec![(1, 0, 7), (0, 0, 7), (18, 0, 3)]);
    let fake = FakeBroker::start(c).await;
    let b = broker(&fake.addr(), cfg());
    let e = b.send(&produce(false, 0)).await.unwrap_err();
    match &e {
        ClientError::ClosedAfterRequest {
            version,
            retried,
            retry_safe,
            now_advertised,
            ..
        } => {
            assert_eq!(*version, 12);
            assert!(!retried && !retry_safe);
            assert_eq!(*now_advertised, Some(VersionRange::new(0, 7)));
        }
        other => panic!("{other:?}"),
    }
    assert!(e.to_string().contains("not safe to send twice"), "{e}");
    assert_eq!(fake.versions_of(0), vec![12]);
    // The next Produce goes out on the renegotiated table.
    assert_eq!(
        b.send_with(&produce(false, 0), &SendOptions::default())
            .await
            .unwrap()
            .version,
        7
    );
}

#[tokio::test]
async fn tansu_style_answers_unsorted_and_unknown_keys() {
    // Answers any ApiVersions version with error 0 and a v3 body; HashMap
    // order; a key this build does not know.
    let table = vec![
        (60, 0, 1),
        (1, 0, 17),
        (9999, 0, 3),
        (0, 0, 11),
        (18, 0, 4),
        (3, 0, 12),
    ];
    let fake = FakeBroker::start(FakeConfig::new(
        ApiVersionsMode::AnswerAnyAs { max: 3 },
        table,
    ))
    .await;
    let b = broker(&fake.addr(), cfg());
    let n = b.connection().await.unwrap();
    let max = our_api_versions_max();
    // A v3 body differs from v4/v5 only in tagged fields, so it decodes
    // cleanly at the version sent.
    match n.versions.source {
        TableSource::ApiVersions { sent, decoded_at } => {
            assert_eq!(sent, max);
            assert!((3..=max).contains(&decoded_at));
        }
        ref other => panic!("{other:?}"),
    }
    assert_eq!(
        n.versions.get(ApiKey::FETCH),
        Some(VersionRange::new(0, 17))
    );
    assert_eq!(
        n.versions
            .unknown_apis()
            .map(|(k, _)| k.0)
            .collect::<Vec<_>>(),
        vec![9999]
    );
    assert_eq!(fake.api_versions_attempts().len(), 1);

    // A body shaped for v2 (not flexible) answered to our max: accepted as v2.
    let fake = FakeBroker::start(FakeConfig::new(
        ApiVersionsMode::AnswerAnyAs { max: 2 },
        vec![(1, 0, 17)],
    ))
    .await;
    let b = broker(&fake.addr(), cfg());
    let n = b.connection().await.unwrap();
    assert_eq!(
        n.versions.source,
        TableSource::ApiVersions {
            sent: max,
            decoded_at: 2
        }
    );
    assert!(
        n.attempts[0].result.contains("shaped as v2"),
        "{:?}",
        n.attempts
    );
    assert_eq!(
        n.versions.get(ApiKey::FETCH),
        Some(VersionRange::new(0, 17))
    );

    // A body shaped for v2 (not flexible) answered to our max: accepted as v2.
    let fake = FakeBroker::start(FakeConfig::new(
        ApiVersionsMode::AnswerAnyAs { max: 2 },
        vec![(1, 0, 17)],
    ))
    .await;
    let b = broker(&fake.addr(), cfg());
    let n = b.connection().await.unwrap();
    assert_eq!(
        n.versions.source,
        TableSource::ApiVersions {
            sent: max,
            decoded_at: 2
        }
    );
    assert!(
        n.attempts[0].result.contains("shaped as v2"),
        "{:?}",
        n.attempts
    );
    assert_eq!(
        n.versions.get(ApiKey::FETCH),
        Some(VersionRange::new(0, 17))
    );
}

#[tokio::test]
async fn empty_intersection_sends_nothing() {
    // A broker whose Fetch minimum is above kwire's maximum (every older
    // Fetch is kwire's since the historic versions, KIP-896).
    let ours = ApiKey::FETCH.versions().unwrap().max;
    let fake = FakeBroker::start(FakeConfig::kafka(vec![(1, ours + 1, ours + 2)])).await;
    let b = broker(&fake.addr(), cfg());
    let e = b.send(&fetch(&[("t", 0)])).await.unwrap_err();
    let text = e.to_string();
    let theirs = format!("{}-{}", ours + 1, ours + 2);
    assert!(
        text.contains("Fetch") && text.contains(&theirs) && text.contains(&fake.addr()),
        "{text}"
    );
    assert!(fake.versions_of(1).is_empty());
    // Not advertised at all.
    let e = b.send(&MetadataRequest::default()).await.unwrap_err();
    assert!(e.to_string().contains("does not advertise"), "{e}");
}

#[tokio::test]
async fn pipelined_requests_on_one_negotiated_connection() {
    let fake = FakeBroker::start(FakeConfig::kafka(vec![(1, 0, 16), (3, 0, 12)])).await;
    let b = std::sync::Arc::new(broker(&fake.addr(), cfg()));
    b.connection().await.unwrap();
    let mut set = tokio::task::JoinSet::new();
    for i in 0..8u128 {
        let b = b.clone();
        set.spawn(async move {
            b.send_with(&fetch(&[("t", i)]), &SendOptions::default())
                .await
        });
    }
    let mut n = 0;
    while let Some(r) = set.join_next().await {
        let sent = r.unwrap().unwrap();
        assert_eq!(sent.generation, 1);
        n += 1;
    }
    assert_eq!(n, 8);
    assert_eq!(fake.connections(), 1);
    assert_eq!(fake.versions_of(1).len(), 8);
}

#[tokio::test]
async fn concurrent_callers_share_one_negotiation() {
    let fake = FakeBroker::start(FakeConfig::kafka(vec![(3, 0, 12)])).await;
    let b = std::sync::Arc::new(broker(&fake.addr(), cfg()));
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let b = b.clone();
        set.spawn(async move { b.connection().await.map(|n| n.generation) });
    }
    while let Some(r) = set.join_next().await {
        assert_eq!(r.unwrap().unwrap(), 1);
    }
    assert_eq!(fake.connections(), 1);
    assert_eq!(fake.api_versions_attempts().len(), 2);
}

#[tokio::test]
async fn a_cancelled_negotiation_does_not_strand_its_waiters() {
    // The first connection never answers ApiVersions; the second does.
    let c = FakeConfig::kafka(vec![(3, 0, 12)]).with_fault(support::FaultPlan {
        api: ApiKey::API_VERSIONS,
        conns: vec![1],
        fault: support::Fault::Silent,
    });
    let fake = FakeBroker::start(c).await;
    let mut c = cfg();
    c.api_versions_timeout = Duration::from_secs(30);
    let b = std::sync::Arc::new(broker(&fake.addr(), c));
    let first = {
        let b = b.clone();
        tokio::spawn(async move { b.connection().await.map(|_| ()) })
    };
    while fake.api_versions_attempts().is_empty() {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let waiter = {
        let b = b.clone();
        tokio::spawn(async move { b.connection().await.map(|n| n.generation) })
    };
    tokio::time::sleep(Duration::from_millis(50)).await;
    first.abort();
    let generation = tokio::time::timeout(Duration::from_secs(10), waiter)
        .await
        .expect("the waiter was stranded by the cancelled negotiation")
        .unwrap()
        .unwrap();
    assert_eq!(generation, 2);
    assert_eq!(fake.connections(), 2);
}

/// A test mechanism: one SaslHandshake through the context, then success
/// or a refusal.
struct HandshakeOnly {
    refuse: bool,
    seen: std::sync::Mutex<Vec<(i16, usize)>>,
}

impl Authenticator for HandshakeOnly {
    fn name(&self) -> &str {
        "TEST"
    }

    fn authenticate<'a>(&'a self, cx: AuthContext<'a>) -> AuthFuture<'a> {
        Box::pin(async move {
            let mut req = SaslHandshakeRequest::default();
            req.mechanism = "PLAIN".into();
            let (resp, choice) = cx.send(&req).await?;
            assert_eq!(resp.error_code, ErrorCode::NONE.0);
            self.seen
                .lock()
                .unwrap()
                .push((choice.version, cx.versions.apis().count()));
            if self.refuse {
                return Err(AuthError::Refused("wrong password".into()));
            }
            Ok(Authenticated {
                session_lifetime: Some(Duration::from_secs(60)),
            })
        })
    }
}

#[tokio::test]
async fn the_authenticator_runs_after_api_versions_and_before_any_request() {
    let fake = FakeBroker::start(FakeConfig::kafka(vec![
        (ApiKey::SASL_HANDSHAKE.0, 0, 1),
        (ApiKey::METADATA.0, 0, 12),
    ]))
    .await;
    let auth = std::sync::Arc::new(HandshakeOnly {
        refuse: false,
        seen: Default::default(),
    });
    let mut c = cfg();
    c.authenticator = Some(auth.clone());
    let b = broker(&fake.addr(), c);
    let md = b.send(&MetadataRequest::default()).await.unwrap();
    assert!(md.topics.is_empty());
    let n = b.connection().await.unwrap();
    assert_eq!(
        n.authenticated.as_ref().and_then(|a| a.session_lifetime),
        Some(Duration::from_secs(60))
    );
    // SaslHandshake at min(ours, broker) on the negotiated table, between
    // ApiVersions and the first request.
    assert_eq!(auth.seen.lock().unwrap().clone(), vec![(1, 3)]);
    let keys: Vec<i16> = fake
        .received()
        .iter()
        .map(|r| r.api_key)
        .skip_while(|&k| k == ApiKey::API_VERSIONS.0)
        .collect();
    assert_eq!(keys, vec![ApiKey::SASL_HANDSHAKE.0, ApiKey::METADATA.0]);
}

#[tokio::test]
async fn a_refused_authentication_fails_the_connection_with_its_own_kind() {
    let fake = FakeBroker::start(FakeConfig::kafka(vec![
        (ApiKey::SASL_HANDSHAKE.0, 0, 1),
        (ApiKey::METADATA.0, 0, 12),
    ]))
    .await;
    let mut c = cfg();
    c.authenticator = Some(std::sync::Arc::new(HandshakeOnly {
        refuse: true,
        seen: Default::default(),
    }));
    let b = broker(&fake.addr(), c);
    let e = b.send(&MetadataRequest::default()).await.unwrap_err();
    assert_eq!(e.kind(), FailureKind::Auth, "{e}");
    assert!(e.to_string().contains("wrong password"), "{e}");
    // Nothing was sent after the refused exchange.
    assert_eq!(fake.versions_of(ApiKey::METADATA.0), Vec::<i16>::new());
}
