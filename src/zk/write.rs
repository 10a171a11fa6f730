//! Writing: one `multi` transaction of [`Op`]s, all or nothing. Every write is guarded: a create
//! fails if the node exists, a versioned set or delete fails if the node changed since it was
//! read, and a check fails the transaction unless a node is still at the version read.

use bytes::Bytes;
use zookeeper_client as zk;

use super::Zk;

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

/// What one transaction of service `name`'s writes may fill of a `limit`-byte request: the room
/// left by what every transaction may carry besides (the checks of the apply's lock node and of
/// the record, and a split new service's empty record: `crate::apply`). A node whose create takes
/// more can never be written, so `validate` rejects it.
pub fn write_room(name: &str, limit: usize) -> usize {
    // Three operations on a path no longer than a lock node's; 80 bytes of overhead each at most.
    let added = 3 * (80 + crate::layout::lock_prefix(name).len() + 10);
    limit.saturating_sub(added)
}

/// The request bytes the create of a node at `path` with `len` bytes of data takes.
pub fn write_len(path: &str, len: usize) -> usize {
    Op::Create { path: path.to_string(), data: Bytes::new() }.encoded_len() + len
}

/// Why a transaction was not committed.
#[derive(Debug, thiserror::Error)]
pub enum CommitError {
    /// One guarded operation failed, so nothing was written. `exists`: it was a create of a node
    /// someone else made meanwhile.
    #[error("`{path}` {reason}; nothing was written")]
    Conflict { path: String, reason: String, exists: bool },
    /// The request left the client and no reply says how it ended (the connection was lost, the
    /// reply timed out): the transaction may or may not be applied.
    #[error("no reply came from ZooKeeper for the transaction, so whether it was applied is unknown: {0}")]
    Unknown(zk::Error),
    #[error("the transaction failed at `{path}`: {error}; nothing was written")]
    Failed { path: String, error: zk::Error },
    #[error("the transaction failed: {0}")]
    Request(zk::Error),
    /// ZooKeeper refused an operation for lack of permission (NoAuth), so nothing was written.
    #[error("`{path}` {reason} (ZooKeeper NoAuth); nothing was written")]
    Denied { path: String, reason: String },
}

impl Zk {
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
            Ok(results) => {
                let zxid = results.iter().rev().find_map(|result| match result {
                    zk::MultiWriteResult::SetData { stat } => Some(stat.mzxid),
                    zk::MultiWriteResult::Create { stat, .. } if !stat.is_invalid() => Some(stat.mzxid),
                    _ => None,
                });
                // A transaction of creates only (a new service's) has no stat in its replies: the
                // creation zxid of a node it made is the transaction's.
                let created = ops.iter().rev().find_map(|op| match op {
                    Op::Create { path, .. } => Some(path),
                    _ => None,
                });
                match (zxid, created) {
                    (None, Some(path)) => Ok(self.client.check_stat(path).await.ok().flatten().map(|stat| stat.czxid)),
                    _ => Ok(zxid),
                }
            }
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
                let exists = reason.starts_with("was created");
                Err(CommitError::Conflict { path, reason, exists })
            }
            // Only what the client refuses before sending is a definite failure: once the request
            // left, a lost connection, a reply timeout ("no response from connection"), a closed
            // client or a server-side error of the request as a whole may follow a commit, so the
            // outcome is looked up, never guessed.
            Err(zk::MultiWriteError::RequestFailed { source }) => match source {
                zk::Error::BadArguments(_) | zk::Error::NoHosts => Err(CommitError::Request(source)),
                other => Err(CommitError::Unknown(other)),
            },
        }
    }
}
