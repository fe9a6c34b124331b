//! What a [`super::Producer`] is told.

use std::time::Duration;

use kwire::records::Compression;

/// How many replicas must have a batch before the leader answers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Acks {
    /// No answer at all: nothing is known about delivery (no offsets, no
    /// retries). Not allowed with idempotence (KIP-98 needs answers).
    None,
    /// The leader wrote it.
    Leader,
    /// Every in-sync replica has it (`-1`); idempotence requires this.
    All,
}

impl Acks {
    /// The wire value.
    pub fn wire(self) -> i16 {
        match self {
            Acks::None => 0,
            Acks::Leader => 1,
            Acks::All => -1,
        }
    }
}

/// Producer settings. Defaults follow Kafka's Java producer 4.x where it
/// matters (idempotence on, acks all, linger 5 ms, 5 in flight, 120 s
/// delivery timeout), except the batch size, which is larger (librdkafka's
/// 1 MB `batch.size` class): a large batch is what fills a fast link.
#[derive(Debug, Clone)]
pub struct ProducerConfig {
    pub acks: Acks,
    /// Wait this long for more records before closing a batch that is not
    /// full (Java's `linger.ms`).
    pub linger: Duration,
    /// Close a batch once its records (uncompressed) reach this many bytes.
    /// A single larger record still goes, alone in its batch.
    pub batch_size: usize,
    pub compression: Compression,
    /// KIP-98: one producer id, a sequence per partition; the broker drops
    /// a batch it already has, so retries never duplicate or reorder.
    pub idempotent: bool,
    /// Requests in flight per partition (at most 5 with idempotence: the
    /// broker keeps the last five batches per producer to detect duplicates,
    /// KAFKA-5494).
    pub max_in_flight: usize,
    /// A record not acknowledged this long after `send` fails (Java's
    /// `delivery.timeout.ms`).
    pub delivery_timeout: Duration,
    /// The broker-side timeout and the client-side deadline of one Produce.
    pub request_timeout: Duration,
    /// Bytes of records waiting to be acknowledged; `send` waits for room
    /// beyond this (Java's `buffer.memory`).
    pub buffer_memory: usize,
    /// Retry retriable errors (true), or fail the batch at the first one.
    pub retries: bool,
}

impl Default for ProducerConfig {
    fn default() -> Self {
        ProducerConfig {
            acks: Acks::All,
            linger: Duration::from_millis(5),
            batch_size: 512 * 1024,
            compression: Compression::None,
            idempotent: true,
            max_in_flight: 5,
            delivery_timeout: Duration::from_secs(120),
            request_timeout: Duration::from_secs(30),
            buffer_memory: 64 << 20,
            retries: true,
        }
    }
}

/// The in-flight bound idempotence allows (KAFKA-5494).
pub const MAX_IN_FLIGHT_IDEMPOTENT: usize = 5;

impl ProducerConfig {
    /// Checks the combination; the message says what to change.
    pub fn validate(&self) -> Result<(), String> {
        if self.idempotent && self.acks != Acks::All {
            return Err(
                "idempotence needs acks=all (KIP-98); turn idempotence off for acks 0 or 1".into(),
            );
        }
        if self.idempotent && self.max_in_flight > MAX_IN_FLIGHT_IDEMPOTENT {
            return Err(format!(
                "idempotence allows at most {MAX_IN_FLIGHT_IDEMPOTENT} requests in flight per partition"
            ));
        }
        if self.max_in_flight == 0 {
            return Err("max_in_flight must be at least 1".into());
        }
        if self.batch_size == 0 || self.buffer_memory < self.batch_size {
            return Err("batch_size must be at least 1 and at most buffer_memory".into());
        }
        if self.request_timeout.is_zero() || self.delivery_timeout.is_zero() {
            return Err("timeouts must be above zero".into());
        }
        Ok(())
    }
}
