//! The configuration a repository describes, independent of files and of ZooKeeper: services,
//! each a tree of environments with their own values and associated hosts.
//!
//! Invariants (established by [`crate::repo`]): every service has a root environment; every
//! environment's parent is present; a host is associated with at most one environment of a service.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::{Map, Value};

use crate::repo::settings::Settings;

/// A whole config repository.
#[derive(Debug, Clone, Default)]
pub struct Repo {
    pub settings: Settings,
    pub services: BTreeMap<String, Service>,
}

/// One service: `services/<name>/` and the environments below it.
#[derive(Debug, Clone)]
pub struct Service {
    pub name: String,
    /// Environments by path; the root environment has the empty path. Parents sort before children.
    pub envs: BTreeMap<EnvPath, Environment>,
}

/// One environment of a service.
#[derive(Debug, Clone, Default)]
pub struct Environment {
    /// The directory it comes from, relative to the repository root (`services/shop/prod`).
    pub dir: String,
    /// Its own values (`config.toml`), `{}` without the file.
    pub values: Map<String, Value>,
    /// Associations (`hosts.toml`), in file order.
    pub hosts: Vec<String>,
}

/// The path of an environment below its service's root: `[]` for the root, `["prod", "canary"]`
/// for `services/<svc>/prod/canary`. Orders parents before their children.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct EnvPath(pub Vec<String>);

impl EnvPath {
    pub fn root() -> Self {
        EnvPath(Vec::new())
    }

    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    /// The parent environment's path, `None` for the root.
    pub fn parent(&self) -> Option<EnvPath> {
        let (_, parent) = self.0.split_last()?;
        Some(EnvPath(parent.to_vec()))
    }

    /// `/a/b` for environment `a/b`, empty for the root: the suffix below `conf` or `views`.
    pub fn znode_suffix(&self) -> String {
        self.0.iter().map(|name| format!("/{name}")).collect()
    }
}

impl fmt::Display for EnvPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_root() { f.write_str("(root)") } else { f.write_str(&self.0.join("/")) }
    }
}

/// Znode paths of one service in the Jones layout (JONES.md).
pub mod paths {
    use super::EnvPath;

    pub const SERVICES: &str = "/services";

    pub fn service(svc: &str) -> String {
        format!("{SERVICES}/{svc}")
    }

    pub fn conf(svc: &str, env: &EnvPath) -> String {
        format!("{SERVICES}/{svc}/conf{}", env.znode_suffix())
    }

    pub fn view(svc: &str, env: &EnvPath) -> String {
        format!("{SERVICES}/{svc}/views{}", env.znode_suffix())
    }

    pub fn nodemaps(svc: &str) -> String {
        format!("{SERVICES}/{svc}/nodemaps")
    }

    /// The node that marks a service as managed by jones-sync and records its last apply.
    pub fn record(svc: &str) -> String {
        format!("{SERVICES}/{svc}/jones-sync")
    }

    /// The path prefix of the service's audit log entries: ZooKeeper appends a sequence number.
    pub fn log_prefix(svc: &str) -> String {
        format!("{SERVICES}/{svc}/jones-sync/{}", crate::history::ENTRY_PREFIX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(path: &str) -> EnvPath {
        EnvPath(path.split('/').filter(|s| !s.is_empty()).map(String::from).collect())
    }

    #[test]
    fn parents_sort_before_children() {
        let mut envs = vec![env("b"), env("a/z"), env(""), env("a")];
        envs.sort();
        assert_eq!(envs, vec![env(""), env("a"), env("a/z"), env("b")]);
        assert_eq!(env("a/z").parent(), Some(env("a")));
        assert_eq!(env("").parent(), None);
    }

    #[test]
    fn znode_paths_follow_the_jones_layout() {
        assert_eq!(paths::conf("test", &env("")), "/services/test/conf");
        assert_eq!(paths::view("test", &env("child1/sib")), "/services/test/views/child1/sib");
        assert_eq!(paths::nodemaps("test"), "/services/test/nodemaps");
        assert_eq!(env("child1/sib").to_string(), "child1/sib");
        assert_eq!(env("").to_string(), "(root)");
    }
}
