//! Kafka's own codec as the oracle: kwire's bytes against the Java generated classes'.
//!
//! One JVM runs `testsupport/kafka/oracle-run` (kafka-clients 4.4.0's generated message classes and
//! JSON converters, see testsupport/kafka/README.md) for the whole test binary. For every request and
//! response at every version both kwire and Kafka know, for every data message and both headers, and
//! for a few seeds each, a value from kwire's `Gen` is checked three ways:
//!
//! 1. **bytes**: kwire value -> kwire JSON -> oracle `ENCODE_FULL` -> Kafka's bytes, compared byte for
//!    byte with kwire's own encoding;
//! 2. **kafka-decode**: oracle `DECODE_FULL` of kwire's bytes -> Kafka's JSON -> kwire `from_json`,
//!    compared with the original value;
//! 3. **kwire-decode**: kwire decodes Kafka's bytes from (1), compared with the original value.
//!
//! Plus **kwire-serde** (kwire's own JSON round trip gives the value back) and **kwire-encode** (kwire
//! can encode what its `Gen` made) as preconditions. Lines are sent to the JVM in batches (one writer
//! thread, answers read in order), so the JVM round trip is paid per batch, not per line.
//!
//! ## kwire JSON vs Kafka JSON (each mapped explicitly below; also in testsupport/kafka/README.md)
//!
//! * **Fields absent at the version** and **tagged fields at their default**: kwire always writes every
//!   field; Kafka's writer omits both and Kafka's reader fails on a struct field absent at the
//!   version. Mapped by the oracle's `_FULL` commands: `ENCODE_FULL` drops fields the version does
//!   not have before Kafka reads, `DECODE_FULL` writes every field (Kafka's default where its writer
//!   left one out). kwire's `from_json` takes that directly.
//! * **float64 text**: Kafka writes Java's `Double.toString` (`1.0E-300`), kwire writes serde_json's
//!   shortest form (`1e-300`, `1.0`). Both read either spelling (Kafka needs a `.` or an exponent,
//!   which serde_json always writes for f64). But serde_json's parser (without its `float_roundtrip`
//!   feature, which kwire does not enable) may round a 17-digit decimal to a neighbouring f64, so
//!   [`parse_kafka_json`] reads every floating-point token of Kafka's answer with Rust's correctly
//!   rounded `str::parse::<f64>` instead. NaN and infinities are not round-trippable in Kafka's JSON
//!   (written as strings its reader rejects): `Gen::special_floats` stays off.
//! * **Unknown tagged fields**: Kafka keeps them on the Java object but never in JSON; kwire skips
//!   them in JSON too. So the JSON path cannot carry them: for each case the expected value is
//!   `from_json(to_json(original))` (the original without unknown tags), and every fourth seed
//!   keeps `Gen::unknown_tags` on ([`gen_for`]): Kafka must still decode kwire's bytes
//!   (skipping the unknown tags) to the stripped value, and Kafka's bytes (which have none) must equal
//!   kwire's encoding of the stripped value.
//! * **records**: Kafka's stock converter writes `""` for any records value; the oracle writes the
//!   real bytes as padded standard base64, exactly kwire's form, so `Gen::records` stays on with
//!   arbitrary bytes (Kafka's `MemoryRecords` does not validate batches when reading or writing a
//!   message body).
//! * Field names, int64 as JSON integers, bytes as padded standard base64, uuids as Kafka's
//!   base64url text, `null`s: identical, no mapping.
//!
//! **Historic versions** (the versions Kafka 4.0 removed, KIP-896, which kwire generates from 3.9.2's
//! layouts) are checked the same three ways by a second oracle built on kafka-clients 3.9.2
//! (`KWIRE_ORACLE_KAFKA_CLIENTS=3.9.2`, [`historic_versions_match_kafka_3_9_2`]); that oracle also
//! checks kwire's legacy message sets against Kafka's `MemoryRecordsBuilder`
//! ([`legacy_message_sets_match_kafkas_memory_records_builder`]).
//!
//! Data messages and headers go through the oracle's `<SchemaName> <version> data` form (its
//! `DATAVERSIONS` command gives Kafka's version range for each).
//!
//! A mismatch fails with api, version, seed, both hex strings and the first differing offset.
//! Known kwire bugs are in [`EXPECTED_FAILURES`]; each entry must still fail, so the list cannot rot.
//! Without java/mvn the test fails (never skips), naming `testsupport/kafka/oracle-run --build`.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Debug;
use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::{Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

use kwire::api_key::API_TABLE;
use kwire::dispatch::{RequestKind, ResponseKind};
use kwire::testing::Gen;
use kwire::wire::Reader;
use kwire::{ApiKey, Bytes, BytesMut, Message};
use serde_json::Value;

/// Seeds `1..=SEEDS` per message version (see [`gen_for`] for what each seed turns on).
const SEEDS: u64 = 32;
/// Lines per batch sent to the JVM.
const BATCH_LINES: usize = 512;

/// Known failures, `(key, why)`, the key as printed in failures: `<side> <api key or schema name>
/// v<version> <check>`. Each entry must fail for at least one seed (else the test fails: remove it).
const EXPECTED_FAILURES: &[(&str, &str)] = &[];

// ---------------------------------------------------------------------------------------------
// The oracle process

struct Oracle {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
}

const HOW_TO_FIX: &str = "the Kafka oracle needs a JDK (17+), Maven (`mvn`) and Maven Central (or a \
     warm ~/.m2); build it with `testsupport/kafka/oracle-run --build` from the repository root and \
     see testsupport/kafka/README.md";

/// The kafka-clients release of the main oracle (the pin's).
const PIN_CLIENTS: &str = "4.4.0";
/// The kafka-clients release of the historic oracle: the newest that still speaks the versions 4.0
/// removed (KIP-896), and the release kwire's historic layouts come from (`historic` in
/// schemas/kafka.toml).
const HISTORIC_CLIENTS: &str = "3.9.2";

impl Oracle {
    fn start() -> Result<Oracle, String> {
        Self::start_release(PIN_CLIENTS)
    }

    /// An oracle on kafka-clients `release` (`KWIRE_ORACLE_KAFKA_CLIENTS` of `oracle-run`).
    fn start_release(release: &str) -> Result<Oracle, String> {
        let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("testsupport/kafka/oracle-run");
        let env_release = if release == PIN_CLIENTS { "" } else { release };
        // Build first (idempotent and file-locked; Maven's output goes to our stderr).
        let built = Command::new(&script)
            .env("KWIRE_ORACLE_KAFKA_CLIENTS", env_release)
            .arg("--build")
            .stdin(Stdio::null())
            .stderr(Stdio::inherit())
            .output()
            .map_err(|e| format!("cannot run {} --build: {e}", script.display()))?;
        if !built.status.success() {
            return Err(format!(
                "`{} --build` failed ({})",
                script.display(),
                built.status
            ));
        }
        let mut child = Command::new(&script)
            .env("KWIRE_ORACLE_KAFKA_CLIENTS", env_release)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", script.display()))?;
        let stdin = child.stdin.take();
        let stdout = BufReader::new(child.stdout.take().expect("piped stdout"));
        let mut oracle = Oracle {
            child,
            stdin,
            stdout,
        };
        let ping = oracle
            .try_batch(&["PING".to_string()])
            .map_err(|e| format!("the oracle did not answer PING: {e}"))?;
        if !ping[0].starts_with(&format!("OK {release}")) {
            return Err(format!(
                "the oracle answered PING with {:?}, want `OK {release} ...`",
                ping[0]
            ));
        }
        Ok(oracle)
    }

    /// Sends `lines` (no newlines inside) and returns one answer per line, in order. A writer thread
    /// feeds stdin while this thread reads stdout, so big batches cannot deadlock on full pipes.
    fn try_batch(&mut self, lines: &[String]) -> Result<Vec<String>, String> {
        let mut answers = Vec::with_capacity(lines.len());
        for chunk in lines.chunks(BATCH_LINES) {
            let stdin = self.stdin.as_mut().ok_or("oracle stdin closed")?;
            let stdout = &mut self.stdout;
            std::thread::scope(|s| -> Result<(), String> {
                let writer = s.spawn(move || -> std::io::Result<()> {
                    let mut text = String::new();
                    for l in chunk {
                        debug_assert!(!l.contains('\n'));
                        text.push_str(l);
                        text.push('\n');
                    }
                    stdin.write_all(text.as_bytes())?;
                    stdin.flush()
                });
                for _ in chunk {
                    let mut line = String::new();
                    match stdout.read_line(&mut line) {
                        Ok(0) => return Err("the oracle exited (EOF on its stdout)".to_string()),
                        Ok(_) => answers.push(line.trim_end_matches(['\n', '\r']).to_string()),
                        Err(e) => return Err(format!("reading the oracle's stdout: {e}")),
                    }
                }
                writer
                    .join()
                    .expect("writer thread")
                    .map_err(|e| format!("writing to the oracle: {e}"))
            })?;
        }
        Ok(answers)
    }

    /// Closes stdin (the oracle ends on EOF) and waits for the JVM; kills it (by its pid) after 10 s.
    fn stop(&mut self) {
        drop(self.stdin.take());
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            match self.child.try_wait() {
                Ok(Some(_)) => return,
                Ok(None) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(50))
                }
                _ => {
                    let _ = self.child.kill();
                    let _ = self.child.wait();
                    return;
                }
            }
        }
    }
}

/// The tests that use the oracle; the last one to finish stops the JVM (if only some of them run,
/// the JVM ends anyway when this process exits and its stdin pipe closes).
const ORACLE_TESTS: usize = 6;

static ORACLE: OnceLock<Mutex<Result<Oracle, String>>> = OnceLock::new();
static FINISHED: Mutex<usize> = Mutex::new(0);

/// A test's use of the shared oracle; dropping it (also on panic) counts the test as finished.
struct OracleUse;

/// What the checks need of an oracle: answers to a batch of lines.
trait Ask {
    fn batch(&self, lines: &[String]) -> Vec<String>;
}

impl Ask for OracleUse {
    fn batch(&self, lines: &[String]) -> Vec<String> {
        let mut guard = lock(ORACLE.get_or_init(|| Mutex::new(Oracle::start())));
        match &mut *guard {
            Ok(o) => o
                .try_batch(lines)
                .unwrap_or_else(|e| panic!("Kafka oracle failed: {e}; {HOW_TO_FIX}")),
            Err(e) => panic!("Kafka oracle unavailable: {e}; {HOW_TO_FIX}"),
        }
    }
}

impl Drop for OracleUse {
    fn drop(&mut self) {
        let mut n = lock(&FINISHED);
        *n += 1;
        if *n == ORACLE_TESTS {
            if let Some(m) = ORACLE.get() {
                if let Ok(o) = &mut *lock(m) {
                    o.stop();
                }
            }
        }
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

// ---------------------------------------------------------------------------------------------
// JSON mapping

/// Prefix of the placeholder strings [`parse_kafka_json`] puts in place of floating-point tokens.
const F64_MARK: &str = "\u{0}kwire-f64:";

/// Parses an answer of the oracle, reading every floating-point number token (one with `.`, `e` or
/// `E`) with Rust's correctly rounded `str::parse::<f64>` (serde_json's default parser is not exact
/// for 17-digit decimals). Integer tokens are left to serde_json (exact for i64/u64).
fn parse_kafka_json(text: &str) -> Result<Value, String> {
    let b = text.as_bytes();
    let mut out = Vec::with_capacity(b.len() + 32);
    let mut i = 0;
    let mut in_string = false;
    while i < b.len() {
        let c = b[i];
        if in_string {
            out.push(c);
            if c == b'\\' && i + 1 < b.len() {
                out.push(b[i + 1]);
                i += 1;
            } else if c == b'"' {
                in_string = false;
            }
            i += 1;
        } else if c == b'"' {
            in_string = true;
            out.push(c);
            i += 1;
        } else if c == b'-' || c.is_ascii_digit() {
            let start = i;
            while i < b.len() && matches!(b[i], b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E') {
                i += 1;
            }
            let token = &text[start..i];
            if token.contains(['.', 'e', 'E']) {
                out.extend_from_slice(b"\"\\u0000kwire-f64:");
                out.extend_from_slice(token.as_bytes());
                out.push(b'"');
            } else {
                out.extend_from_slice(token.as_bytes());
            }
        } else {
            out.push(c);
            i += 1;
        }
    }
    let mut v: Value = serde_json::from_slice(&out).map_err(|e| format!("bad JSON: {e}"))?;
    restore_floats(&mut v)?;
    Ok(v)
}

fn restore_floats(v: &mut Value) -> Result<(), String> {
    match v {
        Value::String(s) => {
            if let Some(token) = s.strip_prefix(F64_MARK) {
                let f: f64 = token
                    .parse()
                    .map_err(|e| format!("float token {token:?}: {e}"))?;
                *v = Value::Number(
                    serde_json::Number::from_f64(f)
                        .ok_or_else(|| format!("non-finite float {token}"))?,
                );
            }
        }
        Value::Array(a) => a.iter_mut().try_for_each(restore_floats)?,
        Value::Object(o) => o.values_mut().try_for_each(restore_floats)?,
        _ => {}
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Cases

type Check = Box<dyn Fn(Bytes) -> Result<(), String>>;
type JsonCheck = Box<dyn Fn(Value) -> Result<(), String>>;

/// One value of one message at one version, with its kwire encodings and the ways to check Kafka's
/// answers against it.
struct Case {
    side: &'static str,
    /// Api key number or schema name.
    key: String,
    /// For messages: `Produce(0)`.
    name: String,
    version: i16,
    seed: u64,
    /// What follows the command word in the oracle line: `0 9 request` / `RequestHeader 2 data`.
    target: String,
    /// kwire's JSON of the original value.
    json: String,
    /// kwire's bytes of the original value (with any unknown tagged fields).
    kwire_hex: String,
    /// kwire's bytes of the expected value (the original without unknown tagged fields): what
    /// Kafka's encoding of the JSON must be.
    expect_hex: String,
    /// Kafka's JSON -> kwire value == expected.
    from_kafka_json: JsonCheck,
    /// Bytes -> kwire decode == expected.
    kwire_decode: Check,
}

impl Case {
    fn label(&self, check: &str) -> String {
        format!("{} {} v{} {check}", self.side, self.key, self.version)
    }
}

/// A failed check.
struct Failure {
    key: String,
    detail: String,
}

fn mismatch<T: Debug>(what: &str, got: &T, want: &T) -> String {
    format!("{what}\n      got:  {got:?}\n      want: {want:?}")
}

/// Builds a case from the value-level operations of one message type.
#[allow(clippy::too_many_arguments)]
fn make_case<T: PartialEq + Debug + Clone + 'static>(
    side: &'static str,
    key: String,
    name: String,
    target: String,
    version: i16,
    seed: u64,
    original: T,
    encode: fn(&T, i16) -> Result<Bytes, String>,
    to_json: fn(&T) -> Result<Value, String>,
    from_json: impl Fn(Value) -> Result<T, String> + Clone + 'static,
    decode: impl Fn(Bytes) -> Result<T, String> + 'static,
) -> Result<Case, Failure> {
    let fail = |check: &str, detail: String| Failure {
        key: format!("{side} {key} v{version} {check}"),
        detail: format!("{name} v{version} seed {seed}: {detail}"),
    };
    let kwire_bytes = encode(&original, version).map_err(|e| {
        fail(
            "kwire-encode",
            format!("kwire cannot encode its own Gen value: {e}"),
        )
    })?;
    let json = to_json(&original).map_err(|e| fail("kwire-serde", format!("to_json: {e}")))?;
    let expected = from_json(json.clone()).map_err(|e| {
        fail(
            "kwire-serde",
            format!("kwire's from_json rejects its own to_json: {e}\n      json: {json}"),
        )
    })?;
    let expect_bytes = encode(&expected, version)
        .map_err(|e| fail("kwire-encode", format!("encoding the JSON round trip: {e}")))?;
    if !unknown_tags(seed) && expected != original {
        return Err(fail(
            "kwire-serde",
            mismatch(
                "kwire's JSON round trip changed the value",
                &expected,
                &original,
            ),
        ));
    }
    let json_text = serde_json::to_string(&json).expect("JSON text");
    let want = expected.clone();
    let from_kafka_json: JsonCheck = Box::new(move |v: Value| {
        let got =
            from_json(v.clone()).map_err(|e| format!("kwire from_json: {e}\n      json: {v}"))?;
        if got == want {
            Ok(())
        } else {
            Err(mismatch("value from Kafka's JSON differs", &got, &want))
        }
    });
    let want = expected;
    let kwire_decode: Check = Box::new(move |b: Bytes| {
        let got = decode(b)?;
        if got == want {
            Ok(())
        } else {
            Err(mismatch("kwire's decoding differs", &got, &want))
        }
    });
    Ok(Case {
        side,
        key,
        name,
        version,
        seed,
        target,
        json: json_text,
        kwire_hex: hex::encode(&kwire_bytes),
        expect_hex: hex::encode(&expect_bytes),
        from_kafka_json,
        kwire_decode,
    })
}

/// Every fourth seed adds unknown tagged fields; every third one makes longer arrays and strings.
fn gen_for(seed: u64) -> Gen {
    let mut g = Gen::new(seed);
    g.unknown_tags = unknown_tags(seed);
    g.records = true;
    g.special_floats = false;
    if seed % 3 == 0 {
        g.max_array = 10;
        g.max_len = 48;
    }
    g
}

fn unknown_tags(seed: u64) -> bool {
    seed % 4 == 0
}

fn request_case(api: ApiKey, version: i16, seed: u64) -> Result<Case, Failure> {
    let value = RequestKind::arbitrary(api, version, &mut gen_for(seed))
        .unwrap_or_else(|| panic!("kwire has no arbitrary request for {api:?}"));
    make_case(
        "request",
        api.0.to_string(),
        format!("{api:?} request"),
        format!("{} {version} request", api.0),
        version,
        seed,
        value,
        |m, v| {
            let mut b = BytesMut::new();
            m.encode(&mut b, v).map_err(|e| e.to_string())?;
            Ok(b.freeze())
        },
        |m| m.to_json().map_err(|e| e.to_string()),
        move |j| RequestKind::from_json(api, j).map_err(|e| e.to_string()),
        move |b| {
            let mut r = Reader::new(b);
            let m = RequestKind::decode(api, version, &mut r).map_err(|e| e.to_string())?;
            r.expect_end().map_err(|e| e.to_string())?;
            Ok(m)
        },
    )
}

fn response_case(api: ApiKey, version: i16, seed: u64) -> Result<Case, Failure> {
    let value = ResponseKind::arbitrary(api, version, &mut gen_for(seed))
        .unwrap_or_else(|| panic!("kwire has no arbitrary response for {api:?}"));
    make_case(
        "response",
        api.0.to_string(),
        format!("{api:?} response"),
        format!("{} {version} response", api.0),
        version,
        seed,
        value,
        |m, v| {
            let mut b = BytesMut::new();
            m.encode(&mut b, v).map_err(|e| e.to_string())?;
            Ok(b.freeze())
        },
        |m| m.to_json().map_err(|e| e.to_string()),
        move |j| ResponseKind::from_json(api, j).map_err(|e| e.to_string()),
        move |b| {
            let mut r = Reader::new(b);
            let m = ResponseKind::decode(api, version, &mut r).map_err(|e| e.to_string())?;
            r.expect_end().map_err(|e| e.to_string())?;
            Ok(m)
        },
    )
}

/// `(schema name, kwire's versions, case builder)` for every data message and header. A macro, as
/// the serde bounds cannot be named here (serde is not a dependency of the tests).
type DataCase = fn(i16, u64) -> Result<Case, Failure>;

macro_rules! data_messages {
    ($($module:ident :: $ty:ident),* $(,)?) => {
        &[$((
            stringify!($ty),
            <kwire::messages::$module::$ty as Message>::VERSIONS,
            {
                fn case(version: i16, seed: u64) -> Result<Case, Failure> {
                    use kwire::messages::$module::$ty as T;
                    let name = stringify!($ty);
                    make_case(
                        "data",
                        name.to_string(),
                        name.to_string(),
                        format!("{name} {version} data"),
                        version,
                        seed,
                        T::arbitrary(&mut gen_for(seed), version),
                        |m: &T, v| m.encode_to_bytes(v).map_err(|e| e.to_string()),
                        |m: &T| serde_json::to_value(m).map_err(|e| e.to_string()),
                        |j| serde_json::from_value::<T>(j).map_err(|e| e.to_string()),
                        move |b| T::decode_bytes(b, version).map_err(|e| e.to_string()),
                    )
                }
                case as DataCase
            },
        )),*]
    };
}

const DATA_MESSAGES: &[(&str, kwire::VersionRange, DataCase)] = data_messages![
    aborted_txn::AbortedTxn,
    consumer_protocol_assignment::ConsumerProtocolAssignment,
    consumer_protocol_subscription::ConsumerProtocolSubscription,
    control_record_type_schema::ControlRecordTypeSchema,
    default_principal_data::DefaultPrincipalData,
    end_txn_marker::EndTxnMarker,
    k_raft_version_record::KRaftVersionRecord,
    leader_change_message::LeaderChangeMessage,
    request_header::RequestHeader,
    response_header::ResponseHeader,
    snapshot_footer_record::SnapshotFooterRecord,
    snapshot_header_record::SnapshotHeaderRecord,
    voters_record::VotersRecord,
];

// ---------------------------------------------------------------------------------------------
// Running the checks

fn first_difference(a: &str, b: &str) -> usize {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let n = a.iter().zip(b).take_while(|(x, y)| x == y).count();
    n / 2
}

fn short(s: &str) -> String {
    if s.len() <= 3000 {
        s.to_string()
    } else {
        format!("{}... ({} chars)", &s[..3000], s.len())
    }
}

fn hex_to_bytes(h: &str) -> Result<Bytes, String> {
    hex::decode(h)
        .map(Bytes::from)
        .map_err(|e| format!("oracle hex: {e}"))
}

/// Runs the three checks of every case against the oracle; returns the failures.
fn run_cases(oracle: &dyn Ask, cases: &[Case]) -> Vec<Failure> {
    let mut lines = Vec::with_capacity(cases.len() * 2);
    for c in cases {
        lines.push(format!("ENCODE_FULL {} {}", c.target, c.json));
        let hex = if c.kwire_hex.is_empty() {
            "-"
        } else {
            &c.kwire_hex
        };
        lines.push(format!("DECODE_FULL {} {hex}", c.target));
    }
    let answers = oracle.batch(&lines);
    // KWIRE_ORACLE_DUMP=<file>: append every line sent and its answer (for debugging).
    if let Some(path) = std::env::var_os("KWIRE_ORACLE_DUMP") {
        let mut text = String::new();
        for (l, a) in lines.iter().zip(&answers) {
            text.push_str(&format!("> {l}\n< {a}\n"));
        }
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .unwrap_or_else(|e| panic!("KWIRE_ORACLE_DUMP {path:?}: {e}"));
        f.write_all(text.as_bytes()).expect("dump");
    }
    let mut failures = Vec::new();
    for (c, pair) in cases.iter().zip(answers.chunks(2)) {
        let (encoded, decoded) = (&pair[0], &pair[1]);
        let context = |what: &str| {
            format!(
                "{} v{} seed {}: {what}\n      kwire json: {}",
                c.name,
                c.version,
                c.seed,
                short(&c.json)
            )
        };
        // 1. kwire bytes == Kafka bytes
        if let Some(err) = encoded.strip_prefix("ERR ") {
            failures.push(Failure {
                key: c.label("bytes"),
                detail: context(&format!("Kafka cannot encode kwire's JSON: {err}")),
            });
        } else {
            if *encoded != c.expect_hex {
                failures.push(Failure {
                    key: c.label("bytes"),
                    detail: context(&format!(
                        "bytes differ at offset {}\n      kwire: {}\n      kafka: {}",
                        first_difference(encoded, &c.expect_hex),
                        short(&c.expect_hex),
                        short(encoded)
                    )),
                });
            }
            // 3. kwire decodes Kafka's bytes
            if let Err(e) = hex_to_bytes(encoded).and_then(|b| (c.kwire_decode)(b)) {
                failures.push(Failure {
                    key: c.label("kwire-decode"),
                    detail: context(&format!(
                        "kwire decoding Kafka's bytes: {e}\n      kafka: {}",
                        short(encoded)
                    )),
                });
            }
        }
        // 2. Kafka decodes kwire's bytes
        let two = match decoded.strip_prefix("ERR ") {
            Some(err) => Err(format!("Kafka cannot decode kwire's bytes: {err}")),
            None => parse_kafka_json(decoded).and_then(|v| (c.from_kafka_json)(v)),
        };
        if let Err(e) = two {
            failures.push(Failure {
                key: c.label("kafka-decode"),
                detail: context(&format!(
                    "{e}\n      kwire bytes: {}\n      kafka json: {}",
                    short(&c.kwire_hex),
                    short(decoded)
                )),
            });
        }
    }
    failures
}

/// Fails the test on any failure not in [`EXPECTED_FAILURES`], and on any entry of that list for
/// `side` that did not fail.
fn judge(side: &str, failures: Vec<Failure>) {
    let expected: BTreeMap<&str, &str> = EXPECTED_FAILURES.iter().copied().collect();
    let mut seen = BTreeSet::new();
    let mut unexpected = Vec::new();
    for f in &failures {
        if expected.contains_key(f.key.as_str()) {
            seen.insert(f.key.clone());
        } else {
            unexpected.push(f);
        }
    }
    let stale: Vec<&str> = expected
        .keys()
        .copied()
        .filter(|k| k.starts_with(&format!("{side} ")) && !seen.contains(*k))
        .collect();
    for k in &seen {
        eprintln!(
            "expected failure still fails: {k} ({})",
            expected[k.as_str()]
        );
    }
    let mut report = String::new();
    if !unexpected.is_empty() {
        let keys: BTreeSet<&str> = unexpected.iter().map(|f| f.key.as_str()).collect();
        report.push_str(&format!(
            "{} unexpected failures ({} distinct): {:?}\n",
            unexpected.len(),
            keys.len(),
            keys
        ));
        for f in unexpected.iter().take(40) {
            report.push_str(&format!("  [{}] {}\n", f.key, f.detail));
        }
    }
    if !stale.is_empty() {
        report.push_str(&format!(
            "EXPECTED_FAILURES entries that no longer fail (fixed? remove them): {stale:?}\n"
        ));
    }
    assert!(report.is_empty(), "{report}");
}

/// Kafka's `VERSIONS` answer: api key -> (lowest, highest incl. unstable, latestVersionUnstable).
fn kafka_versions(oracle: &dyn Ask) -> BTreeMap<i16, (i16, i16, bool)> {
    let answer = oracle.batch(&["VERSIONS".to_string()]).remove(0);
    let v: Value =
        serde_json::from_str(&answer).unwrap_or_else(|e| panic!("VERSIONS answer {answer:?}: {e}"));
    v.as_array()
        .expect("VERSIONS array")
        .iter()
        .map(|o| {
            let n = |k: &str| o[k].as_i64().expect(k) as i16;
            (
                n("apiKey"),
                (
                    n("lowest"),
                    n("highest"),
                    o["latestVersionUnstable"].as_bool().expect("bool"),
                ),
            )
        })
        .collect()
}

/// Every (api, version) both sides support, for one side.
fn api_pairs(oracle: &OracleUse) -> Vec<(ApiKey, i16)> {
    let kafka = kafka_versions(oracle);
    let mut pairs = Vec::new();
    for info in API_TABLE {
        let Some(ours) = info.key.versions_including_unstable() else {
            continue;
        };
        let Some(&(lo, hi, _)) = kafka.get(&info.key.0) else {
            continue;
        };
        for v in ours.min.max(lo)..=ours.max.min(hi) {
            pairs.push((info.key, v));
        }
    }
    pairs
}

fn run_side(
    side: &'static str,
    build: fn(ApiKey, i16, u64) -> Result<Case, Failure>,
) -> (usize, usize) {
    let oracle = OracleUse;
    let start = Instant::now();
    let pairs = api_pairs(&oracle);
    let mut failures = Vec::new();
    let mut cases = Vec::new();
    for &(api, v) in &pairs {
        for seed in 1..=SEEDS {
            match build(api, v, seed) {
                Ok(c) => cases.push(c),
                Err(f) => failures.push(f),
            }
        }
    }
    let n_cases = cases.len();
    let with_unknown_tags = cases.iter().filter(|c| c.kwire_hex != c.expect_hex).count();
    assert!(
        with_unknown_tags >= 50,
        "only {with_unknown_tags} {side} cases carried unknown tagged fields"
    );
    failures.extend(run_cases(&oracle, &cases));
    let apis: BTreeSet<i16> = pairs.iter().map(|p| p.0 .0).collect();
    eprintln!(
        "{side}s: compared {} (api, version) pairs over {} apis, {n_cases} cases \
         ({with_unknown_tags} with unknown tagged fields), in {:.1?}",
        pairs.len(),
        apis.len(),
        start.elapsed()
    );
    // Kafka 4.4: 91 live APIs, 309 versions of each side (4.0 dropped the oldest, KIP-896).
    assert!(
        pairs.len() >= 300 && apis.len() >= 88,
        "only {} {side} (api, version) pairs over {} apis compared",
        pairs.len(),
        apis.len()
    );
    judge(side, failures);
    (pairs.len(), n_cases)
}

// ---------------------------------------------------------------------------------------------
// The tests

#[test]
fn requests_match_kafka() {
    run_side("request", request_case);
}

#[test]
fn responses_match_kafka() {
    run_side("response", response_case);
}

#[test]
fn data_messages_and_headers_match_kafka() {
    let oracle = OracleUse;
    let names: Vec<&str> = DATA_MESSAGES.iter().map(|d| d.0).collect();
    let answer = oracle
        .batch(&[format!("DATAVERSIONS {}", names.join(" "))])
        .remove(0);
    let kafka: Value = serde_json::from_str(&answer)
        .unwrap_or_else(|e| panic!("DATAVERSIONS answer {answer:?}: {e}"));
    let mut cases = Vec::new();
    let mut failures = Vec::new();
    let mut pairs = 0;
    for &(name, ours, build) in DATA_MESSAGES {
        let range = &kafka[name];
        let (lo, hi) = (
            range[0].as_i64().expect("lowest") as i16,
            range[1].as_i64().expect("highest") as i16,
        );
        // RequestHeader v0 (ControlledShutdown v0's header) is a version 4.0 removed: kwire has it
        // from 3.9.2, checked by `historic_versions_match_kafka_3_9_2`.
        let want_min = if name == "RequestHeader" { 0 } else { lo };
        assert_eq!(
            (ours.min, ours.max),
            (want_min, hi),
            "{name}: kwire's versions differ from kafka-clients 4.4.0's"
        );
        for v in lo..=hi {
            pairs += 1;
            for seed in 1..=SEEDS {
                match build(v, seed) {
                    Ok(c) => cases.push(c),
                    Err(f) => failures.push(f),
                }
            }
        }
    }
    eprintln!(
        "data messages and headers: compared {pairs} (message, version) pairs over {} messages, {} cases",
        DATA_MESSAGES.len(),
        cases.len()
    );
    assert!(pairs >= 18, "only {pairs} data (message, version) pairs");
    failures.extend(run_cases(&oracle, &cases));
    judge("data", failures);
}

/// kwire's API table (generated from the 4.4 schemas, and 3.9.2's below 4.4's minimum) against
/// kafka-clients 4.4.0's `ApiKeys` and 3.9's minima.
#[test]
fn api_versions_table_matches_kafka() {
    let oracle = OracleUse;
    let kafka = kafka_versions(&oracle);
    let mut problems = Vec::new();
    let historic: kwire::KafkaRelease = "3.9".parse().expect("3.9");
    for info in API_TABLE {
        let ours = info
            .versions
            .map(|v| (v.min, v.max, info.latest_version_unstable));
        // Kafka keeps removed APIs (LeaderAndIsr...) in ApiKeys with an empty range (0..-1).
        // Below 4.4's minimum, kwire has the versions 3.9 still defined (KIP-896 removals).
        let theirs =
            kafka
                .get(&info.key.0)
                .filter(|(lo, hi, _)| lo <= hi)
                .map(|&(lo, hi, unstable)| {
                    let old = historic.min_version(info.key).unwrap_or(lo);
                    (lo.min(old), hi, unstable)
                });
        if ours != theirs {
            problems.push(format!("{:?}: kwire {ours:?}, kafka {theirs:?}", info.key));
        }
    }
    for key in kafka.keys() {
        if !API_TABLE.iter().any(|i| i.key.0 == *key) {
            problems.push(format!("api key {key}: in Kafka, not in kwire"));
        }
    }
    assert!(
        problems.is_empty(),
        "version tables differ:\n{}",
        problems.join("\n")
    );
}

/// An oracle of its own, for one test.
struct Local(Mutex<Oracle>);

impl Ask for Local {
    fn batch(&self, lines: &[String]) -> Vec<String> {
        lock(&self.0).try_batch(lines).unwrap_or_else(|e| {
            panic!("Kafka oracle ({HISTORIC_CLIENTS}) failed: {e}; {HOW_TO_FIX}")
        })
    }
}

impl Drop for Local {
    fn drop(&mut self) {
        lock(&self.0).stop();
    }
}

/// The historic versions (KIP-896 removed them in 4.0; kwire takes their layouts from 3.9.2's
/// schemas) against kafka-clients 3.9.2, which still speaks them: every request and response
/// version below 4.4's minimum, and RequestHeader v0, each checked the three ways.
#[test]
fn historic_versions_match_kafka_3_9_2() {
    let oracle = Local(Mutex::new(
        Oracle::start_release(HISTORIC_CLIENTS).unwrap_or_else(|e| {
            panic!("Kafka oracle ({HISTORIC_CLIENTS}) unavailable: {e}; {HOW_TO_FIX}")
        }),
    ));
    let kafka = kafka_versions(&oracle);
    let pin: kwire::KafkaRelease = "4.4".parse().expect("4.4");
    let mut pairs = Vec::new();
    let mut problems = Vec::new();
    for info in API_TABLE {
        let (Some(ours), Some(pin_min)) = (info.versions, pin.min_version(info.key)) else {
            continue;
        };
        if ours.min >= pin_min {
            continue;
        }
        match kafka.get(&info.key.0) {
            Some(&(lo, _, _)) if lo == ours.min => {}
            theirs => problems.push(format!(
                "{:?}: kwire's lowest version {}, kafka-clients {HISTORIC_CLIENTS}'s {theirs:?}",
                info.key, ours.min
            )),
        }
        for v in ours.min..pin_min {
            pairs.push((info.key, v));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    for want in [
        (ApiKey::PRODUCE, 0),
        (ApiKey::PRODUCE, 2),
        (ApiKey::FETCH, 0),
        (ApiKey::FETCH, 3),
        (ApiKey::OFFSET_COMMIT, 1),
        (ApiKey::LIST_OFFSETS, 0),
    ] {
        assert!(
            pairs.contains(&want),
            "{want:?} is not a historic version: {pairs:?}"
        );
    }
    let mut cases = Vec::new();
    let mut failures = Vec::new();
    for &(api, v) in &pairs {
        for seed in 1..=SEEDS {
            for build in [request_case, response_case] {
                match build(api, v, seed) {
                    Ok(c) => cases.push(c),
                    Err(f) => failures.push(f),
                }
            }
        }
    }
    let header = DATA_MESSAGES
        .iter()
        .find(|d| d.0 == "RequestHeader")
        .expect("RequestHeader");
    assert_eq!(header.1.min, 0, "RequestHeader v0");
    for seed in 1..=SEEDS {
        match (header.2)(0, seed) {
            Ok(c) => cases.push(c),
            Err(f) => failures.push(f),
        }
    }
    eprintln!(
        "historic: compared {} (api, version) pairs and RequestHeader v0 with kafka-clients \
         {HISTORIC_CLIENTS}, {} cases",
        pairs.len(),
        cases.len()
    );
    failures.extend(run_cases(&oracle, &cases));
    judge("historic", failures);
}

/// kwire's legacy message sets (magic 0 and 1, for Produce v0-2) against Kafka 3.9.2's
/// `MemoryRecordsBuilder` (the oracle's LEGACY command): uncompressed sets byte for byte; compressed
/// ones wrapper field for field (offset, magic, attributes, timestamp, null key) and their inner
/// message sets, decompressed, byte for byte (the compressors themselves may differ).
#[test]
fn legacy_message_sets_match_kafkas_memory_records_builder() {
    use kwire::records::{
        decode_batches, Batch, Compression, DecodeOptions, LegacyMessageSetBuilder,
    };
    let oracle = Local(Mutex::new(
        Oracle::start_release(HISTORIC_CLIENTS).unwrap_or_else(|e| {
            panic!("Kafka oracle ({HISTORIC_CLIENTS}) unavailable: {e}; {HOW_TO_FIX}")
        }),
    ));
    type Input = (i64, Option<Vec<u8>>, Option<Vec<u8>>);
    let inputs: Vec<Input> = vec![
        (
            1_700_000_000_000,
            Some(b"k0".to_vec()),
            Some(b"v0".to_vec()),
        ),
        (1_700_000_000_900, None, Some(vec![b'x'; 200])),
        (1_699_999_999_000, Some(Vec::new()), None),
        (1_700_000_000_100, Some(b"k3".to_vec()), Some(Vec::new())),
    ];
    let hex_or_dash = |b: &Option<Vec<u8>>| b.as_ref().map_or("-".to_string(), hex::encode);
    let opts = DecodeOptions::default();
    let mut lines = Vec::new();
    let mut ours = Vec::new();
    let mut labels = Vec::new();
    for magic in [0i8, 1] {
        for (codec, name) in [
            (Compression::None, "none"),
            (Compression::Gzip, "gzip"),
            (Compression::Snappy, "snappy"),
            (Compression::Lz4, "lz4"),
        ] {
            for log_append in [None, Some(1_234_567i64)] {
                if magic == 0 && log_append.is_some() {
                    continue;
                }
                let base = 7;
                let mut b = LegacyMessageSetBuilder::new(magic, base)
                    .expect("magic")
                    .compression(codec);
                if let Some(t) = log_append {
                    b = b.log_append_time(t);
                }
                let mut line = format!("LEGACY {magic} {name} {base} {}", log_append.unwrap_or(-1));
                for (ts, k, v) in &inputs {
                    b.append(*ts, k.as_deref(), v.as_deref()).expect("append");
                    line.push_str(&format!(" {ts}:{}:{}", hex_or_dash(k), hex_or_dash(v)));
                }
                lines.push(line);
                ours.push((codec, b.build().expect("build")));
                labels.push(format!("magic {magic} {name} log-append {log_append:?}"));
            }
        }
    }
    let answers = oracle.batch(&lines);
    let mut problems = Vec::new();
    for ((label, (codec, kw)), answer) in labels.iter().zip(&ours).zip(&answers) {
        let kafka = match hex_to_bytes(answer) {
            Ok(b) => b,
            Err(e) => {
                problems.push(format!("{label}: Kafka: {answer} ({e})"));
                continue;
            }
        };
        if *codec == Compression::None {
            if kafka != *kw {
                problems.push(format!(
                    "{label}: bytes differ at {}\n  kwire {}\n  kafka {}",
                    first_difference(&hex::encode(kw), answer) / 2,
                    hex::encode(kw),
                    answer
                ));
            }
            continue;
        }
        let one = |bytes: &Bytes| -> kwire::records::LegacyMessage {
            let d = decode_batches(bytes.clone(), &opts).expect("decode");
            assert_eq!(d.batches.len(), 1, "{label}: one wrapper");
            match &d.batches[0] {
                Batch::Legacy(m) => m.clone(),
                other => panic!("{label}: {other:?}"),
            }
        };
        let (a, b) = (one(kw), one(&kafka));
        let header = |m: &kwire::records::LegacyMessage| {
            (m.offset, m.magic, m.attributes, m.timestamp, m.key.clone())
        };
        if header(&a) != header(&b) {
            problems.push(format!(
                "{label}: wrapper kwire {:?}, kafka {:?}",
                header(&a),
                header(&b)
            ));
        }
        let records = |m: &kwire::records::LegacyMessage| {
            m.records(&opts).map_err(|e| format!("{label}: {e}"))
        };
        if records(&a) != records(&b) {
            problems.push(format!(
                "{label}: records differ:\n  kwire {:?}\n  kafka {:?}",
                records(&a),
                records(&b)
            ));
        }
        if a.magic == 0 && *codec == Compression::Lz4 {
            // The KAFKA-3160 frame checksum of magic 0: only the record decoder reads it.
            continue;
        }
        let inner = |m: &kwire::records::LegacyMessage| {
            kwire::records::compression::decompress(
                *codec,
                m.value.as_deref().expect("value"),
                1 << 20,
            )
            .map_err(|e| format!("{label}: {e}"))
        };
        match (inner(&a), inner(&b)) {
            (Ok(x), Ok(y)) if x == y => {}
            (x, y) => problems.push(format!(
                "{label}: inner sets differ:\n  kwire {:?}\n  kafka {:?}",
                x.map(hex::encode),
                y.map(hex::encode)
            )),
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
    assert_eq!(
        answers.len(),
        12,
        "4 codecs x (magic 0, magic 1, magic 1 log-append time)"
    );
}

/// The checks can fail: a corrupted encoding, a wrong value and a float off by one ulp are caught.
#[test]
fn the_checks_catch_differences() {
    let oracle = OracleUse;
    let api = ApiKey::API_VERSIONS;
    let mut case = request_case(api, 3, 1).unwrap_or_else(|f| panic!("{}", f.detail));
    // Kafka's bytes are right; pretend kwire's were different in the last byte.
    let last = case.expect_hex.len() - 2;
    case.expect_hex.replace_range(last.., "ff");
    let failures = run_cases(&oracle, &[case]);
    let keys: Vec<&str> = failures.iter().map(|f| f.key.as_str()).collect();
    assert_eq!(
        keys,
        ["request 18 v3 bytes"],
        "want exactly a bytes failure"
    );
    assert!(
        failures[0].detail.contains("bytes differ at offset"),
        "{}",
        failures[0].detail
    );

    // A kwire value Kafka decodes differently (a different request) must fail the value checks.
    let mut wrong = request_case(api, 3, 2).unwrap_or_else(|f| panic!("{}", f.detail));
    let right = request_case(api, 3, 1).unwrap_or_else(|f| panic!("{}", f.detail));
    wrong.from_kafka_json = right.from_kafka_json;
    wrong.kwire_decode = right.kwire_decode;
    let failures = run_cases(&oracle, &[wrong]);
    let keys: BTreeSet<&str> = failures.iter().map(|f| f.key.as_str()).collect();
    assert_eq!(
        keys,
        BTreeSet::from(["request 18 v3 kafka-decode", "request 18 v3 kwire-decode"])
    );

    // Float tokens are read exactly, in Java's and serde_json's spellings.
    let v = parse_kafka_json(
        r#"{"a":1.234567890125E11,"b":[-0.0,1.0E-300,5e-324],"s":"1.5 \"2.5\"","i":-9223372036854775808}"#,
    )
    .expect("parse");
    assert_eq!(v["a"].as_f64(), Some(1.234567890125e11));
    assert_eq!(v["b"][1].as_f64(), Some(1.0e-300));
    assert_eq!(v["b"][2].as_f64(), Some(5e-324));
    assert!(v["b"][0].as_f64().expect("-0.0").is_sign_negative());
    assert_eq!(v["s"], "1.5 \"2.5\"");
    assert_eq!(v["i"].as_i64(), Some(i64::MIN));
    // 17 significant digits: the correctly rounded neighbour, whatever serde_json would make of it.
    let x = f64::from_bits(0x3ff0_0000_0000_0001) * 12345.0;
    let text = format!("{{\"x\":{:e}}}", x);
    assert_eq!(
        parse_kafka_json(&text).expect("parse")["x"].as_f64(),
        Some(x)
    );
}

/// A tagged section that repeats a tag, or lists tags out of order: Kafka's
/// Java codec reads it without complaint, the last value of a known tag
/// wins, and unknown ones are all kept (its `RawTaggedField` list). kwire
/// must read the same bytes the same way.
#[test]
fn repeated_and_unordered_tags_are_read_as_kafka_reads_them() {
    use kwire::messages::api_versions_response::ApiVersionsResponse;
    let oracle = OracleUse;
    // ApiVersionsResponse v3: error 0, no api keys, throttle 0, then the
    // tagged section.
    let body = |section: &str| format!("00000100000000{section}");
    let known_twice = body("020108000000000000000501080000000000000009");
    let unknown_twice = body("030a01ff0a01020108000000000000000c");
    let answers = oracle.batch(&[
        format!("DECODE 18 3 response {known_twice}"),
        format!("DECODE 18 3 response {unknown_twice}"),
    ]);
    // Known tag 1 (FinalizedFeaturesEpoch) twice: the last value wins.
    let kafka: Value =
        serde_json::from_str(&answers[0]).unwrap_or_else(|_| panic!("{}", answers[0]));
    assert_eq!(kafka["finalizedFeaturesEpoch"], 9, "{}", answers[0]);
    let ours =
        ApiVersionsResponse::decode_bytes(Bytes::from(hex::decode(&known_twice).unwrap()), 3)
            .unwrap();
    assert_eq!(ours.finalized_features_epoch, 9);
    // Unknown tag 10 twice, before known tag 1: accepted, tag 1 read.
    let kafka: Value =
        serde_json::from_str(&answers[1]).unwrap_or_else(|_| panic!("{}", answers[1]));
    assert_eq!(kafka["finalizedFeaturesEpoch"], 12, "{}", answers[1]);
    let ours =
        ApiVersionsResponse::decode_bytes(Bytes::from(hex::decode(&unknown_twice).unwrap()), 3)
            .unwrap();
    assert_eq!(ours.finalized_features_epoch, 12);
    let kept: Vec<(u32, Vec<u8>)> = ours
        .unknown_tagged_fields
        .iter()
        .map(|f| (f.tag, f.data.to_vec()))
        .collect();
    assert_eq!(kept, vec![(10, vec![0xff]), (10, vec![0x02])]);
    // Written back in tag order, both copies (Kafka's RawTaggedFieldWriter
    // writes an equal tag again; it refuses only a lower one).
    let again = ours.encode_to_bytes(3).unwrap();
    assert_eq!(
        hex::encode(&again),
        body("030108000000000000000c0a01ff0a0102")
    );
}
