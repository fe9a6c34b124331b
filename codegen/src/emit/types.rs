//! Rust types, defaults and minimum wire sizes of schema fields.

use proc_macro2::TokenStream;
use quote::quote;

use super::names::type_ident;
use crate::model::{DefaultValue, FieldModel, FieldType, MessageModel, StructModel};
use crate::versions::Versions;

/// The versions a struct's generated code must handle. Common structs are
/// shared by fields of different versions, so they cover the whole message.
pub fn possible(_m: &MessageModel, s: &StructModel) -> Versions {
    s.possible
}

/// Whether the struct can be written at a flexible version.
pub fn struct_is_flexible(m: &MessageModel, s: &StructModel) -> bool {
    let _ = m;
    !s.flexible.is_empty()
}

pub fn base_type(ty: &FieldType) -> TokenStream {
    match ty {
        FieldType::Bool => quote!(bool),
        FieldType::Int8 => quote!(i8),
        FieldType::Int16 => quote!(i16),
        FieldType::Uint16 => quote!(u16),
        FieldType::Int32 => quote!(i32),
        FieldType::Uint32 => quote!(u32),
        FieldType::Int64 => quote!(i64),
        FieldType::Float64 => quote!(f64),
        FieldType::String => quote!(crate::StrBytes),
        FieldType::Bytes | FieldType::Records => quote!(crate::Bytes),
        FieldType::Uuid => quote!(crate::Uuid),
        FieldType::Struct(n) => {
            let i = type_ident(n);
            quote!(#i)
        }
        FieldType::Array(inner) => {
            let t = base_type(inner);
            quote!(::std::vec::Vec<#t>)
        }
    }
}

/// Whether the Rust field is an `Option` (nullable in some version it has).
pub fn is_option(f: &FieldModel, possible: Versions) -> bool {
    !f.nullable
        .intersect(&f.versions)
        .intersect(&possible)
        .is_empty()
}

pub fn field_type(f: &FieldModel, possible: Versions) -> TokenStream {
    let t = base_type(&f.ty);
    if is_option(f, possible) {
        quote!(::core::option::Option<#t>)
    } else {
        t
    }
}

fn literal(ty: &FieldType, n: i64) -> TokenStream {
    match ty {
        FieldType::Int8 => {
            let v = n as i8;
            quote!(#v)
        }
        FieldType::Int16 => {
            let v = n as i16;
            quote!(#v)
        }
        FieldType::Uint16 => {
            let v = n as u16;
            quote!(#v)
        }
        FieldType::Int32 => {
            let v = n as i32;
            quote!(#v)
        }
        FieldType::Uint32 => {
            let v = n as u32;
            quote!(#v)
        }
        FieldType::Float64 => {
            let v = n as f64;
            quote!(#v)
        }
        _ => quote!(#n),
    }
}

/// The default value as an expression of the field's Rust type.
pub fn default_expr(f: &FieldModel, possible: Versions) -> TokenStream {
    let opt = is_option(f, possible);
    let inner = match &f.default {
        DefaultValue::Null => return quote!(None),
        DefaultValue::TypeZero => zero(&f.ty),
        DefaultValue::Bool(b) => quote!(#b),
        DefaultValue::Int(n) => literal(&f.ty, *n),
        DefaultValue::Float(x) => quote!(#x),
        DefaultValue::Str(s) => {
            if s.is_empty() {
                quote!(crate::StrBytes::new())
            } else {
                quote!(crate::StrBytes::from_static(#s))
            }
        }
    };
    if opt {
        quote!(Some(#inner))
    } else {
        inner
    }
}

fn zero(ty: &FieldType) -> TokenStream {
    match ty {
        FieldType::Bool => quote!(false),
        FieldType::Int8 => quote!(0i8),
        FieldType::Int16 => quote!(0i16),
        FieldType::Uint16 => quote!(0u16),
        FieldType::Int32 => quote!(0i32),
        FieldType::Uint32 => quote!(0u32),
        FieldType::Int64 => quote!(0i64),
        FieldType::Float64 => quote!(0.0f64),
        FieldType::String => quote!(crate::StrBytes::new()),
        FieldType::Bytes | FieldType::Records => quote!(crate::Bytes::new()),
        FieldType::Uuid => quote!(crate::Uuid::ZERO),
        FieldType::Struct(n) => {
            let i = type_ident(n);
            quote!(<#i as ::core::default::Default>::default())
        }
        FieldType::Array(inner) => {
            let t = base_type(inner);
            quote!(::std::vec::Vec::<#t>::new())
        }
    }
}

/// The fewest bytes a value of this type takes; `compact_possible` picks
/// the shorter compact length prefixes where flexible versions exist.
pub fn min_size(ty: &FieldType, compact_possible: bool) -> TokenStream {
    let n: usize = match ty {
        FieldType::Bool | FieldType::Int8 => 1,
        FieldType::Int16 | FieldType::Uint16 => 2,
        FieldType::Int32 | FieldType::Uint32 => 4,
        FieldType::Int64 | FieldType::Float64 => 8,
        FieldType::Uuid => 16,
        FieldType::String => {
            if compact_possible {
                1
            } else {
                2
            }
        }
        FieldType::Bytes | FieldType::Records | FieldType::Array(_) => {
            if compact_possible {
                1
            } else {
                4
            }
        }
        FieldType::Struct(n) => {
            let i = type_ident(n);
            return quote!(#i::MIN_SIZE);
        }
    };
    quote!(#n)
}

/// Fixed wire size of a type, when it has one.
pub fn fixed_size(ty: &FieldType) -> Option<usize> {
    Some(match ty {
        FieldType::Bool | FieldType::Int8 => 1,
        FieldType::Int16 | FieldType::Uint16 => 2,
        FieldType::Int32 | FieldType::Uint32 => 4,
        FieldType::Int64 | FieldType::Float64 => 8,
        FieldType::Uuid => 16,
        _ => return None,
    })
}

/// `true` when the field holds something other than its default, written
/// the way clippy likes (`x`, `!x`, `x.is_some()`, `!x.is_empty()`).
pub fn non_default(f: &FieldModel, possible: Versions, access: TokenStream) -> TokenStream {
    let opt = is_option(f, possible);
    match (&f.ty, &f.default, opt) {
        (_, DefaultValue::Null, _) => quote!(#access.is_some()),
        (FieldType::Bool, DefaultValue::TypeZero | DefaultValue::Bool(false), false) => {
            quote!(#access)
        }
        (FieldType::Bool, DefaultValue::Bool(true), false) => quote!(!#access),
        (FieldType::Array(_), DefaultValue::TypeZero, false) => quote!(!#access.is_empty()),
        (
            FieldType::String | FieldType::Bytes | FieldType::Records,
            DefaultValue::TypeZero,
            false,
        ) => {
            quote!(!#access.is_empty())
        }
        (FieldType::String, DefaultValue::Str(s), false) if s.is_empty() => {
            quote!(!#access.is_empty())
        }
        _ => {
            let def = default_expr(f, possible);
            quote!(#access != #def)
        }
    }
}

/// Whether `#[derive(Default)]` gives exactly the schema defaults.
pub fn default_is_derivable(f: &FieldModel, possible: Versions) -> bool {
    let opt = is_option(f, possible);
    match (&f.default, opt) {
        (DefaultValue::Null, true) => true,
        (DefaultValue::TypeZero, false) => true,
        (DefaultValue::Bool(false), false) => true,
        (DefaultValue::Int(0), false) => true,
        (DefaultValue::Str(s), false) => s.is_empty(),
        _ => false,
    }
}
