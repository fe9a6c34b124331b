//! The producer: records batched per partition, sent to each partition's
//! leader, acknowledged per record.
//!
//! * [`config`] — acks, linger, batch size, compression, idempotence,
//!   in-flight bound, delivery timeout, buffer memory.
//! * [`partitioner`] — Java's key partitioner (murmur2) and the sticky
//!   choice for keyless records (KIP-480).
//! * [`producer`] — the [`Producer`] handle: `send` returns a delivery
//!   future per record; `flush` and `close`.
//! * `accumulator` — open and ready batches per partition, the per-partition
//!   sequences of an idempotent producer (KIP-98) and what a response does
//!   to them (acknowledge, retry in sequence order, fail).
//! * `sender` — the background task: closes batches when full or lingered,
//!   groups them by leader, sends one Produce per leader.
//!
//! Every request goes through [`crate::Cluster`], so its version is the
//! negotiated one of the broker it reaches.
//!
//! * [`transactional`] — the [`TransactionalProducer`]: the `txn` state
//!   machine driven over the cluster, and the link through which the
//!   sender takes its producer id and epoch, the transaction's Produce
//!   versions and the right to send each partition (classic:
//!   AddPartitionsToTxn first), and reports Produce errors back.

pub mod config;
pub mod error;
pub mod partitioner;
pub mod producer;
pub mod transactional;

mod accumulator;
mod sender;

pub use config::{Acks, ProducerConfig};
pub use error::ProduceError;
pub use producer::{Delivery, DeliveryFuture, Producer, ProducerRecord};
pub use transactional::{
    SentRequest, TransactionalConfig, TransactionalError, TransactionalProducer,
};
