//! A scripted transaction coordinator for the transaction state machine's tests: it answers each
//! request the manager hands out with a chosen error code, shaped as the real response.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use kwire::messages::add_partitions_to_txn_response::{
    AddPartitionsToTxnPartitionResult, AddPartitionsToTxnTopicResult,
};
use kwire::messages::txn_offset_commit_response::{
    TxnOffsetCommitResponsePartition, TxnOffsetCommitResponseTopic,
};
use kwire::messages::{
    AddOffsetsToTxnResponse, AddPartitionsToTxnResponse, EndTxnResponse, InitProducerIdResponse,
    TxnOffsetCommitResponse,
};
use kwire::{ErrorCode, VersionRange};
use kwire_client::group::{GroupMetadata, TopicPartition};
use kwire_client::txn::{
    CoordinatorApis, FinalizedLevel, OffsetAndMetadata, OutboundRequest, Poll, TransactionManager,
    TxnConfig, TxnEvent, TxnRequest, TxnResponse,
};

pub const TV1: FinalizedLevel = FinalizedLevel { level: 1, epoch: 1 };
pub const TV2: FinalizedLevel = FinalizedLevel { level: 2, epoch: 2 };

/// A coordinator that supports epoch bumps (InitProducerId up to v5, EndTxn v5).
pub fn modern_coordinator() -> CoordinatorApis {
    CoordinatorApis {
        init_producer_id: Some(VersionRange::new(0, 5)),
        end_txn: Some(VersionRange::new(0, 5)),
        txn_offset_commit: Some(VersionRange::new(0, 5)),
    }
}

pub struct Driver {
    pub tm: TransactionManager,
    pub now: Instant,
    /// The producer id and epoch the coordinator hands out.
    pub pid: i64,
    pub epoch: i16,
    pub events: Vec<TxnEvent>,
}

impl Driver {
    pub fn new(cfg: TxnConfig, level: FinalizedLevel, coordinator: CoordinatorApis) -> Driver {
        let mut tm = TransactionManager::new(cfg);
        tm.on_finalized_level(level);
        tm.on_coordinator_apis(coordinator);
        Driver {
            tm,
            now: Instant::now(),
            pid: 1000,
            epoch: 0,
            events: Vec::new(),
        }
    }

    pub fn drain(&mut self) -> Vec<TxnEvent> {
        while let Some(e) = self.tm.next_event() {
            self.events.push(e);
        }
        std::mem::take(&mut self.events)
    }

    /// The next request, moving time past any backoff.
    pub fn next(&mut self) -> Option<OutboundRequest> {
        for _ in 0..4 {
            match self.tm.poll(self.now) {
                Poll::Send(r) => return Some(*r),
                Poll::WaitUntil(t) => {
                    assert!(t > self.now, "WaitUntil in the past");
                    self.now = t;
                }
                Poll::Idle => return None,
            }
        }
        None
    }

    pub fn expect(&mut self) -> OutboundRequest {
        self.next().expect("a request to send")
    }

    /// Answers `req` with `code` everywhere (per partition where there are partitions).
    pub fn answer(&mut self, req: &OutboundRequest, code: ErrorCode) {
        let resp = self.response(req, code);
        self.tm
            .on_response(req.id, resp, self.now)
            .expect("response accepted");
    }

    pub fn response(&mut self, req: &OutboundRequest, code: ErrorCode) -> TxnResponse {
        match &req.body {
            TxnRequest::InitProducerId(r) => {
                let mut resp = InitProducerIdResponse::default();
                resp.error_code = code.0;
                if code == ErrorCode::NONE {
                    if r.producer_id >= 0 {
                        self.epoch += 1;
                    }
                    resp.producer_id = self.pid;
                    resp.producer_epoch = self.epoch;
                }
                TxnResponse::InitProducerId(resp)
            }
            TxnRequest::AddPartitionsToTxn(r) => {
                let mut resp = AddPartitionsToTxnResponse::default();
                resp.results_by_topic_v3_and_below = r
                    .v3_and_below_topics
                    .iter()
                    .map(|t| {
                        let mut tr = AddPartitionsToTxnTopicResult::default();
                        tr.name = t.name.clone();
                        tr.results_by_partition = t
                            .partitions
                            .iter()
                            .map(|p| {
                                let mut pr = AddPartitionsToTxnPartitionResult::default();
                                pr.partition_index = *p;
                                pr.partition_error_code = code.0;
                                pr
                            })
                            .collect();
                        tr
                    })
                    .collect();
                TxnResponse::AddPartitionsToTxn(resp)
            }
            TxnRequest::AddOffsetsToTxn(_) => {
                let mut resp = AddOffsetsToTxnResponse::default();
                resp.error_code = code.0;
                TxnResponse::AddOffsetsToTxn(resp)
            }
            TxnRequest::TxnOffsetCommit(r) => {
                let mut resp = TxnOffsetCommitResponse::default();
                resp.topics = r
                    .topics
                    .iter()
                    .map(|t| {
                        let mut tr = TxnOffsetCommitResponseTopic::default();
                        tr.name = t.name.clone();
                        tr.partitions = t
                            .partitions
                            .iter()
                            .map(|p| {
                                let mut pr = TxnOffsetCommitResponsePartition::default();
                                pr.partition_index = p.partition_index;
                                pr.error_code = code.0;
                                pr
                            })
                            .collect();
                        tr
                    })
                    .collect();
                TxnResponse::TxnOffsetCommit(resp)
            }
            TxnRequest::EndTxn(_) => {
                let mut resp = EndTxnResponse::default();
                resp.error_code = code.0;
                // EndTxn v5 (KIP-890 part 2) hands out the next epoch.
                if code == ErrorCode::NONE && req.versions.min >= 5 {
                    self.epoch += 1;
                    resp.producer_id = self.pid;
                    resp.producer_epoch = self.epoch;
                }
                TxnResponse::EndTxn(resp)
            }
        }
    }

    /// InitProducerId answered OK.
    pub fn init(&mut self) {
        self.tm.initialize().expect("initialize");
        let r = self.expect();
        self.answer(&r, ErrorCode::NONE);
    }

    pub fn advance(&mut self, d: Duration) {
        self.now += d;
    }
}

pub fn tp(topic: &str, p: i32) -> TopicPartition {
    TopicPartition::new(topic, p)
}

pub fn group() -> GroupMetadata {
    GroupMetadata {
        group_id: "g".into(),
        generation_id: 3,
        member_id: "m-1".into(),
        group_instance_id: None,
    }
}

pub fn offsets(parts: &[(&str, i32, i64)]) -> BTreeMap<TopicPartition, OffsetAndMetadata> {
    parts
        .iter()
        .map(|(t, p, o)| {
            (
                tp(t, *p),
                OffsetAndMetadata {
                    offset: *o,
                    leader_epoch: None,
                    metadata: None,
                },
            )
        })
        .collect()
}
