//! `arbitrary(g, version)`: a value valid at `version`, behind the
//! `testing` feature. Fields absent at the version keep their default;
//! null appears only where the version allows it.

use proc_macro2::TokenStream;
use quote::quote;

use super::cond::{branch, Cond};
use super::names::{field_ident, type_ident};
use super::types::{is_option, possible, struct_is_flexible};
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
    let mut stmts = Vec::new();
    let mut max_tag: u32 = 0;
    for f in &s.fields {
        if let Some(t) = f.tag {
            max_tag = max_tag.max(t);
        }
        let id = field_ident(&f.name);
        let v = gen_nonnull(&f.ty);
        let opt = is_option(f, p);
        stmts.push(branch(
            f.versions,
            p,
            |r| {
                if !opt {
                    return quote!(this.#id = #v;);
                }
                match Cond::new(f.nullable, r) {
                    Cond::Never => quote!(this.#id = Some(#v);),
                    Cond::Always => quote!(this.#id = if g.null() { None } else { Some(#v) };),
                    Cond::When(e) => {
                        quote!(this.#id = if (#e) && g.null() { None } else { Some(#v) };)
                    }
                }
            },
            |_| quote!(),
        ));
    }
    if struct_is_flexible(m, s) {
        let first = max_tag + 1;
        match Cond::new(m.flexible, p) {
            Cond::Always => {
                stmts.push(quote!(this.unknown_tagged_fields = g.unknown_tagged_fields(#first);))
            }
            Cond::When(e) => stmts.push(
                quote!(if #e { this.unknown_tagged_fields = g.unknown_tagged_fields(#first); }),
            ),
            Cond::Never => {}
        }
    }
    let body = quote!(#(#stmts)*);
    let touch_version = if super::uses_ident(&body, "version") {
        quote!()
    } else {
        quote!(let _ = version;)
    };
    let touch_g = if super::uses_ident(&body, "g") {
        quote!()
    } else {
        quote!(let _ = &g;)
    };
    let mutability = if body.is_empty() {
        quote!()
    } else {
        quote!(mut)
    };
    quote!(
        #[cfg(feature = "testing")]
        impl #name {
            /// A value valid at `version`, drawn from `g`.
            pub fn arbitrary(g: &mut crate::testing::Gen, version: i16) -> Self {
                #touch_version
                #touch_g
                let #mutability this = Self::default();
                #body
                this
            }
        }
    )
}
