//! Coordinator lookups and their cache, keyed by (kind, key).
//!
//! FindCoordinator goes to any broker, batched (v4+) when a version of the
//! batched form fits that broker, else as one single-key request per key
//! ([`crate::protocol::find_coordinator`]). Answers COORDINATOR_NOT_AVAILABLE,
//! COORDINATOR_LOAD_IN_PROGRESS and NOT_COORDINATOR are asked again after a
//! backoff (the group or transaction log partition is moving or loading);
//! any other error is final for its key. Concurrent lookups of the same
//! keys share one.

use std::sync::Arc;

use kwire::ErrorCode;
use tokio::time::{sleep, timeout_at, Instant};

use super::retry::{after_error, AfterError};
use super::{Cluster, ClusterError, Node};
use crate::net::{Broker, ClientError, SendOptions};
use crate::protocol::api::valid_host;
use crate::protocol::find_coordinator::{answers, batched, single, CoordinatorAnswer};
use crate::protocol::reply::reply_facts;
use crate::protocol::route::CoordinatorKind;

/// FindCoordinator answers that mean "ask again later".
const NOT_YET: &[ErrorCode] = &[
    ErrorCode::COORDINATOR_NOT_AVAILABLE,
    ErrorCode::COORDINATOR_LOAD_IN_PROGRESS,
    ErrorCode::NOT_COORDINATOR,
];

impl Cluster {
    /// Looks up (and caches) the coordinators of `keys`, within `deadline`.
    pub(super) async fn lookup(
        &self,
        kind: CoordinatorKind,
        keys: Vec<String>,
        deadline: Instant,
    ) -> Result<(), ClusterError> {
        let budget = deadline.saturating_duration_since(Instant::now());
        let job = self.lookups.run((kind, keys.clone()), || {
            self.lookup_now(kind, keys, deadline)
        });
        match timeout_at(deadline, job).await {
            Ok(r) => r,
            Err(_) => Err(self.deadline_error(
                &format!("finding the {kind} coordinator"),
                budget,
                1,
                None,
            )),
        }
    }

    async fn lookup_now(
        &self,
        kind: CoordinatorKind,
        mut keys: Vec<String>,
        deadline: Instant,
    ) -> Result<(), ClusterError> {
        let budget = deadline.saturating_duration_since(Instant::now());
        let mut attempt = 0u32;
        let mut last: Option<ClusterError> = None;
        loop {
            let b = self.any_broker();
            match self.find(&b, kind, &keys, deadline).await {
                Ok(found) => {
                    let mut again = Vec::new();
                    for key in &keys {
                        match found.iter().find(|a| a.key == *key) {
                            Some(a) if a.error == ErrorCode::NONE && !valid_host(&a.host) => {
                                return Err(ClusterError::Coordinator {
                                    kind,
                                    key: key.clone(),
                                    code: a.error,
                                    message: Some(format!(
                                        "the answer names host {}, which is no host name",
                                        crate::escape::name(&a.host)
                                    )),
                                })
                            }
                            Some(a) if a.error == ErrorCode::NONE => self.remember(kind, a),
                            Some(a) if NOT_YET.contains(&a.error) => {
                                tracing::info!(broker = %b.name(), %kind, key = %key, error = %a.error,
                                    "coordinator not available yet: asking again");
                                last = Some(ClusterError::Coordinator {
                                    kind,
                                    key: key.clone(),
                                    code: a.error,
                                    message: a.message.clone(),
                                });
                                again.push(key.clone());
                            }
                            Some(a) => {
                                return Err(ClusterError::Coordinator {
                                    kind,
                                    key: key.clone(),
                                    code: a.error,
                                    message: a.message.clone(),
                                })
                            }
                            // A batched answer that left a key out.
                            None => again.push(key.clone()),
                        }
                    }
                    if again.is_empty() {
                        return Ok(());
                    }
                    keys = again;
                }
                Err(e) => {
                    match after_error(&e, true) {
                        AfterError::Retry { unreachable } => {
                            if unreachable {
                                self.mark_unreachable(b.addr());
                            }
                        }
                        AfterError::Rebootstrap => self.rebootstrap(),
                        AfterError::Fail => {
                            return Err(ClusterError::Broker {
                                broker: b.name(),
                                source: e,
                            })
                        }
                    }
                    last = Some(ClusterError::Broker {
                        broker: b.name(),
                        source: e,
                    });
                }
            }
            let left = deadline.saturating_duration_since(Instant::now());
            match self.cfg.backoff.next(attempt, left) {
                Some(wait) => sleep(wait).await,
                None => {
                    return Err(self.deadline_error(
                        &format!("finding the {kind} coordinator of {}", keys.join(", ")),
                        budget,
                        attempt + 1,
                        last,
                    ))
                }
            }
            attempt += 1;
        }
    }

    /// One FindCoordinator exchange with `b`: the batched form if a
    /// version of it fits, else one single-key request per key.
    async fn find(
        &self,
        b: &Arc<Broker>,
        kind: CoordinatorKind,
        keys: &[String],
        deadline: Instant,
    ) -> Result<Vec<CoordinatorAnswer>, ClientError> {
        let left = deadline.saturating_duration_since(Instant::now());
        let opts = SendOptions {
            timeout: Some(self.client.conn.request_timeout.min(left)),
            ..Default::default()
        };
        let live = b.connection().await?;
        let many = batched(kind, keys);
        if b.choose_for(&many, &opts, &live.versions).is_ok() {
            let sent = b.send_with(&many, &opts).await?;
            self.note_throttle(b, &sent.response, sent.version);
            return Ok(answers(&sent.response, sent.version, keys));
        }
        // Before v4 (Kafka 3.0): one request per key, each with its own key.
        let mut out = Vec::new();
        for key in keys {
            let req = single(kind, key);
            let sent = b.send_with(&req, &opts).await?;
            self.note_throttle(b, &sent.response, sent.version);
            out.extend(answers(
                &sent.response,
                sent.version,
                std::slice::from_ref(key),
            ));
        }
        Ok(out)
    }

    fn note_throttle<R: kwire::Response + 'static>(&self, b: &Broker, resp: &R, version: i16) {
        if let Some(ms) = reply_facts(resp, version).throttle_ms {
            self.throttle(b.addr(), ms);
        }
    }

    /// Caches a found coordinator, and a broker object for it if metadata
    /// does not list it yet.
    fn remember(&self, kind: CoordinatorKind, a: &CoordinatorAnswer) {
        let mut st = self.lock();
        tracing::debug!(%kind, key = %a.key, node = a.node_id, "coordinator found");
        st.coordinators.insert((kind, a.key.clone()), a.node_id);
        let same = st
            .nodes
            .get(&a.node_id)
            .is_some_and(|b| b.addr() == a.addr());
        if !same {
            let node = Node {
                id: a.node_id,
                host: a.host.clone(),
                port: a.port,
                rack: None,
            };
            let md = st.metadata.clone();
            let b = self.node_broker(&md, &node);
            if let Some(old) = st.nodes.insert(a.node_id, b) {
                tokio::spawn(async move { old.disconnect().await });
            }
        }
    }
}
