//! The send loop: route, resolve, wait out throttling, send at the version
//! the broker's connection allows, then act on what came back
//! ([`super::retry`]), again and again until it is done or the call's
//! deadline says stop.

use std::sync::Arc;

use kwire::Request;
use tokio::time::{sleep, sleep_until, timeout_at, Instant};

use super::retry::{after_error, after_reply, AfterError, AfterReply};
use super::routed::{routed, Routed, Target};
use super::routing::{resolve, Resolution};
use super::{Cluster, ClusterError};
use crate::escape::escape;
use crate::net::{Broker, ClientError, ConnError, SendOptions, Sent};
use crate::protocol::facts::is_retry_safe;
use crate::protocol::reply::reply_facts;
use crate::protocol::route::{route_of, Route, TopicRef};

impl Cluster {
    /// Sends `req` where it belongs and decodes the answer; retries within
    /// the configured deadline.
    pub async fn send<R: Request + 'static>(
        &self,
        req: &R,
    ) -> Result<Routed<R::Response>, ClusterError> {
        self.send_with(req, &SendOptions::default()).await
    }

    /// [`Cluster::send`] with options; `opts.timeout` is the deadline of the
    /// whole call, retries included.
    pub async fn send_with<R: Request + 'static>(
        &self,
        req: &R,
        opts: &SendOptions,
    ) -> Result<Routed<R::Response>, ClusterError> {
        self.send_to(Target::Route(route_of(req)), req, opts).await
    }

    /// Sends `req` to `target`: a route (for a request whose content does
    /// not say enough) or one node (a broker-specific admin request).
    pub async fn send_to<R: Request + 'static>(
        &self,
        target: Target,
        req: &R,
        opts: &SendOptions,
    ) -> Result<Routed<R::Response>, ClusterError> {
        let budget = opts.timeout.unwrap_or(self.cfg.timeout);
        let deadline = Instant::now() + budget;
        let route = match &target {
            Target::Route(r) => r.clone(),
            Target::Node(_) => Route::Any,
        };
        let retry_safe = opts.retry_safe.unwrap_or_else(|| is_retry_safe(R::API_KEY));
        let what = format!("{} to {route}", crate::protocol::api::api_name(R::API_KEY));
        let mut retries: Vec<String> = Vec::new();
        let mut attempt: u32 = 0;
        loop {
            let step = self
                .try_once(&target, &route, req, opts, retry_safe, deadline)
                .await;
            let (sent, broker) = match step {
                Ok(Step::Done(sent, broker)) => {
                    return Ok(routed(sent, &broker, route, retries));
                }
                Ok(Step::Again { note, sent, broker }) => {
                    tracing::info!(request = %what, why = %note, "sending again");
                    retries.push(note);
                    (sent, broker)
                }
                Err(e) if Self::retriable(&e, retry_safe) => {
                    tracing::info!(request = %what, error = %escape(&e.to_string()), "retrying");
                    retries.push(escape(&e.to_string()).into_owned());
                    let left = deadline.saturating_duration_since(Instant::now());
                    let Some(wait) = self.cfg.backoff.next(attempt, left) else {
                        return Err(ClusterError::Deadline {
                            what,
                            after: budget,
                            attempts: attempt + 1,
                            last: Some(Box::new(e)),
                        });
                    };
                    sleep(wait).await;
                    attempt += 1;
                    continue;
                }
                Err(e) => return Err(e),
            };
            let left = deadline.saturating_duration_since(Instant::now());
            let Some(wait) = self.cfg.backoff.next(attempt, left) else {
                // Out of time: the last response, with its errors, is the
                // answer.
                return Ok(routed(sent, &broker, route, retries));
            };
            sleep(wait).await;
            attempt += 1;
        }
    }

    /// Whether a failure of one try is worth another.
    fn retriable(e: &ClusterError, retry_safe: bool) -> bool {
        match e {
            ClusterError::Broker { source, .. } => {
                !matches!(after_error(source, retry_safe), AfterError::Fail)
            }
            // Metadata may learn the topic (being created) or a leader (an
            // election); no broker answering may be a restart.
            ClusterError::UnknownTopic { .. }
            | ClusterError::NoLeader { .. }
            | ClusterError::NoMetadata { .. }
            | ClusterError::UnknownNode(_) => true,
            _ => false,
        }
    }

    /// One try: resolve, wait out throttling, connect, send, read the
    /// response's facts and act on them.
    async fn try_once<R: Request + 'static>(
        &self,
        target: &Target,
        route: &Route,
        req: &R,
        opts: &SendOptions,
        retry_safe: bool,
        deadline: Instant,
    ) -> Result<Step<R::Response>, ClusterError> {
        let broker = match target {
            Target::Node(id) => {
                if self.lock().fetched_at.is_none() {
                    // New or rebootstrapped: learn the nodes first.
                    self.refresh_for(Vec::new(), deadline).await?;
                }
                match self.broker(*id) {
                    Ok(b) => b,
                    // A node leaves metadata while it is down (fenced) and
                    // comes back once restarted: ask again before giving up.
                    Err(ClusterError::UnknownNode(_)) => {
                        self.refresh_for(Vec::new(), deadline).await?;
                        self.broker(*id)?
                    }
                    Err(e) => return Err(e),
                }
            }
            Target::Route(_) => self.target(route, deadline).await?,
        };
        if let Some(until) = self.throttled_until(broker.addr()) {
            if until > deadline {
                return Err(ClusterError::Throttled {
                    broker: broker.name(),
                    remaining: until.saturating_duration_since(Instant::now()),
                });
            }
            tracing::debug!(broker = %broker.name(), "waiting out the broker's throttle (KIP-219)");
            sleep_until(until).await;
        }
        let on = |source: ClientError| ClusterError::Broker {
            broker: broker.name(),
            source,
        };
        // Negotiate first: the connection feeds the cluster's feature view,
        // which then gates this request's version.
        let left = deadline.saturating_duration_since(Instant::now());
        let live = match timeout_at(deadline, broker.connection()).await {
            Ok(r) => r,
            Err(_) => Err(ClientError::Conn(ConnError::TimedOut {
                addr: broker.addr().to_string(),
                what: "connecting and negotiating (the call's deadline)".into(),
                after: left,
            })),
        };
        if let Err(e) = live {
            match after_error(&e, retry_safe) {
                AfterError::Retry { unreachable: true } => {
                    self.mark_unreachable(broker.addr());
                    self.invalidate(route, deadline).await;
                }
                AfterError::Rebootstrap => self.rebootstrap(),
                _ => {}
            }
            return Err(on(e));
        }
        let mut o = opts.clone();
        o.transaction_version = o
            .transaction_version
            .or_else(|| Some(self.features().transaction_version()));
        let left = deadline.saturating_duration_since(Instant::now());
        o.timeout = Some(self.client.conn.request_timeout.min(left));
        o.retry_safe = Some(retry_safe);
        let sent = match broker.send_with(req, &o).await {
            Ok(s) => s,
            Err(e) => {
                if matches!(after_error(&e, retry_safe), AfterError::Retry { .. }) {
                    self.invalidate(route, deadline).await;
                }
                return Err(on(e));
            }
        };
        let facts = reply_facts(&sent.response, sent.version);
        if let Some(ms) = facts.throttle_ms {
            self.throttle(broker.addr(), ms);
        }
        if !facts.leader_hints.is_empty() {
            let mut st = self.lock();
            let mut md = (*st.metadata).clone();
            let moved = facts
                .leader_hints
                .iter()
                .filter(|h| md.apply_hint(h))
                .count();
            if moved > 0 {
                tracing::info!(moved, "leaders moved as the response reported (KIP-951)");
                st.metadata = Arc::new(md);
            }
        }
        let next = after_reply(route, &facts, retry_safe);
        let note = |why: &str| {
            let codes: Vec<String> = facts.errors.iter().map(|e| e.code.to_string()).collect();
            format!("{}: {} ({why})", broker.name(), codes.join(", "))
        };
        match next {
            AfterReply::Done => Ok(Step::Done(sent, broker)),
            AfterReply::RefreshMetadata { partitions, resend } => {
                {
                    let mut st = self.lock();
                    let mut md = (*st.metadata).clone();
                    for tp in &partitions {
                        md.forget_leader(tp);
                    }
                    st.metadata = Arc::new(md);
                }
                let topics = topic_names(route);
                if let Err(e) = self.refresh_for(topics, deadline).await {
                    tracing::info!(error = %escape(&e.to_string()), "metadata refresh after a stale leader failed");
                }
                if resend {
                    Ok(Step::Again {
                        note: note("stale metadata: refreshed, sending again"),
                        sent,
                        broker,
                    })
                } else {
                    Ok(Step::Done(sent, broker))
                }
            }
            AfterReply::Relookup { resend } => {
                self.invalidate(route, deadline).await;
                if resend {
                    Ok(Step::Again {
                        note: note("coordinator moved: looking it up again"),
                        sent,
                        broker,
                    })
                } else {
                    Ok(Step::Done(sent, broker))
                }
            }
            AfterReply::BackOff => Ok(Step::Again {
                note: note("coordinator loading: backing off"),
                sent,
                broker,
            }),
            AfterReply::ControllerMoved { resend } => {
                if let Err(e) = self.refresh_for(Vec::new(), deadline).await {
                    tracing::info!(error = %escape(&e.to_string()), "metadata refresh after NOT_CONTROLLER failed");
                }
                if resend {
                    Ok(Step::Again {
                        note: note("controller moved: refreshed metadata"),
                        sent,
                        broker,
                    })
                } else {
                    Ok(Step::Done(sent, broker))
                }
            }
            AfterReply::Rebootstrap => {
                self.rebootstrap();
                Ok(Step::Again {
                    note: note("REBOOTSTRAP_REQUIRED: bootstrapping again"),
                    sent,
                    broker,
                })
            }
        }
    }

    /// Forgets what routed a request that failed on its broker: the
    /// coordinator of its keys, or the leaders of its partitions (then asks
    /// metadata where they are now; Java's client requests a metadata update
    /// on a disconnect too).
    async fn invalidate(&self, route: &Route, deadline: Instant) {
        match route {
            Route::Coordinator { kind, keys } => {
                let mut st = self.lock();
                for k in keys {
                    st.coordinators.remove(&(*kind, k.clone()));
                }
            }
            Route::Leader(tps) => {
                {
                    let mut st = self.lock();
                    let mut md = (*st.metadata).clone();
                    for tp in tps {
                        md.forget_leader(tp);
                    }
                    st.metadata = Arc::new(md);
                }
                if let Err(e) = self.refresh_for(topic_names(route), deadline).await {
                    tracing::info!(error = %escape(&e.to_string()), "metadata refresh after a failed leader failed");
                }
            }
            Route::Controller => {
                let _ = self.refresh_for(Vec::new(), deadline).await;
            }
            Route::Any | Route::Unroutable { .. } => {}
        }
    }

    /// The broker `route` means now, learning metadata or coordinators
    /// first when needed.
    pub(super) async fn target(
        &self,
        route: &Route,
        deadline: Instant,
    ) -> Result<Arc<Broker>, ClusterError> {
        // Metadata is fetched when there is none (a new or rebootstrapped
        // cluster) and, for routes that depend on it, when it is old.
        let (none, old) = {
            let st = self.lock();
            match st.fetched_at {
                None => (true, true),
                Some(t) => (false, t.elapsed() >= self.cfg.metadata_max_age),
            }
        };
        if none || (old && !matches!(route, Route::Any)) {
            self.refresh_for(topic_names(route), deadline).await?;
        }
        let mut refreshed = false;
        loop {
            let res = {
                let st = self.lock();
                resolve(route, &st.metadata, |kind, key| {
                    st.coordinators.get(&(kind, key.to_string())).copied()
                })
            };
            match res {
                Resolution::Node(id) => return self.broker(id),
                Resolution::AnyNode => return Ok(self.any_broker()),
                Resolution::NeedMetadata(topics) if !refreshed => {
                    refreshed = true;
                    let names = topics.into_iter().filter_map(|t| match t {
                        TopicRef::Name(n) => Some(n),
                        TopicRef::Id(_) => None,
                    });
                    self.refresh_for(names, deadline).await?;
                }
                Resolution::NeedMetadata(topics) => {
                    return Err(ClusterError::UnknownTopic {
                        topic: topics
                            .into_iter()
                            .next()
                            .unwrap_or(TopicRef::Name(String::new())),
                    })
                }
                Resolution::NoLeader(tps) => {
                    // The leader is being elected or moved: metadata will say.
                    let _ = self.refresh_for(topic_names(route), deadline).await;
                    return Err(ClusterError::NoLeader {
                        partition: tps
                            .into_iter()
                            .next()
                            .unwrap_or_else(|| crate::protocol::route::TopicPartition::new("", -1)),
                    });
                }
                Resolution::NeedCoordinator { kind, keys } => {
                    self.lookup(kind, keys, deadline).await?;
                }
                Resolution::Split(by) => {
                    return Err(ClusterError::SplitRequired {
                        what: match route {
                            Route::Coordinator { .. } => "the request's keys".into(),
                            _ => "the request's partitions".into(),
                        },
                        split: by.into_iter().collect(),
                    })
                }
                Resolution::Unroutable(why) => return Err(ClusterError::Unroutable(why)),
            }
        }
    }
}

/// What one try ended with.
enum Step<T> {
    Done(Sent<T>, Arc<Broker>),
    /// Send again (after a backoff); the response stands if time runs out.
    Again {
        note: String,
        sent: Sent<T>,
        broker: Arc<Broker>,
    },
}

fn topic_names(route: &Route) -> Vec<String> {
    match route {
        Route::Leader(tps) => {
            let mut v: Vec<String> = tps
                .iter()
                .filter_map(|tp| match &tp.topic {
                    TopicRef::Name(n) => Some(n.clone()),
                    TopicRef::Id(_) => None,
                })
                .collect();
            v.dedup();
            v
        }
        _ => Vec::new(),
    }
}
