//! Consumer-side processing of fetched data that needs no I/O.
//!
//! * [`read_committed`]: the `read_committed` isolation level's filter
//!   (KIP-98): only records of committed transactions reach the application.

pub mod read_committed;
