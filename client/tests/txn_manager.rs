//! The transactional producer's state machine, scenario by scenario, against a scripted
//! coordinator: both protocols end to end, the mode lock, epoch handling (KIP-360, KIP-890 part 2)
//! and the error table's consequences.

mod txn;

use std::time::Duration;

use kwire::{ApiKey, ErrorCode, VersionRange};
use kwire_client::txn::{
    CoordinatorApis, Route, SendFailure, TxnCaps, TxnConfig, TxnError, TxnEvent, TxnMode,
    TxnRequest, TxnState,
};
use txn::*;

fn cfg() -> TxnConfig {
    TxnConfig::new("tx-1")
}

fn txn_route() -> Route {
    Route::TransactionCoordinator {
        transactional_id: "tx-1".into(),
    }
}

/// A ready producer (level `level`) in a transaction that added `out-0` (confirmed in classic).
fn in_transaction(level: kwire_client::txn::FinalizedLevel) -> Driver {
    let mut d = Driver::new(cfg(), level, modern_coordinator());
    d.init();
    d.tm.begin().unwrap();
    d.tm.add_partition(tp("out", 0)).unwrap();
    if d.tm.mode() == Some(TxnMode::Classic) {
        let r = d.expect();
        d.answer(&r, ErrorCode::NONE);
    }
    d
}

#[test]
fn classic_transaction_end_to_end() {
    let mut d = Driver::new(cfg(), TV1, modern_coordinator());
    d.tm.initialize().unwrap();
    let r = d.expect();
    assert_eq!(
        (r.api, r.route.clone()),
        (ApiKey::INIT_PRODUCER_ID, txn_route())
    );
    assert_eq!(r.versions.min, 0);
    d.answer(&r, ErrorCode::NONE);
    assert_eq!(d.tm.state(), TxnState::Ready);

    assert_eq!(d.tm.begin().unwrap(), TxnMode::Classic);
    d.tm.add_partition(tp("out", 0)).unwrap();
    assert!(
        !d.tm.is_send_allowed(&tp("out", 0)),
        "classic: not before AddPartitionsToTxn"
    );
    let r = d.expect();
    assert_eq!(r.api, ApiKey::ADD_PARTITIONS_TO_TXN);
    assert_eq!(r.versions, VersionRange::new(0, 3));
    let TxnRequest::AddPartitionsToTxn(body) = &r.body else {
        panic!()
    };
    assert_eq!(body.v3_and_below_producer_id, 1000);
    d.answer(&r, ErrorCode::NONE);
    assert!(d.tm.is_send_allowed(&tp("out", 0)));
    let pc = d.tm.produce_context().unwrap();
    assert_eq!(pc.versions, VersionRange::new(3, 11));

    d.tm.send_offsets(offsets(&[("in", 0, 42)]), group())
        .unwrap();
    let r = d.expect();
    assert_eq!(
        (r.api, r.route.clone()),
        (ApiKey::ADD_OFFSETS_TO_TXN, txn_route())
    );
    d.answer(&r, ErrorCode::NONE);
    let r = d.expect();
    assert_eq!(r.api, ApiKey::TXN_OFFSET_COMMIT);
    assert_eq!(
        r.route,
        Route::GroupCoordinator {
            group_id: "g".into()
        }
    );
    // group metadata needs v3 (KIP-447); classic stops at v4
    assert_eq!(r.versions, VersionRange::new(3, 4));
    d.answer(&r, ErrorCode::NONE);

    d.tm.commit().unwrap();
    let r = d.expect();
    assert_eq!((r.api, r.route.clone()), (ApiKey::END_TXN, txn_route()));
    assert_eq!(r.versions, VersionRange::new(0, 4));
    d.answer(&r, ErrorCode::NONE);
    assert_eq!(d.tm.state(), TxnState::Ready);
    let events = d.drain();
    assert!(events.contains(&TxnEvent::OffsetsSent {
        group_id: "g".into()
    }));
    assert_eq!(events.last(), Some(&TxnEvent::Committed));
    assert_eq!(d.tm.producer().epoch, 0, "classic keeps its epoch");
}

#[test]
fn v2_transaction_end_to_end() {
    let mut d = Driver::new(cfg(), TV2, modern_coordinator());
    d.init();
    assert_eq!(d.tm.begin().unwrap(), TxnMode::Tv2);
    d.tm.add_partition(tp("out", 0)).unwrap();
    assert!(
        d.tm.is_send_allowed(&tp("out", 0)),
        "V2: Produce v12 adds the partition itself"
    );
    assert_eq!(d.tm.produce_context().unwrap().versions.min, 12);
    d.tm.send_offsets(offsets(&[("in", 0, 42)]), group())
        .unwrap();
    let r = d.expect();
    assert_eq!(r.api, ApiKey::TXN_OFFSET_COMMIT, "no AddOffsetsToTxn in V2");
    assert_eq!(r.versions, VersionRange::new(5, 5));
    d.answer(&r, ErrorCode::NONE);
    d.tm.commit().unwrap();
    let r = d.expect();
    assert_eq!(r.api, ApiKey::END_TXN);
    assert!(r.versions.min >= 5);
    d.answer(&r, ErrorCode::NONE);
    assert_eq!(
        d.tm.producer().epoch,
        1,
        "EndTxn v5 hands out the next epoch"
    );
    assert!(d.next().is_none(), "no client-side bump in V2");
    assert_eq!(d.tm.state(), TxnState::Ready);
}

#[test]
fn a_level_raised_mid_transaction_applies_to_the_next_one() {
    let mut d = Driver::new(cfg(), TV1, modern_coordinator());
    d.init();
    assert_eq!(d.tm.begin().unwrap(), TxnMode::Classic);
    d.tm.add_partition(tp("out", 0)).unwrap();
    d.tm.on_finalized_level(TV2);
    let r = d.expect();
    assert_eq!(r.api, ApiKey::ADD_PARTITIONS_TO_TXN, "still classic");
    d.answer(&r, ErrorCode::NONE);
    assert_eq!(d.tm.produce_context().unwrap().versions.max, 11);
    d.tm.commit().unwrap();
    let r = d.expect();
    assert_eq!(
        r.versions.max, 4,
        "EndTxn of a classic transaction stays <= v4"
    );
    d.answer(&r, ErrorCode::NONE);

    // next transaction: V2, after bumping the classic epoch
    assert_eq!(d.tm.begin().unwrap(), TxnMode::Tv2);
    d.tm.add_partition(tp("out", 0)).unwrap();
    assert!(
        !d.tm.is_send_allowed(&tp("out", 0)),
        "not before the upgrade bump"
    );
    let r = d.expect();
    assert_eq!(r.api, ApiKey::INIT_PRODUCER_ID);
    assert!(r.versions.min >= 3);
    let TxnRequest::InitProducerId(body) = &r.body else {
        panic!()
    };
    assert_eq!(
        (body.producer_id, body.producer_epoch),
        (1000, 0),
        "bump carries the current epoch"
    );
    d.answer(&r, ErrorCode::NONE);
    assert_eq!(d.tm.producer().epoch, 1);
    assert!(d.tm.is_send_allowed(&tp("out", 0)));
    d.tm.commit().unwrap();
    let r = d.expect();
    assert!(r.versions.min >= 5);
    d.answer(&r, ErrorCode::NONE);
}

#[test]
fn a_produce_cap_below_12_keeps_every_transaction_classic() {
    let mut c = cfg();
    c.caps = TxnCaps {
        produce: Some(11),
        ..Default::default()
    };
    let mut d = Driver::new(c, TV2, modern_coordinator());
    d.init();
    assert_eq!(d.tm.begin().unwrap(), TxnMode::Classic);
    assert!(d.tm.plan().unwrap().why.contains("user cap on Produce"));
    d.tm.add_partition(tp("out", 0)).unwrap();
    assert_eq!(d.expect().api, ApiKey::ADD_PARTITIONS_TO_TXN);
}

#[test]
fn an_empty_transaction_sends_no_end_txn() {
    let mut d = Driver::new(cfg(), TV1, modern_coordinator());
    d.init();
    d.tm.begin().unwrap();
    d.tm.commit().unwrap();
    assert!(d.next().is_none());
    assert_eq!(d.tm.state(), TxnState::Ready);
    assert_eq!(d.drain().last(), Some(&TxnEvent::Committed));
}

#[test]
fn not_coordinator_re_looks_up_the_transaction_coordinator() {
    let mut d = in_transaction(TV1);
    d.tm.commit().unwrap();
    let r = d.expect();
    assert!(!r.refresh_coordinator);
    let before = d.now;
    d.answer(&r, ErrorCode::NOT_COORDINATOR);
    let r = d.expect();
    assert_eq!(
        (r.api, r.route.clone(), r.refresh_coordinator),
        (ApiKey::END_TXN, txn_route(), true)
    );
    assert_eq!(
        d.now - before,
        Duration::from_millis(100),
        "after the retry backoff"
    );
    d.answer(&r, ErrorCode::NONE);
    assert_eq!(d.tm.state(), TxnState::Ready);
}

#[test]
fn the_first_add_partitions_retries_concurrent_transactions_quickly() {
    let mut d = Driver::new(cfg(), TV1, modern_coordinator());
    d.init();
    d.tm.begin().unwrap();
    d.tm.add_partition(tp("out", 0)).unwrap();
    let r = d.expect();
    let before = d.now;
    d.answer(&r, ErrorCode::CONCURRENT_TRANSACTIONS);
    let r = d.expect();
    assert_eq!(r.api, ApiKey::ADD_PARTITIONS_TO_TXN);
    assert_eq!(d.now - before, Duration::from_millis(20));
}

#[test]
fn fenced_is_fatal_and_sticks() {
    let mut d = Driver::new(cfg(), TV1, modern_coordinator());
    d.init();
    d.tm.begin().unwrap();
    d.tm.add_partition(tp("out", 0)).unwrap();
    let r = d.expect();
    d.answer(&r, ErrorCode::PRODUCER_FENCED);
    assert_eq!(d.tm.state(), TxnState::FatalError);
    assert!(d.tm.last_error().unwrap().is_fatal());
    let e = d.tm.abort().unwrap_err();
    let TxnError::Previous { fatal, source, .. } = &e else {
        panic!("{e}")
    };
    assert!(*fatal, "{e}");
    assert!(e.to_string().contains("close it"), "{e}");
    assert!(matches!(**source, TxnError::Fenced { .. }), "{source}");
    assert!(d.next().is_none());
}

/// A fatal error is terminal: whatever comes back afterwards for a request sent before it (an
/// answer that would be abortable, a lost connection, a coordinator lookup error) changes
/// nothing and sends nothing.
#[test]
fn late_outcomes_never_lift_a_fatal_error() {
    for outcome in 0..3 {
        let mut d = in_transaction(TV1);
        d.tm.add_partition(tp("out", 1)).unwrap();
        let r = d.expect();
        assert_eq!(r.api, ApiKey::ADD_PARTITIONS_TO_TXN);
        d.drain();
        d.tm.on_produce_error(ErrorCode::PRODUCER_FENCED);
        assert_eq!(d.tm.state(), TxnState::FatalError);
        let events = d.drain().len();
        match outcome {
            0 => d.answer(&r, ErrorCode::TRANSACTION_ABORTABLE),
            1 => {
                d.tm.on_send_failed(r.id, SendFailure::Disconnected, d.now)
                    .unwrap()
            }
            _ => {
                d.tm.on_coordinator_error(r.id, ErrorCode::COORDINATOR_NOT_AVAILABLE, d.now)
                    .unwrap()
            }
        }
        assert_eq!(d.tm.state(), TxnState::FatalError, "outcome {outcome}");
        assert!(
            matches!(d.tm.last_error(), Some(TxnError::Fenced { .. })),
            "outcome {outcome}: {:?}",
            d.tm.last_error()
        );
        assert_eq!(events, 1);
        assert!(d.drain().is_empty(), "outcome {outcome}");
        assert!(d.tm.abort().is_err());
        d.advance(Duration::from_secs(5));
        assert!(d.next().is_none(), "outcome {outcome}: nothing is resent");
    }
}

#[test]
fn transaction_abortable_then_abort_recovers() {
    let mut d = Driver::new(cfg(), TV1, modern_coordinator());
    d.init();
    d.tm.begin().unwrap();
    d.tm.add_partition(tp("out", 0)).unwrap();
    let r = d.expect();
    d.answer(&r, ErrorCode::TRANSACTION_ABORTABLE);
    assert_eq!(d.tm.state(), TxnState::AbortableError);
    let e = d.tm.commit().unwrap_err();
    let TxnError::Previous { fatal, source, .. } = &e else {
        panic!("{e}")
    };
    assert!(!*fatal, "{e}");
    assert!(e.to_string().contains("abort the transaction first"), "{e}");
    assert!(matches!(**source, TxnError::Abortable { .. }), "{source}");
    d.tm.abort().unwrap();
    // nothing was added: nothing to end
    assert!(d.next().is_none());
    assert_eq!(d.tm.state(), TxnState::Ready);
    assert_eq!(d.drain().last(), Some(&TxnEvent::Aborted));
}

#[test]
fn unknown_producer_id_bumps_the_epoch_after_the_abort() {
    let mut d = in_transaction(TV1);
    d.tm.on_produce_error(ErrorCode::UNKNOWN_PRODUCER_ID);
    assert_eq!(d.tm.state(), TxnState::AbortableError);
    d.tm.abort().unwrap();
    let r = d.expect();
    let TxnRequest::EndTxn(body) = &r.body else {
        panic!("{r:?}")
    };
    assert!(!body.committed);
    d.answer(&r, ErrorCode::NONE);
    assert_eq!(d.tm.state(), TxnState::Initializing, "KIP-360 bump next");
    let r = d.expect();
    let TxnRequest::InitProducerId(body) = &r.body else {
        panic!("{r:?}")
    };
    assert_eq!((body.producer_id, body.producer_epoch), (1000, 0));
    assert!(r.versions.min >= 3);
    d.answer(&r, ErrorCode::NONE);
    assert_eq!(d.tm.state(), TxnState::Ready);
    assert_eq!(d.tm.producer().epoch, 1);
}

#[test]
fn unknown_producer_id_is_fatal_without_epoch_bumps() {
    let old = CoordinatorApis {
        init_producer_id: Some(VersionRange::new(0, 2)),
        ..Default::default()
    };
    let mut d = Driver::new(cfg(), TV1, old);
    d.init();
    d.tm.begin().unwrap();
    d.tm.add_partition(tp("out", 0)).unwrap();
    let r = d.expect();
    d.answer(&r, ErrorCode::UNKNOWN_PRODUCER_ID);
    assert_eq!(d.tm.state(), TxnState::FatalError);
}

#[test]
fn transaction_abortable_in_reply_to_an_abort_is_fatal() {
    let mut d = in_transaction(TV1);
    d.tm.abort().unwrap();
    let r = d.expect();
    d.answer(&r, ErrorCode::TRANSACTION_ABORTABLE);
    assert_eq!(d.tm.state(), TxnState::FatalError);
}

#[test]
fn a_lost_connection_retries_with_a_fresh_coordinator() {
    let mut d = Driver::new(cfg(), TV1, modern_coordinator());
    d.tm.initialize().unwrap();
    let r = d.expect();
    d.tm.on_send_failed(r.id, SendFailure::Disconnected, d.now)
        .unwrap();
    let again = d.expect();
    assert_eq!(again.api, ApiKey::INIT_PRODUCER_ID);
    assert!(again.refresh_coordinator);
    assert_ne!(again.id, r.id);
    // a late answer to the first attempt is refused
    let late = d.response(&r, ErrorCode::NONE);
    assert!(matches!(
        d.tm.on_response(r.id, late, d.now),
        Err(TxnError::UnknownRequest(_))
    ));
    d.answer(&again, ErrorCode::NONE);
    assert_eq!(d.tm.state(), TxnState::Ready);
}

#[test]
fn end_txn_waits_for_batches_in_flight() {
    let mut d = Driver::new(cfg(), TV2, modern_coordinator());
    d.init();
    d.tm.begin().unwrap();
    d.tm.add_partition(tp("out", 0)).unwrap();
    d.tm.set_batches_in_flight(2);
    d.tm.commit().unwrap();
    assert!(d.next().is_none());
    d.tm.set_batches_in_flight(0);
    assert_eq!(d.expect().api, ApiKey::END_TXN);
}

#[test]
fn commit_waits_for_partitions_being_added() {
    let mut d = Driver::new(cfg(), TV1, modern_coordinator());
    d.init();
    d.tm.begin().unwrap();
    d.tm.add_partition(tp("out", 0)).unwrap();
    d.tm.commit().unwrap();
    let r = d.expect();
    assert_eq!(r.api, ApiKey::ADD_PARTITIONS_TO_TXN, "partitions first");
    d.answer(&r, ErrorCode::NONE);
    assert_eq!(d.expect().api, ApiKey::END_TXN);
}

#[test]
fn txn_offset_commit_retries_only_what_failed() {
    let mut d = Driver::new(cfg(), TV2, modern_coordinator());
    d.init();
    d.tm.begin().unwrap();
    d.tm.send_offsets(offsets(&[("in", 0, 1), ("in", 1, 2)]), group())
        .unwrap();
    let r = d.expect();
    let mut resp = d.response(&r, ErrorCode::NONE);
    if let kwire_client::txn::TxnResponse::TxnOffsetCommit(x) = &mut resp {
        x.topics[0].partitions[1].error_code = ErrorCode::COORDINATOR_LOAD_IN_PROGRESS.0;
    }
    d.tm.on_response(r.id, resp, d.now).unwrap();
    let r = d.expect();
    let TxnRequest::TxnOffsetCommit(body) = &r.body else {
        panic!()
    };
    assert_eq!(body.topics[0].partitions.len(), 1);
    assert_eq!(body.topics[0].partitions[0].partition_index, 1);
    d.answer(&r, ErrorCode::NONE);
    assert!(d.drain().contains(&TxnEvent::OffsetsSent {
        group_id: "g".into()
    }));
}

#[test]
fn stale_group_member_aborts_the_transaction() {
    let mut d = Driver::new(cfg(), TV2, modern_coordinator());
    d.init();
    d.tm.begin().unwrap();
    d.tm.send_offsets(offsets(&[("in", 0, 1)]), group())
        .unwrap();
    let r = d.expect();
    d.answer(&r, ErrorCode::ILLEGAL_GENERATION);
    assert_eq!(d.tm.state(), TxnState::AbortableError);
    d.tm.abort().unwrap();
    let r = d.expect();
    assert_eq!(r.api, ApiKey::END_TXN);
    assert!(
        r.versions.min >= 5,
        "the abort belongs to the V2 transaction"
    );
    d.answer(&r, ErrorCode::NONE);
    assert_eq!(d.tm.state(), TxnState::Ready);
}

#[test]
fn wrong_calls_are_refused_without_changing_state() {
    let mut d = Driver::new(cfg(), TV1, modern_coordinator());
    assert!(matches!(d.tm.begin(), Err(TxnError::InvalidState { .. })));
    assert!(d.tm.add_partition(tp("x", 0)).is_err());
    d.init();
    assert!(d.tm.initialize().is_err());
    assert!(d.tm.commit().is_err());
    assert!(d.tm.produce_context().is_err());
    assert_eq!(d.tm.state(), TxnState::Ready);
}
