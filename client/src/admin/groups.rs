//! Consumer groups: ListGroups (every broker lists the groups it
//! coordinates, so the listing asks them all) and DescribeGroups (at each
//! group's coordinator).

use kwire::messages::{DescribeGroupsRequest, ListGroupsRequest};
use kwire::StrBytes;

use super::{text, Admin, AdminError, ItemError};
use crate::cluster::Target;
use crate::net::SendOptions;

/// One listed group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupListing {
    pub group_id: String,
    pub protocol_type: String,
    /// ListGroups v4+ (KIP-518); empty before.
    pub state: String,
    /// ListGroups v5+ (KIP-848: `classic`, `consumer`, ...); empty before.
    pub group_type: String,
    pub coordinator: i32,
}

/// Every broker's listing; a broker that failed is reported, not hidden.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedGroups {
    /// Sorted by group id.
    pub groups: Vec<GroupListing>,
    /// Brokers whose listing failed, with why (escaped).
    pub failed: Vec<(i32, String)>,
}

/// A group member (classic protocol).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupMember {
    pub member_id: String,
    pub instance_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
}

/// A described group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GroupDescription {
    pub state: String,
    pub protocol_type: String,
    /// The assignor (consumer groups) the group agreed on.
    pub protocol: String,
    pub members: Vec<GroupMember>,
}

impl Admin {
    /// ListGroups at every broker metadata lists.
    pub async fn list_groups(&self) -> Result<ListedGroups, AdminError> {
        let md = self.cluster.refresh_metadata(&[]).await?;
        let mut out = ListedGroups {
            groups: Vec::new(),
            failed: Vec::new(),
        };
        for id in md.brokers.keys() {
            let sent = self
                .cluster
                .send_to(
                    Target::Node(*id),
                    &ListGroupsRequest::default(),
                    &SendOptions::default(),
                )
                .await;
            match sent {
                Ok(r) => match ItemError::check(r.response.error_code, None) {
                    Ok(()) => out
                        .groups
                        .extend(r.response.groups.iter().map(|g| GroupListing {
                            group_id: text(&g.group_id),
                            protocol_type: text(&g.protocol_type),
                            state: text(&g.group_state),
                            group_type: text(&g.group_type),
                            coordinator: *id,
                        })),
                    Err(e) => out.failed.push((*id, e.to_string())),
                },
                Err(e) => out
                    .failed
                    .push((*id, crate::escape::escape(&e.to_string()).into_owned())),
            }
        }
        out.groups.sort_by(|a, b| a.group_id.cmp(&b.group_id));
        Ok(out)
    }

    /// DescribeGroups, one request per group at its coordinator (found
    /// with FindCoordinator and cached by the cluster); one result per
    /// group in the order asked.
    pub async fn describe_groups(
        &self,
        groups: &[String],
    ) -> Result<Vec<(String, Result<GroupDescription, ItemError>)>, AdminError> {
        let mut out = Vec::with_capacity(groups.len());
        for g in groups {
            let req = super::build(|m: &mut DescribeGroupsRequest| {
                m.groups = vec![StrBytes::from(g.clone())];
            });
            let r = self.cluster.send(&req).await?;
            let result = match r
                .response
                .groups
                .iter()
                .find(|d| &*d.group_id == g.as_str())
            {
                None => Err(ItemError {
                    code: kwire::ErrorCode::UNKNOWN_SERVER_ERROR,
                    message: Some("the broker's answer left this group out".to_string()),
                }),
                Some(d) => ItemError::check(d.error_code, d.error_message.as_deref()).map(|()| {
                    GroupDescription {
                        state: text(&d.group_state),
                        protocol_type: text(&d.protocol_type),
                        protocol: text(&d.protocol_data),
                        members: d
                            .members
                            .iter()
                            .map(|m| GroupMember {
                                member_id: text(&m.member_id),
                                instance_id: m.group_instance_id.as_ref().map(text),
                                client_id: text(&m.client_id),
                                client_host: text(&m.client_host),
                            })
                            .collect(),
                    }
                }),
            };
            out.push((g.clone(), result));
        }
        Ok(out)
    }
}
