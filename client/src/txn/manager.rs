//! The transactional producer's state machine (Kafka's `TransactionManager`
//! states), sans-IO.
//!
//! The caller drives it:
//!
//! * application calls: [`TransactionManager::initialize`], [`begin`],
//!   [`add_partition`], [`send_offsets`], [`commit`], [`abort`];
//! * [`poll`] hands out the next request to send (or the instant to poll
//!   again), with its route (transaction or group coordinator, never "any
//!   broker") and the version range it must be sent in;
//! * the caller reports back with [`on_response`], [`on_send_failed`],
//!   [`on_coordinator_error`] and, for Produce, [`on_produce_error`];
//! * [`next_event`] tells the application what finished or failed.
//!
//! Like Kafka's client, it keeps one transactional request in flight at a
//! time, ordered by priority (InitProducerId, then AddPartitionsToTxn /
//! AddOffsetsToTxn / TxnOffsetCommit, then EndTxn, then an epoch bump).
//!
//! Epochs: a classic transaction ends without a new epoch, unless an
//! abortable error needs one (KIP-360: InitProducerId v3+ with the current
//! id and epoch, after the abort). A V2 transaction gets its new epoch from
//! the EndTxn v5 response (KIP-890 part 2). A producer whose epoch was
//! obtained under classic bumps it before its first V2 transaction, as
//! Kafka's client does when it sees the cluster upgraded.
//!
//! [`begin`]: TransactionManager::begin
//! [`add_partition`]: TransactionManager::add_partition
//! [`send_offsets`]: TransactionManager::send_offsets
//! [`commit`]: TransactionManager::commit
//! [`abort`]: TransactionManager::abort
//! [`poll`]: TransactionManager::poll
//! [`on_response`]: TransactionManager::on_response
//! [`on_send_failed`]: TransactionManager::on_send_failed
//! [`on_coordinator_error`]: TransactionManager::on_coordinator_error
//! [`on_produce_error`]: TransactionManager::on_produce_error
//! [`next_event`]: TransactionManager::next_event

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::{Duration, Instant};

use kwire::messages::add_offsets_to_txn_request::AddOffsetsToTxnRequest;
use kwire::messages::add_partitions_to_txn_request::{
    AddPartitionsToTxnRequest, AddPartitionsToTxnTopic,
};
use kwire::messages::end_txn_request::EndTxnRequest;
use kwire::messages::init_producer_id_request::InitProducerIdRequest;
use kwire::messages::txn_offset_commit_request::{
    TxnOffsetCommitRequest, TxnOffsetCommitRequestPartition, TxnOffsetCommitRequestTopic,
};
use kwire::messages::{
    AddOffsetsToTxnResponse, AddPartitionsToTxnResponse, EndTxnResponse, InitProducerIdResponse,
    TxnOffsetCommitResponse,
};
use kwire::{ApiKey, ErrorCode, StrBytes, VersionRange};

use super::errors::{classify, Disposition, TxnApi};
use super::mode::{
    decide, init_producer_id_range, CoordinatorApis, FinalizedLevel, TxnCaps, TxnMode, VersionPlan,
    TXN_OFFSET_COMMIT_FIRST_GROUP_METADATA,
};
use super::TxnError;
use crate::group::{GroupMetadata, TopicPartition};

/// Kafka's `ADD_PARTITIONS_RETRY_BACKOFF_MS`: the first AddPartitionsToTxn
/// of a transaction usually meets CONCURRENT_TRANSACTIONS while the previous
/// transaction's markers are written; retrying soon beats the full backoff
/// (KAFKA-5482).
pub const ADD_PARTITIONS_RETRY_BACKOFF: Duration = Duration::from_millis(20);

/// The states of Kafka's `TransactionManager`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TxnState {
    Uninitialized,
    /// InitProducerId in progress (first call, or an epoch bump).
    Initializing,
    Ready,
    InTransaction,
    Committing,
    Aborting,
    /// The transaction must be aborted; then the producer carries on.
    AbortableError,
    /// Only closing the producer is left.
    FatalError,
}

/// Producer id and epoch; -1/-1 before InitProducerId.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ProducerIdAndEpoch {
    pub producer_id: i64,
    pub epoch: i16,
}

impl ProducerIdAndEpoch {
    pub const NONE: ProducerIdAndEpoch = ProducerIdAndEpoch {
        producer_id: -1,
        epoch: -1,
    };
}

/// Configuration of one transactional producer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxnConfig {
    pub transactional_id: String,
    pub transaction_timeout_ms: i32,
    pub retry_backoff: Duration,
    pub caps: TxnCaps,
}

impl TxnConfig {
    /// Kafka's defaults: a 60 s transaction timeout, 100 ms retry backoff.
    pub fn new(transactional_id: impl Into<String>) -> Self {
        TxnConfig {
            transactional_id: transactional_id.into(),
            transaction_timeout_ms: 60_000,
            retry_backoff: Duration::from_millis(100),
            caps: TxnCaps::default(),
        }
    }
}

/// Where a request must go. Routing is by what the request is, never by
/// how it was built (franz-go v1.19.2 sent EndTxn to a random broker once a
/// version pin wrapped it, twmb/franz-go#1021).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Route {
    TransactionCoordinator { transactional_id: String },
    GroupCoordinator { group_id: String },
}

/// A request body.
#[derive(Debug, Clone, PartialEq)]
pub enum TxnRequest {
    InitProducerId(InitProducerIdRequest),
    AddPartitionsToTxn(AddPartitionsToTxnRequest),
    AddOffsetsToTxn(AddOffsetsToTxnRequest),
    TxnOffsetCommit(TxnOffsetCommitRequest),
    EndTxn(EndTxnRequest),
}

/// A response body, decoded by the caller.
#[derive(Debug, Clone, PartialEq)]
pub enum TxnResponse {
    InitProducerId(InitProducerIdResponse),
    AddPartitionsToTxn(AddPartitionsToTxnResponse),
    AddOffsetsToTxn(AddOffsetsToTxnResponse),
    TxnOffsetCommit(TxnOffsetCommitResponse),
    EndTxn(EndTxnResponse),
}

/// Identifies one request handed out by [`TransactionManager::poll`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestId(pub u64);

/// A request to send.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboundRequest {
    pub id: RequestId,
    pub route: Route,
    /// The coordinator must be looked up (again) first: it was never known,
    /// or it answered NOT_COORDINATOR, or the connection to it failed.
    pub refresh_coordinator: bool,
    pub api: ApiKey,
    /// The negotiation layer picks within this range (and the broker's).
    pub versions: VersionRange,
    pub body: TxnRequest,
}

/// What [`TransactionManager::poll`] says.
#[derive(Debug, Clone, PartialEq)]
pub enum Poll {
    Send(Box<OutboundRequest>),
    /// Nothing to send before this instant (a retry backoff).
    WaitUntil(Instant),
    /// Nothing to send until something happens.
    Idle,
}

/// What the application learns.
#[derive(Debug, Clone, PartialEq)]
pub enum TxnEvent {
    /// InitProducerId finished (first call or epoch bump): the producer may
    /// begin a transaction.
    Ready(ProducerIdAndEpoch),
    /// AddPartitionsToTxn succeeded: batches for these may be sent.
    PartitionsAdded(Vec<TopicPartition>),
    /// TxnOffsetCommit finished for every partition.
    OffsetsSent {
        group_id: String,
    },
    Committed,
    Aborted,
    /// A request failed; the state says what is left to do.
    Failed(TxnError),
}

/// Offset and metadata committed for one partition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OffsetAndMetadata {
    pub offset: i64,
    pub leader_epoch: Option<i32>,
    pub metadata: Option<String>,
}

/// What a Produce request of the current transaction carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProduceContext {
    pub transactional_id: String,
    pub producer: ProducerIdAndEpoch,
    /// The transaction's Produce range: v12+ in V2, v3-v11 in classic.
    pub versions: VersionRange,
    pub mode: TxnMode,
}

/// Why a request failed without an answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendFailure {
    /// Disconnected, timed out, or never written: retry, coordinator re-looked-up.
    Disconnected,
    /// No version in the given range is usable on the broker.
    NoUsableVersion,
}

#[derive(Debug, Clone, PartialEq)]
enum Work {
    InitProducerId {
        bump: bool,
    },
    AddPartitions {
        partitions: BTreeSet<TopicPartition>,
    },
    AddOffsets {
        group: GroupMetadata,
        offsets: BTreeMap<TopicPartition, OffsetAndMetadata>,
    },
    TxnOffsetCommit {
        group: GroupMetadata,
        offsets: BTreeMap<TopicPartition, OffsetAndMetadata>,
    },
    EndTxn {
        commit: bool,
    },
}

impl Work {
    /// Kafka's request priorities: lower goes first.
    fn priority(&self) -> u8 {
        match self {
            Work::InitProducerId { bump: false } => 1,
            Work::AddPartitions { .. } | Work::AddOffsets { .. } | Work::TxnOffsetCommit { .. } => {
                2
            }
            Work::EndTxn { .. } => 3,
            Work::InitProducerId { bump: true } => 4,
        }
    }

    fn api(&self) -> TxnApi {
        match self {
            Work::InitProducerId { .. } => TxnApi::InitProducerId,
            Work::AddPartitions { .. } => TxnApi::AddPartitionsToTxn,
            Work::AddOffsets { .. } => TxnApi::AddOffsetsToTxn,
            Work::TxnOffsetCommit { .. } => TxnApi::TxnOffsetCommit,
            Work::EndTxn { commit } => TxnApi::EndTxn { commit: *commit },
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
struct Pending {
    work: Work,
    not_before: Option<Instant>,
    refresh: bool,
    seq: u64,
}

/// The transaction in progress and its locked plan.
#[derive(Debug, Clone, PartialEq)]
struct Txn {
    plan: VersionPlan,
    /// Something was added (partitions or offsets): EndTxn must be sent.
    started: bool,
    /// Added and confirmed (classic) or simply used (V2).
    partitions: BTreeSet<TopicPartition>,
    /// Classic: waiting for the next AddPartitionsToTxn.
    new_partitions: BTreeSet<TopicPartition>,
    /// Classic: in an AddPartitionsToTxn in flight or queued.
    pending_partitions: BTreeSet<TopicPartition>,
}

/// The state machine. See the module docs.
#[derive(Debug)]
pub struct TransactionManager {
    cfg: TxnConfig,
    state: TxnState,
    producer: ProducerIdAndEpoch,
    /// The mode the current epoch was obtained under.
    epoch_mode: TxnMode,
    level: FinalizedLevel,
    coordinator: CoordinatorApis,
    txn: Option<Txn>,
    /// KIP-360: bump the epoch once the transaction is aborted.
    epoch_bump_required: bool,
    queue: Vec<Pending>,
    in_flight: Option<(RequestId, Pending)>,
    next_id: u64,
    next_seq: u64,
    batches_in_flight: usize,
    last_error: Option<TxnError>,
    events: VecDeque<TxnEvent>,
}

impl TransactionManager {
    pub fn new(cfg: TxnConfig) -> Self {
        TransactionManager {
            cfg,
            state: TxnState::Uninitialized,
            producer: ProducerIdAndEpoch::NONE,
            epoch_mode: TxnMode::Classic,
            level: FinalizedLevel::UNKNOWN,
            coordinator: CoordinatorApis::default(),
            txn: None,
            epoch_bump_required: false,
            queue: Vec::new(),
            in_flight: None,
            next_id: 0,
            next_seq: 0,
            batches_in_flight: 0,
            last_error: None,
            events: VecDeque::new(),
        }
    }

    pub fn state(&self) -> TxnState {
        self.state
    }

    pub fn producer(&self) -> ProducerIdAndEpoch {
        self.producer
    }

    /// The locked mode of the transaction in progress.
    pub fn mode(&self) -> Option<TxnMode> {
        self.txn.as_ref().map(|t| t.plan.mode)
    }

    /// The locked plan of the transaction in progress.
    pub fn plan(&self) -> Option<&VersionPlan> {
        self.txn.as_ref().map(|t| &t.plan)
    }

    pub fn last_error(&self) -> Option<&TxnError> {
        self.last_error.as_ref()
    }

    /// The cluster-wide finalized `transaction.version` seen so far: kept
    /// only if newer (by FinalizedFeaturesEpoch). It takes effect when the
    /// next transaction begins.
    pub fn on_finalized_level(&mut self, level: FinalizedLevel) {
        self.level = self.level.newest(level);
    }

    /// The transaction coordinator's advertised versions (after a lookup).
    pub fn on_coordinator_apis(&mut self, apis: CoordinatorApis) {
        self.coordinator = apis;
    }

    /// How many Produce batches of this producer are unanswered. EndTxn waits
    /// for zero, as Kafka's sender flushes before completing a transaction.
    pub fn set_batches_in_flight(&mut self, n: usize) {
        self.batches_in_flight = n;
    }

    pub fn next_event(&mut self) -> Option<TxnEvent> {
        self.events.pop_front()
    }

    fn invalid(&self, op: &'static str) -> TxnError {
        if let (TxnState::AbortableError | TxnState::FatalError, Some(e)) =
            (self.state, &self.last_error)
        {
            return TxnError::Previous {
                op,
                fatal: self.state == TxnState::FatalError,
                source: Box::new(e.clone()),
            };
        }
        TxnError::InvalidState {
            op,
            state: self.state,
        }
    }

    fn enqueue(&mut self, work: Work) {
        self.next_seq += 1;
        self.queue.push(Pending {
            work,
            not_before: None,
            refresh: false,
            seq: self.next_seq,
        });
    }

    fn requeue(&mut self, mut p: Pending, now: Instant, backoff: Duration, refresh: bool) {
        p.not_before = Some(now + backoff);
        p.refresh |= refresh;
        self.queue.push(p);
    }

    /// Starts InitProducerId (Kafka's `initTransactions`).
    pub fn initialize(&mut self) -> Result<(), TxnError> {
        if self.state != TxnState::Uninitialized {
            return Err(self.invalid("initialize"));
        }
        init_producer_id_range(&self.cfg.caps, false)?;
        self.state = TxnState::Initializing;
        self.enqueue(Work::InitProducerId { bump: false });
        Ok(())
    }

    /// Begins a transaction: decides its mode from the finalized level, the
    /// user caps and the coordinator's versions, and locks it.
    pub fn begin(&mut self) -> Result<TxnMode, TxnError> {
        if self.state != TxnState::Ready {
            return Err(self.invalid("begin"));
        }
        let plan = decide(self.level, &self.cfg.caps, &self.coordinator)?;
        let mode = plan.mode;
        if mode == TxnMode::Tv2 && self.epoch_mode == TxnMode::Classic {
            // An epoch from classic days must be bumped before the first V2
            // transaction, so nothing of an older transaction can be taken
            // for part of this one (Kafka's `clientSideEpochBumpRequired`
            // on upgrade).
            init_producer_id_range(&self.cfg.caps, true)?;
            self.enqueue(Work::InitProducerId { bump: true });
        }
        tracing::debug!(transactional_id = %self.cfg.transactional_id, %mode, why = %plan.why, "transaction begins");
        self.txn = Some(Txn {
            plan,
            started: false,
            partitions: BTreeSet::new(),
            new_partitions: BTreeSet::new(),
            pending_partitions: BTreeSet::new(),
        });
        self.state = TxnState::InTransaction;
        Ok(mode)
    }

    fn bump_pending(&self) -> bool {
        let is_bump = |w: &Work| matches!(w, Work::InitProducerId { bump: true });
        self.queue.iter().any(|p| is_bump(&p.work))
            || self
                .in_flight
                .as_ref()
                .is_some_and(|(_, p)| is_bump(&p.work))
    }

    /// A record is about to be sent to `tp` (Kafka's `maybeAddPartition`).
    pub fn add_partition(&mut self, tp: TopicPartition) -> Result<(), TxnError> {
        if self.state != TxnState::InTransaction {
            return Err(self.invalid("add_partition"));
        }
        let Some(txn) = self.txn.as_mut() else {
            return Err(TxnError::InvalidState {
                op: "add_partition",
                state: self.state,
            });
        };
        match txn.plan.mode {
            TxnMode::Tv2 => {
                txn.partitions.insert(tp);
                txn.started = true;
            }
            TxnMode::Classic => {
                if !txn.partitions.contains(&tp) && !txn.pending_partitions.contains(&tp) {
                    txn.new_partitions.insert(tp);
                }
            }
        }
        Ok(())
    }

    /// Whether a batch for `tp` may be sent now: in classic only after
    /// AddPartitionsToTxn confirmed it; in V2 once added, after any epoch
    /// bump the transaction waits for.
    pub fn is_send_allowed(&self, tp: &TopicPartition) -> bool {
        if !matches!(self.state, TxnState::InTransaction | TxnState::Committing) {
            return false;
        }
        let Some(txn) = &self.txn else { return false };
        txn.partitions.contains(tp) && !self.bump_pending()
    }

    /// Producer id, epoch and the Produce version range of this transaction.
    pub fn produce_context(&self) -> Result<ProduceContext, TxnError> {
        match (&self.txn, self.state) {
            (Some(txn), TxnState::InTransaction | TxnState::Committing | TxnState::Aborting) => {
                Ok(ProduceContext {
                    transactional_id: self.cfg.transactional_id.clone(),
                    producer: self.producer,
                    versions: txn.plan.produce,
                    mode: txn.plan.mode,
                })
            }
            _ => Err(self.invalid("produce")),
        }
    }

    /// Adds consumed offsets to the transaction (KIP-98 read-process-write):
    /// AddOffsetsToTxn then TxnOffsetCommit in classic, TxnOffsetCommit v5+
    /// alone in V2.
    pub fn send_offsets(
        &mut self,
        offsets: BTreeMap<TopicPartition, OffsetAndMetadata>,
        group: GroupMetadata,
    ) -> Result<(), TxnError> {
        if self.state != TxnState::InTransaction {
            return Err(self.invalid("send_offsets"));
        }
        let Some(txn) = self.txn.as_mut() else {
            return Err(TxnError::InvalidState {
                op: "send_offsets",
                state: self.state,
            });
        };
        let work = match txn.plan.mode {
            TxnMode::Tv2 => {
                txn.started = true;
                Work::TxnOffsetCommit { group, offsets }
            }
            TxnMode::Classic => Work::AddOffsets { group, offsets },
        };
        self.enqueue(work);
        Ok(())
    }

    /// Commits the transaction (EndTxn once everything added is confirmed
    /// and no batch is in flight).
    pub fn commit(&mut self) -> Result<(), TxnError> {
        if self.state != TxnState::InTransaction {
            return Err(self.invalid("commit"));
        }
        self.state = TxnState::Committing;
        self.enqueue(Work::EndTxn { commit: true });
        Ok(())
    }

    /// Aborts the transaction; also the way out of an abortable error.
    pub fn abort(&mut self) -> Result<(), TxnError> {
        if !matches!(
            self.state,
            TxnState::InTransaction | TxnState::AbortableError
        ) {
            return Err(self.invalid("abort"));
        }
        self.state = TxnState::Aborting;
        // Requests of the doomed transaction are dropped; Kafka does the
        // same with partitions not yet added.
        self.queue
            .retain(|p| matches!(p.work, Work::InitProducerId { .. }));
        if let Some(txn) = self.txn.as_mut() {
            txn.new_partitions.clear();
        }
        self.enqueue(Work::EndTxn { commit: false });
        Ok(())
    }

    /// The next request to send, if any. One at a time.
    pub fn poll(&mut self, now: Instant) -> Poll {
        if self.in_flight.is_some() || self.state == TxnState::FatalError {
            return Poll::Idle;
        }
        self.schedule_add_partitions();
        self.queue.sort_by_key(|p| (p.work.priority(), p.seq));
        let mut wait: Option<Instant> = None;
        let mut i = 0;
        while i < self.queue.len() {
            let p = &self.queue[i];
            if let Some(t) = p.not_before {
                if t > now {
                    wait = Some(wait.map_or(t, |w| w.min(t)));
                    i += 1;
                    continue;
                }
            }
            if !self.may_send(&p.work) {
                i += 1;
                continue;
            }
            let p = self.queue.remove(i);
            if let Work::EndTxn { commit } = p.work {
                if !self.txn.as_ref().is_some_and(|t| t.started) {
                    // Nothing reached the coordinator: there is nothing to
                    // end (Kafka completes such a transaction locally).
                    self.complete_transaction(commit);
                    continue;
                }
            }
            return match self.build(&p) {
                Ok(req) => {
                    self.in_flight = Some((req.id, p));
                    Poll::Send(Box::new(req))
                }
                Err(e) => {
                    self.fatal(e);
                    Poll::Idle
                }
            };
        }
        wait.map_or(Poll::Idle, Poll::WaitUntil)
    }

    /// Classic: partitions waiting to be added go out in one request.
    fn schedule_add_partitions(&mut self) {
        let queued = self
            .queue
            .iter()
            .any(|p| matches!(p.work, Work::AddPartitions { .. }))
            || self
                .in_flight
                .as_ref()
                .is_some_and(|(_, p)| matches!(p.work, Work::AddPartitions { .. }));
        if queued || !matches!(self.state, TxnState::InTransaction | TxnState::Committing) {
            return;
        }
        let Some(txn) = self.txn.as_mut() else { return };
        if txn.new_partitions.is_empty() {
            return;
        }
        let partitions = std::mem::take(&mut txn.new_partitions);
        txn.pending_partitions.extend(partitions.iter().cloned());
        self.enqueue(Work::AddPartitions { partitions });
    }

    fn may_send(&self, w: &Work) -> bool {
        match w {
            Work::EndTxn { .. } => {
                let adding = self.txn.as_ref().is_some_and(|t| {
                    !t.new_partitions.is_empty() || !t.pending_partitions.is_empty()
                }) && self.state == TxnState::Committing;
                let others = self.queue.iter().any(|p| {
                    p.work.priority() < w.priority()
                        && !matches!(p.work, Work::InitProducerId { bump: true })
                });
                self.batches_in_flight == 0 && !adding && !others && !self.bump_first()
            }
            Work::InitProducerId { .. } => true,
            _ => !self.bump_first(),
        }
    }

    /// A V2 transaction waiting for its upgrade bump sends nothing else.
    fn bump_first(&self) -> bool {
        self.txn.is_some() && self.bump_pending() && !self.epoch_bump_required
    }

    fn build(&mut self, p: &Pending) -> Result<OutboundRequest, TxnError> {
        self.next_id += 1;
        let id = RequestId(self.next_id);
        let tid = StrBytes::from(self.cfg.transactional_id.clone());
        let txn_route = Route::TransactionCoordinator {
            transactional_id: self.cfg.transactional_id.clone(),
        };
        let plan = self.txn.as_ref().map(|t| &t.plan);
        let missing_plan = || TxnError::InvalidState {
            op: "send a transactional request",
            state: TxnState::Ready,
        };
        let (route, api, versions, body) = match &p.work {
            Work::InitProducerId { bump } => {
                let mut r = InitProducerIdRequest::default();
                r.transactional_id = Some(tid);
                r.transaction_timeout_ms = self.cfg.transaction_timeout_ms;
                if *bump {
                    r.producer_id = self.producer.producer_id;
                    r.producer_epoch = self.producer.epoch;
                }
                (
                    txn_route,
                    ApiKey::INIT_PRODUCER_ID,
                    init_producer_id_range(&self.cfg.caps, *bump)?,
                    TxnRequest::InitProducerId(r),
                )
            }
            Work::AddPartitions { partitions } => {
                let versions = plan
                    .and_then(|p| p.add_partitions_to_txn)
                    .ok_or_else(missing_plan)?;
                let mut r = AddPartitionsToTxnRequest::default();
                r.v3_and_below_transactional_id = tid;
                r.v3_and_below_producer_id = self.producer.producer_id;
                r.v3_and_below_producer_epoch = self.producer.epoch;
                let mut by_topic: BTreeMap<&str, Vec<i32>> = BTreeMap::new();
                for tp in partitions {
                    by_topic
                        .entry(tp.topic.as_str())
                        .or_default()
                        .push(tp.partition);
                }
                r.v3_and_below_topics = by_topic
                    .into_iter()
                    .map(|(t, ps)| {
                        let mut topic = AddPartitionsToTxnTopic::default();
                        topic.name = StrBytes::from(t.to_string());
                        topic.partitions = ps;
                        topic
                    })
                    .collect();
                (
                    txn_route,
                    ApiKey::ADD_PARTITIONS_TO_TXN,
                    versions,
                    TxnRequest::AddPartitionsToTxn(r),
                )
            }
            Work::AddOffsets { group, .. } => {
                let versions = plan
                    .and_then(|p| p.add_offsets_to_txn)
                    .ok_or_else(missing_plan)?;
                let mut r = AddOffsetsToTxnRequest::default();
                r.transactional_id = tid;
                r.producer_id = self.producer.producer_id;
                r.producer_epoch = self.producer.epoch;
                r.group_id = StrBytes::from(group.group_id.clone());
                (
                    txn_route,
                    ApiKey::ADD_OFFSETS_TO_TXN,
                    versions,
                    TxnRequest::AddOffsetsToTxn(r),
                )
            }
            Work::TxnOffsetCommit { group, offsets } => {
                let mut versions = plan.map(|p| p.txn_offset_commit).ok_or_else(missing_plan)?;
                if group.has_member() {
                    // Member id and generation need v3 (KIP-447); without
                    // them the coordinator could not fence a zombie.
                    versions = versions
                        .intersect(&VersionRange::new(TXN_OFFSET_COMMIT_FIRST_GROUP_METADATA, i16::MAX))
                        .ok_or_else(|| TxnError::NoVersion {
                            api: ApiKey::TXN_OFFSET_COMMIT,
                            why: format!(
                                "consumer group metadata needs TxnOffsetCommit v{TXN_OFFSET_COMMIT_FIRST_GROUP_METADATA}+ \
                                 (KIP-447), outside this transaction's range {versions}"
                            ),
                        })?;
                }
                let mut r = TxnOffsetCommitRequest::default();
                r.transactional_id = tid;
                r.group_id = StrBytes::from(group.group_id.clone());
                r.producer_id = self.producer.producer_id;
                r.producer_epoch = self.producer.epoch;
                r.generation_id_or_member_epoch = group.generation_id;
                r.member_id = StrBytes::from(group.member_id.clone());
                r.group_instance_id = group.group_instance_id.clone().map(StrBytes::from);
                let mut by_topic: BTreeMap<&str, Vec<TxnOffsetCommitRequestPartition>> =
                    BTreeMap::new();
                for (tp, om) in offsets {
                    let mut part = TxnOffsetCommitRequestPartition::default();
                    part.partition_index = tp.partition;
                    part.committed_offset = om.offset;
                    part.committed_leader_epoch = om.leader_epoch.unwrap_or(-1);
                    part.committed_metadata = om.metadata.clone().map(StrBytes::from);
                    by_topic.entry(tp.topic.as_str()).or_default().push(part);
                }
                r.topics = by_topic
                    .into_iter()
                    .map(|(t, parts)| {
                        let mut topic = TxnOffsetCommitRequestTopic::default();
                        topic.name = StrBytes::from(t.to_string());
                        topic.partitions = parts;
                        topic
                    })
                    .collect();
                (
                    Route::GroupCoordinator {
                        group_id: group.group_id.clone(),
                    },
                    ApiKey::TXN_OFFSET_COMMIT,
                    versions,
                    TxnRequest::TxnOffsetCommit(r),
                )
            }
            Work::EndTxn { commit } => {
                let versions = plan.map(|p| p.end_txn).ok_or_else(missing_plan)?;
                let mut r = EndTxnRequest::default();
                r.transactional_id = tid;
                r.producer_id = self.producer.producer_id;
                r.producer_epoch = self.producer.epoch;
                r.committed = *commit;
                (txn_route, ApiKey::END_TXN, versions, TxnRequest::EndTxn(r))
            }
        };
        Ok(OutboundRequest {
            id,
            route,
            refresh_coordinator: p.refresh,
            api,
            versions,
            body,
        })
    }

    fn take_in_flight(&mut self, id: RequestId) -> Result<Pending, TxnError> {
        match self.in_flight.take() {
            Some((got, p)) if got == id => Ok(p),
            other => {
                self.in_flight = other;
                Err(TxnError::UnknownRequest(id.0))
            }
        }
    }

    /// The request `id` failed without an answer.
    pub fn on_send_failed(
        &mut self,
        id: RequestId,
        failure: SendFailure,
        now: Instant,
    ) -> Result<(), TxnError> {
        let p = self.take_in_flight(id)?;
        if self.state == TxnState::FatalError {
            return Ok(()); // nothing is resent once the producer has failed
        }
        match failure {
            SendFailure::Disconnected => {
                let backoff = self.cfg.retry_backoff;
                self.requeue(p, now, backoff, true);
            }
            SendFailure::NoUsableVersion => {
                let api = p.work.api();
                self.fatal(TxnError::Fatal {
                    api: api_key(api),
                    code: ErrorCode::UNSUPPORTED_VERSION,
                });
            }
        }
        Ok(())
    }

    /// Looking up the coordinator for request `id` failed with `code`
    /// (FindCoordinator's error for that key).
    pub fn on_coordinator_error(
        &mut self,
        id: RequestId,
        code: ErrorCode,
        now: Instant,
    ) -> Result<(), TxnError> {
        let p = self.take_in_flight(id)?;
        if self.state == TxnState::FatalError {
            return Ok(());
        }
        let api = api_key(p.work.api());
        match classify(TxnApi::FindCoordinator, code) {
            Disposition::Retry => {
                let backoff = self.cfg.retry_backoff;
                self.requeue(p, now, backoff, true);
            }
            Disposition::Abortable => self.abortable(TxnError::Abortable { api, code }),
            _ => self.fatal(TxnError::Fatal { api, code }),
        }
        Ok(())
    }

    /// An error on a Produce of this transaction (Kafka's
    /// `maybeTransitionToErrorState`).
    pub fn on_produce_error(&mut self, code: ErrorCode) {
        if self.state == TxnState::FatalError {
            return;
        }
        match classify(TxnApi::Produce, code) {
            Disposition::Ok => {}
            Disposition::Fenced => self.fatal(self.fenced(ApiKey::PRODUCE, code)),
            Disposition::Abortable if self.txn.is_some() => {
                if self.needs_client_bump()
                    && !matches!(self.state, TxnState::Committing | TxnState::Aborting)
                {
                    self.epoch_bump_required = true;
                }
                self.abortable(TxnError::Abortable {
                    api: ApiKey::PRODUCE,
                    code,
                });
            }
            Disposition::Abortable => {}
            _ => self.fatal(TxnError::Fatal {
                api: ApiKey::PRODUCE,
                code,
            }),
        }
    }

    /// KIP-360 bumps by the client happen only in classic; in V2 EndTxn
    /// bumps the epoch itself.
    fn needs_client_bump(&self) -> bool {
        let classic = self
            .txn
            .as_ref()
            .map_or(true, |t| t.plan.mode == TxnMode::Classic);
        classic && self.coordinator.supports_epoch_bump()
    }

    fn can_handle_abortable(&self) -> bool {
        self.coordinator.supports_epoch_bump()
            || self
                .txn
                .as_ref()
                .is_some_and(|t| t.plan.mode == TxnMode::Tv2)
    }

    fn fenced(&self, api: ApiKey, code: ErrorCode) -> TxnError {
        TxnError::Fenced {
            transactional_id: self.cfg.transactional_id.clone(),
            api,
            code,
        }
    }

    fn fatal(&mut self, e: TxnError) {
        tracing::warn!(transactional_id = %self.cfg.transactional_id, error = %e, "transactional producer failed");
        self.state = TxnState::FatalError;
        self.queue.clear();
        self.last_error = Some(e.clone());
        self.events.push_back(TxnEvent::Failed(e));
    }

    fn abortable(&mut self, e: TxnError) {
        if self.state == TxnState::FatalError {
            return; // terminal: only close() follows
        }
        self.events.push_back(TxnEvent::Failed(e.clone()));
        if self.state == TxnState::Aborting {
            return; // already on the way out (Kafka skips the transition)
        }
        self.state = TxnState::AbortableError;
        self.last_error = Some(e);
        // Only the abort may follow; drop what belonged to the transaction.
        self.queue
            .retain(|p| matches!(p.work, Work::InitProducerId { .. }));
    }

    /// The response to request `id`, decoded at `version`.
    pub fn on_response(
        &mut self,
        id: RequestId,
        response: TxnResponse,
        now: Instant,
    ) -> Result<(), TxnError> {
        let p = self.take_in_flight(id)?;
        let expected = api_key(p.work.api());
        let got = match &response {
            TxnResponse::InitProducerId(_) => ApiKey::INIT_PRODUCER_ID,
            TxnResponse::AddPartitionsToTxn(_) => ApiKey::ADD_PARTITIONS_TO_TXN,
            TxnResponse::AddOffsetsToTxn(_) => ApiKey::ADD_OFFSETS_TO_TXN,
            TxnResponse::TxnOffsetCommit(_) => ApiKey::TXN_OFFSET_COMMIT,
            TxnResponse::EndTxn(_) => ApiKey::END_TXN,
        };
        if got != expected {
            self.in_flight = Some((id, p));
            return Err(TxnError::WrongResponse { expected, got });
        }
        if self.state == TxnState::FatalError {
            // A late answer to a request sent before the producer failed: a
            // fatal error is terminal (Kafka's TransactionManager allows no
            // transition out of FATAL_ERROR), so nothing it says may move the
            // state, e.g. a TRANSACTION_ABORTABLE that would invite an abort.
            return Ok(());
        }
        match response {
            TxnResponse::InitProducerId(r) => self.on_init_producer_id(p, r, now),
            TxnResponse::AddPartitionsToTxn(r) => self.on_add_partitions(p, r, now),
            TxnResponse::AddOffsetsToTxn(r) => self.on_add_offsets(p, r, now),
            TxnResponse::TxnOffsetCommit(r) => self.on_txn_offset_commit(p, r, now),
            TxnResponse::EndTxn(r) => self.on_end_txn(p, r, now),
        }
        Ok(())
    }

    /// The common part: retries and errors. Returns true when handled.
    fn handle_error(&mut self, p: &Pending, code: ErrorCode, now: Instant) -> bool {
        let api = api_key(p.work.api());
        match classify(p.work.api(), code) {
            Disposition::Ok => return false,
            Disposition::RefreshCoordinator => {
                let backoff = self.cfg.retry_backoff;
                self.requeue(p.clone(), now, backoff, true);
            }
            Disposition::Retry | Disposition::NotAttempted => {
                let mut backoff = self.cfg.retry_backoff;
                if code == ErrorCode::CONCURRENT_TRANSACTIONS
                    && matches!(p.work, Work::AddPartitions { .. })
                    && self.txn.as_ref().is_some_and(|t| t.partitions.is_empty())
                {
                    backoff = backoff.min(ADD_PARTITIONS_RETRY_BACKOFF);
                }
                self.requeue(p.clone(), now, backoff, false);
            }
            Disposition::Abortable => self.abortable(TxnError::Abortable { api, code }),
            Disposition::AbortableIfEpochBump => {
                if self.can_handle_abortable() {
                    if self.needs_client_bump() {
                        self.epoch_bump_required = true;
                    }
                    self.abortable(TxnError::Abortable { api, code });
                } else {
                    self.fatal(TxnError::Fatal { api, code });
                }
            }
            Disposition::Fenced => self.fatal(self.fenced(api, code)),
            Disposition::Fatal => self.fatal(TxnError::Fatal { api, code }),
        }
        true
    }

    fn on_init_producer_id(&mut self, p: Pending, r: InitProducerIdResponse, now: Instant) {
        if self.handle_error(&p, ErrorCode(r.error_code), now) {
            return;
        }
        self.producer = ProducerIdAndEpoch {
            producer_id: r.producer_id,
            epoch: r.producer_epoch,
        };
        self.last_error = None;
        self.epoch_bump_required = false;
        // The epoch now belongs to the mode the next transaction would run.
        let next = decide(self.level, &self.cfg.caps, &self.coordinator).map(|p| p.mode);
        if let Some(txn) = &self.txn {
            // A bump made for an upgrade, before a V2 transaction's requests.
            self.epoch_mode = txn.plan.mode;
        } else {
            self.epoch_mode = next.unwrap_or(TxnMode::Classic);
            self.state = TxnState::Ready;
        }
        self.events.push_back(TxnEvent::Ready(self.producer));
    }

    fn on_add_partitions(&mut self, p: Pending, r: AddPartitionsToTxnResponse, now: Instant) {
        let Work::AddPartitions { partitions } = &p.work else {
            return;
        };
        // Kafka handles the per-partition codes in hash-map order and stops
        // at the first that retries or ends the request; kwire takes the
        // most severe instead, so the outcome does not depend on order.
        let severity = |d: Disposition| match d {
            Disposition::Fenced | Disposition::Fatal => 5,
            Disposition::AbortableIfEpochBump => 4,
            Disposition::Abortable => 3,
            Disposition::RefreshCoordinator => 2,
            Disposition::Retry => 1,
            Disposition::Ok | Disposition::NotAttempted => 0,
        };
        let mut codes: Vec<ErrorCode> = r
            .results_by_topic_v3_and_below
            .iter()
            .flat_map(|t| t.results_by_partition.iter())
            .map(|x| ErrorCode(x.partition_error_code))
            .collect();
        codes.push(ErrorCode(r.error_code));
        let worst = codes
            .iter()
            .copied()
            .max_by_key(|c| severity(classify(TxnApi::AddPartitionsToTxn, *c)));
        if let Some(code) = worst {
            let d = classify(TxnApi::AddPartitionsToTxn, code);
            if severity(d) > 0 {
                if d == Disposition::Abortable {
                    // The partitions are no longer pending either way.
                    if let Some(txn) = self.txn.as_mut() {
                        for tp in partitions {
                            txn.pending_partitions.remove(tp);
                        }
                    }
                }
                self.handle_error(&p, code, now);
                return;
            }
        }
        if codes.contains(&ErrorCode::OPERATION_NOT_ATTEMPTED) {
            // Only "not attempted" without a cause: Kafka treats it as a
            // partition error, which is abortable.
            self.abortable(TxnError::Abortable {
                api: ApiKey::ADD_PARTITIONS_TO_TXN,
                code: ErrorCode::OPERATION_NOT_ATTEMPTED,
            });
            return;
        }
        if let Some(txn) = self.txn.as_mut() {
            for tp in partitions {
                txn.pending_partitions.remove(tp);
            }
            txn.partitions.extend(partitions.iter().cloned());
            txn.started = true;
        }
        self.events.push_back(TxnEvent::PartitionsAdded(
            partitions.iter().cloned().collect(),
        ));
    }

    fn on_add_offsets(&mut self, p: Pending, r: AddOffsetsToTxnResponse, now: Instant) {
        if self.handle_error(&p, ErrorCode(r.error_code), now) {
            return;
        }
        let Work::AddOffsets { group, offsets } = p.work else {
            return;
        };
        if let Some(txn) = self.txn.as_mut() {
            txn.started = true;
        }
        // The result is not done until TxnOffsetCommit answers.
        self.next_seq += 1;
        self.queue.push(Pending {
            work: Work::TxnOffsetCommit { group, offsets },
            not_before: None,
            refresh: false,
            seq: self.next_seq,
        });
    }

    fn on_txn_offset_commit(&mut self, p: Pending, r: TxnOffsetCommitResponse, now: Instant) {
        let Work::TxnOffsetCommit { group, mut offsets } = p.work.clone() else {
            return;
        };
        let mut refresh = false;
        for t in &r.topics {
            for part in &t.partitions {
                let tp = TopicPartition::new(t.name.to_string(), part.partition_index);
                let code = ErrorCode(part.error_code);
                match classify(TxnApi::TxnOffsetCommit, code) {
                    Disposition::Ok => {
                        offsets.remove(&tp);
                    }
                    Disposition::RefreshCoordinator => refresh = true,
                    Disposition::Retry => {}
                    _ => {
                        self.handle_error(&p, code, now);
                        return;
                    }
                }
            }
        }
        if offsets.is_empty() {
            self.events.push_back(TxnEvent::OffsetsSent {
                group_id: group.group_id,
            });
        } else {
            // Retry what failed retriably, with the coordinator re-looked-up
            // if it moved.
            let backoff = self.cfg.retry_backoff;
            let retry = Pending {
                work: Work::TxnOffsetCommit { group, offsets },
                ..p
            };
            self.requeue(retry, now, backoff, refresh);
        }
    }

    fn on_end_txn(&mut self, p: Pending, r: EndTxnResponse, now: Instant) {
        if self.handle_error(&p, ErrorCode(r.error_code), now) {
            return;
        }
        let Work::EndTxn { commit } = p.work else {
            return;
        };
        // EndTxn v5 returns the epoch of the next transaction (KIP-890 part
        // 2); below v5 the fields hold their default -1.
        if r.producer_id >= 0 {
            self.producer = ProducerIdAndEpoch {
                producer_id: r.producer_id,
                epoch: r.producer_epoch,
            };
        }
        self.complete_transaction(commit);
    }

    fn complete_transaction(&mut self, commit: bool) {
        let mode = self.txn.take().map(|t| t.plan.mode);
        if let Some(m) = mode {
            if m == TxnMode::Tv2 {
                self.epoch_mode = TxnMode::Tv2;
            }
        }
        self.events.push_back(if commit {
            TxnEvent::Committed
        } else {
            TxnEvent::Aborted
        });
        self.last_error = None;
        if self.producer == ProducerIdAndEpoch::NONE {
            // The abort of a failed first InitProducerId: start over.
            self.state = TxnState::Uninitialized;
        } else if self.epoch_bump_required {
            // KIP-360: recover with the same producer id and a new epoch.
            self.state = TxnState::Initializing;
            self.enqueue(Work::InitProducerId { bump: true });
        } else {
            self.state = TxnState::Ready;
        }
    }
}

fn api_key(api: TxnApi) -> ApiKey {
    match api {
        TxnApi::InitProducerId => ApiKey::INIT_PRODUCER_ID,
        TxnApi::AddPartitionsToTxn => ApiKey::ADD_PARTITIONS_TO_TXN,
        TxnApi::AddOffsetsToTxn => ApiKey::ADD_OFFSETS_TO_TXN,
        TxnApi::TxnOffsetCommit => ApiKey::TXN_OFFSET_COMMIT,
        TxnApi::EndTxn { .. } => ApiKey::END_TXN,
        TxnApi::Produce => ApiKey::PRODUCE,
        TxnApi::FindCoordinator => ApiKey::FIND_COORDINATOR,
    }
}
