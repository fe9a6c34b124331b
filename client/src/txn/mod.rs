//! The transactional producer, sans-IO (KIP-98, KIP-360, KIP-447, KIP-890).
//!
//! * [`mode`]: which protocol a transaction runs (classic or transaction V2)
//!   and the version range of each of its requests, decided once when the
//!   transaction begins;
//! * [`errors`]: what every error code means for every transactional
//!   request (retry, look the coordinator up again, abort, or stop);
//! * [`manager`]: the state machine (uninitialized, initializing, ready, in
//!   transaction, committing, aborting, abortable error, fatal error) that
//!   emits InitProducerId, AddPartitionsToTxn, AddOffsetsToTxn,
//!   TxnOffsetCommit and EndTxn with their route and version range.
//!
//! No sockets and no timers: the caller sends what [`TransactionManager::poll`]
//! returns and feeds the answers back.

pub mod errors;
pub mod manager;
pub mod mode;

use kwire::{ApiKey, ErrorCode};

pub use manager::{
    OffsetAndMetadata, OutboundRequest, Poll, ProduceContext, ProducerIdAndEpoch, RequestId, Route,
    SendFailure, TransactionManager, TxnConfig, TxnEvent, TxnRequest, TxnResponse, TxnState,
};
pub use mode::{decide, CoordinatorApis, FinalizedLevel, TxnCaps, TxnMode, VersionPlan};

/// Why a transactional operation failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TxnError {
    #[error("{op} is not allowed while the transactional producer is {state:?}")]
    InvalidState { op: &'static str, state: TxnState },
    // The cause stays in the source chain (not repeated here); the message
    // says what the caller must do next, which depends on the state.
    #[error(
        "{op} is not allowed after an earlier error: {}",
        if *fatal { "the producer cannot continue, close it" } else { "abort the transaction first" }
    )]
    Previous {
        op: &'static str,
        /// The earlier error was fatal (only closing the producer is left).
        fatal: bool,
        #[source]
        source: Box<TxnError>,
    },
    #[error(
        "the producer was fenced: another producer now owns transactional id {:?} ({api} answered {code})",
        crate::escape::escape(transactional_id)
    )]
    Fenced {
        transactional_id: String,
        api: ApiKey,
        code: ErrorCode,
    },
    #[error("the transaction must be aborted: {api} answered {code}")]
    Abortable { api: ApiKey, code: ErrorCode },
    #[error("the transactional producer cannot continue: {api} answered {code}")]
    Fatal { api: ApiKey, code: ErrorCode },
    #[error("no usable version of {api}: {why}")]
    NoVersion { api: ApiKey, why: String },
    #[error("a response to request {0}, which is not the one in flight")]
    UnknownRequest(u64),
    #[error("a {got} response to a {expected} request")]
    WrongResponse { expected: ApiKey, got: ApiKey },
}

impl TxnError {
    /// The producer must be closed.
    pub fn is_fatal(&self) -> bool {
        matches!(
            self,
            TxnError::Fenced { .. } | TxnError::Fatal { .. } | TxnError::NoVersion { .. }
        )
    }
}
