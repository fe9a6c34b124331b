//! An exact serde mirror of Kafka's JSON message schemas.
//!
//! Unknown keys are errors: a new Kafka release that adds a schema feature
//! must fail loudly here rather than be half-understood downstream.

use std::io::Read;
use std::path::Path;

use serde::Deserialize;

use crate::error::GenError;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct MessageSpec {
    pub api_key: Option<i16>,
    #[serde(rename = "type")]
    pub kind: String,
    pub name: String,
    pub valid_versions: String,
    pub flexible_versions: Option<String>,
    #[serde(default)]
    pub fields: Vec<FieldSpec>,
    #[serde(default)]
    pub common_structs: Vec<StructSpec>,
    #[serde(default)]
    pub listeners: Vec<String>,
    #[serde(default, deserialize_with = "lenient_bool")]
    pub latest_version_unstable: bool,
    pub deprecated_versions: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct StructSpec {
    pub name: String,
    pub versions: String,
    pub fields: Vec<FieldSpec>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct FieldSpec {
    pub name: String,
    #[serde(rename = "type")]
    pub ty: String,
    /// Optional only for tagged fields, which fall back to `taggedVersions`
    /// (apache/kafka#13680; 3.5's FetchRequest `ReplicaState` relies on it).
    pub versions: Option<String>,
    pub about: Option<String>,
    pub fields: Option<Vec<FieldSpec>>,
    pub default: Option<serde_json::Value>,
    pub entity_type: Option<String>,
    #[serde(default, deserialize_with = "lenient_bool")]
    pub ignorable: bool,
    pub nullable_versions: Option<String>,
    #[serde(default, deserialize_with = "lenient_bool")]
    pub map_key: bool,
    #[serde(default, deserialize_with = "lenient_tag")]
    pub tag: Option<i64>,
    pub tagged_versions: Option<String>,
    #[serde(default, deserialize_with = "lenient_bool")]
    pub zero_copy: bool,
    pub flexible_versions: Option<String>,
}

/// A boolean, or the strings "true"/"false": Jackson coerces both, and
/// 2.8's DeleteTopicsResponse.json writes `"ignorable": "true"`.
fn lenient_bool<'de, D: serde::Deserializer<'de>>(d: D) -> Result<bool, D::Error> {
    match serde_json::Value::deserialize(d)? {
        serde_json::Value::Bool(b) => Ok(b),
        serde_json::Value::String(s) if s == "true" => Ok(true),
        serde_json::Value::String(s) if s == "false" => Ok(false),
        other => Err(serde::de::Error::custom(format!(
            "expected a boolean, found {other}"
        ))),
    }
}

/// A tag as a number, or a string holding one (3.7's BrokerHeartbeatRequest
/// writes `"tag": "0"`; Jackson coerces it).
fn lenient_tag<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    match serde_json::Value::deserialize(d)? {
        serde_json::Value::Number(n) => n
            .as_i64()
            .map(Some)
            .ok_or_else(|| serde::de::Error::custom(format!("tag {n} is not an integer"))),
        serde_json::Value::String(s) => s
            .trim()
            .parse()
            .map(Some)
            .map_err(|_| serde::de::Error::custom(format!("tag {s:?} is not an integer"))),
        other => Err(serde::de::Error::custom(format!(
            "expected a tag number, found {other}"
        ))),
    }
}

/// Collects keys that appear twice in one JSON object, anywhere in a file.
struct DuplicateKeys(Vec<String>);

impl<'de> Deserialize<'de> for DuplicateKeys {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = DuplicateKeys;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("any JSON value")
            }
            fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
                Ok(DuplicateKeys(Vec::new()))
            }
            fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
                Ok(DuplicateKeys(Vec::new()))
            }
            fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
                Ok(DuplicateKeys(Vec::new()))
            }
            fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
                Ok(DuplicateKeys(Vec::new()))
            }
            fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
                Ok(DuplicateKeys(Vec::new()))
            }
            fn visit_unit<E>(self) -> Result<Self::Value, E> {
                Ok(DuplicateKeys(Vec::new()))
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut a: A,
            ) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                while let Some(DuplicateKeys(d)) = a.next_element()? {
                    out.extend(d);
                }
                Ok(DuplicateKeys(out))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut a: A,
            ) -> Result<Self::Value, A::Error> {
                let mut out = Vec::new();
                let mut seen = std::collections::BTreeSet::new();
                while let Some(k) = a.next_key::<String>()? {
                    let DuplicateKeys(d) = a.next_value()?;
                    out.extend(d);
                    if !seen.insert(k.clone()) {
                        out.push(k);
                    }
                }
                Ok(DuplicateKeys(out))
            }
        }
        d.deserialize_any(V)
    }
}

/// A parsed schema file plus anything worth a warning.
#[derive(Debug, Clone)]
pub struct ParsedFile {
    pub file_name: String,
    pub spec: MessageSpec,
    pub warnings: Vec<String>,
}

/// Parses one schema file's text. Comments (`//`, also inside lines) are
/// removed by a real JSON-with-comments reader that leaves strings alone.
pub fn parse_str(file_name: &str, text: &str) -> Result<ParsedFile, GenError> {
    let mut stripped = String::with_capacity(text.len());
    json_comments::StripComments::new(text.as_bytes())
        .read_to_string(&mut stripped)
        .map_err(|e| GenError::Json {
            file: file_name.to_string(),
            message: e.to_string(),
        })?;
    let json_err = |e: serde_json::Error| GenError::Json {
        file: file_name.to_string(),
        message: e.to_string(),
    };
    let mut de = serde_json::Deserializer::from_str(&stripped);
    // Read into a tree first: Jackson, which Kafka uses, lets a repeated
    // key win over the earlier one (3.8's DescribeTopicPartitionsRequest
    // repeats "versions"); the tree does the same, and we warn about it.
    let dups = DuplicateKeys::deserialize(&mut de).map_err(json_err)?;
    let mut de = serde_json::Deserializer::from_str(&stripped);
    let value = serde_json::Value::deserialize(&mut de).map_err(json_err)?;
    let spec = MessageSpec::deserialize(value).map_err(json_err)?;
    let mut warnings: Vec<String> = dups
        .0
        .into_iter()
        .map(|k| format!("{file_name}: key \"{k}\" repeated in one object; the last one is used (as Kafka's generator does)"))
        .collect();
    // Kafka reads schemas with Jackson, which stops after the first value;
    // 2.8's DescribeProducersRequest.json has a stray `]}` after it. Accept
    // it as upstream does, but say so.
    if de.end().is_err() {
        warnings.push(format!(
            "{file_name}: text after the schema object is ignored (as Kafka's own generator does)"
        ));
    }
    Ok(ParsedFile {
        file_name: file_name.to_string(),
        spec,
        warnings,
    })
}

pub fn parse_file(path: &Path) -> Result<ParsedFile, GenError> {
    let text = std::fs::read_to_string(path).map_err(|e| GenError::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    })?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    parse_str(&name, &text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_are_stripped_but_not_inside_strings() {
        let text = r#"// header
        { "type": "data", "name": "X", // trailing
          "validVersions": "0", "flexibleVersions": "none",
          "fields": [ { "name": "A", "type": "string", "versions": "0+", "about": "a // b" } ] }"#;
        let p = parse_str("X.json", text).unwrap();
        assert_eq!(p.spec.fields[0].about.as_deref(), Some("a // b"));
        assert!(p.warnings.is_empty());
    }

    #[test]
    fn unknown_keys_name_the_file_and_key() {
        let text = r#"{ "type": "data", "name": "X", "validVersions": "0", "frobnicate": 1, "fields": [] }"#;
        let e = parse_str("X.json", text).unwrap_err().to_string();
        assert!(e.contains("X.json"), "{e}");
        assert!(e.contains("frobnicate"), "{e}");
    }

    #[test]
    fn unknown_field_keys_are_errors_too() {
        let text = r#"{ "type": "data", "name": "X", "validVersions": "0",
          "fields": [ { "name": "A", "type": "int8", "versions": "0+", "sortOrder": 2 } ] }"#;
        let e = parse_str("X.json", text).unwrap_err().to_string();
        assert!(e.contains("sortOrder"), "{e}");
    }

    #[test]
    fn trailing_text_is_a_warning() {
        let text = r#"{ "type": "data", "name": "X", "validVersions": "0", "fields": [] } ]}"#;
        let p = parse_str("X.json", text).unwrap();
        assert_eq!(p.warnings.len(), 1);
    }
}
