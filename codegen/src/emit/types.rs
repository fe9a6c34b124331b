//! Rust types and defaults of schema fields.

use proc_macro2::TokenStream;
use quote::quote;

use super::names::type_ident;
use crate::model::{DefaultValue, FieldModel, FieldType};

/// The Rust type of a value of `ty` (not nullable). `root` is the path of
/// the runtime crate.
pub fn base_type(ty: &FieldType, root: &TokenStream) -> TokenStream {
    match ty {
        FieldType::Bool => quote!(bool),
        FieldType::Int8 => quote!(i8),
        FieldType::Int16 => quote!(i16),
        FieldType::Uint16 => quote!(u16),
        FieldType::Int32 => quote!(i32),
        FieldType::Uint32 => quote!(u32),
        FieldType::Int64 => quote!(i64),
        FieldType::Float64 => quote!(f64),
        FieldType::String => quote!(#root::StrBytes),
        FieldType::Bytes | FieldType::Records => quote!(#root::Bytes),
        FieldType::Uuid => quote!(#root::Uuid),
        FieldType::Struct(n) => {
            let i = type_ident(n);
            quote!(#i)
        }
        FieldType::Array(inner) => {
            let t = base_type(inner, root);
            quote!(::std::vec::Vec<#t>)
        }
    }
}

/// The field's Rust type: `Option` when nullable in some version it has.
pub fn field_type(f: &FieldModel, root: &TokenStream) -> TokenStream {
    let t = base_type(&f.ty, root);
    if f.optional {
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
pub fn default_expr(f: &FieldModel, root: &TokenStream) -> TokenStream {
    let inner = match &f.default {
        DefaultValue::Null => return quote!(None),
        DefaultValue::TypeZero => zero(&f.ty, root),
        DefaultValue::Bool(b) => quote!(#b),
        DefaultValue::Int(n) => literal(&f.ty, *n),
        DefaultValue::Float(x) => quote!(#x),
        DefaultValue::Str(s) => {
            if s.is_empty() {
                quote!(#root::StrBytes::new())
            } else {
                quote!(#root::StrBytes::from_static(#s))
            }
        }
    };
    if f.optional {
        quote!(Some(#inner))
    } else {
        inner
    }
}

fn zero(ty: &FieldType, root: &TokenStream) -> TokenStream {
    match ty {
        FieldType::Bool => quote!(false),
        FieldType::Int8 => quote!(0i8),
        FieldType::Int16 => quote!(0i16),
        FieldType::Uint16 => quote!(0u16),
        FieldType::Int32 => quote!(0i32),
        FieldType::Uint32 => quote!(0u32),
        FieldType::Int64 => quote!(0i64),
        FieldType::Float64 => quote!(0.0f64),
        FieldType::String => quote!(#root::StrBytes::new()),
        FieldType::Bytes | FieldType::Records => quote!(#root::Bytes::new()),
        FieldType::Uuid => quote!(#root::Uuid::ZERO),
        FieldType::Struct(n) => {
            let i = type_ident(n);
            quote!(<#i as ::core::default::Default>::default())
        }
        FieldType::Array(_) => quote!(::std::vec::Vec::new()),
    }
}

/// `true` when the field holds something other than its default, written
/// the way clippy likes (`x`, `!x`, `x.is_some()`, `!x.is_empty()`).
pub fn non_default(f: &FieldModel, access: TokenStream, root: &TokenStream) -> TokenStream {
    match (&f.ty, &f.default, f.optional) {
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
            let def = default_expr(f, root);
            quote!(#access != #def)
        }
    }
}

/// Whether `#[derive(Default)]` gives exactly the schema defaults.
pub fn default_is_derivable(f: &FieldModel) -> bool {
    match (&f.default, f.optional) {
        (DefaultValue::Null, true) => true,
        (DefaultValue::TypeZero, false) => true,
        (DefaultValue::Bool(false), false) => true,
        (DefaultValue::Int(0), false) => true,
        (DefaultValue::Str(s), false) => s.is_empty(),
        _ => false,
    }
}
