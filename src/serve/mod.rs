//! `jones-sync serve`: a long-running reconciler that knows, at every moment, whether each service
//! in ZooKeeper matches the followed branch, and says so over HTTP (metrics, JSON API).
//!
//! Three parts, each a task:
//! - the **follower** ([`follow`], [`git`]) fetches the branch every `--interval`, reads each new
//!   commit from git objects (never the work tree) and hands a valid one to the reconciler; an
//!   invalid commit is reported and never used, a failed fetch reported and retried, and the last
//!   good commit stays in force meanwhile;
//! - the **reconciler** ([`Reconciler`]) holds the live state of the services in scope
//!   (a [`Snapshot`]) and each service's plan ([`state::ServiceStatus`]). It reads ZooKeeper in
//!   full once per session (and every `--resync`), then keeps the snapshot current from a
//!   persistent recursive watch on `/services`: each event re-reads that one node (filed into the
//!   snapshot by [`live::apply`]) and re-plans that one service with
//!   [`crate::sync::plan_service`], so a quiet fleet costs no reads. A reconnection within the
//!   session (events of the gap may be lost) and a new session read everything again;
//! - the **HTTP server** ([`http`]) reads the shared state.
//!
//! With `[targets]` there is a reconciler (session, election, status, metrics) per target served,
//! fed by the one follower with the services that go to it; in the writing modes a target applies
//! a new commit once every target of the earlier waves is in sync with it ([`write::Writer`]).
//!
//! What the reconciler does with fresh plans is the [`Mode`]'s ([`Reconciler::act`], called after
//! every full read, new commit and batch of watch events): `observe` only reports them.
//!
//! Decisions: the server needs ZooKeeper at start (it exits 1 when it cannot connect, as every
//! command does) and re-establishes a lost session with backoff; it needs a valid commit before it
//! reads ZooKeeper (it is not ready until then). ACL drift is seen at full reads only (ZooKeeper
//! sends no watch event for an ACL change). A new commit is read from git objects through the
//! in-memory parse cache (only the services whose git tree changed are parsed; the others are
//! shared with the commit before) and plans again only those services
//! ([`Reconciler::standing`]); a change of the settings plans every service again.

pub mod connect;
pub mod git;
pub mod http;
pub mod leader;
pub mod live;
pub mod log;
pub mod metrics;
pub mod state;
pub mod ui;
pub mod write;

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use futures::FutureExt;
use serde_json::json;
use tokio::sync::{mpsc, watch};

use crate::audit::record::Record;
use crate::desired::DesiredState;
use crate::layout;
use crate::live::Snapshot;
use crate::zk::{TreeEvent, Zk, ZkError};
use log::Log;
use state::{Invalid, ServiceStatus, Shared, Status};

/// Who the records of the plans say applies (shown in plans; `observe` never writes them).
pub const ACTOR: &str = "jones-sync serve";

const FOLLOWER_GONE: &str = "following the branch stopped unexpectedly; the server stops";

/// Watch events taken together before re-planning (an apply's transaction is one burst).
const MAX_BATCH: usize = 10_000;

/// What the server does with the plans it makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Plan continuously, write nothing.
    Observe,
    /// Keep ZooKeeper at the branch head: apply each new commit ([`write`]).
    Apply,
    /// As `Apply`, and put back drift once it persisted for `--heal-after`.
    Heal,
}

impl Mode {
    pub fn name(self) -> &'static str {
        match self {
            Mode::Observe => "observe",
            Mode::Apply => "apply",
            Mode::Heal => "heal",
        }
    }
}

/// The validated settings of `serve`.
#[derive(Debug, Clone)]
pub struct Config {
    pub repo: std::path::PathBuf,
    pub listen: String,
    pub interval: Duration,
    pub branch: Option<String>,
    pub resync: Duration,
    pub mode: Mode,
    pub log: Log,
    /// How long drift must persist before `heal` puts it back.
    pub heal_after: Duration,
    /// How long an apply waits for another's lock on a service.
    pub lock_timeout: Duration,
    /// `--ui-auth-file`: the credentials every endpoint but the health probes needs.
    pub ui_auth: Option<Arc<ui::Auth>>,
    /// The parse cache ([`crate::cache`]), held in memory ([`crate::cache::Cache::in_memory`]): a
    /// new commit parses only the services whose directory (git tree) changed since a commit
    /// already read, and takes the others from memory.
    pub cache: crate::cache::Cache,
}

/// One ZooKeeper cluster the server reconciles: the one of `--zk`, or a target of `[targets]`.
pub struct Served {
    /// The target and its wave (from 0); `None` without `[targets]`.
    pub target: Option<(String, usize)>,
    /// The session the reconciler watches and reads on.
    pub zk: Zk,
    /// How the writing modes connect (their elections and applies run on sessions of their own).
    pub connect: Option<connect::Connect>,
}

/// Runs the server for every cluster of `served` until `shutdown` resolves (SIGTERM, SIGINT),
/// then stops every task. One follower reads the branch for all; each cluster has its own
/// reconciler, session, election, status and metrics (labelled `target`); with waves, a target
/// applies a new commit only once every target of the earlier waves is in sync with it.
pub async fn run(config: Config, served: Vec<Served>, shutdown: impl Future<Output = ()>) -> anyhow::Result<()> {
    let log = config.log;
    let follower = git::Follower::new(&config.repo, config.branch.clone()).await?;
    let listener = tokio::net::TcpListener::bind(&config.listen)
        .await
        .map_err(|err| anyhow::anyhow!("cannot listen on `{}`: {err}", config.listen))?;
    let address = listener.local_addr()?;
    let shareds: Vec<Arc<Shared>> = served
        .iter()
        .map(|served| {
            let target = served.target.as_ref().map(|(name, _)| name.clone());
            let status = Status { target, ..Status::new(config.mode, follower.describe()) };
            Arc::new(Shared::new(status).with_access(config.repo.clone(), connect_of(served)))
        })
        .collect();
    let names: Vec<&str> = served.iter().filter_map(|s| s.target.as_ref().map(|(name, _)| name.as_str())).collect();
    let of = if names.is_empty() { String::new() } else { format!(" for {}", names.join(", ")) };
    log.info(
        "start",
        &format!("serving on http://{address}, following {}{of}", follower.describe()),
        json!({"mode": config.mode.name(), "listen": address.to_string(), "branch": follower.describe(), "targets": names}),
    );
    let (stop, stopped) = watch::channel(false);
    let mut stopping = stopped.clone();
    let http = tokio::spawn(
        axum::serve(listener, http::router(shareds.clone(), config.ui_auth.clone()))
            .with_graceful_shutdown(async move {
                let _ = stopping.wait_for(|stop| *stop).await;
            })
            .into_future(),
    );
    let waves: Vec<Option<usize>> = served.iter().map(|s| s.target.as_ref().map(|(_, wave)| *wave)).collect();
    let mut sinks = Vec::new();
    let mut campaigns = Vec::new();
    let mut reconcilers = Vec::new();
    for (served, shared) in served.into_iter().zip(&shareds) {
        let (commits, received) = mpsc::channel(1);
        sinks.push((served.target.as_ref().map(|(name, _)| name.clone()), commits));
        let (leadership, campaign) = match &served.connect {
            Some(connect) if config.mode != Mode::Observe => {
                let (leadership, task) = leader::spawn(connect.clone(), shared.clone(), log, stopped.clone());
                (leadership, Some(task))
            }
            _ => (leader::Leadership::never(), None),
        };
        campaigns.extend(campaign);
        let connect = connect_of(&served);
        let mut writer = write::Writer::new(
            config.mode,
            connect,
            leadership,
            config.heal_after,
            config.repo.clone(),
            config.lock_timeout,
        );
        // A target applies a new commit once the targets of every earlier wave are in sync with it.
        if let Some((_, wave)) = &served.target {
            let earlier = shareds.iter().zip(&waves).filter(|(_, w)| w.is_some_and(|w| w < *wave));
            writer.gate = earlier.map(|(shared, _)| shared.clone()).collect();
        }
        let reconciler = Reconciler {
            zk: served.zk,
            shared: shared.clone(),
            log,
            desired: None,
            live: Snapshot::default(),
            established: false,
            writer,
            next_heal: None,
            // To tell a service whose live commit is newer than the branch's (superseded).
            git: crate::repo::git::Git::open(&config.repo).ok().flatten(),
        };
        reconcilers.push(reconciler.run(received, config.resync, stopped.clone()));
    }
    let following = tokio::spawn(follow(follower, config.clone(), shareds.clone(), sinks));
    let reconciling = futures::future::try_join_all(reconcilers);
    tokio::pin!(reconciling);
    tokio::select! {
        () = shutdown => {
            // The reconcilers stop at their next step: whatever they were doing is finished, not cut.
            log.info("stop", "shutting down", json!({}));
            let _ = stop.send(true);
            reconciling.await?;
        }
        result = &mut reconciling => {
            log.info("stop", "shutting down", json!({}));
            let _ = stop.send(true);
            result?;
        }
    }
    following.abort();
    // The leaders resign before the process exits, so the next replica leads at once.
    let _ = tokio::time::timeout(Duration::from_secs(10), futures::future::join_all(campaigns)).await;
    // In-flight requests get a moment to finish.
    let _ = tokio::time::timeout(Duration::from_secs(5), http).await;
    Ok(())
}

/// How the writing modes (and the web UI's reads) connect to a cluster served: as told, else as
/// its session did.
fn connect_of(served: &Served) -> connect::Connect {
    served.connect.clone().unwrap_or_else(|| connect::Connect {
        string: served.zk.connect_string().to_string(),
        timeout: Duration::from_secs(10),
        options: Default::default(),
        acl: None,
    })
}

/// Fetches and reads the branch every `interval`, sending each new valid commit to the reconciler
/// of each cluster (`sinks`: its target, if any, and its channel), narrowed to the services that
/// go to it; what it finds is said in the status of every cluster (`shareds`).
async fn follow(
    follower: git::Follower,
    config: Config,
    shareds: Vec<Arc<Shared>>,
    sinks: Vec<(Option<String>, mpsc::Sender<Found>)>,
) {
    let each = |update: &dyn Fn(&Shared)| shareds.iter().for_each(|shared| update(shared));
    let log = config.log;
    let mut tried: Option<String> = None;
    let mut ticks = tokio::time::interval(config.interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let what = follower.describe();
        if follower.remote {
            match follower.fetch().await {
                Ok(()) => {
                    each(&|shared| {
                        if shared.read().fetch_error.is_some() {
                            shared.write().fetch_error = None;
                        }
                    });
                    log.info("fetch", &format!("fetched {what}"), json!({"branch": what}));
                }
                Err(err) => {
                    each(&|shared| {
                        shared.metrics.fetch_errors.inc();
                        shared.write().fetch_error = Some(err.to_string());
                    });
                    log.error(
                        "fetch",
                        &format!("{err}; the commit in force stays"),
                        json!({"branch": what, "error": err.to_string()}),
                    );
                }
            }
        }
        let sha = match follower.head().await {
            Ok(sha) => sha,
            Err(err) => {
                each(&|shared| shared.write().fetch_error = Some(err.to_string()));
                log.error("fetch", &err.to_string(), json!({"branch": what}));
                continue;
            }
        };
        let now = crate::clock::now();
        each(&|shared| {
            let moved = shared.read().branch_sha.as_ref() != Some(&sha);
            let mut status = if moved { shared.write() } else { shared.write_quietly() };
            status.branch_sha = Some(sha.clone());
            status.checked_at = Some(now.clone());
        });
        if tried.as_ref() == Some(&sha) {
            continue;
        }
        tried = Some(sha.clone());
        let found = std::time::Instant::now();
        let (dir, rev, cache) = (config.repo.clone(), sha.clone(), config.cache.clone());
        let loaded = tokio::task::spawn_blocking(move || {
            let loaded = crate::desired::load_cached(&dir, Some(&rev), Some(&cache));
            if let Ok(Ok(_)) = loaded {
                cache.keep_last_load();
            }
            loaded
        })
        .await;
        let short = crate::repo::git::short(&sha).to_string();
        match loaded {
            Ok(Ok(Ok(state))) => {
                log.info(
                    "commit",
                    &format!("{what} is at {short}: {}", services(state.confs.len())),
                    json!({"sha": sha, "services": state.confs.len(), "ms": found.elapsed().as_millis() as u64}),
                );
                for ((target, commits), shared) in sinks.iter().zip(&shareds) {
                    // Each target reconciles the services that go to it, by the commit's own settings.
                    match for_target(state.clone(), target.as_deref()) {
                        Ok(state) => {
                            shared.write().invalid = None;
                            if commits.send(Found { state, at: found }).await.is_err() {
                                return;
                            }
                        }
                        Err(problems) => invalid(log, shared, &what, &short, &sha, &problems),
                    }
                }
            }
            Ok(Ok(Err(problems))) => each(&|shared| invalid(log, shared, &what, &short, &sha, &problems)),
            Ok(Err(err)) => {
                // A git error may pass (a fetch racing a repack): try the same commit again.
                tried = None;
                each(&|shared| {
                    shared.metrics.reconcile_errors.inc();
                    shared.write().last_error = Some(err.to_string());
                });
                log.error("commit", &format!("cannot read {short}: {err}"), json!({"sha": sha}));
            }
            Err(join) => {
                tried = None;
                each(&|shared| {
                    shared.metrics.reconcile_errors.inc();
                });
                log.error("commit", &format!("reading {short} failed: {join}"), json!({"sha": sha}));
            }
        }
    }
}

/// Reports the commit `sha` as invalid (`problems`) for the cluster of `shared`: it is not used.
fn invalid(log: Log, shared: &Shared, what: &str, short: &str, sha: &str, problems: &[crate::diagnostic::Problem]) {
    let rendered: Vec<String> = problems.iter().map(|p| p.to_string()).collect();
    let target = shared.read().target.clone();
    let of = target.as_ref().map(|t| format!(" for target `{t}`")).unwrap_or_default();
    log.error(
        "commit",
        &format!(
            "{what} is at {short}, which is invalid{of} ({} problems): it is not used, the commit in force stays\n{}",
            rendered.len(),
            crate::diagnostic::render(problems).trim_end()
        ),
        json!({"sha": sha, "problems": rendered, "target": target}),
    );
    shared.write().invalid = Some(Invalid { sha: sha.to_string(), problems: rendered });
}

/// `state` narrowed to the services that go to `target` (`[targets.<name>] services`); a commit
/// without that target is invalid for this server.
fn for_target(mut state: DesiredState, target: Option<&str>) -> Result<DesiredState, Vec<crate::diagnostic::Problem>> {
    let Some(name) = target else { return Ok(state) };
    let Some(found) = state.repo.settings.targets.iter().find(|t| t.name.get_ref() == name) else {
        let message = format!("has no `[targets.{name}]`, a target this server reconciles");
        return Err(vec![crate::diagnostic::Problem::new(crate::repo::settings::FILE, message)]);
    };
    if let Some(only) = &found.services {
        let only: Vec<&str> = only.iter().map(|s| s.get_ref().as_str()).collect();
        state.confs.retain(|c| only.contains(&c.name.as_str()));
    }
    Ok(state)
}

/// A valid commit the follower found, and when it found it (after the fetch that brought it).
struct Found {
    state: DesiredState,
    at: std::time::Instant,
}

/// The commit in force, parsed.
struct Desired {
    state: Arc<DesiredState>,
    settings: crate::apply::Settings,
    sha: Option<String>,
}

impl Desired {
    fn new(state: DesiredState) -> Desired {
        let settings = crate::apply::Settings::new(&state.repo.settings, Duration::ZERO);
        let sha = state.commit().map(|c| c.sha.clone());
        Desired { state: Arc::new(state), settings, sha }
    }

    fn confs(&self, name: &str) -> Option<&crate::view::DesiredConfs> {
        let confs = &self.state.confs;
        confs.binary_search_by(|c| c.name.as_str().cmp(name)).ok().map(|at| &confs[at])
    }

    fn names(&self) -> Vec<String> {
        self.state.confs.iter().map(|c| c.name.clone()).collect()
    }

    fn acls(&self) -> bool {
        self.state.repo.settings.zookeeper.acl.is_some()
    }
}

/// What ended a session's loop.
enum Ended {
    Shutdown,
    /// The follower task ended (it only does when it panics).
    FollowerGone,
    /// The session ended or a read failed: read everything again, on a new session if need be.
    Lost(String),
}

/// The reconcile loop: live state in memory, kept current from the watch, each service planned.
pub struct Reconciler {
    zk: Zk,
    shared: Arc<Shared>,
    log: Log,
    desired: Option<Desired>,
    live: Snapshot,
    /// The current session got as far as its first full read.
    established: bool,
    /// What the writing modes do with the plans ([`write`]).
    writer: write::Writer,
    /// When the next heal is due (`heal` mode, drift seen).
    next_heal: Option<tokio::time::Instant>,
    /// The repository, to order a live commit and the branch's ([`crate::audit::supersede`]).
    git: Option<crate::repo::git::Git>,
}

impl Reconciler {
    async fn run(
        mut self,
        mut commits: mpsc::Receiver<Found>,
        resync: Duration,
        mut stopped: watch::Receiver<bool>,
    ) -> anyhow::Result<()> {
        // Connected at start; nothing to compare with before the first valid commit.
        self.shared.write().connected = !self.zk.is_lost();
        tokio::select! {
            state = commits.recv() => match state {
                Some(found) => {
                    // No session yet: nothing is read.
                    let _ = self.new_commit(found, false).await;
                }
                None => anyhow::bail!("{FOLLOWER_GONE}"),
            },
            _ = stopped.wait_for(|stop| *stop) => return Ok(()),
        }
        let mut backoff = Duration::from_millis(200);
        loop {
            if self.zk.is_lost() {
                match self.zk.reconnect().await {
                    Ok(()) => self.log.info("zookeeper", "new session established", json!({})),
                    Err(err) => {
                        self.failed(&format!("cannot re-establish the ZooKeeper session: {err}"));
                        tokio::select! {
                            () = tokio::time::sleep(backoff) => {}
                            _ = stopped.wait_for(|stop| *stop) => return Ok(()),
                        }
                        backoff = (backoff * 2).min(Duration::from_secs(30));
                        continue;
                    }
                }
            }
            match self.session(&mut commits, resync, &mut stopped).await {
                Ended::Shutdown => return Ok(()),
                Ended::FollowerGone => anyhow::bail!("{FOLLOWER_GONE}"),
                Ended::Lost(why) => {
                    // A session that got as far as a full read starts the backoff over.
                    if self.established {
                        backoff = Duration::from_millis(200);
                    }
                    self.shared.write().connected = false;
                    self.failed(&why);
                    tokio::select! {
                        () = tokio::time::sleep(backoff) => {}
                        _ = stopped.wait_for(|stop| *stop) => return Ok(()),
                    }
                    backoff = (backoff * 2).min(Duration::from_secs(30));
                }
            }
        }
    }

    /// One session: watch, read in full, then follow events and commits until it ends.
    async fn session(
        &mut self,
        commits: &mut mpsc::Receiver<Found>,
        resync: Duration,
        stopped: &mut watch::Receiver<bool>,
    ) -> Ended {
        self.established = false;
        // The watch first: a change made during the full read is then reported, not lost.
        let mut tree = match self.zk.watch_tree(layout::SERVICES).await {
            Ok(tree) => tree,
            Err(err) => return self.lost(err),
        };
        if let Err(err) = self.full_read().await {
            return self.lost(err);
        }
        self.shared.write().connected = true;
        self.established = true;
        let mut resync = tokio::time::interval_at(tokio::time::Instant::now() + resync, resync);
        let mut stale = false;
        let mut leading = self.writer.leadership.clone();
        loop {
            let heal_at = self.next_heal.unwrap_or_else(|| tokio::time::Instant::now() + Duration::from_secs(86_400));
            tokio::select! {
                _ = stopped.wait_for(|stop| *stop) => return Ended::Shutdown,
                // This replica started or stopped leading: a new leader brings ZooKeeper to the
                // commit in force at once.
                () = leading.changed() => {
                    if let Err(err) = self.act(None).await {
                        return self.lost(err);
                    }
                }
                // A new commit waits for the earlier waves: look again shortly.
                () = tokio::time::sleep(Duration::from_millis(250)), if self.writer.waiting() => {
                    if let Err(err) = self.act(None).await {
                        return self.lost(err);
                    }
                }
                () = tokio::time::sleep_until(heal_at), if self.next_heal.is_some() => {
                    if let Err(err) = self.act(None).await {
                        return self.lost(err);
                    }
                }
                state = commits.recv() => match state {
                    Some(found) => {
                        if let Err(err) = self.new_commit(found, true).await {
                            return self.lost(err);
                        }
                    }
                    None => return Ended::FollowerGone,
                },
                _ = resync.tick() => {
                    if let Err(err) = self.full_read().await {
                        return self.lost(err);
                    }
                }
                event = tree.next() => {
                    let mut events = vec![event];
                    while events.len() < MAX_BATCH && !matches!(events.last(), Some(TreeEvent::SessionEnded(_))) {
                        match tree.next().now_or_never() {
                            Some(event) => events.push(event),
                            None => break,
                        }
                    }
                    let mut paths = Vec::new();
                    for event in events {
                        match event {
                            TreeEvent::Node(path) => paths.push(path),
                            TreeEvent::Disconnected => {
                                self.shared.write().connected = false;
                                stale = true;
                                self.log.warn("zookeeper", "connection lost; the client reconnects", json!({}));
                            }
                            TreeEvent::Reconnected => {
                                self.shared.write().connected = true;
                                self.log.info("zookeeper", "connection re-established", json!({}));
                            }
                            TreeEvent::SessionEnded(why) => {
                                return Ended::Lost(format!("the ZooKeeper session ended ({why})"));
                            }
                        }
                    }
                    if stale && self.shared.read().connected {
                        // Events of the gap may be lost (ZOOKEEPER-4698).
                        stale = false;
                        if let Err(err) = self.full_read().await {
                            return self.lost(err);
                        }
                    } else if !paths.is_empty()
                        && let Err(err) = self.changed(paths).await
                    {
                        return self.lost(err);
                    }
                }
            }
        }
    }

    fn lost(&self, err: ZkError) -> Ended {
        Ended::Lost(format!("reading ZooKeeper failed: {err}"))
    }

    /// Counts and reports an error of the reconcile loop.
    fn failed(&self, why: &str) {
        self.shared.metrics.reconcile_errors.inc();
        self.shared.write().last_error = Some(why.to_string());
        self.log.error("reconcile", why, json!({}));
    }

    /// Reads every service in scope and re-plans them all.
    async fn full_read(&mut self) -> Result<(), ZkError> {
        let Some(desired) = &self.desired else { return Ok(()) };
        let started = std::time::Instant::now();
        let names = desired.names();
        let mut snapshot = self.zk.snapshot(&names).await?;
        if desired.acls() {
            self.zk.read_acls(&mut snapshot).await?;
        }
        self.live = snapshot;
        self.replan_all();
        let out_of_sync = {
            let mut status = self.shared.write();
            status.first_sync = true;
            status.last_error = None;
            status.services.values().filter(|s| !s.in_sync()).count()
        };
        self.log.info(
            "sync",
            &format!("read {} in full: {out_of_sync} out of sync", services(names.len())),
            json!({"services": names.len(), "out_of_sync": out_of_sync, "ms": started.elapsed().as_millis() as u64}),
        );
        self.act(None).await?;
        Ok(())
    }

    /// Puts the commit `found` in force: reads the services it adds (when `read`: a session is up,
    /// whose first full read is still to come otherwise), forgets those it drops, and re-plans
    /// every service it changes ([`Reconciler::standing`]). A failed read ends the session's loop,
    /// which reads everything again.
    async fn new_commit(&mut self, found: Found, read: bool) -> Result<(), ZkError> {
        let desired = Desired::new(found.state);
        // Live ACLs are read only while `[zookeeper] acl` is set: a commit that sets it needs them.
        let acls_read = self.desired.as_ref().is_some_and(Desired::acls);
        let read_all = desired.acls() && !acls_read;
        let sha = desired.sha.clone().unwrap_or_default();
        let standing = self.standing(&desired);
        let (added, dropped) = self.put_in_force(desired);
        if !read {
            return Ok(());
        }
        let replanned;
        if read_all {
            replanned = self.shared.read().services.len();
            self.full_read().await?;
        } else {
            if !added.is_empty() {
                let mut snapshot = self.zk.snapshot(&added).await?;
                if self.desired.as_ref().is_some_and(Desired::acls) {
                    self.zk.read_acls(&mut snapshot).await?;
                }
                self.live.root_exists = snapshot.root_exists;
                self.live.root_czxid = snapshot.root_czxid;
                self.live.all_services = snapshot.all_services;
                self.live.services.extend(snapshot.services);
            }
            let desired = self.desired.as_ref().expect("put in force");
            let mut status = self.shared.write();
            let mut changed = Vec::new();
            for name in desired.names() {
                match status.services.get_mut(&name) {
                    Some(service) if standing.contains(&name) => {
                        let origin = desired.state.origin(&name);
                        service.sha = origin.commit.as_ref().map(|c| c.sha.clone());
                        // A plan with nothing to do has no record to restamp.
                        if !service.in_sync() {
                            let record = Record::new(origin, ACTOR.into()).to_json();
                            let create_root = !self.live.root_exists;
                            crate::sync::restamp(&mut service.plan, &record, create_root, &desired.settings);
                        }
                    }
                    _ => changed.push(name),
                }
            }
            status.create_root = !self.live.root_exists;
            drop(status);
            replanned = changed.len();
            for name in &changed {
                self.replan(name);
            }
        }
        let planned = found.at.elapsed();
        self.shared.metrics.commit_plan.observe(planned.as_secs_f64());
        let (count, out_of_sync) = {
            let status = self.shared.read();
            (status.services.len(), status.services.values().filter(|s| !s.in_sync()).count())
        };
        self.log.info(
            "plan",
            &format!(
                "planned commit {}: {out_of_sync} of {} out of sync ({replanned} planned again)",
                crate::repo::git::short(&sha),
                services(count)
            ),
            json!({"sha": sha, "services": count, "out_of_sync": out_of_sync, "added": added, "dropped": dropped,
                   "planned_again": replanned, "ms": planned.as_millis() as u64}),
        );
        if !read_all && self.act(None).await? {
            self.shared.metrics.commit_apply.observe(found.at.elapsed().as_secs_f64());
        }
        Ok(())
    }

    /// The services of the commit in force whose plans stand for `next`: with no error, read from
    /// the same git tree under the same settings (the same desired nodes, compared with the same
    /// live state). Only the record a plan with changes would write names the new commit
    /// ([`crate::sync::restamp`]).
    fn standing(&self, next: &Desired) -> BTreeSet<String> {
        let Some(current) = &self.desired else { return BTreeSet::new() };
        if current.state.repo.settings != next.state.repo.settings {
            return BTreeSet::new();
        }
        let status = self.shared.read();
        next.state
            .trees
            .iter()
            .filter(|(name, tree)| current.state.trees.get(*name) == Some(tree))
            .filter(|(name, _)| status.services.get(*name).is_some_and(|s| s.last_error.is_none()))
            .map(|(name, _)| name.clone())
            .collect()
    }

    /// Makes `desired` the commit in force: drops the live state, status and metrics of the
    /// services it no longer has. The services it adds (not read yet) and those it drops.
    fn put_in_force(&mut self, desired: Desired) -> (Vec<String>, Vec<String>) {
        let names: BTreeSet<String> = desired.names().into_iter().collect();
        let added: Vec<String> = names.iter().filter(|n| !self.live.services.contains_key(*n)).cloned().collect();
        let dropped: Vec<String> = self.live.services.keys().filter(|n| !names.contains(*n)).cloned().collect();
        for name in &dropped {
            self.live.services.remove(name);
            self.shared.metrics.forget(name);
        }
        {
            let mut status = self.shared.write();
            status.services.retain(|name, _| names.contains(name));
            status.sensitive = desired.state.repo.settings.plan.sensitive_keys();
            status.commit = desired.state.commit().cloned();
            status.desired = Some(desired.state.clone());
        }
        let commit_info = &self.shared.metrics.commit_info;
        commit_info.clear();
        commit_info.get_or_create(&metrics::ShaLabel { sha: desired.sha.clone().unwrap_or_default() }).set(1);
        self.desired = Some(desired);
        (added, dropped)
    }

    /// Reads again the nodes at `paths` (as the watch reported them), updates the snapshot and
    /// re-plans each service they belong to.
    async fn changed(&mut self, mut paths: Vec<String>) -> Result<(), ZkError> {
        paths.sort();
        paths.dedup();
        let reads = futures::future::join_all(paths.iter().map(|path| self.zk.changed_node(path))).await;
        let mut touched: BTreeMap<String, Vec<(String, i64)>> = BTreeMap::new();
        let mut all = false;
        for (path, read) in paths.into_iter().zip(reads) {
            let node = match read {
                Ok(node) => node,
                Err(err) => {
                    // Shown on the service until it is read again (the whole state is, next).
                    if let Some(service) = self.shared.write().services.get_mut(live::service_of(&path)) {
                        service.last_error = Some(err.to_string());
                    }
                    return Err(err);
                }
            };
            let mtime = node.as_ref().map(|n| n.mtime_ms);
            match live::apply(&mut self.live, &path, node) {
                live::Touched::Nothing => {}
                live::Touched::All => all = true,
                live::Touched::Service(name) => touched.entry(name).or_default().extend(mtime.map(|m| (path, m))),
            }
        }
        if all {
            self.replan_all();
            return self.act(None).await.map(drop);
        }
        let now_ms = jiff::Timestamp::now().as_millisecond();
        let names: Vec<String> = touched.keys().cloned().collect();
        for (name, nodes) in touched {
            self.replan(&name);
            // How long drift took to be known: from the edit's mtime to now.
            let status = self.shared.read();
            let Some(service) = status.services.get(&name) else { continue };
            let drift = service.drift();
            let mut since = Vec::new();
            for (path, mtime) in &nodes {
                if drift.contains(&path.as_str()) {
                    self.shared.metrics.drift_detect.observe((now_ms - mtime).max(0) as f64 / 1000.0);
                    since.push((path.clone(), *mtime));
                }
            }
            drop(status);
            if !since.is_empty()
                && let Some(service) = self.shared.write().services.get_mut(&name)
            {
                service.drift_since.extend(since);
            }
        }
        self.act(Some(&names)).await.map(drop)
    }

    /// What the mode does with the fresh plans of `services` (`None`: every service in scope),
    /// held in `self.shared` beside the live state they were made from (`self.live`). `observe`
    /// reports them and does nothing more; the writing modes act here. Whether changes were
    /// applied (all of those tried).
    async fn act(&mut self, services: Option<&[String]>) -> Result<bool, ZkError> {
        // Every writing decision looks at every service: which ones a new commit changes, and
        // which drifted long enough to heal.
        let _ = services;
        if !self.writer.writes() {
            return Ok(false);
        }
        self.next_heal = self.writer.note_drift(&self.shared).map(tokio::time::Instant::from_std);
        let mut applied = false;
        if let Some(desired) = &self.desired {
            applied = self.writer.act(&desired.state, &self.shared, self.log).await;
            self.next_heal = self.writer.note_drift(&self.shared).map(tokio::time::Instant::from_std);
        }
        Ok(applied)
    }

    fn replan_all(&mut self) {
        let names = self.desired.as_ref().map(Desired::names).unwrap_or_default();
        for name in names {
            self.replan(&name);
        }
        self.shared.write().create_root = !self.live.root_exists;
    }

    /// Plans `name` against the snapshot; logs when where it stands changed.
    fn replan(&mut self, name: &str) {
        let Some(desired) = &self.desired else { return };
        let Some(confs) = desired.confs(name) else { return };
        let record = Record::new(desired.state.origin(name), ACTOR.into()).to_json();
        let plan = crate::sync::plan_service(confs, &self.live, &record, &desired.settings);
        let live_record = self
            .live
            .services
            .get(name)
            .and_then(|live| live.nodes.get(&layout::record(name)))
            .and_then(|node| Record::parse(&node.data));
        let sha = desired.state.origin(name).commit.as_ref().map(|c| c.sha.clone());
        // Only a service with changes can be superseded: the live commit is newer than the branch's.
        let superseded = (!plan.is_empty())
            .then(|| {
                let origin = desired.state.origin(name);
                crate::audit::supersede::superseded(self.git.as_ref(), name, origin, live_record.as_ref())
            })
            .flatten();
        let mut service = ServiceStatus {
            name: name.to_string(),
            plan,
            record: live_record,
            sha,
            planned_at: crate::clock::now(),
            last_error: None,
            apply_error: None,
            drift_since: BTreeMap::new(),
            superseded,
        };
        let label = metrics::ServiceLabel { service: name.to_string() };
        let metrics = &self.shared.metrics;
        metrics.in_sync.get_or_create(&label).set(i64::from(service.in_sync()));
        metrics.drift_nodes.get_or_create(&label).set(service.drift().len() as i64);
        metrics.pending_changes.get_or_create(&label).set(service.pending() as i64);
        match service.applied_at() {
            Some(at) => {
                metrics.last_apply.get_or_create(&label).set(at);
            }
            None => {
                metrics.last_apply.remove(&label);
            }
        }
        let mut status = self.shared.write();
        // An apply's failure stays shown until one succeeds or nothing is left to apply.
        if !service.in_sync() {
            service.apply_error = status.services.get(name).and_then(|s| s.apply_error.clone());
        }
        // When each node still drifting was edited, as its watch event told.
        if let Some(before) = status.services.get(name) {
            let drift = service.drift().into_iter().map(str::to_string).collect::<BTreeSet<String>>();
            service.drift_since = before
                .drift_since
                .iter()
                .filter(|(path, _)| drift.contains(*path))
                .map(|(p, t)| (p.clone(), *t))
                .collect();
        }
        let before = status.services.get(name).map(|s| (s.in_sync(), s.drift().len(), s.pending()));
        let after = (service.in_sync(), service.drift().len(), service.pending());
        let first_sync = status.first_sync;
        status.services.insert(name.to_string(), service);
        drop(status);
        // A full read reports its summary instead of one line per service.
        if first_sync && before.is_some_and(|before| before != after) {
            let (in_sync, drift, pending) = after;
            let what = if in_sync {
                "in sync".to_string()
            } else {
                format!("{pending} changes pending, {drift} drifted nodes")
            };
            self.log.info(
                "plan",
                &format!("{name}: {what}"),
                json!({"service": name, "in_sync": in_sync, "drift_nodes": drift, "pending_changes": pending}),
            );
        }
    }
}

/// `1 service`, `2 services`.
fn services(count: usize) -> String {
    format!("{count} service{}", if count == 1 { "" } else { "s" })
}
