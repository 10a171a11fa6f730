//! The narrow seam to ZooKeeper: connect, read a [`Snapshot`] with batched multi-reads, and commit
//! one transaction. Nothing here knows about repositories or plans.

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use futures::future::try_join_all;
use zookeeper_client as zk;

use crate::acl::AclEntry;
use crate::connect::{ConnectOptions, TlsFiles};
use crate::live::{LiveAcl, LiveNode, LiveService, Snapshot};
use crate::model::paths;
use crate::plan::AclChange;

/// Operations per multi-read request: keeps each request and response far below `jute.maxbuffer`
/// while a few requests in flight keep the connection busy.
const READS_PER_REQUEST: usize = 400;

/// ACL requests sent before awaiting replies (getACL and setACL have no multi form).
const ACLS_IN_FLIGHT: usize = 1000;

/// Attempts at one level of reads when the connection keeps dropping.
const READ_ATTEMPTS: usize = 4;

#[derive(Debug, thiserror::Error)]
pub enum ZkError {
    #[error("cannot connect to ZooKeeper at `{connect}`: {reason}")]
    Connect { connect: String, reason: String },
    #[error("the chroot of `{connect}` does not exist in ZooKeeper: create that node first")]
    MissingChroot { connect: String },
    #[error("failed to read `{path}` from ZooKeeper: {error}")]
    Read { path: String, error: zk::Error },
    #[error("ZooKeeper request failed: {0}")]
    Request(zk::Error),
    #[error("cannot connect to ZooKeeper at `{connect}` with TLS: {reason}")]
    Tls { connect: String, reason: String },
}

/// What to read of one node.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Read {
    Data,
    /// Data and children, and the same for every child.
    Tree,
    /// Data and the names of its children.
    DataAndChildren,
}

/// A write in a transaction. Versions guard against concurrent edits: a create fails if the node
/// exists, a versioned set or delete fails if the node changed since it was read.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    Create {
        path: String,
        data: Bytes,
    },
    /// Creates `prefix` followed by the parent's 10-digit sequence number: an audit log entry.
    CreateSequential {
        prefix: String,
        data: Bytes,
    },
    Set {
        path: String,
        data: Bytes,
        version: i32,
    },
    Delete {
        path: String,
        version: i32,
    },
    /// Fails the transaction unless the node is still at `version`.
    Check {
        path: String,
        version: i32,
    },
}

impl Op {
    pub fn path(&self) -> &str {
        match self {
            Op::Create { path, .. } | Op::Set { path, .. } | Op::Delete { path, .. } | Op::Check { path, .. } => path,
            Op::CreateSequential { prefix, .. } => prefix,
        }
    }

    /// Approximate encoded size of the operation in a multi request, in bytes.
    pub fn encoded_len(&self) -> usize {
        // Header and fields (type, flags, version, lengths) plus one open ACL for creates.
        let overhead = 48;
        match self {
            Op::Create { path, data } => overhead + path.len() + data.len() + 32,
            Op::CreateSequential { prefix, data } => overhead + prefix.len() + data.len() + 32,
            Op::Set { path, data, .. } => overhead + path.len() + data.len(),
            Op::Delete { path, .. } | Op::Check { path, .. } => overhead + path.len(),
        }
    }
}

/// Why a transaction was not committed.
#[derive(Debug, thiserror::Error)]
pub enum CommitError {
    /// One guarded operation failed, so nothing was written.
    #[error("`{path}` {reason}; nothing was written")]
    Conflict { path: String, reason: String },
    /// The connection was lost before the reply came: the transaction may or may not be applied.
    #[error("the connection to ZooKeeper was lost during the transaction, so whether it was applied is unknown: {0}")]
    Unknown(zk::Error),
    #[error("the transaction failed at `{path}`: {error}; nothing was written")]
    Failed { path: String, error: zk::Error },
    #[error("the transaction failed: {0}")]
    Request(zk::Error),
    /// ZooKeeper refused an operation for lack of permission (NoAuth), so nothing was written.
    #[error("`{path}` {reason} (ZooKeeper NoAuth); nothing was written")]
    Denied { path: String, reason: String },
}

/// Why the ACL of one node was not set.
#[derive(Debug, thiserror::Error)]
#[error("the ACL of `{path}` {reason}")]
pub struct AclError {
    pub path: String,
    pub reason: String,
}

/// A connected ZooKeeper session.
pub struct Zk {
    client: zk::Client,
    connect: String,
    timeout: Duration,
    /// Credentials and TLS files, for reconnecting.
    options: ConnectOptions,
    /// ACL of the nodes this session creates (ZooKeeper's open ACL unless `[zookeeper] acl` is set).
    create_acl: Vec<zk::Acl>,
}

impl Zk {
    /// Connects to `connect` (a connect string, chroot suffix allowed), failing within `timeout`.
    pub async fn connect(connect: &str, timeout: Duration) -> Result<Zk, ZkError> {
        Self::connect_with(connect, timeout, &ConnectOptions::default()).await
    }

    /// Connects with credentials and TLS files ([`crate::connect`]).
    pub async fn connect_with(connect: &str, timeout: Duration, options: &ConnectOptions) -> Result<Zk, ZkError> {
        let connector = || -> Result<zk::Connector, ZkError> {
            let mut connector =
                zk::Client::connector().with_session_timeout(Duration::from_secs(10)).with_fail_eagerly();
            if let Some(credentials) = &options.auth {
                connector = connector.with_auth("digest", &credentials.auth_bytes());
            }
            if connect.contains("tcp+tls://") {
                connector = with_tls(connector, &options.tls)
                    .map_err(|reason| ZkError::Tls { connect: connect.to_string(), reason })?;
            }
            Ok(connector)
        };
        let error = |reason: String| ZkError::Connect { connect: connect.to_string(), reason };
        // Every server refusing (down, or electing a leader after a crash) is retried until the
        // timeout: an ensemble recovers within seconds, and a CI run should ride that out.
        let deadline = tokio::time::Instant::now() + timeout;
        // A failed TLS handshake looks like a refusing server to the client crate.
        let tls_hint = if connect.contains("tcp+tls://") { ", and does its certificate match the CA" } else { "" };
        let unreachable = || {
            error(format!("no server is reachable within {}s (is ZooKeeper running{tls_hint}?)", timeout.as_secs_f64()))
        };
        let client = loop {
            let connector = connector()?;
            match tokio::time::timeout_at(deadline, connector.connect(connect)).await {
                Err(_) => return Err(unreachable()),
                Ok(Ok(client)) => break client,
                Ok(Err(zk::Error::NoHosts | zk::Error::Timeout | zk::Error::ConnectionLoss)) => {}
                Ok(Err(err)) => return Err(error(err.to_string())),
            }
            if tokio::time::Instant::now() + Duration::from_millis(200) >= deadline {
                return Err(unreachable());
            }
            tokio::time::sleep(Duration::from_millis(200)).await;
        };
        let zk = Zk {
            client,
            connect: connect.to_string(),
            timeout,
            options: options.clone(),
            create_acl: zk::Acls::anyone_all().to_vec(),
        };
        if zk.client.path() != "/" {
            match zk.client.check_stat("/").await {
                Ok(Some(_)) => {}
                Ok(None) => return Err(ZkError::MissingChroot { connect: connect.to_string() }),
                Err(source) => return Err(ZkError::Read { path: "/".into(), error: source }),
            }
        }
        Ok(zk)
    }

    /// Replaces an expired session with a new one (ephemeral nodes of the old one are gone).
    pub async fn reconnect(&mut self) -> Result<(), ZkError> {
        let create_acl = std::mem::take(&mut self.create_acl);
        *self = Zk::connect_with(&self.connect, self.timeout, &self.options).await?;
        self.create_acl = create_acl;
        Ok(())
    }

    /// Whether the session is over (expired or closed): nothing sent on it can be applied.
    pub fn is_lost(&self) -> bool {
        self.client.state().is_terminated()
    }

    /// The connect string this session was made with.
    pub fn connect_string(&self) -> &str {
        &self.connect
    }

    /// The data and version of `path`, `None` when it does not exist.
    pub async fn node(&self, path: &str) -> Result<Option<(Vec<u8>, i32)>, zk::Error> {
        match self.client.get_data(path).await {
            Ok((data, stat)) => Ok(Some((data, stat.version))),
            Err(zk::Error::NoNode) => Ok(None),
            Err(err) => Err(err),
        }
    }

    /// Reads, for each service in `services`, the service node, its `conf` and `views` subtrees,
    /// `nodemaps` and its record, plus the list of every service. Batched: one multi-read per
    /// tree level (split into pipelined requests of [`READS_PER_REQUEST`] operations).
    pub async fn snapshot(&self, services: &[String]) -> Result<Snapshot, ZkError> {
        let mut snapshot = Snapshot::default();
        match self.client.list_children(paths::SERVICES).await {
            Ok(mut children) => {
                children.sort();
                snapshot.root_exists = true;
                snapshot.all_services = children;
            }
            Err(zk::Error::NoNode) => {}
            Err(source) => return Err(ZkError::Read { path: paths::SERVICES.into(), error: source }),
        }
        // Reads of one level: (service, path, what to read).
        let mut level: Vec<(usize, String, Read)> = Vec::new();
        for (index, svc) in services.iter().enumerate() {
            snapshot.services.insert(svc.clone(), LiveService::default());
            if !snapshot.all_services.contains(svc) {
                continue; // nothing to read
            }
            let base = paths::service(svc);
            level.push((index, base.clone(), Read::Data));
            level.push((index, format!("{base}/conf"), Read::Tree));
            level.push((index, format!("{base}/views"), Read::Tree));
            level.push((index, paths::nodemaps(svc), Read::Data));
            // Its children are the audit log, which an apply prunes (names only: entries are
            // never rewritten, and reading 100 of them per service would slow every plan).
            level.push((index, paths::record(svc), Read::DataAndChildren));
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
                        service.log = children.into_iter().filter(|c| crate::history::is_entry(c)).collect();
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
                    Some(LiveNode { data: data.into(), version: stat.version, mzxid: stat.mzxid })
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

    /// Commits `ops` as one `multi` transaction: all or nothing. Returns the transaction's zxid
    /// (the `mzxid` of the last node it wrote), when it wrote any.
    pub async fn commit(&self, ops: &[Op]) -> Result<Option<i64>, CommitError> {
        let options = zk::CreateMode::Persistent.with_acls(zk::Acls::new(&self.create_acl));
        let sequential = zk::CreateMode::PersistentSequential.with_acls(zk::Acls::new(&self.create_acl));
        let mut writer = self.client.new_multi_writer();
        for op in ops {
            let added = match op {
                Op::Create { path, data } => writer.add_create(path, data, &options),
                Op::CreateSequential { prefix, data } => writer.add_create(prefix, data, &sequential),
                Op::Set { path, data, version } => writer.add_set_data(path, data, Some(*version)),
                Op::Delete { path, version } => writer.add_delete(path, Some(*version)),
                Op::Check { path, version } => writer.add_check_version(path, *version),
            };
            added.map_err(|source| CommitError::Failed { path: op.path().to_string(), error: source })?;
        }
        match writer.commit().await {
            Ok(results) => Ok(results.iter().rev().find_map(|result| match result {
                zk::MultiWriteResult::SetData { stat } => Some(stat.mzxid),
                zk::MultiWriteResult::Create { stat, .. } if !stat.is_invalid() => Some(stat.mzxid),
                _ => None,
            })),
            Err(zk::MultiWriteError::OperationFailed { index, source }) => {
                let path = ops.get(index).map_or("?", Op::path).to_string();
                let op = ops.get(index);
                let reason = match (source, op) {
                    (zk::Error::NodeExists, _) => "was created by someone else since it was read".to_string(),
                    (zk::Error::BadVersion, _) => "was changed by someone else since it was read".to_string(),
                    (zk::Error::NoNode, Some(Op::Create { .. } | Op::CreateSequential { .. })) => {
                        "cannot be created: its parent was deleted by someone else since it was read".to_string()
                    }
                    (zk::Error::NoNode, _) => "was deleted by someone else since it was read".to_string(),
                    (zk::Error::NotEmpty, _) => {
                        "cannot be deleted: someone else added a node below it since it was read".to_string()
                    }
                    (zk::Error::NoAuth, op) => {
                        let reason = match op {
                            Some(Op::Create { .. }) => {
                                "cannot be created: its parent's ACL does not let this session create children"
                            }
                            Some(Op::Delete { .. }) => {
                                "cannot be deleted: its parent's ACL does not let this session delete children"
                            }
                            Some(Op::Set { .. }) => "cannot be written: its ACL does not let this session write it",
                            _ => "cannot be checked: its ACL does not let this session read it",
                        };
                        return Err(CommitError::Denied { path, reason: reason.to_string() });
                    }
                    (source, _) => return Err(CommitError::Failed { path, error: source }),
                };
                Err(CommitError::Conflict { path, reason })
            }
            Err(zk::MultiWriteError::RequestFailed { source }) => match source {
                zk::Error::ConnectionLoss
                | zk::Error::SessionExpired
                | zk::Error::Timeout
                | zk::Error::ClientClosed => Err(CommitError::Unknown(source)),
                other => Err(CommitError::Request(other)),
            },
        }
    }

    /// The audit log of `svc`, newest first: at most `limit` entries, as (node name, data).
    /// `None` when the service does not exist in ZooKeeper.
    pub async fn read_log(&self, svc: &str, limit: Option<usize>) -> Result<Option<Vec<(String, Vec<u8>)>>, ZkError> {
        let record = paths::record(svc);
        let read_error = |path: &str, error| ZkError::Read { path: path.to_string(), error };
        let mut names = match self.client.list_children(&record).await {
            Ok(children) => children,
            Err(zk::Error::NoNode) => {
                let service = paths::service(svc);
                return match self.client.check_stat(&service).await {
                    Ok(Some(_)) => Ok(Some(Vec::new())),
                    Ok(None) => Ok(None),
                    Err(error) => Err(read_error(&service, error)),
                };
            }
            Err(error) => return Err(read_error(&record, error)),
        };
        names.retain(|name| crate::history::is_entry(name));
        // Zero-padded sequence numbers sort by name.
        names.sort_unstable_by(|a, b| b.cmp(a));
        names.truncate(limit.unwrap_or(usize::MAX));
        let level: Vec<_> = names.iter().map(|name| (0, format!("{record}/{name}"), Read::Data)).collect();
        let results = self.read_level(&level).await?;
        // An entry pruned between the listing and the read is simply gone.
        let entries = names.into_iter().zip(results).filter_map(|(name, (node, _))| Some((name, node?.data.into())));
        Ok(Some(entries.collect()))
    }

    /// Every node below `path` (inclusive), with data, for tests and tools that inspect a tree.
    pub async fn read_tree(&self, path: &str) -> Result<BTreeMap<String, Vec<u8>>, ZkError> {
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

    /// Options to create a node in `mode` with the ACL this session gives the nodes it creates.
    pub fn create_options(&self, mode: zk::CreateMode) -> zk::CreateOptions<'_> {
        mode.with_acls(zk::Acls::new(&self.create_acl))
    }

    /// Creates nodes with `acl` from now on, instead of the open ACL.
    pub fn set_create_acl(&mut self, acl: &[AclEntry]) {
        self.create_acl = acl.iter().map(AclEntry::to_zk).collect();
    }

    /// Reads the ACL of every node of `snapshot`'s services into it. All requests are sent before
    /// any reply is awaited (ZooKeeper has no multi-read for ACLs), so this costs about one round
    /// trip, not one per node.
    pub async fn read_acls(&self, snapshot: &mut Snapshot) -> Result<(), ZkError> {
        let paths: Vec<(String, String)> = snapshot
            .services
            .iter()
            .flat_map(|(name, service)| service.nodes.keys().map(move |path| (name.clone(), path.clone())))
            .collect();
        for chunk in paths.chunks(ACLS_IN_FLIGHT) {
            let replies = futures::future::join_all(chunk.iter().map(|(_, path)| self.client.get_acl(path))).await;
            for ((service, path), reply) in chunk.iter().zip(replies) {
                match reply {
                    Ok((acl, stat)) => {
                        let acl = acl.iter().map(AclEntry::from_zk).collect();
                        let live = LiveAcl { acl, aversion: stat.aversion };
                        snapshot.services.get_mut(service).expect("listed above").acls.insert(path.clone(), live);
                    }
                    Err(zk::Error::NoNode) => {} // deleted since the snapshot: the plan deletes or creates it
                    Err(error) => return Err(ZkError::Read { path: path.clone(), error }),
                }
            }
        }
        Ok(())
    }

    /// Sets the ACLs of `changes`, each guarded by the ACL version read, all requests in flight at
    /// once. Returns every node whose ACL was not set, with the reason.
    pub async fn set_acls(&self, changes: &[AclChange]) -> Vec<AclError> {
        let mut failed = Vec::new();
        for chunk in changes.chunks(ACLS_IN_FLIGHT) {
            let acls: Vec<Vec<zk::Acl>> = chunk.iter().map(|c| c.after.iter().map(AclEntry::to_zk).collect()).collect();
            let requests = chunk.iter().zip(&acls).map(|(c, acl)| self.client.set_acl(&c.path, acl, Some(c.aversion)));
            for (change, reply) in chunk.iter().zip(futures::future::join_all(requests).await) {
                let reason = match reply {
                    Ok(_) => continue,
                    Err(zk::Error::BadVersion) => "was changed by someone else since it was read".to_string(),
                    Err(zk::Error::NoNode) => "cannot be set: the node was deleted by someone else".to_string(),
                    Err(zk::Error::NoAuth) => {
                        "cannot be set: this session lacks the admin permission on it (ZooKeeper NoAuth)".to_string()
                    }
                    Err(error) => format!("cannot be set: {error}"),
                };
                failed.push(AclError { path: change.path.clone(), reason });
            }
        }
        failed
    }

    /// Of `services`, the ones jones-sync manages: their record node holds data (an empty one is
    /// left by a lock whose first apply never ran). One multi-read.
    pub async fn managed(&self, services: &[String]) -> Result<Vec<String>, ZkError> {
        let level: Vec<_> = services.iter().map(|svc| (0, paths::record(svc), Read::Data)).collect();
        let results = self.read_level(&level).await?;
        let managed =
            services.iter().zip(results).filter(|(_, (node, _))| node.as_ref().is_some_and(|n| !n.data.is_empty()));
        Ok(managed.map(|(svc, _)| svc.clone()).collect())
    }

    /// The whole tree of each of `services`: the service node and every node below it, whatever
    /// it is, with data and stat (for deleting the service whole). One multi-read per tree level.
    pub async fn service_trees(&self, services: &[String]) -> Result<BTreeMap<String, LiveService>, ZkError> {
        let mut trees: BTreeMap<String, LiveService> =
            services.iter().map(|svc| (svc.clone(), LiveService::default())).collect();
        let mut level: Vec<(usize, String, Read)> =
            services.iter().enumerate().map(|(index, svc)| (index, paths::service(svc), Read::Tree)).collect();
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

    /// The underlying client, for callers that need a plain read or write.
    pub fn client(&self) -> &zk::Client {
        &self.client
    }
}

/// TLS for `tcp+tls://` hosts, from PEM files.
#[cfg(feature = "tls")]
fn with_tls(connector: zk::Connector, files: &TlsFiles) -> Result<zk::Connector, String> {
    let read = |path: &std::path::Path| {
        std::fs::read_to_string(path).map_err(|err| format!("cannot read `{}`: {err}", path.display()))
    };
    let Some(ca) = &files.ca else {
        return Err(format!(
            "set {} to the PEM file of the CA that signed the servers' certificates",
            crate::connect::TLS_CA_VAR
        ));
    };
    let mut options = zk::TlsOptions::new()
        .with_pem_ca(&read(ca)?)
        .map_err(|err| format!("bad CA file `{}`: {err}", ca.display()))?;
    match (&files.cert, &files.key) {
        (Some(cert), Some(key)) => {
            options = options.with_pem_identity(&read(cert)?, &read(key)?).map_err(|err| {
                format!("bad client certificate `{}` or key `{}`: {err}", cert.display(), key.display())
            })?;
        }
        (None, None) => {}
        _ => {
            return Err(format!(
                "a client certificate needs both {} and {}",
                crate::connect::TLS_CERT_VAR,
                crate::connect::TLS_KEY_VAR
            ));
        }
    }
    Ok(connector.with_tls(options))
}

#[cfg(not(feature = "tls"))]
fn with_tls(_: zk::Connector, _: &TlsFiles) -> Result<zk::Connector, String> {
    Err("this jones-sync was built without TLS support: build it with `--features tls`".into())
}
