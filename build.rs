//! The build step of a development checkout: check cheaply (by
//! fingerprint) that generated/ matches the lock, the generator and itself,
//! and the schema files too when they sit in a directory; fail with the
//! exact command to run when anything is stale.
//!
//! The default schema source is a jar fetched by kwire-codegen; this script
//! never fetches anything (`kwire-codegen check` compares against the jar).
//! A build of the published crate has no generator beside it and checks
//! nothing: it compiles only kwire-fingerprint (std + sha2), never syn,
//! quote or prettyplease.

use std::path::{Path, PathBuf};

use kwire_fingerprint::*;

const REGENERATE: &str = "cargo run -p kwire-codegen -- generate";

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-changed=schemas");
    println!("cargo:rerun-if-changed=generated");
    println!("cargo:rerun-if-env-changed=KWIRE_SCHEMA_DIR");
    println!("cargo:rerun-if-env-changed=KWIRE_SKIP_SCHEMA_CHECK");
    if std::env::var_os("KWIRE_SKIP_SCHEMA_CHECK").is_some() {
        return;
    }
    let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_else(|_| ".".into()));
    let codegen = root.join("codegen");
    if !codegen.join("Cargo.toml").is_file() {
        // The published crate (or a copy of it): generated/ is what was
        // packaged, and there is nothing to compare it with.
        return;
    }
    println!("cargo:rerun-if-changed={}", codegen.join("src").display());
    let dir = schema_dir(&root);
    if let Some(d) = &dir {
        println!("cargo:rerun-if-changed={}", d.display());
    }
    if let Err(problem) = check(&root, dir.as_deref(), &codegen) {
        eprintln!();
        eprintln!("error: kwire's generated/ code is out of date: {problem}");
        if let Some(d) = &dir {
            eprintln!("       schema source: {}", d.display());
        }
        eprintln!("       to regenerate, run:  {REGENERATE}");
        eprintln!("       (or set KWIRE_SKIP_SCHEMA_CHECK=1 to build anyway)");
        std::process::exit(1);
    }
}

/// A directory of schema files, when one is configured: `$KWIRE_SCHEMA_DIR`
/// or a directory pin. A jar source (`maven:`) is not opened here.
fn schema_dir(root: &Path) -> Option<PathBuf> {
    let spec = match std::env::var("KWIRE_SCHEMA_DIR") {
        Ok(d) if !d.is_empty() => d,
        _ => pin_value(
            &std::fs::read_to_string(root.join("schemas/kafka.toml")).ok()?,
            "source",
        )
        .map(|s| root.join(s).to_string_lossy().into_owned())?,
    };
    // A jar source (`maven:...`) is no directory.
    let dir = PathBuf::from(spec);
    dir.is_dir().then_some(dir)
}

fn check(root: &Path, dir: Option<&Path>, codegen: &Path) -> Result<(), String> {
    let manifest = std::fs::read_to_string(root.join("generated/MANIFEST"))
        .map_err(|_| "generated/MANIFEST is missing".to_string())?;
    let field = |k: &str| {
        manifest
            .lines()
            .find_map(|l| l.strip_prefix(k).map(|v| v.trim().to_string()))
            .unwrap_or_default()
    };
    let committed_lock =
        std::fs::read_to_string(root.join("schemas/kafka.sha256")).unwrap_or_default();
    let schema_part = schema_part_of_lock(&committed_lock);
    if let Some(dir) = dir {
        let files = read_schema_dir(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        if lock_text(&files) != schema_part {
            return Err("the schema files differ from schemas/kafka.sha256".into());
        }
    }
    if sha256_hex(schema_part.as_bytes()) != field("schemas ") {
        return Err("generated/ was made from other schemas than the locked ones".into());
    }
    let fp = generator_fingerprint(codegen).map_err(|e| e.to_string())?;
    if fp != field("generator ") {
        return Err("kwire-codegen changed since generated/ was written".into());
    }
    let out = output_fingerprint(&root.join("generated")).map_err(|e| e.to_string())?;
    if out != field("output ") {
        return Err("files under generated/ were edited by hand".into());
    }
    Ok(())
}
