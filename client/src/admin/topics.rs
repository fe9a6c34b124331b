//! Topics: create, delete, add partitions, list and describe.

use std::time::Duration;

use kwire::messages::create_partitions_request::CreatePartitionsTopic;
use kwire::messages::create_topics_request::{CreatableTopic, CreatableTopicConfig};
use kwire::messages::delete_topics_request::DeleteTopicState;
use kwire::messages::{
    CreatePartitionsRequest, CreateTopicsRequest, DeleteTopicsRequest, MetadataRequest,
};
use kwire::{StrBytes, Uuid};

use super::{is_no_version, text, Admin, AdminError, ItemError};
use crate::cluster::metadata::{Metadata, PartitionInfo};
use crate::net::SendOptions;

/// A topic to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewTopic {
    pub name: String,
    /// `None`: the broker's `num.partitions` (CreateTopics v4+, KIP-464).
    pub partitions: Option<i32>,
    /// `None`: the broker's `default.replication.factor` (v4+, KIP-464).
    pub replication_factor: Option<i16>,
    pub configs: Vec<(String, String)>,
}

impl NewTopic {
    pub fn new(name: &str, partitions: i32, replication_factor: i16) -> NewTopic {
        NewTopic {
            name: name.to_string(),
            partitions: Some(partitions),
            replication_factor: Some(replication_factor),
            configs: Vec::new(),
        }
    }

    pub fn config(mut self, key: &str, value: &str) -> NewTopic {
        self.configs.push((key.to_string(), value.to_string()));
        self
    }
}

/// What the broker says it created (or, validate-only, would create).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CreatedTopic {
    /// v7+ (KIP-516); `None` before or for validate-only.
    pub topic_id: Option<Uuid>,
    /// v5+ (KIP-525); -1 before.
    pub partitions: i32,
    pub replication_factor: i16,
}

/// One topic's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicResult<T> {
    pub name: String,
    pub result: Result<T, ItemError>,
}

/// A deleted topic.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeletedTopic {
    /// v6+; `None` before.
    pub topic_id: Option<Uuid>,
}

/// Partitions to add: the topic's new total.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPartitions {
    pub topic: String,
    pub total: i32,
}

pub type PartitionsResult = TopicResult<()>;

/// A topic as metadata describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicDescription {
    pub name: String,
    pub id: Option<Uuid>,
    pub internal: bool,
    /// Partition index and its leader, replicas and ISR.
    pub partitions: Vec<(i32, PartitionInfo)>,
}

fn some_id(id: Uuid) -> Option<Uuid> {
    (!id.is_zero()).then_some(id)
}

fn timeout_ms(t: Duration) -> i32 {
    i32::try_from(t.as_millis()).unwrap_or(i32::MAX)
}

/// Answers in the order asked; an item the broker left out is reported as
/// such rather than dropped.
fn in_order<T>(
    names: &[String],
    mut got: Vec<TopicResult<T>>,
    missing: impl Fn() -> ItemError,
) -> Vec<TopicResult<T>> {
    let mut out = Vec::with_capacity(names.len());
    for n in names {
        match got.iter().position(|r| &r.name == n) {
            Some(i) => out.push(got.swap_remove(i)),
            None => out.push(TopicResult {
                name: n.clone(),
                result: Err(missing()),
            }),
        }
    }
    // Anything the broker added that was not asked for stays visible.
    out.extend(got);
    out
}

fn left_out() -> ItemError {
    ItemError {
        code: kwire::ErrorCode::UNKNOWN_SERVER_ERROR,
        message: Some("the broker's answer left this item out".to_string()),
    }
}

impl Admin {
    /// CreateTopics at the controller. `validate_only` (v1+) asks the
    /// broker to check without creating. `timeout` is the broker's wait
    /// for the creation to finish.
    pub async fn create_topics(
        &self,
        topics: &[NewTopic],
        validate_only: bool,
        timeout: Duration,
    ) -> Result<Vec<TopicResult<CreatedTopic>>, AdminError> {
        if topics.is_empty() {
            return Ok(Vec::new());
        }
        let mut min = 0;
        if validate_only {
            min = 1;
        }
        if topics
            .iter()
            .any(|t| t.partitions.is_none() || t.replication_factor.is_none())
        {
            // KIP-464: -1 means "the broker's default" from v4 on.
            min = 4;
        }
        let req = super::build(|m: &mut CreateTopicsRequest| {
            m.topics = topics
                .iter()
                .map(|t| {
                    super::build(|m: &mut CreatableTopic| {
                        m.name = StrBytes::from(t.name.clone());
                        m.num_partitions = t.partitions.unwrap_or(-1);
                        m.replication_factor = t.replication_factor.unwrap_or(-1);
                        m.configs = t
                            .configs
                            .iter()
                            .map(|(k, v)| {
                                super::build(|m: &mut CreatableTopicConfig| {
                                    m.name = StrBytes::from(k.clone());
                                    m.value = Some(StrBytes::from(v.clone()));
                                })
                            })
                            .collect();
                    })
                })
                .collect();
            m.timeout_ms = timeout_ms(timeout);
            m.validate_only = validate_only;
        });
        let opts = SendOptions {
            min_version: (min > 0).then_some(min),
            ..Default::default()
        };
        let r = self.cluster.send_with(&req, &opts).await?;
        let got = r
            .response
            .topics
            .iter()
            .map(|t| TopicResult {
                name: text(&t.name),
                result: ItemError::check(t.error_code, t.error_message.as_deref()).map(|()| {
                    CreatedTopic {
                        topic_id: some_id(t.topic_id),
                        partitions: t.num_partitions,
                        replication_factor: t.replication_factor,
                    }
                }),
            })
            .collect();
        let names: Vec<String> = topics.iter().map(|t| t.name.clone()).collect();
        Ok(in_order(&names, got, left_out))
    }

    /// DeleteTopics by name at the controller: v6+ names topics in the
    /// `Topics` array (KIP-516), v0-5 in `TopicNames`; the request is built
    /// in the shape the negotiated version takes.
    pub async fn delete_topics(
        &self,
        names: &[String],
        timeout: Duration,
    ) -> Result<Vec<TopicResult<DeletedTopic>>, AdminError> {
        if names.is_empty() {
            return Ok(Vec::new());
        }
        let by_state = super::build(|m: &mut DeleteTopicsRequest| {
            m.topics = names
                .iter()
                .map(|n| {
                    super::build(|m: &mut DeleteTopicState| {
                        m.name = Some(StrBytes::from(n.clone()));
                    })
                })
                .collect();
            m.timeout_ms = timeout_ms(timeout);
        });
        let sent = self
            .cluster
            .send_with(
                &by_state,
                &SendOptions {
                    min_version: Some(6),
                    ..Default::default()
                },
            )
            .await;
        let r = match sent {
            Err(e) if is_no_version(&e) => {
                let by_name = super::build(|m: &mut DeleteTopicsRequest| {
                    m.topic_names = names.iter().map(|n| StrBytes::from(n.clone())).collect();
                    m.timeout_ms = timeout_ms(timeout);
                });
                let opts = SendOptions {
                    max_version: Some(5),
                    ..Default::default()
                };
                self.cluster.send_with(&by_name, &opts).await?
            }
            other => other?,
        };
        let got = r
            .response
            .responses
            .iter()
            .map(|t| TopicResult {
                name: t.name.as_ref().map(text).unwrap_or_default(),
                result: ItemError::check(t.error_code, t.error_message.as_deref()).map(|()| {
                    DeletedTopic {
                        topic_id: some_id(t.topic_id),
                    }
                }),
            })
            .collect();
        Ok(in_order(names, got, left_out))
    }

    /// CreatePartitions at the controller: each topic grows to its new
    /// total (the broker assigns replicas). `validate_only` checks only.
    pub async fn create_partitions(
        &self,
        topics: &[NewPartitions],
        validate_only: bool,
        timeout: Duration,
    ) -> Result<Vec<PartitionsResult>, AdminError> {
        if topics.is_empty() {
            return Ok(Vec::new());
        }
        let req = super::build(|m: &mut CreatePartitionsRequest| {
            m.topics = topics
                .iter()
                .map(|t| {
                    super::build(|m: &mut CreatePartitionsTopic| {
                        m.name = StrBytes::from(t.topic.clone());
                        m.count = t.total;
                        m.assignments = None;
                    })
                })
                .collect();
            m.timeout_ms = timeout_ms(timeout);
            m.validate_only = validate_only;
        });
        let r = self.cluster.send(&req).await?;
        let got = r
            .response
            .results
            .iter()
            .map(|t| TopicResult {
                name: text(&t.name),
                result: ItemError::check(t.error_code, t.error_message.as_deref()),
            })
            .collect();
        let names: Vec<String> = topics.iter().map(|t| t.topic.clone()).collect();
        Ok(in_order(&names, got, left_out))
    }

    /// Every topic (internal ones when `internal`), sorted by name, from a
    /// Metadata request for all topics to any broker.
    pub async fn list_topics(&self, internal: bool) -> Result<Vec<TopicDescription>, AdminError> {
        let md = self.metadata(None).await?;
        Ok(md
            .topics
            .values()
            .filter(|t| internal || !t.internal)
            .map(describe)
            .collect())
    }

    /// These topics as metadata describes them; a topic metadata does not
    /// know is an item error (UNKNOWN_TOPIC_OR_PARTITION).
    pub async fn describe_topics(
        &self,
        names: &[String],
    ) -> Result<Vec<TopicResult<TopicDescription>>, AdminError> {
        let md = self.metadata(Some(names)).await?;
        Ok(names
            .iter()
            .map(|n| TopicResult {
                name: n.clone(),
                result: match md.topics.get(n) {
                    Some(t) => ItemError::check(t.error.0, None).map(|()| describe(t)),
                    None => Err(ItemError {
                        code: kwire::ErrorCode::UNKNOWN_TOPIC_OR_PARTITION,
                        message: None,
                    }),
                },
            })
            .collect())
    }

    async fn metadata(&self, names: Option<&[String]>) -> Result<Metadata, AdminError> {
        use kwire::messages::metadata_request::MetadataRequestTopic;
        let req = super::build(|m: &mut MetadataRequest| {
            m.topics = names.map(|ns| {
                ns.iter()
                    .map(|n| {
                        super::build(|m: &mut MetadataRequestTopic| {
                            m.name = Some(StrBytes::from(n.clone()));
                        })
                    })
                    .collect()
            });
            m.// Describing must not create (brokers before Metadata v4 decide
            // by their own auto.create.topics.enable).
            allow_auto_topic_creation = false;
        });
        let r = self.cluster.send(&req).await?;
        Ok(Metadata::from_response(&r.response))
    }
}

fn describe(t: &crate::cluster::metadata::TopicInfo) -> TopicDescription {
    TopicDescription {
        name: t.name.clone(),
        id: t.id,
        internal: t.internal,
        partitions: t.partitions.iter().map(|(i, p)| (*i, p.clone())).collect(),
    }
}
