//! Why a fetch failed.

use std::sync::Arc;

use kwire::records::RecordsError;
use kwire::ErrorCode;

use crate::cluster::ClusterError;

/// Why consuming failed. Broker text inside is escaped.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ConsumeError {
    #[error("topic {topic}: {why}")]
    Topic { topic: String, why: String },
    #[error("{topic}-{partition}: {code}")]
    Broker {
        topic: String,
        partition: i32,
        code: ErrorCode,
    },
    #[error(
        "{topic}-{partition}: offset {offset} is out of range and the reset policy is to fail"
    )]
    OutOfRange {
        topic: String,
        partition: i32,
        offset: i64,
    },
    #[error("{topic}-{partition}: the batch at offset {offset} is larger than the partition's fetch size ({max} bytes) and this broker does not return it whole (before KIP-74)")]
    BatchTooLarge {
        topic: String,
        partition: i32,
        offset: i64,
        max: i32,
    },
    #[error("{topic}-{partition} at offset {offset}: {source}")]
    Records {
        topic: String,
        partition: i32,
        offset: i64,
        #[source]
        source: RecordsError,
    },
    #[error("{0}")]
    Cluster(Arc<ClusterError>),
}

impl From<ClusterError> for ConsumeError {
    fn from(e: ClusterError) -> Self {
        ConsumeError::Cluster(Arc::new(e))
    }
}
