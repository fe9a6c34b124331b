//! Incremental fetch sessions (KIP-227), one per broker: after a full
//! Fetch that created a session, a Fetch names only the partitions whose
//! fetch offset changed and the ones to forget; the broker remembers the
//! rest. Pure bookkeeping; the consumer does the I/O.

use std::collections::HashMap;

use kwire::ErrorCode;

/// A partition, by topic name.
pub(crate) type Key = (String, i32);

/// Session epoch for a Fetch outside any session.
pub(crate) const NO_SESSION_EPOCH: i32 = -1;
/// Session epoch that asks for a new session (a full Fetch).
pub(crate) const NEW_SESSION_EPOCH: i32 = 0;

#[derive(Debug, Clone)]
struct Session {
    id: i32,
    /// The epoch of the next request.
    epoch: i32,
    /// Fetch offsets the broker holds for the session.
    sent: HashMap<Key, i64>,
}

/// What one Fetch to a node carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct FetchPlan {
    pub session_id: i32,
    pub epoch: i32,
    /// Partitions to put in the request, with their fetch offsets.
    pub include: Vec<(Key, i64)>,
    pub forget: Vec<Key>,
    pub full: bool,
}

#[derive(Debug, Default)]
pub(crate) struct Sessions {
    by_node: HashMap<i32, Session>,
}

impl Sessions {
    /// The request for `node`, wanting `wanted` (fetch offsets).
    pub fn plan(&self, node: i32, wanted: &[(Key, i64)], enabled: bool) -> FetchPlan {
        match self.by_node.get(&node) {
            Some(s) if enabled => FetchPlan {
                session_id: s.id,
                epoch: s.epoch,
                include: wanted
                    .iter()
                    .filter(|(k, off)| s.sent.get(k) != Some(off))
                    .cloned()
                    .collect(),
                forget: s
                    .sent
                    .keys()
                    .filter(|k| !wanted.iter().any(|(w, _)| w == *k))
                    .cloned()
                    .collect(),
                full: false,
            },
            _ => FetchPlan {
                session_id: 0,
                epoch: if enabled {
                    NEW_SESSION_EPOCH
                } else {
                    NO_SESSION_EPOCH
                },
                include: wanted.to_vec(),
                forget: Vec::new(),
                full: true,
            },
        }
    }

    /// Records the answer to `plan`: the session the broker created or
    /// kept, or none.
    pub fn answered(&mut self, node: i32, plan: &FetchPlan, session_id: i32, error: ErrorCode) {
        let session_error = matches!(
            error,
            ErrorCode::FETCH_SESSION_ID_NOT_FOUND
                | ErrorCode::INVALID_FETCH_SESSION_EPOCH
                | ErrorCode::FETCH_SESSION_TOPIC_ID_ERROR
        );
        if session_error || error.is_err() || session_id == 0 || plan.epoch == NO_SESSION_EPOCH {
            self.by_node.remove(&node);
            return;
        }
        if plan.full {
            self.by_node.insert(
                node,
                Session {
                    id: session_id,
                    epoch: 1,
                    sent: plan.include.iter().cloned().collect(),
                },
            );
            return;
        }
        let Some(s) = self.by_node.get_mut(&node) else {
            return;
        };
        // Epochs wrap to 1, never back to 0 (a new session) or -1.
        s.epoch = if s.epoch == i32::MAX { 1 } else { s.epoch + 1 };
        for k in &plan.forget {
            s.sent.remove(k);
        }
        s.sent.extend(plan.include.iter().cloned());
    }

    /// Forgets the session with `node` (the request failed: its epoch may
    /// or may not have advanced on the broker).
    pub fn reset(&mut self, node: i32) {
        self.by_node.remove(&node);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn k(p: i32) -> Key {
        ("t".to_string(), p)
    }

    #[test]
    fn full_then_incremental_then_reset() {
        let mut s = Sessions::default();
        let wanted = vec![(k(0), 0), (k(1), 5)];
        let p = s.plan(1, &wanted, true);
        assert!(p.full);
        assert_eq!((p.session_id, p.epoch), (0, NEW_SESSION_EPOCH));
        s.answered(1, &p, 77, ErrorCode::NONE);
        // Partition 0 moved on; 1 did not; 2 is new.
        let wanted = vec![(k(0), 3), (k(1), 5), (k(2), 0)];
        let p = s.plan(1, &wanted, true);
        assert_eq!((p.session_id, p.epoch, p.full), (77, 1, false));
        assert_eq!(p.include, vec![(k(0), 3), (k(2), 0)]);
        assert!(p.forget.is_empty());
        s.answered(1, &p, 77, ErrorCode::NONE);
        // Partition 1 is no longer ours.
        let wanted = vec![(k(0), 3), (k(2), 0)];
        let p = s.plan(1, &wanted, true);
        assert_eq!(p.epoch, 2);
        assert!(p.include.is_empty());
        assert_eq!(p.forget, vec![k(1)]);
        s.answered(1, &p, 77, ErrorCode::INVALID_FETCH_SESSION_EPOCH);
        let p = s.plan(1, &wanted, true);
        assert!(p.full);
        assert_eq!(p.include.len(), 2);
    }

    #[test]
    fn no_session_when_disabled_or_not_given() {
        let mut s = Sessions::default();
        let wanted = vec![(k(0), 0)];
        let p = s.plan(1, &wanted, false);
        assert_eq!(p.epoch, NO_SESSION_EPOCH);
        s.answered(1, &p, 0, ErrorCode::NONE);
        let p = s.plan(1, &wanted, true);
        s.answered(1, &p, 0, ErrorCode::NONE);
        assert!(s.plan(1, &wanted, true).full);
    }
}
