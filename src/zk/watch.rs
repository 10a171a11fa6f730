//! Watches: one-shot data watches, as a Jones client sets them (read a node and be told once when
//! it changes, or the session ends), and the persistent recursive watch `serve` keeps on
//! `/services` ([`Zk::watch_tree`]: told of every change below it, with no reads between events).

use std::pin::Pin;
use std::task::{Context, Poll};

use futures::FutureExt;
use zookeeper_client as zk;

use super::{Zk, ZkError};

/// What ended a watch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WatchEvent {
    /// The node changed (data, creation or deletion); read it again to see how.
    Changed,
    /// The session ended (expired or closed, as named): no watch fires any more.
    SessionEnded(String),
}

/// A watch set by [`Zk::watch_data`]: a future that resolves once.
pub struct Watch(Pin<Box<dyn Future<Output = WatchEvent> + Send>>);

impl Future for Watch {
    type Output = WatchEvent;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<WatchEvent> {
        self.0.poll_unpin(cx)
    }
}

impl Zk {
    /// The data of `path` and a watch on it; `None` when it does not exist.
    pub async fn watch_data(&self, path: &str) -> Result<Option<(Vec<u8>, Watch)>, ZkError> {
        match self.client.get_and_watch_data(path).await {
            Ok((data, _, watcher)) => {
                let event = watcher.changed().map(|event| {
                    if event.event_type == zk::EventType::Session && event.session_state.is_terminated() {
                        WatchEvent::SessionEnded(format!("{:?}", event.session_state))
                    } else {
                        WatchEvent::Changed
                    }
                });
                Ok(Some((data, Watch(Box::pin(event)))))
            }
            Err(zk::Error::NoNode) => Ok(None),
            Err(error) => Err(ZkError::Read { path: path.to_string(), error }),
        }
    }

    /// The data of `path`; `None` when it does not exist.
    pub async fn data(&self, path: &str) -> Result<Option<Vec<u8>>, ZkError> {
        Ok(self.node(path).await?.map(|node| node.data))
    }
}

/// What a persistent recursive watch ([`Zk::watch_tree`]) reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TreeEvent {
    /// The node at `path` (absolute, chroot removed) was created, deleted or had its data changed:
    /// read it again ([`Zk::changed_node`]) to see which.
    Node(String),
    /// The connection dropped; the client is re-establishing it within the session.
    Disconnected,
    /// The connection is back. Events of the gap may be lost (ZOOKEEPER-4698): read everything
    /// watched again.
    Reconnected,
    /// The session ended (expired, closed or refused, as named): no event comes any more, and only
    /// a new session ([`Zk::reconnect`]) watches again.
    SessionEnded(String),
}

/// A persistent recursive watch: every change at and below one node, in order, until the session
/// ends.
pub struct TreeWatch {
    watcher: zk::PersistentWatcher,
    /// Set once the session has ended: the client panics if asked for more after that.
    ended: Option<String>,
}

impl TreeWatch {
    /// The next event; after [`TreeEvent::SessionEnded`], that event again. Cancel-safe: a call
    /// dropped before it resolves loses no event.
    pub async fn next(&mut self) -> TreeEvent {
        if let Some(reason) = &self.ended {
            return TreeEvent::SessionEnded(reason.clone());
        }
        loop {
            let event = self.watcher.changed().await;
            match event.event_type {
                zk::EventType::Session if event.session_state.is_terminated() => {
                    let reason = format!("{:?}", event.session_state);
                    self.ended = Some(reason.clone());
                    return TreeEvent::SessionEnded(reason);
                }
                zk::EventType::Session => match event.session_state {
                    zk::SessionState::Disconnected => return TreeEvent::Disconnected,
                    zk::SessionState::SyncConnected | zk::SessionState::ConnectedReadOnly => {
                        return TreeEvent::Reconnected;
                    }
                    _ => continue,
                },
                zk::EventType::NodeCreated | zk::EventType::NodeDeleted | zk::EventType::NodeDataChanged => {
                    return TreeEvent::Node(event.path);
                }
                // Not sent for persistent recursive watches; a child list is read with its node.
                zk::EventType::NodeChildrenChanged => continue,
            }
        }
    }
}

/// A node read after a watch event: its data and stat, and when its data last changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangedNode {
    pub node: crate::live::LiveNode,
    /// The node's `mtime`: when its data last changed, in milliseconds since the Unix epoch, by
    /// the clock of the server that committed the change.
    pub mtime_ms: i64,
}

impl Zk {
    /// Sets a persistent recursive watch on `path` (which need not exist): every later creation,
    /// deletion and data change at or below it is reported ([`TreeWatch::next`]), and no
    /// ZooKeeper request is made between events.
    pub async fn watch_tree(&self, path: &str) -> Result<TreeWatch, ZkError> {
        match self.client.watch(path, zk::AddWatchMode::PersistentRecursive).await {
            Ok(watcher) => Ok(TreeWatch { watcher, ended: None }),
            Err(error) => Err(ZkError::Read { path: path.to_string(), error }),
        }
    }

    /// The node at `path` with its `mtime`, `None` when it does not exist.
    pub async fn changed_node(&self, path: &str) -> Result<Option<ChangedNode>, ZkError> {
        match self.client.get_data(path).await {
            Ok((data, stat)) => Ok(Some(ChangedNode {
                node: crate::live::LiveNode {
                    data: data.into(),
                    version: stat.version,
                    mzxid: stat.mzxid,
                    czxid: stat.czxid,
                },
                mtime_ms: stat.mtime,
            })),
            Err(zk::Error::NoNode) => Ok(None),
            Err(error) => Err(ZkError::Read { path: path.to_string(), error }),
        }
    }
}
