//! kwire-codegen: Kafka's JSON message schemas in, Rust codecs out.
//!
//! The pipeline is `schema -> model -> emit`:
//! * [`schema`]: an exact serde mirror of the JSON (unknown keys are errors);
//! * [`model`]: a resolved, validated, pure-data model;
//! * [`emit`]: a pure function from the model to file contents.
//!
//! [`pin`] reads and writes the schema pin (`schemas/kafka.toml`), and
//! [`run`] holds the thin I/O shell used by the CLI.

pub mod emit;
pub mod error;
#[path = "../../build/fingerprint.rs"]
pub mod fingerprint;
pub mod history;
pub mod model;
pub mod pin;
pub mod run;
pub mod schema;
pub mod versions;

pub use error::GenError;
