//! The `read_committed` filter for fetched batches (KIP-98).
//!
//! A broker answers a `read_committed` Fetch only up to the last stable
//! offset, but that range still holds control batches (the commit and abort
//! markers) and the batches of aborted transactions. The partition's
//! `AbortedTransactions` list (Fetch v4+) names each aborted transaction by
//! producer id and first offset; the filter works like Kafka's consumer
//! (`CompletedFetch` in read-committed mode):
//!
//! * before looking at a batch that has a producer id, every aborted
//!   transaction whose first offset is at or below the batch's last offset
//!   marks its producer as aborted;
//! * a control batch whose first record is an ABORT marker ends that
//!   producer's aborted transaction (the producer is unmarked), and like
//!   every control batch it is dropped;
//! * a transactional batch of a marked producer is dropped;
//! * everything else is delivered (legacy v0/v1 messages and
//!   non-transactional batches carry no transaction).
//!
//! Batches must be fed in offset order, as they come in a Fetch response.
//! The caller moves its fetch position past dropped batches
//! (`BatchHeader::next_offset`), so a partition whose data is all aborted
//! still advances.

use std::collections::{BTreeSet, VecDeque};

use kwire::messages::fetch_response;
use kwire::records::{Batch, DecodeOptions, Record, RecordBatch, RecordsError};

/// One entry of a partition's `AbortedTransactions` list.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct AbortedTransaction {
    pub first_offset: i64,
    pub producer_id: i64,
}

/// What the filter decided for one batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Verdict {
    /// Data of a committed transaction, or no transaction at all.
    Deliver,
    /// A control batch (commit or abort marker, or another control type).
    Control,
    /// A batch of an aborted transaction.
    Aborted,
}

/// The filter for one partition's fetched data. See the module docs.
#[derive(Debug, Clone, Default)]
pub struct ReadCommitted {
    /// Not yet reached, by first offset.
    pending: VecDeque<AbortedTransaction>,
    /// Producers inside an aborted transaction at the current position.
    aborted: BTreeSet<i64>,
}

impl ReadCommitted {
    pub fn new(list: impl IntoIterator<Item = AbortedTransaction>) -> Self {
        let mut v: Vec<AbortedTransaction> = list.into_iter().collect();
        v.sort_unstable();
        ReadCommitted {
            pending: v.into(),
            aborted: BTreeSet::new(),
        }
    }

    /// From a Fetch response partition; a null list (below v4, or a
    /// `read_uncommitted` fetch) means no aborted transactions.
    pub fn from_fetch(partition: &fetch_response::PartitionData) -> Self {
        Self::new(
            partition
                .aborted_transactions
                .iter()
                .flatten()
                .map(|a| AbortedTransaction {
                    first_offset: a.first_offset,
                    producer_id: a.producer_id,
                }),
        )
    }

    /// Producers whose aborted transaction the filter is inside.
    pub fn aborted_producers(&self) -> impl Iterator<Item = i64> + '_ {
        self.aborted.iter().copied()
    }

    /// Decides one v2 batch. Decodes the first record only of control
    /// batches (to tell an ABORT marker); data batches stay undecoded.
    pub fn check(
        &mut self,
        batch: &RecordBatch,
        opts: &DecodeOptions,
    ) -> Result<Verdict, RecordsError> {
        let h = &batch.header;
        if h.has_producer_id() {
            let last = h.last_offset();
            while self.pending.front().is_some_and(|a| a.first_offset <= last) {
                if let Some(a) = self.pending.pop_front() {
                    self.aborted.insert(a.producer_id);
                }
            }
            if h.is_control() {
                if starts_with_abort_marker(batch, opts)? {
                    self.aborted.remove(&h.producer_id);
                }
                return Ok(Verdict::Control);
            }
            if h.is_transactional() && self.aborted.contains(&h.producer_id) {
                return Ok(Verdict::Aborted);
            }
        }
        if h.is_control() {
            return Ok(Verdict::Control);
        }
        Ok(Verdict::Deliver)
    }

    /// Decides any batch: legacy messages are always delivered.
    pub fn check_batch(
        &mut self,
        batch: &Batch,
        opts: &DecodeOptions,
    ) -> Result<Verdict, RecordsError> {
        match batch {
            Batch::V2(b) => self.check(b, opts),
            Batch::Legacy(_) => Ok(Verdict::Deliver),
        }
    }

    /// The committed data records of `batches`, in order.
    pub fn committed_records<'a>(
        &mut self,
        batches: impl IntoIterator<Item = &'a Batch>,
        opts: &DecodeOptions,
    ) -> Result<Vec<Record>, RecordsError> {
        let mut out = Vec::new();
        for b in batches {
            if self.check_batch(b, opts)? == Verdict::Deliver {
                out.extend(b.records(opts)?);
            }
        }
        Ok(out)
    }
}

/// Kafka's `containsAbortMarker`: the first record of a control batch is an
/// ABORT marker. An empty control batch is not; an unreadable key is an
/// error, as in Kafka (`ControlRecordType.parse` throws).
fn starts_with_abort_marker(
    batch: &RecordBatch,
    opts: &DecodeOptions,
) -> Result<bool, RecordsError> {
    let Some(first) = batch.records(opts)?.next() else {
        return Ok(false);
    };
    let first = first?;
    let key = first.key.as_deref().ok_or(RecordsError::Malformed {
        offset: 0,
        reason: "control record without a key",
    })?;
    Ok(kwire::records::ControlRecordKey::parse(key)?.kind
        == kwire::records::ControlRecordType::Abort)
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::{Bytes, BytesMut};
    use kwire::records::{decode_batches, RecordBatchBuilder};

    /// A data batch of `n` records at `base`, from `pid` (-1: no producer).
    fn data(base: i64, n: usize, pid: i64, transactional: bool) -> Bytes {
        let mut b = RecordBatchBuilder::new(base);
        if pid >= 0 {
            b = b.producer(pid, 0, 0).transactional(transactional);
        }
        for i in 0..n {
            let v = format!("{pid}:{}", base + i as i64);
            b.append(0, None, Some(v.as_bytes()), &[]).unwrap();
        }
        b.build().unwrap()
    }

    fn marker(base: i64, pid: i64, commit: bool) -> Bytes {
        RecordBatchBuilder::end_txn_marker(base, pid, 0, commit, 0, 0).unwrap()
    }

    fn values(parts: &[Bytes], aborted: &[(i64, i64)]) -> Vec<String> {
        let mut buf = BytesMut::new();
        for p in parts {
            buf.extend_from_slice(p);
        }
        let opts = DecodeOptions::default();
        let batches = decode_batches(buf.freeze(), &opts).unwrap().batches;
        let mut f = ReadCommitted::new(aborted.iter().map(|(pid, first)| AbortedTransaction {
            producer_id: *pid,
            first_offset: *first,
        }));
        f.committed_records(&batches, &opts)
            .unwrap()
            .into_iter()
            .map(|r| String::from_utf8(r.value.unwrap().to_vec()).unwrap())
            .collect()
    }

    #[test]
    fn aborted_data_and_markers_are_dropped() {
        // producer 1 commits 0-1, producer 2 aborts 2-3, producer 1 again at 6 (a new, committed
        // transaction), plain data at 8.
        let parts = [
            data(0, 2, 1, true),
            data(2, 2, 2, true),
            marker(4, 1, true),
            marker(5, 2, false),
            data(6, 1, 1, true),
            marker(7, 1, true),
            data(8, 1, -1, false),
        ];
        assert_eq!(values(&parts, &[(2, 2)]), ["1:0", "1:1", "1:6", "-1:8"]);
        // without the list everything but the markers comes through (read_uncommitted view)
        assert_eq!(
            values(&parts, &[]),
            ["1:0", "1:1", "2:2", "2:3", "1:6", "-1:8"]
        );
    }

    #[test]
    fn a_producer_aborts_twice_and_commits_in_between() {
        let parts = [
            data(0, 1, 7, true),
            marker(1, 7, false),
            data(2, 1, 7, true),
            marker(3, 7, true),
            data(4, 1, 7, true),
            marker(5, 7, false),
        ];
        assert_eq!(values(&parts, &[(7, 0), (7, 4)]), ["7:2"]);
    }

    #[test]
    fn interleaved_producers_are_tracked_separately() {
        let parts = [
            data(0, 1, 1, true),
            data(1, 1, 2, true),
            data(2, 1, 1, true),
            marker(3, 1, false),
            data(4, 1, 2, true),
            marker(5, 2, true),
        ];
        assert_eq!(values(&parts, &[(1, 0)]), ["2:1", "2:4"]);
    }

    #[test]
    fn idempotent_batches_of_an_aborting_producer_are_kept() {
        // a non-transactional batch from the same producer id is not part of the transaction
        let parts = [
            data(0, 1, 3, true),
            data(1, 1, 3, false),
            marker(2, 3, false),
        ];
        assert_eq!(values(&parts, &[(3, 0)]), ["3:1"]);
    }

    #[test]
    fn a_control_batch_with_a_bad_key_is_an_error() {
        let mut b = RecordBatchBuilder::new(0)
            .producer(1, 0, -1)
            .transactional(true)
            .control(true);
        b.append(0, Some(b"\x00"), Some(b""), &[]).unwrap();
        let opts = DecodeOptions::default();
        let batches = decode_batches(b.build().unwrap(), &opts).unwrap().batches;
        let mut f = ReadCommitted::new([]);
        assert!(f.committed_records(&batches, &opts).is_err());
    }

    #[test]
    fn from_a_fetch_response_partition() {
        let mut p = fetch_response::PartitionData::default();
        let mut a = fetch_response::AbortedTransaction::default();
        a.producer_id = 9;
        a.first_offset = 40;
        p.aborted_transactions = Some(vec![a]);
        let f = ReadCommitted::from_fetch(&p);
        assert_eq!(
            f.pending.front(),
            Some(&AbortedTransaction {
                first_offset: 40,
                producer_id: 9
            })
        );
        p.aborted_transactions = None;
        assert!(ReadCommitted::from_fetch(&p).pending.is_empty());
    }
}
