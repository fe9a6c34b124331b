//! The shapes of the generated per-release tables (`generated/releases.rs`).

/// Listener bits of [`LineApi::listeners`].
pub(crate) const ZK_BROKER: u8 = 1;
pub(crate) const BROKER: u8 = 2;
pub(crate) const CONTROLLER: u8 = 4;

/// One API key of one release line.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LineApi {
    pub key: i16,
    pub name: &'static str,
    /// `-1` when the key is kept but the API was removed.
    pub min: i16,
    pub max: i16,
    pub unstable: bool,
    /// 0: the line's schemas say nothing (before 2.8: every key is served
    /// by the ZooKeeper-mode broker).
    pub listeners: u8,
}

pub(crate) const fn api(
    key: i16,
    name: &'static str,
    min: i16,
    max: i16,
    unstable: bool,
    listeners: u8,
) -> LineApi {
    LineApi {
        key,
        name,
        min,
        max,
        unstable,
        listeners,
    }
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct LineFeature {
    pub name: &'static str,
    pub min: i16,
    pub max: i16,
}

pub(crate) const fn feature(name: &'static str, min: i16, max: i16) -> LineFeature {
    LineFeature { name, min, max }
}

#[derive(Debug)]
pub(crate) struct Line {
    pub name: &'static str,
    /// Derived from the line's JSON schemas (2.2 on); before that, recorded
    /// maxima only.
    pub json: bool,
    /// Sorted by key.
    pub apis: &'static [LineApi],
    pub features: &'static [LineFeature],
}

/// Patches `0..=through` of line `line` have `min..=max` for `key`.
#[derive(Debug)]
pub(crate) struct Patch {
    pub line: u8,
    pub through: u16,
    pub key: i16,
    pub min: i16,
    pub max: i16,
}
