//! What a [`super::Consumer`] is told.

use std::time::Duration;

use kwire::records::DEFAULT_RECORDS_BUDGET;

/// Where a partition starts (or restarts).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Offset {
    /// The log start offset (ListOffsets timestamp -2).
    Earliest,
    /// The end: high watermark, or the last stable offset under
    /// read_committed (ListOffsets timestamp -1).
    Latest,
    /// This offset.
    At(i64),
    /// The first offset whose timestamp is at or after this (milliseconds
    /// since the epoch; KIP-79), or the end if there is none.
    Timestamp(i64),
}

/// KIP-98's isolation levels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Isolation {
    #[default]
    ReadUncommitted,
    /// Only committed transactions' records, up to the last stable offset.
    ReadCommitted,
}

impl Isolation {
    pub fn wire(self) -> i8 {
        match self {
            Isolation::ReadUncommitted => 0,
            Isolation::ReadCommitted => 1,
        }
    }
}

/// What an OFFSET_OUT_OF_RANGE answer does (Java's `auto.offset.reset`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OffsetReset {
    Earliest,
    Latest,
    /// Report it to the caller.
    Fail,
}

/// Consumer settings; defaults are Java's consumer's.
#[derive(Debug, Clone)]
pub struct ConsumerConfig {
    pub isolation: Isolation,
    /// How long a broker may hold a Fetch waiting for `min_bytes`.
    pub max_wait: Duration,
    pub min_bytes: i32,
    /// Per response (KIP-74); the broker still returns a first batch larger
    /// than this so a consumer is never stuck.
    pub max_bytes: i32,
    pub partition_max_bytes: i32,
    pub offset_reset: OffsetReset,
    /// Incremental fetch sessions (KIP-227) where the broker has them.
    pub fetch_sessions: bool,
    /// Heap for the records of one Fetch response, every partition's
    /// together (one shared budget).
    pub records_memory: usize,
    /// Deadline of one Fetch or ListOffsets call, retries included (on top
    /// of `max_wait`).
    pub request_timeout: Duration,
    /// Check batch CRCs (Java's `check.crcs`).
    pub check_crcs: bool,
}

impl Default for ConsumerConfig {
    fn default() -> Self {
        ConsumerConfig {
            isolation: Isolation::ReadUncommitted,
            max_wait: Duration::from_millis(500),
            min_bytes: 1,
            max_bytes: 50 << 20,
            partition_max_bytes: 1 << 20,
            offset_reset: OffsetReset::Latest,
            fetch_sessions: true,
            records_memory: DEFAULT_RECORDS_BUDGET,
            request_timeout: Duration::from_secs(30),
            check_crcs: true,
        }
    }
}
