//! Kafka error codes as an open newtype, with the full table of known
//! codes: name, whether a client may retry, and what each means.
//!
//! The codes, names and retriable flags are facts from Kafka's
//! `org.apache.kafka.common.protocol.Errors` (an error is retriable when
//! its exception extends `RetriableException`), up to code 136 (Kafka 4.4).
//! The one-line meanings are our own wording. A code this build does not
//! know stays as it is: it has no name, and like the Java client (which
//! maps it to `UnknownServerException`) it is treated as not retriable.

use std::fmt;

/// A Kafka error code. Open: a code this build does not know is kept as is.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
#[cfg_attr(feature = "serde", serde(transparent))]
pub struct ErrorCode(pub i16);

/// What Kafka says about one error code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorInfo {
    pub code: ErrorCode,
    /// Kafka's name, e.g. `NOT_LEADER_OR_FOLLOWER`.
    pub name: &'static str,
    /// Whether retrying the same request may succeed.
    pub retriable: bool,
    /// A one-line meaning.
    pub meaning: &'static str,
}

const fn info(code: i16, name: &'static str, retriable: bool, meaning: &'static str) -> ErrorInfo {
    ErrorInfo {
        code: ErrorCode(code),
        name,
        retriable,
        meaning,
    }
}

/// Every known code, from -1 upwards without gaps (`ERRORS[code + 1]`).
pub const ERRORS: &[ErrorInfo] = &[
    info(-1, "UNKNOWN_SERVER_ERROR", false, "The broker hit an unexpected failure while handling the request."),
    info(0, "NONE", false, "No error."),
    info(1, "OFFSET_OUT_OF_RANGE", false, "The requested offset is outside the range the broker holds for the partition."),
    info(2, "CORRUPT_MESSAGE", true, "A message failed its CRC check, exceeds the allowed size, has a null key on a compacted topic, or is otherwise damaged."),
    info(3, "UNKNOWN_TOPIC_OR_PARTITION", true, "This broker does not host the topic-partition."),
    info(4, "INVALID_FETCH_SIZE", false, "The fetch size in the request is not valid."),
    info(5, "LEADER_NOT_AVAILABLE", true, "The partition has no leader right now, typically during a leader election."),
    info(6, "NOT_LEADER_OR_FOLLOWER", true, "This broker is not the leader (for leader-only requests) or not a replica of the partition."),
    info(7, "REQUEST_TIMED_OUT", true, "The request did not complete in time."),
    info(8, "BROKER_NOT_AVAILABLE", false, "The broker is not available."),
    info(9, "REPLICA_NOT_AVAILABLE", true, "The replica for the partition is not available."),
    info(10, "MESSAGE_TOO_LARGE", false, "A message is larger than the broker's configured maximum."),
    info(11, "STALE_CONTROLLER_EPOCH", false, "The request came from a controller that has since been replaced."),
    info(12, "OFFSET_METADATA_TOO_LARGE", false, "The metadata string of an offset commit is too long."),
    info(13, "NETWORK_EXCEPTION", true, "The connection closed before a response arrived."),
    info(14, "COORDINATOR_LOAD_IN_PROGRESS", true, "The coordinator is still loading its state and cannot serve yet."),
    info(15, "COORDINATOR_NOT_AVAILABLE", true, "The coordinator is not available."),
    info(16, "NOT_COORDINATOR", true, "This broker is not the coordinator for the group or transaction."),
    info(17, "INVALID_TOPIC_EXCEPTION", false, "The operation named a topic that is invalid (bad name, or an internal topic misused)."),
    info(18, "RECORD_LIST_TOO_LARGE", false, "A record batch is larger than the broker's configured segment size."),
    info(19, "NOT_ENOUGH_REPLICAS", true, "The write was rejected because fewer replicas are in sync than required."),
    info(20, "NOT_ENOUGH_REPLICAS_AFTER_APPEND", true, "The write was appended but reached fewer in-sync replicas than required."),
    info(21, "INVALID_REQUIRED_ACKS", false, "The produce request's acks value is not valid."),
    info(22, "ILLEGAL_GENERATION", false, "The group generation id in the request is not current."),
    info(23, "INCONSISTENT_GROUP_PROTOCOL", false, "The member's protocols do not match the group's, or the first member sent an empty protocol type or list."),
    info(24, "INVALID_GROUP_ID", false, "The group id is not valid."),
    info(25, "UNKNOWN_MEMBER_ID", false, "The coordinator does not know this member id."),
    info(26, "INVALID_SESSION_TIMEOUT", false, "The session timeout is outside the broker's allowed range (group.min/max.session.timeout.ms)."),
    info(27, "REBALANCE_IN_PROGRESS", false, "The group is rebalancing; the member must rejoin."),
    info(28, "INVALID_COMMIT_OFFSET_SIZE", false, "The size of the committed offset data is not valid."),
    info(29, "TOPIC_AUTHORIZATION_FAILED", false, "The principal is not authorized for the topic."),
    info(30, "GROUP_AUTHORIZATION_FAILED", false, "The principal is not authorized for the group."),
    info(31, "CLUSTER_AUTHORIZATION_FAILED", false, "The principal is not authorized for the cluster operation."),
    info(32, "INVALID_TIMESTAMP", false, "A message timestamp is outside the accepted range."),
    info(33, "UNSUPPORTED_SASL_MECHANISM", false, "The broker does not offer the requested SASL mechanism."),
    info(34, "ILLEGAL_SASL_STATE", false, "The request is not allowed in the current state of SASL authentication."),
    info(35, "UNSUPPORTED_VERSION", false, "The broker does not support this version of the API."),
    info(36, "TOPIC_ALREADY_EXISTS", false, "A topic with this name already exists."),
    info(37, "INVALID_PARTITIONS", false, "The partition count is not valid (below 1)."),
    info(38, "INVALID_REPLICATION_FACTOR", false, "The replication factor is below 1 or above the number of available brokers."),
    info(39, "INVALID_REPLICA_ASSIGNMENT", false, "The replica assignment is not valid."),
    info(40, "INVALID_CONFIG", false, "The configuration is not valid."),
    info(41, "NOT_CONTROLLER", true, "This broker is not the active controller."),
    info(42, "INVALID_REQUEST", false, "The request is malformed or was sent to a broker that cannot understand it; the broker log has details."),
    info(43, "UNSUPPORTED_FOR_MESSAGE_FORMAT", false, "The broker's message format version cannot serve this request."),
    info(44, "POLICY_VIOLATION", false, "The request breaks a policy configured on the broker."),
    info(45, "OUT_OF_ORDER_SEQUENCE_NUMBER", false, "The broker got a producer sequence number out of order."),
    info(46, "DUPLICATE_SEQUENCE_NUMBER", false, "The broker got a producer sequence number it has already seen."),
    info(47, "INVALID_PRODUCER_EPOCH", false, "The producer used an epoch older than the current one."),
    info(48, "INVALID_TXN_STATE", false, "The transactional operation is not allowed in the transaction's current state."),
    info(49, "INVALID_PRODUCER_ID_MAPPING", false, "The producer id is not the one currently assigned to the transactional id."),
    info(50, "INVALID_TRANSACTION_TIMEOUT", false, "The transaction timeout exceeds the broker's maximum (transaction.max.timeout.ms)."),
    info(51, "CONCURRENT_TRANSACTIONS", true, "Another operation on the same transaction is still in progress."),
    info(52, "TRANSACTION_COORDINATOR_FENCED", false, "The transaction coordinator that sent the marker is no longer the current one for the producer."),
    info(53, "TRANSACTIONAL_ID_AUTHORIZATION_FAILED", false, "The principal is not authorized for the transactional id."),
    info(54, "SECURITY_DISABLED", false, "Security features are turned off on the broker."),
    info(55, "OPERATION_NOT_ATTEMPTED", false, "The broker skipped this operation, usually because another one in the same batched request failed."),
    info(56, "KAFKA_STORAGE_ERROR", true, "The broker could not access the log on disk."),
    info(57, "LOG_DIR_NOT_FOUND", false, "The requested log directory is not in the broker's configuration."),
    info(58, "SASL_AUTHENTICATION_FAILED", false, "SASL authentication failed."),
    info(59, "UNKNOWN_PRODUCER_ID", false, "The broker has no state for this producer id, for example because its records expired."),
    info(60, "REASSIGNMENT_IN_PROGRESS", false, "A partition reassignment is already running."),
    info(61, "DELEGATION_TOKEN_AUTH_DISABLED", false, "Delegation tokens are not enabled."),
    info(62, "DELEGATION_TOKEN_NOT_FOUND", false, "The delegation token does not exist on the broker."),
    info(63, "DELEGATION_TOKEN_OWNER_MISMATCH", false, "The principal is not a valid owner or renewer of the token."),
    info(64, "DELEGATION_TOKEN_REQUEST_NOT_ALLOWED", false, "Delegation token requests are not allowed on plaintext, one-way TLS or token-authenticated connections."),
    info(65, "DELEGATION_TOKEN_AUTHORIZATION_FAILED", false, "The principal is not authorized for the delegation token operation."),
    info(66, "DELEGATION_TOKEN_EXPIRED", false, "The delegation token has expired."),
    info(67, "INVALID_PRINCIPAL_TYPE", false, "The principal type is not supported."),
    info(68, "NON_EMPTY_GROUP", false, "The group still has members."),
    info(69, "GROUP_ID_NOT_FOUND", false, "The group does not exist."),
    info(70, "FETCH_SESSION_ID_NOT_FOUND", true, "The broker has no fetch session with this id."),
    info(71, "INVALID_FETCH_SESSION_EPOCH", true, "The fetch session epoch is not the expected one."),
    info(72, "LISTENER_NOT_FOUND", true, "The leader has no listener matching the one the metadata request came in on."),
    info(73, "TOPIC_DELETION_DISABLED", false, "Topic deletion is turned off on the broker."),
    info(74, "FENCED_LEADER_EPOCH", true, "The leader epoch in the request is older than the broker's."),
    info(75, "UNKNOWN_LEADER_EPOCH", true, "The leader epoch in the request is newer than the broker's."),
    info(76, "UNSUPPORTED_COMPRESSION_TYPE", false, "The client cannot handle the compression type used by the partition."),
    info(77, "STALE_BROKER_EPOCH", false, "The broker epoch in the request is out of date."),
    info(78, "OFFSET_NOT_AVAILABLE", true, "The new leader's high watermark has not caught up yet, so offsets cannot be served safely."),
    info(79, "MEMBER_ID_REQUIRED", false, "The member must first obtain a member id before joining the group."),
    info(80, "PREFERRED_LEADER_NOT_AVAILABLE", true, "The preferred leader is not available."),
    info(81, "GROUP_MAX_SIZE_REACHED", false, "The group already has its maximum number of members."),
    info(82, "FENCED_INSTANCE_ID", false, "Another member registered with the same group.instance.id, fencing this static member."),
    info(83, "ELIGIBLE_LEADERS_NOT_AVAILABLE", true, "No eligible leader is available for the partition."),
    info(84, "ELECTION_NOT_NEEDED", true, "The partition does not need a leader election."),
    info(85, "NO_REASSIGNMENT_IN_PROGRESS", false, "No partition reassignment is running."),
    info(86, "GROUP_SUBSCRIBED_TO_TOPIC", false, "Offsets of a topic cannot be deleted while the group is subscribed to it."),
    info(87, "INVALID_RECORD", false, "The broker rejected a record that failed its validation."),
    info(88, "UNSTABLE_OFFSET_COMMIT", true, "There are pending transactional offset commits to resolve first."),
    info(89, "THROTTLING_QUOTA_EXCEEDED", true, "The request exceeds the principal's throttling quota."),
    info(90, "PRODUCER_FENCED", false, "A newer producer with the same transactional id has fenced this one."),
    info(91, "RESOURCE_NOT_FOUND", false, "The request refers to a resource that does not exist."),
    info(92, "DUPLICATE_RESOURCE", false, "The request names the same resource twice."),
    info(93, "UNACCEPTABLE_CREDENTIAL", false, "The credential does not meet the acceptance criteria."),
    info(94, "INCONSISTENT_VOTER_SET", false, "The sender or receiver of a voter-only request is not one of the expected voters."),
    info(95, "INVALID_UPDATE_VERSION", false, "The update version is not valid."),
    info(96, "FEATURE_UPDATE_FAILED", false, "The finalized features could not be updated because of an unexpected server error."),
    info(97, "PRINCIPAL_DESERIALIZATION_FAILURE", false, "A forwarded request's principal could not be deserialized (a broker security setup problem)."),
    info(98, "SNAPSHOT_NOT_FOUND", false, "The requested snapshot does not exist."),
    info(99, "POSITION_OUT_OF_RANGE", false, "The requested position is negative or beyond the end of the snapshot."),
    info(100, "UNKNOWN_TOPIC_ID", true, "This broker does not host a topic with this id."),
    info(101, "DUPLICATE_BROKER_REGISTRATION", false, "Another broker already registered this broker id."),
    info(102, "BROKER_ID_NOT_REGISTERED", false, "This broker id is not registered."),
    info(103, "INCONSISTENT_TOPIC_ID", true, "The topic id in the request does not match the log's topic id."),
    info(104, "INCONSISTENT_CLUSTER_ID", false, "The cluster id in the request does not match the server's."),
    info(105, "TRANSACTIONAL_ID_NOT_FOUND", false, "The transactional id does not exist."),
    info(106, "FETCH_SESSION_TOPIC_ID_ERROR", true, "The fetch session used topic ids inconsistently."),
    info(107, "INELIGIBLE_REPLICA", false, "The proposed ISR contains a replica that is not eligible."),
    info(108, "NEW_LEADER_ELECTED", false, "The partition state was updated but the leader has changed meanwhile."),
    info(109, "OFFSET_MOVED_TO_TIERED_STORAGE", false, "The requested offset now lives only in tiered storage."),
    info(110, "FENCED_MEMBER_EPOCH", false, "The coordinator fenced the member epoch; the member must give up its partitions and rejoin."),
    info(111, "UNRELEASED_INSTANCE_ID", false, "The instance id is still held by another member, which must leave first."),
    info(112, "UNSUPPORTED_ASSIGNOR", false, "The group does not support the assignor or its version range."),
    info(113, "STALE_MEMBER_EPOCH", false, "The member epoch is out of date; retry after the next heartbeat returns the current one."),
    info(114, "MISMATCHED_ENDPOINT_TYPE", false, "The request reached an endpoint of the wrong type."),
    info(115, "UNSUPPORTED_ENDPOINT_TYPE", false, "This endpoint type is not supported yet."),
    info(116, "UNKNOWN_CONTROLLER_ID", false, "The controller id is not known."),
    info(117, "UNKNOWN_SUBSCRIPTION_ID", false, "The telemetry push used an unknown or outdated subscription id."),
    info(118, "TELEMETRY_TOO_LARGE", false, "The telemetry push is larger than the broker accepts."),
    info(119, "INVALID_REGISTRATION", false, "The controller found the broker registration invalid."),
    info(120, "TRANSACTION_ABORTABLE", false, "The transaction hit an error; aborting it lets the transactional id be used again."),
    info(121, "INVALID_RECORD_STATE", false, "The record is in a state that does not allow this acknowledgement."),
    info(122, "SHARE_SESSION_NOT_FOUND", true, "The broker has no such share session."),
    info(123, "INVALID_SHARE_SESSION_EPOCH", true, "The share session epoch is not the expected one."),
    info(124, "FENCED_STATE_EPOCH", false, "The share coordinator rejected the request: the share-group state epoch does not match."),
    info(125, "INVALID_VOTER_KEY", false, "The voter key does not match the receiving replica's key."),
    info(126, "DUPLICATE_VOTER", false, "The voter is already in the voter set."),
    info(127, "VOTER_NOT_FOUND", false, "The voter is not in the voter set."),
    info(128, "INVALID_REGULAR_EXPRESSION", false, "The regular expression is not valid."),
    info(129, "REBOOTSTRAP_REQUIRED", false, "The client's metadata is stale; it should bootstrap again."),
    info(130, "STREAMS_INVALID_TOPOLOGY", false, "The Streams topology is not valid."),
    info(131, "STREAMS_INVALID_TOPOLOGY_EPOCH", false, "The Streams topology epoch is not valid."),
    info(132, "STREAMS_TOPOLOGY_FENCED", false, "The Streams topology epoch is out of date."),
    info(133, "SHARE_SESSION_LIMIT_REACHED", true, "The broker has reached its limit of share sessions."),
    info(134, "GROUP_DELETION_FAILED", false, "DeleteGroups could not delete a group; its per-group message says why."),
    info(135, "STREAMS_TOPOLOGY_DESCRIPTION_UPDATE_FAILED", false, "The broker could not apply the Streams topology description update."),
    info(136, "CONTROLLER_ID_NOT_REGISTERED", false, "The controller id given is not registered."),
];

#[allow(missing_docs)]
impl ErrorCode {
    /// -1: The broker hit an unexpected failure while handling the request.
    pub const UNKNOWN_SERVER_ERROR: ErrorCode = ErrorCode(-1);
    /// 0: No error.
    pub const NONE: ErrorCode = ErrorCode(0);
    /// 1: The requested offset is outside the range the broker holds for the partition.
    pub const OFFSET_OUT_OF_RANGE: ErrorCode = ErrorCode(1);
    /// 2: A message failed its CRC check, exceeds the allowed size, has a null key on a compacted topic, or is otherwise damaged.
    pub const CORRUPT_MESSAGE: ErrorCode = ErrorCode(2);
    /// 3: This broker does not host the topic-partition.
    pub const UNKNOWN_TOPIC_OR_PARTITION: ErrorCode = ErrorCode(3);
    /// 4: The fetch size in the request is not valid.
    pub const INVALID_FETCH_SIZE: ErrorCode = ErrorCode(4);
    /// 5: The partition has no leader right now, typically during a leader election.
    pub const LEADER_NOT_AVAILABLE: ErrorCode = ErrorCode(5);
    /// 6: This broker is not the leader (for leader-only requests) or not a replica of the partition.
    pub const NOT_LEADER_OR_FOLLOWER: ErrorCode = ErrorCode(6);
    /// 7: The request did not complete in time.
    pub const REQUEST_TIMED_OUT: ErrorCode = ErrorCode(7);
    /// 8: The broker is not available.
    pub const BROKER_NOT_AVAILABLE: ErrorCode = ErrorCode(8);
    /// 9: The replica for the partition is not available.
    pub const REPLICA_NOT_AVAILABLE: ErrorCode = ErrorCode(9);
    /// 10: A message is larger than the broker's configured maximum.
    pub const MESSAGE_TOO_LARGE: ErrorCode = ErrorCode(10);
    /// 11: The request came from a controller that has since been replaced.
    pub const STALE_CONTROLLER_EPOCH: ErrorCode = ErrorCode(11);
    /// 12: The metadata string of an offset commit is too long.
    pub const OFFSET_METADATA_TOO_LARGE: ErrorCode = ErrorCode(12);
    /// 13: The connection closed before a response arrived.
    pub const NETWORK_EXCEPTION: ErrorCode = ErrorCode(13);
    /// 14: The coordinator is still loading its state and cannot serve yet.
    pub const COORDINATOR_LOAD_IN_PROGRESS: ErrorCode = ErrorCode(14);
    /// 15: The coordinator is not available.
    pub const COORDINATOR_NOT_AVAILABLE: ErrorCode = ErrorCode(15);
    /// 16: This broker is not the coordinator for the group or transaction.
    pub const NOT_COORDINATOR: ErrorCode = ErrorCode(16);
    /// 17: The operation named a topic that is invalid (bad name, or an internal topic misused).
    pub const INVALID_TOPIC_EXCEPTION: ErrorCode = ErrorCode(17);
    /// 18: A record batch is larger than the broker's configured segment size.
    pub const RECORD_LIST_TOO_LARGE: ErrorCode = ErrorCode(18);
    /// 19: The write was rejected because fewer replicas are in sync than required.
    pub const NOT_ENOUGH_REPLICAS: ErrorCode = ErrorCode(19);
    /// 20: The write was appended but reached fewer in-sync replicas than required.
    pub const NOT_ENOUGH_REPLICAS_AFTER_APPEND: ErrorCode = ErrorCode(20);
    /// 21: The produce request's acks value is not valid.
    pub const INVALID_REQUIRED_ACKS: ErrorCode = ErrorCode(21);
    /// 22: The group generation id in the request is not current.
    pub const ILLEGAL_GENERATION: ErrorCode = ErrorCode(22);
    /// 23: The member's protocols do not match the group's, or the first member sent an empty protocol type or list.
    pub const INCONSISTENT_GROUP_PROTOCOL: ErrorCode = ErrorCode(23);
    /// 24: The group id is not valid.
    pub const INVALID_GROUP_ID: ErrorCode = ErrorCode(24);
    /// 25: The coordinator does not know this member id.
    pub const UNKNOWN_MEMBER_ID: ErrorCode = ErrorCode(25);
    /// 26: The session timeout is outside the broker's allowed range (group.min/max.session.timeout.ms).
    pub const INVALID_SESSION_TIMEOUT: ErrorCode = ErrorCode(26);
    /// 27: The group is rebalancing; the member must rejoin.
    pub const REBALANCE_IN_PROGRESS: ErrorCode = ErrorCode(27);
    /// 28: The size of the committed offset data is not valid.
    pub const INVALID_COMMIT_OFFSET_SIZE: ErrorCode = ErrorCode(28);
    /// 29: The principal is not authorized for the topic.
    pub const TOPIC_AUTHORIZATION_FAILED: ErrorCode = ErrorCode(29);
    /// 30: The principal is not authorized for the group.
    pub const GROUP_AUTHORIZATION_FAILED: ErrorCode = ErrorCode(30);
    /// 31: The principal is not authorized for the cluster operation.
    pub const CLUSTER_AUTHORIZATION_FAILED: ErrorCode = ErrorCode(31);
    /// 32: A message timestamp is outside the accepted range.
    pub const INVALID_TIMESTAMP: ErrorCode = ErrorCode(32);
    /// 33: The broker does not offer the requested SASL mechanism.
    pub const UNSUPPORTED_SASL_MECHANISM: ErrorCode = ErrorCode(33);
    /// 34: The request is not allowed in the current state of SASL authentication.
    pub const ILLEGAL_SASL_STATE: ErrorCode = ErrorCode(34);
    /// 35: The broker does not support this version of the API.
    pub const UNSUPPORTED_VERSION: ErrorCode = ErrorCode(35);
    /// 36: A topic with this name already exists.
    pub const TOPIC_ALREADY_EXISTS: ErrorCode = ErrorCode(36);
    /// 37: The partition count is not valid (below 1).
    pub const INVALID_PARTITIONS: ErrorCode = ErrorCode(37);
    /// 38: The replication factor is below 1 or above the number of available brokers.
    pub const INVALID_REPLICATION_FACTOR: ErrorCode = ErrorCode(38);
    /// 39: The replica assignment is not valid.
    pub const INVALID_REPLICA_ASSIGNMENT: ErrorCode = ErrorCode(39);
    /// 40: The configuration is not valid.
    pub const INVALID_CONFIG: ErrorCode = ErrorCode(40);
    /// 41: This broker is not the active controller.
    pub const NOT_CONTROLLER: ErrorCode = ErrorCode(41);
    /// 42: The request is malformed or was sent to a broker that cannot understand it; the broker log has details.
    pub const INVALID_REQUEST: ErrorCode = ErrorCode(42);
    /// 43: The broker's message format version cannot serve this request.
    pub const UNSUPPORTED_FOR_MESSAGE_FORMAT: ErrorCode = ErrorCode(43);
    /// 44: The request breaks a policy configured on the broker.
    pub const POLICY_VIOLATION: ErrorCode = ErrorCode(44);
    /// 45: The broker got a producer sequence number out of order.
    pub const OUT_OF_ORDER_SEQUENCE_NUMBER: ErrorCode = ErrorCode(45);
    /// 46: The broker got a producer sequence number it has already seen.
    pub const DUPLICATE_SEQUENCE_NUMBER: ErrorCode = ErrorCode(46);
    /// 47: The producer used an epoch older than the current one.
    pub const INVALID_PRODUCER_EPOCH: ErrorCode = ErrorCode(47);
    /// 48: The transactional operation is not allowed in the transaction's current state.
    pub const INVALID_TXN_STATE: ErrorCode = ErrorCode(48);
    /// 49: The producer id is not the one currently assigned to the transactional id.
    pub const INVALID_PRODUCER_ID_MAPPING: ErrorCode = ErrorCode(49);
    /// 50: The transaction timeout exceeds the broker's maximum (transaction.max.timeout.ms).
    pub const INVALID_TRANSACTION_TIMEOUT: ErrorCode = ErrorCode(50);
    /// 51: Another operation on the same transaction is still in progress.
    pub const CONCURRENT_TRANSACTIONS: ErrorCode = ErrorCode(51);
    /// 52: The transaction coordinator that sent the marker is no longer the current one for the producer.
    pub const TRANSACTION_COORDINATOR_FENCED: ErrorCode = ErrorCode(52);
    /// 53: The principal is not authorized for the transactional id.
    pub const TRANSACTIONAL_ID_AUTHORIZATION_FAILED: ErrorCode = ErrorCode(53);
    /// 54: Security features are turned off on the broker.
    pub const SECURITY_DISABLED: ErrorCode = ErrorCode(54);
    /// 55: The broker skipped this operation, usually because another one in the same batched request failed.
    pub const OPERATION_NOT_ATTEMPTED: ErrorCode = ErrorCode(55);
    /// 56: The broker could not access the log on disk.
    pub const KAFKA_STORAGE_ERROR: ErrorCode = ErrorCode(56);
    /// 57: The requested log directory is not in the broker's configuration.
    pub const LOG_DIR_NOT_FOUND: ErrorCode = ErrorCode(57);
    /// 58: SASL authentication failed.
    pub const SASL_AUTHENTICATION_FAILED: ErrorCode = ErrorCode(58);
    /// 59: The broker has no state for this producer id, for example because its records expired.
    pub const UNKNOWN_PRODUCER_ID: ErrorCode = ErrorCode(59);
    /// 60: A partition reassignment is already running.
    pub const REASSIGNMENT_IN_PROGRESS: ErrorCode = ErrorCode(60);
    /// 61: Delegation tokens are not enabled.
    pub const DELEGATION_TOKEN_AUTH_DISABLED: ErrorCode = ErrorCode(61);
    /// 62: The delegation token does not exist on the broker.
    pub const DELEGATION_TOKEN_NOT_FOUND: ErrorCode = ErrorCode(62);
    /// 63: The principal is not a valid owner or renewer of the token.
    pub const DELEGATION_TOKEN_OWNER_MISMATCH: ErrorCode = ErrorCode(63);
    /// 64: Delegation token requests are not allowed on plaintext, one-way TLS or token-authenticated connections.
    pub const DELEGATION_TOKEN_REQUEST_NOT_ALLOWED: ErrorCode = ErrorCode(64);
    /// 65: The principal is not authorized for the delegation token operation.
    pub const DELEGATION_TOKEN_AUTHORIZATION_FAILED: ErrorCode = ErrorCode(65);
    /// 66: The delegation token has expired.
    pub const DELEGATION_TOKEN_EXPIRED: ErrorCode = ErrorCode(66);
    /// 67: The principal type is not supported.
    pub const INVALID_PRINCIPAL_TYPE: ErrorCode = ErrorCode(67);
    /// 68: The group still has members.
    pub const NON_EMPTY_GROUP: ErrorCode = ErrorCode(68);
    /// 69: The group does not exist.
    pub const GROUP_ID_NOT_FOUND: ErrorCode = ErrorCode(69);
    /// 70: The broker has no fetch session with this id.
    pub const FETCH_SESSION_ID_NOT_FOUND: ErrorCode = ErrorCode(70);
    /// 71: The fetch session epoch is not the expected one.
    pub const INVALID_FETCH_SESSION_EPOCH: ErrorCode = ErrorCode(71);
    /// 72: The leader has no listener matching the one the metadata request came in on.
    pub const LISTENER_NOT_FOUND: ErrorCode = ErrorCode(72);
    /// 73: Topic deletion is turned off on the broker.
    pub const TOPIC_DELETION_DISABLED: ErrorCode = ErrorCode(73);
    /// 74: The leader epoch in the request is older than the broker's.
    pub const FENCED_LEADER_EPOCH: ErrorCode = ErrorCode(74);
    /// 75: The leader epoch in the request is newer than the broker's.
    pub const UNKNOWN_LEADER_EPOCH: ErrorCode = ErrorCode(75);
    /// 76: The client cannot handle the compression type used by the partition.
    pub const UNSUPPORTED_COMPRESSION_TYPE: ErrorCode = ErrorCode(76);
    /// 77: The broker epoch in the request is out of date.
    pub const STALE_BROKER_EPOCH: ErrorCode = ErrorCode(77);
    /// 78: The new leader's high watermark has not caught up yet, so offsets cannot be served safely.
    pub const OFFSET_NOT_AVAILABLE: ErrorCode = ErrorCode(78);
    /// 79: The member must first obtain a member id before joining the group.
    pub const MEMBER_ID_REQUIRED: ErrorCode = ErrorCode(79);
    /// 80: The preferred leader is not available.
    pub const PREFERRED_LEADER_NOT_AVAILABLE: ErrorCode = ErrorCode(80);
    /// 81: The group already has its maximum number of members.
    pub const GROUP_MAX_SIZE_REACHED: ErrorCode = ErrorCode(81);
    /// 82: Another member registered with the same group.instance.id, fencing this static member.
    pub const FENCED_INSTANCE_ID: ErrorCode = ErrorCode(82);
    /// 83: No eligible leader is available for the partition.
    pub const ELIGIBLE_LEADERS_NOT_AVAILABLE: ErrorCode = ErrorCode(83);
    /// 84: The partition does not need a leader election.
    pub const ELECTION_NOT_NEEDED: ErrorCode = ErrorCode(84);
    /// 85: No partition reassignment is running.
    pub const NO_REASSIGNMENT_IN_PROGRESS: ErrorCode = ErrorCode(85);
    /// 86: Offsets of a topic cannot be deleted while the group is subscribed to it.
    pub const GROUP_SUBSCRIBED_TO_TOPIC: ErrorCode = ErrorCode(86);
    /// 87: The broker rejected a record that failed its validation.
    pub const INVALID_RECORD: ErrorCode = ErrorCode(87);
    /// 88: There are pending transactional offset commits to resolve first.
    pub const UNSTABLE_OFFSET_COMMIT: ErrorCode = ErrorCode(88);
    /// 89: The request exceeds the principal's throttling quota.
    pub const THROTTLING_QUOTA_EXCEEDED: ErrorCode = ErrorCode(89);
    /// 90: A newer producer with the same transactional id has fenced this one.
    pub const PRODUCER_FENCED: ErrorCode = ErrorCode(90);
    /// 91: The request refers to a resource that does not exist.
    pub const RESOURCE_NOT_FOUND: ErrorCode = ErrorCode(91);
    /// 92: The request names the same resource twice.
    pub const DUPLICATE_RESOURCE: ErrorCode = ErrorCode(92);
    /// 93: The credential does not meet the acceptance criteria.
    pub const UNACCEPTABLE_CREDENTIAL: ErrorCode = ErrorCode(93);
    /// 94: The sender or receiver of a voter-only request is not one of the expected voters.
    pub const INCONSISTENT_VOTER_SET: ErrorCode = ErrorCode(94);
    /// 95: The update version is not valid.
    pub const INVALID_UPDATE_VERSION: ErrorCode = ErrorCode(95);
    /// 96: The finalized features could not be updated because of an unexpected server error.
    pub const FEATURE_UPDATE_FAILED: ErrorCode = ErrorCode(96);
    /// 97: A forwarded request's principal could not be deserialized (a broker security setup problem).
    pub const PRINCIPAL_DESERIALIZATION_FAILURE: ErrorCode = ErrorCode(97);
    /// 98: The requested snapshot does not exist.
    pub const SNAPSHOT_NOT_FOUND: ErrorCode = ErrorCode(98);
    /// 99: The requested position is negative or beyond the end of the snapshot.
    pub const POSITION_OUT_OF_RANGE: ErrorCode = ErrorCode(99);
    /// 100: This broker does not host a topic with this id.
    pub const UNKNOWN_TOPIC_ID: ErrorCode = ErrorCode(100);
    /// 101: Another broker already registered this broker id.
    pub const DUPLICATE_BROKER_REGISTRATION: ErrorCode = ErrorCode(101);
    /// 102: This broker id is not registered.
    pub const BROKER_ID_NOT_REGISTERED: ErrorCode = ErrorCode(102);
    /// 103: The topic id in the request does not match the log's topic id.
    pub const INCONSISTENT_TOPIC_ID: ErrorCode = ErrorCode(103);
    /// 104: The cluster id in the request does not match the server's.
    pub const INCONSISTENT_CLUSTER_ID: ErrorCode = ErrorCode(104);
    /// 105: The transactional id does not exist.
    pub const TRANSACTIONAL_ID_NOT_FOUND: ErrorCode = ErrorCode(105);
    /// 106: The fetch session used topic ids inconsistently.
    pub const FETCH_SESSION_TOPIC_ID_ERROR: ErrorCode = ErrorCode(106);
    /// 107: The proposed ISR contains a replica that is not eligible.
    pub const INELIGIBLE_REPLICA: ErrorCode = ErrorCode(107);
    /// 108: The partition state was updated but the leader has changed meanwhile.
    pub const NEW_LEADER_ELECTED: ErrorCode = ErrorCode(108);
    /// 109: The requested offset now lives only in tiered storage.
    pub const OFFSET_MOVED_TO_TIERED_STORAGE: ErrorCode = ErrorCode(109);
    /// 110: The coordinator fenced the member epoch; the member must give up its partitions and rejoin.
    pub const FENCED_MEMBER_EPOCH: ErrorCode = ErrorCode(110);
    /// 111: The instance id is still held by another member, which must leave first.
    pub const UNRELEASED_INSTANCE_ID: ErrorCode = ErrorCode(111);
    /// 112: The group does not support the assignor or its version range.
    pub const UNSUPPORTED_ASSIGNOR: ErrorCode = ErrorCode(112);
    /// 113: The member epoch is out of date; retry after the next heartbeat returns the current one.
    pub const STALE_MEMBER_EPOCH: ErrorCode = ErrorCode(113);
    /// 114: The request reached an endpoint of the wrong type.
    pub const MISMATCHED_ENDPOINT_TYPE: ErrorCode = ErrorCode(114);
    /// 115: This endpoint type is not supported yet.
    pub const UNSUPPORTED_ENDPOINT_TYPE: ErrorCode = ErrorCode(115);
    /// 116: The controller id is not known.
    pub const UNKNOWN_CONTROLLER_ID: ErrorCode = ErrorCode(116);
    /// 117: The telemetry push used an unknown or outdated subscription id.
    pub const UNKNOWN_SUBSCRIPTION_ID: ErrorCode = ErrorCode(117);
    /// 118: The telemetry push is larger than the broker accepts.
    pub const TELEMETRY_TOO_LARGE: ErrorCode = ErrorCode(118);
    /// 119: The controller found the broker registration invalid.
    pub const INVALID_REGISTRATION: ErrorCode = ErrorCode(119);
    /// 120: The transaction hit an error; aborting it lets the transactional id be used again.
    pub const TRANSACTION_ABORTABLE: ErrorCode = ErrorCode(120);
    /// 121: The record is in a state that does not allow this acknowledgement.
    pub const INVALID_RECORD_STATE: ErrorCode = ErrorCode(121);
    /// 122: The broker has no such share session.
    pub const SHARE_SESSION_NOT_FOUND: ErrorCode = ErrorCode(122);
    /// 123: The share session epoch is not the expected one.
    pub const INVALID_SHARE_SESSION_EPOCH: ErrorCode = ErrorCode(123);
    /// 124: The share coordinator rejected the request: the share-group state epoch does not match.
    pub const FENCED_STATE_EPOCH: ErrorCode = ErrorCode(124);
    /// 125: The voter key does not match the receiving replica's key.
    pub const INVALID_VOTER_KEY: ErrorCode = ErrorCode(125);
    /// 126: The voter is already in the voter set.
    pub const DUPLICATE_VOTER: ErrorCode = ErrorCode(126);
    /// 127: The voter is not in the voter set.
    pub const VOTER_NOT_FOUND: ErrorCode = ErrorCode(127);
    /// 128: The regular expression is not valid.
    pub const INVALID_REGULAR_EXPRESSION: ErrorCode = ErrorCode(128);
    /// 129: The client's metadata is stale; it should bootstrap again.
    pub const REBOOTSTRAP_REQUIRED: ErrorCode = ErrorCode(129);
    /// 130: The Streams topology is not valid.
    pub const STREAMS_INVALID_TOPOLOGY: ErrorCode = ErrorCode(130);
    /// 131: The Streams topology epoch is not valid.
    pub const STREAMS_INVALID_TOPOLOGY_EPOCH: ErrorCode = ErrorCode(131);
    /// 132: The Streams topology epoch is out of date.
    pub const STREAMS_TOPOLOGY_FENCED: ErrorCode = ErrorCode(132);
    /// 133: The broker has reached its limit of share sessions.
    pub const SHARE_SESSION_LIMIT_REACHED: ErrorCode = ErrorCode(133);
    /// 134: DeleteGroups could not delete a group; its per-group message says why.
    pub const GROUP_DELETION_FAILED: ErrorCode = ErrorCode(134);
    /// 135: The broker could not apply the Streams topology description update.
    pub const STREAMS_TOPOLOGY_DESCRIPTION_UPDATE_FAILED: ErrorCode = ErrorCode(135);
    /// 136: The controller id given is not registered.
    pub const CONTROLLER_ID_NOT_REGISTERED: ErrorCode = ErrorCode(136);
}

impl ErrorCode {
    pub fn is_ok(self) -> bool {
        self.0 == 0
    }

    /// Whether this is an error (any code but 0).
    pub fn is_err(self) -> bool {
        self.0 != 0
    }

    /// The table entry, for a known code.
    pub fn info(self) -> Option<&'static ErrorInfo> {
        let i = usize::try_from(i32::from(self.0) + 1).ok()?;
        ERRORS.get(i)
    }

    /// Kafka's name of the code, for a known one.
    pub fn name(self) -> Option<&'static str> {
        self.info().map(|i| i.name)
    }

    /// What the code means, for a known one.
    pub fn meaning(self) -> Option<&'static str> {
        self.info().map(|i| i.meaning)
    }

    /// Whether retrying may succeed. Unknown codes are not retriable (the
    /// Java client turns them into the non-retriable UnknownServerException).
    pub fn is_retriable(self) -> bool {
        self.info().is_some_and(|i| i.retriable)
    }

    /// Whether this build knows the code.
    pub fn is_known(self) -> bool {
        self.info().is_some()
    }

    /// The code with Kafka's name `name` (e.g. `"UNSUPPORTED_VERSION"`).
    pub fn from_name(name: &str) -> Option<ErrorCode> {
        ERRORS.iter().find(|i| i.name == name).map(|i| i.code)
    }

    /// Every known code.
    pub fn all() -> impl Iterator<Item = ErrorCode> {
        ERRORS.iter().map(|i| i.code)
    }
}

impl From<i16> for ErrorCode {
    fn from(v: i16) -> Self {
        ErrorCode(v)
    }
}

impl From<ErrorCode> for i16 {
    fn from(v: ErrorCode) -> Self {
        v.0
    }
}

impl fmt::Debug for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => write!(f, "ErrorCode({} {n})", self.0),
            None => write!(f, "ErrorCode({})", self.0),
        }
    }
}

/// `NOT_LEADER_OR_FOLLOWER (6): This broker is not the leader ...`, or
/// `unknown error code 999` for a code this build does not know.
impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.info() {
            Some(i) => write!(f, "{} ({}): {}", i.name, self.0, i.meaning),
            None => write!(f, "unknown error code {}", self.0),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_is_dense_from_minus_one() {
        for (i, e) in ERRORS.iter().enumerate() {
            assert_eq!(i32::from(e.code.0), i as i32 - 1, "{}", e.name);
            assert_eq!(ErrorCode::from_name(e.name), Some(e.code));
        }
    }

    #[test]
    fn named_constants_and_lookups() {
        assert_eq!(ErrorCode::UNSUPPORTED_VERSION, ErrorCode(35));
        assert_eq!(ErrorCode::NONE.name(), Some("NONE"));
        assert!(ErrorCode::NOT_LEADER_OR_FOLLOWER.is_retriable());
        assert!(!ErrorCode::UNSUPPORTED_VERSION.is_retriable());
        // ConcurrentTransactionsException extends RetriableException in
        // Kafka's clients since KAFKA-14417 (3.4).
        assert!(ErrorCode::CONCURRENT_TRANSACTIONS.is_retriable());
        assert_eq!(ErrorCode::CONTROLLER_ID_NOT_REGISTERED, ErrorCode(136));
        assert!(ErrorCode(-1).is_known());
        assert_eq!(ErrorCode(-2).name(), None);
        let unknown = ErrorCode(999);
        assert!(!unknown.is_retriable());
        assert_eq!(unknown.to_string(), "unknown error code 999");
        assert!(ErrorCode::UNSUPPORTED_VERSION
            .to_string()
            .starts_with("UNSUPPORTED_VERSION (35): "));
    }
}
