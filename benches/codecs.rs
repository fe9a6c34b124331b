//! Message codecs, kwire next to kafka-protocol in one run, on the same
//! bytes: each message is built in kwire and encoded once; both crates
//! decode those bytes, and the kafka-protocol value for the encode benches
//! is kafka-protocol's decoding of them (checked to re-encode to the same
//! bytes). Encode is size + encode into a buffer reserved to that size, for
//! both. Record payloads are `Bytes` slices of the input in both crates.
//!
//! cargo bench --bench codecs -- --warm-up-time 1 --measurement-time 3
//!
//! Also measured, labelled apart: kwire's segmented encode
//! (`Message::encode_segments`, records by reference, no payload copy;
//! kafka-protocol has no such API) and, printed before the run, the heap
//! allocations of one decode of each message in each crate.

use std::hint::black_box;

use criterion::{criterion_group, Criterion, Throughput};
use kafka_protocol::messages as kp;
use kafka_protocol::protocol::{Decodable as KpDecodable, Encodable as KpEncodable};
use kwire::messages::produce_request;
use kwire::messages::{api_versions_response, fetch_response, metadata_request, metadata_response};
use kwire::messages::{
    consumer_protocol_assignment, consumer_protocol_subscription, describe_configs_response,
    join_group_response, sync_group_request,
};
use stats_alloc::{Region, StatsAlloc, INSTRUMENTED_SYSTEM};

#[global_allocator]
static GLOBAL: &StatsAlloc<std::alloc::System> = &INSTRUMENTED_SYSTEM;
use kwire::{Bytes, BytesMut, Message, StrBytes, Uuid};

/// The generated structs are `#[non_exhaustive]`: start from the default
/// and assign fields.
macro_rules! build {
    ($ty:ident { $($field:ident: $value:expr),* $(,)? }) => {{
        let mut v = $ty::default();
        $(v.$field = $value;)*
        v
    }};
}

/// Deterministic filler for record payloads (never parsed by either side).
fn payload(len: usize, seed: u64) -> Bytes {
    let mut x = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    Bytes::from(
        (0..len)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                x as u8
            })
            .collect::<Vec<u8>>(),
    )
}

fn uuid(i: u64) -> Uuid {
    Uuid::from_u128(u128::from(i).wrapping_mul(0x9e37_79b9_7f4a_7c15_f39c_c060_5ced_c835) | 1)
}

fn metadata_response() -> metadata_response::MetadataResponse {
    use metadata_response::*;
    build!(MetadataResponse {
        brokers: (0..5)
            .map(|id| build!(MetadataResponseBroker {
                node_id: id,
                host: StrBytes::from(format!("broker-{id}.kafka.svc.cluster.local")),
                port: 9092,
                rack: Some(StrBytes::from(format!("rack-{}", id % 3))),
            }))
            .collect(),
        cluster_id: Some(StrBytes::from("kwire-bench-cluster-0001")),
        controller_id: 1,
        topics: (0..100u64)
            .map(|t| build!(MetadataResponseTopic {
                name: Some(StrBytes::from(format!("events.topic-{t:03}"))),
                topic_id: uuid(t),
                partitions: (0..10)
                    .map(|p| {
                        let replicas: Vec<i32> = (0..3).map(|r| (p + r) % 5).collect();
                        build!(MetadataResponsePartition {
                            partition_index: p,
                            leader_id: replicas[0],
                            leader_epoch: 7,
                            isr_nodes: replicas.clone(),
                            replica_nodes: replicas,
                        })
                    })
                    .collect(),
                topic_authorized_operations: -2_147_483_648,
            }))
            .collect(),
    })
}

fn fetch_response(partitions: usize, record_len: usize) -> fetch_response::FetchResponse {
    use fetch_response::*;
    let topics = 10;
    build!(FetchResponse {
        session_id: 42,
        responses: (0..topics)
            .map(|t| build!(FetchableTopicResponse {
                topic_id: uuid(t as u64),
                partitions: (0..partitions / topics)
                    .map(|p| build!(PartitionData {
                        partition_index: p as i32,
                        high_watermark: 1_000_000,
                        last_stable_offset: 1_000_000,
                        log_start_offset: 0,
                        aborted_transactions: Some(Vec::new()),
                        preferred_read_replica: -1,
                        records: Some(payload(record_len, (t * 1000 + p) as u64)),
                    }))
                    .collect(),
            }))
            .collect(),
    })
}

fn produce_request(partitions: usize, record_len: usize) -> produce_request::ProduceRequest {
    use produce_request::*;
    let topics = 10;
    build!(ProduceRequest {
        transactional_id: None,
        acks: -1,
        timeout_ms: 30_000,
        topic_data: (0..topics)
            .map(|t| build!(TopicProduceData {
                name: StrBytes::from(format!("events.topic-{t:03}")),
                partition_data: (0..partitions / topics)
                    .map(|p| build!(PartitionProduceData {
                        index: p as i32,
                        records: Some(payload(record_len, (t * 1000 + p) as u64)),
                    }))
                    .collect(),
            }))
            .collect(),
    })
}

fn api_versions_response() -> api_versions_response::ApiVersionsResponse {
    use api_versions_response::*;
    build!(ApiVersionsResponse {
        api_keys: kwire::api_key::API_TABLE
            .iter()
            .filter_map(|info| {
                let v = info.versions?;
                Some(build!(ApiVersion {
                    api_key: info.key.0,
                    min_version: v.min,
                    max_version: v.max,
                }))
            })
            .collect(),
        supported_features: ["metadata.version", "kraft.version", "transaction.version"]
            .iter()
            .map(|n| build!(SupportedFeatureKey {
                name: StrBytes::from(*n),
                min_version: 0,
                max_version: 20,
            }))
            .collect(),
        finalized_features_epoch: 12,
        finalized_features: ["metadata.version", "kraft.version"]
            .iter()
            .map(|n| build!(FinalizedFeatureKey {
                name: StrBytes::from(*n),
                max_version_level: 20,
                min_version_level: 20,
            }))
            .collect(),
    })
}

fn metadata_request() -> metadata_request::MetadataRequest {
    use metadata_request::*;
    build!(MetadataRequest {
        topics: Some(
            ["orders", "payments", "inventory"]
                .iter()
                .map(|n| build!(MetadataRequestTopic {
                    name: Some(StrBytes::from(*n)),
                }))
                .collect(),
        ),
        allow_auto_topic_creation: false,
    })
}

/// The consumer-protocol subscription of one group member (what a
/// JoinGroup carries in `metadata`).
fn subscription(member: u64) -> Bytes {
    use consumer_protocol_subscription::*;
    build!(ConsumerProtocolSubscription {
        topics: (0..20)
            .map(|t| StrBytes::from(format!("events.topic-{t:03}")))
            .collect(),
        owned_partitions: (0..5)
            .map(|t| build!(TopicPartition {
                topic: StrBytes::from(format!("events.topic-{t:03}")),
                partitions: (0..4).map(|p| (p * 7 + member as i32) % 64).collect(),
            }))
            .collect(),
        generation_id: 41,
        rack_id: Some(StrBytes::from(format!("rack-{}", member % 3))),
    })
    .encode_to_bytes(3)
    .unwrap()
}

fn join_group_response() -> join_group_response::JoinGroupResponse {
    use join_group_response::*;
    build!(JoinGroupResponse {
        generation_id: 42,
        protocol_type: Some(StrBytes::from("consumer")),
        protocol_name: Some(StrBytes::from("cooperative-sticky")),
        leader: StrBytes::from("member-000-0f1e2d3c"),
        member_id: StrBytes::from("member-000-0f1e2d3c"),
        members: (0..100u64)
            .map(|m| build!(JoinGroupResponseMember {
                member_id: StrBytes::from(format!("member-{m:03}-0f1e2d3c")),
                group_instance_id: Some(StrBytes::from(format!("instance-{m:03}"))),
                metadata: subscription(m),
            }))
            .collect(),
    })
}

fn sync_group_request() -> sync_group_request::SyncGroupRequest {
    use consumer_protocol_assignment::{ConsumerProtocolAssignment, TopicPartition};
    use sync_group_request::*;
    build!(SyncGroupRequest {
        group_id: StrBytes::from("orders-processing"),
        generation_id: 42,
        member_id: StrBytes::from("member-000-0f1e2d3c"),
        protocol_type: Some(StrBytes::from("consumer")),
        protocol_name: Some(StrBytes::from("cooperative-sticky")),
        assignments: (0..100u64)
            .map(|m| build!(SyncGroupRequestAssignment {
                member_id: StrBytes::from(format!("member-{m:03}-0f1e2d3c")),
                assignment: build!(ConsumerProtocolAssignment {
                    assigned_partitions: (0..20)
                        .map(|t| build!(TopicPartition {
                            topic: StrBytes::from(format!("events.topic-{t:03}")),
                            partitions: vec![(m as i32) % 64, (m as i32 + 32) % 64],
                        }))
                        .collect(),
                })
                .encode_to_bytes(3)
                .unwrap(),
            }))
            .collect(),
    })
}

fn describe_configs_response() -> describe_configs_response::DescribeConfigsResponse {
    use describe_configs_response::*;
    build!(DescribeConfigsResponse {
        results: (0..10)
            .map(|b| build!(DescribeConfigsResult {
                resource_type: 4,
                resource_name: StrBytes::from(format!("{b}")),
                configs: (0..100)
                    .map(|c| build!(DescribeConfigsResourceResult {
                        name: StrBytes::from(format!("log.segment.setting.{c:03}")),
                        value: Some(StrBytes::from(format!("{}", c * 1024))),
                        read_only: c % 3 == 0,
                        config_source: 5,
                        synonyms: vec![build!(DescribeConfigsSynonym {
                            name: StrBytes::from(format!("log.segment.setting.{c:03}")),
                            value: Some(StrBytes::from("1073741824")),
                            source: 5,
                        })],
                        config_type: 3,
                        documentation: None,
                    }))
                    .collect(),
            }))
            .collect(),
    })
}

/// One message in both crates' representations, and its bytes.
struct Case<KW, KP> {
    name: &'static str,
    version: i16,
    bytes: Bytes,
    kw: KW,
    kp: KP,
}

fn case<KW: Message + kwire::Encodable + kwire::Decodable, KP: KpEncodable + KpDecodable>(
    name: &'static str,
    version: i16,
    kw: KW,
) -> Case<KW, KP> {
    let bytes = kw.encode_to_bytes(version).expect("kwire encodes");
    let kp = KP::decode(&mut bytes.clone(), version).expect("kafka-protocol decodes kwire's bytes");
    let mut again = BytesMut::new();
    kp.encode(&mut again, version)
        .expect("kafka-protocol encodes");
    assert_eq!(
        again, bytes,
        "{name}: kafka-protocol re-encodes other bytes"
    );
    assert_eq!(
        KW::decode_bytes(bytes.clone(), version).expect("kwire decodes"),
        kw,
        "{name}"
    );
    Case {
        name,
        version,
        bytes,
        kw,
        kp,
    }
}

fn kw_decode<KW: Message + kwire::Encodable + kwire::Decodable>(bytes: &Bytes, version: i16) -> KW {
    KW::decode_bytes(bytes.clone(), version).unwrap()
}

fn kp_decode<KP: KpDecodable>(bytes: &Bytes, version: i16) -> KP {
    let mut b = bytes.clone();
    let v = KP::decode(&mut b, version).unwrap();
    assert!(b.is_empty());
    v
}

/// `Message::encode` is encoded_len + reserve + write.
fn kw_encode<KW: Message + kwire::Encodable + kwire::Decodable>(v: &KW, version: i16) -> BytesMut {
    let mut buf = BytesMut::new();
    v.encode(&mut buf, version).unwrap();
    buf
}

/// Records by reference: the result is the pieces to write with vectored I/O.
fn kw_encode_segments<KW: Message + kwire::Encodable>(
    v: &KW,
    version: i16,
) -> kwire::wire::Segments {
    v.encode_segments(version).unwrap()
}

/// Heap allocations (count, bytes) of one call of `f`.
fn allocations<T>(f: impl FnOnce() -> T) -> (usize, usize) {
    let region = Region::new(GLOBAL);
    black_box(f());
    let s = region.change();
    (s.allocations + s.reallocations, s.bytes_allocated)
}

fn kp_encode<KP: KpEncodable>(v: &KP, version: i16) -> BytesMut {
    let size = v.compute_size(version).unwrap();
    let mut buf = BytesMut::with_capacity(size);
    v.encode(&mut buf, version).unwrap();
    buf
}

fn bench_case<KW: Message + kwire::Encodable + kwire::Decodable, KP: KpEncodable + KpDecodable>(
    c: &mut Criterion,
    k: &Case<KW, KP>,
) {
    let v = k.version;
    let (kw_n, kw_b) = allocations(|| kw_decode::<KW>(&k.bytes, v));
    let (kp_n, kp_b) = allocations(|| kp_decode::<KP>(&k.bytes, v));
    eprintln!(
        "allocations per decode: {} ({} bytes): kwire {kw_n} ({kw_b} B), kafka-protocol {kp_n} ({kp_b} B)",
        k.name,
        k.bytes.len()
    );
    let mut g = c.benchmark_group(format!("{}/decode", k.name));
    g.throughput(Throughput::Bytes(k.bytes.len() as u64));
    g.bench_function("kwire", |b| {
        b.iter(|| black_box(kw_decode::<KW>(black_box(&k.bytes), v)))
    });
    g.bench_function("kafka-protocol", |b| {
        b.iter(|| black_box(kp_decode::<KP>(black_box(&k.bytes), v)))
    });
    g.finish();
    let mut g = c.benchmark_group(format!("{}/encode", k.name));
    g.throughput(Throughput::Bytes(k.bytes.len() as u64));
    g.bench_function("kwire", |b| {
        b.iter(|| black_box(kw_encode(black_box(&k.kw), v)))
    });
    g.bench_function("kwire-segments", |b| {
        b.iter(|| black_box(kw_encode_segments(black_box(&k.kw), v)))
    });
    g.bench_function("kafka-protocol", |b| {
        b.iter(|| black_box(kp_encode(black_box(&k.kp), v)))
    });
    g.finish();
}

fn bench(c: &mut Criterion) {
    let metadata =
        case::<_, kp::MetadataResponse>("MetadataResponse-v12-100x10", 12, metadata_response());
    let fetch_large = case::<_, kp::FetchResponse>(
        "FetchResponse-v16-100x64KiB",
        16,
        fetch_response(100, 64 * 1024),
    );
    let fetch_small = case::<_, kp::FetchResponse>(
        "FetchResponse-v16-1000x1KiB",
        16,
        fetch_response(1000, 1024),
    );
    let produce = case::<_, kp::ProduceRequest>(
        "ProduceRequest-v11-100x16KiB",
        11,
        produce_request(100, 16 * 1024),
    );
    let api_versions = case::<_, kp::ApiVersionsResponse>(
        "ApiVersionsResponse-v4-all",
        4,
        api_versions_response(),
    );
    let metadata_req =
        case::<_, kp::MetadataRequest>("MetadataRequest-v12-3topics", 12, metadata_request());
    let join_group = case::<_, kp::JoinGroupResponse>(
        "JoinGroupResponse-v9-100members",
        9,
        join_group_response(),
    );
    let sync_group =
        case::<_, kp::SyncGroupRequest>("SyncGroupRequest-v5-100members", 5, sync_group_request());
    let describe_configs = case::<_, kp::DescribeConfigsResponse>(
        "DescribeConfigsResponse-v4-1000configs",
        4,
        describe_configs_response(),
    );

    bench_case(c, &metadata);
    bench_case(c, &fetch_large);
    bench_case(c, &fetch_small);
    bench_case(c, &produce);
    bench_case(c, &api_versions);
    bench_case(c, &metadata_req);
    bench_case(c, &join_group);
    bench_case(c, &sync_group);
    bench_case(c, &describe_configs);

    // The mix: every message above decoded and encoded once per iteration.
    let mut g = c.benchmark_group("mix/decode+encode");
    g.bench_function("kwire", |b| {
        b.iter(|| {
            black_box(kw_decode::<metadata_response::MetadataResponse>(
                &metadata.bytes,
                12,
            ));
            black_box(kw_decode::<fetch_response::FetchResponse>(
                &fetch_large.bytes,
                16,
            ));
            black_box(kw_decode::<fetch_response::FetchResponse>(
                &fetch_small.bytes,
                16,
            ));
            black_box(kw_decode::<produce_request::ProduceRequest>(
                &produce.bytes,
                11,
            ));
            black_box(kw_decode::<api_versions_response::ApiVersionsResponse>(
                &api_versions.bytes,
                4,
            ));
            black_box(kw_decode::<metadata_request::MetadataRequest>(
                &metadata_req.bytes,
                12,
            ));
            black_box(kw_decode::<join_group_response::JoinGroupResponse>(
                &join_group.bytes,
                9,
            ));
            black_box(kw_decode::<sync_group_request::SyncGroupRequest>(
                &sync_group.bytes,
                5,
            ));
            black_box(kw_decode::<
                describe_configs_response::DescribeConfigsResponse,
            >(&describe_configs.bytes, 4));
            black_box(kw_encode(&metadata.kw, 12));
            black_box(kw_encode(&fetch_large.kw, 16));
            black_box(kw_encode(&fetch_small.kw, 16));
            black_box(kw_encode(&produce.kw, 11));
            black_box(kw_encode(&api_versions.kw, 4));
            black_box(kw_encode(&metadata_req.kw, 12));
            black_box(kw_encode(&join_group.kw, 9));
            black_box(kw_encode(&sync_group.kw, 5));
            black_box(kw_encode(&describe_configs.kw, 4));
        })
    });
    g.bench_function("kafka-protocol", |b| {
        b.iter(|| {
            black_box(kp_decode::<kp::MetadataResponse>(&metadata.bytes, 12));
            black_box(kp_decode::<kp::FetchResponse>(&fetch_large.bytes, 16));
            black_box(kp_decode::<kp::FetchResponse>(&fetch_small.bytes, 16));
            black_box(kp_decode::<kp::ProduceRequest>(&produce.bytes, 11));
            black_box(kp_decode::<kp::ApiVersionsResponse>(&api_versions.bytes, 4));
            black_box(kp_decode::<kp::MetadataRequest>(&metadata_req.bytes, 12));
            black_box(kp_decode::<kp::JoinGroupResponse>(&join_group.bytes, 9));
            black_box(kp_decode::<kp::SyncGroupRequest>(&sync_group.bytes, 5));
            black_box(kp_decode::<kp::DescribeConfigsResponse>(
                &describe_configs.bytes,
                4,
            ));
            black_box(kp_encode(&metadata.kp, 12));
            black_box(kp_encode(&fetch_large.kp, 16));
            black_box(kp_encode(&fetch_small.kp, 16));
            black_box(kp_encode(&produce.kp, 11));
            black_box(kp_encode(&api_versions.kp, 4));
            black_box(kp_encode(&metadata_req.kp, 12));
            black_box(kp_encode(&join_group.kp, 9));
            black_box(kp_encode(&sync_group.kp, 5));
            black_box(kp_encode(&describe_configs.kp, 4));
        })
    });
    // Not the mix: kwire's decodes and its segmented encode (records by
    // reference), for a sender that writes with vectored I/O. kafka-protocol
    // has no such encode; compare with its copying mix above, knowing the
    // payload is not copied here.
    g.bench_function("kwire-segments", |b| {
        b.iter(|| {
            black_box(kw_decode::<metadata_response::MetadataResponse>(
                &metadata.bytes,
                12,
            ));
            black_box(kw_decode::<fetch_response::FetchResponse>(
                &fetch_large.bytes,
                16,
            ));
            black_box(kw_decode::<fetch_response::FetchResponse>(
                &fetch_small.bytes,
                16,
            ));
            black_box(kw_decode::<produce_request::ProduceRequest>(
                &produce.bytes,
                11,
            ));
            black_box(kw_decode::<api_versions_response::ApiVersionsResponse>(
                &api_versions.bytes,
                4,
            ));
            black_box(kw_decode::<metadata_request::MetadataRequest>(
                &metadata_req.bytes,
                12,
            ));
            black_box(kw_decode::<join_group_response::JoinGroupResponse>(
                &join_group.bytes,
                9,
            ));
            black_box(kw_decode::<sync_group_request::SyncGroupRequest>(
                &sync_group.bytes,
                5,
            ));
            black_box(kw_decode::<
                describe_configs_response::DescribeConfigsResponse,
            >(&describe_configs.bytes, 4));
            black_box(kw_encode_segments(&metadata.kw, 12));
            black_box(kw_encode_segments(&fetch_large.kw, 16));
            black_box(kw_encode_segments(&fetch_small.kw, 16));
            black_box(kw_encode_segments(&produce.kw, 11));
            black_box(kw_encode_segments(&api_versions.kw, 4));
            black_box(kw_encode_segments(&metadata_req.kw, 12));
            black_box(kw_encode_segments(&join_group.kw, 9));
            black_box(kw_encode_segments(&sync_group.kw, 5));
            black_box(kw_encode_segments(&describe_configs.kw, 4));
        })
    });
    g.finish();
}

/// Runs one row `iters` times and nothing else, for an instruction count
/// under callgrind (`scripts/bench-instructions.sh`): wall-clock time swings
/// on a shared machine, instruction counts do not. The count of one
/// iteration is the difference between two runs with different `iters`,
/// which cancels the setup (building the case, the checks in `case`).
fn count(spec: &str) {
    let parts: Vec<&str> = spec.split(',').collect();
    let [name, op, side, iters] = parts[..] else {
        panic!(
            "KWIRE_COUNT=<case>,<decode|encode>,<kwire|kafka-protocol>,<iterations>, got {spec}"
        );
    };
    let iters: usize = iters.parse().expect("iterations");
    // `Case` names are static; this process builds one case and exits.
    let name: &'static str = name.to_owned().leak();
    match name {
        "MetadataResponse-v12-100x10" => count_case(
            &case::<_, kp::MetadataResponse>(name, 12, metadata_response()),
            op,
            side,
            iters,
        ),
        "FetchResponse-v16-100x64KiB" => count_case(
            &case::<_, kp::FetchResponse>(name, 16, fetch_response(100, 64 * 1024)),
            op,
            side,
            iters,
        ),
        "FetchResponse-v16-1000x1KiB" => count_case(
            &case::<_, kp::FetchResponse>(name, 16, fetch_response(1000, 1024)),
            op,
            side,
            iters,
        ),
        "ProduceRequest-v11-100x16KiB" => count_case(
            &case::<_, kp::ProduceRequest>(name, 11, produce_request(100, 16 * 1024)),
            op,
            side,
            iters,
        ),
        "ApiVersionsResponse-v4-all" => count_case(
            &case::<_, kp::ApiVersionsResponse>(name, 4, api_versions_response()),
            op,
            side,
            iters,
        ),
        "MetadataRequest-v12-3topics" => count_case(
            &case::<_, kp::MetadataRequest>(name, 12, metadata_request()),
            op,
            side,
            iters,
        ),
        "JoinGroupResponse-v9-100members" => count_case(
            &case::<_, kp::JoinGroupResponse>(name, 9, join_group_response()),
            op,
            side,
            iters,
        ),
        "SyncGroupRequest-v5-100members" => count_case(
            &case::<_, kp::SyncGroupRequest>(name, 5, sync_group_request()),
            op,
            side,
            iters,
        ),
        "DescribeConfigsResponse-v4-1000configs" => count_case(
            &case::<_, kp::DescribeConfigsResponse>(name, 4, describe_configs_response()),
            op,
            side,
            iters,
        ),
        _ => panic!("unknown case {name}"),
    }
}

fn count_case<KW: Message + kwire::Encodable + kwire::Decodable, KP: KpEncodable + KpDecodable>(
    k: &Case<KW, KP>,
    op: &str,
    side: &str,
    iters: usize,
) {
    let v = k.version;
    for _ in 0..iters {
        match (op, side) {
            ("decode", "kwire") => drop(black_box(kw_decode::<KW>(black_box(&k.bytes), v))),
            ("decode", "kafka-protocol") => {
                drop(black_box(kp_decode::<KP>(black_box(&k.bytes), v)))
            }
            ("encode", "kwire") => drop(black_box(kw_encode(black_box(&k.kw), v))),
            ("encode", "kwire-segments") => {
                drop(black_box(kw_encode_segments(black_box(&k.kw), v)))
            }
            ("encode", "kafka-protocol") => drop(black_box(kp_encode(black_box(&k.kp), v))),
            _ => panic!("unknown op/side {op}/{side}"),
        }
    }
}

criterion_group!(benches, bench);

fn main() {
    if let Ok(spec) = std::env::var("KWIRE_COUNT") {
        count(&spec);
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
