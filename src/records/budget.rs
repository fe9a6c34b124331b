//! The memory budget of record decoding: heap use proportional to the
//! bytes that arrived, whatever the batches claim.
//!
//! A limit on decompressed bytes alone does not bound memory: a record of
//! a million two-byte headers decodes to a million 64-byte [`Header`]s, a
//! section of seven-byte records to 100-byte [`Record`]s, and a limit per
//! batch says nothing about a field of a thousand batches. So one budget
//! counts every heap allocation the decoder makes for a records field:
//! decompressed sections, decompressor working memory while it runs, header
//! vectors, legacy inner messages and the vectors the collecting functions
//! return. It is charged before each allocation is made, so an input that
//! would take more is refused with [`RecordsError::BudgetExceeded`] having
//! allocated at most the budget.
//!
//! [`Header`]: super::Header
//! [`Record`]: super::Record

use std::fmt;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use super::compression::Compression;
use super::error::RecordsError;

/// The budget a records field gets when the caller sets none.
///
/// A default consumer's partition holds `max.partition.fetch.bytes` (1 MiB)
/// of batches, or one batch of up to `message.max.bytes` (about 1 MiB) when
/// a single batch is larger; even at 20:1 compression that decodes within
/// 64 MiB with its records and headers, while it keeps the worst a hostile
/// peer can make one field cost to 64 MiB. Callers that raise the fetch
/// sizes raise this with them ([`DecodeOptions::max_records_memory`]).
///
/// [`DecodeOptions::max_records_memory`]: super::DecodeOptions::max_records_memory
pub const DEFAULT_RECORDS_BUDGET: usize = 64 * 1024 * 1024;

/// What a budget charge was for, as reported by
/// [`RecordsError::BudgetExceeded`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BudgetUse {
    /// The decompressed records section of a batch or legacy wrapper.
    Decompressed(Compression),
    /// A decompressor's own buffers while it runs.
    DecompressorState(Compression),
    /// The header vector of one record.
    Headers,
    /// The vector of records a collecting function returns.
    CollectedRecords,
    /// The messages inside a legacy compressed wrapper.
    LegacyMessages,
    /// The vector of batches [`decode_batches`](super::decode_batches) returns.
    Batches,
}

impl fmt::Display for BudgetUse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BudgetUse::Decompressed(c) => write!(f, "the {c}-decompressed records"),
            BudgetUse::DecompressorState(c) => write!(f, "the {c} decompressor's buffers"),
            BudgetUse::Headers => f.write_str("the headers of a record"),
            BudgetUse::CollectedRecords => f.write_str("the collected records"),
            BudgetUse::LegacyMessages => f.write_str("the messages of a legacy wrapper"),
            BudgetUse::Batches => f.write_str("the batches of a records field"),
        }
    }
}

/// A memory budget for decoding records: a limit and a shared count of the
/// bytes charged against it.
///
/// Cloning gives another handle to the same budget, so one budget can span
/// several records fields: a client decoding a whole Fetch response gives
/// every partition the same one through [`DecodeOptions::budget`]. Without
/// one, each records field gets a budget of its own of
/// [`DecodeOptions::max_records_memory`] bytes. Charges are never returned
/// while decoding (what the decoder hands out may be kept by the caller),
/// except the working memory a decompressor frees before it returns.
///
/// ```
/// use kwire::records::{DecodeOptions, RecordsBudget};
/// let budget = RecordsBudget::new(256 << 20);
/// let opts = DecodeOptions::default().with_budget(budget.clone());
/// // decode every partition's records with `opts` ...
/// assert_eq!(budget.used(), 0);
/// ```
///
/// [`DecodeOptions::budget`]: super::DecodeOptions::budget
/// [`DecodeOptions::max_records_memory`]: super::DecodeOptions::max_records_memory
#[derive(Clone)]
pub struct RecordsBudget(Arc<Inner>);

struct Inner {
    limit: usize,
    used: AtomicUsize,
}

impl RecordsBudget {
    pub fn new(limit: usize) -> Self {
        RecordsBudget(Arc::new(Inner {
            limit,
            used: AtomicUsize::new(0),
        }))
    }

    pub fn limit(&self) -> usize {
        self.0.limit
    }

    /// Bytes charged so far.
    pub fn used(&self) -> usize {
        self.0.used.load(Ordering::Relaxed)
    }

    pub fn remaining(&self) -> usize {
        self.limit().saturating_sub(self.used())
    }

    /// Takes `bytes` from the budget, or fails (taking nothing) when that
    /// would pass the limit. `offset` is where in the input the decoder is.
    pub(crate) fn charge(
        &self,
        bytes: usize,
        what: BudgetUse,
        offset: usize,
    ) -> Result<(), RecordsError> {
        if bytes == 0 {
            // Most records have no headers: no atomic operation for them.
            return Ok(());
        }
        let limit = self.0.limit;
        self.0
            .used
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |used| {
                used.checked_add(bytes).filter(|total| *total <= limit)
            })
            .map(drop)
            .map_err(|used| RecordsError::BudgetExceeded {
                offset,
                what,
                requested: bytes,
                used,
                limit,
            })
    }

    /// Charges room for `count` values of `T` (a vector's capacity).
    pub(crate) fn charge_slots<T>(
        &self,
        count: usize,
        what: BudgetUse,
        offset: usize,
    ) -> Result<(), RecordsError> {
        self.charge(count.saturating_mul(std::mem::size_of::<T>()), what, offset)
    }

    /// Gives back what was charged for memory the decoder itself has freed
    /// (a decompressor's buffers, the old block of a grown buffer).
    pub(crate) fn release(&self, bytes: usize) {
        let _ = self
            .0
            .used
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |used| {
                Some(used.saturating_sub(bytes))
            });
    }
}

impl fmt::Debug for RecordsBudget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RecordsBudget")
            .field("limit", &self.limit())
            .field("used", &self.used())
            .finish()
    }
}

/// Two handles are equal when they are the same budget.
impl PartialEq for RecordsBudget {
    fn eq(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }
}

impl Eq for RecordsBudget {}

/// A vector that charges the budget for its capacity before it grows, and
/// gives back the old block's share once the grown one replaced it (so a
/// moving reallocation, which holds both for a moment, stays within it).
pub(crate) struct ChargedVec<'a, T> {
    pub vec: Vec<T>,
    budget: &'a RecordsBudget,
    what: BudgetUse,
}

impl<'a, T> ChargedVec<'a, T> {
    pub fn with_capacity(
        budget: &'a RecordsBudget,
        what: BudgetUse,
        capacity: usize,
        offset: usize,
    ) -> Result<Self, RecordsError> {
        budget.charge_slots::<T>(capacity, what, offset)?;
        Ok(ChargedVec {
            vec: Vec::with_capacity(capacity),
            budget,
            what,
        })
    }

    pub fn push(&mut self, value: T, offset: usize) -> Result<(), RecordsError> {
        if self.vec.len() == self.vec.capacity() {
            let old = self.vec.capacity();
            let new = old.saturating_mul(2).max(4);
            self.budget.charge_slots::<T>(new, self.what, offset)?;
            self.vec.reserve_exact(new - old);
            self.budget
                .release(old.saturating_mul(std::mem::size_of::<T>()));
        }
        self.vec.push(value);
        Ok(())
    }
}
