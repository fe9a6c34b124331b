//! Building v2 batches for producing.

use bytes::{Bytes, BytesMut};

use super::batch::{
    encode_batch, finish_in_place, write_record, Attributes, BatchHeader, Header, TimestampType,
    NO_TIMESTAMP,
};
use super::compression::{Compression, CompressionOptions, SnappyFraming};
use super::control::{ControlRecordKey, ControlRecordType, EndTxnMarker};
use super::error::RecordsError;

/// Appends records and produces one encoded v2 batch with the right
/// offsets, timestamps, counts and CRC.
///
/// As in Kafka's MemoryRecordsBuilder, the first record's timestamp is the
/// batch's baseTimestamp and later ones are deltas from it (a later record
/// may be older: deltas are signed); maxTimestamp is the largest.
///
/// ```
/// use kwire::records::{Compression, RecordBatchBuilder};
/// let mut b = RecordBatchBuilder::new(0).compression(Compression::None);
/// b.append(1_700_000_000_000, Some(b"k"), Some(b"v"), &[]).unwrap();
/// let batch = b.build().unwrap();
/// assert_eq!(batch[16], 2); // magic
/// ```
#[derive(Debug, Clone)]
pub struct RecordBatchBuilder {
    header: BatchHeader,
    compression: CompressionOptions,
    section: BytesMut,
    count: i32,
    last_offset_delta: Option<i32>,
}

impl RecordBatchBuilder {
    /// A builder for a batch starting at `base_offset` (producers send 0;
    /// the broker assigns real offsets).
    pub fn new(base_offset: i64) -> Self {
        RecordBatchBuilder {
            header: BatchHeader {
                base_offset,
                ..BatchHeader::default()
            },
            compression: CompressionOptions::default(),
            // Room for the header, so an uncompressed batch is finished in
            // place (see `build`).
            section: BytesMut::zeroed(super::batch::BATCH_HEADER_LEN),
            count: 0,
            last_offset_delta: None,
        }
    }

    /// A builder whose buffer holds `records_bytes` of encoded records
    /// before it grows: a producer filling batches up to `batch.size` gives
    /// that, and the records are written once instead of being copied at
    /// every doubling of the buffer.
    pub fn with_capacity(base_offset: i64, records_bytes: usize) -> Self {
        let mut b = Self::new(base_offset);
        b.reserve(records_bytes);
        b
    }

    /// Makes room for `additional` more bytes of encoded records.
    pub fn reserve(&mut self, additional: usize) {
        self.section.reserve(additional);
    }

    pub fn compression(mut self, codec: Compression) -> Self {
        self.compression.codec = codec;
        self
    }

    /// gzip 0-9 or zstd 1-22; others ignore it.
    pub fn compression_level(mut self, level: i32) -> Self {
        self.compression.level = Some(level);
        self
    }

    pub fn snappy_framing(mut self, framing: SnappyFraming) -> Self {
        self.compression.snappy_framing = framing;
        self
    }

    /// Producer id, epoch and the first record's sequence (KIP-98
    /// idempotence; -1, -1, -1 for a plain producer).
    pub fn producer(mut self, producer_id: i64, producer_epoch: i16, base_sequence: i32) -> Self {
        self.header.producer_id = producer_id;
        self.header.producer_epoch = producer_epoch;
        self.header.base_sequence = base_sequence;
        self
    }

    pub fn transactional(mut self, on: bool) -> Self {
        self.header.attributes = self.header.attributes.with_transactional(on);
        self
    }

    pub fn timestamp_type(mut self, t: TimestampType) -> Self {
        self.header.attributes = self.header.attributes.with_timestamp_type(t);
        self
    }

    pub fn partition_leader_epoch(mut self, epoch: i32) -> Self {
        self.header.partition_leader_epoch = epoch;
        self
    }

    /// Marks the batch as a control batch (its records must be control
    /// records; see [`RecordBatchBuilder::end_txn_marker`]).
    pub fn control(mut self, on: bool) -> Self {
        self.header.attributes = self.header.attributes.with_control(on);
        self
    }

    /// Records appended so far.
    pub fn len(&self) -> usize {
        self.count as usize
    }

    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Uncompressed size of the batch so far (an upper bound for codecs
    /// that shrink), for filling batches up to a size.
    pub fn estimated_size(&self) -> usize {
        self.section.len()
    }

    /// The offset the next [`append`](Self::append) will get.
    pub fn next_offset(&self) -> i64 {
        let d = self.last_offset_delta.map_or(0, |d| i64::from(d) + 1);
        self.header.base_offset.wrapping_add(d)
    }

    /// Appends a record at the next offset; returns that offset.
    pub fn append(
        &mut self,
        timestamp: i64,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: &[Header],
    ) -> Result<i64, RecordsError> {
        let offset = self.next_offset();
        self.append_with_offset(offset, timestamp, key, value, headers)?;
        Ok(offset)
    }

    /// Appends a record at an explicit offset, which must be above the
    /// last one (gaps are allowed, as after compaction).
    pub fn append_with_offset(
        &mut self,
        offset: i64,
        timestamp: i64,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: &[Header],
    ) -> Result<(), RecordsError> {
        let delta = offset
            .checked_sub(self.header.base_offset)
            .and_then(|d| i32::try_from(d).ok())
            .filter(|d| *d >= 0)
            .ok_or(RecordsError::Encode(
                "offset below the base offset or too far above it",
            ))?;
        if self.last_offset_delta.is_some_and(|last| delta <= last) {
            return Err(RecordsError::Encode("offsets must increase within a batch"));
        }
        if self.count == i32::MAX {
            return Err(RecordsError::Encode("more than i32::MAX records"));
        }
        let base_ts = match self.count {
            0 => timestamp,
            _ => self.header.base_timestamp,
        };
        write_record(
            &mut self.section,
            0,
            timestamp.wrapping_sub(base_ts),
            delta,
            key,
            value,
            headers,
        )?;
        if self.count == 0 {
            self.header.base_timestamp = timestamp;
            self.header.max_timestamp = timestamp;
        } else {
            self.header.max_timestamp = self.header.max_timestamp.max(timestamp);
        }
        self.count += 1;
        self.last_offset_delta = Some(delta);
        Ok(())
    }

    /// Encodes the batch. An empty builder gives an empty batch (count 0,
    /// timestamps -1), which is what compaction leaves behind.
    pub fn build(self) -> Result<Bytes, RecordsError> {
        let mut h = self.header;
        h.last_offset_delta = self.last_offset_delta.unwrap_or(0);
        if self.count == 0 {
            h.base_timestamp = NO_TIMESTAMP;
            h.max_timestamp = NO_TIMESTAMP;
        }
        if self.compression.codec == Compression::None {
            return finish_in_place(&h, self.section, self.count);
        }
        let records = &self.section[super::batch::BATCH_HEADER_LEN..];
        encode_batch(&h, records, self.count, &self.compression)
    }

    /// A control batch holding one commit or abort marker, as the
    /// transaction coordinator has the leader write (KIP-98). Control
    /// batches are transactional and never compressed.
    pub fn end_txn_marker(
        base_offset: i64,
        producer_id: i64,
        producer_epoch: i16,
        commit: bool,
        coordinator_epoch: i32,
        timestamp: i64,
    ) -> Result<Bytes, RecordsError> {
        let kind = if commit {
            ControlRecordType::Commit
        } else {
            ControlRecordType::Abort
        };
        let mut b = RecordBatchBuilder::new(base_offset)
            .producer(producer_id, producer_epoch, -1)
            .transactional(true)
            .control(true);
        b.append(
            timestamp,
            Some(&ControlRecordKey::new(kind).encode()),
            Some(&EndTxnMarker::new(coordinator_epoch).encode()),
            &[],
        )?;
        b.build()
    }

    /// The header the batch will carry (lengths and CRC not yet computed).
    pub fn header(&self) -> BatchHeader {
        self.header
    }

    /// The attributes the batch will carry.
    pub fn attributes(&self) -> Attributes {
        self.header
            .attributes
            .with_compression(self.compression.codec)
    }
}
