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
    #[serde(default)]
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
    #[serde(default)]
    pub ignorable: bool,
    pub nullable_versions: Option<String>,
    #[serde(default)]
    pub map_key: bool,
    pub tag: Option<i64>,
    pub tagged_versions: Option<String>,
    #[serde(default)]
    pub zero_copy: bool,
    pub flexible_versions: Option<String>,
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
    let mut de = serde_json::Deserializer::from_str(&stripped);
    let spec = MessageSpec::deserialize(&mut de).map_err(|e| GenError::Json {
        file: file_name.to_string(),
        message: e.to_string(),
    })?;
    let mut warnings = Vec::new();
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
