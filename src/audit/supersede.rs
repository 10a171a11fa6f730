//! An apply never replaces content that was applied from a newer commit, unless told to.
//!
//! Two CI pipelines for two merges in a row can race: the lock makes their applies take turns, but
//! the older commit's pipeline may get its turn last. Before writing a service, apply compares the
//! commit it applies with the commit in the service's live record: when the live commit descends
//! from ours in git (or, when git cannot tell — a shallow clone lacks one of them — was committed
//! later), the service is skipped and the apply says so. `--allow-older` applies anyway;
//! `jones-sync rollback` (which goes back on purpose) and pinned services are not checked.

use crate::audit::record::Record;
use crate::repo::git::{Git, short};
use crate::repo::revision::Origin;

/// Why a service is skipped: the live content comes from a newer commit.
pub fn superseded(git: Option<&Git>, service: &str, ours: &Origin, live: Option<&Record>) -> Option<String> {
    if ours.pin.is_some() {
        return None;
    }
    let ours = ours.commit.as_ref()?;
    let live = live?;
    let live_sha = live.sha.as_deref()?;
    if live_sha == ours.sha {
        return None;
    }
    let how = match git.and_then(|git| git.descends(live_sha, &ours.sha)) {
        Some(true) => "which descends from it",
        Some(false) => return None,
        None => match &live.committed_at {
            Some(live_time) if *live_time > ours.committed_at => "committed later (git here lacks one of them)",
            _ => return None,
        },
    };
    Some(format!(
        "{service}: skipped: ZooKeeper holds commit {} (applied at {} by {}), newer than this apply's {} — {how}. \
         Applying would go back in history; pass --allow-older to do so (or use `jones-sync rollback`).",
        short(live_sha),
        live.applied_at,
        live.actor,
        short(&ours.sha)
    ))
}
