//! The per-release tables (`generated/releases.rs`): a pure function of
//! the release history. The runtime types and lookups are handwritten in
//! `src/release/`; this emits only data and the `KafkaRelease` constants.

use proc_macro2::TokenStream;
use quote::quote;

use crate::history::{const_name, ReleaseHistory};

fn listener_bits(listeners: &[String]) -> u8 {
    let mut bits = 0u8;
    for l in listeners {
        bits |= match l.as_str() {
            "zkBroker" => 1,
            "broker" => 2,
            "controller" => 4,
            _ => 0,
        };
    }
    bits
}

pub fn emit(history: &ReleaseHistory) -> TokenStream {
    let mut lines = Vec::new();
    let mut consts = Vec::new();
    for (i, line) in history.lines.iter().enumerate() {
        let idx = i as u8;
        let name = if line.release == crate::history::TRUNK {
            "next".to_string()
        } else {
            line.release.clone()
        };
        let json = line.source == crate::history::LineSource::Schemas;
        let rows = line.apis.iter().map(|a| {
            let k = a.key;
            let (lo, hi) = if a.versions.is_empty() {
                (-1i16, -1i16)
            } else {
                (a.versions.lo, a.versions.hi)
            };
            let unstable = a.latest_unstable;
            let bits = listener_bits(&a.listeners);
            let n = &a.name;
            quote!(api(#k, #n, #lo, #hi, #unstable, #bits),)
        });
        let features = history.features.iter().filter_map(|f| {
            let lv = f.levels.iter().find(|l| l.release == line.release)?;
            let (fname, min, max) = (&f.name, lv.min, lv.max);
            Some(quote!(feature(#fname, #min, #max),))
        });
        lines.push(quote!(
            Line {
                name: #name,
                json: #json,
                apis: &[#(#rows)*],
                features: &[#(#features)*],
            },
        ));
        let c = proc_macro2::Ident::new(&const_name(&line.release), proc_macro2::Span::call_site());
        let doc = if line.release == crate::history::TRUNK {
            " Kafka's development line (trunk): what the next release will hold so far.".to_string()
        } else {
            format!(" Kafka {} (the line's newest patch release).", line.release)
        };
        consts.push(
            quote!(#[doc = #doc] pub const #c: KafkaRelease = KafkaRelease::from_line(#idx);),
        );
    }
    let patches = history.patches.iter().filter_map(|p| {
        let idx = history.lines.iter().position(|l| l.release == p.line)? as u8;
        let (through, key, lo, hi) = (p.through, p.key, p.versions.lo, p.versions.hi);
        Some(quote!(Patch { line: #idx, through: #through, key: #key, min: #lo, max: #hi },))
    });
    let newest = history
        .lines
        .iter()
        .rposition(|l| l.release != crate::history::TRUNK)
        .unwrap_or(0) as u8;
    quote!(
        //! Per-release API tables and feature levels, from `schemas/history/`.
        use crate::release::table::{api, feature, Line, Patch};
        use crate::release::KafkaRelease;

        impl KafkaRelease {
            #(#consts)*
            /// The newest released line this build knows.
            pub const LATEST: KafkaRelease = KafkaRelease::from_line(#newest);
        }

        /// Every release line, oldest first.
        pub(crate) static LINES: &[Line] = &[#(#lines)*];

        /// Patch releases whose range differs from their line's newest one.
        pub(crate) static PATCHES: &[Patch] = &[#(#patches)*];
    )
}
