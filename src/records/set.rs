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
};
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

    /// Decodes the records (decompressing as needed).
    pub fn records(&self, opts: &DecodeOptions) -> Result<Vec<Record>, RecordsError> {
        match self {
            Batch::V2(b) => b.decode_records(opts),
            Batch::Legacy(m) => m.records(opts),
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

/// Iterates the batches of a records field.
#[derive(Debug, Clone)]
pub struct Batches {
    r: Reader,
    opts: DecodeOptions,
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
            opts,
            partial: None,
            done: false,
        }
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
                RecordBatch::read(&mut self.r, &self.opts).map(|b| Some(Batch::V2(b)))
            }
            0 | 1 => LegacyMessage::read(&mut self.r, &self.opts).map(|m| Some(Batch::Legacy(m))),
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
    /// Every record of every batch, in order.
    pub fn records(&self, opts: &DecodeOptions) -> Result<Vec<Record>, RecordsError> {
        let mut out = Vec::new();
        for b in &self.batches {
            out.extend(b.records(opts)?);
        }
        Ok(out)
    }
}

/// Splits a records field into its batches (framing and CRCs checked,
/// records not yet decoded), reporting a trailing partial batch.
pub fn decode_batches(
    records: Bytes,
    opts: &DecodeOptions,
) -> Result<DecodedRecords, RecordsError> {
    let mut it = Batches::with_options(records, *opts);
    let mut batches = Vec::new();
    for b in &mut it {
        batches.push(b?);
    }
    Ok(DecodedRecords {
        batches,
        partial: it.partial,
    })
}
