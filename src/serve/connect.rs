//! How the server opens sessions of its own besides the reconciler's (its leader election, its
//! applies, the web UI's reads of the audit log).

use std::time::Duration;

use crate::zk::{Zk, ZkError};

/// How to open a session to one cluster served.
#[derive(Debug, Clone)]
pub struct Connect {
    pub string: String,
    pub timeout: Duration,
    pub options: crate::zk::ConnectOptions,
    /// `[zookeeper] acl`: the ACL of the election nodes it creates.
    pub acl: Option<Vec<crate::acl::AclEntry>>,
}

impl Connect {
    pub async fn zk(&self) -> Result<Zk, ZkError> {
        crate::sync::connect(&self.string, self.timeout, &self.options, self.acl.as_deref()).await
    }
}
