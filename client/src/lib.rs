//! kwire-client: a negotiating async Kafka client on the kwire codecs.
//!
//! It never sends a version a broker cannot take:
//!
//! * every new connection runs ApiVersions through a small explicit state
//!   machine ([`negotiate`]) that survives the broker quirks listed in
//!   known broker quirks (KIP-511 replies, pre-2.4 empty replies, malformed
//!   error bodies, resets, pre-0.10 brokers, lower-shaped bodies);
//! * every request's version is the highest one inside our range, the
//!   broker's range on that connection, the request's own range and the
//!   user's caps, then lowered (never raised) by the transaction.version
//!   and topic-id gates ([`choose`]);
//! * every decision is a `tracing` event.

#![forbid(unsafe_code)]

pub mod apiversions;
pub mod broker;
pub mod choose;
pub mod conn;
pub mod consume;
pub mod error;
pub mod escape;
pub mod explain;
pub mod frame;
pub mod group;
pub mod inspect;
pub mod limits;
pub mod negotiate;
pub mod proto;
pub mod table;
pub mod tls;
pub mod txn;

pub use broker::{Broker, Client, ClientConfig, Negotiated, SendOptions, Sent};
pub use choose::{Cap, Choice, Gate, GateKind, NoVersion};
pub use conn::{ConnConfig, ConnError, ConnectStage, Connection};
pub use error::{ClientError, FailureKind};
pub use limits::ResponseCaps;
pub use negotiate::{FallbackVersions, NegotiationError};
pub use table::{BrokerVersions, KeySample, TableSource, VersionCaps};
pub use tls::TlsConfig;
