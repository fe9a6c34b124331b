//! Wire primitives: the encodings of Kafka's protocol types over `bytes`.
//!
//! Reading goes through [`Reader`], which never trusts a length prefix
//! beyond the bytes present. Writing goes through the free functions in
//! [`write`], paired with the `*_len` functions that compute the encoded
//! size so a frame is written with one allocation.

mod reader;
pub mod tagged;
pub mod write;

pub use reader::Reader;
pub use tagged::UnknownTaggedFields;

pub use bytes::BufMut;

/// The most elements an array decoder reserves up front. Larger arrays grow
/// as their elements actually decode, so a forged count costs nothing.
pub const MAX_PREALLOC: usize = 1024;
