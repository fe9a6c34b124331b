//! kwire-client: a negotiating async Kafka client on the kwire codecs.
//!
//! It never sends a version a broker cannot take, and sends each request to
//! the broker that serves it. Three layers, each using only the ones below:
//!
//! * [`protocol`] (pure, no tokio): version tables and caps, the choice of a
//!   request's version (the highest in ours ∩ the broker's on that
//!   connection ∩ the request's own range ∩ caps, then lowered, never
//!   raised, by the transaction.version and topic-id gates), the ApiVersions
//!   negotiation as a state machine that survives the known broker quirks
//!   (KIP-511 replies, pre-2.4 empty replies, malformed error bodies,
//!   resets, pre-0.10 brokers, lower-shaped bodies), and what a request's
//!   content says about its versions;
//! * [`net`]: framing, TLS, a connection generic over its stream, the
//!   connection handshake (ApiVersions, then an authenticator), one broker
//!   and its connection;
//! * [`cluster`]: bootstrap and metadata, routing by what a request is
//!   (partition leader, group or transaction coordinator, controller, any
//!   broker), coordinator lookups, retries with backoff, throttling, and the
//!   cluster-wide feature view;
//! * shared leaves: [`limits`] (what a peer can make the client read, keep
//!   or print) and [`escape`] (broker text made safe for a terminal).
//!
//! Every decision is a `tracing` event.

#![forbid(unsafe_code)]

pub mod admin;
pub mod cluster;
pub mod consume;
pub mod escape;
pub mod group;
pub mod limits;
pub mod net;
pub mod produce;
pub mod protocol;
pub mod txn;

pub use cluster::{Cluster, ClusterConfig, ClusterError, Routed};
pub use limits::ResponseCaps;
pub use net::{
    Broker, ClientConfig, ClientError, ConnConfig, ConnError, ConnectStage, Connection,
    FailureKind, Negotiated, SendOptions, Sent, TlsConfig,
};
pub use protocol::choose::{Cap, Choice, Gate, GateKind, NoVersion};
pub use protocol::negotiate::{FallbackVersions, NegotiationError};
pub use protocol::versions::{BrokerVersions, KeySample, TableSource, VersionCaps};
