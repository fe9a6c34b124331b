//! Kafka's 128-bit UUID (topic ids, directory ids, member ids).

use std::fmt;

/// A Kafka UUID: 16 raw bytes. Its text form, like Kafka's `Uuid.toString()`,
/// is URL-safe base64 without padding (22 characters).
#[derive(Clone, Copy, PartialEq, Eq, Hash, Default, PartialOrd, Ord)]
pub struct Uuid(pub [u8; 16]);

impl Uuid {
    /// The all-zero UUID, which Kafka uses for "no id" (`Uuid.ZERO_UUID`).
    pub const ZERO: Uuid = Uuid([0; 16]);

    pub const fn from_u128(v: u128) -> Self {
        Uuid(v.to_be_bytes())
    }

    pub const fn as_u128(&self) -> u128 {
        u128::from_be_bytes(self.0)
    }

    pub fn is_zero(&self) -> bool {
        self.0 == [0; 16]
    }

    /// Parses Kafka's base64url text form.
    pub fn parse(s: &str) -> Option<Uuid> {
        let bytes = s.as_bytes();
        if bytes.len() != 22 {
            return None;
        }
        let mut out = [0u8; 16];
        let mut acc: u32 = 0;
        let mut bits = 0;
        let mut i = 0;
        for &c in bytes {
            let v = match c {
                b'A'..=b'Z' => c - b'A',
                b'a'..=b'z' => c - b'a' + 26,
                b'0'..=b'9' => c - b'0' + 52,
                b'-' => 62,
                b'_' => 63,
                _ => return None,
            };
            acc = (acc << 6) | u32::from(v);
            bits += 6;
            if bits >= 8 {
                bits -= 8;
                if i < 16 {
                    out[i] = (acc >> bits) as u8;
                }
                i += 1;
                acc &= (1 << bits) - 1;
            }
        }
        // 22 chars carry 132 bits: the last 4 must be zero, as in canonical base64.
        (i == 16 && acc == 0).then_some(Uuid(out))
    }
}

impl fmt::Display for Uuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const ALPHABET: &[u8; 64] =
            b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
        let mut out = [0u8; 22];
        let mut acc: u32 = 0;
        let mut bits = 0;
        let mut o = 0;
        for &b in &self.0 {
            acc = (acc << 8) | u32::from(b);
            bits += 8;
            while bits >= 6 {
                bits -= 6;
                out[o] = ALPHABET[((acc >> bits) & 0x3f) as usize];
                o += 1;
            }
        }
        out[o] = ALPHABET[((acc << (6 - bits)) & 0x3f) as usize];
        f.write_str(std::str::from_utf8(&out).map_err(|_| fmt::Error)?)
    }
}

impl fmt::Debug for Uuid {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Uuid({self})")
    }
}

#[cfg(feature = "serde")]
impl serde::Serialize for Uuid {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(feature = "serde")]
impl<'de> serde::Deserialize<'de> for Uuid {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        Uuid::parse(&s)
            .ok_or_else(|| serde::de::Error::custom("not a Kafka UUID (22 base64url chars)"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_form_round_trips() {
        for v in [
            0u128,
            1,
            u128::MAX,
            0x0123_4567_89ab_cdef_fedc_ba98_7654_3210,
        ] {
            let u = Uuid::from_u128(v);
            let s = u.to_string();
            assert_eq!(s.len(), 22);
            assert_eq!(Uuid::parse(&s), Some(u), "{s}");
        }
        assert_eq!(Uuid::ZERO.to_string(), "AAAAAAAAAAAAAAAAAAAAAA");
        assert_eq!(Uuid::parse("AAAAAAAAAAAAAAAAAAAAAB"), None);
    }
}
