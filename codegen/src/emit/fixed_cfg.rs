//! Fixes the generated code's `feature` gates for code that lives in
//! another crate. kwire's own output keeps `#[cfg(feature = "client")]` and
//! friends (they are kwire's cargo features); a user's crate has no such
//! features, so vendored output has each gate decided by the selection
//! instead: a false `cfg` drops its item, a true one disappears, and a
//! `cfg_attr` becomes its attributes or nothing.
//!
//! Works on the parsed file, so it does not depend on how the emitting
//! modules spell their tokens; a gate it cannot decide is an error, never
//! left for the user's compiler to misread.

use std::collections::BTreeMap;

use syn::punctuated::Punctuated;
use syn::{Attribute, Fields, ImplItem, Item, Meta, Token};

use crate::error::GenError;

/// The value of each cargo feature the generated code tests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FixedFeatures(pub BTreeMap<String, bool>);

impl FixedFeatures {
    fn get(&self, name: &str, path: &str) -> Result<bool, GenError> {
        self.0.get(name).copied().ok_or_else(|| GenError::Emit {
            path: path.to_string(),
            message: format!("feature {name:?} has no fixed value for vendored output"),
        })
    }
}

/// Decides every `feature` gate of `file` in place.
pub fn resolve(file: &mut syn::File, f: &FixedFeatures, path: &str) -> Result<(), GenError> {
    let cx = Cx { f, path };
    resolve_attrs(&mut file.attrs, &cx)?;
    cx.items(&mut file.items)
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
    fn eval(&self, m: &Meta) -> Result<Option<bool>, GenError> {
        match m {
            Meta::NameValue(nv) if nv.path.is_ident("feature") => match &nv.value {
                syn::Expr::Lit(syn::ExprLit {
                    lit: syn::Lit::Str(s),
                    ..
                }) => Ok(Some(self.f.get(&s.value(), self.path)?)),
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
                Ok(Some(if l.path.is_ident("all") {
                    vals.iter().all(|v| *v)
                } else if l.path.is_ident("any") {
                    vals.iter().any(|v| *v)
                } else {
                    !vals.first().copied().unwrap_or(false)
                }))
            }
            _ => Ok(None),
        }
    }

    /// Resolves `attrs`; false when a `cfg` among them removes the item.
    fn keep(&self, attrs: &mut Vec<Attribute>) -> Result<bool, GenError> {
        resolve_attrs(attrs, self)
    }

    fn items(&self, items: &mut Vec<Item>) -> Result<(), GenError> {
        let mut out = Vec::with_capacity(items.len());
        for mut item in items.drain(..) {
            let keep = match &mut item {
                Item::Const(i) => self.keep(&mut i.attrs)?,
                Item::Enum(i) => {
                    let k = self.keep(&mut i.attrs)?;
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
                Item::Fn(i) => self.keep(&mut i.attrs)?,
                Item::Impl(i) => {
                    let k = self.keep(&mut i.attrs)?;
                    let mut kept = Vec::new();
                    for mut ii in std::mem::take(&mut i.items) {
                        let attrs = match &mut ii {
                            ImplItem::Const(c) => &mut c.attrs,
                            ImplItem::Fn(f) => &mut f.attrs,
                            ImplItem::Type(t) => &mut t.attrs,
                            ImplItem::Macro(m) => &mut m.attrs,
                            _ => return Err(err(self.path, "an unexpected impl item".into())),
                        };
                        if self.keep(attrs)? {
                            kept.push(ii);
                        }
                    }
                    i.items = kept;
                    k
                }
                Item::Mod(i) => {
                    let k = self.keep(&mut i.attrs)?;
                    if let Some((_, content)) = &mut i.content {
                        self.items(content)?;
                    }
                    k
                }
                Item::Static(i) => self.keep(&mut i.attrs)?,
                Item::Struct(i) => {
                    let k = self.keep(&mut i.attrs)?;
                    self.fields(&mut i.fields)?;
                    k
                }
                Item::Type(i) => self.keep(&mut i.attrs)?,
                Item::Use(i) => self.keep(&mut i.attrs)?,
                Item::Macro(i) => self.keep(&mut i.attrs)?,
                Item::Trait(i) => self.keep(&mut i.attrs)?,
                _ => return Err(err(self.path, "an unexpected item kind".into())),
            };
            if keep {
                out.push(item);
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

fn resolve_attrs(attrs: &mut Vec<Attribute>, cx: &Cx<'_>) -> Result<bool, GenError> {
    let mut out = Vec::with_capacity(attrs.len());
    let mut keep = true;
    for a in attrs.drain(..) {
        if a.path().is_ident("cfg") {
            let pred: Meta = a
                .parse_args()
                .map_err(|e| err(cx.path, format!("cfg: {e}")))?;
            match cx.eval(&pred)? {
                Some(true) => {}
                Some(false) => keep = false,
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
                Some(true) => out.extend(it.map(|meta| Attribute {
                    pound_token: a.pound_token,
                    style: a.style,
                    bracket_token: a.bracket_token,
                    meta,
                })),
                Some(false) => {}
                None => out.push(a),
            }
        } else {
            out.push(a);
        }
    }
    *attrs = out;
    Ok(keep)
}
