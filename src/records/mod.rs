//! Record batches (v2), legacy message sets (v0/v1) and compression.
//!
//! The protocol schemas carry `records` as opaque bytes; this module is
//! what turns them into records and back:
//!
//! * [`Batches`] / [`decode_batches`]: split a Produce or Fetch `records`
//!   field into batches, tolerating the trailing partial batch brokers
//!   legitimately send, checking every CRC.
//! * [`RecordBatch`]: one v2 batch; [`RecordBatch::records`] walks its
//!   records lazily. Uncompressed keys, values and headers are `Bytes`
//!   slices of the input: decoding copies no payload.
//! * [`LegacyMessage`]: magic 0/1 messages, including compressed wrappers.
//! * [`RecordBatchBuilder`]: what a producer needs to write a batch;
//!   [`LegacyMessageSetBuilder`]: a magic 0/1 message set, for Produce v0-2.
//! * [`ControlRecord`]: transaction markers and the KRaft control types.
//! * [`compression`]: gzip, snappy (xerial and raw), lz4 (frame, and the
//!   KAFKA-3160 form), zstd, each behind its cargo feature, with a
//!   decompression limit.
//! * [`RecordsBudget`]: the memory a records field may cost to decode,
//!   counting decompressed bytes and decoded structures across its batches.

mod batch;
mod budget;
mod builder;
pub mod compression;
mod control;
mod error;
pub mod legacy;
mod legacy_builder;
mod set;

pub use batch::{
    Attributes, BatchHeader, DecodeOptions, Header, Record, RecordBatch, RecordIter, TimestampType,
    ATTRIBUTES_OFFSET, BATCH_HEADER_LEN, CRC_OFFSET, LOG_OVERHEAD, MAGIC_OFFSET, MIN_BATCH_LENGTH,
    NO_PARTITION_LEADER_EPOCH, NO_PRODUCER_EPOCH, NO_PRODUCER_ID, NO_SEQUENCE, NO_TIMESTAMP,
};
pub use budget::{BudgetUse, RecordsBudget, DEFAULT_RECORDS_BUDGET};
pub use builder::RecordBatchBuilder;
pub use compression::{Compression, CompressionOptions, SnappyFraming};
pub use control::{ControlRecord, ControlRecordKey, ControlRecordType, EndTxnMarker};
pub use error::RecordsError;
pub use legacy::LegacyMessage;
pub use legacy_builder::{
    fetch_magic, produce_magic, LegacyMessageSetBuilder, MAGIC_V0, MAGIC_V1, MAGIC_V2,
};
pub use set::{decode_batches, Batch, Batches, DecodedRecords, PartialBatch};
