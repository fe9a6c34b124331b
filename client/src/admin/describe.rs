//! DescribeCluster (KIP-700, Kafka 2.8+), with Metadata as the answer on
//! brokers that do not have it.

use kwire::messages::DescribeClusterRequest;

use super::{text, Admin, AdminError, ItemError};

/// One broker of the cluster.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterBroker {
    pub id: i32,
    pub host: String,
    pub port: i32,
    pub rack: Option<String>,
    /// DescribeCluster v2+ with fenced brokers asked for (KIP-1073).
    pub fenced: bool,
}

/// What the cluster says about itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterDescription {
    pub cluster_id: Option<String>,
    pub controller: Option<i32>,
    pub brokers: Vec<ClusterBroker>,
    /// `DescribeCluster vN`, or `Metadata vN` on a broker without it.
    pub source: String,
}

impl Admin {
    /// DescribeCluster to any broker; Metadata's brokers and controller on
    /// brokers before 2.8, which do not advertise it.
    pub async fn describe_cluster(&self) -> Result<ClusterDescription, AdminError> {
        match self.cluster.send(&DescribeClusterRequest::default()).await {
            Ok(r) => {
                let d = &r.response;
                ItemError::check(d.error_code, d.error_message.as_deref()).map_err(|error| {
                    AdminError::Refused {
                        api: "DescribeCluster",
                        error,
                    }
                })?;
                Ok(ClusterDescription {
                    cluster_id: Some(text(&d.cluster_id)),
                    controller: (d.controller_id >= 0).then_some(d.controller_id),
                    brokers: d
                        .brokers
                        .iter()
                        .map(|b| ClusterBroker {
                            id: b.broker_id,
                            host: text(&b.host),
                            port: b.port,
                            rack: b.rack.as_ref().map(text),
                            fenced: b.is_fenced,
                        })
                        .collect(),
                    source: format!("DescribeCluster v{}", r.version),
                })
            }
            Err(e) if super::is_no_version(&e) => {
                let md = self.cluster.refresh_metadata(&[]).await?;
                Ok(ClusterDescription {
                    cluster_id: md.cluster_id.clone(),
                    controller: md.controller,
                    brokers: md
                        .brokers
                        .values()
                        .map(|n| ClusterBroker {
                            id: n.id,
                            host: n.host.clone(),
                            port: n.port,
                            rack: n.rack.clone(),
                            fenced: false,
                        })
                        .collect(),
                    source: "Metadata".to_string(),
                })
            }
            Err(e) => Err(e.into()),
        }
    }
}
