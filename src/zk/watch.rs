//! One-shot data watches, as a Jones client sets them: read a node and be told once when it
//! changes (or the session ends).

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
