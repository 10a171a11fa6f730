//! The Jones layout in ZooKeeper (JONES.md), and jones-sync's own nodes in it: the only place that
//! spells a znode path or tells what kind of node a path is.
//!
//! ```text
//! /services                                  the parent of every service
//! /services/<svc>                            a service (no data of its own)
//! /services/<svc>/conf[/<env>...]            each environment's own values
//! /services/<svc>/views[/<env>...]           each environment's materialized (inherited) values
//! /services/<svc>/nodemaps                   association (host) -> view path
//! /services/<svc>/jones-sync                 jones-sync's record of the last apply (crate::audit)
//! /services/<svc>/jones-sync/log-NNNNNNNNNN  one audit entry per apply
//! /services/<svc>/jones-sync/locks/lock-NNNNNNNNNN  apply locks (crate::zk::lock)
//! ```
//!
//! Invariants: no I/O and no dependency on anything but the model's [`EnvPath`]; paths are
//! compared by whole components (`/services/s/conf_x` is not below `/services/s/conf`, and
//! `/services/shop` is not `/services/shopping`).

use serde::{Deserialize, Serialize};

use crate::model::EnvPath;

/// The parent of every service.
pub const SERVICES: &str = "/services";

/// Name of the record node below a service.
const RECORD: &str = "jones-sync";

/// Names of audit entries: this prefix, then ZooKeeper's 10-digit sequence number.
pub const ENTRY_PREFIX: &str = "log-";

/// Names of lock nodes: this prefix, then ZooKeeper's 10-digit sequence number.
pub const LOCK_PREFIX: &str = "lock-";

/// What a node is, which decides how it is compared, shown and ordered in a transaction.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum NodeKind {
    /// `/services` itself.
    Root,
    /// `/services/<svc>`: holds no data of its own.
    Service,
    Conf,
    View,
    Nodemap,
    Record,
    /// An audit log entry below the record. Like the next two, only a plan that deletes a whole
    /// service (`--prune`) has one: jones-sync never desires such a node.
    Log,
    /// The `locks` node below the record, or a lock below it.
    Lock,
    /// Any other node below a service: jones-sync does not write it.
    Other,
}

impl NodeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NodeKind::Root => "root",
            NodeKind::Service => "service",
            NodeKind::Conf => "conf",
            NodeKind::View => "view",
            NodeKind::Nodemap => "nodemap",
            NodeKind::Record => "record",
            NodeKind::Log => "log",
            NodeKind::Lock => "lock",
            NodeKind::Other => "other",
        }
    }
}

pub fn service(svc: &str) -> String {
    format!("{SERVICES}/{svc}")
}

/// The conf node of environment `env` (the root's is `/services/<svc>/conf`).
pub fn conf(svc: &str, env: &EnvPath) -> String {
    env.below(&format!("{SERVICES}/{svc}/conf"))
}

/// The view node of environment `env` (the root's is `/services/<svc>/views`).
pub fn view(svc: &str, env: &EnvPath) -> String {
    env.below(&format!("{SERVICES}/{svc}/views"))
}

pub fn nodemaps(svc: &str) -> String {
    format!("{SERVICES}/{svc}/nodemaps")
}

/// The node that marks a service as managed by jones-sync and records its last apply.
pub fn record(svc: &str) -> String {
    format!("{SERVICES}/{svc}/{RECORD}")
}

/// The path prefix of the service's audit log entries: ZooKeeper appends a sequence number.
pub fn log_prefix(svc: &str) -> String {
    format!("{}/{ENTRY_PREFIX}", record(svc))
}

/// The audit entry `name` (`log-0000000042`) of `svc`.
pub fn log_entry(svc: &str, name: &str) -> String {
    format!("{}/{name}", record(svc))
}

/// The parent of the service's lock nodes. (Below the record, not beside the audit entries:
/// sequence numbers count every child a parent ever had, and the log's should count applies.)
pub fn locks(svc: &str) -> String {
    format!("{}/locks", record(svc))
}

/// The lock node `name` (`lock-0000000007`) of `svc`.
pub fn lock(svc: &str, name: &str) -> String {
    format!("{}/{name}", locks(svc))
}

/// The path prefix of the service's lock nodes: ZooKeeper appends a sequence number.
pub fn lock_prefix(svc: &str) -> String {
    format!("{}/{LOCK_PREFIX}", locks(svc))
}

/// Where `jones-sync serve` replicas elect the one that writes: a node outside `/services`, so
/// that no Jones part ever sees it.
pub const ELECTION: &str = "/jones-sync/leader";

/// The prefix of a replica's candidate node below [`ELECTION`]: ZooKeeper appends a sequence number.
pub const CANDIDATE_PREFIX: &str = "candidate-";

/// Whether a child of [`ELECTION`] is a candidate.
pub fn is_candidate(name: &str) -> bool {
    sequential(name, CANDIDATE_PREFIX)
}

/// Whether a child of the record is an audit entry.
pub fn is_entry(name: &str) -> bool {
    sequential(name, ENTRY_PREFIX)
}

/// Whether a child of the `locks` node is a lock.
pub fn is_lock(name: &str) -> bool {
    sequential(name, LOCK_PREFIX)
}

/// `prefix` followed by digits only.
fn sequential(name: &str, prefix: &str) -> bool {
    name.strip_prefix(prefix).is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// Whether `path` is `prefix` or below it, by whole components.
pub fn is_within(path: &str, prefix: &str) -> bool {
    path.strip_prefix(prefix).is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// Whether `path` is strictly below `ancestor`.
pub fn is_below(path: &str, ancestor: &str) -> bool {
    path.strip_prefix(ancestor).is_some_and(|rest| rest.len() > 1 && rest.starts_with('/'))
}

/// The parent of `path` (`/services` for `/services/s`, `/` for `/services`).
pub fn parent(path: &str) -> &str {
    match path.rfind('/') {
        Some(0) | None => "/",
        Some(at) => &path[..at],
    }
}

/// What the node at `path` below service `svc` is (`Other` for anything jones-sync does not know).
/// Allocates nothing: the diff classifies every live node with it.
pub fn kind_of(svc: &str, path: &str) -> NodeKind {
    if path == SERVICES {
        return NodeKind::Root;
    }
    let Some(rest) = path.strip_prefix(SERVICES).and_then(|r| r.strip_prefix('/')).and_then(|r| r.strip_prefix(svc))
    else {
        return NodeKind::Other;
    };
    if rest.is_empty() {
        return NodeKind::Service;
    }
    let Some(rest) = rest.strip_prefix('/') else { return NodeKind::Other };
    let (top, below) = match rest.split_once('/') {
        Some((top, below)) => (top, Some(below)),
        None => (rest, None),
    };
    match (top, below) {
        ("conf", _) => NodeKind::Conf,
        ("views", _) => NodeKind::View,
        ("nodemaps", None) => NodeKind::Nodemap,
        (RECORD, None) => NodeKind::Record,
        (RECORD, Some(below)) if below == "locks" || below.starts_with("locks/") => NodeKind::Lock,
        (RECORD, Some(below)) if is_entry(below) => NodeKind::Log,
        _ => NodeKind::Other,
    }
}

/// Whether `path` is a lock node of some service (`.../jones-sync/locks/lock-NNNNNNNNNN`).
pub fn is_lock_node(path: &str) -> bool {
    let Some((parent, name)) = path.rsplit_once('/') else { return false };
    let Some(svc) = parent.strip_prefix(SERVICES).and_then(|rest| rest.strip_prefix('/')) else { return false };
    let Some(svc) = svc.strip_suffix(&format!("/{RECORD}/locks")) else { return false };
    !svc.contains('/') && is_lock(name)
}

/// The environment of a conf node of `svc` (`None` for a path that is not one).
pub fn conf_env(svc: &str, path: &str) -> Option<EnvPath> {
    conf_env_name(svc, path).map(env_path)
}

/// The environment of a view node of `svc` (`None` for a path that is not one: a live nodemap
/// may point anywhere).
pub fn view_env(svc: &str, path: &str) -> Option<EnvPath> {
    view_env_name(svc, path).map(env_path)
}

/// [`conf_env`] as written in the path (`a/b`, `""` for the root), without allocating.
pub fn conf_env_name<'a>(svc: &str, path: &'a str) -> Option<&'a str> {
    env_below(svc, path, "conf")
}

/// [`view_env`] as written in the path (`a/b`, `""` for the root), without allocating.
pub fn view_env_name<'a>(svc: &str, path: &'a str) -> Option<&'a str> {
    env_below(svc, path, "views")
}

/// The environment of `path` below the service's `top` node (`conf` or `views`), which is the
/// root environment itself.
fn env_below<'a>(svc: &str, path: &'a str, top: &str) -> Option<&'a str> {
    let rest = path.strip_prefix(SERVICES)?.strip_prefix('/')?.strip_prefix(svc)?.strip_prefix('/')?;
    let rest = rest.strip_prefix(top)?;
    if rest.is_empty() {
        return Some("");
    }
    let names = rest.strip_prefix('/')?;
    (!names.split('/').any(str::is_empty)).then_some(names)
}

fn env_path(names: &str) -> EnvPath {
    EnvPath(if names.is_empty() { Vec::new() } else { names.split('/').map(String::from).collect() })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(path: &str) -> EnvPath {
        EnvPath(path.split('/').filter(|s| !s.is_empty()).map(String::from).collect())
    }

    #[test]
    fn znode_paths_follow_the_jones_layout() {
        assert_eq!(conf("test", &env("")), "/services/test/conf");
        assert_eq!(view("test", &env("child1/sib")), "/services/test/views/child1/sib");
        assert_eq!(nodemaps("test"), "/services/test/nodemaps");
        assert_eq!(record("test"), "/services/test/jones-sync");
        assert_eq!(log_prefix("test"), "/services/test/jones-sync/log-");
        assert_eq!(lock_prefix("test"), "/services/test/jones-sync/locks/lock-");
    }

    #[test]
    fn kinds_go_by_exact_paths() {
        assert_eq!(kind_of("s", "/services"), NodeKind::Root);
        assert_eq!(kind_of("s", "/services/s"), NodeKind::Service);
        assert_eq!(kind_of("s", "/services/s/conf"), NodeKind::Conf);
        assert_eq!(kind_of("s", "/services/s/conf_x"), NodeKind::Other);
        assert_eq!(kind_of("s", "/services/s/views/a"), NodeKind::View);
        assert_eq!(kind_of("s", "/services/s/nodemaps"), NodeKind::Nodemap);
        assert_eq!(kind_of("s", "/services/s/nodemaps/x"), NodeKind::Other);
        assert_eq!(kind_of("s", "/services/s/jones-sync"), NodeKind::Record);
        assert_eq!(kind_of("s", "/services/s/jones-sync/log-0000000001"), NodeKind::Log);
        assert_eq!(kind_of("s", "/services/s/jones-sync/log-x"), NodeKind::Other);
        assert_eq!(kind_of("s", "/services/s/jones-sync/locks"), NodeKind::Lock);
        assert_eq!(kind_of("s", "/services/s/jones-sync/locks/lock-0000000001"), NodeKind::Lock);
        assert_eq!(kind_of("s", "/services/s/jones-sync/locks-old"), NodeKind::Other);
        assert_eq!(kind_of("s", "/services/s/jones-sync/log-0000000001/x"), NodeKind::Other);
        assert_eq!(kind_of("s", "/services/st/conf"), NodeKind::Other);
        assert_eq!(kind_of("s", "/services/t/conf"), NodeKind::Other);
    }

    #[test]
    fn entries_and_locks_are_the_prefix_and_digits() {
        assert!(is_entry("log-0000000042"));
        assert!(!is_entry("log-"));
        assert!(!is_entry("lock-0000000001"));
        assert!(!is_entry("log-00x"));
        assert!(is_lock("lock-0000000001"));
        assert!(is_lock_node("/services/s/jones-sync/locks/lock-0000000001"));
        assert!(!is_lock_node("/services/s/jones-sync/log-0000000001"));
        assert!(!is_lock_node("/services/s/x/jones-sync/locks/lock-0000000001"));
    }

    #[test]
    fn environments_of_paths_are_by_whole_components() {
        assert_eq!(conf_env("s", "/services/s/conf"), Some(env("")));
        assert_eq!(conf_env("s", "/services/s/conf/a/b"), Some(env("a/b")));
        assert_eq!(conf_env("s", "/services/s/confx"), None);
        assert_eq!(view_env("s", "/services/s/views/a"), Some(env("a")));
        assert_eq!(view_env("s", "/services/s/views/"), None);
        assert_eq!(view_env("s", "/services/t/views/a"), None);
        assert_eq!(view_env("s", "/services/st/views/a"), None);
        assert_eq!(view_env_name("s", "/services/s/views/a/b"), Some("a/b"));
        assert_eq!(conf_env_name("s", "/services/s/conf"), Some(""));
        // A service whose name starts like a node of another's layout.
        assert_eq!(conf_env("conference", "/services/conference/conf/x"), Some(env("x")));
        assert!(is_within("/a/conf", "/a/conf") && !is_within("/a/conf", "/a/con"));
        assert!(is_below("/a/b", "/a") && !is_below("/a", "/a") && !is_below("/ab", "/a"));
        assert_eq!(parent("/services/s"), "/services");
        assert_eq!(parent("/services"), "/");
    }
}
