//! Real Apache Kafka brokers for tests: start one with
//! `testsupport/kafka/broker start --release R` (its JSON answer gives the port), stop it from a
//! Drop guard, and talk to it over a plain `std::net::TcpStream` with kwire's codecs only.
#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use kwire::messages::api_versions_request::ApiVersionsRequest;
use kwire::messages::request_header::RequestHeader;
use kwire::messages::response_header::ResponseHeader;
use kwire::{Bytes, BytesMut, Message, Request, StrBytes};
use serde_json::Value;

/// One broker at a time.
pub static BROKERS: Mutex<()> = Mutex::new(());

pub const UNSUPPORTED_VERSION: i16 = 35;

pub fn script() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testsupport/kafka/broker")
}

/// A running broker; dropping it stops it (`broker stop --dir D --clean`).
pub struct Broker {
    pub release: String,
    pub dir: String,
    pub port: u16,
    pub info: Value,
}

impl Broker {
    pub fn start(release: &str) -> Broker {
        let t = Instant::now();
        let out = Command::new(script())
            .args(["start", "--release", release])
            .stdin(Stdio::null())
            .stderr(Stdio::inherit())
            .output()
            .unwrap_or_else(|e| panic!("cannot run testsupport/kafka/broker: {e}"));
        assert!(
            out.status.success(),
            "`testsupport/kafka/broker start --release {release}` failed ({}); it needs a JDK, mvn \
             and Maven Central or a warm cache (`testsupport/kafka/broker resolve --release all`); \
             see testsupport/kafka/README.md",
            out.status
        );
        let info: Value = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
            panic!(
                "broker start printed no JSON ({e}): {}",
                String::from_utf8_lossy(&out.stdout)
            )
        });
        let broker = Broker {
            release: release.to_string(),
            dir: info["dir"].as_str().expect("dir").to_string(),
            port: info["port"].as_u64().expect("port") as u16,
            info,
        };
        eprintln!(
            "{release}: broker up on port {} in {:.1?}",
            broker.port,
            t.elapsed()
        );
        broker
    }

    pub fn connect(&self) -> Conn {
        let s = TcpStream::connect(("127.0.0.1", self.port))
            .unwrap_or_else(|e| panic!("{}: connect: {e}", self.release));
        s.set_read_timeout(Some(Duration::from_secs(20)))
            .expect("timeout");
        Conn {
            s,
            correlation_id: 0,
            exercised: Vec::new(),
        }
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        let status = Command::new(script())
            .args(["stop", "--dir", &self.dir, "--clean"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .status();
        if !matches!(status, Ok(s) if s.success()) {
            eprintln!(
                "{}: `broker stop --dir {}` failed: {status:?}",
                self.release, self.dir
            );
        }
    }
}

impl Conn {
    /// A connection to any Kafka-speaking peer on `addr` (20 s read timeout).
    pub fn to(addr: &str) -> Conn {
        let s = TcpStream::connect(addr).unwrap_or_else(|e| panic!("{addr}: connect: {e}"));
        s.set_read_timeout(Some(Duration::from_secs(20)))
            .expect("timeout");
        Conn {
            s,
            correlation_id: 0,
            exercised: Vec::new(),
        }
    }
}

pub struct Conn {
    s: TcpStream,
    correlation_id: i32,
    /// (api key, version) of every exchange decoded at the version sent.
    pub exercised: Vec<(i16, i16)>,
}

impl Conn {
    /// Sends `body` as api `R::API_KEY` at `version` with the request header kwire picks; returns the
    /// response body bytes after the response header kwire expects for `header_for` (normally
    /// `version`; KIP-511 answers to an unsupported ApiVersions version in the v0 layout).
    pub fn call_raw<R: Request>(&mut self, body: &R, version: i16) -> Bytes {
        self.correlation_id += 1;
        let mut header = RequestHeader::default();
        header.request_api_key = R::API_KEY.0;
        header.request_api_version = version;
        header.correlation_id = self.correlation_id;
        header.client_id = Some(StrBytes::from_static("kwire-test"));
        let mut frame = BytesMut::new();
        frame.extend_from_slice(&[0; 4]);
        header
            .encode(&mut frame, R::request_header_version(version))
            .expect("request header");
        body.encode(&mut frame, version).expect("request body");
        let size = (frame.len() - 4) as i32;
        frame[..4].copy_from_slice(&size.to_be_bytes());
        self.s.write_all(&frame).expect("send");

        let mut size = [0u8; 4];
        self.s
            .read_exact(&mut size)
            .unwrap_or_else(|e| panic!("{:?} v{version}: no answer: {e}", R::API_KEY));
        let size = i32::from_be_bytes(size);
        assert!(size >= 4, "{:?} v{version}: frame size {size}", R::API_KEY);
        let mut buf = vec![0u8; size as usize];
        self.s.read_exact(&mut buf).expect("response frame");
        let mut r = kwire::wire::Reader::new(Bytes::from(buf));
        let rh = ResponseHeader::decode(&mut r, R::response_header_version(version))
            .unwrap_or_else(|e| panic!("{:?} v{version}: response header: {e}", R::API_KEY));
        assert_eq!(
            rh.correlation_id,
            self.correlation_id,
            "{:?} v{version}: correlation id",
            R::API_KEY
        );
        r.peek_rest().clone()
    }

    /// Like `call_raw`, decoding the body at `body_version` (which must fill the frame).
    pub fn call<R: Request>(&mut self, body: &R, version: i16, body_version: i16) -> R::Response {
        let bytes = self.call_raw(body, version);
        let decoded = <R::Response as Message>::decode_bytes(bytes.clone(), body_version)
            .unwrap_or_else(|e| {
                panic!(
                    "{:?} v{version}: kwire cannot decode the answer as v{body_version}: {e}\n  {}",
                    R::API_KEY,
                    hex::encode(&bytes)
                )
            });
        if body_version == version {
            self.exercised.push((R::API_KEY.0, version));
        }
        decoded
    }
}

/// What a decoded ApiVersions answer at `version` advertises (features from v3 on).
pub fn advertised(
    resp: &kwire::messages::ApiVersionsResponse,
    version: i16,
) -> kwire::release::Advertised {
    let mut a = kwire::release::Advertised::new();
    for k in &resp.api_keys {
        a.api(kwire::ApiKey(k.api_key), k.min_version, k.max_version);
    }
    if version >= 3 {
        a.no_features();
        for f in &resp.supported_features {
            a.feature(&f.name, f.min_version, f.max_version);
        }
    }
    a
}

pub fn api_versions_request() -> ApiVersionsRequest {
    let mut r = ApiVersionsRequest::default();
    r.client_software_name = StrBytes::from_static("kwire");
    r.client_software_version = StrBytes::from_static("0.1.0");
    r
}

pub fn lock() -> std::sync::MutexGuard<'static, ()> {
    BROKERS.lock().unwrap_or_else(|e| e.into_inner())
}
