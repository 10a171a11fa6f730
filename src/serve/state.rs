//! What the server knows at a moment, shared between the reconcile loop (which writes it) and the
//! HTTP handlers (which read it): the commit in force, the branch's last fetch, and per service
//! its pending plan. Pure data: the loop ([`super::Reconciler`]) fills it, [`super::http`]
//! renders it.

use std::collections::BTreeMap;
use std::sync::RwLock;

use serde_json::{Value, json};

use super::Mode;
use super::metrics::Metrics;
use crate::audit::record::Record;
use crate::plan::ServicePlan;
use crate::plan::redact::Redactor;
use crate::repo::git::Commit;

/// The version of the `/api/v1` JSON: semver, as the plan's `format_version`.
/// 1.1.0: `target` and `waiting_for` (`[targets]`), and the documents of several targets. 1.2.0:
/// `checked_at`, and per service `superseded`.
pub const FORMAT_VERSION: &str = "1.2.0";

/// The state and the metrics, behind one `Arc`.
pub struct Shared {
    pub status: RwLock<Status>,
    pub metrics: Metrics,
    /// Bumped at every change of the status: the web UI's pages reload when it moves.
    pub generation: std::sync::atomic::AtomicU64,
    /// What the web UI reads besides the status: the audit log (from ZooKeeper) and commits (from
    /// git), read only when a page asks.
    pub access: Option<Access>,
}

/// How the web UI reads what the status does not hold.
pub struct Access {
    /// The clone the server follows.
    pub repo: std::path::PathBuf,
    /// How to open a session of its own, for reading the audit log.
    pub connect: super::connect::Connect,
    /// That session, once opened (again when it is lost).
    pub session: tokio::sync::Mutex<Option<crate::zk::Zk>>,
}

impl Shared {
    pub fn new(status: Status) -> Shared {
        let metrics = Metrics::new(status.target.as_deref());
        Shared { status: RwLock::new(status), metrics, generation: Default::default(), access: None }
    }

    /// The shared state, with what the web UI reads besides it.
    pub fn with_access(mut self, repo: std::path::PathBuf, connect: super::connect::Connect) -> Shared {
        self.access = Some(Access { repo, connect, session: tokio::sync::Mutex::new(None) });
        self
    }

    /// The status, for reading (a poisoned lock still holds a usable status: every write leaves
    /// it whole).
    pub fn read(&self) -> std::sync::RwLockReadGuard<'_, Status> {
        self.status.read().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// The status, for changing it: the pages showing it reload ([`Shared::generation`]).
    pub fn write(&self) -> std::sync::RwLockWriteGuard<'_, Status> {
        self.generation.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.write_quietly()
    }

    /// The status, for a change no page needs to reload for (when the branch was last read).
    pub fn write_quietly(&self) -> std::sync::RwLockWriteGuard<'_, Status> {
        self.status.write().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

/// A commit of the branch that failed validation: never used.
#[derive(Debug, Clone)]
pub struct Invalid {
    pub sha: String,
    /// Each problem as `validate` prints it (file, line and column).
    pub problems: Vec<String>,
}

#[derive(Debug)]
pub struct Status {
    /// The target of `[targets]` served, if any: named in every API object and metric.
    pub target: Option<String>,
    pub mode: Mode,
    /// This replica leads: it is the one that writes (in `apply` and `heal` modes).
    pub leader: bool,
    /// What is followed: `origin/main` or `main`.
    pub branch: String,
    /// The ZooKeeper session is up and the watch set.
    pub connected: bool,
    /// Live state has been read in full at least once against the commit in force.
    pub first_sync: bool,
    /// `/services` does not exist: every plan creates it first.
    pub create_root: bool,
    /// The commit in force: the newest valid commit of the branch.
    pub commit: Option<Commit>,
    /// The commit the branch pointed at when last looked at (valid or not).
    pub branch_sha: Option<String>,
    /// When the branch was last looked at (after its fetch, when it has a remote), RFC 3339.
    pub checked_at: Option<String>,
    /// Why the last fetch failed; `None` once one succeeds.
    pub fetch_error: Option<String>,
    /// The branch's newest commit, when it is invalid (and so not in force).
    pub invalid: Option<Invalid>,
    /// The last error reading ZooKeeper or the repository, until a full read succeeds.
    pub last_error: Option<String>,
    /// The patterns of the sensitive keys of the commit in force.
    pub sensitive: Vec<String>,
    /// Each service of the commit in force, by name.
    pub services: BTreeMap<String, ServiceStatus>,
    /// The targets of earlier waves a new commit waits for before it is applied here.
    pub waiting_for: Vec<String>,
    /// The commit in force, parsed (what the web UI shows of environments, values and hosts).
    pub desired: Option<std::sync::Arc<crate::desired::DesiredState>>,
}

impl Status {
    pub fn new(mode: Mode, branch: String) -> Status {
        Status {
            target: None,
            mode,
            leader: false,
            branch,
            connected: false,
            first_sync: false,
            create_root: false,
            commit: None,
            branch_sha: None,
            checked_at: None,
            fetch_error: None,
            invalid: None,
            last_error: None,
            sensitive: Vec::new(),
            services: BTreeMap::new(),
            waiting_for: Vec::new(),
            desired: None,
        }
    }

    /// Why the server is not ready; empty when it is (`/readyz`).
    pub fn not_ready(&self) -> Vec<&'static str> {
        let mut why = Vec::new();
        if !self.connected {
            why.push("not connected to ZooKeeper");
        }
        if self.commit.is_none() {
            why.push("no valid commit of the branch loaded");
        }
        if !self.first_sync {
            why.push("live state not read yet");
        }
        why
    }

    fn head(&self) -> Value {
        self.commit.as_ref().map_or(
            Value::Null,
            |c| json!({"sha": c.sha, "subject": c.subject, "author": c.author, "committed_at": c.committed_at}),
        )
    }

    /// `GET /api/v1/services`: the server's state and every service, without their plans.
    pub fn to_json(&self) -> Value {
        let services: Vec<Value> = self
            .services
            .values()
            .map(|s| {
                let mut value = s.to_json(None);
                value["target"] = self.target.clone().into();
                value
            })
            .collect();
        json!({
            "format_version": FORMAT_VERSION,
            "target": self.target,
            "mode": self.mode.name(),
            "leader": self.leader,
            "ready": self.not_ready().is_empty(),
            "branch": self.branch,
            "head": self.head(),
            "branch_sha": self.branch_sha,
            "checked_at": self.checked_at,
            "fetch_error": self.fetch_error,
            "invalid_commit": self.invalid.as_ref().map(|i| json!({"sha": i.sha, "problems": i.problems})),
            "last_error": self.last_error,
            "waiting_for": self.waiting_for,
            "services": services,
        })
    }

    /// `GET /api/v1/services/{name}`: one service with its pending plan, `None` for a service the
    /// commit in force does not have.
    pub fn service_json(&self, name: &str) -> Option<Result<Value, crate::plan::redact::PatternError>> {
        let service = self.services.get(name)?;
        let redactor = match Redactor::new(&self.sensitive, false) {
            Ok(redactor) => redactor,
            Err(err) => return Some(Err(err)),
        };
        let mut value = service.to_json(Some((&redactor, self.create_root)));
        value["format_version"] = FORMAT_VERSION.into();
        value["target"] = self.target.clone().into();
        value["head"] = self.head();
        Some(Ok(value))
    }
}

/// One service of the commit in force.
#[derive(Debug, Clone)]
pub struct ServiceStatus {
    pub name: String,
    /// What an apply of the commit in force would do.
    pub plan: ServicePlan,
    /// The live record: what was applied, when, by whom.
    pub record: Option<Record>,
    /// The commit the service's content comes from (its pin's, when pinned).
    pub sha: Option<String>,
    /// When it was last planned (RFC 3339).
    pub planned_at: String,
    /// Why its live state could not be read again, until it is.
    pub last_error: Option<String>,
    /// Why the last apply of it failed, until one succeeds or it is in sync (kept across plans).
    pub apply_error: Option<String>,
    /// When each drifting node was edited (its `mtime`, Unix milliseconds), for the drift the
    /// watch reported (drift found by a full read has no entry).
    pub drift_since: BTreeMap<String, i64>,
    /// Why an apply would skip it: ZooKeeper holds a newer commit's content
    /// ([`crate::audit::supersede`]).
    pub superseded: Option<String>,
}

impl ServiceStatus {
    pub fn in_sync(&self) -> bool {
        self.plan.is_empty()
    }

    /// Nodes edited outside jones-sync since the last apply.
    pub fn drift(&self) -> Vec<&str> {
        self.plan.changes.iter().filter(|c| c.drift).map(|c| c.path.as_str()).collect()
    }

    /// Changes an apply would make: nodes (the record included) and ACLs.
    pub fn pending(&self) -> usize {
        self.plan.counts().total() + self.plan.acls.len()
    }

    /// The live record's `applied_at` as Unix seconds.
    pub fn applied_at(&self) -> Option<f64> {
        let at: jiff::Timestamp = self.record.as_ref()?.applied_at.parse().ok()?;
        Some(at.as_millisecond() as f64 / 1000.0)
    }

    /// The service as JSON; with a redactor, its plan too (rendered as `plan --format json`).
    fn to_json(&self, plan: Option<(&Redactor, bool)>) -> Value {
        let applied = self.record.as_ref().map(|r| {
            json!({
                "sha": r.sha, "subject": r.subject, "applied_at": r.applied_at, "actor": r.actor,
                "rollback": r.rollback, "dirty": r.dirty, "pinned": r.pinned,
            })
        });
        let mut value = json!({
            "name": self.name,
            "applied": applied,
            "head_sha": self.sha,
            "in_sync": self.in_sync(),
            "managed": self.plan.managed,
            "drift_nodes": self.drift().len(),
            "drift": self.drift(),
            "pending_changes": self.pending(),
            "planned_at": self.planned_at,
            "last_error": self.last_error.as_ref().or(self.apply_error.as_ref()),
            "superseded": self.superseded,
            // Emergency edits (`jones-sync set`) of the live record, each with whether the commit
            // in force would undo it: the writing modes never do.
            "break_glass": self.plan.break_glass,
        });
        if let Some((redactor, create_root)) = plan {
            let one = crate::plan::Plan { create_root, services: vec![self.plan.clone()], ..Default::default() };
            let text = crate::plan::render::json::render(&one, redactor);
            value["plan"] = serde_json::from_str(&text).expect("the JSON renderer writes JSON");
        }
        value
    }
}
