//! `kwire api-versions`' report: per API, the broker's range, ours, the
//! chosen version and why; finalized and supported features.

use std::fmt::Write as _;

use kwire_client::escape;
use kwire_client::limits::PRINT_ITEMS;
use kwire_client::protocol::api::VersionRange;
use kwire_client::protocol::choose::every_api;
use kwire_client::protocol::versions::{TableSource, VersionCaps};
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
