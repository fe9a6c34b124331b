//! Exit codes (documented in client/README.md) and the failure a command
//! ends with.

use kwire_client::FailureKind;

pub const OK: u8 = 0;
/// Any failure not listed below.
pub const OTHER: u8 = 1;
/// Bad arguments (clap uses 2 for its own usage errors too).
pub const USAGE: u8 = 2;
pub const CONNECT: u8 = 3;
pub const NO_REPLY: u8 = 4;
pub const CLOSED: u8 = 5;
pub const TRUNCATED: u8 = 6;
pub const UNEXPECTED_REPLY: u8 = 7;
pub const TOO_LARGE: u8 = 8;
pub const MALFORMED: u8 = 9;
pub const REFUSED: u8 = 10;
pub const NOT_READING: u8 = 11;
/// The call was answered but some of its items failed (topics; records
/// `produce` could not deliver); each is reported with its error.
pub const ITEMS_FAILED: u8 = 12;
/// `probe`: the broker rejected at least one version it advertises.
pub const PROBE_REJECTED: u8 = 13;

/// The exit code of a failure of this kind.
pub fn code(kind: FailureKind) -> u8 {
    match kind {
        FailureKind::Config => USAGE,
        FailureKind::Connect => CONNECT,
        FailureKind::NoReply => NO_REPLY,
        FailureKind::Closed | FailureKind::Reset => CLOSED,
        FailureKind::TruncatedReply => TRUNCATED,
        FailureKind::UnexpectedReply => UNEXPECTED_REPLY,
        FailureKind::ReplyTooLarge => TOO_LARGE,
        FailureKind::MalformedReply => MALFORMED,
        FailureKind::BrokerRefused
        | FailureKind::NoVersion
        | FailureKind::Auth
        | FailureKind::RebootstrapRequired => REFUSED,
        FailureKind::WriteStalled => NOT_READING,
        _ => OTHER,
    }
}

/// Why a command failed, and its exit code.
pub struct Failure {
    pub code: u8,
    pub message: String,
}

impl Failure {
    pub fn usage(message: impl Into<String>) -> Self {
        Failure {
            code: USAGE,
            message: message.into(),
        }
    }
}
