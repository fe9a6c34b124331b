//! The group member's own I/O, in a task of its own (KIP-62).
//!
//! Heartbeats, JoinGroup and SyncGroup (classic) and ConsumerGroupHeartbeat
//! (KIP-848) go to the coordinator whether or not the application is inside
//! [`super::GroupConsumer::poll`], so processing a batch for longer than the
//! session timeout does not cost the membership. What needs the application
//! — the rebalance callbacks, the leader's metadata, topic names, commits
//! before a revocation — stays queued in the member as events for the next
//! poll, which is where Kafka's consumer runs them too.
//!
//! The other half of KIP-62: an application that does not call poll for
//! longer than the rebalance timeout (Kafka's `max.poll.interval.ms`, which
//! is also the rebalance timeout it sends) is stuck, and the task takes the
//! member out of the group so the partitions move on. They are reported
//! lost, not revoked, at the next poll (KIP-429: no callback could run
//! before they moved), and that poll rejoins.

use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use kwire::ApiKey;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

use crate::cluster::{Cluster, ClusterError};
use crate::escape::escape;
use crate::group::classic::ClassicMember;
use crate::group::consumer::ConsumerMember;
use crate::group::{
    GroupError, GroupEvent, GroupMetadata, GroupRequest, GroupRequestBody, GroupResponse, Poll,
    RequestId, TopicPartition, LEAVE_GROUP_FIRST_MEMBER_LIST,
};
use crate::net::{Broker, SendOptions};
use crate::protocol::route::CoordinatorKind;

/// One of the two protocols' members.
#[derive(Debug)]
pub(super) enum Membership {
    Classic(ClassicMember),
    Consumer(ConsumerMember),
}

impl Membership {
    fn poll(&mut self, now: Instant) -> Poll {
        match self {
            Membership::Classic(m) => m.poll(now),
            Membership::Consumer(m) => m.poll(now),
        }
    }
    fn on_response(
        &mut self,
        id: RequestId,
        r: GroupResponse,
        now: Instant,
    ) -> Result<(), GroupError> {
        match self {
            Membership::Classic(m) => m.on_response(id, r, now),
            Membership::Consumer(m) => m.on_response(id, r, now),
        }
    }
    fn on_send_failed(&mut self, id: RequestId, now: Instant) -> Result<(), GroupError> {
        match self {
            Membership::Classic(m) => m.on_send_failed(id, now),
            Membership::Consumer(m) => m.on_send_failed(id, now),
        }
    }
    pub(super) fn next_event(&mut self) -> Option<GroupEvent> {
        match self {
            Membership::Classic(m) => m.next_event(),
            Membership::Consumer(m) => m.next_event(),
        }
    }
    pub(super) fn revocation_done(&mut self) {
        match self {
            Membership::Classic(m) => m.revocation_done(),
            Membership::Consumer(m) => m.revocation_done(),
        }
    }
    pub(super) fn group_metadata(&self) -> GroupMetadata {
        match self {
            Membership::Classic(m) => m.group_metadata(),
            Membership::Consumer(m) => m.group_metadata(),
        }
    }
    pub(super) fn held(&self) -> std::collections::BTreeSet<TopicPartition> {
        match self {
            Membership::Classic(m) => m.held(),
            Membership::Consumer(m) => m.held(),
        }
    }
    pub(super) fn subscribe(&mut self, topics: Vec<String>) -> Result<(), GroupError> {
        match self {
            Membership::Classic(m) => m.subscribe(topics),
            Membership::Consumer(m) => m.subscribe(topics),
        }
    }
    pub(super) fn leave(&mut self) -> Result<(), GroupError> {
        match self {
            // A static member keeps its place through a restart (KIP-345).
            Membership::Classic(m) => m.leave("the consumer is closing", false),
            Membership::Consumer(m) => m.leave(),
        }
    }
    fn leave_lost(&mut self) -> Result<(), GroupError> {
        match self {
            Membership::Classic(m) => m.leave_lost(
                "the application did not poll within the rebalance timeout (max.poll.interval.ms)",
            ),
            Membership::Consumer(m) => m.leave_lost(),
        }
    }
}

/// What the application side and the member task share. Locked only for
/// the member's synchronous calls, never across an await.
#[derive(Debug)]
pub(super) struct Shared {
    pub(super) member: Membership,
    /// When the application last called poll.
    pub(super) last_poll: Instant,
    /// Closing: the member leaves on the application's behalf, the poll
    /// interval no longer counts.
    pub(super) closing: bool,
    /// The task took the member out of the group because poll was not
    /// called in time; the next poll rejoins.
    pub(super) expired: bool,
    /// An answer the member could not take (a bug of the member's, or of
    /// the coordinator's); the next poll returns it.
    pub(super) failed: Option<GroupError>,
}

/// The running member task and the application's handle on it.
#[derive(Debug)]
pub(super) struct MemberTask {
    shared: Arc<Mutex<Shared>>,
    /// Something changed that may let the member send (a subscription, a
    /// finished revocation, metadata).
    to_task: Arc<Notify>,
    /// The member has news (events, a failure) for the application.
    to_app: Arc<Notify>,
    task: JoinHandle<()>,
}

impl Drop for MemberTask {
    fn drop(&mut self) {
        // A JoinGroup may be held by the coordinator for the whole
        // rebalance timeout: a consumer dropped without `close` does not
        // leave that request behind.
        self.task.abort();
    }
}

fn lock(m: &Mutex<Shared>) -> MutexGuard<'_, Shared> {
    // The member's calls do not panic on input; a poisoned lock only means
    // a panic elsewhere already, and the state is still the member's own.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl MemberTask {
    /// Starts the task for `member`; `max_poll_interval` is the longest the
    /// application may go between polls.
    pub(super) fn start(
        cluster: Arc<Cluster>,
        member: Membership,
        group_id: String,
        max_poll_interval: Duration,
    ) -> MemberTask {
        let shared = Arc::new(Mutex::new(Shared {
            member,
            last_poll: Instant::now(),
            closing: false,
            expired: false,
            failed: None,
        }));
        let to_task = Arc::new(Notify::new());
        let to_app = Arc::new(Notify::new());
        let task = tokio::spawn(run(
            cluster,
            shared.clone(),
            to_task.clone(),
            to_app.clone(),
            group_id,
            max_poll_interval,
        ));
        MemberTask {
            shared,
            to_task,
            to_app,
            task,
        }
    }

    /// Changes the shared state and lets the task look again.
    pub(super) fn with<R>(&self, f: impl FnOnce(&mut Shared) -> R) -> R {
        let r = f(&mut lock(&self.shared));
        self.to_task.notify_one();
        r
    }

    /// Reads (or takes from) the shared state without waking the task.
    pub(super) fn peek<R>(&self, f: impl FnOnce(&mut Shared) -> R) -> R {
        f(&mut lock(&self.shared))
    }

    /// Waits for news from the member, at most until `until`.
    pub(super) async fn news(&self, until: tokio::time::Instant) {
        let _ = tokio::time::timeout_at(until, self.to_app.notified()).await;
    }
}

/// The task: sends what the member asks for, when it asks, and hands the
/// answers back to it; leaves for a stuck application.
async fn run(
    cluster: Arc<Cluster>,
    shared: Arc<Mutex<Shared>>,
    to_task: Arc<Notify>,
    to_app: Arc<Notify>,
    group_id: String,
    max_poll_interval: Duration,
) {
    let mut own: Option<Arc<Broker>> = None;
    loop {
        let (step, expires) = {
            let mut s = lock(&shared);
            let now = Instant::now();
            // Only a member in the group can overstay: one that has not
            // joined yet (or was never subscribed) has nothing to give up.
            let counting = !s.closing && !s.expired && s.member.group_metadata().generation_id > 0;
            let expires = s.last_poll + max_poll_interval;
            if counting && now >= expires && s.member.leave_lost().is_ok() {
                tracing::warn!(group = %escape(&group_id), after = ?max_poll_interval,
                    "group consumer: poll not called within the rebalance timeout (max.poll.interval.ms); leaving the group, the next poll rejoins");
                s.expired = true;
                to_app.notify_one();
            }
            let expires = (counting && !s.expired).then_some(expires);
            (s.member.poll(now), expires)
        };
        let wait_until = |t: Option<Instant>| {
            let at = match (t, expires) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            async move {
                match at {
                    Some(at) => tokio::time::sleep_until(tokio::time::Instant::from_std(at)).await,
                    None => std::future::pending().await,
                }
            }
        };
        match step {
            Poll::Send(req) => {
                let id = req.id;
                let answer = send(&cluster, &mut own, *req).await;
                let mut s = lock(&shared);
                let now = Instant::now();
                let r = match answer {
                    Ok(resp) => s.member.on_response(id, resp, now),
                    Err(e) => {
                        tracing::info!(group = %escape(&group_id), error = %escape(&e.to_string()),
                            "group consumer: request to the coordinator failed");
                        s.member.on_send_failed(id, now)
                    }
                };
                if let Err(e) = r {
                    s.failed.get_or_insert(e);
                }
                drop(s);
                to_app.notify_one();
            }
            Poll::WaitUntil(t) => {
                tokio::select! {
                    _ = wait_until(Some(t)) => {}
                    _ = to_task.notified() => {}
                }
            }
            Poll::Idle => {
                tokio::select! {
                    _ = wait_until(None) => {}
                    _ = to_task.notified() => {}
                }
            }
        }
    }
}

/// Sends one member request to the group's coordinator, at a version in
/// the member's range, within the member's deadline.
/// The member's requests go over a connection of their own
/// ([`Cluster::dedicated_coordinator`]), kept while the coordinator stays
/// the same node.
async fn send(
    cluster: &Cluster,
    own: &mut Option<Arc<Broker>>,
    req: GroupRequest,
) -> Result<GroupResponse, ClusterError> {
    if req.refresh_coordinator {
        cluster.forget_coordinator(CoordinatorKind::Group, &req.group_id);
    }
    let node = cluster
        .coordinator(CoordinatorKind::Group, &req.group_id)
        .await?
        .node_id();
    let broker = match own {
        Some(b) if b.node_id() == node => b.clone(),
        _ => {
            let b = cluster
                .dedicated_coordinator(CoordinatorKind::Group, &req.group_id)
                .await?;
            *own = Some(b.clone());
            b
        }
    };
    let on = |source| ClusterError::Broker {
        broker: broker.name(),
        source,
    };
    let mut opts = SendOptions {
        min_version: Some(req.versions.min),
        max_version: Some(req.versions.max),
        timeout: Some(req.timeout),
        ..Default::default()
    };
    Ok(match req.body {
        GroupRequestBody::JoinGroup(r) => {
            GroupResponse::JoinGroup(broker.send_with(&r, &opts).await.map_err(on)?.response)
        }
        GroupRequestBody::SyncGroup(r) => {
            GroupResponse::SyncGroup(broker.send_with(&r, &opts).await.map_err(on)?.response)
        }
        GroupRequestBody::Heartbeat(r) => {
            GroupResponse::Heartbeat(broker.send_with(&r, &opts).await.map_err(on)?.response)
        }
        GroupRequestBody::ConsumerGroupHeartbeat(r) => GroupResponse::ConsumerGroupHeartbeat(
            broker.send_with(&r, &opts).await.map_err(on)?.response,
        ),
        GroupRequestBody::LeaveGroup(spec) => {
            // The two shapes share no fields: build the one the
            // coordinator's range and the member's allow.
            let live = broker.connection().await.map_err(on)?;
            let list = live
                .versions
                .get(ApiKey::LEAVE_GROUP)
                .is_some_and(|a| a.max >= LEAVE_GROUP_FIRST_MEMBER_LIST)
                && req.versions.max >= LEAVE_GROUP_FIRST_MEMBER_LIST;
            let msg = if list {
                opts.min_version = Some(req.versions.min.max(LEAVE_GROUP_FIRST_MEMBER_LIST));
                spec.message(LEAVE_GROUP_FIRST_MEMBER_LIST)
            } else {
                opts.max_version = Some(req.versions.max.min(LEAVE_GROUP_FIRST_MEMBER_LIST - 1));
                spec.message(0)
            };
            GroupResponse::LeaveGroup(broker.send_with(&msg, &opts).await.map_err(on)?.response)
        }
    })
}
