//! A crate that vendors four Kafka APIs (Produce, Fetch, Metadata and
//! ApiVersions, client side) with `kwire-codegen`'s `Builder` in its
//! `build.rs`, and depends on the `kwire` runtime alone
//! (`default-features = false`: none of kwire's own generated messages).
//!
//! [`kafka`] is the vendored output, committed in `src/kafka/` with its
//! `MANIFEST` and lock; the build verifies it offline and CI runs
//! `kwire-codegen check --vendored src/kafka`.

// Printed by prettyplease; the drift check compares it byte for byte.
#[rustfmt::skip]
#[path = "kafka/mod.rs"]
pub mod kafka;

pub use kafka::messages::{
    ApiVersionsRequest, ApiVersionsResponse, FetchRequest, FetchResponse, MetadataRequest,
    MetadataResponse, ProduceRequest, ProduceResponse,
};
