//! Executing a plan: one ZooKeeper `multi` per service, every write guarded by the version the plan
//! read, so that a concurrent edit aborts that service's transaction and nothing of it is written.
//!
//! Order inside a transaction: `/services` (when missing), creates parents before children,
//! updates, version checks of the views the new nodemap relies on, deletes children before
//! parents, then the apply's audit log entry and the pruning of the oldest ones
//! ([`crate::history`]). One transaction makes all of it visible at once, so a client never sees a
//! nodemap pointing at a view that does not exist, and the log never lies about what was written.

use crate::plan::{Action, Counts, ServicePlan};
use crate::view::NodeKind;
use crate::zk::{CommitError, Op, Zk};

/// The operations of one service's transaction; `keep` is how many audit entries remain.
pub fn transaction(service: &ServicePlan, create_root: bool, keep: usize) -> Vec<Op> {
    let now = crate::record::now_rfc3339();
    let mut record = None;
    let mut creates = Vec::new();
    let mut updates = Vec::new();
    let mut deletes = Vec::new();
    if create_root {
        creates.push(Op::Create { path: crate::model::paths::SERVICES.into(), data: Vec::new() });
    }
    for change in &service.changes {
        let path = change.path.clone();
        match &change.action {
            Action::Create { after } => {
                let data =
                    if change.kind == NodeKind::Record { stamp(after, &now, &mut record) } else { after.clone() };
                creates.push(Op::Create { path, data });
            }
            Action::Update { after, version, .. } => {
                let data =
                    if change.kind == NodeKind::Record { stamp(after, &now, &mut record) } else { after.clone() };
                updates.push(Op::Set { path, data, version: *version });
            }
            Action::Delete { version, .. } => deletes.push(Op::Delete { path, version: *version }),
        }
    }
    // Paths sort parents first: creates ascend, deletes descend.
    deletes.sort_by(|a, b| b.path().cmp(a.path()));
    let checks = service.guards.iter().map(|(path, version)| Op::Check { path: path.clone(), version: *version });
    let log = record.map(|record| crate::history::ops(service, &record, keep)).unwrap_or_default();
    creates.into_iter().chain(updates).chain(checks).chain(deletes).chain(log).collect()
}

/// The record's data with `applied_at` set to `now` (the plan may have been made earlier), also
/// kept in `stamped` for the audit entry.
fn stamp(record: &[u8], now: &str, stamped: &mut Option<Vec<u8>>) -> Vec<u8> {
    let data = match serde_json::from_slice::<serde_json::Value>(record) {
        Ok(mut value) => {
            if let Some(object) = value.as_object_mut() {
                object.insert("applied_at".into(), now.into());
            }
            serde_json::to_vec(&value).expect("JSON values always serialize")
        }
        Err(_) => record.to_vec(),
    };
    *stamped = Some(data.clone());
    data
}

/// What happened to one service.
#[derive(Debug)]
pub struct Outcome {
    pub service: String,
    pub counts: Counts,
    pub result: Result<Option<i64>, ApplyError>,
}

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error(
        "its transaction would be {size} bytes, over the {limit}-byte request limit ([zookeeper] max_request_bytes); nothing was written"
    )]
    TooLarge { size: usize, limit: usize },
    #[error(transparent)]
    Commit(#[from] CommitError),
}

/// Applies every service of the plan that has changes, each in its own transaction; a failed
/// service does not stop the others. Returns one outcome per service with changes. `keep` is how
/// many audit entries each service keeps (`[history] keep`).
pub async fn apply(zk: &Zk, plan: &crate::plan::Plan, max_request_bytes: usize, keep: usize) -> Vec<Outcome> {
    let mut create_root = plan.create_root;
    let mut outcomes = Vec::new();
    for service in plan.services.iter().filter(|s| !s.is_empty()) {
        let ops = transaction(service, create_root, keep);
        let size: usize = ops.iter().map(Op::encoded_len).sum();
        let result = if size > max_request_bytes {
            Err(ApplyError::TooLarge { size, limit: max_request_bytes })
        } else {
            zk.commit(&ops).await.map_err(ApplyError::from)
        };
        let mut counts = service.counts();
        if result.is_ok() && create_root {
            counts.create += 1;
            create_root = false;
        }
        outcomes.push(Outcome { service: service.name.clone(), counts, result });
    }
    outcomes
}
