//! The union of versions across release lines: KIP-896 (Kafka 4.0) raised
//! the minimum version of many APIs (Produce v0-2, Fetch v0-3, OffsetCommit
//! v0-1, ...); peers older than 2.1 and clients such as librdkafka before
//! 2.x still speak them. A version below the pin's minimum takes its layout
//! from the newest older release line that still defined it.
//!
//! Kafka never changes a released version's layout, so two lines may only
//! share a version number if their layouts agree field for field: before
//! anything is merged, every version both sides define (unstable latest
//! versions aside, which may change freely) is compared with
//! [`compare_version`], and a difference on the wire stops the generator
//! with [`GenError::LayoutsDisagree`]. Differences that are not on the wire
//! (a renamed field or struct, another default, `ignorable`, deprecation)
//! are allowed and the pin's wording wins.
//!
//! The merge works on the field trees as the schemas write them, because
//! the facts the emitter needs (a struct's possible versions, minimum
//! sizes, tag order) must be resolved once over the union by the model;
//! the merged model is then compared again with both inputs, version by
//! version, so a merge that changed any layout cannot pass silently.
//!
//! Decisions:
//! * APIs the pin removed altogether (`"validVersions": "none"`: the
//!   ZooKeeper-era inter-broker APIs, KIP-500) stay removed: no client
//!   sends them, and a reserved key is what the pin says they are.
//! * Historic versions are deprecated by definition (Kafka removed them):
//!   the merged `deprecatedVersions` covers them, whatever the older jar
//!   says (3.9.1's jar and the 3.9 branch tip differ there, KAFKA-18468;
//!   deprecation is not layout).
//! * Only versions *below* the pin's minimum are taken from older lines; a
//!   version the pin defines is always the pin's layout.

use std::collections::BTreeSet;

use crate::error::GenError;
use crate::history::compare::compare_version;
use crate::model::{FieldType, MessageModel, Model};
use crate::schema::{FieldSpec, MessageSpec, ParsedFile, StructSpec};
use crate::versions::{Versions, OPEN};

/// One older release line whose versions the pin no longer defines.
#[derive(Debug, Clone, Copy)]
pub struct OlderLine<'a> {
    /// How errors and the report name it: `3.9.2`.
    pub name: &'a str,
    pub files: &'a [ParsedFile],
}

/// Versions of one message taken from an older line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Added {
    pub message: String,
    pub versions: Versions,
    pub line: String,
}

/// The merged schemas, their model, and what was added.
#[derive(Debug, Clone)]
pub struct Union {
    pub files: Vec<ParsedFile>,
    pub model: Model,
    pub added: Vec<Added>,
}

/// Merges `older` (newest first) under the pin's schemas `pin`, named
/// `pin_name` in errors.
pub fn union(
    pin_name: &str,
    pin: &[ParsedFile],
    older: &[OlderLine<'_>],
) -> Result<Union, GenError> {
    let mut files = pin.to_vec();
    let mut model = Model::from_files(&files)?;
    let mut added = Vec::new();
    let mut current_name = pin_name.to_string();
    for line in older {
        let old = Model::from_files(line.files)?;
        // What this line adds: per message, the versions below the current minimum.
        let mut plan: Vec<(usize, Versions)> = Vec::new();
        for (i, f) in files.iter().enumerate() {
            let (Some(m), Some(o)) = (model.find(&f.spec.name), old.find(&f.spec.name)) else {
                continue;
            };
            if let Some(h) = historic_versions(&old, o, m) {
                plan.push((i, h));
            }
        }
        // A disagreement stops the union where historic versions would
        // join the disagreeing lineage; elsewhere (pre-release APIs that
        // changed in place, such as KIP-932's share-group state in 3.9) it
        // changes nothing generated and is reported as a warning.
        let mut warnings = Vec::new();
        for (message, version, diffs) in disagreements(&old, &model) {
            let api = crate::model::api_name(&message);
            let joined = plan
                .iter()
                .any(|(i, _)| crate::model::api_name(&files[*i].spec.name) == api);
            if joined {
                return Err(GenError::LayoutsDisagree {
                    message,
                    version,
                    older: line.name.to_string(),
                    newer: current_name,
                    diffs,
                });
            }
            warnings.push(format!(
                "{message} v{version}: {} and {current_name} disagree on the wire ({}); \
                 nothing generated depends on it (no version below the pin's minimum is taken)",
                line.name,
                diffs.join("; ")
            ));
        }
        let mut next = files.clone();
        let mut this_line = Vec::new();
        for &(i, h) in &plan {
            let f = &mut next[i];
            let Some(of) = line.files.iter().find(|p| p.spec.name == f.spec.name) else {
                continue;
            };
            merge_message(&mut f.spec, &of.spec, h).map_err(|problem| GenError::Union {
                line: line.name.to_string(),
                message: f.spec.name.clone(),
                problem,
            })?;
            this_line.push(Added {
                message: f.spec.name.clone(),
                versions: h,
                line: line.name.to_string(),
            });
        }
        let mut merged = Model::from_files(&next)?;
        merged.warnings.extend(warnings);
        verify(&merged, &old, line.name, &model, &this_line)?;
        files = next;
        model = merged;
        added.extend(this_line);
        current_name = format!("{current_name} + {}", line.name);
    }
    Ok(Union {
        files,
        model,
        added,
    })
}

/// The versions `old` defines below the live message `m`'s minimum, when
/// they join `m`'s range without a gap.
fn historic_versions(line: &Model, old: &MessageModel, m: &MessageModel) -> Option<Versions> {
    if !m.is_live() || !old.is_live() || old.valid.lo >= m.valid.lo {
        return None;
    }
    // An unstable latest version was never released (KIP-932's share-group
    // APIs in 3.9): requests carry the flag for both sides of an API.
    let unstable = match old.kind {
        crate::model::MessageKind::Response => line
            .apis
            .iter()
            .find(|a| Some(a.key) == old.api_key)
            .is_some_and(|a| line.request(a).latest_unstable),
        _ => old.latest_unstable,
    };
    let mut hi = old.valid.hi.min(m.valid.lo - 1);
    if unstable && hi == old.valid.hi {
        hi -= 1;
    }
    let h = Versions::new(old.valid.lo, hi);
    // A gap between the older line's range and the pin's cannot be one
    // range of versions: left out (none in Kafka's history).
    (!h.is_empty() && hi == m.valid.lo - 1).then_some(h)
}

/// The versions both messages define and both call stable.
fn shared_versions(a: &MessageModel, b: &MessageModel) -> Vec<i16> {
    let both = a.valid.intersect(&b.valid);
    if both.is_empty() {
        return Vec::new();
    }
    (both.lo..=both.hi)
        .filter(|&v| !(a.latest_unstable && v == a.valid.hi))
        .filter(|&v| !(b.latest_unstable && v == b.valid.hi))
        .collect()
}

/// The versions `older` and `newer` both define whose layouts differ on
/// the wire, per message: `(message, version, differences)`.
pub fn disagreements(older: &Model, newer: &Model) -> Vec<(String, i16, Vec<String>)> {
    let mut out = Vec::new();
    for o in &older.messages {
        let Some(n) = newer.find(&o.name) else {
            continue;
        };
        for v in shared_versions(o, n) {
            let diffs: Vec<String> = compare_version(o, n, v)
                .into_iter()
                .filter(|d| d.change.breaks_wire())
                .map(|d| format!("{} {}", d.path, describe(&d.change)))
                .collect();
            if !diffs.is_empty() {
                out.push((o.name.clone(), v, diffs));
            }
        }
    }
    out
}

fn describe(c: &crate::history::compare::FieldChange) -> String {
    use crate::history::compare::FieldChange as C;
    match c {
        C::Added { tag: None } => "added".into(),
        C::Added { tag: Some(t) } => format!("added (tag {t})"),
        C::Removed { tag: None } => "removed".into(),
        C::Removed { tag: Some(t) } => format!("removed (tag {t})"),
        C::TagReused { tag, was } => format!("reuses tag {tag} of {was}"),
        C::Renamed { to } => format!("renamed to {to}"),
        C::Moved => "moved".into(),
        C::Retyped { from, to } => format!("retyped {from} -> {to}"),
        C::TypeRenamed { from, to } => format!("type renamed {from} -> {to}"),
        C::Nullable { from, to } => format!("nullable {from} -> {to}"),
        C::Tag { from, to } => format!("tag {from:?} -> {to:?}"),
        C::Default { from, to } => format!("default {from} -> {to}"),
        C::Ignorable { from, to } => format!("ignorable {from} -> {to}"),
    }
}

/// The merged model must have the older line's layout at every added
/// version and the previous layout at every other.
fn verify(
    merged: &Model,
    old: &Model,
    old_name: &str,
    before: &Model,
    added: &[Added],
) -> Result<(), GenError> {
    for m in &merged.messages {
        let internal = |version: i16, against: &str, diffs: Vec<String>| GenError::Union {
            line: old_name.to_string(),
            message: m.name.clone(),
            problem: format!(
                "the merged layout of v{version} differs from {against}'s: {} (a generator bug)",
                diffs.join("; ")
            ),
        };
        if let Some(b) = before.find(&m.name) {
            for v in shared_versions(b, m) {
                let d: Vec<String> = compare_version(b, m, v)
                    .into_iter()
                    .map(|d| format!("{} {}", d.path, describe(&d.change)))
                    .collect();
                if !d.is_empty() {
                    return Err(internal(v, "the pin", d));
                }
            }
        }
        if let Some(a) = added.iter().find(|a| a.message == m.name) {
            let Some(o) = old.find(&m.name) else { continue };
            for v in a.versions.lo..=a.versions.hi {
                let d: Vec<String> = compare_version(o, m, v)
                    .into_iter()
                    .filter(|d| d.change.breaks_wire())
                    .map(|d| format!("{} {}", d.path, describe(&d.change)))
                    .collect();
                if !d.is_empty() {
                    return Err(internal(v, old_name, d));
                }
            }
        }
    }
    Ok(())
}

fn parse(what: &str, s: &str) -> Result<Versions, String> {
    Versions::parse(s).ok_or_else(|| format!("{what}: invalid version range {s:?}"))
}

fn opt(what: &str, s: &Option<String>) -> Result<Versions, String> {
    match s {
        Some(s) => parse(what, s),
        None => Ok(Versions::NONE),
    }
}

/// `a` and `b` as one range, when they are one.
fn join(a: Versions, b: Versions) -> Option<Versions> {
    if a.is_empty() {
        return Some(b);
    }
    if b.is_empty() {
        return Some(a);
    }
    let (lo, hi) = (a.lo.min(b.lo), a.hi.max(b.hi));
    let touching = i32::from(a.lo.max(b.lo)) <= i32::from(a.hi.min(b.hi)) + 1;
    touching.then_some(Versions::new(lo, hi))
}

fn text(v: Versions) -> Option<String> {
    (!v.is_empty()).then(|| v.to_string())
}

/// Adds versions `h` of `old` to `spec`, whose own versions are all above
/// `h` (those keep the pin's layout).
fn merge_message(spec: &mut MessageSpec, old: &MessageSpec, h: Versions) -> Result<(), String> {
    let valid = parse("validVersions", &spec.valid_versions)?;
    let keep = Versions::new(h.hi + 1, OPEN);
    spec.valid_versions = Versions::new(h.lo, valid.hi).to_string();

    let old_flexible = opt("flexibleVersions", &old.flexible_versions)?.intersect(&h);
    let flexible = opt("flexibleVersions", &spec.flexible_versions)?.intersect(&keep);
    if !old_flexible.is_empty() {
        let joined = join(old_flexible, flexible)
            .ok_or_else(|| "flexible versions would not be one open range".to_string())?;
        spec.flexible_versions = Some(Versions::new(joined.lo, OPEN).to_string());
    }

    let deprecated = opt("deprecatedVersions", &spec.deprecated_versions)?.intersect(&keep);
    spec.deprecated_versions = Some(join(h, deprecated).unwrap_or(h).to_string());

    merge_fields(&mut spec.fields, &old.fields, h, keep, "")?;

    for pc in &mut spec.common_structs {
        let pv = parse("versions", &pc.versions)?.intersect(&keep);
        pc.versions = pv.to_string();
        for f in &mut pc.fields {
            lift(f, keep)?;
        }
    }
    // Common structs: those the pin has get the older versions' fields;
    // those only the older line has come along when a merged field uses them.
    for oc in &old.common_structs {
        if let Some(pc) = spec.common_structs.iter_mut().find(|c| c.name == oc.name) {
            let pv = parse("versions", &pc.versions)?.intersect(&keep);
            let ov = parse("versions", &oc.versions)?.intersect(&h);
            pc.versions = join(ov, pv)
                .map(|v| v.to_string())
                .ok_or_else(|| format!("common struct {}: versions would split", oc.name))?;
            merge_fields(&mut pc.fields, &oc.fields, h, keep, &oc.name)?;
        }
    }
    let used = struct_types(&spec.fields);
    for oc in &old.common_structs {
        let defined = spec.common_structs.iter().any(|c| c.name == oc.name);
        if !defined && used.contains(&oc.name) {
            let ov = parse("versions", &oc.versions)?.intersect(&h);
            let mut fields = Vec::new();
            for f in &oc.fields {
                if let Some(r) = restrict(f, h)? {
                    fields.push(r);
                }
            }
            spec.common_structs.push(StructSpec {
                name: oc.name.clone(),
                versions: ov.to_string(),
                fields,
            });
        }
    }
    Ok(())
}

/// The struct type names fields refer to, nested fields included.
fn struct_types(fields: &[FieldSpec]) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for f in fields {
        if let Some(n) = FieldType::parse(&f.ty)
            .as_ref()
            .and_then(|t| t.struct_name())
        {
            out.insert(n.to_string());
        }
        if let Some(inner) = &f.fields {
            out.extend(struct_types(inner));
        }
    }
    out
}

fn field_versions(f: &FieldSpec) -> Result<Versions, String> {
    match &f.versions {
        Some(s) => parse("versions", s),
        None => opt("taggedVersions", &f.tagged_versions),
    }
}

fn path_of(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}.{name}")
    }
}

/// Merges the fields of one struct: the pin's fields keep their versions
/// above `h`, the older line's give theirs within `h`; a field only the
/// older line has goes after the field it follows there.
fn merge_fields(
    pin: &mut Vec<FieldSpec>,
    old: &[FieldSpec],
    h: Versions,
    keep: Versions,
    prefix: &str,
) -> Result<(), String> {
    for f in pin.iter_mut() {
        lift(f, keep)?;
    }
    let mut insert_at = 0;
    for q in old {
        let in_h = !field_versions(q)?.intersect(&h).is_empty();
        match pin.iter().position(|f| f.name == q.name) {
            Some(i) => {
                if in_h {
                    merge_field(&mut pin[i], q, h, keep, &path_of(prefix, &q.name))?;
                }
                insert_at = i + 1;
            }
            None if in_h => {
                if let Some(r) = restrict(q, h)? {
                    pin.insert(insert_at, r);
                    insert_at += 1;
                }
            }
            None => {}
        }
    }
    // A field of the pin that exists in none of the merged versions.
    let mut problem = None;
    pin.retain(|f| match field_versions(f) {
        Ok(v) => !v.is_empty(),
        Err(e) => {
            problem = Some(e);
            true
        }
    });
    problem.map_or(Ok(()), Err)
}

/// The pin's field, restricted to the pin's versions (`keep`): below them,
/// only the older line speaks.
fn lift(f: &mut FieldSpec, keep: Versions) -> Result<(), String> {
    let v = field_versions(f)?.intersect(&keep);
    let tagged = opt("taggedVersions", &f.tagged_versions)?.intersect(&keep);
    if f.versions.is_some() {
        f.versions = Some(v.to_string());
    }
    if f.tagged_versions.is_some() {
        f.tagged_versions = Some(tagged.to_string());
    }
    if f.nullable_versions.is_some() {
        let n = opt("nullableVersions", &f.nullable_versions)?.intersect(&keep);
        f.nullable_versions = text(n);
    }
    if let Some(inner) = &mut f.fields {
        for g in inner.iter_mut() {
            lift(g, keep)?;
        }
    }
    Ok(())
}

/// An older line's field, restricted to versions `h`; `None` when it has
/// none of them.
fn restrict(f: &FieldSpec, h: Versions) -> Result<Option<FieldSpec>, String> {
    let v = field_versions(f)?.intersect(&h);
    if v.is_empty() {
        return Ok(None);
    }
    let tagged = opt("taggedVersions", &f.tagged_versions)?.intersect(&h);
    if !tagged.is_empty() {
        // Tagged versions are open-ended ("N+"): a tagged field that ends
        // with the older line cannot be written as one.
        return Err(format!(
            "{}: tagged in versions {tagged} that the pin no longer has",
            f.name
        ));
    }
    let mut r = f.clone();
    r.versions = Some(v.to_string());
    r.tagged_versions = None;
    r.tag = None;
    r.nullable_versions = text(opt("nullableVersions", &f.nullable_versions)?.intersect(&h));
    if let Some(inner) = &f.fields {
        let mut out = Vec::new();
        for g in inner {
            if let Some(x) = restrict(g, h)? {
                out.push(x);
            }
        }
        r.fields = Some(out);
    }
    Ok(Some(r))
}

/// One field both sides have: versions, nullability and tagging are the
/// older line's within `h` and the pin's above it.
fn merge_field(
    p: &mut FieldSpec,
    q: &FieldSpec,
    h: Versions,
    keep: Versions,
    path: &str,
) -> Result<(), String> {
    let split = |what: &str| format!("{path}: {what} would not be one range of versions");
    let pt = FieldType::parse(&p.ty);
    let qt = FieldType::parse(&q.ty);
    let same_shape = match (&pt, &qt) {
        (Some(a), Some(b)) => {
            a == b
                || matches!((a, b), (FieldType::Struct(_), FieldType::Struct(_)))
                || matches!((a, b), (FieldType::Array(x), FieldType::Array(y))
                    if matches!((x.as_ref(), y.as_ref()), (FieldType::Struct(_), FieldType::Struct(_))))
        }
        _ => false,
    };
    if !same_shape {
        return Err(format!(
            "{path}: type {} in the older line, {} in the pin",
            q.ty, p.ty
        ));
    }
    let qv = field_versions(q)?.intersect(&h);
    let pv = field_versions(p)?.intersect(&keep);
    let v = join(qv, pv).ok_or_else(|| split("versions"))?;
    let qn = opt("nullableVersions", &q.nullable_versions)?.intersect(&h);
    let pn = opt("nullableVersions", &p.nullable_versions)?.intersect(&keep);
    let n = join(qn, pn).ok_or_else(|| split("nullableVersions"))?;
    let qtag = opt("taggedVersions", &q.tagged_versions)?.intersect(&h);
    if !qtag.is_empty() {
        let ptag = opt("taggedVersions", &p.tagged_versions)?.intersect(&keep);
        if p.tag != q.tag || ptag.lo != keep.lo {
            return Err(format!("{path}: tagged differently in the older line"));
        }
        p.tagged_versions = Some(Versions::new(qtag.lo, OPEN).to_string());
    }
    if p.versions.is_some() || !qtag.is_empty() {
        p.versions = Some(v.to_string());
    }
    p.nullable_versions = text(n);
    match (&mut p.fields, &q.fields) {
        (Some(pf), Some(qf)) => merge_fields(pf, qf, h, keep, path)?,
        (None, Some(qf)) if !qf.is_empty() => {
            return Err(format!(
            "{path}: a struct declared in place in the older line and shared (common) in the pin"
        ))
        }
        _ => {}
    }
    Ok(())
}
