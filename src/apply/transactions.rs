//! The transactions of one service's plan: pure (no I/O, the clock passed in), so that their order
//! and splits are unit-tested on plain data.
//!
//! A service whose changes fit in one request (`[zookeeper] max_request_bytes`) is one transaction:
//! `/services` (when missing), creates and updates parents before children, version checks of the
//! views the new nodemap relies on, deletes children before parents, then the record, the apply's
//! audit log entry and the pruning of the oldest ones. Clients see all of it at once.
//!
//! A larger service is split into ordered transactions, each safe for clients on its own: conf and
//! view creates and updates (parents before children), then the nodemap, then deletes (children
//! before parents), and the record and audit entry last. So a host never points at a view that does
//! not exist, and no view a host points at is deleted.
//!
//! A service deleted whole (`--prune`) is only deletes, children first; when split, the service
//! node, its record and its locks go in the last transaction ([`deleted_last`]), so the service
//! stays managed and locked until the end, and a rerun finishes the job.

use bytes::Bytes;

use crate::layout::{self, NodeKind};
use crate::plan::{Action, Change, ServicePlan};
use crate::zk::Op;

/// Bytes a pruned service's transactions leave free for deleting our own lock node and the nodes
/// our lock made ([`crate::zk::lock::Locks::adopt`] adds them after the plan is split).
pub const LOCK_ROOM: usize = 512;

/// The request bytes a service's transactions may fill: `limit` less the room kept for what is
/// added to them: the checks added when each is committed (our lock node still held, the record
/// still as planned: [`crate::apply`]), the empty record a split new service's first transaction
/// creates, and for a service deleted whole, our lock's nodes.
pub fn room(service: &ServicePlan, limit: usize) -> usize {
    let room = crate::zk::write_room(&service.name, limit);
    if service.prune { room.saturating_sub(LOCK_ROOM) } else { room }
}

/// The transactions of one service, in the order they must be committed: one when the service fits
/// in `limit` bytes. The record is stamped with `now` (the plan may have been made earlier).
pub fn transactions(service: &ServicePlan, create_root: bool, keep: usize, limit: usize, now: &str) -> Vec<Vec<Op>> {
    let mut record = None;
    let mut record_op = None;
    let mut content = Vec::new();
    let mut nodemap = Vec::new();
    let mut deletes = Vec::new();
    if create_root {
        content.push(Op::Create { path: layout::SERVICES.into(), data: Bytes::new() });
    }
    for change in &service.changes {
        let path = change.path.clone();
        let op = match &change.action {
            Action::Create { after } if change.kind == NodeKind::Record => {
                Op::Create { path, data: stamp(after, now, &mut record).into() }
            }
            Action::Update { after, version, .. } if change.kind == NodeKind::Record => {
                Op::Set { path, data: stamp(after, now, &mut record).into(), version: *version }
            }
            Action::Create { after } => Op::Create { path, data: after.clone() },
            Action::Update { after, version, .. } => Op::Set { path, data: after.clone(), version: *version },
            Action::Delete { version, .. } => Op::Delete { path, version: *version },
        };
        match (change.kind, &op) {
            (_, Op::Delete { .. }) => deletes.push(op),
            (NodeKind::Record, _) => record_op = Some(op),
            (NodeKind::Nodemap, _) => nodemap.push(op),
            _ => content.push(op),
        }
    }
    nodemap.extend(service.guards.iter().map(|(path, version)| Op::Check { path: path.clone(), version: *version }));
    // Paths sort parents first: creates ascend (changes are in path order), deletes descend.
    deletes.sort_by(|a, b| b.path().cmp(a.path()));
    let mut last: Vec<Op> = record_op.into_iter().collect();
    if let Some(Op::Create { .. }) = last.first() {
        // A new record gets the directory of the service's apply locks with it.
        last.push(Op::Create { path: layout::locks(&service.name), data: Bytes::new() });
    }
    last.extend(record.map(|record| log_ops(service, &record, keep)).unwrap_or_default());
    if service.prune {
        // A service deleted whole stays managed and locked until its last transaction.
        let tail;
        (tail, deletes) = deletes.into_iter().partition(|op| deleted_last(&service.name, op.path()));
        last.extend(tail);
    }
    // Room for the checks added at commit time, and for our own lock node (and the `locks` node our
    // lock made), which [`crate::zk::lock::Locks::adopt`] adds to the transaction that deletes their parent.
    let limit = room(service, limit);

    let size = |ops: &[Op]| ops.iter().map(Op::encoded_len).sum::<usize>();
    let total = size(&content) + size(&nodemap) + size(&deletes) + size(&last);
    if total <= limit {
        return vec![content.into_iter().chain(nodemap).chain(deletes).chain(last).collect()];
    }
    let mut transactions: Vec<Vec<Op>> = Vec::new();
    // A pruned service's last phase (its node, record and locks: a few small deletes) stays whole.
    for (phase, split) in [(content, true), (nodemap, true), (deletes, true), (last, !service.prune)] {
        let mut current: Vec<Op> = Vec::new();
        for op in phase {
            if split && !current.is_empty() && size(&current) + op.encoded_len() > limit {
                transactions.push(std::mem::take(&mut current));
            }
            current.push(op);
        }
        if !current.is_empty() {
            transactions.push(current);
        }
    }
    if transactions.len() > 1 {
        guard_new_record(&service.name, &mut transactions);
    }
    transactions
}

/// A split service whose record is new gets it empty in its first transaction (with the
/// directory of its locks), and written in its last: so every transaction in between can check that the record is still the empty one this
/// apply made (the checks [`crate::apply`] adds), and none of them lands once another apply has
/// written the service. (An empty record is not a record: the service is not managed until the
/// last transaction.)
fn guard_new_record(service: &str, transactions: &mut [Vec<Op>]) {
    let record = layout::record(service);
    let locks = layout::locks(service);
    let Some(op) =
        transactions.iter_mut().flatten().find(|op| matches!(op, Op::Create { path, .. } if *path == record))
    else {
        return;
    };
    let Op::Create { data, .. } = op else { return };
    *op = Op::Set { path: record.clone(), data: std::mem::take(data), version: 0 };
    for ops in transactions.iter_mut() {
        ops.retain(|op| op.path() != locks);
    }
    transactions[0].push(Op::Create { path: record, data: Bytes::new() });
    transactions[0].push(Op::Create { path: locks, data: Bytes::new() });
}

/// Why `service` cannot be applied atomically, when it cannot: its size against the limit.
pub fn split_reason(service: &ServicePlan, create_root: bool, keep: usize, limit: usize) -> Option<String> {
    // Most services are far below the limit: building their transactions (with the audit entry's
    // digest of every change) just to count them costs a measurable part of a large first apply.
    if size_bound(service, create_root) <= room(service, limit) {
        return None;
    }
    // The time does not change the size: the record's `applied_at` is restamped at the same length.
    let transactions = transactions(service, create_root, keep, limit, "0000-00-00T00:00:00Z");
    if transactions.len() <= 1 {
        return None;
    }
    let size: usize = transactions.iter().flatten().map(Op::encoded_len).sum();
    Some(format!(
        "`{}` will not be applied atomically: its changes take {size} bytes, over the {limit}-byte request limit \
         ([zookeeper] max_request_bytes), so they go in {} transactions, each safe for clients \
         (views before the nodemap, deletions last, the record last)",
        service.name,
        transactions.len()
    ))
}

/// More than the encoded size of every operation of `service`'s transactions ([`transactions`]):
/// each change's, the guards', `/services`'s, the record stamped (twice: its node and its audit
/// entry, with the entry's counts and digest) and the pruning of every older audit entry.
fn size_bound(service: &ServicePlan, create_root: bool) -> usize {
    // An operation's overhead in [`Op::encoded_len`] is at most 80 bytes besides path and data.
    const OP: usize = 128;
    let data = |change: &Change| change.action.data().1.map_or(0, <[u8]>::len);
    let changes: usize = service.changes.iter().map(|c| OP + c.path.len() + data(c)).sum();
    let record = service.changes.iter().filter(|c| c.kind == NodeKind::Record).map(data).sum::<usize>();
    let guards: usize = service.guards.iter().map(|(path, _)| OP + path.len()).sum();
    let log = service.log.iter().map(|name| OP + layout::record(&service.name).len() + name.len()).sum::<usize>();
    // The entry: the record (its `applied_at` restamped, same length), its counts and digest.
    let entry = OP + layout::log_prefix(&service.name).len() + record + 1024;
    changes + record + guards + log + entry + if create_root { OP + layout::SERVICES.len() } else { 0 }
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

/// The operations that log an apply of `service` whose stamped record is `record`: create its
/// audit entry ([`crate::audit::history::entry`]), and delete the oldest entries so that `keep`
/// remain.
fn log_ops(service: &ServicePlan, record: &[u8], keep: usize) -> Vec<Op> {
    let data = crate::audit::history::entry(service, record);
    let mut ops = vec![Op::CreateSequential { prefix: layout::log_prefix(&service.name), data: data.into() }];
    let total = service.log.len() + 1;
    let prune = total.saturating_sub(keep.max(1)).min(service.log.len());
    // Unguarded (-1): entries are never rewritten, and the record's version guard in the same
    // transaction already fails it if another apply logged meanwhile.
    ops.extend(
        service.log[..prune]
            .iter()
            .map(|name| Op::Delete { path: layout::log_entry(&service.name, name), version: -1 }),
    );
    ops
}

/// Whether a pruned service's delete of `path` belongs in its last transaction: the service node,
/// the record, and the locks below it.
pub fn deleted_last(service: &str, path: &str) -> bool {
    matches!(layout::kind_of(service, path), NodeKind::Service | NodeKind::Record | NodeKind::Lock)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::live::{LiveNode, LiveService, Snapshot};

    const NOW: &str = "2025-01-02T10:00:00Z";
    use crate::model::{EnvPath, Environment, Service};

    fn service(envs: &[(&str, &[&str])], size: usize) -> crate::view::DesiredService {
        let envs = envs
            .iter()
            .map(|(path, hosts)| {
                let path = EnvPath(path.split('/').filter(|s| !s.is_empty()).map(String::from).collect());
                let values = json!({ "blob": "x".repeat(size) }).as_object().unwrap().clone();
                let hosts = hosts.iter().map(|h| h.to_string()).collect();
                (path, Environment { dir: String::new(), values, hosts })
            })
            .collect();
        crate::view::desired(&Service { name: "s".into(), envs })
    }

    fn applied(desired: &crate::view::DesiredService) -> Snapshot {
        let mut live = LiveService::default();
        for (path, node) in &desired.nodes {
            live.nodes.insert(path.clone(), LiveNode { data: node.bytes.clone(), version: 1, mzxid: 5, czxid: 1 });
        }
        live.nodes.insert(
            layout::record("s"),
            LiveNode { data: b"{\"sha\":null}".to_vec().into(), version: 1, mzxid: 5, czxid: 1 },
        );
        Snapshot {
            root_exists: true,
            root_czxid: Some(1),
            all_services: vec!["s".into()],
            services: [("s".to_string(), live)].into(),
        }
    }

    /// Where each kind of write lands: (transaction index, op) for every op.
    fn layout(transactions: &[Vec<Op>]) -> Vec<(usize, String)> {
        let mut out = Vec::new();
        for (i, ops) in transactions.iter().enumerate() {
            for op in ops {
                let what = match op {
                    Op::Create { path, .. } => format!("create {path}"),
                    Op::CreateSequential { prefix, .. } => format!("create {prefix}N"),
                    Op::Set { path, .. } => format!("set {path}"),
                    Op::Delete { path, .. } => format!("delete {path}"),
                    Op::Check { path, .. } => format!("check {path}"),
                };
                out.push((i, what));
            }
        }
        out
    }

    #[test]
    fn a_service_that_fits_is_one_transaction() {
        let before = service(&[("", &[]), ("a", &["h"])], 10);
        let after = service(&[("", &[]), ("b", &["h"])], 10);
        let plan = crate::plan::diff(&[after], &applied(&before), &json!({"sha": null}));
        let transactions = transactions(&plan.services[0], false, 10, 1_000_000, NOW);
        assert_eq!(transactions.len(), 1);
        assert!(split_reason(&plan.services[0], false, 10, 1_000_000).is_none());
    }

    #[test]
    fn the_size_bound_is_above_every_transaction_made() {
        let before = service(&[("", &[]), ("a", &["h"]), ("a/x", &[]), ("c", &[])], 400);
        let after = service(&[("", &[]), ("b", &["h"]), ("b/y", &[]), ("c", &[])], 401);
        let mut live = applied(&before);
        live.services.get_mut("s").unwrap().log = (0..30).map(|i| format!("log-{i:010}")).collect();
        for (desired, live) in [(&after, &live), (&after, &Snapshot::default()), (&before, &live)] {
            let plan = crate::plan::diff(std::slice::from_ref(desired), live, &json!({"sha": "f00", "actor": "me"}));
            for create_root in [false, true] {
                let size: usize = transactions(&plan.services[0], create_root, 10, 1_000_000, NOW)
                    .iter()
                    .flatten()
                    .map(Op::encoded_len)
                    .sum();
                assert!(size_bound(&plan.services[0], create_root) >= size, "{size}");
            }
        }
    }

    #[test]
    fn a_large_service_is_split_so_that_every_step_is_safe_for_clients() {
        // Host h moves from a (deleted) to b (new); every environment's value is ~400 bytes.
        let before = service(&[("", &[]), ("a", &["h"]), ("a/x", &[]), ("c", &[])], 400);
        let after = service(&[("", &[]), ("b", &["h"]), ("b/y", &[]), ("c", &[])], 401);
        let plan = crate::plan::diff(&[after], &applied(&before), &json!({"sha": null}));
        let limit = 1500;
        let transactions = transactions(&plan.services[0], false, 10, limit, NOW);
        assert!(transactions.len() > 3, "{:#?}", layout(&transactions));
        for ops in &transactions {
            let size: usize = ops.iter().map(Op::encoded_len).sum();
            assert!(size <= limit || ops.len() == 1, "{size} > {limit}");
        }
        let steps = layout(&transactions);
        let at = |what: &str| steps.iter().find(|(_, op)| op == what).unwrap_or_else(|| panic!("{what}: {steps:#?}")).0;
        let nodemap = at("set /services/s/nodemaps");
        // The views the nodemap points at exist (and are final) before it moves the host.
        assert!(at("create /services/s/views/b") < nodemap);
        assert!(at("create /services/s/conf/b") < nodemap);
        assert!(at("create /services/s/views/b/y") < nodemap);
        assert!(at("set /services/s/views/c") < nodemap);
        // No view is deleted while the nodemap may still point at it.
        assert!(nodemap < at("delete /services/s/views/a"));
        // Children before parents, and the record and audit entry last, together.
        let position = |what: &str| steps.iter().position(|(_, op)| op == what).unwrap();
        assert!(position("delete /services/s/views/a/x") < position("delete /services/s/views/a"));
        assert!(position("delete /services/s/conf/a/x") < position("delete /services/s/conf/a"));
        let last = transactions.len() - 1;
        assert_eq!(at("set /services/s/jones-sync"), last);
        assert_eq!(at("create /services/s/jones-sync/log-N"), last);
        let reason = split_reason(&plan.services[0], false, 10, limit).unwrap();
        assert!(reason.starts_with("`s` will not be applied atomically: its changes take "), "{reason}");
    }

    #[test]
    fn the_audit_entry_goes_last_and_retention_prunes_the_oldest_beyond_keep() {
        let log = ["log-0000000001", "log-0000000002", "log-0000000003"];
        let service = crate::audit::history::tests::service(&log);
        let ops = |keep| transactions(&service, false, keep, 1_000_000, NOW).concat();
        let deleted = |keep| -> Vec<String> {
            let ops = ops(keep);
            let at = ops.iter().position(|op| matches!(op, Op::CreateSequential { .. })).unwrap();
            ops[at + 1..].iter().map(|op| op.path().to_string()).collect()
        };
        let Op::CreateSequential { prefix, .. } = &ops(100)[ops(100).len() - 1] else { panic!("{:?}", ops(100)) };
        assert_eq!(prefix, "/services/shop/jones-sync/log-");
        assert!(deleted(4).is_empty(), "three plus the new one fit");
        assert_eq!(deleted(3), ["/services/shop/jones-sync/log-0000000001"]);
        assert_eq!(deleted(1), log.map(|name| format!("/services/shop/jones-sync/{name}")));
    }
}
