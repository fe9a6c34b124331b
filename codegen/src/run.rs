//! The thin I/O shell around the pure pipeline: read the pinned schemas,
//! generate in memory, then write (`generate`) or compare (`check`).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use crate::emit::{self, EmitOptions};
use crate::error::GenError;
use crate::fingerprint::lock_file_text;
use crate::fingerprint::{fingerprint_of, generator_fingerprint, sha256_hex};
use crate::model::{MessageKind, Model};
use crate::pin::{self, Pin};
use crate::schema;
use crate::source::{SchemaSource, Schemas};

pub const MANIFEST: &str = "MANIFEST";
/// Heads the lock's lines for the historic sources' jars.
pub const HISTORIC_LOCK_HEADER: &str = "# sha256 of the kafka-clients jars that versions below the pin's minimum are read from (`historic` in kafka.toml; KIP-896)";

/// Parses every schema file and builds the model.
pub fn load_model(files: &[(String, Vec<u8>)]) -> Result<Model, GenError> {
    let mut parsed = Vec::with_capacity(files.len());
    for (name, data) in files {
        let text = std::str::from_utf8(data).map_err(|e| GenError::Json {
            file: name.clone(),
            message: format!("not UTF-8: {e}"),
        })?;
        parsed.push(schema::parse_str(name, text)?);
    }
    Model::from_files(&parsed)
}

/// Schema files as read: (file name, contents).
pub type SchemaFiles = Vec<(String, Vec<u8>)>;

/// The model `generate` emits: the pin's schemas, plus the versions below
/// the pin's minimum that the historic sources still define
/// ([`crate::history::union`]). Without historic sources, the pin's model.
pub fn load_union(
    pin_release: &str,
    files: &[(String, Vec<u8>)],
    historic: &[(String, SchemaFiles)],
) -> Result<crate::history::union::Union, GenError> {
    let parse_all = |files: &[(String, Vec<u8>)]| -> Result<Vec<schema::ParsedFile>, GenError> {
        files
            .iter()
            .map(|(name, data)| {
                let text = std::str::from_utf8(data).map_err(|e| GenError::Json {
                    file: name.clone(),
                    message: format!("not UTF-8: {e}"),
                })?;
                schema::parse_str(name, text)
            })
            .collect()
    };
    let pin = parse_all(files)?;
    let older: Vec<(String, Vec<schema::ParsedFile>)> = historic
        .iter()
        .map(|(name, f)| Ok((name.clone(), parse_all(f)?)))
        .collect::<Result<_, GenError>>()?;
    let lines: Vec<crate::history::union::OlderLine<'_>> = older
        .iter()
        .map(|(name, files)| crate::history::union::OlderLine { name, files })
        .collect();
    crate::history::union::union(pin_release, &pin, &lines)
}

/// Everything `generate` would write under `generated/`, manifest included.
pub fn expected_output(
    model: &Model,
    opts: &EmitOptions,
    lock: &str,
    generator_fp: &str,
) -> Result<BTreeMap<String, String>, GenError> {
    let mut files = emit::generate(model, opts)?;
    let output_fp = fingerprint_of(files.iter().map(|(k, v)| (k.as_str(), v.as_bytes())));
    files.insert(
        MANIFEST.into(),
        manifest(
            model,
            opts,
            &sha256_hex(lock.as_bytes()),
            generator_fp,
            &output_fp,
        )?,
    );
    Ok(files)
}

/// The manifest: fingerprints the build script checks, and one line per
/// API and message so the next run can report what changed.
pub fn manifest(
    model: &Model,
    opts: &EmitOptions,
    lock_fp: &str,
    generator_fp: &str,
    output_fp: &str,
) -> Result<String, GenError> {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# kwire generated/ manifest: checked by build.rs; written by kwire-codegen. Do not edit."
    );
    let _ = writeln!(s, "release {}", opts.release);
    let _ = writeln!(s, "schemas {lock_fp}");
    let _ = writeln!(s, "generator {generator_fp}");
    let _ = writeln!(s, "output {output_fp}");
    for a in &model.apis {
        let rq = model.request(a);
        let _ = writeln!(
            s,
            "api {} {} {}{}",
            a.key,
            a.name,
            rq.valid,
            if rq.latest_unstable {
                " latest-unstable"
            } else {
                ""
            }
        );
    }
    for m in &model.messages {
        let fields: usize = m.structs.iter().map(|s| s.fields.len()).sum();
        let _ = writeln!(
            s,
            "message {} {} flexible {} structs {} fields {}",
            m.name,
            m.valid,
            m.flexible,
            m.structs.len(),
            fields
        );
    }
    Ok(s)
}

/// Where things are, and the schemas read for this run.
#[derive(Debug, Clone)]
pub struct Layout {
    pub root: PathBuf,
    pub out_dir: PathBuf,
    pub pin: Pin,
    /// What was read: `--schemas`, `$KWIRE_SCHEMA_DIR` or the pin's source.
    pub source: SchemaSource,
    pub schemas: Schemas,
    /// The pin's historic sources, read (newest first).
    pub historic: Vec<Historic>,
}

/// One historic source and its schemas.
#[derive(Debug, Clone)]
pub struct Historic {
    pub source: SchemaSource,
    pub schemas: Schemas,
}

impl Historic {
    /// How reports and errors name it: the release of a jar, else the directory.
    pub fn name(&self) -> String {
        match &self.source {
            SchemaSource::KafkaClients { version } => version.clone(),
            SchemaSource::Dir(d) => d.display().to_string(),
        }
    }
}

impl Layout {
    /// Reads the pin under `root` and the schemas of `schemas` (or of the
    /// pin). A jar must match the lock's sha256 for it when the lock has one.
    pub fn new(
        root: &Path,
        schemas: Option<&Path>,
        out: Option<&Path>,
    ) -> Result<Layout, GenError> {
        let pin = Pin::read(root)?;
        let source = pin.source(root, schemas)?;
        let locked = match (pin::read_lock(root), source.jar_file_name()) {
            (Some(lock), Some(jar)) => pin::locked_jar_sha256(&lock, &jar),
            _ => None,
        };
        let schemas = source.load(locked.as_deref())?;
        let mut historic = Vec::new();
        for source in pin.historic_sources(root)? {
            // Verified like the pin: against the lock's sha256 once it has
            // one, else the repository's published checksum.
            let locked = match (pin::read_lock(root), source.jar_file_name()) {
                (Some(lock), Some(jar)) => pin::locked_jar_sha256(&lock, &jar),
                _ => None,
            };
            let schemas = source.load(locked.as_deref())?;
            historic.push(Historic { source, schemas });
        }
        Ok(Layout {
            root: root.to_path_buf(),
            out_dir: out
                .map(Path::to_path_buf)
                .unwrap_or_else(|| root.join("generated")),
            pin,
            source,
            schemas,
            historic,
        })
    }

    /// The historic sources' schema files, named for the union.
    pub fn historic_files(&self) -> Vec<(String, SchemaFiles)> {
        self.historic
            .iter()
            .map(|h| (h.name(), h.schemas.files.clone()))
            .collect()
    }

    /// The whole lock file this run stands for: the schema lines, then the
    /// jar line of the pinned source. Reading the pinned jar records its
    /// sha256; reading anything else keeps the committed one for the
    /// pinned jar, so an override never drops it.
    pub fn lock_file(&self) -> String {
        let schema_part = pin::lock_text(&self.schemas.files);
        let pinned_jar = self
            .pin
            .pinned_source(&self.root)
            .ok()
            .and_then(|s| s.jar_file_name());
        let jar = pinned_jar.and_then(|name| {
            let sha = match self.schemas.origin.jar() {
                Some(j) if j.artifact.file_name() == name => Some(j.sha256.clone()),
                _ => pin::read_lock(&self.root).and_then(|l| pin::locked_jar_sha256(&l, &name)),
            }?;
            Some((name, sha))
        });
        let mut text = lock_file_text(
            &schema_part,
            jar.as_ref().map(|(n, h)| (n.as_str(), h.as_str())),
        );
        let historic: Vec<(String, String)> = self
            .historic
            .iter()
            .filter_map(|h| {
                let j = h.schemas.origin.jar()?;
                Some((j.artifact.file_name(), j.sha256.clone()))
            })
            .collect();
        if !historic.is_empty() {
            text.push_str(HISTORIC_LOCK_HEADER);
            text.push('\n');
            for (name, sha) in historic {
                let _ = writeln!(text, "{sha}  {name}");
            }
        }
        text
    }
}

fn io_err(path: &Path, e: std::io::Error) -> GenError {
    GenError::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    }
}

/// The files currently under `dir` (everything kwire-codegen owns: `.rs`
/// files and the manifest).
fn existing_output(dir: &Path) -> Result<BTreeMap<String, String>, GenError> {
    let mut out = BTreeMap::new();
    for (name, data) in crate::fingerprint::read_tree(dir, "").map_err(|e| io_err(dir, e))? {
        if name.ends_with(".rs") || name == MANIFEST {
            out.insert(name, String::from_utf8_lossy(&data).into_owned());
        }
    }
    Ok(out)
}

/// What `generate` did or `check` found.
#[derive(Debug, Default)]
pub struct Outcome {
    pub written: Vec<String>,
    pub removed: Vec<String>,
    pub unchanged: usize,
    pub report: String,
}

/// What one generation run produces in memory.
struct Prepared {
    model: Model,
    added: Vec<crate::history::union::Added>,
    out: BTreeMap<String, String>,
}

fn prepare(layout: &Layout, include_about: bool) -> Result<Prepared, GenError> {
    let files = &layout.schemas.files;
    let union = load_union(&layout.pin.release, files, &layout.historic_files())?;
    let model = union.model;
    let lock = pin::lock_text(files);
    let codegen_dir = layout.root.join("codegen");
    let gen_fp = generator_fingerprint(&codegen_dir).map_err(|e| io_err(&codegen_dir, e))?;
    let opts = EmitOptions {
        release: layout.pin.release.clone(),
        include_about,
        ..EmitOptions::new("")
    };
    let mut out = expected_output(&model, &opts, &lock, &gen_fp)?;
    // The manifest names the historic sources after the release, so the
    // next run's report and a reader see where the oldest versions came from.
    if let Some(m) = out.get_mut(MANIFEST) {
        let historic: Vec<String> = layout.historic.iter().map(Historic::name).collect();
        if !historic.is_empty() {
            let release_line = format!("release {}\n", opts.release);
            *m = m.replacen(
                &release_line,
                &format!("{release_line}historic {}\n", historic.join(" ")),
                1,
            );
        }
    }
    Ok(Prepared {
        model,
        added: union.added,
        out,
    })
}

/// Regenerates `generated/` and the lock. Stale files are removed; files
/// whose content is unchanged are not touched.
pub fn generate(layout: &Layout, include_about: bool) -> Result<Outcome, GenError> {
    let Prepared { model, added, out } = prepare(layout, include_about)?;
    let lock = layout.lock_file();
    let old = existing_output(&layout.out_dir)?;
    let mut outcome = Outcome::default();
    for (name, text) in &out {
        if old.get(name) == Some(text) {
            outcome.unchanged += 1;
            continue;
        }
        let path = layout.out_dir.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| io_err(parent, e))?;
        }
        std::fs::write(&path, text).map_err(|e| io_err(&path, e))?;
        outcome.written.push(name.clone());
    }
    for name in old.keys() {
        if !out.contains_key(name) {
            let path = layout.out_dir.join(name);
            std::fs::remove_file(&path).map_err(|e| io_err(&path, e))?;
            outcome.removed.push(name.clone());
        }
    }
    let lock_path = layout.root.join(pin::LOCK_FILE);
    if std::fs::read_to_string(&lock_path).ok().as_deref() != Some(lock.as_str()) {
        std::fs::write(&lock_path, &lock).map_err(|e| io_err(&lock_path, e))?;
        outcome.written.push(pin::LOCK_FILE.into());
    }
    outcome.report = report(
        &model,
        &added,
        layout,
        old.get(MANIFEST).map(String::as_str),
        out.get(MANIFEST).map(String::as_str).unwrap_or(""),
        &outcome,
    );
    Ok(outcome)
}

/// Compares the committed tree with what the pinned schemas generate.
/// Returns the readable differences; empty means in sync.
pub fn check(layout: &Layout) -> Result<Vec<String>, GenError> {
    let mut problems = Vec::new();
    let lock_path = layout.root.join(pin::LOCK_FILE);
    match std::fs::read_to_string(&lock_path) {
        Ok(lock) => {
            for d in pin::lock_differences(&lock, &layout.schemas.files) {
                problems.push(format!("schema lock: {d}"));
            }
            let want = layout.lock_file();
            if problems.is_empty() && lock != want {
                let jar = layout.source.jar_file_name();
                match jar {
                    Some(name) if pin::locked_jar_sha256(&lock, &name).is_none() => {
                        problems.push(format!("schema lock: no sha256 for {name}"))
                    }
                    _ => problems.push(format!(
                        "schema lock: {} is not as `generate` writes it",
                        pin::LOCK_FILE
                    )),
                }
            }
        }
        Err(e) => problems.push(format!("schema lock {}: {e}", lock_path.display())),
    }
    let out = prepare(layout, false)?.out;
    let old = existing_output(&layout.out_dir)?;
    for (name, text) in &out {
        match old.get(name) {
            None => problems.push(format!("generated/{name}: missing")),
            Some(t) if t != text => {
                let line = t
                    .lines()
                    .zip(text.lines())
                    .position(|(a, b)| a != b)
                    .map(|i| i + 1)
                    .unwrap_or_else(|| t.lines().count().min(text.lines().count()) + 1);
                problems.push(format!(
                    "generated/{name}: differs from the schemas' output (first at line {line})"
                ));
            }
            Some(_) => {}
        }
    }
    for name in old.keys() {
        if !out.contains_key(name) {
            problems.push(format!(
                "generated/{name}: not produced by the pinned schemas (stale)"
            ));
        }
    }
    Ok(problems)
}

fn api_name_of(message: &str) -> &str {
    crate::model::api_name(message)
}

fn manifest_lines(m: &str, prefix: &str) -> BTreeMap<String, String> {
    m.lines()
        .filter_map(|l| l.strip_prefix(prefix))
        .filter_map(|l| {
            let mut it = l.splitn(3, ' ');
            let a = it.next()?;
            let b = it.next()?;
            let rest = it.next().unwrap_or("");
            if prefix == "api " {
                Some((format!("{b} ({a})"), rest.to_string()))
            } else {
                Some((a.to_string(), format!("{b} {rest}")))
            }
        })
        .collect()
}

/// The short report `generate` prints.
pub fn report(
    model: &Model,
    added: &[crate::history::union::Added],
    layout: &Layout,
    old_manifest: Option<&str>,
    new_manifest: &str,
    o: &Outcome,
) -> String {
    let mut s = String::new();
    // The model paired every request with its response already (a pairing
    // error fails `generate` before this report is written).
    let apis = &model.apis;
    let removed = apis.iter().filter(|a| model.is_removed(a)).count();
    let versions: i64 = apis
        .iter()
        .filter(|a| !model.is_removed(a))
        .map(|a| {
            let v = model.request(a).valid;
            i64::from(v.hi - v.lo + 1)
        })
        .sum();
    let count = |k: MessageKind| {
        model
            .messages
            .iter()
            .filter(|m| m.kind == k && !m.valid.is_empty())
            .count()
    };
    let structs: usize = model
        .messages
        .iter()
        .filter(|m| !m.valid.is_empty())
        .map(|m| m.structs.len())
        .sum();
    let unstable: Vec<String> = apis
        .iter()
        .filter(|a| model.request(a).latest_unstable)
        .map(|a| format!("{} v{}", a.name, model.request(a).valid.hi))
        .collect();
    let _ = writeln!(
        s,
        "kwire-codegen: Kafka {} schemas from {}",
        layout.pin.release, layout.schemas.origin
    );
    let _ = writeln!(
        s,
        "  APIs: {} ({} live, {} removed and kept as reserved keys), {} request/response versions",
        apis.len(),
        apis.len() - removed,
        removed,
        versions
    );
    let _ = writeln!(
        s,
        "  message types: {} requests, {} responses, {} headers, {} data; {} structs in all",
        count(MessageKind::Request),
        count(MessageKind::Response),
        count(MessageKind::Header),
        count(MessageKind::Data) + count(MessageKind::Metadata),
        structs
    );
    if !unstable.is_empty() {
        let _ = writeln!(
            s,
            "  latest versions marked unstable (left out of the client table): {}",
            unstable.join(", ")
        );
    }
    let historic: Vec<String> = added
        .iter()
        .filter(|a| a.message.ends_with("Request"))
        .map(|a| format!("{} v{} ({})", api_name_of(&a.message), a.versions, a.line))
        .collect();
    if !historic.is_empty() {
        let _ = writeln!(
            s,
            "  historic versions below the pin's minimum (KIP-896), from older releases: {}",
            historic.join(", ")
        );
    }
    for w in &model.warnings {
        let _ = writeln!(s, "  warning: {w}");
    }
    match old_manifest {
        None => {
            let _ = writeln!(s, "  no previous output: everything is new");
        }
        Some(old) => {
            let mut changes = Vec::new();
            for prefix in ["api ", "message "] {
                let a = manifest_lines(old, prefix);
                let b = manifest_lines(new_manifest, prefix);
                let keys: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
                for k in keys {
                    match (a.get(k), b.get(k)) {
                        (Some(x), Some(y)) if x != y => {
                            changes.push(format!("{prefix}{k}: {x} -> {y}"))
                        }
                        (None, Some(y)) => changes.push(format!("{prefix}{k}: new ({y})")),
                        (Some(x), None) => changes.push(format!("{prefix}{k}: gone (was {x})")),
                        _ => {}
                    }
                }
            }
            if changes.is_empty() {
                let _ = writeln!(s, "  since the previous output: no API or message changes");
            } else {
                let _ = writeln!(s, "  since the previous output:");
                for c in changes {
                    let _ = writeln!(s, "    {c}");
                }
            }
        }
    }
    let _ = writeln!(
        s,
        "  files: {} written, {} removed, {} unchanged",
        o.written.len(),
        o.removed.len(),
        o.unchanged
    );
    s
}

/// `kwire-codegen check --vendored DIR`: the full check of output a user's
/// [`crate::Builder`] wrote, with the settings its manifest records, against
/// the schemas its lock names (a directory source needs `schemas`).
pub fn check_vendored(dir: &Path, schemas: Option<&Path>) -> Result<(), GenError> {
    crate::Builder::from_manifest(dir, schemas)?.check()
}

/// `kwire-codegen generate --vendored DIR`: rewrites output a user's
/// [`crate::Builder`] wrote, with the settings its manifest records.
pub fn generate_vendored(dir: &Path, schemas: Option<&Path>) -> Result<Outcome, GenError> {
    crate::Builder::from_manifest(dir, schemas)?.generate()
}
