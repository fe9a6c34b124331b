//! Request facts: for every struct of a request, `EncodeFacts::fails_in`,
//! the versions at which its encoding fails, computed for all versions at
//! once. It mirrors the size pass (`codec.rs`) clause by clause from the
//! same model facts, so the set it gives is exactly where encode succeeds:
//!
//! * a non-default, non-ignorable field fails where it is not present;
//! * a null fails where the field is regular but not nullable (and where a
//!   tagged field the size pass adds with `add_some` is not nullable);
//! * strings, bytes and arrays fail where their length prefix cannot say
//!   their length; nested structs and array elements answer for themselves;
//! * unknown tagged fields fail where the struct has no tagged fields and
//!   where a known field uses their tag.
//!
//! Also the typed view of a request (`RequestRef`, kwire's own output only),
//! `RequestKind::encodable_versions` and `ResponseKind`'s response facts
//! (`response_facts.rs` emits each response's), in `generated/facts.rs`.

use proc_macro2::TokenStream;
use quote::quote;

use super::names::{const_name, field_ident, ident, module_name, type_ident};
use super::types::non_default;
use super::Emitter;
use crate::error::GenError;
use crate::model::{
    api_name, FieldModel, FieldType, MessageKind, MessageModel, Model, StructModel,
};
use crate::versions::Versions;

/// The highest version a runtime `VersionSet` holds.
pub(super) const MAX_VERSION: i16 = 63;

/// Which parameters the generated `fails_in` reads.
#[derive(Default)]
struct Uses {
    at: bool,
    flexible: bool,
}

/// `v` as a `VersionSet` expression, capped at the message's last version.
pub(super) fn set(v: Versions, cap: i16, root: &TokenStream) -> TokenStream {
    let v = v.intersect(&Versions::new(0, cap));
    if v.is_empty() {
        quote!(#root::facts::VersionSet::EMPTY)
    } else {
        let (lo, hi) = (v.lo, v.hi);
        quote!(#root::facts::VersionSet::range(#lo, #hi))
    }
}

/// Whether a value of `ty` can fail to encode by itself (a length, or a
/// struct's own rules); fixed-width scalars never do.
fn value_can_fail(ty: &FieldType) -> bool {
    ty.fixed_width().is_none()
}

fn nullable_struct(f: &FieldModel) -> bool {
    f.optional && matches!(f.ty, FieldType::Struct(_))
}

/// `at` narrowed to `v`, without a test when `v` covers the struct.
fn within(v: Versions, s: &StructModel, cap: i16, root: &TokenStream) -> TokenStream {
    if v.contains_range(&s.possible) {
        quote!(at)
    } else {
        let vs = set(v, cap, root);
        quote!(at.intersect(#vs))
    }
}

/// The flexible versions a field's value is written with: the struct's,
/// or the field's own `flexibleVersions` (`RequestHeader.ClientId`).
fn field_flexible(f: &FieldModel, cap: i16, root: &TokenStream, uses: &mut Uses) -> TokenStream {
    match f.flexible_override {
        Some(v) => set(v, cap, root),
        None => {
            uses.flexible = true;
            quote!(flexible)
        }
    }
}

fn regular_clause(
    f: &FieldModel,
    s: &StructModel,
    cap: i16,
    root: &TokenStream,
    uses: &mut Uses,
) -> Option<TokenStream> {
    if f.regular.is_empty() {
        return None;
    }
    let id = field_ident(&f.name);
    let null_fails = f.optional && !f.nullable_in.contains_range(&f.regular);
    let can_fail = value_can_fail(&f.ty);
    if !null_fails && !can_fail {
        return None;
    }
    uses.at = true;
    let covers = f.regular.contains_range(&s.possible);
    let r = within(f.regular, s, cap, root);
    let fx = field_flexible(f, cap, root, uses);
    let value = quote!(v.fails_in(at, #fx));
    let stmt = if !f.optional {
        quote!(fails = fails.union(self.#id.fails_in(at, #fx));)
    } else if null_fails {
        let nullable = set(f.nullable_in, cap, root);
        quote!(fails = fails.union(match &self.#id {
            Some(v) => #value,
            None => at.minus(#nullable),
        });)
    } else {
        quote!(fails = fails.union(self.#id.fails_in(at, #fx));)
    };
    Some(if covers {
        stmt
    } else {
        quote!({
            let at = #r;
            #stmt
        })
    })
}

fn tagged_clause(
    f: &FieldModel,
    s: &StructModel,
    cap: i16,
    root: &TokenStream,
    uses: &mut Uses,
) -> Option<TokenStream> {
    if f.tagged_in.intersect(&s.flexible).is_empty() {
        return None;
    }
    let id = field_ident(&f.name);
    // Mirrors the size pass: a nullable struct takes null anywhere it is
    // tagged; another nullable type goes through `add_some` (null fails)
    // unless it is nullable in every tagged version.
    let add_some = f.optional && !nullable_struct(f) && !f.nullable_in.contains_range(&f.tagged_in);
    if !add_some && !value_can_fail(&f.ty) {
        return None;
    }
    uses.at = true;
    uses.flexible = true;
    let nd = non_default(f, quote!(self.#id), root);
    let tagged = set(f.tagged_in, cap, root);
    let inner = if add_some {
        quote!(match &self.#id {
            Some(v) => v.fails_in(at, flexible),
            None => at,
        })
    } else {
        quote!(self.#id.fails_in(at, flexible))
    };
    Some(quote!(if #nd {
        let at = at.intersect(flexible).intersect(#tagged);
        fails = fails.union(#inner);
    }))
}

fn emit_struct_facts(s: &StructModel, cap: i16, root: &TokenStream) -> TokenStream {
    let name = type_ident(&s.name);
    let mut uses = Uses::default();
    let mut stmts = Vec::new();
    for f in &s.fields {
        let id = field_ident(&f.name);
        // A non-default value the version cannot carry fails unless the
        // field is ignorable (Kafka's generated `write` does the same).
        if !f.ignorable && !f.present.contains_range(&s.possible) {
            uses.at = true;
            let nd = non_default(f, quote!(self.#id), root);
            let present = set(f.present, cap, root);
            stmts.push(quote!(if #nd {
                fails = fails.union(at.minus(#present));
            }));
        }
        stmts.extend(regular_clause(f, s, cap, root, &mut uses));
        stmts.extend(tagged_clause(f, s, cap, root, &mut uses));
    }
    if !s.flexible.is_empty() {
        uses.at = true;
        uses.flexible = true;
        let known: Vec<TokenStream> = s
            .tagged_fields()
            .filter_map(|f| {
                let tag = f.tag?;
                let v = set(f.tagged_in, cap, root);
                Some(quote!((#tag, #v)))
            })
            .collect();
        stmts.push(quote!(
            fails = fails.union(#root::facts::unknown_tagged_fails(
                &self.unknown_tagged_fields, at, flexible, &[#(#known),*],
            ));
        ));
    }
    let at = if uses.at { quote!(at) } else { quote!(_at) };
    let flexible = if uses.flexible {
        quote!(flexible)
    } else {
        quote!(_flexible)
    };
    let body = if stmts.is_empty() {
        quote!(#root::facts::VersionSet::EMPTY)
    } else {
        quote!(
            let mut fails = #root::facts::VersionSet::EMPTY;
            #(#stmts)*
            fails
        )
    };
    quote!(
        impl #root::facts::EncodeFacts for #name {
            fn fails_in(
                &self,
                #at: #root::facts::VersionSet,
                #flexible: #root::facts::VersionSet,
            ) -> #root::facts::VersionSet {
                #body
            }
        }
    )
}

fn own_crate(e: &Emitter<'_>) -> bool {
    e.opts.runtime_root == "crate"
}

/// The facts impls of one message file: every struct of a request, and
/// its typed view. Nothing for other messages.
pub fn emit_message_facts(
    m: &MessageModel,
    model: &Model,
    e: &Emitter<'_>,
) -> Result<TokenStream, GenError> {
    if m.kind != MessageKind::Request {
        return Ok(TokenStream::new());
    }
    let root = &e.root;
    let cap = m.valid.hi;
    if cap > MAX_VERSION {
        return Err(GenError::Emit {
            path: format!("messages/{}.rs", module_name(&m.name)),
            message: format!(
                "{} has version {cap}; request facts hold versions up to {MAX_VERSION}",
                m.name
            ),
        });
    }
    let mut out = TokenStream::new();
    for s in &m.structs {
        out.extend(emit_struct_facts(s, cap, root));
    }
    let name = type_ident(&m.name);
    let api = api_name(&m.name);
    let live = model
        .apis
        .iter()
        .any(|a| a.name == api && !model.is_removed(a));
    if own_crate(e) && live {
        let v = ident(api);
        out.extend(quote!(
            impl #root::facts::RequestView for #name {
                fn view(&self) -> ::core::option::Option<#root::facts::RequestRef<'_>> {
                    Some(#root::facts::RequestRef::#v(self))
                }
            }
        ));
    } else {
        out.extend(quote!(impl #root::facts::RequestView for #name {}));
    }
    Ok(out)
}

/// `generated/facts.rs`: `RequestKind::encodable_versions` and, in kwire's
/// own output, the `RequestRef` view.
pub fn emit_facts_file(model: &Model, e: &Emitter<'_>) -> TokenStream {
    let root = &e.root;
    let live: Vec<_> = model.apis.iter().filter(|a| !model.is_removed(a)).collect();
    let mut variants = Vec::new();
    let mut key_arms = Vec::new();
    let mut kind_arms = Vec::new();
    let mut view_arms = Vec::new();
    let mut ref_arms = Vec::new();
    let mut throttle_arms = Vec::new();
    let mut error_arms = Vec::new();
    for a in &live {
        let m = model.request(a);
        let v = ident(&a.name);
        let ty = type_ident(&m.name);
        let md = ident(&module_name(&m.name));
        let c = const_name(&a.name);
        variants.push(quote!(#v(&'a super::messages::#md::#ty),));
        key_arms.push(quote!(Self::#v(_) => #root::ApiKey::#c,));
        kind_arms
            .push(quote!(Self::#v(m) => #root::facts::EncodableVersions::encodable_versions(m),));
        ref_arms
            .push(quote!(Self::#v(m) => #root::facts::EncodableVersions::encodable_versions(*m),));
        view_arms.push(quote!(Self::#v(m) => RequestRef::#v(m),));
        throttle_arms.push(
            quote!(Self::#v(m) => #root::facts::ResponseFacts::throttle_time_ms(m, version),),
        );
        error_arms
            .push(quote!(Self::#v(m) => #root::facts::ResponseFacts::errors(m, version, sink),));
    }
    let kind = quote!(
        impl super::dispatch::RequestKind {
            /// Exactly the versions at which this request can be encoded.
            pub fn encodable_versions(&self) -> #root::facts::VersionSet {
                match self {
                    #(#kind_arms)*
                }
            }
        }
    );
    if !own_crate(e) {
        return kind;
    }
    quote!(
        /// A reference to any request this build knows: what
        /// `RequestView::view` gives.
        #[derive(Debug, Clone, Copy, PartialEq)]
        #[non_exhaustive]
        pub enum RequestRef<'a> {
            #(#variants)*
        }

        impl RequestRef<'_> {
            pub fn api_key(&self) -> #root::ApiKey {
                match self {
                    #(#key_arms)*
                }
            }

            /// Exactly the versions at which this request can be encoded.
            pub fn encodable_versions(&self) -> #root::facts::VersionSet {
                match self {
                    #(#ref_arms)*
                }
            }
        }

        #kind

        impl #root::facts::ResponseFacts for super::dispatch::ResponseKind {
            fn throttle_time_ms(&self, version: i16) -> ::core::option::Option<i32> {
                match self {
                    #(#throttle_arms)*
                }
            }

            fn errors(&self, version: i16, sink: &mut dyn FnMut(#root::facts::ErrorFact<'_>)) {
                match self {
                    #(#error_arms)*
                }
            }
        }

        impl super::dispatch::RequestKind {
            /// The typed view of this request.
            pub fn view(&self) -> RequestRef<'_> {
                match self {
                    #(#view_arms)*
                }
            }
        }
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_are_capped_and_empty_is_named() {
        let root = quote!(crate);
        assert_eq!(
            set(Versions::new(3, i16::MAX), 9, &root).to_string(),
            "crate :: facts :: VersionSet :: range (3i16 , 9i16)"
        );
        assert_eq!(
            set(Versions::NONE, 9, &root).to_string(),
            "crate :: facts :: VersionSet :: EMPTY"
        );
    }
}
