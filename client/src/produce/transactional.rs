//! The transactional producer (KIP-98): the sans-IO [`TransactionManager`]
//! driven over a [`Cluster`], with an idempotent [`Producer`] whose batches
//! carry the transaction's producer id, epoch and transactional id.
//!
//! * One driver task sends what [`TransactionManager::poll`] hands out,
//!   one request at a time, each to its coordinator (looked up, and looked
//!   up again after NOT_COORDINATOR / COORDINATOR_NOT_AVAILABLE or a lost
//!   connection), at a version inside the range the manager gives: the
//!   transaction's locked plan overrules the per-request transaction.version
//!   gate (KIP-890 part 2 decided once per transaction).
//! * The producer's sender asks the link before sending a batch: in classic
//!   a partition's batches wait until AddPartitionsToTxn confirmed it; every
//!   Produce goes at a version of the plan's Produce range (v12+ in V2,
//!   v3-v11 in classic) and its errors go to the manager (Kafka's
//!   `maybeTransitionToErrorState`).
//! * Each call (`init_transactions`, `begin_transaction`,
//!   `send_offsets_to_transaction`, `commit_transaction`,
//!   `abort_transaction`) waits at most `max_block` (Java's `max.block.ms`).
//!
//! Every transactional request and every Produce is recorded with its
//! version and the transaction it belonged to ([`TransactionalProducer::requests`]),
//! so a caller can check that a transaction's versions all come from one mode.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use kwire::messages::ApiVersionsResponse;
use kwire::{ApiKey, ErrorCode};
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio::time::{sleep_until, timeout_at, Instant};

use super::config::ProducerConfig;
use super::error::ProduceError;
use super::producer::{DeliveryFuture, Producer, ProducerRecord, Shared};
use crate::cluster::{Cluster, ClusterError, Target};
use crate::escape::escape;
use crate::group::{GroupMetadata, TopicPartition};
use crate::net::{ClientError, SendOptions};
use crate::protocol::api::VersionRange;
use crate::protocol::route::CoordinatorKind;
use crate::protocol::versions::TRANSACTION_VERSION;
use crate::txn::{
    CoordinatorApis, FinalizedLevel, OffsetAndMetadata, OutboundRequest, Poll, ProducerIdAndEpoch,
    Route, SendFailure, TransactionManager, TxnConfig, TxnError, TxnEvent, TxnMode, TxnRequest,
    TxnResponse, TxnState,
};

/// Settings of a [`TransactionalProducer`].
#[derive(Debug, Clone)]
pub struct TransactionalConfig {
    /// Transactional id, timeout, backoff and per-API version caps.
    pub txn: TxnConfig,
    /// The producer's settings; idempotence and acks=all are forced (KIP-98).
    pub producer: ProducerConfig,
    /// How long each call may wait (Java's `max.block.ms`).
    pub max_block: Duration,
    /// `begin_transaction` asks the transaction coordinator for the
    /// finalized features again when the last answer is older than this, so
    /// a `transaction.version` raised on a live cluster is seen by the next
    /// transaction (connections learn features only when they negotiate).
    pub features_max_age: Duration,
}

impl TransactionalConfig {
    pub fn new(transactional_id: impl Into<String>) -> Self {
        TransactionalConfig {
            txn: TxnConfig::new(transactional_id),
            producer: ProducerConfig::default(),
            max_block: Duration::from_secs(60),
            features_max_age: Duration::from_secs(10),
        }
    }
}

/// Why a transactional call failed.
#[derive(Debug, Clone, thiserror::Error)]
pub enum TransactionalError {
    #[error(transparent)]
    Txn(#[from] TxnError),
    #[error("{op} did not finish within {after:?} (state {state:?})")]
    Timeout {
        op: &'static str,
        after: Duration,
        state: TxnState,
    },
    #[error(transparent)]
    Produce(#[from] ProduceError),
    #[error("the transactional producer is closed")]
    Closed,
}

/// One request a transactional producer sent (and had answered).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SentRequest {
    /// 0 before the first `begin_transaction`, then 1, 2, ...
    pub transaction: u64,
    /// The locked mode of that transaction (`None` outside one).
    pub mode: Option<TxnMode>,
    pub api: ApiKey,
    pub version: i16,
    /// The node that answered.
    pub node: Option<i32>,
    /// The answer's first error (NONE: none).
    pub error: ErrorCode,
}

/// What the producer's sender and the driver share with the manager.
pub(crate) struct TxnLink {
    manager: Mutex<TransactionManager>,
    transactional_id: String,
    /// Wakes the driver.
    wake: Notify,
    /// Wakes callers waiting for an outcome.
    changed: Notify,
    inner: Mutex<LinkState>,
}

#[derive(Default)]
struct LinkState {
    outcomes: VecDeque<TxnEvent>,
    log: Vec<SentRequest>,
    transaction: u64,
    batches_in_flight: usize,
    closed: bool,
}

impl TxnLink {
    fn manager(&self) -> MutexGuard<'_, TransactionManager> {
        self.manager.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn inner(&self) -> MutexGuard<'_, LinkState> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    pub(crate) fn transactional_id(&self) -> &str {
        &self.transactional_id
    }

    /// A record goes to `topic`/`partition` (Kafka's `maybeAddPartition`):
    /// refused outside a transaction.
    pub(crate) fn add_partition(&self, topic: &str, partition: i32) -> Result<(), ProduceError> {
        self.manager()
            .add_partition(TopicPartition::new(topic.to_string(), partition))
            .map_err(ProduceError::Transaction)?;
        self.wake.notify_one();
        Ok(())
    }

    /// Whether a batch of `topic`/`partition` may be sent now.
    pub(crate) fn may_send(&self, topic: &str, partition: i32) -> bool {
        self.manager()
            .is_send_allowed(&TopicPartition::new(topic.to_string(), partition))
    }

    /// The producer id and epoch batches are stamped with now.
    pub(crate) fn producer(&self) -> Option<(i64, i16)> {
        let p = self.manager().producer();
        (p != ProducerIdAndEpoch::NONE).then_some((p.producer_id, p.epoch))
    }

    /// The Produce version range of the transaction in progress.
    pub(crate) fn produce_versions(&self) -> Option<VersionRange> {
        self.manager().produce_context().ok().map(|c| c.versions)
    }

    pub(crate) fn batches_sent(&self, n: usize) {
        let total = {
            let mut st = self.inner();
            st.batches_in_flight += n;
            st.batches_in_flight
        };
        self.manager().set_batches_in_flight(total);
    }

    pub(crate) fn batches_answered(&self, n: usize) {
        let total = {
            let mut st = self.inner();
            st.batches_in_flight = st.batches_in_flight.saturating_sub(n);
            st.batches_in_flight
        };
        self.manager().set_batches_in_flight(total);
        self.wake.notify_one();
    }

    /// A batch of the transaction failed with `code`.
    pub(crate) fn produce_failed(&self, code: ErrorCode) {
        self.manager().on_produce_error(code);
        self.wake.notify_one();
    }

    pub(crate) fn record(&self, api: ApiKey, version: i16, node: Option<i32>, error: ErrorCode) {
        let mode = self.manager().mode();
        let mut st = self.inner();
        let transaction = st.transaction;
        st.log.push(SentRequest {
            transaction,
            mode,
            api,
            version,
            node,
            error,
        });
    }
}

/// A transactional producer. See the module docs.
pub struct TransactionalProducer {
    producer: Producer,
    link: Arc<TxnLink>,
    cluster: Arc<Cluster>,
    cfg: TransactionalConfig,
    driver: Mutex<Option<JoinHandle<()>>>,
    features_at: Mutex<Option<Instant>>,
}

impl std::fmt::Debug for TransactionalProducer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TransactionalProducer")
            .field("transactional_id", &self.link.transactional_id)
            .finish_non_exhaustive()
    }
}

impl TransactionalProducer {
    /// A transactional producer over `cluster`; spawns its sender and
    /// driver tasks on the current tokio runtime. Call
    /// [`init_transactions`](Self::init_transactions) next.
    pub fn new(
        cluster: Arc<Cluster>,
        cfg: TransactionalConfig,
    ) -> Result<TransactionalProducer, TransactionalError> {
        if cfg.txn.transactional_id.is_empty() {
            return Err(ProduceError::Config("the transactional id is empty".into()).into());
        }
        let mut pcfg = cfg.producer.clone();
        pcfg.idempotent = true;
        pcfg.acks = super::config::Acks::All;
        let link = Arc::new(TxnLink {
            manager: Mutex::new(TransactionManager::new(cfg.txn.clone())),
            transactional_id: cfg.txn.transactional_id.clone(),
            wake: Notify::new(),
            changed: Notify::new(),
            inner: Mutex::new(LinkState::default()),
        });
        let producer = Producer::with_transactions(cluster.clone(), pcfg, link.clone())?;
        let driver = tokio::spawn(drive(
            cluster.clone(),
            link.clone(),
            producer.shared().clone(),
            cfg.producer.request_timeout,
        ));
        Ok(TransactionalProducer {
            producer,
            link,
            cluster,
            cfg,
            driver: Mutex::new(Some(driver)),
            features_at: Mutex::new(None),
        })
    }

    /// The producer id and epoch now.
    pub fn producer_id(&self) -> ProducerIdAndEpoch {
        self.link.manager().producer()
    }

    pub fn state(&self) -> TxnState {
        self.link.manager().state()
    }

    /// Every request sent so far, in order.
    pub fn requests(&self) -> Vec<SentRequest> {
        self.link.inner().log.clone()
    }

    /// The idempotent producer underneath (stats, unresolved records).
    pub fn producer(&self) -> &Producer {
        &self.producer
    }

    /// Obtains the producer id and epoch for the transactional id, fencing
    /// any older producer with the same id (Kafka's `initTransactions`).
    pub async fn init_transactions(&self) -> Result<(), TransactionalError> {
        self.refresh_level(true).await;
        self.start(|m| m.initialize())?;
        self.wait("init_transactions", |ev, m| match ev {
            TxnEvent::Ready(_) => Some(Ok(())),
            TxnEvent::Failed(e) if m.state() != TxnState::Initializing => Some(Err(e.clone())),
            _ => None,
        })
        .await
    }

    /// Begins a transaction: its mode (classic or KIP-890 part 2) is decided
    /// now and kept until it ends.
    pub async fn begin_transaction(&self) -> Result<TxnMode, TransactionalError> {
        self.refresh_level(false).await;
        let mode = {
            let mut m = self.link.manager();
            let mode = m.begin()?;
            let mut st = self.link.inner();
            st.transaction += 1;
            st.outcomes.clear();
            mode
        };
        self.link.wake.notify_one();
        Ok(mode)
    }

    /// Queues a record of the transaction (see [`Producer::send`]).
    pub async fn send(&self, rec: ProducerRecord) -> Result<DeliveryFuture, ProduceError> {
        self.producer.send(rec).await
    }

    /// Sends every record queued so far and waits for their answers
    /// (Kafka's `flush`), within `max_block`.
    pub async fn flush(&self) -> Result<(), TransactionalError> {
        timeout_at(Instant::now() + self.cfg.max_block, self.producer.flush())
            .await
            .map_err(|_| TransactionalError::Timeout {
                op: "flush",
                after: self.cfg.max_block,
                state: self.state(),
            })
    }

    /// Adds consumed offsets to the transaction, committed with it to the
    /// group coordinator (KIP-98; KIP-447 fencing when `group` names a
    /// member). Waits until the coordinator has them.
    pub async fn send_offsets_to_transaction(
        &self,
        offsets: BTreeMap<TopicPartition, OffsetAndMetadata>,
        group: GroupMetadata,
    ) -> Result<(), TransactionalError> {
        self.start(|m| m.send_offsets(offsets, group))?;
        self.wait("send_offsets_to_transaction", |ev, _| match ev {
            TxnEvent::OffsetsSent { .. } => Some(Ok(())),
            TxnEvent::Failed(e) => Some(Err(e.clone())),
            _ => None,
        })
        .await
    }

    /// Sends every record of the transaction, then commits it.
    pub async fn commit_transaction(&self) -> Result<(), TransactionalError> {
        let deadline = Instant::now() + self.cfg.max_block;
        if timeout_at(deadline, self.producer.flush()).await.is_err() {
            return Err(TransactionalError::Timeout {
                op: "commit_transaction (flushing the transaction's records)",
                after: self.cfg.max_block,
                state: self.state(),
            });
        }
        self.start(|m| m.commit())?;
        self.wait("commit_transaction", |ev, _| match ev {
            TxnEvent::Committed => Some(Ok(())),
            TxnEvent::Failed(e) => Some(Err(e.clone())),
            _ => None,
        })
        .await
    }

    /// Aborts the transaction: records not yet sent fail, those in flight
    /// are waited for, then the coordinator aborts it. Also the way out of
    /// an abortable error; a KIP-360 epoch bump that must follow is waited
    /// for too.
    pub async fn abort_transaction(&self) -> Result<(), TransactionalError> {
        let e = TxnError::InvalidState {
            op: "send (the transaction was aborted)",
            state: TxnState::Aborting,
        };
        self.start(|m| m.abort())?;
        self.producer.fail_queued(&ProduceError::Transaction(e));
        self.wait("abort_transaction", |ev, m| match ev {
            TxnEvent::Aborted if m.state() != TxnState::Initializing => Some(Ok(())),
            TxnEvent::Ready(_) => Some(Ok(())),
            TxnEvent::Failed(e) if e.is_fatal() => Some(Err(e.clone())),
            _ => None,
        })
        .await
    }

    /// Stops the driver and the producer; a transaction in progress is
    /// left to the coordinator's timeout.
    pub async fn close(&self) {
        self.producer.fail_queued(&ProduceError::Closed);
        self.producer.close().await;
        self.link.inner().closed = true;
        self.link.wake.notify_one();
        let task = self.driver.lock().unwrap_or_else(|p| p.into_inner()).take();
        if let Some(t) = task {
            let _ = t.await;
        }
    }

    fn start(
        &self,
        op: impl FnOnce(&mut TransactionManager) -> Result<(), TxnError>,
    ) -> Result<(), TransactionalError> {
        {
            let mut m = self.link.manager();
            if self.link.inner().closed {
                return Err(TransactionalError::Closed);
            }
            self.link.inner().outcomes.clear();
            op(&mut m)?;
        }
        self.link.wake.notify_one();
        Ok(())
    }

    /// Waits for the outcome `pick` accepts, within `max_block`.
    async fn wait(
        &self,
        op: &'static str,
        pick: impl Fn(&TxnEvent, &TransactionManager) -> Option<Result<(), TxnError>>,
    ) -> Result<(), TransactionalError> {
        let deadline = Instant::now() + self.cfg.max_block;
        loop {
            let changed = self.link.changed.notified();
            tokio::pin!(changed);
            changed.as_mut().enable();
            {
                let m = self.link.manager();
                let mut st = self.link.inner();
                while let Some(ev) = st.outcomes.pop_front() {
                    if let Some(r) = pick(&ev, &m) {
                        return r.map_err(Into::into);
                    }
                }
                if m.state() == TxnState::FatalError {
                    if let Some(e) = m.last_error() {
                        return Err(e.clone().into());
                    }
                }
                if st.closed {
                    return Err(TransactionalError::Closed);
                }
            }
            if timeout_at(deadline, changed).await.is_err() {
                return Err(TransactionalError::Timeout {
                    op,
                    after: self.cfg.max_block,
                    state: self.state(),
                });
            }
        }
    }

    /// Feeds the manager the cluster-wide finalized `transaction.version`,
    /// asking the transaction coordinator (or any broker) again when the
    /// last answer is too old, and the coordinator's advertised versions.
    async fn refresh_level(&self, first: bool) {
        let view = self.cluster.features();
        self.link.manager().on_finalized_level(FinalizedLevel {
            level: view.transaction_version(),
            epoch: view.epoch().unwrap_or(-1),
        });
        let stale = {
            let at = self.features_at.lock().unwrap_or_else(|p| p.into_inner());
            at.map_or(true, |t| t.elapsed() >= self.cfg.features_max_age)
        };
        if first || !stale {
            return;
        }
        let node = self
            .cluster
            .cached_coordinator(CoordinatorKind::Transaction, self.link.transactional_id());
        let target = node.map_or(
            Target::Route(crate::protocol::route::Route::Any),
            Target::Node,
        );
        let c = &self.cluster.config().client;
        let req =
            crate::protocol::apiversions::request(3, &c.software_name, &c.software_version, None);
        let opts = SendOptions {
            min_version: Some(3),
            timeout: Some(self.cfg.max_block.min(c.conn.request_timeout)),
            ..Default::default()
        };
        match self.cluster.send_to(target, &req, &opts).await {
            Ok(r) if r.response.error_code == 0 => {
                let level = finalized_level(&r.response);
                tracing::debug!(broker = %r.broker, level = level.level, epoch = level.epoch,
                    "transaction.version for the next transaction");
                self.link.manager().on_finalized_level(level);
                *self.features_at.lock().unwrap_or_else(|p| p.into_inner()) = Some(Instant::now());
            }
            Ok(r) => tracing::info!(error = %ErrorCode(r.response.error_code),
                "ApiVersions for the finalized features refused; the level known stays"),
            Err(e) => tracing::info!(error = %escape(&e.to_string()),
                "ApiVersions for the finalized features failed; the level known stays"),
        }
    }
}

impl Drop for TransactionalProducer {
    fn drop(&mut self) {
        // The driver exits; the producer's own Drop stops its sender. A
        // transaction left open is aborted by the coordinator at its
        // timeout, or when the next producer with this id initializes.
        self.link.inner().closed = true;
        self.link.wake.notify_one();
        self.link.changed.notify_waiters();
    }
}

fn finalized_level(r: &ApiVersionsResponse) -> FinalizedLevel {
    FinalizedLevel {
        // Absent means level 0 (brokers 3.9+ leave level-0 features out).
        level: r
            .finalized_features
            .iter()
            .find(|f| &*f.name == TRANSACTION_VERSION)
            .map_or(0, |f| f.max_version_level),
        epoch: r.finalized_features_epoch,
    }
}

/// The first error code of a response, for the request log.
fn first_error(r: &TxnResponse) -> ErrorCode {
    let code = match r {
        TxnResponse::InitProducerId(r) => r.error_code,
        TxnResponse::AddPartitionsToTxn(r) => std::iter::once(r.error_code)
            .chain(
                r.results_by_topic_v3_and_below
                    .iter()
                    .flat_map(|t| t.results_by_partition.iter())
                    .map(|p| p.partition_error_code),
            )
            .find(|c| *c != 0)
            .unwrap_or(0),
        TxnResponse::AddOffsetsToTxn(r) => r.error_code,
        TxnResponse::TxnOffsetCommit(r) => r
            .topics
            .iter()
            .flat_map(|t| t.partitions.iter())
            .map(|p| p.error_code)
            .find(|c| *c != 0)
            .unwrap_or(0),
        TxnResponse::EndTxn(r) => r.error_code,
    };
    ErrorCode(code)
}

/// The driver task: sends what the manager hands out until closed.
async fn drive(cluster: Arc<Cluster>, link: Arc<TxnLink>, shared: Arc<Shared>, timeout: Duration) {
    loop {
        if link.inner().closed {
            return;
        }
        let poll = link.manager().poll(Instant::now().into_std());
        match poll {
            Poll::Send(req) => execute(&cluster, &link, &shared, *req, timeout).await,
            Poll::WaitUntil(at) => {
                tokio::select! {
                    _ = link.wake.notified() => {}
                    _ = sleep_until(Instant::from_std(at)) => {}
                }
            }
            Poll::Idle => link.wake.notified().await,
        }
        publish(&link, &shared);
    }
}

/// Hands the manager's events to waiting callers and to the sender.
fn publish(link: &TxnLink, shared: &Shared) {
    let mut events = Vec::new();
    {
        let mut m = link.manager();
        while let Some(ev) = m.next_event() {
            events.push(ev);
        }
    }
    if events.is_empty() {
        return;
    }
    let mut failed = None;
    {
        let mut st = link.inner();
        for ev in events {
            match &ev {
                TxnEvent::PartitionsAdded(_) => continue,
                TxnEvent::Failed(e) => failed = Some(e.clone()),
                _ => {}
            }
            st.outcomes.push_back(ev);
        }
    }
    if let Some(e) = failed {
        // Batches not yet sent can only fail now: the transaction must be
        // aborted (or the producer closed).
        shared.fail_queued(&ProduceError::Transaction(e));
    }
    shared.wake.notify_one();
    link.changed.notify_waiters();
}

async fn execute(
    cluster: &Cluster,
    link: &TxnLink,
    shared: &Shared,
    req: OutboundRequest,
    timeout: Duration,
) {
    let now = || Instant::now().into_std();
    let id = req.id;
    let (kind, key) = match &req.route {
        Route::TransactionCoordinator { transactional_id } => {
            (CoordinatorKind::Transaction, transactional_id.clone())
        }
        Route::GroupCoordinator { group_id } => (CoordinatorKind::Group, group_id.clone()),
    };
    if req.refresh_coordinator {
        cluster.forget_coordinator(kind, &key);
    }
    // The lookup first, so that its errors reach the manager as FindCoordinator's.
    let coordinator = match cluster.coordinator(kind, &key).await {
        Ok(b) => b,
        Err(ClusterError::Coordinator { code, .. }) => {
            let _ = link.manager().on_coordinator_error(id, code, now());
            return;
        }
        Err(e) => {
            tracing::info!(error = %escape(&e.to_string()), %kind, "coordinator lookup failed; trying again");
            let _ = link
                .manager()
                .on_send_failed(id, SendFailure::Disconnected, now());
            return;
        }
    };
    if kind == CoordinatorKind::Transaction {
        if let Ok(live) = coordinator.connection().await {
            link.manager().on_coordinator_apis(CoordinatorApis {
                init_producer_id: live.versions.get(ApiKey::INIT_PRODUCER_ID),
                end_txn: live.versions.get(ApiKey::END_TXN),
                txn_offset_commit: live.versions.get(ApiKey::TXN_OFFSET_COMMIT),
            });
        }
    }
    let opts = SendOptions {
        transaction_plan: Some(req.versions),
        timeout: Some(timeout),
        ..Default::default()
    };
    macro_rules! go {
        ($r:expr, $variant:ident) => {
            cluster
                .send_with(&$r, &opts)
                .await
                .map(|x| (TxnResponse::$variant(x.response), x.version, x.node))
        };
    }
    let res = match req.body {
        TxnRequest::InitProducerId(r) => go!(r, InitProducerId),
        TxnRequest::AddPartitionsToTxn(r) => go!(r, AddPartitionsToTxn),
        TxnRequest::AddOffsetsToTxn(r) => go!(r, AddOffsetsToTxn),
        TxnRequest::TxnOffsetCommit(r) => go!(r, TxnOffsetCommit),
        TxnRequest::EndTxn(r) => go!(r, EndTxn),
    };
    let outcome = match res {
        Ok((resp, version, node)) => {
            link.record(req.api, version, node, first_error(&resp));
            let ended = matches!(resp, TxnResponse::EndTxn(_));
            let r = link.manager().on_response(id, resp, now());
            if ended {
                // The next transaction's sends wait for begin.
                shared.wake.notify_one();
            }
            r
        }
        Err(ClusterError::Coordinator { code, .. }) => {
            link.manager().on_coordinator_error(id, code, now())
        }
        Err(ClusterError::Broker {
            source: ClientError::NoVersion(e),
            ..
        }) => {
            tracing::warn!(error = %e, "no usable version for a transactional request");
            link.manager()
                .on_send_failed(id, SendFailure::NoUsableVersion, now())
        }
        Err(e) => {
            tracing::info!(error = %escape(&e.to_string()), api = %req.api, "transactional request failed; trying again");
            link.manager()
                .on_send_failed(id, SendFailure::Disconnected, now())
        }
    };
    if let Err(e) = outcome {
        tracing::warn!(error = %e, "the transaction manager refused an answer");
    }
}
