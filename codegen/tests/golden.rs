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
        "0x7fffffff",
        "LATEST_VERSION_UNSTABLE: bool = true",
        "put_raw_tagged",
        "TaggedFieldSize",
        "FieldNotInVersion",
    ] {
        let needle = needle.replace("0x7fffffff", "2147483647");
        assert!(req.contains(&needle), "widget_request.rs lacks {needle:?}");
    }
    // The field-level flexibleVersions override keeps ClientTag a classic
    // string even in flexible versions.
    assert!(
        req.contains("put_string(buf, v, false)"),
        "ClientTag override not honoured"
    );
    let api = &out["api_key.rs"];
    assert!(api.contains("pub const GONE: ApiKey = ApiKey(1001i16)"));
    assert!(
        !out.contains_key("messages/gone_request.rs"),
        "removed APIs get no struct"
    );
    let gizmo = &out["messages/gizmo_data.rs"];
    assert!(
        !gizmo.contains("unknown_tagged_fields"),
        "never-flexible structs have no tag section"
    );
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
