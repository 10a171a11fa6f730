//! Keeping the live snapshot current from watch events: a node read again after an event goes
//! into the [`Snapshot`] exactly where a full read ([`crate::zk::Zk::snapshot`]) would have put
//! it. Pure: the reconciler reads, this only files what was read.

use crate::layout::{self, NodeKind};
use crate::live::Snapshot;
use crate::zk::ChangedNode;

/// What a node event touched.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Touched {
    /// Nothing a plan reads (a lock, a service out of scope, a node jones-sync does not know).
    Nothing,
    /// `/services` itself: every plan.
    All,
    /// One service's plan.
    Service(String),
}

/// The service a path below `/services` belongs to (empty for `/services` itself).
pub fn service_of(path: &str) -> &str {
    let rest = path.strip_prefix(layout::SERVICES).and_then(|r| r.strip_prefix('/')).unwrap_or_default();
    rest.split('/').next().unwrap_or_default()
}

/// Puts a node read after a watch event into the snapshot.
pub fn apply(live: &mut Snapshot, path: &str, node: Option<ChangedNode>) -> Touched {
    if path == layout::SERVICES {
        live.root_exists = node.is_some();
        live.root_czxid = node.map(|n| n.node.czxid);
        return Touched::All;
    }
    let Some(rest) = path.strip_prefix(layout::SERVICES).and_then(|r| r.strip_prefix('/')) else {
        return Touched::Nothing;
    };
    let name = service_of(path).to_string();
    if rest == name {
        let all = &mut live.all_services;
        match (all.binary_search(&name), node.is_some()) {
            (Err(at), true) => all.insert(at, name.clone()),
            (Ok(at), false) => {
                all.remove(at);
            }
            _ => {}
        }
    }
    let Some(service) = live.services.get_mut(&name) else { return Touched::Nothing };
    match layout::kind_of(&name, path) {
        NodeKind::Service | NodeKind::Conf | NodeKind::View | NodeKind::Nodemap | NodeKind::Record => {
            match node {
                Some(node) => {
                    service.nodes.insert(path.to_string(), node.node);
                }
                None => {
                    service.nodes.remove(path);
                    // A node created again gets its ACL read at the next full read.
                    service.acls.remove(path);
                }
            }
        }
        NodeKind::Log => {
            let entry = path.rsplit('/').next().unwrap_or_default().to_string();
            match (service.log.binary_search(&entry), node.is_some()) {
                (Err(at), true) => service.log.insert(at, entry),
                (Ok(at), false) => {
                    service.log.remove(at);
                }
                _ => {}
            }
        }
        _ => return Touched::Nothing,
    }
    Touched::Service(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::live::{LiveNode, LiveService};

    fn node(data: &str, mzxid: i64) -> Option<ChangedNode> {
        let node = LiveNode { data: data.as_bytes().to_vec().into(), version: 1, mzxid, czxid: 1 };
        Some(ChangedNode { node, mtime_ms: 0 })
    }

    fn snapshot() -> Snapshot {
        let mut live = LiveService::default();
        live.nodes.insert("/services/s/conf".into(), node("{}", 1).unwrap().node);
        live.log = vec!["log-0000000001".into()];
        Snapshot {
            root_exists: true,
            root_czxid: Some(1),
            all_services: vec!["s".into()],
            services: [("s".to_string(), live)].into(),
        }
    }

    #[test]
    fn a_changed_node_of_a_service_in_scope_is_filed_where_a_full_read_puts_it() {
        let mut live = snapshot();
        let touched = apply(&mut live, "/services/s/conf/prod", node("{\"a\": 1}", 5));
        assert_eq!(touched, Touched::Service("s".into()));
        assert_eq!(live.services["s"].nodes["/services/s/conf/prod"].mzxid, 5);
        assert_eq!(apply(&mut live, "/services/s/conf/prod", None), Touched::Service("s".into()));
        assert!(!live.services["s"].nodes.contains_key("/services/s/conf/prod"));
        // Audit entries are names only, in order.
        apply(&mut live, "/services/s/jones-sync/log-0000000002", node("{}", 6));
        assert_eq!(live.services["s"].log, ["log-0000000001", "log-0000000002"]);
        apply(&mut live, "/services/s/jones-sync/log-0000000001", None);
        assert_eq!(live.services["s"].log, ["log-0000000002"]);
    }

    #[test]
    fn locks_unknown_nodes_and_services_out_of_scope_touch_no_plan() {
        let mut live = snapshot();
        let before = format!("{:?}", live.services);
        assert_eq!(apply(&mut live, "/services/s/jones-sync/locks/lock-0000000001", node("", 7)), Touched::Nothing);
        assert_eq!(apply(&mut live, "/services/s/other", node("x", 7)), Touched::Nothing);
        assert_eq!(apply(&mut live, "/services/t/conf", node("{}", 7)), Touched::Nothing);
        assert_eq!(format!("{:?}", live.services), before);
        // A service out of scope is still listed among the services ZooKeeper holds.
        assert_eq!(apply(&mut live, "/services/t", node("", 7)), Touched::Nothing);
        assert_eq!(live.all_services, ["s", "t"]);
        apply(&mut live, "/services/t", None);
        assert_eq!(live.all_services, ["s"]);
    }

    #[test]
    fn the_root_touches_every_plan() {
        let mut live = snapshot();
        assert_eq!(apply(&mut live, "/services", None), Touched::All);
        assert!(!live.root_exists);
        assert_eq!(live.root_czxid, None);
    }
}
