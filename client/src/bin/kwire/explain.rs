//! `kwire api-versions`' report: per API, the broker's range, ours, the
//! chosen version and why; finalized and supported features; the broker's
//! likely Kafka release. Text for people, JSON (`--json`) for tools.

use std::fmt::Write as _;

use kwire::release::{self, Advertised, Guess, Verdict};
use serde_json::{json, Value};

use kwire_client::escape;
use kwire_client::limits::PRINT_ITEMS;
use kwire_client::protocol::api::VersionRange;
use kwire_client::protocol::choose::every_api;
use kwire_client::protocol::versions::{BrokerVersions, TableSource, VersionCaps};
use kwire_client::{Negotiated, NoVersion};

fn opt(r: Option<VersionRange>) -> String {
    r.map_or_else(|| "-".to_string(), |r| r.to_string())
}

/// The text report. Broker-supplied names are escaped; keys this build does
/// not know and each list of features print at most [`PRINT_ITEMS`] lines,
/// then a count.
pub fn render(n: &Negotiated, broker_name: &str, caps: &VersionCaps, all: bool) -> String {
    let v = &n.versions;
    let mut out = String::new();
    let _ = writeln!(out, "broker {broker_name}");
    match &v.source {
        TableSource::ApiVersions { sent, decoded_at } => {
            let _ = write!(out, "ApiVersions v{sent}");
            if decoded_at != sent {
                let _ = write!(out, " (reply shaped as v{decoded_at}, accepted)");
            }
            let _ = writeln!(out);
        }
        TableSource::Fallback { source } => {
            let _ = writeln!(out, "no ApiVersions reply: using {source}");
        }
    }
    for a in &n.attempts {
        let _ = writeln!(out, "  attempt: {a}");
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "{:<32} {:>8} {:>8} {:>7}  why",
        "api", "broker", "ours", "chosen"
    );
    let mut unknown_hidden = 0usize;
    let mut unknown_shown = 0usize;
    for row in every_api(v, caps, broker_name) {
        if !all && row.broker.is_none() {
            continue;
        }
        if row.choice.is_none() {
            if unknown_shown == PRINT_ITEMS {
                unknown_hidden += 1;
                continue;
            }
            unknown_shown += 1;
        }
        let label = format!("{}({})", row.name, row.api.0);
        let (chosen, why) = match &row.choice {
            None => (
                "-".to_string(),
                "unknown to this build (kept aside)".to_string(),
            ),
            Some(Ok(c)) => (format!("v{}", c.version), c.why()),
            Some(Err(NoVersion::NotAdvertised { .. })) => {
                ("-".to_string(), "not advertised by the broker".to_string())
            }
            Some(Err(e)) => ("none".to_string(), e.to_string()),
        };
        let _ = writeln!(
            out,
            "{:<32} {:>8} {:>8} {:>7}  {}",
            label,
            opt(row.broker),
            opt(row.ours),
            chosen,
            why
        );
    }
    if unknown_hidden > 0 {
        let _ = writeln!(
            out,
            "... and {unknown_hidden} more api keys unknown to this build ({} in all; not shown)",
            unknown_shown + unknown_hidden
        );
    }
    if !v.duplicates.is_empty() {
        let _ = writeln!(
            out,
            "repeated api keys in the reply (first entry kept): {}",
            v.duplicates
        );
    }
    let _ = writeln!(out);
    match v.finalized_epoch {
        Some(e) => {
            let _ = writeln!(out, "finalized features (epoch {e}):");
            if v.finalized_features.is_empty() {
                let _ = writeln!(out, "  (none: every feature at level 0)");
            }
            for (name, r) in v.finalized_features.iter().take(PRINT_ITEMS) {
                let _ = writeln!(out, "  {} = {} (min {})", escape::name(name), r.max, r.min);
            }
            more(&mut out, v.finalized_features.len());
        }
        None => {
            let _ = writeln!(out, "finalized features: none reported (epoch unknown)");
        }
    }
    if !v.supported_features.is_empty() {
        let _ = writeln!(out, "supported features:");
        for (name, r) in v.supported_features.iter().take(PRINT_ITEMS) {
            let _ = writeln!(out, "  {} {r}", escape::name(name));
        }
        more(&mut out, v.supported_features.len());
    }
    if let Some(g) = release_guess(v) {
        let _ = writeln!(out, "{}", g.explain());
    }
    let tv = v.transaction_version();
    let _ = writeln!(
        out,
        "transaction.version = {tv}: transactional Produce {}",
        if tv >= 2 {
            "may use v12+ (KIP-890 part 2)"
        } else {
            "is capped at v11, TxnOffsetCommit and EndTxn at v4"
        }
    );
    out
}

fn more(out: &mut String, total: usize) {
    if total > PRINT_ITEMS {
        let _ = writeln!(
            out,
            "  ... and {} more ({total} in all; not shown)",
            total - PRINT_ITEMS
        );
    }
}

/// The broker's likely release (`kwire::release::guess`), from what it
/// advertised; `None` for a fallback table (the broker said nothing).
pub fn release_guess(v: &BrokerVersions) -> Option<Guess> {
    let decoded_at = match v.source {
        TableSource::ApiVersions { decoded_at, .. } => decoded_at,
        TableSource::Fallback { .. } => return None,
    };
    let mut adv = Advertised::new();
    for (k, r) in v.apis().chain(v.unknown_apis()) {
        adv.api(k, r.min, r.max);
    }
    // Supported features exist from ApiVersions v3 on (KIP-584); below that
    // they are unknown, not absent.
    if decoded_at >= 3 {
        adv.no_features();
        for (name, r) in &v.supported_features {
            adv.feature(name, r.min, r.max);
        }
    }
    Some(release::guess(&adv))
}

fn range_json(r: Option<VersionRange>) -> Value {
    r.map_or(Value::Null, |r| json!({"min": r.min, "max": r.max}))
}

fn verdict_json(v: &Verdict) -> Value {
    let (kind, releases): (&str, Vec<String>) = match v {
        Verdict::Exact(r) => ("exact", vec![r.to_string()]),
        Verdict::OneOf { oldest, newest } => {
            ("one_of", vec![oldest.to_string(), newest.to_string()])
        }
        Verdict::Between { above, below } => {
            ("between", vec![above.to_string(), below.to_string()])
        }
        Verdict::AtLeast(r) => ("at_least", vec![r.to_string()]),
        Verdict::NotApacheKafka { closest } => (
            "not_apache_kafka",
            closest.iter().map(|r| r.to_string()).collect(),
        ),
    };
    json!({"kind": kind, "releases": releases, "text": v.to_string()})
}

/// The same report as one JSON object. Strings from the broker are kept
/// as they came (JSON escapes them); a reader prints them itself.
pub fn render_json(n: &Negotiated, broker_name: &str, caps: &VersionCaps, all: bool) -> Value {
    let v = &n.versions;
    let source = match &v.source {
        TableSource::ApiVersions { sent, decoded_at } => {
            json!({"kind": "api_versions", "sent": sent, "decoded_at": decoded_at})
        }
        TableSource::Fallback { source } => json!({"kind": "fallback", "source": source}),
    };
    let apis: Vec<Value> = every_api(v, caps, broker_name)
        .into_iter()
        .filter(|row| all || row.broker.is_some())
        .map(|row| {
            let (chosen, why, error) = match &row.choice {
                None => (
                    Value::Null,
                    Value::Null,
                    Some("unknown to this build".to_string()),
                ),
                Some(Ok(c)) => (json!(c.version), json!(c.why()), None),
                Some(Err(e)) => (Value::Null, Value::Null, Some(e.to_string())),
            };
            let caps: Vec<Value> = caps
                .for_api(row.api)
                .into_iter()
                .map(|c| json!({"source": c.source, "max": c.max}))
                .collect();
            json!({
                "key": row.api.0,
                "name": row.name,
                "broker": range_json(row.broker),
                "ours": range_json(row.ours),
                "caps": caps,
                "chosen": chosen,
                "why": why,
                "error": error,
            })
        })
        .collect();
    let features = |m: &std::collections::BTreeMap<String, VersionRange>| -> Value {
        m.iter()
            .map(|(k, r)| (k.clone(), json!({"min": r.min, "max": r.max})))
            .collect::<serde_json::Map<_, _>>()
            .into()
    };
    let guess = release_guess(v).map_or(Value::Null, |g| {
        json!({
            "verdict": verdict_json(&g.verdict),
            "role": g.role.map(|r| r.to_string()),
            "compared": g.compared,
            "reasons": g.reasons,
            "explanation": g.explain(),
        })
    });
    json!({
        "broker": broker_name,
        "source": source,
        "attempts": n.attempts.iter().map(|a| a.to_string()).collect::<Vec<_>>(),
        "apis": apis,
        "duplicate_keys": v.duplicates.count,
        "finalized_features_epoch": v.finalized_epoch,
        "finalized_features": features(&v.finalized_features),
        "supported_features": features(&v.supported_features),
        "transaction_version": v.transaction_version(),
        "release_guess": guess,
    })
}
