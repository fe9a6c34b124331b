//! A whole request frame as a proxy sees it: header, then the body of
//! whatever api key and version the header names. Re-encodes what decodes
//! and checks it decodes again to the same value.
#![no_main]

use kwire::dispatch::RequestKind;
use kwire::messages::RequestHeader;
use kwire::wire::Reader;
use kwire::{ApiKey, Bytes, BytesMut, Message};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() < 4 {
        return;
    }
    let api_key = ApiKey(i16::from_be_bytes([data[0], data[1]]));
    let version = i16::from_be_bytes([data[2], data[3]]);
    let header_version = kwire::headers::request_header_version(api_key, version);
    let mut r = Reader::new(Bytes::copy_from_slice(data));
    let Ok(_header) = RequestHeader::decode(&mut r, header_version.clamp(1, 2)) else {
        return;
    };
    let Ok(body) = RequestKind::decode(api_key, version, &mut r) else {
        return;
    };
    // Whatever decodes must re-encode, and re-encoding is stable (compared
    // as bytes: a NaN float is not equal to itself as a value).
    let mut first = BytesMut::new();
    if body.encode(&mut first, version).is_ok() {
        let first = first.freeze();
        let again = RequestKind::decode(api_key, version, &mut Reader::new(first.clone()))
            .expect("what kwire encodes, kwire decodes");
        let mut second = BytesMut::new();
        again.encode(&mut second, version).expect("re-encode");
        assert_eq!(first, second.freeze(), "encode(decode(encode(x))) != encode(x)");
    }
});
