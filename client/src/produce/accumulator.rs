//! Batches per partition, and what happens to them: open (filling), ready
//! (closed, waiting to go), in flight, then acknowledged, retried or failed.
//!
//! An idempotent producer (KIP-98) gives each batch, when it is first sent,
//! the partition's next sequence; a retry resends the same bytes with the
//! same sequence, so the broker keeps one copy. A batch that failed goes
//! back to the front of its partition's queue in sequence order, and the
//! partition sends nothing more until every batch of it in flight has
//! answered ("hold"): the later ones fail with OUT_OF_ORDER_SEQUENCE_NUMBER
//! and are queued again behind it, so the log keeps the order of `send`.
//! When the producer id must change (UNKNOWN_PRODUCER_ID,
//! INVALID_PRODUCER_EPOCH, a batch expired after it was sent: a gap the
//! broker would never fill), every unacknowledged batch is stamped again
//! under the new id from sequence 0 (KIP-360's reset, without the epoch
//! bump that needs InitProducerId v3).

use std::collections::{HashMap, VecDeque};

use bytes::Bytes;
use kwire::records::RecordBatchBuilder;
use kwire::ErrorCode;
use tokio::sync::{oneshot, OwnedSemaphorePermit};
use tokio::time::Instant;

use super::error::ProduceError;
use super::producer::Delivery;
use crate::cluster::retry::STALE_METADATA;

/// A partition, by topic name.
pub(crate) type Key = (String, i32);

pub(crate) struct Waiter {
    pub tx: oneshot::Sender<Result<Delivery, ProduceError>>,
    pub timestamp: i64,
    pub _permit: OwnedSemaphorePermit,
}

/// The encoded batch as first sent, with its producer stamp.
pub(crate) struct Sealed {
    pub producer: Option<(i64, i16)>,
    pub sequence: i32,
    pub bytes: Bytes,
}

pub(crate) struct Batch {
    pub builder: RecordBatchBuilder,
    pub waiters: Vec<Waiter>,
    /// Records' bytes (uncompressed estimate).
    pub bytes: usize,
    pub created: Instant,
    pub attempts: u32,
    pub last_error: Option<String>,
    pub sealed: Option<Sealed>,
    /// A retry waits until then (backoff).
    pub not_before: Option<Instant>,
}

impl Batch {
    pub fn new(builder: RecordBatchBuilder) -> Self {
        Batch {
            builder,
            waiters: Vec::new(),
            bytes: 0,
            created: Instant::now(),
            attempts: 0,
            last_error: None,
            sealed: None,
            not_before: None,
        }
    }

    pub fn count(&self) -> i32 {
        i32::try_from(self.waiters.len()).unwrap_or(i32::MAX)
    }

    fn sequence(&self) -> Option<i32> {
        self.sealed
            .as_ref()
            .filter(|s| s.producer.is_some())
            .map(|s| s.sequence)
    }

    /// Every record succeeded at `base_offset` (-1: unknown, as for a
    /// duplicate the broker no longer has the offset of).
    pub fn succeed(self, key: &Key, base_offset: i64, log_append_time: i64) {
        for (i, w) in self.waiters.into_iter().enumerate() {
            let offset = if base_offset >= 0 {
                base_offset + i as i64
            } else {
                -1
            };
            let timestamp = if log_append_time >= 0 {
                log_append_time
            } else {
                w.timestamp
            };
            let _ = w.tx.send(Ok(Delivery {
                topic: key.0.clone(),
                partition: key.1,
                offset,
                timestamp,
            }));
        }
    }

    pub fn fail(self, e: &ProduceError) {
        for w in self.waiters {
            let _ = w.tx.send(Err(e.clone()));
        }
    }
}

#[derive(Default)]
pub(crate) struct Part {
    pub open: Option<Batch>,
    pub ready: VecDeque<Batch>,
    pub in_flight: usize,
    /// The sequence the next batch gets.
    pub next_sequence: i32,
    /// The sequence the broker expects next (every batch before it is
    /// acknowledged).
    pub acked_sequence: i32,
    /// A batch failed: send nothing until all in flight have answered.
    pub hold: bool,
    /// Batches stamped under the current producer id and not yet resolved
    /// (in flight, or waiting to be sent again). A new batch is stamped
    /// only while this is below the in-flight bound: the broker remembers
    /// the last five batches per producer and partition (KAFKA-5494), so a
    /// batch written but unanswered is recognised as a duplicate when sent
    /// again only if fewer than five later ones were written after it. A
    /// count of requests in flight is not enough: an answer can come late
    /// (a request retried inside the cluster layer, a connection to a
    /// stopped broker) while later batches of the partition, sent to the
    /// new leader, are acknowledged and the window slides past it.
    pub unresolved: usize,
    /// The broker has acknowledged a batch under the current producer id.
    /// Until then one batch at a time: a broker with no state for the
    /// producer takes any first sequence (KIP-360), so a later batch
    /// overtaking the first would be written before it.
    pub established: bool,
}

impl Part {
    /// Queues a batch that will be sent again: before every batch with a
    /// higher sequence and every batch not yet sent.
    pub fn requeue(&mut self, mut b: Batch) {
        b.not_before = Some(Instant::now() + retry_backoff(b.attempts));
        let at = match b.sequence() {
            Some(seq) => self
                .ready
                .iter()
                .position(|o| !matches!(o.sequence(), Some(s) if s <= seq))
                .unwrap_or(self.ready.len()),
            None => 0,
        };
        self.ready.insert(at, b);
        self.hold = true;
    }

    /// Forgets every stamp (a new producer id): unacknowledged batches get
    /// new sequences from 0, in queue order, when next sent.
    pub fn reset_sequences(&mut self) {
        self.next_sequence = 0;
        self.acked_sequence = 0;
        self.unresolved = 0;
        self.established = false;
        for b in &mut self.ready {
            b.sealed = None;
        }
    }
}

/// The wait before a batch's `attempts`-th retry: 100 ms doubling to 1 s
/// (Java's retry.backoff.ms and retry.backoff.max.ms, KIP-580).
pub(crate) fn retry_backoff(attempts: u32) -> std::time::Duration {
    let ms = 100u64 << attempts.saturating_sub(1).min(4);
    std::time::Duration::from_millis(ms.min(1000))
}

/// Kafka wraps sequences at i32::MAX back to 0 (`DefaultRecordBatch.incrementSequence`).
/// Whether sequence `a` comes after `b` (sequences wrap at `i32::MAX`
/// like Kafka's; "after" means less than half the space ahead).
pub(crate) fn sequence_after(a: i32, b: i32) -> bool {
    let ahead = (i64::from(a) - i64::from(b)).rem_euclid(1i64 << 31);
    ahead != 0 && ahead < (1i64 << 30)
}

pub(crate) fn add_sequence(seq: i32, n: i32) -> i32 {
    if seq > i32::MAX - n {
        n - (i32::MAX - seq) - 1
    } else {
        seq + n
    }
}

/// What one partition's answer means for its batch.
#[derive(Debug)]
pub(crate) enum Outcome {
    Acked {
        base_offset: i64,
        log_append_time: i64,
    },
    /// Send again (if time is left); `refresh`: metadata is stale.
    Retry {
        why: String,
        refresh: bool,
    },
    /// The producer id is unusable: get a new one, then send again.
    NewProducerId {
        why: String,
    },
    Fail(ProduceError),
}

/// The outcome of a partition's `code` for a batch stamped `sequence`
/// while the broker has acknowledged up to `acked`.
pub(crate) fn outcome(
    key: &Key,
    code: ErrorCode,
    message: Option<String>,
    base_offset: i64,
    log_append_time: i64,
    sequence: Option<i32>,
    acked: i32,
) -> Outcome {
    let why = || {
        format!(
            "{}-{}: {code}{}",
            key.0,
            key.1,
            message
                .as_deref()
                .map(|m| format!(" ({m})"))
                .unwrap_or_default()
        )
    };
    match code {
        ErrorCode::NONE => Outcome::Acked {
            base_offset,
            log_append_time,
        },
        // The broker has this batch already (an earlier attempt landed).
        ErrorCode::DUPLICATE_SEQUENCE_NUMBER => Outcome::Acked {
            base_offset: -1,
            log_append_time: -1,
        },
        // The broker already acknowledged a later sequence of this
        // producer, and it takes sequences only in order: this batch is in
        // the log (an earlier attempt landed, its answer was lost) but too
        // far back for the broker to name its offset.
        ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER
            if sequence.is_some_and(|s| sequence_after(acked, s)) =>
        {
            Outcome::Acked {
                base_offset: -1,
                log_append_time: -1,
            }
        }
        // An earlier batch of the partition is not written yet: this one
        // waits behind it.
        ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER if sequence.is_some_and(|s| s != acked) => {
            Outcome::Retry {
                why: why(),
                refresh: false,
            }
        }
        ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER
        | ErrorCode::UNKNOWN_PRODUCER_ID
        | ErrorCode::INVALID_PRODUCER_EPOCH
            if sequence.is_some() =>
        {
            Outcome::NewProducerId { why: why() }
        }
        c if STALE_METADATA.contains(&c) => Outcome::Retry {
            why: why(),
            refresh: true,
        },
        c if c.is_retriable() => Outcome::Retry {
            why: why(),
            refresh: false,
        },
        c => Outcome::Fail(ProduceError::Broker {
            topic: key.0.clone(),
            partition: key.1,
            code: c,
            message,
        }),
    }
}

/// The partitions and what the producer knows of its id.
#[derive(Default)]
pub(crate) struct State {
    pub parts: HashMap<Key, Part>,
    /// Keyless records' partition per topic (KIP-480).
    pub sticky: HashMap<String, i32>,
    pub next_sticky: u32,
    /// The idempotent producer's id and epoch.
    pub producer: Option<(i64, i16)>,
    pub producer_pending: bool,
    pub producer_retry_at: Option<Instant>,
    /// Records handed to `send` and not yet answered.
    pub unresolved: usize,
    /// Callers of `flush` waiting: linger is ignored meanwhile.
    pub flushing: usize,
    pub closed: bool,
    pub refresh_after: Option<Instant>,
    pub stats: super::producer::ProducerStats,
}

impl State {
    /// A new producer id: every partition restarts its sequences.
    pub fn new_producer(&mut self, id: Option<(i64, i16)>) {
        self.producer = id;
        for p in self.parts.values_mut() {
            p.reset_sequences();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequences_wrap_like_kafka() {
        assert_eq!(add_sequence(0, 5), 5);
        assert_eq!(add_sequence(i32::MAX - 1, 1), i32::MAX);
        assert_eq!(add_sequence(i32::MAX, 1), 0);
        assert_eq!(add_sequence(i32::MAX - 2, 5), 2);
    }

    #[test]
    fn sequence_order_wraps() {
        assert!(sequence_after(5, 4));
        assert!(!sequence_after(4, 5) && !sequence_after(4, 4));
        assert!(sequence_after(2, i32::MAX - 2));
        assert!(!sequence_after(i32::MAX - 2, 2));
    }

    #[test]
    fn out_of_order_behind_an_acknowledged_sequence_is_in_the_log() {
        let k = ("t".to_string(), 0);
        let c = ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER;
        // Batch 703 sent again after 707..722 were acknowledged (seen on a
        // rolling upgrade): retrying it forever would stall the partition.
        assert!(matches!(
            outcome(&k, c, None, -1, -1, Some(703), 723),
            Outcome::Acked {
                base_offset: -1,
                ..
            }
        ));
    }

    #[test]
    fn out_of_order_is_retried_only_behind_a_pending_batch() {
        let k = ("t".to_string(), 0);
        let c = ErrorCode::OUT_OF_ORDER_SEQUENCE_NUMBER;
        assert!(matches!(
            outcome(&k, c, None, -1, -1, Some(10), 5),
            Outcome::Retry { .. }
        ));
        assert!(matches!(
            outcome(&k, c, None, -1, -1, Some(5), 5),
            Outcome::NewProducerId { .. }
        ));
        assert!(matches!(
            outcome(
                &k,
                ErrorCode::DUPLICATE_SEQUENCE_NUMBER,
                None,
                7,
                -1,
                Some(5),
                5
            ),
            Outcome::Acked {
                base_offset: -1,
                ..
            }
        ));
        assert!(matches!(
            outcome(
                &k,
                ErrorCode::NOT_LEADER_OR_FOLLOWER,
                None,
                -1,
                -1,
                Some(5),
                5
            ),
            Outcome::Retry { refresh: true, .. }
        ));
        assert!(matches!(
            outcome(&k, ErrorCode::MESSAGE_TOO_LARGE, None, -1, -1, None, 0),
            Outcome::Fail(_)
        ));
    }
}
