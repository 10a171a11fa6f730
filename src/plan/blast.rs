//! The blast radius of a service's changes: which environments' effective config (view) changes,
//! and which hosts see a difference, worked out from the desired tree and the live snapshot.
//!
//! A Jones client reads the view its association points at, or the root's `conf` when it has
//! none (JONES.md), so a host is reached when
//! - it stays associated with an environment whose view the plan changes, or
//! - its association changes (it moves between environments, or gains or loses one), or
//! - it has no association and the root's own values change: "all unassociated hosts", since
//!   nobody can list the hosts that read the root.
//!
//! Moves are grouped by (from, to), with the key changes the moving hosts see between the view
//! they read now (live) and the one they will read (desired), worked out when shown
//! ([`MoveChanges`]).

use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet};

use bytes::Bytes;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{Change, KeyChange, key_changes};
use crate::layout;
use crate::layout::NodeKind;
use crate::live::LiveService;
use crate::model::EnvPath;
use crate::view::DesiredService;

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct BlastRadius {
    /// The root's own values (`conf`) change, and every host without an association reads them.
    pub unassociated_hosts: bool,
    /// Environments other than the root whose view the plan creates, updates or deletes.
    pub environments: Vec<EnvironmentImpact>,
    /// Hosts whose association changes, grouped by the views they move between.
    pub moves: Vec<Move>,
}

/// One environment whose view changes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EnvironmentImpact {
    /// `prod/canary`: the environment's path below the service.
    pub environment: String,
    /// The view's absolute znode path.
    pub view: String,
    /// `create`, `update` or `delete`: what happens to the view.
    pub action: String,
    /// Hosts associated with this environment before and after the change (movers are in `moves`).
    pub hosts: Vec<String>,
}

/// Hosts that move from one view to another.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Move {
    /// The view they read now; `None`: no association (they read the root's `conf`).
    pub from: Option<String>,
    /// The view they will read; `None`: no association.
    pub to: Option<String>,
    pub hosts: Vec<String>,
    /// How the values these hosts see change.
    pub changes: MoveChanges,
}

/// How the values moving hosts see change: kept as the data of the two nodes they read (shared
/// with the live and desired trees) and worked out when shown. A first apply moves every host
/// from the root to its environment's view, and the parsed changes of every view of a large
/// deployment would take several times the size of the views themselves.
///
/// It serializes as the list of [`KeyChange`]s, as it always did; a plan read back holds that list.
#[derive(Debug, Clone)]
pub enum MoveChanges {
    /// The data of the view read now and of the one read after the apply (`None`: no node).
    Data {
        before: Option<Bytes>,
        after: Option<Bytes>,
    },
    Changes(Vec<KeyChange>),
}

impl MoveChanges {
    /// The key changes, worked out from the views' data when that is what is kept.
    pub fn get(&self) -> Cow<'_, [KeyChange]> {
        match self {
            MoveChanges::Data { before, after } => {
                Cow::Owned(key_changes(NodeKind::View, before.as_deref(), after.as_deref()))
            }
            MoveChanges::Changes(changes) => Cow::Borrowed(changes),
        }
    }
}

impl PartialEq for MoveChanges {
    fn eq(&self, other: &Self) -> bool {
        self.get() == other.get()
    }
}

impl Serialize for MoveChanges {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.get().serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for MoveChanges {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        Vec::deserialize(deserializer).map(MoveChanges::Changes)
    }
}

impl BlastRadius {
    pub fn is_empty(&self) -> bool {
        !self.unassociated_hosts && self.environments.is_empty() && self.moves.is_empty()
    }

    /// Every associated host that sees a change (staying or moving).
    pub fn hosts(&self) -> BTreeSet<&str> {
        let staying = self.environments.iter().flat_map(|e| &e.hosts);
        staying.chain(self.moving_hosts()).map(String::as_str).collect()
    }

    fn moving_hosts(&self) -> impl Iterator<Item = &String> {
        self.moves.iter().flat_map(|m| &m.hosts)
    }

    /// Hosts whose association changes.
    pub fn moving(&self) -> BTreeSet<&str> {
        self.moving_hosts().map(String::as_str).collect()
    }
}

/// The environment a view path of `service` belongs to (`prod/canary`, `""` for the root), or
/// `None` for a path that is not a view of the service (a live nodemap may hold anything).
pub fn environment_of(service: &str, view: &str) -> Option<String> {
    layout::view_env_name(service, view).map(String::from)
}

/// Association → view path, as the live nodemap holds it in either format (an empty or unreadable
/// node: none).
fn live_associations(live: &LiveService, service: &str) -> BTreeMap<String, String> {
    let Some(node) = live.nodes.get(&layout::nodemaps(service)) else { return BTreeMap::new() };
    let parsed = crate::nodemap::parse(&node.data).ok().map(|parsed| Value::Object(parsed.map));
    strings(parsed.as_ref())
}

fn strings(map: Option<&Value>) -> BTreeMap<String, String> {
    let Some(Value::Object(map)) = map else { return BTreeMap::new() };
    map.iter().filter_map(|(host, view)| Some((host.clone(), view.as_str()?.to_string()))).collect()
}

pub(super) fn blast_radius(desired: &DesiredService, live: &LiveService, changes: &[Change]) -> BlastRadius {
    let svc = desired.name.as_str();
    let root_conf = layout::conf(svc, &EnvPath::root());
    let before = live_associations(live, svc);
    let after = strings(desired.nodes.get(&layout::nodemaps(svc)).map(|n| n.value()).as_ref());

    // Hosts that read the same view before and after, by view.
    let mut staying: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for (host, view) in &before {
        if after.get(host) == Some(view) {
            staying.entry(view.as_str()).or_default().push(host.clone());
        }
    }
    let environments = changes
        .iter()
        .filter(|c| c.kind == NodeKind::View)
        .filter_map(|change| {
            let environment = environment_of(svc, &change.path).filter(|e| !e.is_empty())?;
            let hosts = staying.remove(change.path.as_str()).unwrap_or_default();
            Some(EnvironmentImpact {
                environment,
                view: change.path.clone(),
                action: change.action.name().to_string(),
                hosts,
            })
        })
        .collect();

    let mut groups: BTreeMap<(Option<&str>, Option<&str>), Vec<String>> = BTreeMap::new();
    let all_hosts: BTreeSet<&String> = before.keys().chain(after.keys()).collect();
    for host in all_hosts {
        let (from, to) = (before.get(host).map(String::as_str), after.get(host).map(String::as_str));
        if from != to {
            groups.entry((from, to)).or_default().push(host.clone());
        }
    }
    let moves = groups
        .into_iter()
        .map(|((from, to), hosts)| {
            let seen_now = live.nodes.get(from.unwrap_or(&root_conf)).map(|n| n.data.clone());
            let seen_then = desired.nodes.get(to.unwrap_or(&root_conf)).map(|n| n.bytes.clone());
            Move {
                from: from.map(String::from),
                to: to.map(String::from),
                hosts,
                changes: MoveChanges::Data { before: seen_now, after: seen_then },
            }
        })
        .collect();

    BlastRadius { unassociated_hosts: changes.iter().any(|c| c.path == root_conf), environments, moves }
}
