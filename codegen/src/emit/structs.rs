//! The struct definitions of one message file: fields with their docs,
//! `Default`, serde attributes, the codec impls (behind the side features)
//! and the `Message` impls.

use proc_macro2::TokenStream;
use quote::quote;

use super::codec::{emit_read, emit_size, emit_write};
use super::cond::describe;
use super::names::{const_name, field_ident, ident, json_name, module_name, type_ident};
use super::testing::emit_arbitrary;
use super::types::{default_expr, default_is_derivable, field_type};
use super::Emitter;
use crate::model::{
    api_name, DefaultValue, Direction, FieldModel, FieldType, MessageKind, MessageModel,
    StructModel,
};

fn field_doc(f: &FieldModel, e: &Emitter<'_>) -> Vec<String> {
    let mut facts = vec![format!("`{}`", f.ty.schema_name())];
    facts.push(format!("versions {}", describe(f.present)));
    if !f.nullable_in.is_empty() {
        facts.push(format!("nullable {}", describe(f.nullable_in)));
    }
    if !f.tagged_in.is_empty() {
        facts.push(format!(
            "tagged {} (tag {})",
            describe(f.tagged_in),
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
    if let Some(et) = &f.entity_type {
        facts.push(format!("entity `{}`", et.schema_name()));
    }
    if let Some(fl) = f.flexible_override {
        facts.push(format!("compact encoding in versions {}", describe(fl)));
    }
    if f.by_reference() {
        facts.push("kept by reference in a segmented encode".into());
    }
    let mut doc = vec![format!(" {}: {}.", f.name, facts.join(", "))];
    if e.opts.include_about {
        if let Some(a) = &f.about {
            doc.push(String::new());
            doc.push(format!(" {a}"));
        }
    }
    doc
}

fn serde_attrs(f: &FieldModel, e: &Emitter<'_>) -> TokenStream {
    let jn = json_name(&f.name);
    let root = &e.opts.runtime_root;
    let with = match (&f.ty, f.optional) {
        (FieldType::Bytes | FieldType::Records, false) => {
            Some(format!("{root}::serde_support::bytes"))
        }
        (FieldType::Bytes | FieldType::Records, true) => {
            Some(format!("{root}::serde_support::opt_bytes"))
        }
        _ => None,
    };
    match with {
        Some(w) => quote!(#[cfg_attr(feature = "serde", serde(rename = #jn, with = #w))]),
        None => quote!(#[cfg_attr(feature = "serde", serde(rename = #jn))]),
    }
}

/// The `cfg` that compiles an encoder (`encode`) or a decoder of a message
/// going in `d`: clients encode requests and decode responses, brokers the
/// opposite; data messages are always both.
pub fn side_cfg(d: Direction, encode: bool) -> TokenStream {
    match (d, encode) {
        (Direction::Both, _) => quote!(),
        (Direction::ClientToBroker, true) | (Direction::BrokerToClient, false) => {
            quote!(#[cfg(feature = "client")])
        }
        (Direction::ClientToBroker, false) | (Direction::BrokerToClient, true) => {
            quote!(#[cfg(feature = "broker")])
        }
    }
}

fn emit_struct(m: &MessageModel, s: &StructModel, e: &Emitter<'_>) -> TokenStream {
    let root = &e.root;
    let name = type_ident(&s.name);
    let mut fields = Vec::new();
    let mut defaults = Vec::new();
    let derive_default = s.fields.iter().all(default_is_derivable);
    for f in &s.fields {
        let id = field_ident(&f.name);
        let ty = field_type(f, root);
        let docs = field_doc(f, e);
        let serde = serde_attrs(f, e);
        let def = default_expr(f, root);
        fields.push(quote!(
            #(#[doc = #docs])*
            #serde
            pub #id: #ty,
        ));
        defaults.push(quote!(#id: #def,));
    }
    if !s.flexible.is_empty() {
        fields.push(quote!(
            /// Tagged fields this build does not know, kept and written back.
            #[cfg_attr(feature = "serde", serde(skip))]
            pub unknown_tagged_fields: #root::wire::UnknownTaggedFields,
        ));
        defaults.push(quote!(unknown_tagged_fields: #root::wire::UnknownTaggedFields::new(),));
    }
    let is_root = s.name == m.name;
    let release = &e.opts.release;
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
            " {what}, generated from `{}` of Kafka {release}.",
            m.file
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
            " Struct `{}` of `{}` (Kafka {release}){}, in versions {}.",
            s.name,
            m.file,
            if s.common { ", a common struct" } else { "" },
            describe(s.possible)
        ));
    }
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
    let enc_cfg = side_cfg(m.direction(), true);
    let dec_cfg = side_cfg(m.direction(), false);
    let size = emit_size(s, root);
    let write = emit_write(s, root);
    let read = emit_read(s, root);
    let arbitrary = emit_arbitrary(m, s, root);
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

        #enc_cfg
        impl #root::Encodable for #name {
            #size
            #write
        }

        #dec_cfg
        impl #root::wire::ReadInto for #name {
            #read
        }

        #arbitrary
    )
}

fn emit_message_impls(m: &MessageModel, e: &Emitter<'_>) -> TokenStream {
    let root = &e.root;
    let name = type_ident(&m.name);
    let sname = &m.name;
    let lo = m.valid.lo;
    let hi = m.valid.hi;
    let flex = match m.flexible_min() {
        None => quote!(None),
        Some(f) => quote!(Some(#f)),
    };
    let unstable = m.latest_unstable;
    let mut out = quote!(
        impl #root::Message for #name {
            const NAME: &'static str = #sname;
            const VERSIONS: #root::VersionRange = #root::VersionRange::new(#lo, #hi);
            const FLEXIBLE_MIN: ::core::option::Option<i16> = #flex;
            const LATEST_VERSION_UNSTABLE: bool = #unstable;
        }
    );
    let api = api_name(&m.name);
    let key = const_name(api);
    match m.kind {
        MessageKind::Request => {
            let resp = type_ident(&format!("{api}Response"));
            let resp_mod = ident(&module_name(&format!("{api}Response")));
            out.extend(quote!(
                impl #root::Request for #name {
                    const API_KEY: #root::ApiKey = #root::ApiKey::#key;
                    type Response = super::#resp_mod::#resp;
                }
            ));
        }
        MessageKind::Response => out.extend(quote!(
            impl #root::Response for #name {
                const API_KEY: #root::ApiKey = #root::ApiKey::#key;
            }
        )),
        _ => {}
    }
    out
}

/// The whole file for one message.
pub fn emit_message_file(m: &MessageModel, e: &Emitter<'_>) -> TokenStream {
    let mut items = Vec::new();
    for s in &m.structs {
        items.push(emit_struct(m, s, e));
    }
    items.push(emit_message_impls(m, e));
    quote!(#(#items)*)
}
