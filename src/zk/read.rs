//! Reading live state: a [`Snapshot`] of services (one batched multi-read per tree level, split
//! into pipelined requests), the audit log, whole services, single nodes and listings.
//!
//! Reading again is harmless, so a level whose connection drops is read again (the client
//! re-establishes its session on its own, on another server of an ensemble if need be).

use std::collections::BTreeMap;

use futures::future::try_join_all;
use zookeeper_client as zk;

use super::{Zk, ZkError};
use crate::layout;
use crate::live::{LiveNode, LiveService, Snapshot};
use crate::model::EnvPath;

/// Operations per multi-read request: keeps each request and response far below `jute.maxbuffer`
/// while a few requests in flight keep the connection busy.
const READS_PER_REQUEST: usize = 400;

/// Attempts at one level of reads when the connection keeps dropping.
const READ_ATTEMPTS: usize = 4;

/// What to read of one node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Read {
    Data,
    /// Data and children, and the same for every child.
    Tree,
    /// Data and the names of its children.
    DataAndChildren,
}

/// One node read on its own: its data and the parts of its stat that tell what wrote it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub data: Vec<u8>,
    pub version: i32,
    /// Zxid of the transaction that created it.
    pub czxid: i64,
    /// Zxid of the last change to its data.
    pub mzxid: i64,
}

impl Zk {
    /// Reads, for each service in `services`, the service node, its `conf` and `views` subtrees,
    /// `nodemaps` and its record, plus the list of every service. Batched: one multi-read per
    /// tree level (split into pipelined requests of `READS_PER_REQUEST` operations).
    pub async fn snapshot(&self, services: &[String]) -> Result<Snapshot, ZkError> {
        let mut snapshot = Snapshot::default();
        match self.client.get_children(layout::SERVICES).await {
            Ok((mut children, stat)) => {
                children.sort();
                snapshot.root_exists = true;
                snapshot.root_czxid = Some(stat.czxid);
                snapshot.all_services = children;
            }
            Err(zk::Error::NoNode) => {}
            Err(source) => return Err(ZkError::Read { path: layout::SERVICES.into(), error: source }),
        }
        // Reads of one level: (service, path, what to read).
        let mut level: Vec<(usize, String, Read)> = Vec::new();
        for (index, svc) in services.iter().enumerate() {
            snapshot.services.insert(svc.clone(), LiveService::default());
            if !snapshot.all_services.contains(svc) {
                continue; // nothing to read
            }
            let root = EnvPath::root();
            level.push((index, layout::service(svc), Read::Data));
            level.push((index, layout::conf(svc, &root), Read::Tree));
            level.push((index, layout::view(svc, &root), Read::Tree));
            level.push((index, layout::nodemaps(svc), Read::Data));
            // Its children are the audit log, which an apply prunes (names only: entries are
            // never rewritten, and reading up to `[history] keep` of them per service would slow every plan).
            level.push((index, layout::record(svc), Read::DataAndChildren));
        }
        while !level.is_empty() {
            let results = self.read_level(&level).await?;
            let mut next = Vec::new();
            for ((index, path, read), (node, children)) in level.into_iter().zip(results) {
                let Some(node) = node else { continue };
                let service = snapshot.services.get_mut(&services[index]).expect("inserted above");
                service.nodes.insert(path.clone(), node);
                match read {
                    Read::Data => {}
                    Read::Tree => {
                        for child in children {
                            next.push((index, format!("{path}/{child}"), Read::Tree));
                        }
                    }
                    Read::DataAndChildren => {
                        service.log = children.into_iter().filter(|c| layout::is_entry(c)).collect();
                    }
                }
            }
            level = next;
        }
        Ok(snapshot)
    }

    /// Data and stat (and children, when asked) of every path; `None` for a node that does not exist.
    async fn read_level(
        &self,
        level: &[(usize, String, Read)],
    ) -> Result<Vec<(Option<LiveNode>, Vec<String>)>, ZkError> {
        let mut attempt = 1;
        let responses = loop {
            let mut requests = Vec::new();
            for chunk in level.chunks(READS_PER_REQUEST) {
                let mut reader = self.client.new_multi_reader();
                for (_, path, read) in chunk {
                    reader.add_get_data(path).map_err(|source| ZkError::Read { path: path.clone(), error: source })?;
                    if *read != Read::Data {
                        reader
                            .add_get_children(path)
                            .map_err(|source| ZkError::Read { path: path.clone(), error: source })?;
                    }
                }
                requests.push(reader.commit());
            }
            match try_join_all(requests).await {
                Ok(responses) => break responses,
                // Reading again is harmless: the client re-establishes its session on its own (on
                // another server of an ensemble if need be), and requests wait for it.
                Err(zk::Error::ConnectionLoss) if attempt < READ_ATTEMPTS => attempt += 1,
                Err(error) => return Err(ZkError::Request(error)),
            }
        };
        let mut results = Vec::with_capacity(level.len());
        let mut responses = responses.into_iter().flatten();
        for (_, path, read) in level {
            let data = responses.next();
            let children = if *read != Read::Data { responses.next() } else { None };
            let node = match data {
                Some(zk::MultiReadResult::Data { data, stat }) => {
                    Some(LiveNode { data: data.into(), version: stat.version, mzxid: stat.mzxid, czxid: stat.czxid })
                }
                Some(zk::MultiReadResult::Error { err: zk::Error::NoNode }) => None,
                Some(zk::MultiReadResult::Error { err }) => {
                    return Err(ZkError::Read { path: path.clone(), error: err });
                }
                other => {
                    let reason = format!("unexpected reply {other:?}");
                    return Err(ZkError::Read { path: path.clone(), error: zk::Error::UnexpectedError(reason) });
                }
            };
            let children = match children {
                Some(zk::MultiReadResult::Children { mut children }) => {
                    children.sort();
                    children
                }
                Some(zk::MultiReadResult::Error { err: zk::Error::NoNode }) | None => Vec::new(),
                Some(zk::MultiReadResult::Error { err }) => {
                    return Err(ZkError::Read { path: path.clone(), error: err });
                }
                Some(other) => {
                    let reason = format!("unexpected reply {other:?}");
                    return Err(ZkError::Read { path: path.clone(), error: zk::Error::UnexpectedError(reason) });
                }
            };
            results.push((node, children));
        }
        Ok(results)
    }

    /// The audit log of `svc`, newest first: at most `limit` entries, as (node name, data).
    /// `None` when the service does not exist in ZooKeeper.
    pub async fn read_log(&self, svc: &str, limit: Option<usize>) -> Result<Option<Vec<(String, Vec<u8>)>>, ZkError> {
        let record = layout::record(svc);
        let read_error = |path: &str, error| ZkError::Read { path: path.to_string(), error };
        let mut names = match self.client.list_children(&record).await {
            Ok(children) => children,
            Err(zk::Error::NoNode) => {
                let service = layout::service(svc);
                return match self.client.check_stat(&service).await {
                    Ok(Some(_)) => Ok(Some(Vec::new())),
                    Ok(None) => Ok(None),
                    Err(error) => Err(read_error(&service, error)),
                };
            }
            Err(error) => return Err(read_error(&record, error)),
        };
        names.retain(|name| layout::is_entry(name));
        // Zero-padded sequence numbers sort by name.
        names.sort_unstable_by(|a, b| b.cmp(a));
        names.truncate(limit.unwrap_or(usize::MAX));
        let level: Vec<_> = names.iter().map(|name| (0, layout::log_entry(svc, name), Read::Data)).collect();
        let results = self.read_level(&level).await?;
        // An entry pruned between the listing and the read is simply gone.
        let entries = names.into_iter().zip(results).filter_map(|(name, (node, _))| Some((name, node?.data.into())));
        Ok(Some(entries.collect()))
    }

    /// Every node at and below `path`, with its data: a dump, for tests and tools that inspect
    /// ZooKeeper.
    pub async fn dump(&self, path: &str) -> Result<BTreeMap<String, Vec<u8>>, ZkError> {
        let mut tree = BTreeMap::new();
        let mut level = vec![(0, path.to_string(), Read::Tree)];
        while !level.is_empty() {
            let results = self.read_level(&level).await?;
            let mut next = Vec::new();
            for ((_, path, _), (node, children)) in level.into_iter().zip(results) {
                let Some(node) = node else { continue };
                for child in children {
                    let base = if path == "/" { "" } else { path.as_str() };
                    next.push((0, format!("{base}/{child}"), Read::Tree));
                }
                tree.insert(path, node.data.into());
            }
            level = next;
        }
        Ok(tree)
    }

    /// Of `services`, the ones jones-sync manages: their record node holds data (an empty one is
    /// left by a lock whose first apply never ran). One multi-read.
    pub async fn managed(&self, services: &[String]) -> Result<Vec<String>, ZkError> {
        let level: Vec<_> = services.iter().map(|svc| (0, layout::record(svc), Read::Data)).collect();
        let results = self.read_level(&level).await?;
        let managed =
            services.iter().zip(results).filter(|(_, (node, _))| node.as_ref().is_some_and(|n| !n.data.is_empty()));
        Ok(managed.map(|(svc, _)| svc.clone()).collect())
    }

    /// Each of `services` whole: the service node and every node below it, whatever it is, with
    /// data and stat (for deleting the service whole). One multi-read per tree level.
    pub async fn whole_services(&self, services: &[String]) -> Result<BTreeMap<String, LiveService>, ZkError> {
        let mut trees: BTreeMap<String, LiveService> =
            services.iter().map(|svc| (svc.clone(), LiveService::default())).collect();
        let mut level: Vec<(usize, String, Read)> =
            services.iter().enumerate().map(|(index, svc)| (index, layout::service(svc), Read::Tree)).collect();
        while !level.is_empty() {
            let results = self.read_level(&level).await?;
            let mut next = Vec::new();
            for ((index, path, _), (node, children)) in level.into_iter().zip(results) {
                // A node deleted since its parent was listed is simply gone.
                let Some(node) = node else { continue };
                next.extend(children.into_iter().map(|child| (index, format!("{path}/{child}"), Read::Tree)));
                trees.get_mut(&services[index]).expect("inserted above").nodes.insert(path, node);
            }
            level = next;
        }
        Ok(trees)
    }

    /// The node at `path`, `None` when it does not exist.
    pub async fn node(&self, path: &str) -> Result<Option<Node>, ZkError> {
        match self.client.get_data(path).await {
            Ok((data, stat)) => Ok(Some(Node { data, version: stat.version, czxid: stat.czxid, mzxid: stat.mzxid })),
            Err(zk::Error::NoNode) => Ok(None),
            Err(error) => Err(ZkError::Read { path: path.to_string(), error }),
        }
    }

    /// The names of the children of `path`, sorted; `None` when it does not exist.
    pub async fn children(&self, path: &str) -> Result<Option<Vec<String>>, ZkError> {
        match self.client.list_children(path).await {
            Ok(mut children) => {
                children.sort_unstable();
                Ok(Some(children))
            }
            Err(zk::Error::NoNode) => Ok(None),
            Err(error) => Err(ZkError::Read { path: path.to_string(), error }),
        }
    }
}
