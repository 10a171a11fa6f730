//! Executing a plan: per service, the ZooKeeper `multi` transactions of [`transactions`], every
//! write guarded by the version the plan read, so that a concurrent edit aborts the transaction and
//! nothing of it is written; then the ACLs the plan sets (a `multi` cannot set one).
//!
//! Invariants of what is written (see [`transactions`]): parents before children, the nodemap
//! after the views it points at, deletes children first, and the record and audit entry last (in
//! the same transaction as the rest when the service fits in one request). When a split service
//! fails halfway, the transactions before stay applied, each safe for clients on its own (the
//! outcome says how many); a rerun finishes the job. A service deleted whole also deletes our own
//! lock node, a child of what goes ([`crate::zk::lock::Locks::adopt`]).
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
//! unknown, which is what makes the report after a lost connection exact (what pipelining them
//! would save is measured in docs/performance.md). What comes before the commits is
//! pipelined already: the locks of every service and the live reads.

pub mod report;
pub mod transactions;

use std::time::Duration;

use crate::layout::{self, NodeKind};
use crate::plan::{Action, Counts, Plan, ServicePlan};
use crate::zk::lock::{Holder, LockError, Locks};
use crate::zk::{AclWrite, CommitError, Op, Zk, ZkError};

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

impl Settings {
    /// The repository's `[zookeeper] max_request_bytes` and `[history] keep`, and `lock_timeout`.
    pub fn new(settings: &crate::repo::settings::Settings, lock_timeout: Duration) -> Settings {
        Settings {
            max_request_bytes: settings.zookeeper.max_request_bytes,
            keep: settings.history.keep(),
            lock_timeout,
        }
    }
}

/// What happened to one service.
#[derive(Debug)]
pub struct Outcome {
    pub service: String,
    /// The service's changes, as the plan counts them ([`ServicePlan::counts`]).
    pub counts: Counts,
    /// `/services` was created with the service's first transaction.
    pub created_root: bool,
    /// Nothing was written: another apply created the service first, with this very content.
    pub by_another: bool,
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
    NotApplied { attempts: usize, error: String },
    #[error("the session expired and the locks could not be taken again, so nothing more was written: {0}")]
    Relock(LockError),
    #[error(
        "the connection to ZooKeeper was lost during the commit and could not be restored, so whether it was \
         applied is unknown; once ZooKeeper is back, `jones-sync plan` shows it and `apply` finishes the job: {0}"
    )]
    Reconnect(ZkError),
    /// ACLs are set after the transaction (a `multi` cannot set them): its data is written.
    #[error("its changes were applied, but not every ACL was set: {0}")]
    Acl(String),
    #[error("the session to ZooKeeper was lost and could not be restored, so nothing of it was sent: {0}")]
    Lost(ZkError),
    #[error("not attempted: this apply lost ZooKeeper or its locks at `{after}`; nothing of it was written")]
    NotAttempted { after: String },
    #[error(
        "another apply wrote `{service}` since this one read it, so nothing more of it was written; \
         `jones-sync plan` shows where it stands"
    )]
    Interleaved { service: String },
    #[error(
        "`/services/{service}` was created by someone else since it was read, with other content than this plan's, \
         so nothing was written; `jones-sync plan` shows what it holds now"
    )]
    CreatedMeanwhile { service: String },
    #[error(
        "this apply's lock on `{service}` is gone (its session expired while the process was stalled, or \
         `jones-sync unlock` removed it), so nothing of the transaction was written; run apply again"
    )]
    LockLost { service: String },
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
pub async fn execute(session: &mut Session, plan: &Plan, settings: &Settings) -> Vec<Outcome> {
    let mut create_root = plan.create_root;
    let mut outcomes = Vec::new();
    let mut run = Run { session, settings, relock: false, ended: None };
    let now = crate::clock::now();
    crate::progress::step("applying", Some(plan.services.iter().filter(|s| !s.is_empty()).count() as u64), "services");
    for service in plan.services.iter().filter(|s| !s.is_empty()) {
        crate::progress::advance(1);
        let mut outcome = Outcome {
            service: service.name.clone(),
            counts: service.counts(),
            created_root: false,
            by_another: false,
            transactions: 0,
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
        loop {
            // A service with only ACLs to set has no transaction.
            let transactions: Vec<Vec<Op>> =
                transactions::transactions(service, create_root, settings.keep, settings.max_request_bytes, &now)
                    .into_iter()
                    .filter(|ops| !ops.is_empty())
                    .collect();
            outcome.transactions = transactions.len();
            run.commit_all(service, &transactions, apply_id.as_deref(), &mut outcome).await;
            // A service ZooKeeper did not hold was not locked: another apply may have made it (or
            // `/services`) first, and then nothing of this one was written.
            let unlocked = outcome.committed == 0 && !run.session.locks.holds(&service.name);
            match outcome.result.as_ref().err().and_then(made_meanwhile) {
                Some(path) if unlocked && path == layout::SERVICES && create_root => {
                    create_root = false;
                    outcome.result = Ok(None);
                    continue;
                }
                Some(path) if unlocked && path == layout::service(&service.name) => {
                    outcome.result = run.settle_race(service).await;
                    outcome.by_another = outcome.result.is_ok();
                }
                _ => {}
            }
            break;
        }
        // ZooKeeper cannot set an ACL in a `multi`: ACLs are set once the data is applied.
        if outcome.result.is_ok() && !service.acls.is_empty() {
            let writes: Vec<AclWrite> = service
                .acls
                .iter()
                .map(|change| AclWrite { path: &change.path, acl: &change.after, aversion: change.aversion })
                .collect();
            let failed = run.session.zk.set_acls(&writes).await;
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
            // `/services` went with the first transaction of the first service applied.
            outcome.created_root = std::mem::take(&mut create_root);
        }
        outcomes.push(outcome);
    }
    outcomes
}

/// The `apply_id` of the record this plan writes for `service`.
fn apply_id(service: &ServicePlan) -> Option<String> {
    service.changes.iter().find(|c| c.kind == NodeKind::Record).and_then(|change| match &change.action {
        Action::Create { after } | Action::Update { after, .. } => {
            crate::audit::record::Record::parse(after).and_then(|record| record.apply_id)
        }
        Action::Delete { .. } => None,
    })
}

/// The node a failed commit found made by someone else meanwhile, if that is why it failed.
fn made_meanwhile(err: &ApplyError) -> Option<&str> {
    match err {
        ApplyError::Commit(CommitError::Conflict { path, exists: true, .. }) => Some(path),
        _ => None,
    }
}

/// Whether `live` holds exactly what `service`'s plan creates (the service was absent when
/// planned): the same nodes with the same data, and a record of the same commit.
fn same_creation(service: &ServicePlan, live: &crate::live::LiveService) -> bool {
    use crate::audit::record::Record;
    let creates: Vec<(&str, &[u8], NodeKind)> = service
        .changes
        .iter()
        .filter_map(|c| match &c.action {
            Action::Create { after } => Some((c.path.as_str(), &after[..], c.kind)),
            _ => None,
        })
        .collect();
    let same_record = |ours: &[u8], theirs: &[u8]| match (Record::parse(ours), Record::parse(theirs)) {
        (Some(ours), Some(theirs)) => {
            (ours.sha, ours.dirty, ours.pin, ours.rollback) == (theirs.sha, theirs.dirty, theirs.pin, theirs.rollback)
        }
        _ => false,
    };
    creates.len() == service.changes.len()
        && live.nodes.len() == creates.len()
        && creates.iter().all(|(path, data, kind)| match live.nodes.get(*path) {
            Some(node) if *kind == NodeKind::Record => same_record(data, &node.data),
            Some(node) => node.data == *data,
            None => false,
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
        plan: &ServicePlan,
        planned: &[Op],
        apply_id: Option<&str>,
        record_written: bool,
        recovery: &mut Recovery,
    ) -> Result<Option<i64>, ApplyError> {
        let service = plan.name.as_str();
        for attempt in 1..=ATTEMPTS {
            self.ready(recovery).await?;
            // Nodes this process's locks created are written, not created, and a service deleted
            // whole takes our lock node with it ([`Locks::adopt`]): adopted at every attempt, as
            // the locks taken again on a new session are new nodes. The checks go last.
            let mut ops = self.session.locks.adopt(planned.to_vec());
            ops.extend(checks(plan, &ops, &self.session.locks, record_written));
            match self.session.zk.commit(&ops).await {
                Ok(zxid) => return Ok(zxid),
                Err(CommitError::Unknown(error)) => {
                    if let Found::Applied(zxid) = self.applied(service, &ops, apply_id, recovery).await? {
                        recovery.found_applied += 1;
                        return Ok(zxid);
                    }
                    if attempt == ATTEMPTS {
                        return Err(ApplyError::NotApplied { attempts: ATTEMPTS, error: error.to_string() });
                    }
                    recovery.resent += 1;
                }
                Err(CommitError::Conflict { path, .. })
                    if (layout::is_lock_node(&path) || path == layout::record(service))
                        && ops.iter().any(|op| matches!(op, Op::Check { path: checked, .. } if *checked == path)) =>
                {
                    // One of [`checks`] failed: the lock is gone, or another apply wrote the record.
                    return Err(if layout::is_lock_node(&path) {
                        ApplyError::LockLost { service: service.to_string() }
                    } else {
                        ApplyError::Interleaved { service: service.to_string() }
                    });
                }
                Err(err) => return Err(err.into()),
            }
        }
        unreachable!("the last attempt returns")
    }

    /// Commits `transactions` of `service` in order, into `outcome`, up to the first failure.
    async fn commit_all(
        &mut self,
        service: &ServicePlan,
        transactions: &[Vec<Op>],
        apply_id: Option<&str>,
        outcome: &mut Outcome,
    ) {
        let limit = self.settings.max_request_bytes;
        let record = layout::record(&service.name);
        // Once this apply wrote the record, the transactions after it (pruning the audit log)
        // need no check of it.
        let mut record_written = false;
        for ops in transactions {
            let adopted = self.session.locks.adopt(ops.clone());
            let size: usize = adopted
                .iter()
                .chain(&checks(service, &adopted, &self.session.locks, record_written))
                .map(Op::encoded_len)
                .sum();
            let committed = if size > limit {
                Err(ApplyError::TooLarge { size, limit })
            } else if outcome.committed > 0 && !self.session.locks.holds(&service.name) {
                // A service ZooKeeper did not hold was not locked; its first transaction made it:
                // locked now, before anything more is written.
                self.take_lock(&service.name).await
            } else {
                Ok(None)
            };
            let committed = match committed {
                Ok(_) => self.commit(service, ops, apply_id, record_written, &mut outcome.recovery).await,
                Err(err) => Err(err),
            };
            match committed {
                Ok(zxid) => {
                    outcome.committed += 1;
                    // The record's own write, not the empty one a split new service starts with.
                    record_written |= ops.iter().any(|op| match op {
                        Op::Set { path, .. } => *path == record,
                        Op::Create { path, data } => *path == record && !data.is_empty(),
                        _ => false,
                    });
                    outcome.result = Ok(zxid.or(outcome.result.as_ref().ok().copied().flatten()));
                }
                Err(err) => {
                    if err.ends_the_apply() {
                        self.ended = Some(service.name.clone());
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
                    return;
                }
            }
        }
    }

    /// After someone else created `service` first (this apply, which found it absent, wrote
    /// nothing): reads what is there. Exactly this plan's content (another apply of the same
    /// commit: a service that fits one transaction appears whole) is success, with nothing
    /// written; anything else is an error that says to plan again. Nothing is locked or written.
    async fn settle_race(&mut self, service: &ServicePlan) -> Result<Option<i64>, ApplyError> {
        let live = self.session.zk.snapshot(std::slice::from_ref(&service.name)).await;
        let live = live.map_err(ApplyError::Lost)?.without(&self.session.locks.nodes());
        match live.services.get(&service.name) {
            Some(live) if same_creation(service, live) => Ok(None),
            _ => Err(ApplyError::CreatedMeanwhile { service: service.name.clone() }),
        }
    }

    /// Takes the lock of `service`, which ZooKeeper did not hold when the apply began: its first
    /// transaction made it (with an empty record, which the next transactions check).
    async fn take_lock(&mut self, service: &str) -> Result<Option<i64>, ApplyError> {
        let mut recovery = Recovery::default();
        self.ready(&mut recovery).await?;
        let Session { zk, locks, holder } = &mut *self.session;
        locks.take(zk, service, holder, self.settings.lock_timeout).await.map_err(ApplyError::Relock)?;
        Ok(None)
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
                Err(err) if err.session_ended() => {
                    self.session.zk.reconnect().await.map_err(ApplyError::Reconnect)?;
                    recovery.new_sessions += 1;
                    self.relock = true;
                }
                Err(_) if tokio::time::Instant::now() < deadline => {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                Err(err) => {
                    let connect = self.session.zk.connect_string().to_string();
                    return Err(ApplyError::Reconnect(ZkError::Connect { connect, reason: err.reason() }));
                }
            }
        }
    }
}

/// The checks that end a transaction of `plan` made of `ops`, so that it cannot land once
/// another process may have written the service: our lock node still exists (it vanishes with an
/// expired session, or by `unlock`), and the service's record is still as the plan read it (every
/// apply writes the record, last: a split apply resent on a new session after another apply
/// landed stops here instead of mixing two commits). A transaction that writes the record, or
/// deletes our lock node, is guarded by that write's own version.
fn checks(plan: &ServicePlan, ops: &[Op], locks: &Locks, record_written: bool) -> Vec<Op> {
    let writes = |path: &str| ops.iter().any(|op| op.path() == path);
    let mut checks = Vec::new();
    if let Some(lock) = locks.lock_node(&plan.name)
        && !writes(lock)
    {
        checks.push(Op::Check { path: lock.to_string(), version: 0 });
    }
    let record = layout::record(&plan.name);
    if !writes(&record) && !record_written {
        let read = plan.changes.iter().find(|c| c.kind == NodeKind::Record).map(|c| match &c.action {
            Action::Update { version, .. } | Action::Delete { version, .. } => *version,
            // Created: the empty node made by our lock, or by this service's first transaction
            // ([`transactions`]); a transaction that makes it writes it.
            Action::Create { .. } => 0,
        });
        if let Some(version) = read {
            checks.push(Op::Check { path: record, version });
        }
    }
    checks
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
async fn was_applied(zk: &Zk, service: &str, ops: &[Op], apply_id: Option<&str>) -> Result<Found, ZkError> {
    let apply_of = |data: &[u8]| crate::audit::record::Record::parse(data).and_then(|r| r.apply_id);
    let record = layout::record(service);
    let writes_record =
        ops.iter().any(|op| matches!(op, Op::Create { path, .. } | Op::Set { path, .. } if *path == record));
    if let (true, Some(id)) = (writes_record, apply_id) {
        if let Some(node) = zk.node(&record).await?
            && apply_of(&node.data).as_deref() == Some(id)
        {
            return Ok(Found::Applied(Some(node.mzxid)));
        }
        // A later apply may have landed on top of ours (after our session expired): the log says.
        let mut entries: Vec<String> = zk.children(&record).await?.unwrap_or_default();
        entries.retain(|name| layout::is_entry(name));
        entries.sort_unstable_by(|a, b| b.cmp(a));
        for name in entries.iter().take(20) {
            let Some(entry) = zk.node(&layout::log_entry(service, name)).await? else { continue };
            if apply_of(&entry.data).as_deref() == Some(id) {
                return Ok(Found::Applied(Some(entry.czxid)));
            }
        }
        return Ok(Found::NotApplied);
    }
    let found = |applied: bool, zxid: Option<i64>| if applied { Found::Applied(zxid) } else { Found::NotApplied };
    // A lock node is no evidence: it vanishes with its session whether or not the transaction
    // that deletes it was applied.
    for op in ops.iter().filter(|op| !layout::is_lock_node(op.path())) {
        return match op {
            Op::Create { path, data } => Ok(match zk.node(path).await? {
                Some(now) => found(now.data == *data, Some(now.mzxid)),
                None => Found::NotApplied,
            }),
            Op::Set { path, data, version } => Ok(match zk.node(path).await? {
                Some(now) => found(now.data == *data && now.version == version + 1, Some(now.mzxid)),
                None => Found::NotApplied,
            }),
            Op::Delete { path, .. } => Ok(found(zk.node(path).await?.is_none(), None)),
            Op::Check { .. } | Op::CreateSequential { .. } => continue,
        };
    }
    Ok(Found::NotApplied)
}
