//! The records budget, proven with a counting global allocator.
//!
//! This file is its own test binary so the allocator below is the global
//! one here. `peak_alloc` counts the bytes live on the heap (a realloc
//! counts old and new block together, as a moving realloc holds both); a
//! decode's peak is the highest count above where it started. The counters
//! are process-wide, so the tests run one at a time. Every adversarial input
//! below must stay within the configured budget plus a small constant,
//! whatever the codec, and legitimate inputs within the budget must decode.

use std::sync::Mutex;

use bytes::{Bytes, BytesMut};
use kwire::records::compression::{compress, CompressionOptions};
use kwire::records::legacy::{compress_wrapper_value, encode_message};
use kwire::records::{
    decode_batches, Batch, Batches, BudgetUse, Compression, DecodeOptions, RecordBatchBuilder,
    RecordsBudget, RecordsError, ATTRIBUTES_OFFSET, CRC_OFFSET,
};
use peak_alloc::PeakAlloc;

#[global_allocator]
static HEAP: PeakAlloc = PeakAlloc;

static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// Runs `f` and returns its result and the peak heap growth while it ran
/// (its result is still alive at the end, so retained memory counts).
/// Callers hold `ONE_AT_A_TIME`.
fn peak_of<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let start = HEAP.current_usage();
    HEAP.reset_peak_usage();
    let out = f();
    let peak = HEAP.peak_usage().saturating_sub(start);
    (out, peak)
}

fn serial() -> std::sync::MutexGuard<'static, ()> {
    ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner())
}

/// What the decoder may use beyond the budget: the budget's own handle,
/// one reference-count block per decompressed section, an error value.
const SLACK: usize = 16 * 1024;

const BUDGET: usize = 4 << 20;

fn opts(budget: usize) -> DecodeOptions {
    DecodeOptions::default().with_max_records_memory(budget)
}

/// Checks one decode's peak; a test reports every case over budget at once.
#[derive(Default)]
struct Within(Vec<String>);

impl Within {
    fn check(&mut self, what: &str, peak: usize, budget: usize) {
        println!("{what}: peak {peak} bytes (budget {budget})");
        if peak > budget + SLACK {
            self.0.push(format!(
                "{what}: decoding took {peak} bytes of heap at its peak, the budget is {budget} (+{SLACK})"
            ));
        }
    }
}

impl Drop for Within {
    fn drop(&mut self) {
        if !self.0.is_empty() && !std::thread::panicking() {
            panic!("over budget:\n{}", self.0.join("\n"));
        }
    }
}

fn put_varint(out: &mut Vec<u8>, v: i64) {
    let mut z = ((v << 1) ^ (v >> 63)) as u64;
    while z >= 0x80 {
        out.push((z as u8) | 0x80);
        z >>= 7;
    }
    out.push(z as u8);
}

/// A v2 batch around a records section written by hand (so sections no
/// builder would write, such as a million empty headers, cost the test
/// nothing to make).
fn batch(section: &[u8], count: i32, codec: Compression) -> Vec<u8> {
    let mut data = Vec::new();
    compress(&CompressionOptions::from(codec), section, &mut data).unwrap();
    let mut b = Vec::with_capacity(61 + data.len());
    b.extend_from_slice(&0i64.to_be_bytes());
    b.extend_from_slice(&i32::try_from(49 + data.len()).unwrap().to_be_bytes());
    b.extend_from_slice(&(-1i32).to_be_bytes());
    b.push(2);
    b.extend_from_slice(&[0; 4]);
    b.extend_from_slice(&i16::from(codec.id()).to_be_bytes());
    b.extend_from_slice(&(count - 1).max(0).to_be_bytes());
    b.extend_from_slice(&0i64.to_be_bytes());
    b.extend_from_slice(&0i64.to_be_bytes());
    b.extend_from_slice(&(-1i64).to_be_bytes());
    b.extend_from_slice(&(-1i16).to_be_bytes());
    b.extend_from_slice(&(-1i32).to_be_bytes());
    b.extend_from_slice(&count.to_be_bytes());
    b.extend_from_slice(&data);
    let crc = crc32c::crc32c(&b[ATTRIBUTES_OFFSET..]);
    b[CRC_OFFSET..ATTRIBUTES_OFFSET].copy_from_slice(&crc.to_be_bytes());
    b
}

/// One record (null key and value) with `n` headers of an empty key and a
/// null value: two bytes each on the wire.
fn record_with_empty_headers(n: usize) -> Vec<u8> {
    let mut body = vec![0, 0, 0, 1, 1];
    put_varint(&mut body, n as i64);
    body.reserve(2 * n);
    for _ in 0..n {
        body.extend_from_slice(&[0x00, 0x01]);
    }
    let mut rec = Vec::with_capacity(body.len() + 5);
    put_varint(&mut rec, body.len() as i64);
    rec.extend_from_slice(&body);
    rec
}

/// `n` minimal records: seven bytes each (length, attributes, timestamp
/// and offset deltas, null key, null value, no headers).
fn minimal_records(n: usize) -> Vec<u8> {
    [0x0c, 0, 0, 0, 1, 1, 0].repeat(n)
}

/// Decodes a field the way a consumer walks it: every batch, every record,
/// lazily; stops at the first error. Returns the records seen and the error.
fn walk(field: Bytes, opts: &DecodeOptions) -> (usize, Option<RecordsError>) {
    let mut n = 0;
    for b in Batches::with_options(field, opts.clone()) {
        let b = match b {
            Ok(b) => b,
            Err(e) => return (n, Some(e)),
        };
        match b {
            Batch::V2(b) => {
                let it = match b.records(opts) {
                    Ok(it) => it,
                    Err(e) => return (n, Some(e)),
                };
                for r in it {
                    match r {
                        Ok(r) => {
                            n += 1;
                            std::hint::black_box(&r);
                        }
                        Err(e) => return (n, Some(e)),
                    }
                }
            }
            Batch::Legacy(m) => match m.records(opts) {
                Ok(v) => n += v.len(),
                Err(e) => return (n, Some(e)),
            },
        }
    }
    (n, None)
}

/// Decodes a field and collects every record (what `decode_batches` plus
/// `DecodedRecords::records` offer).
fn collect(field: Bytes, opts: &DecodeOptions) -> Result<usize, RecordsError> {
    let out = decode_batches(field, opts)?;
    let recs = out.records(opts)?;
    Ok(std::hint::black_box(recs).len())
}

#[test]
fn one_record_with_maximal_headers_stays_within_the_budget() {
    let _one = serial();
    let mut within = Within::default();
    // Half the budget of two-byte headers: the section itself fits, the
    // 64-byte `Header` values decoded from it would not.
    let section = record_with_empty_headers(BUDGET / 4);
    for codec in Compression::ALL {
        let field = Bytes::from(batch(&section, 1, codec));
        let ((n, err), peak) = peak_of(|| walk(field.clone(), &opts(BUDGET)));
        println!(
            "{codec}: {} wire bytes, {n} records, peak {peak}, {err:?}",
            field.len()
        );
        within.check(&format!("maximal headers, {codec}"), peak, BUDGET);
        assert!(
            matches!(
                err,
                Some(RecordsError::BudgetExceeded {
                    what: BudgetUse::Headers,
                    limit: BUDGET,
                    ..
                })
            ),
            "{codec}: {err:?}"
        );
        assert_eq!(n, 0);
    }
}

#[test]
fn batches_of_minimal_records_stay_within_the_budget() {
    let _one = serial();
    let mut within = Within::default();
    let count = BUDGET / 2 / 7;
    let section = minimal_records(count);
    for codec in Compression::ALL {
        let field = Bytes::from(batch(&section, count as i32, codec));
        // Walking lazily holds one record at a time.
        let ((n, err), peak) = peak_of(|| walk(field.clone(), &opts(BUDGET)));
        println!("{codec} lazily: {n} records, peak {peak}, {err:?}");
        within.check(&format!("minimal records, lazily, {codec}"), peak, BUDGET);
        assert_eq!((n, err), (count, None), "{codec}");
        // Collecting them is what amplified a few KB to a GB.
        let (res, peak) = peak_of(|| collect(field.clone(), &opts(BUDGET)));
        println!("{codec} collected: peak {peak}, {res:?}");
        within.check(
            &format!("minimal records, collected, {codec}"),
            peak,
            BUDGET,
        );
    }
}

fn legacy_wrapper(magic: i8, codec: Compression, inner: &[u8], last_offset: i64) -> BytesMut {
    let value = compress_wrapper_value(codec, magic, inner).unwrap();
    let mut field = BytesMut::new();
    let ts = (magic == 1).then_some(0);
    encode_message(
        &mut field,
        last_offset,
        magic,
        codec.id() as i8,
        ts,
        None,
        Some(&value),
    )
    .unwrap();
    field
}

#[test]
fn legacy_wrappers_of_minimal_messages_stay_within_the_budget() {
    let _one = serial();
    let mut within = Within::default();
    for magic in [0i8, 1] {
        let mut inner = BytesMut::new();
        let mut n = 0i64;
        while inner.len() < BUDGET / 2 {
            encode_message(
                &mut inner,
                n,
                magic,
                0,
                (magic == 1).then_some(0),
                None,
                None,
            )
            .unwrap();
            n += 1;
        }
        for codec in [Compression::Gzip, Compression::Snappy, Compression::Lz4] {
            let field = legacy_wrapper(magic, codec, &inner, n - 1).freeze();
            let ((seen, err), peak) = peak_of(|| walk(field.clone(), &opts(BUDGET)));
            println!(
                "magic {magic} {codec}: {} wire bytes, {seen} of {n} messages, peak {peak}, {err:?}",
                field.len()
            );
            within.check(&format!("legacy magic {magic} {codec}"), peak, BUDGET);
            assert!(
                matches!(
                    err,
                    Some(RecordsError::BudgetExceeded {
                        what: BudgetUse::LegacyMessages,
                        ..
                    })
                ),
                "magic {magic} {codec}: {err:?}"
            );
            let (res, peak) = peak_of(|| collect(field.clone(), &opts(BUDGET)));
            within.check(
                &format!("legacy magic {magic} {codec}, collected ({res:?})"),
                peak,
                BUDGET,
            );
        }
    }
}

#[test]
fn a_wrapper_inside_a_wrapper_is_refused_within_the_budget() {
    let _one = serial();
    let mut within = Within::default();
    // Compression does not nest in Kafka: the inner wrapper is an error and
    // is never decompressed, so nesting cannot multiply the budget.
    let mut innermost = BytesMut::new();
    for i in 0..1000 {
        encode_message(&mut innermost, i, 1, 0, Some(0), None, None).unwrap();
    }
    let middle = legacy_wrapper(1, Compression::Gzip, &innermost, 999);
    let field = legacy_wrapper(1, Compression::Gzip, &middle, 999).freeze();
    let ((_, err), peak) = peak_of(|| walk(field.clone(), &opts(BUDGET)));
    assert!(
        matches!(err, Some(RecordsError::Malformed { reason, .. }) if reason.contains("inside a compressed wrapper")),
        "{err:?}"
    );
    within.check("nested wrapper", peak, BUDGET);
}

#[test]
fn many_small_compressed_batches_share_one_budget() {
    let _one = serial();
    let mut within = Within::default();
    // Each batch alone is well under the budget (a quarter of it); sixteen
    // of them in one field are four budgets' worth.
    let value = vec![0u8; BUDGET / 4];
    for codec in [
        Compression::Gzip,
        Compression::Snappy,
        Compression::Lz4,
        Compression::Zstd,
    ] {
        let mut field = BytesMut::new();
        for i in 0..16 {
            let mut b = RecordBatchBuilder::new(i).compression(codec);
            b.append(0, None, Some(&value), &[]).unwrap();
            field.extend_from_slice(&b.build().unwrap());
        }
        let field = field.freeze();
        let (res, peak) = peak_of(|| collect(field.clone(), &opts(BUDGET)));
        println!("{codec}: {} wire bytes, peak {peak}, {res:?}", field.len());
        within.check(&format!("16 batches, {codec}"), peak, BUDGET);
        assert!(
            matches!(
                res,
                Err(RecordsError::BudgetExceeded {
                    what: BudgetUse::Decompressed(c),
                    ..
                }) if c == codec
            ),
            "{codec}: {res:?}"
        );
        // Each batch alone decodes under a budget of its own: it is the
        // field as a whole that is refused.
        let one = field.slice(..field.len() / 16);
        assert_eq!(collect(one, &opts(BUDGET)).unwrap(), 1, "{codec}");
    }
}

#[test]
fn one_budget_can_span_several_fields() {
    let _one = serial();
    let mut within = Within::default();
    // Two fields of 3 MiB of decompressed records each: each fits a 4 MiB
    // budget of its own, together they do not fit one shared budget.
    let value = vec![7u8; 3 << 20];
    let mut b = RecordBatchBuilder::new(0).compression(Compression::Zstd);
    b.append(0, None, Some(&value), &[]).unwrap();
    let field = b.build().unwrap();

    let per_field = opts(BUDGET);
    assert_eq!(collect(field.clone(), &per_field).unwrap(), 1);
    assert_eq!(collect(field.clone(), &per_field).unwrap(), 1);

    let budget = RecordsBudget::new(BUDGET);
    let shared = DecodeOptions::default().with_budget(budget.clone());
    let (res, peak) = peak_of(|| {
        let first = collect(field.clone(), &shared);
        let second = collect(field.clone(), &shared);
        (first, second)
    });
    within.check("two fields, one budget", peak, BUDGET);
    assert_eq!(res.0.unwrap(), 1);
    let err = res.1.unwrap_err();
    assert!(
        matches!(
            err,
            RecordsError::BudgetExceeded {
                what: BudgetUse::Decompressed(Compression::Zstd),
                limit: BUDGET,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        budget.used() > 3 << 20 && budget.used() <= BUDGET,
        "{budget:?}"
    );
    // The error names what was being decoded and the limit.
    let text = err.to_string();
    assert!(
        text.contains("zstd-decompressed records") && text.contains(&BUDGET.to_string()),
        "{text}"
    );

    // A batch decoded from its field keeps the field's budget, whatever
    // options its records are later decoded with.
    let budget = RecordsBudget::new(BUDGET);
    let mut it = Batches::with_options(
        Bytes::from(field.to_vec().repeat(2)),
        DecodeOptions::default().with_budget(budget.clone()),
    );
    let (Some(Ok(Batch::V2(a))), Some(Ok(Batch::V2(b)))) = (it.next(), it.next()) else {
        panic!("two batches");
    };
    a.decode_records(&DecodeOptions::default()).unwrap();
    let err = b.decode_records(&DecodeOptions::default()).unwrap_err();
    assert!(
        matches!(err, RecordsError::BudgetExceeded { .. }),
        "{err:?}"
    );
    assert_eq!(it.budget(), &budget);
}

#[test]
fn legitimate_fields_within_the_budget_decode() {
    let _one = serial();
    let mut within = Within::default();
    let budget = 32 << 20;
    let values: Vec<Vec<u8>> = (0..64u32)
        .map(|i| (0..16 * 1024u32).map(|j| (i * 7 + j % 251) as u8).collect())
        .collect();
    for codec in Compression::ALL {
        let mut field = BytesMut::new();
        for batch in 0..8i64 {
            let mut b = RecordBatchBuilder::new(batch * 64).compression(codec);
            for (i, v) in values.iter().enumerate() {
                let h = kwire::records::Header::new(&b"trace"[..], Some(vec![i as u8; 8]));
                b.append(1_700_000_000_000 + i as i64, Some(b"key"), Some(v), &[h])
                    .unwrap();
            }
            field.extend_from_slice(&b.build().unwrap());
        }
        let field = field.freeze();
        let (res, peak) = peak_of(|| {
            let out = decode_batches(field.clone(), &opts(budget))?;
            out.records(&opts(budget))
        });
        let recs = res.unwrap_or_else(|e| panic!("{codec}: {e}"));
        assert_eq!(recs.len(), 8 * 64, "{codec}");
        for (i, r) in recs.iter().enumerate() {
            assert_eq!(r.offset, i as i64);
            assert_eq!(r.value.as_deref(), Some(&values[i % 64][..]), "{codec} {i}");
            assert_eq!(r.headers.len(), 1);
        }
        println!("{codec}: {} wire bytes, peak {peak}", field.len());
        within.check(&format!("legitimate, {codec}"), peak, budget);
    }
}

mod mutated {
    use super::*;
    use proptest::prelude::*;

    const SMALL: usize = 1 << 20;

    fn inputs() -> &'static [Vec<u8>] {
        static INPUTS: std::sync::OnceLock<Vec<Vec<u8>>> = std::sync::OnceLock::new();
        INPUTS.get_or_init(make)
    }

    fn make() -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let headers = record_with_empty_headers(SMALL / 4);
        let minimal = minimal_records(SMALL / 2 / 7);
        for codec in Compression::ALL {
            out.push(batch(&headers, 1, codec));
            out.push(batch(&minimal, (SMALL / 2 / 7) as i32, codec));
        }
        let mut inner = BytesMut::new();
        for i in 0..(SMALL as i64 / 2 / 34) {
            encode_message(&mut inner, i, 1, 0, Some(0), None, None).unwrap();
        }
        for codec in [Compression::Gzip, Compression::Snappy, Compression::Lz4] {
            out.push(legacy_wrapper(1, codec, &inner, 0).to_vec());
        }
        let value = vec![0u8; SMALL / 4];
        let mut field = Vec::new();
        for i in 0..8 {
            let mut b = RecordBatchBuilder::new(i).compression(Compression::Zstd);
            b.append(0, None, Some(&value), &[]).unwrap();
            field.extend_from_slice(&b.build().unwrap());
        }
        out.push(field);
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(96))]

        /// Adversarial inputs with bytes changed anywhere (CRCs not
        /// checked, so the change reaches the decoders) stay in budget too.
        #[test]
        fn mutated_adversarial_inputs_stay_within_the_budget(
            which in any::<prop::sample::Index>(),
            flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
        ) {
            let _one = serial();
            let all = inputs();
            let mut data = all[which.index(all.len())].clone();
            for (i, v) in flips {
                let i = i.index(data.len());
                data[i] = v;
            }
            let field = Bytes::from(data);
            let opts = DecodeOptions {
                verify_crc: false,
                ..opts(SMALL)
            };
            let (_, peak) = peak_of(|| {
                let lazily = walk(field.clone(), &opts);
                let collected = collect(field.clone(), &opts);
                (lazily, collected)
            });
            // Two decodes, each under a budget of its own.
            prop_assert!(peak <= 2 * (SMALL + SLACK), "peak {peak}");
        }
    }
}

/// The records fuzz corpus the repository keeps (`fuzz/corpus/records`,
/// minimized with `cargo fuzz cmin`), replayed with the fuzz target's own
/// mapping (the first byte repeats the rest into a field of up to 64
/// batches) under one budget, CRC checks off as in the target: what the
/// fuzzer found interesting stays within the budget too.
#[test]
fn the_fuzz_corpus_stays_within_the_budget() {
    let _one = serial();
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz/corpus/records");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| {
            panic!(
                "{}: {e} (the fuzz corpus is part of the repository)",
                dir.display()
            )
        })
        .map(|e| e.expect("corpus entry").path())
        .collect();
    files.sort();
    assert!(
        files.len() >= 50,
        "{}: only {} inputs; refresh it with scripts/fuzz.sh",
        dir.display(),
        files.len()
    );
    let budget = 1 << 20;
    let mut within = Within::default();
    for path in &files {
        let data = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let Some((&copies, body)) = data.split_first() else {
            continue;
        };
        let field = Bytes::from(body.repeat(1 + usize::from(copies % 64)));
        let opts = DecodeOptions {
            verify_crc: false,
            ..opts(budget)
        };
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        let (_, peak) = peak_of(|| walk(field.clone(), &opts));
        within.check(&format!("{name} lazily"), peak, budget);
        let (_, peak) = peak_of(|| collect(field.clone(), &opts));
        within.check(&format!("{name} collected"), peak, budget);
    }
}
