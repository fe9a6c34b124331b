//! Rust names for schema names (`heck`), with keywords made raw.

use heck::{ToShoutySnakeCase, ToSnakeCase};
use proc_macro2::{Ident, Span};

const KEYWORDS: &[&str] = &[
    "as", "async", "await", "break", "const", "continue", "dyn", "else", "enum", "extern", "false",
    "fn", "for", "if", "impl", "in", "let", "loop", "match", "mod", "move", "mut", "pub", "ref",
    "return", "static", "struct", "trait", "true", "type", "unsafe", "use", "where", "while",
    "abstract", "become", "box", "do", "final", "gen", "macro", "override", "priv", "try",
    "typeof", "unsized", "virtual", "yield",
];

/// Names that cannot be raw identifiers get a trailing underscore.
const NOT_RAW: &[&str] = &["self", "super", "crate", "Self", "_"];

pub fn ident(name: &str) -> Ident {
    if NOT_RAW.contains(&name) {
        Ident::new(&format!("{name}_"), Span::call_site())
    } else if KEYWORDS.contains(&name) {
        Ident::new_raw(name, Span::call_site())
    } else {
        Ident::new(name, Span::call_site())
    }
}

/// A field's Rust name: `ClientSoftwareName` -> `client_software_name`.
pub fn field_ident(name: &str) -> Ident {
    ident(&name.to_snake_case())
}

/// A field's name in Kafka's own JSON form (its generated JSON converters
/// lower-case the first letter and keep the rest).
pub fn json_name(name: &str) -> String {
    let mut c = name.chars();
    match c.next() {
        Some(f) => f.to_lowercase().chain(c).collect(),
        None => String::new(),
    }
}

pub fn type_ident(name: &str) -> Ident {
    ident(name)
}

/// A message's module name: `ApiVersionsRequest` -> `api_versions_request`.
pub fn module_name(message: &str) -> String {
    message.to_snake_case()
}

/// `ApiVersions` -> `API_VERSIONS`.
pub fn const_name(api: &str) -> Ident {
    ident(&api.to_shouty_snake_case())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(
            field_ident("ClientSoftwareName").to_string(),
            "client_software_name"
        );
        assert_eq!(field_ident("Type").to_string(), "r#type");
        assert_eq!(field_ident("Match").to_string(), "r#match");
        assert_eq!(json_name("ZkMigrationReady"), "zkMigrationReady");
        assert_eq!(const_name("ApiVersions").to_string(), "API_VERSIONS");
        assert_eq!(
            const_name("DescribeUserScramCredentials").to_string(),
            "DESCRIBE_USER_SCRAM_CREDENTIALS"
        );
        assert_eq!(module_name("AlterISRRequest"), "alter_isr_request");
    }
}
