//! The resolved, validated model: pure data, no syn/quote.
//!
//! Built from [`crate::schema`] in one pass per file: common structs are
//! registered first (so forward references between them work, as 3.5's
//! AddPartitionsToTxnResponse needs), then the field tree is walked, each
//! field checked the way Kafka's own `FieldSpec`/`MessageSpec` constructors
//! check it.

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

    pub fn is_struct_or_struct_array(&self) -> Option<&str> {
        match self {
            FieldType::Struct(n) => Some(n),
            FieldType::Array(inner) => match inner.as_ref() {
                FieldType::Struct(n) => Some(n),
                _ => None,
            },
            _ => None,
        }
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
    pub entity_type: Option<String>,
    /// A field-level `flexibleVersions` override (only `RequestHeader.ClientId`
    /// uses it: the client id stays a classic string in header v2).
    pub flexible_override: Option<Versions>,
    pub zero_copy: bool,
    pub about: Option<String>,
}

impl FieldModel {
    /// Versions in which the field is a regular (untagged) field.
    pub fn regular(&self) -> Versions {
        self.versions
            .subtract(&self.tagged)
            .unwrap_or(self.versions)
    }

    pub fn is_nullable_somewhere(&self) -> bool {
        !self.nullable.intersect(&self.versions).is_empty()
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct StructModel {
    pub name: String,
    pub versions: Versions,
    pub fields: Vec<FieldModel>,
    pub common: bool,
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
    /// The root struct first, then nested and common structs in schema order.
    pub structs: Vec<StructModel>,
}

impl MessageModel {
    pub fn root(&self) -> &StructModel {
        &self.structs[0]
    }

    pub fn find_struct(&self, name: &str) -> Option<&StructModel> {
        self.structs.iter().find(|s| s.name == name)
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
}

/// Everything generated from one schema directory.
#[derive(Debug, Clone, PartialEq)]
pub struct Model {
    /// Sorted by message name.
    pub messages: Vec<MessageModel>,
    pub warnings: Vec<String>,
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
        Ok(Model { messages, warnings })
    }

    pub fn find(&self, name: &str) -> Option<&MessageModel> {
        self.messages.iter().find(|m| m.name == name)
    }
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
    let mut common: BTreeMap<String, &crate::schema::StructSpec> = BTreeMap::new();
    for cs in &spec.common_structs {
        if common.insert(cs.name.clone(), cs).is_some() {
            return Err(cx.msg_err(format!("common struct {} is defined twice", cs.name)));
        }
    }

    let mut structs: Vec<StructModel> = Vec::new();
    let mut names: BTreeSet<String> = BTreeSet::new();
    names.insert(spec.name.clone());
    let mut common_done: BTreeSet<String> = BTreeSet::new();

    let root_fields = build_fields(
        &cx,
        &spec.name,
        valid,
        flexible,
        &spec.fields,
        &common,
        &mut structs,
        &mut names,
        &mut common_done,
    )?;
    structs.insert(
        0,
        StructModel {
            name: spec.name.clone(),
            versions: valid,
            fields: root_fields,
            common: false,
        },
    );
    // Common structs nobody referenced are still generated (Kafka does too),
    // with the versions their declaration gives.
    for cs in &spec.common_structs {
        if !common_done.contains(&cs.name) {
            if names.contains(&cs.name) {
                return Err(cx.msg_err(format!("struct {} is defined twice", cs.name)));
            }
            names.insert(cs.name.clone());
            common_done.insert(cs.name.clone());
            let versions = cx.versions(&format!("{}.versions", cs.name), &cs.versions)?;
            let fields = build_fields(
                &cx,
                &cs.name,
                versions,
                flexible,
                &cs.fields,
                &common,
                &mut structs,
                &mut names,
                &mut common_done,
            )?;
            structs.push(StructModel {
                name: cs.name.clone(),
                versions,
                fields,
                common: true,
            });
        }
    }

    Ok(MessageModel {
        file: file.to_string(),
        name: spec.name.clone(),
        kind,
        api_key: spec.api_key,
        valid,
        flexible,
        deprecated,
        latest_unstable: spec.latest_version_unstable,
        listeners: spec.listeners.clone(),
        structs,
    })
}

#[allow(clippy::too_many_arguments)]
fn build_fields(
    cx: &Ctx<'_>,
    struct_name: &str,
    struct_versions: Versions,
    flexible: Versions,
    specs: &[FieldSpec],
    common: &BTreeMap<String, &crate::schema::StructSpec>,
    structs: &mut Vec<StructModel>,
    names: &mut BTreeSet<String>,
    common_done: &mut BTreeSet<String>,
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
        if fs.map_key && ty.is_struct_or_struct_array().is_some() {
            return Err(ferr("a map key must be a scalar field".into()));
        }
        let default = parse_default(&ty, fs, nullable, versions).map_err(ferr)?;

        // Nested structs: inline definition or a reference to a common struct.
        if let Some(sname) = ty.is_struct_or_struct_array() {
            match (&fs.fields, common.get(sname)) {
                (Some(_), Some(_)) => {
                    return Err(ferr(format!(
                        "defines struct {sname} inline but a common struct has that name"
                    )))
                }
                (Some(fields), None) => {
                    if !names.insert(sname.to_string()) {
                        return Err(ferr(format!(
                            "struct {sname} is defined twice in this message"
                        )));
                    }
                    let sv = versions.intersect(&struct_versions);
                    let nested = build_fields(
                        cx,
                        sname,
                        sv,
                        flexible,
                        fields,
                        common,
                        structs,
                        names,
                        common_done,
                    )?;
                    structs.push(StructModel {
                        name: sname.to_string(),
                        versions: sv,
                        fields: nested,
                        common: false,
                    });
                }
                (None, Some(cs)) => {
                    if !common_done.contains(sname) {
                        if !names.insert(sname.to_string()) {
                            return Err(ferr(format!(
                                "struct {sname} is defined twice in this message"
                            )));
                        }
                        common_done.insert(sname.to_string());
                        let sv = Versions::parse(&cs.versions).ok_or_else(|| {
                            ferr(format!(
                                "common struct {sname}: invalid versions {:?}",
                                cs.versions
                            ))
                        })?;
                        let nested = build_fields(
                            cx,
                            sname,
                            sv,
                            flexible,
                            &cs.fields,
                            common,
                            structs,
                            names,
                            common_done,
                        )?;
                        structs.push(StructModel {
                            name: sname.to_string(),
                            versions: sv,
                            fields: nested,
                            common: true,
                        });
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
            entity_type: fs.entity_type.clone(),
            flexible_override,
            zero_copy: fs.zero_copy,
            about: fs.about.clone(),
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
