//! Legacy message sets: magic 0 (Kafka 0.8) and magic 1 (0.10, KIP-32).
//!
//! ```text
//! offset int64 | messageSize int32 | crc uint32 (CRC-32 of magic..end) | magic int8
//! attributes int8 | timestamp int64 (magic 1 only) | key bytes | value bytes
//! ```
//!
//! A compressed message is a wrapper whose value is a whole message set,
//! compressed. Inner offsets are absolute for magic 0 and relative for
//! magic 1 (KIP-31: the wrapper carries the last inner record's absolute
//! offset). Brokers still return these for topics written long ago.

use bytes::{BufMut, Bytes, BytesMut};

use crate::wire::Reader;

use super::batch::{
    DecodeOptions, Record, TimestampType, LOG_OVERHEAD, NO_TIMESTAMP, SHARED_BUFFER_OVERHEAD,
};
use super::budget::{BudgetUse, ChargedVec, RecordsBudget};
use super::compression::{self, Compression, CompressionOptions};
use super::error::RecordsError;

const COMPRESSION_MASK: i8 = 0x07;
const TIMESTAMP_TYPE: i8 = 0x08;

/// One legacy message (possibly a compressed wrapper). Like a
/// [`RecordBatch`](super::RecordBatch) it keeps the budget of the records
/// field it was read from.
#[derive(Debug, Clone)]
pub struct LegacyMessage {
    pub offset: i64,
    pub crc: u32,
    pub magic: i8,
    pub attributes: i8,
    /// Magic 1 only.
    pub timestamp: Option<i64>,
    pub key: Option<Bytes>,
    pub value: Option<Bytes>,
    /// Byte offset of the message (its offset field) in the decoded buffer.
    pub input_offset: usize,
    budget: RecordsBudget,
}

/// The budget a message is charged to is not part of its value.
impl PartialEq for LegacyMessage {
    fn eq(&self, other: &Self) -> bool {
        self.offset == other.offset
            && self.crc == other.crc
            && self.magic == other.magic
            && self.attributes == other.attributes
            && self.timestamp == other.timestamp
            && self.key == other.key
            && self.value == other.value
            && self.input_offset == other.input_offset
    }
}

impl Eq for LegacyMessage {}

impl LegacyMessage {
    /// Smallest messageSize: crc, magic, attributes, two null lengths.
    pub const MIN_SIZE_V0: usize = 14;
    pub const MIN_SIZE_V1: usize = 22;

    /// Reads one entry (offset, size, message) and checks its CRC-32. A
    /// wrapper's records are charged to the options' budget (a fresh one
    /// unless `opts.budget` is set).
    pub fn read(r: &mut Reader, opts: &DecodeOptions) -> Result<LegacyMessage, RecordsError> {
        Self::read_in(r, opts.verify_crc, opts.field_budget())
    }

    /// [`LegacyMessage::read`] for a message of a field whose budget is
    /// known.
    pub(crate) fn read_in(
        r: &mut Reader,
        verify_crc: bool,
        budget: RecordsBudget,
    ) -> Result<LegacyMessage, RecordsError> {
        let start = r.offset();
        let offset = r.i64()?;
        let size_at = r.offset();
        let size = r.i32()?;
        if size < Self::MIN_SIZE_V0 as i32 {
            return Err(RecordsError::InvalidLength {
                offset: size_at,
                length: i64::from(size),
                what: "message size below the legacy minimum",
            });
        }
        let mut m = r
            .sub(size as usize)
            .map_err(|_| RecordsError::LengthExceedsInput {
                offset: size_at,
                length: i64::from(size),
                remaining: r.remaining(),
            })?;
        let body = m.peek_rest().clone();
        let crc = m.u32()?;
        let magic = m.i8()?;
        if !(0..=1).contains(&magic) {
            return Err(RecordsError::UnsupportedMagic {
                offset: start + 16,
                magic,
            });
        }
        if magic == 1 && (size as usize) < Self::MIN_SIZE_V1 {
            return Err(RecordsError::InvalidLength {
                offset: size_at,
                length: i64::from(size),
                what: "message size below the magic 1 minimum",
            });
        }
        if verify_crc {
            let found = crc32fast::hash(&body[4..]);
            if found != crc {
                return Err(RecordsError::CrcMismatch {
                    offset: start,
                    expected: crc,
                    found,
                });
            }
        }
        let attributes = m.i8()?;
        let timestamp = if magic == 1 { Some(m.i64()?) } else { None };
        let key = m.nullable_bytes(false)?;
        let value = m.nullable_bytes(false)?;
        if !m.is_empty() {
            return Err(RecordsError::Malformed {
                offset: m.offset(),
                reason: "message size covers bytes past its value",
            });
        }
        Ok(LegacyMessage {
            offset,
            crc,
            magic,
            attributes,
            timestamp,
            key,
            value,
            input_offset: start,
            budget,
        })
    }

    /// The budget this message's records are charged to: `opts`' shared
    /// one if it has one, else that of the field it was read from.
    pub fn budget<'a>(&'a self, opts: &'a DecodeOptions) -> &'a RecordsBudget {
        opts.budget.as_ref().unwrap_or(&self.budget)
    }

    /// The codec of a wrapper (zstd does not exist before magic 2).
    pub fn compression(&self) -> Result<Compression, RecordsError> {
        let id = (self.attributes & COMPRESSION_MASK) as u8;
        match Compression::from_id(id)? {
            Compression::Zstd => Err(RecordsError::UnknownCompression { id }),
            c => Ok(c),
        }
    }

    pub fn timestamp_type(&self) -> TimestampType {
        if self.magic >= 1 && self.attributes & TIMESTAMP_TYPE != 0 {
            TimestampType::LogAppendTime
        } else {
            TimestampType::CreateTime
        }
    }

    fn to_record(&self, offset: i64, timestamp: i64) -> Record {
        Record {
            attributes: self.attributes,
            timestamp_delta: 0,
            offset_delta: 0,
            offset,
            timestamp,
            key: self.key.clone(),
            value: self.value.clone(),
            headers: Vec::new(),
        }
    }

    /// The records this message holds: itself, or the messages inside a
    /// compressed wrapper. The decompressed value and the vector are charged
    /// to [`LegacyMessage::budget`].
    pub fn records(&self, opts: &DecodeOptions) -> Result<Vec<Record>, RecordsError> {
        let budget = self.budget(opts);
        let codec = self.compression()?;
        if codec == Compression::None {
            budget.charge_slots::<Record>(1, BudgetUse::CollectedRecords, self.input_offset)?;
            return Ok(vec![
                self.to_record(self.offset, self.timestamp.unwrap_or(NO_TIMESTAMP))
            ]);
        }
        let value = self.value.as_deref().ok_or(RecordsError::Malformed {
            offset: self.input_offset,
            reason: "compressed wrapper message with a null value",
        })?;
        budget.charge(
            SHARED_BUFFER_OVERHEAD,
            BudgetUse::Decompressed(codec),
            self.input_offset,
        )?;
        let inner =
            compression::decompress_charged(codec, self.magic, value, budget, self.input_offset)?;
        let mut r = Reader::new(Bytes::from(inner));
        // The vector grows as messages really arrive, each step charged.
        let guess = (r.remaining() / (LOG_OVERHEAD + Self::MIN_SIZE_V0)).min(64);
        let mut out =
            ChargedVec::with_capacity(budget, BudgetUse::LegacyMessages, guess, self.input_offset)?;
        let log_append = self.timestamp_type() == TimestampType::LogAppendTime;
        let mut last_inner_offset = None;
        while !r.is_empty() {
            let m = LegacyMessage::read_in(&mut r, opts.verify_crc, budget.clone())?;
            if m.compression()? != Compression::None {
                // Kafka never nests compression, and refusing it bounds the
                // work a crafted input can cause.
                return Err(RecordsError::Malformed {
                    offset: m.input_offset,
                    reason: "compressed message inside a compressed wrapper",
                });
            }
            let ts = if log_append {
                self.timestamp.unwrap_or(NO_TIMESTAMP)
            } else {
                m.timestamp.unwrap_or(NO_TIMESTAMP)
            };
            last_inner_offset = Some(m.offset);
            out.push(m.to_record(m.offset, ts), self.input_offset)?;
        }
        let mut records = out.vec;
        // KIP-31: for magic 1 inner offsets are relative and the wrapper
        // holds the absolute offset of the last one.
        if let (1.., Some(last)) = (self.magic, last_inner_offset) {
            let base = self.offset.wrapping_sub(last);
            for rec in &mut records {
                rec.offset = base.wrapping_add(rec.offset);
            }
        }
        Ok(records)
    }
}

/// Writes one legacy message entry (offset, size, CRC-32, body). Mostly for
/// tests and tools that need old-format input; producers write v2.
pub fn encode_message(
    buf: &mut BytesMut,
    offset: i64,
    magic: i8,
    attributes: i8,
    timestamp: Option<i64>,
    key: Option<&[u8]>,
    value: Option<&[u8]>,
) -> Result<(), RecordsError> {
    if !(0..=1).contains(&magic) || (magic == 1) != timestamp.is_some() {
        return Err(RecordsError::Encode(
            "legacy magic must be 0 (no timestamp) or 1 (timestamp)",
        ));
    }
    let mut body = BytesMut::new();
    body.put_i8(magic);
    body.put_i8(attributes);
    if let Some(t) = timestamp {
        body.put_i64(t);
    }
    for b in [key, value] {
        match b {
            None => body.put_i32(-1),
            Some(b) => {
                body.put_i32(
                    i32::try_from(b.len()).map_err(|_| RecordsError::Encode("over 2 GiB"))?,
                );
                body.put_slice(b);
            }
        }
    }
    buf.put_i64(offset);
    buf.put_i32(i32::try_from(body.len() + 4).map_err(|_| RecordsError::Encode("over 2 GiB"))?);
    buf.put_u32(crc32fast::hash(&body));
    buf.put_slice(&body);
    Ok(())
}

/// Compresses an inner message set for a legacy wrapper. For lz4 and
/// magic 0 the frame header checksum is written the pre-KAFKA-3160 way.
pub fn compress_wrapper_value(
    codec: Compression,
    magic: i8,
    inner: &[u8],
) -> Result<Vec<u8>, RecordsError> {
    let mut out = Vec::new();
    compression::compress(&CompressionOptions::from(codec), inner, &mut out)?;
    if codec == Compression::Lz4 && magic == 0 {
        let pos = compression::lz4_header_checksum_pos(&out)
            .map_err(|_| RecordsError::Encode("lz4 frame header"))?;
        out[pos] = compression::lz4_kafka3160_checksum(&out[..pos]);
    }
    Ok(out)
}
