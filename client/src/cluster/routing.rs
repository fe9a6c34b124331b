//! Which broker a [`Route`] means right now, given the metadata and the
//! coordinators known. Pure: a route either resolves to a node, or says
//! what must be learned first (metadata, a coordinator), or why it cannot
//! be sent as one request.

use std::collections::BTreeMap;

use super::metadata::{Metadata, NoLeader};
use crate::protocol::route::{CoordinatorKind, Route, TopicPartition, TopicRef};

/// What a route resolves to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    /// Send to this node.
    Node(i32),
    /// Any broker will do.
    AnyNode,
    /// Metadata does not know these topics (or ids) yet.
    NeedMetadata(Vec<TopicRef>),
    /// These partitions have no leader (an election) or a leader metadata
    /// does not list: refresh metadata, back off, try again.
    NoLeader(Vec<TopicPartition>),
    /// These keys' coordinator is not known yet.
    NeedCoordinator {
        kind: CoordinatorKind,
        keys: Vec<String>,
    },
    /// The request's partitions (or keys) are served by different nodes:
    /// one request cannot go to all of them.
    Split(BTreeMap<i32, Vec<String>>),
    /// The request says too little to route it.
    Unroutable(String),
}

/// Resolves `route` against `md`; `coordinator` looks a key up in the
/// coordinator cache.
pub fn resolve(
    route: &Route,
    md: &Metadata,
    coordinator: impl Fn(CoordinatorKind, &str) -> Option<i32>,
) -> Resolution {
    match route {
        Route::Any => Resolution::AnyNode,
        Route::Controller => match md.controller {
            Some(c) if md.brokers.contains_key(&c) => Resolution::Node(c),
            // No controller known (Metadata v0, or none elected yet): a
            // KRaft broker forwards admin requests anyway (KIP-590), and an
            // older one answers NOT_CONTROLLER, which refreshes metadata.
            _ => Resolution::AnyNode,
        },
        Route::Unroutable { why, .. } => Resolution::Unroutable(why.clone()),
        Route::Leader(tps) => {
            let mut unknown: Vec<TopicRef> = Vec::new();
            let mut leaderless = Vec::new();
            let mut by_node: BTreeMap<i32, Vec<String>> = BTreeMap::new();
            for tp in tps {
                match md.leader(tp) {
                    Ok(node) => by_node.entry(node.id).or_default().push(tp.to_string()),
                    Err(NoLeader::UnknownTopic) => {
                        if !unknown.contains(&tp.topic) {
                            unknown.push(tp.topic.clone());
                        }
                    }
                    Err(NoLeader::UnknownPartition)
                    | Err(NoLeader::Leaderless)
                    | Err(NoLeader::UnknownBroker(_)) => leaderless.push(tp.clone()),
                }
            }
            if !unknown.is_empty() {
                Resolution::NeedMetadata(unknown)
            } else if !leaderless.is_empty() {
                Resolution::NoLeader(leaderless)
            } else if by_node.len() == 1 {
                Resolution::Node(*by_node.keys().next().unwrap_or(&-1))
            } else {
                Resolution::Split(by_node)
            }
        }
        Route::Coordinator { kind, keys } => {
            let mut missing = Vec::new();
            let mut by_node: BTreeMap<i32, Vec<String>> = BTreeMap::new();
            for k in keys {
                match coordinator(*kind, k) {
                    Some(n) => by_node.entry(n).or_default().push(k.clone()),
                    None => missing.push(k.clone()),
                }
            }
            if !missing.is_empty() {
                Resolution::NeedCoordinator {
                    kind: *kind,
                    keys: missing,
                }
            } else if by_node.len() == 1 {
                Resolution::Node(*by_node.keys().next().unwrap_or(&-1))
            } else {
                Resolution::Split(by_node)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use kwire::messages::metadata_response::{
        MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic,
    };
    use kwire::messages::MetadataResponse;
    use kwire::ApiKey;

    /// Topic `t`: partition 0 led by 1, 1 by 2, 2 leaderless; controller 3.
    fn md() -> Metadata {
        let mut r = MetadataResponse::default();
        r.controller_id = 3;
        for n in 1..=3 {
            let mut b = MetadataResponseBroker::default();
            b.node_id = n;
            b.host = "h".into();
            b.port = n;
            r.brokers.push(b);
        }
        let mut t = MetadataResponseTopic::default();
        t.name = Some("t".into());
        for (i, leader) in [(0, 1), (1, 2), (2, -1)] {
            let mut p = MetadataResponsePartition::default();
            p.partition_index = i;
            p.leader_id = leader;
            t.partitions.push(p);
        }
        r.topics.push(t);
        Metadata::from_response(&r)
    }

    fn none(_: CoordinatorKind, _: &str) -> Option<i32> {
        None
    }

    #[test]
    fn leaders() {
        let m = md();
        let one = Route::Leader(vec![TopicPartition::new("t", 1)]);
        assert_eq!(resolve(&one, &m, none), Resolution::Node(2));
        let two = Route::Leader(vec![
            TopicPartition::new("t", 0),
            TopicPartition::new("t", 1),
        ]);
        match resolve(&two, &m, none) {
            Resolution::Split(by) => {
                assert_eq!(by[&1], vec!["t-0".to_string()]);
                assert_eq!(by[&2], vec!["t-1".to_string()]);
            }
            other => panic!("{other:?}"),
        }
        let no = Route::Leader(vec![
            TopicPartition::new("t", 2),
            TopicPartition::new("t", 7),
        ]);
        assert_eq!(
            resolve(&no, &m, none),
            Resolution::NoLeader(vec![
                TopicPartition::new("t", 2),
                TopicPartition::new("t", 7)
            ])
        );
        let unknown = Route::Leader(vec![
            TopicPartition::new("u", 0),
            TopicPartition::new("u", 1),
        ]);
        assert_eq!(
            resolve(&unknown, &m, none),
            Resolution::NeedMetadata(vec![TopicRef::Name("u".into())])
        );
    }

    #[test]
    fn coordinators_controller_and_any() {
        let m = md();
        let route = Route::Coordinator {
            kind: CoordinatorKind::Transaction,
            keys: vec!["tx".into()],
        };
        assert_eq!(
            resolve(&route, &m, none),
            Resolution::NeedCoordinator {
                kind: CoordinatorKind::Transaction,
                keys: vec!["tx".into()]
            }
        );
        let cached = |k: CoordinatorKind, key: &str| {
            (k == CoordinatorKind::Transaction && key == "tx").then_some(3)
        };
        assert_eq!(resolve(&route, &m, cached), Resolution::Node(3));
        // A group key never matches a transaction entry.
        let group = Route::Coordinator {
            kind: CoordinatorKind::Group,
            keys: vec!["tx".into()],
        };
        assert!(matches!(
            resolve(&group, &m, cached),
            Resolution::NeedCoordinator { .. }
        ));
        assert_eq!(resolve(&Route::Controller, &m, none), Resolution::Node(3));
        assert_eq!(
            resolve(&Route::Controller, &Metadata::default(), none),
            Resolution::AnyNode
        );
        assert_eq!(resolve(&Route::Any, &m, none), Resolution::AnyNode);
        assert!(matches!(
            resolve(
                &Route::Unroutable {
                    api: ApiKey::END_TXN,
                    why: "x".into()
                },
                &m,
                none
            ),
            Resolution::Unroutable(_)
        ));
    }
}
