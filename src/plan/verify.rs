//! What a saved plan must hold before `apply FILE` executes it, worked out again from the file and
//! the live state read under the locks, never taken from the file: anyone who can edit the file
//! could also recompute a checksum, so the checks are what protect.
//!
//! For every service the plan changes:
//! - every path is a node of that service's Jones layout, of the kind the change says, and only
//!   what an apply writes (a service deleted whole, `--prune`, only deletes; otherwise the service
//!   node and its record are never deleted, and audit entries and locks never touched);
//! - every conf and view it writes is a JSON object, every nodemap parses (either format), every
//!   record is a jones-sync record, and no node is over the znode size limit;
//! - after the plan, the service is whole and consistent: its service node, root conf, root view,
//!   nodemap and record exist, every view equals the materialization of the confs (Jones' own
//!   algorithm, [`super::integrity`]), no view lacks a conf or a conf its view, and every host of
//!   the nodemap points at a view of the service that exists;
//! - the request limit can hold its largest single write, so the apply can finish.
//!
//! The mass-deletion guard's verdict and whether a service is managed are worked out again from
//! the live state by the caller ([`crate::sync::verify_saved`]), and staleness is judged by
//! [`super::saved::stale_nodes`].

use std::collections::BTreeMap;

use serde_json::Value;

use super::saved::StaleNode;
use super::{Action, Plan, ServicePlan, integrity};
use crate::layout::{self, NodeKind};
use crate::live::{LiveNode, LiveService, Snapshot};

/// The limits a saved plan is checked against.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest node data (`[zookeeper] max_node_bytes`).
    pub max_node_bytes: usize,
    /// Largest request (`[zookeeper] max_request_bytes`).
    pub max_request_bytes: usize,
}

/// Every way the file's own content does not hold (paths, kinds, data, sizes), as (path, reason),
/// sorted; empty when it holds. Needs no live state: checked first, so that a path outside the
/// layout is named as such rather than as stale.
pub fn file_problems(plan: &Plan, limits: Limits) -> Vec<StaleNode> {
    let mut problems = Vec::new();
    for service in plan.services.iter().filter(|s| !s.is_empty()) {
        let name = &service.name;
        let mut push = |path: &str, reason: String| problems.push(StaleNode { path: path.to_string(), reason });
        if let Some(problem) = crate::repo::names::zk_name_problem(name) {
            push(layout::SERVICES, format!("has a service named `{name}`, which cannot be: {problem}"));
            continue;
        }
        paths_and_data(service, limits, &mut push);
    }
    sorted(problems)
}

/// Every way the services would not be whole and consistent after `plan` is applied on `live`
/// (read under the locks), as (path, reason), sorted; empty when they would.
pub fn after_problems(plan: &Plan, live: &Snapshot) -> Vec<StaleNode> {
    let mut problems = Vec::new();
    let empty = LiveService::default();
    for service in plan.services.iter().filter(|s| !s.is_empty() && !s.prune) {
        let mut push = |path: &str, reason: String| problems.push(StaleNode { path: path.to_string(), reason });
        after_the_plan(service, live.services.get(&service.name).unwrap_or(&empty), &mut push);
    }
    sorted(problems)
}

fn sorted(mut problems: Vec<StaleNode>) -> Vec<StaleNode> {
    problems.sort_by(|a, b| (&a.path, &a.reason).cmp(&(&b.path, &b.reason)));
    problems.dedup();
    problems
}

/// The paths, kinds and data of `service`'s changes, guards, ACL changes and audit entries.
fn paths_and_data(service: &ServicePlan, limits: Limits, push: &mut impl FnMut(&str, String)) {
    let name = service.name.as_str();
    for change in &service.changes {
        let path = change.path.as_str();
        let kind = layout::kind_of(name, path);
        // A service deleted whole also loses the nodes jones-sync does not know below it.
        let foreign_below = service.prune && kind == NodeKind::Other && layout::is_below(path, &layout::service(name));
        if (matches!(kind, NodeKind::Other | NodeKind::Root) && !foreign_below) || !well_formed(path) {
            push(path, format!("is not a node of service `{name}` in the Jones layout"));
            continue;
        }
        if kind != change.kind {
            push(path, format!("is a {} node, not a {} node as the plan says", kind.as_str(), change.kind.as_str()));
            continue;
        }
        let action = change.action.name();
        let allowed = if service.prune {
            matches!(change.action, Action::Delete { .. })
        } else {
            !matches!(
                (&change.action, kind),
                (_, NodeKind::Log | NodeKind::Lock)
                    | (Action::Delete { .. }, NodeKind::Service | NodeKind::Record | NodeKind::Nodemap)
            )
        };
        if !allowed {
            let scope = if service.prune { "a service deleted whole" } else { "an apply" };
            push(path, format!("is a {} node, which {scope} does not {action}", kind.as_str()));
            continue;
        }
        let (_, Some(after)) = change.action.data() else { continue };
        if after.len() > limits.max_node_bytes {
            push(
                path,
                format!(
                    "would be {} bytes, over the {}-byte znode limit ([zookeeper] max_node_bytes)",
                    after.len(),
                    limits.max_node_bytes
                ),
            );
        }
        // With the checks every transaction carries ([`crate::apply::transactions::room`]).
        let write = crate::zk::Op::Create { path: path.to_string(), data: after.to_vec().into() };
        let room = crate::apply::transactions::room(service, limits.max_request_bytes);
        if write.encoded_len() > room {
            push(
                path,
                format!(
                    "takes {} bytes to write, more than one request holds ({room} bytes with the checks it \
                     carries; [zookeeper] max_request_bytes is {}): the apply could never finish",
                    write.encoded_len(),
                    limits.max_request_bytes
                ),
            );
        }
        if let Some(problem) = data_problem(kind, after) {
            push(path, problem);
        }
    }
    for (path, _) in &service.guards {
        if layout::kind_of(name, path) != NodeKind::View || !well_formed(path) {
            push(path, format!("is guarded as a view the nodemap points at, but is not a view of `{name}`"));
        }
    }
    for acl in &service.acls {
        let kind = layout::kind_of(name, &acl.path);
        if matches!(kind, NodeKind::Other | NodeKind::Root | NodeKind::Log | NodeKind::Lock) || !well_formed(&acl.path)
        {
            push(&acl.path, format!("gets an ACL, but is not a node jones-sync manages in `{name}`"));
        }
    }
    for entry in service.log.iter().filter(|entry| !layout::is_entry(entry)) {
        push(&layout::record(name), format!("lists `{entry}` as an audit entry, which is not one"));
    }
}

/// Whether `path` is absolute and canonical: no empty, `.` or `..` component, no trailing `/`.
fn well_formed(path: &str) -> bool {
    path.strip_prefix('/').is_some_and(|rest| rest.split('/').all(|c| !c.is_empty() && c != "." && c != ".."))
}

/// Why `data` cannot be the content of a `kind` node that jones-sync writes.
fn data_problem(kind: NodeKind, data: &[u8]) -> Option<String> {
    match kind {
        NodeKind::Conf | NodeKind::View => match serde_json::from_slice::<Value>(data) {
            Ok(Value::Object(_)) => None,
            Ok(_) => Some(format!("would hold a {} that is not a JSON object", kind.as_str())),
            Err(err) => Some(format!("would hold a {} that is not JSON ({err})", kind.as_str())),
        },
        NodeKind::Nodemap => {
            crate::nodemap::parse(data).err().map(|err| format!("would hold a nodemap Jones cannot read: {err}"))
        }
        NodeKind::Record => crate::audit::record::Record::parse(data)
            .is_none()
            .then(|| "would hold a record that is not a jones-sync record".to_string()),
        _ => None,
    }
}

/// What `service` holds once its changes are applied on `live`: whole and consistent.
fn after_the_plan(service: &ServicePlan, live: &LiveService, push: &mut impl FnMut(&str, String)) {
    let name = service.name.as_str();
    let mut nodes: BTreeMap<String, LiveNode> = live.nodes.clone();
    for change in &service.changes {
        match change.action.data() {
            (_, Some(after)) => {
                let node = LiveNode { data: after.to_vec().into(), version: 0, mzxid: 0, czxid: 0 };
                nodes.insert(change.path.clone(), node);
            }
            (_, None) => {
                nodes.remove(&change.path);
            }
        }
    }
    let root = crate::model::EnvPath::root();
    for path in [layout::service(name), layout::conf(name, &root), layout::view(name, &root), layout::nodemaps(name)]
        .into_iter()
        .chain([layout::record(name)])
    {
        if !nodes.contains_key(&path) {
            push(&path, format!("would be missing after the plan: `{name}` would not be whole"));
        }
    }
    let after = LiveService { nodes, ..LiveService::default() };
    for finding in integrity::check(name, &after) {
        use integrity::Problem;
        let reason = match finding.problem {
            Problem::Differs { .. } => {
                "would not equal the materialization of the confs after the plan (a conf it derives from changed \
                 since the plan was made, or the plan was edited)"
            }
            Problem::Missing => "would be missing after the plan, though its environment has a conf",
            Problem::Orphan => "would be a view without a conf after the plan",
            Problem::UnreadableConf => "would not be a readable conf after the plan",
        };
        push(&finding.path, reason.to_string());
    }
    let nodemap = layout::nodemaps(name);
    if let Some(node) = after.nodes.get(&nodemap)
        && let Ok(parsed) = crate::nodemap::parse(&node.data)
    {
        for (host, target) in &parsed.map {
            let target = target.as_str().unwrap_or_default();
            let exists = layout::view_env(name, target).is_some() && after.nodes.contains_key(target);
            if !exists {
                push(
                    &nodemap,
                    format!("would point host `{host}` at `{target}`, which is not a view of `{name}` after the plan"),
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::plan::tests::{applied, service};
    use crate::plan::{Change, diff};

    const LIMITS: Limits = Limits { max_node_bytes: 1_048_575, max_request_bytes: 1_000_000 };

    fn reasons(plan: &Plan, live: &Snapshot) -> Vec<String> {
        let mut found = file_problems(plan, LIMITS);
        found.extend(after_problems(plan, live));
        sorted(found).iter().map(|p| format!("{}: {}", p.path, p.reason)).collect()
    }

    fn record() -> serde_json::Value {
        json!({"sha": null, "dirty": false, "applied_at": "2026-01-01T00:00:00Z", "actor": "a",
               "tool": {"name": "jones-sync", "version": "0"}})
    }

    /// A plan made by jones-sync holds; each kind of hand edit is refused, naming the node.
    #[test]
    fn a_plan_made_by_jones_sync_holds_and_hand_edits_do_not() {
        let before = service("s", &[("", json!({"a": 1}), &[]), ("x", json!({}), &["h"])]);
        let after = service("s", &[("", json!({"a": 2}), &[]), ("x", json!({"b": 1}), &[]), ("y", json!({}), &["h"])]);
        let live = applied(&before);
        let plan = diff(&[after], &live, &record());
        assert_eq!(reasons(&plan, &live), Vec::<String>::new());

        let edited = |edit: &dyn Fn(&mut Vec<Change>)| {
            let mut plan = plan.clone();
            edit(&mut plan.services[0].changes);
            reasons(&plan, &live)
        };
        let set = |changes: &mut Vec<Change>, path: &str, data: &str| {
            let change = changes.iter_mut().find(|c| c.path == path).unwrap();
            match &mut change.action {
                Action::Create { after } | Action::Update { after, .. } => *after = data.as_bytes().to_vec().into(),
                Action::Delete { .. } => unreachable!(),
            }
        };
        // Non-JSON conf data, and a conf whose views were not made to follow it.
        assert_eq!(
            edited(&|c| set(c, "/services/s/conf/y", "not json")),
            [
                "/services/s/conf/y: would hold a conf that is not JSON (expected ident at line 1 column 2)",
                "/services/s/conf/y: would not be a readable conf after the plan",
            ]
        );
        assert_eq!(
            edited(&|c| set(c, "/services/s/conf", r#"{"a": 3}"#)),
            [
                "/services/s/views: would not equal the materialization of the confs after the plan (a conf it \
                 derives from changed since the plan was made, or the plan was edited)",
                "/services/s/views/x: would not equal the materialization of the confs after the plan (a conf it \
                 derives from changed since the plan was made, or the plan was edited)",
                "/services/s/views/y: would not equal the materialization of the confs after the plan (a conf it \
                 derives from changed since the plan was made, or the plan was edited)",
            ]
        );
        // A create outside the Jones layout, and one of a node of another kind.
        assert_eq!(
            edited(&|c| c.iter_mut().find(|c| c.path == "/services/s/conf/y").unwrap().path =
                "/services/other/conf".into()),
            [
                "/services/other/conf: is not a node of service `s` in the Jones layout",
                "/services/s/views/y: would be a view without a conf after the plan"
            ]
        );
        assert_eq!(
            edited(&|c| c.push(Change {
                path: "/zookeeper/quota".into(),
                kind: NodeKind::Conf,
                action: Action::Create { after: "{}".as_bytes().to_vec().into() },
                drift: false
            })),
            ["/zookeeper/quota: is not a node of service `s` in the Jones layout"]
        );
        // A nodemap pointing at a view that will not exist.
        assert_eq!(
            edited(&|c| set(c, "/services/s/nodemaps", r#"{"h": "/services/s/views/gone"}"#)),
            ["/services/s/nodemaps: would point host `h` at `/services/s/views/gone`, which is not a view of `s` \
                 after the plan"]
        );
        // Deleting the record of a service not deleted whole.
        let mut plan = plan.clone();
        let record_path = layout::record("s");
        let record = plan.services[0].changes.iter_mut().find(|c| c.path == record_path).unwrap();
        record.action = Action::Delete { before: vec![].into(), version: 1 };
        assert_eq!(
            reasons(&plan, &live),
            [
                "/services/s/jones-sync: is a record node, which an apply does not delete",
                "/services/s/jones-sync: would be missing after the plan: `s` would not be whole"
            ]
        );
    }

    #[test]
    fn the_limits_hold_for_every_write() {
        let desired = service("s", &[("", json!({"blob": "x".repeat(300)}), &[])]);
        let plan = diff(&[desired], &Snapshot::default(), &record());
        let limits = Limits { max_node_bytes: 200, max_request_bytes: 250 };
        let found: Vec<String> =
            file_problems(&plan, limits).iter().map(|p| format!("{}: {}", p.path, p.reason)).collect();
        assert!(
            found.contains(
                &"/services/s/conf: would be 311 bytes, over the 200-byte znode limit ([zookeeper] max_node_bytes)"
                    .to_string()
            ),
            "{found:#?}"
        );
        assert!(found.iter().any(|f| f.starts_with("/services/s/views: takes ")), "{found:#?}");
    }
}
