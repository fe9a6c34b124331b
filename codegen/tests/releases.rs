//! Every schema of every Kafka release line in ../shared parses and
//! generates; trunk's output also compiles (regenerating when Kafka adds
//! versions works today). The 4.4 output is the committed one and is
//! compiled by every build of the workspace.

mod support;

use kwire_codegen::emit::{generate, EmitOptions};
use kwire_codegen::pin::schema_files;
use kwire_codegen::run::load_model;

#[test]
fn every_release_line_parses_and_generates() {
    let mut releases: Vec<_> = std::fs::read_dir(support::shared_schemas())
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    releases.sort();
    let names: Vec<String> = releases
        .iter()
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .collect();
    for needed in ["2.2", "3.8", "4.4", "trunk"] {
        assert!(
            names.iter().any(|n| n == needed),
            "release {needed} missing from {names:?}"
        );
    }
    for dir in &releases {
        let release = dir.file_name().unwrap().to_string_lossy().into_owned();
        let files = schema_files(dir).unwrap();
        let model = load_model(&files).unwrap_or_else(|e| panic!("{release}: {e}"));
        let out = generate(
            &model,
            &EmitOptions {
                release: release.clone(),
                include_about: true,
                ..EmitOptions::new("")
            },
        )
        .unwrap_or_else(|e| panic!("{release}: {e}"));
        assert!(out.len() > 50, "{release}: only {} files", out.len());
        assert!(
            out.contains_key("api_table.rs"),
            "{release}: no api_table.rs"
        );
        // Deterministic: a second run gives byte-identical output. Checked
        // on the pinned line and trunk only: every line runs the same
        // emitter, and each pass costs seconds in a debug build.
        if release != "4.4" && release != "trunk" {
            continue;
        }
        let again = generate(
            &model,
            &EmitOptions {
                release: release.clone(),
                include_about: true,
                ..EmitOptions::new("")
            },
        )
        .unwrap();
        assert_eq!(out, again, "{release}: output is not deterministic");
    }
}

#[test]
fn trunk_output_compiles() {
    let dir = support::shared_schemas().join("trunk");
    let model = load_model(&schema_files(&dir).unwrap()).unwrap();
    let out = generate(
        &model,
        &EmitOptions {
            release: "trunk".into(),
            include_about: false,
            ..EmitOptions::new("")
        },
    )
    .unwrap();
    support::compile_generated("trunk", &out);
}
