//! What a [`super::Cluster`] call returns, and where it may be told to send.

use crate::net::{Broker, Sent};
use crate::protocol::choose::Choice;
use crate::protocol::route::Route;

/// A response, where it went and how its version was chosen.
#[derive(Debug, Clone)]
pub struct Routed<T> {
    pub response: T,
    pub version: i16,
    pub choice: Choice,
    /// The node that answered (`None`: a bootstrap address).
    pub node: Option<i32>,
    /// `host:port (node N)` of the broker that answered.
    pub broker: String,
    pub route: Route,
    /// One line per earlier try: where it went and why it was not the end.
    pub retries: Vec<String>,
}

/// Where [`Cluster::send_to`](super::Cluster::send_to) sends.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// Where the request's own content says.
    Route(Route),
    /// This node, whatever the request is.
    Node(i32),
}

pub(super) fn routed<T>(
    sent: Sent<T>,
    broker: &Broker,
    route: Route,
    retries: Vec<String>,
) -> Routed<T> {
    Routed {
        node: broker.node_id(),
        broker: broker.name(),
        response: sent.response,
        version: sent.version,
        choice: sent.choice,
        route,
        retries,
    }
}
