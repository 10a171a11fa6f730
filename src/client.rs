//! A Jones client in Rust: reads and watches the configuration one host (an *association*) of a
//! service sees, resolved exactly as every Jones client resolves it (JONES.md, "What a client
//! does"):
//!
//! 1. read `/services/<svc>/nodemaps` (a missing node is an error, as for every Jones client);
//! 2. find the association in it: found, read that view; not found, read `/services/<svc>/conf`;
//! 3. parse the node as a JSON object (values that do not read exactly, such as `NaN` or an
//!    integer beyond 64 bits, are left out and listed in [`HostConfig::unreadable`]);
//! 4. when either node changes, do it again (the host may have moved to another environment).
//!
//! Both nodemap formats are read (JSON, and the legacy `host -> path` lines). `jones-sync get` is
//! built on this type; a Rust service can use it the same way:
//!
//! ```no_run
//! # async fn example() -> Result<(), jones_sync::client::ClientError> {
//! use jones_sync::client::JonesClient;
//!
//! // Reads as this machine's fully qualified domain name, like every Jones client by default.
//! let client = JonesClient::connect("zk1:2181,zk2:2181", "shop").await?;
//! let config = client.read().await?;
//! println!("timeout = {}", config.values["timeout"]);
//!
//! // Or keep watching: each call returns when what this host reads has changed.
//! let client = client.with_association("web1.example.com");
//! let mut watch = client.watch().await?;
//! loop {
//!     let config = watch.changed().await?;
//!     println!("now reading {}: {:?}", config.path, config.values);
//! }
//! # }
//! ```

use std::time::Duration;

use serde_json::{Map, Value};

use crate::layout;
use crate::model::EnvPath;
use crate::nodemap::{self, Format};
use crate::zk::{Watch, WatchEvent, Zk, ZkError};

/// What one association of a service reads.
#[derive(Debug, Clone, PartialEq)]
pub struct HostConfig {
    pub service: String,
    pub association: String,
    /// The node it reads: its view, or the service's root conf when it has no association.
    pub path: String,
    /// The environment of that view (`production/us-east`); `None` for the root.
    pub environment: Option<String>,
    /// The configuration: the node's JSON object, without the values that do not read exactly.
    pub values: Map<String, Value>,
    /// The values of the node that do not read exactly as JSON (`NaN`, an integer beyond 64 bits,
    /// a lone surrogate: what Python's `json` writes), left out of `values` rather than changed
    /// ([`crate::live_json`]).
    pub unreadable: Vec<crate::live_json::Unreadable>,
    /// The format the nodemap was found in; `None` when it was empty.
    pub nodemap_format: Option<Format>,
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("`{path}` does not exist, so a Jones client of `{service}` fails: is `{service}` a Jones service?")]
    NoNodemap { service: String, path: String },
    #[error("cannot parse the nodemap `{path}`: {reason}")]
    BadNodemap { path: String, reason: String },
    #[error("`{path}`, which `{association}` reads according to the nodemap, does not exist")]
    Missing { path: String, association: String },
    #[error("`{path}` is not a JSON object: {reason}")]
    NotObject { path: String, reason: String },
    #[error("the ZooKeeper session ended ({0}): watching stopped")]
    SessionEnded(String),
    /// Connecting or reading failed (the error names the node).
    #[error(transparent)]
    ZooKeeper(#[from] ZkError),
}

/// Reads and watches what one association of one service sees.
pub struct JonesClient {
    zk: Zk,
    service: String,
    association: String,
}

impl JonesClient {
    /// A client of `service` over an existing session, reading as this machine's FQDN.
    pub fn new(zk: Zk, service: &str) -> JonesClient {
        JonesClient { zk, service: service.to_string(), association: local_fqdn() }
    }

    /// Connects to `connect` (a ZooKeeper connect string) without credentials. For credentials or
    /// TLS, connect with [`Zk::connect_with`] and use [`JonesClient::new`].
    pub async fn connect(connect: &str, service: &str) -> Result<JonesClient, ClientError> {
        let zk = Zk::connect(connect, Duration::from_secs(10)).await?;
        Ok(JonesClient::new(zk, service))
    }

    /// Reads as `association` instead of this machine's FQDN.
    pub fn with_association(mut self, association: &str) -> JonesClient {
        self.association = association.to_string();
        self
    }

    pub fn association(&self) -> &str {
        &self.association
    }

    pub fn service(&self) -> &str {
        &self.service
    }

    /// What the association reads now.
    pub async fn read(&self) -> Result<HostConfig, ClientError> {
        Ok(self.resolve(false).await?.0)
    }

    /// Starts watching: [`ConfigWatch::current`] is what the association reads now.
    pub async fn watch(&self) -> Result<ConfigWatch<'_>, ClientError> {
        let (current, events) = self.resolve(true).await?;
        Ok(ConfigWatch { client: self, current, events })
    }

    /// Steps 1–3 of a Jones client; with `watch`, also the two watches of step 4.
    async fn resolve(&self, watch: bool) -> Result<(HostConfig, Vec<Watch>), ClientError> {
        let nodemaps = layout::nodemaps(&self.service);
        let (data, nodemap_event) = self
            .get(&nodemaps, watch)
            .await?
            .ok_or_else(|| ClientError::NoNodemap { service: self.service.clone(), path: nodemaps.clone() })?;
        let parsed =
            nodemap::parse(&data).map_err(|reason| ClientError::BadNodemap { path: nodemaps.clone(), reason })?;
        let (path, environment) = match parsed.map.get(&self.association) {
            None => (layout::conf(&self.service, &EnvPath::root()), None),
            Some(Value::String(path)) => {
                let environment = layout::view_env_name(&self.service, path).filter(|env| !env.is_empty());
                (path.clone(), environment.map(String::from))
            }
            Some(other) => {
                let reason = format!("`{}` maps to {other}, not to a view path", self.association);
                return Err(ClientError::BadNodemap { path: nodemaps, reason });
            }
        };
        let (data, node_event) = self
            .get(&path, watch)
            .await?
            .ok_or_else(|| ClientError::Missing { path: path.clone(), association: self.association.clone() })?;
        let (values, unreadable) = match crate::live_json::exact(&data) {
            Some(Value::Object(values)) => (values, Vec::new()),
            Some(other) => return Err(ClientError::NotObject { path, reason: format!("it holds {other}") }),
            None => match crate::live_json::object(&data) {
                Ok(object) => (object.values, object.unreadable),
                Err(reason) => return Err(ClientError::NotObject { path, reason }),
            },
        };
        let config = HostConfig {
            service: self.service.clone(),
            association: self.association.clone(),
            path,
            environment,
            values,
            unreadable,
            nodemap_format: parsed.format,
        };
        Ok((config, nodemap_event.into_iter().chain(node_event).collect()))
    }

    /// The node's data (and a watch on it, when asked); `None` if it does not exist.
    async fn get(&self, path: &str, watch: bool) -> Result<Option<(Vec<u8>, Option<Watch>)>, ClientError> {
        Ok(if watch {
            self.zk.watch_data(path).await?.map(|(data, watch)| (data, Some(watch)))
        } else {
            self.zk.data(path).await?.map(|data| (data, None))
        })
    }
}

/// A running watch of what one association reads.
pub struct ConfigWatch<'a> {
    client: &'a JonesClient,
    current: HostConfig,
    events: Vec<Watch>,
}

impl ConfigWatch<'_> {
    /// What the association reads, as of the last read.
    pub fn current(&self) -> &HostConfig {
        &self.current
    }

    /// Waits until what the association reads changes (its values, or the node it reads: a host
    /// move), and returns it. Changes that do not reach it (another host's move) are skipped.
    pub async fn changed(&mut self) -> Result<&HostConfig, ClientError> {
        loop {
            let (event, _, _) = futures::future::select_all(std::mem::take(&mut self.events)).await;
            if let WatchEvent::SessionEnded(state) = event {
                return Err(ClientError::SessionEnded(state));
            }
            // Both watches are set again by the new read; the other pending one was dropped above.
            let (config, events) = match self.client.resolve(true).await {
                // A move and a view deletion between our two reads: the next read sees the new nodemap.
                Err(ClientError::Missing { .. }) => self.client.resolve(true).await?,
                other => other?,
            };
            self.events = events;
            if config != self.current {
                self.current = config;
                return Ok(&self.current);
            }
        }
    }
}

/// This machine's fully qualified domain name (as `hostname -f` finds it), the association a Jones
/// client uses by default; the plain host name when the name service has no canonical name.
pub fn local_fqdn() -> String {
    // glibc's and the BSDs' value of `AI_CANONNAME`.
    const AI_CANONNAME: i32 = 2;
    let host = dns_lookup::get_hostname().unwrap_or_else(|_| "localhost".into());
    let hints = dns_lookup::AddrInfoHints { flags: AI_CANONNAME, ..Default::default() };
    dns_lookup::getaddrinfo(Some(&host), None, Some(hints))
        .ok()
        .and_then(|mut found| found.next())
        .and_then(Result::ok)
        .and_then(|info| info.canonname)
        .filter(|name| !name.is_empty())
        .unwrap_or(host)
}
