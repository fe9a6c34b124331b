//! `kwire decode`: a request or response, given as hex or raw bytes, to
//! JSON in Kafka's own field names (kwire's `serde` feature); a body (with
//! `--api` and `--version`) or a whole frame (`--frame`: the 4-byte size,
//! the header, the body). A request frame names its API and version in
//! its header; a response frame does not, so `--api`/`--version` say.
//! The JSON is what `kwire encode` reads back, byte for byte.

use std::io::Read;

use clap::Args;
use kwire::dispatch::{RequestKind, ResponseKind};
use kwire::headers::{request_header_version, response_header_version};
use kwire::messages::{RequestHeader, ResponseHeader};
use kwire::wire::Reader;
use kwire::{ApiKey, Bytes, Message};
use kwire_client::protocol::api::{api_name, parse_api};
use serde_json::{json, Value};

use crate::exit::{self, Failure};
use crate::out;

#[derive(Args)]
pub struct DecodeArgs {
    /// The API (name or key); for a request frame it is read from the header.
    #[arg(long)]
    pub api: Option<String>,
    /// The body's version; for a request frame it is read from the header.
    #[arg(long)]
    pub version: Option<i16>,
    /// The bytes are a response (default: a request).
    #[arg(long)]
    pub response: bool,
    /// The bytes are a whole frame: size, header, body.
    #[arg(long)]
    pub frame: bool,
    /// The bytes as hex (whitespace allowed); default: hex on stdin.
    #[arg(long, conflicts_with = "file")]
    pub hex: Option<String>,
    /// Read raw bytes from this file (`-`: stdin).
    #[arg(long)]
    pub file: Option<String>,
}

pub fn malformed(m: impl Into<String>) -> Failure {
    Failure {
        code: exit::MALFORMED,
        message: m.into(),
    }
}

/// Hex to bytes; whitespace between digits is ignored.
pub fn from_hex(s: &str) -> Result<Vec<u8>, Failure> {
    let digits: Vec<u8> = s.bytes().filter(|b| !b.is_ascii_whitespace()).collect();
    if digits.len() % 2 != 0 {
        return Err(Failure::usage("hex input has an odd number of digits"));
    }
    let val = |d: u8| -> Result<u8, Failure> {
        (d as char)
            .to_digit(16)
            .map(|v| v as u8)
            .ok_or_else(|| Failure::usage(format!("{:?} is not a hex digit", d as char)))
    };
    digits
        .chunks(2)
        .map(|p| Ok(val(p[0])? << 4 | val(p[1])?))
        .collect()
}

pub fn to_hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

pub fn api_arg(api: &Option<String>) -> Result<Option<ApiKey>, Failure> {
    api.as_deref()
        .map(|a| parse_api(a).ok_or_else(|| Failure::usage(format!("--api {a:?}: unknown API"))))
        .transpose()
}

fn input(a: &DecodeArgs) -> Result<Vec<u8>, Failure> {
    let io = |e: std::io::Error| Failure {
        code: exit::OTHER,
        message: format!("cannot read the input: {e}"),
    };
    match (&a.hex, &a.file) {
        (Some(h), _) => from_hex(h),
        (None, Some(f)) if f == "-" => {
            let mut b = Vec::new();
            std::io::stdin().read_to_end(&mut b).map_err(io)?;
            Ok(b)
        }
        (None, Some(f)) => std::fs::read(f).map_err(io),
        (None, None) => {
            let mut s = String::new();
            std::io::stdin().read_to_string(&mut s).map_err(io)?;
            from_hex(&s)
        }
    }
}

fn done(r: &Reader, what: &str) -> Result<(), Failure> {
    if r.is_empty() {
        Ok(())
    } else {
        Err(malformed(format!(
            "{} byte(s) after the end of the {what}",
            r.remaining()
        )))
    }
}

fn body_json(key: ApiKey, version: i16, response: bool, r: &mut Reader) -> Result<Value, Failure> {
    let what = format!(
        "{} v{version} {}",
        api_name(key),
        if response { "response" } else { "request" }
    );
    let bad = |e: kwire::DecodeError| malformed(format!("{what}: {e}"));
    let v = if response {
        ResponseKind::decode(key, version, r)
            .map_err(bad)?
            .to_json()
    } else {
        RequestKind::decode(key, version, r).map_err(bad)?.to_json()
    }
    .map_err(|e| malformed(format!("{what}: to JSON: {e}")))?;
    done(r, &what)?;
    Ok(v)
}

pub async fn run(a: DecodeArgs) -> Result<(), Failure> {
    let bytes = input(&a)?;
    let api = api_arg(&a.api)?;
    let be16 = |at: usize| -> Result<i16, Failure> {
        bytes
            .get(at..at + 2)
            .map(|b| i16::from_be_bytes([b[0], b[1]]))
            .ok_or_else(|| malformed("the request header is cut short"))
    };
    let doc = if a.frame {
        let size = bytes
            .get(..4)
            .map(|b| i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
            .ok_or_else(|| malformed("no 4-byte frame size"))?;
        if usize::try_from(size).ok() != Some(bytes.len() - 4) {
            return Err(malformed(format!(
                "the frame says {size} byte(s) follow, {} do",
                bytes.len() - 4
            )));
        }
        let (peek_key, peek_version) = (be16(4), be16(6));
        let mut r = Reader::new(Bytes::from(bytes).slice(4..));
        if a.response {
            let (Some(key), Some(version)) = (api, a.version) else {
                return Err(Failure::usage(
                    "a response frame does not name its API: give --api and --version",
                ));
            };
            let hv = response_header_version(key, version);
            let h = ResponseHeader::decode(&mut r, hv)
                .map_err(|e| malformed(format!("response header v{hv}: {e}")))?;
            let body = body_json(key, version, true, &mut r)?;
            json!({"api": api_name(key), "apiKey": key.0, "version": version, "response": true,
                   "headerVersion": hv, "header": serde_json::to_value(&h).unwrap_or(Value::Null),
                   "body": body})
        } else {
            let key = ApiKey(peek_key?);
            let version = peek_version?;
            let hv = request_header_version(key, version);
            if hv < 1 {
                return Err(malformed(format!(
                    "{} v{version} uses request header v0, which decode does not read",
                    api_name(key)
                )));
            }
            let h = RequestHeader::decode(&mut r, hv)
                .map_err(|e| malformed(format!("request header v{hv}: {e}")))?;
            let body = body_json(key, version, false, &mut r)?;
            json!({"api": api_name(key), "apiKey": key.0, "version": version, "response": false,
                   "headerVersion": hv, "header": serde_json::to_value(&h).unwrap_or(Value::Null),
                   "body": body})
        }
    } else {
        let (Some(key), Some(version)) = (api, a.version) else {
            return Err(Failure::usage(
                "a body needs --api and --version (or use --frame)",
            ));
        };
        let mut r = Reader::new(Bytes::from(bytes));
        let body = body_json(key, version, a.response, &mut r)?;
        json!({"api": api_name(key), "apiKey": key.0, "version": version,
               "response": a.response, "body": body})
    };
    out::println(&format!("{doc:#}"))
}
