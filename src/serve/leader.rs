//! Which replica writes: the server's leadership, through ZooKeeper's election recipe
//! ([`crate::zk::election`]) on a session of its own.
//!
//! Any number of replicas may run against one ZooKeeper and repository; exactly one leads, and
//! only the leader applies or heals. A replica that loses its session loses its place at once
//! (its candidate node vanishes with it): [`Leadership::leads`] turns false as soon as the session
//! is known lost, before anything else is written, and the replica stands again on a new session
//! with backoff. When the leader dies, the next replica leads within a session timeout (at once
//! when it resigns: a clean shutdown deletes its node). Writes stay safe even if two replicas
//! believed they led for a moment: every apply also takes its services' locks and guards every
//! write ([`crate::apply`]).
//!
//! Costs nothing while nothing happens: a follower waits on a watch of the candidate before it,
//! the leader on a watch of its own node (fired when the node goes or the session ends).

use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tokio::sync::watch;

use super::connect::Connect;
use super::log::Log;
use super::state::Shared;
use crate::zk::{WatchEvent, ZkError};

/// Whether this replica leads, as the leadership task keeps it.
#[derive(Clone)]
pub struct Leadership {
    leads: watch::Receiver<bool>,
}

impl Leadership {
    /// Whether this replica may write now.
    pub fn leads(&self) -> bool {
        *self.leads.borrow()
    }

    /// A leadership that never leads (`observe` does not stand for election).
    pub fn never() -> Leadership {
        let (_, leads) = watch::channel(false);
        Leadership { leads }
    }

    /// Waits until leadership changes (for a reconcile loop that acts when it starts leading).
    pub async fn changed(&mut self) {
        if self.leads.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

/// Stands for election until `stopped`, keeping [`Leadership`] and the `jones_sync_leader` metric
/// current; resigns on the way out, so the next replica leads at once. The task ends once it
/// resigned: await it before the process exits.
pub fn spawn(
    connect: Connect,
    shared: Arc<Shared>,
    log: Log,
    stopped: watch::Receiver<bool>,
) -> (Leadership, tokio::task::JoinHandle<()>) {
    let (tell, leads) = watch::channel(false);
    let task = tokio::spawn(campaign(connect, shared, log, tell, stopped));
    (Leadership { leads }, task)
}

/// Who this replica is, in its candidate node: unique to the process (a lost create reply finds
/// its own node by it).
fn identity() -> Vec<u8> {
    let holder = crate::zk::lock::Holder::me(super::ACTOR, None);
    serde_json::to_vec(&holder).expect("holders serialize")
}

async fn campaign(
    connect: Connect,
    shared: Arc<Shared>,
    log: Log,
    tell: watch::Sender<bool>,
    mut stopped: watch::Receiver<bool>,
) {
    let set = |leads: bool| {
        shared.write().leader = leads;
        shared.metrics.leader.set(i64::from(leads));
        tell.send_replace(leads);
    };
    let mut backoff = Duration::from_millis(200);
    loop {
        let stop = *stopped.borrow();
        if stop {
            return;
        }
        let round = async {
            let zk = connect.zk().await?;
            let candidate = zk.stand(&identity()).await?;
            Ok::<_, ZkError>((zk, candidate))
        };
        let joined = tokio::select! {
            joined = round => joined,
            () = stopping(&mut stopped) => return,
        };
        let (zk, candidate) = match joined {
            Ok(joined) => joined,
            Err(err) => {
                log.error("leader", &format!("cannot stand for election: {err}"), json!({}));
                tokio::select! {
                    () = tokio::time::sleep(backoff) => {}
                    () = stopping(&mut stopped) => return,
                }
                backoff = (backoff * 2).min(Duration::from_secs(30));
                continue;
            }
        };
        backoff = Duration::from_millis(200);
        // Follow: wait until this candidate is the lowest.
        let lead = loop {
            tokio::select! {
                waited = candidate.wait_to_lead(&zk, Duration::from_secs(3600)) => match waited {
                    Ok(true) => break true,
                    Ok(false) => continue,
                    Err(err) => {
                        log.warn("leader", &format!("left the election: {err}; standing again"), json!({}));
                        break false;
                    }
                },
                () = stopping(&mut stopped) => {
                    candidate.resign(&zk).await;
                    return;
                }
            }
        };
        if !lead {
            continue;
        }
        // Lead until the own node goes or the session ends.
        let watched = zk.watch_data(candidate.path()).await;
        let Ok(Some((_, watch))) = watched else {
            log.warn("leader", "lost the candidate node at once; standing again", json!({}));
            continue;
        };
        set(true);
        log.info("leader", "this replica leads: it applies", json!({"candidate": candidate.path()}));
        tokio::select! {
            event = watch => {
                set(false);
                let why = match event {
                    WatchEvent::SessionEnded(state) => format!("the session ended ({state})"),
                    WatchEvent::Changed => "its candidate node changed or went".to_string(),
                };
                log.warn("leader", &format!("no longer leads: {why}; standing again"), json!({}));
            }
            () = stopping(&mut stopped) => {
                set(false);
                candidate.resign(&zk).await;
                log.info("leader", "resigned", json!({}));
                return;
            }
        }
    }
}

/// Resolves once `stopped` says stop (holding nothing across the caller's next await).
async fn stopping(stopped: &mut watch::Receiver<bool>) {
    let _ = stopped.wait_for(|stop| *stop).await;
}
