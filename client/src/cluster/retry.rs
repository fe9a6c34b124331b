//! What to do after a response or a failure, by route: pure decisions the
//! send loop of [`super::Cluster`] carries out.
//!
//! * Leader routes: NOT_LEADER_OR_FOLLOWER and the other "stale metadata"
//!   errors (Java's `InvalidMetadataException` family: unknown topic or
//!   partition, no leader, fenced or unknown leader epoch, a failed log
//!   directory, unknown or inconsistent topic id) forget the leader and
//!   refresh metadata.
//! * Coordinator routes: NOT_COORDINATOR and COORDINATOR_NOT_AVAILABLE look
//!   the coordinator up again; COORDINATOR_LOAD_IN_PROGRESS backs off and
//!   tries the same one (Java's `AbstractCoordinator`/`TransactionManager`,
//!   KIP-98).
//! * Controller routes: NOT_CONTROLLER refreshes metadata.
//! * Anywhere: REBOOTSTRAP_REQUIRED bootstraps again (KIP-1102).
//!
//! A request is sent again only when that cannot do harm: it is safe to
//! send twice (a read), or every entry of the response failed with one of
//! the errors above (so nothing in it took effect). Otherwise the response
//! goes back to the caller, whose entries say what failed, and only the
//! cached state is fixed.

use kwire::ErrorCode;

use crate::net::{ClientError, ConnError, FailureKind};
use crate::protocol::negotiate::NegotiationError;
use crate::protocol::reply::{ReplyFacts, Scope};
use crate::protocol::route::{Route, TopicPartition};

/// Errors that say the client's view of partition leadership is stale.
pub const STALE_METADATA: &[ErrorCode] = &[
    ErrorCode::NOT_LEADER_OR_FOLLOWER,
    ErrorCode::UNKNOWN_TOPIC_OR_PARTITION,
    ErrorCode::LEADER_NOT_AVAILABLE,
    ErrorCode::FENCED_LEADER_EPOCH,
    ErrorCode::UNKNOWN_LEADER_EPOCH,
    ErrorCode::KAFKA_STORAGE_ERROR,
    ErrorCode::UNKNOWN_TOPIC_ID,
    ErrorCode::INCONSISTENT_TOPIC_ID,
];

/// Errors that say the coordinator moved or is gone.
pub const COORDINATOR_MOVED: &[ErrorCode] = &[
    ErrorCode::NOT_COORDINATOR,
    ErrorCode::COORDINATOR_NOT_AVAILABLE,
];

/// What to do after a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AfterReply {
    /// Hand the response to the caller.
    Done,
    /// Forget these partitions' leaders and refresh metadata; send again
    /// if `resend`.
    RefreshMetadata {
        partitions: Vec<TopicPartition>,
        resend: bool,
    },
    /// Look the coordinator up again; send again if `resend`.
    Relookup { resend: bool },
    /// Back off and send to the same coordinator again.
    BackOff,
    /// Refresh metadata (the controller moved); send again if `resend`.
    ControllerMoved { resend: bool },
    /// Bootstrap again, then send again.
    Rebootstrap,
}

/// Whether every error is one of `codes` and no entry succeeded.
fn nothing_took_effect(f: &ReplyFacts, codes: &[ErrorCode]) -> bool {
    f.ok == 0 && f.errors.iter().all(|e| codes.contains(&e.code))
}

/// What to do after a response with `facts` to a request sent along
/// `route` (`retry_safe`: the request may be sent twice).
pub fn after_reply(route: &Route, facts: &ReplyFacts, retry_safe: bool) -> AfterReply {
    if facts.any(&[ErrorCode::REBOOTSTRAP_REQUIRED]) {
        return AfterReply::Rebootstrap;
    }
    match route {
        Route::Leader(_) => {
            let partitions: Vec<TopicPartition> = facts
                .errors
                .iter()
                .filter(|e| STALE_METADATA.contains(&e.code))
                .filter_map(|e| match &e.scope {
                    Scope::Partition(tp) => Some(tp.clone()),
                    _ => None,
                })
                .collect();
            if partitions.is_empty() {
                return AfterReply::Done;
            }
            let resend = retry_safe || nothing_took_effect(facts, STALE_METADATA);
            AfterReply::RefreshMetadata { partitions, resend }
        }
        Route::Coordinator { .. } => {
            let moved_or_loading = [
                ErrorCode::NOT_COORDINATOR,
                ErrorCode::COORDINATOR_NOT_AVAILABLE,
                ErrorCode::COORDINATOR_LOAD_IN_PROGRESS,
            ];
            if facts.any(COORDINATOR_MOVED) {
                let resend = retry_safe || nothing_took_effect(facts, &moved_or_loading);
                AfterReply::Relookup { resend }
            } else if facts.any(&[ErrorCode::COORDINATOR_LOAD_IN_PROGRESS])
                && (retry_safe || nothing_took_effect(facts, &moved_or_loading))
            {
                AfterReply::BackOff
            } else {
                AfterReply::Done
            }
        }
        Route::Controller => {
            if facts.any(&[ErrorCode::NOT_CONTROLLER]) {
                let resend = retry_safe || nothing_took_effect(facts, &[ErrorCode::NOT_CONTROLLER]);
                AfterReply::ControllerMoved { resend }
            } else {
                AfterReply::Done
            }
        }
        Route::Any | Route::Unroutable { .. } => AfterReply::Done,
    }
}

/// What to do after a request failed without a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AfterError {
    /// Try again; `unreachable`: the broker could not be reached at all
    /// (skip it for "any broker" for a while, check metadata).
    Retry { unreachable: bool },
    /// Bootstrap again, then try again.
    Rebootstrap,
    /// Give the error to the caller.
    Fail,
}

/// What to do after `e` (`retry_safe`: the request may be sent twice).
pub fn after_error(e: &ClientError, retry_safe: bool) -> AfterError {
    match e {
        ClientError::Negotiation { source, .. } => match **source {
            NegotiationError::RebootstrapRequired { .. } => AfterError::Rebootstrap,
            // The broker would not negotiate (it closed every attempt, or
            // answered nothing usable): nothing was sent.
            NegotiationError::ClosedBeforeReply { .. } => AfterError::Retry { unreachable: true },
            _ => AfterError::Fail,
        },
        // Closed before the request was written: nothing reached the broker.
        ClientError::Conn(ConnError::Closed {
            in_flight: false, ..
        }) => AfterError::Retry { unreachable: false },
        _ => match e.kind() {
            FailureKind::Connect => AfterError::Retry { unreachable: true },
            // The request may or may not have been carried out.
            FailureKind::NoReply
            | FailureKind::Closed
            | FailureKind::Reset
            | FailureKind::TruncatedReply
            | FailureKind::WriteStalled
            | FailureKind::Shutdown
                if retry_safe =>
            {
                AfterError::Retry { unreachable: false }
            }
            _ => AfterError::Fail,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::reply::ScopedError;
    use crate::protocol::route::CoordinatorKind;

    fn facts(ok: usize, errors: &[(Scope, ErrorCode)]) -> ReplyFacts {
        ReplyFacts {
            ok,
            errors: errors
                .iter()
                .map(|(scope, code)| ScopedError {
                    scope: scope.clone(),
                    code: *code,
                })
                .collect(),
            ..Default::default()
        }
    }

    fn tp(p: i32) -> Scope {
        Scope::Partition(TopicPartition::new("t", p))
    }

    fn leader() -> Route {
        Route::Leader(vec![
            TopicPartition::new("t", 0),
            TopicPartition::new("t", 1),
        ])
    }

    fn coordinator() -> Route {
        Route::Coordinator {
            kind: CoordinatorKind::Transaction,
            keys: vec!["tx".into()],
        }
    }

    #[test]
    fn stale_leaders_refresh_and_resend_only_when_nothing_was_written() {
        let all = facts(
            0,
            &[
                (tp(0), ErrorCode::NOT_LEADER_OR_FOLLOWER),
                (tp(1), ErrorCode::FENCED_LEADER_EPOCH),
            ],
        );
        assert_eq!(
            after_reply(&leader(), &all, false),
            AfterReply::RefreshMetadata {
                partitions: vec![TopicPartition::new("t", 0), TopicPartition::new("t", 1)],
                resend: true
            }
        );
        // One partition was written: a Produce is not sent twice...
        let part = facts(1, &[(tp(1), ErrorCode::NOT_LEADER_OR_FOLLOWER)]);
        assert_eq!(
            after_reply(&leader(), &part, false),
            AfterReply::RefreshMetadata {
                partitions: vec![TopicPartition::new("t", 1)],
                resend: false
            }
        );
        // ...a Fetch is.
        assert!(matches!(
            after_reply(&leader(), &part, true),
            AfterReply::RefreshMetadata { resend: true, .. }
        ));
        // Another error alongside: not resent.
        let mixed = facts(
            0,
            &[
                (tp(0), ErrorCode::NOT_LEADER_OR_FOLLOWER),
                (tp(1), ErrorCode::MESSAGE_TOO_LARGE),
            ],
        );
        assert!(matches!(
            after_reply(&leader(), &mixed, false),
            AfterReply::RefreshMetadata { resend: false, .. }
        ));
        assert_eq!(
            after_reply(&leader(), &facts(2, &[]), false),
            AfterReply::Done
        );
        assert_eq!(
            after_reply(
                &leader(),
                &facts(0, &[(tp(0), ErrorCode::MESSAGE_TOO_LARGE)]),
                true
            ),
            AfterReply::Done
        );
    }

    #[test]
    fn coordinator_errors() {
        let r = |code| facts(0, &[(Scope::Request, code)]);
        assert_eq!(
            after_reply(&coordinator(), &r(ErrorCode::NOT_COORDINATOR), false),
            AfterReply::Relookup { resend: true }
        );
        assert_eq!(
            after_reply(
                &coordinator(),
                &r(ErrorCode::COORDINATOR_NOT_AVAILABLE),
                false
            ),
            AfterReply::Relookup { resend: true }
        );
        assert_eq!(
            after_reply(
                &coordinator(),
                &r(ErrorCode::COORDINATOR_LOAD_IN_PROGRESS),
                false
            ),
            AfterReply::BackOff
        );
        assert_eq!(
            after_reply(&coordinator(), &r(ErrorCode::INVALID_PRODUCER_EPOCH), false),
            AfterReply::Done
        );
        // The same codes on a leader route mean nothing special.
        assert_eq!(
            after_reply(&leader(), &r(ErrorCode::NOT_COORDINATOR), true),
            AfterReply::Done
        );
        assert_eq!(
            after_reply(&Route::Any, &r(ErrorCode::REBOOTSTRAP_REQUIRED), false),
            AfterReply::Rebootstrap
        );
        assert_eq!(
            after_reply(&Route::Controller, &r(ErrorCode::NOT_CONTROLLER), false),
            AfterReply::ControllerMoved { resend: true }
        );
    }

    #[test]
    fn failures_without_a_reply() {
        let closed = |in_flight| {
            ClientError::Conn(ConnError::Closed {
                addr: "a".into(),
                how: crate::net::Closed::Eof,
                in_flight,
            })
        };
        assert_eq!(
            after_error(&closed(false), false),
            AfterError::Retry { unreachable: false }
        );
        assert_eq!(after_error(&closed(true), false), AfterError::Fail);
        assert_eq!(
            after_error(&closed(true), true),
            AfterError::Retry { unreachable: false }
        );
        let refused = ClientError::Conn(ConnError::Connect {
            addr: "a".into(),
            message: "refused".into(),
        });
        assert_eq!(
            after_error(&refused, false),
            AfterError::Retry { unreachable: true }
        );
        let reboot = ClientError::Negotiation {
            broker: "a".into(),
            source: Box::new(NegotiationError::RebootstrapRequired {
                version: 5,
                attempts: vec![],
            }),
        };
        assert_eq!(after_error(&reboot, false), AfterError::Rebootstrap);
        assert_eq!(
            after_error(&ClientError::Config("x".into()), true),
            AfterError::Fail
        );
    }
}
