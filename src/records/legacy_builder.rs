//! Writing legacy message sets (magic 0 and 1) for the Produce versions
//! that need them: v0 and v1 carry magic 0, v2 magic 1 (KIP-32); v3 and
//! later carry record batches (magic 2, KIP-98). Kafka 4.0 removed Produce
//! v0-2 (KIP-896), but brokers before 4.0 and librdkafka's mock cluster
//! still take them.
//!
//! The layout follows Kafka's `MemoryRecordsBuilder` for these magics:
//! * uncompressed: one message per record at offsets `base..`;
//! * compressed: one wrapper message whose value is the compressed inner
//!   set. Inner offsets are absolute for magic 0 and relative (0, 1, ...)
//!   for magic 1, whose wrapper carries the absolute offset of the last
//!   inner message (KIP-31). A magic 1 wrapper's timestamp is the largest
//!   inner timestamp (or the log append time), and the timestamp-type bit
//!   is set on the wrapper and the inner messages alike.

use bytes::{Bytes, BytesMut};

use super::batch::TimestampType;
use super::compression::Compression;
use super::error::RecordsError;
use super::legacy::{compress_wrapper_value, encode_message};

/// Kafka 0.8's message format.
pub const MAGIC_V0: i8 = 0;
/// Kafka 0.10's, with a timestamp (KIP-32).
pub const MAGIC_V1: i8 = 1;
/// Record batches (KIP-98).
pub const MAGIC_V2: i8 = 2;

const TIMESTAMP_TYPE_BIT: i8 = 0x08;

/// The message format a Produce request of `version` carries.
pub fn produce_magic(version: i16) -> i8 {
    match version {
        ..=1 => MAGIC_V0,
        2 => MAGIC_V1,
        _ => MAGIC_V2,
    }
}

/// The newest message format a Fetch response of `version` may carry
/// (brokers convert older data down to it; KIP-32, KIP-98).
pub fn fetch_magic(version: i16) -> i8 {
    match version {
        ..=1 => MAGIC_V0,
        2..=3 => MAGIC_V1,
        _ => MAGIC_V2,
    }
}

struct Entry {
    timestamp: i64,
    key: Option<Bytes>,
    value: Option<Bytes>,
}

/// Builds one legacy message set: what a Produce v0-2 request's `records`
/// field holds for one partition.
pub struct LegacyMessageSetBuilder {
    magic: i8,
    base_offset: i64,
    codec: Compression,
    timestamp_type: TimestampType,
    log_append_time: i64,
    entries: Vec<Entry>,
}

impl LegacyMessageSetBuilder {
    /// A builder for `magic` 0 or 1 whose first message gets `base_offset`
    /// (producers write 0: the broker assigns offsets).
    pub fn new(magic: i8, base_offset: i64) -> Result<Self, RecordsError> {
        if !(MAGIC_V0..=MAGIC_V1).contains(&magic) {
            return Err(RecordsError::Encode(
                "legacy message sets are magic 0 or 1 (magic 2 is a record batch)",
            ));
        }
        Ok(LegacyMessageSetBuilder {
            magic,
            base_offset,
            codec: Compression::None,
            timestamp_type: TimestampType::CreateTime,
            log_append_time: -1,
            entries: Vec::new(),
        })
    }

    /// Compress the set into one wrapper message. Zstd did not exist
    /// before magic 2 (KIP-110): `build` refuses it.
    pub fn compression(mut self, codec: Compression) -> Self {
        self.codec = codec;
        self
    }

    /// Log append time (magic 1 only; a broker's choice, for tools and
    /// tests): every timestamp becomes `time`.
    pub fn log_append_time(mut self, time: i64) -> Self {
        self.timestamp_type = TimestampType::LogAppendTime;
        self.log_append_time = time;
        self
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Appends a message; returns the offset it gets. The timestamp is
    /// dropped for magic 0, which has none.
    pub fn append(
        &mut self,
        timestamp: i64,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
    ) -> Result<i64, RecordsError> {
        let n = i64::try_from(self.entries.len())
            .map_err(|_| RecordsError::Encode("too many messages"))?;
        let offset = self
            .base_offset
            .checked_add(n)
            .ok_or(RecordsError::Encode("offset overflows int64"))?;
        self.entries.push(Entry {
            timestamp,
            key: key.map(Bytes::copy_from_slice),
            value: value.map(Bytes::copy_from_slice),
        });
        Ok(offset)
    }

    fn timestamp_bit(&self) -> i8 {
        if self.magic == MAGIC_V1 && self.timestamp_type == TimestampType::LogAppendTime {
            TIMESTAMP_TYPE_BIT
        } else {
            0
        }
    }

    fn timestamp_of(&self, e: &Entry) -> Option<i64> {
        match (self.magic, self.timestamp_type) {
            (MAGIC_V0, _) => None,
            (_, TimestampType::LogAppendTime) => Some(self.log_append_time),
            _ => Some(e.timestamp),
        }
    }

    /// The message set's bytes.
    pub fn build(self) -> Result<Bytes, RecordsError> {
        let mut out = BytesMut::new();
        if self.codec == Compression::None {
            for (i, e) in self.entries.iter().enumerate() {
                encode_message(
                    &mut out,
                    self.base_offset + i as i64,
                    self.magic,
                    self.timestamp_bit(),
                    self.timestamp_of(e),
                    e.key.as_deref(),
                    e.value.as_deref(),
                )?;
            }
            return Ok(out.freeze());
        }
        if self.codec == Compression::Zstd {
            return Err(RecordsError::Encode(
                "zstd needs record batches (magic 2, Produce v7+; KIP-110)",
            ));
        }
        if self.entries.is_empty() {
            return Ok(out.freeze());
        }
        let mut inner = BytesMut::new();
        for (i, e) in self.entries.iter().enumerate() {
            // KIP-31: relative inner offsets from magic 1 on.
            let offset = if self.magic == MAGIC_V0 {
                self.base_offset + i as i64
            } else {
                i as i64
            };
            encode_message(
                &mut inner,
                offset,
                self.magic,
                self.timestamp_bit(),
                self.timestamp_of(e),
                e.key.as_deref(),
                e.value.as_deref(),
            )?;
        }
        let value = compress_wrapper_value(self.codec, self.magic, &inner)?;
        let last = self.base_offset + self.entries.len() as i64 - 1;
        let wrapper_ts = match self.magic {
            MAGIC_V0 => None,
            _ => Some(
                self.entries
                    .iter()
                    .filter_map(|e| self.timestamp_of(e))
                    .max()
                    .unwrap_or(-1),
            ),
        };
        encode_message(
            &mut out,
            last,
            self.magic,
            self.codec.id() as i8 | self.timestamp_bit(),
            wrapper_ts,
            None,
            Some(&value),
        )?;
        Ok(out.freeze())
    }
}
