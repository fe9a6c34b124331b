//! The API table (data only: the runtime's `kwire::api_key` reads it) and
//! dynamic dispatch.

use proc_macro2::TokenStream;
use quote::quote;

use super::names::{const_name, ident, module_name, type_ident};
use super::Emitter;
use crate::model::{ApiModel, Model};

fn opt_i16(v: Option<i16>) -> TokenStream {
    match v {
        Some(x) => quote!(Some(#x)),
        None => quote!(None),
    }
}

/// `ApiKey` constants, `API_TABLE` and `KAFKA_RELEASE`: constants and a
/// table, no methods (those are handwritten in the runtime).
pub fn emit_api_table(model: &Model, e: &Emitter<'_>) -> TokenStream {
    let root = &e.root;
    let mut consts = Vec::new();
    let mut infos = Vec::new();
    for a in &model.apis {
        let rq = model.request(a);
        let rs = model.response(a);
        let c = const_name(&a.name);
        let k = a.key;
        let n = &a.name;
        let removed = model.is_removed(a);
        let doc = if removed {
            format!(" {n} (api key {k}): removed from Kafka; reserved.")
        } else {
            format!(
                " {n} (api key {k}): versions {}{}.",
                rq.valid,
                if rq.latest_unstable {
                    format!(" (stable {})", rq.stable_valid())
                } else {
                    String::new()
                }
            )
        };
        consts.push(quote!(#[doc = #doc] pub const #c: ApiKey = ApiKey(#k);));
        let versions = if removed {
            quote!(None)
        } else {
            let lo = rq.valid.lo;
            let hi = rq.valid.hi;
            quote!(Some(#root::VersionRange::new(#lo, #hi)))
        };
        let unstable = rq.latest_unstable;
        let rqf = opt_i16(rq.flexible_min());
        let rsf = opt_i16(rs.flexible_min());
        let deprecated = if rq.deprecated.is_empty() {
            quote!(None)
        } else {
            let lo = rq.deprecated.lo;
            let hi = rq.deprecated.hi.min(rq.valid.hi);
            quote!(Some(#root::VersionRange::new(#lo, #hi)))
        };
        let listeners = &rq.listeners;
        let rqfile = &rq.file;
        let rsfile = &rs.file;
        infos.push(quote!(
            ApiInfo {
                key: ApiKey::#c,
                name: #n,
                versions: #versions,
                latest_version_unstable: #unstable,
                request_flexible_min: #rqf,
                response_flexible_min: #rsf,
                deprecated: #deprecated,
                listeners: &[#(#listeners),*],
                request_schema: #rqfile,
                response_schema: #rsfile,
            },
        ));
    }
    let release = &e.opts.release;
    let table_doc = format!(
        " Every API key in the Kafka {release} schemas, sorted by key, removed ones included."
    );
    quote!(
        use #root::api_key::{ApiInfo, ApiKey};

        impl ApiKey {
            #(#consts)*
        }

        #[doc = #table_doc]
        pub const API_TABLE: &[ApiInfo] = &[#(#infos)*];

        /// The Kafka release whose schemas this code was generated from.
        pub const KAFKA_RELEASE: &str = #release;
    )
}

fn live(model: &Model) -> Vec<&ApiModel> {
    model.apis.iter().filter(|a| !model.is_removed(a)).collect()
}

pub fn emit_dispatch(model: &Model, e: &Emitter<'_>) -> TokenStream {
    let root = &e.root;
    let live = live(model);
    let mut out = TokenStream::new();
    for (kind, enum_name, is_req) in [
        ("request", "RequestKind", true),
        ("response", "ResponseKind", false),
    ] {
        let en = ident(enum_name);
        // Clients encode requests and decode responses; brokers the opposite.
        let (enc_feature, dec_feature) = if is_req {
            ("client", "broker")
        } else {
            ("broker", "client")
        };
        let mut variants = Vec::new();
        let mut key_arms = Vec::new();
        let mut decode_arms = Vec::new();
        let mut encode_arms = Vec::new();
        let mut segments_arms = Vec::new();
        let mut len_arms = Vec::new();
        let mut json_to = Vec::new();
        let mut json_from = Vec::new();
        let mut arb_arms = Vec::new();
        for a in &live {
            let v = ident(&a.name);
            let m = if is_req {
                model.request(a)
            } else {
                model.response(a)
            };
            let ty = type_ident(&m.name);
            let md = ident(&module_name(&m.name));
            let c = const_name(&a.name);
            let k = a.key;
            variants.push(quote!(#v(super::messages::#md::#ty),));
            key_arms.push(quote!(Self::#v(_) => #root::ApiKey::#c,));
            decode_arms.push(quote!(#k => Ok(Self::#v(#root::Message::decode(r, version)?)),));
            encode_arms.push(quote!(Self::#v(m) => #root::Message::encode(m, buf, version),));
            segments_arms.push(quote!(Self::#v(m) => #root::Message::encode_segments(m, version),));
            len_arms.push(quote!(Self::#v(m) => #root::Message::encoded_len(m, version),));
            json_to.push(quote!(Self::#v(m) => serde_json::to_value(m),));
            json_from.push(quote!(#k => Ok(Self::#v(serde_json::from_value(value)?)),));
            arb_arms
                .push(quote!(#k => Self::#v(super::messages::#md::#ty::arbitrary(g, version)),));
        }
        let doc =
            format!(" Any {kind} this build knows, for code that learns the api key at run time.");
        out.extend(quote!(
            #[doc = #doc]
            #[derive(Debug, Clone, PartialEq)]
            #[non_exhaustive]
            pub enum #en {
                #(#variants)*
            }

            impl #en {
                pub fn api_key(&self) -> #root::ApiKey {
                    match self {
                        #(#key_arms)*
                    }
                }

                /// Decodes the body of api `api_key` at `version`.
                #[cfg(feature = #dec_feature)]
                pub fn decode(
                    api_key: #root::ApiKey,
                    version: i16,
                    r: &mut #root::wire::Reader,
                ) -> Result<Self, #root::DecodeError> {
                    match api_key.0 {
                        #(#decode_arms)*
                        k => Err(r.error(#root::DecodeErrorKind::UnknownApi { api_key: k })),
                    }
                }

                /// Appends the body at `version`; nothing is appended on error.
                #[cfg(feature = #enc_feature)]
                pub fn encode(&self, buf: &mut #root::BytesMut, version: i16) -> Result<(), #root::EncodeError> {
                    match self {
                        #(#encode_arms)*
                    }
                }

                /// The body at `version`, records by reference
                /// (`Message::encode_segments`).
                #[cfg(feature = #enc_feature)]
                pub fn encode_segments(&self, version: i16) -> Result<#root::wire::Segments, #root::EncodeError> {
                    match self {
                        #(#segments_arms)*
                    }
                }

                #[cfg(feature = #enc_feature)]
                pub fn encoded_len(&self, version: i16) -> Result<usize, #root::EncodeError> {
                    match self {
                        #(#len_arms)*
                    }
                }

                /// The body as JSON in Kafka's own field names.
                #[cfg(feature = "serde")]
                pub fn to_json(&self) -> Result<serde_json::Value, serde_json::Error> {
                    match self {
                        #(#json_to)*
                    }
                }

                /// A body from JSON in Kafka's own field names.
                #[cfg(feature = "serde")]
                pub fn from_json(api_key: #root::ApiKey, value: serde_json::Value) -> Result<Self, serde_json::Error> {
                    match api_key.0 {
                        #(#json_from)*
                        k => Err(<serde_json::Error as serde::de::Error>::custom(format!("unknown or removed api key {k}"))),
                    }
                }

                /// A value valid at `version`; `None` for unknown keys.
                #[cfg(feature = "testing")]
                pub fn arbitrary(api_key: #root::ApiKey, version: i16, g: &mut #root::testing::Gen) -> Option<Self> {
                    Some(match api_key.0 {
                        #(#arb_arms)*
                        _ => return None,
                    })
                }
            }
        ));
    }
    out
}

/// `MESSAGES` (every message with versions) and a decode entry point by
/// message name (every decoder of the build: both side features), plus,
/// behind `testing`, a round trip by name, so tests and fuzz targets can
/// walk every message and version without naming each type.
pub fn emit_index(model: &Model, e: &Emitter<'_>) -> TokenStream {
    let root = &e.root;
    let mut rows = Vec::new();
    let mut rt_arms = Vec::new();
    let mut enc_arms = Vec::new();
    let mut dec_arms = Vec::new();
    for m in model.messages.iter().filter(|m| m.is_live()) {
        let n = &m.name;
        let lo = m.valid.lo;
        let hi = m.valid.hi;
        let md = ident(&module_name(&m.name));
        let ty = type_ident(&m.name);
        rows.push(quote!((#n, #root::VersionRange::new(#lo, #hi)),));
        rt_arms
            .push(quote!(#n => round_trip_one(version, g, super::messages::#md::#ty::arbitrary),));
        enc_arms.push(quote!(#n => #root::Message::encode_to_bytes(&super::messages::#md::#ty::arbitrary(g, version), version).map_err(|e| e.to_string()),));
        dec_arms.push(quote!(#n => <super::messages::#md::#ty as #root::Message>::decode_bytes(bytes, version).map(|_| ()),));
    }
    quote!(
        /// Every message with valid versions, by schema name.
        pub const MESSAGES: &[(&str, #root::VersionRange)] = &[#(#rows)*];

        #[cfg(feature = "testing")]
        fn round_trip_one<M: #root::Message + #root::Encodable + #root::Decodable>(
            version: i16,
            g: &mut #root::testing::Gen,
            make: fn(&mut #root::testing::Gen, i16) -> M,
        ) -> Result<#root::Bytes, String> {
            let value = make(g, version);
            let bytes = #root::Message::encode_to_bytes(&value, version)
                .map_err(|e| format!("encode failed: {e}\nvalue: {value:?}"))?;
            let len = #root::Message::encoded_len(&value, version).map_err(|e| e.to_string())?;
            if len != bytes.len() {
                return Err(format!("encoded_len {len} but encode wrote {}", bytes.len()));
            }
            let segments = #root::Message::encode_segments(&value, version).map_err(|e| e.to_string())?;
            if segments.len() != len || segments.to_bytes() != bytes {
                return Err("the segmented encode differs from the encode".to_string());
            }
            let back = M::decode_bytes(bytes.clone(), version)
                .map_err(|e| format!("decode failed: {e}\nvalue: {value:?}\nbytes: {bytes:02x?}"))?;
            if back != value {
                return Err(format!("decoded value differs\nwrote: {value:?}\nread:  {back:?}"));
            }
            let again = #root::Message::encode_to_bytes(&back, version).map_err(|e| e.to_string())?;
            if again != bytes {
                return Err("re-encoding the decoded value gave other bytes".to_string());
            }
            Ok(bytes)
        }

        /// Encodes an arbitrary value of message `name` at `version`, decodes
        /// it, and checks value and bytes survive; returns the bytes.
        #[cfg(feature = "testing")]
        pub fn round_trip(name: &str, version: i16, g: &mut #root::testing::Gen) -> Result<#root::Bytes, String> {
            match name {
                #(#rt_arms)*
                _ => Err(format!("no message named {name}")),
            }
        }

        /// Encodes an arbitrary value of message `name` at `version` (no
        /// decode: the memory tests decode it themselves).
        #[cfg(feature = "testing")]
        pub fn encode_arbitrary(name: &str, version: i16, g: &mut #root::testing::Gen) -> Result<#root::Bytes, String> {
            match name {
                #(#enc_arms)*
                _ => Err(format!("no message named {name}")),
            }
        }

        /// Decodes `bytes` as message `name` at `version` (whole buffer).
        #[cfg(all(feature = "client", feature = "broker"))]
        pub fn decode_by_name(name: &str, version: i16, bytes: #root::Bytes) -> Result<(), #root::DecodeError> {
            match name {
                #(#dec_arms)*
                _ => Err(#root::DecodeError::new(#root::DecodeErrorKind::UnknownMessage, 0)),
            }
        }
    )
}
