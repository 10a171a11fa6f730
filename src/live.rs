//! What ZooKeeper holds now, as plain data: the seam between the ZooKeeper client (which fills a
//! [`Snapshot`], [`crate::zk`]) and the diff (which only reads one, [`crate::plan`]), so the diff
//! is tested without a server. Nothing here reads ZooKeeper.

use std::collections::BTreeMap;

use bytes::Bytes;
use serde_json::Value;

/// Live state of the services a plan is about.
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// Whether `/services` exists.
    pub root_exists: bool,
    /// The zxid that created `/services`, when it exists.
    pub root_czxid: Option<i64>,
    /// Every child of `/services`, managed or not.
    pub all_services: Vec<String>,
    /// The services of the repository, by name; a service absent from ZooKeeper has no nodes.
    pub services: BTreeMap<String, LiveService>,
}

impl Snapshot {
    /// The snapshot without `paths`: nodes this process made itself (a lock's parents), which the
    /// plan should treat as still missing.
    pub fn without(mut self, paths: &[String]) -> Snapshot {
        for path in paths {
            if path == crate::layout::SERVICES {
                self.root_exists = false;
                self.root_czxid = None;
            }
            for service in self.services.values_mut() {
                service.nodes.remove(path);
            }
        }
        self
    }
}

/// Every node of one service that jones-sync reads: the service node, the `conf` and `views`
/// subtrees, `nodemaps` and the `jones-sync` record, by absolute path; and the names of the audit
/// log entries below the record.
#[derive(Debug, Clone, Default)]
pub struct LiveService {
    pub nodes: BTreeMap<String, LiveNode>,
    /// Audit log entries (`log-0000000042`), oldest first; their data is not read.
    pub log: Vec<String>,
    /// ACLs of the nodes, by path; read only when `[zookeeper] acl` is set (empty otherwise).
    pub acls: BTreeMap<String, LiveAcl>,
}

/// A live node's ACL and its ACL version (which guards setting it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveAcl {
    pub acl: Vec<crate::acl::AclEntry>,
    pub aversion: i32,
}

/// One live node: its data and the parts of its stat that writes are guarded by.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LiveNode {
    pub data: Bytes,
    /// Data version, for version-guarded writes.
    pub version: i32,
    /// Zxid of the last change to its data.
    pub mzxid: i64,
    /// Zxid of its creation: a node deleted and created again (or another cluster's node at the
    /// same path) has another, whatever its version.
    pub czxid: i64,
}

impl LiveNode {
    /// The node's data as JSON, or `None` if it does not read exactly as JSON: not JSON at all, or
    /// holding a number a parser would change (an integer beyond 64 bits), which must never
    /// compare equal to what it would be changed into ([`crate::live_json::exact`]).
    pub fn json(&self) -> Option<Value> {
        crate::live_json::exact(&self.data)
    }
}
