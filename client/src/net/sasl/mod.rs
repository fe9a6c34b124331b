//! SASL authentication (KIP-43 SaslHandshake, KIP-152 SaslAuthenticate):
//! PLAIN and SCRAM-SHA-256/512 (KIP-84), as an [`Authenticator`] run on
//! every new connection after ApiVersions, over TLS or plaintext.
//!
//! SaslHandshake v1+ says "the tokens follow in SaslAuthenticate
//! requests"; v0 meant raw, unframed tokens (Kafka 0.10.0-0.11). Every
//! broker since 1.0 has SaslAuthenticate; kwire does not speak the raw-token
//! form and says so when a broker offers nothing else.
//!
//! Credentials never reach a log or an error: `Debug` redacts the password.
//! The broker's messages are escaped before they are shown.
//!
//! KIP-368: SaslAuthenticate v1+ carries the session lifetime; the
//! connection re-authenticates before it ends (`net::broker`).

mod scram;

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use kwire::messages::{SaslAuthenticateRequest, SaslHandshakeRequest};
use kwire::{ApiKey, Bytes, ErrorCode, StrBytes};
use std::time::Duration;

pub use scram::{ScramClient, ScramError, ScramHash};

use super::auth::{AuthContext, AuthFuture, Authenticated, Authenticator};
use super::error::AuthError;
use crate::escape;

/// A SASL mechanism kwire speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SaslMechanism {
    Plain,
    ScramSha256,
    ScramSha512,
}

impl SaslMechanism {
    pub fn name(self) -> &'static str {
        match self {
            SaslMechanism::Plain => "PLAIN",
            SaslMechanism::ScramSha256 => "SCRAM-SHA-256",
            SaslMechanism::ScramSha512 => "SCRAM-SHA-512",
        }
    }

    /// `PLAIN`, `SCRAM-SHA-256`, `SCRAM-SHA-512` (any case).
    pub fn parse(s: &str) -> Option<SaslMechanism> {
        match s.to_ascii_uppercase().as_str() {
            "PLAIN" => Some(SaslMechanism::Plain),
            "SCRAM-SHA-256" => Some(SaslMechanism::ScramSha256),
            "SCRAM-SHA-512" => Some(SaslMechanism::ScramSha512),
            _ => None,
        }
    }
}

/// A SASL login: mechanism, user, password.
#[derive(Clone)]
pub struct Sasl {
    pub mechanism: SaslMechanism,
    pub username: String,
    password: String,
}

impl std::fmt::Debug for Sasl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sasl")
            .field("mechanism", &self.mechanism)
            .field("username", &self.username)
            .field("password", &"<redacted>")
            .finish()
    }
}

fn refused(step: &'static str, code: i16, message: Option<&str>) -> AuthError {
    AuthError::Broker {
        step,
        code: ErrorCode(code),
        message: message.filter(|m| !m.is_empty()).map(escape::name),
    }
}

impl Sasl {
    pub fn new(mechanism: SaslMechanism, username: &str, password: &str) -> Sasl {
        Sasl {
            mechanism,
            username: username.to_string(),
            password: password.to_string(),
        }
    }

    async fn run(&self, cx: AuthContext<'_>) -> Result<Authenticated, AuthError> {
        let handshake_v1 = cx
            .versions
            .get(ApiKey::SASL_HANDSHAKE)
            .is_some_and(|r| r.max >= 1);
        if !handshake_v1 || cx.versions.get(ApiKey::SASL_AUTHENTICATE).is_none() {
            return Err(AuthError::Refused(format!(
                "{} advertises no SaslHandshake v1 and SaslAuthenticate (a broker before 1.0, \
                 KIP-152, or a listener without SASL): kwire does not send raw SASL tokens",
                cx.broker
            )));
        }
        let mut hs = SaslHandshakeRequest::default();
        hs.mechanism = StrBytes::from_static(self.mechanism.name());
        let (resp, _) = cx.send(&hs).await?;
        if resp.error_code != 0 {
            let enabled: Vec<String> = resp.mechanisms.iter().map(|m| escape::name(m)).collect();
            return Err(AuthError::Broker {
                step: "SaslHandshake",
                code: ErrorCode(resp.error_code),
                message: Some(format!("the listener enables [{}]", enabled.join(", "))),
            });
        }
        match self.mechanism {
            SaslMechanism::Plain => {
                // RFC 4616: authzid NUL authcid NUL passwd (no authzid).
                let mut token = Vec::with_capacity(self.username.len() + self.password.len() + 2);
                token.push(0);
                token.extend_from_slice(self.username.as_bytes());
                token.push(0);
                token.extend_from_slice(self.password.as_bytes());
                let (_, lifetime) = authenticate(&cx, token).await?;
                Ok(Authenticated {
                    session_lifetime: lifetime,
                })
            }
            SaslMechanism::ScramSha256 | SaslMechanism::ScramSha512 => {
                let hash = if self.mechanism == SaslMechanism::ScramSha256 {
                    ScramHash::Sha256
                } else {
                    ScramHash::Sha512
                };
                let nonce = nonce()?;
                let (mut client, first) = ScramClient::start(hash, &self.username, &nonce);
                let (server_first, _) = authenticate(&cx, first.into_bytes()).await?;
                let fin = client.client_final(&server_first, &self.password)?;
                let (server_final, lifetime) = authenticate(&cx, fin.into_bytes()).await?;
                client.finish(&server_final)?;
                Ok(Authenticated {
                    session_lifetime: lifetime,
                })
            }
        }
    }
}

/// 24 random bytes, base64: a printable nonce without commas.
fn nonce() -> Result<String, AuthError> {
    let mut b = [0u8; 24];
    getrandom::getrandom(&mut b)
        .map_err(|e| AuthError::Refused(format!("no randomness for the SCRAM nonce: {e}")))?;
    Ok(B64.encode(b))
}

/// One SaslAuthenticate round: the broker's token and the session lifetime
/// (v1+, KIP-368; 0 = none).
async fn authenticate(
    cx: &AuthContext<'_>,
    token: Vec<u8>,
) -> Result<(Bytes, Option<Duration>), AuthError> {
    let mut req = SaslAuthenticateRequest::default();
    req.auth_bytes = Bytes::from(token);
    let (resp, _) = cx.send(&req).await?;
    if resp.error_code != 0 {
        return Err(refused(
            "SaslAuthenticate",
            resp.error_code,
            resp.error_message.as_deref(),
        ));
    }
    let lifetime = u64::try_from(resp.session_lifetime_ms)
        .ok()
        .filter(|ms| *ms > 0)
        .map(Duration::from_millis);
    Ok((resp.auth_bytes, lifetime))
}

impl Authenticator for Sasl {
    fn name(&self) -> &str {
        self.mechanism.name()
    }

    fn authenticate<'a>(&'a self, cx: AuthContext<'a>) -> AuthFuture<'a> {
        Box::pin(self.run(cx))
    }
}
