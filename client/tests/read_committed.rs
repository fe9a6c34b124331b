//! The read_committed filter against a model: random interleavings of transactional producers (each
//! transaction committed or aborted), idempotent and plain producers, written as a partition log
//! the way brokers write it (data batches, then the coordinator's markers), fetched from a random
//! offset with the AbortedTransactions list a broker would send for that fetch (KIP-98: every
//! aborted transaction whose marker is at or after the fetch offset). What comes out must be
//! exactly the records of committed transactions and non-transactional batches, in order.

use std::collections::BTreeMap;

use bytes::{Bytes, BytesMut};
use kwire::records::{decode_batches, DecodeOptions, RecordBatchBuilder};
use kwire_client::consume::read_committed::{AbortedTransaction, ReadCommitted};
use proptest::prelude::*;

#[derive(Debug, Clone)]
enum Step {
    /// Producer `p` (0..4) writes `n` records in its open transaction (opening one if needed).
    Write(u8, u8),
    /// Producer `p` ends its transaction.
    End(u8, bool),
    /// A non-transactional batch (idempotent when `Some(pid)`).
    Plain(Option<u8>, u8),
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        5 => (0u8..4, 1u8..4).prop_map(|(p, n)| Step::Write(p, n)),
        3 => (0u8..4, any::<bool>()).prop_map(|(p, c)| Step::End(p, c)),
        1 => (prop::option::of(0u8..4), 1u8..3).prop_map(|(p, n)| Step::Plain(p, n)),
    ]
}

struct Log {
    bytes: Vec<(i64, Bytes)>,
    next: i64,
    /// offset -> (value, committed?) for data records; None while its transaction is open.
    data: BTreeMap<i64, (String, Option<bool>)>,
    /// Aborted transactions: (producer id, first offset, marker offset).
    aborted: Vec<(i64, i64, i64)>,
}

fn build(steps: &[Step]) -> Log {
    let mut log = Log {
        bytes: Vec::new(),
        next: 0,
        data: BTreeMap::new(),
        aborted: Vec::new(),
    };
    // producer -> (first offset, data offsets) of its open transaction
    let mut open: BTreeMap<i64, (i64, Vec<i64>)> = BTreeMap::new();
    for s in steps {
        match *s {
            Step::Write(p, n) => {
                let pid = 100 + i64::from(p);
                let mut b = RecordBatchBuilder::new(log.next)
                    .producer(pid, 0, 0)
                    .transactional(true);
                let first = log.next;
                let entry = open.entry(pid).or_insert((first, Vec::new()));
                for i in 0..i64::from(n) {
                    let off = first + i;
                    let v = format!("{pid}@{off}");
                    b.append(0, None, Some(v.as_bytes()), &[]).unwrap();
                    log.data.insert(off, (v, None));
                    entry.1.push(off);
                }
                log.bytes.push((first, b.build().unwrap()));
                log.next += i64::from(n);
            }
            Step::End(p, commit) => {
                let pid = 100 + i64::from(p);
                let Some((first, offs)) = open.remove(&pid) else {
                    continue;
                };
                let at = log.next;
                log.bytes.push((
                    at,
                    RecordBatchBuilder::end_txn_marker(at, pid, 0, commit, 0, 0).unwrap(),
                ));
                log.next += 1;
                for o in offs {
                    log.data.get_mut(&o).unwrap().1 = Some(commit);
                }
                if !commit {
                    log.aborted.push((pid, first, at));
                }
            }
            Step::Plain(p, n) => {
                let mut b = RecordBatchBuilder::new(log.next);
                if let Some(p) = p {
                    b = b.producer(200 + i64::from(p), 0, 0);
                }
                let first = log.next;
                for i in 0..i64::from(n) {
                    let v = format!("plain@{}", first + i);
                    b.append(0, None, Some(v.as_bytes()), &[]).unwrap();
                    log.data.insert(first + i, (v, Some(true)));
                }
                log.bytes.push((first, b.build().unwrap()));
                log.next += i64::from(n);
            }
        }
    }
    // The fetch stops at the last stable offset: the first offset of a still open transaction.
    let lso = open.values().map(|(f, _)| *f).min().unwrap_or(log.next);
    log.bytes.retain(|(off, _)| *off < lso);
    log.data.retain(|off, _| *off < lso);
    log
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn only_committed_records_come_out(steps in prop::collection::vec(step(), 1..40), start_pick in any::<u16>()) {
        let log = build(&steps);
        let batch_starts: Vec<i64> = log.bytes.iter().map(|(o, _)| *o).collect();
        // fetch from the start of some batch, as a consumer's position always is
        let start = if batch_starts.is_empty() { 0 } else { batch_starts[start_pick as usize % batch_starts.len()] };
        let mut buf = BytesMut::new();
        for (off, b) in &log.bytes {
            if *off >= start {
                buf.extend_from_slice(b);
            }
        }
        let opts = DecodeOptions::default();
        let batches = decode_batches(buf.freeze(), &opts).unwrap().batches;
        let list = log
            .aborted
            .iter()
            .filter(|(_, _, marker)| *marker >= start)
            .map(|(pid, first, _)| AbortedTransaction { producer_id: *pid, first_offset: *first });
        let mut f = ReadCommitted::new(list);
        let got: Vec<String> = f
            .committed_records(&batches, &opts)
            .unwrap()
            .into_iter()
            .map(|r| String::from_utf8(r.value.unwrap().to_vec()).unwrap())
            .collect();
        let want: Vec<String> = log
            .data
            .range(start..)
            .filter(|(_, (_, state))| *state == Some(true))
            .map(|(_, (v, _))| v.clone())
            .collect();
        prop_assert_eq!(got, want);
    }
}
