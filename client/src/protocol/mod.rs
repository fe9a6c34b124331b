//! The protocol layer: pure, no tokio and no I/O.
//!
//! What a client must decide about Kafka's protocol before and after any
//! byte moves: the version tables (ours, a broker's, the user's caps), the
//! choice of a request's version, the ApiVersions negotiation as a state
//! machine, what a request's content says about its versions and where it
//! must go. Everything above ([`crate::net`], [`crate::cluster`]) feeds it
//! facts and performs what it decides.

pub mod api;
pub mod apiversions;
pub mod choose;
pub mod facts;
pub mod find_coordinator;
pub mod negotiate;
pub mod reply;
pub mod route;
pub mod versions;
