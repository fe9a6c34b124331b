//! `kwire-codegen check` passes on the committed tree and fails, with a
//! readable summary, when a generated file or a schema hash is edited.

mod support;

use std::process::Command;

fn scratch_tree() -> tempfile::TempDir {
    let root = support::repo_root();
    let tmp = tempfile::tempdir().unwrap();
    for d in ["schemas", "generated", "codegen/src"] {
        support::copy_dir(&root.join(d), &tmp.path().join(d));
    }
    tmp
}

fn run_check(root: &std::path::Path) -> (bool, String) {
    let schemas = support::shared_schemas().join("4.4");
    let out = Command::new(env!("CARGO_BIN_EXE_kwire-codegen"))
        .args(["check", "--root"])
        .arg(root)
        .arg("--schemas")
        .arg(&schemas)
        .output()
        .unwrap();
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn check_passes_on_the_committed_tree() {
    let (ok, text) = run_check(&support::repo_root());
    assert!(ok, "{text}");
    assert!(text.contains("matches"), "{text}");
}

#[test]
fn check_fails_on_an_edited_generated_file() {
    let tmp = scratch_tree();
    let f = tmp
        .path()
        .join("generated/messages/api_versions_request.rs");
    let mut text = std::fs::read_to_string(&f).unwrap();
    text.push_str("// a hand edit\n");
    std::fs::write(&f, text).unwrap();
    let (ok, text) = run_check(tmp.path());
    assert!(!ok, "check passed on an edited file:\n{text}");
    assert!(
        text.contains("generated/messages/api_versions_request.rs"),
        "{text}"
    );
    assert!(text.contains("kwire-codegen -- generate"), "{text}");
}

#[test]
fn check_fails_on_a_stale_or_missing_file() {
    let tmp = scratch_tree();
    std::fs::write(tmp.path().join("generated/messages/extra.rs"), "// stale\n").unwrap();
    std::fs::remove_file(tmp.path().join("generated/dispatch.rs")).unwrap();
    let (ok, text) = run_check(tmp.path());
    assert!(!ok);
    assert!(
        text.contains("generated/messages/extra.rs: not produced"),
        "{text}"
    );
    assert!(text.contains("generated/dispatch.rs: missing"), "{text}");
}

#[test]
fn check_fails_on_an_edited_schema_hash() {
    let tmp = scratch_tree();
    let lock = tmp.path().join("schemas/kafka.sha256");
    let text = std::fs::read_to_string(&lock).unwrap();
    let line = text
        .lines()
        .find(|l| l.ends_with("  FetchRequest.json"))
        .unwrap()
        .to_string();
    let edited = format!("{}{}", "0".repeat(64), &line[64..]);
    std::fs::write(&lock, text.replace(&line, &edited)).unwrap();
    let (ok, text) = run_check(tmp.path());
    assert!(!ok);
    assert!(text.contains("FetchRequest.json: sha256"), "{text}");
}

#[test]
fn generate_reports_and_is_idempotent() {
    let tmp = scratch_tree();
    let schemas = support::shared_schemas().join("4.4");
    let run = || {
        Command::new(env!("CARGO_BIN_EXE_kwire-codegen"))
            .args(["generate", "--root"])
            .arg(tmp.path())
            .arg("--schemas")
            .arg(&schemas)
            .output()
            .unwrap()
    };
    std::fs::write(tmp.path().join("generated/messages/stale.rs"), "// stale\n").unwrap();
    let out = run();
    assert!(out.status.success());
    let report = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(report.contains("APIs: 95"), "{report}");
    assert!(report.contains("InitProducerId v6"), "{report}");
    assert!(report.contains("1 removed"), "{report}");
    assert!(!tmp.path().join("generated/messages/stale.rs").exists());
    let out = run();
    let report = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(report.contains("0 written, 0 removed"), "{report}");
    assert!(report.contains("no API or message changes"), "{report}");
}

/// The pin may name a Maven coordinate: the kafka-clients 4.4.0 jar carries
/// exactly the pinned schemas, so `check` against it passes on the
/// committed tree (this resolves the jar from Maven Central, cached).
#[test]
fn check_passes_against_the_kafka_clients_jar_from_maven_central() {
    let cache = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_kwire-codegen"))
        .args([
            "check",
            "--schemas",
            "maven:org.apache.kafka:kafka-clients:4.4.0",
        ])
        .env("KWIRE_SCHEMA_CACHE", cache.path())
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    assert!(text.contains("kafka-clients-4.4.0"), "{text}");
    let bad = Command::new(env!("CARGO_BIN_EXE_kwire-codegen"))
        .args(["check", "--schemas", "maven:com.example:other:1"])
        .output()
        .unwrap();
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("expected maven:"));
}
