//! The authentication step of a connection handshake: after ApiVersions,
//! before the connection carries any request (KIP-43 SaslHandshake, KIP-152
//! SaslAuthenticate; ApiVersions comes first so the SASL versions are
//! negotiated like any other, KIP-511).
//!
//! An [`Authenticator`] gets the negotiated connection and table and sends
//! whatever its mechanism needs through [`AuthContext::send`], which picks
//! each request's version the way every other request is picked. A broker
//! that limits the session (KIP-368) says so in SaslAuthenticate; the
//! authenticator reports it in [`Authenticated::session_lifetime`].

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use kwire::Request;

use super::conn::Connection;
pub use super::error::AuthError;
use super::error::ClientError;
use super::request::request_on;
use crate::protocol::choose::{choose_for, Choice, Overrides};
use crate::protocol::facts::request_facts;
use crate::protocol::versions::{BrokerVersions, VersionCaps};

/// What an authenticator works with: one freshly negotiated connection.
pub struct AuthContext<'a> {
    pub conn: &'a Connection,
    /// The broker's table on this connection.
    pub versions: &'a BrokerVersions,
    /// `host:port (node N)`, for logs and errors.
    pub broker: &'a str,
    pub client_id: Option<&'a str>,
    pub caps: &'a VersionCaps,
    /// The deadline of each request.
    pub timeout: Duration,
}

impl AuthContext<'_> {
    /// Sends `req` at the version chosen for it on this connection (ours ∩
    /// the broker's ∩ the request's own range ∩ caps) and decodes the reply.
    pub async fn send<R: Request + 'static>(
        &self,
        req: &R,
    ) -> Result<(R::Response, Choice), ClientError> {
        let facts = request_facts(req);
        let choice = choose_for(
            R::API_KEY,
            &facts,
            &Overrides::default(),
            self.versions,
            self.caps,
            self.broker,
        )?;
        let resp = request_on(
            self.conn,
            self.client_id,
            req,
            choice.version,
            self.timeout,
            self.broker,
        )
        .await?;
        Ok((resp, choice))
    }
}

/// A finished authentication.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Authenticated {
    /// The session lifetime the broker granted (SaslAuthenticate v1+,
    /// KIP-368): the connection must re-authenticate before it ends.
    /// `None` = no limit.
    pub session_lifetime: Option<Duration>,
}

/// The future an [`Authenticator`] returns.
pub type AuthFuture<'a> =
    Pin<Box<dyn Future<Output = Result<Authenticated, AuthError>> + Send + 'a>>;

/// One authentication mechanism, run on every new connection.
pub trait Authenticator: Send + Sync {
    /// The mechanism, for logs and errors (e.g. `SCRAM-SHA-512`).
    fn name(&self) -> &str;

    /// Authenticates the connection in `cx`. Every wait needs a deadline:
    /// [`AuthContext::send`] applies `cx.timeout` to each request.
    fn authenticate<'a>(&'a self, cx: AuthContext<'a>) -> AuthFuture<'a>;
}
