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

/// The pin's default source, the kafka-clients 4.4.0 jar (from the user's
/// cache, else Maven Central), carries exactly the 4.4 schema files of
/// ../shared, byte for byte, and hashes to the lock's sha256.
#[test]
fn the_pinned_jar_holds_exactly_the_pinned_schemas() {
    let root = support::repo_root();
    let pin = kwire_codegen::pin::Pin::read(&root).unwrap();
    let source = pin.pinned_source(&root).unwrap();
    let jar_name = source.jar_file_name().expect("the pin names a jar");
    assert_eq!(jar_name, "kafka-clients-4.4.0.jar");
    let lock = kwire_codegen::pin::read_lock(&root).unwrap();
    let locked = kwire_codegen::pin::locked_jar_sha256(&lock, &jar_name)
        .expect("the lock records the jar's sha256");
    let from_jar = source.load(Some(&locked)).unwrap();
    assert_eq!(from_jar.origin.jar().unwrap().sha256, locked);
    let from_dir =
        kwire_codegen::pin::schema_files(&support::shared_schemas().join("4.4")).unwrap();
    assert_eq!(from_jar.files.len(), from_dir.len());
    for ((a, da), (b, db)) in from_jar.files.iter().zip(&from_dir) {
        assert_eq!(a, b);
        assert!(da == db, "{a} differs between the jar and ../shared");
    }
    assert!(kwire_codegen::pin::lock_differences(&lock, &from_jar.files).is_empty());
}

/// The oldest release whose jar carries schemas, 2.2.0, has no `.sha256`
/// on Maven Central: with nothing locked it is checked against the
/// published `.sha1`, and holds exactly the 2.2 schema files.
#[test]
fn an_unlocked_old_release_comes_from_maven_central_checked_by_its_sha1() {
    use kwire_codegen::maven::{Found, Maven, ENV_MAVEN_URL, MAVEN_CENTRAL};
    // A fresh cache, so the download and its check happen in every run.
    let cache = tempfile::tempdir().unwrap();
    let base = std::env::var(ENV_MAVEN_URL).unwrap_or_else(|_| MAVEN_CENTRAL.to_string());
    let maven = Maven::new(&base, kwire_codegen::cache::Cache::at(cache.path()));
    let source = kwire_codegen::source::SchemaSource::KafkaClients {
        version: "2.2.0".into(),
    };
    let schemas = source.load_from(&maven, None).unwrap();
    let jar = schemas.origin.jar().unwrap();
    assert_eq!(jar.artifact.file_name(), "kafka-clients-2.2.0.jar");
    assert!(matches!(jar.found, Found::Downloaded { .. }), "{jar}");
    let from_dir =
        kwire_codegen::pin::schema_files(&support::shared_schemas().join("2.2")).unwrap();
    assert_eq!(schemas.files, from_dir);
}

/// A copy of the repository with no ../shared beside it (as a clone
/// elsewhere has): `check` and `generate`, run from a subdirectory with no
/// --root and no --schemas, read the pinned jar and reproduce generated/
/// byte for byte.
#[test]
fn without_shared_beside_it_check_and_generate_use_the_jar_and_agree() {
    let tmp = scratch_tree();
    assert!(!tmp.path().join("../shared").exists());
    let run = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_kwire-codegen"))
            .args(args)
            .current_dir(tmp.path().join("generated/messages"))
            .env_remove("KWIRE_SCHEMA_DIR")
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "{args:?}: {text}");
        text
    };
    let text = run(&["check"]);
    assert!(text.contains("kafka-clients-4.4.0.jar"), "{text}");
    let out = tmp.path().join("regenerated");
    run(&["generate", "--out", out.to_str().unwrap()]);
    let committed =
        kwire_codegen::fingerprint::read_tree(&tmp.path().join("generated"), "").unwrap();
    let fresh = kwire_codegen::fingerprint::read_tree(&out, "").unwrap();
    let names = |v: &[(String, Vec<u8>)]| v.iter().map(|(n, _)| n.clone()).collect::<Vec<_>>();
    assert_eq!(names(&committed), names(&fresh));
    for ((name, a), (_, b)) in committed.iter().zip(&fresh) {
        assert!(
            a == b,
            "generated/{name} differs when generated from the jar"
        );
    }
    let lock = std::fs::read_to_string(tmp.path().join("schemas/kafka.sha256")).unwrap();
    let committed_lock =
        std::fs::read_to_string(support::repo_root().join("schemas/kafka.sha256")).unwrap();
    assert_eq!(lock, committed_lock, "generate rewrote the lock");
}
