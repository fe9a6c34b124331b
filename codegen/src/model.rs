//! The resolved, validated model: pure data, no syn/quote.
//!
//! Built from [`crate::schema`] in two steps per file, in the manner of
//! Kafka's `StructRegistry` and `FieldSpec`:
//!
//! 1. **build**: common structs are registered first (so forward references
//!    between them work, as 3.5's AddPartitionsToTxnResponse needs), then
//!    the field tree is walked, each field checked the way Kafka's own
//!    `FieldSpec`/`MessageSpec` constructors check it;
//! 2. **resolve**: the facts the emitter needs are computed once per struct
//!    and field (the versions a struct's code must handle, where a field is
//!    on the wire, tagged, nullable or compact, the fewest bytes a struct
//!    takes), so no emitter re-derives them.
//!
//! [`Model::from_files`] also pairs every request with its response; a
//! pairing error fails the model (and with it `generate` and `check`).

use std::collections::{BTreeMap, BTreeSet};

use crate::error::GenError;
use crate::schema::{FieldSpec, MessageSpec, ParsedFile};
use crate::versions::Versions;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum MessageKind {
    Request,
    Response,
    Header,
    Data,
    Metadata,
}

/// Who encodes a message and who decodes it: what the `client` and
/// `broker` cargo features of the generated crate select.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Direction {
    /// Requests and the request header: clients encode, brokers decode.
    ClientToBroker,
    /// Responses and the response header: brokers encode, clients decode.
    BrokerToClient,
    /// Data messages (consumer protocol, ...): both sides do both.
    Both,
}

#[derive(Debug, Clone, PartialEq)]
pub enum FieldType {
    Bool,
    Int8,
    Int16,
    Uint16,
    Int32,
    Uint32,
    Int64,
    Float64,
    String,
    Bytes,
    Records,
    Uuid,
    /// A struct, by name (resolved within the message).
    Struct(String),
    Array(Box<FieldType>),
}

impl FieldType {
    pub fn parse(s: &str) -> Option<FieldType> {
        if let Some(inner) = s.strip_prefix("[]") {
            let inner = FieldType::parse(inner)?;
            if matches!(inner, FieldType::Array(_)) {
                return None;
            }
            return Some(FieldType::Array(Box::new(inner)));
        }
        Some(match s {
            "bool" => FieldType::Bool,
            "int8" => FieldType::Int8,
            "int16" => FieldType::Int16,
            "uint16" => FieldType::Uint16,
            "int32" => FieldType::Int32,
            "uint32" => FieldType::Uint32,
            "int64" => FieldType::Int64,
            "float64" => FieldType::Float64,
            "string" => FieldType::String,
            "bytes" => FieldType::Bytes,
            "records" => FieldType::Records,
            "uuid" => FieldType::Uuid,
            s if s.chars().next().is_some_and(|c| c.is_ascii_uppercase())
                && s.chars().all(|c| c.is_ascii_alphanumeric()) =>
            {
                FieldType::Struct(s.to_string())
            }
            _ => return None,
        })
    }

    /// Types that may be null on the wire (KIP-893 added structs).
    pub fn can_be_nullable(&self) -> bool {
        matches!(
            self,
            FieldType::String
                | FieldType::Bytes
                | FieldType::Records
                | FieldType::Array(_)
                | FieldType::Struct(_)
        )
    }

    /// The struct a field of this type holds (itself or as array elements).
    pub fn struct_name(&self) -> Option<&str> {
        match self {
            FieldType::Struct(n) => Some(n),
            FieldType::Array(inner) => match inner.as_ref() {
                FieldType::Struct(n) => Some(n),
                _ => None,
            },
            _ => None,
        }
    }

    /// Fixed wire width, for the types that have one.
    pub fn fixed_width(&self) -> Option<usize> {
        Some(match self {
            FieldType::Bool | FieldType::Int8 => 1,
            FieldType::Int16 | FieldType::Uint16 => 2,
            FieldType::Int32 | FieldType::Uint32 => 4,
            FieldType::Int64 | FieldType::Float64 => 8,
            FieldType::Uuid => 16,
            _ => return None,
        })
    }

    pub fn schema_name(&self) -> String {
        match self {
            FieldType::Bool => "bool".into(),
            FieldType::Int8 => "int8".into(),
            FieldType::Int16 => "int16".into(),
            FieldType::Uint16 => "uint16".into(),
            FieldType::Int32 => "int32".into(),
            FieldType::Uint32 => "uint32".into(),
            FieldType::Int64 => "int64".into(),
            FieldType::Float64 => "float64".into(),
            FieldType::String => "string".into(),
            FieldType::Bytes => "bytes".into(),
            FieldType::Records => "records".into(),
            FieldType::Uuid => "uuid".into(),
            FieldType::Struct(n) => n.clone(),
            FieldType::Array(t) => format!("[]{}", t.schema_name()),
        }
    }
}

/// A field default, checked against the field's type.
#[derive(Debug, Clone, PartialEq)]
pub enum DefaultValue {
    /// No default given: the type's zero (0, false, "", empty, zero UUID).
    TypeZero,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
    Null,
}

/// Kafka's `EntityType`: what a field identifies, and the only field type
/// each may be used with (arrays of that type included).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntityType {
    TransactionalId,
    ProducerId,
    GroupId,
    TopicName,
    BrokerId,
}

impl EntityType {
    pub fn parse(s: &str) -> Option<EntityType> {
        Some(match s {
            "transactionalId" => EntityType::TransactionalId,
            "producerId" => EntityType::ProducerId,
            "groupId" => EntityType::GroupId,
            "topicName" => EntityType::TopicName,
            "brokerId" => EntityType::BrokerId,
            _ => return None,
        })
    }

    pub fn schema_name(self) -> &'static str {
        match self {
            EntityType::TransactionalId => "transactionalId",
            EntityType::ProducerId => "producerId",
            EntityType::GroupId => "groupId",
            EntityType::TopicName => "topicName",
            EntityType::BrokerId => "brokerId",
        }
    }

    /// The field type the entity must have.
    pub fn base_type(self) -> FieldType {
        match self {
            EntityType::TransactionalId | EntityType::GroupId | EntityType::TopicName => {
                FieldType::String
            }
            EntityType::ProducerId => FieldType::Int64,
            EntityType::BrokerId => FieldType::Int32,
        }
    }
}

/// One field: what the schema says, then the facts resolved for the
/// struct it sits in.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldModel {
    pub name: String,
    pub ty: FieldType,
    /// Versions the field exists in (on the wire, tagged or not).
    pub versions: Versions,
    pub nullable: Versions,
    /// Versions where the field is tagged; empty for a regular field.
    pub tagged: Versions,
    pub tag: Option<u32>,
    pub ignorable: bool,
    pub default: DefaultValue,
    pub map_key: bool,
    pub entity_type: Option<EntityType>,
    /// A field-level `flexibleVersions` override (only `RequestHeader.ClientId`
    /// uses it: the client id stays a classic string in header v2).
    pub flexible_override: Option<Versions>,
    /// Bytes marked `zeroCopy` (Kafka keeps them as views of the input).
    pub zero_copy: bool,
    pub about: Option<String>,

    // Resolved facts, relative to the struct's possible versions.
    /// Versions (of those the struct handles) in which the field exists.
    pub present: Versions,
    /// Versions in which it is a regular (untagged) field on the wire.
    pub regular: Versions,
    /// Versions in which it is a tagged field.
    pub tagged_in: Versions,
    /// Versions in which it may be null.
    pub nullable_in: Versions,
    /// The Rust field is an `Option` (nullable in some version it has).
    pub optional: bool,
    /// Versions whose strings, bytes and arrays use compact lengths.
    pub compact: Versions,
}

impl FieldModel {
    /// Records and `zeroCopy` bytes: a segmented encode writes them by
    /// reference, as Kafka's `SendBuilder` does (`writeRecords`,
    /// `writeByteBuffer`).
    pub fn by_reference(&self) -> bool {
        matches!(self.ty, FieldType::Records) || self.zero_copy
    }

    /// The wire width when the field is a non-null fixed-width scalar.
    pub fn fixed_width(&self) -> Option<usize> {
        if self.optional {
            None
        } else {
            self.ty.fixed_width()
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct StructModel {
    pub name: String,
    /// The versions the schema gives the struct (its field's versions).
    pub versions: Versions,
    pub fields: Vec<FieldModel>,
    pub common: bool,

    // Resolved facts.
    /// The versions its generated code must handle: the message's valid
    /// versions for the root and for common structs (shared by fields of
    /// different versions), else its own versions within them.
    pub possible: Versions,
    /// The flexible versions among them (tagged-field section present).
    pub flexible: Versions,
    /// The fewest bytes one value takes on the wire at any possible version.
    pub min_size: usize,
    /// Indices of the fields tagged in some possible version, in tag order
    /// (the order Kafka writes them).
    pub tag_order: Vec<usize>,
    /// Response structs only: what the error-code walk reads here. `None`
    /// when neither the struct nor anything below it has an error code.
    pub errors: Option<StructErrors>,
}

/// Where a struct's error code applies, decided from the schema: the root
/// of a response is the request level; a struct with a partition index
/// whose parent names a topic is a partition; one that names a topic
/// (`entityType` topicName, or a uuid `TopicId`) a topic; one keyed by a
/// group or transactional id (`entityType`) a key; anything else an entry
/// of its own kind (a config resource, an ACL, a member, ...).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorSite {
    Request,
    /// `index`: the partition index field; `leader`: a `CurrentLeader`
    /// struct field (leader id and epoch, KIP-951) beside the code.
    Partition {
        index: usize,
        leader: Option<usize>,
    },
    Topic,
    /// `field`: the id; `entity`: group id or transactional id.
    Key {
        field: usize,
        entity: EntityType,
    },
    Entry,
}

/// The fields by which a struct names a topic: a `topicName` string, a
/// `TopicId` uuid (KIP-516), or both.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TopicFields {
    pub name: Option<usize>,
    pub id: Option<usize>,
    /// The versions at which the id names the topic: where it is present
    /// and the name is absent or nullable (DeleteTopics v6+ takes topics
    /// by id with a null name). Where the name is always there the id only
    /// informs (CreateTopics v7+ returns the new topic's id beside its name).
    pub id_names: Versions,
}

/// The error-code facts of one response struct.
#[derive(Debug, Clone, PartialEq)]
pub struct StructErrors {
    /// The struct's own error code (field index) and where it applies.
    pub code: Option<(usize, ErrorSite)>,
    /// The topic the struct names, for its own code (a topic site) and for
    /// the partitions below it.
    pub topic: Option<TopicFields>,
    /// Struct-typed fields (structs or arrays of them) below which error
    /// codes sit, in field order.
    pub nested: Vec<usize>,
}

/// Facts of a response as a whole.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ReplyModel {
    /// The root's `ThrottleTimeMs` field (KIP-219), by index.
    pub throttle: Option<usize>,
    /// The versions (as maximal runs) at which some error code below the
    /// request level exists: where the top-level code is not the only one.
    pub entry_errors: Vec<Versions>,
}

impl StructModel {
    pub fn tagged_fields(&self) -> impl Iterator<Item = &FieldModel> {
        self.tag_order.iter().map(|&i| &self.fields[i])
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct MessageModel {
    pub file: String,
    pub name: String,
    pub kind: MessageKind,
    pub api_key: Option<i16>,
    pub valid: Versions,
    pub flexible: Versions,
    pub deprecated: Versions,
    pub latest_unstable: bool,
    pub listeners: Vec<String>,
    /// Responses only: the facts every response is read for.
    pub reply: Option<ReplyModel>,
    /// The struct registry: the root struct first, then nested and common
    /// structs in schema order.
    pub structs: Vec<StructModel>,
    registry: BTreeMap<String, usize>,
}

impl MessageModel {
    pub fn root(&self) -> &StructModel {
        &self.structs[0]
    }

    pub fn find_struct(&self, name: &str) -> Option<&StructModel> {
        self.registry.get(name).map(|&i| &self.structs[i])
    }

    /// The highest version a client should use: the latest unstable version
    /// is left out unless asked for.
    pub fn stable_valid(&self) -> Versions {
        if self.latest_unstable && !self.valid.is_empty() {
            if self.valid.lo == self.valid.hi {
                Versions::NONE
            } else {
                Versions::new(self.valid.lo, self.valid.hi - 1)
            }
        } else {
            self.valid
        }
    }

    /// The first flexible version, if any.
    pub fn flexible_min(&self) -> Option<i16> {
        (!self.flexible.is_empty()).then_some(self.flexible.lo)
    }

    pub fn is_live(&self) -> bool {
        !self.valid.is_empty()
    }

    pub fn direction(&self) -> Direction {
        match self.kind {
            MessageKind::Request => Direction::ClientToBroker,
            MessageKind::Response => Direction::BrokerToClient,
            MessageKind::Header if self.name.starts_with("Request") => Direction::ClientToBroker,
            MessageKind::Header if self.name.starts_with("Response") => Direction::BrokerToClient,
            _ => Direction::Both,
        }
    }
}

/// One API: a request schema and its response schema (indices into
/// [`Model::messages`]), paired by api key.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiModel {
    pub key: i16,
    /// `ApiVersions` for `ApiVersionsRequest`/`ApiVersionsResponse`.
    pub name: String,
    pub request: usize,
    pub response: usize,
}

/// Everything generated from one schema directory.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    /// Sorted by message name.
    pub messages: Vec<MessageModel>,
    /// Sorted by api key.
    pub apis: Vec<ApiModel>,
    pub warnings: Vec<String>,
}

/// The API name of a request/response: `ApiVersionsRequest` -> `ApiVersions`.
pub fn api_name(message: &str) -> &str {
    message
        .strip_suffix("Request")
        .or_else(|| message.strip_suffix("Response"))
        .unwrap_or(message)
}

impl Model {
    pub fn from_files(files: &[ParsedFile]) -> Result<Model, GenError> {
        let mut messages = Vec::new();
        let mut warnings = Vec::new();
        for f in files {
            warnings.extend(f.warnings.iter().cloned());
            messages.push(build_message(&f.file_name, &f.spec)?);
        }
        messages.sort_by(|a, b| a.name.cmp(&b.name));
        // Each (api key, request/response) once, and names unique.
        let mut seen = BTreeMap::new();
        for m in &messages {
            if let Some(prev) = seen.insert(m.name.clone(), m.file.clone()) {
                return Err(GenError::Message {
                    file: m.file.clone(),
                    message: m.name.clone(),
                    problem: format!("message name also defined in {prev}"),
                });
            }
        }
        let mut keys = BTreeMap::new();
        for m in &messages {
            if let Some(k) = m.api_key {
                if let Some(prev) = keys.insert((k, m.kind), m.name.clone()) {
                    return Err(GenError::Message {
                        file: m.file.clone(),
                        message: m.name.clone(),
                        problem: format!("api key {k} is also used by {prev}"),
                    });
                }
            }
        }
        let apis = pair_apis(&messages)?;
        Ok(Model {
            messages,
            apis,
            warnings,
        })
    }

    pub fn find(&self, name: &str) -> Option<&MessageModel> {
        self.messages.iter().find(|m| m.name == name)
    }

    pub fn request(&self, api: &ApiModel) -> &MessageModel {
        &self.messages[api.request]
    }

    pub fn response(&self, api: &ApiModel) -> &MessageModel {
        &self.messages[api.response]
    }

    /// Kafka removed the API (`"validVersions": "none"`); its key stays reserved.
    pub fn is_removed(&self, api: &ApiModel) -> bool {
        !self.request(api).is_live()
    }
}

/// Pairs requests with responses; Kafka's generator requires both to have
/// the same valid versions and the same API name.
fn pair_apis(messages: &[MessageModel]) -> Result<Vec<ApiModel>, GenError> {
    let mut req = BTreeMap::new();
    let mut resp = BTreeMap::new();
    for (i, m) in messages.iter().enumerate() {
        match (m.kind, m.api_key) {
            (MessageKind::Request, Some(k)) => {
                req.insert(k, i);
            }
            (MessageKind::Response, Some(k)) => {
                resp.insert(k, i);
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    for (&k, &qi) in &req {
        let rq = &messages[qi];
        let &si = resp.get(&k).ok_or_else(|| GenError::Message {
            file: rq.file.clone(),
            message: rq.name.clone(),
            problem: format!("no response schema has api key {k}"),
        })?;
        let rs = &messages[si];
        if rq.valid != rs.valid {
            return Err(GenError::Message {
                file: rs.file.clone(),
                message: rs.name.clone(),
                problem: format!(
                    "valid versions {} differ from the request's {}",
                    rs.valid, rq.valid
                ),
            });
        }
        if api_name(&rq.name) != api_name(&rs.name) {
            return Err(GenError::Message {
                file: rs.file.clone(),
                message: rs.name.clone(),
                problem: format!("api key {k} pairs it with {}", rq.name),
            });
        }
        out.push(ApiModel {
            key: k,
            name: api_name(&rq.name).to_string(),
            request: qi,
            response: si,
        });
    }
    for (k, &si) in &resp {
        if !req.contains_key(k) {
            let rs = &messages[si];
            return Err(GenError::Message {
                file: rs.file.clone(),
                message: rs.name.clone(),
                problem: format!("no request schema has api key {k}"),
            });
        }
    }
    Ok(out)
}

struct Ctx<'a> {
    file: &'a str,
    message: &'a str,
}

impl Ctx<'_> {
    fn msg_err(&self, problem: impl Into<String>) -> GenError {
        GenError::Message {
            file: self.file.to_string(),
            message: self.message.to_string(),
            problem: problem.into(),
        }
    }

    fn field_err(&self, strukt: &str, field: &str, problem: impl Into<String>) -> GenError {
        GenError::Field {
            file: self.file.to_string(),
            message: strukt.to_string(),
            field: field.to_string(),
            problem: problem.into(),
        }
    }

    fn versions(&self, what: &str, s: &str) -> Result<Versions, GenError> {
        Versions::parse(s)
            .ok_or_else(|| self.msg_err(format!("{what}: invalid version range {s:?}")))
    }
}

/// What `build_fields` threads through the recursion.
struct Registry<'a> {
    common: BTreeMap<String, &'a crate::schema::StructSpec>,
    structs: Vec<StructModel>,
    names: BTreeSet<String>,
    common_done: BTreeSet<String>,
}

fn build_message(file: &str, spec: &MessageSpec) -> Result<MessageModel, GenError> {
    let cx = Ctx {
        file,
        message: &spec.name,
    };
    let kind = match spec.kind.as_str() {
        "request" => MessageKind::Request,
        "response" => MessageKind::Response,
        "header" => MessageKind::Header,
        "data" => MessageKind::Data,
        "metadata" => MessageKind::Metadata,
        other => return Err(cx.msg_err(format!("unknown message type {other:?}"))),
    };
    if matches!(kind, MessageKind::Request | MessageKind::Response) && spec.api_key.is_none() {
        return Err(cx.msg_err("requests and responses need an apiKey"));
    }
    if let Some(k) = spec.api_key {
        if k < 0 {
            return Err(cx.msg_err(format!("negative apiKey {k}")));
        }
    }
    if !spec
        .name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_uppercase())
        || !spec.name.chars().all(|c| c.is_ascii_alphanumeric())
    {
        return Err(cx.msg_err("message names are PascalCase ASCII"));
    }
    let valid = cx.versions("validVersions", &spec.valid_versions)?;
    let flexible = match &spec.flexible_versions {
        Some(s) => cx.versions("flexibleVersions", s)?,
        // Schemas from before KIP-482 (Kafka 2.2 and 2.3) have no
        // flexibleVersions: nothing in them is flexible.
        None => Versions::NONE,
    };
    // MessageSpec: once flexible, always flexible.
    if !flexible.is_empty() && !flexible.is_open() {
        return Err(cx.msg_err(format!(
            "flexibleVersions {flexible} must be open-ended (\"N+\") or \"none\""
        )));
    }
    let deprecated = match &spec.deprecated_versions {
        Some(s) => cx.versions("deprecatedVersions", s)?,
        None => Versions::NONE,
    };
    if spec.latest_version_unstable && valid.is_empty() {
        return Err(cx.msg_err("latestVersionUnstable set on a message with no valid versions"));
    }

    // Register common structs first so fields may refer to them in any order.
    let mut reg = Registry {
        common: BTreeMap::new(),
        structs: Vec::new(),
        names: BTreeSet::new(),
        common_done: BTreeSet::new(),
    };
    for cs in &spec.common_structs {
        if reg.common.insert(cs.name.clone(), cs).is_some() {
            return Err(cx.msg_err(format!("common struct {} is defined twice", cs.name)));
        }
    }
    reg.names.insert(spec.name.clone());

    let root_fields = build_fields(&cx, &spec.name, valid, flexible, &spec.fields, &mut reg)?;
    reg.structs
        .insert(0, new_struct(&spec.name, valid, root_fields, false));
    // Common structs nobody referenced are still generated (Kafka does too),
    // with the versions their declaration gives.
    for cs in &spec.common_structs {
        if !reg.common_done.contains(&cs.name) {
            if reg.names.contains(&cs.name) {
                return Err(cx.msg_err(format!("struct {} is defined twice", cs.name)));
            }
            reg.names.insert(cs.name.clone());
            reg.common_done.insert(cs.name.clone());
            let versions = cx.versions(&format!("{}.versions", cs.name), &cs.versions)?;
            let fields = build_fields(&cx, &cs.name, versions, flexible, &cs.fields, &mut reg)?;
            reg.structs
                .push(new_struct(&cs.name, versions, fields, true));
        }
    }

    let registry = reg
        .structs
        .iter()
        .enumerate()
        .map(|(i, s)| (s.name.clone(), i))
        .collect();
    let mut m = MessageModel {
        file: file.to_string(),
        name: spec.name.clone(),
        kind,
        api_key: spec.api_key,
        valid,
        flexible,
        deprecated,
        latest_unstable: spec.latest_version_unstable,
        listeners: spec.listeners.clone(),
        reply: None,
        structs: reg.structs,
        registry,
    };
    resolve(&mut m);
    Ok(m)
}

fn new_struct(
    name: &str,
    versions: Versions,
    fields: Vec<FieldModel>,
    common: bool,
) -> StructModel {
    StructModel {
        name: name.to_string(),
        versions,
        fields,
        common,
        possible: Versions::NONE,
        flexible: Versions::NONE,
        min_size: 0,
        tag_order: Vec::new(),
        errors: None,
    }
}

/// Computes the per-struct and per-field facts (step 2).
fn resolve(m: &mut MessageModel) {
    let valid = m.valid;
    let flexible = m.flexible;
    for (i, s) in m.structs.iter_mut().enumerate() {
        s.possible = if i == 0 || s.common {
            valid
        } else {
            s.versions.intersect(&valid)
        };
        s.flexible = flexible.intersect(&s.possible);
        let p = s.possible;
        for f in &mut s.fields {
            f.present = f.versions.intersect(&p);
            f.tagged_in = f.tagged.intersect(&p);
            // Validated: taggedVersions is open-ended and inside versions,
            // so what is left is one range.
            f.regular = f.present.subtract(&f.tagged_in).unwrap_or(f.present);
            f.nullable_in = f.nullable.intersect(&f.present);
            f.optional = !f.nullable_in.is_empty();
            f.compact = f.flexible_override.unwrap_or(flexible);
        }
        let mut order: Vec<usize> = (0..s.fields.len())
            .filter(|&i| !s.fields[i].tagged_in.is_empty())
            .collect();
        order.sort_by_key(|&i| s.fields[i].tag);
        s.tag_order = order;
    }
    // Minimum sizes, nested structs first (schemas have no recursive structs;
    // a cycle would count as zero bytes, never loop).
    let mut memo: BTreeMap<usize, usize> = BTreeMap::new();
    for i in 0..m.structs.len() {
        let n = min_size(m, i, &mut memo, &mut BTreeSet::new());
        m.structs[i].min_size = n;
    }
    if m.kind == MessageKind::Response {
        resolve_errors(m);
    }
}

/// The field that is a struct's error code: an int16 named `ErrorCode`,
/// else its only int16 whose name ends in `ErrorCode`
/// (AddPartitionsToTxn's `PartitionErrorCode`). A second code beside
/// `ErrorCode` (CreateTopics' `TopicConfigErrorCode`, ShareFetch's
/// `AcknowledgeErrorCode`) qualifies part of the entry, not its outcome.
fn error_code_field(s: &StructModel) -> Option<usize> {
    let int16 = |f: &FieldModel| f.ty == FieldType::Int16 && !f.present.is_empty();
    if let Some(i) = s
        .fields
        .iter()
        .position(|f| int16(f) && f.name == "ErrorCode")
    {
        return Some(i);
    }
    let mut ends = (0..s.fields.len())
        .filter(|&i| int16(&s.fields[i]) && s.fields[i].name.ends_with("ErrorCode"));
    match (ends.next(), ends.next()) {
        (Some(i), None) => Some(i),
        _ => None,
    }
}

fn topic_fields(s: &StructModel) -> Option<TopicFields> {
    let name = s.fields.iter().position(|f| {
        f.entity_type == Some(EntityType::TopicName)
            && f.ty == FieldType::String
            && !f.present.is_empty()
    });
    let id = s
        .fields
        .iter()
        .position(|f| f.name == "TopicId" && f.ty == FieldType::Uuid && !f.present.is_empty());
    let id_present = id.map_or(Versions::NONE, |i| s.fields[i].present);
    let id_names = match name {
        None => id_present,
        Some(n) => {
            let n = &s.fields[n];
            let never_null = n.present.subtract(&n.nullable_in).unwrap_or(n.present);
            id_present.subtract(&never_null).unwrap_or(id_present)
        }
    };
    (name.is_some() || id.is_some()).then_some(TopicFields { name, id, id_names })
}

/// Kafka names a partition's index `PartitionIndex`, `Partition`,
/// `PartitionId` or (Produce, FetchSnapshot) `Index`.
fn partition_index_field(s: &StructModel) -> Option<usize> {
    s.fields.iter().position(|f| {
        f.ty == FieldType::Int32
            && f.present.contains_range(&s.possible)
            && matches!(
                f.name.as_str(),
                "PartitionIndex" | "Partition" | "PartitionId" | "Index"
            )
    })
}

/// A `CurrentLeader` struct of `LeaderId` and `LeaderEpoch` (KIP-951).
fn leader_field(m: &MessageModel, s: &StructModel) -> Option<usize> {
    let i = s.fields.iter().position(|f| f.name == "CurrentLeader")?;
    let FieldType::Struct(name) = &s.fields[i].ty else {
        return None;
    };
    let l = m.find_struct(name)?;
    let has = |n: &str| {
        l.fields.iter().any(|f| {
            f.name == n && f.ty == FieldType::Int32 && f.present.contains_range(&l.possible)
        })
    };
    (has("LeaderId") && has("LeaderEpoch")).then_some(i)
}

/// Whether struct `i` or anything below it has an error code.
fn carries_errors(
    m: &MessageModel,
    i: usize,
    memo: &mut BTreeMap<usize, bool>,
    visiting: &mut BTreeSet<usize>,
) -> bool {
    if let Some(&b) = memo.get(&i) {
        return b;
    }
    if !visiting.insert(i) {
        return false;
    }
    let s = &m.structs[i];
    let mut any = error_code_field(s).is_some();
    for f in &s.fields {
        if f.present.is_empty() {
            continue;
        }
        if let Some(&j) = f.ty.struct_name().and_then(|n| m.registry.get(n)) {
            any |= carries_errors(m, j, memo, visiting);
        }
    }
    visiting.remove(&i);
    memo.insert(i, any);
    any
}

/// The error-code walk of a response (step 2, responses only).
fn resolve_errors(m: &mut MessageModel) {
    let mut memo = BTreeMap::new();
    let carries: Vec<bool> = (0..m.structs.len())
        .map(|i| carries_errors(m, i, &mut memo, &mut BTreeSet::new()))
        .collect();
    // Which structs are nested in a struct that names a topic.
    let mut under_topic = BTreeSet::new();
    for s in &m.structs {
        if topic_fields(s).is_none() {
            continue;
        }
        for f in &s.fields {
            if let Some(&j) = f.ty.struct_name().and_then(|n| m.registry.get(n)) {
                under_topic.insert(j);
            }
        }
    }
    let mut all = Vec::with_capacity(m.structs.len());
    for (i, s) in m.structs.iter().enumerate() {
        if !carries[i] {
            all.push(None);
            continue;
        }
        let topic = topic_fields(s);
        let code = error_code_field(s).map(|c| {
            let key = s.fields.iter().position(|f| {
                matches!(
                    f.entity_type,
                    Some(EntityType::GroupId | EntityType::TransactionalId)
                ) && f.ty == FieldType::String
                    && f.present.contains_range(&s.possible)
            });
            let site = if i == 0 {
                ErrorSite::Request
            } else if let (Some(index), true) = (partition_index_field(s), under_topic.contains(&i))
            {
                ErrorSite::Partition {
                    index,
                    leader: leader_field(m, s),
                }
            } else if topic.is_some() {
                ErrorSite::Topic
            } else if let Some(field) = key {
                ErrorSite::Key {
                    field,
                    entity: s.fields[field].entity_type.expect("checked above"),
                }
            } else {
                ErrorSite::Entry
            };
            (c, site)
        });
        let nested = (0..s.fields.len())
            .filter(|&k| {
                let f = &s.fields[k];
                !f.present.is_empty()
                    && f.ty
                        .struct_name()
                        .and_then(|n| m.registry.get(n))
                        .is_some_and(|&j| carries[j])
            })
            .collect();
        all.push(Some(StructErrors {
            code,
            topic,
            nested,
        }));
    }
    for (s, e) in m.structs.iter_mut().zip(all) {
        s.errors = e;
    }
    // Where codes below the root exist: every path from the root, each
    // field's versions narrowing the ones above it.
    let mut below = 0u64;
    let root = m.root();
    for &k in root.errors.iter().flat_map(|e| e.nested.iter()) {
        entry_versions(m, &root.fields[k], root.fields[k].present, &mut below, 0);
    }
    let throttle = root.fields.iter().position(|f| {
        f.name == "ThrottleTimeMs" && f.ty == FieldType::Int32 && !f.present.is_empty()
    });
    m.reply = Some(ReplyModel {
        throttle,
        entry_errors: runs(below),
    });
}

/// Adds to `mask` the versions (within `path`) at which an error code sits
/// at or below the struct field `f` holds.
fn entry_versions(m: &MessageModel, f: &FieldModel, path: Versions, mask: &mut u64, depth: usize) {
    let Some(s) = f.ty.struct_name().and_then(|n| m.find_struct(n)) else {
        return;
    };
    // Schemas have no recursive structs; a cycle stops here, never loops.
    if depth > 32 || path.is_empty() {
        return;
    }
    let path = path.intersect(&s.possible);
    let Some(e) = &s.errors else { return };
    if let Some((c, _)) = e.code {
        let v = s.fields[c].present.intersect(&path);
        for x in v.lo.max(0)..=v.hi.min(63) {
            *mask |= 1 << x;
        }
    }
    for &k in &e.nested {
        let g = &s.fields[k];
        entry_versions(m, g, g.present.intersect(&path), mask, depth + 1);
    }
}

/// The maximal runs of a version mask, lowest first.
fn runs(mask: u64) -> Vec<Versions> {
    let mut out: Vec<Versions> = Vec::new();
    for v in 0..64i16 {
        if mask & (1 << v) == 0 {
            continue;
        }
        match out.last_mut() {
            Some(r) if r.hi == v - 1 => r.hi = v,
            _ => out.push(Versions::new(v, v)),
        }
    }
    out
}

/// A lower bound on the encoded size of struct `i` at any possible version:
/// the fields on the wire, untagged and never null, in every version, plus
/// the tagged-field count where every version is flexible. Compact lengths
/// (one byte) are assumed wherever a flexible version exists.
fn min_size(
    m: &MessageModel,
    i: usize,
    memo: &mut BTreeMap<usize, usize>,
    visiting: &mut BTreeSet<usize>,
) -> usize {
    if let Some(&n) = memo.get(&i) {
        return n;
    }
    if !visiting.insert(i) {
        return 0;
    }
    let s = &m.structs[i];
    let p = s.possible;
    let compact_possible = !s.flexible.is_empty();
    let mut total = 0;
    for f in &s.fields {
        if !f.regular.contains_range(&p) || f.optional {
            continue;
        }
        total += match &f.ty {
            FieldType::String => {
                if compact_possible {
                    1
                } else {
                    2
                }
            }
            FieldType::Bytes | FieldType::Records | FieldType::Array(_) => {
                if compact_possible {
                    1
                } else {
                    4
                }
            }
            FieldType::Struct(n) => match m.registry.get(n) {
                Some(&j) => min_size(m, j, memo, visiting),
                None => 0,
            },
            other => other.fixed_width().unwrap_or(0),
        };
    }
    if compact_possible && s.flexible == p {
        total += 1;
    }
    visiting.remove(&i);
    memo.insert(i, total);
    total
}

fn build_fields(
    cx: &Ctx<'_>,
    struct_name: &str,
    struct_versions: Versions,
    flexible: Versions,
    specs: &[FieldSpec],
    reg: &mut Registry<'_>,
) -> Result<Vec<FieldModel>, GenError> {
    let mut out = Vec::new();
    let mut field_names = BTreeSet::new();
    let mut tags = BTreeSet::new();
    for fs in specs {
        let ferr = |p: String| cx.field_err(struct_name, &fs.name, p);
        if !field_names.insert(fs.name.clone()) {
            return Err(ferr("field name used twice in this struct".into()));
        }
        if !fs
            .name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic())
            || !fs.name.chars().all(|c| c.is_ascii_alphanumeric())
        {
            return Err(ferr(format!("invalid field name {:?}", fs.name)));
        }
        let ty =
            FieldType::parse(&fs.ty).ok_or_else(|| ferr(format!("unknown type {:?}", fs.ty)))?;
        let parse = |what: &str, s: &str| {
            Versions::parse(s).ok_or_else(|| ferr(format!("{what}: invalid version range {s:?}")))
        };
        let tagged = match &fs.tagged_versions {
            Some(s) => parse("taggedVersions", s)?,
            None => Versions::NONE,
        };
        let versions = match &fs.versions {
            Some(s) => parse("versions", s)?,
            None if !tagged.is_empty() => tagged,
            None => {
                return Err(ferr(
                    "versions is required (only tagged fields may omit it)".into(),
                ))
            }
        };
        let nullable = match &fs.nullable_versions {
            Some(s) => parse("nullableVersions", s)?,
            None => Versions::NONE,
        };
        let flexible_override = match &fs.flexible_versions {
            Some(s) => {
                if !matches!(ty, FieldType::String | FieldType::Bytes) {
                    return Err(ferr(
                        "flexibleVersions can only be overridden on string and bytes fields".into(),
                    ));
                }
                let v = parse("flexibleVersions", s)?;
                if !v.is_empty() && !v.is_open() {
                    return Err(ferr(format!(
                        "flexibleVersions {v} must be open-ended or none"
                    )));
                }
                Some(v)
            }
            None => None,
        };
        // FieldSpec's tag rules.
        let tag = match (fs.tag, tagged.is_empty()) {
            (Some(_), true) => return Err(ferr("has a tag but no taggedVersions".into())),
            (None, false) => return Err(ferr("has taggedVersions but no tag".into())),
            (None, true) => None,
            (Some(t), false) => {
                if !(0..=i64::from(i32::MAX)).contains(&t) {
                    return Err(ferr(format!("tag {t} is out of range")));
                }
                if fs.map_key {
                    return Err(ferr("a tagged field cannot be a map key".into()));
                }
                if !tagged.is_open() {
                    return Err(ferr(format!("taggedVersions {tagged} must be open-ended")));
                }
                if !flexible.contains_range(&tagged) {
                    return Err(ferr(format!(
                        "taggedVersions {tagged} are not within the message's flexibleVersions {flexible}"
                    )));
                }
                if !versions.contains_range(&tagged) {
                    return Err(ferr(format!(
                        "taggedVersions {tagged} are not within the field's versions {versions}"
                    )));
                }
                if versions.subtract(&tagged).is_none() {
                    return Err(ferr("tagged and untagged versions interleave".into()));
                }
                // A tagged field at its default is left out, so "absent"
                // must mean one thing in every tagged version.
                let nt = nullable.intersect(&tagged);
                if !nt.is_empty() && nt != tagged {
                    return Err(ferr(format!(
                        "nullableVersions {nullable} cover only part of taggedVersions {tagged}: either every tagged version is nullable or none is"
                    )));
                }
                if !tags.insert(t) {
                    return Err(ferr(format!("tag {t} is used twice in this struct")));
                }
                Some(t as u32)
            }
        };
        if !nullable.is_empty() && !ty.can_be_nullable() {
            return Err(ferr(format!(
                "nullableVersions {nullable} given, but {} cannot be null",
                fs.ty
            )));
        }
        if fs.zero_copy && !matches!(ty, FieldType::Bytes) {
            return Err(ferr("zeroCopy applies only to bytes fields".into()));
        }
        if fs.map_key && ty.struct_name().is_some() {
            return Err(ferr("a map key must be a scalar field".into()));
        }
        let entity_type = match fs.entity_type.as_deref() {
            None | Some("unknown") => None,
            Some(e) => {
                let et = EntityType::parse(e)
                    .ok_or_else(|| ferr(format!("unknown entityType {e:?}")))?;
                let base = match &ty {
                    FieldType::Array(inner) => inner.as_ref(),
                    t => t,
                };
                if *base != et.base_type() {
                    return Err(ferr(format!(
                        "entityType {e} needs type {}, but the field is {}",
                        et.base_type().schema_name(),
                        fs.ty
                    )));
                }
                Some(et)
            }
        };
        let default = parse_default(&ty, fs, nullable, versions).map_err(ferr)?;

        // Nested structs: inline definition or a reference to a common struct.
        if let Some(sname) = ty.struct_name() {
            match (&fs.fields, reg.common.get(sname).copied()) {
                (Some(_), Some(_)) => {
                    return Err(ferr(format!(
                        "defines struct {sname} inline but a common struct has that name"
                    )))
                }
                (Some(fields), None) => {
                    if !reg.names.insert(sname.to_string()) {
                        return Err(ferr(format!(
                            "struct {sname} is defined twice in this message"
                        )));
                    }
                    let sv = versions.intersect(&struct_versions);
                    let nested = build_fields(cx, sname, sv, flexible, fields, reg)?;
                    reg.structs.push(new_struct(sname, sv, nested, false));
                }
                (None, Some(cs)) => {
                    if !reg.common_done.contains(sname) {
                        if !reg.names.insert(sname.to_string()) {
                            return Err(ferr(format!(
                                "struct {sname} is defined twice in this message"
                            )));
                        }
                        reg.common_done.insert(sname.to_string());
                        let sv = Versions::parse(&cs.versions).ok_or_else(|| {
                            ferr(format!(
                                "common struct {sname}: invalid versions {:?}",
                                cs.versions
                            ))
                        })?;
                        let nested = build_fields(cx, sname, sv, flexible, &cs.fields, reg)?;
                        reg.structs.push(new_struct(sname, sv, nested, true));
                    }
                }
                (None, None) => {
                    return Err(ferr(format!(
                    "refers to struct {sname}, which is neither defined inline nor a common struct"
                )))
                }
            }
        } else if fs.fields.is_some() {
            return Err(ferr(format!("type {} cannot have fields", fs.ty)));
        }

        out.push(FieldModel {
            name: fs.name.clone(),
            ty,
            versions,
            nullable,
            tagged,
            tag,
            ignorable: fs.ignorable,
            default,
            map_key: fs.map_key,
            entity_type,
            flexible_override,
            zero_copy: fs.zero_copy,
            about: fs.about.clone(),
            present: Versions::NONE,
            regular: Versions::NONE,
            tagged_in: Versions::NONE,
            nullable_in: Versions::NONE,
            optional: false,
            compact: Versions::NONE,
        });
    }
    Ok(out)
}

fn parse_int(s: &str) -> Option<i64> {
    let s = s.trim();
    if let Some(hex) = s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        i64::from_str_radix(hex, 16).ok()
    } else if let Some(hex) = s.strip_prefix("-0x") {
        i64::from_str_radix(hex, 16).ok().map(|v| -v)
    } else {
        s.parse().ok()
    }
}

fn parse_default(
    ty: &FieldType,
    fs: &FieldSpec,
    nullable: Versions,
    versions: Versions,
) -> Result<DefaultValue, String> {
    use serde_json::Value;
    let Some(v) = &fs.default else {
        return Ok(DefaultValue::TypeZero);
    };
    let text = match v {
        Value::String(s) => s.clone(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        other => {
            return Err(format!(
                "default {other} is not a string, number or boolean"
            ))
        }
    };
    if text == "null" {
        // Kafka: a null default needs the field to be nullable wherever it exists.
        if !ty.can_be_nullable() {
            return Err(format!("default null, but {} cannot be null", fs.ty));
        }
        if !nullable.contains_range(&versions) {
            return Err(format!(
                "default null, but the field is not nullable in all of its versions {versions} (nullableVersions {nullable})"
            ));
        }
        return Ok(DefaultValue::Null);
    }
    let range = |lo: i64, hi: i64| -> Result<DefaultValue, String> {
        let n = parse_int(&text).ok_or_else(|| format!("default {text:?} is not an integer"))?;
        if n < lo || n > hi {
            // Kafka accepts hex defaults for unsigned-looking values like
            // 0x7fffffff; anything beyond the type is an error.
            return Err(format!("default {text} is out of range for {}", fs.ty));
        }
        Ok(DefaultValue::Int(n))
    };
    match ty {
        FieldType::Bool => match text.as_str() {
            "true" => Ok(DefaultValue::Bool(true)),
            "false" => Ok(DefaultValue::Bool(false)),
            _ => Err(format!("default {text:?} is not a boolean")),
        },
        FieldType::Int8 => range(i8::MIN.into(), i8::MAX.into()),
        FieldType::Int16 => range(i16::MIN.into(), i16::MAX.into()),
        FieldType::Uint16 => range(0, u16::MAX.into()),
        FieldType::Int32 => range(i32::MIN.into(), i32::MAX.into()),
        FieldType::Uint32 => range(0, u32::MAX.into()),
        FieldType::Int64 => range(i64::MIN, i64::MAX),
        FieldType::Float64 => text
            .parse::<f64>()
            .map(DefaultValue::Float)
            .map_err(|_| format!("default {text:?} is not a number")),
        FieldType::String => Ok(DefaultValue::Str(text)),
        FieldType::Uuid => {
            if text.is_empty() {
                Ok(DefaultValue::TypeZero)
            } else {
                Err(format!("uuid default {text:?} is not supported"))
            }
        }
        FieldType::Bytes | FieldType::Records | FieldType::Array(_) | FieldType::Struct(_) => {
            if text.is_empty() {
                Ok(DefaultValue::TypeZero)
            } else {
                Err(format!("{} fields take only a null default", fs.ty))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::schema::parse_str;

    fn model(files: &[(&str, &str)]) -> Result<Model, GenError> {
        let parsed: Vec<ParsedFile> = files
            .iter()
            .map(|(n, t)| parse_str(n, t).unwrap())
            .collect();
        Model::from_files(&parsed)
    }

    const REQ: &str = r#"{ "apiKey": 9000, "type": "request", "name": "ThingRequest",
      "validVersions": "0-3", "flexibleVersions": "2+", "fields": [
      { "name": "Id", "type": "int32", "versions": "0+" },
      { "name": "Name", "type": "string", "versions": "1+", "nullableVersions": "3+" },
      { "name": "Items", "type": "[]Item", "versions": "0+", "fields": [
        { "name": "A", "type": "int64", "versions": "0+" },
        { "name": "B", "type": "int16", "versions": "2+", "taggedVersions": "2+", "tag": 7 },
        { "name": "C", "type": "int16", "versions": "2+", "taggedVersions": "2+", "tag": 1 } ] } ] }"#;
    const RESP: &str = r#"{ "apiKey": 9000, "type": "response", "name": "ThingResponse",
      "validVersions": "0-3", "flexibleVersions": "2+", "fields": [] }"#;

    #[test]
    fn facts_are_resolved_once_in_the_model() {
        let m = model(&[("ThingRequest.json", REQ), ("ThingResponse.json", RESP)]).unwrap();
        assert_eq!(m.apis.len(), 1);
        assert_eq!(m.apis[0].name, "Thing");
        assert_eq!(m.request(&m.apis[0]).name, "ThingRequest");
        let rq = m.find("ThingRequest").unwrap();
        assert_eq!(rq.direction(), Direction::ClientToBroker);
        let root = rq.root();
        let name = &root.fields[1];
        assert_eq!(name.present, Versions::new(1, 3));
        assert_eq!(name.nullable_in, Versions::new(3, 3));
        assert!(name.optional);
        assert_eq!(name.compact, Versions::new(2, i16::MAX));
        let item = rq.find_struct("Item").unwrap();
        assert_eq!(item.possible, Versions::new(0, 3));
        assert_eq!(item.flexible, Versions::new(2, 3));
        // Tag order, not schema order.
        let tags: Vec<_> = item.tagged_fields().map(|f| f.tag).collect();
        assert_eq!(tags, vec![Some(1), Some(7)]);
        // int64 only: the tag count is not there in v0-1.
        assert_eq!(item.min_size, 8);
        // Id (4) + Items (compact length: 1); Name is missing in v0.
        assert_eq!(root.min_size, 5);
    }

    #[test]
    fn a_response_without_its_request_fails_the_model() {
        let err = model(&[("ThingResponse.json", RESP)]).unwrap_err();
        assert!(
            err.to_string()
                .contains("no request schema has api key 9000"),
            "{err}"
        );
    }
}
