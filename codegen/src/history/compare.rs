//! One message version across two schema sets, field by field: the wire
//! layout of version `v` in each, and what differs.
//!
//! This is the comparison behind the diff's "a released version's fields
//! changed" (Kafka's own `generator/.../message/checker` rejects the same
//! evolutions for its metadata records), and the building block for codecs
//! over the union of versions across release lines (KIP-896 historic
//! versions): two lines may share a version number only if this finds no
//! wire difference.

use serde::Serialize;

use crate::model::{DefaultValue, FieldModel, FieldType, MessageModel, StructModel};

/// A field as it is on the wire at one version.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WireField {
    pub name: String,
    /// The schema type, struct names included (`[]Topic`).
    pub ty: String,
    /// The wire shape: struct names replaced by their layout's place, so a
    /// renamed struct with the same fields compares equal.
    #[serde(skip)]
    shape: Shape,
    pub nullable: bool,
    /// The tag, when the field is tagged at this version.
    pub tag: Option<u32>,
    pub default: String,
    pub ignorable: bool,
    /// Fields of a struct or struct array, at the same version.
    pub fields: Vec<WireField>,
}

#[derive(Debug, Clone, PartialEq)]
enum Shape {
    Scalar(&'static str),
    Struct,
    Array(Box<Shape>),
}

fn shape(ty: &FieldType) -> Shape {
    match ty {
        FieldType::Bool => Shape::Scalar("bool"),
        FieldType::Int8 => Shape::Scalar("int8"),
        FieldType::Int16 => Shape::Scalar("int16"),
        FieldType::Uint16 => Shape::Scalar("uint16"),
        FieldType::Int32 => Shape::Scalar("int32"),
        FieldType::Uint32 => Shape::Scalar("uint32"),
        FieldType::Int64 => Shape::Scalar("int64"),
        FieldType::Float64 => Shape::Scalar("float64"),
        FieldType::String => Shape::Scalar("string"),
        // The same bytes on the wire: a length (or compact length) and data.
        FieldType::Bytes | FieldType::Records => Shape::Scalar("bytes"),
        FieldType::Uuid => Shape::Scalar("uuid"),
        FieldType::Struct(_) => Shape::Struct,
        FieldType::Array(inner) => Shape::Array(Box::new(shape(inner))),
    }
}

fn default_text(d: &DefaultValue) -> String {
    match d {
        DefaultValue::TypeZero => String::new(),
        DefaultValue::Bool(b) => b.to_string(),
        DefaultValue::Int(i) => i.to_string(),
        DefaultValue::Float(f) => f.to_string(),
        DefaultValue::Str(s) => format!("{s:?}"),
        DefaultValue::Null => "null".into(),
    }
}

/// The fields of `msg` present at `version`, in wire order (tagged fields
/// where the schema lists them; their order on the wire is by tag).
pub fn layout(msg: &MessageModel, version: i16) -> Vec<WireField> {
    struct_layout(msg, msg.root(), version)
}

fn struct_layout(msg: &MessageModel, s: &StructModel, version: i16) -> Vec<WireField> {
    s.fields
        .iter()
        .filter(|f| f.versions.contains(version))
        .map(|f| field_layout(msg, f, version))
        .collect()
}

fn field_layout(msg: &MessageModel, f: &FieldModel, version: i16) -> WireField {
    let fields = match f.ty.struct_name() {
        Some(name) => msg
            .find_struct(name)
            .map(|s| struct_layout(msg, s, version))
            .unwrap_or_default(),
        None => Vec::new(),
    };
    WireField {
        name: f.name.clone(),
        ty: f.ty.schema_name(),
        shape: shape(&f.ty),
        nullable: f.nullable.contains(version),
        tag: if f.tagged.contains(version) {
            f.tag
        } else {
            None
        },
        default: default_text(&f.default),
        ignorable: f.ignorable,
        fields,
    }
}

/// What differs for one field between two layouts of the same version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FieldChange {
    /// `tag`: the field is tagged at this version (peers skip unknown tags,
    /// so adding or removing a tagged field breaks nobody: KIP-482).
    Added {
        tag: Option<u32>,
    },
    Removed {
        tag: Option<u32>,
    },
    /// A tag of this version now carries another field of another shape.
    TagReused {
        tag: u32,
        was: String,
    },
    /// Same place, same wire shape, another name.
    Renamed {
        to: String,
    },
    /// The field is still there, at another place among the regular fields.
    Moved,
    Retyped {
        from: String,
        to: String,
    },
    /// The schema type name changed but the wire shape did not
    /// (`bytes` to `records`, a struct renamed).
    TypeRenamed {
        from: String,
        to: String,
    },
    Nullable {
        from: bool,
        to: bool,
    },
    /// Tagged at one side and not at the other, or another tag.
    Tag {
        from: Option<u32>,
        to: Option<u32>,
    },
    Default {
        from: String,
        to: String,
    },
    Ignorable {
        from: bool,
        to: bool,
    },
}

impl FieldChange {
    /// Whether a peer using the old layout and one using the new one would
    /// misread each other at this version.
    pub fn breaks_wire(&self) -> bool {
        match self {
            FieldChange::Added { tag } | FieldChange::Removed { tag } => tag.is_none(),
            FieldChange::TagReused { .. }
            | FieldChange::Moved
            | FieldChange::Retyped { .. }
            | FieldChange::Nullable { .. }
            | FieldChange::Tag { .. } => true,
            FieldChange::Renamed { .. }
            | FieldChange::TypeRenamed { .. }
            | FieldChange::Default { .. }
            | FieldChange::Ignorable { .. } => false,
        }
    }
}

/// One difference, at a path like `Topics.Partitions.Index`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FieldDiff {
    pub path: String,
    #[serde(flatten)]
    pub change: FieldChange,
}

/// Compares version `version` of `old` and `new` field by field. Regular
/// fields are matched by place (the wire is positional), tagged fields by
/// tag; names only explain what a difference is.
pub fn compare_version(old: &MessageModel, new: &MessageModel, version: i16) -> Vec<FieldDiff> {
    let mut out = Vec::new();
    compare_fields("", &layout(old, version), &layout(new, version), &mut out);
    out
}

fn join(prefix: &str, name: &str) -> String {
    if prefix.is_empty() {
        name.to_string()
    } else {
        format!("{prefix}.{name}")
    }
}

fn compare_fields(prefix: &str, old: &[WireField], new: &[WireField], out: &mut Vec<FieldDiff>) {
    let push = |out: &mut Vec<FieldDiff>, name: &str, change: FieldChange| {
        out.push(FieldDiff {
            path: join(prefix, name),
            change,
        })
    };
    let ro: Vec<&WireField> = old.iter().filter(|f| f.tag.is_none()).collect();
    let rn: Vec<&WireField> = new.iter().filter(|f| f.tag.is_none()).collect();
    let in_new = |name: &str| new.iter().find(|f| f.name == name);
    let in_old = |name: &str| old.iter().find(|f| f.name == name);

    // Regular fields are positional. Fields on both sides keep their
    // relative order or have moved.
    let common_old: Vec<&str> = ro
        .iter()
        .map(|f| f.name.as_str())
        .filter(|n| rn.iter().any(|f| f.name == *n))
        .collect();
    let common_new: Vec<&str> = rn
        .iter()
        .map(|f| f.name.as_str())
        .filter(|n| ro.iter().any(|f| f.name == *n))
        .collect();
    for (k, name) in common_old.iter().enumerate() {
        if common_new.get(k) != Some(name) {
            push(out, name, FieldChange::Moved);
        }
    }
    // A field only one side has, at the same place as one only the other
    // side has, with the same wire shape: renamed.
    let mut renamed_to: Vec<(usize, usize)> = Vec::new();
    for (i, a) in ro.iter().enumerate() {
        if in_new(&a.name).is_some() {
            continue;
        }
        if let Some(b) = rn.get(i) {
            if in_old(&b.name).is_none() && a.shape == b.shape && a.nullable == b.nullable {
                renamed_to.push((i, i));
            }
        }
    }
    for (i, a) in ro.iter().enumerate() {
        if let Some(b) = in_new(&a.name) {
            if b.tag.is_none() {
                compare_one(&join(prefix, &a.name), a, b, out);
            }
            // Regular here, tagged there: reported with the tags below.
        } else if let Some((_, j)) = renamed_to.iter().find(|(x, _)| *x == i) {
            let b = rn[*j];
            push(out, &a.name, FieldChange::Renamed { to: b.name.clone() });
            compare_one(&join(prefix, &b.name), a, b, out);
        } else {
            push(out, &a.name, FieldChange::Removed { tag: None });
        }
    }
    for (j, b) in rn.iter().enumerate() {
        if in_old(&b.name).is_none() && !renamed_to.iter().any(|(_, y)| *y == j) {
            push(out, &b.name, FieldChange::Added { tag: None });
        }
    }

    // Tagged fields are matched by tag.
    for a in old.iter().filter(|f| f.tag.is_some()) {
        match new.iter().find(|b| b.tag == a.tag) {
            Some(b) if b.name == a.name => compare_one(&join(prefix, &a.name), a, b, out),
            Some(b) if in_new(&a.name).is_none() && in_old(&b.name).is_none() => {
                if a.shape == b.shape && a.nullable == b.nullable {
                    push(out, &a.name, FieldChange::Renamed { to: b.name.clone() });
                    compare_one(&join(prefix, &b.name), a, b, out);
                } else {
                    push(
                        out,
                        &b.name,
                        FieldChange::TagReused {
                            tag: b.tag.unwrap_or_default(),
                            was: a.name.clone(),
                        },
                    );
                }
            }
            // The tag now belongs to another field: reported as that
            // field's tag change (or addition) below.
            Some(_) => {}
            None if in_new(&a.name).is_none() => {
                push(out, &a.name, FieldChange::Removed { tag: a.tag })
            }
            None => {}
        }
    }
    for b in new.iter().filter(|f| f.tag.is_some()) {
        match in_old(&b.name) {
            Some(a) if a.tag != b.tag => {
                push(
                    out,
                    &b.name,
                    FieldChange::Tag {
                        from: a.tag,
                        to: b.tag,
                    },
                );
                if a.tag.is_none() || old.iter().all(|f| f.tag != b.tag) {
                    compare_one(&join(prefix, &b.name), a, b, out);
                }
            }
            Some(_) => {}
            None => {
                let taken = old.iter().find(|a| a.tag == b.tag);
                let renamed = taken.is_some_and(|a| in_new(&a.name).is_none());
                if !renamed {
                    push(out, &b.name, FieldChange::Added { tag: b.tag });
                }
            }
        }
    }
    // Tagged here, regular there.
    for a in old.iter().filter(|f| f.tag.is_some()) {
        if let Some(b) = in_new(&a.name) {
            if b.tag.is_none() {
                push(
                    out,
                    &a.name,
                    FieldChange::Tag {
                        from: a.tag,
                        to: None,
                    },
                );
                compare_one(&join(prefix, &a.name), a, b, out);
            }
        }
    }
}

fn compare_one(path: &str, a: &WireField, b: &WireField, out: &mut Vec<FieldDiff>) {
    if a.shape != b.shape {
        out.push(FieldDiff {
            path: path.to_string(),
            change: FieldChange::Retyped {
                from: a.ty.clone(),
                to: b.ty.clone(),
            },
        });
        return;
    }
    if a.ty != b.ty {
        out.push(FieldDiff {
            path: path.to_string(),
            change: FieldChange::TypeRenamed {
                from: a.ty.clone(),
                to: b.ty.clone(),
            },
        });
    }
    if a.nullable != b.nullable {
        out.push(FieldDiff {
            path: path.to_string(),
            change: FieldChange::Nullable {
                from: a.nullable,
                to: b.nullable,
            },
        });
    }
    if a.default != b.default {
        out.push(FieldDiff {
            path: path.to_string(),
            change: FieldChange::Default {
                from: a.default.clone(),
                to: b.default.clone(),
            },
        });
    }
    if a.ignorable != b.ignorable {
        out.push(FieldDiff {
            path: path.to_string(),
            change: FieldChange::Ignorable {
                from: a.ignorable,
                to: b.ignorable,
            },
        });
    }
    compare_fields(path, &a.fields, &b.fields, out);
}
