//! The pipeline every planning command goes through, so that a rule holds everywhere at once:
//!
//! ```text
//! scope → connect → lock → read live state in windows → diff → guards → mark splits
//!       → (render | save | apply) → release
//! ```
//!
//! - **scope** ([`Request::new`]): the desired services a command works on (`--service`, or all),
//!   the record each gets, what to do with services ZooKeeper holds and the repository lacks
//!   ([`Others`]), whether ACLs are read, and the apply's limits;
//! - **lock** ([`locked`]): the apply locks of every service in scope, taken before live state is
//!   read and released whatever happens, so two applies never interleave;
//! - **read and diff** ([`plan`], [`plan_locked`]): live state is read a window of
//!   [`READ_WINDOW`] services at a time (two windows in flight), each window's desired views are
//!   materialized just before it is diffed, and only its changes are kept: neither the live copy
//!   nor the views of a large deployment are ever held whole. ACL drift is read with the nodes;
//! - **guards**: the mass-deletion guard's verdict is part of each service's plan
//!   ([`crate::plan::guard`]) and [`check_guards`] refuses it; staleness of a saved plan is
//!   checked under the locks ([`verify_saved`]);
//! - **mark splits**: each service that will not be applied in one transaction says so in the plan
//!   ([`crate::apply::transactions::split_reason`]);
//! - **apply** ([`crate::apply::execute`]) under the same locks the plan was read under.
//!
//! The commands (`plan`, `apply`, `apply FILE`, `rollback`, `status`, `--prune`) differ only in
//! their scope and in what they do with the plan. A long-running caller that already holds a live
//! snapshot plans one service with [`plan_service`], the same pure step the windows use.

use std::borrow::Cow;
use std::collections::BTreeMap;

use bytes::Bytes;
use futures::{StreamExt, TryStreamExt};
use serde_json::Value;

use crate::apply::Session;
use crate::apply::transactions::split_reason;
use crate::desired::DesiredState;
use crate::layout;
use crate::live::{LiveService, Snapshot};
use crate::plan::saved::{SavedPlanError, stale_nodes};
use crate::plan::{Plan, ServicePlan};
use crate::view::DesiredConfs;
use crate::zk::lock::{Holder, LockError, Locks};
use crate::zk::{ConnectOptions, Zk, ZkError};

/// Services whose live state is read and diffed together.
pub const READ_WINDOW: usize = 32;

#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// `--service` names that the repository does not have, each with a suggestion.
    #[error("{}", .0.join("\n"))]
    UnknownServices(Vec<String>),
    #[error(transparent)]
    ZooKeeper(#[from] ZkError),
    #[error(transparent)]
    Lock(#[from] LockError),
    #[error(transparent)]
    Refused(#[from] crate::plan::guard::Refused),
    #[error(transparent)]
    BreakGlass(#[from] crate::plan::break_glass::Refused),
    #[error(transparent)]
    Saved(#[from] SavedPlanError),
}

/// What to do with the services ZooKeeper holds and the desired state lacks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Others {
    /// They are out of scope (`--service`, a rollback, `status`): not even listed.
    OutOfScope,
    /// Listed in the plan as left untouched, the managed ones as prunable.
    Listed,
    /// The managed ones are deleted whole (`--prune`); the others listed.
    Pruned,
}

/// What to plan: the scope of a command.
pub struct Request<'a> {
    /// The desired services in scope, in name order.
    pub desired: Cow<'a, [DesiredConfs]>,
    /// The record each changed service gets (services pinned to another commit record that one).
    pub record: Box<dyn Fn(&str) -> Value + 'a>,
    pub others: Others,
    /// Read live ACLs and plan their drift (`[zookeeper] acl` is set).
    pub acls: bool,
    /// The limits of the apply: request size, audit entries kept, lock timeout.
    pub settings: crate::apply::Settings,
}

impl<'a> Request<'a> {
    /// The services of `state` named by `services` (every one when none is), each recording
    /// `record(name)`; with `prune` and no `--service`, the managed services the repository lacks
    /// are deleted whole. An unknown name is an error that suggests the closest known one.
    pub fn new(
        state: &'a DesiredState,
        services: &[String],
        record: impl Fn(&str) -> Value + 'a,
        prune: bool,
        lock_timeout: std::time::Duration,
    ) -> Result<Request<'a>, SyncError> {
        let settings = &state.repo.settings;
        let others = match (services.is_empty(), prune) {
            (false, _) => Others::OutOfScope,
            (true, false) => Others::Listed,
            (true, true) => Others::Pruned,
        };
        Ok(Request {
            desired: scope(state, services)?,
            record: Box::new(record),
            others,
            acls: settings.zookeeper.acl.is_some(),
            settings: crate::apply::Settings::new(settings, lock_timeout),
        })
    }

    /// The same request for the services of `only` alone (a target's `services`): the others,
    /// wanted or not, are out of scope.
    pub fn only(mut self, only: &[String]) -> Self {
        let kept: Vec<DesiredConfs> = self.desired.iter().filter(|d| only.contains(&d.name)).cloned().collect();
        self.desired = Cow::Owned(kept);
        self.others = Others::OutOfScope;
        self
    }

    /// The same request for a narrower scope of others ([`Others::OutOfScope`] for a rollback).
    pub fn with_others(mut self, others: Others) -> Self {
        self.others = others;
        self
    }

    /// The names of the desired services in scope.
    pub fn names(&self) -> Vec<String> {
        self.desired.iter().map(|d| d.name.clone()).collect()
    }
}

/// The desired services named by `names`, every one when none is; an unknown name is an error.
fn scope<'a>(state: &'a DesiredState, names: &[String]) -> Result<Cow<'a, [DesiredConfs]>, SyncError> {
    if names.is_empty() {
        // Borrowed: a copy of a large repository's desired confs costs time and memory.
        return Ok(Cow::Borrowed(&state.confs));
    }
    let mut problems = Vec::new();
    for name in names.iter().filter(|name| !state.repo.services.contains_key(*name)) {
        let closest = state
            .repo
            .services
            .keys()
            .map(|known| (strsim::damerau_levenshtein(name, known), known))
            .filter(|(distance, _)| *distance <= (name.len() / 3).max(1) && *distance < name.len())
            .min();
        let hint = closest.map(|(_, known)| format!("; did you mean `{known}`?")).unwrap_or_default();
        problems.push(format!("--service `{name}`: the repository has no `services/{name}/`{hint}"));
    }
    if !problems.is_empty() {
        return Err(SyncError::UnknownServices(problems));
    }
    Ok(Cow::Owned(state.confs.iter().filter(|d| names.contains(&d.name)).cloned().collect()))
}

/// Connects to `connect` and makes the nodes this session creates carry `acl` (`[zookeeper] acl`).
pub async fn connect(
    connect: &str,
    timeout: std::time::Duration,
    options: &ConnectOptions,
    acl: Option<&[crate::acl::AclEntry]>,
) -> Result<Zk, ZkError> {
    let mut zk = Zk::connect_with(connect, timeout, options).await?;
    if let Some(acl) = acl {
        zk.set_create_acl(acl);
    }
    Ok(zk)
}

/// A plan, with what the reads showed of each planned service besides its changes.
pub struct Planned {
    pub plan: Plan,
    /// Each desired service in scope, by name.
    pub standing: BTreeMap<String, Standing>,
}

/// What ZooKeeper held of one service when it was planned.
#[derive(Debug, Clone, Default)]
pub struct Standing {
    /// The service node exists.
    pub exists: bool,
    /// The data of its record node, when it has one.
    pub record: Option<Bytes>,
}

impl Standing {
    /// The live record, when it is a readable one.
    pub fn record(&self) -> Option<crate::audit::record::Record> {
        self.record.as_deref().and_then(crate::audit::record::Record::parse)
    }
}

/// The plan of `request` against live state read without locks (`plan`, `status`).
pub async fn plan(zk: &Zk, request: &Request<'_>) -> Result<Planned, ZkError> {
    plan_with(zk, request, &[], |_| true).await
}

/// The plan of `request` against live state read under `session`'s locks (`apply`, `rollback`):
/// the nodes the locks consist of count as missing, so the plan is the one `plan` shows, and
/// only locked services are deleted whole.
pub async fn plan_locked(session: &Session, request: &Request<'_>) -> Result<Planned, ZkError> {
    let ours = session.locks.nodes();
    plan_with(&session.zk, request, &ours, |name| session.locks.holds(name)).await
}

/// The services to lock for `request`: the desired ones, and with [`Others::Pruned`] the managed
/// services the repository lacks (a service deleted whole is locked like any other, found before
/// the locks and confirmed under them).
pub async fn lock_scope(zk: &Zk, request: &Request<'_>) -> Result<Vec<String>, ZkError> {
    let mut names = request.names();
    if request.others == Others::Pruned {
        let removed: Vec<String> =
            zk.snapshot(&[]).await?.all_services.into_iter().filter(|name| !names.contains(name)).collect();
        names.extend(zk.managed(&removed).await?);
    }
    Ok(names)
}

/// Runs `work` holding the apply locks of `services` (waiting for other applies up to the lock
/// timeout), and releases them whatever `work` returns.
pub async fn locked<T, E: From<LockError>>(
    zk: Zk,
    services: &[String],
    holder: Holder,
    settings: &crate::apply::Settings,
    work: impl AsyncFnOnce(&mut Session) -> Result<T, E>,
) -> Result<T, E> {
    let locks = Locks::acquire(&zk, services, &holder, settings.lock_timeout).await?;
    let mut session = Session { zk, locks, holder };
    let result = work(&mut session).await;
    session.locks.release(&session.zk).await;
    result
}

/// What an unattended apply did ([`apply_unattended`]).
pub struct Applied {
    /// The plan executed: read under the locks, without the services skipped.
    pub plan: Plan,
    /// A line for each service skipped because ZooKeeper holds content it must keep
    /// ([`crate::audit::supersede`]).
    pub skipped: String,
    pub outcomes: Vec<crate::apply::Outcome>,
    /// The services held back because their plan undoes break-glass edits (the others applied).
    pub held_back: Option<crate::plan::break_glass::Refused>,
}

/// Applies `request` as `jones-sync apply --yes` does, with nobody to ask (`jones-sync serve`):
/// locks, plans under the locks, skips superseded services, refuses a plan the mass-deletion guard
/// flags (`SyncError::Refused`: never applied unattended), executes, releases. `git` is the
/// repository's, to order commits.
pub async fn apply_unattended(
    zk: Zk,
    state: &DesiredState,
    git: Option<&crate::repo::git::Git>,
    request: &Request<'_>,
    holder: Holder,
) -> Result<Applied, SyncError> {
    let names = lock_scope(&zk, request).await?;
    locked(zk, &names, holder, &request.settings, async |session| {
        let planned = plan_locked(session, request).await?;
        let mut plan = planned.plan;
        let live_record = |name: &str| planned.standing.get(name).and_then(Standing::record);
        let skipped = crate::audit::supersede::skip(git, state, live_record, &mut plan);
        check_guards(&plan, false)?;
        // Nobody is there to say that undoing an emergency edit is meant: those services wait,
        // the others are applied.
        let held_back = crate::plan::break_glass::hold_back(&mut plan);
        let outcomes =
            if plan.is_empty() { Vec::new() } else { crate::apply::execute(session, &plan, &request.settings).await };
        Ok::<_, SyncError>(Applied { plan, skipped, outcomes, held_back })
    })
    .await
}

/// One service planned against a live snapshot the caller already holds: its desired nodes
/// materialized, diffed, and marked when it will not be applied atomically. Pure.
pub fn plan_service(
    desired: &DesiredConfs,
    snapshot: &Snapshot,
    record: &Value,
    settings: &crate::apply::Settings,
) -> ServicePlan {
    let empty = LiveService::default();
    let live = snapshot.services.get(&desired.name).unwrap_or(&empty);
    let mut service = crate::plan::diff_service(&desired.materialize(), live, record);
    service.not_atomic = split_reason(&service, !snapshot.root_exists, settings.keep, settings.max_request_bytes);
    service
}

/// `service`'s plan (made by [`plan_service`]) as it would be made with the record `record`
/// instead of the one it was made with, from the same desired confs and live state: the record
/// is the one node whose content does not follow from them (it names the commit), so only its
/// change, and whether the whole still fits one transaction, are made again.
pub fn restamp(service: &mut ServicePlan, record: &Value, create_root: bool, settings: &crate::apply::Settings) {
    let path = layout::record(&service.name);
    let Some(change) = service.changes.iter_mut().find(|c| c.path == path) else { return };
    let after = Bytes::from(serde_json::to_vec(record).expect("JSON values always serialize"));
    match &mut change.action {
        crate::plan::Action::Create { after: old } | crate::plan::Action::Update { after: old, .. } => *old = after,
        crate::plan::Action::Delete { .. } => return,
    }
    service.not_atomic = split_reason(service, create_root, settings.keep, settings.max_request_bytes);
}

/// Reads the live state of the desired services a window at a time and plans each; `ours` are
/// nodes this process made itself (its locks), which count as missing; `may_prune` says which of
/// the managed services the repository lacks may be deleted whole.
///
/// At least one window is read, even empty: the plan also says whether `/services` exists and
/// which services the repository lacks (from the first window's read, as one snapshot of every
/// service would).
async fn plan_with(
    zk: &Zk,
    request: &Request<'_>,
    ours: &[String],
    may_prune: impl Fn(&str) -> bool,
) -> Result<Planned, ZkError> {
    let desired: &[DesiredConfs] = &request.desired;
    let windows: Vec<&[DesiredConfs]> =
        if desired.is_empty() { vec![&[]] } else { desired.chunks(READ_WINDOW).collect() };
    let mut reads = futures::stream::iter(windows)
        .map(|window| async move {
            let names: Vec<String> = window.iter().map(|d| d.name.clone()).collect();
            let mut snapshot = zk.snapshot(&names).await?.without(ours);
            if request.acls {
                zk.read_acls(&mut snapshot).await?;
            }
            Ok::<_, ZkError>((window, snapshot))
        })
        .buffered(2);
    let mut planned = Planned { plan: Plan::default(), standing: BTreeMap::new() };
    let mut first = true;
    crate::progress::step("reading ZooKeeper", Some(desired.len() as u64), "services");
    while let Some((window, snapshot)) = reads.try_next().await? {
        crate::progress::advance(window.len() as u64);
        if first {
            planned.plan.create_root = !snapshot.root_exists;
            planned.plan.root_czxid = snapshot.root_czxid;
            let names = desired.iter().map(|d| d.name.as_str());
            planned.plan.unmanaged = crate::plan::unmanaged(names, &snapshot.all_services);
            first = false;
        }
        for service in window {
            let live = snapshot.services.get(&service.name);
            let standing = Standing {
                exists: live.is_some_and(|l| l.nodes.contains_key(&layout::service(&service.name))),
                record: live.and_then(|l| l.nodes.get(&layout::record(&service.name))).map(|n| n.data.clone()),
            };
            planned.standing.insert(service.name.clone(), standing);
            let record = (request.record)(&service.name);
            planned.plan.services.push(plan_service(service, &snapshot, &record, &request.settings));
        }
    }
    let plan = &mut planned.plan;
    match request.others {
        Others::OutOfScope => plan.unmanaged.clear(),
        Others::Listed | Others::Pruned => {
            let managed = zk.managed(&plan.unmanaged).await?;
            let pruned: Vec<String> = match request.others {
                Others::Pruned => managed.iter().filter(|name| may_prune(name)).cloned().collect(),
                _ => Vec::new(),
            };
            let mut whole = zk.whole_services(&pruned).await?;
            for service in whole.values_mut() {
                service.nodes.retain(|path, _| !ours.contains(path));
            }
            crate::plan::prune::extend(plan, &managed, &whole);
            let settings = &request.settings;
            for service in plan.services.iter_mut().filter(|s| s.prune) {
                service.not_atomic = split_reason(service, plan.create_root, settings.keep, settings.max_request_bytes);
            }
        }
    }
    Ok(planned)
}

/// Refuses a plan that the mass-deletion guard flags, unless `allowed` (`--allow-mass-delete`).
pub fn check_guards(plan: &Plan, allowed: bool) -> Result<(), crate::plan::guard::Refused> {
    if allowed { Ok(()) } else { crate::plan::guard::check(plan) }
}

/// Checks a saved plan against live state read under `session`'s locks: refuses it (naming every
/// node) when a node it writes, or relies on, is not as the plan read it ([`stale_nodes`]), or
/// when its content does not hold what jones-sync writes ([`crate::plan::verify`]); and works out
/// again, from the live state, what the file must not decide: whether each service is managed,
/// and the mass-deletion guard's verdict.
pub async fn verify_saved(
    session: &Session,
    file: &std::path::Path,
    plan: &mut Plan,
    limits: crate::plan::verify::Limits,
) -> Result<(), SyncError> {
    let names: Vec<String> = plan.services.iter().filter(|s| !s.is_empty()).map(|s| s.name.clone()).collect();
    let mut live = session.zk.snapshot(&names).await?;
    // A service deleted whole relies on its whole tree.
    let pruned: Vec<String> = plan.services.iter().filter(|s| s.prune).map(|s| s.name.clone()).collect();
    live.services.extend(session.zk.whole_services(&pruned).await?);
    // The nodes a lock had to create do not make the plan stale.
    let live = live.without(&session.locks.nodes());
    let path = file.display().to_string();
    let problems = crate::plan::verify::file_problems(plan, limits);
    if !problems.is_empty() {
        return Err(SavedPlanError::Invalid { path, problems }.into());
    }
    let stale = stale_nodes(plan, &live);
    if !stale.is_empty() {
        return Err(SavedPlanError::Stale { path, nodes: stale }.into());
    }
    let mut problems = crate::plan::verify::after_problems(plan, &live);
    let empty = LiveService::default();
    for service in plan.services.iter_mut().filter(|s| !s.is_empty()) {
        let live_service = live.services.get(&service.name).unwrap_or(&empty);
        let record = live_service.nodes.get(&layout::record(&service.name));
        // An empty record node (left by a lock) is not a record.
        service.managed = record.is_some_and(|node| !node.data.is_empty());
        if service.prune && !service.managed {
            let reason = "is deleted whole by the plan, but jones-sync does not manage it (it has no record)";
            problems
                .push(crate::plan::saved::StaleNode { path: layout::service(&service.name), reason: reason.into() });
        }
        let (name, managed, prune) = (&service.name, service.managed, service.prune);
        service.mass_delete = crate::plan::guard::assess(name, managed, prune, live_service, &service.changes);
        service.break_glass = crate::plan::break_glass::assess(name, live_service, &service.changes);
    }
    if !problems.is_empty() {
        return Err(SavedPlanError::Invalid { path, problems }.into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::model::{EnvPath, Environment, Service};

    fn confs() -> DesiredConfs {
        let env = |values: serde_json::Value, hosts: &[&str]| Environment {
            dir: String::new(),
            values: values.as_object().unwrap().clone(),
            hosts: hosts.iter().map(|h| h.to_string()).collect(),
        };
        let envs = [
            (EnvPath::root(), env(json!({"a": 1}), &[])),
            (EnvPath(vec!["prod".into()]), env(json!({"b": "x".repeat(200)}), &["h"])),
        ];
        DesiredConfs::new(&Service { name: "s".into(), envs: envs.into_iter().collect() })
    }

    fn settings(max_request_bytes: usize) -> crate::apply::Settings {
        crate::apply::Settings { max_request_bytes, keep: 10, lock_timeout: std::time::Duration::ZERO }
    }

    /// What a long-running caller does: plan one service against a snapshot it holds, with no
    /// ZooKeeper at hand.
    #[test]
    fn one_service_plans_against_a_held_snapshot() {
        let confs = confs();
        let record = json!({"sha": null});
        let empty = Snapshot::default();
        let service = plan_service(&confs, &empty, &record, &settings(1_000_000));
        let created: Vec<&str> = service.changes.iter().map(|c| c.path.as_str()).collect();
        assert_eq!(
            created,
            [
                "/services/s",
                "/services/s/conf",
                "/services/s/conf/prod",
                "/services/s/jones-sync",
                "/services/s/nodemaps",
                "/services/s/views",
                "/services/s/views/prod"
            ]
        );
        assert_eq!(service.not_atomic, None);
        // The same plan, split when it does not fit in one request: the plan says so.
        let split = plan_service(&confs, &empty, &record, &settings(600));
        assert!(split.not_atomic.unwrap().starts_with("`s` will not be applied atomically"));
        // Against the state it would write, nothing is left to do.
        let mut live = LiveService::default();
        for (path, node) in &confs.materialize().nodes {
            live.nodes.insert(
                path.clone(),
                crate::live::LiveNode { data: node.bytes.clone(), version: 0, mzxid: 1, czxid: 1 },
            );
        }
        let applied = Snapshot {
            root_exists: true,
            root_czxid: Some(1),
            all_services: vec!["s".into()],
            services: [("s".into(), live)].into(),
        };
        assert!(plan_service(&confs, &applied, &record, &settings(1_000_000)).is_empty());
    }

    #[test]
    fn a_restamped_plan_is_the_plan_made_with_the_other_record() {
        let confs = confs();
        let empty = Snapshot::default();
        let short = json!({"sha": "a"});
        let long = json!({"sha": "a", "subject": "y".repeat(300)});
        // The smallest limit the short record fits, which the long one does not.
        let fits = |record: &Value, limit| plan_service(&confs, &empty, record, &settings(limit)).not_atomic.is_none();
        let tight = (1000..10_000).step_by(50).find(|&limit| fits(&short, limit)).unwrap();
        assert!(!fits(&long, tight));
        for limit in [1_000_000, tight] {
            let mut restamped = plan_service(&confs, &empty, &short, &settings(limit));
            restamp(&mut restamped, &long, true, &settings(limit));
            let made = plan_service(&confs, &empty, &long, &settings(limit));
            assert_eq!(serde_json::to_value(&restamped).unwrap(), serde_json::to_value(&made).unwrap(), "{limit}");
        }
    }
}
