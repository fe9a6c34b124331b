//! Response facts: for every response, `facts::ResponseFacts` (the
//! throttle time, KIP-219, and a walk over its error codes), and for every
//! struct of a response with an error code at or below it,
//! `facts::ErrorFacts`. Where each code applies (request, partition, topic,
//! key, other entry) and what names its topic are model facts
//! (`StructErrors`, `ReplyModel`); this module only spells them as calls
//! to the runtime's `ErrorWalk`, a few per struct. A field that the struct
//! does not have in every version it handles is read behind a version test.

use proc_macro2::TokenStream;
use quote::quote;

use super::facts::{set, MAX_VERSION};
use super::names::{field_ident, module_name, type_ident};
use super::Emitter;
use crate::error::GenError;
use crate::model::{
    EntityType, ErrorSite, FieldModel, MessageKind, MessageModel, StructErrors, StructModel,
};
use crate::versions::Versions;

/// `stmt`, behind a test of the walk's version unless `f` is present in
/// every version the struct handles.
fn gated(
    f: &FieldModel,
    s: &StructModel,
    cap: i16,
    root: &TokenStream,
    stmt: TokenStream,
) -> TokenStream {
    if f.present.contains_range(&s.possible) {
        stmt
    } else {
        let v = set(f.present, cap, root);
        quote!(if w.has(#v) { #stmt })
    }
}

/// `Some(value)`, or `w.at(versions, value)` when `f` is not always there.
fn present(
    f: &FieldModel,
    s: &StructModel,
    cap: i16,
    root: &TokenStream,
    value: TokenStream,
) -> TokenStream {
    if f.present.contains_range(&s.possible) {
        quote!(Some(#value))
    } else {
        let v = set(f.present, cap, root);
        quote!(w.at(#v, #value))
    }
}

fn emit_struct_errors(
    s: &StructModel,
    e: &StructErrors,
    cap: i16,
    root: &TokenStream,
) -> TokenStream {
    let name = type_ident(&s.name);
    let mut stmts = Vec::new();
    let topic_site = matches!(e.code, Some((_, ErrorSite::Topic)));
    if let Some(t) = e.topic.filter(|_| topic_site || !e.nested.is_empty()) {
        let name = match t.name {
            Some(i) => {
                let f = &s.fields[i];
                let id = field_ident(&f.name);
                present(f, s, cap, root, quote!(&self.#id))
            }
            None => quote!(None::<&str>),
        };
        let id = match t.id {
            Some(i) if !t.id_names.is_empty() => {
                let f = &s.fields[i];
                let id = field_ident(&f.name);
                if t.id_names.contains_range(&s.possible) {
                    quote!(Some(&self.#id))
                } else {
                    let v = set(t.id_names, cap, root);
                    quote!(w.at(#v, &self.#id))
                }
            }
            _ => quote!(None),
        };
        stmts.push(quote!(let w = &mut w.in_topic(#name, #id);));
    }
    if let Some((c, site)) = e.code {
        let f = &s.fields[c];
        let code = field_ident(&f.name);
        let call = match site {
            ErrorSite::Request => quote!(w.request(self.#code);),
            ErrorSite::Partition { index, leader } => {
                let index = field_ident(&s.fields[index].name);
                match leader {
                    None => quote!(w.partition(self.#index, self.#code);),
                    Some(l) => {
                        let lf = &s.fields[l];
                        let lid = field_ident(&lf.name);
                        let pair = present(
                            lf,
                            s,
                            cap,
                            root,
                            quote!((self.#lid.leader_id, self.#lid.leader_epoch)),
                        );
                        quote!(w.led_partition(self.#index, self.#code, #pair);)
                    }
                }
            }
            ErrorSite::Topic => quote!(w.topic(self.#code);),
            ErrorSite::Key { field, entity } => {
                let key = field_ident(&s.fields[field].name);
                let kind = match entity {
                    EntityType::GroupId => quote!(GroupId),
                    _ => quote!(TransactionalId),
                };
                quote!(w.key(#root::facts::KeyKind::#kind, &self.#key, self.#code);)
            }
            ErrorSite::Entry => {
                let n = &s.name;
                quote!(w.entry(#n, self.#code);)
            }
        };
        stmts.push(gated(f, s, cap, root, call));
    }
    for &k in &e.nested {
        let f = &s.fields[k];
        let id = field_ident(&f.name);
        stmts.push(gated(f, s, cap, root, quote!(w.walk(&self.#id);)));
    }
    quote!(
        impl #root::facts::ErrorFacts for #name {
            fn walk_errors<'v>(&'v self, w: &mut #root::facts::ErrorWalk<'_, 'v>) {
                #(#stmts)*
            }
        }
    )
}

/// The versions of `runs` as one `VersionSet` expression.
fn set_of_runs(runs: &[Versions], cap: i16, root: &TokenStream) -> TokenStream {
    let mut it = runs.iter();
    let Some(first) = it.next() else {
        return set(Versions::NONE, cap, root);
    };
    let mut out = set(*first, cap, root);
    for r in it {
        let next = set(*r, cap, root);
        out = quote!(#out.union(#next));
    }
    out
}

/// The response-facts impls of one message file: nothing unless it is a
/// response.
pub fn emit_response_facts(m: &MessageModel, e: &Emitter<'_>) -> Result<TokenStream, GenError> {
    if m.kind != MessageKind::Response {
        return Ok(TokenStream::new());
    }
    let root = &e.root;
    let cap = m.valid.hi;
    if cap > MAX_VERSION {
        return Err(GenError::Emit {
            path: format!("messages/{}.rs", module_name(&m.name)),
            message: format!(
                "{} has version {cap}; response facts hold versions up to {MAX_VERSION}",
                m.name
            ),
        });
    }
    let mut out = TokenStream::new();
    for s in &m.structs {
        if let Some(errors) = &s.errors {
            out.extend(emit_struct_errors(s, errors, cap, root));
        }
    }
    let r = m.root();
    let name = type_ident(&m.name);
    let reply = m.reply.clone().unwrap_or_default();
    let mut items = Vec::new();
    if let Some(t) = reply.throttle {
        let f = &r.fields[t];
        let id = field_ident(&f.name);
        items.push(if f.present.contains_range(&r.possible) {
            quote!(
                fn throttle_time_ms(&self, _version: i16) -> ::core::option::Option<i32> {
                    Some(self.#id)
                }
            )
        } else {
            let v = set(f.present, cap, root);
            quote!(
                fn throttle_time_ms(&self, version: i16) -> ::core::option::Option<i32> {
                    #v.contains(version).then_some(self.#id)
                }
            )
        });
    }
    if r.errors.is_some() {
        let entries = set_of_runs(&reply.entry_errors, cap, root);
        items.push(quote!(
            fn errors(
                &self,
                version: i16,
                sink: &mut dyn FnMut(#root::facts::ErrorFact<'_>),
            ) {
                #root::facts::ErrorWalk::new(version, #entries, sink).walk(self);
            }
        ));
    }
    out.extend(quote!(
        impl #root::facts::ResponseFacts for #name {
            #(#items)*
        }
    ));
    Ok(out)
}
