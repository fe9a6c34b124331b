//! `kwire-codegen`: regenerate and check kwire's generated codecs.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use kwire_codegen::pin::Pin;
use kwire_codegen::run::{self, Layout};
use kwire_codegen::GenError;

#[derive(Parser)]
#[command(
    name = "kwire-codegen",
    version,
    about = "Generate kwire's Kafka codecs from Kafka's JSON message schemas"
)]
struct Cli {
    /// The repository (or crate) root, which holds schemas/kafka.toml.
    /// Default: the nearest such directory from the current one upwards.
    #[arg(long, global = true)]
    root: Option<PathBuf>,
    /// A schema directory, or maven:<release> for a kafka-clients jar
    /// (overrides $KWIRE_SCHEMA_DIR and the pin's source).
    #[arg(long, global = true)]
    schemas: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Regenerate generated/ and schemas/kafka.sha256 from the pinned schemas.
    Generate {
        /// Write somewhere other than <root>/generated (for a trial run).
        #[arg(long)]
        out: Option<PathBuf>,
        /// Copy upstream `about` text into the docs (not for committed output).
        #[arg(long)]
        about: bool,
        /// Rewrite a user's vendored output (written by kwire_codegen::Builder)
        /// with the settings its MANIFEST records, instead of generated/.
        #[arg(long, conflicts_with_all = ["out", "about"])]
        vendored: Option<PathBuf>,
    },
    /// Fail when generated/ or the lock differs from the pinned schemas.
    Check {
        /// Check a user's vendored output (written by kwire_codegen::Builder)
        /// against its MANIFEST and lock instead: what a user's CI runs.
        #[arg(long)]
        vendored: Option<PathBuf>,
    },
    /// Refresh schemas/history/lines.toml from release lines' schemas.
    History(history_cmd::HistoryArgs),
    /// What changed between two schema sources (directories, maven:<release>, or `pin`).
    Diff(history_cmd::DiffArgs),
    /// Write (or check) the support matrix in docs/: Markdown and SVG.
    Matrix(history_cmd::MatrixArgs),
    /// Fetch a release's kafka-clients jar into the cache (verified) and
    /// say where it is; optionally extract its schema files.
    Fetch {
        /// A release such as 3.9.1 (default: the pin's, checked against the lock).
        release: Option<String>,
        /// Also write the schema files into this directory.
        #[arg(long)]
        extract: Option<PathBuf>,
    },
}

/// `--root`, else found from the current directory (never a path of the
/// machine this binary was built on).
fn root(flag: Option<&Path>) -> Result<PathBuf, GenError> {
    if let Some(r) = flag {
        return Ok(r.to_path_buf());
    }
    let cwd = std::env::current_dir().map_err(|e| GenError::Io {
        path: ".".into(),
        message: e.to_string(),
    })?;
    Pin::find_root(&cwd)
}

fn layout(cli: &Cli, out: Option<&Path>) -> Result<Layout, GenError> {
    Layout::new(&root(cli.root.as_deref())?, cli.schemas.as_deref(), out)
}

mod history_cmd;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match &cli.command {
        Command::Generate {
            vendored: Some(dir),
            ..
        } => match run::generate_vendored(dir, cli.schemas.as_deref()) {
            Ok(o) => {
                println!("kwire-codegen: {}: {}", dir.display(), o.summary());
                ExitCode::SUCCESS
            }
            Err(e) => fail(&e),
        },
        Command::Check {
            vendored: Some(dir),
        } => match run::check_vendored(dir, cli.schemas.as_deref()) {
            Ok(()) => {
                println!(
                    "kwire-codegen check: {} matches its manifest, its lock and the schemas",
                    dir.display()
                );
                ExitCode::SUCCESS
            }
            Err(e) => {
                let code = fail(&e);
                if matches!(e, GenError::Drift { .. }) {
                    eprintln!(
                        "regenerate with `kwire-codegen generate --vendored {}` (or \
                         KWIRE_VENDOR=generate cargo build) and commit the result",
                        dir.display()
                    );
                    return ExitCode::FAILURE;
                }
                code
            }
        },
        Command::Generate { out, about, .. } => {
            let layout = match layout(&cli, out.as_deref()) {
                Ok(l) => l,
                Err(e) => return fail(&e),
            };
            match run::generate(&layout, *about) {
                Ok(o) => {
                    print!("{}", o.report);
                    ExitCode::SUCCESS
                }
                Err(e) => fail(&e),
            }
        }
        Command::History(a) => match root(cli.root.as_deref()) {
            Ok(r) => history_cmd::history(&r, a.clone()),
            Err(e) => fail(&e),
        },
        Command::Diff(a) => match root(cli.root.as_deref()) {
            Ok(r) => history_cmd::diff(&r, a.clone()),
            Err(e) => fail(&e),
        },
        Command::Matrix(a) => match root(cli.root.as_deref()) {
            Ok(r) => history_cmd::matrix(&r, a.clone()),
            Err(e) => fail(&e),
        },
        Command::Check { vendored: None } => {
            let layout = match layout(&cli, None) {
                Ok(l) => l,
                Err(e) => return fail(&e),
            };
            match run::check(&layout) {
                Ok(p) if p.is_empty() => {
                    println!(
                        "kwire-codegen check: generated/ matches the Kafka {} schemas in {}",
                        layout.pin.release, layout.schemas.origin
                    );
                    ExitCode::SUCCESS
                }
                Ok(p) => {
                    eprintln!("kwire-codegen check: {} difference(s):", p.len());
                    for line in &p {
                        eprintln!("  {line}");
                    }
                    eprintln!("run `cargo run -p kwire-codegen -- generate` and commit the result");
                    ExitCode::FAILURE
                }
                Err(e) => fail(&e),
            }
        }
        Command::Fetch { release, extract } => match fetch(&cli, release.as_deref(), extract) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => fail(&e),
        },
    }
}

fn fetch(cli: &Cli, release: Option<&str>, extract: &Option<PathBuf>) -> Result<(), GenError> {
    let schemas = match release {
        Some(r) => kwire_codegen::source::kafka_release(r)?,
        None => layout(cli, None)?.schemas,
    };
    let mut report = format!("{}\n{} schema files\n", schemas.origin, schemas.files.len());
    if let Some(dir) = extract {
        let io = |p: &Path, e: std::io::Error| GenError::Io {
            path: p.display().to_string(),
            message: e.to_string(),
        };
        std::fs::create_dir_all(dir).map_err(|e| io(dir, e))?;
        for (name, data) in &schemas.files {
            let p = dir.join(name);
            std::fs::write(&p, data).map_err(|e| io(&p, e))?;
        }
        report.push_str(&format!("extracted into {}\n", dir.display()));
    }
    // A reader that stopped early (`| head`) is not an error worth a panic.
    let _ = std::io::Write::write_all(&mut std::io::stdout().lock(), report.as_bytes());
    Ok(())
}

/// Prints the error and every cause under it.
fn fail(e: &dyn std::error::Error) -> ExitCode {
    eprintln!("kwire-codegen: error: {e}");
    let mut cause = e.source();
    while let Some(c) = cause {
        eprintln!("  caused by: {c}");
        cause = c.source();
    }
    ExitCode::from(2)
}
