//! Property tests of the transaction mode lock (TV1 or TV2, KIP-890): for any sequence of application calls,
//! coordinator answers (errors included), lost connections and changes of the cluster's finalized
//! `transaction.version`,
//!
//! * one transaction never mixes modes: every request it sends and every Produce range it hands out
//!   belongs to the mode chosen when it began (classic: AddPartitionsToTxn <= v3, Produce <= v11,
//!   TxnOffsetCommit <= v4, EndTxn <= v4; V2: no AddPartitionsToTxn or AddOffsetsToTxn, Produce
//!   v12+, TxnOffsetCommit v5, EndTxn v5+);
//! * the mode chosen is the one the level known *at begin* allows, so a level raised mid-transaction
//!   applies from the next transaction;
//! * a user cap Produce <= 11 (or EndTxn <= 4) keeps every transaction classic;
//! * EndTxn, AddPartitionsToTxn, AddOffsetsToTxn and InitProducerId always go to the transaction
//!   coordinator, TxnOffsetCommit to the group coordinator.

mod txn;

use kwire::{ApiKey, ErrorCode};
use kwire_client::txn::{
    decide, CoordinatorApis, FinalizedLevel, Route, SendFailure, TxnCaps, TxnConfig, TxnEvent,
    TxnMode, TxnState,
};
use proptest::prelude::*;
use txn::*;

#[derive(Debug, Clone)]
enum Op {
    Init,
    Begin,
    AddPartition(u8),
    SendOffsets,
    Commit,
    Abort,
    /// A new finalized level, with a newer (or, `false`, a stale) feature epoch.
    Level(i16, bool),
    ProduceError(usize),
    Answer(usize),
    Disconnect,
    Batches(u8),
}

const CODES: [ErrorCode; 10] = [
    ErrorCode::NONE,
    ErrorCode::NOT_COORDINATOR,
    ErrorCode::COORDINATOR_LOAD_IN_PROGRESS,
    ErrorCode::CONCURRENT_TRANSACTIONS,
    ErrorCode::TRANSACTION_ABORTABLE,
    ErrorCode::UNKNOWN_PRODUCER_ID,
    ErrorCode::INVALID_PRODUCER_EPOCH,
    ErrorCode::PRODUCER_FENCED,
    ErrorCode::INVALID_TXN_STATE,
    ErrorCode::ILLEGAL_GENERATION,
];

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        2 => Just(Op::Init),
        4 => Just(Op::Begin),
        4 => (0u8..4).prop_map(Op::AddPartition),
        2 => Just(Op::SendOffsets),
        3 => Just(Op::Commit),
        2 => Just(Op::Abort),
        4 => (0i16..=3, prop::bool::weighted(0.8)).prop_map(|(l, newer)| Op::Level(l, newer)),
        1 => (0..CODES.len()).prop_map(Op::ProduceError),
        // answers: mostly OK
        12 => Just(Op::Answer(0)),
        3 => (0..CODES.len()).prop_map(Op::Answer),
        1 => Just(Op::Disconnect),
        1 => (0u8..2).prop_map(Op::Batches),
    ]
}

fn caps() -> impl Strategy<Value = TxnCaps> {
    prop_oneof![
        3 => Just(TxnCaps::default()),
        1 => Just(TxnCaps { produce: Some(11), ..Default::default() }),
        1 => Just(TxnCaps { end_txn: Some(4), ..Default::default() }),
        1 => Just(TxnCaps { txn_offset_commit: Some(4), ..Default::default() }),
    ]
}

fn coordinator() -> impl Strategy<Value = CoordinatorApis> {
    prop_oneof![
        3 => Just(modern_coordinator()),
        1 => Just(CoordinatorApis {
            init_producer_id: Some(kwire::VersionRange::new(0, 5)),
            end_txn: Some(kwire::VersionRange::new(0, 4)),
            txn_offset_commit: Some(kwire::VersionRange::new(0, 4)),
        }),
        1 => Just(CoordinatorApis::default()),
    ]
}

/// The transaction in progress as the test sees it.
struct Open {
    mode: TxnMode,
}

fn check_request(
    open: Option<&Open>,
    r: &kwire_client::txn::OutboundRequest,
) -> Result<(), TestCaseError> {
    let txn = Route::TransactionCoordinator {
        transactional_id: "tx-1".into(),
    };
    match r.api {
        ApiKey::TXN_OFFSET_COMMIT => prop_assert_eq!(
            &r.route,
            &Route::GroupCoordinator {
                group_id: "g".into()
            }
        ),
        _ => prop_assert_eq!(
            &r.route,
            &txn,
            "{} must go to the transaction coordinator",
            r.api
        ),
    }
    match (open.map(|o| o.mode), r.api) {
        (_, ApiKey::INIT_PRODUCER_ID) => {}
        (None, api) => prop_assert!(false, "{api} outside a transaction"),
        (Some(TxnMode::Tv2), ApiKey::ADD_PARTITIONS_TO_TXN | ApiKey::ADD_OFFSETS_TO_TXN) => {
            prop_assert!(false, "{} in a V2 transaction", r.api)
        }
        (Some(TxnMode::Tv2), ApiKey::END_TXN) => {
            prop_assert!(r.versions.min >= 5, "{:?}", r.versions)
        }
        (Some(TxnMode::Tv2), ApiKey::TXN_OFFSET_COMMIT) => prop_assert!(r.versions.min >= 5),
        (Some(TxnMode::Classic), ApiKey::END_TXN) => prop_assert!(r.versions.max <= 4),
        (Some(TxnMode::Classic), ApiKey::TXN_OFFSET_COMMIT) => prop_assert!(r.versions.max <= 4),
        (Some(TxnMode::Classic), ApiKey::ADD_PARTITIONS_TO_TXN) => {
            prop_assert!(r.versions.max <= 3)
        }
        (Some(TxnMode::Classic), ApiKey::ADD_OFFSETS_TO_TXN) => {}
        (_, api) => prop_assert!(false, "unexpected {api}"),
    }
    Ok(())
}

fn run(
    caps: TxnCaps,
    coord: CoordinatorApis,
    start: i16,
    ops: Vec<Op>,
) -> Result<(), TestCaseError> {
    let mut cfg = TxnConfig::new("tx-1");
    cfg.caps = caps;
    let level0 = FinalizedLevel {
        level: start,
        epoch: 10,
    };
    let mut d = Driver::new(cfg, level0, coord);
    let mut view = level0;
    let mut epoch = 10i64;
    let mut open: Option<Open> = None;
    let mut pending: Option<kwire_client::txn::OutboundRequest> = None;
    let mut begins = 0;
    for op in ops {
        match op {
            Op::Init => {
                let _ = d.tm.initialize();
            }
            Op::Begin => {
                if let Ok(mode) = d.tm.begin() {
                    begins += 1;
                    let want = decide(view, &caps, &coord).map(|p| p.mode);
                    prop_assert_eq!(
                        Ok(mode),
                        want,
                        "mode at begin follows the level known then ({:?})",
                        view
                    );
                    if caps.produce == Some(11) || caps.end_txn == Some(4) {
                        prop_assert_eq!(mode, TxnMode::Classic);
                    }
                    open = Some(Open { mode });
                }
            }
            Op::AddPartition(p) => {
                let _ = d.tm.add_partition(tp("out", p as i32));
            }
            Op::SendOffsets => {
                let _ = d.tm.send_offsets(offsets(&[("in", 0, 5)]), group());
            }
            Op::Commit => {
                let _ = d.tm.commit();
            }
            Op::Abort => {
                let _ = d.tm.abort();
            }
            Op::Level(l, newer) => {
                epoch += if newer { 1 } else { -1 };
                let lv = FinalizedLevel { level: l, epoch };
                view = view.newest(lv);
                d.tm.on_finalized_level(lv);
            }
            Op::ProduceError(i) => {
                if open.is_some() {
                    d.tm.on_produce_error(CODES[i]);
                }
            }
            Op::Answer(i) => {
                if pending.is_none() {
                    pending = d.next();
                    if let Some(r) = &pending {
                        check_request(open.as_ref(), r)?;
                    }
                }
                if let Some(r) = pending.take() {
                    d.answer(&r, CODES[i]);
                }
            }
            Op::Disconnect => {
                if let Some(r) = pending.take() {
                    d.tm.on_send_failed(r.id, SendFailure::Disconnected, d.now)
                        .unwrap();
                }
            }
            Op::Batches(n) => d.tm.set_batches_in_flight(n as usize),
        }
        // Whatever is due now goes out and is checked against the open transaction.
        if pending.is_none() {
            pending = d.next();
            if let Some(r) = &pending {
                check_request(open.as_ref(), r)?;
            }
        }
        for e in d.drain() {
            if matches!(e, TxnEvent::Committed | TxnEvent::Aborted) {
                open = None;
            }
        }
        if d.tm.state() == TxnState::FatalError {
            open = None;
        }
        if let Some(o) = &open {
            prop_assert_eq!(d.tm.mode(), Some(o.mode), "the locked mode never changes");
            if let Ok(pc) = d.tm.produce_context() {
                prop_assert_eq!(pc.mode, o.mode);
                match o.mode {
                    TxnMode::Tv2 => prop_assert!(pc.versions.min >= 12),
                    TxnMode::Classic => prop_assert!(pc.versions.max <= 11 && pc.versions.min >= 3),
                }
            }
        }
    }
    let _ = begins;
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn one_transaction_never_mixes_modes(
        caps in caps(),
        coord in coordinator(),
        start in 0i16..=2,
        ops in prop::collection::vec(op(), 1..80),
    ) {
        run(caps, coord, start, ops)?;
    }
}

/// The scripted worst case: the level flips under a running transaction, back and forth, with
/// coordinator moves in between; every transaction keeps its mode and the next one follows.
#[test]
fn level_flips_mid_transaction() {
    let ops = vec![
        Op::Init,
        Op::Answer(0),
        Op::Begin,
        Op::AddPartition(0),
        Op::Level(2, true),
        Op::Answer(1),
        Op::Answer(0),
        Op::Level(1, true),
        Op::Commit,
        Op::Answer(0),
        Op::Level(2, true),
        Op::Begin,
        Op::Answer(0),
        Op::AddPartition(1),
        Op::SendOffsets,
        Op::Level(0, true),
        Op::Answer(0),
        Op::Commit,
        Op::Answer(1),
        Op::Answer(0),
        Op::Begin,
    ];
    run(TxnCaps::default(), modern_coordinator(), 1, ops).unwrap();
}

/// Found by the property test: a TxnOffsetCommit in flight when a Produce is fenced is answered
/// TRANSACTION_ABORTABLE afterwards. A fatal error is terminal, so that late answer must not turn
/// it into an abortable one, and the abort that follows must send nothing.
#[test]
fn a_late_answer_never_lifts_a_fatal_error() {
    let ops = vec![
        Op::Init,
        Op::Answer(0),
        Op::Begin,
        Op::SendOffsets,
        Op::Answer(0),       // AddOffsetsToTxn; the TxnOffsetCommit goes out
        Op::ProduceError(7), // PRODUCER_FENCED
        Op::Answer(4),       // the TxnOffsetCommit: TRANSACTION_ABORTABLE
        Op::Abort,
        Op::Answer(0),
    ];
    let caps = TxnCaps {
        produce: Some(11),
        ..Default::default()
    };
    run(caps, modern_coordinator(), 0, ops).unwrap();
}
