//! The configuration a repository describes, independent of files and of ZooKeeper: services,
//! each a tree of environments with their own values and associated hosts.
//!
//! Invariants (established by [`crate::repo`]): every service has a root environment; every
//! environment's parent is present; a host is associated with at most one environment of a service.
//! This module depends on nothing else of the crate: everything else builds on it.

use std::collections::BTreeMap;
use std::fmt;

use serde_json::{Map, Value};

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

    /// The path written `a/b` (empty, or only slashes: the root), as a user or a record writes it.
    pub fn parse(text: &str) -> EnvPath {
        EnvPath(text.split('/').filter(|part| !part.is_empty()).map(String::from).collect())
    }

    pub fn is_root(&self) -> bool {
        self.0.is_empty()
    }

    /// The parent environment's path, `None` for the root.
    pub fn parent(&self) -> Option<EnvPath> {
        let (_, parent) = self.0.split_last()?;
        Some(EnvPath(parent.to_vec()))
    }

    /// `base/a/b` for environment `a/b`, `base` for the root: its directory below a service's
    /// directory, or its node below `conf` or `views`.
    pub fn below(&self, base: &str) -> String {
        let mut path = base.to_string();
        for name in &self.0 {
            path.push('/');
            path.push_str(name);
        }
        path
    }
}

/// How many hosts a set of services has, the way every command counts them: a *host* is a
/// distinct name (a host associated in three services is one host, as a plan's "reaches N hosts"
/// counts it), an *association* is a host in one service's nodemap.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Hosts {
    pub hosts: usize,
    pub associations: usize,
}

impl Hosts {
    /// The hosts of each service, given as one iterator of host names per service.
    pub fn count<'a, S: IntoIterator<Item = &'a String>>(services: impl IntoIterator<Item = S>) -> Hosts {
        let mut names = std::collections::BTreeSet::new();
        let mut associations = 0;
        for service in services {
            for host in service {
                associations += 1;
                names.insert(host.as_str());
            }
        }
        Hosts { hosts: names.len(), associations }
    }

    /// `3 hosts`, or `32 hosts (36 associations)` when some host is associated in several services.
    pub fn describe(&self) -> String {
        let plural = |n: usize| if n == 1 { "" } else { "s" };
        let hosts = format!("{} host{}", self.hosts, plural(self.hosts));
        if self.associations == self.hosts {
            hosts
        } else {
            format!("{hosts} ({} associations: some hosts are in several services)", self.associations)
        }
    }
}

impl fmt::Display for EnvPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_root() { f.write_str("(root)") } else { f.write_str(&self.0.join("/")) }
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
        assert_eq!(env("child1/sib").to_string(), "child1/sib");
        assert_eq!(env("").to_string(), "(root)");
    }

    #[test]
    fn a_host_in_several_services_is_one_host_and_several_associations() {
        let names = |list: &[&str]| list.iter().map(|h| h.to_string()).collect::<Vec<_>>();
        let (a, b) = (names(&["h1", "h2"]), names(&["h2", "h3"]));
        let hosts = Hosts::count([&a, &b]);
        assert_eq!(hosts, Hosts { hosts: 3, associations: 4 });
        assert_eq!(hosts.describe(), "3 hosts (4 associations: some hosts are in several services)");
        assert_eq!(Hosts::count([&names(&["h"])]).describe(), "1 host");
    }
}
