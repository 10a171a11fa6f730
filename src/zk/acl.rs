//! ACLs: `[zookeeper] acl` entries ([`AclEntry`]) converted to and from the client's type, the
//! ACL this session gives the nodes it creates, and reading and setting the ACLs of existing nodes
//! (ZooKeeper cannot set an ACL inside a `multi`).

use zookeeper_client as zk;

use super::{Zk, ZkError};
use crate::acl::AclEntry;
use crate::live::{LiveAcl, Snapshot};

/// ACL requests sent before awaiting replies (getACL and setACL have no multi form).
const ACLS_IN_FLIGHT: usize = 1000;

/// Why the ACL of one node was not set.
#[derive(Debug, thiserror::Error)]
#[error("the ACL of `{path}` {reason}")]
pub struct AclError {
    pub path: String,
    pub reason: String,
}

/// One ACL to set: the node, its new ACL, and the ACL version read (setting fails if someone
/// changed the ACL meanwhile).
#[derive(Debug, Clone, Copy)]
pub struct AclWrite<'a> {
    pub path: &'a str,
    pub acl: &'a [AclEntry],
    pub aversion: i32,
}

impl Zk {
    /// Creates nodes with `acl` from now on, instead of the open ACL.
    pub fn set_create_acl(&mut self, acl: &[AclEntry]) {
        self.create_acl = acl.iter().map(to_client).collect();
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
                        let acl = acl.iter().map(from_client).collect();
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

    /// Sets the ACLs of `writes`, each guarded by the ACL version read, all requests in flight at
    /// once. Returns every node whose ACL was not set, with the reason.
    pub async fn set_acls(&self, writes: &[AclWrite<'_>]) -> Vec<AclError> {
        let mut failed = Vec::new();
        for chunk in writes.chunks(ACLS_IN_FLIGHT) {
            let acls: Vec<Vec<zk::Acl>> = chunk.iter().map(|w| w.acl.iter().map(to_client).collect()).collect();
            let requests = chunk.iter().zip(&acls).map(|(w, acl)| self.client.set_acl(w.path, acl, Some(w.aversion)));
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
                failed.push(AclError { path: change.path.to_string(), reason });
            }
        }
        failed
    }
}

/// The client's form of an entry.
fn to_client(entry: &AclEntry) -> zk::Acl {
    let permission = PERMISSIONS
        .iter()
        .filter(|(bit, _)| entry.perms & bit != 0)
        .fold(zk::Permission::NONE, |all, (_, permission)| all | *permission);
    zk::Acl::new(permission, zk::AuthId::new(&entry.scheme, &entry.id))
}

/// An entry of an ACL as ZooKeeper returns it.
pub fn from_client(acl: &zk::Acl) -> AclEntry {
    let perms =
        PERMISSIONS.iter().filter(|(_, permission)| acl.permission().has(*permission)).map(|(bit, _)| bit).sum();
    AclEntry { scheme: acl.scheme().to_string(), id: acl.id().to_string(), perms }
}

/// [`AclEntry::perms`]' bits and the client's permissions.
const PERMISSIONS: [(u8, zk::Permission); 5] = [
    (1, zk::Permission::READ),
    (2, zk::Permission::WRITE),
    (4, zk::Permission::CREATE),
    (8, zk::Permission::DELETE),
    (16, zk::Permission::ADMIN),
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_to_and_from_the_client_type() {
        let digest = "digest:deploy:tOZjCThA8OKxtaNg5wuTJhLSUfo=:cd";
        for text in ["world:anyone:r", "world:anyone:cdrwa", "ip:127.0.0.1:wa", digest] {
            let entry: AclEntry = text.parse().unwrap();
            assert_eq!(from_client(&to_client(&entry)), entry, "{text}");
        }
        assert_eq!(from_client(&zk::Acls::anyone_all()[0]).to_string(), "world:anyone:cdrwa");
    }
}
