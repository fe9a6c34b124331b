//! Consuming without a group: partitions assigned by the caller (or, later,
//! by a group membership from `group/`), positions kept here.
//!
//! * [`consumer`] — [`Consumer`]: start positions from ListOffsets
//!   (earliest, latest, by timestamp) or an offset, one Fetch per leader per
//!   poll with incremental fetch sessions (KIP-227), every response's
//!   records decoded under one shared budget, offsets out of range reset by
//!   policy, leader changes followed through metadata.
//! * [`offsets`] — committed offsets: OffsetCommit and OffsetFetch at the
//!   group coordinator, per-partition results, KIP-447 `require_stable`.
//! * [`config`] — isolation level, waits and sizes, the reset policy.
//! * [`read_committed`] — the `read_committed` isolation level's filter
//!   (KIP-98): only records of committed transactions reach the application.

pub mod config;
pub mod consumer;
pub mod error;
pub mod offsets;
pub mod read_committed;
mod session;

pub use config::{ConsumerConfig, Isolation, Offset, OffsetReset};
pub use consumer::{ConsumedRecord, Consumer, PartitionState};
pub use error::ConsumeError;
pub use offsets::{OffsetAndMetadata, OffsetsError};
