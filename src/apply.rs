//! Executing a plan: per service, ZooKeeper `multi` transactions with every write guarded by the
//! version the plan read, so that a concurrent edit aborts the transaction and nothing of it is
//! written.
//!
//! A service whose changes fit in one request (`[zookeeper] max_request_bytes`) is applied in one
//! transaction: `/services` (when missing), creates parents before children, updates, version
//! checks of the views the new nodemap relies on, deletes children before parents, then the record,
//! the apply's audit log entry and the pruning of the oldest ones ([`crate::history`]). Clients see
//! all of it at once.
//!
//! A larger service is split into ordered transactions, each safe for clients on its own: conf and
//! view creates and updates (parents before children), then the nodemap, then deletes (children
//! before parents), and the record and audit entry last. So a host never points at a view that does
//! not exist, and no view a host points at is deleted. If one of them fails, the ones before stay
//! applied (the outcome says how many); a rerun finishes the job.
//!
//! A service deleted whole (`--prune`, [`crate::plan::prune`]) is only deletes, children first; when
//! split, the service node, its record and its locks go in the last transaction, so the service
//! stays managed and locked until the end. Its transaction also deletes our own lock node, a child
//! of what goes ([`Locks::adopt`]).
//!
//! When the connection drops during a commit, the outcome is unknown: the transaction is looked up
//! in ZooKeeper (the record's `apply_id`, or the effect of its first write) and reported applied,
//! or committed again if it was not — never twice, never a guess. An expired session lost its
//! locks: a new session is made, and the locks are taken again before anything more is written.
//! When ZooKeeper cannot be reached again, or the locks cannot be taken again, the apply stops:
//! the services after that one are not attempted (each says so), and the one in flight reports
//! what is known about it.
//!
//! Transactions are committed one at a time, by design: at most one transaction's outcome is ever
//! unknown, which is what makes the report after a lost connection exact. Pipelining services'
//! transactions would save the round trip and disk sync of each (about a third of a first apply's
//! ZooKeeper time at 10,000 znodes, see the README's Performance) but leave every transaction in
//! flight to be looked up after a cut. What comes before the commits is pipelined already: the
//! locks of every service ([`crate::lock`]) and the live reads ([`crate::zk::Zk::snapshot`]).

use std::time::Duration;

use zookeeper_client as zk;

use crate::lock::{Holder, Locks};
use crate::model::paths;
use crate::plan::{Action, Counts, Plan, ServicePlan};
use crate::view::NodeKind;
use crate::zk::{CommitError, Op, Zk};

/// How an apply runs.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Largest transaction, in encoded bytes.
    pub max_request_bytes: usize,
    /// Audit entries each service keeps.
    pub keep: usize,
    /// How long to wait for other applies' locks (also when taking them again after a session
    /// expired).
    pub lock_timeout: Duration,
}

/// The transactions of one service, in the order they must be committed: one when the service fits
/// in `limit` bytes.
pub fn transactions(service: &ServicePlan, create_root: bool, keep: usize, limit: usize) -> Vec<Vec<Op>> {
    let now = crate::record::now_rfc3339();
    let mut record = None;
    let mut record_op = None;
    let mut content = Vec::new();
    let mut nodemap = Vec::new();
    let mut deletes = Vec::new();
    if create_root {
        content.push(Op::Create { path: paths::SERVICES.into(), data: bytes::Bytes::new() });
    }
    for change in &service.changes {
        let path = change.path.clone();
        let op = match &change.action {
            Action::Create { after } if change.kind == NodeKind::Record => {
                Op::Create { path, data: stamp(after, &now, &mut record).into() }
            }
            Action::Update { after, version, .. } if change.kind == NodeKind::Record => {
                Op::Set { path, data: stamp(after, &now, &mut record).into(), version: *version }
            }
            Action::Create { after } => Op::Create { path, data: after.clone() },
            Action::Update { after, version, .. } => Op::Set { path, data: after.clone(), version: *version },
            Action::Delete { version, .. } => Op::Delete { path, version: *version },
        };
        match (change.kind, &op) {
            (_, Op::Delete { .. }) => deletes.push(op),
            (NodeKind::Record, _) => record_op = Some(op),
            (NodeKind::Nodemap, _) => nodemap.push(op),
            _ => content.push(op),
        }
    }
    nodemap.extend(service.guards.iter().map(|(path, version)| Op::Check { path: path.clone(), version: *version }));
    // Paths sort parents first: creates ascend (changes are in path order), deletes descend.
    deletes.sort_by(|a, b| b.path().cmp(a.path()));
    let mut last: Vec<Op> = record_op.into_iter().collect();
    last.extend(record.map(|record| crate::history::ops(service, &record, keep)).unwrap_or_default());
    if service.prune {
        // A service deleted whole stays managed and locked until its last transaction.
        let tail;
        (tail, deletes) =
            deletes.into_iter().partition(|op| crate::plan::prune::deleted_last(&service.name, op.path()));
        last.extend(tail);
    }
    // Room for our own lock node (and the `locks` node our lock made), which [`Locks::adopt`] adds
    // to the transaction that deletes their parent.
    let limit = if service.prune { limit.saturating_sub(crate::plan::prune::LOCK_ROOM) } else { limit };

    let size = |ops: &[Op]| ops.iter().map(Op::encoded_len).sum::<usize>();
    let total = size(&content) + size(&nodemap) + size(&deletes) + size(&last);
    if total <= limit {
        return vec![content.into_iter().chain(nodemap).chain(deletes).chain(last).collect()];
    }
    let mut transactions = Vec::new();
    // A pruned service's last phase (its node, record and locks: a few small deletes) stays whole.
    for (phase, split) in [(content, true), (nodemap, true), (deletes, true), (last, !service.prune)] {
        let mut current: Vec<Op> = Vec::new();
        for op in phase {
            if split && !current.is_empty() && size(&current) + op.encoded_len() > limit {
                transactions.push(std::mem::take(&mut current));
            }
            current.push(op);
        }
        if !current.is_empty() {
            transactions.push(current);
        }
    }
    transactions
}

/// Why `service` cannot be applied atomically, when it cannot: its size against the limit.
pub fn split_reason(service: &ServicePlan, create_root: bool, keep: usize, limit: usize) -> Option<String> {
    // Most services are far below the limit: building their transactions (with the audit entry's
    // digest of every change) just to count them would take a tenth of a large first apply.
    let room = if service.prune { limit.saturating_sub(crate::plan::prune::LOCK_ROOM) } else { limit };
    if size_bound(service, create_root) <= room {
        return None;
    }
    let transactions = transactions(service, create_root, keep, limit);
    if transactions.len() <= 1 {
        return None;
    }
    let size: usize = transactions.iter().flatten().map(Op::encoded_len).sum();
    Some(format!(
        "`{}` will not be applied atomically: its changes take {size} bytes, over the {limit}-byte request limit \
         ([zookeeper] max_request_bytes), so they go in {} transactions, each safe for clients \
         (views before the nodemap, deletions last, the record last)",
        service.name,
        transactions.len()
    ))
}

/// More than the encoded size of every operation of `service`'s transactions ([`transactions`]):
/// each change's, the guards', `/services`'s, the record stamped (twice: its node and its audit
/// entry, with the entry's counts and digest) and the pruning of every older audit entry.
fn size_bound(service: &ServicePlan, create_root: bool) -> usize {
    // An operation's overhead in [`Op::encoded_len`] is at most 80 bytes besides path and data.
    const OP: usize = 128;
    let data = |change: &crate::plan::Change| change.action.data().1.map_or(0, <[u8]>::len);
    let changes: usize = service.changes.iter().map(|c| OP + c.path.len() + data(c)).sum();
    let record = service.changes.iter().filter(|c| c.kind == NodeKind::Record).map(data).sum::<usize>();
    let guards: usize = service.guards.iter().map(|(path, _)| OP + path.len()).sum();
    let log = service.log.iter().map(|name| OP + paths::record(&service.name).len() + name.len()).sum::<usize>();
    // The entry: the record (its `applied_at` restamped, same length), its counts and digest.
    let entry = OP + paths::log_prefix(&service.name).len() + record + 1024;
    changes + record + guards + log + entry + if create_root { OP + paths::SERVICES.len() } else { 0 }
}

/// Notes on every service of `plan` that will not be applied atomically, why (the plan says so
/// beforehand).
pub fn mark_splits(plan: &mut Plan, keep: usize, limit: usize) {
    let create_root = plan.create_root;
    for service in &mut plan.services {
        service.not_atomic = split_reason(service, create_root, keep, limit);
    }
}

/// The record's data with `applied_at` set to `now` (the plan may have been made earlier), also
/// kept in `stamped` for the audit entry.
fn stamp(record: &[u8], now: &str, stamped: &mut Option<Vec<u8>>) -> Vec<u8> {
    let data = match serde_json::from_slice::<serde_json::Value>(record) {
        Ok(mut value) => {
            if let Some(object) = value.as_object_mut() {
                object.insert("applied_at".into(), now.into());
            }
            serde_json::to_vec(&value).expect("JSON values always serialize")
        }
        Err(_) => record.to_vec(),
    };
    *stamped = Some(data.clone());
    data
}

/// What happened to one service.
#[derive(Debug)]
pub struct Outcome {
    pub service: String,
    pub counts: Counts,
    /// ACLs set after the transaction.
    pub acls: usize,
    /// Transactions the service needed, and how many of them were committed.
    pub transactions: usize,
    pub committed: usize,
    /// What it took to commit them when the connection dropped.
    pub recovery: Recovery,
    /// The zxid of the last transaction, when it wrote any node.
    pub result: Result<Option<i64>, ApplyError>,
}

/// How commits whose outcome was unknown (the connection dropped before the reply) were resolved.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Recovery {
    /// Found applied in ZooKeeper, so not sent again.
    pub found_applied: usize,
    /// Found not applied in ZooKeeper, so sent again.
    pub resent: usize,
    /// The session expired meanwhile: a new one was made (and the locks taken again before any
    /// further write).
    pub new_sessions: usize,
}

impl Recovery {
    pub fn is_empty(&self) -> bool {
        *self == Recovery::default()
    }
}

#[derive(Debug, thiserror::Error)]
pub enum ApplyError {
    #[error(
        "a single write takes {size} bytes, over the {limit}-byte request limit ([zookeeper] max_request_bytes); \
         nothing was written"
    )]
    TooLarge { size: usize, limit: usize },
    #[error(transparent)]
    Commit(#[from] CommitError),
    #[error(
        "{committed} of {total} transactions were applied, then: {source}. Every applied step is safe for clients; \
         run apply again to finish"
    )]
    Partial { committed: usize, total: usize, source: Box<ApplyError> },
    #[error(
        "the connection to ZooKeeper was lost at each of {attempts} attempts to commit; ZooKeeper shows it was not \
         applied, so nothing of it was written: {error}"
    )]
    NotApplied { attempts: usize, error: zk::Error },
    #[error("the session expired and the locks could not be taken again, so nothing more was written: {0}")]
    Relock(crate::lock::LockError),
    #[error(
        "the connection to ZooKeeper was lost during the commit and could not be restored, so whether it was \
         applied is unknown; once ZooKeeper is back, `jones-sync plan` shows it and `apply` finishes the job: {0}"
    )]
    Reconnect(crate::zk::ZkError),
    /// ACLs are set after the transaction (a `multi` cannot set them): its data is written.
    #[error("its changes were applied, but not every ACL was set: {0}")]
    Acl(String),
    #[error("the session to ZooKeeper was lost and could not be restored, so nothing of it was sent: {0}")]
    Lost(crate::zk::ZkError),
    #[error("not attempted: this apply lost ZooKeeper or its locks at `{after}`; nothing of it was written")]
    NotAttempted { after: String },
}

impl ApplyError {
    /// Whether the apply cannot go on: ZooKeeper is unreachable or the locks are gone.
    fn ends_the_apply(&self) -> bool {
        match self {
            ApplyError::Relock(_) | ApplyError::Reconnect(_) | ApplyError::Lost(_) => true,
            ApplyError::Partial { source, .. } => source.ends_the_apply(),
            _ => false,
        }
    }
}

/// A session with the locks it holds, able to come back after an expiry.
pub struct Session {
    pub zk: Zk,
    pub locks: Locks,
    pub holder: Holder,
}

/// Attempts at one transaction whose outcome keeps coming back unknown.
const ATTEMPTS: usize = 4;

/// Applies every service of the plan that has changes; a failed service does not stop the others,
/// unless ZooKeeper is lost for good or the locks could not be taken again after a session
/// expired: the services after it are then not attempted. Returns one outcome per service with
/// changes.
pub async fn apply(session: &mut Session, plan: &Plan, settings: &Settings) -> Vec<Outcome> {
    let mut create_root = plan.create_root;
    let mut outcomes = Vec::new();
    let mut run = Run { session, settings, relock: false, ended: None };
    for service in plan.services.iter().filter(|s| !s.is_empty()) {
        let transactions = transactions(service, create_root, settings.keep, settings.max_request_bytes);
        let mut outcome = Outcome {
            service: service.name.clone(),
            counts: service.counts(),
            transactions: transactions.len(),
            committed: 0,
            recovery: Recovery::default(),
            acls: service.acls.len(),
            result: Ok(None),
        };
        if let Some(after) = &run.ended {
            outcome.result = Err(ApplyError::NotAttempted { after: after.clone() });
            outcomes.push(outcome);
            continue;
        }
        let apply_id = apply_id(service);
        // A service with only ACLs to set has no transaction.
        let transactions: Vec<Vec<Op>> = transactions.into_iter().filter(|ops| !ops.is_empty()).collect();
        outcome.transactions = transactions.len();
        for ops in &transactions {
            let size: usize = run.session.locks.adopt(ops.clone()).iter().map(Op::encoded_len).sum();
            let committed = if size > settings.max_request_bytes {
                Err(ApplyError::TooLarge { size, limit: settings.max_request_bytes })
            } else {
                run.commit(&service.name, ops, apply_id.as_deref(), &mut outcome.recovery).await
            };
            match committed {
                Ok(zxid) => {
                    outcome.committed += 1;
                    outcome.result = Ok(zxid.or(outcome.result.unwrap_or(None)));
                }
                Err(err) => {
                    if err.ends_the_apply() {
                        run.ended = Some(service.name.clone());
                    }
                    outcome.result = Err(if outcome.committed > 0 {
                        ApplyError::Partial {
                            committed: outcome.committed,
                            total: transactions.len(),
                            source: err.into(),
                        }
                    } else {
                        err
                    });
                    break;
                }
            }
        }
        // ZooKeeper cannot set an ACL in a `multi`: ACLs are set once the data is applied.
        if outcome.result.is_ok() && !service.acls.is_empty() {
            let failed = run.session.zk.set_acls(&service.acls).await;
            if !failed.is_empty() {
                let reasons: Vec<String> = failed.iter().map(ToString::to_string).collect();
                outcome.result = Err(ApplyError::Acl(reasons.join("; ")));
            }
        }
        if service.prune && outcome.committed == outcome.transactions {
            // Its lock went with it: not to be taken again if the session expires.
            run.session.locks.forget(&service.name);
        }
        if outcome.committed > 0 {
            run.session.locks.keep_created(&service.name);
            if create_root {
                outcome.counts.create += 1;
                create_root = false;
            }
        }
        outcomes.push(outcome);
    }
    outcomes
}

/// The `apply_id` of the record this plan writes for `service`.
fn apply_id(service: &ServicePlan) -> Option<String> {
    service.changes.iter().find(|c| c.kind == NodeKind::Record).and_then(|change| match &change.action {
        Action::Create { after } | Action::Update { after, .. } => {
            crate::record::Record::parse(after).and_then(|record| record.apply_id)
        }
        Action::Delete { .. } => None,
    })
}

/// One apply's commits on a session that may have to be replaced.
struct Run<'a> {
    session: &'a mut Session,
    settings: &'a Settings,
    /// The session was replaced and its locks are not taken again yet. (They are taken again only
    /// before the next write: finding out whether a transaction landed needs no lock, so an
    /// apply that cannot lock again still learns and reports the truth about it.)
    relock: bool,
    /// ZooKeeper or the locks were lost at this service: nothing more is sent.
    ended: Option<String>,
}

impl Run<'_> {
    /// Commits one transaction; after a lost connection, finds out whether it was applied and
    /// commits it again only if it was not. Returns the zxid when it is known.
    async fn commit(
        &mut self,
        service: &str,
        planned: &[Op],
        apply_id: Option<&str>,
        recovery: &mut Recovery,
    ) -> Result<Option<i64>, ApplyError> {
        for attempt in 1..=ATTEMPTS {
            self.ready(recovery).await?;
            // Nodes this process's locks created are written, not created, and a service deleted
            // whole takes our lock node with it ([`Locks::adopt`]): adopted at every attempt, as
            // the locks taken again on a new session are new nodes.
            let ops = self.session.locks.adopt(planned.to_vec());
            match self.session.zk.commit(&ops).await {
                Ok(zxid) => return Ok(zxid),
                Err(CommitError::Unknown(error)) => {
                    if let Found::Applied(zxid) = self.applied(service, &ops, apply_id, recovery).await? {
                        recovery.found_applied += 1;
                        return Ok(zxid);
                    }
                    if attempt == ATTEMPTS {
                        return Err(ApplyError::NotApplied { attempts: ATTEMPTS, error });
                    }
                    recovery.resent += 1;
                }
                Err(err) => return Err(err.into()),
            }
        }
        unreachable!("the last attempt returns")
    }

    /// Makes sure the session is alive and holds the locks before a write: a session that expired
    /// since the last request is replaced (nothing sent on it could be applied) and the locks are
    /// taken again.
    async fn ready(&mut self, recovery: &mut Recovery) -> Result<(), ApplyError> {
        if self.session.zk.is_lost() {
            self.session.zk.reconnect().await.map_err(ApplyError::Lost)?;
            recovery.new_sessions += 1;
            self.relock = true;
        }
        if self.relock {
            let Session { zk, locks, holder } = &mut *self.session;
            // The old session's locks are gone with it: take them all again.
            locks.reacquire(zk, holder, self.settings.lock_timeout).await.map_err(ApplyError::Relock)?;
            self.relock = false;
        }
        Ok(())
    }

    /// Whether `ops` were applied, read back from ZooKeeper once the session works again (a new
    /// one if it expired).
    async fn applied(
        &mut self,
        service: &str,
        ops: &[Op],
        apply_id: Option<&str>,
        recovery: &mut Recovery,
    ) -> Result<Found, ApplyError> {
        let deadline = tokio::time::Instant::now() + self.settings.lock_timeout.max(Duration::from_secs(30));
        loop {
            match was_applied(&self.session.zk, service, ops, apply_id).await {
                Ok(answer) => return Ok(answer),
                Err(zk::Error::SessionExpired | zk::Error::ClientClosed) => {
                    self.session.zk.reconnect().await.map_err(ApplyError::Reconnect)?;
                    recovery.new_sessions += 1;
                    self.relock = true;
                }
                Err(_) if tokio::time::Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(err) => {
                    let connect = self.session.zk.connect_string().to_string();
                    let reason = err.to_string();
                    return Err(ApplyError::Reconnect(crate::zk::ZkError::Connect { connect, reason }));
                }
            }
        }
    }
}

/// What reading ZooKeeper showed about a transaction whose reply was lost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Found {
    /// It was applied, by the transaction of this zxid (unknown when the evidence is a deletion).
    Applied(Option<i64>),
    NotApplied,
}

/// Reads whether `ops` took effect: the record's `apply_id` (or the audit log) for the transaction
/// that writes the record, else the effect of its first write.
async fn was_applied(zk: &Zk, service: &str, ops: &[Op], apply_id: Option<&str>) -> Result<Found, zk::Error> {
    let node = |path: String| async move {
        match zk.client().get_data(&path).await {
            Ok((data, stat)) => Ok(Some((data, stat))),
            Err(zk::Error::NoNode) => Ok(None),
            Err(err) => Err(err),
        }
    };
    let apply_of = |data: &[u8]| crate::record::Record::parse(data).and_then(|r| r.apply_id);
    let record = paths::record(service);
    let writes_record =
        ops.iter().any(|op| matches!(op, Op::Create { path, .. } | Op::Set { path, .. } if *path == record));
    if let (true, Some(id)) = (writes_record, apply_id) {
        if let Some((data, stat)) = node(record.clone()).await?
            && apply_of(&data).as_deref() == Some(id)
        {
            return Ok(Found::Applied(Some(stat.mzxid)));
        }
        // A later apply may have landed on top of ours (after our session expired): the log says.
        let mut entries: Vec<String> =
            zk.client().list_children(&record).await?.into_iter().filter(|n| crate::history::is_entry(n)).collect();
        entries.sort_unstable_by(|a, b| b.cmp(a));
        for name in entries.iter().take(20) {
            let Some((data, stat)) = node(format!("{record}/{name}")).await? else { continue };
            if apply_of(&data).as_deref() == Some(id) {
                return Ok(Found::Applied(Some(stat.czxid)));
            }
        }
        return Ok(Found::NotApplied);
    }
    let found = |applied: bool, zxid: Option<i64>| if applied { Found::Applied(zxid) } else { Found::NotApplied };
    // A lock node is no evidence: it vanishes with its session whether or not the transaction
    // that deletes it was applied.
    let lock_node = |path: &str| {
        path.rsplit_once('/').is_some_and(|(parent, name)| parent.ends_with("/locks") && crate::lock::is_lock(name))
    };
    for op in ops.iter().filter(|op| !lock_node(op.path())) {
        return match op {
            Op::Create { path, data } => Ok(match node(path.clone()).await? {
                Some((now, stat)) => found(now == *data, Some(stat.mzxid)),
                None => Found::NotApplied,
            }),
            Op::Set { path, data, version } => Ok(match node(path.clone()).await? {
                Some((now, stat)) => found(now == *data && stat.version == version + 1, Some(stat.mzxid)),
                None => Found::NotApplied,
            }),
            Op::Delete { path, .. } => Ok(found(node(path.clone()).await?.is_none(), None)),
            Op::Check { .. } | Op::CreateSequential { .. } => continue,
        };
    }
    Ok(Found::NotApplied)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::live::{LiveNode, LiveService, Snapshot};
    use crate::model::{EnvPath, Environment, Service};

    fn service(envs: &[(&str, &[&str])], size: usize) -> crate::view::DesiredService {
        let envs = envs
            .iter()
            .map(|(path, hosts)| {
                let path = EnvPath(path.split('/').filter(|s| !s.is_empty()).map(String::from).collect());
                let values = json!({ "blob": "x".repeat(size) }).as_object().unwrap().clone();
                let hosts = hosts.iter().map(|h| h.to_string()).collect();
                (path, Environment { dir: String::new(), values, hosts })
            })
            .collect();
        crate::view::desired(&Service { name: "s".into(), envs })
    }

    fn applied(desired: &crate::view::DesiredService) -> Snapshot {
        let mut live = LiveService::default();
        for (path, node) in &desired.nodes {
            live.nodes.insert(path.clone(), LiveNode { data: node.bytes.clone(), version: 1, mzxid: 5 });
        }
        live.nodes
            .insert(paths::record("s"), LiveNode { data: b"{\"sha\":null}".to_vec().into(), version: 1, mzxid: 5 });
        Snapshot { root_exists: true, all_services: vec!["s".into()], services: [("s".to_string(), live)].into() }
    }

    /// Where each kind of write lands: (transaction index, op) for every op.
    fn layout(transactions: &[Vec<Op>]) -> Vec<(usize, String)> {
        let mut out = Vec::new();
        for (i, ops) in transactions.iter().enumerate() {
            for op in ops {
                let what = match op {
                    Op::Create { path, .. } => format!("create {path}"),
                    Op::CreateSequential { prefix, .. } => format!("create {prefix}N"),
                    Op::Set { path, .. } => format!("set {path}"),
                    Op::Delete { path, .. } => format!("delete {path}"),
                    Op::Check { path, .. } => format!("check {path}"),
                };
                out.push((i, what));
            }
        }
        out
    }

    #[test]
    fn a_service_that_fits_is_one_transaction() {
        let before = service(&[("", &[]), ("a", &["h"])], 10);
        let after = service(&[("", &[]), ("b", &["h"])], 10);
        let plan = crate::plan::diff(&[after], &applied(&before), &json!({"sha": null}));
        let transactions = transactions(&plan.services[0], false, 10, 1_000_000);
        assert_eq!(transactions.len(), 1);
        assert!(split_reason(&plan.services[0], false, 10, 1_000_000).is_none());
    }

    #[test]
    fn the_size_bound_is_above_every_transaction_made() {
        let before = service(&[("", &[]), ("a", &["h"]), ("a/x", &[]), ("c", &[])], 400);
        let after = service(&[("", &[]), ("b", &["h"]), ("b/y", &[]), ("c", &[])], 401);
        let mut live = applied(&before);
        live.services.get_mut("s").unwrap().log = (0..30).map(|i| format!("log-{i:010}")).collect();
        for (desired, live) in [(&after, &live), (&after, &Snapshot::default()), (&before, &live)] {
            let plan = crate::plan::diff(std::slice::from_ref(desired), live, &json!({"sha": "f00", "actor": "me"}));
            for create_root in [false, true] {
                let size: usize = transactions(&plan.services[0], create_root, 10, 1_000_000)
                    .iter()
                    .flatten()
                    .map(Op::encoded_len)
                    .sum();
                assert!(size_bound(&plan.services[0], create_root) >= size, "{size}");
            }
        }
    }

    #[test]
    fn a_large_service_is_split_so_that_every_step_is_safe_for_clients() {
        // Host h moves from a (deleted) to b (new); every environment's value is ~400 bytes.
        let before = service(&[("", &[]), ("a", &["h"]), ("a/x", &[]), ("c", &[])], 400);
        let after = service(&[("", &[]), ("b", &["h"]), ("b/y", &[]), ("c", &[])], 401);
        let plan = crate::plan::diff(&[after], &applied(&before), &json!({"sha": null}));
        let limit = 1500;
        let transactions = transactions(&plan.services[0], false, 10, limit);
        assert!(transactions.len() > 3, "{:#?}", layout(&transactions));
        for ops in &transactions {
            let size: usize = ops.iter().map(Op::encoded_len).sum();
            assert!(size <= limit || ops.len() == 1, "{size} > {limit}");
        }
        let steps = layout(&transactions);
        let at = |what: &str| steps.iter().find(|(_, op)| op == what).unwrap_or_else(|| panic!("{what}: {steps:#?}")).0;
        let nodemap = at("set /services/s/nodemaps");
        // The views the nodemap points at exist (and are final) before it moves the host.
        assert!(at("create /services/s/views/b") < nodemap);
        assert!(at("create /services/s/conf/b") < nodemap);
        assert!(at("create /services/s/views/b/y") < nodemap);
        assert!(at("set /services/s/views/c") < nodemap);
        // No view is deleted while the nodemap may still point at it.
        assert!(nodemap < at("delete /services/s/views/a"));
        // Children before parents, and the record and audit entry last, together.
        let position = |what: &str| steps.iter().position(|(_, op)| op == what).unwrap();
        assert!(position("delete /services/s/views/a/x") < position("delete /services/s/views/a"));
        assert!(position("delete /services/s/conf/a/x") < position("delete /services/s/conf/a"));
        let last = transactions.len() - 1;
        assert_eq!(at("set /services/s/jones-sync"), last);
        assert_eq!(at("create /services/s/jones-sync/log-N"), last);
        let reason = split_reason(&plan.services[0], false, 10, limit).unwrap();
        assert!(reason.starts_with("`s` will not be applied atomically: its changes take "), "{reason}");
    }
}
