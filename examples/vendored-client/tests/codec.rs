//! The vendored modules encode and decode against the kwire runtime alone.
//! Expected bytes are written out from the protocol's layout (KIP-482
//! compact strings and tagged fields), not produced by the code under test.

use kwire::records::RecordBatchBuilder;
use kwire::{ApiKey, Bytes, Message, Request, StrBytes};
use kwire_vendored_client::kafka::dispatch::ResponseKind;
use kwire_vendored_client::kafka::messages::{fetch_request, produce_request};
use kwire_vendored_client::{
    ApiVersionsRequest, ApiVersionsResponse, FetchRequest, MetadataRequest, MetadataResponse,
    ProduceRequest,
};

#[test]
fn api_versions_request_v3_is_two_compact_strings_and_no_tags() {
    let mut req = ApiVersionsRequest::default();
    req.client_software_name = StrBytes::from_static("kwire-example");
    req.client_software_version = StrBytes::from_static("0.1.0");
    let bytes = req.encode_to_bytes(3).expect("v3 has both fields");
    let mut want = vec![14u8];
    want.extend_from_slice(b"kwire-example");
    want.push(6);
    want.extend_from_slice(b"0.1.0");
    want.push(0);
    assert_eq!(&bytes[..], &want[..]);
    assert_eq!(req.encoded_len(3).expect("v3"), want.len());
    // v0 has no body at all; the names are ignorable, so they are dropped.
    assert!(req.encode_to_bytes(0).expect("v0").is_empty());
    assert_eq!(ApiVersionsRequest::API_KEY, ApiKey::API_VERSIONS);
}

#[test]
fn api_versions_response_v0_decodes_from_its_layout() {
    // error_code 0, api_keys: int32 count 1, then (key 18, min 0, max 3).
    let bytes = Bytes::from_static(&[0, 0, 0, 0, 0, 1, 0, 18, 0, 0, 0, 3]);
    let resp = ApiVersionsResponse::decode_bytes(bytes, 0).expect("valid v0");
    assert_eq!(resp.error_code, 0);
    assert_eq!(resp.api_keys.len(), 1);
    assert_eq!(resp.api_keys[0].api_key, ApiKey::API_VERSIONS.0);
    assert_eq!(resp.api_keys[0].max_version, 3);
}

#[test]
fn a_truncated_response_is_an_error_not_a_panic() {
    let bytes = Bytes::from_static(&[0, 0, 0, 0, 0, 1, 0, 18, 0]);
    assert!(ApiVersionsResponse::decode_bytes(bytes, 0).is_err());
    // An array count far beyond the bytes present is refused up front.
    let huge = Bytes::from_static(&[0, 0, 0x7f, 0xff, 0xff, 0xff]);
    assert!(ApiVersionsResponse::decode_bytes(huge, 0).is_err());
}

#[test]
fn dispatch_decodes_a_selected_response_by_api_key() {
    let bytes = Bytes::from_static(&[0, 0, 0, 0, 0, 0]);
    let mut r = kwire::wire::Reader::new(bytes);
    match ResponseKind::decode(ApiKey::API_VERSIONS, 0, &mut r).expect("valid v0") {
        ResponseKind::ApiVersions(v) => assert!(v.api_keys.is_empty()),
        other => panic!("decoded as {other:?}"),
    }
    // An API that was not vendored is an error.
    let mut r = kwire::wire::Reader::new(Bytes::from_static(&[0, 0]));
    assert!(ResponseKind::decode(ApiKey::JOIN_GROUP, 0, &mut r).is_err());
}

#[test]
fn produce_request_carries_a_runtime_built_record_batch() {
    let mut batch = RecordBatchBuilder::new(0);
    batch
        .append(1_700_000_000_000, Some(b"k"), Some(b"v"), &[])
        .expect("one record");
    let records = batch.build().expect("a batch");
    let mut part = produce_request::PartitionProduceData::default();
    part.index = 0;
    part.records = Some(records.clone());
    let mut topic = produce_request::TopicProduceData::default();
    topic.name = StrBytes::from_static("orders");
    topic.partition_data = vec![part];
    let mut req = ProduceRequest::default();
    req.acks = -1;
    req.timeout_ms = 30_000;
    req.topic_data = vec![topic];
    for version in [3, 9, 12] {
        let bytes = req.encode_to_bytes(version).expect("3, 9 and 12 are valid");
        assert_eq!(bytes.len(), req.encoded_len(version).expect("valid"));
        let tail = if version >= 9 { 2 } else { 0 }; // partition and topic tags
        let end = bytes.len() - tail - usize::from(version >= 9);
        assert_eq!(&bytes[end - records.len()..end], &records[..], "v{version}");
    }
    // Versions outside the vendored range are refused.
    assert!(req.encode_to_bytes(2).is_err());
    assert!(req.encode_to_bytes(14).is_err());
}

#[test]
fn metadata_and_fetch_requests_encode_at_their_newest_versions() {
    let mut md = MetadataRequest::default();
    md.topics = None; // all topics
    md.allow_auto_topic_creation = false;
    md.include_topic_authorized_operations = true;
    let v = MetadataRequest::VERSIONS.max;
    assert_eq!(v, 13);
    let bytes = md.encode_to_bytes(v).expect("newest");
    // Flexible: a null compact array is varint 0, then the two booleans v13
    // has (the cluster-operations flag ended at v10), then no tags.
    assert_eq!(&bytes[..], &[0, 0, 1, 0]);
    let mut fetch = FetchRequest::default();
    let mut t = fetch_request::FetchTopic::default();
    t.topic_id = kwire::Uuid::from_u128(7);
    fetch.topics = vec![t];
    let newest = FetchRequest::VERSIONS.max;
    assert!(fetch.encode_to_bytes(newest).is_ok());
    // The response decoder is there (client side) and rejects garbage.
    assert!(MetadataResponse::decode_bytes(Bytes::from_static(&[1]), 12).is_err());
}
