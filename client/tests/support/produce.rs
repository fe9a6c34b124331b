//! Helpers shared by the producer, consumer and interop tests: a cluster
//! handle tuned for tests, topic creation, and reading a partition back.

#![allow(dead_code)]

use std::sync::Arc;
use std::time::{Duration, Instant};

use kwire::messages::create_topics_request::CreatableTopic;
use kwire::messages::CreateTopicsRequest;
use kwire::{ErrorCode, StrBytes};
use kwire_client::cluster::backoff::Backoff;
use kwire_client::consume::{ConsumedRecord, Consumer, ConsumerConfig, Offset};
use kwire_client::protocol::route::TopicPartition;
use kwire_client::{Cluster, ClusterConfig};

pub fn cluster_config() -> ClusterConfig {
    let mut c = ClusterConfig::default();
    c.client.conn.request_timeout = Duration::from_secs(30);
    c.timeout = Duration::from_secs(30);
    c.backoff = Backoff {
        initial: Duration::from_millis(100),
        max: Duration::from_millis(1000),
        jitter: 0.2,
    };
    c
}

pub async fn connect(bootstrap: &str) -> Arc<Cluster> {
    let addrs: Vec<&str> = bootstrap.split(',').collect();
    Arc::new(
        Cluster::connect(&addrs, cluster_config())
            .await
            .unwrap_or_else(|e| panic!("connect {bootstrap}: {e}")),
    )
}

/// Creates `topic` and waits until every partition has a leader.
pub async fn create_topic(c: &Cluster, topic: &str, partitions: i32, replication: i16) {
    let mut t = CreatableTopic::default();
    t.name = StrBytes::from(topic.to_string());
    t.num_partitions = partitions;
    t.replication_factor = replication;
    let mut req = CreateTopicsRequest::default();
    req.topics = vec![t];
    req.timeout_ms = 30_000;
    let r = c.send(&req).await.expect("CreateTopics");
    let code = ErrorCode(r.response.topics[0].error_code);
    assert!(
        code == ErrorCode::NONE || code == ErrorCode::TOPIC_ALREADY_EXISTS,
        "CreateTopics {topic}: {code}"
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let md = c.refresh_metadata(&[topic]).await.unwrap();
        let ready = (0..partitions).all(|p| {
            md.partition(&TopicPartition::new(topic, p))
                .is_some_and(|i| i.leader.is_some())
        });
        if ready {
            return;
        }
        assert!(Instant::now() < deadline, "{topic}: no leaders after 60 s");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Reads every partition of `topic` from the start until `want` records
/// arrived (or `within` passed) and returns them.
pub async fn read_all(
    c: Arc<Cluster>,
    topic: &str,
    cfg: ConsumerConfig,
    want: usize,
    within: Duration,
) -> Vec<ConsumedRecord> {
    let mut consumer = Consumer::new(c, cfg);
    for p in consumer.partitions(topic).await.expect("partitions") {
        consumer.assign(topic, p, Offset::Earliest);
    }
    let deadline = Instant::now() + within;
    let mut out = Vec::new();
    while out.len() < want && Instant::now() < deadline {
        out.extend(consumer.poll().await.expect("poll"));
    }
    out
}
