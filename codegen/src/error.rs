//! Typed generator errors. Each names the file, and where it applies the
//! message (struct) and field, so a maintainer can go straight to it.

#[derive(Debug, thiserror::Error)]
pub enum GenError {
    #[error("{path}: {message}")]
    Io { path: String, message: String },
    #[error("{file}: invalid schema JSON: {message}")]
    Json { file: String, message: String },
    #[error("{file}: {message}: {problem}")]
    Message {
        file: String,
        message: String,
        problem: String,
    },
    #[error("{file}: {message}.{field}: {problem}")]
    Field {
        file: String,
        message: String,
        field: String,
        problem: String,
    },
    #[error("{0}")]
    Pin(String),
    /// A vendoring selection that names nothing in the schemas.
    #[error("selection: {0}")]
    Select(String),
    /// Vendored output that does not match its manifest, its lock or the
    /// schemas: one readable line per difference.
    #[error("vendored output in {dir} has drifted:\n  {}", .problems.join("\n  "))]
    Drift { dir: String, problems: Vec<String> },
    #[error("schemas/history/{file}: {problem}")]
    History { file: String, problem: String },
    /// Two release lines define one version of a message with different
    /// wire layouts (Kafka never changes a released version's layout).
    #[error(
        "{message} v{version}: the layouts of {older} and {newer} disagree on the wire, so \
         versions below the pin's minimum cannot be taken from {older}: {}",
        diffs.join("; ")
    )]
    LayoutsDisagree {
        message: String,
        version: i16,
        older: String,
        newer: String,
        diffs: Vec<String>,
    },
    /// An older line's versions could not be merged under the pin's.
    #[error("{message}: merging the versions of {line} below the pin's: {problem}")]
    Union {
        line: String,
        message: String,
        problem: String,
    },
    /// Reading the schemas: a directory, or a jar fetched from Maven.
    #[error(transparent)]
    Source(Box<crate::source::SourceError>),
    #[error("generated code for {path} does not parse as Rust: {message}")]
    Emit { path: String, message: String },
}

impl From<crate::source::SourceError> for GenError {
    fn from(e: crate::source::SourceError) -> GenError {
        GenError::Source(Box::new(e))
    }
}
