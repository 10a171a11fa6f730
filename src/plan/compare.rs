//! Comparing desired with live: the changes that make a live snapshot hold a desired state, per
//! service, with what a reviewer needs to judge them. Pure: it reads plain data ([`DesiredService`], [`Snapshot`]) and
//! makes a [`Plan`] value, so it is tested without a server.

use bytes::Bytes;
use serde_json::Value;

use super::{AclChange, Action, Change, Plan, ServicePlan, blast, guard, integrity};
use crate::layout::{self, NodeKind};
use crate::live::{LiveNode, LiveService, Snapshot};
use crate::view::{DesiredNode, DesiredService};

/// The changes that make `live` hold `desired`. `record` is the `jones-sync` record to write with
/// every service that changes (it never makes a change on its own).
pub fn diff(desired: &[DesiredService], live: &Snapshot, record: &Value) -> Plan {
    diff_with(desired, live, |_| record.clone())
}

/// [`diff`] with each service's own record (services pinned to another commit record that one).
pub fn diff_with(desired: &[DesiredService], live: &Snapshot, record: impl Fn(&str) -> Value) -> Plan {
    let services = desired
        .iter()
        .map(|service| {
            let empty = LiveService::default();
            let live_service = live.services.get(&service.name).unwrap_or(&empty);
            diff_service(service, live_service, &record(&service.name))
        })
        .collect();
    Plan {
        create_root: !live.root_exists,
        services,
        unmanaged: unmanaged(desired.iter().map(|d| d.name.as_str()), &live.all_services),
        prunable: Vec::new(),
        root_czxid: live.root_czxid,
    }
}

/// The services in ZooKeeper (`all_services`, every child of `/services`) that the desired
/// services (`desired`, by name) lack.
pub fn unmanaged<'a>(desired: impl IntoIterator<Item = &'a str>, all_services: &[String]) -> Vec<String> {
    let names: std::collections::BTreeSet<&str> = desired.into_iter().collect();
    all_services.iter().filter(|name| !names.contains(name.as_str())).cloned().collect()
}

pub fn diff_service(desired: &DesiredService, live: &LiveService, record: &Value) -> ServicePlan {
    let name = &desired.name;
    let record_path = layout::record(name);
    let record_node = live.nodes.get(&record_path);
    let last_apply_zxid = record_node.map(|node| node.mzxid);
    // Every write of an apply carries the record's zxid, so a newer node was written by someone else.
    let drifted = |node: &LiveNode| last_apply_zxid.is_some_and(|zxid| node.mzxid > zxid);
    let mut changes = Vec::new();
    for (path, node) in &desired.nodes {
        match live.nodes.get(path) {
            None => changes.push(Change {
                path: path.clone(),
                kind: node.kind,
                action: Action::Create { after: node.bytes.clone() },
                drift: false,
            }),
            Some(live_node) if node.kind != NodeKind::Service && !same_content(node.kind, live_node, node) => changes
                .push(Change {
                    path: path.clone(),
                    kind: node.kind,
                    action: Action::Update {
                        before: live_node.data.clone(),
                        after: node.bytes.clone(),
                        version: live_node.version,
                    },
                    drift: drifted(live_node),
                }),
            Some(_) => {}
        }
    }
    // Environments that are no longer in the repository: every live conf and view node not desired.
    for (path, live_node) in &live.nodes {
        let kind = layout::kind_of(name, path);
        if !matches!(kind, NodeKind::Conf | NodeKind::View) {
            continue;
        }
        if !desired.nodes.contains_key(path) {
            let action = Action::Delete { before: live_node.data.clone(), version: live_node.version };
            changes.push(Change { path: path.clone(), kind, action, drift: drifted(live_node) });
        }
    }
    if !changes.is_empty() {
        let after = Bytes::from(serde_json::to_vec(record).expect("JSON values always serialize"));
        let action = match record_node {
            None => Action::Create { after },
            Some(node) => Action::Update { before: node.data.clone(), after, version: node.version },
        };
        changes.push(Change { path: record_path, kind: NodeKind::Record, action, drift: false });
    }
    changes.sort_by(|a, b| a.path.cmp(&b.path));
    let guards = guards(desired, live, &changes);
    // An empty record node (left by a lock whose first apply never ran) is not a record.
    let managed = record_node.is_some_and(|node| !node.data.is_empty());
    let acls = acl_drift(desired, live, &changes);
    ServicePlan {
        name: name.clone(),
        managed,
        last_apply_zxid,
        blast_radius: blast::blast_radius(desired, live, &changes),
        // When no conf or view changes, the live confs and views are the desired ones, so the live
        // views are the materialization of the live confs: nothing to find, and no need to parse
        // every live node to find it.
        view_integrity: if changes.iter().any(|c| matches!(c.kind, NodeKind::Conf | NodeKind::View)) {
            integrity::check(name, live)
        } else {
            Vec::new()
        },
        not_atomic: None,
        mass_delete: guard::assess(name, managed, false, live, &changes),
        prune: false,
        reads: super::saved::reads(&changes, &guards, live),
        break_glass: super::break_glass::assess(name, live, &changes),
        changes,
        guards,
        log: live.log.clone(),
        acls,
    }
}

/// Existing nodes of the service (not deleted by `changes`) whose ACL is not the desired one.
fn acl_drift(desired: &DesiredService, live: &LiveService, changes: &[Change]) -> Vec<AclChange> {
    let Some(want) = &desired.acl else { return Vec::new() };
    let want = crate::acl::normalized(want);
    let deleted = |path: &str| changes.iter().any(|c| c.path == path && matches!(c.action, Action::Delete { .. }));
    live.acls
        .iter()
        .filter(|(path, _)| !deleted(path))
        .filter(|(_, found)| !crate::acl::matches(&found.acl, &want))
        .map(|(path, found)| AclChange {
            path: path.clone(),
            before: crate::acl::normalized(&found.acl),
            after: want.clone(),
            aversion: found.aversion,
        })
        .collect()
}

/// When the nodemap changes, the unchanged live views it points at must still be there, as read.
fn guards(desired: &DesiredService, live: &LiveService, changes: &[Change]) -> Vec<(String, i32)> {
    let nodemap = layout::nodemaps(&desired.name);
    if !changes.iter().any(|c| c.path == nodemap) {
        return Vec::new();
    }
    let Some(Value::Object(map)) = desired.nodes.get(&nodemap).map(DesiredNode::value) else { return Vec::new() };
    let mut views: Vec<&str> = map.values().filter_map(Value::as_str).collect();
    views.sort_unstable();
    views.dedup();
    views
        .into_iter()
        .filter(|view| !changes.iter().any(|c| c.path == *view))
        .filter_map(|view| live.nodes.get(view).map(|node| (view.to_string(), node.version)))
        .collect()
}

/// Whether the live node already holds `desired`, comparing parsed JSON, not bytes. A nodemap
/// holds `desired` when it has the same associations in a format that every client generation the
/// configured format serves reads ([`crate::nodemap::serves`]): the JSON the Jones web UI writes is
/// no change while the setting is `json`, but a change to apply while it is `legacy` (0.5.x
/// clients cannot read it), and a legacy nodemap is a change under `json` (1.x clients cannot).
/// A nodemap that some of those clients cannot parse ([`crate::nodemap::Parsed::clean`]: a trailing
/// newline, white space only) does not either. A live node whose data does not read exactly
/// ([`LiveNode::json`]) never holds `desired`.
fn same_content(kind: NodeKind, live: &LiveNode, desired: &DesiredNode) -> bool {
    // Fast path: what jones-sync wrote is byte for byte what it would write again (its JSON is
    // canonical, and parses back to the same value), so only nodes written by others are parsed.
    if live.data == desired.bytes {
        return true;
    }
    if kind == NodeKind::Nodemap {
        let (Ok(found), Ok(wanted)) = (crate::nodemap::parse(&live.data), crate::nodemap::parse(&desired.bytes)) else {
            return false;
        };
        return found.map == wanted.map
            && found.clean
            && crate::nodemap::serves(found.format, crate::nodemap::written(&desired.bytes));
    }
    live.json() == Some(desired.value())
}
