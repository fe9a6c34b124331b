//! Watching a client's connections from outside: every negotiation (a
//! broker's table, again on every reconnect), every answered request (API,
//! version, node, error codes) and every request a broker answered by
//! closing the connection (how Kafka's `SocketServer` rejects a version it
//! cannot parse).
//!
//! An [`Observer`] set in [`super::ClientConfig::observer`] sees what every
//! [`super::Broker`] of that configuration does, so a cluster, a producer, a
//! consumer and an admin client sharing it are watched as one. It runs on
//! the connection's path: keep it cheap (count, copy, push to a channel),
//! never block. [`WireLog`] is one that keeps a bounded record in memory:
//! what a rolling upgrade test, or an operator asking "which versions did
//! we send to broker 3 while it ran the old release", reads.

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use kwire::{ApiKey, ErrorCode, VersionRange};

use crate::protocol::reply::ScopedError;
use crate::protocol::versions::BrokerVersions;

/// A connection finished ApiVersions (and authentication).
#[derive(Debug, Clone, Copy)]
pub struct Negotiation<'a> {
    /// `host:port (node N)`.
    pub broker: &'a str,
    pub node_id: Option<i32>,
    /// 1 for the broker's first connection, +1 per reconnect.
    pub generation: u64,
    /// Unique in the process ([`super::Negotiated::connection_id`]).
    pub connection: u64,
    pub versions: &'a BrokerVersions,
    /// The ApiVersions version that was answered (`None`: fallback table).
    pub api_versions_sent: Option<i16>,
}

/// A request and its answer.
#[derive(Debug, Clone, Copy)]
pub struct Answer<'a> {
    pub broker: &'a str,
    pub node_id: Option<i32>,
    pub generation: u64,
    /// The connection that carried it ([`super::Negotiated::connection_id`]).
    pub connection: u64,
    pub api: ApiKey,
    pub version: i16,
    /// Every error code other than NONE the answer carries, with where it
    /// applies.
    pub errors: &'a [ScopedError],
    /// From writing the request to decoding the answer.
    pub elapsed: Duration,
}

/// A request the broker answered by closing the connection.
#[derive(Debug, Clone, Copy)]
pub struct Unanswered<'a> {
    pub broker: &'a str,
    pub node_id: Option<i32>,
    pub generation: u64,
    pub connection: u64,
    pub api: ApiKey,
    pub version: i16,
}

/// Sees what the connections of a [`super::ClientConfig`] do. Every method
/// has an empty default, so an observer implements what it cares about.
pub trait Observer: Send + Sync {
    fn negotiated(&self, _e: &Negotiation<'_>) {}
    fn answered(&self, _e: &Answer<'_>) {}
    fn closed_after_request(&self, _e: &Unanswered<'_>) {}
}

/// One negotiation, as [`WireLog`] keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NegotiationRecord {
    /// Since the log was made.
    pub at: Duration,
    pub broker: String,
    pub node_id: Option<i32>,
    pub generation: u64,
    pub connection: u64,
    pub api_versions_sent: Option<i16>,
    pub apis: BTreeMap<ApiKey, VersionRange>,
    pub finalized_features: BTreeMap<String, VersionRange>,
    pub finalized_epoch: Option<i64>,
}

impl NegotiationRecord {
    /// The broker's range for `api` on that connection.
    pub fn range(&self, api: ApiKey) -> Option<VersionRange> {
        self.apis.get(&api).copied()
    }
}

/// A request answered by a closed connection, as [`WireLog`] keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnansweredRecord {
    pub at: Duration,
    pub broker: String,
    pub node_id: Option<i32>,
    pub generation: u64,
    pub connection: u64,
    pub api: ApiKey,
    pub version: i16,
}

/// Where a request went and at which version: the key of
/// [`WireSnapshot::sent`]. The connection id ties it to the negotiation of
/// the connection that carried it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct SentKey {
    pub node_id: Option<i32>,
    pub connection: u64,
    pub api: ApiKey,
    pub version: i16,
}

/// What a [`WireLog`] holds at one moment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WireSnapshot {
    /// Oldest first; at most [`WireLog::MAX_RECORDS`] (older ones dropped,
    /// counted in `dropped`).
    pub negotiations: Vec<NegotiationRecord>,
    /// Answered requests per node, connection, API and version.
    pub sent: BTreeMap<SentKey, u64>,
    /// Error codes per API, however often each was seen.
    pub errors: BTreeMap<(ApiKey, ErrorCode), u64>,
    pub unanswered: Vec<UnansweredRecord>,
    /// Records dropped to keep within [`WireLog::MAX_RECORDS`].
    pub dropped: u64,
}

impl WireSnapshot {
    /// The counts that grew since `earlier` (a snapshot of the same log),
    /// and the records added since.
    pub fn since(&self, earlier: &WireSnapshot) -> WireSnapshot {
        let after = |at: Duration, last: Option<Duration>| match last {
            Some(l) => at > l,
            None => true,
        };
        let last_neg = earlier.negotiations.last().map(|r| r.at);
        let last_un = earlier.unanswered.last().map(|r| r.at);
        WireSnapshot {
            negotiations: self
                .negotiations
                .iter()
                .filter(|r| after(r.at, last_neg))
                .cloned()
                .collect(),
            sent: grew(&self.sent, &earlier.sent),
            errors: grew(&self.errors, &earlier.errors),
            unanswered: self
                .unanswered
                .iter()
                .filter(|r| after(r.at, last_un))
                .cloned()
                .collect(),
            dropped: self.dropped.saturating_sub(earlier.dropped),
        }
    }

    /// The negotiation of connection `connection`, if kept.
    pub fn negotiation(&self, connection: u64) -> Option<&NegotiationRecord> {
        self.negotiations
            .iter()
            .rev()
            .find(|r| r.connection == connection)
    }

    /// How often `code` was seen in answers to any API.
    pub fn error_count(&self, code: ErrorCode) -> u64 {
        self.errors
            .iter()
            .filter(|((_, c), _)| *c == code)
            .map(|(_, n)| n)
            .sum()
    }

    /// Requests sent at a version outside the range the same connection's
    /// negotiation advertised (the failure kwire exists to prevent), and
    /// those whose negotiation is no longer kept (`None` range).
    pub fn outside_advertised(&self) -> Vec<(SentKey, Option<VersionRange>)> {
        self.sent
            .keys()
            .filter_map(|k| {
                let range = self.negotiation(k.connection).and_then(|n| n.range(k.api));
                match range {
                    Some(r) if r.contains(k.version) => None,
                    other => Some((*k, other)),
                }
            })
            .collect()
    }
}

/// The counts of `now` that are above those of `then`, by how much.
fn grew<K: Ord + Copy>(now: &BTreeMap<K, u64>, then: &BTreeMap<K, u64>) -> BTreeMap<K, u64> {
    now.iter()
        .filter_map(|(k, n)| {
            let d = n.saturating_sub(then.get(k).copied().unwrap_or(0));
            (d > 0).then_some((*k, d))
        })
        .collect()
}

#[derive(Default)]
struct State {
    negotiations: VecDeque<NegotiationRecord>,
    sent: BTreeMap<SentKey, u64>,
    errors: BTreeMap<(ApiKey, ErrorCode), u64>,
    unanswered: VecDeque<UnansweredRecord>,
    dropped: u64,
}

/// An [`Observer`] that keeps a bounded record in memory: every
/// negotiation and unanswered request (the last [`WireLog::MAX_RECORDS`]
/// of each), and counts of requests per node, connection, API and version,
/// and of error codes per API. The counts are bounded by what exists
/// (nodes × reconnects × APIs × versions), not by traffic.
pub struct WireLog {
    started: Instant,
    state: Mutex<State>,
}

impl fmt::Debug for WireLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("WireLog").finish_non_exhaustive()
    }
}

impl Default for WireLog {
    fn default() -> Self {
        WireLog {
            started: Instant::now(),
            state: Mutex::new(State::default()),
        }
    }
}

impl WireLog {
    /// Records of each kind kept before the oldest are dropped.
    pub const MAX_RECORDS: usize = 10_000;

    pub fn new() -> Arc<WireLog> {
        Arc::new(WireLog::default())
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Each critical section is a push or a counter: a poisoned lock
        // still holds consistent state.
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// What it holds now.
    pub fn snapshot(&self) -> WireSnapshot {
        let st = self.lock();
        WireSnapshot {
            negotiations: st.negotiations.iter().cloned().collect(),
            sent: st.sent.clone(),
            errors: st.errors.clone(),
            unanswered: st.unanswered.iter().cloned().collect(),
            dropped: st.dropped,
        }
    }

    /// Time since the log was made (the clock of its records).
    pub fn elapsed(&self) -> Duration {
        self.started.elapsed()
    }
}

fn push_bounded<T>(q: &mut VecDeque<T>, item: T, dropped: &mut u64) {
    if q.len() >= WireLog::MAX_RECORDS {
        q.pop_front();
        *dropped += 1;
    }
    q.push_back(item);
}

impl Observer for WireLog {
    fn negotiated(&self, e: &Negotiation<'_>) {
        let rec = NegotiationRecord {
            at: self.started.elapsed(),
            broker: e.broker.to_string(),
            node_id: e.node_id,
            generation: e.generation,
            connection: e.connection,
            api_versions_sent: e.api_versions_sent,
            apis: e.versions.apis().collect(),
            finalized_features: e.versions.finalized_features.clone(),
            finalized_epoch: e.versions.finalized_epoch,
        };
        let mut st = self.lock();
        let st = &mut *st;
        push_bounded(&mut st.negotiations, rec, &mut st.dropped);
    }

    fn answered(&self, e: &Answer<'_>) {
        let key = SentKey {
            node_id: e.node_id,
            connection: e.connection,
            api: e.api,
            version: e.version,
        };
        let mut st = self.lock();
        *st.sent.entry(key).or_default() += 1;
        for err in e.errors {
            *st.errors.entry((e.api, err.code)).or_default() += 1;
        }
    }

    fn closed_after_request(&self, e: &Unanswered<'_>) {
        let rec = UnansweredRecord {
            at: self.started.elapsed(),
            broker: e.broker.to_string(),
            node_id: e.node_id,
            generation: e.generation,
            connection: e.connection,
            api: e.api,
            version: e.version,
        };
        let mut st = self.lock();
        let st = &mut *st;
        push_bounded(&mut st.unanswered, rec, &mut st.dropped);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::reply::Scope;

    fn versions(produce_max: i16) -> BrokerVersions {
        use crate::protocol::negotiate::{AdvertisedApi, RawTable};
        let raw = RawTable {
            decoded_at: 3,
            apis: vec![AdvertisedApi {
                api_key: ApiKey::PRODUCE,
                min: 3,
                max: produce_max,
            }],
            ..Default::default()
        };
        BrokerVersions::from_raw(&raw, 3)
    }

    #[test]
    fn counts_requests_per_connection_and_finds_versions_outside_the_table() {
        let log = WireLog::default();
        let v = versions(11);
        log.negotiated(&Negotiation {
            broker: "b (node 1)",
            node_id: Some(1),
            generation: 1,
            connection: 7,
            versions: &v,
            api_versions_sent: Some(3),
        });
        let errors = [ScopedError {
            scope: Scope::Request,
            code: ErrorCode::UNSUPPORTED_VERSION,
        }];
        for (version, errs) in [(11, &[][..]), (11, &errors[..]), (12, &[][..])] {
            log.answered(&Answer {
                broker: "b (node 1)",
                node_id: Some(1),
                generation: 1,
                connection: 7,
                api: ApiKey::PRODUCE,
                version,
                errors: errs,
                elapsed: Duration::ZERO,
            });
        }
        let first = log.snapshot();
        let key = |version| SentKey {
            node_id: Some(1),
            connection: 7,
            api: ApiKey::PRODUCE,
            version,
        };
        assert_eq!(first.sent.get(&key(11)), Some(&2));
        assert_eq!(first.error_count(ErrorCode::UNSUPPORTED_VERSION), 1);
        // v12 is above the table node 1 advertised on that connection.
        let outside = first.outside_advertised();
        assert_eq!(outside, vec![(key(12), Some(VersionRange::new(3, 11)))]);

        log.answered(&Answer {
            broker: "b (node 1)",
            node_id: Some(1),
            generation: 1,
            connection: 7,
            api: ApiKey::PRODUCE,
            version: 11,
            errors: &[],
            elapsed: Duration::ZERO,
        });
        let later = log.snapshot().since(&first);
        assert_eq!(later.sent, BTreeMap::from([(key(11), 1)]));
        assert!(later.negotiations.is_empty() && later.errors.is_empty());
    }

    #[test]
    fn keeps_at_most_max_records() {
        let log = WireLog::default();
        let v = versions(11);
        for generation in 0..(WireLog::MAX_RECORDS as u64 + 5) {
            log.negotiated(&Negotiation {
                broker: "b",
                node_id: None,
                generation,
                connection: generation,
                versions: &v,
                api_versions_sent: None,
            });
        }
        let s = log.snapshot();
        assert_eq!(s.negotiations.len(), WireLog::MAX_RECORDS);
        assert_eq!(s.dropped, 5);
        assert_eq!(s.negotiations[0].generation, 5);
    }
}
