//! Consuming without a group: partitions assigned by the caller (or, later,
//! by a group membership from `group/`), positions kept here.
//!
//! * [`consumer`] — [`Consumer`]: start positions from ListOffsets
//!   (earliest, latest, by timestamp) or an offset, one Fetch per leader per
//!   poll with incremental fetch sessions (KIP-227), every response's
//!   records decoded under one shared budget, offsets out of range reset by
//!   policy, leader changes followed through metadata.
//! * [`group`] — [`GroupConsumer`]: a consumer group member (classic or
//!   KIP-848) driving a [`Consumer`]: rebalance callbacks, starts at
//!   committed offsets, auto-commit, commits before revocation;
//!   `membership` runs the member's requests in a task of its own so
//!   heartbeats go on while the application processes (KIP-62).
//! * [`offsets`] — committed offsets: OffsetCommit and OffsetFetch at the
//!   group coordinator, per-partition results, KIP-447 `require_stable`.
//! * [`config`] — isolation level, waits and sizes, the reset policy.
//! * [`read_committed`] — the `read_committed` isolation level's filter
//!   (KIP-98): only records of committed transactions reach the application.

pub mod config;
pub mod consumer;
pub mod error;
pub mod group;
mod membership;
pub mod offsets;
pub mod read_committed;
mod session;

pub use config::{ConsumerConfig, Isolation, Offset, OffsetReset};
pub use consumer::{ConsumedRecord, Consumer, PartitionState};
pub use error::ConsumeError;
pub use group::{GroupConfig, GroupConsumer, GroupConsumerError, RebalanceListener};
pub use offsets::{OffsetAndMetadata, OffsetsError};
