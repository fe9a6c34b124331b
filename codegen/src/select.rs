//! The selection step of vendoring: which APIs and data messages a user's
//! crate keeps, which side it speaks, and the lowest version it will ever
//! use. A pure filter from one [`Model`] to a smaller one, run before
//! [`crate::emit`], so the emitter never learns that a selection exists.

use std::collections::BTreeSet;
use std::fmt;

use crate::error::GenError;
use crate::model::{MessageKind, Model};
use crate::versions::Versions;

/// Which half of the protocol a crate speaks. Fixes the generated code's
/// encoders and decoders: a client encodes requests and decodes responses,
/// a broker (or a mock) the opposite; data messages always get both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Side {
    #[default]
    Client,
    Broker,
    Both,
}

impl Side {
    /// Request encoders and response decoders.
    pub fn client(self) -> bool {
        matches!(self, Side::Client | Side::Both)
    }

    /// Request decoders and response encoders.
    pub fn broker(self) -> bool {
        matches!(self, Side::Broker | Side::Both)
    }

    fn parse(s: &str) -> Option<Side> {
        match s {
            "client" => Some(Side::Client),
            "broker" => Some(Side::Broker),
            "both" => Some(Side::Both),
            _ => None,
        }
    }
}

impl fmt::Display for Side {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Side::Client => "client",
            Side::Broker => "broker",
            Side::Both => "both",
        })
    }
}

/// One API, by name as Kafka spells it (`ApiVersions`, `Produce`) or by
/// key.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum ApiSelector {
    Name(String),
    Key(i16),
}

impl From<&str> for ApiSelector {
    fn from(s: &str) -> Self {
        ApiSelector::Name(s.to_string())
    }
}

impl From<String> for ApiSelector {
    fn from(s: String) -> Self {
        ApiSelector::Name(s)
    }
}

impl From<i16> for ApiSelector {
    fn from(k: i16) -> Self {
        ApiSelector::Key(k)
    }
}

impl fmt::Display for ApiSelector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ApiSelector::Name(n) => f.write_str(n),
            ApiSelector::Key(k) => write!(f, "{k}"),
        }
    }
}

/// What a vendored crate keeps of a release's schemas.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Selection {
    /// The APIs (each brings its request and its response).
    pub apis: Vec<ApiSelector>,
    /// Data and header messages by schema name (`ConsumerProtocolAssignment`,
    /// `RequestHeader`).
    pub messages: Vec<String>,
    pub side: Side,
    /// Versions below this are left out of every selected API (0 keeps all).
    pub min_version: i16,
}

impl Selection {
    /// Keeps the selected messages of `model` and narrows each API's
    /// versions to the floor. Every name, key and the floor must match
    /// something: a selection that silently keeps nothing would vendor an
    /// empty crate.
    pub fn apply(&self, model: &Model) -> Result<Model, GenError> {
        if self.apis.is_empty() && self.messages.is_empty() {
            return Err(GenError::Select(
                "the selection is empty: name at least one API or message".into(),
            ));
        }
        let mut keep: BTreeSet<&str> = BTreeSet::new();
        let mut narrowed: BTreeSet<&str> = BTreeSet::new();
        for sel in &self.apis {
            let api = model
                .apis
                .iter()
                .find(|a| match sel {
                    ApiSelector::Name(n) => a.name == *n,
                    ApiSelector::Key(k) => a.key == *k,
                })
                .ok_or_else(|| {
                    let known: Vec<&str> = model.apis.iter().map(|a| a.name.as_str()).collect();
                    GenError::Select(format!(
                        "no API {sel} in these schemas (known: {})",
                        known.join(", ")
                    ))
                })?;
            let rq = model.request(api);
            if !rq.is_live() {
                return Err(GenError::Select(format!(
                    "API {} (key {}) was removed from Kafka in these schemas",
                    api.name, api.key
                )));
            }
            if rq.valid.hi < self.min_version {
                return Err(GenError::Select(format!(
                    "API {} has versions {}: none is at or above the floor {}",
                    api.name, rq.valid, self.min_version
                )));
            }
            for m in [rq, model.response(api)] {
                keep.insert(&m.name);
                narrowed.insert(&m.name);
            }
        }
        for name in &self.messages {
            let m = model
                .find(name)
                .ok_or_else(|| GenError::Select(format!("no message {name} in these schemas")))?;
            if matches!(m.kind, MessageKind::Request | MessageKind::Response) {
                return Err(GenError::Select(format!(
                    "{name} belongs to an API: select the API {} instead",
                    crate::model::api_name(name)
                )));
            }
            keep.insert(&m.name);
        }
        let mut messages = Vec::new();
        for m in &model.messages {
            if !keep.contains(m.name.as_str()) {
                continue;
            }
            let mut m = m.clone();
            if narrowed.contains(m.name.as_str()) && self.min_version > m.valid.lo {
                m.valid = Versions::new(self.min_version, m.valid.hi);
            }
            messages.push(m);
        }
        let index = |name: &str| messages.iter().position(|m| m.name == name);
        let mut apis = Vec::new();
        for a in &model.apis {
            let (Some(request), Some(response)) = (
                index(&model.request(a).name),
                index(&model.response(a).name),
            ) else {
                continue;
            };
            apis.push(crate::model::ApiModel {
                request,
                response,
                ..a.clone()
            });
        }
        Ok(Model {
            messages,
            apis,
            warnings: model.warnings.clone(),
        })
    }

    /// The canonical one-line-per-fact text a manifest records, read back
    /// by [`Selection::from_manifest`].
    pub fn manifest_lines(&self) -> String {
        let apis: Vec<String> = self.apis.iter().map(|a| a.to_string()).collect();
        format!(
            "apis {}\nmessages {}\nside {}\nmin-version {}\n",
            apis.join(" "),
            self.messages.join(" "),
            self.side,
            self.min_version
        )
    }

    /// The selection a manifest records.
    pub fn from_manifest(text: &str) -> Result<Selection, GenError> {
        let field = |k: &str| {
            text.lines()
                .find_map(|l| {
                    let rest = l.strip_prefix(k)?;
                    (rest.is_empty() || rest.starts_with(' ')).then(|| rest.trim())
                })
                .ok_or_else(|| GenError::Select(format!("the manifest has no `{k}` line")))
        };
        let words = |k: &str| -> Result<Vec<String>, GenError> {
            Ok(field(k)?.split_whitespace().map(str::to_string).collect())
        };
        let apis = words("apis")?
            .into_iter()
            .map(|w| match w.parse::<i16>() {
                Ok(k) => ApiSelector::Key(k),
                Err(_) => ApiSelector::Name(w),
            })
            .collect();
        let side = field("side")?;
        let side = Side::parse(side.trim()).ok_or_else(|| {
            GenError::Select(format!("side {side:?}: expected client, broker or both"))
        })?;
        let floor = field("min-version")?;
        let min_version = floor
            .trim()
            .parse()
            .map_err(|_| GenError::Select(format!("min-version {floor:?} is not a version")))?;
        Ok(Selection {
            apis,
            messages: words("messages")?,
            side,
            min_version,
        })
    }
}
