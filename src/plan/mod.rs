//! The plan: every node to create, update or delete so that ZooKeeper holds what the repository
//! describes, per service. The plan is a value; [`diff`] makes it from a desired state and a live
//! snapshot (no I/O), [`render`] shows it, [`saved`] keeps it in a file, and [`crate::apply`]
//! executes it. [`crate::sync`] is the pipeline that reads live state and makes plans.
//!
//! Besides the changes, [`diff`] works out what a reviewer needs to judge them, from the same two
//! inputs: the [`blast`] radius (which environments' views change and which hosts see it), drift
//! (a change that overwrites a live edit made outside jones-sync since its last apply) and
//! [`integrity`] findings (live views that do not equal the materialization of the live conf).
//!
//! The plan serializes with serde, so a plan saved by `plan --out` ([`saved`]) is applied exactly.
//! Node data is kept as bytes, shared with the desired and live trees it comes from (a plan that
//! creates every node does not hold a second copy of them); it serializes as text when it is UTF-8 (always, for what
//! jones-sync writes) and as an array of bytes otherwise, so that the round trip is exact.

pub mod blast;
pub mod break_glass;
mod compare;
pub mod guard;
pub mod integrity;
pub mod prune;
pub mod redact;
pub mod render;
pub mod saved;
pub mod verify;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

pub use blast::BlastRadius;
pub use compare::{diff, diff_service, diff_with, unmanaged};
pub use guard::MassDelete;
pub use integrity::Finding;

use crate::acl::AclEntry;
use crate::layout::NodeKind;

/// The whole plan.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Plan {
    /// `/services` itself must be created first.
    pub create_root: bool,
    /// One entry per service of the repository, in name order.
    pub services: Vec<ServicePlan>,
    /// Services in ZooKeeper that the repository does not have, left untouched.
    pub unmanaged: Vec<String>,
    /// Of those, the ones jones-sync manages: `--prune` would delete them ([`prune`]).
    #[serde(default)]
    pub prunable: Vec<String>,
    /// The zxid that created `/services` when the plan read it: another cluster behind the same
    /// address, or `/services` made again, has another ([`saved`]).
    #[serde(default)]
    pub root_czxid: Option<i64>,
}

/// The changes of one service, applied in one transaction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ServicePlan {
    pub name: String,
    /// Whether the service carries a `jones-sync` record (was applied by jones-sync before).
    pub managed: bool,
    /// The zxid of the last apply's transaction: the `mzxid` of the record, which every apply
    /// writes in the same transaction. `None` when the service is not managed.
    #[serde(default)]
    pub last_apply_zxid: Option<i64>,
    /// Changes by path; empty when the service is up to date.
    pub changes: Vec<Change>,
    /// Nodes the transaction relies on without writing them, with the version read: the views a
    /// changed nodemap points at. The transaction fails if any of them changed meanwhile.
    pub guards: Vec<(String, i32)>,
    /// The service's live audit log entries, oldest first, so the apply can prune the oldest.
    #[serde(default)]
    pub log: Vec<String>,
    /// Which environments and hosts the changes reach.
    #[serde(default)]
    pub blast_radius: BlastRadius,
    /// Live views that do not equal the materialization of the live conf nodes.
    #[serde(default)]
    pub view_integrity: Vec<Finding>,
    /// Why the service will not be applied in one transaction, when it will not (too large for one
    /// request; see [`crate::apply::transactions::split_reason`]).
    #[serde(default)]
    pub not_atomic: Option<String>,
    /// Existing nodes whose ACL differs from `[zookeeper] acl`. ZooKeeper cannot set an ACL in a
    /// `multi`, so apply sets these after the service's transaction, each guarded by its ACL version.
    #[serde(default)]
    pub acls: Vec<AclChange>,
    /// The service is not in the repository, and the plan deletes it whole (`--prune`).
    #[serde(default)]
    pub prune: bool,
    /// What the plan deletes, when the mass-deletion [`guard`] flags it.
    #[serde(default)]
    pub mass_delete: Option<MassDelete>,
    /// What the plan read of each node it updates, deletes or relies on ([`ServicePlan::guards`]),
    /// besides the version: so a saved plan is judged stale by what it showed ([`saved`]).
    #[serde(default, skip_serializing_if = "std::collections::BTreeMap::is_empty")]
    pub reads: std::collections::BTreeMap<String, Read>,
    /// The break-glass edits of the live record, and whether the plan undoes each
    /// ([`break_glass`]).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub break_glass: Vec<break_glass::Kept>,
}

/// What a plan read of one live node, besides its version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Read {
    /// The zxid that created it: a node deleted and created again, or another cluster's node at
    /// the same path, has another.
    pub czxid: i64,
    /// SHA-256 of its data (hex), for a node whose data the plan does not hold otherwise (a view a
    /// new nodemap points at); an updated or deleted node's is its change's `before`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub digest: Option<String>,
}

/// ACL drift on one existing node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AclChange {
    pub path: String,
    pub before: Vec<AclEntry>,
    pub after: Vec<AclEntry>,
    /// The ACL version read: setting fails if someone changed the ACL meanwhile.
    pub aversion: i32,
}

/// One node to change.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub path: String,
    pub kind: NodeKind,
    #[serde(flatten)]
    pub action: Action,
    /// The live node was changed outside jones-sync since the service's last apply (its `mzxid` is
    /// newer than the record's), so this change reverts someone's live edit.
    #[serde(default)]
    pub drift: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "action", rename_all = "lowercase")]
pub enum Action {
    /// The node must not exist yet; `after` is its data.
    Create {
        #[serde(with = "data")]
        after: Bytes,
    },
    /// The node must still be at `version`.
    Update {
        #[serde(with = "data")]
        before: Bytes,
        #[serde(with = "data")]
        after: Bytes,
        version: i32,
    },
    /// The node must still be at `version` and have no children left.
    Delete {
        #[serde(with = "data")]
        before: Bytes,
        version: i32,
    },
}

/// Node data in a saved plan: text when it is UTF-8, else an array of bytes (exact either way).
mod data {
    use bytes::Bytes;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
        match std::str::from_utf8(bytes) {
            Ok(text) => serializer.serialize_str(text),
            Err(_) => serializer.collect_seq(bytes),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Bytes, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Data {
            Text(String),
            Bytes(Vec<u8>),
        }
        Ok(match Data::deserialize(deserializer)? {
            Data::Text(text) => Bytes::from(text.into_bytes()),
            Data::Bytes(bytes) => Bytes::from(bytes),
        })
    }
}

impl Action {
    pub fn name(&self) -> &'static str {
        match self {
            Action::Create { .. } => "create",
            Action::Update { .. } => "update",
            Action::Delete { .. } => "delete",
        }
    }

    /// The node's data before and after the change (`None`: the node does not exist).
    pub fn data(&self) -> (Option<&[u8]>, Option<&[u8]>) {
        match self {
            Action::Create { after } => (None, Some(after)),
            Action::Update { before, after, .. } => (Some(before), Some(after)),
            Action::Delete { before, .. } => (Some(before), None),
        }
    }
}

/// Counts of the changes in a plan: every node the plan lists, each service's record included (so
/// a plan's, an apply's and an audit entry's figures agree).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Counts {
    pub create: usize,
    pub update: usize,
    pub delete: usize,
}

impl Plan {
    /// ACL changes across every service.
    pub fn acl_count(&self) -> usize {
        self.services.iter().map(|s| s.acls.len()).sum()
    }
}

impl Counts {
    pub fn total(&self) -> usize {
        self.create + self.update + self.delete
    }

    /// Adds `other`'s figures.
    pub fn add(&mut self, other: &Counts) {
        self.create += other.create;
        self.update += other.update;
        self.delete += other.delete;
    }

    fn count(&mut self, action: &Action) {
        match action {
            Action::Create { .. } => self.create += 1,
            Action::Update { .. } => self.update += 1,
            Action::Delete { .. } => self.delete += 1,
        }
    }
}

impl ServicePlan {
    pub fn is_empty(&self) -> bool {
        self.changes.is_empty() && self.acls.is_empty()
    }

    /// Nodes created, updated and deleted: every change the plan lists, the record included.
    pub fn counts(&self) -> Counts {
        let mut counts = Counts::default();
        for change in &self.changes {
            counts.count(&change.action);
        }
        counts
    }
}

impl Plan {
    pub fn is_empty(&self) -> bool {
        !self.create_root && self.services.iter().all(ServicePlan::is_empty)
    }

    /// Every service's counts, and `/services` when the plan creates it.
    pub fn counts(&self) -> Counts {
        let mut counts = Counts { create: usize::from(self.create_root), ..Counts::default() };
        for service in &self.services {
            counts.add(&service.counts());
        }
        counts
    }
}

/// What a plan reaches, for summaries: hosts are counted once however many services reach them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Reach {
    /// Associated hosts that see a change.
    pub hosts: usize,
    /// Of those, hosts whose association changes.
    pub moving: usize,
    /// Services whose unassociated hosts see a change (their root's values change).
    pub unassociated: Vec<String>,
    /// Changes that revert a live edit made outside jones-sync.
    pub drift: usize,
    /// View-integrity findings.
    pub findings: usize,
}

impl Reach {
    pub fn of(plan: &Plan) -> Reach {
        let mut hosts = std::collections::BTreeSet::new();
        let mut moving = std::collections::BTreeSet::new();
        let mut reach = Reach::default();
        for service in &plan.services {
            hosts.extend(service.blast_radius.hosts());
            moving.extend(service.blast_radius.moving());
            if service.blast_radius.unassociated_hosts {
                reach.unassociated.push(service.name.clone());
            }
            reach.drift += service.changes.iter().filter(|c| c.drift).count();
            reach.findings += service.view_integrity.len();
        }
        reach.hosts = hosts.len();
        reach.moving = moving.len();
        reach
    }
}

#[cfg(test)]
pub(crate) mod tests;

/// A change to one key of a node's JSON object, for showing an update key by key.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "lowercase")]
pub enum KeyChange {
    #[serde(rename = "add")]
    Added {
        key: String,
        #[serde(rename = "after")]
        value: Value,
    },
    #[serde(rename = "remove")]
    Removed {
        key: String,
        #[serde(rename = "before")]
        value: Value,
    },
    #[serde(rename = "change")]
    Changed { key: String, before: Value, after: Value },
    /// The node's data is not a JSON object on one side: it changes whole (text as it is).
    Whole { before: Option<String>, after: Option<String> },
    /// A key whose live value does not read exactly as JSON (`NaN`, an integer beyond 64 bits, a
    /// lone surrogate...: [`crate::live_json`]): its text as written and why, and the value it
    /// gets (`None`: the key goes).
    Unreadable { key: String, text: String, why: String, after: Option<Value> },
    /// A nodemap's format changes (`json`, `legacy`), whether or not its associations do.
    Format { before: String, after: String },
}

/// Key-level changes from `before` to `after` (node data; `None` when the node does not exist).
/// A live conf or view holding values that do not read exactly is compared key by key, each such
/// key shown as [`KeyChange::Unreadable`]; a nodemap whose format changes says so first
/// ([`KeyChange::Format`]).
pub fn key_changes(kind: NodeKind, before: Option<&[u8]>, after: Option<&[u8]>) -> Vec<KeyChange> {
    let mut partial = Vec::new();
    let as_object = |bytes: Option<&[u8]>, partial: Option<&mut Vec<crate::live_json::Partial>>| {
        match bytes {
            None => Some(Map::new()),
            Some(data) if kind == NodeKind::Nodemap => crate::nodemap::parse(data).ok().map(|parsed| parsed.map),
            Some(data) => match crate::live_json::exact(data) {
                Some(Value::Object(map)) => Some(map),
                Some(_) => None,
                // Key by key: the keys that read are compared, the others shown as they are.
                None => {
                    let mut object = crate::live_json::object(data).ok()?;
                    for p in &object.partial {
                        object.values.remove(&p.key);
                    }
                    partial?.append(&mut object.partial);
                    Some(object.values)
                }
            },
        }
    };
    // A nodemap some client cannot parse changes whole: its text is what is wrong with it.
    let unclean = kind == NodeKind::Nodemap
        && before.and_then(|data| crate::nodemap::parse(data).ok()).is_some_and(|parsed| !parsed.clean);
    let (false, Some(old), Some(mut new)) = (unclean, as_object(before, Some(&mut partial)), as_object(after, None))
    else {
        let text = |bytes: Option<&[u8]>| bytes.map(|b| String::from_utf8_lossy(b).into_owned());
        return vec![KeyChange::Whole { before: text(before), after: text(after) }];
    };
    // The parsed maps are consumed: a created or deleted node's keys and values move into the
    // changes rather than being copied (a first apply shows every key of every node).
    let mut changes = Vec::with_capacity(old.len().max(new.len()));
    if kind == NodeKind::Nodemap
        && let (Some(before), Some(after)) = (before, after)
        && let Ok(found) = crate::nodemap::parse(before)
        && let Some(found_format) = found.format
        && !crate::nodemap::serves(found.format, crate::nodemap::written(after))
    {
        let after = crate::nodemap::written(after).as_str().to_string();
        changes.push(KeyChange::Format { before: found_format.as_str().to_string(), after });
    }
    let only_added = old.is_empty() && partial.is_empty() && changes.is_empty();
    for (key, value) in old {
        match new.remove(&key) {
            None => changes.push(KeyChange::Removed { key, value }),
            Some(after) if after != value => changes.push(KeyChange::Changed { key, before: value, after }),
            Some(_) => {}
        }
    }
    for crate::live_json::Partial { key, text, why } in partial {
        let after = new.remove(&key);
        changes.push(KeyChange::Unreadable { key, text, why, after });
    }
    changes.extend(new.into_iter().map(|(key, value)| KeyChange::Added { key, value }));
    // Each part is in key order already (the maps are sorted); only a mix needs sorting.
    if !only_added {
        changes.sort_by(|a, b| a.key().cmp(b.key()));
    }
    changes
}

impl KeyChange {
    pub fn key(&self) -> &str {
        match self {
            KeyChange::Added { key, .. }
            | KeyChange::Removed { key, .. }
            | KeyChange::Changed { key, .. }
            | KeyChange::Unreadable { key, .. } => key,
            KeyChange::Whole { .. } | KeyChange::Format { .. } => "",
        }
    }
}
