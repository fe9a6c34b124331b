//! Shared helpers for the generator's integration tests.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .unwrap()
}

pub fn shared_schemas() -> PathBuf {
    let dir = repo_root().join("../shared/kafka-schemas");
    assert!(
        dir.is_dir(),
        "{} is missing: the tests read every Kafka release's schemas from ../shared beside the repository",
        dir.display()
    );
    dir
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), &dest).unwrap();
        }
    }
}

/// The `[name]` section of a TOML file, verbatim, header included.
fn section(toml: &str, name: &str) -> String {
    let mut out = String::new();
    let mut on = false;
    for line in toml.lines() {
        if line.starts_with('[') {
            on = line.trim() == format!("[{name}]");
        }
        if on {
            out.push_str(line);
            out.push('\n');
        }
    }
    out
}

/// Compiles generated code against kwire's runtime (`src/`) in a scratch
/// crate: proves the output builds, not only that it was written.
pub fn compile_generated(label: &str, files: &BTreeMap<String, String>) {
    let root = repo_root();
    let tmp = tempfile::tempdir().unwrap();
    let krate = tmp.path();
    copy_dir(&root.join("src"), &krate.join("src"));
    for (name, text) in files {
        let p = krate.join("generated").join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    let cargo = format!(
        "[package]\nname = \"kwire\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\n[workspace]\n\n{}\n{}",
        section(&manifest, "features"),
        section(&manifest, "dependencies"),
    );
    std::fs::write(krate.join("Cargo.toml"), cargo).unwrap();
    std::fs::copy(root.join("Cargo.lock"), krate.join("Cargo.lock")).unwrap();
    // src/lib.rs takes its crate docs from the README.
    std::fs::copy(root.join("README.md"), krate.join("README.md")).unwrap();
    let out = Command::new(env!("CARGO"))
        .args([
            "check",
            "--quiet",
            "--offline",
            "--no-default-features",
            "--features",
            "serde,testing",
        ])
        .current_dir(krate)
        .env("CARGO_TARGET_DIR", root.join("target/compile-check"))
        .env_remove("RUSTFLAGS")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "generated code for {label} does not compile:\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
