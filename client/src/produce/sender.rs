//! The sender task: closes batches (full, lingered, or flushed), stamps
//! them, groups them by leader and sends one Produce per leader; applies
//! each answer to the accumulator.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;
use std::time::Duration;

use kwire::messages::produce_request::{PartitionProduceData, TopicProduceData};
use kwire::messages::{InitProducerIdRequest, ProduceRequest, ProduceResponse};
use kwire::{ErrorCode, StrBytes};
use tokio::time::{sleep_until, Instant};

use super::accumulator::{
    add_sequence, outcome, sequence_after, Batch, Key, Outcome, Sealed, State,
};
use super::config::Acks;
use super::error::ProduceError;
use super::producer::Shared;
use crate::cluster::metadata::Metadata;
use crate::escape::escape;
use crate::net::SendOptions;
use crate::protocol::api::VersionRange;
use crate::protocol::route::TopicPartition;

/// How long to wait before asking metadata again for a partition without
/// a leader, or InitProducerId again after a retriable failure.
const RETRY_BACKOFF: Duration = Duration::from_millis(100);

/// How many retry reasons the stats keep.
const KEEP_ERRORS: usize = 8;

/// One Produce to one node.
struct Request {
    node: i32,
    batches: Vec<(Key, Batch)>,
    /// A transactional producer's Produce range, from the transaction's
    /// locked plan (`None`: not transactional).
    txn_versions: Option<VersionRange>,
}

/// What one pass over the state decided.
struct Plan {
    requests: Vec<Request>,
    need_producer_id: bool,
    refresh: BTreeSet<String>,
    wake_at: Option<Instant>,
    done: bool,
}

pub(crate) async fn run(shared: Arc<Shared>) {
    loop {
        let plan = plan(&shared);
        if plan.need_producer_id {
            tokio::spawn(init_producer_id(shared.clone()));
        }
        if !plan.refresh.is_empty() {
            let s = shared.clone();
            tokio::spawn(async move {
                let topics: Vec<&str> = plan.refresh.iter().map(String::as_str).collect();
                if let Err(e) = s.cluster.refresh_metadata(&topics).await {
                    tracing::info!(error = %escape(&e.to_string()), "producer: metadata refresh failed");
                }
                s.wake.notify_one();
            });
        }
        for r in plan.requests {
            tokio::spawn(send(shared.clone(), r));
        }
        if plan.done {
            return;
        }
        match plan.wake_at {
            Some(at) => {
                tokio::select! {
                    _ = shared.wake.notified() => {}
                    _ = sleep_until(at) => {}
                }
            }
            None => shared.wake.notified().await,
        }
    }
}

fn plan(shared: &Shared) -> Plan {
    let cfg = &shared.cfg;
    let md = shared.cluster.metadata();
    let now = Instant::now();
    let mut st = shared.lock();
    let st = &mut *st;
    let mut wake_at: Option<Instant> = None;
    let mut soon = |at: Instant| {
        wake_at = Some(wake_at.map_or(at, |w| w.min(at)));
    };
    let drain = st.flushing > 0 || st.closed;
    let mut need_producer_id = false;
    let mut refresh = BTreeSet::new();
    let mut by_node: BTreeMap<i32, Vec<(Key, Batch)>> = BTreeMap::new();
    let mut expired: Vec<(Key, Batch)> = Vec::new();
    let mut failed: Vec<(Batch, ProduceError)> = Vec::new();
    let mut reset_producer = false;
    if let Some(t) = &shared.txn {
        // The transaction manager owns the id and epoch (InitProducerId,
        // a KIP-360 bump, the epoch EndTxn v5 returned): a new one restarts
        // the sequences. It changes only while nothing is in flight.
        let id = t.producer();
        if id.is_some() && id != st.producer {
            st.new_producer(id);
        }
    }
    let producer = st.producer;
    if cfg.idempotent && producer.is_none() && shared.txn.is_none() {
        if !st.producer_pending && st.producer_retry_at.is_none_or_past(now) {
            st.producer_pending = true;
            need_producer_id = true;
        } else if let Some(at) = st.producer_retry_at {
            soon(at);
        }
    }
    let refresh_ok = st.refresh_after.is_none_or_past(now);
    for (key, part) in st.parts.iter_mut() {
        if let Some(open) = &part.open {
            let linger_end = open.created + cfg.linger;
            if drain || linger_end <= now {
                if let Some(b) = part.open.take() {
                    part.ready.push_back(b);
                }
            } else {
                soon(linger_end);
            }
        }
        // Expired batches not in flight fail.
        while let Some(front) = part.ready.front() {
            if front.created + cfg.delivery_timeout > now {
                soon(front.created + cfg.delivery_timeout);
                break;
            }
            if let Some(b) = part.ready.pop_front() {
                if b.sealed.as_ref().is_some_and(|s| s.producer.is_some()) {
                    // It may have been written, or left a sequence gap
                    // the broker would wait on forever.
                    reset_producer = true;
                }
                expired.push((key.clone(), b));
            }
        }
        if part.hold && part.in_flight == 0 {
            part.hold = false;
        }
        let limit = if cfg.idempotent && !part.established {
            1
        } else {
            cfg.max_in_flight
        };
        if part.hold || part.ready.is_empty() || part.in_flight >= limit {
            continue;
        }
        let needs_stamp = part.ready.front().is_some_and(|b| {
            b.sealed
                .as_ref()
                .map_or(true, |s| s.producer != producer || s.producer.is_none())
        });
        if cfg.idempotent && needs_stamp && part.unresolved >= limit {
            // The dedup window is full of unresolved batches (see
            // `Part::unresolved`): a later one would push the oldest out.
            continue;
        }
        if let Some(at) = part.ready.front().and_then(|b| b.not_before) {
            if at > now {
                soon(at);
                continue;
            }
        }
        if cfg.idempotent && producer.is_none() {
            continue;
        }
        if let Some(t) = &shared.txn {
            // Classic: not before AddPartitionsToTxn confirmed the
            // partition; never outside a transaction.
            if !t.may_send(&key.0, key.1) {
                continue;
            }
        }
        let tp = TopicPartition::new(&key.0, key.1);
        let node = match md.leader(&tp) {
            Ok(n) => n.id,
            Err(_) => {
                if refresh_ok {
                    refresh.insert(key.0.clone());
                } else if let Some(at) = st.refresh_after {
                    soon(at);
                }
                continue;
            }
        };
        let Some(mut b) = part.ready.pop_front() else {
            continue;
        };
        let stale = b
            .sealed
            .as_ref()
            .is_some_and(|s| s.producer != producer || (cfg.idempotent && s.producer.is_none()));
        if b.sealed.is_none() || stale {
            let count = b.count();
            let builder = if cfg.idempotent {
                b.builder.clone()
            } else {
                std::mem::replace(&mut b.builder, kwire::records::RecordBatchBuilder::new(0))
            };
            let (builder, sequence) = match producer {
                Some((id, epoch)) if cfg.idempotent => {
                    let seq = part.next_sequence;
                    // The batch's transactional bit is what makes the broker
                    // keep it out of read_committed reads until the marker
                    // (KIP-98) and, from Produce v12, add its partition to
                    // the transaction (KIP-890 part 2).
                    let b = builder
                        .producer(id, epoch, seq)
                        .transactional(shared.txn.is_some());
                    (b, seq)
                }
                _ => (builder, -1),
            };
            match builder.build() {
                Ok(bytes) => {
                    if cfg.idempotent {
                        part.next_sequence = add_sequence(sequence, count);
                        part.unresolved += 1;
                    }
                    b.sealed = Some(Sealed {
                        producer: producer.filter(|_| cfg.idempotent),
                        sequence,
                        bytes,
                    })
                }
                Err(e) => {
                    failed.push((b, ProduceError::Records(e)));
                    continue;
                }
            }
        }
        part.in_flight += 1;
        tracing::debug!(topic = %escape(&key.0), partition = key.1, node,
            sequence = b.sealed.as_ref().map(|s| s.sequence), records = b.count(),
            attempt = b.attempts, acked_sequence = part.acked_sequence,
            "producer: batch to send");
        by_node.entry(node).or_default().push((key.clone(), b));
    }
    if !refresh.is_empty() {
        st.refresh_after = Some(now + RETRY_BACKOFF);
        st.stats.metadata_refreshes += 1;
        soon(now + RETRY_BACKOFF);
    }
    if let (Some(t), false) = (&shared.txn, expired.is_empty()) {
        // Records of the transaction were lost: it can only be aborted.
        t.produce_failed(ErrorCode::REQUEST_TIMED_OUT);
    }
    for (key, b) in expired {
        let n = b.waiters.len();
        let e = ProduceError::Timeout {
            topic: escape(&key.0).into_owned(),
            partition: key.1,
            attempts: b.attempts,
            last: b.last_error.clone().unwrap_or_else(|| "never sent".into()),
        };
        b.fail(&e);
        st.unresolved -= n;
        shared.idle.notify_waiters();
    }
    for (b, e) in failed {
        st.unresolved -= b.waiters.len();
        b.fail(&e);
        shared.idle.notify_waiters();
    }
    if reset_producer && cfg.idempotent && shared.txn.is_none() {
        st.new_producer(None);
    }
    let done = st.closed && st.unresolved == 0;
    let txn_versions = match &shared.txn {
        Some(t) if !by_node.is_empty() => {
            // Counted now, before the requests exist: EndTxn waits for them.
            t.batches_sent(by_node.values().map(Vec::len).sum());
            t.produce_versions()
        }
        _ => None,
    };
    Plan {
        requests: by_node
            .into_iter()
            .map(|(node, batches)| Request {
                node,
                batches,
                txn_versions,
            })
            .collect(),
        need_producer_id,
        refresh,
        wake_at,
        done,
    }
}

trait PastOrNone {
    fn is_none_or_past(&self, now: Instant) -> bool;
}

impl PastOrNone for Option<Instant> {
    fn is_none_or_past(&self, now: Instant) -> bool {
        match self {
            None => true,
            Some(t) => *t <= now,
        }
    }
}

fn request(shared: &Shared, md: &Metadata, batches: &[(Key, Batch)]) -> ProduceRequest {
    let mut topics: BTreeMap<&str, Vec<PartitionProduceData>> = BTreeMap::new();
    for (key, b) in batches {
        let mut p = PartitionProduceData::default();
        p.index = key.1;
        p.records = b.sealed.as_ref().map(|s| s.bytes.clone());
        topics.entry(&key.0).or_default().push(p);
    }
    let mut req = ProduceRequest::default();
    req.transactional_id = shared
        .txn
        .as_ref()
        .map(|t| StrBytes::from(t.transactional_id().to_string()));
    req.acks = shared.cfg.acks.wire();
    req.timeout_ms = i32::try_from(shared.cfg.request_timeout.as_millis()).unwrap_or(i32::MAX);
    req.topic_data = topics
        .into_iter()
        .map(|(name, partition_data)| {
            let mut t = TopicProduceData::default();
            t.name = StrBytes::from(name.to_string());
            // Produce v13+ names topics by id (KIP-516); the version chosen
            // for this broker decides which of the two is encoded.
            t.topic_id = md.topics.get(name).and_then(|t| t.id).unwrap_or_default();
            t.partition_data = partition_data;
            t
        })
        .collect();
    req
}

async fn send(shared: Arc<Shared>, r: Request) {
    let md = shared.cluster.metadata();
    let req = request(&shared, &md, &r.batches);
    let opts = SendOptions {
        // Retries are the producer's, batch by batch with its sequences
        // (`finish`): the cluster layer sends the request again only when
        // nothing in it took effect. Were it free to resend after a lost
        // answer or a partial stale-leader error, partitions already
        // written would go again inside one call, their first answers (the
        // offsets) would be lost, and the producer's view of what is
        // unresolved would lag the broker's (seen on a rolling upgrade).
        retry_safe: Some(false),
        timeout: Some(shared.cfg.request_timeout + Duration::from_secs(5)),
        transaction_plan: r.txn_versions,
        ..Default::default()
    };
    shared.lock().stats.requests += 1;
    if shared.cfg.acks == Acks::None {
        let res = shared.cluster.send_no_response(&req, &opts).await;
        finish(&shared, r.batches, res.map(|node| (node, None)));
        return;
    }
    let res = shared.cluster.send_with(&req, &opts).await;
    if let (Some(t), Ok(routed)) = (&shared.txn, &res) {
        let error = routed
            .response
            .responses
            .iter()
            .flat_map(|t| t.partition_responses.iter())
            .map(|p| ErrorCode(p.error_code))
            .find(|c| c.is_err())
            .unwrap_or(ErrorCode::NONE);
        t.record(kwire::ApiKey::PRODUCE, routed.version, routed.node, error);
    }
    let res = res.map(|routed| {
        if !routed.retries.is_empty() {
            tracing::info!(node = ?routed.node, retries = ?routed.retries, "producer: Produce went again inside the cluster layer");
        }
        (routed.node.unwrap_or(r.node), Some(routed.response))
    });
    finish(&shared, r.batches, res);
}

/// The answer for one partition of a response.
fn find<'a>(
    resp: &'a ProduceResponse,
    md: &Metadata,
    key: &Key,
) -> Option<&'a kwire::messages::produce_response::PartitionProduceResponse> {
    resp.responses
        .iter()
        .filter(|t| {
            if t.name.is_empty() {
                md.topic_name(&t.topic_id) == Some(key.0.as_str())
            } else {
                *t.name == *key.0
            }
        })
        .flat_map(|t| t.partition_responses.iter())
        .find(|p| p.index == key.1)
}

fn finish(
    shared: &Shared,
    batches: Vec<(Key, Batch)>,
    res: Result<(i32, Option<ProduceResponse>), crate::cluster::ClusterError>,
) {
    let md = shared.cluster.metadata();
    let mut guard = shared.lock();
    let st = &mut *guard;
    let mut resolved = 0usize;
    let mut refresh = false;
    let answered = batches.len();
    for (key, b) in batches {
        let sequence = b
            .sealed
            .as_ref()
            .and_then(|s| s.producer.map(|_| s.sequence));
        let acked = st.parts.get(&key).map_or(0, |p| p.acked_sequence);
        let out = match &res {
            Ok((_, None)) => Outcome::Acked {
                base_offset: -1,
                log_append_time: -1,
            },
            Ok((_, Some(resp))) => match find(resp, &md, &key) {
                Some(p) => outcome(
                    &key,
                    ErrorCode(p.error_code),
                    p.error_message.as_ref().map(|m| escape(m).into_owned()),
                    p.base_offset,
                    p.log_append_time_ms,
                    sequence,
                    acked,
                ),
                None => Outcome::Retry {
                    why: format!("{}-{}: not in the Produce response", escape(&key.0), key.1),
                    refresh: false,
                },
            },
            Err(e) => Outcome::Retry {
                why: escape(&e.to_string()).into_owned(),
                refresh: true,
            },
        };
        let out = match (&shared.txn, out) {
            // A transactional batch is never stamped again under a new id:
            // the manager decides (abort, KIP-360 bump, or fatal).
            (Some(t), Outcome::NewProducerId { why }) => {
                let code = code_of(&res, &md, &key);
                t.produce_failed(code);
                Outcome::Fail(ProduceError::Broker {
                    topic: escape(&key.0).into_owned(),
                    partition: key.1,
                    code,
                    message: Some(why),
                })
            }
            (Some(t), Outcome::Fail(e)) => {
                t.produce_failed(code_of(&res, &md, &key));
                Outcome::Fail(e)
            }
            (_, out) => out,
        };
        let node = res.as_ref().ok().map(|(n, _)| *n);
        resolved += apply(shared, st, key, b, out, node, &mut refresh);
    }
    if let Some(t) = &shared.txn {
        t.batches_answered(answered);
    }
    if refresh {
        st.refresh_after = None;
    }
    st.unresolved -= resolved;
    drop(guard);
    if resolved > 0 {
        shared.idle.notify_waiters();
    }
    shared.wake.notify_one();
}

/// The error code a response gave `key` (UNKNOWN_SERVER_ERROR when it gave
/// none).
fn code_of(
    res: &Result<(i32, Option<ProduceResponse>), crate::cluster::ClusterError>,
    md: &Metadata,
    key: &Key,
) -> ErrorCode {
    match res {
        Ok((_, Some(resp))) => {
            find(resp, md, key).map_or(ErrorCode::UNKNOWN_SERVER_ERROR, |p| ErrorCode(p.error_code))
        }
        _ => ErrorCode::UNKNOWN_SERVER_ERROR,
    }
}

/// Applies one batch's outcome; returns how many records it resolved.
fn apply(
    shared: &Shared,
    st: &mut State,
    key: Key,
    mut b: Batch,
    out: Outcome,
    node: Option<i32>,
    refresh: &mut bool,
) -> usize {
    let cfg = &shared.cfg;
    let n = b.waiters.len();
    let Some(part) = st.parts.get_mut(&key) else {
        b.fail(&ProduceError::Closed);
        return n;
    };
    part.in_flight = part.in_flight.saturating_sub(1);
    let current = b
        .sealed
        .as_ref()
        .is_some_and(|s| s.producer.is_some() && s.producer == st.producer);
    let retry = |st: &mut State, mut b: Batch, why: String| -> usize {
        b.attempts += 1;
        b.last_error = Some(why.clone());
        if !cfg.retries || b.created + cfg.delivery_timeout <= Instant::now() {
            if let Some(t) = &shared.txn {
                t.produce_failed(ErrorCode::REQUEST_TIMED_OUT);
            }
            let n = b.waiters.len();
            let e = ProduceError::Timeout {
                topic: escape(&key.0).into_owned(),
                partition: key.1,
                attempts: b.attempts,
                last: why,
            };
            b.fail(&e);
            if current && shared.txn.is_none() {
                // Written or not, its sequences are a gap the broker would
                // wait on: later batches go under a new producer id.
                st.new_producer(None);
            }
            return n;
        }
        st.stats.retried_batches += 1;
        if st.stats.last_errors.len() >= KEEP_ERRORS {
            st.stats.last_errors.remove(0);
        }
        st.stats.last_errors.push(why);
        if let Some(p) = st.parts.get_mut(&key) {
            p.requeue(b);
        }
        0
    };
    match out {
        Outcome::Acked {
            base_offset,
            log_append_time,
        } => {
            if let Some(s) = b.sealed.as_ref().filter(|s| s.producer.is_some()) {
                if s.producer == st.producer {
                    // A late answer for an earlier batch must not move it back.
                    let end = add_sequence(s.sequence, b.count());
                    if sequence_after(end, part.acked_sequence) {
                        part.acked_sequence = end;
                    }
                    part.established = true;
                    part.unresolved = part.unresolved.saturating_sub(1);
                }
            }
            if base_offset < 0 && cfg.acks != Acks::None {
                tracing::info!(topic = %escape(&key.0), partition = key.1, records = n,
                    "producer: batch acknowledged as already in the log, offset unknown");
            }
            if let Some(node) = node {
                let seen = st.stats.leaders.entry(key.clone()).or_default();
                if seen.last() != Some(&node) {
                    seen.push(node);
                }
            }
            b.succeed(&key, base_offset, log_append_time);
            n
        }
        Outcome::Retry { why, refresh: r } => {
            *refresh |= r;
            tracing::debug!(why = %why, "producer: batch will be sent again");
            retry(st, b, why)
        }
        Outcome::NewProducerId { why } => {
            tracing::info!(why = %why, "producer: a new producer id, sequences from 0");
            if b.sealed.as_ref().and_then(|s| s.producer) == st.producer {
                st.new_producer(None);
            }
            b.sealed = None;
            retry(st, b, why)
        }
        Outcome::Fail(e) => {
            tracing::info!(error = %e, "producer: batch failed");
            if current {
                part.unresolved = part.unresolved.saturating_sub(1);
            }
            if shared.txn.is_none()
                && b.sealed
                    .as_ref()
                    .is_some_and(|s| s.producer.is_some() && s.producer == st.producer)
            {
                // Its sequence range is a gap the broker would wait on
                // forever: later batches go under a new producer id.
                st.new_producer(None);
            }
            b.fail(&e);
            n
        }
    }
}

async fn init_producer_id(shared: Arc<Shared>) {
    let mut req = InitProducerIdRequest::default();
    req.transactional_id = None;
    req.transaction_timeout_ms = 60_000;
    req.producer_id = -1;
    req.producer_epoch = -1;
    let res = shared.cluster.send(&req).await;
    let mut st = shared.lock();
    st.producer_pending = false;
    match res {
        Ok(r) if r.response.error_code == 0 => {
            let id = (r.response.producer_id, r.response.producer_epoch);
            tracing::info!(
                producer_id = id.0,
                epoch = id.1,
                version = r.version,
                "producer: idempotent producer id"
            );
            st.new_producer(Some(id));
            st.stats.producer_ids += 1;
            st.producer_retry_at = None;
        }
        Ok(r) => {
            let code = ErrorCode(r.response.error_code);
            tracing::info!(error = %code, "producer: InitProducerId refused; trying again");
            st.producer_retry_at = Some(Instant::now() + RETRY_BACKOFF);
            if !code.is_retriable() {
                fail_all(&mut st, &ProduceError::ProducerId(code.to_string()));
                drop(st);
                shared.idle.notify_waiters();
            }
        }
        Err(e) => {
            tracing::info!(error = %escape(&e.to_string()), "producer: InitProducerId failed; trying again");
            st.producer_retry_at = Some(Instant::now() + RETRY_BACKOFF);
        }
    }
    shared.wake.notify_one();
}

/// Fails every queued record (a fatal producer error).
fn fail_all(st: &mut State, e: &ProduceError) {
    let mut n = 0;
    let parts: HashMap<Key, _> = std::mem::take(&mut st.parts);
    for (key, mut p) in parts {
        if let Some(b) = p.open.take() {
            n += b.waiters.len();
            b.fail(e);
        }
        for b in p.ready.drain(..) {
            n += b.waiters.len();
            b.fail(e);
        }
        if p.in_flight > 0 {
            p.hold = true;
            st.parts.insert(key, p);
        }
    }
    st.unresolved -= n;
}
