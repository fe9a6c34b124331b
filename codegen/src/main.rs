//! `kwire-codegen`: regenerate and check kwire's generated codecs.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use kwire_codegen::run::{self, Layout};

#[derive(Parser)]
#[command(
    name = "kwire-codegen",
    version,
    about = "Generate kwire's Kafka codecs from Kafka's JSON message schemas"
)]
struct Cli {
    /// The repository root (holds schemas/ and generated/).
    #[arg(long, global = true, default_value = concat!(env!("CARGO_MANIFEST_DIR"), "/.."))]
    root: PathBuf,
    /// The schema directory, or maven:org.apache.kafka:kafka-clients:<release>
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
    },
    /// Fail when generated/ or the lock differs from the pinned schemas.
    Check,
    /// Refresh schemas/history/lines.toml from release lines' schemas.
    History(history_cmd::HistoryArgs),
    /// What changed between two schema sources (directories, maven:<release>, or `pin`).
    Diff(history_cmd::DiffArgs),
    /// Write (or check) the support matrix in docs/: Markdown and SVG.
    Matrix(history_cmd::MatrixArgs),
}

mod history_cmd;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Generate { out, about } => {
            let layout = match Layout::new(&cli.root, cli.schemas.as_deref(), out.as_deref()) {
                Ok(l) => l,
                Err(e) => return fail(&e.to_string()),
            };
            match run::generate(&layout, about) {
                Ok(o) => {
                    print!("{}", o.report);
                    ExitCode::SUCCESS
                }
                Err(e) => fail(&e.to_string()),
            }
        }
        Command::History(a) => history_cmd::history(&cli.root, a),
        Command::Diff(a) => history_cmd::diff(&cli.root, a),
        Command::Matrix(a) => history_cmd::matrix(&cli.root, a),
        Command::Check => {
            let layout = match Layout::new(&cli.root, cli.schemas.as_deref(), None) {
                Ok(l) => l,
                Err(e) => return fail(&e.to_string()),
            };
            match run::check(&layout) {
                Ok(p) if p.is_empty() => {
                    println!(
                        "kwire-codegen check: generated/ matches the Kafka {} schemas in {}",
                        layout.pin.release,
                        layout.schema_dir.display()
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
                Err(e) => fail(&e.to_string()),
            }
        }
    }
}

fn fail(msg: &str) -> ExitCode {
    eprintln!("kwire-codegen: error: {msg}");
    ExitCode::from(2)
}
