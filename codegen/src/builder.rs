//! Vendoring for a user's crate, in the manner of `prost-build`: a
//! [`Builder`] takes a schema source (a Kafka release's `kafka-clients` jar
//! from Maven Central, or a directory), a [`Selection`] and an output
//! directory, and writes message modules that compile against the
//! published `kwire` runtime (`::kwire`, with `default-features = false`).
//!
//! Beside the modules it writes `MANIFEST` (the source, the selection, the
//! generator and a fingerprint of the output) and `kafka.sha256` (the lock:
//! the sha256 of each schema file used and of the jar), so that
//! [`Builder::verify`] can tell, offline and in milliseconds, that the
//! output is what these settings wrote, and [`Builder::check`] (or
//! `kwire-codegen check --vendored DIR` in CI) can regenerate it from the
//! locked schemas and compare byte for byte.
//!
//! ```no_run
//! // build.rs of a crate that vendors four APIs into src/kafka/ (committed).
//! let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/kafka");
//! kwire_codegen::Builder::kafka_release("4.4.0")
//!     .apis(["Produce", "Fetch", "Metadata", "ApiVersions"])
//!     .side(kwire_codegen::Side::Client)
//!     .out_dir(out)
//!     .build_script()?;
//! # Ok::<(), kwire_codegen::GenError>(())
//! ```
//!
//! and in the crate, `#[path = "kafka/mod.rs"] mod kafka;` (or, for output
//! written to `OUT_DIR`, `mod kafka { include!(concat!(env!("OUT_DIR"),
//! "/kafka/mod.rs")); }`).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::emit::{self, EmitOptions, FixedFeatures, Gate};
use crate::error::GenError;
use crate::fingerprint::{fingerprint_of, lock_file_text, lock_text, sha256_hex};
use crate::pin;
use crate::run::{load_model, Outcome};
use crate::select::{ApiSelector, Selection, Side};
use crate::source::{SchemaSource, Schemas};

/// The manifest written beside vendored output.
pub const MANIFEST: &str = "MANIFEST";
/// The lock written beside vendored output (`sha256sum` format).
pub const LOCK: &str = "kafka.sha256";
/// `generate`, `verify` (the default) or `check`: what
/// [`Builder::build_script`] does.
pub const ENV_MODE: &str = "KWIRE_VENDOR";

const MANIFEST_HEADER: &str =
    "# kwire vendored output: written by kwire-codegen's Builder, checked \
     by `kwire-codegen check --vendored DIR`. Do not edit.";

/// Where the schemas come from, as the manifest records it.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Source {
    /// A `kafka-clients` release from the Maven repository.
    Release(String),
    /// A directory, and the release label the output names.
    Dir { path: PathBuf, label: String },
}

/// Vendors a selection of Kafka's messages into a crate. See the
/// [module docs](self).
#[derive(Debug, Clone)]
pub struct Builder {
    source: Source,
    selection: Selection,
    serde: bool,
    out_dir: Option<PathBuf>,
}

/// What one run would write: file name (relative to the output directory)
/// to contents, `MANIFEST` and the lock included.
pub type Files = BTreeMap<String, String>;

impl Builder {
    /// Schemas from the `kafka-clients` jar of `version` (`"4.4.0"`; 2.2.0
    /// and later), fetched once from Maven Central (or `$KWIRE_MAVEN_URL`),
    /// verified, and kept in the cache (`$KWIRE_CACHE_DIR`, default
    /// `~/.cache/kwire`).
    pub fn kafka_release(version: impl Into<String>) -> Builder {
        Builder::with_source(Source::Release(version.into()))
    }

    /// Schemas from a directory of Kafka's JSON (a Kafka checkout's
    /// `clients/src/main/resources/common/message`); `release` is the label
    /// the generated docs carry.
    pub fn schema_dir(path: impl Into<PathBuf>, release: impl Into<String>) -> Builder {
        Builder::with_source(Source::Dir {
            path: path.into(),
            label: release.into(),
        })
    }

    fn with_source(source: Source) -> Builder {
        Builder {
            source,
            selection: Selection::default(),
            serde: false,
            out_dir: None,
        }
    }

    /// Adds an API by name (`"Produce"`) or key (`0i16`); each brings its
    /// request and its response.
    pub fn api(mut self, api: impl Into<ApiSelector>) -> Builder {
        self.selection.apis.push(api.into());
        self
    }

    /// Adds several APIs.
    pub fn apis<A: Into<ApiSelector>>(mut self, apis: impl IntoIterator<Item = A>) -> Builder {
        self.selection.apis.extend(apis.into_iter().map(Into::into));
        self
    }

    /// Adds a data or header message by schema name
    /// (`"ConsumerProtocolSubscription"`).
    pub fn message(mut self, name: impl Into<String>) -> Builder {
        self.selection.messages.push(name.into());
        self
    }

    /// Client (default: encode requests, decode responses), broker, or both.
    pub fn side(mut self, side: Side) -> Builder {
        self.selection.side = side;
        self
    }

    /// Leaves out every version below `version` of the selected APIs.
    pub fn min_version(mut self, version: i16) -> Builder {
        self.selection.min_version = version;
        self
    }

    /// JSON (serde) for every message, in Kafka's field names. The crate
    /// then needs `serde` (derive), `serde_json` and kwire's `serde`
    /// feature.
    pub fn serde(mut self, on: bool) -> Builder {
        self.serde = on;
        self
    }

    /// Where the modules go (`mod.rs` is the root).
    pub fn out_dir(mut self, dir: impl Into<PathBuf>) -> Builder {
        self.out_dir = Some(dir.into());
        self
    }

    /// The selection this builder stands for.
    pub fn selection(&self) -> &Selection {
        &self.selection
    }

    fn dir(&self) -> Result<&Path, GenError> {
        self.out_dir
            .as_deref()
            .ok_or_else(|| GenError::Select("no output directory: call Builder::out_dir".into()))
    }

    fn release_label(&self) -> &str {
        match &self.source {
            Source::Release(v) => v,
            Source::Dir { label, .. } => label,
        }
    }

    fn schema_source(&self) -> Result<SchemaSource, GenError> {
        Ok(match &self.source {
            Source::Release(v) => SchemaSource::parse(&format!("maven:{v}"), Path::new(""))?,
            Source::Dir { path, .. } => SchemaSource::Dir(path.clone()),
        })
    }

    /// The settings part of the manifest: everything that decides the
    /// output besides the schemas. A directory's path is not part of it
    /// (it differs between machines; the lock names the files' contents).
    fn settings(&self) -> String {
        let source = match &self.source {
            Source::Release(v) => format!("maven:org.apache.kafka:kafka-clients:{v}"),
            Source::Dir { .. } => "directory".into(),
        };
        format!(
            "release {}\nsource {source}\nruntime ::kwire\n{}serde {}\ngenerator kwire-codegen {}\n",
            self.release_label(),
            self.selection.manifest_lines(),
            self.serde,
            env!("CARGO_PKG_VERSION"),
        )
    }

    /// The selected side's codecs always exist; the other side's exist
    /// exactly when kwire has that side's feature (its `Request` trait asks
    /// for them then, whichever crate in the build turned the feature on).
    fn features(&self) -> FixedFeatures {
        let side = |on: bool, runtime: &str| {
            if on {
                Gate::On
            } else {
                Gate::Runtime(runtime.to_string())
            }
        };
        let s = self.selection.side;
        let onoff = |b: bool| if b { Gate::On } else { Gate::Off };
        FixedFeatures(BTreeMap::from([
            (
                "client".to_string(),
                side(s.client(), "::kwire::__if_client"),
            ),
            (
                "broker".to_string(),
                side(s.broker(), "::kwire::__if_broker"),
            ),
            ("messages".to_string(), Gate::On),
            ("serde".to_string(), onoff(self.serde)),
            ("testing".to_string(), Gate::Off),
        ]))
    }

    /// Everything the output directory should hold for `schemas`: a pure
    /// function of the settings and the schema files.
    pub fn files(&self, schemas: &Schemas) -> Result<Files, GenError> {
        let model = self.selection.apply(&load_model(&schemas.files)?)?;
        let opts = EmitOptions::vendored(self.release_label(), self.features());
        let mut files = emit::generate(&model, &opts)?;
        let used: Vec<(String, Vec<u8>)> = schemas
            .files
            .iter()
            .filter(|(name, _)| model.messages.iter().any(|m| &m.file == name))
            .cloned()
            .collect();
        let jar = schemas
            .origin
            .jar()
            .map(|j| (j.artifact.file_name(), j.sha256.clone()));
        let lock = lock_file_text(
            &lock_text(&used),
            jar.as_ref().map(|(n, h)| (n.as_str(), h.as_str())),
        );
        let output_fp = fingerprint_of(files.iter().map(|(k, v)| (k.as_str(), v.as_bytes())));
        let mut manifest = format!("{MANIFEST_HEADER}\n{}", self.settings());
        let _ = writeln!(manifest, "schemas {}", sha256_hex(lock.as_bytes()));
        let _ = writeln!(manifest, "output {output_fp}");
        for a in &model.apis {
            let _ = writeln!(
                manifest,
                "api {} {} {}",
                a.key,
                a.name,
                model.request(a).valid
            );
        }
        for m in model.messages.iter().filter(|m| m.api_key.is_none()) {
            let _ = writeln!(manifest, "message {} {}", m.name, m.valid);
        }
        files.insert(MANIFEST.into(), manifest);
        files.insert(LOCK.into(), lock);
        Ok(files)
    }

    /// Reads the schemas: a jar must match the lock already in the output
    /// directory when there is one (else Maven's published checksum).
    fn load(&self) -> Result<Schemas, GenError> {
        let source = self.schema_source()?;
        let locked = match (self.out_dir.as_deref(), source.jar_file_name()) {
            (Some(dir), Some(jar)) => std::fs::read_to_string(dir.join(LOCK))
                .ok()
                .and_then(|l| pin::locked_jar_sha256(&l, &jar)),
            _ => None,
        };
        Ok(source.load(locked.as_deref())?)
    }

    /// Writes the output directory: changed files are written, stale ones
    /// removed, the rest left alone.
    pub fn generate(&self) -> Result<Outcome, GenError> {
        let dir = self.dir()?;
        let files = self.files(&self.load()?)?;
        write_files(dir, &files)
    }

    /// The offline check: the manifest was written by these settings and
    /// this generator version, the lock is the one it names, and the
    /// modules are the ones it fingerprints. Reads only the output
    /// directory (no schemas, no network).
    pub fn verify(&self) -> Result<(), GenError> {
        let dir = self.dir()?;
        let problems = verify_dir(dir, Some(&self.settings()))?;
        drift(dir, problems)
    }

    /// The full check: regenerates from the locked schemas (the cached jar,
    /// or a fetch verified against the lock) and compares every file.
    pub fn check(&self) -> Result<(), GenError> {
        let dir = self.dir()?;
        let mut problems = verify_dir(dir, Some(&self.settings()))?;
        let schemas = self.load()?;
        if let Ok(lock) = std::fs::read_to_string(dir.join(LOCK)) {
            for d in pin::lock_differences(&lock, &schemas.files)
                .into_iter()
                .filter(|d| !d.ends_with("in the schema source, not in the lock"))
            {
                problems.push(format!("{LOCK}: {d}"));
            }
        }
        let want = self.files(&schemas)?;
        let have = read_output(dir)?;
        for (name, text) in &want {
            match have.get(name) {
                None => problems.push(format!("{name}: missing")),
                Some(t) if t != text => problems.push(format!(
                    "{name}: differs from what the locked schemas generate (first at line {})",
                    first_difference(t, text)
                )),
                Some(_) => {}
            }
        }
        for name in have.keys().filter(|n| !want.contains_key(*n)) {
            problems.push(format!("{name}: not produced by these settings (stale)"));
        }
        problems.sort();
        problems.dedup();
        drift(dir, problems)
    }

    /// What a `build.rs` calls. By default verifies (offline; generates
    /// only when the directory has no manifest yet). `KWIRE_VENDOR=generate`
    /// regenerates, `KWIRE_VENDOR=check` runs the full check.
    pub fn build_script(&self) -> Result<(), GenError> {
        let dir = self.dir()?;
        println!("cargo:rerun-if-changed={}", dir.display());
        println!("cargo:rerun-if-env-changed={ENV_MODE}");
        match std::env::var(ENV_MODE).as_deref() {
            Ok("generate") => self.generate().map(|_| ()),
            Ok("check") => self.check(),
            Ok("verify") | Ok("") | Err(_) => {
                if dir.join(MANIFEST).is_file() {
                    self.verify()
                } else {
                    self.generate().map(|_| ())
                }
            }
            Ok(other) => Err(GenError::Select(format!(
                "{ENV_MODE}={other:?}: expected generate, verify or check"
            ))),
        }
    }

    /// The builder that wrote `dir`, from its manifest (what
    /// `kwire-codegen check --vendored DIR` runs). A directory source
    /// needs `schemas`, as its path is not recorded.
    pub fn from_manifest(dir: &Path, schemas: Option<&Path>) -> Result<Builder, GenError> {
        let path = dir.join(MANIFEST);
        let text = std::fs::read_to_string(&path).map_err(|e| GenError::Io {
            path: path.display().to_string(),
            message: e.to_string(),
        })?;
        let line = |k: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(k)?.strip_prefix(' '))
                .map(str::trim)
                .ok_or_else(|| GenError::Select(format!("{}: no `{k}` line", path.display())))
        };
        let release = line("release")?;
        let source = match (line("source")?, schemas) {
            (_, Some(d)) => Source::Dir {
                path: d.to_path_buf(),
                label: release.to_string(),
            },
            ("directory", None) => {
                return Err(GenError::Select(format!(
                    "{}: generated from a directory of schemas; pass it with --schemas DIR",
                    dir.display()
                )))
            }
            (spec, None) => match SchemaSource::parse(spec, Path::new(""))? {
                SchemaSource::KafkaClients { version } => Source::Release(version),
                SchemaSource::Dir(_) => {
                    return Err(GenError::Select(format!(
                        "{}: source {spec:?} is not a release",
                        path.display()
                    )))
                }
            },
        };
        Ok(Builder {
            source,
            selection: Selection::from_manifest(&text)?,
            serde: line("serde")? == "true",
            out_dir: Some(dir.to_path_buf()),
        })
    }
}

fn drift(dir: &Path, problems: Vec<String>) -> Result<(), GenError> {
    if problems.is_empty() {
        Ok(())
    } else {
        Err(GenError::Drift {
            dir: dir.display().to_string(),
            problems,
        })
    }
}

fn first_difference(a: &str, b: &str) -> usize {
    a.lines()
        .zip(b.lines())
        .position(|(x, y)| x != y)
        .map(|i| i + 1)
        .unwrap_or_else(|| a.lines().count().min(b.lines().count()) + 1)
}

fn io_err(path: &Path, e: std::io::Error) -> GenError {
    GenError::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

/// The files kwire-codegen owns under `dir`: `.rs` files, the manifest and
/// the lock. A missing directory holds nothing.
fn read_output(dir: &Path) -> Result<Files, GenError> {
    if !dir.exists() {
        return Ok(Files::new());
    }
    let mut out = Files::new();
    for (name, data) in crate::fingerprint::read_tree(dir, "").map_err(|e| io_err(dir, e))? {
        if name.ends_with(".rs") || name == MANIFEST || name == LOCK {
            out.insert(name, String::from_utf8_lossy(&data).into_owned());
        }
    }
    Ok(out)
}

/// The one I/O step of `generate`.
fn write_files(dir: &Path, files: &Files) -> Result<Outcome, GenError> {
    let old = read_output(dir)?;
    let mut outcome = Outcome::default();
    for (name, text) in files {
        if old.get(name) == Some(text) {
            outcome.unchanged += 1;
            continue;
        }
        let path = dir.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| io_err(parent, e))?;
        }
        std::fs::write(&path, text).map_err(|e| io_err(&path, e))?;
        outcome.written.push(name.clone());
    }
    for name in old.keys().filter(|n| !files.contains_key(*n)) {
        let path = dir.join(name);
        std::fs::remove_file(&path).map_err(|e| io_err(&path, e))?;
        outcome.removed.push(name.clone());
    }
    Ok(outcome)
}

/// The offline part of a check: manifest settings (when `settings` is
/// given), lock fingerprint and output fingerprint.
fn verify_dir(dir: &Path, settings: Option<&str>) -> Result<Vec<String>, GenError> {
    let have = read_output(dir)?;
    let Some(manifest) = have.get(MANIFEST) else {
        return Ok(vec![format!(
            "{MANIFEST}: missing (nothing was generated here yet: run with {ENV_MODE}=generate)"
        )]);
    };
    let mut problems = Vec::new();
    if let Some(want) = settings {
        for line in want.lines() {
            let key = line.split(' ').next().unwrap_or(line);
            let found = manifest
                .lines()
                .find(|l| l.split(' ').next() == Some(key))
                .unwrap_or("(none)");
            if found != line {
                problems.push(format!(
                    "{MANIFEST}: written with `{found}`, the builder now says `{line}` \
                     (regenerate: {ENV_MODE}=generate)"
                ));
            }
        }
    }
    let field = |k: &str| {
        manifest
            .lines()
            .find_map(|l| l.strip_prefix(k)?.strip_prefix(' '))
            .unwrap_or("")
    };
    match have.get(LOCK) {
        None => problems.push(format!("{LOCK}: missing")),
        Some(lock) if sha256_hex(lock.as_bytes()) != field("schemas") => problems.push(format!(
            "{LOCK}: edited since it was written (its sha256 is not the manifest's)"
        )),
        Some(_) => {}
    }
    let rs: Vec<(&str, &[u8])> = have
        .iter()
        .filter(|(n, _)| n.ends_with(".rs"))
        .map(|(n, t)| (n.as_str(), t.as_bytes()))
        .collect();
    if fingerprint_of(rs) != field("output") {
        problems.push(format!(
            "the modules were edited, added or removed since they were written (their \
             fingerprint is not the manifest's); `kwire-codegen check --vendored {}` names the files",
            dir.display()
        ));
    }
    Ok(problems)
}

impl Outcome {
    /// One line: what a run wrote.
    pub fn summary(&self) -> String {
        format!(
            "{} written, {} removed, {} unchanged",
            self.written.len(),
            self.removed.len(),
            self.unchanged
        )
    }
}
