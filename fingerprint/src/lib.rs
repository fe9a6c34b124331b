//! Fingerprints shared by `kwire-codegen` and kwire's build script, so both
//! compute exactly the same thing. Only std and sha2 may be used here: the
//! build script of every kwire build compiles this crate.
//!
//! The lock (`schemas/kafka.sha256`) is in `sha256sum` format: one
//! `<sha256>  <file>` line per pinned schema file, then, when the schemas
//! come from a `kafka-clients` jar, a line for that jar. The schema part
//! alone ([`lock_text`]) is what `generated/MANIFEST` fingerprints, so the
//! jar line can be recorded or dropped without touching generated code.

use std::path::Path;

/// The first line of the lock.
/// Unchanged since the first lock: the schema part is fingerprinted.
pub const LOCK_HEADER: &str =
    "# sha256 of each pinned Kafka schema file (verify with `sha256sum -c` in the schema directory)";
/// The comment before the jar line of the lock.
pub const LOCK_JAR_HEADER: &str =
    "# sha256 of the kafka-clients jar the schemas are read from (Maven Central; \
     `sha256sum -c --ignore-missing` skips it in a schema directory)";

/// sha256 of bytes, lower-case hex.
pub fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    hex(&sha2::Sha256::digest(data))
}

/// Lower-case hex of a digest.
pub fn hex(digest: &[u8]) -> String {
    use std::fmt::Write as _;
    let mut s = String::with_capacity(digest.len() * 2);
    for b in digest {
        let _ = write!(s, "{b:02x}");
    }
    s
}

/// A fingerprint over named contents: sorted by name, each as name,
/// newline, length, newline, bytes.
pub fn fingerprint_of<'a>(items: impl IntoIterator<Item = (&'a str, &'a [u8])>) -> String {
    use sha2::Digest;
    let mut v: Vec<(&str, &[u8])> = items.into_iter().collect();
    v.sort_by(|a, b| a.0.cmp(b.0));
    let mut h = sha2::Sha256::new();
    for (name, data) in v {
        h.update(name.as_bytes());
        h.update(b"\n");
        h.update(data.len().to_string().as_bytes());
        h.update(b"\n");
        h.update(data);
    }
    hex(&h.finalize())
}

/// Every file under `dir` whose name ends with `suffix`, as (relative path
/// with `/` separators, contents), sorted. Missing directory: empty.
pub fn read_tree(dir: &Path, suffix: &str) -> std::io::Result<Vec<(String, Vec<u8>)>> {
    fn walk(
        base: &Path,
        dir: &Path,
        suffix: &str,
        out: &mut Vec<(String, Vec<u8>)>,
    ) -> std::io::Result<()> {
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            let path = entry.path();
            if entry.file_type()?.is_dir() {
                walk(base, &path, suffix, out)?;
            } else if path.to_string_lossy().ends_with(suffix) {
                let rel = path
                    .strip_prefix(base)
                    .unwrap_or(&path)
                    .components()
                    .map(|c| c.as_os_str().to_string_lossy().into_owned())
                    .collect::<Vec<_>>()
                    .join("/");
                out.push((rel, std::fs::read(&path)?));
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    if dir.is_dir() {
        walk(dir, dir, suffix, &mut out)?;
    }
    out.sort();
    Ok(out)
}

/// The `*.json` files directly in `dir` (symbolic links followed), sorted
/// by name, with their contents: a schema directory as both the build
/// script and the generator read it.
pub fn read_schema_dir(dir: &Path) -> std::io::Result<Vec<(String, Vec<u8>)>> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        let Some(name) = path.file_name().map(|n| n.to_string_lossy().into_owned()) else {
            continue;
        };
        if name.ends_with(".json") && path.is_file() {
            files.push((name, std::fs::read(&path)?));
        }
    }
    files.sort();
    Ok(files)
}

/// The generator's own fingerprint: its sources, so a generator change
/// without a regeneration is caught.
pub fn generator_fingerprint(codegen_dir: &Path) -> std::io::Result<String> {
    let files = read_tree(&codegen_dir.join("src"), ".rs")?;
    Ok(fingerprint_of(
        files.iter().map(|(n, d)| (n.as_str(), d.as_slice())),
    ))
}

/// The fingerprint of generated output: every `.rs` file under `generated/`.
pub fn output_fingerprint(generated_dir: &Path) -> std::io::Result<String> {
    let files = read_tree(generated_dir, ".rs")?;
    Ok(fingerprint_of(
        files.iter().map(|(n, d)| (n.as_str(), d.as_slice())),
    ))
}

/// Parses `key = "value"` lines of the pin file (a TOML subset).
pub fn pin_value(pin_text: &str, key: &str) -> Option<String> {
    for line in pin_text.lines() {
        let line = line.trim();
        if line.starts_with('#') {
            continue;
        }
        if let Some((k, v)) = line.split_once('=') {
            if k.trim() == key {
                let v = v.trim();
                return Some(v.trim_matches('"').to_string());
            }
        }
    }
    None
}

/// Parses a `sha256sum`-style lock: `<hex>  <file>` per line, as
/// (file, hex), in file order.
pub fn parse_lock(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let (h, f) = l.split_once("  ")?;
            Some((f.trim().to_string(), h.trim().to_string()))
        })
        .collect()
}

/// Whether a lock entry names a schema file (the rest name jars).
pub fn is_schema_entry(file: &str) -> bool {
    file.ends_with(".json")
}

/// The schema part of the lock from (file, sha256) entries sorted by file.
pub fn schema_lock_text<'a>(entries: impl IntoIterator<Item = (&'a str, &'a str)>) -> String {
    let mut s = String::from(LOCK_HEADER);
    s.push('\n');
    for (name, hash) in entries {
        s.push_str(hash);
        s.push_str("  ");
        s.push_str(name);
        s.push('\n');
    }
    s
}

/// The schema part of the lock for a set of schema files (sorted by name).
pub fn lock_text(files: &[(String, Vec<u8>)]) -> String {
    let hashes: Vec<(&str, String)> = files
        .iter()
        .map(|(n, d)| (n.as_str(), sha256_hex(d)))
        .collect();
    schema_lock_text(hashes.iter().map(|(n, h)| (*n, h.as_str())))
}

/// The schema part of a lock file as [`lock_text`] would write it: what
/// `generated/MANIFEST` fingerprints.
pub fn schema_part_of_lock(lock_file_text: &str) -> String {
    let mut entries: Vec<(String, String)> = parse_lock(lock_file_text)
        .into_iter()
        .filter(|(f, _)| is_schema_entry(f))
        .collect();
    entries.sort();
    schema_lock_text(entries.iter().map(|(f, h)| (f.as_str(), h.as_str())))
}

/// The whole lock file: the schema part, then the jar line if any.
pub fn lock_file_text(schema_part: &str, jar: Option<(&str, &str)>) -> String {
    let mut s = schema_part.to_string();
    if let Some((file, hash)) = jar {
        s.push_str(LOCK_JAR_HEADER);
        s.push('\n');
        s.push_str(hash);
        s.push_str("  ");
        s.push_str(file);
        s.push('\n');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schema_part_ignores_the_jar_line_and_order() {
        let files = vec![
            ("A.json".to_string(), b"a".to_vec()),
            ("B.json".to_string(), b"b".to_vec()),
        ];
        let part = lock_text(&files);
        let whole = lock_file_text(&part, Some(("kafka-clients-4.4.0.jar", &"0".repeat(64))));
        assert_ne!(part, whole);
        assert_eq!(schema_part_of_lock(&whole), part);
        let swapped: String = {
            let mut lines: Vec<&str> = part.lines().collect();
            lines.swap(1, 2);
            lines.join("\n") + "\n"
        };
        assert_eq!(schema_part_of_lock(&swapped), part);
        assert_eq!(
            parse_lock(&whole).last().map(|(f, _)| f.as_str()),
            Some("kafka-clients-4.4.0.jar")
        );
    }

    #[test]
    fn sha256_of_nothing_is_the_known_value() {
        assert_eq!(
            sha256_hex(b""),
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
