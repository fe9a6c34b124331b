//! Byte-exact vectors written from the protocol facts (the Kafka protocol
//! guide and KIP-482/KIP-511), checked in both directions: the bytes decode
//! to the value, and the value encodes to the bytes.

use kwire::messages::api_versions_request::ApiVersionsRequest;
use kwire::messages::api_versions_response::{ApiVersion, ApiVersionsResponse};
use kwire::messages::metadata_request::{MetadataRequest, MetadataRequestTopic};
use kwire::messages::produce_request::{PartitionProduceData, ProduceRequest, TopicProduceData};
use kwire::messages::request_header::RequestHeader;
use kwire::messages::response_header::ResponseHeader;
use kwire::{Bytes, Message, Request, StrBytes, Uuid};

fn hex(s: &str) -> Vec<u8> {
    let s: String = s.split_whitespace().collect::<String>().replace('|', "");
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// Both directions: decode(bytes) == value and encode(value) == bytes.
fn both_ways<M: Message + kwire::Encodable + kwire::Decodable>(
    value: &M,
    version: i16,
    bytes: &[u8],
) {
    let encoded = value.encode_to_bytes(version).expect("encode");
    assert_eq!(
        encoded.as_ref(),
        bytes,
        "{} v{version} encodes differently",
        M::NAME
    );
    assert_eq!(value.encoded_len(version).unwrap(), bytes.len());
    let decoded = M::decode_bytes(Bytes::copy_from_slice(bytes), version).expect("decode");
    assert_eq!(
        &decoded,
        value,
        "{} v{version} decodes differently",
        M::NAME
    );
}

#[test]
fn api_versions_v0_request_is_empty_with_header_v1() {
    let req = ApiVersionsRequest::default();
    both_ways(&req, 0, &[]);
    assert_eq!(ApiVersionsRequest::request_header_version(0), 1);
    let mut h = RequestHeader::default();
    h.request_api_key = 18;
    h.request_api_version = 0;
    h.correlation_id = 1;
    h.client_id = Some(StrBytes::from_static("kwire"));
    // api key, version, correlation id, int16 length + "kwire"
    both_ways(&h, 1, &hex("0012 0000 00000001 0005 6b77697265"));
}

#[test]
fn api_versions_v3_request_is_flexible_with_header_v2() {
    let mut req = ApiVersionsRequest::default();
    req.client_software_name = StrBytes::from_static("kwire");
    req.client_software_version = StrBytes::from_static("0.1.0");
    // compact strings: uvarint(len+1) then bytes; then an empty tag section
    both_ways(&req, 3, &hex("06 6b77697265 | 06 302e312e30 | 00"));
    assert_eq!(ApiVersionsRequest::request_header_version(3), 2);
    let mut h = RequestHeader::default();
    h.request_api_key = 18;
    h.request_api_version = 3;
    h.correlation_id = 7;
    h.client_id = Some(StrBytes::from_static("kwire"));
    // header v2 keeps the client id a classic int16 string, then tags
    both_ways(&h, 2, &hex("0012 0003 00000007 0005 6b77697265 00"));
    // a null client id is int16 -1
    h.client_id = None;
    both_ways(&h, 2, &hex("0012 0003 00000007 ffff 00"));
}

fn key(k: i16, min: i16, max: i16) -> ApiVersion {
    let mut a = ApiVersion::default();
    a.api_key = k;
    a.min_version = min;
    a.max_version = max;
    a
}

#[test]
fn api_versions_v0_response() {
    let mut resp = ApiVersionsResponse::default();
    resp.api_keys = vec![key(0, 0, 9), key(18, 0, 3)];
    both_ways(
        &resp,
        0,
        &hex("0000 | 00000002 | 0000 0000 0009 | 0012 0000 0003"),
    );
}

#[test]
fn api_versions_v3_response_with_throttle_and_tags() {
    let mut resp = ApiVersionsResponse::default();
    resp.api_keys = vec![key(18, 0, 4)];
    resp.throttle_time_ms = 100;
    // error, compact array (1+1), entry + its empty tags, throttle, tags
    both_ways(
        &resp,
        3,
        &hex("0000 | 02 | 0012 0000 0004 00 | 00000064 | 00"),
    );
    // ApiVersions responses use response header v0 whatever the version (KIP-511).
    assert_eq!(ApiVersionsRequest::response_header_version(3), 0);
    let mut rh = ResponseHeader::default();
    rh.correlation_id = 7;
    both_ways(&rh, 0, &hex("00000007"));
}

#[test]
fn kip_511_error_reply_decodes_as_v0() {
    // The reply a 2.4+ broker sends to an ApiVersions version it does not
    // know: error 35 and only key 18 with the broker's own range, in v0.
    let after_length = hex("00000007 | 0023 | 00000001 | 0012 0000 0004");
    let body = Bytes::copy_from_slice(&after_length[4..]);
    let resp = ApiVersionsResponse::decode_bytes(body.clone(), 0).unwrap();
    assert_eq!(resp.error_code, 35);
    assert_eq!(resp.api_keys, vec![key(18, 0, 4)]);
    both_ways(&resp, 0, &body);
    let header =
        ResponseHeader::decode_bytes(Bytes::copy_from_slice(&after_length[..4]), 0).unwrap();
    assert_eq!(header.correlation_id, 7);
}

#[test]
fn flexible_metadata_request_v12() {
    let mut t = MetadataRequestTopic::default();
    t.topic_id = Uuid::ZERO;
    t.name = Some(StrBytes::from_static("t"));
    let mut req = MetadataRequest::default();
    req.topics = Some(vec![t]);
    req.allow_auto_topic_creation = true;
    req.include_topic_authorized_operations = false;
    both_ways(
        &req,
        12,
        &hex("02 | 00000000000000000000000000000000 02 74 00 | 01 | 00 | 00"),
    );
    // null topics ("all topics") is the compact null marker
    req.topics = None;
    both_ways(&req, 12, &hex("00 | 01 | 00 | 00"));
    // v0 cannot say null: the encoder refuses instead of inventing bytes
    let err = req.encode_to_bytes(0).unwrap_err();
    assert!(err.to_string().contains("null"), "{err}");
}

#[test]
fn produce_request_v9_flexible() {
    let records = Bytes::from_static(&[0xde, 0xad, 0xbe, 0xef]);
    let mut p = PartitionProduceData::default();
    p.index = 0;
    p.records = Some(records.clone());
    let mut t = TopicProduceData::default();
    t.name = StrBytes::from_static("t");
    t.partition_data = vec![p];
    let mut req = ProduceRequest::default();
    req.transactional_id = None;
    req.acks = -1;
    req.timeout_ms = 30_000;
    req.topic_data = vec![t];
    let bytes =
        hex("00 | ffff | 00007530 | 02 | 02 74 | 02 | 00000000 | 05 deadbeef | 00 | 00 | 00");
    both_ways(&req, 9, &bytes);
    // records decode as a slice of the input, not a copy
    let input = Bytes::from(bytes);
    let decoded = ProduceRequest::decode_bytes(input.clone(), 9).unwrap();
    let r = decoded.topic_data[0].partition_data[0]
        .records
        .as_ref()
        .unwrap();
    let start = input.as_ptr() as usize;
    let at = r.as_ptr() as usize;
    assert!(
        at > start && at < start + input.len(),
        "records were copied"
    );
}

#[test]
fn produce_request_v3_classic() {
    let mut p = PartitionProduceData::default();
    p.index = 2;
    p.records = None;
    let mut t = TopicProduceData::default();
    t.name = StrBytes::from_static("ab");
    t.partition_data = vec![p];
    let mut req = ProduceRequest::default();
    req.transactional_id = Some(StrBytes::from_static("x"));
    req.acks = 1;
    req.timeout_ms = 1000;
    req.topic_data = vec![t];
    both_ways(
        &req,
        3,
        &hex("0001 78 | 0001 | 000003e8 | 00000001 | 0002 6162 | 00000001 | 00000002 | ffffffff"),
    );
}
