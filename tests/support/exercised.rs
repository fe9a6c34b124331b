//! What a broker test really exercised: the (release, api key, version)
//! triples it sent and decoded the answer of at that version. Each test
//! compares its triples with its lines in `tests/exercised/<binary>.txt`
//! on every run and fails on any difference, so the support matrix
//! (`kwire-codegen matrix`, which marks these cells) can never claim a pair
//! the tests stopped exercising. `KWIRE_BLESS_EXERCISED=1` rewrites the
//! test's lines instead.
#![allow(dead_code)]

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Mutex;

static FILES: Mutex<()> = Mutex::new(());

fn path(binary: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/exercised")
        .join(format!("{binary}.txt"))
}

fn format(test: &str, release: &str, pairs: &BTreeSet<(i16, i16)>) -> Vec<String> {
    pairs
        .iter()
        .map(|(k, v)| format!("{test} {release} {k} {v}"))
        .collect()
}

/// Checks (or with `KWIRE_BLESS_EXERCISED=1`, records) what `test` of test
/// binary `binary` exercised against a broker of `release`.
pub fn check(binary: &str, test: &str, release: &str, exercised: &[(i16, i16)]) {
    let _one = FILES.lock().unwrap_or_else(|e| e.into_inner());
    let p = path(binary);
    let text = std::fs::read_to_string(&p).unwrap_or_default();
    let ours: Vec<String> = text
        .lines()
        .filter(|l| {
            l.split_whitespace().next() == Some(test)
                && l.split_whitespace().nth(1) == Some(release)
        })
        .map(str::to_string)
        .collect();
    let pairs: BTreeSet<(i16, i16)> = exercised.iter().copied().collect();
    let mut now = format(test, release, &pairs);
    now.sort();
    if std::env::var_os("KWIRE_BLESS_EXERCISED").is_some() {
        let mut kept: Vec<String> = text
            .lines()
            .filter(|l| !ours.contains(&l.to_string()))
            .map(str::to_string)
            .collect();
        if kept.is_empty() {
            kept.push(format!(
                "# (test release api-key version) exercised against real brokers by tests/{binary}.rs;\n\
                 # checked by those tests on every run, re-blessed with KWIRE_BLESS_EXERCISED=1."
            ));
        }
        kept.extend(now);
        let (head, mut body): (Vec<String>, Vec<String>) =
            kept.into_iter().partition(|l| l.starts_with('#'));
        body.sort();
        let mut out = head.join("\n");
        out.push('\n');
        for l in body {
            out.push_str(&l);
            out.push('\n');
        }
        std::fs::write(&p, out).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        return;
    }
    let mut ours_sorted = ours.clone();
    ours_sorted.sort();
    assert_eq!(
        now,
        ours_sorted,
        "{test} against {release}: what it exercised differs from {} (re-bless with KWIRE_BLESS_EXERCISED=1 if intended)",
        p.display()
    );
}
