//! The ApiVersions negotiation of one connection, as a small explicit state
//! machine. Pure and sans-IO: the caller performs the [`Action`]s (send,
//! reconnect) and feeds back what happened as a [`Reply`] or a [`NoReply`].
//!
//! The outcomes follow what brokers do (KIP-35, KIP-511) and what Java,
//! librdkafka and franz-go do about it:
//!
//! * error 35 whose body decodes as v0 and carries key 18 (KIP-511, brokers
//!   2.4+): retry on the same connection at that version, only if strictly
//!   lower than the rejected one, else [`NegotiationError::NonDowngrade`]
//!   (franz-go's loop guard; Java's client has none);
//! * error 35 with an empty list (brokers 0.10–2.3) or a body that is not
//!   valid v0 (librdkafka's mock cluster): retry at v0;
//! * error 35 to v0: fatal, there is nothing lower (Java disconnects);
//! * the connection closed, reset or silent before any reply (brokers before
//!   0.10; Azure Event Hubs on v4+): reconnect and retry at the
//!   same version, then at v0 (franz-go's schedule), then the configured
//!   fallback versions, else [`NegotiationError::ClosedBeforeReply`];
//! * any other error code is surfaced, never stored as success (franz-go
//!   commit 582e0f21);
//! * error 0 with a body shaped for a lower version (tansu answers v5 with a
//!   v3 body): accepted as decoded, with a warning.

use std::collections::BTreeMap;
use std::fmt;

use kwire::{ApiKey, ErrorCode};

/// One (api key, min, max) entry as the broker sent it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdvertisedApi {
    pub api_key: ApiKey,
    pub min: i16,
    pub max: i16,
}

/// A finalized feature (v3+ responses): cluster-wide level.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FinalizedFeature {
    pub name: String,
    pub min_level: i16,
    pub max_level: i16,
}

/// A supported feature (v3+ responses): this broker's software range.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SupportedFeature {
    pub name: String,
    pub min: i16,
    pub max: i16,
}

/// A successful ApiVersions body, in plain data.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct RawTable {
    /// The version the body decoded at (may be lower than the one sent).
    pub decoded_at: i16,
    pub apis: Vec<AdvertisedApi>,
    pub supported_features: Vec<SupportedFeature>,
    /// -1 when unknown (the schema default); only valid when >= 0.
    pub finalized_features_epoch: i64,
    pub finalized_features: Vec<FinalizedFeature>,
    pub throttle_time_ms: i32,
}

/// What came back for one ApiVersions request, already classified by the
/// codec layer ([`super::apiversions::classify`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// Error 35. `advertised` is the body decoded as v0, or `None` when it
    /// is not a valid v0 body.
    UnsupportedVersion {
        advertised: Option<Vec<AdvertisedApi>>,
    },
    /// Error 0 and a body that decoded cleanly.
    Table(RawTable),
    /// Any other error code.
    Error { code: ErrorCode },
    /// Error 0 (or too short to tell) and no version decodes it.
    Malformed { detail: String },
}

/// How an ApiVersions attempt got no reply: the connection ended before
/// any byte of one, or nothing came before the deadline. (The transport
/// reports this as its own close reason; the handshake translates.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NoReply {
    /// Orderly close (EOF).
    Eof,
    /// TCP reset (ECONNRESET, or WSAECONNRESET on Windows), or a broken pipe.
    Reset,
    /// No reply within the request timeout (brokers before 0.10 may ignore
    /// the request).
    TimedOut,
}

impl fmt::Display for NoReply {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            NoReply::Eof => "closed",
            NoReply::Reset => "reset",
            NoReply::TimedOut => "no reply before the deadline",
        })
    }
}

/// Per-API maximums to assume when a broker cannot do ApiVersions at all
/// (like librdkafka's `broker.version.fallback`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FallbackVersions {
    /// Where the table comes from, for logs (e.g. `user fallback`).
    pub source: String,
    /// api key -> max version.
    pub max: BTreeMap<ApiKey, i16>,
}

/// Configuration of the state machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NegotiationConfig {
    /// Our highest ApiVersions version (already min-ed with any user cap).
    pub max_version: i16,
    /// Used when every attempt closes before a reply.
    pub fallback: Option<FallbackVersions>,
}

/// What the caller must do next.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    /// Send ApiVersions at `version` on the current connection.
    Send { version: i16 },
    /// Drop the connection, open a new one, then send at `version`.
    Reconnect { version: i16 },
    /// Negotiation finished.
    Done(Outcome),
    /// Negotiation failed; the connection must be closed.
    Fail(NegotiationError),
}

/// One attempt, for errors and logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    /// Which connection of this negotiation (1-based).
    pub connection: u32,
    pub version: i16,
    pub result: String,
}

impl fmt::Display for Attempt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "v{} on connection {}: {}",
            self.version, self.connection, self.result
        )
    }
}

fn fmt_attempts(a: &[Attempt]) -> String {
    let v: Vec<String> = a.iter().map(|a| a.to_string()).collect();
    v.join("; ")
}

/// A finished negotiation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The broker answered.
    Negotiated {
        /// The version the accepted request was sent at.
        sent_version: i16,
        table: RawTable,
        attempts: Vec<Attempt>,
    },
    /// The broker never answered; the configured fallback is used.
    Fallback {
        fallback: FallbackVersions,
        attempts: Vec<Attempt>,
    },
}

/// Why negotiation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NegotiationError {
    #[error("the broker answered ApiVersions v0 with UNSUPPORTED_VERSION (35): there is no lower version to try")]
    UnsupportedAtV0 { attempts: Vec<Attempt> },
    #[error(
        "the broker rejected ApiVersions v{rejected} with UNSUPPORTED_VERSION but advertised \
         ApiVersions max v{advertised}, which is not lower; giving up instead of looping \
         (attempts: {})",
        fmt_attempts(attempts)
    )]
    NonDowngrade {
        rejected: i16,
        advertised: i16,
        attempts: Vec<Attempt>,
    },
    #[error("the broker answered ApiVersions v{version} with error {code}{}", error_hint(*code))]
    BrokerError {
        version: i16,
        code: ErrorCode,
        attempts: Vec<Attempt>,
    },
    #[error("the broker's ApiVersions v{version} reply does not decode at any version: {detail}")]
    Malformed {
        version: i16,
        detail: String,
        attempts: Vec<Attempt>,
    },
    #[error("{}", closed_before_reply(*how, attempts))]
    ClosedBeforeReply {
        how: NoReply,
        attempts: Vec<Attempt>,
    },
    #[error("ApiVersions negotiation did not finish within {0} attempts")]
    TooManyAttempts(usize),
    /// The address is not the node of the cluster the client expected
    /// (ApiVersions v5, KIP-1242): the client's metadata is stale and it
    /// must bootstrap again.
    #[error(
        "the broker answered ApiVersions v{version} with REBOOTSTRAP_REQUIRED (KIP-1242): \
         it is not the node of the cluster this client's metadata names"
    )]
    RebootstrapRequired {
        version: i16,
        attempts: Vec<Attempt>,
    },
}

fn closed_before_reply(how: NoReply, attempts: &[Attempt]) -> String {
    const FALLBACK: &str = "fallback versions (ClientConfig::fallback_versions, or \
         `--fallback API=MAX` on the CLI, like librdkafka's broker.version.fallback)";
    match how {
        NoReply::Eof | NoReply::Reset => format!(
            "the broker {} every connection before answering ApiVersions ({}). Brokers before \
             0.10 do this (they have no ApiVersions), and so do some proxies (Azure Event Hubs \
             resets on v4+). If the broker is that old, configure {FALLBACK}; if it is TLS-only, \
             enable TLS",
            if how == NoReply::Eof {
                "closed"
            } else {
                "reset"
            },
            fmt_attempts(attempts)
        ),
        NoReply::TimedOut => format!(
            "the broker did not answer ApiVersions on any connection before the deadline ({}). \
             Check the address (a port that accepts and never answers) and whether the listener \
             expects TLS; a broker before 0.10 that ignores the request needs {FALLBACK}",
            fmt_attempts(attempts)
        ),
    }
}

fn error_hint(code: ErrorCode) -> &'static str {
    match code {
        ErrorCode::INVALID_REQUEST => {
            " (INVALID_REQUEST: the broker rejected our client software name/version, KIP-511)"
        }
        ErrorCode::REBOOTSTRAP_REQUIRED => " (REBOOTSTRAP_REQUIRED, KIP-1242)",
        ErrorCode::ILLEGAL_SASL_STATE => " (ILLEGAL_SASL_STATE)",
        _ => "",
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    /// Not started.
    Idle,
    /// A request at `version` is in flight on connection `connection`.
    Waiting { version: i16 },
    /// Finished (Done or Fail was returned).
    Finished,
}

/// Hard bound on steps: versions are i16 and each KIP-511 retry must go
/// strictly lower, so a sane broker needs a handful; this only guards
/// against a bug.
const MAX_STEPS: usize = 32;

/// The state machine. See the module docs.
#[derive(Debug, Clone)]
pub struct Negotiator {
    cfg: NegotiationConfig,
    state: State,
    connection: u32,
    /// Closes before a reply so far.
    closes: u32,
    attempts: Vec<Attempt>,
}

impl Negotiator {
    pub fn new(cfg: NegotiationConfig) -> Self {
        Negotiator {
            cfg,
            state: State::Idle,
            connection: 1,
            closes: 0,
            attempts: Vec::new(),
        }
    }

    /// The attempts so far.
    pub fn attempts(&self) -> &[Attempt] {
        &self.attempts
    }

    /// Which connection (1-based) the next action refers to.
    pub fn connection(&self) -> u32 {
        self.connection
    }

    /// Starts on a freshly opened connection: our highest version first.
    pub fn start(&mut self) -> Action {
        let version = self.cfg.max_version.max(0);
        self.state = State::Waiting { version };
        Action::Send { version }
    }

    fn record(&mut self, version: i16, result: impl Into<String>) {
        self.attempts.push(Attempt {
            connection: self.connection,
            version,
            result: result.into(),
        });
    }

    fn fail(&mut self, e: NegotiationError) -> Action {
        self.state = State::Finished;
        Action::Fail(e)
    }

    fn send(&mut self, version: i16) -> Action {
        if self.attempts.len() >= MAX_STEPS {
            return self.fail(NegotiationError::TooManyAttempts(self.attempts.len()));
        }
        self.state = State::Waiting { version };
        Action::Send { version }
    }

    fn waiting(&self) -> Option<i16> {
        match self.state {
            State::Waiting { version } => Some(version),
            _ => None,
        }
    }

    /// A reply arrived for the request in flight.
    pub fn on_reply(&mut self, reply: Reply) -> Action {
        let Some(version) = self.waiting() else {
            return self.fail(NegotiationError::TooManyAttempts(self.attempts.len()));
        };
        match reply {
            Reply::UnsupportedVersion { advertised } => {
                if version == 0 {
                    self.record(0, "UNSUPPORTED_VERSION");
                    let attempts = self.attempts.clone();
                    return self.fail(NegotiationError::UnsupportedAtV0 { attempts });
                }
                let key18 = advertised.as_ref().and_then(|apis| {
                    apis.iter()
                        .find(|a| a.api_key == ApiKey::API_VERSIONS)
                        .map(|a| a.max)
                });
                match (advertised.as_ref(), key18) {
                    (_, Some(max)) if (0..version).contains(&max) => {
                        // KIP-511 (2.4+): the broker tells us its max.
                        self.record(
                            version,
                            format!("UNSUPPORTED_VERSION, broker advertises ApiVersions max v{max} (KIP-511)"),
                        );
                        self.send(max)
                    }
                    (_, Some(max)) => {
                        self.record(
                            version,
                            format!(
                                "UNSUPPORTED_VERSION, broker advertises ApiVersions max v{max}"
                            ),
                        );
                        let attempts = self.attempts.clone();
                        self.fail(NegotiationError::NonDowngrade {
                            rejected: version,
                            advertised: max,
                            attempts,
                        })
                    }
                    (Some(_), None) => {
                        // 0.10–2.3: empty list; Java and franz-go retry v0.
                        self.record(
                            version,
                            "UNSUPPORTED_VERSION without key 18 (pre-2.4 broker)",
                        );
                        self.send(0)
                    }
                    (None, None) => {
                        // librdkafka's mock writes a body that is neither v0
                        // nor v3; librdkafka itself retries v0.
                        self.record(
                            version,
                            "UNSUPPORTED_VERSION with a body that is not valid v0",
                        );
                        self.send(0)
                    }
                }
            }
            Reply::Table(table) => {
                let note = if table.decoded_at < version {
                    format!("ok, body shaped as v{}", table.decoded_at)
                } else {
                    "ok".to_string()
                };
                self.record(version, note);
                self.state = State::Finished;
                Action::Done(Outcome::Negotiated {
                    sent_version: version,
                    table,
                    attempts: self.attempts.clone(),
                })
            }
            Reply::Error { code } if code == ErrorCode::REBOOTSTRAP_REQUIRED => {
                self.record(version, "REBOOTSTRAP_REQUIRED");
                let attempts = self.attempts.clone();
                self.fail(NegotiationError::RebootstrapRequired { version, attempts })
            }
            Reply::Error { code } => {
                self.record(version, format!("error {}", code.0));
                let attempts = self.attempts.clone();
                self.fail(NegotiationError::BrokerError {
                    version,
                    code,
                    attempts,
                })
            }
            Reply::Malformed { detail } => {
                self.record(version, format!("malformed: {detail}"));
                let attempts = self.attempts.clone();
                self.fail(NegotiationError::Malformed {
                    version,
                    detail,
                    attempts,
                })
            }
        }
    }

    /// The connection closed, reset or timed out before a reply.
    pub fn on_no_reply(&mut self, how: NoReply) -> Action {
        let Some(version) = self.waiting() else {
            return self.fail(NegotiationError::TooManyAttempts(self.attempts.len()));
        };
        self.record(version, how.to_string());
        self.closes += 1;
        // franz-go's Event Hubs schedule: the max twice, then v0.
        // A version already at 0 gets one retry.
        let next = match self.closes {
            1 => Some(version),
            2 => Some(0),
            _ => None,
        };
        match next {
            Some(v) if self.attempts.len() < MAX_STEPS => {
                self.connection += 1;
                self.state = State::Waiting { version: v };
                Action::Reconnect { version: v }
            }
            _ => {
                let attempts = self.attempts.clone();
                self.state = State::Finished;
                match self.cfg.fallback.clone() {
                    Some(fallback) => Action::Done(Outcome::Fallback { fallback, attempts }),
                    None => Action::Fail(NegotiationError::ClosedBeforeReply { how, attempts }),
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(max: i16) -> NegotiationConfig {
        NegotiationConfig {
            max_version: max,
            fallback: None,
        }
    }

    fn key18(max: i16) -> Vec<AdvertisedApi> {
        vec![AdvertisedApi {
            api_key: ApiKey::API_VERSIONS,
            min: 0,
            max,
        }]
    }

    fn table(decoded_at: i16) -> RawTable {
        RawTable {
            decoded_at,
            apis: vec![AdvertisedApi {
                api_key: ApiKey::FETCH,
                min: 0,
                max: 7,
            }],
            finalized_features_epoch: -1,
            ..Default::default()
        }
    }

    #[test]
    fn first_send_is_our_max() {
        let mut n = Negotiator::new(cfg(4));
        assert_eq!(n.start(), Action::Send { version: 4 });
    }

    #[test]
    fn kip511_reply_downgrades_on_the_same_connection() {
        // A 2.4–3.8 broker answering v4 with key 18 max 3.
        let mut n = Negotiator::new(cfg(4));
        n.start();
        let a = n.on_reply(Reply::UnsupportedVersion {
            advertised: Some(key18(3)),
        });
        assert_eq!(a, Action::Send { version: 3 });
        match n.on_reply(Reply::Table(table(3))) {
            Action::Done(Outcome::Negotiated {
                sent_version,
                attempts,
                ..
            }) => {
                assert_eq!(sent_version, 3);
                assert_eq!(attempts.len(), 2);
                assert!(attempts.iter().all(|a| a.connection == 1));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn kip511_non_lower_version_is_an_error() {
        for adv in [4, 5, 9] {
            let mut n = Negotiator::new(cfg(4));
            n.start();
            match n.on_reply(Reply::UnsupportedVersion {
                advertised: Some(key18(adv)),
            }) {
                Action::Fail(NegotiationError::NonDowngrade {
                    rejected,
                    advertised,
                    ..
                }) => {
                    assert_eq!((rejected, advertised), (4, adv));
                }
                other => panic!("{other:?}"),
            }
        }
        // Negative is not a version either.
        let mut n = Negotiator::new(cfg(4));
        n.start();
        assert!(matches!(
            n.on_reply(Reply::UnsupportedVersion {
                advertised: Some(key18(-1))
            }),
            Action::Fail(NegotiationError::NonDowngrade { .. })
        ));
    }

    #[test]
    fn hostile_broker_is_bounded() {
        // Each step must go strictly lower, so at most max+1 sends.
        let mut n = Negotiator::new(cfg(4));
        let mut a = n.start();
        let mut sends = 0;
        loop {
            match a {
                Action::Send { version } => {
                    sends += 1;
                    assert!(sends <= 5);
                    // Advertise the same version back once we are at 2.
                    let adv = if version > 2 { version - 1 } else { version };
                    a = n.on_reply(Reply::UnsupportedVersion {
                        advertised: Some(key18(adv)),
                    });
                }
                Action::Fail(NegotiationError::NonDowngrade { rejected, .. }) => {
                    assert_eq!(rejected, 2);
                    break;
                }
                other => panic!("{other:?}"),
            }
        }
        assert_eq!(sends, 3);
    }

    #[test]
    fn empty_list_retries_v0() {
        let mut n = Negotiator::new(cfg(4));
        n.start();
        assert_eq!(
            n.on_reply(Reply::UnsupportedVersion {
                advertised: Some(vec![])
            }),
            Action::Send { version: 0 }
        );
        assert!(matches!(
            n.on_reply(Reply::Table(table(0))),
            Action::Done(Outcome::Negotiated {
                sent_version: 0,
                ..
            })
        ));
    }

    #[test]
    fn malformed_error_body_retries_v0() {
        let mut n = Negotiator::new(cfg(4));
        n.start();
        assert_eq!(
            n.on_reply(Reply::UnsupportedVersion { advertised: None }),
            Action::Send { version: 0 }
        );
    }

    #[test]
    fn unsupported_at_v0_is_fatal() {
        let mut n = Negotiator::new(cfg(4));
        n.start();
        n.on_reply(Reply::UnsupportedVersion { advertised: None });
        assert!(matches!(
            n.on_reply(Reply::UnsupportedVersion {
                advertised: Some(vec![])
            }),
            Action::Fail(NegotiationError::UnsupportedAtV0 { .. })
        ));
    }

    #[test]
    fn other_errors_are_surfaced() {
        let mut n = Negotiator::new(cfg(4));
        n.start();
        match n.on_reply(Reply::Error {
            code: ErrorCode::INVALID_REQUEST,
        }) {
            Action::Fail(e @ NegotiationError::BrokerError { code, .. }) => {
                assert_eq!(code, ErrorCode::INVALID_REQUEST);
                assert!(e.to_string().contains("INVALID_REQUEST"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn rebootstrap_required_is_its_own_failure() {
        let mut n = Negotiator::new(cfg(5));
        n.start();
        assert!(matches!(
            n.on_reply(Reply::Error {
                code: ErrorCode::REBOOTSTRAP_REQUIRED
            }),
            Action::Fail(NegotiationError::RebootstrapRequired { version: 5, .. })
        ));
    }

    #[test]
    fn lower_shaped_body_is_accepted() {
        // tansu answers v5 with a v3-shaped body and error 0.
        let mut n = Negotiator::new(cfg(5));
        n.start();
        match n.on_reply(Reply::Table(table(3))) {
            Action::Done(Outcome::Negotiated {
                sent_version,
                table,
                attempts,
            }) => {
                assert_eq!(sent_version, 5);
                assert_eq!(table.decoded_at, 3);
                assert!(attempts[0].result.contains("shaped as v3"));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn malformed_success_is_an_error() {
        let mut n = Negotiator::new(cfg(4));
        n.start();
        assert!(matches!(
            n.on_reply(Reply::Malformed { detail: "x".into() }),
            Action::Fail(NegotiationError::Malformed { version: 4, .. })
        ));
    }

    #[test]
    fn resets_reconnect_then_v0_then_error() {
        // Event Hubs: resets on v4; accepts v0.
        let mut n = Negotiator::new(cfg(4));
        n.start();
        assert_eq!(
            n.on_no_reply(NoReply::Reset),
            Action::Reconnect { version: 4 }
        );
        assert_eq!(n.connection(), 2);
        assert_eq!(
            n.on_no_reply(NoReply::Reset),
            Action::Reconnect { version: 0 }
        );
        assert_eq!(n.connection(), 3);
        assert!(matches!(
            n.on_reply(Reply::Table(table(0))),
            Action::Done(Outcome::Negotiated {
                sent_version: 0,
                ..
            })
        ));
    }

    #[test]
    fn closed_everywhere_without_fallback_is_a_clear_error() {
        let mut n = Negotiator::new(cfg(4));
        n.start();
        n.on_no_reply(NoReply::Eof);
        n.on_no_reply(NoReply::Eof);
        match n.on_no_reply(NoReply::Eof) {
            Action::Fail(e @ NegotiationError::ClosedBeforeReply { .. }) => {
                let t = e.to_string();
                assert!(t.contains("before 0.10"), "{t}");
                assert!(t.contains("fallback"), "{t}");
                assert!(t.contains("v4 on connection 1"), "{t}");
                assert!(t.contains("v0 on connection 3"), "{t}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn closed_everywhere_with_fallback_uses_it() {
        let fb = FallbackVersions {
            source: "user fallback".into(),
            max: [(ApiKey::PRODUCE, 2), (ApiKey::FETCH, 3)]
                .into_iter()
                .collect(),
        };
        let mut n = Negotiator::new(NegotiationConfig {
            max_version: 4,
            fallback: Some(fb.clone()),
        });
        n.start();
        n.on_no_reply(NoReply::TimedOut);
        n.on_no_reply(NoReply::Eof);
        match n.on_no_reply(NoReply::Eof) {
            Action::Done(Outcome::Fallback { fallback, attempts }) => {
                assert_eq!(fallback, fb);
                assert_eq!(attempts.len(), 3);
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn close_after_a_kip511_downgrade_keeps_the_lower_version() {
        let mut n = Negotiator::new(cfg(4));
        n.start();
        n.on_reply(Reply::UnsupportedVersion {
            advertised: Some(key18(2)),
        });
        assert_eq!(
            n.on_no_reply(NoReply::Reset),
            Action::Reconnect { version: 2 }
        );
    }

    #[test]
    fn our_max_zero_starts_at_zero() {
        let mut n = Negotiator::new(cfg(0));
        assert_eq!(n.start(), Action::Send { version: 0 });
        assert_eq!(
            n.on_no_reply(NoReply::Eof),
            Action::Reconnect { version: 0 }
        );
        assert_eq!(
            n.on_no_reply(NoReply::Eof),
            Action::Reconnect { version: 0 }
        );
        assert!(matches!(n.on_no_reply(NoReply::Eof), Action::Fail(_)));
    }

    #[test]
    fn events_after_finish_do_not_panic() {
        let mut n = Negotiator::new(cfg(4));
        n.start();
        n.on_reply(Reply::Error {
            code: ErrorCode::OFFSET_OUT_OF_RANGE,
        });
        assert!(matches!(
            n.on_reply(Reply::Table(table(4))),
            Action::Fail(_)
        ));
        assert!(matches!(n.on_no_reply(NoReply::Eof), Action::Fail(_)));
    }
}
