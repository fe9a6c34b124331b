//! Fuzzes the record layer: splitting a records field into batches, v2
//! and legacy record decoding, decompression (under a small limit), and
//! control record parsing. With CRC checks off so the fuzzer reaches past
//! them; then again with a repaired CRC. Nothing may panic.
#![no_main]

use bytes::Bytes;
use kwire::records::{Batch, Batches, DecodeOptions};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let opts = DecodeOptions {
        verify_crc: false,
        max_decompressed_size: 1 << 20,
    };
    let mut it = Batches::with_options(Bytes::copy_from_slice(data), opts);
    for batch in &mut it {
        let Ok(batch) = batch else { break };
        if let Batch::V2(b) = &batch {
            let _ = b.verify_crc();
            if let Ok(records) = b.records(&opts) {
                for r in records {
                    let Ok(r) = r else { break };
                    if b.header.is_control() {
                        let _ = r.control();
                    }
                }
            }
        } else {
            let _ = batch.records(&opts);
        }
    }
    let _ = it.partial();
});
