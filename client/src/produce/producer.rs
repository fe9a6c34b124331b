//! The [`Producer`] handle.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};

use bytes::Bytes;
use kwire::records::{Header, RecordBatchBuilder};
use tokio::sync::{oneshot, Notify, Semaphore};
use tokio::task::JoinHandle;

use super::accumulator::{Batch, State, Waiter};
use super::config::ProducerConfig;
use super::error::ProduceError;
use super::partitioner::partition_for_key;
use super::sender;
use super::transactional::TxnLink;
use crate::cluster::Cluster;
use crate::escape::escape;

/// One record to send.
#[derive(Debug, Clone, Default)]
pub struct ProducerRecord {
    pub topic: String,
    /// `None`: by key (murmur2, as Java), or sticky for keyless records.
    pub partition: Option<i32>,
    pub key: Option<Bytes>,
    pub value: Option<Bytes>,
    pub headers: Vec<Header>,
    /// Milliseconds since the epoch; `None`: now.
    pub timestamp: Option<i64>,
}

impl ProducerRecord {
    pub fn new(topic: impl Into<String>, value: impl Into<Bytes>) -> Self {
        ProducerRecord {
            topic: topic.into(),
            value: Some(value.into()),
            ..Default::default()
        }
    }

    pub fn key(mut self, key: impl Into<Bytes>) -> Self {
        self.key = Some(key.into());
        self
    }

    pub fn partition(mut self, p: i32) -> Self {
        self.partition = Some(p);
        self
    }

    pub fn header(mut self, key: impl Into<Bytes>, value: Option<impl Into<Bytes>>) -> Self {
        self.headers.push(Header::new(key, value));
        self
    }

    pub fn timestamp(mut self, ms: i64) -> Self {
        self.timestamp = Some(ms);
        self
    }

    /// What the record costs in a batch (its fields plus the record
    /// framing's worst case), which is also what it holds of the buffer.
    fn size(&self) -> usize {
        let h: usize = self
            .headers
            .iter()
            .map(|h| h.key.len() + h.value.as_ref().map_or(0, Bytes::len) + 10)
            .sum();
        self.key.as_ref().map_or(0, Bytes::len) + self.value.as_ref().map_or(0, Bytes::len) + h + 21
    }
}

/// Where a record landed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    pub topic: String,
    pub partition: i32,
    /// -1 when the broker did not say (a duplicate it had already written).
    pub offset: i64,
    /// The broker's LogAppendTime if the topic uses it, else the record's.
    pub timestamp: i64,
}

/// Resolves when the record is acknowledged or has failed.
pub struct DeliveryFuture(oneshot::Receiver<Result<Delivery, ProduceError>>);

impl Future for DeliveryFuture {
    type Output = Result<Delivery, ProduceError>;
    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        Pin::new(&mut self.0)
            .poll(cx)
            .map(|r| r.unwrap_or(Err(ProduceError::Closed)))
    }
}

/// What the producer did so far (for progress reports and tests).
#[derive(Debug, Clone, Default)]
pub struct ProducerStats {
    pub requests: u64,
    /// Batches sent again after a retriable failure.
    pub retried_batches: u64,
    /// Producer ids obtained (more than one: a reset happened).
    pub producer_ids: u64,
    /// Metadata refreshes the producer asked for.
    pub metadata_refreshes: u64,
    /// The nodes each partition's batches were acknowledged by, in order
    /// of first use (a leader change shows as a second node).
    pub leaders: BTreeMap<(String, i32), Vec<i32>>,
    /// Last few retry reasons, escaped.
    pub last_errors: Vec<String>,
}

pub(crate) struct Shared {
    pub cluster: Arc<Cluster>,
    pub cfg: ProducerConfig,
    state: Mutex<State>,
    /// Wakes the sender task.
    pub wake: Notify,
    /// Wakes `flush`/`close` callers when records are answered.
    pub idle: Notify,
    memory: Arc<Semaphore>,
    /// Set for a transactional producer: where the producer id and epoch,
    /// the Produce versions and the right to send a partition come from.
    pub txn: Option<Arc<TxnLink>>,
}

impl Shared {
    pub fn lock(&self) -> MutexGuard<'_, State> {
        // Critical sections are appends and swaps: a poisoned lock still
        // holds consistent state.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// A producer over a [`Cluster`]. Cheap to share behind an `Arc`; `send`
/// takes `&self`.
pub struct Producer {
    shared: Arc<Shared>,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for Producer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Producer")
            .field("cfg", &self.shared.cfg)
            .finish_non_exhaustive()
    }
}

/// Buffer permits are counted in units of this many bytes (a semaphore
/// counts in u32).
const PERMIT_UNIT: usize = 64;

impl Producer {
    /// A producer sending through `cluster`; spawns its sender task on the
    /// current tokio runtime.
    pub fn new(cluster: Arc<Cluster>, cfg: ProducerConfig) -> Result<Producer, ProduceError> {
        Self::build(cluster, cfg, None)
    }

    /// The producer of a [`super::TransactionalProducer`].
    pub(crate) fn with_transactions(
        cluster: Arc<Cluster>,
        cfg: ProducerConfig,
        link: Arc<TxnLink>,
    ) -> Result<Producer, ProduceError> {
        Self::build(cluster, cfg, Some(link))
    }

    fn build(
        cluster: Arc<Cluster>,
        cfg: ProducerConfig,
        txn: Option<Arc<TxnLink>>,
    ) -> Result<Producer, ProduceError> {
        cfg.validate().map_err(ProduceError::Config)?;
        let units = (cfg.buffer_memory / PERMIT_UNIT).clamp(1, Semaphore::MAX_PERMITS);
        let shared = Arc::new(Shared {
            cluster,
            memory: Arc::new(Semaphore::new(units)),
            cfg,
            state: Mutex::new(State::default()),
            wake: Notify::new(),
            idle: Notify::new(),
            txn,
        });
        let task = tokio::spawn(sender::run(shared.clone()));
        Ok(Producer {
            shared,
            task: Mutex::new(Some(task)),
        })
    }

    pub fn config(&self) -> &ProducerConfig {
        &self.shared.cfg
    }

    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// Fails every record not yet sent (an aborted transaction).
    pub(crate) fn fail_queued(&self, e: &ProduceError) {
        self.shared.fail_queued(e);
    }

    pub fn cluster(&self) -> &Arc<Cluster> {
        &self.shared.cluster
    }

    pub fn stats(&self) -> ProducerStats {
        self.shared.lock().stats.clone()
    }

    /// Records handed to `send` and not yet answered.
    pub fn unresolved(&self) -> usize {
        self.shared.lock().unresolved
    }

    /// Queues `rec`; waits only for room in the buffer (and, the first time
    /// a topic is seen, for its metadata). The returned future says where
    /// the record landed.
    pub async fn send(&self, rec: ProducerRecord) -> Result<DeliveryFuture, ProduceError> {
        let size = rec.size();
        let units = size.div_ceil(PERMIT_UNIT);
        let limit = self.shared.cfg.buffer_memory;
        if units > self.shared.memory_units() {
            return Err(ProduceError::TooLarge { size, limit });
        }
        if self.shared.lock().closed {
            return Err(ProduceError::Closed);
        }
        let partitions = self.partitions(&rec.topic).await?;
        if let Some(p) = rec.partition {
            if p < 0 || p >= partitions {
                return Err(ProduceError::Topic {
                    topic: rec.topic.clone(),
                    why: format!("partition {p} does not exist (the topic has {partitions})"),
                });
            }
        }
        let permit = self
            .shared
            .memory
            .clone()
            .acquire_many_owned(u32::try_from(units).unwrap_or(u32::MAX))
            .await
            .map_err(|_| ProduceError::Closed)?;
        let timestamp = rec.timestamp.unwrap_or_else(now_ms);
        let (tx, rx) = oneshot::channel();
        let cfg = &self.shared.cfg;
        let mut wake = false;
        {
            let mut st = self.shared.lock();
            if st.closed {
                return Err(ProduceError::Closed);
            }
            let keyless = rec.partition.is_none() && rec.key.is_none();
            let partition = match (rec.partition, &rec.key) {
                (Some(p), _) => p,
                (None, Some(k)) => partition_for_key(k, partitions),
                (None, None) => {
                    let next = st.next_sticky;
                    *st.sticky
                        .entry(rec.topic.clone())
                        .or_insert_with(|| (next % partitions as u32) as i32)
                }
            };
            if let Some(t) = &self.shared.txn {
                // Kafka's maybeAddPartition: only inside a transaction.
                t.add_partition(&rec.topic, partition)?;
            }
            let key = (rec.topic.clone(), partition);
            let part = st.parts.entry(key).or_default();
            // A record that does not fit closes the open batch first.
            if part
                .open
                .as_ref()
                .is_some_and(|o| !o.waiters.is_empty() && o.bytes + size > cfg.batch_size)
            {
                if let Some(b) = part.open.take() {
                    part.ready.push_back(b);
                    wake = true;
                }
            }
            let open = part.open.get_or_insert_with(|| {
                wake = true;
                let builder = RecordBatchBuilder::with_capacity(
                    0,
                    cfg.batch_size.min(size.max(4096) * 4).max(size),
                )
                .compression(cfg.compression);
                Batch::new(builder)
            });
            open.builder.append(
                timestamp,
                rec.key.as_deref(),
                rec.value.as_deref(),
                &rec.headers,
            )?;
            open.bytes += size;
            open.waiters.push(Waiter {
                tx,
                timestamp,
                _permit: permit,
            });
            let full = open.bytes >= cfg.batch_size;
            if full {
                if let Some(b) = part.open.take() {
                    part.ready.push_back(b);
                }
                wake = true;
            }
            if keyless && full {
                // KIP-480: move on once the sticky partition's batch is done.
                st.next_sticky = st.next_sticky.wrapping_add(1);
                let next = (st.next_sticky % partitions as u32) as i32;
                st.sticky.insert(rec.topic.clone(), next);
            }
            st.unresolved += 1;
        }
        if wake {
            self.shared.wake.notify_one();
        }
        Ok(DeliveryFuture(rx))
    }

    /// The topic's partition count, from metadata (fetched the first time).
    async fn partitions(&self, topic: &str) -> Result<i32, ProduceError> {
        let known = |md: &crate::cluster::Metadata| {
            md.topics
                .get(topic)
                .filter(|t| !t.partitions.is_empty())
                .map(|t| t.partitions.len() as i32)
        };
        if let Some(n) = known(&self.shared.cluster.metadata()) {
            return Ok(n);
        }
        let md = self.shared.cluster.refresh_metadata(&[topic]).await?;
        known(&md).ok_or_else(|| ProduceError::Topic {
            topic: escape(topic).into_owned(),
            why: match md.topics.get(topic) {
                Some(t) if t.error.is_err() => format!("metadata says {}", t.error),
                _ => "not in the cluster's metadata".into(),
            },
        })
    }

    /// Sends everything queued now (linger ignored) and waits until every
    /// record handed to `send` so far is answered.
    pub async fn flush(&self) {
        self.shared.lock().flushing += 1;
        self.shared.wake.notify_one();
        loop {
            let idle = self.shared.idle.notified();
            if self.shared.lock().unresolved == 0 {
                break;
            }
            idle.await;
        }
        self.shared.lock().flushing -= 1;
    }

    /// Flushes, then stops the sender task; later `send`s fail.
    pub async fn close(&self) {
        self.flush().await;
        self.shared.lock().closed = true;
        self.shared.wake.notify_one();
        let task = self.task.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(t) = task {
            let _ = t.await;
        }
    }
}

impl Drop for Producer {
    fn drop(&mut self) {
        // The sender finishes what is queued, then exits.
        self.shared.lock().closed = true;
        self.shared.wake.notify_one();
    }
}

impl Shared {
    /// Fails the batches not in flight; the sequences they held are given
    /// back when nothing of the partition is in flight.
    pub(crate) fn fail_queued(&self, e: &ProduceError) {
        let mut st = self.lock();
        let mut n = 0;
        for p in st.parts.values_mut() {
            let dropped: Vec<Batch> = p.open.take().into_iter().chain(p.ready.drain(..)).collect();
            for b in dropped {
                n += b.waiters.len();
                b.fail(e);
            }
            if p.in_flight == 0 {
                p.next_sequence = p.acked_sequence;
                p.hold = false;
            }
        }
        st.unresolved -= n;
        drop(st);
        if n > 0 {
            self.idle.notify_waiters();
        }
        self.wake.notify_one();
    }

    fn memory_units(&self) -> usize {
        (self.cfg.buffer_memory / PERMIT_UNIT).clamp(1, Semaphore::MAX_PERMITS)
    }
}

pub(crate) fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}
