//! Requests the broker does not answer: Produce with acks=0. Routed like
//! any other request, at the version the broker's connection allows; there
//! is no response to retry on, so one try.

use kwire::Request;
use tokio::time::Instant;

use super::{Cluster, ClusterError};
use crate::net::SendOptions;
use crate::protocol::route::route_of;

impl Cluster {
    /// Sends `req` where it belongs without waiting for an answer (none
    /// comes); returns the node it went to (-1: a bootstrap address).
    pub async fn send_no_response<R: Request + 'static>(
        &self,
        req: &R,
        opts: &SendOptions,
    ) -> Result<i32, ClusterError> {
        let deadline = Instant::now() + opts.timeout.unwrap_or(self.cfg.timeout);
        let route = route_of(req);
        let broker = self.target(&route, deadline).await?;
        let mut o = opts.clone();
        o.transaction_version = o
            .transaction_version
            .or_else(|| Some(self.features().transaction_version()));
        broker
            .send_no_reply(req, &o)
            .await
            .map_err(|source| ClusterError::Broker {
                broker: broker.name(),
                source,
            })?;
        Ok(broker.node_id().unwrap_or(-1))
    }
}
