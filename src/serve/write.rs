//! What the writing modes do with the plans the reconciler keeps, on the leader only.
//!
//! - `apply`: keeps ZooKeeper at the branch head. When a commit comes into force (and at start),
//!   every service with pending changes is applied as `jones-sync apply --yes` would
//!   ([`crate::sync::apply_unattended`]: locks, guards, supersede, audit record), once per commit.
//!   A plan the mass-deletion guard flags is not applied and is reported.
//! - `heal`: as `apply`, and also puts back drift (an out-of-band edit of a managed service) once
//!   it has persisted for `--heal-after`; each heal is an apply whose record and audit entry name
//!   the actor `jones-sync serve`.
//!
//! Each apply runs on a session of its own (the reconciler's watch session is never used to
//! write), under the services' locks, so a second writer — another replica that believes it leads
//! for a moment, a CI pipeline — is serialized and version-guarded. A failed apply is counted in
//! `jones_sync_reconcile_errors_total`, shown on its services, and tried again a minute later (at
//! the next event, full read or commit after that; apply) or once the grace period passed again
//! (heal): never in a tight loop.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use serde_json::json;

use super::Mode;
use super::connect::Connect;
use super::leader::Leadership;
use super::log::Log;
use super::state::Shared;
use crate::audit::record::Record;
use crate::desired::DesiredState;

/// The writing half of the reconciler.
pub struct Writer {
    pub mode: Mode,
    pub connect: Connect,
    pub leadership: Leadership,
    pub heal_after: Duration,
    pub repo: PathBuf,
    pub lock_timeout: Duration,
    /// The commit this replica last applied (as leader): `apply` applies each commit once.
    applied: Option<String>,
    /// Since when each service has drifted, as this replica saw it.
    drifting: BTreeMap<String, Instant>,
    /// After a failed apply of the commit in force, when to try it again.
    retry_at: Option<Instant>,
    /// The clusters of the earlier waves (`[rollout] waves`): a new commit is applied here only
    /// once each of them is in sync with it.
    pub gate: Vec<std::sync::Arc<Shared>>,
    /// A new commit waits for the earlier waves.
    waiting: bool,
}

/// How long a failed apply of a commit waits before it is tried again (at the next event, full
/// read or commit after that).
const RETRY_AFTER: Duration = Duration::from_secs(60);

impl Writer {
    pub fn new(
        mode: Mode,
        connect: Connect,
        leadership: Leadership,
        heal_after: Duration,
        repo: PathBuf,
        lock_timeout: Duration,
    ) -> Writer {
        Writer {
            mode,
            connect,
            leadership,
            heal_after,
            repo,
            lock_timeout,
            applied: None,
            drifting: BTreeMap::new(),
            retry_at: None,
            gate: Vec::new(),
            waiting: false,
        }
    }

    /// A new commit waits for the earlier waves (the reconciler asks again shortly).
    pub fn waiting(&self) -> bool {
        self.waiting
    }

    /// The targets of the earlier waves that are not in sync with the commit `sha` yet: their
    /// commit in force is another, they have not read ZooKeeper yet, or a service has changes
    /// pending (an apply failed, was refused or held back).
    fn behind(&self, sha: &str) -> Vec<String> {
        self.gate
            .iter()
            .filter_map(|shared| {
                let status = shared.read();
                let synced = status.commit.as_ref().is_some_and(|c| c.sha == sha)
                    && status.first_sync
                    && status.services.values().all(|s| s.in_sync());
                (!synced).then(|| status.target.clone().unwrap_or_default())
            })
            .collect()
    }

    /// Whether this replica writes at all.
    pub fn writes(&self) -> bool {
        self.mode != Mode::Observe
    }

    /// Notes which services drift now (from the shared status), for the heal's grace period; the
    /// earliest moment a heal is due, if any.
    pub fn note_drift(&mut self, shared: &Shared) -> Option<Instant> {
        if self.mode != Mode::Heal {
            return None;
        }
        let now = Instant::now();
        let status = shared.read();
        self.drifting.retain(|name, _| status.services.get(name).is_some_and(|s| !s.drift().is_empty()));
        for (name, service) in &status.services {
            if !service.drift().is_empty() {
                self.drifting.entry(name.clone()).or_insert(now);
            }
        }
        self.drifting.values().min().map(|since| *since + self.heal_after)
    }

    /// Acts on the plans in `shared` for the commit `state` (at start, at a new commit, after a
    /// full read, and when a heal is due): applies what the mode says, if this replica leads.
    /// Whether it applied changes (and all it tried).
    pub async fn act(&mut self, state: &DesiredState, shared: &Shared, log: Log) -> bool {
        if !self.writes() || !self.leadership.leads() {
            return false;
        }
        let sha = state.commit().map(|c| c.sha.clone());
        let mut names: Vec<String> = Vec::new();
        let retry = self.retry_at.is_some_and(|at| Instant::now() >= at);
        let mut new_commit = sha.is_some() && (self.applied != sha || retry);
        // Waves: the commit waits until every target of the earlier waves is in sync with it.
        let behind = match (&sha, new_commit) {
            (Some(sha), true) => self.behind(sha),
            _ => Vec::new(),
        };
        if !behind.is_empty() {
            new_commit = false;
            if !self.waiting {
                let names = behind.iter().map(|n| format!("`{n}`")).collect::<Vec<_>>().join(", ");
                log.info(
                    "wave",
                    &format!("the new commit waits for the earlier waves: {names} not in sync with it yet"),
                    json!({"waiting_for": behind}),
                );
            }
        }
        self.waiting = !behind.is_empty();
        shared.write().waiting_for = behind;
        if new_commit {
            let status = shared.read();
            names.extend(status.services.values().filter(|s| !s.in_sync()).map(|s| s.name.clone()));
        }
        if self.mode == Mode::Heal {
            let now = Instant::now();
            let status = shared.read();
            for (name, since) in &self.drifting {
                let drifts = status.services.get(name).is_some_and(|s| !s.drift().is_empty());
                if drifts && now >= *since + self.heal_after && !names.contains(name) {
                    names.push(name.clone());
                }
            }
        }
        if new_commit {
            self.applied = sha.clone();
            self.retry_at = None;
        }
        if names.is_empty() {
            return false;
        }
        names.sort();
        let heals: Vec<String> = names.iter().filter(|n| self.drifting.contains_key(*n)).cloned().collect();
        // A heal that fails waits a whole grace period again.
        for name in &heals {
            self.drifting.insert(name.clone(), Instant::now());
        }
        let applied = self.apply(state, shared, log, &names, &heals).await;
        if !applied && new_commit {
            self.retry_at = Some(Instant::now() + RETRY_AFTER);
        }
        applied
    }

    /// Applies `names`; whether everything was applied.
    async fn apply(&self, state: &DesiredState, shared: &Shared, log: Log, names: &[String], heals: &[String]) -> bool {
        let what = if heals.is_empty() { "apply" } else { "heal" };
        let record = |name: &str| Record::new(state.origin(name), super::ACTOR.into()).to_json();
        let request = match crate::sync::Request::new(state, names, record, false, self.lock_timeout) {
            Ok(request) => request,
            Err(err) => return self.failed(shared, log, what, names, &err.to_string()),
        };
        let git = match crate::repo::git::Git::open(&self.repo) {
            Ok(git) => git,
            Err(err) => return self.failed(shared, log, what, names, &err.to_string()),
        };
        let mut zk = match self.connect.zk().await {
            Ok(zk) => zk,
            Err(err) => return self.failed(shared, log, what, names, &err.to_string()),
        };
        // The nodes it creates carry the commit's `[zookeeper] acl`.
        if let Some(acl) = &state.repo.settings.zookeeper.acl {
            zk.set_create_acl(acl);
        }
        let holder = crate::zk::lock::Holder::me(super::ACTOR, state.commit().map(|c| c.sha.clone()));
        let started = Instant::now();
        match crate::sync::apply_unattended(zk, state, git.as_ref(), &request, holder).await {
            Ok(applied) => {
                if !applied.skipped.is_empty() {
                    log.warn(what, applied.skipped.trim_end(), json!({"services": names}));
                }
                // Held back until the repository holds the edits (or someone reverts them): shown
                // on each service, not tried again before the next commit.
                for (name, edits) in applied.held_back.iter().flat_map(|held| &held.services) {
                    let edits: Vec<String> = edits.iter().map(|edit| edit.describe()).collect();
                    let why = format!(
                        "{name}: not applied: this commit would undo break-glass edits ({}); bring them into the \
                         repository (`jones-sync pull`) or revert them on purpose (`jones-sync apply \
                         --revert-break-glass`)",
                        edits.join("; ")
                    );
                    if let Some(service) = shared.write().services.get_mut(name) {
                        service.apply_error = Some(format!("{what}: {why}"));
                    }
                    log.warn(what, &why, json!({"service": name}));
                }
                let mut all = true;
                for outcome in &applied.outcomes {
                    let counts = outcome.counts;
                    if outcome.result.is_ok()
                        && let Some(service) = shared.write().services.get_mut(&outcome.service)
                    {
                        service.apply_error = None;
                    }
                    match &outcome.result {
                        Ok(zxid) => log.info(
                            what,
                            &format!(
                                "{}: applied: {} created, {} updated, {} deleted",
                                outcome.service, counts.create, counts.update, counts.delete
                            ),
                            json!({"service": outcome.service, "zxid": zxid, "healed": heals.contains(&outcome.service),
                                   "ms": started.elapsed().as_millis() as u64}),
                        ),
                        Err(err) => {
                            let service = std::slice::from_ref(&outcome.service);
                            all = self.failed(shared, log, what, service, &err.to_string());
                        }
                    }
                }
                all
            }
            Err(err) => self.failed(shared, log, what, names, &err.to_string()),
        }
    }

    /// Reports a failure on `names`; `false`, for the caller to return.
    fn failed(&self, shared: &Shared, log: Log, what: &str, names: &[String], why: &str) -> bool {
        shared.metrics.reconcile_errors.inc();
        let mut status = shared.write();
        for name in names {
            if let Some(service) = status.services.get_mut(name) {
                service.apply_error = Some(format!("{what}: {why}"));
            }
        }
        drop(status);
        log.error(what, why, json!({"services": names}));
        false
    }
}
