//! The union of versions across release lines (KIP-896 historic versions):
//! versions below the pin's minimum come from an older line, overlapping
//! versions must agree on the wire, and the merged model has exactly the
//! older line's layout below the pin's minimum and the pin's above it.

mod support;

use std::path::Path;

use kwire_codegen::history::compare::{compare_version, layout, WireField};
use kwire_codegen::history::union::{union, OlderLine};
use kwire_codegen::model::Model;
use kwire_codegen::schema::{parse_file, ParsedFile};
use kwire_codegen::versions::Versions;
use kwire_codegen::GenError;

fn files(dir: &Path) -> Vec<ParsedFile> {
    let mut out: Vec<ParsedFile> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "json"))
        .map(|p| parse_file(&p).unwrap())
        .collect();
    out.sort_by(|a, b| a.file_name.cmp(&b.file_name));
    out
}

fn fixture(name: &str) -> Vec<ParsedFile> {
    files(
        &Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/union")
            .join(name),
    )
}

fn names(fields: &[WireField]) -> Vec<&str> {
    fields.iter().map(|f| f.name.as_str()).collect()
}

fn field<'a>(fields: &'a [WireField], name: &str) -> &'a WireField {
    fields
        .iter()
        .find(|f| f.name == name)
        .unwrap_or_else(|| panic!("no field {name} in {:?}", names(fields)))
}

#[test]
fn versions_below_the_pins_minimum_take_the_older_lines_layout() {
    let pin = fixture("new");
    let old = fixture("old");
    let u = union(
        "new",
        &pin,
        &[OlderLine {
            name: "old",
            files: &old,
        }],
    )
    .unwrap();
    let added: Vec<(String, Versions, String)> = u
        .added
        .iter()
        .map(|a| (a.message.clone(), a.versions, a.line.clone()))
        .collect();
    assert_eq!(
        added,
        vec![
            ("SnackRequest".into(), Versions::new(0, 1), "old".into()),
            ("SnackResponse".into(), Versions::new(0, 1), "old".into()),
        ]
    );
    let m = u.model.find("SnackRequest").unwrap();
    assert_eq!(m.valid, Versions::new(0, 4));
    assert_eq!(m.flexible, Versions::new(4, i16::MAX));
    // Historic versions are deprecated by definition; the pin's listeners stay.
    assert_eq!(m.deprecated, Versions::new(0, 1));
    assert_eq!(m.listeners, vec!["broker".to_string()]);

    // v1: the field the pin dropped sits where the older line had it.
    let v1 = layout(m, 1);
    assert_eq!(
        names(&v1),
        ["GroupId", "LegacyTimestamp", "Count", "Topics"]
    );
    assert_eq!(field(&v1, "LegacyTimestamp").ty, "int64");
    let topics = &field(&v1, "Topics").fields;
    assert_eq!(names(topics), ["Name", "Partitions", "Owner"]);
    assert!(field(topics, "Owner").nullable);
    // v0: no LegacyTimestamp, Owner not nullable yet.
    let v0 = layout(m, 0);
    assert_eq!(names(&v0), ["GroupId", "Count", "Topics"]);
    assert!(!field(&field(&v0, "Topics").fields, "Owner").nullable);
    // The pin's versions are the pin's, field for field.
    let p = Model::from_files(&pin).unwrap();
    let o = Model::from_files(&old).unwrap();
    for v in 2..=4 {
        let d = compare_version(p.find("SnackRequest").unwrap(), m, v);
        assert!(d.is_empty(), "v{v}: {d:?}");
        assert_eq!(layout(p.find("SnackRequest").unwrap(), v), layout(m, v));
    }
    // The older versions are the older line's on the wire (the struct
    // name is the pin's: a rename is not a wire change).
    for v in 0..=1 {
        let d: Vec<_> = compare_version(o.find("SnackRequest").unwrap(), m, v)
            .into_iter()
            .filter(|d| d.change.breaks_wire())
            .collect();
        assert!(d.is_empty(), "v{v}: {d:?}");
    }
    // The response: ThrottleTimeMs arrived in v1 in the older line.
    let r = u.model.find("SnackResponse").unwrap();
    assert_eq!(r.valid, Versions::new(0, 4));
    assert_eq!(names(&layout(r, 0)), ["ErrorCode"]);
    assert_eq!(names(&layout(r, 1)), ["ThrottleTimeMs", "ErrorCode"]);
}

#[test]
fn layouts_that_disagree_on_a_shared_version_stop_the_union() {
    let pin = fixture("new");
    let old = fixture("disagree");
    let err = union(
        "new",
        &pin,
        &[OlderLine {
            name: "disagree",
            files: &old,
        }],
    )
    .unwrap_err();
    match &err {
        GenError::LayoutsDisagree {
            message,
            version,
            older,
            newer,
            diffs,
        } => {
            assert_eq!(message, "SnackRequest");
            assert_eq!(*version, 2, "the first shared version");
            assert_eq!((older.as_str(), newer.as_str()), ("disagree", "new"));
            assert_eq!(diffs, &["Count retyped int64 -> int32".to_string()]);
        }
        other => panic!("expected LayoutsDisagree, got {other:?}"),
    }
    let text = err.to_string();
    for needle in [
        "SnackRequest v2",
        "disagree",
        "Count retyped int64 -> int32",
    ] {
        assert!(text.contains(needle), "{needle:?} missing from: {text}");
    }
}

#[test]
fn without_older_lines_the_union_is_the_pin() {
    let pin = fixture("new");
    let u = union("new", &pin, &[]).unwrap();
    assert!(u.added.is_empty());
    assert_eq!(u.model, Model::from_files(&pin).unwrap());
}

/// Kafka's own history: 3.9 (the last line before KIP-896) under 4.4.
#[test]
fn kafka_3_9_under_4_4_gives_back_the_kip_896_removals() {
    let shared = support::shared_schemas();
    let pin = files(&shared.join("4.4"));
    let old = files(&shared.join("3.9"));
    let u = union(
        "4.4",
        &pin,
        &[OlderLine {
            name: "3.9.2",
            files: &old,
        }],
    )
    .unwrap();
    let got = |name: &str| {
        u.added
            .iter()
            .find(|a| a.message == name)
            .map(|a| a.versions)
    };
    assert_eq!(got("ProduceRequest"), Some(Versions::new(0, 2)));
    assert_eq!(got("FetchResponse"), Some(Versions::new(0, 3)));
    assert_eq!(got("OffsetCommitRequest"), Some(Versions::new(0, 1)));
    assert_eq!(got("ListOffsetsRequest"), Some(Versions::new(0, 0)));
    // JoinGroup v0-1 came back in 4.0.1 (KAFKA-19444): nothing to add.
    assert_eq!(got("JoinGroupRequest"), None);
    // A version 3.9 marked unstable was never released (KIP-932 share groups).
    assert_eq!(got("ShareGroupHeartbeatRequest"), None);
    let p = Model::from_files(&pin).unwrap();
    let o = Model::from_files(&old).unwrap();
    for a in &u.added {
        let m = u.model.find(&a.message).unwrap();
        for v in a.versions.lo..=a.versions.hi {
            let d: Vec<_> = compare_version(o.find(&a.message).unwrap(), m, v)
                .into_iter()
                .filter(|d| d.change.breaks_wire())
                .collect();
            assert!(d.is_empty(), "{} v{v}: {d:?}", a.message);
        }
        let pm = p.find(&a.message).unwrap();
        for v in pm.valid.lo..=pm.valid.hi {
            assert_eq!(layout(pm, v), layout(m, v), "{} v{v}", a.message);
        }
    }
    // KIP-932's share-group state changed in place before its release: a
    // warning, since no historic version joins it.
    assert!(
        u.model
            .warnings
            .iter()
            .any(|w| w.contains("ReadShareGroupStateSummaryResponse v0")),
        "{:?}",
        u.model.warnings
    );
    // Produce v0-2 and Fetch v0-3 as Kafka 3.9 wrote them.
    let produce = u.model.find("ProduceRequest").unwrap();
    assert_eq!(
        names(&layout(produce, 0)),
        ["Acks", "TimeoutMs", "TopicData"]
    );
    assert_eq!(
        names(&layout(produce, 3)),
        ["TransactionalId", "Acks", "TimeoutMs", "TopicData"]
    );
    let fetch = u.model.find("FetchRequest").unwrap();
    assert_eq!(
        names(&layout(fetch, 2)),
        ["ReplicaId", "MaxWaitMs", "MinBytes", "Topics"]
    );
    assert_eq!(
        names(&layout(fetch, 3)),
        ["ReplicaId", "MaxWaitMs", "MinBytes", "MaxBytes", "Topics"]
    );
}
