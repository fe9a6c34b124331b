#![doc = include_str!("../README.md")]
//!
//! # Inside
//!
//! The pipeline is `schema -> model -> emit`:
//! * [`schema`]: an exact serde mirror of the JSON (unknown keys are errors);
//! * [`model`]: a resolved, validated, pure-data model;
//! * [`emit`]: a pure function from the model to file contents.
//!
//! [`pin`] reads the schema pin (`schemas/kafka.toml`) and its lock;
//! [`source`] reads the schema files of a directory or of a release's
//! `kafka-clients` jar, which [`maven`] fetches, verifies and keeps in the
//! [`cache`]; [`run`] holds the thin I/O shell used by the CLI.
//!
//! [`Builder`] (in [`builder`]) vendors a [`Selection`] of a release's
//! messages into a user's crate from its `build.rs`; [`select`] is the
//! filter on the model it runs before emitting.

#![forbid(unsafe_code)]

pub mod builder;
pub mod cache;
pub mod emit;
pub mod error;
pub mod history;
pub mod maven;
pub mod model;
pub mod pin;
pub mod run;
pub mod schema;
pub mod select;
pub mod source;
pub mod versions;

/// The fingerprints shared with kwire's build script.
pub use kwire_fingerprint as fingerprint;

pub use builder::Builder;
pub use error::GenError;
pub use select::{ApiSelector, Selection, Side};
