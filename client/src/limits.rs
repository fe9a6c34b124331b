//! The client's limits in one place: how much a peer can make it read,
//! buffer, remember and print. Deadlines live in [`crate::ConnConfig`] and
//! [`crate::ClientConfig`]; ARCHITECTURE.md ("Limits") lists them all.

use std::collections::BTreeMap;

use kwire::ApiKey;

/// The generic frame limit, for requests and replies: Kafka's own default
/// for `socket.request.max.bytes` (100 MiB). Replies that can be large
/// (Fetch) are bounded by the request's own max bytes.
pub const DEFAULT_MAX_FRAME_SIZE: usize = 100 * 1024 * 1024;

/// Cap on an ApiVersions reply. A Kafka 4.x broker's reply is about 1 KiB
/// (some 90 keys of 7 bytes and a few features); 64 KiB leaves room for
/// sixty times that and keeps a hostile reply from costing more.
pub const DEFAULT_API_VERSIONS_REPLY_MAX: usize = 64 * 1024;

/// Frames queued for the writer task of one connection; a sender waits for
/// room within its own deadline.
pub const WRITER_QUEUE_DEPTH: usize = 64;

/// Correlation ids of requests whose caller gave up (deadline, dropped
/// future) that a connection remembers, so a late reply to one is read and
/// dropped instead of being taken for a reply to a different request. The
/// oldest is forgotten first.
pub const ABANDONED_IDS_REMEMBERED: usize = 1024;

/// How much the reader asks for at a time: a reply's buffer grows as its
/// bytes arrive, never to the declared size up front.
pub const READ_CHUNK: usize = 64 * 1024;

/// How many keys or features one reply can put on a terminal or in a log
/// line; the rest is a count.
pub const PRINT_ITEMS: usize = 16;

/// How many repeated or unknown api keys are kept by value (the rest are
/// counted).
pub const SAMPLE_KEYS: usize = 8;

/// Characters of one broker-supplied name printed before it is cut.
pub const PRINT_NAME_CHARS: usize = 128;

/// Per-API caps on reply size, below the generic frame limit. An API
/// without a cap gets the frame limit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResponseCaps {
    caps: BTreeMap<ApiKey, usize>,
}

impl Default for ResponseCaps {
    /// ApiVersions at [`DEFAULT_API_VERSIONS_REPLY_MAX`]; nothing else.
    fn default() -> Self {
        ResponseCaps::none().cap(ApiKey::API_VERSIONS, DEFAULT_API_VERSIONS_REPLY_MAX)
    }
}

impl ResponseCaps {
    /// No per-API caps: every reply may be as large as the frame limit.
    pub fn none() -> Self {
        ResponseCaps {
            caps: BTreeMap::new(),
        }
    }

    /// Caps replies to `api` at `max` bytes (after the size prefix).
    pub fn cap(mut self, api: ApiKey, max: usize) -> Self {
        self.caps.insert(api, max);
        self
    }

    /// Removes the cap of `api`.
    pub fn uncap(mut self, api: ApiKey) -> Self {
        self.caps.remove(&api);
        self
    }

    /// The largest reply to `api` accepted under a frame limit of `frame`.
    pub fn max_for(&self, api: ApiKey, frame: usize) -> usize {
        self.caps.get(&api).map_or(frame, |&c| c.min(frame))
    }

    /// Every cap, by key.
    pub fn iter(&self) -> impl Iterator<Item = (ApiKey, usize)> + '_ {
        self.caps.iter().map(|(&k, &v)| (k, v))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_versions_is_capped_below_the_frame_limit() {
        let c = ResponseCaps::default();
        assert_eq!(
            c.max_for(ApiKey::API_VERSIONS, DEFAULT_MAX_FRAME_SIZE),
            64 * 1024
        );
        assert_eq!(
            c.max_for(ApiKey::FETCH, DEFAULT_MAX_FRAME_SIZE),
            DEFAULT_MAX_FRAME_SIZE
        );
        // The frame limit still wins when it is lower.
        assert_eq!(c.max_for(ApiKey::API_VERSIONS, 1000), 1000);
        let c = c.cap(ApiKey::METADATA, 1 << 20).uncap(ApiKey::API_VERSIONS);
        assert_eq!(c.max_for(ApiKey::API_VERSIONS, 5 << 20), 5 << 20);
        assert_eq!(c.max_for(ApiKey::METADATA, 5 << 20), 1 << 20);
        assert_eq!(c.iter().count(), 1);
    }
}
