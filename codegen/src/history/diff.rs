//! `kwire-codegen diff OLD NEW`: what changed between two schema sets, per
//! API and per message, and which changes are incompatible evolutions.
//!
//! The incompatibilities are the ones Kafka's own evolution checker
//! (`generator/src/main/java/org/apache/kafka/message/checker/`, used for
//! its metadata records) rejects: a released version's fields changed,
//! moved or retyped, a tag reused, the highest valid version lowered,
//! flexibleVersions shrunk. Removing old versions (KIP-896) and changing an
//! unstable latest version are not errors.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use serde::Serialize;

use super::compare::{compare_version, FieldChange, FieldDiff};
use crate::model::{FieldModel, MessageModel, Model};
use crate::versions::Versions;

#[derive(Debug, Clone, Serialize)]
pub struct SchemaDiff {
    pub old: String,
    pub new: String,
    pub new_apis: Vec<ApiSummary>,
    pub removed_apis: Vec<ApiSummary>,
    pub changed_apis: Vec<ApiDiff>,
    /// Headers, data and metadata messages.
    pub changed_messages: Vec<MessageDiff>,
    pub new_messages: Vec<String>,
    pub removed_messages: Vec<String>,
    pub incompatible: Vec<Incompatibility>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ApiSummary {
    pub key: i16,
    pub name: String,
    pub versions: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct ApiDiff {
    pub key: i16,
    pub name: String,
    pub old_versions: String,
    pub new_versions: String,
    pub versions_added: Vec<i16>,
    pub versions_removed: Vec<i16>,
    /// `(old min, new min)` when the minimum went up (KIP-896 removals).
    pub min_raised: Option<(i16, i16)>,
    /// `(old, new)` latestVersionUnstable.
    pub stability: Option<(bool, bool)>,
    pub listeners: Option<(Vec<String>, Vec<String>)>,
    pub request: Option<MessageDiff>,
    pub response: Option<MessageDiff>,
}

#[derive(Debug, Clone, Serialize, Default)]
pub struct MessageDiff {
    pub name: String,
    pub old_versions: String,
    pub new_versions: String,
    /// `(old, new)` flexibleVersions.
    pub flexible: Option<(String, String)>,
    pub fields: Vec<FieldEvolution>,
}

/// A change to a field's declaration, by path (`Topics.Partitions.Index`).
#[derive(Debug, Clone, Serialize)]
pub struct FieldEvolution {
    pub path: String,
    #[serde(flatten)]
    pub change: DeclChange,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum DeclChange {
    Added { versions: String },
    Removed { versions: String },
    Versions { from: String, to: String },
    Type { from: String, to: String },
    Nullable { from: String, to: String },
    Tag { from: String, to: String },
    Default { from: String, to: String },
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum IncompatibleKind {
    /// A released version's fields were added, removed or changed.
    FieldsChanged,
    /// A released version's fields are in another order.
    Reordered,
    Retyped,
    /// A tag of a released version now carries another field.
    TagReused,
    HighestVersionLowered,
    FlexibleVersionsShrunk,
}

#[derive(Debug, Clone, Serialize)]
pub struct Incompatibility {
    pub message: String,
    pub kind: IncompatibleKind,
    /// The released version concerned, where there is one.
    pub version: Option<i16>,
    pub detail: String,
}

impl SchemaDiff {
    pub fn is_compatible(&self) -> bool {
        self.incompatible.is_empty()
    }

    pub fn is_empty(&self) -> bool {
        self.new_apis.is_empty()
            && self.removed_apis.is_empty()
            && self.changed_apis.is_empty()
            && self.changed_messages.is_empty()
            && self.new_messages.is_empty()
            && self.removed_messages.is_empty()
    }

    pub fn api(&self, name: &str) -> Option<&ApiDiff> {
        self.changed_apis.iter().find(|a| a.name == name)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self)
            .unwrap_or_else(|e| format!("{{\"error\": {:?}}}", e.to_string()))
    }
}

fn versions_list(v: Versions) -> BTreeSet<i16> {
    if v.is_empty() {
        BTreeSet::new()
    } else {
        (v.lo..=v.hi.min(v.lo.saturating_add(1000))).collect()
    }
}

fn api_name(m: &MessageModel) -> String {
    crate::model::api_name(&m.name).to_string()
}

fn versions_text(m: &MessageModel) -> String {
    if m.latest_unstable && !m.valid.is_empty() {
        format!("{} (v{} unstable)", m.valid, m.valid.hi)
    } else {
        m.valid.to_string()
    }
}

/// Compares two models: `old` and `new` name the sources in the report.
pub fn diff(old_label: &str, old: &Model, new_label: &str, new: &Model) -> SchemaDiff {
    let mut d = SchemaDiff {
        old: old_label.to_string(),
        new: new_label.to_string(),
        new_apis: Vec::new(),
        removed_apis: Vec::new(),
        changed_apis: Vec::new(),
        changed_messages: Vec::new(),
        new_messages: Vec::new(),
        removed_messages: Vec::new(),
        incompatible: Vec::new(),
    };
    fn by_key(m: &Model) -> BTreeMap<i16, (Option<&MessageModel>, Option<&MessageModel>)> {
        let mut out: BTreeMap<i16, (Option<&MessageModel>, Option<&MessageModel>)> =
            BTreeMap::new();
        for msg in &m.messages {
            if let Some(k) = msg.api_key {
                let e = out.entry(k).or_default();
                match msg.kind {
                    crate::model::MessageKind::Request => e.0 = Some(msg),
                    crate::model::MessageKind::Response => e.1 = Some(msg),
                    _ => {}
                }
            }
        }
        out
    }
    let (ko, kn) = (by_key(old), by_key(new));
    let keys: BTreeSet<i16> = ko.keys().chain(kn.keys()).copied().collect();
    for k in keys {
        let (oreq, oresp) = ko.get(&k).copied().unwrap_or_default();
        let (nreq, nresp) = kn.get(&k).copied().unwrap_or_default();
        fn live(m: Option<&MessageModel>) -> Option<&MessageModel> {
            m.filter(|m| !m.valid.is_empty())
        }
        match (live(oreq), live(nreq)) {
            (None, Some(n)) => d.new_apis.push(ApiSummary {
                key: k,
                name: api_name(n),
                versions: versions_text(n),
            }),
            (Some(o), None) => d.removed_apis.push(ApiSummary {
                key: k,
                name: api_name(o),
                versions: versions_text(o),
            }),
            (Some(o), Some(n)) => {
                // Only request schemas carry latestVersionUnstable; the
                // response's released versions are the request's.
                let released = o.stable_valid();
                let request = diff_message(o, n, released, &mut d.incompatible);
                let response = match (oresp, nresp) {
                    (Some(a), Some(b)) => diff_message(a, b, released, &mut d.incompatible),
                    _ => None,
                };
                let vo = versions_list(o.valid);
                let vn = versions_list(n.valid);
                let a = ApiDiff {
                    key: k,
                    name: api_name(n),
                    old_versions: versions_text(o),
                    new_versions: versions_text(n),
                    versions_added: vn.difference(&vo).copied().collect(),
                    versions_removed: vo.difference(&vn).copied().collect(),
                    min_raised: (n.valid.lo > o.valid.lo).then_some((o.valid.lo, n.valid.lo)),
                    stability: (o.latest_unstable != n.latest_unstable
                        || (o.latest_unstable && o.valid.hi != n.valid.hi))
                        .then_some((o.latest_unstable, n.latest_unstable)),
                    listeners: (o.listeners != n.listeners)
                        .then(|| (o.listeners.clone(), n.listeners.clone())),
                    request,
                    response,
                };
                let changed = !a.versions_added.is_empty()
                    || !a.versions_removed.is_empty()
                    || a.stability.is_some()
                    || a.listeners.is_some()
                    || a.request.is_some()
                    || a.response.is_some();
                if changed {
                    d.changed_apis.push(a);
                }
            }
            (None, None) => {}
        }
    }
    // Everything without an api key: headers, data, metadata records.
    fn others(m: &Model) -> BTreeMap<String, &MessageModel> {
        m.messages
            .iter()
            .filter(|m| {
                m.api_key.is_none()
                    || !matches!(
                        m.kind,
                        crate::model::MessageKind::Request | crate::model::MessageKind::Response
                    )
            })
            .map(|m| (m.name.clone(), m))
            .collect()
    }
    let (mo, mn) = (others(old), others(new));
    for (name, o) in &mo {
        match mn.get(name) {
            Some(n) => {
                if let Some(md) = diff_message(o, n, o.stable_valid(), &mut d.incompatible) {
                    d.changed_messages.push(md);
                }
            }
            None => d.removed_messages.push(name.clone()),
        }
    }
    for name in mn.keys() {
        if !mo.contains_key(name) {
            d.new_messages.push(name.clone());
        }
    }
    d
}

/// The declaration changes of one message, and the incompatibilities of
/// its released versions (pushed to `errors`). `None` when nothing changed.
fn diff_message(
    o: &MessageModel,
    n: &MessageModel,
    released: Versions,
    errors: &mut Vec<Incompatibility>,
) -> Option<MessageDiff> {
    let mut md = MessageDiff {
        name: n.name.clone(),
        old_versions: versions_text(o),
        new_versions: versions_text(n),
        flexible: (o.flexible != n.flexible)
            .then(|| (o.flexible.to_string(), n.flexible.to_string())),
        fields: Vec::new(),
    };
    decl_changes(
        "",
        o,
        o.root().fields.as_slice(),
        n,
        n.root().fields.as_slice(),
        &mut md.fields,
    );

    let mut err = |kind, version, detail: String| {
        errors.push(Incompatibility {
            message: n.name.clone(),
            kind,
            version,
            detail,
        })
    };
    let ostable = released;
    if !ostable.is_empty() && !n.valid.is_empty() && n.valid.hi < ostable.hi {
        err(
            IncompatibleKind::HighestVersionLowered,
            None,
            format!("highest valid version {} -> {}", ostable.hi, n.valid.hi),
        );
    }
    if !n.valid.is_empty()
        && !o.flexible.is_empty()
        && !n.flexible.contains_range(&o.flexible.intersect(&o.valid))
    {
        err(
            IncompatibleKind::FlexibleVersionsShrunk,
            None,
            format!("flexibleVersions {} -> {}", o.flexible, n.flexible),
        );
    }
    // Every version released on the old side that the new side still has.
    let shared = ostable.intersect(&n.valid);
    if !shared.is_empty() {
        for v in shared.lo..=shared.hi {
            for fd in compare_version(o, n, v)
                .into_iter()
                .filter(|f| f.change.breaks_wire())
            {
                let (kind, detail) = describe(&fd);
                err(kind, Some(v), detail);
            }
        }
    }
    let changed = o.valid != n.valid
        || o.latest_unstable != n.latest_unstable
        || md.flexible.is_some()
        || !md.fields.is_empty();
    changed.then_some(md)
}

fn describe(fd: &FieldDiff) -> (IncompatibleKind, String) {
    let p = &fd.path;
    match &fd.change {
        FieldChange::Added { .. } => (IncompatibleKind::FieldsChanged, format!("field {p} added")),
        FieldChange::Removed { .. } => (
            IncompatibleKind::FieldsChanged,
            format!("field {p} removed"),
        ),
        FieldChange::TagReused { tag, was } => (
            IncompatibleKind::TagReused,
            format!("tag {tag} was field {was}, now field {p} of another type"),
        ),
        FieldChange::Moved => (IncompatibleKind::Reordered, format!("field {p} moved")),
        FieldChange::Retyped { from, to } => (
            IncompatibleKind::Retyped,
            format!("field {p}: type {from} -> {to}"),
        ),
        FieldChange::Nullable { from, to } => (
            IncompatibleKind::FieldsChanged,
            format!("field {p}: nullable {from} -> {to}"),
        ),
        FieldChange::Tag { from, to } => {
            let t = |x: &Option<u32>| x.map_or("untagged".to_string(), |t| format!("tag {t}"));
            let kind = if to.is_some() {
                IncompatibleKind::TagReused
            } else {
                IncompatibleKind::FieldsChanged
            };
            (kind, format!("field {p}: {} -> {}", t(from), t(to)))
        }
        other => (
            IncompatibleKind::FieldsChanged,
            format!("field {p}: {other:?}"),
        ),
    }
}

fn opt_versions(v: Versions) -> String {
    if v.is_empty() {
        "none".into()
    } else {
        v.to_string()
    }
}

fn struct_fields<'a>(m: &'a MessageModel, f: &FieldModel) -> &'a [FieldModel] {
    f.ty.struct_name()
        .and_then(|s| m.find_struct(s))
        .map(|s| s.fields.as_slice())
        .unwrap_or(&[])
}

/// Declaration changes by field name, recursively.
fn decl_changes(
    prefix: &str,
    om: &MessageModel,
    of: &[FieldModel],
    nm: &MessageModel,
    nf: &[FieldModel],
    out: &mut Vec<FieldEvolution>,
) {
    let path = |n: &str| {
        if prefix.is_empty() {
            n.to_string()
        } else {
            format!("{prefix}.{n}")
        }
    };
    for a in of {
        match nf.iter().find(|b| b.name == a.name) {
            None => out.push(FieldEvolution {
                path: path(&a.name),
                change: DeclChange::Removed {
                    versions: opt_versions(a.versions),
                },
            }),
            Some(b) => {
                let mut push = |change| {
                    out.push(FieldEvolution {
                        path: path(&a.name),
                        change,
                    })
                };
                if a.versions != b.versions {
                    push(DeclChange::Versions {
                        from: opt_versions(a.versions),
                        to: opt_versions(b.versions),
                    });
                }
                let (ta, tb) = (a.ty.schema_name(), b.ty.schema_name());
                if ta != tb {
                    push(DeclChange::Type { from: ta, to: tb });
                }
                if a.nullable != b.nullable {
                    push(DeclChange::Nullable {
                        from: opt_versions(a.nullable),
                        to: opt_versions(b.nullable),
                    });
                }
                if a.tag != b.tag || a.tagged != b.tagged {
                    let t = |f: &FieldModel| match f.tag {
                        Some(t) => format!("tag {t} in {}", f.tagged),
                        None => "untagged".into(),
                    };
                    push(DeclChange::Tag {
                        from: t(a),
                        to: t(b),
                    });
                }
                if a.default != b.default {
                    push(DeclChange::Default {
                        from: format!("{:?}", a.default),
                        to: format!("{:?}", b.default),
                    });
                }
                decl_changes(
                    &path(&a.name),
                    om,
                    struct_fields(om, a),
                    nm,
                    struct_fields(nm, b),
                    out,
                );
            }
        }
    }
    for b in nf {
        if !of.iter().any(|a| a.name == b.name) {
            out.push(FieldEvolution {
                path: path(&b.name),
                change: DeclChange::Added {
                    versions: opt_versions(b.versions),
                },
            });
        }
    }
}

fn decl_text(c: &DeclChange) -> String {
    match c {
        DeclChange::Added { versions } => format!("added (versions {versions})"),
        DeclChange::Removed { versions } => format!("removed (was versions {versions})"),
        DeclChange::Versions { from, to } => format!("versions {from} -> {to}"),
        DeclChange::Type { from, to } => format!("type {from} -> {to}"),
        DeclChange::Nullable { from, to } => format!("nullableVersions {from} -> {to}"),
        DeclChange::Tag { from, to } => format!("{from} -> {to}"),
        DeclChange::Default { from, to } => format!("default {from} -> {to}"),
    }
}

fn list(v: &[i16]) -> String {
    v.iter()
        .map(|x| format!("v{x}"))
        .collect::<Vec<_>>()
        .join(", ")
}

fn message_md(s: &mut String, what: &str, m: &MessageDiff) {
    if m.old_versions != m.new_versions {
        let _ = writeln!(
            s,
            "- {what} `{}`: versions {} -> {}",
            m.name, m.old_versions, m.new_versions
        );
    }
    if let Some((a, b)) = &m.flexible {
        let _ = writeln!(s, "- {what} `{}`: flexibleVersions {a} -> {b}", m.name);
    }
    for f in &m.fields {
        let _ = writeln!(s, "- {what} field `{}`: {}", f.path, decl_text(&f.change));
    }
}

impl SchemaDiff {
    /// The report for people.
    pub fn to_markdown(&self) -> String {
        let mut s = String::new();
        let _ = writeln!(s, "# Kafka schema diff: {} -> {}\n", self.old, self.new);
        let _ = writeln!(
            s,
            "{} new API(s), {} removed, {} changed; {} other message(s) changed, {} new, {} removed; **{} incompatible evolution(s)**.\n",
            self.new_apis.len(),
            self.removed_apis.len(),
            self.changed_apis.len(),
            self.changed_messages.len(),
            self.new_messages.len(),
            self.removed_messages.len(),
            self.incompatible.len()
        );
        if !self.incompatible.is_empty() {
            let _ = writeln!(s, "## Incompatible evolutions (errors)\n");
            for e in &self.incompatible {
                let v = e.version.map(|v| format!(" v{v}")).unwrap_or_default();
                let _ = writeln!(s, "- `{}`{v}: {:?}: {}", e.message, e.kind, e.detail);
            }
            s.push('\n');
        }
        if !self.new_apis.is_empty() {
            let _ = writeln!(s, "## New APIs\n");
            for a in &self.new_apis {
                let _ = writeln!(s, "- {} ({}): versions {}", a.name, a.key, a.versions);
            }
            s.push('\n');
        }
        if !self.removed_apis.is_empty() {
            let _ = writeln!(s, "## Removed APIs\n");
            for a in &self.removed_apis {
                let _ = writeln!(s, "- {} ({}): was versions {}", a.name, a.key, a.versions);
            }
            s.push('\n');
        }
        if !self.changed_apis.is_empty() {
            let _ = writeln!(s, "## Changed APIs\n");
            for a in &self.changed_apis {
                let _ = writeln!(
                    s,
                    "### {} ({}): {} -> {}\n",
                    a.name, a.key, a.old_versions, a.new_versions
                );
                if !a.versions_added.is_empty() {
                    let _ = writeln!(s, "- versions added: {}", list(&a.versions_added));
                }
                if !a.versions_removed.is_empty() {
                    let _ = writeln!(s, "- versions removed: {}", list(&a.versions_removed));
                }
                if let Some((x, y)) = a.min_raised {
                    let _ = writeln!(s, "- minimum raised: v{x} -> v{y}");
                }
                if let Some((x, y)) = a.stability {
                    let _ = writeln!(s, "- latestVersionUnstable: {x} -> {y}");
                }
                if let Some((x, y)) = &a.listeners {
                    let _ = writeln!(s, "- listeners: [{}] -> [{}]", x.join(", "), y.join(", "));
                }
                if let Some(m) = &a.request {
                    message_md(&mut s, "request", m);
                }
                if let Some(m) = &a.response {
                    message_md(&mut s, "response", m);
                }
                s.push('\n');
            }
        }
        if !self.changed_messages.is_empty()
            || !self.new_messages.is_empty()
            || !self.removed_messages.is_empty()
        {
            let _ = writeln!(s, "## Other messages (headers, data, metadata records)\n");
            for n in &self.new_messages {
                let _ = writeln!(s, "- `{n}`: new");
            }
            for n in &self.removed_messages {
                let _ = writeln!(s, "- `{n}`: removed");
            }
            for m in &self.changed_messages {
                message_md(&mut s, "message", m);
            }
        }
        s
    }
}
