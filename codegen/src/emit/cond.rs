//! Version conditions in the manner of Kafka's `VersionConditional`: given
//! the versions where a clause applies and the versions possible at this
//! point of the generated code, emit the smallest test (or none), and hand
//! the narrowed range to the clause so nested code never re-tests what is
//! already known.

use proc_macro2::TokenStream;
use quote::quote;

use crate::versions::{Versions, OPEN};

/// The outcome of comparing "applies in" with "possible here".
#[derive(Debug, Clone)]
pub enum Cond {
    Always,
    Never,
    /// A boolean expression over `cx.version`.
    When(TokenStream),
}

impl Cond {
    pub fn new(applies: Versions, possible: Versions) -> Cond {
        let a = applies.intersect(&possible);
        if a.is_empty() || possible.is_empty() {
            return Cond::Never;
        }
        if a == possible {
            return Cond::Always;
        }
        let lo_test = a.lo > possible.lo;
        let hi_test = a.hi < possible.hi;
        let lo = a.lo;
        let hi = a.hi;
        Cond::When(match (lo_test, hi_test) {
            (true, false) => quote!(cx.version >= #lo),
            (false, true) => quote!(cx.version <= #hi),
            (true, true) if lo == hi => quote!(cx.version == #lo),
            (true, true) => quote!((#lo..=#hi).contains(&cx.version)),
            (false, false) => unreachable_cond(),
        })
    }

    /// The versions of `possible` outside `applies`, as a condition.
    pub fn outside(applies: Versions, possible: Versions) -> Cond {
        match possible.subtract(&applies) {
            Some(rest) => Cond::new(rest, possible),
            None => match Cond::new(applies, possible) {
                // One version inside the range (a historic field such as OffsetCommit v1's
                // CommitTimestamp): `!=` rather than a negated `==` (clippy::nonminimal_bool).
                Cond::When(_)
                    if applies.intersect(&possible).lo == applies.intersect(&possible).hi =>
                {
                    let v = applies.intersect(&possible).lo;
                    Cond::When(quote!(cx.version != #v))
                }
                Cond::When(c) => Cond::When(quote!(!(#c))),
                Cond::Always => Cond::Never,
                Cond::Never => Cond::Always,
            },
        }
    }

    /// A boolean expression (constant when known).
    pub fn expr(&self) -> TokenStream {
        match self {
            Cond::Always => quote!(true),
            Cond::Never => quote!(false),
            Cond::When(t) => t.clone(),
        }
    }
}

// a ⊂ possible with neither bound narrowed means a == possible, handled above.
fn unreachable_cond() -> TokenStream {
    quote!(true)
}

/// Emits `if cond { then } else { otherwise }`, collapsing known outcomes.
/// `then` receives the narrowed range, `otherwise` the remainder; either
/// may have nothing to emit (`None`).
pub fn branch(
    applies: Versions,
    possible: Versions,
    then: impl FnOnce(Versions) -> Option<TokenStream>,
    otherwise: impl FnOnce(Versions) -> Option<TokenStream>,
) -> Option<TokenStream> {
    let inside = applies.intersect(&possible);
    let outside = possible.subtract(&applies).unwrap_or(possible);
    match Cond::new(applies, possible) {
        Cond::Always => then(inside),
        Cond::Never => otherwise(possible),
        Cond::When(c) => match (then(inside), otherwise(outside)) {
            (None, None) => None,
            (Some(t), None) => Some(quote!(if #c { #t })),
            (None, Some(o)) => {
                let n = Cond::outside(applies, possible).expr();
                Some(quote!(if #n { #o }))
            }
            (Some(t), Some(o)) => Some(quote!(if #c { #t } else { #o })),
        },
    }
}

/// A value that depends on the version: `if cond { then } else { otherwise }`
/// with both arms always present.
pub fn select(
    applies: Versions,
    possible: Versions,
    then: impl FnOnce(Versions) -> TokenStream,
    otherwise: impl FnOnce(Versions) -> TokenStream,
) -> TokenStream {
    let inside = applies.intersect(&possible);
    let outside = possible.subtract(&applies).unwrap_or(possible);
    match Cond::new(applies, possible) {
        Cond::Always => then(inside),
        Cond::Never => otherwise(possible),
        Cond::When(c) => {
            let t = then(inside);
            let o = otherwise(outside);
            quote!(if #c { #t } else { #o })
        }
    }
}

/// Human text for a range, for docs.
pub fn describe(v: Versions) -> String {
    if v.is_empty() {
        "none".into()
    } else if v.hi == OPEN {
        format!("{}+", v.lo)
    } else {
        v.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(c: Cond) -> String {
        c.expr().to_string()
    }

    #[test]
    fn smallest_condition() {
        let p = Versions::new(0, 9);
        assert_eq!(s(Cond::new(Versions::new(0, OPEN), p)), "true");
        assert_eq!(s(Cond::new(Versions::new(10, OPEN), p)), "false");
        assert_eq!(
            s(Cond::new(Versions::new(3, OPEN), p)),
            "cx . version >= 3i16"
        );
        assert_eq!(s(Cond::new(Versions::new(0, 4), p)), "cx . version <= 4i16");
        assert_eq!(s(Cond::new(Versions::new(4, 4), p)), "cx . version == 4i16");
        assert_eq!(
            s(Cond::new(Versions::new(2, 5), p)),
            "(2i16 ..= 5i16) . contains (& cx . version)"
        );
    }

    #[test]
    fn nested_clause_sees_narrowed_range() {
        let p = Versions::new(0, 9);
        let out = branch(
            Versions::new(3, OPEN),
            p,
            |inner| {
                // Inside, "5+" needs a test but "3+" does not.
                assert_eq!(inner, Versions::new(3, 9));
                let a = Cond::new(Versions::new(3, OPEN), inner).expr();
                let b = Cond::new(Versions::new(5, OPEN), inner).expr();
                Some(quote!(#a; #b))
            },
            |rest| {
                assert_eq!(rest, Versions::new(0, 2));
                Some(quote!(none))
            },
        );
        assert_eq!(
            out.unwrap().to_string(),
            "if cx . version >= 3i16 { true ; cx . version >= 5i16 } else { none }"
        );
    }
}
