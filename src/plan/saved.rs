//! Saved plans: `plan --out FILE` writes the plan with everything needed to apply it exactly, and
//! `apply FILE` executes exactly that, without reading the repository again.
//!
//! A saved plan holds the [`Plan`] value itself (every node's data to write and the version it
//! read), the ZooKeeper connect string it was made against, the commit it came from, and the
//! settings apply needs (`max_request_bytes`, the sensitive key patterns). It holds the real
//! values, sensitive ones included, as it must to write them: treat the file as a secret.
//!
//! Staleness is judged per node, not for the whole tree: a plan is stale only if a node it writes,
//! or whose absence or version it relies on, changed since it was read ([`stale_nodes`]). Apply
//! checks this up front, to list every stale node before writing anything, and the transaction
//! itself carries the same versions, so a change that lands in between still aborts it.
//!
//! Compatibility: `format_version` is semver. This build applies files of its own major version up
//! to its own version; a newer file (it may carry something this build would not honour) or
//! another major version is refused.

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{Action, Change, Plan, Read};
use crate::audit::record::Tool;
use crate::layout;
use crate::live::{LiveNode, LiveService, Snapshot};

/// The version of the saved-plan format this build writes. 1.1.0: ACL changes. 1.2.0: services
/// deleted whole (`prune`) and the mass-deletion guard's verdict (`mass_delete`; since 1.3.0 no
/// longer trusted: worked out again at apply). 1.3.0: what the plan read of each node besides its
/// version (`reads`: creation zxids, digests; `root_czxid`) and `max_node_bytes`, which `apply
/// FILE` checks; so an older build, which would not, refuses these files. 1.4.0: a file for
/// several targets (`[targets]`): `{"format_version", "targets": [plan, ...]}`, each plan naming
/// its `target` ([`PlanTarget`]).
pub const FORMAT_VERSION: &str = "1.4.0";

fn default_max_node_bytes() -> usize {
    crate::repo::settings::DEFAULT_MAX_NODE_BYTES
}

/// A plan file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SavedPlan {
    pub format_version: String,
    /// When the plan was made (RFC 3339, UTC).
    pub created_at: String,
    /// The jones-sync that made it.
    pub tool: Tool,
    /// The connect string the plan was made against (chroot included).
    pub zookeeper: String,
    /// The repository content the plan comes from.
    pub source: Source,
    /// `[plan] sensitive_keys` of the repository, so that apply shows the plan redacted alike.
    pub sensitive_keys: Vec<String>,
    /// `[zookeeper] max_request_bytes` of the repository.
    pub max_request_bytes: usize,
    /// `[zookeeper] max_node_bytes` of the repository (since 1.3.0; before, the default).
    #[serde(default = "default_max_node_bytes")]
    pub max_node_bytes: usize,
    /// `[history] keep` of the repository: audit entries kept per service.
    pub history_keep: usize,
    /// `[zookeeper] acl` of the repository: the ACL of the nodes apply creates (since 1.1.0).
    #[serde(default)]
    pub acl: Option<Vec<crate::acl::AclEntry>>,
    /// The target of `[targets]` the plan is for, in a file for several (since 1.4.0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub target: Option<PlanTarget>,
    pub plan: Plan,
}

/// The target of `[targets]` a saved plan is for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PlanTarget {
    pub name: String,
    /// Its wave, from 0.
    pub wave: usize,
}

/// A plan file for several targets.
#[derive(Serialize)]
struct SavedTargets<'a> {
    format_version: &'static str,
    targets: &'a [SavedPlan],
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Source {
    /// The git commit; `null` outside git.
    pub sha: Option<String>,
    /// Config files had uncommitted changes.
    pub dirty: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum SavedPlanError {
    #[error("cannot read the plan file `{path}`: {error}")]
    Read { path: String, error: std::io::Error },
    #[error("cannot write the plan file `{path}`: {error}")]
    Write { path: String, error: std::io::Error },
    #[error("`{path}` is not a saved plan: {reason} (save one with `jones-sync plan --out FILE`)")]
    NotAPlan { path: String, reason: String },
    #[error(
        "the plan file `{path}` has format version {found}, which this jones-sync ({ours}) cannot apply (it applies {major}.x up to {supported}): use a matching jones-sync, or make a new plan"
    )]
    Unsupported { path: String, found: String, ours: String, major: u64, supported: String },
    #[error(
        "the plan file `{path}` was made for ZooKeeper `{planned}`, not `{given}`: a plan applies only where it was made (make a new plan, or leave out --zk and JONES_SYNC_ZK: `apply FILE` then uses the plan's own)"
    )]
    OtherTarget { path: String, planned: String, given: String },
    #[error("{}", stale_message(.path, .nodes))]
    Stale { path: String, nodes: Vec<StaleNode> },
    /// The file's content does not hold (`plan::verify`): edited by hand, or damaged.
    #[error("{}", invalid_message(.path, .problems))]
    Invalid { path: String, problems: Vec<StaleNode> },
}

fn invalid_message(path: &str, problems: &[StaleNode]) -> String {
    let head = format!("cannot be applied as it stands ({} found)", counted(problems.len(), "problem"));
    listed(path, &head, problems, "make a new plan with `jones-sync plan --out FILE` (and do not edit plan files)")
}

fn stale_message(path: &str, nodes: &[StaleNode]) -> String {
    let head = format!("is stale: {} it relies on changed since it was made", counted(nodes.len(), "node"));
    listed(path, &head, nodes, "make a new plan")
}

/// `n` `what`s, in words (`1 node`, `3 nodes`).
fn counted(n: usize, what: &str) -> String {
    if n == 1 { format!("1 {what}") } else { format!("{n} {what}s") }
}

/// Why the plan `path` was refused: `head`, each node with its reason, then what to do.
fn listed(path: &str, head: &str, nodes: &[StaleNode], then: &str) -> String {
    let mut message = format!("the plan `{path}` {head}, so nothing was written:");
    for node in nodes {
        message.push_str(&format!("\n  {}: {}", node.path, node.reason));
    }
    message.push('\n');
    message.push_str(then);
    message
}

/// A node that changed since the plan read it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaleNode {
    pub path: String,
    pub reason: String,
}

impl SavedPlan {
    pub fn new(
        plan: Plan,
        zookeeper: &str,
        source: Source,
        sensitive_keys: Vec<String>,
        max_request_bytes: usize,
        history_keep: usize,
    ) -> Self {
        SavedPlan {
            format_version: FORMAT_VERSION.to_string(),
            created_at: crate::clock::now(),
            tool: Tool { name: env!("CARGO_PKG_NAME").into(), version: env!("CARGO_PKG_VERSION").into() },
            zookeeper: zookeeper.to_string(),
            source,
            sensitive_keys,
            max_request_bytes,
            max_node_bytes: default_max_node_bytes(),
            history_keep,
            acl: None,
            target: None,
            plan,
        }
    }

    /// The plan for `target`, in `wave` (from 0).
    pub fn for_target(mut self, name: &str, wave: usize) -> Self {
        self.target = Some(PlanTarget { name: name.to_string(), wave });
        self
    }

    /// The plan with `[zookeeper] max_node_bytes`.
    pub fn with_max_node_bytes(mut self, max_node_bytes: usize) -> Self {
        self.max_node_bytes = max_node_bytes;
        self
    }

    /// The plan with the ACL that apply gives the nodes it creates.
    pub fn with_acl(mut self, acl: Option<Vec<crate::acl::AclEntry>>) -> Self {
        self.acl = acl;
        self
    }

    /// Writes the plan to `path`, readable by its owner only (it holds the values to write,
    /// sensitive ones included): into a new file made with mode 0600 next to it, then renamed
    /// into place. An existing file at `path` is replaced whole, so it neither keeps its own
    /// (wider) permissions nor is ever seen half written.
    pub fn write(&self, path: &Path) -> Result<(), SavedPlanError> {
        write_file(path, serde_json::to_vec_pretty(self).expect("plans always serialize"))
    }

    /// Writes the plans of several targets (each made [`SavedPlan::for_target`]) to one file, as
    /// [`SavedPlan::write`] writes one.
    pub fn write_targets(plans: &[SavedPlan], path: &Path) -> Result<(), SavedPlanError> {
        let file = SavedTargets { format_version: FORMAT_VERSION, targets: plans };
        write_file(path, serde_json::to_vec_pretty(&file).expect("plans always serialize"))
    }

    /// Reads and checks a plan file, of one plan or of a plan per target (then in wave order).
    pub fn read_all(path: &Path) -> Result<Vec<SavedPlan>, SavedPlanError> {
        let name = path.display().to_string();
        let value = read_value(path)?;
        let Some(targets) = value.get("targets") else { return Ok(vec![from_value(&name, value)?]) };
        let not_a_plan = |reason: String| SavedPlanError::NotAPlan { path: name.clone(), reason };
        let Some(targets) = targets.as_array().filter(|t| !t.is_empty()) else {
            return Err(not_a_plan("its `targets` is not a list of plans".into()));
        };
        let mut plans = Vec::new();
        for plan in targets {
            let plan = from_value(&name, plan.clone())?;
            if plan.target.is_none() {
                return Err(not_a_plan("a plan of its `targets` names no `target`".into()));
            }
            plans.push(plan);
        }
        plans.sort_by_key(|p| p.target.as_ref().map(|t| t.wave));
        Ok(plans)
    }
}

/// Writes a plan file readable by its owner only ([`SavedPlan::write`]).
fn write_file(path: &Path, mut text: Vec<u8>) -> Result<(), SavedPlanError> {
    {
        use std::io::Write;
        let error = |error| SavedPlanError::Write { path: path.display().to_string(), error };
        text.push(b'\n');
        let name = path.file_name().ok_or_else(|| error(std::io::Error::other("it names no file")))?;
        let mut temporary = name.to_os_string();
        temporary.push(format!(".{}.tmp", std::process::id()));
        let temporary = path.with_file_name(temporary);
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let written = options.open(&temporary).and_then(|mut file| {
            file.write_all(&text)?;
            file.sync_all()?;
            std::fs::rename(&temporary, path)
        });
        if written.is_err() {
            let _ = std::fs::remove_file(&temporary);
        }
        written.map_err(error)
    }
}

impl SavedPlan {
    /// Reads and checks a plan file of one plan: its format version first, then its content.
    pub fn read(path: &Path) -> Result<SavedPlan, SavedPlanError> {
        from_value(&path.display().to_string(), read_value(path)?)
    }
}

/// A plan file's JSON.
fn read_value(path: &Path) -> Result<serde_json::Value, SavedPlanError> {
    let name = path.display().to_string();
    let text = std::fs::read(path).map_err(|error| SavedPlanError::Read { path: name.clone(), error })?;
    serde_json::from_slice(&text)
        .map_err(|e| SavedPlanError::NotAPlan { path: name, reason: format!("it is not JSON ({e})") })
}

/// One saved plan from its JSON, checked: its format version first, then its content.
fn from_value(name: &str, value: serde_json::Value) -> Result<SavedPlan, SavedPlanError> {
    {
        let name = name.to_string();
        let not_a_plan = |reason: String| SavedPlanError::NotAPlan { path: name.clone(), reason };
        let Some(found) = value.get("format_version").and_then(|v| v.as_str()) else {
            return Err(not_a_plan("it has no `format_version`".into()));
        };
        if value.get("plan").is_none() {
            return Err(not_a_plan("it has no `plan` (the output of `plan --format json` cannot be applied)".into()));
        }
        let version = semver::Version::parse(found)
            .map_err(|e| not_a_plan(format!("its format version `{found}` is not a semantic version ({e})")))?;
        let supported = semver::Version::parse(FORMAT_VERSION).expect("FORMAT_VERSION is a semantic version");
        if version.major != supported.major || version > supported {
            return Err(SavedPlanError::Unsupported {
                path: name,
                found: found.to_string(),
                ours: env!("CARGO_PKG_VERSION").to_string(),
                major: supported.major,
                supported: FORMAT_VERSION.to_string(),
            });
        }
        serde_json::from_value(value).map_err(|e| not_a_plan(e.to_string()))
    }
}

impl SavedPlan {
    /// Refuses to apply against another ZooKeeper than the plan was made for.
    pub fn check_target(&self, path: &Path, given: &str) -> Result<(), SavedPlanError> {
        if same_target(&self.zookeeper, given) {
            Ok(())
        } else {
            Err(SavedPlanError::OtherTarget {
                path: path.display().to_string(),
                planned: self.zookeeper.clone(),
                given: given.to_string(),
            })
        }
    }

    /// The plan to execute: the record names `actor` as who applies (its `applied_at` is stamped
    /// by the transaction itself).
    pub fn plan_for(&self, actor: &str) -> Plan {
        let mut plan = self.plan.clone();
        for change in plan.services.iter_mut().flat_map(|s| &mut s.changes) {
            if change.kind != crate::layout::NodeKind::Record {
                continue;
            }
            if let Action::Create { after } | Action::Update { after, .. } = &mut change.action
                && let Ok(serde_json::Value::Object(mut record)) = serde_json::from_slice(after)
            {
                record.insert("actor".into(), actor.into());
                *after = serde_json::to_vec(&record).expect("JSON values always serialize").into();
            }
        }
        plan
    }
}

/// Whether two connect strings name the same ensemble and chroot: the order of the servers does
/// not matter, nor does a trailing `/` of the chroot.
pub fn same_target(a: &str, b: &str) -> bool {
    fn parts(connect: &str) -> (Vec<String>, String) {
        let (hosts, chroot) = match connect.find('/') {
            Some(index) => connect.split_at(index),
            None => (connect, ""),
        };
        let mut hosts: Vec<String> = hosts.split(',').map(|h| h.trim().to_ascii_lowercase()).collect();
        hosts.sort();
        hosts.dedup();
        (hosts, chroot.trim_end_matches('/').to_string())
    }
    parts(a.trim()) == parts(b.trim())
}

/// What the plan read of each node it updates, deletes or relies on (`guards`), besides the
/// version: its creation zxid, and for a guarded node (whose data the plan does not hold) a
/// digest of its data.
pub fn reads(changes: &[Change], guards: &[(String, i32)], live: &LiveService) -> BTreeMap<String, Read> {
    let mut reads = BTreeMap::new();
    for change in changes.iter().filter(|c| !matches!(c.action, Action::Create { .. })) {
        if let Some(node) = live.nodes.get(&change.path) {
            reads.insert(change.path.clone(), Read { czxid: node.czxid, digest: None });
        }
    }
    for (path, _) in guards {
        if let Some(node) = live.nodes.get(path) {
            reads.insert(path.clone(), Read { czxid: node.czxid, digest: Some(digest(&node.data)) });
        }
    }
    reads
}

/// SHA-256 of `data`, in hex.
fn digest(data: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(data).iter().map(|byte| format!("{byte:02x}")).collect()
}

/// Every node the plan writes, or whose content or absence it relies on, that is not in `live` as
/// the plan read it. `live` must hold the plan's services with changes.
///
/// Judged by what the plan showed, not by versions alone: an updated or deleted node must still
/// hold the very bytes the plan shows as its `before`, a node a new nodemap points at the bytes
/// the plan read (their digest), and each of them must be the node the plan read (its creation
/// zxid): a node deleted and created again, or another cluster reached through the same connect
/// string, has the same versions but not the same content or creation. `/services` itself must be
/// the one the plan read.
pub fn stale_nodes(plan: &Plan, live: &Snapshot) -> Vec<StaleNode> {
    let mut stale = Vec::new();
    let mut push = |path: &str, reason: String| stale.push(StaleNode { path: path.to_string(), reason });
    let changing: Vec<_> = plan.services.iter().filter(|s| !s.is_empty()).collect();
    if plan.create_root && live.root_exists {
        push(layout::SERVICES, "was created since the plan was made".into());
    }
    if let (Some(then), Some(now)) = (plan.root_czxid, live.root_czxid)
        && then != now
        && !changing.is_empty()
    {
        push(layout::SERVICES, format!("is not the node the plan read ({})", created(then, now)));
    }
    if plan.root_czxid.is_some() && !live.root_exists && !changing.is_empty() {
        push(layout::SERVICES, "was deleted since the plan was made".into());
    }
    let empty = Default::default();
    for service in changing {
        let nodes = &live.services.get(&service.name).unwrap_or(&empty).nodes;
        let with = |wanted: fn(&Action) -> bool| -> HashSet<&str> {
            service.changes.iter().filter(|c| wanted(&c.action)).map(|c| c.path.as_str()).collect()
        };
        let created_by_plan = with(|a| matches!(a, Action::Create { .. }));
        let deleted = with(|a| matches!(a, Action::Delete { .. }));
        // Whether `node` is the one the plan read at `path`: its creation, then its content.
        let changed = |path: &str, node: &LiveNode, version: i32, data: Option<&[u8]>| -> Option<String> {
            let read = service.reads.get(path);
            if let Some(read) = read
                && read.czxid != node.czxid
            {
                return Some(format!("is not the node the plan read ({})", created(read.czxid, node.czxid)));
            }
            if node.version != version {
                return Some(format!(
                    "was changed since the plan was made (version {version} then, {} now)",
                    node.version
                ));
            }
            let same = match (data, read.and_then(|r| r.digest.as_deref())) {
                (Some(data), _) => node.data == data,
                (None, Some(expected)) => digest(&node.data) == expected,
                (None, None) => true,
            };
            (!same).then(|| {
                "holds other content than the plan read, at the same version (another ZooKeeper behind the same \
                 address?)"
                    .to_string()
            })
        };
        for change in &service.changes {
            let path = change.path.as_str();
            match (&change.action, nodes.get(path)) {
                (Action::Create { .. }, Some(_)) => push(path, "was created since the plan was made".into()),
                (Action::Create { .. }, None) => {
                    // Its parent must still be there, unless the plan creates it too.
                    let parent = layout::parent(path);
                    let parent_there = if parent == layout::SERVICES {
                        live.root_exists || plan.create_root
                    } else {
                        nodes.contains_key(parent) || created_by_plan.contains(parent)
                    };
                    if !parent_there {
                        push(
                            path,
                            format!("cannot be created: its parent `{parent}` was deleted since the plan was made"),
                        );
                    }
                }
                (Action::Update { .. } | Action::Delete { .. }, None) => {
                    push(path, "was deleted since the plan was made".into())
                }
                (Action::Update { version, before, .. } | Action::Delete { version, before }, Some(node)) => {
                    if let Some(reason) = changed(path, node, *version, Some(before)) {
                        push(path, reason);
                    }
                    if matches!(change.action, Action::Delete { .. }) {
                        // A delete relies on the absence of children it does not delete too.
                        let below = format!("{path}/");
                        let children = nodes.range(below.clone()..).take_while(|(p, _)| p.starts_with(&below));
                        for (child, _) in children {
                            if !deleted.contains(child.as_str()) {
                                push(
                                    path,
                                    format!(
                                        "cannot be deleted: `{child}` was created below it since the plan was made"
                                    ),
                                );
                            }
                        }
                    }
                }
            }
        }
        for (path, version) in &service.guards {
            match nodes.get(path) {
                None => push(path, "was deleted since the plan was made (the new nodemap points at it)".into()),
                Some(node) => {
                    if let Some(reason) = changed(path, node, *version, None) {
                        push(path, format!("{reason} (the new nodemap points at it)"));
                    }
                }
            }
        }
    }
    stale.sort_by(|a, b| a.path.cmp(&b.path));
    stale
}

/// How two creation zxids of one path differ, in words.
fn created(then: i64, now: i64) -> String {
    format!(
        "created at zxid 0x{then:x} then, 0x{now:x} now: deleted and created again since the plan was made, or \
         another ZooKeeper behind the same address"
    )
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::live::LiveNode;
    use crate::plan::diff;
    use crate::plan::tests::{applied, service};

    fn reasons(stale: &[StaleNode]) -> Vec<String> {
        stale.iter().map(|s| format!("{}: {}", s.path, s.reason)).collect()
    }

    fn set(live: &mut Snapshot, path: &str, data: Option<&str>) {
        let nodes = &mut live.services.get_mut("s").unwrap().nodes;
        match data {
            None => {
                nodes.remove(path);
            }
            Some(data) => {
                let node = nodes.entry(path.into()).or_insert(LiveNode {
                    data: vec![].into(),
                    version: 0,
                    mzxid: 20,
                    czxid: 1,
                });
                node.data = bytes::Bytes::copy_from_slice(data.as_bytes());
                node.version += 1;
            }
        }
    }

    #[test]
    fn a_plan_is_stale_only_through_the_nodes_it_touches_or_relies_on() {
        let before = service(
            "s",
            &[("", json!({}), &[]), ("u", json!({"k": 1}), &[]), ("x", json!({}), &["h"]), ("y", json!({}), &[])],
        );
        let after = service(
            "s",
            &[("", json!({}), &[]), ("n", json!({}), &[]), ("u", json!({"k": 2}), &[]), ("y", json!({}), &["h"])],
        );
        let live = applied(&before);
        let plan = diff(&[after], &live, &json!({}));
        assert!(stale_nodes(&plan, &live).is_empty());

        // Unrelated nodes: another environment's conf, a node of another service.
        let mut unrelated = live.clone();
        set(&mut unrelated, "/services/s/conf/other", Some("{}"));
        assert!(stale_nodes(&plan, &unrelated).is_empty());

        let mut changed = live.clone();
        set(&mut changed, "/services/s/conf/u", Some(r#"{"k": 5}"#)); // updated by the plan
        set(&mut changed, "/services/s/conf/n", Some("{}")); // the plan creates it
        set(&mut changed, "/services/s/views/x", None); // the plan deletes it
        set(&mut changed, "/services/s/conf/x/child", Some("{}")); // below a node the plan deletes
        set(&mut changed, "/services/s/views/y", Some(r#"{"b": 1}"#)); // the new nodemap points at it
        assert_eq!(
            reasons(&stale_nodes(&plan, &changed)),
            [
                "/services/s/conf/n: was created since the plan was made",
                "/services/s/conf/u: was changed since the plan was made (version 3 then, 4 now)",
                "/services/s/conf/x: cannot be deleted: `/services/s/conf/x/child` was created below it since the plan was made",
                "/services/s/views/x: was deleted since the plan was made",
                "/services/s/views/y: was changed since the plan was made (version 3 then, 4 now) (the new nodemap points at it)",
            ]
        );
    }

    #[test]
    fn a_create_relies_on_its_parent_and_the_root_on_its_absence() {
        let desired = service("s", &[("", json!({}), &[])]);
        let plan = diff(std::slice::from_ref(&desired), &Snapshot::default(), &json!({}));
        let mut live = Snapshot::default();
        assert!(stale_nodes(&plan, &live).is_empty());
        live.root_exists = true;
        assert_eq!(reasons(&stale_nodes(&plan, &live)), ["/services: was created since the plan was made"]);

        let mut existing = applied(&service("s", &[("", json!({}), &[])]));
        let after = service("s", &[("", json!({}), &[]), ("a", json!({}), &[]), ("a/b", json!({}), &[])]);
        let plan = diff(&[after], &existing, &json!({}));
        assert!(stale_nodes(&plan, &existing).is_empty());
        set(&mut existing, "/services/s/views", None);
        assert_eq!(
            reasons(&stale_nodes(&plan, &existing)),
            [
                "/services/s/views/a: cannot be created: its parent `/services/s/views` was deleted since the plan was made"
            ]
        );
    }

    #[test]
    fn connect_strings_compare_by_servers_and_chroot() {
        assert!(same_target("a:1,b:2/x", "b:2,a:1/x/"));
        assert!(same_target("A:1", "a:1"));
        assert!(!same_target("a:1/x", "a:1/y"));
        assert!(!same_target("a:1/x", "a:1"));
        assert!(!same_target("a:1", "a:2"));
    }

    #[test]
    fn a_plan_file_for_several_targets_holds_each_in_its_wave() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plan.json");
        let plan = |zk: &str| SavedPlan::new(Plan::default(), zk, Source { sha: None, dirty: false }, vec![], 10, 5);
        let plans = [plan("b:2181").for_target("late", 1), plan("a:2181").for_target("early", 0)];
        SavedPlan::write_targets(&plans, &path).unwrap();
        let read = SavedPlan::read_all(&path).unwrap();
        let names: Vec<&str> = read.iter().map(|p| p.target.as_ref().unwrap().name.as_str()).collect();
        assert_eq!(names, ["early", "late"]);
        assert_eq!(read[1], plans[0]);
        // A file of one plan reads as one plan, without a target.
        plans[0].clone().write(&path).unwrap();
        assert_eq!(SavedPlan::read_all(&path).unwrap()[0].target.as_ref().unwrap().name, "late");
        plan("a:2181").write(&path).unwrap();
        assert_eq!(SavedPlan::read_all(&path).unwrap()[0].target, None);
        // Every plan of a file for targets names its target.
        let mut value = serde_json::json!({"format_version": FORMAT_VERSION, "targets": [plan("a:2181")]});
        std::fs::write(&path, value.to_string()).unwrap();
        let err = SavedPlan::read_all(&path).unwrap_err().to_string();
        assert!(err.contains("a plan of its `targets` names no `target`"), "{err}");
        value["targets"] = serde_json::json!([]);
        std::fs::write(&path, value.to_string()).unwrap();
        let err = SavedPlan::read_all(&path).unwrap_err().to_string();
        assert!(err.contains("its `targets` is not a list of plans"), "{err}");
    }

    #[test]
    fn plan_files_of_a_newer_or_other_major_version_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("plan.json");
        let saved = SavedPlan::new(Plan::default(), "zk:2181", Source { sha: None, dirty: false }, vec![], 10, 5);
        // Regression: writing over an existing file kept its permissions (0644, secrets inside).
        std::fs::write(&path, "old").unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        }
        saved.write(&path).unwrap();
        assert_eq!(SavedPlan::read(&path).unwrap(), saved);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "no temporary file left");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        let with_version = |version: &str| {
            let mut value = serde_json::to_value(&saved).unwrap();
            value["format_version"] = version.into();
            std::fs::write(&path, value.to_string()).unwrap();
            SavedPlan::read(&path).map(drop).map_err(|e| e.to_string())
        };
        assert_eq!(with_version("1.0.0"), Ok(()));
        assert_eq!(with_version("1.1.0"), Ok(()));
        assert_eq!(with_version("1.2.0"), Ok(()));
        assert_eq!(with_version("1.3.0"), Ok(()));
        assert_eq!(with_version("1.4.0"), Ok(()));
        let refused = |found: &str| {
            format!(
                "the plan file `{}` has format version {found}, which this jones-sync ({}) cannot apply (it applies 1.x up to {FORMAT_VERSION}): use a matching jones-sync, or make a new plan",
                path.display(),
                env!("CARGO_PKG_VERSION")
            )
        };
        assert_eq!(with_version("1.5.0"), Err(refused("1.5.0")));
        assert_eq!(with_version("2.0.0"), Err(refused("2.0.0")));
        assert_eq!(with_version("0.9.0"), Err(refused("0.9.0")));
        std::fs::write(&path, r#"{"format_version": "1.0.0", "summary": {}}"#).unwrap();
        assert_eq!(
            SavedPlan::read(&path).unwrap_err().to_string(),
            format!(
                "`{}` is not a saved plan: it has no `plan` (the output of `plan --format json` cannot be applied) (save one with `jones-sync plan --out FILE`)",
                path.display()
            )
        );
    }

    #[test]
    fn the_record_names_who_applies() {
        let desired = service("s", &[("", json!({}), &[])]);
        let plan = diff(&[desired], &Snapshot::default(), &json!({"actor": "planner", "sha": "abc"}));
        let saved = SavedPlan::new(plan, "zk", Source { sha: Some("abc".into()), dirty: false }, vec![], 10, 5);
        let plan = saved.plan_for("applier");
        let record = plan.services[0].changes.iter().find(|c| c.kind == crate::layout::NodeKind::Record).unwrap();
        let (_, after) = record.action.data();
        assert_eq!(
            serde_json::from_slice::<serde_json::Value>(after.unwrap()).unwrap(),
            json!({"actor": "applier", "sha": "abc"})
        );
    }
}
