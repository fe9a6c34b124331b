//! The `records` field of Produce and Fetch: a sequence of batches.
//!
//! Brokers fill a Fetch response up to the requested size and may cut the
//! last batch short (before KIP-74 and still whenever the size limit falls
//! inside a batch). The Java consumer skips such a trailing partial batch;
//! so does this decoder, and it says so in [`Batches::partial`] instead of
//! failing the whole response.

use bytes::Bytes;

use crate::wire::Reader;

use super::batch::{
    DecodeOptions, Record, RecordBatch, LOG_OVERHEAD, MAGIC_OFFSET, MIN_BATCH_LENGTH,
    MIN_RECORD_LEN,
};
use super::budget::{BudgetUse, ChargedVec, RecordsBudget};
use super::compression::Compression;
use super::error::RecordsError;
use super::legacy::LegacyMessage;

/// One entry of a records field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Batch {
    /// Magic 2.
    V2(RecordBatch),
    /// Magic 0 or 1: one message, possibly a compressed wrapper.
    Legacy(LegacyMessage),
}

impl Batch {
    pub fn magic(&self) -> i8 {
        match self {
            Batch::V2(b) => b.header.magic,
            Batch::Legacy(m) => m.magic,
        }
    }

    /// Decodes the records (decompressing as needed), charged to
    /// [`Batch::budget`].
    pub fn records(&self, opts: &DecodeOptions) -> Result<Vec<Record>, RecordsError> {
        match self {
            Batch::V2(b) => b.decode_records(opts),
            Batch::Legacy(m) => m.records(opts),
        }
    }

    /// The budget this batch's records are charged to: `opts`' shared one
    /// if it has one, else that of the field the batch was read from.
    pub fn budget<'a>(&'a self, opts: &'a DecodeOptions) -> &'a RecordsBudget {
        match self {
            Batch::V2(b) => b.budget(opts),
            Batch::Legacy(m) => m.budget(opts),
        }
    }

    fn input_offset(&self) -> usize {
        match self {
            Batch::V2(b) => b.input_offset,
            Batch::Legacy(m) => m.input_offset,
        }
    }
}

/// A trailing batch the buffer holds only part of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PartialBatch {
    /// Where it starts in the buffer.
    pub offset: usize,
    /// Bytes of it present.
    pub available: usize,
    /// Its full size, when the length field itself was present.
    pub size: Option<usize>,
    /// Its base offset, when present: where the next fetch should start.
    pub base_offset: Option<i64>,
}

/// Iterates the batches of a records field. The field is decoded under one
/// budget (the options' shared one, or a fresh one of
/// `max_records_memory`), which every batch it yields keeps for its records.
#[derive(Debug, Clone)]
pub struct Batches {
    r: Reader,
    verify_crc: bool,
    budget: RecordsBudget,
    partial: Option<PartialBatch>,
    done: bool,
}

impl Batches {
    pub fn new(records: Bytes) -> Self {
        Self::with_options(records, DecodeOptions::default())
    }

    pub fn with_options(records: Bytes, opts: DecodeOptions) -> Self {
        Batches {
            r: Reader::new(records),
            verify_crc: opts.verify_crc,
            budget: opts.field_budget(),
            partial: None,
            done: false,
        }
    }

    /// The budget of this field.
    pub fn budget(&self) -> &RecordsBudget {
        &self.budget
    }

    /// The trailing partial batch, once iteration reached it.
    pub fn partial(&self) -> Option<&PartialBatch> {
        self.partial.as_ref()
    }

    fn next_batch(&mut self) -> Result<Option<Batch>, RecordsError> {
        let rest = self.r.peek_rest();
        let offset = self.r.offset();
        let available = rest.len();
        if available == 0 {
            return Ok(None);
        }
        let base_offset = (available >= 8).then(|| {
            i64::from_be_bytes([
                rest[0], rest[1], rest[2], rest[3], rest[4], rest[5], rest[6], rest[7],
            ])
        });
        if available < LOG_OVERHEAD {
            self.partial = Some(PartialBatch {
                offset,
                available,
                size: None,
                base_offset,
            });
            return Ok(None);
        }
        let length = i32::from_be_bytes([rest[8], rest[9], rest[10], rest[11]]);
        // A length no batch or message can have is corruption, not a cut.
        if length < LegacyMessage::MIN_SIZE_V0 as i32 {
            return Err(RecordsError::InvalidLength {
                offset: offset + 8,
                length: i64::from(length),
                what: "batch length below the smallest message",
            });
        }
        let size = LOG_OVERHEAD + length as usize;
        if size > available {
            self.partial = Some(PartialBatch {
                offset,
                available,
                size: Some(size),
                base_offset,
            });
            return Ok(None);
        }
        let magic = rest[MAGIC_OFFSET] as i8;
        match magic {
            2 => {
                if length < MIN_BATCH_LENGTH {
                    return Err(RecordsError::InvalidLength {
                        offset: offset + 8,
                        length: i64::from(length),
                        what: "batch length below the v2 header size",
                    });
                }
                RecordBatch::read_in(&mut self.r, self.verify_crc, self.budget.clone())
                    .map(|b| Some(Batch::V2(b)))
            }
            0 | 1 => LegacyMessage::read_in(&mut self.r, self.verify_crc, self.budget.clone())
                .map(|m| Some(Batch::Legacy(m))),
            magic => Err(RecordsError::UnsupportedMagic {
                offset: offset + MAGIC_OFFSET,
                magic,
            }),
        }
    }
}

impl Iterator for Batches {
    type Item = Result<Batch, RecordsError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.next_batch() {
            Ok(Some(b)) => Some(Ok(b)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

/// A fully decoded records field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodedRecords {
    pub batches: Vec<Batch>,
    pub partial: Option<PartialBatch>,
}

impl DecodedRecords {
    /// Every record of every batch, in order, in one vector charged to the
    /// batches' budget as it grows.
    pub fn records(&self, opts: &DecodeOptions) -> Result<Vec<Record>, RecordsError> {
        let Some(first) = self.batches.first() else {
            return Ok(Vec::new());
        };
        let budget = first.budget(opts);
        // The declared counts size the vector once (an uncompressed
        // section caps its count at what its bytes could hold; a count a
        // compressed batch cannot back fails its own count check, and the
        // budget bounds what it can claim before that).
        let declared = self
            .batches
            .iter()
            .map(|b| match b {
                Batch::V2(b) => {
                    let count = b.header.records_count.max(0) as usize;
                    match b.compression() {
                        Ok(Compression::None) => count.min(b.records_data.len() / MIN_RECORD_LEN),
                        _ => count,
                    }
                }
                Batch::Legacy(_) => 1,
            })
            .fold(0usize, usize::saturating_add);
        let mut out = ChargedVec::with_capacity(
            budget,
            BudgetUse::CollectedRecords,
            declared,
            first.input_offset(),
        )?;
        for b in &self.batches {
            match b {
                Batch::V2(rb) => {
                    for rec in rb.records(opts)? {
                        out.push(rec?, rb.input_offset)?;
                    }
                }
                Batch::Legacy(m) => {
                    let recs = m.records(opts)?;
                    let held = recs.capacity() * std::mem::size_of::<Record>();
                    for rec in recs {
                        out.push(rec, m.input_offset)?;
                    }
                    // Its vector is freed: the records moved into `out`.
                    m.budget(opts).release(held);
                }
            }
        }
        Ok(out.vec)
    }
}

/// Splits a records field into its batches (framing and CRCs checked,
/// records not yet decoded), reporting a trailing partial batch. The
/// vector of batches is charged to the field's budget.
pub fn decode_batches(
    records: Bytes,
    opts: &DecodeOptions,
) -> Result<DecodedRecords, RecordsError> {
    let mut it = Batches::with_options(records, opts.clone());
    let budget = it.budget.clone();
    let mut batches = ChargedVec::with_capacity(&budget, BudgetUse::Batches, 0, 0)?;
    for b in &mut it {
        let b = b?;
        let at = b.input_offset();
        batches.push(b, at)?;
    }
    Ok(DecodedRecords {
        batches: batches.vec,
        partial: it.partial,
    })
}
