//! The committed release history stays true to the release lines' schemas
//! (the drift check CI runs), and its files agree with each other.

mod support;

use kwire_codegen::history::{cli, committed};

#[test]
fn lines_toml_matches_every_release_line() {
    let root = support::repo_root();
    let sources = cli::line_sources(Some(&support::shared_schemas()), &[]).unwrap();
    assert!(sources.len() >= 23, "{sources:?}");
    let (after, changes) = cli::refresh(&root, cli::load(&root).unwrap(), &sources).unwrap();
    assert!(
        changes.is_empty(),
        "schemas/history/lines.toml differs from the schemas (run `cargo run -p kwire-codegen -- history --lines ../shared/kafka-schemas`):\n{}",
        changes.join("\n")
    );
    assert_eq!(
        after.lines_toml(),
        std::fs::read_to_string(root.join("schemas/history/lines.toml")).unwrap(),
        "lines.toml is not in the form `history` writes"
    );
}

#[test]
fn the_generator_embeds_the_working_tree_history() {
    let root = support::repo_root();
    assert_eq!(committed().unwrap(), cli::load(&root).unwrap());
}

#[test]
fn history_files_hold_what_they_should() {
    let h = committed().unwrap();
    let names: Vec<&str> = h.lines.iter().map(|l| l.release.as_str()).collect();
    assert_eq!(names.first(), Some(&"0.8.0"));
    assert_eq!(names.last(), Some(&"trunk"));
    assert_eq!(names.iter().filter(|n| n.starts_with("0.")).count(), 8);
    // Every line after 0.10.0 has ApiVersions.
    for l in &h.lines {
        let has = l.api(18).is_some();
        let newer = kwire_codegen::history::line_order(&l.release) >= (0, 10, 0);
        assert_eq!(has, newer, "{}", l.release);
    }
    // metadata.version (KIP-778) from 3.3, at every line after it.
    let mv = h
        .features
        .iter()
        .find(|f| f.name == "metadata.version")
        .unwrap();
    let rel: Vec<&str> = mv.levels.iter().map(|l| l.release.as_str()).collect();
    assert_eq!(
        rel,
        ["3.3", "3.4", "3.5", "3.6", "3.7", "3.8", "3.9", "4.0", "4.1", "4.2", "4.3", "4.4"]
    );
    let maxima: Vec<i16> = mv.levels.iter().map(|l| l.max).collect();
    assert!(
        maxima.windows(2).all(|w| w[0] < w[1]),
        "each line finalizes a newer metadata.version: {maxima:?}"
    );
    for f in &h.features {
        for l in &f.levels {
            assert!(
                l.source.contains(".java"),
                "{} {}: the source names the Kafka file",
                f.name,
                l.release
            );
        }
    }
    // Bad files are typed errors naming the file.
    let e =
        kwire_codegen::history::ReleaseHistory::from_texts("releases = [", "", "", "").unwrap_err();
    assert!(e.to_string().contains("pre-json.toml"), "{e}");
}

#[test]
fn history_cli_checks_and_refuses_nonsense() {
    let run = |args: &[&str]| {
        std::process::Command::new(env!("CARGO_BIN_EXE_kwire-codegen"))
            .args(args)
            .output()
            .unwrap()
    };
    let dir = support::shared_schemas();
    let out = run(&["history", "--check", "--lines", dir.to_str().unwrap()]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // Claiming 4.3's schemas are 4.4's is a difference.
    let wrong = format!("4.4={}", dir.join("4.3").display());
    let out = run(&["history", "--check", "--line", &wrong]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("4.4: 18 ApiVersions 0-4"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = run(&["history", "--line", "nonsense"]);
    assert_eq!(out.status.code(), Some(2));
}
