//! `read`, `size` and `write` for one generated struct.
//!
//! Every version test goes through [`super::cond`], so each clause sees
//! only the versions still possible where it sits.

use proc_macro2::TokenStream;
use quote::quote;

use super::cond::{branch, Cond};
use super::names::{field_ident, type_ident};
use super::types::{
    default_expr, fixed_size, is_option, min_size, non_default, possible, struct_is_flexible,
};
use crate::model::{FieldModel, FieldType, MessageModel, StructModel};
use crate::versions::Versions;

/// Whether values of this field use compact (KIP-482) lengths, as an
/// expression over `version` within `r`.
fn compact(m: &MessageModel, f: &FieldModel, r: Versions) -> TokenStream {
    let flex = f.flexible_override.unwrap_or(m.flexible);
    Cond::new(flex, r).expr()
}

// ---------------------------------------------------------------- read

fn read_scalar(ty: &FieldType) -> TokenStream {
    match ty {
        FieldType::Bool => quote!(r.bool()?),
        FieldType::Int8 => quote!(r.i8()?),
        FieldType::Int16 => quote!(r.i16()?),
        FieldType::Uint16 => quote!(r.u16()?),
        FieldType::Int32 => quote!(r.i32()?),
        FieldType::Uint32 => quote!(r.u32()?),
        FieldType::Int64 => quote!(r.i64()?),
        FieldType::Float64 => quote!(r.f64()?),
        FieldType::Uuid => quote!(r.uuid()?),
        _ => quote!(compile_error!("not a scalar")),
    }
}

/// A non-null value (the element of an array, or a field that is not null
/// at these versions).
fn read_nonnull(ty: &FieldType, c: &TokenStream, elem_index: bool) -> TokenStream {
    match ty {
        FieldType::String => quote!(r.string(#c)?),
        FieldType::Bytes | FieldType::Records => quote!(r.bytes(#c)?),
        FieldType::Struct(n) => {
            let i = type_ident(n);
            if elem_index {
                quote!(#i::read(r, version).map_err(|e| e.at_index(i))?)
            } else {
                quote!(#i::read(r, version)?)
            }
        }
        FieldType::Array(inner) => {
            let min = min_size(inner, true);
            let elem = read_nonnull(inner, c, true);
            let var = if matches!(inner.as_ref(), FieldType::Struct(_)) {
                quote!(i)
            } else {
                quote!(_)
            };
            quote!({
                let n = r.array_len(#c, #min)?;
                let mut v = ::std::vec::Vec::with_capacity(n.min(crate::wire::MAX_PREALLOC));
                for #var in 0..n {
                    v.push(#elem);
                }
                v
            })
        }
        other => read_scalar(other),
    }
}

fn read_nullable(ty: &FieldType, c: &TokenStream) -> TokenStream {
    match ty {
        FieldType::String => quote!(r.nullable_string(#c)?),
        FieldType::Bytes | FieldType::Records => quote!(r.nullable_bytes(#c)?),
        FieldType::Struct(n) => {
            let i = type_ident(n);
            // KIP-893: a nullable struct is preceded by an int8, -1 for null.
            quote!(if r.i8()? < 0 { None } else { Some(#i::read(r, version)?) })
        }
        FieldType::Array(inner) => {
            let min = min_size(inner, true);
            let elem = read_nonnull(inner, c, true);
            let var = if matches!(inner.as_ref(), FieldType::Struct(_)) {
                quote!(i)
            } else {
                quote!(_)
            };
            quote!(match r.nullable_array_len(#c, #min)? {
                None => None,
                Some(n) => {
                    let mut v = ::std::vec::Vec::with_capacity(n.min(crate::wire::MAX_PREALLOC));
                    for #var in 0..n {
                        v.push(#elem);
                    }
                    Some(v)
                }
            })
        }
        _ => quote!(compile_error!("not nullable")),
    }
}

/// Reads the field's value at versions `r` (where it is on the wire).
fn read_value(m: &MessageModel, f: &FieldModel, r: Versions, p: Versions) -> TokenStream {
    let c = compact(m, f, r);
    if !is_option(f, p) {
        return read_nonnull(&f.ty, &c, false);
    }
    match Cond::new(f.nullable, r) {
        Cond::Always => read_nullable(&f.ty, &c),
        Cond::Never => {
            let v = read_nonnull(&f.ty, &c, false);
            quote!(Some(#v))
        }
        Cond::When(e) => {
            let n = read_nullable(&f.ty, &c);
            let v = read_nonnull(&f.ty, &c, false);
            quote!(if #e { #n } else { Some(#v) })
        }
    }
}

fn count_question_marks(ts: &TokenStream) -> usize {
    ts.clone()
        .into_iter()
        .map(|t| match t {
            proc_macro2::TokenTree::Punct(p) if p.as_char() == '?' => 1,
            proc_macro2::TokenTree::Group(g) => count_question_marks(&g.stream()),
            _ => 0,
        })
        .sum()
}

fn wrap_field_read(name: &str, ty: &TokenStream, expr: TokenStream) -> TokenStream {
    // A single fallible call (`r.i32()?`) maps its error directly; anything
    // larger runs in a closure so every `?` inside gets the field name.
    let tokens: Vec<proc_macro2::TokenTree> = expr.clone().into_iter().collect();
    let ends_in_q =
        matches!(tokens.last(), Some(proc_macro2::TokenTree::Punct(p)) if p.as_char() == '?');
    if ends_in_q && count_question_marks(&expr) == 1 {
        let call: TokenStream = tokens[..tokens.len() - 1].iter().cloned().collect();
        return quote!(#call.map_err(|e| e.in_field(#name))?);
    }
    quote!(
        (|| -> ::core::result::Result<#ty, crate::DecodeError> { Ok(#expr) })().map_err(|e| e.in_field(#name))?
    )
}

pub fn emit_read(m: &MessageModel, s: &StructModel) -> TokenStream {
    let p = possible(m, s);
    let sname = type_ident(&s.name);
    let mut lets = Vec::new();
    let mut inits = Vec::new();
    let mut tagged_arms = Vec::new();
    for f in &s.fields {
        let id = field_ident(&f.name);
        // Locals are prefixed so a field called `Version` (or `Size`, ...)
        // cannot shadow the decoder's own variables.
        let local = quote::format_ident!("f_{}", id.to_string().trim_start_matches("r#"));
        let name = &f.name;
        let ty = super::types::field_type(f, p);
        let def = default_expr(f, p);
        let regular = f.regular;
        let has_tag = !f.tagged.intersect(&p).is_empty();
        let value = branch(
            regular,
            p,
            |rr| wrap_field_read(name, &ty, read_value(m, f, rr, p)),
            |_| def.clone(),
        );
        if has_tag {
            lets.push(quote!(let mut #local: #ty = #value;));
            let tag = f.tag.unwrap_or(0);
            let tr = f.tagged.intersect(&p);
            let read = wrap_field_read(name, &ty, read_value(m, f, tr, p));
            let guard = match Cond::new(f.tagged, p) {
                Cond::When(e) => quote!(if #e),
                Cond::Always | Cond::Never => quote!(),
            };
            tagged_arms.push(quote!(
                #tag #guard => {
                    let r = &mut sub;
                    #local = #read;
                    if !r.is_empty() {
                        return Err(r.error(crate::DecodeErrorKind::TaggedFieldSize {
                            tag,
                            declared: size,
                            used: size - r.remaining(),
                        }).in_field(#name));
                    }
                }
            ));
        } else {
            lets.push(quote!(let #local: #ty = #value;));
        }
        inits.push(quote!(#id: #local));
    }
    let tagged = if struct_is_flexible(m, s) {
        inits.push(quote!(unknown_tagged_fields));
        let keep_unknown = quote!({
            let n = sub.remaining();
            unknown_tagged_fields.insert(tag, sub.take(n)?);
        });
        let dispatch = if tagged_arms.is_empty() {
            keep_unknown
        } else {
            quote!(match tag {
                #(#tagged_arms)*
                _ => #keep_unknown
            })
        };
        let section = quote!(
            let count = r.unsigned_varint().map_err(|e| e.in_field("_tagged_fields"))?;
            for _ in 0..count {
                let tag = r.unsigned_varint().map_err(|e| e.in_field("_tagged_fields"))?;
                let size = r.unsigned_varint().map_err(|e| e.in_field("_tagged_fields"))? as usize;
                let mut sub = r.sub(size).map_err(|e| e.in_field("_tagged_fields"))?;
                #dispatch
            }
        );
        let section = match Cond::new(m.flexible, p) {
            Cond::Always => section,
            Cond::When(e) => quote!(if #e { #section }),
            Cond::Never => quote!(),
        };
        quote!(
            let mut unknown_tagged_fields = crate::wire::UnknownTaggedFields::default();
            #section
        )
    } else {
        quote!()
    };
    let body = quote!(
        #(#lets)*
        #tagged
        Ok(#sname { #(#inits),* })
    );
    let touch_version = super::touch_unused(&body, "version");
    let touch_r = super::touch_unused(&body, "r");
    quote!(
        impl crate::Decodable for #sname {
            fn read(r: &mut crate::wire::Reader, version: i16) -> ::core::result::Result<Self, crate::DecodeError> {
                #touch_version
                #touch_r
                #body
            }
        }
    )
}

// ---------------------------------------------------------------- size

fn too_long(m: &MessageModel, s: &StructModel, f: &FieldModel, len: TokenStream) -> TokenStream {
    let _ = m;
    let sn = &s.name;
    let fname = &f.name;
    quote!(return Err(crate::EncodeError::TooLong {
        message: #sn,
        field: #fname,
        version,
        length: #len,
    }))
}

/// Size of a non-null value `v` (a reference).
fn size_nonnull(
    m: &MessageModel,
    s: &StructModel,
    f: &FieldModel,
    ty: &FieldType,
    c: &TokenStream,
    v: TokenStream,
) -> TokenStream {
    if let Some(n) = fixed_size(ty) {
        return quote!(#n);
    }
    match ty {
        FieldType::String => {
            let err = too_long(m, s, f, quote!(l));
            quote!({
                let l = #v.len();
                if !crate::wire::write::length_fits(l, #c, false) { #err }
                crate::wire::write::string_len(l, #c)
            })
        }
        FieldType::Bytes | FieldType::Records => {
            let err = too_long(m, s, f, quote!(l));
            quote!({
                let l = #v.len();
                if !crate::wire::write::length_fits(l, #c, true) { #err }
                crate::wire::write::bytes_len(l, #c)
            })
        }
        FieldType::Struct(_) => quote!(#v.size(version)?),
        FieldType::Array(inner) => {
            let err = too_long(m, s, f, quote!(a.len()));
            let elems = if let Some(n) = fixed_size(inner) {
                if n == 1 {
                    quote!(a.len())
                } else {
                    quote!(a.len() * #n)
                }
            } else {
                let e = size_nonnull(m, s, f, inner, c, quote!(e));
                quote!({
                    let mut t = 0usize;
                    for e in a.iter() {
                        t += #e;
                    }
                    t
                })
            };
            quote!({
                let a = #v;
                if !crate::wire::write::length_fits(a.len(), #c, true) { #err }
                crate::wire::write::length_len(Some(a.len()), #c, true) + #elems
            })
        }
        _ => unreachable_size(),
    }
}

fn unreachable_size() -> TokenStream {
    quote!(0usize)
}

fn null_size(ty: &FieldType, c: &TokenStream) -> TokenStream {
    match ty {
        FieldType::String => quote!(crate::wire::write::length_len(None, #c, false)),
        FieldType::Struct(_) => quote!(1usize),
        _ => quote!(crate::wire::write::length_len(None, #c, true)),
    }
}

/// Size of the field at versions `r`, validating nullability.
fn size_value(
    m: &MessageModel,
    s: &StructModel,
    f: &FieldModel,
    r: Versions,
    p: Versions,
    access: TokenStream,
) -> TokenStream {
    let c = compact(m, f, r);
    if !is_option(f, p) {
        if fixed_size(&f.ty).is_some() {
            return size_nonnull(m, s, f, &f.ty, &c, quote!(v));
        }
        let inner = size_nonnull(m, s, f, &f.ty, &c, quote!(v));
        return quote!({
            let v = &#access;
            #inner
        });
    }
    let marker = if matches!(f.ty, FieldType::Struct(_)) {
        quote!(1 +)
    } else {
        quote!()
    };
    let some = size_nonnull(m, s, f, &f.ty, &c, quote!(v));
    let null = null_size(&f.ty, &c);
    let sn = &s.name;
    let fname = &f.name;
    let null_err = quote!(return Err(crate::EncodeError::NullNotAllowed {
        message: #sn,
        field: #fname,
        version,
    }));
    let none_arm = match Cond::new(f.nullable, r) {
        Cond::Always => null,
        Cond::Never => quote!({ #null_err }),
        Cond::When(_) => {
            let not_nullable = Cond::outside(f.nullable, r).expr();
            quote!({
                if #not_nullable { #null_err }
                #null
            })
        }
    };
    quote!(match &#access {
        None => #none_arm,
        Some(v) => #marker #some,
    })
}

pub fn emit_size(m: &MessageModel, s: &StructModel) -> TokenStream {
    let p = possible(m, s);
    let sn = &s.name;
    let mut stmts = Vec::new();
    let mut tagged_stmts = Vec::new();
    for f in &s.fields {
        let id = field_ident(&f.name);
        let fname = &f.name;
        let present = f.versions;
        let regular = f.regular;
        let nd = non_default(f, p, quote!(self.#id));
        let missing = if f.ignorable {
            quote!()
        } else {
            quote!(if #nd {
                return Err(crate::EncodeError::FieldNotInVersion {
                    message: #sn,
                    field: #fname,
                    version,
                });
            })
        };
        stmts.push(branch(
            present,
            p,
            |pr| {
                branch(
                    regular,
                    pr,
                    |rr| {
                        let sz = size_value(m, s, f, rr, p, quote!(self.#id));
                        quote!(n += #sz;)
                    },
                    |_| quote!(),
                )
            },
            |_| quote!(),
        ));
        if !missing.is_empty() {
            match Cond::outside(present, p) {
                Cond::Never => {}
                Cond::Always => stmts.push(missing),
                Cond::When(c) => stmts.push(quote!(if #c && #nd {
                    return Err(crate::EncodeError::FieldNotInVersion {
                        message: #sn,
                        field: #fname,
                        version,
                    });
                })),
            }
        }
        if !f.tagged.intersect(&p).is_empty() {
            let tag = f.tag.unwrap_or(0);
            let tr = f.tagged.intersect(&p);
            let sz = size_value(m, s, f, tr, p, quote!(self.#id));
            let nd = non_default(f, p, quote!(self.#id));
            let cond = match Cond::new(f.tagged, p) {
                Cond::Always => nd,
                Cond::When(e) => quote!(#e && #nd),
                Cond::Never => quote!(false),
            };
            tagged_stmts.push(quote!(
                if #cond {
                    let s = #sz;
                    tagged_count += 1;
                    tagged_size += crate::wire::tagged::tag_header_len(#tag, s) + s;
                }
            ));
        }
    }
    let tail = if struct_is_flexible(m, s) {
        let fc = Cond::new(m.flexible, p);
        let body = if tagged_stmts.is_empty() {
            quote!(
                n += crate::wire::write::unsigned_varint_len(self.unknown_tagged_fields.len() as u32)
                    + self.unknown_tagged_fields.encoded_len();
            )
        } else {
            quote!(
                let mut tagged_count = self.unknown_tagged_fields.len();
                let mut tagged_size = self.unknown_tagged_fields.encoded_len();
                #(#tagged_stmts)*
                n += crate::wire::write::unsigned_varint_len(tagged_count as u32) + tagged_size;
            )
        };
        let check = quote!(if !self.unknown_tagged_fields.is_empty() {
            return Err(crate::EncodeError::TaggedFieldsNotFlexible { message: #sn, version });
        });
        match fc {
            Cond::Always => body,
            Cond::When(e) => quote!(if #e { #body } else { #check }),
            Cond::Never => check,
        }
    } else {
        quote!()
    };
    let body = quote!(
        #(#stmts)*
        #tail
    );
    let (n_decl, touch) = if super::uses_ident(&body, "n") {
        (quote!(let mut n = 0usize;), quote!())
    } else {
        (quote!(let n = 0usize;), quote!())
    };
    let touch_version = super::touch_unused(&body, "version");
    quote!(
        fn size(&self, version: i16) -> ::core::result::Result<usize, crate::EncodeError> {
            #touch_version
            #touch
            #n_decl
            #body
            Ok(n)
        }
    )
}

// ---------------------------------------------------------------- write

fn write_scalar(ty: &FieldType, v: TokenStream) -> TokenStream {
    match ty {
        FieldType::Bool => quote!(crate::wire::write::put_bool(buf, *#v);),
        FieldType::Int8 => quote!(crate::wire::BufMut::put_i8(buf, *#v);),
        FieldType::Int16 => quote!(crate::wire::BufMut::put_i16(buf, *#v);),
        FieldType::Uint16 => quote!(crate::wire::BufMut::put_u16(buf, *#v);),
        FieldType::Int32 => quote!(crate::wire::BufMut::put_i32(buf, *#v);),
        FieldType::Uint32 => quote!(crate::wire::BufMut::put_u32(buf, *#v);),
        FieldType::Int64 => quote!(crate::wire::BufMut::put_i64(buf, *#v);),
        FieldType::Float64 => quote!(crate::wire::BufMut::put_f64(buf, *#v);),
        FieldType::Uuid => quote!(crate::wire::write::put_uuid(buf, #v);),
        _ => quote!(compile_error!("not a scalar");),
    }
}

/// Writes a non-null value `v` (a reference).
fn write_nonnull(ty: &FieldType, c: &TokenStream, v: TokenStream) -> TokenStream {
    match ty {
        FieldType::String => quote!(crate::wire::write::put_string(buf, #v, #c);),
        FieldType::Bytes | FieldType::Records => {
            quote!(crate::wire::write::put_bytes(buf, #v, #c);)
        }
        FieldType::Struct(_) => quote!(#v.write(buf, version);),
        FieldType::Array(inner) => {
            let e = write_nonnull(inner, c, quote!(e));
            quote!({
                let a = #v;
                crate::wire::write::put_length(buf, Some(a.len()), #c, true);
                for e in a.iter() {
                    #e
                }
            })
        }
        other => write_scalar(other, v),
    }
}

fn write_value(
    m: &MessageModel,
    f: &FieldModel,
    r: Versions,
    p: Versions,
    access: TokenStream,
) -> TokenStream {
    let c = compact(m, f, r);
    if !is_option(f, p) {
        let inner = write_nonnull(&f.ty, &c, quote!(v));
        return quote!({
            let v = &#access;
            #inner
        });
    }
    let some = write_nonnull(&f.ty, &c, quote!(v));
    match &f.ty {
        FieldType::Struct(_) => quote!(match &#access {
            None => crate::wire::BufMut::put_i8(buf, -1),
            Some(v) => {
                crate::wire::BufMut::put_i8(buf, 1);
                #some
            }
        }),
        FieldType::String => quote!(match &#access {
            None => crate::wire::write::put_length(buf, None, #c, false),
            Some(v) => { #some }
        }),
        _ => quote!(match &#access {
            None => crate::wire::write::put_length(buf, None, #c, true),
            Some(v) => { #some }
        }),
    }
}

pub fn emit_write(m: &MessageModel, s: &StructModel) -> TokenStream {
    let p = possible(m, s);
    let mut stmts = Vec::new();
    let mut count_stmts = Vec::new();
    let mut tagged_writes = Vec::new();
    let mut tagged_fields: Vec<&FieldModel> = s
        .fields
        .iter()
        .filter(|f| !f.tagged.intersect(&p).is_empty())
        .collect();
    tagged_fields.sort_by_key(|f| f.tag);
    for f in &s.fields {
        let id = field_ident(&f.name);
        stmts.push(branch(
            f.regular,
            p,
            |rr| write_value(m, f, rr, p, quote!(self.#id)),
            |_| quote!(),
        ));
    }
    for f in tagged_fields {
        let id = field_ident(&f.name);
        let tag = f.tag.unwrap_or(0);
        let tr = f.tagged.intersect(&p);
        let w = write_value(m, f, tr, p, quote!(self.#id));
        let nd = non_default(f, p, quote!(self.#id));
        let cond = match Cond::new(f.tagged, p) {
            Cond::Always => nd,
            Cond::When(e) => quote!(#e && #nd),
            Cond::Never => quote!(false),
        };
        count_stmts.push(quote!(if #cond { tagged_count += 1; }));
        // Unknown fields keep their place in tag order (Kafka's RawTaggedFieldWriter).
        let before = if tag == 0 {
            quote!()
        } else {
            quote!(while let Some((t, v)) = unknown.next_if(|(t, _)| **t < #tag) {
                crate::wire::tagged::put_raw_tagged(buf, *t, v);
            })
        };
        tagged_writes.push(quote!(
            #before
            if #cond {
                let mut tmp = crate::BytesMut::new();
                {
                    let buf = &mut tmp;
                    #w
                }
                crate::wire::tagged::put_tag_header(buf, #tag, tmp.len());
                buf.extend_from_slice(&tmp);
            }
        ));
    }
    let tail = if struct_is_flexible(m, s) {
        let fc = Cond::new(m.flexible, p);
        let count_mut = if count_stmts.is_empty() {
            quote!(let tagged_count = self.unknown_tagged_fields.len();)
        } else {
            quote!(let mut tagged_count = self.unknown_tagged_fields.len();)
        };
        let needs_peek = s
            .fields
            .iter()
            .any(|f| !f.tagged.intersect(&p).is_empty() && f.tag != Some(0));
        let unknown_mut = if !needs_peek {
            quote!(let unknown = self.unknown_tagged_fields.iter();)
        } else {
            quote!(let mut unknown = self.unknown_tagged_fields.iter().peekable();)
        };
        let body = quote!(
            #count_mut
            #(#count_stmts)*
            crate::wire::write::put_unsigned_varint(buf, tagged_count as u32);
            #unknown_mut
            #(#tagged_writes)*
            for (t, v) in unknown {
                crate::wire::tagged::put_raw_tagged(buf, *t, v);
            }
        );
        match fc {
            Cond::Always => body,
            Cond::When(e) => quote!(if #e { #body }),
            Cond::Never => quote!(),
        }
    } else {
        quote!()
    };
    let body = quote!(#(#stmts)* #tail);
    let touch_version = super::touch_unused(&body, "version");
    let touch_buf = super::touch_unused(&body, "buf");
    quote!(
        fn write(&self, buf: &mut crate::BytesMut, version: i16) {
            #touch_version
            #touch_buf
            #body
        }
    )
}

/// `MIN_SIZE`: a lower bound on the encoded size at any version, used to
/// refuse array counts the input cannot hold before allocating.
pub fn emit_min_size(m: &MessageModel, s: &StructModel) -> TokenStream {
    let p = possible(m, s);
    let compact_possible = struct_is_flexible(m, s);
    let mut parts: Vec<TokenStream> = Vec::new();
    for f in &s.fields {
        // Only fields on the wire, untagged and non-null, in every version.
        if f.regular.contains_range(&p) && !is_option(f, p) {
            parts.push(min_size(&f.ty, compact_possible));
        }
    }
    if compact_possible && Cond::new(m.flexible, p).expr().to_string() == "true" {
        parts.push(quote!(1usize));
    }
    // Fold the literal parts so the constant reads as one number.
    let mut total = 0usize;
    let mut symbolic = Vec::new();
    for part in parts {
        match part
            .to_string()
            .trim_end_matches("usize")
            .trim()
            .parse::<usize>()
        {
            Ok(n) => total += n,
            Err(_) => symbolic.push(part),
        }
    }
    if symbolic.is_empty() {
        quote!(#total)
    } else if total == 0 {
        quote!(#(#symbolic)+*)
    } else {
        quote!(#total #(+ #symbolic)*)
    }
}
