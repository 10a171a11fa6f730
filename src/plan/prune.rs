//! Services that ZooKeeper holds and the repository does not: which of them jones-sync manages,
//! and the plan that deletes such a service whole (`--prune`, or `[sync] prune = true`).
//!
//! Only a *managed* service is ever deleted: one whose record node (`/services/<svc>/jones-sync`)
//! holds data. A service without a record, or with an empty one (left by a lock whose first apply
//! never ran), was not put there by jones-sync and is left untouched, with or without `--prune`.
//!
//! A pruned service is deleted whole: every node of its live tree, whatever it is (conf, views,
//! nodemap, the record, its audit log, locks, and any other node found there), each named in the
//! plan and guarded by the version read, children before parents; then the service node. Paths are
//! exact: pruning `foo` never touches `foo_bar`. `/services` itself is never deleted. There is no
//! audit entry: the log goes with the service, so the apply's output is the record of the prune.
//!
//! When the deletion takes several transactions, the service node, the record and the locks go in
//! the last one ([`crate::apply::transactions::deleted_last`]): until then the service stays
//! managed and locked, so a rerun finishes the job.

use std::collections::BTreeMap;

use super::{Action, Change, Plan, ServicePlan, blast, guard};
use crate::layout::{self, NodeKind, kind_of};
use crate::live::LiveService;
use crate::view::DesiredService;

/// The plan that deletes `service` whole, from its live tree (every node below the service node,
/// and that node); `None` when the tree shows no record with data (the service is not managed).
pub fn service_plan(service: &str, live: &LiveService) -> Option<ServicePlan> {
    let record = live.nodes.get(&layout::record(service)).filter(|node| !node.data.is_empty())?;
    let last_apply_zxid = record.mzxid;
    let mut changes: Vec<Change> = live
        .nodes
        .iter()
        .map(|(path, node)| {
            let kind = kind_of(service, path);
            // A node of the configuration written after the last apply was edited by someone else.
            let drift =
                matches!(kind, NodeKind::Conf | NodeKind::View | NodeKind::Nodemap) && node.mzxid > last_apply_zxid;
            Change {
                path: path.clone(),
                kind,
                action: Action::Delete { before: node.data.clone(), version: node.version },
                drift,
            }
        })
        .collect();
    changes.sort_by(|a, b| a.path.cmp(&b.path));
    // Nothing is desired: every environment's view goes, and every host loses its association.
    let nothing =
        DesiredService { name: service.to_string(), nodes: BTreeMap::new(), hosts: Default::default(), acl: None };
    Some(ServicePlan {
        name: service.to_string(),
        managed: true,
        last_apply_zxid: Some(last_apply_zxid),
        blast_radius: blast::blast_radius(&nothing, live, &changes),
        view_integrity: Vec::new(),
        not_atomic: None,
        acls: Vec::new(),
        mass_delete: guard::assess(service, true, true, live, &changes),
        prune: true,
        guards: Vec::new(),
        log: Vec::new(),
        reads: super::saved::reads(&changes, &[], live),
        break_glass: super::break_glass::assess(service, live, &changes),
        changes,
    })
}

/// Completes `plan` with the services that ZooKeeper holds and the repository does not (listed in
/// `plan.unmanaged` by the diff): `managed` are those with a record, `pruned` the live trees of
/// those to delete whole. A pruned service moves from the untouched list into `plan.services`
/// (in name order); the managed ones left untouched are listed in `plan.prunable`.
pub fn extend(plan: &mut Plan, managed: &[String], pruned: &BTreeMap<String, LiveService>) {
    for (name, live) in pruned {
        if !plan.unmanaged.contains(name) {
            continue; // in the repository after all: never pruned
        }
        if let Some(service) = service_plan(name, live) {
            plan.unmanaged.retain(|n| n != name);
            plan.services.push(service);
        }
    }
    plan.services.sort_by(|a, b| a.name.cmp(&b.name));
    plan.prunable = plan.unmanaged.iter().filter(|name| managed.contains(name)).cloned().collect();
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::apply::transactions::{LOCK_ROOM, deleted_last, room, transactions};
    use crate::layout::is_within;
    use crate::live::{LiveNode, Snapshot};
    use crate::plan::diff;
    use crate::plan::tests::{applied, service};

    const NOW: &str = "2025-01-02T10:00:00Z";

    /// `old` applied with two environments and two hosts, plus an audit entry, a lock and a node
    /// jones-sync does not know; `foo_bar` (not in the repository either, unmanaged) beside it.
    fn live() -> Snapshot {
        let old = service("old", &[("", json!({"a": 1}), &[]), ("x", json!({}), &["h1"]), ("x/y", json!({}), &["h2"])]);
        let mut live = applied(&old);
        let nodes = &mut live.services.get_mut("old").unwrap().nodes;
        let node = |data: &str, mzxid| LiveNode {
            data: bytes::Bytes::copy_from_slice(data.as_bytes()),
            version: 0,
            mzxid,
            czxid: 1,
        };
        nodes.insert("/services/old/jones-sync/log-0000000000".into(), node("{}", 10));
        nodes.insert("/services/old/jones-sync/locks".into(), node("", 11));
        nodes.insert("/services/old/jones-sync/locks/lock-0000000003".into(), node("{}", 12));
        nodes.insert("/services/old/extra".into(), node("x", 13));
        live.all_services = vec!["foo_bar".into(), "old".into()];
        live
    }

    #[test]
    fn a_pruned_service_is_deleted_whole_and_flagged() {
        let live = live();
        let mut plan = diff(&[], &live, &json!({}));
        assert_eq!(plan.unmanaged, ["foo_bar", "old"]);
        extend(&mut plan, &["old".into()], &live.services);
        assert_eq!(plan.unmanaged, ["foo_bar"]);
        assert!(plan.prunable.is_empty());
        let old = &plan.services[0];
        let shown: Vec<String> =
            old.changes.iter().map(|c| format!("{} {} {}", c.action.name(), c.kind.as_str(), c.path)).collect();
        assert_eq!(
            shown,
            [
                "delete service /services/old",
                "delete conf /services/old/conf",
                "delete conf /services/old/conf/x",
                "delete conf /services/old/conf/x/y",
                "delete other /services/old/extra",
                "delete record /services/old/jones-sync",
                "delete lock /services/old/jones-sync/locks",
                "delete lock /services/old/jones-sync/locks/lock-0000000003",
                "delete log /services/old/jones-sync/log-0000000000",
                "delete nodemap /services/old/nodemaps",
                "delete view /services/old/views",
                "delete view /services/old/views/x",
                "delete view /services/old/views/x/y",
            ]
        );
        assert!(old.prune && old.managed);
        assert_eq!(
            old.mass_delete,
            Some(guard::MassDelete {
                whole_service: true,
                environments: vec!["x".into(), "x/y".into()],
                environments_total: 2,
                hosts: vec!["h1".into(), "h2".into()],
                hosts_total: 2,
            })
        );
        // Every host is reached: the ones associated lose their association, the others their root.
        assert!(old.blast_radius.unassociated_hosts);
        assert_eq!(old.blast_radius.moving(), ["h1", "h2"].into());
        // No drift: nothing of the configuration was written after the last apply (zxid 10).
        assert!(old.changes.iter().all(|c| !c.drift));
    }

    #[test]
    fn without_prune_a_managed_service_is_listed_as_prunable() {
        let live = live();
        let mut plan = diff(&[], &live, &json!({}));
        extend(&mut plan, &["old".into()], &BTreeMap::new());
        assert_eq!(plan.unmanaged, ["foo_bar", "old"]);
        assert_eq!(plan.prunable, ["old"]);
        assert!(plan.services.is_empty() && plan.is_empty());
    }

    #[test]
    fn an_unmanaged_service_or_one_with_an_empty_record_is_never_pruned() {
        let mut live = live();
        live.services.get_mut("old").unwrap().nodes.get_mut("/services/old/jones-sync").unwrap().data.clear();
        let mut plan = diff(&[], &live, &json!({}));
        extend(&mut plan, &[], &live.services);
        assert_eq!(plan.unmanaged, ["foo_bar", "old"]);
        assert!(plan.services.is_empty() && plan.prunable.is_empty());
    }

    #[test]
    fn split_deletes_go_children_first_with_the_service_record_and_locks_last() {
        let live = live();
        let old = service_plan("old", &live.services["old"]).unwrap();
        let whole = transactions(&old, false, 100, 1_000_000, NOW);
        assert_eq!(whole.len(), 1);
        let size: usize = whole[0].iter().map(crate::zk::Op::encoded_len).sum();
        // Room is kept for our lock node (and the checks): just enough for the whole is not enough.
        let kept = 1_000_000 - room(&old, 1_000_000);
        assert!(kept >= LOCK_ROOM);
        assert!(transactions(&old, false, 100, size, NOW).len() > 1);
        assert_eq!(transactions(&old, false, 100, size + kept, NOW).len(), 1);
        for limit in [size / 2, size / 3, size / 4].map(|part| part + kept) {
            let split = transactions(&old, false, 100, limit, NOW);
            assert!(split.len() > 1, "{limit}");
            let order: Vec<&str> = split.iter().flatten().map(|op| op.path()).collect();
            // Every node is deleted once, after all of its children.
            assert_eq!(order.len(), old.changes.len());
            for (i, path) in order.iter().enumerate() {
                assert!(
                    !order[i + 1..].iter().any(|later| is_within(later, path) && later != path),
                    "{path} {order:?}"
                );
            }
            // The service stays managed and locked until the last transaction.
            let last: Vec<&str> = split.last().unwrap().iter().map(|op| op.path()).collect();
            assert_eq!(
                last,
                [
                    "/services/old/jones-sync/locks/lock-0000000003",
                    "/services/old/jones-sync/locks",
                    "/services/old/jones-sync",
                    "/services/old"
                ],
                "{limit}"
            );
            let before_last = &split[..split.len() - 1];
            assert!(before_last.iter().flatten().all(|op| !deleted_last("old", op.path())), "{limit}");
        }
    }

    #[test]
    fn the_last_transaction_goes_by_exact_paths() {
        assert!(deleted_last("s", "/services/s"));
        assert!(deleted_last("s", "/services/s/jones-sync/locks/lock-0000000001"));
        assert!(!deleted_last("s", "/services/s/jones-sync/log-0000000001"));
        assert!(!deleted_last("s", "/services/s_t"));
    }
}
