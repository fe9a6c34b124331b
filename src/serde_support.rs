//! serde helpers for Kafka's JSON forms: bytes and records as base64 (as
//! Kafka's generated JSON converters write them).

pub mod bytes {
    use base64::Engine;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &::bytes::Bytes, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(v))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<::bytes::Bytes, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        base64::engine::general_purpose::STANDARD
            .decode(s.as_bytes())
            .map(::bytes::Bytes::from)
            .map_err(serde::de::Error::custom)
    }
}

pub mod opt_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &Option<::bytes::Bytes>, s: S) -> Result<S::Ok, S::Error> {
        match v {
            Some(b) => super::bytes::serialize(b, s),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Option<::bytes::Bytes>, D::Error> {
        #[derive(Deserialize)]
        struct W(#[serde(with = "super::bytes")] ::bytes::Bytes);
        Ok(Option::<W>::deserialize(d)?.map(|w| w.0))
    }
}
