//! `Generate` (and `arbitrary(g, version)` on messages): a value valid at
//! `version`, behind the `testing` feature. Fields absent at the version
//! keep their default; null appears only where the version allows it.

use proc_macro2::TokenStream;
use quote::quote;

use super::cond::{select, Cond};
use super::names::{field_ident, type_ident};
use super::types::default_expr;
use crate::model::{FieldType, MessageModel, StructModel};

pub fn emit_arbitrary(m: &MessageModel, s: &StructModel, root: &TokenStream) -> TokenStream {
    let p = s.possible;
    let name = type_ident(&s.name);
    let mut inits = Vec::new();
    let mut uses_version = false;
    let mut uses_g = !s.flexible.is_empty();
    for f in &s.fields {
        let id = field_ident(&f.name);
        let v = if matches!(f.ty, FieldType::Records) {
            quote!(g.records())
        } else {
            quote!(g.value(cx))
        };
        if !f.present.is_empty() {
            uses_g = true;
            let version_test = matches!(Cond::new(f.present, p), Cond::When(_))
                || (f.optional && matches!(Cond::new(f.nullable_in, f.present), Cond::When(_)));
            if version_test || !matches!(f.ty, FieldType::Records) {
                uses_version = true;
            }
        }
        let def = default_expr(f, root);
        let value = select(
            f.present,
            p,
            |r| {
                if !f.optional {
                    return v.clone();
                }
                match Cond::new(f.nullable_in, r) {
                    Cond::Never => quote!(Some(#v)),
                    Cond::Always => quote!(if g.null() { None } else { Some(#v) }),
                    Cond::When(e) => quote!(if #e && g.null() { None } else { Some(#v) }),
                }
            },
            |_| def,
        );
        inits.push(quote!(#id: #value,));
    }
    if !s.flexible.is_empty() {
        let first = s
            .fields
            .iter()
            .filter_map(|f| f.tag)
            .max()
            .map_or(0, |t| t + 1);
        let v = match Cond::new(s.flexible, p) {
            Cond::Always => quote!(g.unknown_tagged_fields(#first)),
            Cond::When(e) => {
                uses_version = true;
                quote!(if #e { g.unknown_tagged_fields(#first) } else { #root::wire::UnknownTaggedFields::new() })
            }
            Cond::Never => quote!(#root::wire::UnknownTaggedFields::new()),
        };
        inits.push(quote!(unknown_tagged_fields: #v,));
    }
    let g = if uses_g { quote!(g) } else { quote!(_g) };
    let cx = if uses_version {
        quote!(cx)
    } else {
        quote!(_cx)
    };
    let arbitrary = if s.name == m.name {
        quote!(
            #[cfg(feature = "testing")]
            impl #name {
                /// A value valid at `version`, drawn from `g`.
                pub fn arbitrary(g: &mut #root::testing::Gen, version: i16) -> Self {
                    <Self as #root::testing::Generate>::generate(g, <Self as #root::Message>::cx(version))
                }
            }
        )
    } else {
        quote!()
    };
    quote!(
        #[cfg(feature = "testing")]
        impl #root::testing::Generate for #name {
            fn generate(#g: &mut #root::testing::Gen, #cx: #root::wire::Cx) -> Self {
                Self { #(#inits)* }
            }
        }
        #arbitrary
    )
}
