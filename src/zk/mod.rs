//! The narrow seam to ZooKeeper: connect ([`connect`]), read live state with batched multi-reads
//! (`read`), commit one transaction (`write`), read and set ACLs ([`acl`]), take apply locks
//! ([`lock`]), elect the one `serve` replica that writes ([`election`]) and watch a node (`watch`).
//!
//! Invariants:
//! - this is the only module that names the `zookeeper_client` crate: everything above it works
//!   with [`Zk`], plain data ([`crate::live::Snapshot`], [`Node`], [`Op`]) and this module's errors;
//! - it knows nothing of repositories, plans or the audit log: paths come from
//!   [`crate::layout`], what to write comes in as [`Op`]s;
//! - every error names the znode (or the connect string) and ZooKeeper's reason;
//! - "the node does not exist" is `Ok(None)`, never an error.

pub mod acl;
pub mod connect;
pub mod election;
pub mod lock;
mod read;
mod watch;
mod write;

use std::time::Duration;

use zookeeper_client as zk;

pub use acl::{AclError, AclWrite};
pub use connect::{ConnectConfigError, ConnectOptions, Credentials, TlsFiles};
pub use read::Node;
pub use watch::{ChangedNode, TreeEvent, TreeWatch, Watch, WatchEvent};
pub use write::{CommitError, Op, write_len, write_room};

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

impl ZkError {
    /// ZooKeeper's own reason (`connection loss`), without the node it was about.
    pub fn reason(&self) -> String {
        match self {
            ZkError::Read { error, .. } | ZkError::Request(error) => error.to_string(),
            other => other.to_string(),
        }
    }

    /// Whether the request failed because the connection was lost and not restored in time (the
    /// session expired or was closed, or the connection dropped).
    pub fn connection_lost(&self) -> bool {
        matches!(
            self,
            ZkError::Read {
                error: zk::Error::SessionExpired | zk::Error::ClientClosed | zk::Error::ConnectionLoss,
                ..
            } | ZkError::Request(zk::Error::SessionExpired | zk::Error::ClientClosed | zk::Error::ConnectionLoss)
        )
    }

    /// Whether the session ended (expired or closed): nothing more can be sent on it, and only a
    /// new session ([`Zk::reconnect`]) reads again.
    pub fn session_ended(&self) -> bool {
        matches!(
            self,
            ZkError::Read { error: zk::Error::SessionExpired | zk::Error::ClientClosed, .. }
                | ZkError::Request(zk::Error::SessionExpired | zk::Error::ClientClosed)
        )
    }
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

    /// Connects with credentials and TLS files ([`connect`]).
    pub async fn connect_with(connect: &str, timeout: Duration, options: &ConnectOptions) -> Result<Zk, ZkError> {
        let connector = || -> Result<zk::Connector, ZkError> {
            let mut connector =
                zk::Client::connector().with_session_timeout(Duration::from_secs(10)).with_fail_eagerly();
            if let Some(credentials) = &options.auth {
                connector = connector.with_auth("digest", &credentials.auth_bytes());
            }
            if connect.contains("tcp+tls://") {
                connector = connect::with_tls(connector, &options.tls)
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

    /// Options to create a node in `mode` with the ACL this session gives the nodes it creates.
    fn create_options(&self, mode: zk::CreateMode) -> zk::CreateOptions<'_> {
        mode.with_acls(zk::Acls::new(&self.create_acl))
    }
}
