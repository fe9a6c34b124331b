//! The SCRAM client exchange (RFC 5802, SHA-256/512 as RFC 7677 and
//! KIP-84), pure: no I/O. Three messages: client-first, client-final (from
//! the server-first), and the check of the server-final's signature, which
//! proves the broker knows the credential too.
//!
//! The password goes in as its UTF-8 bytes, without SASLprep: Kafka's own
//! `ScramFormatter` does the same, and the broker stores what it derived
//! that way.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine as _;
use hmac::digest::core_api::BlockSizeUser;
use hmac::digest::{Digest, FixedOutputReset};
use hmac::{Mac, SimpleHmac};

/// Kafka's minimum iteration count (`ScramMechanism.minIterations`).
pub const MIN_ITERATIONS: u32 = 4096;
/// The most iterations kwire computes: Kafka's maximum is 16384; a peer
/// asking for far more would make the client burn CPU for it.
pub const MAX_ITERATIONS: u32 = 65_536;

/// Why a SCRAM exchange stopped.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ScramError {
    #[error("the server's first message is malformed: {0}")]
    ServerFirst(String),
    #[error("the server's nonce does not extend ours (a replayed or forged exchange)")]
    Nonce,
    #[error(
        "the server asks for {0} iterations (kwire accepts {MIN_ITERATIONS} to {MAX_ITERATIONS})"
    )]
    Iterations(u32),
    #[error("the server refused the proof: {0}")]
    ServerError(String),
    #[error("the server's final message is malformed: {0}")]
    ServerFinal(String),
    #[error("the server's signature is wrong: it does not know this credential")]
    ServerSignature,
    #[error("HMAC refused a key: {0}")]
    Key(String),
}

/// Which hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScramHash {
    Sha256,
    Sha512,
}

impl ScramHash {
    pub fn mechanism(self) -> &'static str {
        match self {
            ScramHash::Sha256 => "SCRAM-SHA-256",
            ScramHash::Sha512 => "SCRAM-SHA-512",
        }
    }
}

/// `saslname`: `=` and `,` escaped (RFC 5802 §5.1).
fn sasl_name(user: &str) -> String {
    user.replace('=', "=3D").replace(',', "=2C")
}

/// The exchange after client-first.
pub struct ScramClient {
    hash: ScramHash,
    client_first_bare: String,
    nonce: String,
    server_signature: Option<Vec<u8>>,
}

impl std::fmt::Debug for ScramClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The signature and nonce are secrets of this exchange.
        f.debug_struct("ScramClient")
            .field("hash", &self.hash)
            .finish_non_exhaustive()
    }
}

fn hmac<D>(key: &[u8], parts: &[&[u8]]) -> Result<Vec<u8>, ScramError>
where
    D: Digest + BlockSizeUser + FixedOutputReset + Clone + Sync,
{
    let mut m =
        <SimpleHmac<D> as Mac>::new_from_slice(key).map_err(|e| ScramError::Key(e.to_string()))?;
    for p in parts {
        m.update(p);
    }
    Ok(m.finalize().into_bytes().to_vec())
}

/// Hi() of RFC 5802: PBKDF2 with HMAC-`D`.
fn salted_password<D>(password: &[u8], salt: &[u8], iterations: u32) -> Result<Vec<u8>, ScramError>
where
    D: Digest + BlockSizeUser + FixedOutputReset + Clone + Sync,
{
    let mut out = vec![0u8; <D as Digest>::output_size()];
    pbkdf2::pbkdf2::<SimpleHmac<D>>(password, salt, iterations, &mut out)
        .map_err(|e| ScramError::Key(e.to_string()))?;
    Ok(out)
}

struct Keys {
    proof: Vec<u8>,
    server_signature: Vec<u8>,
}

fn keys<D>(
    password: &[u8],
    salt: &[u8],
    iterations: u32,
    auth_message: &[u8],
) -> Result<Keys, ScramError>
where
    D: Digest + BlockSizeUser + FixedOutputReset + Clone + Sync,
{
    let salted = salted_password::<D>(password, salt, iterations)?;
    let client_key = hmac::<D>(&salted, &[b"Client Key"])?;
    let stored_key = D::digest(&client_key).to_vec();
    let client_signature = hmac::<D>(&stored_key, &[auth_message])?;
    let proof = client_key
        .iter()
        .zip(&client_signature)
        .map(|(a, b)| a ^ b)
        .collect();
    let server_key = hmac::<D>(&salted, &[b"Server Key"])?;
    Ok(Keys {
        proof,
        server_signature: hmac::<D>(&server_key, &[auth_message])?,
    })
}

impl ScramClient {
    /// Starts an exchange with this nonce (printable, no comma): returns
    /// the client-first message.
    pub fn start(hash: ScramHash, user: &str, nonce: &str) -> (ScramClient, String) {
        let bare = format!("n={},r={nonce}", sasl_name(user));
        let first = format!("n,,{bare}");
        (
            ScramClient {
                hash,
                client_first_bare: bare,
                nonce: nonce.to_string(),
                server_signature: None,
            },
            first,
        )
    }

    /// Reads server-first and returns client-final.
    pub fn client_final(
        &mut self,
        server_first: &[u8],
        password: &str,
    ) -> Result<String, ScramError> {
        let sf = std::str::from_utf8(server_first)
            .map_err(|_| ScramError::ServerFirst("not UTF-8".into()))?;
        let mut nonce = None;
        let mut salt = None;
        let mut iterations = None;
        for attr in sf.split(',') {
            match attr.split_once('=') {
                Some(("r", v)) => nonce = Some(v),
                Some(("s", v)) => {
                    salt = Some(
                        B64.decode(v)
                            .map_err(|e| ScramError::ServerFirst(format!("salt: {e}")))?,
                    )
                }
                Some(("i", v)) => {
                    iterations = Some(v.parse::<u32>().map_err(|_| {
                        ScramError::ServerFirst("iteration count is not a number".into())
                    })?)
                }
                Some(("m", _)) => {
                    // RFC 5802: a mandatory extension we do not know.
                    return Err(ScramError::ServerFirst("mandatory extension (m=)".into()));
                }
                _ => {}
            }
        }
        let (Some(nonce), Some(salt), Some(iterations)) = (nonce, salt, iterations) else {
            return Err(ScramError::ServerFirst("r=, s= or i= is missing".into()));
        };
        if !nonce.starts_with(&self.nonce) || nonce.len() == self.nonce.len() {
            return Err(ScramError::Nonce);
        }
        if !(MIN_ITERATIONS..=MAX_ITERATIONS).contains(&iterations) {
            return Err(ScramError::Iterations(iterations));
        }
        // c=biws: base64 of the GS2 header "n,," (no channel binding).
        let without_proof = format!("c=biws,r={nonce}");
        let auth_message = format!("{},{sf},{without_proof}", self.client_first_bare);
        let k = match self.hash {
            ScramHash::Sha256 => keys::<sha2::Sha256>(
                password.as_bytes(),
                &salt,
                iterations,
                auth_message.as_bytes(),
            )?,
            ScramHash::Sha512 => keys::<sha2::Sha512>(
                password.as_bytes(),
                &salt,
                iterations,
                auth_message.as_bytes(),
            )?,
        };
        self.server_signature = Some(k.server_signature);
        Ok(format!("{without_proof},p={}", B64.encode(k.proof)))
    }

    /// Checks server-final: `v=` must carry the expected signature.
    pub fn finish(&self, server_final: &[u8]) -> Result<(), ScramError> {
        let sf = std::str::from_utf8(server_final)
            .map_err(|_| ScramError::ServerFinal("not UTF-8".into()))?;
        if let Some(e) = sf.strip_prefix("e=") {
            return Err(ScramError::ServerError(crate::escape::name(e)));
        }
        let v = sf
            .split(',')
            .find_map(|a| a.strip_prefix("v="))
            .ok_or_else(|| ScramError::ServerFinal("no v=".into()))?;
        let got = B64
            .decode(v)
            .map_err(|e| ScramError::ServerFinal(format!("signature: {e}")))?;
        let want = self
            .server_signature
            .as_deref()
            .ok_or_else(|| ScramError::ServerFinal("before the client's final message".into()))?;
        // Constant-time: the comparison must not say how much matched.
        if got.len() == want.len() && subtle_eq(&got, want) {
            Ok(())
        } else {
            Err(ScramError::ServerSignature)
        }
    }
}

fn subtle_eq(a: &[u8], b: &[u8]) -> bool {
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 7677 §3's SCRAM-SHA-256 example, end to end.
    #[test]
    fn rfc7677_example() {
        let (mut c, first) = ScramClient::start(ScramHash::Sha256, "user", "rOprNGfwEbeRWgbNEkqO");
        assert_eq!(first, "n,,n=user,r=rOprNGfwEbeRWgbNEkqO");
        let server_first = b"r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096";
        let fin = c.client_final(server_first, "pencil").unwrap();
        assert_eq!(
            fin,
            "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ="
        );
        c.finish(b"v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=")
            .unwrap();
        assert_eq!(
            c.finish(b"v=AAAATRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4="),
            Err(ScramError::ServerSignature)
        );
    }

    #[test]
    fn hostile_server_first() {
        let (mut c, _) = ScramClient::start(ScramHash::Sha512, "u", "abc");
        assert_eq!(
            c.client_final(b"r=xyz,s=AAAA,i=4096", "p"),
            Err(ScramError::Nonce)
        );
        assert_eq!(
            c.client_final(b"r=abc,s=AAAA,i=4096", "p"),
            Err(ScramError::Nonce)
        );
        assert_eq!(
            c.client_final(b"r=abcd,s=AAAA,i=4000000000", "p"),
            Err(ScramError::Iterations(4_000_000_000))
        );
        assert!(matches!(
            c.client_final(b"r=abcd,i=4096", "p"),
            Err(ScramError::ServerFirst(_))
        ));
        assert!(matches!(
            c.finish(b"v=AAAA"),
            Err(ScramError::ServerFinal(_))
        ));
        assert_eq!(sasl_name("a=b,c"), "a=3Db=2Cc");
    }
}
