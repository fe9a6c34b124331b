//! TLS: a verified handshake against a private CA, and a refusal when the
//! certificate is not trusted.

use std::sync::Arc;

use bytes::{BufMut, BytesMut};
use kwire_client::net::frame::{finish_frame, read_frame, start_frame};
use kwire_client::net::RequestMeta;
use kwire_client::{ConnConfig, ConnError, Connection, TlsConfig};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;

#[derive(Debug, thiserror::Error)]
enum E {
    #[error(transparent)]
    C(#[from] ConnError),
}

/// A TLS echo server for one connection: answers each frame with its
/// correlation id and payload.
async fn server(
    cert: CertificateDer<'static>,
    key: PrivateKeyDer<'static>,
) -> (String, tokio::task::JoinHandle<()>) {
    let cfg = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(vec![cert], key)
    .unwrap();
    let acceptor = TlsAcceptor::from(Arc::new(cfg));
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = l.local_addr().unwrap().to_string();
    let h = tokio::spawn(async move {
        let Ok((tcp, _)) = l.accept().await else {
            return;
        };
        let Ok(mut s) = acceptor.accept(tcp).await else {
            return;
        };
        while let Ok(Some(f)) = read_frame(&mut s, 1 << 20).await {
            let mut out = start_frame(f.len());
            out.extend_from_slice(&f);
            if s.write_all(&finish_frame(out, 1 << 20).unwrap())
                .await
                .is_err()
            {
                return;
            }
            let _ = s.flush().await;
        }
    });
    (addr, h)
}

fn self_signed() -> (CertificateDer<'static>, PrivateKeyDer<'static>, String) {
    let ck = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    let pem = ck.cert.pem();
    let der = ck.cert.der().clone();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(ck.key_pair.serialize_der()));
    (der, key, pem)
}

#[tokio::test]
async fn verified_handshake_with_a_custom_ca() {
    let (cert, key, pem) = self_signed();
    let (addr, _h) = server(cert, key).await;
    let dir = std::env::temp_dir().join(format!("kwire-tls-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ca = dir.join("ca.pem");
    std::fs::write(&ca, pem).unwrap();
    let mut tls = TlsConfig::custom_ca(&ca).unwrap();
    tls.server_name = Some("localhost".into());
    let cfg = ConnConfig {
        tls: Some(tls),
        ..Default::default()
    };
    let c = Connection::connect(&addr, cfg).await.unwrap();
    let reply = c
        .send::<E>(
            RequestMeta {
                api_key: kwire::ApiKey::API_VERSIONS,
                version: 0,
            },
            |id, b: &mut BytesMut| {
                b.put_i32(id);
                b.extend_from_slice(b"over tls");
                Ok(())
            },
        )
        .await
        .unwrap();
    assert_eq!(&reply[4..], b"over tls");
    c.shutdown().await;
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn untrusted_certificate_is_refused() {
    let (cert, key, _) = self_signed();
    let (addr, _h) = server(cert, key).await;
    let mut tls = TlsConfig::webpki_roots().unwrap();
    tls.server_name = Some("localhost".into());
    let cfg = ConnConfig {
        tls: Some(tls),
        ..Default::default()
    };
    match Connection::connect(&addr, cfg).await {
        Err(ConnError::Tls { message, .. }) => {
            assert!(message.to_lowercase().contains("certificate"), "{message}")
        }
        other => panic!("{other:?}"),
    }
}
