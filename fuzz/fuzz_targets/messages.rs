//! Decodes arbitrary bytes as any message at any version: the first two
//! bytes pick the message and the version, the rest is the body. Decoding
//! must return Ok or Err, never panic or allocate beyond the input.
#![no_main]

use kwire::dispatch::{decode_by_name, MESSAGES};
use kwire::Bytes;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if data.len() < 2 {
        return;
    }
    let (name, range) = MESSAGES[data[0] as usize % MESSAGES.len()];
    let span = (range.max - range.min + 1) as usize;
    let version = range.min + (data[1] as usize % span) as i16;
    let _ = decode_by_name(name, version, Bytes::copy_from_slice(&data[2..]));
});
