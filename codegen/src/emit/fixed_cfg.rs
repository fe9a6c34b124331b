//! Fixes the generated code's `feature` gates for code that lives in
//! another crate. kwire's own output keeps `#[cfg(feature = "client")]` and
//! friends (they are kwire's cargo features); a user's crate has no such
//! features, so vendored output has each gate decided instead: by the
//! selection ([`Gate::On`], [`Gate::Off`]: a false `cfg` drops its item, a
//! true one disappears, a `cfg_attr` becomes its attributes or nothing), or
//! by kwire's own features ([`Gate::Runtime`]: the item is wrapped in a
//! macro kwire exports, which keeps it exactly when kwire has the feature).
//!
//! Works on the parsed file, so it does not depend on how the emitting
//! modules spell their tokens; a gate it cannot decide is an error, never
//! left for the user's compiler to misread.

use std::collections::BTreeMap;

use quote::ToTokens;
use syn::punctuated::Punctuated;
use syn::{parse_quote, Attribute, Fields, ImplItem, Item, Meta, Token};

use crate::error::GenError;

/// How one feature gate is decided in vendored output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Gate {
    On,
    Off,
    /// Decided by kwire's own features: the item goes inside this macro
    /// (a path such as `::kwire::__if_broker`).
    Runtime(String),
}

/// The decision for each cargo feature the generated code tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixedFeatures(pub BTreeMap<String, Gate>);

impl FixedFeatures {
    fn get(&self, name: &str, path: &str) -> Result<&Gate, GenError> {
        self.0.get(name).ok_or_else(|| GenError::Emit {
            path: path.to_string(),
            message: format!("feature {name:?} has no fixed value for vendored output"),
        })
    }
}

/// A predicate's value: known now, or true exactly when every one of
/// these runtime macros keeps its items.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Cond {
    Const(bool),
    Runtime(Vec<String>),
}

/// What the `cfg`s on one item decide.
enum Keep {
    No,
    Yes,
    Inside(Vec<String>),
}

/// Decides every `feature` gate of `file` in place.
pub fn resolve(file: &mut syn::File, f: &FixedFeatures, path: &str) -> Result<(), GenError> {
    let cx = Cx { f, path };
    match resolve_attrs(&mut file.attrs, &cx)? {
        Keep::Yes => cx.items(&mut file.items),
        _ => Err(err(path, "a feature gate on a whole file".into())),
    }
}

struct Cx<'a> {
    f: &'a FixedFeatures,
    path: &'a str,
}

fn err(path: &str, message: String) -> GenError {
    GenError::Emit {
        path: path.to_string(),
        message,
    }
}

impl Cx<'_> {
    /// A cfg predicate; `None` when it tests something other than features
    /// (left to the compiler).
    fn eval(&self, m: &Meta) -> Result<Option<Cond>, GenError> {
        match m {
            Meta::NameValue(nv) if nv.path.is_ident("feature") => match &nv.value {
                syn::Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(s),
                    ..
                }) => Ok(Some(match self.f.get(&s.value(), self.path)? {
                    Gate::On => Cond::Const(true),
                    Gate::Off => Cond::Const(false),
                    Gate::Runtime(m) => Cond::Runtime(vec![m.clone()]),
                })),
                _ => Err(err(self.path, "a feature cfg without a string".into())),
            },
            Meta::List(l) if ["all", "any", "not"].iter().any(|n| l.path.is_ident(n)) => {
                let args = l
                    .parse_args_with(Punctuated::<Meta, Token![,]>::parse_terminated)
                    .map_err(|e| err(self.path, format!("cfg predicate: {e}")))?;
                let mut vals = Vec::new();
                for a in &args {
                    match self.eval(a)? {
                        Some(v) => vals.push(v),
                        None => return Ok(None),
                    }
                }
                if l.path.is_ident("all") {
                    // A conjunction of runtime gates nests their macros.
                    let mut macros = Vec::new();
                    for v in vals {
                        match v {
                            Cond::Const(false) => return Ok(Some(Cond::Const(false))),
                            Cond::Const(true) => {}
                            Cond::Runtime(m) => macros.extend(m),
                        }
                    }
                    return Ok(Some(if macros.is_empty() {
                        Cond::Const(true)
                    } else {
                        Cond::Runtime(macros)
                    }));
                }
                let mut known = Vec::new();
                for v in vals {
                    match v {
                        Cond::Const(b) => known.push(b),
                        Cond::Runtime(_) => {
                            return Err(err(
                                self.path,
                                "`any`/`not` over a runtime-decided feature".into(),
                            ))
                        }
                    }
                }
                Ok(Some(Cond::Const(if l.path.is_ident("any") {
                    known.iter().any(|v| *v)
                } else {
                    !known.first().copied().unwrap_or(false)
                })))
            }
            _ => Ok(None),
        }
    }

    /// Resolves `attrs`; false when a `cfg` among them removes the item.
    /// For fields and variants, which no macro can wrap.
    fn keep(&self, attrs: &mut Vec<Attribute>) -> Result<bool, GenError> {
        match resolve_attrs(attrs, self)? {
            Keep::No => Ok(false),
            Keep::Yes => Ok(true),
            Keep::Inside(_) => Err(err(
                self.path,
                "a runtime-decided feature gate on a field or variant".into(),
            )),
        }
    }

    fn items(&self, items: &mut Vec<Item>) -> Result<(), GenError> {
        let mut out = Vec::with_capacity(items.len());
        for mut item in items.drain(..) {
            let mut split = Vec::new();
            let keep = match &mut item {
                Item::Const(i) => resolve_attrs(&mut i.attrs, self)?,
                Item::Enum(i) => {
                    let k = resolve_attrs(&mut i.attrs, self)?;
                    let mut vs = Punctuated::new();
                    for mut v in std::mem::take(&mut i.variants) {
                        if self.keep(&mut v.attrs)? {
                            self.fields(&mut v.fields)?;
                            vs.push(v);
                        }
                    }
                    i.variants = vs;
                    k
                }
                Item::Fn(i) => resolve_attrs(&mut i.attrs, self)?,
                Item::Impl(i) => {
                    let k = resolve_attrs(&mut i.attrs, self)?;
                    let mut kept = Vec::new();
                    // Runtime-gated methods move to an inherent impl block of
                    // their own inside the gate (a type may have many).
                    let mut gated: Vec<(Vec<String>, Vec<ImplItem>)> = Vec::new();
                    for mut ii in std::mem::take(&mut i.items) {
                        let attrs = match &mut ii {
                            ImplItem::Const(c) => &mut c.attrs,
                            ImplItem::Fn(f) => &mut f.attrs,
                            ImplItem::Type(t) => &mut t.attrs,
                            ImplItem::Macro(m) => &mut m.attrs,
                            _ => return Err(err(self.path, "an unexpected impl item".into())),
                        };
                        match resolve_attrs(attrs, self)? {
                            Keep::No => {}
                            Keep::Yes => kept.push(ii),
                            Keep::Inside(_) if i.trait_.is_some() => {
                                return Err(err(
                                    self.path,
                                    "a runtime-decided gate inside a trait impl".into(),
                                ))
                            }
                            Keep::Inside(macros) => {
                                match gated.iter_mut().find(|g| g.0 == macros) {
                                    Some(g) => g.1.push(ii),
                                    None => gated.push((macros, vec![ii])),
                                }
                            }
                        }
                    }
                    i.items = kept;
                    for (macros, items) in gated {
                        let mut block = i.clone();
                        block.items = items;
                        split.push((macros, Item::Impl(block)));
                    }
                    k
                }
                Item::Mod(i) => {
                    let k = resolve_attrs(&mut i.attrs, self)?;
                    if let Some((_, content)) = &mut i.content {
                        self.items(content)?;
                    }
                    k
                }
                Item::Static(i) => resolve_attrs(&mut i.attrs, self)?,
                Item::Struct(i) => {
                    let k = resolve_attrs(&mut i.attrs, self)?;
                    self.fields(&mut i.fields)?;
                    k
                }
                Item::Type(i) => resolve_attrs(&mut i.attrs, self)?,
                Item::Use(i) => resolve_attrs(&mut i.attrs, self)?,
                Item::Macro(i) => resolve_attrs(&mut i.attrs, self)?,
                Item::Trait(i) => resolve_attrs(&mut i.attrs, self)?,
                _ => return Err(err(self.path, "an unexpected item kind".into())),
            };
            match keep {
                Keep::No => {}
                Keep::Yes => out.push(item),
                Keep::Inside(macros) => out.push(wrap_item(item, &macros)?),
            }
            for (macros, block) in split {
                out.push(wrap_item(block, &macros)?);
            }
        }
        *items = out;
        Ok(())
    }

    fn fields(&self, fields: &mut Fields) -> Result<(), GenError> {
        let list = match fields {
            Fields::Named(n) => &mut n.named,
            Fields::Unnamed(u) => &mut u.unnamed,
            Fields::Unit => return Ok(()),
        };
        let mut kept = Punctuated::new();
        for mut f in std::mem::take(list) {
            if self.keep(&mut f.attrs)? {
                kept.push(f);
            }
        }
        *list = kept;
        Ok(())
    }
}

fn macro_path(m: &str) -> Result<syn::Path, GenError> {
    syn::parse_str(m).map_err(|e| GenError::Emit {
        path: "(options)".into(),
        message: format!("runtime gate {m:?} is not a path: {e}"),
    })
}

/// `item` inside `m1! { m2! { item } }`.
fn wrap_item(item: Item, macros: &[String]) -> Result<Item, GenError> {
    let mut tokens = item.into_token_stream();
    for m in macros.iter().rev() {
        let p = macro_path(m)?;
        tokens = quote::quote!(#p! { #tokens });
    }
    Ok(parse_quote!(#tokens))
}

fn resolve_attrs(attrs: &mut Vec<Attribute>, cx: &Cx<'_>) -> Result<Keep, GenError> {
    let mut out = Vec::with_capacity(attrs.len());
    let mut keep = Keep::Yes;
    for a in attrs.drain(..) {
        if a.path().is_ident("cfg") {
            let pred: Meta = a
                .parse_args()
                .map_err(|e| err(cx.path, format!("cfg: {e}")))?;
            match cx.eval(&pred)? {
                Some(Cond::Const(true)) => {}
                Some(Cond::Const(false)) => keep = Keep::No,
                Some(Cond::Runtime(m)) => {
                    keep = match keep {
                        Keep::No => Keep::No,
                        Keep::Yes => Keep::Inside(m),
                        Keep::Inside(mut prev) => {
                            prev.extend(m);
                            Keep::Inside(prev)
                        }
                    }
                }
                None => out.push(a),
            }
        } else if a.path().is_ident("cfg_attr") {
            let args = a
                .parse_args_with(Punctuated::<Meta, Token![,]>::parse_terminated)
                .map_err(|e| err(cx.path, format!("cfg_attr: {e}")))?;
            let mut it = args.into_iter();
            let pred = it
                .next()
                .ok_or_else(|| err(cx.path, "an empty cfg_attr".into()))?;
            match cx.eval(&pred)? {
                Some(Cond::Const(true)) => out.extend(it.map(|meta| Attribute {
                    pound_token: a.pound_token,
                    style: a.style,
                    bracket_token: a.bracket_token,
                    meta,
                })),
                Some(Cond::Const(false)) => {}
                Some(Cond::Runtime(_)) => {
                    return Err(err(
                        cx.path,
                        "a cfg_attr on a runtime-decided feature".into(),
                    ))
                }
                None => out.push(a),
            }
        } else {
            out.push(a);
        }
    }
    *attrs = out;
    Ok(keep)
}

/// Prints `file` as prettyplease does, except that the contents of runtime
/// gates (which prettyplease would print as one line of tokens) are
/// printed as items too, indented inside their macro.
pub fn unparse(file: &syn::File, f: &FixedFeatures) -> Result<String, GenError> {
    let gates: Vec<String> =
        f.0.values()
            .filter_map(|g| match g {
                Gate::Runtime(p) => Some(p.replace(' ', "")),
                _ => None,
            })
            .collect();
    let mut out = String::new();
    let mut run = Vec::new();
    let flush = |run: &mut Vec<Item>, out: &mut String| {
        if !run.is_empty() {
            out.push_str(&prettyplease::unparse(&syn::File {
                shebang: None,
                attrs: Vec::new(),
                items: std::mem::take(run),
            }));
        }
    };
    if !file.attrs.is_empty() {
        out.push_str(&prettyplease::unparse(&syn::File {
            shebang: None,
            attrs: file.attrs.clone(),
            items: Vec::new(),
        }));
    }
    for item in &file.items {
        let gate = match item {
            Item::Macro(m) => {
                let p = m.mac.path.to_token_stream().to_string().replace(' ', "");
                gates.contains(&p).then_some((p, &m.mac.tokens))
            }
            _ => None,
        };
        match gate {
            None => run.push(item.clone()),
            Some((path, tokens)) => {
                flush(&mut run, &mut out);
                let inner: syn::File = syn::parse2(tokens.clone())
                    .map_err(|e| err("(gate)", format!("gated items: {e}")))?;
                let text = unparse(&inner, f)?;
                out.push_str(&path);
                out.push_str("! {\n");
                for line in text.lines() {
                    if !line.is_empty() {
                        out.push_str("    ");
                    }
                    out.push_str(line);
                    out.push('\n');
                }
                out.push_str("}\n");
            }
        }
    }
    flush(&mut run, &mut out);
    Ok(out)
}
