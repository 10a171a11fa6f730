//! Leader election among `jones-sync serve` replicas: ZooKeeper's election recipe (the lock recipe
//! of [`super::lock`], on one node for the whole server). Each replica makes an ephemeral
//! sequential candidate node below [`layout::ELECTION`] holding who it is; the lowest leads, and
//! each other one watches the node just before its own, so a leader's death wakes one replica only.
//!
//! A candidate node vanishes with its session: a replica that loses its session has lost its
//! place (and must stop writing at once, which the caller learns from [`Candidate::leads`] or the
//! session itself), and stands again on its new session. Writes stay safe even if two replicas
//! believed they led for a moment: every apply also takes its services' locks and guards every
//! write by version ([`crate::apply`]).

use std::time::Duration;

use zookeeper_client as zk;

use super::{Zk, ZkError};
use crate::layout;

/// This replica's place in the election.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// The candidate node's full path.
    path: String,
}

impl Zk {
    /// Stands for election: makes this replica's candidate node, holding `data` (which must be
    /// unique to the process: when the reply to the create is lost, the node holding it is taken).
    pub async fn stand(&self, data: &[u8]) -> Result<Candidate, ZkError> {
        let prefix = format!("{}/{}", layout::ELECTION, layout::CANDIDATE_PREFIX);
        let error = |path: &str, error| ZkError::Read { path: path.to_string(), error };
        for _ in 0..3 {
            match self.client.create(&prefix, data, &self.create_options(zk::CreateMode::EphemeralSequential)).await {
                Ok((_, sequence)) => return Ok(Candidate { path: format!("{prefix}{sequence}") }),
                Err(zk::Error::NoNode) => {
                    for path in [layout::parent(layout::ELECTION), layout::ELECTION] {
                        match self.client.create(path, b"", &self.create_options(zk::CreateMode::Persistent)).await {
                            Ok(_) | Err(zk::Error::NodeExists) => {}
                            Err(err) => return Err(error(path, err)),
                        }
                    }
                }
                Err(zk::Error::ConnectionLoss) => {
                    if let Some(path) = self.candidates().await?.into_iter().find(|(_, held)| held == data) {
                        return Ok(Candidate { path: path.0 });
                    }
                }
                Err(err) => return Err(error(&prefix, err)),
            }
        }
        Err(error(&prefix, zk::Error::ConnectionLoss))
    }

    /// Every candidate, lowest (the leader) first: (path, data).
    pub async fn candidates(&self) -> Result<Vec<(String, Vec<u8>)>, ZkError> {
        let mut found = Vec::new();
        for path in self.candidate_paths().await? {
            // A candidate gone between the listing and the read has simply left.
            if let Some(node) = self.node(&path).await? {
                found.push((path, node.data));
            }
        }
        Ok(found)
    }

    /// The candidates' paths, lowest first: one listing, no data read (what the order needs).
    async fn candidate_paths(&self) -> Result<Vec<String>, ZkError> {
        let mut names: Vec<String> = match self.client.list_children(layout::ELECTION).await {
            Ok(children) => children.into_iter().filter(|name| layout::is_candidate(name)).collect(),
            Err(zk::Error::NoNode) => return Ok(Vec::new()),
            Err(error) => return Err(ZkError::Read { path: layout::ELECTION.into(), error }),
        };
        names.sort_unstable();
        Ok(names.into_iter().map(|name| format!("{}/{name}", layout::ELECTION)).collect())
    }
}

impl Candidate {
    /// The candidate node's path.
    pub fn path(&self) -> &str {
        &self.path
    }

    /// Whether this candidate leads now: its node still exists and is the lowest.
    pub async fn leads(&self, zk: &Zk) -> Result<bool, ZkError> {
        Ok(zk.candidate_paths().await?.first() == Some(&self.path))
    }

    /// Waits until this candidate leads, or `timeout`; `Ok(false)` when it does not lead by then.
    /// An error when its node is gone (the session ended: stand again) or ZooKeeper fails.
    pub async fn wait_to_lead(&self, zk: &Zk, timeout: Duration) -> Result<bool, ZkError> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let names = zk.candidate_paths().await?;
            let Some(at) = names.iter().position(|path| *path == self.path) else {
                return Err(ZkError::Read { path: self.path.clone(), error: zk::Error::NoNode });
            };
            if at == 0 {
                return Ok(true);
            }
            let before = &names[at - 1];
            let (stat, watcher) = zk
                .client
                .check_and_watch_stat(before)
                .await
                .map_err(|error| ZkError::Read { path: before.clone(), error })?;
            if stat.is_none() {
                continue;
            }
            if tokio::time::timeout_at(deadline, watcher.changed()).await.is_err() {
                return Ok(false);
            }
        }
    }

    /// Leaves the election (deletes the candidate node): the next replica leads at once.
    pub async fn resign(self, zk: &Zk) {
        let _ = zk.client.delete(&self.path, None).await;
    }
}
