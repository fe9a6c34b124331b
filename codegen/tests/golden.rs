//! Golden tests: small fixture schemas of our own that exercise every
//! generator feature, with the expected output committed beside them.
//! Regenerating the expected output takes an explicit switch,
//! `KWIRE_BLESS_GOLDEN=1`; a failing comparison never rewrites anything.

mod support;

use std::collections::BTreeMap;
use std::path::Path;

use kwire_codegen::emit::{generate, EmitOptions};
use kwire_codegen::pin::schema_files;
use kwire_codegen::run::load_model;

fn fixtures() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn golden_output() -> BTreeMap<String, String> {
    let files = schema_files(&fixtures().join("golden/schemas")).unwrap();
    let model = load_model(&files).unwrap();
    generate(
        &model,
        &EmitOptions {
            release: "fixture".into(),
            include_about: false,
            ..EmitOptions::new("")
        },
    )
    .unwrap()
}

#[test]
fn golden_output_matches() {
    let out = golden_output();
    let expected_dir = fixtures().join("golden/expected");
    if std::env::var_os("KWIRE_BLESS_GOLDEN").is_some() {
        let _ = std::fs::remove_dir_all(&expected_dir);
        for (name, text) in &out {
            let p = expected_dir.join(name);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, text).unwrap();
        }
        return;
    }
    let mut expected = BTreeMap::new();
    for (name, data) in kwire_codegen::fingerprint::read_tree(&expected_dir, ".rs").unwrap() {
        expected.insert(name, String::from_utf8(data).unwrap());
    }
    assert!(
        !expected.is_empty(),
        "no golden files: run with KWIRE_BLESS_GOLDEN=1 once"
    );
    let names: Vec<_> = out.keys().collect();
    let want: Vec<_> = expected.keys().collect();
    assert_eq!(names, want, "generated file set differs from the goldens");
    for (name, text) in &out {
        let exp = &expected[name];
        if exp != text {
            let line = exp
                .lines()
                .zip(text.lines())
                .position(|(a, b)| a != b)
                .map(|i| i + 1)
                .unwrap_or(0);
            panic!(
                "golden {name} differs at line {line}:\n  expected: {}\n  got:      {}\n(re-bless with KWIRE_BLESS_GOLDEN=1 if the change is intended)",
                exp.lines().nth(line.saturating_sub(1)).unwrap_or(""),
                text.lines().nth(line.saturating_sub(1)).unwrap_or("")
            );
        }
    }
}

#[test]
fn golden_output_covers_every_feature() {
    let out = golden_output();
    let req = &out["messages/widget_request.rs"];
    for needle in [
        "pub port: u16",
        "pub epoch: u32",
        "pub ratio: f64",
        "pub id: crate::Uuid",
        "pub label: ::core::option::Option<crate::StrBytes>",
        "pub blob: ::core::option::Option<crate::Bytes>",
        "pub r#type: i8",
        "pub maybe: ::core::option::Option<Shared>",
        "unknown_tagged_fields",
        "2147483647",
        "LATEST_VERSION_UNSTABLE: bool = true",
        // Thin: one runtime call per field, runs of fixed-width fields as one.
        "r.field(cx, \"Count\")?",
        "w.fixed((self.flag, self.tiny));",
        "crate::wire::size(&self.parts, cx, \"Parts\")?",
        "crate::wire::TaggedReader::begin(r)?",
        "crate::wire::TaggedSize::new(",
        "crate::wire::TaggedWriter::begin(w, &self.unknown_tagged_fields)",
        "crate::wire::not_in_version(\"Epoch\", cx)",
        // Nullable only from v1: `Some(..)` before.
        "Some(r.field(cx, \"Label\")?)",
        // KIP-893 nullable struct.
        "r.nullable_struct_field(cx, \"Maybe\")?",
        // Records and zeroCopy bytes go by reference in a segmented encode.
        "w.put_by_ref(&self.records, cx);",
        "w.put_by_ref(&self.blob, cx);",
        // Side features: a request is encoded by clients, decoded by brokers.
        "#[cfg(feature = \"client\")]\nimpl crate::Encodable for WidgetRequest",
        "#[cfg(feature = \"broker\")]\nimpl crate::wire::ReadInto for WidgetRequest",
    ] {
        assert!(req.contains(needle), "widget_request.rs lacks {needle:?}");
    }
    // The field-level flexibleVersions override keeps ClientTag a classic
    // string even in flexible versions.
    assert!(
        req.contains("w.put(&self.client_tag, cx.with_flexible(false));"),
        "ClientTag override not honoured"
    );
    // Generated code never expands arrays, tagged sections or error
    // contexts inline: no closures, no loops.
    for absent in ["|| ->", "for e in", "map_err(", "BytesMut::new()"] {
        assert!(!req.contains(absent), "widget_request.rs has {absent:?}");
    }
    let resp = &out["messages/widget_response.rs"];
    assert!(resp.contains("#[cfg(feature = \"broker\")]\nimpl crate::Encodable for WidgetResponse"));
    let api = &out["api_table.rs"];
    assert!(api.contains("pub const GONE: ApiKey = ApiKey(1001i16)"));
    assert!(
        !api.contains("fn "),
        "the API table is data: methods are handwritten in the runtime"
    );
    assert!(
        !out.contains_key("messages/gone_request.rs"),
        "removed APIs get no struct"
    );
    let gizmo = &out["messages/gizmo_data.rs"];
    assert!(
        !gizmo.contains("unknown_tagged_fields"),
        "never-flexible structs have no tag section"
    );
    assert!(
        !gizmo.contains("#[cfg(feature = \"client\")]"),
        "data messages are encoded and decoded by both sides"
    );
}

#[test]
fn the_runtime_root_is_one_option() {
    let files = schema_files(&fixtures().join("golden/schemas")).unwrap();
    let model = load_model(&files).unwrap();
    let out = generate(
        &model,
        &EmitOptions {
            runtime_root: "::kwire".into(),
            ..EmitOptions::new("fixture")
        },
    )
    .unwrap();
    for (name, text) in &out {
        assert!(
            !text.contains("crate::"),
            "{name} reaches the runtime other than through the root"
        );
    }
    assert!(out["messages/widget_request.rs"].contains("impl ::kwire::Encodable for WidgetRequest"));
}

#[test]
fn golden_output_compiles() {
    support::compile_generated("golden fixtures", &golden_output());
}

#[test]
fn invalid_schemas_fail_with_file_message_and_field() {
    let dir = fixtures().join("invalid");
    let mut n = 0;
    for (name, data) in schema_files(&dir).unwrap() {
        let text = String::from_utf8(data.clone()).unwrap();
        let expect = text
            .lines()
            .next()
            .and_then(|l| l.strip_prefix("// expect: "))
            .unwrap_or_else(|| panic!("{name}: first line must be `// expect: <text>`"))
            .to_string();
        let err = load_model(&[(name.clone(), data)])
            .expect_err(&format!("{name} should be rejected"))
            .to_string();
        assert!(
            err.contains(&expect),
            "{name}: error {err:?} does not say {expect:?}"
        );
        assert!(
            err.contains(&name),
            "{name}: error {err:?} does not name the file"
        );
        n += 1;
    }
    assert!(n >= 15, "only {n} invalid fixtures");
}
