//! SASL PLAIN and SCRAM-SHA-256/512 against REAL Apache Kafka brokers with
//! SASL listeners (testsupport/kafka/broker start --sasl ..., started by the
//! test and stopped from a Drop guard): the right password lets requests
//! through, a wrong one is a typed error carrying the broker's code and
//! escaped message, a mechanism the listener does not enable is named with
//! the ones it does, TLS+SASL once, and KIP-368 re-authentication observed
//! on a live connection (several sessions, no reconnect, requests in flight
//! meanwhile). Without java/mvn the tests fail with the command to run.

mod support;

use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use kwire::messages::MetadataRequest;
use kwire::ErrorCode;
use kwire_client::net::sasl::{Sasl, SaslMechanism};
use kwire_client::net::AuthError;
use kwire_client::{Broker, ClientConfig, ClientError, TlsConfig};
use serde_json::Value;
use support::kafka::{lock, require_java_and_maven, runtime, testsupport};

const USER: &str = "alice";
const PASSWORD: &str = "alice-secret";

/// A broker with SASL listeners; dropping it stops it.
struct SaslBroker {
    info: Value,
    dir: String,
}

impl SaslBroker {
    fn start(release: &str, reauth_ms: u32, ssl: bool) -> SaslBroker {
        require_java_and_maven();
        let mut cmd = Command::new(testsupport("broker"));
        cmd.args([
            "start",
            "--release",
            release,
            "--sasl",
            "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512",
            "--user",
            &format!("{USER}:{PASSWORD}"),
            "--reauth-ms",
            &reauth_ms.to_string(),
        ]);
        if ssl {
            cmd.arg("--sasl-ssl");
        }
        let out = cmd
            .stdin(Stdio::null())
            .stderr(Stdio::inherit())
            .output()
            .unwrap_or_else(|e| panic!("cannot run testsupport/kafka/broker: {e}"));
        assert!(
            out.status.success(),
            "`testsupport/kafka/broker start --release {release} --sasl ...` failed ({}; its log \
             tail is above); it needs a JDK, mvn and Maven Central or a warm cache",
            out.status
        );
        let info: Value = serde_json::from_slice(&out.stdout).expect("broker start prints JSON");
        let dir = info["dir"].as_str().expect("dir").to_string();
        SaslBroker { info, dir }
    }

    fn bootstrap(&self, protocol: &str, mechanism: &str) -> String {
        self.info["sasl"]["bootstraps"][protocol][mechanism]
            .as_str()
            .unwrap_or_else(|| panic!("no {protocol} {mechanism} listener in {}", self.info))
            .to_string()
    }

    fn ca_pem(&self) -> String {
        self.info["tls"]["ca_pem"]
            .as_str()
            .expect("ca_pem")
            .to_string()
    }
}

impl Drop for SaslBroker {
    fn drop(&mut self) {
        let _ = Command::new(testsupport("broker"))
            .args(["stop", "--dir", &self.dir, "--clean"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .status();
    }
}

fn cfg(mechanism: SaslMechanism, password: &str) -> ClientConfig {
    let mut c = ClientConfig::default();
    c.conn = c.conn.all_timeouts(Duration::from_secs(20));
    c.authenticator = Some(Arc::new(Sasl::new(mechanism, USER, password)));
    c
}

async fn metadata(b: &Broker) -> Result<(), ClientError> {
    b.send(&MetadataRequest::default()).await.map(|_| ())
}

/// The broker's refusal inside a connection error.
fn auth_error(e: &ClientError) -> &AuthError {
    match e {
        ClientError::Auth { source, .. } => source,
        other => panic!("expected an authentication error, got {other:?}"),
    }
}

async fn logins(k: &SaslBroker, protocol: &str, tls: Option<TlsConfig>, lifetime_ms: u64) {
    for mech in [
        SaslMechanism::Plain,
        SaslMechanism::ScramSha256,
        SaslMechanism::ScramSha512,
    ] {
        let addr = k.bootstrap(protocol, mech.name());
        // Right password: requests work, the session lifetime is reported.
        let mut c = cfg(mech, PASSWORD);
        c.conn.tls = tls.clone();
        let b = Broker::new(&addr, None, Arc::new(c));
        metadata(&b)
            .await
            .unwrap_or_else(|e| panic!("{} {protocol}: {e}", mech.name()));
        let n = b.connection().await.expect("connection");
        let got = n.authenticated.as_ref().and_then(|a| a.session_lifetime);
        assert_eq!(
            got,
            Some(Duration::from_millis(lifetime_ms)),
            "{}",
            mech.name()
        );
        b.disconnect().await;

        // Wrong password: SASL_AUTHENTICATION_FAILED with the broker's message.
        let mut c = cfg(mech, "not-the-password");
        c.conn.tls = tls.clone();
        let b = Broker::new(&addr, None, Arc::new(c));
        let e = metadata(&b).await.unwrap_err();
        match auth_error(&e) {
            AuthError::Broker {
                step,
                code,
                message,
            } => {
                assert_eq!(*step, "SaslAuthenticate", "{e}");
                assert_eq!(*code, ErrorCode::SASL_AUTHENTICATION_FAILED, "{e}");
                assert!(message.is_some(), "{e}");
            }
            other => panic!("{}: {other:?}", mech.name()),
        }
        let text = e.to_string();
        assert!(
            !text.contains("not-the-password"),
            "password in an error: {text}"
        );
        assert!(text.contains(mech.name()), "{text}");
    }
    // A mechanism the listener does not enable: named with the ones it does.
    let mut c = cfg(SaslMechanism::Plain, PASSWORD);
    c.conn.tls = tls.clone();
    let b = Broker::new(&k.bootstrap(protocol, "SCRAM-SHA-256"), None, Arc::new(c));
    let e = metadata(&b).await.unwrap_err();
    match auth_error(&e) {
        AuthError::Broker { code, message, .. } => {
            assert_eq!(*code, ErrorCode::UNSUPPORTED_SASL_MECHANISM, "{e}");
            assert_eq!(
                message.as_deref(),
                Some("the listener enables [SCRAM-SHA-256]"),
                "{e}"
            );
        }
        other => panic!("{other:?}"),
    }
}

/// KIP-368: a 3 s session, requests for ~8 s on one connection, several
/// at once: the connection re-authenticates at least twice, never
/// reconnects, and no request fails.
async fn reauthentication(k: &SaslBroker) {
    let b = Arc::new(Broker::new(
        &k.bootstrap("SASL_PLAINTEXT", "SCRAM-SHA-512"),
        None,
        Arc::new(cfg(SaslMechanism::ScramSha512, PASSWORD)),
    ));
    metadata(&b).await.expect("first request");
    let first = b.connection().await.expect("connection");
    let generation = first.generation;
    let end = Instant::now() + Duration::from_secs(8);
    let mut sent = 0;
    while Instant::now() < end {
        let mut tasks = Vec::new();
        for _ in 0..3 {
            let b = b.clone();
            tasks.push(tokio::spawn(async move { metadata(&b).await }));
        }
        for t in tasks {
            t.await
                .expect("task")
                .expect("request during re-authentication");
            sent += 1;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let n = b.connection().await.expect("connection");
    assert_eq!(
        n.generation, generation,
        "reconnected instead of re-authenticating"
    );
    assert!(
        n.reauthentications() >= 2,
        "{} re-authentication(s) in 8 s of a 3 s session ({sent} requests)",
        n.reauthentications()
    );
}

#[test]
fn kafka_4_4_0_sasl_plain_scram_tls_reauth() {
    let _l = lock();
    let k = SaslBroker::start("4.4.0", 3000, true);
    runtime().block_on(async {
        logins(&k, "SASL_PLAINTEXT", None, 3000).await;
        let tls = TlsConfig::custom_ca(k.ca_pem()).expect("CA");
        logins(&k, "SASL_SSL", Some(tls), 3000).await;
        reauthentication(&k).await;
    });
}

#[test]
fn kafka_3_8_1_sasl_plain_scram() {
    let _l = lock();
    let k = SaslBroker::start("3.8.1", 60_000, false);
    runtime().block_on(async {
        logins(&k, "SASL_PLAINTEXT", None, 60_000).await;
    });
}
