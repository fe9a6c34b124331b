// Fingerprints shared by kwire-codegen and the kwire build script (which
// `include!`s this file), so both compute exactly the same thing.
// Only std and sha2 may be used here.

/// sha256 of bytes, lower-case hex.
pub fn sha256_hex(data: &[u8]) -> String {
    use sha2::Digest;
    let d = sha2::Sha256::digest(data);
    let mut s = String::with_capacity(64);
    for b in d.iter() {
        s.push_str(&format!("{b:02x}"));
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
    let d = h.finalize();
    let mut s = String::with_capacity(64);
    for b in d.iter() {
        s.push_str(&format!("{b:02x}"));
    }
    s
}

/// Every file under `dir` whose name ends with `suffix`, as (relative path
/// with `/` separators, contents), sorted. Missing directory: empty.
pub fn read_tree(dir: &std::path::Path, suffix: &str) -> std::io::Result<Vec<(String, Vec<u8>)>> {
    fn walk(
        base: &std::path::Path,
        dir: &std::path::Path,
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

/// The generator's own fingerprint: its sources, so a generator change
/// without a regeneration is caught.
pub fn generator_fingerprint(codegen_dir: &std::path::Path) -> std::io::Result<String> {
    let files = read_tree(&codegen_dir.join("src"), ".rs")?;
    Ok(fingerprint_of(
        files.iter().map(|(n, d)| (n.as_str(), d.as_slice())),
    ))
}

/// The fingerprint of generated output: every `.rs` file under `generated/`.
pub fn output_fingerprint(generated_dir: &std::path::Path) -> std::io::Result<String> {
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

/// Parses a `sha256sum`-style lock: `<hex>  <file>` per line.
pub fn parse_lock(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let (h, f) = l.split_once("  ")?;
            Some((f.trim().to_string(), h.trim().to_string()))
        })
        .collect()
}

/// The lock text for a set of schema files (sorted by name).
pub fn lock_text(files: &[(String, Vec<u8>)]) -> String {
    let mut s = String::from(
        "# sha256 of each pinned Kafka schema file (verify with `sha256sum -c` in the schema directory)\n",
    );
    for (name, data) in files {
        s.push_str(&format!("{}  {name}\n", sha256_hex(data)));
    }
    s
}
