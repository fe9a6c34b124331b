//! The network layer: bytes to and from one broker.
//!
//! * [`frame`]: size-prefixed frames, read without trusting the size;
//! * [`tls`]: rustls on top of TCP;
//! * [`conn`]: one connection, generic over its stream (TCP, TLS, or any
//!   stream the caller opened), pipelined requests matched by correlation
//!   id, a deadline on every wait;
//! * [`request`]: one typed request over a connection at a given version;
//! * [`handshake`]: connect, negotiate ApiVersions, authenticate ([`auth`]);
//! * [`broker`]: one broker and its negotiated connection, opened lazily and
//!   renegotiated on reconnect;
//! * [`observe`]: what a caller sees of every negotiation and answer
//!   ([`WireLog`] keeps a bounded record);
//! * [`error`]: the typed errors of all of the above and their kinds.
//!
//! It uses the protocol layer to decide and knows nothing of clusters:
//! which broker a request goes to is [`crate::cluster`]'s business.

pub mod auth;
pub mod broker;
pub mod config;
pub mod conn;
pub mod error;
pub mod frame;
pub mod handshake;
pub mod observe;
pub mod request;
pub mod sasl;
pub mod tls;

pub use auth::{AuthContext, AuthError, Authenticated, Authenticator};
pub use broker::{Broker, SendOptions, Sent};
pub use config::ClientConfig;
pub use conn::{Closed, ConnConfig, ConnError, ConnectStage, Connection, Driver, RequestMeta};
pub use error::{ClientError, FailureKind};
pub use handshake::Negotiated;
pub use observe::{Observer, WireLog, WireSnapshot};
pub use tls::TlsConfig;
