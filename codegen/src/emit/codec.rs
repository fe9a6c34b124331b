//! `read`, `size` and `write` of one generated struct.
//!
//! The generated code is thin: one runtime call per field, whose Rust type
//! picks the wire encoding (`r.field(cx, "Name")?`, `w.put(&self.name, cx)`,
//! `wire::size(&self.name, cx, "Name")?`), runs of fixed-width fields
//! written as one array, tagged sections through the runtime's
//! `TaggedReader`/`TaggedSize`/`TaggedWriter`. Every version test goes
//! through [`super::cond`], so each clause sees only the versions still
//! possible where it sits. What the functions use (`r`, `w`, `cx`, `mut n`)
//! is tracked while they are built, from the model, never read back from
//! the emitted tokens.

use proc_macro2::TokenStream;
use quote::quote;

use super::cond::{branch, Cond};
use super::names::field_ident;
use super::types::non_default;
use crate::model::{FieldModel, FieldType, StructModel};
use crate::versions::Versions;

/// The longest run of fixed-width fields written as one array (the
/// runtime's `FixedRun` takes up to 8 values, 128 bytes).
const MAX_RUN_FIELDS: usize = 8;
const MAX_RUN_BYTES: usize = 128;

/// Which of its parameters a generated function uses.
#[derive(Default)]
struct Uses {
    cx: bool,
    io: bool,
}

fn param(name: &str, used: bool) -> proc_macro2::Ident {
    let n = if used {
        name.to_string()
    } else {
        format!("_{name}")
    };
    proc_macro2::Ident::new(&n, proc_macro2::Span::call_site())
}

/// The codec context of a field at versions `r`: the struct's, or the
/// field's own `flexibleVersions` override (`RequestHeader.ClientId`).
fn field_cx(f: &FieldModel, r: Versions) -> TokenStream {
    match f.flexible_override {
        None => quote!(cx),
        Some(v) => {
            let c = Cond::new(v, r).expr();
            quote!(cx.with_flexible(#c))
        }
    }
}

fn nullable_struct(f: &FieldModel) -> bool {
    f.optional && matches!(f.ty, FieldType::Struct(_))
}

/// Versions of the struct whose tagged section holds `f`: the struct's
/// flexible versions (the section is only there).
fn tagged_cond(s: &StructModel, f: &FieldModel) -> Cond {
    Cond::new(f.tagged_in, s.flexible)
}

/// The tags known at each version of the tagged section, as an expression
/// of type `&[u32]` (tags only ever start being known: taggedVersions are
/// open-ended).
fn known_tags(s: &StructModel) -> TokenStream {
    let mut starts: Vec<i16> = s.tagged_fields().map(|f| f.tagged_in.lo).collect();
    starts.sort_unstable();
    starts.dedup();
    let tags_from = |v: i16| {
        let tags: Vec<u32> = s
            .tagged_fields()
            .filter(|f| f.tagged_in.contains(v))
            .filter_map(|f| f.tag)
            .collect();
        quote!(&[#(#tags),*])
    };
    let lowest = s.flexible.lo;
    let mut expr = tags_from(lowest);
    for &v in starts.iter().filter(|&&v| v > lowest) {
        let tags = tags_from(v);
        expr = quote!(if cx.version >= #v { #tags } else { #expr });
    }
    expr
}

// ---------------------------------------------------------------- read

fn read_regular(f: &FieldModel, r: Versions) -> TokenStream {
    let c = field_cx(f, r);
    let name = &f.name;
    if !f.optional {
        return quote!(r.field(#c, #name)?);
    }
    let plain = if nullable_struct(f) {
        quote!(r.nullable_struct_field(#c, #name)?)
    } else {
        quote!(r.field(#c, #name)?)
    };
    let some = quote!(Some(r.field(#c, #name)?));
    match Cond::new(f.nullable_in, r) {
        Cond::Always => plain,
        Cond::Never => some,
        Cond::When(e) => quote!(if #e { #plain } else { #some }),
    }
}

fn read_tagged(f: &FieldModel) -> TokenStream {
    let name = &f.name;
    let plain = if nullable_struct(f) {
        quote!(t.nullable_struct_field(r, cx, #name)?)
    } else {
        quote!(t.field(r, cx, #name)?)
    };
    // Validated in the model: nullable in every tagged version or none.
    if f.optional && !f.nullable_in.contains_range(&f.tagged_in) {
        quote!(Some(t.field(r, cx, #name)?))
    } else {
        plain
    }
}

/// The struct's `ReadInto` items (`Decodable` comes with it). Fields are read
/// in place over the defaults (`wire::ReadInto`): a field absent at a
/// version keeps its default, so it needs no code.
pub fn emit_read(s: &StructModel, root: &TokenStream) -> TokenStream {
    let p = s.possible;
    let mut uses = Uses::default();
    let mut stmts = Vec::new();
    for f in &s.fields {
        let id = field_ident(&f.name);
        if !f.regular.is_empty() {
            uses.io = true;
            uses.cx = true;
        }
        stmts.extend(branch(
            f.regular,
            p,
            |rr| {
                let value = read_regular(f, rr);
                Some(quote!(this.#id = #value;))
            },
            |_| None,
        ));
    }
    if !s.flexible.is_empty() {
        uses.io = true;
        let mut arms = Vec::new();
        for f in s.tagged_fields() {
            let id = field_ident(&f.name);
            let tag = f.tag.unwrap_or(0);
            let value = read_tagged(f);
            uses.cx = true;
            let guard = match tagged_cond(s, f) {
                Cond::When(e) => quote!(if #e),
                Cond::Always | Cond::Never => quote!(),
            };
            arms.push(quote!(#tag #guard => this.#id = #value,));
        }
        let keep = quote!(t.unknown(r, &mut this.unknown_tagged_fields)?);
        let walk = if arms.is_empty() {
            quote!(while t.next(r)?.is_some() { #keep; })
        } else {
            quote!(while let Some(tag) = t.next(r)? {
                match tag {
                    #(#arms)*
                    _ => #keep,
                }
            })
        };
        let body = quote!(
            let mut t = #root::wire::TaggedReader::begin(r)?;
            #walk
        );
        let c = Cond::new(s.flexible, p);
        if matches!(c, Cond::When(_)) {
            uses.cx = true;
        }
        stmts.extend(match c {
            Cond::Always => Some(body),
            Cond::Never => None,
            Cond::When(_) => Some(quote!(if cx.flexible { #body })),
        });
    }
    let r = param("r", uses.io);
    let cx = param("cx", uses.cx);
    let bind = (!stmts.is_empty()).then(|| quote!(let this = self;));
    let min = s.min_size;
    quote!(
        const MIN_SIZE: usize = #min;

        fn read_into(&mut self, #r: &mut #root::wire::Reader, #cx: #root::wire::Cx) -> #root::wire::ReadResult<()> {
            #bind
            #(#stmts)*
            Ok(())
        }
    )
}

// ---------------------------------------------------------------- size

fn size_regular(f: &FieldModel, r: Versions, root: &TokenStream) -> TokenStream {
    let c = field_cx(f, r);
    let name = &f.name;
    let id = field_ident(&f.name);
    if !f.optional {
        return quote!(#root::wire::size(&self.#id, #c, #name)?);
    }
    let plain = if nullable_struct(f) {
        quote!(#root::wire::nullable_struct_size(&self.#id, #c, #name)?)
    } else {
        quote!(#root::wire::size(&self.#id, #c, #name)?)
    };
    let some = quote!(#root::wire::size_some(&self.#id, #c, #name)?);
    match Cond::new(f.nullable_in, r) {
        Cond::Always => plain,
        Cond::Never => some,
        Cond::When(e) => quote!(if #e { #plain } else { #some }),
    }
}

/// Consecutive fixed-width fields present in the same versions, summed.
struct FixedGroup {
    regular: Versions,
    bytes: usize,
}

pub fn emit_size(s: &StructModel, root: &TokenStream) -> TokenStream {
    let p = s.possible;
    let mut uses = Uses::default();
    // `uses.io` stands for "adds to n" in the size pass.
    let mut constant = 0usize;
    let mut stmts: Vec<TokenStream> = Vec::new();
    let mut group: Option<FixedGroup> = None;
    let flush = |group: &mut Option<FixedGroup>, stmts: &mut Vec<TokenStream>, uses: &mut Uses| {
        if let Some(g) = group.take() {
            let n = g.bytes;
            if let Some(t) = branch(g.regular, p, |_| Some(quote!(n += #n;)), |_| None) {
                uses.cx = true;
                uses.io = true;
                stmts.push(t);
            }
        }
    };
    for f in &s.fields {
        let id = field_ident(&f.name);
        let name = &f.name;
        if !f.regular.is_empty() {
            match f.fixed_width() {
                Some(width) if f.regular == p => constant += width,
                Some(width) => match &mut group {
                    Some(g) if g.regular == f.regular => g.bytes += width,
                    _ => {
                        flush(&mut group, &mut stmts, &mut uses);
                        group = Some(FixedGroup {
                            regular: f.regular,
                            bytes: width,
                        });
                    }
                },
                None => {
                    flush(&mut group, &mut stmts, &mut uses);
                    uses.cx = true;
                    uses.io = true;
                    let stmt = branch(
                        f.regular,
                        p,
                        |rr| {
                            let v = size_regular(f, rr, root);
                            Some(quote!(n += #v;))
                        },
                        |_| None,
                    );
                    stmts.extend(stmt);
                }
            }
        }
        // A non-default value the version cannot carry is an error unless
        // the field is ignorable (Kafka's generated `write` does the same).
        if !f.ignorable {
            let nd = non_default(f, quote!(self.#id), root);
            let missing = quote!(return Err(#root::wire::not_in_version(#name, cx)););
            match Cond::outside(f.present, p) {
                Cond::Never => {}
                Cond::Always => {
                    flush(&mut group, &mut stmts, &mut uses);
                    uses.cx = true;
                    stmts.push(quote!(if #nd { #missing }));
                }
                Cond::When(c) => {
                    flush(&mut group, &mut stmts, &mut uses);
                    uses.cx = true;
                    stmts.push(quote!(if #c && #nd { #missing }));
                }
            }
        }
    }
    flush(&mut group, &mut stmts, &mut uses);

    if !s.flexible.is_empty() {
        let known = known_tags(s);
        let mut adds = Vec::new();
        for f in s.tagged_fields() {
            let id = field_ident(&f.name);
            let name = &f.name;
            let tag = f.tag.unwrap_or(0);
            let nd = non_default(f, quote!(self.#id), root);
            let add = if nullable_struct(f) {
                quote!(t.add_nullable_struct(#tag, &self.#id, cx, #name)?;)
            } else if f.optional && !f.nullable_in.contains_range(&f.tagged_in) {
                quote!(t.add_some(#tag, &self.#id, cx, #name)?;)
            } else {
                quote!(t.add(#tag, &self.#id, cx, #name)?;)
            };
            uses.cx = true;
            let stmt = match tagged_cond(s, f) {
                Cond::Always => Some(quote!(if #nd { #add })),
                Cond::Never => None,
                Cond::When(e) => Some(quote!(if #e && #nd { #add })),
            };
            adds.extend(stmt);
        }
        if s.tag_order
            .iter()
            .any(|&i| s.fields[i].tagged_in.lo > s.flexible.lo)
        {
            uses.cx = true;
        }
        let t_mut = if adds.is_empty() {
            quote!()
        } else {
            quote!(mut)
        };
        let body = quote!(
            let #t_mut t = #root::wire::TaggedSize::new(&self.unknown_tagged_fields, #known)?;
            #(#adds)*
            n += t.total();
        );
        uses.io = true;
        let stmt = match Cond::new(s.flexible, p) {
            Cond::Always => body,
            _ => {
                uses.cx = true;
                quote!(
                    if cx.flexible {
                        #body
                    } else {
                        #root::wire::no_tagged_fields(&self.unknown_tagged_fields, cx)?;
                    }
                )
            }
        };
        stmts.push(stmt);
    }

    let cx = param("cx", uses.cx);
    let body = if stmts.is_empty() {
        quote!(Ok(#constant))
    } else if !uses.io {
        quote!(
            #(#stmts)*
            Ok(#constant)
        )
    } else {
        quote!(
            let mut n = #constant;
            #(#stmts)*
            Ok(n)
        )
    };
    quote!(
        fn size(&self, #cx: #root::wire::Cx) -> #root::wire::SizeResult {
            #body
        }
    )
}

// ---------------------------------------------------------------- write

fn write_regular(f: &FieldModel, r: Versions) -> TokenStream {
    let c = field_cx(f, r);
    let id = field_ident(&f.name);
    if f.by_reference() {
        return quote!(w.put_by_ref(&self.#id, #c););
    }
    if !nullable_struct(f) {
        // A nullable string, bytes or array writes its value like the
        // non-null type when it holds one.
        return quote!(w.put(&self.#id, #c););
    }
    match Cond::new(f.nullable_in, r) {
        Cond::Always => quote!(w.put_nullable_struct(&self.#id, #c);),
        Cond::Never => quote!(w.put_some(&self.#id, #c);),
        Cond::When(e) => quote!(if #e {
            w.put_nullable_struct(&self.#id, #c);
        } else {
            w.put_some(&self.#id, #c);
        }),
    }
}

pub fn emit_write(s: &StructModel, root: &TokenStream) -> TokenStream {
    let p = s.possible;
    let mut uses = Uses::default();
    let mut stmts: Vec<TokenStream> = Vec::new();
    // A run: fixed-width fields present in the same versions, in order.
    let mut run: Vec<&FieldModel> = Vec::new();
    let flush = |run: &mut Vec<&FieldModel>, stmts: &mut Vec<TokenStream>, uses: &mut Uses| {
        if run.is_empty() {
            return;
        }
        let regular = run[0].regular;
        let ids: Vec<_> = run.iter().map(|f| field_ident(&f.name)).collect();
        let single = run.len() == 1;
        let stmt = branch(
            regular,
            p,
            |_| {
                Some(if single {
                    let id = &ids[0];
                    quote!(w.put(&self.#id, cx);)
                } else {
                    quote!(w.fixed((#(self.#ids,)*));)
                })
            },
            |_| None,
        );
        if single || !matches!(Cond::new(regular, p), Cond::Always) {
            uses.cx = true;
        }
        uses.io = true;
        stmts.extend(stmt);
        run.clear();
    };
    for f in &s.fields {
        if f.regular.is_empty() {
            continue;
        }
        match f.fixed_width() {
            Some(width) => {
                let fits = run.first().is_some_and(|g| g.regular == f.regular)
                    && run.len() < MAX_RUN_FIELDS
                    && run.iter().filter_map(|g| g.fixed_width()).sum::<usize>() + width
                        <= MAX_RUN_BYTES;
                if !fits {
                    flush(&mut run, &mut stmts, &mut uses);
                }
                run.push(f);
            }
            None => {
                flush(&mut run, &mut stmts, &mut uses);
                uses.cx = true;
                uses.io = true;
                stmts.extend(branch(
                    f.regular,
                    p,
                    |rr| Some(write_regular(f, rr)),
                    |_| None,
                ));
            }
        }
    }
    flush(&mut run, &mut stmts, &mut uses);

    if !s.flexible.is_empty() {
        uses.io = true;
        let mut puts = Vec::new();
        for f in s.tagged_fields() {
            let id = field_ident(&f.name);
            let tag = f.tag.unwrap_or(0);
            let nd = non_default(f, quote!(self.#id), root);
            let put = if nullable_struct(f) {
                quote!(t.put_nullable_struct(w, #tag, &self.#id, cx);)
            } else if f.optional
                && matches!(f.ty, FieldType::Struct(_))
                && !f.nullable_in.contains_range(&f.tagged_in)
            {
                quote!(t.put_some(w, #tag, &self.#id, cx);)
            } else {
                quote!(t.put(w, #tag, &self.#id, cx);)
            };
            uses.cx = true;
            let stmt = match tagged_cond(s, f) {
                Cond::Always => Some(quote!(if #nd { #put })),
                Cond::Never => None,
                Cond::When(e) => Some(quote!(if #e && #nd { #put })),
            };
            puts.extend(stmt);
        }
        let t_mut = if puts.is_empty() {
            quote!()
        } else {
            quote!(mut)
        };
        let body = quote!(
            let #t_mut t = #root::wire::TaggedWriter::begin(w, &self.unknown_tagged_fields);
            #(#puts)*
            t.finish(w);
        );
        match Cond::new(s.flexible, p) {
            Cond::Always => stmts.push(body),
            Cond::Never => {}
            Cond::When(_) => {
                uses.cx = true;
                stmts.push(quote!(if cx.flexible { #body }));
            }
        }
    }
    let w = param("w", uses.io);
    let cx = param("cx", uses.cx);
    quote!(
        fn write(&self, #w: &mut #root::wire::Writer<'_>, #cx: #root::wire::Cx) {
            #(#stmts)*
        }
    )
}
