//! What each error code means to a transactional producer, per request.
//!
//! The table follows Kafka 4.4's `TransactionManager` handlers and
//! `maybeTransitionToErrorState` (the sender's path for Produce errors):
//!
//! * the coordinator moved (NOT_COORDINATOR, COORDINATOR_NOT_AVAILABLE; for
//!   TxnOffsetCommit also REQUEST_TIMED_OUT): look it up again and retry;
//! * retriable (COORDINATOR_LOAD_IN_PROGRESS, CONCURRENT_TRANSACTIONS, any
//!   code Kafka marks retriable): retry the same request after a backoff;
//! * fenced (PRODUCER_FENCED, and INVALID_PRODUCER_EPOCH from the
//!   coordinator, which older coordinators send instead, KIP-588): fatal, a
//!   newer producer owns the transactional id;
//! * TRANSACTION_ABORTABLE (KIP-890 part 1): abort and carry on, except in
//!   reply to an abort, where nothing is left to do but fail;
//! * UNKNOWN_PRODUCER_ID: abortable when the epoch can be bumped (KIP-360:
//!   the coordinator takes InitProducerId v3+, or the transaction runs V2
//!   where EndTxn bumps it), else fatal;
//! * INVALID_TXN_STATE, INVALID_PRODUCER_ID_MAPPING, the transactional id
//!   not authorized: fatal;
//! * from Produce, INVALID_PRODUCER_EPOCH is abortable (KIP-588: the batch
//!   was stale, the producer is not fenced), and so is every other error but
//!   the fatal set (authorization, fencing, UNSUPPORTED_VERSION,
//!   INVALID_PRODUCER_ID_MAPPING).

use kwire::ErrorCode;

/// The request an error came back on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TxnApi {
    InitProducerId,
    AddPartitionsToTxn,
    AddOffsetsToTxn,
    TxnOffsetCommit,
    EndTxn {
        commit: bool,
    },
    Produce,
    /// The coordinator lookup for a transactional request.
    FindCoordinator,
}

/// What to do about one error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Disposition {
    Ok,
    /// Look the coordinator up again, then retry.
    RefreshCoordinator,
    /// Retry the same request after the backoff.
    Retry,
    /// The transaction must be aborted; the producer stays usable.
    Abortable,
    /// Abortable if the epoch can be bumped (KIP-360), fatal otherwise.
    AbortableIfEpochBump,
    /// Another producer with the same transactional id took over.
    Fenced,
    /// The producer cannot continue.
    Fatal,
    /// AddPartitionsToTxn only: this partition was not attempted because
    /// another one in the request failed.
    NotAttempted,
}

/// Classifies `code` returned for `api`. See the module docs.
pub fn classify(api: TxnApi, code: ErrorCode) -> Disposition {
    use Disposition::*;
    if code == ErrorCode::NONE {
        return Ok;
    }
    if api == TxnApi::Produce {
        return match code {
            ErrorCode::PRODUCER_FENCED => Fenced,
            ErrorCode::CLUSTER_AUTHORIZATION_FAILED
            | ErrorCode::TRANSACTIONAL_ID_AUTHORIZATION_FAILED
            | ErrorCode::UNSUPPORTED_VERSION
            | ErrorCode::INVALID_PRODUCER_ID_MAPPING => Fatal,
            _ => Abortable,
        };
    }
    if api == TxnApi::FindCoordinator {
        return match code {
            ErrorCode::TRANSACTIONAL_ID_AUTHORIZATION_FAILED => Fatal,
            ErrorCode::GROUP_AUTHORIZATION_FAILED | ErrorCode::TRANSACTION_ABORTABLE => Abortable,
            c if c.is_retriable() => Retry,
            _ => Fatal,
        };
    }
    match code {
        ErrorCode::NOT_COORDINATOR | ErrorCode::COORDINATOR_NOT_AVAILABLE => RefreshCoordinator,
        ErrorCode::REQUEST_TIMED_OUT if api == TxnApi::TxnOffsetCommit => RefreshCoordinator,
        ErrorCode::CONCURRENT_TRANSACTIONS => Retry,
        ErrorCode::INVALID_PRODUCER_EPOCH | ErrorCode::PRODUCER_FENCED => Fenced,
        ErrorCode::TRANSACTION_ABORTABLE if api == (TxnApi::EndTxn { commit: false }) => Fatal,
        ErrorCode::TRANSACTION_ABORTABLE => Abortable,
        c if c.is_retriable() => Retry,
        _ => match (api, code) {
            (TxnApi::InitProducerId, ErrorCode::TRANSACTIONAL_ID_AUTHORIZATION_FAILED)
            | (TxnApi::InitProducerId, ErrorCode::CLUSTER_AUTHORIZATION_FAILED) => Abortable,
            (TxnApi::AddPartitionsToTxn, ErrorCode::TOPIC_AUTHORIZATION_FAILED) => Abortable,
            (TxnApi::AddPartitionsToTxn, ErrorCode::OPERATION_NOT_ATTEMPTED) => NotAttempted,
            (TxnApi::AddOffsetsToTxn, ErrorCode::GROUP_AUTHORIZATION_FAILED) => Abortable,
            (
                TxnApi::AddPartitionsToTxn | TxnApi::AddOffsetsToTxn | TxnApi::EndTxn { .. },
                ErrorCode::UNKNOWN_PRODUCER_ID,
            ) => AbortableIfEpochBump,
            (
                TxnApi::TxnOffsetCommit,
                ErrorCode::GROUP_AUTHORIZATION_FAILED
                | ErrorCode::FENCED_INSTANCE_ID
                | ErrorCode::UNKNOWN_MEMBER_ID
                | ErrorCode::ILLEGAL_GENERATION
                | ErrorCode::GROUP_ID_NOT_FOUND
                | ErrorCode::STALE_MEMBER_EPOCH,
            ) => Abortable,
            (
                TxnApi::AddPartitionsToTxn,
                ErrorCode::TRANSACTIONAL_ID_AUTHORIZATION_FAILED
                | ErrorCode::INVALID_TXN_STATE
                | ErrorCode::INVALID_PRODUCER_ID_MAPPING,
            ) => Fatal,
            // Any other per-partition error: Kafka aborts (it cannot tell
            // which partitions made it).
            (TxnApi::AddPartitionsToTxn, _) => Abortable,
            _ => Fatal,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Disposition::*;

    #[test]
    fn the_table() {
        let rows: &[(TxnApi, ErrorCode, Disposition)] = &[
            (
                TxnApi::EndTxn { commit: true },
                ErrorCode::NOT_COORDINATOR,
                RefreshCoordinator,
            ),
            (
                TxnApi::TxnOffsetCommit,
                ErrorCode::NOT_COORDINATOR,
                RefreshCoordinator,
            ),
            (
                TxnApi::TxnOffsetCommit,
                ErrorCode::REQUEST_TIMED_OUT,
                RefreshCoordinator,
            ),
            (
                TxnApi::EndTxn { commit: true },
                ErrorCode::REQUEST_TIMED_OUT,
                Retry,
            ),
            (
                TxnApi::InitProducerId,
                ErrorCode::COORDINATOR_LOAD_IN_PROGRESS,
                Retry,
            ),
            (
                TxnApi::AddPartitionsToTxn,
                ErrorCode::CONCURRENT_TRANSACTIONS,
                Retry,
            ),
            (
                TxnApi::EndTxn { commit: true },
                ErrorCode::CONCURRENT_TRANSACTIONS,
                Retry,
            ),
            (TxnApi::InitProducerId, ErrorCode::PRODUCER_FENCED, Fenced),
            (
                TxnApi::EndTxn { commit: true },
                ErrorCode::INVALID_PRODUCER_EPOCH,
                Fenced,
            ),
            (
                TxnApi::Produce,
                ErrorCode::INVALID_PRODUCER_EPOCH,
                Abortable,
            ),
            (TxnApi::Produce, ErrorCode::PRODUCER_FENCED, Fenced),
            (TxnApi::Produce, ErrorCode::TRANSACTION_ABORTABLE, Abortable),
            (TxnApi::Produce, ErrorCode::INVALID_TXN_STATE, Abortable),
            (TxnApi::Produce, ErrorCode::UNSUPPORTED_VERSION, Fatal),
            (
                TxnApi::AddPartitionsToTxn,
                ErrorCode::TRANSACTION_ABORTABLE,
                Abortable,
            ),
            (
                TxnApi::EndTxn { commit: true },
                ErrorCode::TRANSACTION_ABORTABLE,
                Abortable,
            ),
            (
                TxnApi::EndTxn { commit: false },
                ErrorCode::TRANSACTION_ABORTABLE,
                Fatal,
            ),
            (
                TxnApi::EndTxn { commit: true },
                ErrorCode::INVALID_TXN_STATE,
                Fatal,
            ),
            (
                TxnApi::AddPartitionsToTxn,
                ErrorCode::INVALID_TXN_STATE,
                Fatal,
            ),
            (
                TxnApi::AddPartitionsToTxn,
                ErrorCode::UNKNOWN_PRODUCER_ID,
                AbortableIfEpochBump,
            ),
            (
                TxnApi::EndTxn { commit: false },
                ErrorCode::UNKNOWN_PRODUCER_ID,
                AbortableIfEpochBump,
            ),
            (
                TxnApi::AddPartitionsToTxn,
                ErrorCode::INVALID_PRODUCER_ID_MAPPING,
                Fatal,
            ),
            (
                TxnApi::AddPartitionsToTxn,
                ErrorCode::TOPIC_AUTHORIZATION_FAILED,
                Abortable,
            ),
            (
                TxnApi::AddPartitionsToTxn,
                ErrorCode::OPERATION_NOT_ATTEMPTED,
                NotAttempted,
            ),
            (
                TxnApi::TxnOffsetCommit,
                ErrorCode::UNKNOWN_MEMBER_ID,
                Abortable,
            ),
            (
                TxnApi::TxnOffsetCommit,
                ErrorCode::FENCED_INSTANCE_ID,
                Abortable,
            ),
            (
                TxnApi::TxnOffsetCommit,
                ErrorCode::UNKNOWN_TOPIC_OR_PARTITION,
                Retry,
            ),
            (
                TxnApi::TxnOffsetCommit,
                ErrorCode::TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
                Fatal,
            ),
            (
                TxnApi::InitProducerId,
                ErrorCode::TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
                Abortable,
            ),
            (
                TxnApi::EndTxn { commit: true },
                ErrorCode::TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
                Fatal,
            ),
            (
                TxnApi::FindCoordinator,
                ErrorCode::COORDINATOR_NOT_AVAILABLE,
                Retry,
            ),
            (
                TxnApi::FindCoordinator,
                ErrorCode::GROUP_AUTHORIZATION_FAILED,
                Abortable,
            ),
            (
                TxnApi::FindCoordinator,
                ErrorCode::TRANSACTIONAL_ID_AUTHORIZATION_FAILED,
                Fatal,
            ),
            (TxnApi::EndTxn { commit: true }, ErrorCode(9999), Fatal),
            (TxnApi::EndTxn { commit: true }, ErrorCode::NONE, Ok),
        ];
        for (api, code, want) in rows {
            assert_eq!(classify(*api, *code), *want, "{api:?} {code}");
        }
    }
}
