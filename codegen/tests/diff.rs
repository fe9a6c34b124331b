//! `kwire-codegen diff` on real Kafka history (every consecutive pair of
//! release lines in ../shared) and on small fixtures that exercise each
//! change kind and each incompatibility.

mod support;

use kwire_codegen::history::compare::{compare_version, FieldChange};
use kwire_codegen::history::diff::{diff, IncompatibleKind, SchemaDiff};
use kwire_codegen::model::Model;
use kwire_codegen::pin::schema_files;
use kwire_codegen::run::load_model;
use kwire_codegen::schema::parse_str;

fn line(name: &str) -> Model {
    load_model(&schema_files(&support::shared_schemas().join(name)).unwrap()).unwrap()
}

fn real(old: &str, new: &str) -> SchemaDiff {
    diff(old, &line(old), new, &line(new))
}

fn lines() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(support::shared_schemas())
        .unwrap()
        .filter_map(|e| {
            let e = e.unwrap();
            e.path()
                .is_dir()
                .then(|| e.file_name().to_string_lossy().into_owned())
        })
        .collect();
    v.sort_by(|a, b| kwire_codegen::history::cmp_lines(a, b));
    v
}

/// The only incompatible evolutions in Kafka's history of released
/// versions, each a real one:
/// * 2.3 -> 2.4, RequestHeader v0: before KIP-482 the file had one version, "0", meaning the
///   normal header with ClientId; 2.4 renumbered it as v1 and made v0 the client-id-less header of
///   ControlledShutdown v0. The wire never changed, the schema's numbering did.
/// * 2.7 -> 2.8, EndQuorumEpochRequest v0 and LeaderChangeMessage v0: KIP-595's Raft RPCs and
///   control record shipped in 2.7 before KRaft could run (its preview came in 2.8), and were
///   changed in place.
/// * 2.8 -> 3.0, LeaderChangeMessage v0: a Version field added in place, still in the KRaft preview.
const KNOWN: [(&str, &str, &str, i16, &str); 4] = [
    ("2.3", "RequestHeader", "field ClientId removed", 0, "2.4"),
    (
        "2.7",
        "EndQuorumEpochRequest",
        "field Topics.Partitions.ReplicaId removed",
        0,
        "2.8",
    ),
    (
        "2.7",
        "LeaderChangeMessage",
        "field GrantingVoters added",
        0,
        "2.8",
    ),
    (
        "2.8",
        "LeaderChangeMessage",
        "field Version added",
        0,
        "3.0",
    ),
];

#[test]
fn every_consecutive_pair_of_release_lines() {
    let ls = lines();
    assert!(ls.len() >= 23, "release lines: {ls:?}");
    let mut found = Vec::new();
    for w in ls.windows(2) {
        let d = real(&w[0], &w[1]);
        if w[1] != "trunk" {
            assert!(!d.is_empty(), "{} -> {}: no change at all?", w[0], w[1]);
        }
        for e in &d.incompatible {
            found.push((
                w[0].clone(),
                e.message.clone(),
                e.detail.clone(),
                e.version,
                w[1].clone(),
            ));
        }
        // The JSON form parses and says the same.
        let json: serde_json::Value = serde_json::from_str(&d.to_json()).unwrap();
        assert_eq!(
            json["incompatible"].as_array().unwrap().len(),
            d.incompatible.len()
        );
    }
    let want: Vec<_> = KNOWN
        .iter()
        .map(|(a, m, det, v, b)| {
            (
                a.to_string(),
                m.to_string(),
                det.to_string(),
                Some(*v),
                b.to_string(),
            )
        })
        .collect();
    assert_eq!(found, want, "incompatible evolutions in real history");
}

#[test]
fn from_4_3_to_4_4() {
    let d = real("4.3", "4.4");
    assert!(d.is_compatible(), "{}", d.to_markdown());
    let added = |name: &str| {
        d.api(name)
            .unwrap_or_else(|| panic!("{name} not changed"))
            .versions_added
            .clone()
    };
    assert_eq!(added("ApiVersions"), [5]);
    assert_eq!(added("DeleteGroups"), [3]);
    assert_eq!(added("TxnOffsetCommit"), [6]);
    assert_eq!(added("StreamsGroupHeartbeat"), [1]);
    assert_eq!(added("StreamsGroupDescribe"), [1]);
    let new: Vec<_> = d
        .new_apis
        .iter()
        .map(|a| (a.key, a.name.as_str()))
        .collect();
    assert_eq!(
        new,
        [
            (93, "StreamsGroupTopologyDescriptionUpdate"),
            (94, "UnregisterController")
        ]
    );
    // Fields come with their versions: TxnOffsetCommit v6 is topic ids (KIP-1319).
    let md = d.to_markdown();
    assert!(md.contains("### ApiVersions (18): 0-4 -> 0-5"), "{md}");
    assert!(
        md.contains("- UnregisterController (94): versions 0"),
        "{md}"
    );
    let txn = d.api("TxnOffsetCommit").unwrap().request.as_ref().unwrap();
    assert!(
        txn.fields
            .iter()
            .any(|f| f.path.starts_with("Topics.") || f.path.starts_with("Topics")),
        "{:?}",
        txn.fields
    );
}

#[test]
fn from_3_9_to_4_0_reports_the_kip_896_minimum_raises() {
    let d = real("3.9", "4.0");
    assert!(d.is_compatible(), "{}", d.to_markdown());
    let raised = |name: &str| d.api(name).and_then(|a| a.min_raised);
    for (name, to) in [
        ("Produce", 3),
        ("Fetch", 4),
        ("ListOffsets", 1),
        ("OffsetCommit", 2),
        ("OffsetFetch", 1),
        ("CreateTopics", 2),
        ("DeleteTopics", 1),
        ("OffsetForLeaderEpoch", 2),
        ("WriteTxnMarkers", 1),
        ("DescribeAcls", 1),
        ("CreateAcls", 1),
        ("DeleteAcls", 1),
        ("DescribeConfigs", 1),
        ("AlterReplicaLogDirs", 1),
        ("DescribeLogDirs", 1),
        ("CreateDelegationToken", 1),
        ("RenewDelegationToken", 1),
        ("ExpireDelegationToken", 1),
        ("DescribeDelegationToken", 1),
        ("AlterPartition", 2),
    ] {
        assert_eq!(raised(name), Some((0, to)), "{name}");
    }
    // The 4.0 line's newest schemas have JoinGroup 0-9 again: 4.0.0 shipped 2-9 and 4.0.1 re-added
    // v0-v1 (KAFKA-19444), which schemas/history/patches.toml records.
    assert_eq!(raised("JoinGroup"), None);
    let removed: Vec<_> = d.removed_apis.iter().map(|a| a.key).collect();
    assert_eq!(
        removed,
        [4, 5, 6, 7],
        "LeaderAndIsr, StopReplica, UpdateMetadata, ControlledShutdown"
    );
    assert!(d.to_markdown().contains("- minimum raised: v0 -> v3"));
}

// ---- fixtures: one small schema set per change kind ----

fn model(files: &[(&str, &str)]) -> Model {
    let parsed: Vec<_> = files
        .iter()
        .map(|(n, t)| parse_str(n, t).unwrap_or_else(|e| panic!("{n}: {e}")))
        .collect();
    Model::from_files(&parsed).unwrap()
}

/// A request/response pair, key 1000; `req_fields` goes into the request.
fn api(valid: &str, flexible: &str, unstable: bool, req_fields: &str) -> Model {
    let req = format!(
        r#"{{ "apiKey": 1000, "type": "request", "listeners": ["broker"], "name": "WidgetRequest",
              "validVersions": "{valid}", "flexibleVersions": "{flexible}", "latestVersionUnstable": {unstable},
              "fields": [ {req_fields} ] }}"#
    );
    let resp = format!(
        r#"{{ "apiKey": 1000, "type": "response", "name": "WidgetResponse",
              "validVersions": "{valid}", "flexibleVersions": "{flexible}",
              "fields": [ {{ "name": "ErrorCode", "type": "int16", "versions": "0+" }} ] }}"#
    );
    model(&[("WidgetRequest.json", &req), ("WidgetResponse.json", &resp)])
}

const BASE: &str = r#"{ "name": "Id", "type": "int32", "versions": "0+" },
  { "name": "Name", "type": "string", "versions": "1+", "nullableVersions": "1+" },
  { "name": "Extra", "type": "int64", "versions": "2+", "default": "-1", "tag": 0, "taggedVersions": "2+" }"#;

fn kinds(d: &SchemaDiff) -> Vec<String> {
    d.incompatible
        .iter()
        .map(|e| format!("{:?} {:?}: {}", e.kind, e.version, e.detail))
        .collect()
}

#[test]
fn compatible_changes_are_reported_not_flagged() {
    let old = api("0-2", "2+", false, BASE);
    // v3 added with a new field, a new tagged field at v2, a default changed, a field renamed.
    let new = api(
        "0-3",
        "2+",
        false,
        r#"{ "name": "Ident", "type": "int32", "versions": "0+" },
  { "name": "Name", "type": "string", "versions": "1+", "nullableVersions": "1+" },
  { "name": "Extra", "type": "int64", "versions": "2+", "default": "-2", "tag": 0, "taggedVersions": "2+" },
  { "name": "More", "type": "int8", "versions": "2+", "tag": 1, "taggedVersions": "2+" },
  { "name": "Count", "type": "int32", "versions": "3+" }"#,
    );
    let d = diff("old", &old, "new", &new);
    assert!(d.is_compatible(), "{:?}", kinds(&d));
    let a = d.api("Widget").unwrap();
    assert_eq!(a.versions_added, [3]);
    let req = a.request.as_ref().unwrap();
    let text: Vec<String> = req
        .fields
        .iter()
        .map(|f| format!("{} {:?}", f.path, f.change))
        .collect();
    let md = d.to_markdown();
    assert!(md.contains("field `Count`: added (versions 3+)"), "{md}");
    assert!(md.contains("field `More`: added (versions 2+)"), "{md}");
    assert!(
        md.contains("field `Extra`: default Int(-1) -> Int(-2)"),
        "{md}"
    );
    assert!(
        md.contains("field `Id`: removed") && md.contains("field `Ident`: added"),
        "{text:?}"
    );
    // Field by field, version 2 differs only compatibly: a rename, a new tagged field, a default.
    let v2 = compare_version(
        old.find("WidgetRequest").unwrap(),
        new.find("WidgetRequest").unwrap(),
        2,
    );
    let changes: Vec<_> = v2
        .iter()
        .map(|f| (f.path.as_str(), f.change.clone()))
        .collect();
    assert!(
        changes.contains(&("Id", FieldChange::Renamed { to: "Ident".into() })),
        "{changes:?}"
    );
    assert!(
        changes.contains(&("More", FieldChange::Added { tag: Some(1) })),
        "{changes:?}"
    );
    assert!(v2.iter().all(|f| !f.change.breaks_wire()), "{changes:?}");
}

#[test]
fn each_incompatibility_is_flagged() {
    let old = api("0-2", "2+", false, BASE);
    let case = |fields: &str, valid: &str, flexible: &str| {
        diff("old", &old, "new", &api(valid, flexible, false, fields))
    };

    // A field added to a released version.
    let d = case(
        &format!("{BASE}, {{ \"name\": \"Late\", \"type\": \"int8\", \"versions\": \"1+\" }}"),
        "0-2",
        "2+",
    );
    assert_eq!(
        kinds(&d),
        [
            "FieldsChanged Some(1): field Late added",
            "FieldsChanged Some(2): field Late added"
        ]
    );

    // Retyped.
    let d = case(
        &BASE.replace(r#""Id", "type": "int32""#, r#""Id", "type": "int64""#),
        "0-2",
        "2+",
    );
    assert!(
        kinds(&d).iter().all(|k| k.starts_with("Retyped")) && kinds(&d).len() == 3,
        "{:?}",
        kinds(&d)
    );

    // Reordered.
    let swapped = r#"{ "name": "Name", "type": "string", "versions": "1+", "nullableVersions": "1+" },
  { "name": "Id", "type": "int32", "versions": "0+" },
  { "name": "Extra", "type": "int64", "versions": "2+", "default": "-1", "tag": 0, "taggedVersions": "2+" }"#;
    let d = case(swapped, "0-2", "2+");
    assert!(
        kinds(&d).iter().any(|k| k.starts_with("Reordered Some(1)")),
        "{:?}",
        kinds(&d)
    );

    // Nullability changed at a released version.
    let d = case(
        &BASE.replace(r#""nullableVersions": "1+""#, r#""nullableVersions": "2+""#),
        "0-2",
        "2+",
    );
    assert_eq!(
        kinds(&d),
        ["FieldsChanged Some(1): field Name: nullable true -> false"]
    );

    // A tag reused by another field of another type.
    let reused = BASE.replace(
        r#"{ "name": "Extra", "type": "int64", "versions": "2+", "default": "-1", "tag": 0"#,
        r#"{ "name": "Other", "type": "string", "versions": "2+", "tag": 0"#,
    );
    let d = case(&reused, "0-2", "2+");
    assert!(
        kinds(&d)
            .iter()
            .any(|k| k.starts_with("TagReused Some(2): tag 0 was field Extra")),
        "{:?}",
        kinds(&d)
    );

    // The highest version lowered.
    let d = case(BASE, "0-1", "2+");
    assert!(
        kinds(&d)
            .iter()
            .any(|k| k == "HighestVersionLowered None: highest valid version 2 -> 1"),
        "{:?}",
        kinds(&d)
    );

    // flexibleVersions shrunk.
    let d = case(
        &BASE
            .replace("\"2+\", \"default\"", "\"3+\", \"default\"")
            .replace("\"taggedVersions\": \"2+\"", "\"taggedVersions\": \"3+\""),
        "0-3",
        "3+",
    );
    assert!(
        kinds(&d)
            .iter()
            .any(|k| k == "FlexibleVersionsShrunk None: flexibleVersions 2+ -> 3+"),
        "{:?}",
        kinds(&d)
    );
    let _ = IncompatibleKind::Retyped;
}

#[test]
fn unstable_and_removed_versions_are_not_errors() {
    // v2 unstable may change freely; removing v0 (KIP-896 style) raises the minimum.
    let old = api("0-2", "2+", true, BASE);
    let new = api(
        "1-2",
        "2+",
        false,
        &BASE.replace(
            r#""name": "Extra", "type": "int64""#,
            r#""name": "Extra", "type": "int32""#,
        ),
    );
    let d = diff("old", &old, "new", &new);
    assert!(d.is_compatible(), "{:?}", kinds(&d));
    let a = d.api("Widget").unwrap();
    assert_eq!(a.min_raised, Some((0, 1)));
    assert_eq!(a.versions_removed, [0]);
    assert_eq!(a.stability, Some((true, false)));
    assert!(d
        .to_markdown()
        .contains("latestVersionUnstable: true -> false"));
}

#[test]
fn the_cli_exits_non_zero_on_incompatible_schemas() {
    let dir = tempfile::tempdir().unwrap();
    let write = |sub: &str, fields: &str| {
        let p = dir.path().join(sub);
        std::fs::create_dir_all(&p).unwrap();
        let req = format!(
            r#"{{ "apiKey": 1000, "type": "request", "name": "WidgetRequest", "validVersions": "0-1", "flexibleVersions": "none", "fields": [ {fields} ] }}"#
        );
        let resp = r#"{ "apiKey": 1000, "type": "response", "name": "WidgetResponse", "validVersions": "0-1", "flexibleVersions": "none", "fields": [] }"#;
        std::fs::write(p.join("WidgetRequest.json"), req).unwrap();
        std::fs::write(p.join("WidgetResponse.json"), resp).unwrap();
        p
    };
    let a = write(
        "a",
        r#"{ "name": "Id", "type": "int32", "versions": "0+" }"#,
    );
    let b = write(
        "b",
        r#"{ "name": "Id", "type": "int64", "versions": "0+" }"#,
    );
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_kwire-codegen"))
            .args(args)
            .output()
            .unwrap()
    };
    let out = run(&["diff", a.to_str().unwrap(), b.to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("Retyped"));
    let out = run(&["diff", "--json", a.to_str().unwrap(), a.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["incompatible"], serde_json::json!([]));
    let out = run(&[
        "diff",
        "--informational",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(0));
}
