//! Record batch v2 (magic 2, KIP-98): header, records, CRC-32C.
//!
//! ```text
//! baseOffset int64 | batchLength int32 | partitionLeaderEpoch int32 | magic int8
//! crc uint32 (CRC-32C of attributes..end) | attributes int16 | lastOffsetDelta int32
//! baseTimestamp int64 | maxTimestamp int64 | producerId int64 | producerEpoch int16
//! baseSequence int32 | recordsCount int32 | records (compressed as a whole)
//! ```

use bytes::{BufMut, Bytes, BytesMut};

use crate::wire::write::{put_varint, put_varlong, varint_len, varlong_len};
use crate::wire::Reader;

use super::budget::{BudgetUse, RecordsBudget, DEFAULT_RECORDS_BUDGET};
use super::compression::{self, Compression, CompressionOptions};
use super::error::RecordsError;

/// baseOffset + batchLength: the bytes before what batchLength counts.
pub const LOG_OVERHEAD: usize = 12;
/// Size of the v2 batch header, up to the first record.
pub const BATCH_HEADER_LEN: usize = 61;
/// Offset of the magic byte in any batch or legacy message.
pub const MAGIC_OFFSET: usize = 16;
/// Offset of the CRC field in a v2 batch.
pub const CRC_OFFSET: usize = 17;
/// Offset of the attributes: the CRC covers from here to the end.
pub const ATTRIBUTES_OFFSET: usize = 21;
/// The smallest batchLength a v2 batch can have (a header, no records).
pub const MIN_BATCH_LENGTH: i32 = (BATCH_HEADER_LEN - LOG_OVERHEAD) as i32;

/// The smallest record: length, attributes, timestamp and offset deltas,
/// null key, null value and a header count of one byte each.
pub(crate) const MIN_RECORD_LEN: usize = 7;

/// "No producer id" (a non-idempotent producer).
pub const NO_PRODUCER_ID: i64 = -1;
/// "No producer epoch".
pub const NO_PRODUCER_EPOCH: i16 = -1;
/// "No sequence".
pub const NO_SEQUENCE: i32 = -1;
/// "No partition leader epoch" (what producers write).
pub const NO_PARTITION_LEADER_EPOCH: i32 = -1;
/// "No timestamp".
pub const NO_TIMESTAMP: i64 = -1;

/// What a record's timestamp means (attributes bit 3, KIP-32).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TimestampType {
    /// Set by the producer.
    #[default]
    CreateTime,
    /// Set by the broker on append; every record of the batch then has the
    /// batch's maxTimestamp.
    LogAppendTime,
}

/// Batch attributes, kept as the raw int16 so unknown bits survive a
/// decode/encode round trip.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Attributes(pub i16);

impl Attributes {
    pub const COMPRESSION_MASK: i16 = 0x07;
    pub const TIMESTAMP_TYPE: i16 = 0x08;
    /// KIP-98: the batch is part of a transaction.
    pub const TRANSACTIONAL: i16 = 0x10;
    /// KIP-98: the batch holds control records (commit/abort markers).
    pub const CONTROL: i16 = 0x20;
    /// KIP-534: baseTimestamp holds the delete horizon of a compacted batch.
    pub const DELETE_HORIZON: i16 = 0x40;

    /// The codec id (bits 0-2), which may be one Kafka does not define.
    pub fn compression_id(self) -> u8 {
        (self.0 & Self::COMPRESSION_MASK) as u8
    }

    pub fn compression(self) -> Result<Compression, RecordsError> {
        Compression::from_id(self.compression_id())
    }

    pub fn timestamp_type(self) -> TimestampType {
        if self.0 & Self::TIMESTAMP_TYPE != 0 {
            TimestampType::LogAppendTime
        } else {
            TimestampType::CreateTime
        }
    }

    pub fn is_transactional(self) -> bool {
        self.0 & Self::TRANSACTIONAL != 0
    }

    pub fn is_control(self) -> bool {
        self.0 & Self::CONTROL != 0
    }

    pub fn has_delete_horizon(self) -> bool {
        self.0 & Self::DELETE_HORIZON != 0
    }

    fn with_bit(self, bit: i16, on: bool) -> Self {
        Attributes(if on { self.0 | bit } else { self.0 & !bit })
    }

    pub fn with_compression(self, c: Compression) -> Self {
        Attributes((self.0 & !Self::COMPRESSION_MASK) | i16::from(c.id()))
    }

    pub fn with_timestamp_type(self, t: TimestampType) -> Self {
        self.with_bit(Self::TIMESTAMP_TYPE, t == TimestampType::LogAppendTime)
    }

    pub fn with_transactional(self, on: bool) -> Self {
        self.with_bit(Self::TRANSACTIONAL, on)
    }

    pub fn with_control(self, on: bool) -> Self {
        self.with_bit(Self::CONTROL, on)
    }
}

/// Every header field of a v2 batch, as on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct BatchHeader {
    pub base_offset: i64,
    /// Bytes after this field to the end of the batch. Computed on encode.
    pub batch_length: i32,
    pub partition_leader_epoch: i32,
    pub magic: i8,
    /// Computed on encode.
    pub crc: u32,
    pub attributes: Attributes,
    pub last_offset_delta: i32,
    pub base_timestamp: i64,
    pub max_timestamp: i64,
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub base_sequence: i32,
    /// Computed on encode.
    pub records_count: i32,
}

impl Default for BatchHeader {
    fn default() -> Self {
        BatchHeader {
            base_offset: 0,
            batch_length: 0,
            partition_leader_epoch: NO_PARTITION_LEADER_EPOCH,
            magic: 2,
            crc: 0,
            attributes: Attributes(0),
            last_offset_delta: 0,
            base_timestamp: NO_TIMESTAMP,
            max_timestamp: NO_TIMESTAMP,
            producer_id: NO_PRODUCER_ID,
            producer_epoch: NO_PRODUCER_EPOCH,
            base_sequence: NO_SEQUENCE,
            records_count: 0,
        }
    }
}

impl BatchHeader {
    /// The offset of the batch's last record (kept even when compaction
    /// removed that record).
    pub fn last_offset(&self) -> i64 {
        self.base_offset
            .wrapping_add(i64::from(self.last_offset_delta))
    }

    /// Where the next batch of the partition starts.
    pub fn next_offset(&self) -> i64 {
        self.last_offset().wrapping_add(1)
    }

    /// The batch's total size on the wire.
    pub fn size(&self) -> usize {
        LOG_OVERHEAD + self.batch_length.max(0) as usize
    }

    pub fn compression(&self) -> Result<Compression, RecordsError> {
        self.attributes.compression()
    }

    pub fn timestamp_type(&self) -> TimestampType {
        self.attributes.timestamp_type()
    }

    pub fn is_transactional(&self) -> bool {
        self.attributes.is_transactional()
    }

    pub fn is_control(&self) -> bool {
        self.attributes.is_control()
    }

    /// Whether a producer id is set (idempotent or transactional producer).
    pub fn has_producer_id(&self) -> bool {
        self.producer_id >= 0
    }

    /// Reads the 61 header bytes. The reader must be at the batch start.
    pub(crate) fn read(r: &mut Reader) -> Result<Self, RecordsError> {
        Ok(BatchHeader {
            base_offset: r.i64()?,
            batch_length: r.i32()?,
            partition_leader_epoch: r.i32()?,
            magic: r.i8()?,
            crc: r.u32()?,
            attributes: Attributes(r.i16()?),
            last_offset_delta: r.i32()?,
            base_timestamp: r.i64()?,
            max_timestamp: r.i64()?,
            producer_id: r.i64()?,
            producer_epoch: r.i16()?,
            base_sequence: r.i32()?,
            records_count: r.i32()?,
        })
    }

    fn put(&self, buf: &mut BytesMut) {
        buf.put_i64(self.base_offset);
        buf.put_i32(self.batch_length);
        buf.put_i32(self.partition_leader_epoch);
        buf.put_i8(self.magic);
        buf.put_u32(self.crc);
        buf.put_i16(self.attributes.0);
        buf.put_i32(self.last_offset_delta);
        buf.put_i64(self.base_timestamp);
        buf.put_i64(self.max_timestamp);
        buf.put_i64(self.producer_id);
        buf.put_i16(self.producer_epoch);
        buf.put_i32(self.base_sequence);
        buf.put_i32(self.records_count);
    }
}

/// A record header.
///
/// Keys are UTF-8 strings in Kafka's API, but they are kept as bytes here
/// and not checked on decode: Kafka's own reader (`DefaultRecord`, through
/// `Utils.utf8`) decodes them leniently, replacing what is not UTF-8, so a
/// broker stores and serves such keys and a Java consumer reads them. A
/// decoder that rejected them would fail whole batches the Java client
/// reads, and a proxy must forward them byte for byte. [`Header::key_str`]
/// checks, [`Header::key_lossy`] reads them as the Java client does.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Header {
    pub key: Bytes,
    /// `None` (length -1) and empty are distinct.
    pub value: Option<Bytes>,
}

impl Header {
    pub fn new(key: impl Into<Bytes>, value: Option<impl Into<Bytes>>) -> Self {
        Header {
            key: key.into(),
            value: value.map(Into::into),
        }
    }

    /// The key as UTF-8, if it is.
    pub fn key_str(&self) -> Option<&str> {
        std::str::from_utf8(&self.key).ok()
    }

    /// The key as a Java consumer sees it: invalid UTF-8 replaced by
    /// U+FFFD.
    pub fn key_lossy(&self) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(&self.key)
    }
}

/// One decoded record. Keys, values and headers are slices of the input
/// (or of the decompressed section): nothing is copied.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Record {
    /// Record-level attributes: unused by Kafka so far, kept as read.
    pub attributes: i8,
    /// As on the wire, relative to the batch's baseTimestamp.
    pub timestamp_delta: i64,
    /// As on the wire, relative to the batch's baseOffset.
    pub offset_delta: i32,
    /// Absolute offset: baseOffset + offsetDelta.
    pub offset: i64,
    /// Effective timestamp: baseTimestamp + timestampDelta, or the batch's
    /// maxTimestamp under LogAppendTime (as the Java client reports it).
    pub timestamp: i64,
    /// `None` (length -1) and empty are distinct.
    pub key: Option<Bytes>,
    pub value: Option<Bytes>,
    pub headers: Vec<Header>,
}

impl Record {
    /// Reads one record (varint length first) from `r`, charging its
    /// header vector to `budget`.
    pub(crate) fn read(
        r: &mut Reader,
        ctx: &RecordContext,
        budget: &RecordsBudget,
    ) -> Result<Record, RecordsError> {
        let start = r.offset();
        let len = r.varint()?;
        if len < 0 {
            return Err(RecordsError::InvalidLength {
                offset: start,
                length: i64::from(len),
                what: "negative record length",
            });
        }
        let mut rr = r.sub(len as usize)?;
        let attributes = rr.i8()?;
        let timestamp_delta = rr.varlong()?;
        let offset_delta = rr.varint()?;
        let key = read_varint_bytes(&mut rr, "negative key length")?;
        let value = read_varint_bytes(&mut rr, "negative value length")?;
        let count_at = rr.offset();
        let count = rr.varint()?;
        if count < 0 {
            return Err(RecordsError::InvalidLength {
                offset: count_at,
                length: i64::from(count),
                what: "negative header count",
            });
        }
        // Each header takes at least two bytes (two one-byte varints), so a
        // count the record cannot hold fails before the Vec is sized.
        if count as usize > rr.remaining() / 2 {
            return Err(RecordsError::LengthExceedsInput {
                offset: count_at,
                length: i64::from(count),
                remaining: rr.remaining(),
            });
        }
        // A header is 2 bytes on the wire and a 64-byte `Header` here: the
        // budget, not the input length, is what bounds the vector.
        budget.charge_slots::<Header>(count as usize, BudgetUse::Headers, count_at)?;
        let mut headers = Vec::with_capacity(count as usize);
        for _ in 0..count {
            let key_at = rr.offset();
            let key = read_varint_bytes(&mut rr, "negative header key length")?.ok_or(
                RecordsError::Malformed {
                    offset: key_at,
                    reason: "null header key",
                },
            )?;
            let value = read_varint_bytes(&mut rr, "negative header value length")?;
            headers.push(Header { key, value });
        }
        if !rr.is_empty() {
            return Err(RecordsError::Malformed {
                offset: rr.offset(),
                reason: "record length covers bytes past its last header",
            });
        }
        let timestamp = match ctx.log_append_time {
            Some(t) => t,
            None => ctx.base_timestamp.wrapping_add(timestamp_delta),
        };
        Ok(Record {
            attributes,
            timestamp_delta,
            offset_delta,
            offset: ctx.base_offset.wrapping_add(i64::from(offset_delta)),
            timestamp,
            key,
            value,
            headers,
        })
    }

    /// Size of the record body (everything after its length varint).
    pub fn body_len(&self) -> usize {
        body_len(
            self.timestamp_delta,
            self.offset_delta,
            self.key.as_deref(),
            self.value.as_deref(),
            &self.headers,
        )
    }

    /// Appends the record (length varint first) to `buf`.
    pub fn write(&self, buf: &mut BytesMut) -> Result<(), RecordsError> {
        write_record(
            buf,
            self.attributes,
            self.timestamp_delta,
            self.offset_delta,
            self.key.as_deref(),
            self.value.as_deref(),
            &self.headers,
        )
    }
}

fn read_varint_bytes(r: &mut Reader, what: &'static str) -> Result<Option<Bytes>, RecordsError> {
    let at = r.offset();
    let n = r.varint()?;
    match n {
        -1 => Ok(None),
        n if n < 0 => Err(RecordsError::InvalidLength {
            offset: at,
            length: i64::from(n),
            what,
        }),
        n => Ok(Some(r.take(n as usize)?)),
    }
}

fn opt_len(b: Option<&[u8]>) -> usize {
    match b {
        None => varint_len(-1),
        Some(b) => varint_len(b.len() as i32) + b.len(),
    }
}

pub(crate) fn body_len(
    timestamp_delta: i64,
    offset_delta: i32,
    key: Option<&[u8]>,
    value: Option<&[u8]>,
    headers: &[Header],
) -> usize {
    let mut n = 1 + varlong_len(timestamp_delta) + varint_len(offset_delta);
    n += opt_len(key) + opt_len(value);
    n += varint_len(headers.len() as i32);
    for h in headers {
        n += opt_len(Some(&h.key)) + opt_len(h.value.as_deref());
    }
    n
}

fn fits_varint(len: usize) -> Result<i32, RecordsError> {
    i32::try_from(len).map_err(|_| RecordsError::Encode("a key, value or record over 2 GiB"))
}

fn put_opt(buf: &mut BytesMut, b: Option<&[u8]>) {
    match b {
        None => put_varint(buf, -1),
        Some(b) => {
            put_varint(buf, b.len() as i32);
            buf.put_slice(b);
        }
    }
}

pub(crate) fn write_record(
    buf: &mut BytesMut,
    attributes: i8,
    timestamp_delta: i64,
    offset_delta: i32,
    key: Option<&[u8]>,
    value: Option<&[u8]>,
    headers: &[Header],
) -> Result<(), RecordsError> {
    let len = fits_varint(body_len(timestamp_delta, offset_delta, key, value, headers))?;
    fits_varint(headers.len())?;
    buf.reserve(len as usize + 5);
    put_varint(buf, len);
    buf.put_i8(attributes);
    put_varlong(buf, timestamp_delta);
    put_varint(buf, offset_delta);
    put_opt(buf, key);
    put_opt(buf, value);
    put_varint(buf, headers.len() as i32);
    for h in headers {
        put_opt(buf, Some(&h.key));
        put_opt(buf, h.value.as_deref());
    }
    Ok(())
}

/// What a record needs from its batch to compute absolute values.
#[derive(Debug, Clone, Copy)]
pub(crate) struct RecordContext {
    pub base_offset: i64,
    pub base_timestamp: i64,
    pub log_append_time: Option<i64>,
}

impl RecordContext {
    fn of(h: &BatchHeader) -> Self {
        RecordContext {
            base_offset: h.base_offset,
            base_timestamp: h.base_timestamp,
            log_append_time: (h.timestamp_type() == TimestampType::LogAppendTime)
                .then_some(h.max_timestamp),
        }
    }
}

/// Knobs for decoding records.
///
/// Memory: every records field is decoded under a [`RecordsBudget`] that
/// counts decompressed bytes and decoded structures across all its batches.
/// By default each field gets its own budget of `max_records_memory` bytes;
/// set `budget` to share one across fields (all partitions of a Fetch
/// response, say). The budget is taken when a field's batches are split
/// ([`Batches`](super::Batches), [`decode_batches`](super::decode_batches),
/// [`RecordBatch::read`]); each batch keeps it for its records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeOptions {
    /// Check each batch's CRC (default true). A broker re-validating
    /// anyway, or a tool inspecting damage, may turn it off.
    pub verify_crc: bool,
    /// The budget, in bytes, each records field gets when `budget` is not
    /// set (default [`DEFAULT_RECORDS_BUDGET`], 64 MiB).
    pub max_records_memory: usize,
    /// One budget for every field decoded with these options (and their
    /// clones), instead of one per field.
    pub budget: Option<RecordsBudget>,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        DecodeOptions {
            verify_crc: true,
            max_records_memory: DEFAULT_RECORDS_BUDGET,
            budget: None,
        }
    }
}

impl DecodeOptions {
    /// Decode every field with these options under `budget`.
    pub fn with_budget(mut self, budget: RecordsBudget) -> Self {
        self.budget = Some(budget);
        self
    }

    /// Give each field a budget of its own of `bytes`.
    pub fn with_max_records_memory(mut self, bytes: usize) -> Self {
        self.max_records_memory = bytes;
        self
    }

    /// The budget a records field decoded with these options is charged
    /// to: the shared one, or a fresh one of `max_records_memory`.
    pub fn field_budget(&self) -> RecordsBudget {
        self.budget
            .clone()
            .unwrap_or_else(|| RecordsBudget::new(self.max_records_memory))
    }
}

/// What `Bytes` allocates to share a decompressed buffer (its reference
/// count block), charged with each decompressed section.
pub(crate) const SHARED_BUFFER_OVERHEAD: usize = 64;

/// One v2 batch: its header, and its records section not yet decoded (a
/// slice of the input, compressed if the attributes say so). It keeps the
/// budget of the records field it was read from, which decoding its records
/// is charged to.
#[derive(Debug, Clone)]
pub struct RecordBatch {
    pub header: BatchHeader,
    /// The records section as stored.
    pub records_data: Bytes,
    /// The whole batch as it was on the wire, for forwarding it untouched.
    pub raw: Bytes,
    /// Byte offset of the batch in the buffer it was decoded from.
    pub input_offset: usize,
    budget: RecordsBudget,
}

/// Batches are equal when their bytes and positions are; the budget they
/// are charged to is not part of their value.
impl PartialEq for RecordBatch {
    fn eq(&self, other: &Self) -> bool {
        self.header == other.header
            && self.records_data == other.records_data
            && self.raw == other.raw
            && self.input_offset == other.input_offset
    }
}

impl Eq for RecordBatch {}

impl RecordBatch {
    /// Decodes exactly one batch filling `buf`.
    pub fn decode(buf: Bytes) -> Result<RecordBatch, RecordsError> {
        let mut r = Reader::new(buf);
        let b = Self::read(&mut r, &DecodeOptions::default())?;
        if !r.is_empty() {
            return Err(RecordsError::Malformed {
                offset: r.offset(),
                reason: "bytes after the batch",
            });
        }
        Ok(b)
    }

    /// Reads one batch at the reader's position: framing, header and CRC.
    /// The records are decoded lazily by [`RecordBatch::records`], under
    /// the options' budget (a fresh one unless `opts.budget` is set: a
    /// batch read alone is a field of its own).
    pub fn read(r: &mut Reader, opts: &DecodeOptions) -> Result<RecordBatch, RecordsError> {
        Self::read_in(r, opts.verify_crc, opts.field_budget())
    }

    /// [`RecordBatch::read`] for a batch of a field whose budget is known.
    pub(crate) fn read_in(
        r: &mut Reader,
        verify_crc: bool,
        budget: RecordsBudget,
    ) -> Result<RecordBatch, RecordsError> {
        let start = r.offset();
        let whole = r.peek_rest().clone();
        if whole.len() < BATCH_HEADER_LEN {
            return Err(RecordsError::Truncated {
                offset: start,
                needed: BATCH_HEADER_LEN,
                remaining: whole.len(),
            });
        }
        let magic = whole[MAGIC_OFFSET] as i8;
        if magic != 2 {
            return Err(RecordsError::UnsupportedMagic {
                offset: start + MAGIC_OFFSET,
                magic,
            });
        }
        let length = i32::from_be_bytes([whole[8], whole[9], whole[10], whole[11]]);
        if length < MIN_BATCH_LENGTH {
            return Err(RecordsError::InvalidLength {
                offset: start + 8,
                length: i64::from(length),
                what: "batch length below the v2 header size",
            });
        }
        let size = LOG_OVERHEAD + length as usize;
        let mut br = r.sub(size).map_err(|_| RecordsError::LengthExceedsInput {
            offset: start + 8,
            length: i64::from(length),
            remaining: whole.len() - LOG_OVERHEAD,
        })?;
        let raw = br.peek_rest().clone();
        let header = BatchHeader::read(&mut br)?;
        if verify_crc {
            let found = crc32c::crc32c(&raw[ATTRIBUTES_OFFSET..]);
            if found != header.crc {
                return Err(RecordsError::CrcMismatch {
                    offset: start,
                    expected: header.crc,
                    found,
                });
            }
        }
        if header.records_count < 0 {
            return Err(RecordsError::RecordCount {
                offset: start,
                declared: header.records_count,
                found: "a negative count",
            });
        }
        let records_data = br.take(br.remaining())?;
        Ok(RecordBatch {
            header,
            records_data,
            raw,
            input_offset: start,
            budget,
        })
    }

    /// The budget this batch's records are charged to: `opts`' shared one
    /// if it has one, else that of the field the batch was read from.
    pub fn budget<'a>(&'a self, opts: &'a DecodeOptions) -> &'a RecordsBudget {
        opts.budget.as_ref().unwrap_or(&self.budget)
    }

    /// Recomputes the CRC and compares it with the stored one.
    pub fn verify_crc(&self) -> Result<(), RecordsError> {
        let found = crc32c::crc32c(&self.raw[ATTRIBUTES_OFFSET..]);
        if found != self.header.crc {
            return Err(RecordsError::CrcMismatch {
                offset: self.input_offset,
                expected: self.header.crc,
                found,
            });
        }
        Ok(())
    }

    pub fn compression(&self) -> Result<Compression, RecordsError> {
        self.header.compression()
    }

    /// The uncompressed records section: the stored slice itself when the
    /// batch is not compressed (no copy), else a fresh decompressed buffer
    /// (charged to the budget).
    pub fn records_section(&self, opts: &DecodeOptions) -> Result<Bytes, RecordsError> {
        self.section(opts).map(|(b, _)| b)
    }

    /// The section and the offset error messages should count from.
    fn section(&self, opts: &DecodeOptions) -> Result<(Bytes, usize), RecordsError> {
        match self.compression()? {
            Compression::None => Ok((
                self.records_data.clone(),
                self.input_offset + BATCH_HEADER_LEN,
            )),
            codec => {
                let budget = self.budget(opts);
                budget.charge(
                    SHARED_BUFFER_OVERHEAD,
                    BudgetUse::Decompressed(codec),
                    self.input_offset,
                )?;
                let out = compression::decompress_charged(
                    codec,
                    2,
                    &self.records_data,
                    budget,
                    self.input_offset,
                )?;
                Ok((Bytes::from(out), 0))
            }
        }
    }

    /// Walks the records without collecting them. Decompresses first if
    /// the batch is compressed. The decompressed section and each record's
    /// headers are charged to [`RecordBatch::budget`].
    pub fn records(&self, opts: &DecodeOptions) -> Result<RecordIter, RecordsError> {
        let (section, base) = self.section(opts)?;
        Ok(RecordIter {
            budget: self.budget(opts).clone(),
            r: Reader::with_base(section, base),
            ctx: RecordContext::of(&self.header),
            left: self.header.records_count,
            declared: self.header.records_count,
            batch_offset: self.input_offset,
            done: false,
        })
    }

    /// Decodes every record (the vector is charged to the budget too).
    pub fn decode_records(&self, opts: &DecodeOptions) -> Result<Vec<Record>, RecordsError> {
        let it = self.records(opts)?;
        // Seven bytes is the smallest record, so the declared count can size
        // the Vec only as far as the section could really hold.
        let cap = (self.header.records_count as usize).min(it.r.remaining() / MIN_RECORD_LEN);
        it.budget
            .charge_slots::<Record>(cap, BudgetUse::CollectedRecords, self.input_offset)?;
        let mut out = Vec::with_capacity(cap);
        for rec in it {
            out.push(rec?);
        }
        Ok(out)
    }

    /// Encodes a batch from a header and records, using each record's own
    /// deltas and attributes as they are (what a proxy re-encoding a batch
    /// wants). batchLength, CRC and recordsCount are computed; the codec
    /// comes from the header's attributes.
    pub fn encode(
        header: &BatchHeader,
        records: &[Record],
        opts: &CompressionOptions,
    ) -> Result<Bytes, RecordsError> {
        let mut section = BytesMut::new();
        for r in records {
            r.write(&mut section)?;
        }
        let count = i32::try_from(records.len())
            .map_err(|_| RecordsError::Encode("more than i32::MAX records"))?;
        let mut copts = *opts;
        copts.codec = header.compression()?;
        encode_batch(header, &section, count, &copts)
    }
}

/// Finishes a batch whose buffer starts with `BATCH_HEADER_LEN` reserved
/// bytes followed by the uncompressed records: written in place, so an
/// uncompressed batch costs no second copy of its records.
pub(crate) fn finish_in_place(
    header: &BatchHeader,
    mut buf: BytesMut,
    count: i32,
) -> Result<Bytes, RecordsError> {
    let mut h = *header;
    h.magic = 2;
    h.records_count = count;
    h.attributes = h.attributes.with_compression(Compression::None);
    h.batch_length = i32::try_from(buf.len() - LOG_OVERHEAD)
        .map_err(|_| RecordsError::Encode("batch over 2 GiB"))?;
    let mut head = BytesMut::with_capacity(BATCH_HEADER_LEN);
    h.put(&mut head);
    buf[..BATCH_HEADER_LEN].copy_from_slice(&head);
    let crc = crc32c::crc32c(&buf[ATTRIBUTES_OFFSET..]);
    buf[CRC_OFFSET..ATTRIBUTES_OFFSET].copy_from_slice(&crc.to_be_bytes());
    Ok(buf.freeze())
}

/// Writes a batch around an uncompressed records section.
pub(crate) fn encode_batch(
    header: &BatchHeader,
    section: &[u8],
    count: i32,
    opts: &CompressionOptions,
) -> Result<Bytes, RecordsError> {
    let mut h = *header;
    h.magic = 2;
    h.records_count = count;
    h.attributes = h.attributes.with_compression(opts.codec);
    let mut out = Vec::with_capacity(BATCH_HEADER_LEN + section.len() / 2);
    out.resize(BATCH_HEADER_LEN, 0);
    compression::compress(opts, section, &mut out)?;
    let len = i32::try_from(out.len() - LOG_OVERHEAD)
        .map_err(|_| RecordsError::Encode("batch over 2 GiB"))?;
    h.batch_length = len;
    let mut head = BytesMut::with_capacity(BATCH_HEADER_LEN);
    h.put(&mut head);
    out[..BATCH_HEADER_LEN].copy_from_slice(&head);
    let crc = crc32c::crc32c(&out[ATTRIBUTES_OFFSET..]);
    out[CRC_OFFSET..ATTRIBUTES_OFFSET].copy_from_slice(&crc.to_be_bytes());
    Ok(Bytes::from(out))
}

/// An iterator over the records of one batch. It checks the declared
/// count against the records section: too few records, or bytes left after
/// the last one, is an error (as Kafka's own iterator reports it).
#[derive(Debug, Clone)]
pub struct RecordIter {
    budget: RecordsBudget,
    r: Reader,
    ctx: RecordContext,
    left: i32,
    declared: i32,
    batch_offset: usize,
    done: bool,
}

impl RecordIter {
    /// Records the header says are still to come.
    pub fn declared_remaining(&self) -> i32 {
        self.left
    }
}

impl Iterator for RecordIter {
    type Item = Result<Record, RecordsError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        if self.left == 0 {
            self.done = true;
            if self.r.is_empty() {
                return None;
            }
            return Some(Err(RecordsError::RecordCount {
                offset: self.batch_offset,
                declared: self.declared,
                found: "bytes remain after the declared records",
            }));
        }
        if self.r.is_empty() {
            self.done = true;
            return Some(Err(RecordsError::RecordCount {
                offset: self.batch_offset,
                declared: self.declared,
                found: "the records section ends before the declared records",
            }));
        }
        self.left -= 1;
        let rec = Record::read(&mut self.r, &self.ctx, &self.budget);
        if rec.is_err() {
            self.done = true;
        }
        Some(rec)
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        if self.done {
            (0, Some(0))
        } else {
            (0, Some(self.left.max(0) as usize + 1))
        }
    }
}
