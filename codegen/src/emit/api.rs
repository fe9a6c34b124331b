//! The API table (`ApiKey`, per-API version ranges) and dynamic dispatch.

use proc_macro2::TokenStream;
use quote::quote;

use super::names::{const_name, ident, module_name, type_ident};
use super::EmitOptions;
use crate::error::GenError;
use crate::model::{MessageModel, Model};

/// One API: its request and response schemas.
pub struct Api<'a> {
    pub key: i16,
    pub name: String,
    pub request: &'a MessageModel,
    pub response: &'a MessageModel,
}

impl Api<'_> {
    pub fn removed(&self) -> bool {
        self.request.valid.is_empty()
    }
}

/// The APIs of the model, with their request and response schemas.
pub fn apis(model: &Model) -> Result<Vec<Api<'_>>, GenError> {
    Ok(model
        .apis
        .iter()
        .map(|a| Api {
            key: a.key,
            name: a.name.clone(),
            request: model.request(a),
            response: model.response(a),
        })
        .collect())
}

fn opt_i16(v: Option<i16>) -> TokenStream {
    match v {
        Some(x) => quote!(Some(#x)),
        None => quote!(None),
    }
}

pub fn emit_api_key(apis: &[Api<'_>], opts: &EmitOptions) -> TokenStream {
    let mut consts = Vec::new();
    let mut infos = Vec::new();
    let mut name_arms = Vec::new();
    for a in apis {
        let c = const_name(&a.name);
        let k = a.key;
        let n = &a.name;
        let doc = if a.removed() {
            format!(" {n} (api key {k}): removed from Kafka; reserved.")
        } else {
            let stable = a.request.stable_valid();
            format!(
                " {n} (api key {k}): versions {}{}.",
                a.request.valid,
                if a.request.latest_unstable {
                    format!(" (stable {stable})")
                } else {
                    String::new()
                }
            )
        };
        consts.push(quote!(#[doc = #doc] pub const #c: ApiKey = ApiKey(#k);));
        name_arms.push(quote!(#k => Some(#n),));
        let versions = if a.removed() {
            quote!(None)
        } else {
            let lo = a.request.valid.lo;
            let hi = a.request.valid.hi;
            quote!(Some(crate::VersionRange::new(#lo, #hi)))
        };
        let unstable = a.request.latest_unstable;
        let rqf = opt_i16((!a.request.flexible.is_empty()).then_some(a.request.flexible.lo));
        let rsf = opt_i16((!a.response.flexible.is_empty()).then_some(a.response.flexible.lo));
        let deprecated = if a.request.deprecated.is_empty() {
            quote!(None)
        } else {
            let lo = a.request.deprecated.lo;
            let hi = a.request.deprecated.hi.min(a.request.valid.hi);
            quote!(Some(crate::VersionRange::new(#lo, #hi)))
        };
        let listeners = &a.request.listeners;
        let rqfile = &a.request.file;
        let rsfile = &a.response.file;
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
    let release = &opts.release;
    let table_doc = format!(
        " Every API key in the Kafka {release} schemas, sorted by key, removed ones included."
    );
    quote!(
        use std::fmt;

        /// A Kafka API key. Open: a key this build does not know (a newer
        /// broker's) is kept as is, never a decode error.
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
        #[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
        #[cfg_attr(feature = "serde", serde(transparent))]
        pub struct ApiKey(pub i16);

        impl ApiKey {
            #(#consts)*

            /// The API's name, for keys this build knows.
            pub fn name(self) -> Option<&'static str> {
                match self.0 {
                    #(#name_arms)*
                    _ => None,
                }
            }

            /// The table entry, for keys this build knows.
            pub fn info(self) -> Option<&'static ApiInfo> {
                API_TABLE.binary_search_by_key(&self, |i| i.key).ok().map(|i| &API_TABLE[i])
            }

            /// The versions a client should use: every valid version except
            /// an unstable latest one. `None` for unknown or removed APIs.
            pub fn versions(self) -> Option<crate::VersionRange> {
                self.info().and_then(|i| i.versions_for(false))
            }

            /// Every valid version, the unstable latest one included.
            pub fn versions_including_unstable(self) -> Option<crate::VersionRange> {
                self.info().and_then(|i| i.versions_for(true))
            }

            /// The first flexible request version (KIP-482).
            pub fn request_flexible_min(self) -> Option<i16> {
                self.info().and_then(|i| i.request_flexible_min)
            }

            /// The first flexible response version (KIP-482).
            pub fn response_flexible_min(self) -> Option<i16> {
                self.info().and_then(|i| i.response_flexible_min)
            }

            /// Known to this build, with no valid versions left.
            pub fn is_removed(self) -> bool {
                self.info().is_some_and(|i| i.versions.is_none())
            }
        }

        impl From<i16> for ApiKey {
            fn from(v: i16) -> Self {
                ApiKey(v)
            }
        }

        impl fmt::Debug for ApiKey {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self.name() {
                    Some(n) => write!(f, "{n}({})", self.0),
                    None => write!(f, "ApiKey({})", self.0),
                }
            }
        }

        impl fmt::Display for ApiKey {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                match self.name() {
                    Some(n) => write!(f, "{n} ({})", self.0),
                    None => write!(f, "unknown api key {}", self.0),
                }
            }
        }

        /// One row of the per-API version table.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        #[non_exhaustive]
        pub struct ApiInfo {
            pub key: ApiKey,
            pub name: &'static str,
            /// Every valid version; `None` when Kafka removed the API.
            pub versions: Option<crate::VersionRange>,
            /// The last version is still under development.
            pub latest_version_unstable: bool,
            pub request_flexible_min: Option<i16>,
            pub response_flexible_min: Option<i16>,
            pub deprecated: Option<crate::VersionRange>,
            /// Which listeners serve it (`broker`, `controller`, ...).
            pub listeners: &'static [&'static str],
            pub request_schema: &'static str,
            pub response_schema: &'static str,
        }

        impl ApiInfo {
            /// The version range for a client: the unstable latest version
            /// is left out unless `include_unstable`.
            pub fn versions_for(&self, include_unstable: bool) -> Option<crate::VersionRange> {
                let v = self.versions?;
                if self.latest_version_unstable && !include_unstable {
                    if v.max == v.min {
                        None
                    } else {
                        Some(crate::VersionRange::new(v.min, v.max - 1))
                    }
                } else {
                    Some(v)
                }
            }
        }

        #[doc = #table_doc]
        pub const API_TABLE: &[ApiInfo] = &[#(#infos)*];

        /// The Kafka release whose schemas this code was generated from.
        pub const KAFKA_RELEASE: &str = #release;
    )
}

fn variant(a: &Api<'_>) -> proc_macro2::Ident {
    ident(&a.name)
}

fn live<'a, 'b>(apis: &'b [Api<'a>]) -> Vec<&'b Api<'a>> {
    apis.iter().filter(|a| !a.removed()).collect()
}

pub fn emit_dispatch(apis: &[Api<'_>]) -> TokenStream {
    let live = live(apis);
    let mut out = TokenStream::new();
    for (kind, enum_name, is_req) in [
        ("request", "RequestKind", true),
        ("response", "ResponseKind", false),
    ] {
        let en = ident(enum_name);
        let mut variants = Vec::new();
        let mut key_arms = Vec::new();
        let mut decode_arms = Vec::new();
        let mut encode_arms = Vec::new();
        let mut len_arms = Vec::new();
        let mut json_to = Vec::new();
        let mut json_from = Vec::new();
        let mut arb_arms = Vec::new();
        for a in &live {
            let v = variant(a);
            let m = if is_req { a.request } else { a.response };
            let ty = type_ident(&m.name);
            let md = ident(&module_name(&m.name));
            let c = const_name(&a.name);
            let k = a.key;
            variants.push(quote!(#v(super::messages::#md::#ty),));
            key_arms.push(quote!(Self::#v(_) => crate::ApiKey::#c,));
            decode_arms.push(quote!(#k => Ok(Self::#v(crate::Message::decode(r, version)?)),));
            encode_arms.push(quote!(Self::#v(m) => crate::Message::encode(m, buf, version),));
            len_arms.push(quote!(Self::#v(m) => crate::Message::encoded_len(m, version),));
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
                pub fn api_key(&self) -> crate::ApiKey {
                    match self {
                        #(#key_arms)*
                    }
                }

                /// Decodes the body of api `api_key` at `version`.
                pub fn decode(
                    api_key: crate::ApiKey,
                    version: i16,
                    r: &mut crate::wire::Reader,
                ) -> Result<Self, crate::DecodeError> {
                    match api_key.0 {
                        #(#decode_arms)*
                        k => Err(r.error(crate::DecodeErrorKind::UnknownApi { api_key: k })),
                    }
                }

                /// Appends the body at `version`; nothing is appended on error.
                pub fn encode(&self, buf: &mut crate::BytesMut, version: i16) -> Result<(), crate::EncodeError> {
                    match self {
                        #(#encode_arms)*
                    }
                }

                pub fn encoded_len(&self, version: i16) -> Result<usize, crate::EncodeError> {
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
                pub fn from_json(api_key: crate::ApiKey, value: serde_json::Value) -> Result<Self, serde_json::Error> {
                    match api_key.0 {
                        #(#json_from)*
                        k => Err(<serde_json::Error as serde::de::Error>::custom(format!("unknown or removed api key {k}"))),
                    }
                }

                /// A value valid at `version`; `None` for unknown keys.
                #[cfg(feature = "testing")]
                pub fn arbitrary(api_key: crate::ApiKey, version: i16, g: &mut crate::testing::Gen) -> Option<Self> {
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

/// `MESSAGES` (every message with versions) and, behind `testing`, a
/// round-trip and a decode entry point by message name, so tests and fuzz
/// targets can walk every message and version without naming each type.
pub fn emit_index(model: &Model) -> TokenStream {
    let mut rows = Vec::new();
    let mut rt_arms = Vec::new();
    let mut dec_arms = Vec::new();
    for m in model.messages.iter().filter(|m| !m.valid.is_empty()) {
        let n = &m.name;
        let lo = m.valid.lo;
        let hi = m.valid.hi;
        let md = ident(&module_name(&m.name));
        let ty = type_ident(&m.name);
        rows.push(quote!((#n, crate::VersionRange::new(#lo, #hi)),));
        rt_arms
            .push(quote!(#n => round_trip_one(version, g, super::messages::#md::#ty::arbitrary),));
        dec_arms.push(quote!(#n => <super::messages::#md::#ty as crate::Message>::decode_bytes(bytes, version).map(|_| ()),));
    }
    quote!(
        /// Every message with valid versions, by schema name.
        pub const MESSAGES: &[(&str, crate::VersionRange)] = &[#(#rows)*];

        #[cfg(feature = "testing")]
        fn round_trip_one<M: crate::Message>(
            version: i16,
            g: &mut crate::testing::Gen,
            make: fn(&mut crate::testing::Gen, i16) -> M,
        ) -> Result<crate::Bytes, String> {
            let value = make(g, version);
            let bytes = crate::Message::encode_to_bytes(&value, version)
                .map_err(|e| format!("encode failed: {e}\nvalue: {value:?}"))?;
            let len = crate::Message::encoded_len(&value, version).map_err(|e| e.to_string())?;
            if len != bytes.len() {
                return Err(format!("encoded_len {len} but encode wrote {}", bytes.len()));
            }
            let back = M::decode_bytes(bytes.clone(), version)
                .map_err(|e| format!("decode failed: {e}\nvalue: {value:?}\nbytes: {bytes:02x?}"))?;
            if back != value {
                return Err(format!("decoded value differs\nwrote: {value:?}\nread:  {back:?}"));
            }
            let again = crate::Message::encode_to_bytes(&back, version).map_err(|e| e.to_string())?;
            if again != bytes {
                return Err("re-encoding the decoded value gave other bytes".to_string());
            }
            Ok(bytes)
        }

        /// Encodes an arbitrary value of message `name` at `version`, decodes
        /// it, and checks value and bytes survive; returns the bytes.
        #[cfg(feature = "testing")]
        pub fn round_trip(name: &str, version: i16, g: &mut crate::testing::Gen) -> Result<crate::Bytes, String> {
            match name {
                #(#rt_arms)*
                _ => Err(format!("no message named {name}")),
            }
        }

        /// Decodes `bytes` as message `name` at `version` (whole buffer).
        pub fn decode_by_name(name: &str, version: i16, bytes: crate::Bytes) -> Result<(), crate::DecodeError> {
            match name {
                #(#dec_arms)*
                _ => Err(crate::DecodeError::new(crate::DecodeErrorKind::Invalid("no message with that name"), 0)),
            }
        }
    )
}
