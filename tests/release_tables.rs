//! `KafkaRelease` tables against their sources: every release line's table
//! against that line's request schemas in ../shared (read here with
//! serde_json, independently of kwire-codegen), the pre-2.2 lines against
//! the recorded facts, and parsing.

use std::path::PathBuf;

use kwire::{ApiKey, KafkaRelease, VersionRange};

fn shared() -> PathBuf {
    let d = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/kafka-schemas");
    assert!(
        d.is_dir(),
        "{} is missing: the release lines' schemas are read from ../shared",
        d.display()
    );
    d
}

/// Removes `//` comments outside strings (the schema files carry a licence header and notes).
fn strip_comments(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let (mut in_str, mut escaped) = (false, false);
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if in_str {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_str = false;
            }
        } else if c == '/' && chars.peek() == Some(&'/') {
            for n in chars.by_ref() {
                if n == '\n' {
                    out.push('\n');
                    break;
                }
            }
        } else {
            if c == '"' {
                in_str = true;
            }
            out.push(c);
        }
    }
    out
}

/// (key, valid versions as (lo, hi) or None, latestVersionUnstable) of a request schema.
type Row = (i16, Option<(i16, i16)>, bool);

fn request_table(line: &str) -> Vec<Row> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(shared().join(line)).unwrap() {
        let p = e.unwrap().path();
        if !p.to_string_lossy().ends_with("Request.json") {
            continue;
        }
        let text = strip_comments(&std::fs::read_to_string(&p).unwrap());
        // Like Kafka's Jackson reader, stop after the first value (2.8 has a stray `]}` after one).
        let mut de = serde_json::Deserializer::from_str(&text).into_iter::<serde_json::Value>();
        let v = de
            .next()
            .unwrap()
            .unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        let key = v["apiKey"].as_i64().unwrap() as i16;
        let valid = v["validVersions"].as_str().unwrap();
        let range = match valid {
            "none" => None,
            s => {
                let (lo, hi) = s.split_once('-').unwrap_or((s, s));
                Some((lo.parse().unwrap(), hi.parse().unwrap()))
            }
        };
        let unstable = v["latestVersionUnstable"].as_bool().unwrap_or(false);
        out.push((key, range, unstable));
    }
    out.sort();
    out
}

#[test]
fn every_json_line_matches_its_schemas() {
    let mut lines = 0;
    for r in KafkaRelease::lines().filter(|r| r.from_schemas()) {
        let dir = if r.is_next() {
            "trunk".to_string()
        } else {
            r.line_name().to_string()
        };
        let want = request_table(&dir);
        assert!(!want.is_empty(), "{dir}: no request schemas");
        let have: Vec<Row> = r
            .apis()
            .map(|a| {
                let all = a.versions_including_unstable.map(|v| (v.min, v.max));
                let unstable = a.versions_including_unstable != a.versions;
                (a.key.0, all, unstable)
            })
            .collect();
        assert_eq!(
            have, want,
            "KafkaRelease {r} against {dir}'s request schemas"
        );
        // The stable range drops exactly the unstable latest version.
        for (k, range, unstable) in &want {
            let stable = r.versions(ApiKey(*k));
            match (range, unstable) {
                (Some((lo, hi)), true) if lo == hi => assert_eq!(stable, None),
                (Some((lo, hi)), true) => assert_eq!(stable, Some(VersionRange::new(*lo, hi - 1))),
                (Some((lo, hi)), false) => assert_eq!(stable, Some(VersionRange::new(*lo, *hi))),
                (None, _) => assert_eq!(stable, None),
            }
        }
        lines += 1;
    }
    assert_eq!(lines, 23, "2.2 ... 4.4 and trunk");
}

#[test]
fn pre_json_lines_hold_the_recorded_facts() {
    let r = |s: &str| -> KafkaRelease { s.parse().unwrap() };
    let max = |rel: &str, k: ApiKey| r(rel).max_version(k);
    // A few cells from each era, against Kafka's own sources (see schemas/history/pre-json.toml).
    assert_eq!(max("0.8.0", ApiKey::PRODUCE), Some(0));
    assert_eq!(max("0.8.0", ApiKey::OFFSET_COMMIT), None);
    assert_eq!(max("0.8.2", ApiKey::OFFSET_FETCH), Some(1));
    assert_eq!(
        max("0.8.2", ApiKey::JOIN_GROUP),
        None,
        "0.8.2 names key 11 but has no handler"
    );
    assert_eq!(max("0.9.0", ApiKey::FETCH), Some(1));
    assert_eq!(max("0.10.0", ApiKey::API_VERSIONS), Some(0));
    assert_eq!(max("0.9.0", ApiKey::API_VERSIONS), None);
    assert_eq!(
        max("0.10.2", ApiKey::OFFSET_FETCH),
        Some(2),
        "KIP-88 (KAFKA-3853) is in 0.10.2"
    );
    assert_eq!(max("0.11.0", ApiKey::FETCH), Some(5));
    assert_eq!(max("1.0", ApiKey::PRODUCE), Some(5));
    assert_eq!(max("1.1", ApiKey::DELETE_GROUPS), Some(0));
    assert_eq!(max("2.0", ApiKey::FETCH), Some(8));
    assert_eq!(max("2.1", ApiKey::FETCH), Some(10));
    assert_eq!(max("2.1", ApiKey::ELECT_LEADERS), None);
    assert!(!r("2.1").from_schemas() && r("2.2").from_schemas());
    for rel in KafkaRelease::released().filter(|r| !r.from_schemas()) {
        for a in rel.apis() {
            assert_eq!(
                a.versions.map(|v| v.min),
                Some(0),
                "{rel} {}: pre-JSON minimums are 0",
                a.name
            );
        }
    }
    // Each line has at least the previous line's keys, and never a lower maximum, before KIP-896.
    let lines: Vec<_> = KafkaRelease::released()
        .filter(|r| *r < KafkaRelease::V4_0)
        .collect();
    for w in lines.windows(2) {
        for a in w[0].apis() {
            // A key whose only version is unstable is not yet released.
            let Some(old) = a.versions else { continue };
            let Some(new) = w[1].versions(a.key) else {
                panic!("{}: {} disappears in {}", w[0], a.name, w[1]);
            };
            assert!(
                new.max >= old.max,
                "{} {}: max {} -> {} in {}",
                w[0],
                a.name,
                old.max,
                new.max,
                w[1]
            );
        }
    }
}

#[test]
fn release_names_parse_and_print() {
    let p = |s: &str| KafkaRelease::parse(s);
    assert_eq!(p("3.8").unwrap(), KafkaRelease::V3_8);
    assert_eq!(p("v3.8").unwrap(), KafkaRelease::V3_8);
    assert_eq!(p("3.8.1").unwrap().to_string(), "3.8.1");
    assert_eq!(p("3.8.1").unwrap().line(), KafkaRelease::V3_8);
    assert_eq!(p("0.10.2.1").unwrap().line(), KafkaRelease::V0_10_2);
    assert_eq!(p("0.10.2").unwrap(), KafkaRelease::V0_10_2);
    assert_eq!(p("trunk").unwrap(), KafkaRelease::NEXT);
    assert_eq!(p("next").unwrap().to_string(), "next");
    assert!(p("3.99").unwrap_err().to_string().contains("3.99"));
    assert!(p("0.10").is_err(), "0.x lines have three parts");
    assert!(p("3.8.1.2").is_err());
    assert!(p("").is_err() && p("x.y").is_err() && p("3..8").is_err() && p("-3.8").is_err());
    assert_eq!(KafkaRelease::LATEST, KafkaRelease::V4_4);
    // Ordering: lines, then patches; a line (newest patch) after its numbered patches.
    assert!(p("4.0.0").unwrap() < KafkaRelease::V4_0);
    assert!(KafkaRelease::V3_9 < p("4.0.0").unwrap());
    let all: Vec<_> = KafkaRelease::lines().collect();
    assert!(all.windows(2).all(|w| w[0] < w[1]));
    assert_eq!(all.len(), 35, "0.8.0 ... 2.1 (12), 2.2 ... 4.4 (22), next");
}

#[test]
fn a_release_pin_caps_and_patch_releases_differ() {
    assert_eq!(KafkaRelease::V3_8.max_version(ApiKey::FETCH), Some(16));
    assert_eq!(
        KafkaRelease::V3_8.cap(ApiKey::FETCH, VersionRange::new(4, 18)),
        Some(VersionRange::new(4, 16))
    );
    assert_eq!(
        KafkaRelease::V2_3.cap(ApiKey::DESCRIBE_CLUSTER, VersionRange::new(0, 2)),
        None
    );
    let v400: KafkaRelease = "4.0.0".parse().unwrap();
    assert_eq!(
        v400.versions(ApiKey::JOIN_GROUP),
        Some(VersionRange::new(2, 9))
    );
    assert_eq!(
        "4.0.2"
            .parse::<KafkaRelease>()
            .unwrap()
            .versions(ApiKey::JOIN_GROUP),
        Some(VersionRange::new(0, 9))
    );
    assert_eq!(KafkaRelease::V4_0.versions(ApiKey::LEADER_AND_ISR), None);
    assert!(
        KafkaRelease::V4_0.has_api(ApiKey::LEADER_AND_ISR),
        "removed keys stay reserved"
    );
    // InitProducerId v6 (KIP-939) is unstable in 4.4: not accepted by default.
    assert_eq!(
        KafkaRelease::V4_4.max_version(ApiKey::INIT_PRODUCER_ID),
        Some(5)
    );
    assert_eq!(
        KafkaRelease::V4_4
            .versions_including_unstable(ApiKey::INIT_PRODUCER_ID)
            .map(|v| v.max),
        Some(6)
    );
    // Feature levels.
    let mv = KafkaRelease::V3_8.feature("metadata.version").unwrap();
    assert_eq!((mv.min, mv.max), (1, 20));
    assert_eq!(
        KafkaRelease::V4_4.feature("share.version").map(|f| f.max),
        Some(2)
    );
    assert_eq!(KafkaRelease::V3_2.features().count(), 0);
    // The table this build is generated from is the newest line's, extended below its minimum by
    // the versions 3.9 still defined (KIP-896 historic versions, taken from 3.9.2's layouts).
    for info in kwire::api_key::API_TABLE {
        let latest = KafkaRelease::LATEST.versions_including_unstable(info.key);
        let historic = KafkaRelease::V3_9.min_version(info.key);
        let want = latest.map(|v| match historic {
            Some(h) if h < v.min => VersionRange::new(h, v.max),
            _ => v,
        });
        assert_eq!(info.versions, want, "{}", info.name);
    }
    assert_eq!(
        ApiKey::PRODUCE.versions(),
        Some(VersionRange::new(0, 13)),
        "Produce v0-2 are historic"
    );
    assert_eq!(
        KafkaRelease::V4_4.versions(ApiKey::PRODUCE),
        Some(VersionRange::new(3, 13)),
        "4.4's own table keeps its minimum"
    );
}
