//! Bad input gets a typed error that names the message, version, field
//! path and byte offset; never a panic, never an allocation the input
//! cannot justify.

use kwire::dispatch::{decode_by_name, round_trip, RequestKind, MESSAGES};
use kwire::messages::api_versions_response::ApiVersionsResponse;
use kwire::messages::fetch_request::FetchRequest;
use kwire::messages::metadata_request::MetadataRequest;
use kwire::messages::produce_request::ProduceRequest;
use kwire::testing::Gen;
use kwire::wire::Reader;
use kwire::{ApiKey, Bytes, DecodeErrorKind, EncodeErrorKind, Message, StrBytes};
use proptest::prelude::*;

#[test]
fn huge_array_count_on_ten_bytes_fails_fast_with_path_and_offset() {
    // ApiVersionsResponse v0: error code, then an int32 array count of 0x7fffffff.
    let input = Bytes::from_static(&[0, 0, 0x7f, 0xff, 0xff, 0xff, 0, 18, 0, 0]);
    let err = ApiVersionsResponse::decode_bytes(input, 0).unwrap_err();
    assert_eq!(
        err.kind(),
        &DecodeErrorKind::LengthExceedsInput {
            length: 0x7fff_ffff,
            remaining: 4
        }
    );
    assert_eq!(err.offset(), 2);
    let text = err.to_string();
    assert!(text.contains("ApiVersionsResponse v0"), "{text}");
    assert!(text.contains(".ApiKeys"), "{text}");
    assert!(text.contains("byte 2"), "{text}");
}

#[test]
fn nested_errors_name_the_whole_path() {
    // Produce v3 with one topic whose partition's records claim 1000 bytes.
    let input = Bytes::from_static(&[
        0xff, 0xff, // transactional id null
        0, 1, // acks
        0, 0, 0, 1, // timeout
        0, 0, 0, 1, // one topic
        0, 1, b't', // name
        0, 0, 0, 1, // one partition
        0, 0, 0, 0, // index
        0, 0, 0x03, 0xe8, // records: 1000 bytes
        1, 2, 3,
    ]);
    let err = ProduceRequest::decode_bytes(input, 3).unwrap_err();
    assert_eq!(err.offset(), 27);
    assert_eq!(
        err.path_string(),
        "ProduceRequest v3.TopicData[0].PartitionData[0].Records"
    );
}

#[test]
fn truncated_input_and_bad_utf8_are_typed() {
    let mut r = Reader::new(Bytes::from_static(&[0, 3, b'a', 0xff, 0xfe]));
    let err = MetadataRequest::decode(
        &mut Reader::new(Bytes::from_static(&[0, 0, 0, 1, 0, 3, b'a'])),
        1,
    )
    .unwrap_err();
    assert!(
        matches!(err.kind(), DecodeErrorKind::LengthExceedsInput { .. }),
        "{err}"
    );
    assert_eq!(
        r.string(false).unwrap_err().kind(),
        &DecodeErrorKind::InvalidUtf8
    );
}

#[test]
fn version_outside_the_valid_range_is_an_error_both_ways() {
    let err = FetchRequest::decode_bytes(Bytes::new(), 99).unwrap_err();
    assert!(matches!(
        err.kind(),
        DecodeErrorKind::UnsupportedVersion { version: 99, .. }
    ));
    let err = FetchRequest::default().encode_to_bytes(99).unwrap_err();
    assert!(
        matches!(
            err.kind(),
            EncodeErrorKind::UnsupportedVersion { version: 99, .. }
        ),
        "{err}"
    );
    assert_eq!(err.path_string(), "FetchRequest v99");
    // Kafka 4.0 removed Fetch v0-v3 (KIP-896); kwire has them from 3.9.2 (historic versions), so
    // the lowest version is 0 and only a negative one is outside the range.
    assert!(FetchRequest::default().encode_to_bytes(0).is_ok());
    assert!(FetchRequest::default().encode_to_bytes(-1).is_err());
}

#[test]
fn trailing_bytes_are_rejected_by_decode_bytes() {
    let err = ApiVersionsResponse::decode_bytes(Bytes::from_static(&[0, 0, 0, 0, 0, 0, 9]), 0)
        .unwrap_err();
    assert_eq!(err.kind(), &DecodeErrorKind::TrailingBytes { remaining: 1 });
}

#[test]
fn non_ignorable_field_at_a_version_without_it_is_an_encode_error() {
    // ProduceRequest.TransactionalId exists from v3 on; Produce's valid
    // range starts at 3 in 4.x, so use Metadata's AllowAutoTopicCreation
    // (v4+, default true, not ignorable).
    let mut m = MetadataRequest::default();
    m.allow_auto_topic_creation = false;
    let err = m.encode_to_bytes(3).unwrap_err();
    assert_eq!(
        err.kind(),
        &EncodeErrorKind::FieldNotInVersion { version: 3 },
        "{err}"
    );
    assert_eq!(err.field(), Some("AllowAutoTopicCreation"));
    assert_eq!(
        err.to_string(),
        "encode error in MetadataRequest v3.AllowAutoTopicCreation: set to a non-default value \
         but version 3 cannot carry it (the field is not ignorable)"
    );
    // At the default it is fine.
    m.allow_auto_topic_creation = true;
    m.encode_to_bytes(3).unwrap();
}

#[test]
fn ignorable_fields_are_dropped_at_versions_without_them() {
    // ApiVersionsRequest.ClientSoftwareName is ignorable, from v3.
    let mut m = kwire::messages::ApiVersionsRequest::default();
    m.client_software_name = StrBytes::from_static("kwire");
    let bytes = m.encode_to_bytes(2).unwrap();
    assert!(bytes.is_empty());
    let back = kwire::messages::ApiVersionsRequest::decode_bytes(bytes, 2).unwrap();
    assert_eq!(back.client_software_name, "");
    // ...while a non-ignorable one is refused (ListOffsets' IsolationLevel, v2+).
    let mut l = kwire::messages::ListOffsetsRequest::default();
    l.isolation_level = 1;
    let err = l.encode_to_bytes(1).unwrap_err();
    assert_eq!(
        err.kind(),
        &EncodeErrorKind::FieldNotInVersion { version: 1 }
    );
    assert_eq!(err.field(), Some("IsolationLevel"));
}

#[test]
fn unknown_tagged_fields_are_kept_and_written_back_in_tag_order() {
    let mut resp = ApiVersionsResponse::default();
    resp.unknown_tagged_fields
        .insert(90, Bytes::from_static(b"zz"));
    resp.unknown_tagged_fields
        .insert(4, Bytes::from_static(b"a"));
    resp.zk_migration_ready = true; // known tag 3
    let bytes = resp.encode_to_bytes(3).unwrap();
    let back = ApiVersionsResponse::decode_bytes(bytes.clone(), 3).unwrap();
    assert_eq!(back, resp);
    // the tag section: count 3, then tags 3, 4, 90 in order
    let tail = &bytes[bytes.len() - 11..];
    assert_eq!(tail, &[3, 3, 1, 1, 4, 1, b'a', 90, 2, b'z', b'z']);
    // Unknown tags cannot go out in a non-flexible version (ZkMigrationReady
    // is ignorable, so only they are refused).
    let err = resp.encode_to_bytes(2).unwrap_err();
    assert_eq!(
        err.kind(),
        &EncodeErrorKind::TaggedFieldsNotFlexible { version: 2 },
        "{err}"
    );
    // Nor may an unknown field reuse a tag the struct knows (tag 1 is
    // FinalizedFeaturesEpoch), as Kafka's RawTaggedFieldWriter refuses.
    resp.unknown_tagged_fields.insert(1, Bytes::new());
    let err = resp.encode_to_bytes(3).unwrap_err();
    assert_eq!(err.kind(), &EncodeErrorKind::UnknownTagIsKnown { tag: 1 });
    assert_eq!(err.path_string(), "ApiVersionsResponse v3._tagged_fields");
}

#[test]
fn string_too_long_for_int16_is_an_encode_error() {
    let mut m = ProduceRequest::default();
    m.transactional_id = Some(StrBytes::from("x".repeat(40_000)));
    let err = m.encode_to_bytes(3).unwrap_err();
    assert_eq!(err.kind(), &EncodeErrorKind::TooLong { length: 40_000 });
    assert_eq!(err.path_string(), "ProduceRequest v3.TransactionalId");
    // compact strings (v9+) can hold it
    m.encode_to_bytes(9).unwrap();
}

#[test]
fn nested_encode_errors_name_the_whole_path() {
    use kwire::messages::metadata_request::MetadataRequestTopic;
    let mut m = MetadataRequest::default();
    let mut topic = MetadataRequestTopic::default();
    topic.name = None; // null topic names are allowed from v10 only
    m.topics = Some(vec![MetadataRequestTopic::default(), topic]);
    let err = m.encode_to_bytes(9).unwrap_err();
    assert_eq!(err.kind(), &EncodeErrorKind::NullNotAllowed { version: 9 });
    assert_eq!(err.path_string(), "MetadataRequest v9.Topics[1].Name");
    m.encode_to_bytes(10).unwrap();
}

#[test]
fn failed_encode_leaves_the_buffer_as_it_was() {
    let mut buf = kwire::BytesMut::from(&b"keep"[..]);
    let mut m = MetadataRequest::default();
    m.allow_auto_topic_creation = false;
    assert!(m.encode(&mut buf, 2).is_err());
    assert_eq!(&buf[..], b"keep");
}

#[test]
fn unknown_api_keys_are_errors_not_panics() {
    let err = RequestKind::decode(ApiKey(999), 0, &mut Reader::new(Bytes::new())).unwrap_err();
    assert_eq!(err.kind(), &DecodeErrorKind::UnknownApi { api_key: 999 });
    // Removed APIs are known keys with no versions.
    assert!(ApiKey::LEADER_AND_ISR.is_removed());
    assert!(
        RequestKind::decode(ApiKey::LEADER_AND_ISR, 0, &mut Reader::new(Bytes::new())).is_err()
    );
}

fn all_versions() -> Vec<(&'static str, i16)> {
    MESSAGES
        .iter()
        .flat_map(|(name, r)| (r.min..=r.max).map(move |v| (*name, v)))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 16, .. ProptestConfig::default() })]

    /// Random bytes, every message and version: an Ok or an Err, never a panic.
    #[test]
    fn decoding_arbitrary_bytes_never_panics(data in proptest::collection::vec(any::<u8>(), 0..256)) {
        let bytes = Bytes::from(data);
        for (name, version) in all_versions() {
            let _ = decode_by_name(name, version, bytes.clone());
        }
    }

    /// Valid encodings with bytes flipped, cut short or extended: the
    /// mutations that reach deep into a decoder.
    #[test]
    fn decoding_mutated_encodings_never_panics(seed in any::<u64>(), flips in proptest::collection::vec((any::<usize>(), any::<u8>()), 1..6), cut in any::<usize>()) {
        for (name, version) in all_versions() {
            let mut g = Gen::new(seed);
            let Ok(good) = round_trip(name, version, &mut g) else { continue };
            let mut data = good.to_vec();
            if data.is_empty() { continue; }
            for (at, b) in &flips {
                let i = at % data.len();
                data[i] ^= b | 1;
            }
            let _ = decode_by_name(name, version, Bytes::from(data.clone()));
            data.truncate(cut % (data.len() + 1));
            let _ = decode_by_name(name, version, Bytes::from(data));
        }
    }
}
