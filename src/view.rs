//! The desired nodes of each service: conf nodes, materialized views and the nodemap, exactly as
//! JONES.md lays them out, as canonical JSON bytes.
//!
//! The view algorithm is Jones' own: start from `{}` and apply the values of the root and of every
//! ancestor down to the environment itself, each with a *shallow* update (a deeper environment
//! replaces an inherited key whole, nested tables included).
//!
//! Invariants: pure (no I/O); every node's bytes are canonical (keys sorted, compact), so equal
//! values are equal bytes and what jones-sync wrote compares to what it would write without
//! parsing.

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use serde_json::{Map, Value};

use crate::diagnostic::Problem;
use crate::layout::{self, NodeKind};
use crate::model::{EnvPath, Service};
use crate::repo::Repo;
use crate::repo::settings::Settings;

/// One desired node: the bytes to write, canonical JSON (sorted keys, compact; a nodemap in the
/// legacy format is its text).
///
/// Only the bytes are kept: a parsed value takes several times their size, and a large repository
/// has tens of thousands of nodes. [`DesiredNode::value`] parses them when a value is needed.
#[derive(Debug, Clone, PartialEq)]
pub struct DesiredNode {
    pub kind: NodeKind,
    pub bytes: Bytes,
}

impl DesiredNode {
    /// The node's JSON value: a nodemap's associations as an object in either format, `null` for
    /// the service node (which holds no data).
    pub fn value(&self) -> Value {
        match self.kind {
            NodeKind::Nodemap => {
                crate::nodemap::parse(&self.bytes).map_or(Value::Null, |parsed| Value::Object(parsed.map))
            }
            _ => serde_json::from_slice(&self.bytes).unwrap_or(Value::Null),
        }
    }
}

/// The desired tree of one service, by absolute znode path (parents sort before children).
#[derive(Debug, Clone)]
pub struct DesiredService {
    pub name: String,
    pub nodes: BTreeMap<String, DesiredNode>,
    /// Environment of each associated host (for showing which hosts a change reaches).
    pub hosts: Arc<BTreeMap<String, EnvPath>>,
    /// The ACL every node of the service must carry (`[zookeeper] acl`); `None`: not checked.
    pub acl: Option<Vec<crate::acl::AclEntry>>,
}

/// Materialized views of every environment of `service`, parents first.
pub fn views(service: &Service) -> BTreeMap<EnvPath, Map<String, Value>> {
    let mut views: BTreeMap<EnvPath, Map<String, Value>> = BTreeMap::new();
    for (path, env) in &service.envs {
        let mut view = path.parent().and_then(|parent| views.get(&parent).cloned()).unwrap_or_default();
        for (key, value) in &env.values {
            view.insert(key.clone(), value.clone());
        }
        views.insert(path.clone(), view);
    }
    views
}

/// A service's desired tree as a command keeps it: each environment's conf node and the nodemap,
/// as bytes, but not the views. Views are made of the confs' entries and take about twice their
/// size (docs/performance.md has the figures), so they
/// are materialized ([`DesiredConfs::materialize`]) only for the services being diffed, a window at a
/// time, and dropped with them; [`checked`] measures every view at load without keeping it.
#[derive(Debug, Clone)]
pub struct DesiredConfs {
    pub name: String,
    /// Parents first, as the model orders environments. Shared by clones (as `hosts` is): a
    /// long-running server holds the confs of one commit and the next, which share most services.
    confs: Arc<[Conf]>,
    nodemap: Bytes,
    /// Environment of each associated host (for showing which hosts a change reaches).
    pub hosts: Arc<BTreeMap<String, EnvPath>>,
    /// The ACL every node of the service must carry (`[zookeeper] acl`); `None`: not checked.
    pub acl: Option<Vec<crate::acl::AclEntry>>,
}

impl DesiredConfs {
    /// Each environment's own values, as the JSON of its conf node, parents first.
    pub fn own_values(&self) -> impl Iterator<Item = (&EnvPath, &[u8])> {
        self.confs.iter().map(|conf| (&conf.env, &conf.bytes[..]))
    }

    /// The confs and nodemap of `service` (a JSON nodemap, no ACL: see [`checked`]).
    pub fn new(service: &Service) -> Self {
        let svc = service.name.as_str();
        let mut nodemap = Map::new();
        let mut hosts = BTreeMap::new();
        let mut confs = Vec::with_capacity(service.envs.len());
        for (path, env) in &service.envs {
            for host in &env.hosts {
                nodemap.insert(host.clone(), Value::String(layout::view(svc, path)));
                hosts.insert(host.clone(), path.clone());
            }
            confs.push(Conf::new(path.clone(), &env.values));
        }
        // serde_json's map is a BTreeMap (no `preserve_order`), so keys are written sorted.
        let nodemap = serde_json::to_vec(&Value::Object(nodemap)).expect("JSON values always serialize");
        DesiredConfs {
            name: svc.to_string(),
            confs: confs.into(),
            nodemap: nodemap.into(),
            hosts: hosts.into(),
            acl: None,
        }
    }

    /// Every desired node of the service: the service node, the confs, the views (materialized
    /// here) and the nodemap. The confs' and the nodemap's bytes are shared, not copied.
    pub fn materialize(&self) -> DesiredService {
        let svc = self.name.as_str();
        let mut nodes = BTreeMap::new();
        nodes.insert(layout::service(svc), DesiredNode { kind: NodeKind::Service, bytes: Bytes::new() });
        each_view(&self.confs, |conf, view| {
            let bytes = object(view.iter().map(|(_, entry)| *entry));
            nodes.insert(layout::view(svc, &conf.env), DesiredNode { kind: NodeKind::View, bytes: bytes.into() });
        });
        for conf in self.confs.iter() {
            let node = DesiredNode { kind: NodeKind::Conf, bytes: conf.bytes.clone() };
            nodes.insert(layout::conf(svc, &conf.env), node);
        }
        nodes.insert(layout::nodemaps(svc), DesiredNode { kind: NodeKind::Nodemap, bytes: self.nodemap.clone() });
        DesiredService { name: self.name.clone(), nodes, hosts: self.hosts.clone(), acl: self.acl.clone() }
    }
}

/// One conf as [`crate::cache`] keeps it: the environment, its canonical JSON bytes, and where
/// each `"key":value` entry ends (see [`DesiredConfs::parts`]).
pub struct ConfParts {
    pub env: EnvPath,
    pub bytes: Bytes,
    pub entries: Vec<(u32, u32)>,
}

impl DesiredConfs {
    /// What [`crate::cache`] keeps of these confs: each conf (parents first) and the nodemap.
    pub fn parts(&self) -> (Vec<ConfParts>, Bytes) {
        let confs = self
            .confs
            .iter()
            .map(|c| ConfParts { env: c.env.clone(), bytes: c.bytes.clone(), entries: c.entries.to_vec() })
            .collect();
        (confs, self.nodemap.clone())
    }

    /// The confs [`DesiredConfs::parts`] gave, read back (with the service's hosts and ACL), or
    /// why they cannot be: every entry must lie where a conf's entries lie (`{`, `"key":value`
    /// entries joined by `,`, `}`, each key a JSON string), so that nothing read from a file can
    /// make the views' code slice out of bounds.
    pub fn from_parts(
        name: String,
        parts: Vec<ConfParts>,
        nodemap: Bytes,
        hosts: BTreeMap<String, EnvPath>,
        acl: Option<Vec<crate::acl::AclEntry>>,
    ) -> Result<Self, String> {
        let mut confs = Vec::with_capacity(parts.len());
        for ConfParts { env, bytes, entries } in parts {
            let bad = || format!("conf `{}` is malformed", env.0.join("/"));
            if bytes.len() < 2 || bytes[0] != b'{' || bytes[bytes.len() - 1] != b'}' {
                return Err(bad());
            }
            let mut start = 1usize;
            for &(key_end, end) in &entries {
                let (key_end, end) = (key_end as usize, end as usize);
                let well_placed = start < key_end
                    && key_end < end
                    && end < bytes.len()
                    && bytes[start] == b'"'
                    && bytes[key_end - 1] == b'"'
                    && bytes[key_end] == b':'
                    && (bytes[end] == b',' || end == bytes.len() - 1);
                if !well_placed || serde_json::from_slice::<String>(&bytes[start..key_end]).is_err() {
                    return Err(bad());
                }
                start = end + 1;
            }
            // Every byte between `{` and `}` belongs to an entry (the last one ends at the `}`).
            let covered = if entries.is_empty() { bytes.len() == 2 } else { start == bytes.len() };
            if !covered {
                return Err(bad());
            }
            confs.push(Conf { env, bytes, entries: entries.into() });
        }
        Ok(DesiredConfs { name, confs: confs.into(), nodemap, hosts: hosts.into(), acl })
    }
}

/// One environment's own values as canonical JSON (its conf node), with where each `"key":value`
/// entry lies in it: views are made of these entries, copied rather than serialized again.
#[derive(Debug, Clone)]
struct Conf {
    env: EnvPath,
    bytes: Bytes,
    /// For each entry, in key order: where its key (`"key"`, as JSON) ends and where it ends. An
    /// entry starts right after the previous one's end and its `,`, the first after the `{`.
    /// `u32`: a conf is made of one `config.toml`, far smaller than 4 GiB.
    entries: Box<[(u32, u32)]>,
}

impl Conf {
    /// The conf of an environment with `values`: the bytes serde_json writes for the map (`{`, the
    /// entries sorted by key joined by `,`, `}`), and where its entries lie.
    fn new(env: EnvPath, values: &Map<String, Value>) -> Self {
        let mut out = vec![b'{'];
        let mut entries = Vec::with_capacity(values.len());
        let offset = |len: usize| u32::try_from(len).expect("a conf is smaller than 4 GiB");
        for (i, (key, value)) in values.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            serde_json::to_writer(&mut out, key).expect("JSON values always serialize");
            let key_end = offset(out.len());
            out.push(b':');
            serde_json::to_writer(&mut out, value).expect("JSON values always serialize");
            entries.push((key_end, offset(out.len())));
        }
        out.push(b'}');
        // Without spare capacity: `Bytes` would keep it.
        out.shrink_to_fit();
        Conf { env, bytes: out.into(), entries: entries.into() }
    }

    /// Each entry: its key as the map holds it (by which views merge and sort), and its bytes.
    fn entries(&self) -> impl Iterator<Item = (Cow<'_, str>, &[u8])> {
        let mut start = 1;
        self.entries.iter().map(move |&(key_end, end)| {
            let (key, entry) = (&self.bytes[start..key_end as usize], &self.bytes[start..end as usize]);
            start = end as usize + 1;
            (raw_key(key), entry)
        })
    }
}

/// The string that a JSON string written by serde_json stands for (borrowed unless escaped).
fn raw_key(json: &[u8]) -> Cow<'_, str> {
    let inner = &json[1..json.len() - 1];
    match std::str::from_utf8(inner) {
        Ok(text) if !inner.contains(&b'\\') => Cow::Borrowed(text),
        _ => Cow::Owned(serde_json::from_slice(json).expect("a string serde_json wrote parses back")),
    }
}

/// The entries of a view in key order: `"key":value` texts of the confs it is made of.
type ViewEntries<'a> = Vec<(Cow<'a, str>, &'a [u8])>;

/// Calls `each` with every environment of `confs` (parents first) and the entries of its view:
/// its parent view's, each replaced by the environment's own entry for the same key, which is
/// [`views`]' algorithm. Only the views of the current environment's ancestors are kept.
fn each_view<'a>(confs: &'a [Conf], mut each: impl FnMut(&'a Conf, &ViewEntries<'a>)) {
    let mut ancestors: Vec<(&EnvPath, ViewEntries<'a>)> = Vec::new();
    for conf in confs {
        // Parents come before their children and each subtree is contiguous (the model's order),
        // so once the previous environment's branch is popped, the parent is on top.
        while ancestors.last().is_some_and(|(path, _)| !conf.env.0.starts_with(&path.0)) {
            ancestors.pop();
        }
        let parent = ancestors.last().map_or(&[][..], |(_, view)| view.as_slice());
        let mut view = Vec::with_capacity(parent.len() + conf.entries.len());
        let mut inherited = parent.iter().peekable();
        for (key, entry) in conf.entries() {
            while let Some(earlier) = inherited.next_if(|(parent_key, _)| *parent_key < key) {
                view.push(earlier.clone());
            }
            // The environment's own entry replaces the parent's for the same key.
            inherited.next_if(|(parent_key, _)| *parent_key == key);
            view.push((key, entry));
        }
        view.extend(inherited.cloned());
        each(conf, &view);
        ancestors.push((&conf.env, view));
    }
}

/// The canonical bytes of the object made of `entries` (`"key":value` texts, sorted by key), with
/// no spare capacity.
fn object<'a>(entries: impl Iterator<Item = &'a [u8]> + Clone) -> Vec<u8> {
    let mut out = Vec::with_capacity(object_len(entries.clone()));
    out.push(b'{');
    for (i, entry) in entries.enumerate() {
        if i > 0 {
            out.push(b',');
        }
        out.extend_from_slice(entry);
    }
    out.push(b'}');
    out
}

/// The length of [`object`]: `{`, `}`, the entries and a `,` between each two.
fn object_len<'a>(entries: impl Iterator<Item = &'a [u8]>) -> usize {
    (entries.map(|entry| entry.len() + 1).sum::<usize>() + 1).max(2)
}

/// The desired tree of `service`.
pub fn desired(service: &Service) -> DesiredService {
    DesiredConfs::new(service).materialize()
}

/// The desired tree of every service of `repo`, or a problem for every node whose JSON exceeds the
/// configured znode size limit.
pub fn desired_state(repo: &Repo) -> Result<Vec<DesiredService>, Vec<Problem>> {
    let mut problems = Vec::new();
    let services =
        repo.services.values().map(|service| checked(service, &repo.settings, &mut problems).materialize()).collect();
    if problems.is_empty() {
        Ok(services)
    } else {
        problems.sort();
        Err(problems)
    }
}

/// [`desired_state`] of one service, kept as its confs: its desired confs and nodemap under
/// `settings` (ACL, nodemap format), and a problem in `problems` for every node over the znode size
/// limit (views included: each is measured, not kept) or host the nodemap format cannot hold.
pub fn checked(service: &Service, settings: &Settings, problems: &mut Vec<Problem>) -> DesiredConfs {
    let limit = settings.zookeeper.max_node_bytes;
    let svc = service.name.as_str();
    let mut desired = DesiredConfs::new(service);
    desired.acl.clone_from(&settings.zookeeper.acl);
    if settings.sync.nodemap_format == crate::nodemap::Format::Legacy {
        problems.extend(legacy_nodemap(service, &mut desired));
    }
    // A node must also fit one request, with what every transaction carries besides: else an
    // apply would write the nodes before it and never finish.
    let request = settings.zookeeper.max_request_bytes;
    let room = crate::zk::write_room(svc, request);
    let mut check = |kind: NodeKind, env: &EnvPath, path: &dyn Fn() -> String, len: usize| {
        if len > limit {
            let path = path();
            problems.push(Problem::new(
                file_of(service, env, kind),
                format!(
                    "the {} `{path}` would be {len} bytes, over the {limit}-byte znode limit ([zookeeper] max_node_bytes)",
                    kind.as_str(),
                ),
            ));
        // Paths are far shorter than 4 KiB: only a node near the room is measured exactly.
        } else if len + 4096 > room && crate::zk::write_len(&path(), len) > room {
            let path = path();
            problems.push(Problem::new(
                file_of(service, env, kind),
                format!(
                    "the {} `{path}` would be {len} bytes: writing it takes {} bytes, more than one request holds \
                     ({room} bytes with the checks it carries; [zookeeper] max_request_bytes is {request}), so an \
                     apply could never finish: make it smaller, or raise max_request_bytes (up to the servers' \
                     jute.maxbuffer)",
                    kind.as_str(),
                    crate::zk::write_len(&path, len),
                ),
            ));
        }
    };
    for conf in desired.confs.iter() {
        check(NodeKind::Conf, &conf.env, &|| layout::conf(svc, &conf.env), conf.bytes.len());
    }
    each_view(&desired.confs, |conf, view| {
        let len = object_len(view.iter().map(|(_, entry)| *entry));
        check(NodeKind::View, &conf.env, &|| layout::view(svc, &conf.env), len);
    });
    check(NodeKind::Nodemap, &EnvPath::root(), &|| layout::nodemaps(svc), desired.nodemap.len());
    desired
}

/// The model of a service whose environments' values were freed (see [`crate::desired::DesiredState`]),
/// with the values read back from its desired confs: canonical JSON parses back to the very
/// values it was written from.
pub fn with_values(mut service: Service, desired: &DesiredConfs) -> Service {
    for conf in desired.confs.iter() {
        if let Some(env) = service.envs.get_mut(&conf.env)
            && let Ok(Value::Object(values)) = serde_json::from_slice(&conf.bytes)
        {
            env.values = values;
        }
    }
    service
}

/// Writes the nodemap of `desired` in the legacy format; a problem for every host it cannot hold.
fn legacy_nodemap(service: &Service, desired: &mut DesiredConfs) -> Vec<Problem> {
    let mut problems = Vec::new();
    for (host, env) in desired.hosts.iter() {
        if let Some(why) = crate::nodemap::unwritable(host, &layout::view(&service.name, env)) {
            let file = format!("{}/{}", service.envs[env].dir, crate::repo::HOSTS_FILE);
            problems.push(Problem::new(file, format!("{why} ([sync] nodemap_format = \"legacy\")")));
        }
    }
    if let Ok(parsed) = crate::nodemap::parse(&desired.nodemap) {
        desired.nodemap = crate::nodemap::render(&parsed.map, crate::nodemap::Format::Legacy).into();
    }
    problems
}

/// The repository file a node of environment `env` comes from, for problems about it: a conf's
/// `config.toml`, a view's directory, the service's directory for the nodemap.
fn file_of(service: &Service, env: &EnvPath, kind: NodeKind) -> String {
    let dir = service.envs.get(env).map_or(&service.envs[&EnvPath::root()].dir, |e| &e.dir);
    match kind {
        NodeKind::Conf => format!("{dir}/{}", crate::repo::CONFIG_FILE),
        NodeKind::View => dir.clone(),
        _ => service.envs[&EnvPath::root()].dir.clone(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::model::Environment;

    fn env_path(path: &str) -> EnvPath {
        EnvPath(path.split('/').filter(|s| !s.is_empty()).map(String::from).collect())
    }

    fn service(envs: &[(&str, Value, &[&str])]) -> Service {
        let envs = envs
            .iter()
            .map(|(path, values, hosts)| {
                let values = values.as_object().unwrap().clone();
                let hosts = hosts.iter().map(|h| h.to_string()).collect();
                let dir = format!("services/test/{path}").trim_end_matches('/').to_string();
                (env_path(path), Environment { dir, values, hosts })
            })
            .collect();
        Service { name: "test".into(), envs }
    }

    fn node(desired: &DesiredService, path: &str) -> Value {
        serde_json::from_slice(&desired.nodes[path].bytes).unwrap()
    }

    #[test]
    fn reproduces_the_example_of_jones_md() {
        let svc = service(&[
            ("", json!({"foo": "bar", "fiesasld": "value31"}), &[]),
            ("child1", json!({"field": "x"}), &[]),
            ("child1/sib", json!({"foo": "big"}), &["web1.example.com"]),
        ]);
        let desired = desired(&svc);
        assert_eq!(node(&desired, "/services/test/conf"), json!({"foo": "bar", "fiesasld": "value31"}));
        assert_eq!(node(&desired, "/services/test/conf/child1"), json!({"field": "x"}));
        assert_eq!(node(&desired, "/services/test/conf/child1/sib"), json!({"foo": "big"}));
        assert_eq!(node(&desired, "/services/test/views"), json!({"foo": "bar", "fiesasld": "value31"}));
        assert_eq!(
            node(&desired, "/services/test/views/child1"),
            json!({"field": "x", "foo": "bar", "fiesasld": "value31"})
        );
        assert_eq!(
            node(&desired, "/services/test/views/child1/sib"),
            json!({"field": "x", "foo": "big", "fiesasld": "value31"})
        );
        assert_eq!(
            node(&desired, "/services/test/nodemaps"),
            json!({"web1.example.com": "/services/test/views/child1/sib"})
        );
    }

    #[test]
    fn a_child_replaces_a_nested_table_whole() {
        let svc =
            service(&[("", json!({"db": {"host": "a", "port": 1}}), &[]), ("prod", json!({"db": {"host": "b"}}), &[])]);
        let desired = desired(&svc);
        assert_eq!(node(&desired, "/services/test/views/prod"), json!({"db": {"host": "b"}}));
    }

    #[test]
    fn bytes_are_canonical_sorted_and_compact() {
        let svc = service(&[("", json!({"b": 1, "a": {"z": true, "y": [1.5]}}), &[])]);
        let desired = desired(&svc);
        assert_eq!(&desired.nodes["/services/test/conf"].bytes[..], br#"{"a":{"y":[1.5],"z":true},"b":1}"#);
        assert_eq!(&desired.nodes["/services/test/nodemaps"].bytes[..], b"{}");
    }

    #[test]
    fn legacy_nodemaps_are_lines_and_hosts_they_cannot_hold_are_problems() {
        let mut repo = Repo::default();
        repo.settings.sync.nodemap_format = crate::nodemap::Format::Legacy;
        let svc = service(&[("", json!({}), &[]), ("a", json!({}), &["web2", "web1"]), ("b", json!({}), &["c1"])]);
        repo.services.insert("test".into(), svc.into());
        let desired = desired_state(&repo).unwrap();
        assert_eq!(
            String::from_utf8(desired[0].nodes["/services/test/nodemaps"].bytes.to_vec()).unwrap(),
            "c1 -> /services/test/views/b\nweb1 -> /services/test/views/a\nweb2 -> /services/test/views/a"
        );
        // The value is the associations, whichever format the bytes are in.
        assert_eq!(
            desired[0].nodes["/services/test/nodemaps"].value(),
            json!({"c1": "/services/test/views/b", "web1": "/services/test/views/a", "web2": "/services/test/views/a"})
        );
        assert_eq!(desired[0].nodes["/services/test/conf"].value(), json!({}));
        assert_eq!(desired[0].nodes["/services/test"].value(), Value::Null);
        // A model built without the repository's checks is still checked (the repository reports
        // these at their line).
        let svc = service(&[("", json!({}), &[]), ("a", json!({}), &["odd ->"])]);
        repo.services.insert("test".into(), svc.into());
        let problems: Vec<String> = desired_state(&repo).unwrap_err().iter().map(ToString::to_string).collect();
        assert_eq!(
            problems,
            ["services/test/a/hosts.toml: host `odd ->` cannot be written in the legacy nodemap format: its line \
                 `odd -> -> /services/test/views/a` would read back as host `odd` reading `-> /services/test/views/a` \
                 (its readers split each line at ` -> `) ([sync] nodemap_format = \"legacy\")"]
        );
    }

    #[test]
    fn views_are_what_serde_json_writes_for_the_merged_values() {
        let root = json!({"a\"quote": "x\n\u{1}é", "b": [1, {"z": null, "y": 2.5}], "c": {}, "n": -7});
        let svc = service(&[
            ("", root, &[]),
            ("p", json!({"b": "over", "d": true}), &[]),
            ("p/q", json!({}), &[]),
            ("p/q/r", json!({"a\"quote": {"deep": [true]}}), &[]),
            ("s", json!({}), &[]),
            // Escaped keys sort by what they stand for: `a"b` before `a#b`, though `\` is after `#`.
            ("s/t", json!({"a#b": 1}), &[]),
            ("s/t/u", json!({"a\"b": 2, "n": 8}), &[]),
            ("v", json!({"\u{1}": 0}), &[]),
        ]);
        let desired = desired(&svc);
        for (path, view) in views(&svc) {
            let bytes = &desired.nodes[&layout::view("test", &path)].bytes;
            assert_eq!(String::from_utf8_lossy(bytes), serde_json::to_string(&view).unwrap(), "view of {path}");
            let conf = &desired.nodes[&layout::conf("test", &path)].bytes;
            assert_eq!(*conf, serde_json::to_vec(&svc.envs[&path].values).unwrap(), "conf of {path}");
        }
        assert_eq!(node(&desired, "/services/test/views/p/q/r")["b"], json!("over"));
        assert_eq!(&desired.nodes["/services/test/conf/s"].bytes[..], b"{}");
        assert_eq!(node(&desired, "/services/test/views/s/t/u")["n"], json!(8));
        assert_eq!(node(&desired, "/services/test/views/v")["n"], json!(-7));
    }

    #[test]
    fn values_freed_are_read_back_from_the_desired_confs() {
        let svc = service(&[
            ("", json!({"f": 1.1, "big": 9_007_199_254_740_993_i64, "t": {"s": "é\n"}}), &[]),
            ("a", json!({"arr": [1, "x", null, {"k": false}]}), &["h"]),
            ("a/b", json!({}), &[]),
        ]);
        let desired = DesiredConfs::new(&svc);
        let mut skeleton = svc.clone();
        for env in skeleton.envs.values_mut() {
            env.values = Map::new();
        }
        let whole = with_values(skeleton, &desired);
        for (path, env) in &svc.envs {
            assert_eq!(whole.envs[path].values, env.values, "{path}");
            assert_eq!(whole.envs[path].hosts, env.hosts, "{path}");
        }
    }

    #[test]
    fn oversized_nodes_name_their_file() {
        let mut repo = Repo::default();
        repo.settings.zookeeper.max_node_bytes = 20;
        let svc = service(&[("", json!({}), &[]), ("prod", json!({"k": "a long value here"}), &[])]);
        repo.services.insert("test".into(), svc.into());
        let problems: Vec<String> = desired_state(&repo).unwrap_err().iter().map(ToString::to_string).collect();
        assert_eq!(
            problems,
            [
                "services/test/prod: the view `/services/test/views/prod` would be 25 bytes, over the 20-byte znode limit ([zookeeper] max_node_bytes)",
                "services/test/prod/config.toml: the conf `/services/test/conf/prod` would be 25 bytes, over the 20-byte znode limit ([zookeeper] max_node_bytes)",
            ]
        );
    }
}
