//! Why a record was not delivered.

use kwire::records::RecordsError;
use kwire::ErrorCode;

use crate::cluster::ClusterError;

/// Why a record or the producer failed. Broker text inside is escaped.
#[derive(Debug, Clone, thiserror::Error)]
pub enum ProduceError {
    #[error("invalid producer configuration: {0}")]
    Config(String),
    #[error("topic {topic}: {why}")]
    Topic { topic: String, why: String },
    #[error("record of {size} bytes is larger than the buffer ({limit} bytes)")]
    TooLarge { size: usize, limit: usize },
    #[error("{topic}-{partition}: the broker refused the batch: {code}{}", message.as_deref().map(|m| format!(" ({m})")).unwrap_or_default())]
    Broker {
        topic: String,
        partition: i32,
        code: ErrorCode,
        message: Option<String>,
    },
    #[error("{topic}-{partition}: not acknowledged within the delivery timeout after {attempts} attempt(s); last: {last}")]
    Timeout {
        topic: String,
        partition: i32,
        attempts: u32,
        last: String,
    },
    #[error("{0}")]
    Cluster(std::sync::Arc<ClusterError>),
    #[error("encoding the batch: {0}")]
    Records(#[from] RecordsError),
    #[error("the producer is closed")]
    Closed,
    #[error("the producer id could not be obtained: {0}")]
    ProducerId(String),
    #[error("transaction: {0}")]
    Transaction(#[source] crate::txn::TxnError),
}

impl From<ClusterError> for ProduceError {
    fn from(e: ClusterError) -> Self {
        ProduceError::Cluster(std::sync::Arc::new(e))
    }
}
