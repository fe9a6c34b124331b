//! `kwire_client::admin` against REAL Apache Kafka brokers (started by the
//! test through testsupport/kafka/broker, stopped from a Drop guard): one
//! typed result per topic, resource, feature and group, with the broker's
//! error names and messages; UpdateFeatures raising transaction.version
//! 1 -> 2 on a live 4.4.0 and waiting until the broker reports it; the
//! ZooKeeper-era shapes on 2.3.1 (DeleteTopics by name, no DescribeCluster,
//! no features); 3.8.1 through the same per-item checks. Without java/mvn
//! the tests fail with the command to run. tansu: `admin_peers.rs`.

mod support;

use std::sync::Arc;
use std::time::Duration;

use kwire::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kwire::messages::OffsetCommitRequest;
use kwire::{ErrorCode, StrBytes};
use kwire_client::admin::{
    Admin, AlterOp, ConfigResource, ConfigSource, FeatureUpdate, NewPartitions, NewTopic,
    UpgradeType,
};
use kwire_client::{Cluster, ClusterConfig};
use support::kafka::{lock, runtime, KafkaBroker};

const T: Duration = Duration::from_secs(30);

async fn admin(kafka: &KafkaBroker) -> Admin {
    let mut cfg = ClusterConfig::default();
    cfg.client.conn.request_timeout = Duration::from_secs(30);
    cfg.timeout = Duration::from_secs(60);
    let c = Cluster::connect(&[kafka.bootstrap.as_str()], cfg)
        .await
        .expect("connect");
    Admin::new(Arc::new(c))
}

fn code_of<T: std::fmt::Debug>(r: &Result<T, kwire_client::admin::ItemError>) -> ErrorCode {
    match r {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(e) => e.code,
    }
}

/// A simple (generation -1) offset commit: the coordinator keeps an empty
/// classic group for it.
async fn commit_offset(a: &Admin, group: &str, topic: &str) {
    let mut p = OffsetCommitRequestPartition::default();
    p.partition_index = 0;
    p.committed_offset = 0;
    let mut t = OffsetCommitRequestTopic::default();
    t.name = StrBytes::from(topic.to_string());
    t.partitions = vec![p];
    let mut req = OffsetCommitRequest::default();
    req.group_id = StrBytes::from(group.to_string());
    req.generation_id_or_member_epoch = -1;
    req.topics = vec![t];
    let r = a.cluster().send(&req).await.expect("OffsetCommit");
    let code = r.response.topics[0].partitions[0].error_code;
    assert_eq!(code, 0, "OffsetCommit: {}", ErrorCode(code));
}

async fn topics_and_configs(a: &Admin, release: &str) {
    let created = a
        .create_topics(
            &[
                NewTopic::new("adm-a", 3, 1),
                NewTopic::new("adm-bad", 1, 1).config("cleanup.policy", "bogus"),
                NewTopic::new("adm-many", 1, 7),
            ],
            false,
            T,
        )
        .await
        .expect("CreateTopics");
    assert_eq!(created.len(), 3, "{created:?}");
    assert_eq!(created[0].name, "adm-a");
    let ok = created[0].result.as_ref().expect("adm-a created");
    if release.starts_with('4') {
        assert_eq!(ok.partitions, 3, "{ok:?}");
        assert!(ok.topic_id.is_some(), "{ok:?}");
    }
    assert_eq!(
        code_of(&created[1].result),
        ErrorCode::INVALID_CONFIG,
        "{created:?}"
    );
    let bad = created[1].result.as_ref().unwrap_err();
    assert!(
        bad.message.as_deref().unwrap_or("").contains("bogus"),
        "the broker's message names the value: {bad}"
    );
    assert_eq!(
        code_of(&created[2].result),
        ErrorCode::INVALID_REPLICATION_FACTOR,
        "{created:?}"
    );

    // Again: TOPIC_ALREADY_EXISTS, with the broker's message; validate-only
    // creates nothing.
    let again = a
        .create_topics(
            &[NewTopic::new("adm-a", 3, 1), NewTopic::new("adm-dry", 2, 1)],
            true,
            T,
        )
        .await
        .expect("CreateTopics validate-only");
    assert_eq!(code_of(&again[0].result), ErrorCode::TOPIC_ALREADY_EXISTS);
    assert!(again[1].result.is_ok(), "{again:?}");
    let listed = a.list_topics(false).await.expect("list");
    let names: Vec<&str> = listed.iter().map(|t| t.name.as_str()).collect();
    assert!(names.contains(&"adm-a"), "{names:?}");
    assert!(
        !names.contains(&"adm-dry"),
        "validate-only created it: {names:?}"
    );
    assert!(!names.contains(&"adm-bad"), "{names:?}");

    // Partitions: grow to 5; shrinking is refused per topic.
    let grown = a
        .create_partitions(
            &[
                NewPartitions {
                    topic: "adm-a".into(),
                    total: 5,
                },
                NewPartitions {
                    topic: "adm-missing".into(),
                    total: 2,
                },
            ],
            false,
            T,
        )
        .await
        .expect("CreatePartitions");
    assert!(grown[0].result.is_ok(), "{grown:?}");
    assert_eq!(
        code_of(&grown[1].result),
        ErrorCode::UNKNOWN_TOPIC_OR_PARTITION
    );
    let shrink = a
        .create_partitions(
            &[NewPartitions {
                topic: "adm-a".into(),
                total: 2,
            }],
            false,
            T,
        )
        .await
        .expect("CreatePartitions");
    assert_eq!(code_of(&shrink[0].result), ErrorCode::INVALID_PARTITIONS);
    // The controller has the new partitions; the broker's metadata cache
    // learns them a moment later.
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    let described = loop {
        let d = a
            .describe_topics(&["adm-a".to_string(), "adm-none".to_string()])
            .await
            .expect("describe");
        let n = d[0].result.as_ref().expect("adm-a").partitions.len();
        if n == 5 || std::time::Instant::now() > deadline {
            break d;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(
        described[0]
            .result
            .as_ref()
            .expect("adm-a")
            .partitions
            .len(),
        5
    );
    assert_eq!(
        code_of(&described[1].result),
        ErrorCode::UNKNOWN_TOPIC_OR_PARTITION
    );

    // Configs: set retention.ms on the topic; an unknown topic fails alone.
    let topic = ConfigResource::Topic("adm-a".into());
    let altered = a
        .incremental_alter_configs(
            &[
                (
                    topic.clone(),
                    vec![AlterOp::Set("retention.ms".into(), "123456".into())],
                ),
                (
                    ConfigResource::Topic("adm-none".into()),
                    vec![AlterOp::Set("retention.ms".into(), "1".into())],
                ),
            ],
            false,
        )
        .await
        .expect("IncrementalAlterConfigs");
    assert!(altered[0].result.is_ok(), "{altered:?}");
    // 2.3.1 reports the missing topic as UNKNOWN_SERVER_ERROR, with a
    // message that says what is wrong; later brokers name it properly.
    let expected = if release.starts_with('2') {
        ErrorCode::UNKNOWN_SERVER_ERROR
    } else {
        ErrorCode::UNKNOWN_TOPIC_OR_PARTITION
    };
    assert_eq!(code_of(&altered[1].result), expected, "{altered:?}");
    let msg = altered[1].result.as_ref().unwrap_err().message.clone();
    assert!(
        msg.as_deref().unwrap_or("").contains("adm-none"),
        "{altered:?}"
    );
    // KRaft: the change reaches the broker's config cache a moment later.
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    let (configs, retention) = loop {
        let configs = a
            .describe_configs(
                &[
                    topic.clone(),
                    ConfigResource::Broker(Some(broker_id(release))),
                ],
                None,
            )
            .await
            .expect("DescribeConfigs");
        let entries = configs[0].result.as_ref().expect("topic configs");
        let retention = entries
            .iter()
            .find(|e| e.name == "retention.ms")
            .expect("retention.ms")
            .clone();
        if retention.value.as_deref() == Some("123456") || std::time::Instant::now() > deadline {
            break (configs, retention);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    };
    assert_eq!(retention.value.as_deref(), Some("123456"));
    assert_eq!(retention.source, ConfigSource::DynamicTopic);
    let broker = configs[1].result.as_ref().expect("broker configs");
    assert!(broker.iter().any(|e| e.name == "log.dirs"), "{broker:?}");

    // Groups: an empty classic group made by a simple offset commit.
    commit_offset(a, "adm-group", "adm-a").await;
    let groups = a.list_groups().await.expect("ListGroups");
    assert!(groups.failed.is_empty(), "{groups:?}");
    let g = groups
        .groups
        .iter()
        .find(|g| g.group_id == "adm-group")
        .unwrap_or_else(|| panic!("{groups:?}"));
    if release.starts_with('4') {
        assert_eq!(g.state, "Empty", "{g:?}");
    }
    let described = a
        .describe_groups(&["adm-group".to_string()])
        .await
        .expect("DescribeGroups");
    let d = described[0].1.as_ref().expect("adm-group");
    assert_eq!(d.state, "Empty", "{d:?}");
    assert!(d.members.is_empty());

    // Delete: one existing, one missing.
    let deleted = a
        .delete_topics(&["adm-a".to_string(), "adm-none".to_string()], T)
        .await
        .expect("DeleteTopics");
    assert!(deleted[0].result.is_ok(), "{deleted:?}");
    assert_eq!(
        code_of(&deleted[1].result),
        ErrorCode::UNKNOWN_TOPIC_OR_PARTITION
    );
}

fn broker_id(release: &str) -> i32 {
    // testsupport/kafka: node.id=1 in KRaft, broker.id=0 with ZooKeeper.
    if release.starts_with('2') {
        0
    } else {
        1
    }
}

#[test]
fn kafka_4_4_0_admin_and_transaction_version_1_to_2() {
    let _l = lock();
    let kafka = KafkaBroker::start("4.4.0", Some(1));
    runtime().block_on(async {
        let a = admin(&kafka).await;
        let cluster = a.describe_cluster().await.expect("DescribeCluster");
        assert_eq!(
            cluster.cluster_id.as_deref(),
            Some(kafka.cluster_id.as_str())
        );
        assert_eq!(cluster.brokers.len(), 1, "{cluster:?}");
        assert_eq!(cluster.brokers[0].id, 1);
        assert!(
            cluster.source.starts_with("DescribeCluster v"),
            "{cluster:?}"
        );

        topics_and_configs(&a, "4.4.0").await;

        // Features: transaction.version 1 -> 2.
        const TV: &str = "transaction.version";
        let f = a.describe_features(None).await.expect("features");
        assert_eq!(f.level(TV), 1, "{f:?}");
        assert_eq!(f.supported.get(TV).map(|r| r.max), Some(2), "{f:?}");
        let up = |level, upgrade| FeatureUpdate {
            feature: TV.into(),
            level,
            upgrade,
        };
        // Validate only: accepted, nothing changes.
        let r = a
            .update_features(&[up(2, UpgradeType::Upgrade)], true, T)
            .await
            .expect("validate");
        assert!(r[0].result.is_ok(), "{r:?}");
        assert_eq!(a.describe_features(None).await.unwrap().level(TV), 1);
        // A level the broker does not support: refused, with its message.
        let r = a
            .update_features(&[up(9, UpgradeType::Upgrade)], false, T)
            .await
            .expect("update");
        let e = r[0].result.as_ref().unwrap_err();
        assert_eq!(e.code, ErrorCode::INVALID_UPDATE_VERSION, "{e}");
        assert!(e.message.is_some(), "{e}");
        // The upgrade, then every broker reports it.
        let r = a
            .update_features(&[up(2, UpgradeType::Upgrade)], false, T)
            .await
            .expect("update");
        assert!(r[0].result.is_ok(), "{r:?}");
        let w = a
            .wait_for_finalized(TV, 2, Duration::from_secs(30))
            .await
            .expect("every broker at level 2");
        assert_eq!(w.brokers.len(), 1);
        assert_eq!(w.brokers[0].level(TV), 2);
        // "Upgrading" to a lower level is refused; waiting for a level that
        // never comes ends with the laggards named.
        let r = a
            .update_features(&[up(1, UpgradeType::Upgrade)], false, T)
            .await
            .expect("update");
        assert!(r[0].result.is_err(), "{r:?}");
        let e = a
            .wait_for_finalized(TV, 1, Duration::from_millis(600))
            .await
            .unwrap_err();
        assert!(e.to_string().contains("node 1 reports 2"), "{e}");
    });
}

/// 3.8 (KRaft, the last line with the pre-KIP-896 versions): the same
/// per-item results as 4.4.0 at 3.8's own versions, and DescribeCluster.
#[test]
fn kafka_3_8_1_admin() {
    let _l = lock();
    let kafka = KafkaBroker::start("3.8.1", None);
    runtime().block_on(async {
        let a = admin(&kafka).await;
        let cluster = a.describe_cluster().await.expect("DescribeCluster");
        assert_eq!(
            cluster.cluster_id.as_deref(),
            Some(kafka.cluster_id.as_str())
        );
        assert_eq!(cluster.brokers.len(), 1, "{cluster:?}");
        assert!(
            cluster.source.starts_with("DescribeCluster v"),
            "{cluster:?}"
        );
        topics_and_configs(&a, "3.8.1").await;
    });
}

#[test]
fn kafka_2_3_1_admin_zookeeper_era() {
    let _l = lock();
    let kafka = KafkaBroker::start("2.3.1", None);
    runtime().block_on(async {
        let a = admin(&kafka).await;
        // No DescribeCluster before 2.8: Metadata answers.
        let cluster = a.describe_cluster().await.expect("describe");
        assert_eq!(cluster.source, "Metadata", "{cluster:?}");
        assert_eq!(cluster.controller, Some(0), "{cluster:?}");
        topics_and_configs(&a, "2.3.1").await;
        // No features before ApiVersions v3.
        assert!(a.describe_features(None).await.is_err());
    });
}

/// A three-node KRaft cluster (`broker cluster start --nodes 3`); dropping
/// it stops every node.
struct ThreeNodes {
    dir: String,
    bootstrap: Vec<String>,
}

impl ThreeNodes {
    fn start(transaction_version: u8) -> ThreeNodes {
        support::kafka::require_java_and_maven();
        let out = std::process::Command::new(support::kafka::testsupport("broker"))
            .args(["cluster", "start", "--release", "4.4.0", "--nodes", "3"])
            .args([
                "--transaction-version",
                &transaction_version.to_string(),
                "--env",
            ])
            .stdin(std::process::Stdio::null())
            .stderr(std::process::Stdio::inherit())
            .output()
            .unwrap_or_else(|e| panic!("cannot run testsupport/kafka/broker: {e}"));
        assert!(
            out.status.success(),
            "`testsupport/kafka/broker cluster start --release 4.4.0 --nodes 3` failed ({}; \
             its output is above)",
            out.status
        );
        let text = String::from_utf8_lossy(&out.stdout);
        let field = |k: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(&format!("KAFKA_{k}=")))
                .unwrap_or_else(|| panic!("no KAFKA_{k} in: {text}"))
                .to_string()
        };
        ThreeNodes {
            dir: field("DIR"),
            bootstrap: field("BOOTSTRAP").split(',').map(str::to_string).collect(),
        }
    }
}

impl Drop for ThreeNodes {
    fn drop(&mut self) {
        let _ = std::process::Command::new(support::kafka::testsupport("broker"))
            .args(["cluster", "stop", "--dir", &self.dir, "--clean"])
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .status();
    }
}

/// UpdateFeatures on a live three-node cluster: transaction.version 1 -> 2
/// at the controller, then every one of the three brokers reports level 2;
/// per-topic replication errors against three brokers.
#[test]
fn kafka_4_4_0_three_nodes_update_features() {
    let _l = lock();
    let nodes = ThreeNodes::start(1);
    runtime().block_on(async {
        let mut cfg = ClusterConfig::default();
        cfg.client.conn.request_timeout = Duration::from_secs(30);
        cfg.timeout = Duration::from_secs(60);
        let c = Cluster::connect(&nodes.bootstrap, cfg)
            .await
            .expect("connect");
        let a = Admin::new(Arc::new(c));
        let d = a.describe_cluster().await.expect("DescribeCluster");
        assert_eq!(d.brokers.len(), 3, "{d:?}");

        let created = a
            .create_topics(
                &[NewTopic::new("adm3-a", 3, 3), NewTopic::new("adm3-b", 1, 4)],
                false,
                T,
            )
            .await
            .expect("CreateTopics");
        assert!(created[0].result.is_ok(), "{created:?}");
        assert_eq!(
            code_of(&created[1].result),
            ErrorCode::INVALID_REPLICATION_FACTOR
        );

        const TV: &str = "transaction.version";
        let before = a
            .wait_for_finalized(TV, 1, Duration::from_secs(30))
            .await
            .expect("every broker at level 1");
        assert_eq!(before.brokers.len(), 3);
        let r = a
            .update_features(
                &[FeatureUpdate {
                    feature: TV.into(),
                    level: 2,
                    upgrade: UpgradeType::Upgrade,
                }],
                false,
                T,
            )
            .await
            .expect("UpdateFeatures");
        assert!(r[0].result.is_ok(), "{r:?}");
        let w = a
            .wait_for_finalized(TV, 2, Duration::from_secs(60))
            .await
            .expect("every broker at level 2");
        assert_eq!(w.brokers.len(), 3, "{w:?}");
        let mut nodes_seen: Vec<i32> = w.brokers.iter().filter_map(|b| b.node).collect();
        nodes_seen.sort();
        nodes_seen.dedup();
        assert_eq!(nodes_seen.len(), 3, "{w:?}");
        assert!(w.brokers.iter().all(|b| b.level(TV) == 2), "{w:?}");
    });
}
