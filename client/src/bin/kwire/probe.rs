//! `kwire probe`: for every API and version a broker advertises, send a
//! harmless request at exactly that version and report whether the broker
//! really takes it. An advertised version a broker then rejects is what
//! one seed met on a managed Kafka service; the probe finds such versions
//! before a client does.
//!
//! Harmless: only APIs on the list below are probed, each with an empty or
//! validate-only body, an empty group or transactional id (refused with a
//! benign error), or a describe call; everything else (SASL, which changes
//! the connection's state; inter-broker and controller-only APIs; raft
//! voter changes) is listed as "not probed".
//!
//! Accepted: any well-formed reply decoded at that version, even one
//! carrying an error code (the broker parsed the request at that version).
//! Rejected: a top-level UNSUPPORTED_VERSION (35), the connection closed or
//! reset in answer, or a reply that does not decode at that version.
//! No reply within the deadline is reported as such.

use std::sync::Arc;

use clap::Args;
use kwire::dispatch::{RequestKind, ResponseKind};
use kwire::headers::{request_header_version, response_header_version};
use kwire::messages::{RequestHeader, ResponseHeader};
use kwire::wire::Reader;
use kwire::{ApiKey, BytesMut, ErrorCode, Message, StrBytes};
use kwire_client::escape::escape;
use kwire_client::net::{ClientError, ConnError, RequestMeta};
use kwire_client::protocol::api::{api_name, our_range};
use kwire_client::Broker;
use serde_json::{json, Value};

use crate::connect::ConnectArgs;
use crate::exit::{self, Failure};
use crate::out;

#[derive(Args)]
pub struct ProbeArgs {
    #[command(flatten)]
    pub connect: ConnectArgs,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// The harmless body of each probed API (JSON in Kafka's field names;
/// fields a version lacks fall back to the all-default body).
fn harmless(api: ApiKey) -> Option<Value> {
    let empty_group = json!({"groupId": ""});
    Some(match api {
        // acks=1 so the broker answers; no topics, so nothing is written.
        ApiKey::PRODUCE => json!({"acks": 1, "timeoutMs": 1000}),
        ApiKey::FETCH => json!({"maxWaitMs": 0}),
        ApiKey::LIST_OFFSETS | ApiKey::OFFSET_FOR_LEADER_EPOCH | ApiKey::DELETE_RECORDS => {
            json!({})
        }
        ApiKey::METADATA => json!({"topics": [], "allowAutoTopicCreation": false}),
        ApiKey::OFFSET_COMMIT | ApiKey::OFFSET_FETCH | ApiKey::OFFSET_DELETE => empty_group,
        ApiKey::FIND_COORDINATOR => json!({"key": "kwire-probe"}),
        // An empty group id is refused (INVALID_GROUP_ID) before anything happens.
        ApiKey::JOIN_GROUP
        | ApiKey::HEARTBEAT
        | ApiKey::LEAVE_GROUP
        | ApiKey::SYNC_GROUP
        | ApiKey::CONSUMER_GROUP_HEARTBEAT
        | ApiKey::SHARE_GROUP_HEARTBEAT
        | ApiKey::STREAMS_GROUP_HEARTBEAT => empty_group,
        ApiKey::DESCRIBE_GROUPS
        | ApiKey::LIST_GROUPS
        | ApiKey::DELETE_GROUPS
        | ApiKey::CONSUMER_GROUP_DESCRIBE
        | ApiKey::SHARE_GROUP_DESCRIBE
        | ApiKey::STREAMS_GROUP_DESCRIBE => json!({}),
        ApiKey::API_VERSIONS => {
            json!({"clientSoftwareName": "kwire-probe", "clientSoftwareVersion": "0"})
        }
        ApiKey::CREATE_TOPICS
        | ApiKey::CREATE_PARTITIONS
        | ApiKey::ALTER_CONFIGS
        | ApiKey::INCREMENTAL_ALTER_CONFIGS
        | ApiKey::ALTER_CLIENT_QUOTAS
        | ApiKey::UPDATE_FEATURES => json!({"validateOnly": true}),
        // An empty transactional id is refused; InitProducerId without one
        // hands out an idempotent producer id, which costs the broker nothing.
        ApiKey::INIT_PRODUCER_ID
        | ApiKey::ADD_PARTITIONS_TO_TXN
        | ApiKey::ADD_OFFSETS_TO_TXN
        | ApiKey::END_TXN
        | ApiKey::TXN_OFFSET_COMMIT => json!({}),
        // A filter of UNKNOWN types is invalid and the broker closes the
        // connection: ask for ANY (1) of each.
        ApiKey::DESCRIBE_ACLS => json!({"resourceTypeFilter": 1, "patternTypeFilter": 1,
                                        "operation": 1, "permissionType": 1}),
        ApiKey::DELETE_TOPICS
        | ApiKey::DESCRIBE_SHARE_GROUP_OFFSETS
        | ApiKey::CREATE_ACLS
        | ApiKey::DELETE_ACLS
        | ApiKey::DESCRIBE_CONFIGS
        | ApiKey::ALTER_REPLICA_LOG_DIRS
        | ApiKey::DESCRIBE_DELEGATION_TOKEN
        | ApiKey::ALTER_PARTITION_REASSIGNMENTS
        | ApiKey::DESCRIBE_CLIENT_QUOTAS
        | ApiKey::ALTER_USER_SCRAM_CREDENTIALS
        | ApiKey::DESCRIBE_QUORUM
        | ApiKey::DESCRIBE_CLUSTER
        | ApiKey::DESCRIBE_PRODUCERS
        | ApiKey::DESCRIBE_TRANSACTIONS
        | ApiKey::LIST_TRANSACTIONS
        | ApiKey::LIST_CONFIG_RESOURCES
        | ApiKey::DESCRIBE_TOPIC_PARTITIONS
        | ApiKey::GET_TELEMETRY_SUBSCRIPTIONS => json!({}),
        // null would mean "all": ask for none.
        ApiKey::DESCRIBE_LOG_DIRS | ApiKey::LIST_PARTITION_REASSIGNMENTS => json!({"topics": []}),
        ApiKey::ELECT_LEADERS => json!({"topicPartitions": []}),
        ApiKey::DESCRIBE_USER_SCRAM_CREDENTIALS => json!({"users": []}),
        _ => return None,
    })
}

/// The request at `version`, encoded (header and body), or why not.
fn encode(api: ApiKey, version: i16, id: i32, buf: &mut BytesMut) -> Result<(), String> {
    let body = harmless(api).ok_or("not probed")?;
    let attempt = |v: Value, buf: &mut BytesMut| -> Result<(), String> {
        let req = RequestKind::from_json(api, v).map_err(|e| e.to_string())?;
        let mut h = RequestHeader::default();
        h.request_api_key = api.0;
        h.request_api_version = version;
        h.correlation_id = id;
        h.client_id = Some(StrBytes::from_static("kwire-probe"));
        let mut tmp = BytesMut::new();
        h.encode(&mut tmp, request_header_version(api, version))
            .map_err(|e| e.to_string())?;
        req.encode(&mut tmp, version).map_err(|e| e.to_string())?;
        buf.extend_from_slice(&tmp);
        Ok(())
    };
    // Fields a version lacks: drop one at a time, then the all-default body.
    if attempt(body.clone(), buf).is_ok() {
        return Ok(());
    }
    if let Value::Object(m) = &body {
        for k in m.keys() {
            let mut fewer = m.clone();
            fewer.remove(k);
            if attempt(Value::Object(fewer), buf).is_ok() {
                return Ok(());
            }
        }
    }
    attempt(json!({}), buf)
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Outcome {
    Accepted(Option<ErrorCode>),
    Rejected(String),
    NoReply(String),
    NotProbed(String),
}

fn top_error(v: &Value) -> Option<ErrorCode> {
    v.get("errorCode")
        .and_then(Value::as_i64)
        .and_then(|c| i16::try_from(c).ok())
        .map(ErrorCode)
        .filter(|c| c.is_err())
}

async fn probe_one(b: &Broker, api: ApiKey, version: i16) -> Outcome {
    if harmless(api).is_none() {
        return Outcome::NotProbed("not on the harmless list".into());
    }
    if api == ApiKey::ADD_PARTITIONS_TO_TXN && version >= 4 {
        // KIP-890: v4+ is the brokers' batched verification form; a 4.4.0
        // broker never answers an empty one.
        return Outcome::NotProbed("v4+ is the inter-broker form (KIP-890)".into());
    }
    let live = match b.connection().await {
        Ok(n) => n,
        Err(e) => return Outcome::NoReply(format!("cannot reconnect: {}", escape(&e.to_string()))),
    };
    let meta = RequestMeta {
        api_key: api,
        version,
    };
    let sent = live
        .conn
        .send(meta, |id, buf| {
            encode(api, version, id, buf).map_err(ProbeSendError::Encode)
        })
        .await;
    match sent {
        Err(ProbeSendError::Encode(m)) => Outcome::NotProbed(format!("cannot encode: {m}")),
        Err(ProbeSendError::Conn(e)) => {
            b.disconnect().await;
            match e {
                ConnError::Closed { .. } => {
                    Outcome::Rejected(format!("closed: {}", escape(&e.to_string())))
                }
                other => Outcome::NoReply(escape(&other.to_string()).into_owned()),
            }
        }
        Ok(frame) => {
            let mut r = Reader::new(frame);
            if let Err(e) = ResponseHeader::decode(&mut r, response_header_version(api, version)) {
                return Outcome::Rejected(format!("response header: {e}"));
            }
            match ResponseKind::decode(api, version, &mut r) {
                Err(e) => Outcome::Rejected(format!("reply does not decode at v{version}: {e}")),
                Ok(resp) => {
                    let code = resp.to_json().ok().as_ref().and_then(top_error);
                    if code == Some(ErrorCode::UNSUPPORTED_VERSION) {
                        Outcome::Rejected("UNSUPPORTED_VERSION (35)".into())
                    } else {
                        Outcome::Accepted(code)
                    }
                }
            }
        }
    }
}

enum ProbeSendError {
    Encode(String),
    Conn(ConnError),
}

impl From<ConnError> for ProbeSendError {
    fn from(e: ConnError) -> Self {
        ProbeSendError::Conn(e)
    }
}

pub async fn run(a: ProbeArgs) -> Result<(), Failure> {
    let (brokers, cfg) = a.connect.config().map_err(Failure::usage)?;
    let cfg = Arc::new(cfg);
    let addr = brokers.first().cloned().unwrap_or_default();
    let b = Broker::new(&addr, None, cfg);
    let n = b.connection().await.map_err(|e: ClientError| Failure {
        code: exit::code(e.kind()),
        message: format!("broker {addr}: {e}"),
    })?;
    let table: Vec<(ApiKey, kwire::VersionRange)> = n.versions.apis().collect();
    let total: usize = table
        .iter()
        .map(|(_, r)| (r.max - r.min + 1).max(0) as usize)
        .sum();
    let mut rows = Vec::new();
    let mut done = 0usize;
    let mut rejected = 0usize;
    for (api, range) in table {
        for v in range.min..=range.max {
            done += 1;
            let outcome = if our_range(api).is_some_and(|o| o.min <= v && v <= o.max) {
                probe_one(&b, api, v).await
            } else {
                Outcome::NotProbed("outside this build's versions".into())
            };
            if matches!(outcome, Outcome::Rejected(_)) {
                rejected += 1;
            }
            // Progress on stderr: a long run shows where it is.
            if done % 20 == 0 || done == total {
                eprintln!("kwire probe: {done}/{total} versions");
            }
            rows.push((api, v, outcome));
        }
    }
    b.disconnect().await;
    if a.json {
        let items: Vec<Value> = rows
            .iter()
            .map(|(api, v, o)| {
                let (status, detail) = match o {
                    Outcome::Accepted(c) => ("accepted", c.map(|c| c.to_string())),
                    Outcome::Rejected(m) => ("rejected", Some(m.clone())),
                    Outcome::NoReply(m) => ("no_reply", Some(m.clone())),
                    Outcome::NotProbed(m) => ("not_probed", Some(m.clone())),
                };
                json!({"apiKey": api.0, "api": api_name(*api), "version": v,
                       "status": status, "detail": detail})
            })
            .collect();
        out::println(&format!(
            "{:#}",
            json!({"broker": addr, "rejected": rejected, "versions": items})
        ))?;
    } else {
        let mut text = format!("broker {addr}: {total} advertised versions, {rejected} rejected\n");
        for (api, v, o) in &rows {
            let line = match o {
                Outcome::Accepted(None) => "accepted".to_string(),
                Outcome::Accepted(Some(c)) => format!("accepted (answered {c})"),
                Outcome::Rejected(m) => format!("REJECTED: {m}"),
                Outcome::NoReply(m) => format!("no reply: {m}"),
                Outcome::NotProbed(m) => format!("not probed: {m}"),
            };
            text.push_str(&format!("{}({}) v{v}: {line}\n", api_name(*api), api.0));
        }
        out::print(&text)?;
    }
    if rejected > 0 {
        return Err(Failure {
            code: exit::PROBE_REJECTED,
            message: format!("{rejected} advertised version(s) rejected"),
        });
    }
    Ok(())
}
