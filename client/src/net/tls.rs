//! TLS on top of TCP with rustls: verified by default against the
//! webpki-roots (Mozilla) set, or against a custom CA bundle.

use std::fmt;
use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use rustls_pki_types::pem::PemObject;
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

/// TLS settings for broker connections.
#[derive(Clone)]
pub struct TlsConfig {
    config: Arc<ClientConfig>,
    /// Overrides the name checked against the certificate (default: the
    /// host part of the broker address).
    pub server_name: Option<String>,
}

impl fmt::Debug for TlsConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsConfig")
            .field("server_name", &self.server_name)
            .finish_non_exhaustive()
    }
}

/// Why a TLS configuration could not be built.
#[derive(Debug, thiserror::Error)]
pub enum TlsConfigError {
    #[error("cannot read CA file {path}: {message}")]
    CaFile { path: String, message: String },
    #[error("CA file {path} holds no certificate")]
    NoCertificate { path: String },
    #[error("rustls: {0}")]
    Rustls(#[from] rustls::Error),
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

impl TlsConfig {
    /// Verified against the webpki-roots set.
    pub fn webpki_roots() -> Result<Self, TlsConfigError> {
        let mut roots = RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        Self::with_roots(roots)
    }

    /// Verified against the certificates in a PEM file (a private CA).
    pub fn custom_ca(path: impl AsRef<Path>) -> Result<Self, TlsConfigError> {
        let p = path.as_ref();
        let shown = p.display().to_string();
        let mut roots = RootCertStore::empty();
        let certs = CertificateDer::pem_file_iter(p).map_err(|e| TlsConfigError::CaFile {
            path: shown.clone(),
            message: e.to_string(),
        })?;
        for c in certs {
            let c = c.map_err(|e| TlsConfigError::CaFile {
                path: shown.clone(),
                message: e.to_string(),
            })?;
            roots.add(c)?;
        }
        if roots.is_empty() {
            return Err(TlsConfigError::NoCertificate { path: shown });
        }
        Self::with_roots(roots)
    }

    fn with_roots(roots: RootCertStore) -> Result<Self, TlsConfigError> {
        let config = ClientConfig::builder_with_provider(provider())
            .with_safe_default_protocol_versions()?
            .with_root_certificates(roots)
            .with_no_client_auth();
        Ok(TlsConfig {
            config: Arc::new(config),
            server_name: None,
        })
    }

    /// A fully custom rustls configuration (client certificates, pinning).
    pub fn from_rustls(config: Arc<ClientConfig>) -> Self {
        TlsConfig {
            config,
            server_name: None,
        }
    }

    pub(crate) async fn connect(
        &self,
        addr: &str,
        tcp: TcpStream,
    ) -> Result<TlsStream<TcpStream>, String> {
        let host = match &self.server_name {
            Some(h) => h.clone(),
            None => host_of(addr).to_string(),
        };
        let name = ServerName::try_from(host.clone())
            .map_err(|e| format!("invalid server name {host:?}: {e}"))?;
        TlsConnector::from(self.config.clone())
            .connect(name, tcp)
            .await
            .map_err(|e| e.to_string())
    }
}

/// The host part of `host:port` (IPv6 literals in brackets included).
pub(crate) fn host_of(addr: &str) -> &str {
    if let Some(rest) = addr.strip_prefix('[') {
        if let Some(end) = rest.find(']') {
            return &rest[..end];
        }
    }
    match addr.rfind(':') {
        Some(i) => &addr[..i],
        None => addr,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn host_parsing() {
        assert_eq!(host_of("broker.example:9093"), "broker.example");
        assert_eq!(host_of("[::1]:9093"), "::1");
        assert_eq!(host_of("localhost"), "localhost");
    }

    #[test]
    fn configs_build() {
        assert!(TlsConfig::webpki_roots().is_ok());
        let dir = std::env::temp_dir().join(format!("kwire-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let empty = dir.join("empty.pem");
        std::fs::write(&empty, "").unwrap();
        assert!(matches!(
            TlsConfig::custom_ca(&empty),
            Err(TlsConfigError::NoCertificate { .. })
        ));
        assert!(matches!(
            TlsConfig::custom_ca(dir.join("missing.pem")),
            Err(TlsConfigError::CaFile { .. })
        ));
        let _ = std::fs::remove_dir_all(&dir);
    }
}
