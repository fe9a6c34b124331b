//! Fuzzes the record layer: splitting a records field into batches, v2
//! and legacy record decoding, decompression, and control record parsing,
//! under a records budget of `BUDGET`. With CRC checks off so the fuzzer
//! reaches past them; then again with a repaired CRC. Nothing may panic.
//!
//! The first input byte repeats the rest up to 64 times into one records
//! field, so one fuzzed batch becomes a field of many batches that must
//! share the field's budget. A counting global allocator checks
//! every decode's peak heap growth against the budget (plus `SLACK`), and
//! `scripts/fuzz.sh` runs this target with libFuzzer's `-malloc_limit_mb`
//! and `-rss_limit_mb` derived from `BUDGET`: memory the budget did not
//! bound is a crash.
#![no_main]

use bytes::Bytes;
use kwire::records::{
    decode_batches, Batch, Batches, DecodeOptions, RecordsBudget, ATTRIBUTES_OFFSET, CRC_OFFSET,
};
use libfuzzer_sys::fuzz_target;
use peak_alloc::PeakAlloc;

#[global_allocator]
static HEAP: PeakAlloc = PeakAlloc;

/// Keep in step with `scripts/fuzz.sh`.
const BUDGET: usize = 1 << 20;
/// What a decode may use beyond its budget (as in tests/records_memory.rs):
/// the budget's handle, an error value.
const SLACK: usize = 16 * 1024;

/// Runs `f` and checks the heap's peak growth meanwhile (libFuzzer runs
/// inputs on one thread, so the process-wide counters are this decode's).
fn within(budgets: usize, f: impl FnOnce()) {
    let start = HEAP.current_usage();
    HEAP.reset_peak_usage();
    f();
    let peak = HEAP.peak_usage().saturating_sub(start);
    assert!(
        peak <= budgets * (BUDGET + SLACK),
        "decoding took {peak} bytes of heap, over {budgets} budget(s) of {BUDGET}"
    );
}

fn walk(field: Bytes, opts: &DecodeOptions) {
    let mut it = Batches::with_options(field, opts.clone());
    for batch in &mut it {
        let Ok(batch) = batch else { break };
        if let Batch::V2(b) = &batch {
            let _ = b.verify_crc();
            if let Ok(records) = b.records(opts) {
                for r in records {
                    let Ok(r) = r else { break };
                    if b.header.is_control() {
                        let _ = r.control();
                    }
                }
            }
        } else {
            let _ = batch.records(opts);
        }
    }
    let _ = it.partial();
    assert!(it.budget().used() <= it.budget().limit());
}

fn collect(field: Bytes, opts: &DecodeOptions) {
    if let Ok(out) = decode_batches(field, opts) {
        let _ = out.records(opts);
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((&copies, body)) = data.split_first() else {
        return;
    };
    let copies = 1 + usize::from(copies % 64);
    let field = Bytes::from(body.repeat(copies));
    let opts = DecodeOptions {
        verify_crc: false,
        ..DecodeOptions::default().with_max_records_memory(BUDGET)
    };
    within(1, || walk(field.clone(), &opts));
    within(1, || collect(field.clone(), &opts));

    // Two fields under one shared budget.
    let shared = RecordsBudget::new(BUDGET);
    let opts = opts.with_budget(shared.clone());
    within(1, || {
        collect(field.clone(), &opts);
        collect(field.clone(), &opts);
    });
    assert!(shared.used() <= shared.limit());

    // The same bytes as one v2 batch with its CRC repaired, checked.
    if body.len() > ATTRIBUTES_OFFSET {
        let mut fixed = body.to_vec();
        let crc = crc32c::crc32c(&fixed[ATTRIBUTES_OFFSET..]);
        fixed[CRC_OFFSET..ATTRIBUTES_OFFSET].copy_from_slice(&crc.to_be_bytes());
        let field = Bytes::from(fixed.repeat(copies));
        within(1, || {
            walk(
                field,
                &DecodeOptions::default().with_max_records_memory(BUDGET),
            )
        });
    }
});
