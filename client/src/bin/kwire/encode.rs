//! `kwire encode`: the JSON `kwire decode` prints (a body, or a frame when
//! it has a `header`) back to bytes: hex on stdout, or raw with `--raw`.

use std::io::{Read, Write};

use clap::Args;
use kwire::dispatch::{RequestKind, ResponseKind};
use kwire::headers::{request_header_version, response_header_version};
use kwire::messages::{RequestHeader, ResponseHeader};
use kwire::{ApiKey, BytesMut, Message};
use serde_json::Value;

use crate::decode::{malformed, to_hex};
use crate::exit::{self, Failure};
use crate::out;

#[derive(Args)]
pub struct EncodeArgs {
    /// The JSON document (default: stdin).
    #[arg(long)]
    pub file: Option<String>,
    /// Write raw bytes instead of hex.
    #[arg(long)]
    pub raw: bool,
}

fn field<'a>(doc: &'a Value, k: &str) -> Result<&'a Value, Failure> {
    doc.get(k)
        .ok_or_else(|| Failure::usage(format!("the JSON has no {k:?}")))
}

fn bad_json(what: &str) -> impl Fn(serde_json::Error) -> Failure + '_ {
    move |e| Failure::usage(format!("{what}: {e}"))
}

fn encode_failed(e: kwire::EncodeError) -> Failure {
    Failure {
        code: exit::OTHER,
        message: format!("cannot encode: {e}"),
    }
}

pub async fn run(a: EncodeArgs) -> Result<(), Failure> {
    let text = match &a.file {
        Some(f) => std::fs::read_to_string(f),
        None => {
            let mut s = String::new();
            std::io::stdin().read_to_string(&mut s).map(|_| s)
        }
    }
    .map_err(|e| Failure {
        code: exit::OTHER,
        message: format!("cannot read the input: {e}"),
    })?;
    let doc: Value = serde_json::from_str(&text).map_err(bad_json("the input is not JSON"))?;
    let key = field(&doc, "apiKey")?
        .as_i64()
        .and_then(|k| i16::try_from(k).ok())
        .map(ApiKey)
        .ok_or_else(|| Failure::usage("apiKey is not an int16"))?;
    let version = field(&doc, "version")?
        .as_i64()
        .and_then(|k| i16::try_from(k).ok())
        .ok_or_else(|| Failure::usage("version is not an int16"))?;
    let response = doc
        .get("response")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let body = field(&doc, "body")?.clone();
    let mut buf = BytesMut::new();
    if let Some(h) = doc.get("header") {
        buf.extend_from_slice(&[0; 4]);
        if response {
            let hv = response_header_version(key, version);
            let h: ResponseHeader =
                serde_json::from_value(h.clone()).map_err(bad_json("header"))?;
            h.encode(&mut buf, hv).map_err(encode_failed)?;
        } else {
            let hv = request_header_version(key, version);
            let h: RequestHeader = serde_json::from_value(h.clone()).map_err(bad_json("header"))?;
            if h.request_api_key != key.0 || h.request_api_version != version {
                return Err(malformed(
                    "the header's requestApiKey/requestApiVersion differ from apiKey/version",
                ));
            }
            h.encode(&mut buf, hv).map_err(encode_failed)?;
        }
    }
    if response {
        ResponseKind::from_json(key, body)
            .map_err(bad_json("body"))?
            .encode(&mut buf, version)
            .map_err(encode_failed)?;
    } else {
        RequestKind::from_json(key, body)
            .map_err(bad_json("body"))?
            .encode(&mut buf, version)
            .map_err(encode_failed)?;
    }
    if doc.get("header").is_some() {
        let size = i32::try_from(buf.len() - 4)
            .map_err(|_| malformed("the frame is larger than 2 GiB"))?;
        buf[..4].copy_from_slice(&size.to_be_bytes());
    }
    if a.raw {
        let mut w = std::io::stdout().lock();
        match w.write_all(&buf).and_then(|()| w.flush()) {
            Ok(()) => Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
            Err(e) => Err(Failure {
                code: exit::OTHER,
                message: format!("cannot write: {e}"),
            }),
        }
    } else {
        out::println(&to_hex(&buf))
    }
}
