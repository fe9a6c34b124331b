//! The struct definitions of one message file: fields with their docs,
//! `Default`, serde attributes, the codec impls and the `Message` impls.

use proc_macro2::TokenStream;
use quote::quote;

use super::codec::{emit_min_size, emit_read, emit_size, emit_write};
use super::cond::describe;
use super::names::{api_name, const_name, field_ident, json_name, type_ident};
use super::testing::emit_arbitrary;
use super::types::{
    default_expr, default_is_derivable, field_type, is_option, possible, struct_is_flexible,
};
use super::EmitOptions;
use crate::model::{DefaultValue, FieldModel, FieldType, MessageKind, MessageModel, StructModel};

fn field_doc(f: &FieldModel, p: crate::versions::Versions, opts: &EmitOptions) -> Vec<String> {
    let mut facts = vec![format!("`{}`", f.ty.schema_name())];
    facts.push(format!("versions {}", describe(f.versions.intersect(&p))));
    let nullable = f.nullable.intersect(&f.versions).intersect(&p);
    if !nullable.is_empty() {
        facts.push(format!("nullable {}", describe(nullable)));
    }
    let tagged = f.tagged.intersect(&p);
    if !tagged.is_empty() {
        facts.push(format!(
            "tagged {} (tag {})",
            describe(tagged),
            f.tag.unwrap_or(0)
        ));
    }
    match &f.default {
        DefaultValue::TypeZero => {}
        DefaultValue::Bool(b) => facts.push(format!("default {b}")),
        DefaultValue::Int(n) => facts.push(format!("default {n}")),
        DefaultValue::Float(x) => facts.push(format!("default {x}")),
        DefaultValue::Str(s) => facts.push(format!("default {s:?}")),
        DefaultValue::Null => facts.push("default null".into()),
    }
    if f.ignorable {
        facts.push("ignorable".into());
    }
    if f.map_key {
        facts.push("map key".into());
    }
    if let Some(e) = &f.entity_type {
        facts.push(format!("entity `{}`", e.schema_name()));
    }
    if let Some(fl) = f.flexible_override {
        facts.push(format!("compact encoding in versions {}", describe(fl)));
    }
    let mut doc = vec![format!(" {}: {}.", f.name, facts.join(", "))];
    if opts.include_about {
        if let Some(a) = &f.about {
            doc.push(String::new());
            doc.push(format!(" {a}"));
        }
    }
    doc
}

fn serde_attrs(f: &FieldModel, p: crate::versions::Versions) -> TokenStream {
    let jn = json_name(&f.name);
    let with = match (&f.ty, is_option(f, p)) {
        (FieldType::Bytes | FieldType::Records, false) => Some("crate::serde_support::bytes"),
        (FieldType::Bytes | FieldType::Records, true) => Some("crate::serde_support::opt_bytes"),
        _ => None,
    };
    match with {
        Some(w) => quote!(#[cfg_attr(feature = "serde", serde(rename = #jn, with = #w))]),
        None => quote!(#[cfg_attr(feature = "serde", serde(rename = #jn))]),
    }
}

fn emit_struct(m: &MessageModel, s: &StructModel, opts: &EmitOptions) -> TokenStream {
    let p = possible(m, s);
    let name = type_ident(&s.name);
    let mut fields = Vec::new();
    let mut defaults = Vec::new();
    let derive_default = s.fields.iter().all(|f| default_is_derivable(f, p));
    for f in &s.fields {
        let id = field_ident(&f.name);
        let ty = field_type(f, p);
        let docs = field_doc(f, p, opts);
        let serde = serde_attrs(f, p);
        let def = default_expr(f, p);
        fields.push(quote!(
            #(#[doc = #docs])*
            #serde
            pub #id: #ty,
        ));
        defaults.push(quote!(#id: #def,));
    }
    if struct_is_flexible(m, s) {
        fields.push(quote!(
            /// Tagged fields this build does not know, kept and written back.
            #[cfg_attr(feature = "serde", serde(skip))]
            pub unknown_tagged_fields: crate::wire::UnknownTaggedFields,
        ));
        defaults.push(quote!(unknown_tagged_fields: ::core::default::Default::default(),));
    }
    let is_root = s.name == m.name;
    let mut doc = Vec::new();
    if is_root {
        let what = match (m.kind, m.api_key) {
            (MessageKind::Request, Some(k)) => {
                format!("The {} request (api key {k})", api_name(&m.name))
            }
            (MessageKind::Response, Some(k)) => {
                format!("The {} response (api key {k})", api_name(&m.name))
            }
            (MessageKind::Header, _) => "A protocol header".to_string(),
            _ => "A data message".to_string(),
        };
        doc.push(format!(
            " {what}, generated from `{}` of Kafka {}.",
            m.file, opts.release
        ));
        doc.push(String::new());
        doc.push(format!(
            " Valid versions {}; flexible versions {}{}{}.",
            describe(m.valid),
            describe(m.flexible),
            if m.latest_unstable {
                format!(
                    "; v{} is unstable (left out of the client table)",
                    m.valid.hi
                )
            } else {
                String::new()
            },
            if m.deprecated.is_empty() {
                String::new()
            } else {
                format!("; deprecated versions {}", describe(m.deprecated))
            }
        ));
        if !m.listeners.is_empty() {
            doc.push(String::new());
            doc.push(format!(" Listeners: {}.", m.listeners.join(", ")));
        }
    } else {
        doc.push(format!(
            " Struct `{}` of `{}` (Kafka {}){}, in versions {}.",
            s.name,
            m.file,
            opts.release,
            if s.common { ", a common struct" } else { "" },
            describe(p)
        ));
    }
    let read = emit_read(m, s);
    let size = emit_size(m, s);
    let write = emit_write(m, s);
    let min = emit_min_size(m, s);
    let arbitrary = emit_arbitrary(m, s);
    let min_doc = " The fewest bytes one value takes on the wire at any version.";
    let (derive, default_impl) = if derive_default {
        (
            quote!(#[derive(Debug, Clone, PartialEq, Default)]),
            quote!(),
        )
    } else {
        (
            quote!(#[derive(Debug, Clone, PartialEq)]),
            quote!(
                impl ::core::default::Default for #name {
                    fn default() -> Self {
                        Self { #(#defaults)* }
                    }
                }
            ),
        )
    };
    quote!(
        #(#[doc = #doc])*
        #derive
        #[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
        #[cfg_attr(feature = "serde", serde(default))]
        #[non_exhaustive]
        pub struct #name {
            #(#fields)*
        }

        #default_impl

        impl #name {
            #[doc = #min_doc]
            pub const MIN_SIZE: usize = #min;
        }

        impl crate::Encodable for #name {
            #size
            #write
        }

        #read

        #arbitrary
    )
}

fn emit_message_impls(m: &MessageModel) -> TokenStream {
    let name = type_ident(&m.name);
    let sname = &m.name;
    let lo = m.valid.lo;
    let hi = m.valid.hi;
    let flex = if m.flexible.is_empty() {
        quote!(None)
    } else {
        let f = m.flexible.lo;
        quote!(Some(#f))
    };
    let unstable = m.latest_unstable;
    let mut out = quote!(
        impl crate::Message for #name {
            const NAME: &'static str = #sname;
            const VERSIONS: crate::VersionRange = crate::VersionRange::new(#lo, #hi);
            const FLEXIBLE_MIN: ::core::option::Option<i16> = #flex;
            const LATEST_VERSION_UNSTABLE: bool = #unstable;
        }
    );
    let api = api_name(&m.name);
    let key = const_name(api);
    match m.kind {
        MessageKind::Request => {
            let resp = type_ident(&format!("{api}Response"));
            let resp_mod =
                super::names::ident(&super::names::module_name(&format!("{api}Response")));
            out.extend(quote!(
                impl crate::Request for #name {
                    const API_KEY: crate::ApiKey = crate::ApiKey::#key;
                    type Response = super::#resp_mod::#resp;
                }
            ));
        }
        MessageKind::Response => out.extend(quote!(
            impl crate::Response for #name {
                const API_KEY: crate::ApiKey = crate::ApiKey::#key;
            }
        )),
        _ => {}
    }
    out
}

/// The whole file for one message.
pub fn emit_message_file(m: &MessageModel, opts: &EmitOptions) -> TokenStream {
    let mut items = Vec::new();
    for s in &m.structs {
        items.push(emit_struct(m, s, opts));
    }
    items.push(emit_message_impls(m));
    quote!(#(#items)*)
}
