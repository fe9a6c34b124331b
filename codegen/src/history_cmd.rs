//! The `history`, `diff` and `matrix` subcommands of the CLI.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Args;
use kwire_codegen::history::{cli, diff as schema_diff, matrix};

fn fail(msg: &str) -> ExitCode {
    eprintln!("kwire-codegen: error: {msg}");
    ExitCode::from(2)
}

#[derive(Args, Clone)]
pub struct HistoryArgs {
    /// A directory with one subdirectory of schemas per release line,
    /// named after it (`2.2` ... `4.4`, `trunk`).
    #[arg(long)]
    lines: Option<PathBuf>,
    /// One more line: LINE=SOURCE, SOURCE a directory or maven:<release>.
    #[arg(long = "line")]
    line: Vec<String>,
    /// Compare instead of writing; fail on any difference.
    #[arg(long)]
    check: bool,
}

pub fn history(root: &Path, a: HistoryArgs) -> ExitCode {
    let run = || -> Result<ExitCode, kwire_codegen::GenError> {
        let sources = cli::line_sources(a.lines.as_deref(), &a.line)?;
        if sources.is_empty() {
            return Ok(fail("give --lines DIR or --line LINE=SOURCE"));
        }
        let before = cli::load_unchecked(root)?;
        let (after, changes) = cli::refresh(root, before, &sources)?;
        if a.check {
            if changes.is_empty() {
                println!(
                    "kwire-codegen history: schemas/history/lines.toml matches {} release line(s)",
                    sources.len()
                );
                return Ok(ExitCode::SUCCESS);
            }
            eprintln!(
                "kwire-codegen history: {} difference(s) from the schemas:",
                changes.len()
            );
            for c in &changes {
                eprintln!("  {c}");
            }
            eprintln!("run `cargo run -p kwire-codegen -- history` with the same sources, then `generate`");
            return Ok(ExitCode::FAILURE);
        }
        let p = cli::write_lines(root, &after)?;
        println!(
            "kwire-codegen history: {} line(s) read, {} change(s); wrote {}",
            sources.len(),
            changes.len(),
            p.display()
        );
        for c in &changes {
            println!("  {c}");
        }
        if !changes.is_empty() {
            println!("next: `cargo run -p kwire-codegen -- generate` (release tables) and `-- matrix` (docs)");
        }
        Ok(ExitCode::SUCCESS)
    };
    run().unwrap_or_else(|e| fail(&e.to_string()))
}

#[derive(Args, Clone)]
pub struct DiffArgs {
    /// The old schemas: a directory, maven:<release>, or `pin`.
    old: String,
    /// The new schemas: a directory, maven:<release>, or `pin`.
    new: String,
    /// JSON for tools instead of Markdown.
    #[arg(long)]
    json: bool,
    /// Exit 0 even when the evolution is incompatible (the upstream watch).
    #[arg(long)]
    informational: bool,
}

pub fn diff(root: &Path, a: DiffArgs) -> ExitCode {
    let run = || -> Result<ExitCode, kwire_codegen::GenError> {
        let old = cli::load_source(root, &a.old)?;
        let new = cli::load_source(root, &a.new)?;
        let d = schema_diff::diff(&a.old, &old, &a.new, &new);
        if a.json {
            println!("{}", d.to_json());
        } else {
            print!("{}", d.to_markdown());
        }
        if d.is_compatible() || a.informational {
            Ok(ExitCode::SUCCESS)
        } else {
            eprintln!(
                "kwire-codegen diff: {} incompatible evolution(s)",
                d.incompatible.len()
            );
            Ok(ExitCode::FAILURE)
        }
    };
    run().unwrap_or_else(|e| fail(&e.to_string()))
}

#[derive(Args, Clone)]
pub struct MatrixArgs {
    /// Compare with docs/ instead of writing; fail on drift.
    #[arg(long)]
    check: bool,
}

pub fn matrix(root: &Path, a: MatrixArgs) -> ExitCode {
    let run = || -> Result<ExitCode, kwire_codegen::GenError> {
        let files = matrix::render_files(root)?;
        if a.check {
            let stale = matrix::stale_files(root, &files);
            if stale.is_empty() {
                println!("kwire-codegen matrix: docs/ is up to date");
                return Ok(ExitCode::SUCCESS);
            }
            for s in &stale {
                eprintln!("  {s}: differs from `kwire-codegen matrix`");
            }
            eprintln!("run `cargo run -p kwire-codegen -- matrix` and commit the result");
            return Ok(ExitCode::FAILURE);
        }
        for (path, text) in &files {
            let p = root.join(path);
            if let Some(d) = p.parent() {
                std::fs::create_dir_all(d).map_err(|e| kwire_codegen::GenError::Io {
                    path: d.display().to_string(),
                    message: e.to_string(),
                })?;
            }
            std::fs::write(&p, text).map_err(|e| kwire_codegen::GenError::Io {
                path: p.display().to_string(),
                message: e.to_string(),
            })?;
            println!("wrote {path}");
        }
        Ok(ExitCode::SUCCESS)
    };
    run().unwrap_or_else(|e| fail(&e.to_string()))
}
