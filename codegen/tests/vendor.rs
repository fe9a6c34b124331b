//! Vendoring: the selection, the fixed feature gates, the manifest and
//! lock beside the output, and the drift checks (offline `verify`, full
//! `check`, the CLI's `check --vendored`) on the example crate's committed
//! output and on tampered copies of it.

mod support;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use kwire_codegen::source::load_dir;
use kwire_codegen::{Builder, GenError, Side};

fn schemas_44() -> kwire_codegen::source::Schemas {
    load_dir(&support::shared_schemas().join("4.4")).unwrap()
}

fn dir_builder() -> Builder {
    Builder::schema_dir(support::shared_schemas().join("4.4"), "4.4")
}

fn example_output() -> PathBuf {
    support::repo_root().join("examples/vendored-client/src/kafka")
}

/// A copy of the example's committed output to tamper with.
fn example_copy() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    support::copy_dir(&example_output(), tmp.path());
    tmp
}

fn files(b: Builder) -> BTreeMap<String, String> {
    b.files(&schemas_44()).unwrap()
}

fn drift_lines(r: Result<(), GenError>) -> Vec<String> {
    match r {
        Err(GenError::Drift { problems, .. }) => problems,
        other => panic!("expected drift, got {other:?}"),
    }
}

fn cli_check(dir: &Path) -> (bool, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_kwire-codegen"))
        .args(["check", "--vendored"])
        .arg(dir)
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
fn a_client_selection_keeps_its_apis_and_fixes_every_feature_gate() {
    let out = files(
        dir_builder().apis(["Produce".into(), 18i16.into()] as [kwire_codegen::ApiSelector; 2]),
    );
    let names: Vec<&str> = out.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "MANIFEST",
            "dispatch.rs",
            "kafka.sha256",
            "messages/api_versions_request.rs",
            "messages/api_versions_response.rs",
            "messages/produce_request.rs",
            "messages/produce_response.rs",
            "mod.rs",
        ]
    );
    for (name, text) in &out {
        assert!(
            !text.contains("feature = \""),
            "{name} keeps a feature gate"
        );
        assert!(
            !text.contains("crate::"),
            "{name} reaches into its own crate"
        );
    }
    // The client side's codecs always exist; the broker side's only inside
    // kwire's gate (they exist exactly when kwire has `broker`).
    let rq = &out["messages/produce_request.rs"];
    assert!(rq.contains("\nimpl ::kwire::Encodable for ProduceRequest"));
    assert!(
        rq.contains("::kwire::__if_broker! {\n    impl ::kwire::wire::ReadInto for ProduceRequest")
    );
    let rs = &out["messages/produce_response.rs"];
    assert!(rs.contains("\nimpl ::kwire::wire::ReadInto for ProduceResponse"));
    assert!(rs.contains("::kwire::__if_broker! {\n    impl ::kwire::Encodable for ProduceResponse"));
    assert!(!rq.contains("__if_client") && !rs.contains("__if_client"));
    // The lock names the files used (and only those).
    let lock = &out["kafka.sha256"];
    assert!(lock.contains("  ProduceRequest.json"), "{lock}");
    assert!(!lock.contains("FetchRequest.json"), "{lock}");

    let broker = files(dir_builder().api("Produce").side(Side::Broker));
    let rq = &broker["messages/produce_request.rs"];
    assert!(rq.contains("\nimpl ::kwire::wire::ReadInto for ProduceRequest"));
    assert!(rq.contains("::kwire::__if_client! {\n    impl ::kwire::Encodable for ProduceRequest"));
    let both = files(dir_builder().api("Produce").side(Side::Both));
    assert!(both.values().all(|t| !t.contains("__if_")));
}

#[test]
fn the_version_floor_narrows_the_selected_apis() {
    let out = files(dir_builder().api("Produce").api("Metadata").min_version(9));
    let m = &out["MANIFEST"];
    assert!(m.contains("\napi 0 Produce 9-13\n"), "{m}");
    assert!(m.contains("\napi 3 Metadata 9-13\n"), "{m}");
    assert!(m.contains("\nmin-version 9\n"), "{m}");
}

#[test]
fn data_messages_are_selected_by_name() {
    let out = files(dir_builder().message("ConsumerProtocolAssignment"));
    assert!(out.contains_key("messages/consumer_protocol_assignment.rs"));
    let t = &out["messages/consumer_protocol_assignment.rs"];
    // Data messages are both encoded and decoded by either side.
    assert!(t.contains("impl ::kwire::Encodable for ConsumerProtocolAssignment"));
    assert!(t.contains("impl ::kwire::wire::ReadInto for ConsumerProtocolAssignment"));
}

#[test]
fn a_selection_that_names_nothing_is_a_readable_error() {
    let s = schemas_44();
    let err = |b: Builder| b.files(&s).unwrap_err().to_string();
    let e = err(dir_builder().api("Produc"));
    assert!(e.contains("no API Produc") && e.contains("Produce"), "{e}");
    let e = err(dir_builder().api("Produce").min_version(40));
    assert!(e.contains("floor 40"), "{e}");
    let e = err(dir_builder().message("FetchRequest"));
    assert!(e.contains("select the API Fetch"), "{e}");
    let e = err(dir_builder());
    assert!(e.contains("empty"), "{e}");
    let e = err(dir_builder().api(4i16));
    assert!(e.contains("removed"), "{e}");
}

#[test]
fn output_is_deterministic_and_writing_it_twice_changes_nothing() {
    let b = dir_builder().apis(["Fetch", "Metadata"]);
    assert_eq!(files(b.clone()), files(b.clone()));
    let tmp = tempfile::tempdir().unwrap();
    let b = b.out_dir(tmp.path().join("kafka"));
    let first = b.generate().unwrap();
    assert_eq!(first.written.len(), 8, "{first:?}");
    let again = b.generate().unwrap();
    assert!(
        again.written.is_empty() && again.removed.is_empty(),
        "{again:?}"
    );
    b.verify().unwrap();
    // Narrowing the selection removes the stale modules.
    let narrower = dir_builder().api("Fetch").out_dir(tmp.path().join("kafka"));
    let o = narrower.generate().unwrap();
    assert!(
        o.removed
            .contains(&"messages/metadata_request.rs".to_string()),
        "{o:?}"
    );
}

#[test]
fn the_example_crates_committed_output_passes_verify_and_the_full_check() {
    let b = Builder::kafka_release("4.4.0")
        .apis(["Produce", "Fetch", "Metadata", "ApiVersions"])
        .side(Side::Client)
        .out_dir(example_output());
    b.verify().unwrap();
    let (ok, text) = cli_check(&example_output());
    assert!(ok, "{text}");
    assert!(text.contains("matches its manifest"), "{text}");
}

#[test]
fn an_edited_module_fails_verify_and_check_names_the_file() {
    let tmp = example_copy();
    let f = tmp.path().join("messages/fetch_request.rs");
    let text = std::fs::read_to_string(&f).unwrap();
    std::fs::write(&f, text.replacen("pub max_wait_ms", "pub max_wait", 1)).unwrap();
    let b = Builder::from_manifest(tmp.path(), None).unwrap();
    let p = drift_lines(b.verify());
    assert!(p.iter().any(|l| l.contains("modules were edited")), "{p:?}");
    let (ok, text) = cli_check(tmp.path());
    assert!(!ok, "check passed on an edited module:\n{text}");
    assert!(
        text.contains("messages/fetch_request.rs: differs from what the locked schemas generate"),
        "{text}"
    );
    assert!(text.contains("kwire-codegen generate --vendored"), "{text}");
}

#[test]
fn an_edited_lock_or_a_removed_module_is_drift() {
    let tmp = example_copy();
    let lock = tmp.path().join("kafka.sha256");
    let text = std::fs::read_to_string(&lock).unwrap();
    std::fs::write(&lock, text.replacen("22d9d577", "00000000", 1)).unwrap();
    std::fs::remove_file(tmp.path().join("messages/produce_response.rs")).unwrap();
    let p = drift_lines(Builder::from_manifest(tmp.path(), None).unwrap().verify());
    assert!(
        p.iter().any(|l| l.contains("kafka.sha256: edited")),
        "{p:?}"
    );
    assert!(
        p.iter()
            .any(|l| l.contains("modules were edited, added or removed")),
        "{p:?}"
    );
    let (ok, text) = cli_check(tmp.path());
    assert!(!ok, "{text}");
    assert!(
        text.contains("messages/produce_response.rs: missing"),
        "{text}"
    );
}

#[test]
fn settings_that_changed_since_the_output_was_written_are_drift() {
    let b = Builder::kafka_release("4.4.0")
        .apis(["Produce", "Fetch", "Metadata", "ApiVersions"])
        .side(Side::Both)
        .out_dir(example_output());
    let p = drift_lines(b.verify());
    assert_eq!(p.len(), 1, "{p:?}");
    assert!(
        p[0].contains("`side client`") && p[0].contains("`side both`"),
        "{p:?}"
    );
}
