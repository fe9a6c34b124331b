//! The consumer protocol's JoinGroup metadata and SyncGroup assignment: a
//! 2-byte version, then a `ConsumerProtocolSubscription` or
//! `ConsumerProtocolAssignment` body at that version.
//!
//! The format is forward compatible (KIP-429): a newer client appends fields,
//! and a reader decodes a higher version as the highest it knows and ignores
//! what follows, as Kafka's `ConsumerProtocol.deserializeSubscription` does.
//! A version below 0 is an error.

use bytes::{BufMut, Bytes, BytesMut};
use kwire::messages::consumer_protocol_assignment as wire_asg;
use kwire::messages::consumer_protocol_subscription as wire_sub;
use kwire::messages::{ConsumerProtocolAssignment, ConsumerProtocolSubscription};
use kwire::wire::Reader;
use kwire::{DecodeError, EncodeError, Message, StrBytes};

use super::{Assignment, Subscription};
use crate::group::{java_cmp, TopicPartition};

/// The subscription version kwire writes: v3 (rack id, KIP-881), like
/// Kafka's clients since 3.5.
pub const SUBSCRIPTION_VERSION: i16 = 3;
/// The assignment version kwire writes (v1-v3 have the v0 layout).
pub const ASSIGNMENT_VERSION: i16 = 3;

/// A consumer-protocol blob that cannot be read or written.
#[derive(Debug, thiserror::Error)]
pub enum ProtocolError {
    #[error("consumer protocol data of {len} bytes is too short to hold its 2-byte version")]
    NoVersion { len: usize },
    #[error("consumer protocol version {0} is below the lowest version 0")]
    NegativeVersion(i16),
    #[error("could not decode the consumer protocol {what}")]
    Decode {
        what: &'static str,
        #[source]
        source: DecodeError,
    },
    #[error("could not encode the consumer protocol {what}")]
    Encode {
        what: &'static str,
        #[source]
        source: EncodeError,
    },
}

fn split_version(data: &Bytes, highest: i16) -> Result<(i16, Bytes), ProtocolError> {
    if data.len() < 2 {
        return Err(ProtocolError::NoVersion { len: data.len() });
    }
    let v = i16::from_be_bytes([data[0], data[1]]);
    if v < 0 {
        return Err(ProtocolError::NegativeVersion(v));
    }
    Ok((v.min(highest), data.slice(2..)))
}

fn with_version(
    version: i16,
    body: impl FnOnce(&mut BytesMut) -> Result<(), EncodeError>,
) -> Result<Bytes, EncodeError> {
    let mut buf = BytesMut::new();
    buf.put_i16(version);
    body(&mut buf)?;
    Ok(buf.freeze())
}

/// Groups partitions by topic in the order given (topics in first-seen
/// order, partitions in order within each).
fn group_by_topic(parts: &[TopicPartition]) -> Vec<(String, Vec<i32>)> {
    let mut out: Vec<(String, Vec<i32>)> = Vec::new();
    for tp in parts {
        match out.iter_mut().find(|(t, _)| *t == tp.topic) {
            Some((_, v)) => v.push(tp.partition),
            None => out.push((tp.topic.clone(), vec![tp.partition])),
        }
    }
    out
}

/// Encodes JoinGroup metadata at `version` (0-3), topics and owned
/// partitions sorted. Fields the version lacks are left out (owned partitions below v1, generation below v2, rack below
/// v3): they are ignorable in the schema.
pub fn encode_subscription(sub: &Subscription, version: i16) -> Result<Bytes, ProtocolError> {
    // Sorted as Kafka's `ConsumerProtocol.serializeSubscription` sorts them:
    // a static member that rejoins with byte-identical metadata does not
    // trigger a rebalance (KIP-345), so the bytes must not depend on the
    // order the application listed its topics in.
    let mut topics: Vec<&String> = sub.topics.iter().collect();
    topics.sort_by(|a, b| java_cmp(a, b));
    let mut owned = sub.owned_partitions.clone();
    owned.sort();
    let mut m = ConsumerProtocolSubscription::default();
    m.topics = topics
        .into_iter()
        .map(|t| StrBytes::from(t.clone()))
        .collect();
    m.user_data = sub.user_data.clone();
    if version >= 1 {
        m.owned_partitions = group_by_topic(&owned)
            .into_iter()
            .map(|(t, ps)| {
                let mut tp = wire_sub::TopicPartition::default();
                tp.topic = StrBytes::from(t);
                tp.partitions = ps;
                tp
            })
            .collect();
    }
    if version >= 2 {
        m.generation_id = sub.generation_id.unwrap_or(-1);
    }
    if version >= 3 {
        m.rack_id = sub.rack_id.as_ref().map(|r| StrBytes::from(r.clone()));
    }
    with_version(version, |buf| m.encode(buf, version)).map_err(|source| ProtocolError::Encode {
        what: "subscription",
        source,
    })
}

/// Decodes JoinGroup metadata (a member's subscription).
pub fn decode_subscription(data: &Bytes) -> Result<Subscription, ProtocolError> {
    let (version, body) = split_version(data, ConsumerProtocolSubscription::VERSIONS.max)?;
    let m = ConsumerProtocolSubscription::decode(&mut Reader::new(body), version).map_err(
        |source| ProtocolError::Decode {
            what: "subscription",
            source,
        },
    )?;
    Ok(Subscription {
        topics: m.topics.iter().map(|t| t.to_string()).collect(),
        user_data: m.user_data,
        owned_partitions: m
            .owned_partitions
            .iter()
            .flat_map(|t| {
                t.partitions
                    .iter()
                    .map(move |p| TopicPartition::new(t.topic.to_string(), *p))
            })
            .collect(),
        // Kafka's `Subscription.generationId()` is empty below v2 and for
        // the schema default -1 (`ConsumerProtocol.deserializeSubscription`).
        generation_id: (version >= 2 && m.generation_id >= 0).then_some(m.generation_id),
        rack_id: m.rack_id.map(|r| r.to_string()).filter(|r| !r.is_empty()),
    })
}

/// Encodes a SyncGroup assignment at `version` (0-3).
pub fn encode_assignment(asg: &Assignment, version: i16) -> Result<Bytes, ProtocolError> {
    let mut m = ConsumerProtocolAssignment::default();
    m.assigned_partitions = group_by_topic(&asg.partitions)
        .into_iter()
        .map(|(t, ps)| {
            let mut tp = wire_asg::TopicPartition::default();
            tp.topic = StrBytes::from(t);
            tp.partitions = ps;
            tp
        })
        .collect();
    m.user_data = asg.user_data.clone();
    with_version(version, |buf| m.encode(buf, version)).map_err(|source| ProtocolError::Encode {
        what: "assignment",
        source,
    })
}

/// Decodes a SyncGroup assignment. An empty blob is an empty assignment:
/// the coordinator sends one to a member the leader gave nothing (Kafka's
/// `ConsumerCoordinator.onJoinComplete` treats it the same way).
pub fn decode_assignment(data: &Bytes) -> Result<Assignment, ProtocolError> {
    if data.is_empty() {
        return Ok(Assignment::default());
    }
    let (version, body) = split_version(data, ConsumerProtocolAssignment::VERSIONS.max)?;
    let m =
        ConsumerProtocolAssignment::decode(&mut Reader::new(body), version).map_err(|source| {
            ProtocolError::Decode {
                what: "assignment",
                source,
            }
        })?;
    Ok(Assignment {
        partitions: m
            .assigned_partitions
            .iter()
            .flat_map(|t| {
                t.partitions
                    .iter()
                    .map(move |p| TopicPartition::new(t.topic.to_string(), *p))
            })
            .collect(),
        user_data: m.user_data,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sub() -> Subscription {
        Subscription {
            topics: vec!["a".into(), "b".into()],
            user_data: Some(Bytes::from_static(b"\x00\x00\x00\x07")),
            owned_partitions: vec![
                TopicPartition::new("a", 1),
                TopicPartition::new("b", 0),
                TopicPartition::new("a", 3),
            ],
            generation_id: Some(7),
            rack_id: Some("r1".into()),
        }
    }

    #[test]
    fn subscription_round_trips_at_each_version() {
        let s = sub();
        for v in 0..=3 {
            let bytes = encode_subscription(&s, v).unwrap();
            assert_eq!(&bytes[..2], &v.to_be_bytes());
            let back = decode_subscription(&bytes).unwrap();
            assert_eq!(back.topics, s.topics, "already sorted");
            assert_eq!(back.user_data, s.user_data);
            if v >= 1 {
                // grouped by topic on the wire
                assert_eq!(
                    back.owned_partitions,
                    vec![
                        TopicPartition::new("a", 1),
                        TopicPartition::new("a", 3),
                        TopicPartition::new("b", 0)
                    ]
                );
            } else {
                assert!(back.owned_partitions.is_empty());
            }
            assert_eq!(back.generation_id, (v >= 2).then_some(7));
            assert_eq!(back.rack_id, (v >= 3).then(|| "r1".to_string()));
        }
    }

    #[test]
    fn a_newer_version_reads_as_the_highest_known_and_ignores_the_tail() {
        let s = sub();
        let v3 = encode_subscription(&s, 3).unwrap();
        let mut newer = BytesMut::new();
        newer.put_i16(9);
        newer.extend_from_slice(&v3[2..]);
        newer.extend_from_slice(b"future fields");
        let back = decode_subscription(&newer.freeze()).unwrap();
        assert_eq!(back.rack_id.as_deref(), Some("r1"));
        assert_eq!(back.generation_id, Some(7));
    }

    #[test]
    fn bad_input_is_an_error_not_a_panic() {
        assert!(matches!(
            decode_subscription(&Bytes::from_static(b"\x00")),
            Err(ProtocolError::NoVersion { len: 1 })
        ));
        assert!(matches!(
            decode_subscription(&Bytes::from_static(b"\xff\xff\x00\x00\x00\x00")),
            Err(ProtocolError::NegativeVersion(-1))
        ));
        // a topic count far larger than the bytes present
        assert!(matches!(
            decode_subscription(&Bytes::from_static(b"\x00\x00\x7f\xff\xff\xff")),
            Err(ProtocolError::Decode { .. })
        ));
        assert!(decode_assignment(&Bytes::from_static(b"\x00\x03\x00")).is_err());
    }

    #[test]
    fn empty_assignment_blob_is_an_empty_assignment() {
        assert_eq!(
            decode_assignment(&Bytes::new()).unwrap(),
            Assignment::default()
        );
        let a = Assignment {
            partitions: vec![TopicPartition::new("t", 0), TopicPartition::new("t", 2)],
            user_data: None,
        };
        let back = decode_assignment(&encode_assignment(&a, 3).unwrap()).unwrap();
        assert_eq!(back, a);
    }
}
