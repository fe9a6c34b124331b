//! `kwire_client::admin` against tansu, a Kafka-compatible broker that is
//! not Apache Kafka (started by the test on 127.0.0.1 with memory storage,
//! killed on drop): every call returns one typed result per item, and
//! where tansu answers differently from Apache Kafka the test pins what it
//! does (client/README.md, "tansu's admin answers"), so a tansu release
//! that changes it is noticed.

mod support;

use std::sync::Arc;
use std::time::Duration;

use kwire::ErrorCode;
use kwire_client::admin::{Admin, AlterOp, ConfigResource, ItemError, NewTopic};
use kwire_client::{Cluster, ClusterConfig};
use support::peers::Tansu;

const T: Duration = Duration::from_secs(15);

fn code_of<V: std::fmt::Debug>(r: &Result<V, ItemError>) -> ErrorCode {
    match r {
        Ok(v) => panic!("expected an error, got {v:?}"),
        Err(e) => e.code,
    }
}

#[test]
fn tansu_admin_per_item_results() {
    let tansu = Tansu::start();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let mut cfg = ClusterConfig::default();
        cfg.client.conn.request_timeout = T;
        cfg.timeout = T;
        let c = Cluster::connect(&[tansu.addr.as_str()], cfg)
            .await
            .expect("connect");
        let a = Admin::new(Arc::new(c));

        let cluster = a.describe_cluster().await.expect("DescribeCluster");
        assert_eq!(cluster.brokers.len(), 1, "{cluster:?}");
        assert!(cluster.cluster_id.is_some(), "{cluster:?}");
        assert!(
            cluster.source.starts_with("DescribeCluster v"),
            "{cluster:?}"
        );
        let node = cluster.brokers[0].id;

        // Created, each with its id; tansu validates neither config values
        // nor the replication factor (7 on one broker: the broker listed
        // seven times).
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
        let a_topic = created[0].result.as_ref().expect("adm-a created");
        assert_eq!(a_topic.partitions, 3);
        assert!(a_topic.topic_id.is_some(), "{created:?}");
        assert!(
            created[1].result.is_ok(),
            "tansu now validates configs: {created:?}"
        );
        assert!(
            created[2].result.is_ok(),
            "tansu now checks replication: {created:?}"
        );

        // Again: TOPIC_ALREADY_EXISTS with tansu's message; validate-only
        // creates the other topic anyway.
        let again = a
            .create_topics(
                &[NewTopic::new("adm-a", 3, 1), NewTopic::new("adm-dry", 2, 1)],
                true,
                T,
            )
            .await
            .expect("CreateTopics validate-only");
        assert_eq!(code_of(&again[0].result), ErrorCode::TOPIC_ALREADY_EXISTS);
        assert!(again[0].result.as_ref().unwrap_err().message.is_some());
        assert!(again[1].result.is_ok(), "{again:?}");

        let described = a
            .describe_topics(&["adm-a".to_string(), "adm-none".to_string()])
            .await
            .expect("describe");
        let d = described[0].result.as_ref().expect("adm-a");
        assert_eq!(d.partitions.len(), 3);
        assert!(
            d.partitions.iter().all(|(_, p)| p.leader == Some(node)),
            "{d:?}"
        );
        assert_eq!(
            code_of(&described[1].result),
            ErrorCode::UNKNOWN_TOPIC_OR_PARTITION
        );
        let listed = a.list_topics(false).await.expect("list");
        let names: Vec<&str> = listed.iter().map(|t| t.name.as_str()).collect();
        assert_eq!(
            names,
            ["adm-a", "adm-bad", "adm-dry", "adm-many"],
            "validate-only"
        );
        let many = listed.iter().find(|t| t.name == "adm-many").unwrap();
        assert_eq!(many.partitions[0].1.replicas, vec![node; 7]);

        // Configs: the value set is read back (reported as a default); an
        // unknown topic is neither an alter error nor a describe error, just
        // no entries.
        let topic = ConfigResource::Topic("adm-a".into());
        let none = ConfigResource::Topic("adm-none".into());
        let altered = a
            .incremental_alter_configs(
                &[
                    (
                        topic.clone(),
                        vec![AlterOp::Set("retention.ms".into(), "123456".into())],
                    ),
                    (
                        none.clone(),
                        vec![AlterOp::Set("retention.ms".into(), "1".into())],
                    ),
                ],
                false,
            )
            .await
            .expect("IncrementalAlterConfigs");
        assert_eq!(altered.len(), 2);
        assert!(altered[0].result.is_ok(), "{altered:?}");
        assert!(
            altered[1].result.is_ok(),
            "tansu now refuses unknown topics: {altered:?}"
        );
        let configs = a
            .describe_configs(&[topic, none], None)
            .await
            .expect("DescribeConfigs");
        let entries = configs[0].result.as_ref().expect("adm-a configs");
        let retention = entries
            .iter()
            .find(|e| e.name == "retention.ms")
            .unwrap_or_else(|| panic!("{entries:?}"));
        assert_eq!(retention.value.as_deref(), Some("123456"));
        assert_eq!(
            configs[1].result.as_ref().map(Vec::len),
            Ok(0),
            "{configs:?}"
        );

        let groups = a.list_groups().await.expect("ListGroups");
        assert!(
            groups.failed.is_empty() && groups.groups.is_empty(),
            "{groups:?}"
        );

        // Delete: one existing, one missing (with tansu's message).
        let deleted = a
            .delete_topics(&["adm-a".to_string(), "adm-none".to_string()], T)
            .await
            .expect("DeleteTopics");
        assert!(deleted[0].result.is_ok(), "{deleted:?}");
        assert_eq!(
            code_of(&deleted[1].result),
            ErrorCode::UNKNOWN_TOPIC_OR_PARTITION
        );
        let after = a.list_topics(false).await.expect("list");
        assert!(after.iter().all(|t| t.name != "adm-a"), "{after:?}");
    });
}
