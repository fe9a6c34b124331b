//! Schema sources: a kafka-clients jar from a Maven repository (here a
//! mirror served on 127.0.0.1 by the test itself) is verified, cached
//! atomically and read in place; bad bytes are refused and never cached;
//! with no network and no cache the error says what was tried and what to
//! set.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use kwire_codegen::cache::Cache;
use kwire_codegen::fingerprint::sha256_hex;
use kwire_codegen::maven::{Artifact, Expect, Found, Maven, MavenError};
use kwire_codegen::source::{read_jar, Origin, SchemaSource, SourceError, MAX_SCHEMA_BYTES};

/// A Maven repository on 127.0.0.1: path -> body (anything else is 404).
struct Mirror {
    url: String,
    files: Arc<Mutex<BTreeMap<String, Vec<u8>>>>,
    requests: Arc<AtomicUsize>,
}

impl Mirror {
    fn start() -> Mirror {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let url = format!("http://{}/maven2", listener.local_addr().unwrap());
        let files: Arc<Mutex<BTreeMap<String, Vec<u8>>>> = Arc::default();
        let requests = Arc::new(AtomicUsize::new(0));
        let (f, r) = (files.clone(), requests.clone());
        // The thread ends with the test process; each connection is served
        // to completion with a deadline on reads.
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                let Ok(mut conn) = conn else { continue };
                conn.set_read_timeout(Some(std::time::Duration::from_secs(10)))
                    .unwrap();
                let mut reader = BufReader::new(conn.try_clone().unwrap());
                let mut request_line = String::new();
                if reader.read_line(&mut request_line).is_err() {
                    continue;
                }
                loop {
                    let mut header = String::new();
                    match reader.read_line(&mut header) {
                        Ok(0) | Err(_) => break,
                        Ok(_) if header == "\r\n" => break,
                        Ok(_) => {}
                    }
                }
                r.fetch_add(1, Ordering::SeqCst);
                let path = request_line
                    .split_whitespace()
                    .nth(1)
                    .unwrap_or("")
                    .trim_start_matches("/maven2/")
                    .to_string();
                let body = f.lock().unwrap().get(&path).cloned();
                let (status, body) = match body {
                    Some(b) => ("200 OK", b),
                    None => ("404 Not Found", b"not found".to_vec()),
                };
                let _ = write!(
                    conn,
                    "HTTP/1.1 {status}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = conn.write_all(&body);
            }
        });
        Mirror {
            url,
            files,
            requests,
        }
    }

    fn put(&self, path: &str, body: Vec<u8>) {
        self.files.lock().unwrap().insert(path.to_string(), body);
    }

    fn requests(&self) -> usize {
        self.requests.load(Ordering::SeqCst)
    }
}

/// A jar with two schemas, one nested file and one unrelated entry.
fn jar(entries: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, data) in entries {
        w.start_file(*name, opts).unwrap();
        w.write_all(data).unwrap();
    }
    w.finish().unwrap().into_inner()
}

fn sample_jar() -> Vec<u8> {
    jar(&[
        ("META-INF/MANIFEST.MF", b"Manifest-Version: 1.0\n"),
        ("common/message/BRequest.json", b"{\"b\": 1}"),
        ("common/message/ARequest.json", b"{\"a\": 1}"),
        ("common/message/nested/CRequest.json", b"{}"),
        ("common/message/README.txt", b"not a schema"),
        ("org/apache/kafka/Thing.class", b"\xca\xfe\xba\xbe"),
    ])
}

const VERSION: &str = "9.9.9";
const JAR_PATH: &str = "org/apache/kafka/kafka-clients/9.9.9/kafka-clients-9.9.9.jar";

fn source() -> SchemaSource {
    SchemaSource::parse("maven:org.apache.kafka:kafka-clients:9.9.9", Path::new("")).unwrap()
}

#[test]
fn a_locked_jar_is_downloaded_verified_cached_and_then_read_offline() {
    let mirror = Mirror::start();
    let data = sample_jar();
    let sha = sha256_hex(&data);
    mirror.put(JAR_PATH, data.clone());
    let cache_dir = tempfile::tempdir().unwrap();
    let maven = Maven::new(&mirror.url, Cache::at(cache_dir.path()));

    let first = source().load_from(&maven, Some(&sha)).unwrap();
    let names: Vec<&str> = first.files.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["ARequest.json", "BRequest.json"]);
    assert_eq!(first.files[0].1, b"{\"a\": 1}");
    let Origin::Jar(j) = &first.origin else {
        panic!("{:?}", first.origin)
    };
    assert_eq!(j.sha256, sha);
    assert!(matches!(j.found, Found::Downloaded { .. }), "{:?}", j.found);
    let cached = cache_dir.path().join("maven").join(JAR_PATH);
    assert_eq!(j.path, cached);
    assert_eq!(std::fs::read(&cached).unwrap(), data);
    let partials: Vec<_> = std::fs::read_dir(cached.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n.to_string_lossy().starts_with(".partial"))
        .collect();
    assert!(partials.is_empty(), "{partials:?}");
    assert_eq!(mirror.requests(), 1);

    // The mirror is gone: the cache alone serves it, verified again.
    let offline = Maven::new("http://127.0.0.1:9", Cache::at(cache_dir.path()));
    let again = source().load_from(&offline, Some(&sha)).unwrap();
    assert_eq!(again.files, first.files);
    assert!(matches!(again.origin.jar().unwrap().found, Found::Cache));
    assert_eq!(mirror.requests(), 1);
}

#[test]
fn a_jar_that_is_not_the_locked_one_is_refused_and_never_cached() {
    let mirror = Mirror::start();
    mirror.put(JAR_PATH, sample_jar());
    let cache_dir = tempfile::tempdir().unwrap();
    let maven = Maven::new(&mirror.url, Cache::at(cache_dir.path()));
    let wrong = "0".repeat(64);
    let err = source().load_from(&maven, Some(&wrong)).unwrap_err();
    let SourceError::Maven { source, .. } = &err else {
        panic!("{err:?}")
    };
    assert!(
        matches!(**source, MavenError::Verification { .. }),
        "{source:?}"
    );
    let chain = chain(&err);
    assert!(chain.contains(&wrong), "{chain}");
    assert!(chain.contains("the lock"), "{chain}");
    let dir = cache_dir.path().join("maven").join(JAR_PATH);
    assert!(!dir.exists());
    let leftovers: Vec<_> = std::fs::read_dir(dir.parent().unwrap()).unwrap().collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn a_corrupt_cached_jar_is_replaced_by_a_verified_download() {
    let mirror = Mirror::start();
    let data = sample_jar();
    let sha = sha256_hex(&data);
    mirror.put(JAR_PATH, data.clone());
    let cache_dir = tempfile::tempdir().unwrap();
    let cached = cache_dir.path().join("maven").join(JAR_PATH);
    std::fs::create_dir_all(cached.parent().unwrap()).unwrap();
    std::fs::write(&cached, b"truncated").unwrap();
    let maven = Maven::new(&mirror.url, Cache::at(cache_dir.path()));
    let got = source().load_from(&maven, Some(&sha)).unwrap();
    assert!(matches!(
        got.origin.jar().unwrap().found,
        Found::Downloaded { .. }
    ));
    assert_eq!(std::fs::read(&cached).unwrap(), data);
}

#[test]
fn an_unlocked_release_is_checked_against_the_published_sha256_or_sha1() {
    let mirror = Mirror::start();
    let data = sample_jar();
    mirror.put(JAR_PATH, data.clone());
    let artifact = Artifact::kafka_clients(VERSION).unwrap();

    // No checksum published: refused, nothing cached.
    let cache_dir = tempfile::tempdir().unwrap();
    let maven = Maven::new(&mirror.url, Cache::at(cache_dir.path()));
    let err = maven.fetch(&artifact, &Expect::Published).unwrap_err();
    assert!(
        chain(&err).contains("no usable checksum"),
        "{}",
        chain(&err)
    );
    assert!(!cache_dir.path().join("maven").join(JAR_PATH).exists());

    // A wrong .sha1 (old releases publish no .sha256): refused.
    mirror.put(
        &format!("{JAR_PATH}.sha1"),
        b"0123456789012345678901234567890123456789".to_vec(),
    );
    let err = maven.fetch(&artifact, &Expect::Published).unwrap_err();
    assert!(matches!(err, MavenError::Verification { .. }), "{err:?}");

    // The right .sha1, as `sha1sum` prints it (digest, then the file name).
    use sha1::Digest as _;
    let sha1 = sha1::Sha1::digest(&data)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<String>();
    mirror.put(
        &format!("{JAR_PATH}.sha1"),
        format!("{sha1}  kafka-clients-9.9.9.jar\n").into_bytes(),
    );
    let jar = maven.fetch(&artifact, &Expect::Published).unwrap();
    assert_eq!(jar.sha256, sha256_hex(&data));

    // A .sha256 wins over the .sha1 when there is one.
    let other_cache = tempfile::tempdir().unwrap();
    let maven = Maven::new(&mirror.url, Cache::at(other_cache.path()));
    mirror.put(&format!("{JAR_PATH}.sha256"), "f".repeat(64).into_bytes());
    let err = maven.fetch(&artifact, &Expect::Published).unwrap_err();
    assert!(chain(&err).contains("sha256"), "{}", chain(&err));
}

#[test]
fn not_a_jar_and_oversized_entries_are_errors_not_reads() {
    let tmp = tempfile::tempdir().unwrap();
    let p = tmp.path().join("x.jar");
    std::fs::write(&p, b"this is not a zip file").unwrap();
    assert!(matches!(read_jar(&p), Err(SourceError::Jar { .. })));

    let big = vec![b' '; MAX_SCHEMA_BYTES as usize + 1];
    std::fs::write(&p, jar(&[("common/message/Big.json", &big)])).unwrap();
    assert!(matches!(
        read_jar(&p),
        Err(SourceError::EntryTooLarge { .. })
    ));
    let exact = vec![b' '; MAX_SCHEMA_BYTES as usize];
    std::fs::write(&p, jar(&[("common/message/Big.json", &exact)])).unwrap();
    assert_eq!(read_jar(&p).unwrap()[0].1.len(), exact.len());
}

#[test]
fn bad_source_specs_are_refused_before_anything_is_fetched() {
    for bad in [
        "maven:com.example:other:1",
        "maven:org.apache.kafka:kafka-clients",
        "maven:../../etc",
        "maven:",
    ] {
        assert!(
            SchemaSource::parse(bad, Path::new("")).is_err(),
            "{bad} accepted"
        );
    }
    assert_eq!(
        SchemaSource::parse("maven:4.4.0", Path::new("")).unwrap(),
        SchemaSource::KafkaClients {
            version: "4.4.0".into()
        }
    );
    assert_eq!(
        SchemaSource::parse("some/dir", Path::new("/root")).unwrap(),
        SchemaSource::Dir("/root/some/dir".into())
    );
}

/// The CLI with no network, no cache and no local Maven repository: a
/// failure that names each place tried and each variable to set.
#[test]
fn without_network_or_cache_the_error_says_what_was_tried_and_what_to_set() {
    let tree = tempfile::tempdir().unwrap();
    let root = tree.path().join("vendoring-crate");
    std::fs::create_dir_all(root.join("schemas")).unwrap();
    std::fs::write(
        root.join("schemas/kafka.toml"),
        "release = \"9.9\"\nsource = \"maven:9.9.9\"\n",
    )
    .unwrap();
    let home = tempfile::tempdir().unwrap();
    let cache = tempfile::tempdir().unwrap();
    // A port nothing listens on: bind, read the port, close.
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let out = Command::new(env!("CARGO_BIN_EXE_kwire-codegen"))
        .arg("check")
        .current_dir(&root)
        .env_remove("KWIRE_SCHEMA_DIR")
        .env_remove("XDG_CACHE_HOME")
        .env("HOME", home.path())
        .env("KWIRE_CACHE_DIR", cache.path())
        .env("KWIRE_MAVEN_URL", format!("http://127.0.0.1:{port}/maven2"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{text}");
    for needle in [
        "kafka-clients-9.9.9.jar: absent",
        &cache.path().display().to_string(),
        &format!("http://127.0.0.1:{port}/maven2/{JAR_PATH}"),
        "KWIRE_MAVEN_URL",
        "KWIRE_CACHE_DIR",
        "KWIRE_SCHEMA_DIR",
        "--schemas",
    ] {
        assert!(text.contains(needle), "{needle:?} missing from:\n{text}");
    }
}

/// The root is found from the current directory; the flag beats the
/// environment, which beats the pin.
#[test]
fn the_root_comes_from_the_current_directory_and_the_flag_beats_the_environment() {
    let tree = tempfile::tempdir().unwrap();
    let root = tree.path().join("crate");
    let deep = root.join("src/deeper");
    std::fs::create_dir_all(&deep).unwrap();
    std::fs::create_dir_all(root.join("schemas")).unwrap();
    std::fs::write(
        root.join("schemas/kafka.toml"),
        "release = \"x\"\nsource = \"pinned-dir\"\n",
    )
    .unwrap();
    for d in ["pinned-dir", "env-dir", "flag-dir"] {
        std::fs::create_dir_all(root.join(d)).unwrap();
        std::fs::write(root.join(d).join(format!("{d}.json")), "{}").unwrap();
    }
    let fetch = |env: Option<&str>, flag: Option<&str>| {
        let mut c = Command::new(env!("CARGO_BIN_EXE_kwire-codegen"));
        c.arg("fetch")
            .current_dir(&deep)
            .env_remove("KWIRE_SCHEMA_DIR");
        if let Some(e) = env {
            c.env("KWIRE_SCHEMA_DIR", root.join(e));
        }
        if let Some(f) = flag {
            c.arg("--schemas").arg(root.join(f));
        }
        let out = c.output().unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    assert!(fetch(None, None).contains("pinned-dir"));
    assert!(fetch(Some("env-dir"), None).contains("env-dir"));
    assert!(fetch(Some("env-dir"), Some("flag-dir")).contains("flag-dir"));

    let out = Command::new(env!("CARGO_BIN_EXE_kwire-codegen"))
        .arg("check")
        .current_dir(tree.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("no schemas/kafka.toml"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut c = e.source();
    while let Some(x) = c {
        s.push_str("\n  caused by: ");
        s.push_str(&x.to_string());
        c = x.source();
    }
    s
}
