//! What the client takes from the generated protocol crate about APIs, in
//! one place: names, our own version ranges, parsing a name.

pub use kwire::{ApiKey, VersionRange};

/// `Fetch` for a known key, `api key 9999` for one this build does not know.
pub fn api_name(api: ApiKey) -> String {
    match api.name() {
        Some(n) => n.to_string(),
        None => format!("api key {}", api.0),
    }
}

/// Our generated range for an API (latest unstable version excluded);
/// `None` for keys this build does not know or Kafka removed.
pub fn our_range(api: ApiKey) -> Option<VersionRange> {
    api.versions()
}

/// `host:port` of a broker as the protocol names it (metadata, a
/// coordinator); an IPv6 literal goes in brackets.
pub fn host_port(host: &str, port: i32) -> String {
    if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]:{port}")
    } else {
        format!("{host}:{port}")
    }
}

/// Whether a broker-supplied host name can be used as one: printable
/// ASCII, no spaces, at most 255 bytes (DNS names and IP literals). Hosts
/// come from metadata and FindCoordinator answers and end up in logs and
/// errors as part of a broker's name, so anything else is refused rather
/// than dialled or printed.
pub fn valid_host(host: &str) -> bool {
    !host.is_empty() && host.len() <= 255 && host.bytes().all(|b| b.is_ascii_graphic())
}

/// Looks an API up by name (`Fetch`, `fetch`) or number (`1`).
pub fn parse_api(s: &str) -> Option<ApiKey> {
    if let Ok(n) = s.trim().parse::<i16>() {
        return Some(ApiKey(n));
    }
    let want = s.trim().replace(['_', '-'], "").to_ascii_lowercase();
    kwire::api_key::API_TABLE
        .iter()
        .find(|i| i.name.to_ascii_lowercase() == want)
        .map(|i| i.key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_parsing() {
        assert_eq!(api_name(ApiKey::FETCH), "Fetch");
        assert_eq!(api_name(ApiKey(9999)), "api key 9999");
        assert_eq!(parse_api("fetch"), Some(ApiKey::FETCH));
        assert_eq!(parse_api("ApiVersions"), Some(ApiKey::API_VERSIONS));
        assert_eq!(
            parse_api("txn_offset_commit"),
            Some(ApiKey::TXN_OFFSET_COMMIT)
        );
        assert_eq!(parse_api("3"), Some(ApiKey::METADATA));
        assert_eq!(parse_api("nope"), None);
        assert!(our_range(ApiKey::API_VERSIONS).is_some_and(|r| r.min == 0 && r.max >= 3));
        assert_eq!(host_port("b1", 9092), "b1:9092");
        assert_eq!(host_port("::1", 9092), "[::1]:9092");
        assert!(valid_host("broker-1.example") && valid_host("::1"));
        assert!(!valid_host("") && !valid_host("a b") && !valid_host("evil\u{1b}[2J"));
    }
}
