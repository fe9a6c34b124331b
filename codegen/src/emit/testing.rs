//! `arbitrary(g, version)`: a value valid at `version`, behind the
//! `testing` feature. Fields absent at the version keep their default;
//! null appears only where the version allows it.

use proc_macro2::TokenStream;
use quote::quote;

use super::cond::{branch, Cond};
use super::names::{field_ident, type_ident};
use super::types::{default_expr, is_option, possible, struct_is_flexible};
use crate::model::{FieldType, MessageModel, StructModel};

fn gen_nonnull(ty: &FieldType) -> TokenStream {
    match ty {
        FieldType::Bool => quote!(g.bool()),
        FieldType::Int8 => quote!(g.i8()),
        FieldType::Int16 => quote!(g.i16()),
        FieldType::Uint16 => quote!(g.u16()),
        FieldType::Int32 => quote!(g.i32()),
        FieldType::Uint32 => quote!(g.u32()),
        FieldType::Int64 => quote!(g.i64()),
        FieldType::Float64 => quote!(g.f64()),
        FieldType::Uuid => quote!(g.uuid()),
        FieldType::String => quote!(g.string()),
        FieldType::Bytes => quote!(g.bytes()),
        FieldType::Records => quote!(g.records()),
        FieldType::Struct(n) => {
            let i = type_ident(n);
            quote!({
                g.enter();
                let v = #i::arbitrary(g, version);
                g.leave();
                v
            })
        }
        FieldType::Array(inner) => {
            let e = gen_nonnull(inner);
            quote!({
                let n = g.array_len();
                let mut v = ::std::vec::Vec::with_capacity(n);
                for _ in 0..n {
                    v.push(#e);
                }
                v
            })
        }
    }
}

pub fn emit_arbitrary(m: &MessageModel, s: &StructModel) -> TokenStream {
    let p = possible(m, s);
    let name = type_ident(&s.name);
    let mut inits = Vec::new();
    let mut max_tag: u32 = 0;
    for f in &s.fields {
        if let Some(t) = f.tag {
            max_tag = max_tag.max(t);
        }
        let id = field_ident(&f.name);
        let v = gen_nonnull(&f.ty);
        let opt = is_option(f, p);
        let def = default_expr(f, p);
        let value = branch(
            f.versions,
            p,
            |r| {
                if !opt {
                    return v.clone();
                }
                match Cond::new(f.nullable, r) {
                    Cond::Never => quote!(Some(#v)),
                    Cond::Always => quote!(if g.null() { None } else { Some(#v) }),
                    Cond::When(e) => quote!(if #e && g.null() { None } else { Some(#v) }),
                }
            },
            |_| def.clone(),
        );
        inits.push(quote!(#id: #value,));
    }
    if struct_is_flexible(m, s) {
        let first = max_tag + 1;
        let v = match Cond::new(m.flexible, p) {
            Cond::Always => quote!(g.unknown_tagged_fields(#first)),
            Cond::When(e) => {
                quote!(if #e { g.unknown_tagged_fields(#first) } else { ::core::default::Default::default() })
            }
            Cond::Never => quote!(::core::default::Default::default()),
        };
        inits.push(quote!(unknown_tagged_fields: #v,));
    }
    let body = quote!(Self { #(#inits)* });
    let touch_version = super::touch_unused(&body, "version");
    let touch_g = super::touch_unused(&body, "g");
    quote!(
        #[cfg(feature = "testing")]
        impl #name {
            /// A value valid at `version`, drawn from `g`.
            pub fn arbitrary(g: &mut crate::testing::Gen, version: i16) -> Self {
                #touch_version
                #touch_g
                #body
            }
        }
    )
}
