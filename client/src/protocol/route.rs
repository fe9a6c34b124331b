//! Where a request must go, decided from what it is: its API key says which
//! kind of broker serves it, and its own content names the partitions or
//! the coordinator key. Never from a wrapper type: wrapping EndTxn and
//! TxnOffsetCommit to pin their version sent them to an arbitrary broker in
//! franz-go 1.19.2 (twmb/franz-go#1017, fixed by #1021).

/// Which coordinator a key is looked up for: FindCoordinator's `KeyType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum CoordinatorKind {
    /// A consumer group (key type 0).
    Group,
    /// A transactional id (key type 1, FindCoordinator v1+).
    Transaction,
}

impl CoordinatorKind {
    /// FindCoordinator's `KeyType` for this kind.
    pub const fn key_type(self) -> i8 {
        match self {
            CoordinatorKind::Group => 0,
            CoordinatorKind::Transaction => 1,
        }
    }
}

impl std::fmt::Display for CoordinatorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            CoordinatorKind::Group => "group",
            CoordinatorKind::Transaction => "transaction",
        })
    }
}
