//! Configs: DescribeConfigs and IncrementalAlterConfigs (KIP-339), one
//! result per resource.

use kwire::messages::describe_configs_request::DescribeConfigsResource;
use kwire::messages::incremental_alter_configs_request::{AlterConfigsResource, AlterableConfig};
use kwire::messages::{DescribeConfigsRequest, IncrementalAlterConfigsRequest};
use kwire::StrBytes;

use super::{text, Admin, AdminError, ItemError};
use crate::cluster::Target;
use crate::net::SendOptions;
use crate::protocol::route::Route;

/// Kafka's `ConfigResource.Type` codes.
const RESOURCE_TOPIC: i8 = 2;
const RESOURCE_BROKER: i8 = 4;
const RESOURCE_BROKER_LOGGER: i8 = 8;

/// What a config belongs to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ConfigResource {
    Topic(String),
    /// One broker's configs; `None`: the cluster-wide broker defaults.
    Broker(Option<i32>),
    BrokerLogger(i32),
}

impl ConfigResource {
    fn wire(&self) -> (i8, String) {
        match self {
            ConfigResource::Topic(t) => (RESOURCE_TOPIC, t.clone()),
            ConfigResource::Broker(Some(id)) => (RESOURCE_BROKER, id.to_string()),
            ConfigResource::Broker(None) => (RESOURCE_BROKER, String::new()),
            ConfigResource::BrokerLogger(id) => (RESOURCE_BROKER_LOGGER, id.to_string()),
        }
    }

    /// A broker's own configs are answered by that broker (its static
    /// configs live only there; Java's admin client sends them there too);
    /// everything else by any broker.
    fn target(&self) -> Target {
        match self {
            ConfigResource::Broker(Some(id)) | ConfigResource::BrokerLogger(id) => {
                Target::Node(*id)
            }
            _ => Target::Route(Route::Any),
        }
    }

    fn matches(&self, ty: i8, name: &str) -> bool {
        let (t, n) = self.wire();
        t == ty && n == name
    }
}

impl std::fmt::Display for ConfigResource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ConfigResource::Topic(t) => write!(f, "topic {}", crate::escape::name(t)),
            ConfigResource::Broker(Some(id)) => write!(f, "broker {id}"),
            ConfigResource::Broker(None) => f.write_str("broker defaults"),
            ConfigResource::BrokerLogger(id) => write!(f, "broker {id} loggers"),
        }
    }
}

/// Where a config value comes from (DescribeConfigs v1+, KIP-226).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigSource {
    Unknown,
    DynamicTopic,
    DynamicBroker,
    DynamicDefaultBroker,
    StaticBroker,
    Default,
    DynamicBrokerLogger,
    ClientMetrics,
    Group,
    /// A code this build does not know.
    Other(i8),
}

impl ConfigSource {
    fn from_wire(v: i8) -> ConfigSource {
        match v {
            0 => ConfigSource::Unknown,
            1 => ConfigSource::DynamicTopic,
            2 => ConfigSource::DynamicBroker,
            3 => ConfigSource::DynamicDefaultBroker,
            4 => ConfigSource::StaticBroker,
            5 => ConfigSource::Default,
            6 => ConfigSource::DynamicBrokerLogger,
            7 => ConfigSource::ClientMetrics,
            8 => ConfigSource::Group,
            o => ConfigSource::Other(o),
        }
    }
}

/// One config entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigEntry {
    pub name: String,
    /// `None` for a sensitive value or one that is not set.
    pub value: Option<String>,
    pub read_only: bool,
    pub sensitive: bool,
    pub source: ConfigSource,
}

/// One resource's configs, or its error.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceConfigs {
    pub resource: ConfigResource,
    pub result: Result<Vec<ConfigEntry>, ItemError>,
}

/// One resource's outcome of an alteration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResourceResult {
    pub resource: ConfigResource,
    pub result: Result<(), ItemError>,
}

/// An incremental change (KIP-339's `OpType`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlterOp {
    Set(String, String),
    Delete(String),
    Append(String, String),
    Subtract(String, String),
}

impl AlterOp {
    fn wire(&self) -> AlterableConfig {
        let (name, op, value) = match self {
            AlterOp::Set(n, v) => (n, 0, Some(v)),
            AlterOp::Delete(n) => (n, 1, None),
            AlterOp::Append(n, v) => (n, 2, Some(v)),
            AlterOp::Subtract(n, v) => (n, 3, Some(v)),
        };
        super::build(|m: &mut AlterableConfig| {
            m.name = StrBytes::from(name.clone());
            m.config_operation = op;
            m.value = value.map(|v| StrBytes::from(v.clone()));
        })
    }
}

fn missing() -> ItemError {
    ItemError {
        code: kwire::ErrorCode::UNKNOWN_SERVER_ERROR,
        message: Some("the broker's answer left this resource out".to_string()),
    }
}

/// Groups resources by where they are sent, keeping the order asked.
fn by_target<T: Clone>(items: &[(ConfigResource, T)]) -> Vec<(Target, Vec<(ConfigResource, T)>)> {
    let mut out: Vec<(Target, Vec<(ConfigResource, T)>)> = Vec::new();
    for (r, t) in items {
        let target = r.target();
        match out.iter_mut().find(|(tg, _)| *tg == target) {
            Some((_, v)) => v.push((r.clone(), t.clone())),
            None => out.push((target, vec![(r.clone(), t.clone())])),
        }
    }
    out
}

impl Admin {
    /// DescribeConfigs: every config of each resource (or only `keys`),
    /// one result per resource in the order asked.
    pub async fn describe_configs(
        &self,
        resources: &[ConfigResource],
        keys: Option<&[String]>,
    ) -> Result<Vec<ResourceConfigs>, AdminError> {
        let items: Vec<(ConfigResource, ())> = resources.iter().map(|r| (r.clone(), ())).collect();
        let mut results: Vec<ResourceConfigs> = Vec::new();
        for (target, group) in by_target(&items) {
            let req = super::build(|m: &mut DescribeConfigsRequest| {
                m.resources = group
                    .iter()
                    .map(|(r, ())| {
                        let (ty, name) = r.wire();
                        super::build(|m: &mut DescribeConfigsResource| {
                            m.resource_type = ty;
                            m.resource_name = StrBytes::from(name);
                            m.configuration_keys = keys
                                .map(|ks| ks.iter().map(|k| StrBytes::from(k.clone())).collect());
                        })
                    })
                    .collect();
            });
            let r = self
                .cluster
                .send_to(target, &req, &SendOptions::default())
                .await?;
            for (res, ()) in &group {
                let got = r
                    .response
                    .results
                    .iter()
                    .find(|x| res.matches(x.resource_type, x.resource_name.as_ref()));
                let result = match got {
                    None => Err(missing()),
                    Some(x) => {
                        ItemError::check(x.error_code, x.error_message.as_deref()).map(|()| {
                            x.configs
                                .iter()
                                .map(|c| ConfigEntry {
                                    name: text(&c.name),
                                    value: c.value.as_ref().map(text),
                                    read_only: c.read_only,
                                    sensitive: c.is_sensitive,
                                    source: ConfigSource::from_wire(c.config_source),
                                })
                                .collect()
                        })
                    }
                };
                results.push(ResourceConfigs {
                    resource: res.clone(),
                    result,
                });
            }
        }
        Ok(in_asked_order(resources, results, |r| &r.resource))
    }

    /// IncrementalAlterConfigs (KIP-339, Kafka 2.3+): one result per
    /// resource. `validate_only` checks without changing anything.
    pub async fn incremental_alter_configs(
        &self,
        changes: &[(ConfigResource, Vec<AlterOp>)],
        validate_only: bool,
    ) -> Result<Vec<ResourceResult>, AdminError> {
        let mut results: Vec<ResourceResult> = Vec::new();
        for (target, group) in by_target(changes) {
            let req = super::build(|m: &mut IncrementalAlterConfigsRequest| {
                m.resources = group
                    .iter()
                    .map(|(r, ops)| {
                        let (ty, name) = r.wire();
                        super::build(|m: &mut AlterConfigsResource| {
                            m.resource_type = ty;
                            m.resource_name = StrBytes::from(name);
                            m.configs = ops.iter().map(AlterOp::wire).collect();
                        })
                    })
                    .collect();
                m.validate_only = validate_only;
            });
            let r = self
                .cluster
                .send_to(target, &req, &SendOptions::default())
                .await?;
            for (res, _) in &group {
                let got = r
                    .response
                    .responses
                    .iter()
                    .find(|x| res.matches(x.resource_type, x.resource_name.as_ref()));
                results.push(ResourceResult {
                    resource: res.clone(),
                    result: match got {
                        None => Err(missing()),
                        Some(x) => ItemError::check(x.error_code, x.error_message.as_deref()),
                    },
                });
            }
        }
        let asked: Vec<ConfigResource> = changes.iter().map(|(r, _)| r.clone()).collect();
        Ok(in_asked_order(&asked, results, |r| &r.resource))
    }
}

fn in_asked_order<T>(
    asked: &[ConfigResource],
    mut got: Vec<T>,
    key: impl Fn(&T) -> &ConfigResource,
) -> Vec<T> {
    let mut out = Vec::with_capacity(got.len());
    for a in asked {
        if let Some(i) = got.iter().position(|g| key(g) == a) {
            out.push(got.remove(i));
        }
    }
    out.extend(got);
    out
}
