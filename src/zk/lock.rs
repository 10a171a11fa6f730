//! Per-service apply locks: ZooKeeper's lock recipe (the one in the Jones talk, as kazoo's `Lock`).
//!
//! A lock is an ephemeral sequential node `/services/<svc>/jones-sync/locks/lock-NNNNNNNNNN` whose
//! data says who holds it ([`Holder`]) ([`crate::layout::locks`]). The lowest sequence number holds
//! the lock; the others watch the node just before theirs. Ephemeral nodes vanish with their session, so a crashed apply releases
//! its locks once its session expires; `jones-sync unlock` removes one by id when a process hangs.
//!
//! A service that ZooKeeper does not hold yet is not locked: nothing is written for it before its
//! first transaction, which creates `/services/<svc>` (and `/services` when missing) and so fails,
//! writing nothing, if another process made it meanwhile. A refused or cancelled apply on an empty
//! cluster leaves it empty. When such a service takes several transactions, its lock is taken
//! after the first ([`Locks::take`]), before anything more is written.
//!
//! For a service that exists without a record (made by Jones), the lock creates an empty record
//! node and `locks` first. An empty record is not a record: the service is not *managed* until an
//! apply writes it. The apply adopts the nodes its lock made (a plan's create of them becomes a
//! write of the empty node, [`Locks::adopt`]), so `plan` and `apply` show the same changes; and
//! [`Locks::release`] removes them again when nothing was applied.
//!
//! Every transaction of an apply checks that its lock node still exists ([`Locks::lock_node`]), so
//! nothing lands once the lock is gone (its session expired, or `unlock` removed it), even from a
//! process that was stalled while that happened.
//!
//! Locks are taken for many services at once: optimistically all in one pipelined round, and when
//! another process holds any of them, ours are dropped and taken again one service at a time in
//! name order, so two processes never wait for each other in a cycle.

use std::collections::BTreeSet;
use std::time::Duration;

use futures::future::join_all;
use serde::{Deserialize, Serialize};
use zookeeper_client as zk;

use super::{Op, Zk};
use crate::layout::{self, is_lock};

/// Who holds a lock: the data of its node.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Holder {
    pub actor: String,
    pub host: String,
    pub pid: u32,
    /// RFC 3339, UTC.
    pub started_at: String,
    /// The commit being applied, if any.
    pub commit: Option<String>,
    /// Unique to this process, so that it finds its lock node when the reply to the create was
    /// lost with the connection (ZooKeeper may have made it: Curator's "protected" recipe).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub token: String,
}

impl Holder {
    /// This process, applying `commit` for `actor`.
    pub fn me(actor: &str, commit: Option<String>) -> Holder {
        Holder {
            actor: actor.to_string(),
            host: gethostname::gethostname().to_string_lossy().into_owned(),
            pid: std::process::id(),
            started_at: crate::clock::now(),
            commit,
            token: uuid::Uuid::new_v4().to_string(),
        }
    }

    fn describe(data: &[u8]) -> String {
        match serde_json::from_slice::<Holder>(data) {
            Ok(h) => {
                let commit =
                    h.commit.as_deref().map(|c| format!(", commit {}", crate::repo::git::short(c))).unwrap_or_default();
                format!("{} on {} (pid {}, since {}{commit})", h.actor, h.host, h.pid, h.started_at)
            }
            Err(_) => format!("an unknown holder ({})", String::from_utf8_lossy(data)),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// The lock of `first.service` was not obtained in time; `others` are the other services of
    /// the scope that other processes hold locks on too (a killed apply can leave dozens).
    #[error("{}", timeout_message(.first, .others, *.waited))]
    Timeout { first: Blocked, others: Vec<Blocked>, waited: u64 },
    #[error("cannot lock `{service}` at `{path}`: {error}")]
    ZooKeeper { service: String, path: String, error: zk::Error },
}

/// A service whose lock another process holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Blocked {
    pub service: String,
    /// The lock node's name (what `unlock --id` takes).
    pub id: String,
    /// Who holds it ([`Holder`], described).
    pub holder: String,
}

fn timeout_message(first: &Blocked, others: &[Blocked], waited: u64) -> String {
    let Blocked { service, id, holder } = first;
    let mut message =
        format!("`{service}` is locked by {holder}, lock id `{id}`; gave up after waiting {waited}s (--lock-timeout).");
    if others.is_empty() {
        message.push_str(&format!(" If that apply is gone, remove its lock: jones-sync unlock {service} --id {id}"));
        return message;
    }
    message.push_str(&format!(" {} more services of this apply are locked too:", others.len()));
    for Blocked { service, id, holder } in others {
        message.push_str(&format!("\n  `{service}` by {holder}, lock id `{id}`"));
    }
    message.push_str("\nIf those applies are gone, remove their locks:");
    for Blocked { service, id, .. } in std::iter::once(first).chain(others) {
        message.push_str(&format!("\n  jones-sync unlock {service} --id {id}"));
    }
    message
}

/// One lock held by this process.
#[derive(Debug, Clone)]
struct Held {
    service: String,
    /// The lock node's full path.
    path: String,
    /// Nodes created to hold the lock (the service and its empty record), parents first.
    created: Vec<String>,
}

/// The locks this process holds.
#[derive(Debug, Default)]
pub struct Locks {
    /// The services asked for (to take them again after the session expired).
    services: Vec<String>,
    held: Vec<Held>,
}

impl Locks {
    /// Takes the lock of every service in `services`, waiting up to `timeout` for other holders.
    pub async fn acquire(zk: &Zk, services: &[String], holder: &Holder, timeout: Duration) -> Result<Locks, LockError> {
        let data = serde_json::to_vec(holder).expect("holders serialize");
        let deadline = tokio::time::Instant::now() + timeout;
        // Optimistic round: every lock node at once, pipelined.
        let created = join_all(services.iter().map(|svc| create_lock_node(zk, svc, &data))).await;
        let mut locks = Locks::default();
        let mut failed = None;
        for result in created {
            match result {
                Ok(held) => locks.held.extend(held),
                Err(err) => failed = failed.or(Some(err)),
            }
        }
        if let Some(err) = failed {
            locks.release(zk).await;
            return Err(err);
        }
        let first = join_all(locks.held.iter().map(|held| predecessor(zk, held))).await;
        let mut contended = false;
        for result in first {
            match result {
                Ok(None) => {}
                Ok(Some(_)) => contended = true,
                Err(err) => {
                    locks.release(zk).await;
                    return Err(err);
                }
            }
        }
        locks.services = services.to_vec();
        if !contended {
            return Ok(locks);
        }
        // Someone else holds some of them: take them again in name order, waiting for each.
        crate::progress::step("waiting for another apply's locks", None, "");
        locks.release(zk).await;
        let mut ordered: Vec<&String> = services.iter().collect::<BTreeSet<_>>().into_iter().collect();
        ordered.dedup();
        let mut locks = Locks { services: services.to_vec(), held: Vec::new() };
        for svc in ordered {
            let held = match create_lock_node(zk, svc, &data).await {
                Ok(Some(held)) => held,
                Ok(None) => continue,
                Err(err) => {
                    locks.release(zk).await;
                    return Err(err);
                }
            };
            locks.held.push(held);
            let held = locks.held.last().expect("just pushed").clone();
            if let Err(mut err) = wait_for(zk, &held, deadline, timeout).await {
                if let LockError::Timeout { first, others, .. } = &mut err {
                    // Name every service of the scope someone else holds, not only the first.
                    let ours = locks.held.iter().map(|h| h.path.as_str()).collect::<Vec<_>>();
                    *others = blocked(zk, &services_after(services, &first.service), &ours).await;
                }
                locks.release(zk).await;
                return Err(err);
            }
        }
        Ok(locks)
    }

    /// Nodes the locks created (`/services`, service and record nodes, `locks`), which the live
    /// state read under the locks should not count: the plan treats them as still missing.
    pub fn created(&self) -> Vec<String> {
        let mut paths: Vec<String> = self.held.iter().flat_map(|h| h.created.iter().cloned()).collect();
        paths.sort();
        paths.dedup();
        paths
    }

    /// Every node this process's locks consist of: the lock nodes and the nodes made to hold
    /// them. A plan made under the locks leaves them out, as it leaves out [`Locks::created`].
    pub fn nodes(&self) -> Vec<String> {
        let mut paths = self.created();
        paths.extend(self.held.iter().map(|h| h.path.clone()));
        paths.sort();
        paths.dedup();
        paths
    }

    /// `ops` with the creates of nodes the locks made turned into what they mean now: the empty
    /// record node gets its data (at version 0), the others exist already. And when `ops` delete
    /// a node above one of our locks (a service deleted whole, `--prune`), they delete that lock
    /// node first, and the nodes made to hold it: they are children of what goes.
    pub fn adopt(&self, ops: Vec<Op>) -> Vec<Op> {
        let created = self.created();
        let mut ops: Vec<Op> = ops
            .into_iter()
            .filter_map(|op| match op {
                Op::Create { path, data } if created.contains(&path) => {
                    (!data.is_empty()).then_some(Op::Set { path, data, version: 0 })
                }
                other => Some(other),
            })
            .collect();
        let below = layout::is_below;
        for held in &self.held {
            // Deletes run children first, so the first delete above the lock is its nearest one.
            let Some(at) = ops.iter().position(|op| matches!(op, Op::Delete { path, .. } if below(&held.path, path)))
            else {
                continue;
            };
            let ancestor = ops[at].path().to_string();
            // Our lock node and its parents are never written after their create: version 0.
            let ours = std::iter::once(&held.path)
                .chain(held.created.iter().rev().filter(|path| below(path, &ancestor)))
                .filter(|path| !ops.iter().any(|op| op.path() == path.as_str()))
                .map(|path| Op::Delete { path: path.clone(), version: 0 })
                .collect::<Vec<_>>();
            ops.splice(at..at, ours);
        }
        ops
    }

    /// Releases every lock (deletes its node), and removes the nodes a lock created when they are
    /// still as it made them (nothing was applied). Best effort: a lock whose session
    /// is gone is released by ZooKeeper anyway, and one whose node an apply deleted with its
    /// service (`--prune`, see [`Locks::adopt`]) is already released.
    ///
    /// The made nodes go deepest first, every lock's together: `/services`, made by one service's
    /// lock, is empty only once every other service's nodes are gone (removing them lock by lock
    /// in parallel left `/services` behind when its turn came before another's children went).
    pub async fn release(&mut self, zk: &Zk) {
        let held = std::mem::take(&mut self.held);
        join_all(held.iter().map(|h| zk.client.delete(&h.path, None))).await;
        let mut made: Vec<&String> = held.iter().flat_map(|h| &h.created).collect();
        made.sort_unstable();
        made.dedup();
        let depth = |path: &str| path.matches('/').count();
        let deepest = made.iter().map(|path| depth(path)).max().unwrap_or(0);
        for level in (1..=deepest).rev() {
            // Only nodes still exactly as the lock made them: empty, never written, no children.
            join_all(made.iter().filter(|path| depth(path) == level).map(|path| async move {
                match zk.client.get_children(path).await {
                    Ok((children, stat)) if children.is_empty() && stat.version == 0 && stat.data_length == 0 => {
                        let _ = zk.client.delete(path, Some(0)).await;
                    }
                    _ => {}
                }
            }))
            .await;
        }
    }

    /// Takes every lock again on a new session (the old session's ephemeral nodes are gone). The
    /// nodes created for new services stay remembered for cleanup.
    pub async fn reacquire(&mut self, zk: &Zk, holder: &Holder, timeout: Duration) -> Result<(), LockError> {
        let created: Vec<(String, Vec<String>)> =
            self.held.iter().map(|h| (h.service.clone(), h.created.clone())).collect();
        let mut again = Locks::acquire(zk, &self.services, holder, timeout).await?;
        for held in &mut again.held {
            if let Some((_, nodes)) = created.iter().find(|(svc, _)| *svc == held.service)
                && held.created.is_empty()
            {
                held.created = nodes.clone();
            }
        }
        *self = again;
        Ok(())
    }

    /// Takes the lock of `service`, which was not locked because ZooKeeper did not hold it (an
    /// apply's first transaction made it since).
    pub async fn take(&mut self, zk: &Zk, service: &str, holder: &Holder, timeout: Duration) -> Result<(), LockError> {
        let mut one = Locks::acquire(zk, &[service.to_string()], holder, timeout).await?;
        self.held.append(&mut one.held);
        Ok(())
    }

    /// The path of the lock node held on `service`, if one is.
    pub fn lock_node(&self, service: &str) -> Option<&str> {
        self.held.iter().find(|h| h.service == service).map(|h| h.path.as_str())
    }

    /// Forgets the lock of `service`, whose lock node went with the service (deleted whole): it is
    /// not taken again after a session expiry, which would create the service's node anew.
    pub fn forget(&mut self, service: &str) {
        self.services.retain(|s| s != service);
        self.held.retain(|h| h.service != service);
    }

    /// Whether a lock was taken on `service`.
    pub fn holds(&self, service: &str) -> bool {
        self.held.iter().any(|h| h.service == service)
    }

    /// Marks the nodes a lock created for `service` as kept: an apply wrote them.
    pub fn keep_created(&mut self, service: &str) {
        for held in self.held.iter_mut().filter(|h| h.service == service) {
            held.created.clear();
        }
    }
}

/// Creates this process's lock node for `svc`, with the parents it needs.
///
/// When the connection drops before the reply, ZooKeeper may have made the node anyway: an
/// ephemeral node of this very session, which it would wait behind until the session ended. So
/// the lock nodes are searched for one holding `data` (which carries this process's token) and
/// that one is taken; only when there is none is the node created again.
async fn create_lock_node(zk: &Zk, svc: &str, data: &[u8]) -> Result<Option<Held>, LockError> {
    let dir = layout::locks(svc);
    let error = |path: &str, error| LockError::ZooKeeper { service: svc.to_string(), path: path.to_string(), error };
    let prefix = layout::lock_prefix(svc);
    let mut created = Vec::new();
    let held = |path: String, created: Vec<String>| Some(Held { service: svc.to_string(), path, created });
    let mut last = zk::Error::NoNode;
    // A parent removed by a concurrent cleanup between two creates is created again; a lost reply
    // is looked for, then the node created again.
    for _ in 0..3 {
        match zk.client.create(&prefix, data, &zk.create_options(zk::CreateMode::EphemeralSequential)).await {
            Ok((_, sequence)) => return Ok(held(format!("{prefix}{sequence}"), created)),
            Err(zk::Error::NoNode) => {}
            Err(zk::Error::ConnectionLoss) => match find_own(zk, svc, data).await {
                Ok(Some(path)) => return Ok(held(path, created)),
                Ok(None) => {
                    last = zk::Error::ConnectionLoss;
                    continue;
                }
                Err(err) => return Err(error(&dir, err)),
            },
            Err(err) => return Err(error(&prefix, err)),
        }
        // A service ZooKeeper does not hold is not locked: nothing is written for it before its
        // first transaction, which creates the service node (and fails if someone else made it).
        match zk.client.check_stat(&layout::service(svc)).await {
            Ok(Some(_)) => {}
            Ok(None) => return Ok(None),
            Err(err) => return Err(error(&layout::service(svc), err)),
        }
        for path in [layout::record(svc), dir.clone()] {
            match zk.client.create(&path, b"", &zk.create_options(zk::CreateMode::Persistent)).await {
                Ok(_) => created.push(path),
                Err(zk::Error::NodeExists) => {}
                Err(err) => return Err(error(&path, err)),
            }
        }
    }
    Err(error(&prefix, last))
}

/// The lock node of `svc` that holds `data` (this process's), if ZooKeeper made one.
async fn find_own(zk: &Zk, svc: &str, data: &[u8]) -> Result<Option<String>, zk::Error> {
    let children = match zk.client.list_children(&layout::locks(svc)).await {
        Ok(children) => children,
        Err(zk::Error::NoNode) => return Ok(None),
        Err(err) => return Err(err),
    };
    for name in children.into_iter().filter(|n| is_lock(n)) {
        let path = layout::lock(svc, &name);
        match zk.client.get_data(&path).await {
            Ok((found, _)) if found == data => return Ok(Some(path)),
            Ok(_) | Err(zk::Error::NoNode) => {}
            Err(err) => return Err(err),
        }
    }
    Ok(None)
}

/// The lock node just before ours (`None` when ours is the lowest: we hold the lock).
async fn predecessor(zk: &Zk, held: &Held) -> Result<Option<String>, LockError> {
    let dir = layout::locks(&held.service);
    let error = |error| LockError::ZooKeeper { service: held.service.clone(), path: dir.clone(), error };
    let mut locks: Vec<String> =
        zk.client.list_children(&dir).await.map_err(error)?.into_iter().filter(|n| is_lock(n)).collect();
    locks.sort_unstable();
    let ours = held.path.rsplit('/').next().expect("lock paths have a name");
    Ok(locks.into_iter().take_while(|name| name.as_str() < ours).last().map(|name| layout::lock(&held.service, &name)))
}

/// Waits until `held` is the lowest lock node of its service, or the deadline.
async fn wait_for(zk: &Zk, held: &Held, deadline: tokio::time::Instant, timeout: Duration) -> Result<(), LockError> {
    loop {
        let Some(before) = predecessor(zk, held).await? else { return Ok(()) };
        let watched = zk.client.check_and_watch_stat(&before).await;
        let (stat, watcher) = watched.map_err(|error| LockError::ZooKeeper {
            service: held.service.clone(),
            path: before.clone(),
            error,
        })?;
        if stat.is_none() {
            continue;
        }
        if tokio::time::timeout_at(deadline, watcher.changed()).await.is_err() {
            return Err(timed_out(zk, held, timeout).await);
        }
    }
}

/// The services of `services` that sort after `service` (the ones not waited for yet), in order.
fn services_after(services: &[String], service: &str) -> Vec<String> {
    let mut after: Vec<String> = services.iter().filter(|s| s.as_str() > service).cloned().collect();
    after.sort_unstable();
    after.dedup();
    after
}

/// Of `services`, those whose lowest lock node is not one of `ours`: held by someone else.
async fn blocked(zk: &Zk, services: &[String], ours: &[&str]) -> Vec<Blocked> {
    let found = join_all(services.iter().map(|svc| async move {
        let locks = list(zk, svc).await.ok()?;
        let (id, holder) = locks.into_iter().next()?;
        (!ours.contains(&layout::lock(svc, &id).as_str())).then(|| Blocked { service: svc.clone(), id, holder })
    }))
    .await;
    found.into_iter().flatten().collect()
}

/// The timeout error, naming the current holder.
async fn timed_out(zk: &Zk, held: &Held, timeout: Duration) -> LockError {
    let dir = layout::locks(&held.service);
    let mut locks: Vec<String> =
        zk.client.list_children(&dir).await.unwrap_or_default().into_iter().filter(|n| is_lock(n)).collect();
    locks.sort_unstable();
    let id = locks.first().cloned().unwrap_or_default();
    let holder = match zk.client.get_data(&layout::lock(&held.service, &id)).await {
        Ok((data, _)) => Holder::describe(&data),
        Err(_) => "a process that just let go".to_string(),
    };
    let first = Blocked { service: held.service.clone(), id, holder };
    LockError::Timeout { first, others: Vec::new(), waited: timeout.as_secs() }
}

/// The locks of `svc`: (id, holder description), lowest (the holder) first.
pub async fn list(zk: &Zk, svc: &str) -> Result<Vec<(String, String)>, LockError> {
    let dir = layout::locks(svc);
    let error = |error| LockError::ZooKeeper { service: svc.to_string(), path: dir.clone(), error };
    let mut names: Vec<String> = match zk.client.list_children(&dir).await {
        Ok(children) => children.into_iter().filter(|n| is_lock(n)).collect(),
        Err(zk::Error::NoNode) => Vec::new(),
        Err(err) => return Err(error(err)),
    };
    names.sort_unstable();
    let mut locks = Vec::new();
    for name in names {
        if let Ok((data, _)) = zk.client.get_data(&layout::lock(svc, &name)).await {
            locks.push((name, Holder::describe(&data)));
        }
    }
    Ok(locks)
}

/// Removes the lock `id` of `svc`; `Ok(None)` when there is no such lock, else its holder.
pub async fn remove(zk: &Zk, svc: &str, id: &str) -> Result<Option<String>, LockError> {
    if !is_lock(id) {
        return Ok(None);
    }
    let path = layout::lock(svc, id);
    let error = |error| LockError::ZooKeeper { service: svc.to_string(), path: path.clone(), error };
    let (data, stat) = match zk.client.get_data(&path).await {
        Ok(found) => found,
        Err(zk::Error::NoNode) => return Ok(None),
        Err(err) => return Err(error(err)),
    };
    match zk.client.delete(&path, Some(stat.version)).await {
        Ok(()) => Ok(Some(Holder::describe(&data))),
        Err(zk::Error::NoNode) => Ok(None),
        Err(err) => Err(error(err)),
    }
}
