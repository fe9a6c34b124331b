//! The decode memory contract (messages and frames): heap bytes
//! allocated while decoding are at most 16 × the encoded bytes + 64 KiB,
//! for every decode entry point, whatever the input says.
//!
//! A counting global allocator (`stats_alloc`) measures every decode. The
//! inputs are adversarial: for every message and version, values in the
//! shape that allocates the most per input byte ([`Gen::smallest`]: the
//! smallest value of every field, a maximal count of such elements at one
//! array depth at a time, one empty unknown tagged field on every flexible
//! struct), decoded through `dispatch` (requests, responses), by name
//! (headers, data messages) and as whole frames (header + body). Then
//! shapes that cannot fit (an array of empty compact strings costs 32 bytes
//! per input byte) must fail with `MemoryBudgetExceeded`, never allocate.

use std::alloc::System;
use std::sync::Mutex;

use kwire::dispatch::{decode_by_name, RequestKind, ResponseKind, MESSAGES};
use kwire::messages::api_versions_response::{ApiVersion, ApiVersionsResponse};
use kwire::messages::{RequestHeader, ResponseHeader};
use kwire::testing::Gen;
use kwire::wire::Reader;
use kwire::{ApiKey, Bytes, BytesMut, DecodeError, DecodeErrorKind, Message};
use stats_alloc::{Region, StatsAlloc, INSTRUMENTED_SYSTEM};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

/// The counter is process-wide: one measurement at a time.
static MEASURE: Mutex<()> = Mutex::new(());

const PER_BYTE: usize = 16;
const BASE: usize = 64 * 1024;

/// Heap bytes `f` allocates (reallocations count their growth).
fn allocated<T>(f: impl FnOnce() -> T) -> (T, usize) {
    let region = Region::new(GLOBAL);
    let out = f();
    let s = region.change();
    let grown = usize::try_from(s.bytes_reallocated).unwrap_or(0);
    (out, s.bytes_allocated + grown)
}

fn limit(len: usize) -> usize {
    PER_BYTE * len + BASE
}

/// The shapes tried for every message and version: a maximal count of
/// smallest elements at each array depth in turn.
const DEPTHS: usize = 4;
const COUNT: usize = 1500;

fn shapes() -> Vec<Gen> {
    (0..DEPTHS)
        .map(|d| {
            let mut lengths = vec![1; DEPTHS];
            lengths[d] = COUNT;
            Gen::smallest(lengths)
        })
        .collect()
}

fn request_key(name: &str) -> Option<ApiKey> {
    let api = name.strip_suffix("Request")?;
    ApiKey::from_name(api)
}

fn response_key(name: &str) -> Option<ApiKey> {
    let api = name.strip_suffix("Response")?;
    ApiKey::from_name(api)
}

/// Decodes `bytes` as `name` at `version` through the entry point a peer
/// would use, returning the outcome and the heap it took.
fn decode_measured(name: &str, version: i16, bytes: &Bytes) -> (Result<(), DecodeError>, usize) {
    if let Some(key) = request_key(name) {
        allocated(|| {
            let mut r = Reader::new(bytes.clone());
            RequestKind::decode(key, version, &mut r).map(|_| ())
        })
    } else if let Some(key) = response_key(name) {
        allocated(|| {
            let mut r = Reader::new(bytes.clone());
            ResponseKind::decode(key, version, &mut r).map(|_| ())
        })
    } else {
        allocated(|| decode_by_name(name, version, bytes.clone()))
    }
}

#[derive(Default)]
struct Tally {
    cases: usize,
    over_budget: usize,
    worst_ratio: f64,
    worst: String,
}

impl Tally {
    fn check(&mut self, what: &str, len: usize, used: usize, outcome: Result<(), DecodeError>) {
        self.cases += 1;
        assert!(
            used <= limit(len),
            "{what}: decoding {len} bytes allocated {used} bytes, over the contract's {}",
            limit(len)
        );
        match outcome {
            Ok(()) => {}
            Err(e) if matches!(e.kind(), DecodeErrorKind::MemoryBudgetExceeded { .. }) => {
                self.over_budget += 1;
            }
            Err(e) => panic!("{what}: a valid encoding failed to decode: {}", e.kind()),
        }
        let ratio = used.saturating_sub(BASE) as f64 / len.max(1) as f64;
        if ratio > self.worst_ratio {
            self.worst_ratio = ratio;
            self.worst = what.to_string();
        }
    }
}

#[test]
fn every_message_and_version_decodes_within_the_budget() {
    let _guard = MEASURE.lock().unwrap_or_else(|e| e.into_inner());
    let mut tally = Tally::default();
    for (name, range) in MESSAGES {
        for version in range.min..=range.max {
            let mut seen = Vec::new();
            for mut g in shapes() {
                let bytes = kwire::dispatch::encode_arbitrary(name, version, &mut g)
                    .unwrap_or_else(|e| panic!("{name} v{version}: {e}"));
                // Deeper shapes of a message without deeper arrays repeat.
                if seen.contains(&bytes) {
                    continue;
                }
                let (outcome, used) = decode_measured(name, version, &bytes);
                tally.check(&format!("{name} v{version}"), bytes.len(), used, outcome);
                seen.push(bytes);
            }
        }
    }
    assert!(tally.cases > 1200, "only {} cases", tally.cases);
    eprintln!(
        "{} decodes within 16 x input + 64 KiB; {} refused by the budget; worst {:.1} bytes per input byte ({})",
        tally.cases, tally.over_budget, tally.worst_ratio, tally.worst
    );
}

#[test]
fn whole_request_frames_decode_within_the_budget() {
    let _guard = MEASURE.lock().unwrap_or_else(|e| e.into_inner());
    let mut tally = Tally::default();
    for info in kwire::api_key::API_TABLE {
        let Some(range) = info.versions else { continue };
        for version in range.min..=range.max {
            let hv = kwire::headers::request_header_version(info.key, version);
            let mut g = Gen::smallest(vec![COUNT]);
            let Some(body) = RequestKind::arbitrary(info.key, version, &mut g) else {
                continue;
            };
            let mut header = RequestHeader::default();
            header.request_api_key = info.key.0;
            header.request_api_version = version;
            let mut frame = BytesMut::new();
            header.encode(&mut frame, hv).unwrap();
            body.encode(&mut frame, version).unwrap();
            let frame = frame.freeze();
            let (outcome, used) = allocated(|| {
                let mut r = Reader::new(frame.clone());
                RequestHeader::decode(&mut r, hv)?;
                RequestKind::decode(info.key, version, &mut r)?;
                r.expect_end()
            });
            tally.check(
                &format!("{} v{version} frame", info.name),
                frame.len(),
                used,
                outcome,
            );
        }
    }
    assert!(tally.cases > 250, "only {} cases", tally.cases);
    // Response frames: the header alone, every version.
    for hv in 0..=1 {
        let mut g = Gen::smallest(vec![COUNT]);
        let h = ResponseHeader::arbitrary(&mut g, hv);
        let bytes = h.encode_to_bytes(hv).unwrap();
        let (outcome, used) =
            allocated(|| ResponseHeader::decode_bytes(bytes.clone(), hv).map(|_| ()));
        tally.check(&format!("ResponseHeader v{hv}"), bytes.len(), used, outcome);
    }
}

/// The defect the contract was written for: an ApiVersions reply whose entries each carry one
/// empty unknown tagged field took ~440 bytes per 9-byte entry.
#[test]
fn api_versions_entries_with_an_unknown_tag_each_stay_small() {
    let _guard = MEASURE.lock().unwrap_or_else(|e| e.into_inner());
    let mut resp = ApiVersionsResponse::default();
    resp.api_keys = (0..200_000)
        .map(|i| {
            let mut a = ApiVersion::default();
            a.api_key = i as i16;
            a.unknown_tagged_fields.insert(7, Bytes::new());
            a
        })
        .collect();
    let bytes = resp.encode_to_bytes(3).unwrap();
    assert_eq!(bytes.len(), 2 + 3 + 200_000 * 9 + 4 + 1);
    let (back, used) = allocated(|| ApiVersionsResponse::decode_bytes(bytes.clone(), 3));
    let back = back.unwrap();
    assert_eq!(back.api_keys.len(), 200_000);
    assert_eq!(
        back.api_keys[9].unknown_tagged_fields.get(7),
        Some(&Bytes::new())
    );
    let per_entry = used as f64 / 200_000.0;
    assert!(
        per_entry < 80.0,
        "{per_entry:.1} heap bytes per 9-byte entry ({used} in all)"
    );
    assert!(used <= limit(bytes.len()));
}

/// A shape that cannot fit 16 × its size fails with a typed error and
/// never allocates past the budget.
#[test]
fn an_array_of_empty_compact_strings_is_refused_not_allocated() {
    let _guard = MEASURE.lock().unwrap_or_else(|e| e.into_inner());
    use kwire::messages::describe_groups_request::DescribeGroupsRequest;
    // DescribeGroups v5 (flexible): Groups is a compact []string. One
    // million empty strings: one byte each on the wire, 32 in memory.
    let n = 1_000_000usize;
    let mut raw = vec![];
    let mut count = n as u32 + 1;
    while count >= 0x80 {
        raw.push((count as u8) | 0x80);
        count >>= 7;
    }
    raw.push(count as u8);
    raw.extend(std::iter::repeat(1u8).take(n)); // "" as compact string
    raw.extend([0, 0]); // IncludeAuthorizedOperations, tagged fields
    let bytes = Bytes::from(raw);
    let (outcome, used) = allocated(|| DescribeGroupsRequest::decode_bytes(bytes.clone(), 5));
    let err = outcome.unwrap_err();
    assert!(
        matches!(err.kind(), DecodeErrorKind::MemoryBudgetExceeded { .. }),
        "{err}"
    );
    assert_eq!(err.path_string(), "DescribeGroupsRequest v5.Groups");
    assert!(used <= limit(bytes.len()), "{used}");
    // With a budget that allows it, the same input decodes.
    let mut r = Reader::with_budget(bytes.clone(), 64 * n);
    let ok = DescribeGroupsRequest::decode(&mut r, 5).unwrap();
    assert_eq!(ok.groups.len(), n);
}

/// What the fuzz targets feed the decoders (random bytes, valid encodings
/// flipped and cut short), under the counting allocator: errors and all,
/// no decode goes past the contract.
#[test]
fn random_and_mutated_inputs_stay_within_the_budget() {
    let _guard = MEASURE.lock().unwrap_or_else(|e| e.into_inner());
    let mut g = Gen::new(7);
    let mut cases = 0;
    for (name, range) in MESSAGES {
        for version in range.min..=range.max {
            for seed in 0..4u64 {
                let mut inputs = Vec::new();
                let n = g.below(300);
                inputs.push(Bytes::from(
                    (0..n).map(|_| g.next_u64() as u8).collect::<Vec<_>>(),
                ));
                let mut vg = Gen::smallest(vec![64, 8]);
                if let Ok(good) = kwire::dispatch::encode_arbitrary(name, version, &mut vg) {
                    let mut data = good.to_vec();
                    if !data.is_empty() {
                        for _ in 0..3 {
                            let i = g.below(data.len());
                            data[i] ^= (g.next_u64() as u8) | 1;
                        }
                        inputs.push(Bytes::from(data.clone()));
                        data.truncate(g.below(data.len() + 1));
                        inputs.push(Bytes::from(data));
                    }
                }
                let _ = seed;
                for bytes in inputs {
                    let (_, used) = decode_measured(name, version, &bytes);
                    assert!(
                        used <= limit(bytes.len()),
                        "{name} v{version}: {} input bytes took {used} heap bytes",
                        bytes.len()
                    );
                    cases += 1;
                }
            }
        }
    }
    assert!(cases > 4000, "only {cases} cases");
}

/// The fuzz corpora the repository keeps (`fuzz/corpus/{messages,frames}`,
/// minimized with `cargo fuzz cmin`), replayed through the fuzz targets'
/// own input mapping: whatever the fuzzer found interesting stays within
/// the contract too, not only the shapes above. Failed decodes are fine
/// here (the inputs are arbitrary bytes); only the heap is checked.
#[test]
fn fuzz_corpora_decode_within_the_budget() {
    let _guard = MEASURE.lock().unwrap_or_else(|e| e.into_inner());
    for target in ["messages", "frames"] {
        let inputs = corpus(target);
        let mut worst = 0usize;
        for (file, data) in &inputs {
            let (len, used) = if target == "messages" {
                // fuzz/fuzz_targets/messages.rs: message, version, body.
                if data.len() < 2 {
                    continue;
                }
                let (name, range) = MESSAGES[data[0] as usize % MESSAGES.len()];
                let span = (range.max - range.min + 1) as usize;
                let version = range.min + (data[1] as usize % span) as i16;
                let body = Bytes::copy_from_slice(&data[2..]);
                let (_, used) = allocated(|| decode_by_name(name, version, body.clone()));
                (body.len(), used)
            } else {
                // fuzz/fuzz_targets/frames.rs: api key, version, then the frame.
                if data.len() < 4 {
                    continue;
                }
                let key = ApiKey(i16::from_be_bytes([data[0], data[1]]));
                let version = i16::from_be_bytes([data[2], data[3]]);
                let hv = kwire::headers::request_header_version(key, version).clamp(1, 2);
                let frame = Bytes::copy_from_slice(data);
                let (_, used) = allocated(|| {
                    let mut r = Reader::new(frame.clone());
                    RequestHeader::decode(&mut r, hv)?;
                    RequestKind::decode(key, version, &mut r).map(|_| ())
                });
                (frame.len(), used)
            };
            assert!(
                used <= limit(len),
                "fuzz/corpus/{target}/{file}: decoding {len} bytes allocated {used} bytes, over the contract's {}",
                limit(len)
            );
            worst = worst.max(used.saturating_sub(BASE) / len.max(1));
        }
        eprintln!(
            "{target}: {} corpus inputs within 16 x input + 64 KiB (worst {worst} bytes per input byte above the base)",
            inputs.len()
        );
    }
}

/// The inputs of one fuzz target's committed corpus; an empty or missing
/// corpus fails (it is part of the repository, `scripts/fuzz.sh` refreshes it).
fn corpus(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/corpus")
        .join(target);
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| {
            panic!(
                "{}: {e} (the fuzz corpus is part of the repository)",
                dir.display()
            )
        })
        .map(|entry| {
            let path = entry.expect("corpus entry").path();
            let name = path
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            let data = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
            (name, data)
        })
        .collect();
    out.sort();
    assert!(
        out.len() >= 50,
        "{}: only {} inputs; refresh it with scripts/fuzz.sh",
        dir.display(),
        out.len()
    );
    out
}
