//! The build step: when the pinned schema source is present, check cheaply
//! (by fingerprint) that generated/ matches the pin, the schema files and
//! the generator, and fail with the exact command to run when it does not.
//!
//! A normal user's build (no schema directory beside the crate) skips the
//! check entirely and compiles no code generator: syn, quote and
//! prettyplease live in kwire-codegen only.

use std::path::{Path, PathBuf};

#[allow(dead_code)]
mod fingerprint {
    include!("build/fingerprint.rs");
}

use fingerprint::*;

const REGENERATE: &str = "cargo run -p kwire-codegen -- generate";

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=build/fingerprint.rs");
    println!("cargo:rerun-if-changed=schemas");
    println!("cargo:rerun-if-changed=generated");
    println!("cargo:rerun-if-env-changed=KWIRE_SCHEMA_DIR");
    println!("cargo:rerun-if-env-changed=KWIRE_SKIP_SCHEMA_CHECK");
    if std::env::var_os("KWIRE_SKIP_SCHEMA_CHECK").is_some() {
        return;
    }
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into()));
    let Ok(pin) = std::fs::read_to_string(root.join("schemas/kafka.toml")) else {
        return;
    };
    let dir = match std::env::var_os("KWIRE_SCHEMA_DIR") {
        Some(d) => PathBuf::from(d),
        None => match pin_value(&pin, "source") {
            Some(s) => root.join(s),
            None => return,
        },
    };
    if !dir.is_dir() {
        // No schema source: a user's build from the published crate.
        return;
    }
    println!("cargo:rerun-if-changed={}", dir.display());
    let codegen = root.join("codegen");
    if codegen.is_dir() {
        println!("cargo:rerun-if-changed={}", codegen.join("src").display());
    }
    if let Err(problem) = check(&root, &dir, &codegen) {
        eprintln!();
        eprintln!("error: kwire's generated/ code is out of date: {problem}");
        eprintln!("       schema source: {}", dir.display());
        eprintln!("       to regenerate, run:  {REGENERATE}");
        eprintln!("       (or set KWIRE_SKIP_SCHEMA_CHECK=1 to build anyway)");
        std::process::exit(1);
    }
}

fn check(root: &Path, dir: &Path, codegen: &Path) -> Result<(), String> {
    let manifest = std::fs::read_to_string(root.join("generated/MANIFEST"))
        .map_err(|_| "generated/MANIFEST is missing".to_string())?;
    let field = |k: &str| {
        manifest
            .lines()
            .find_map(|l| l.strip_prefix(k).map(|v| v.trim().to_string()))
            .unwrap_or_default()
    };
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))? {
        let entry = entry.map_err(|e| e.to_string())?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".json") {
            files.push((
                name,
                std::fs::read(entry.path()).map_err(|e| e.to_string())?,
            ));
        }
    }
    files.sort();
    let lock = lock_text(&files);
    let committed_lock =
        std::fs::read_to_string(root.join("schemas/kafka.sha256")).unwrap_or_default();
    if lock != committed_lock {
        return Err("the schema files differ from schemas/kafka.sha256".into());
    }
    if sha256_hex(lock.as_bytes()) != field("schemas ") {
        return Err("generated/ was made from other schemas than the pinned ones".into());
    }
    if codegen.is_dir() {
        let fp = generator_fingerprint(codegen).map_err(|e| e.to_string())?;
        if fp != field("generator ") {
            return Err("kwire-codegen changed since generated/ was written".into());
        }
    }
    let out = output_fingerprint(&root.join("generated")).map_err(|e| e.to_string())?;
    if out != field("output ") {
        return Err("files under generated/ were edited by hand".into());
    }
    Ok(())
}
