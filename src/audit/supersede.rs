//! An apply never replaces content that was applied from a newer commit, unless told to.
//!
//! Two CI pipelines for two merges in a row can race: the lock makes their applies take turns, but
//! the older commit's pipeline may get its turn last. Before writing a service, apply compares the
//! commit it applies with the commit in the service's live record. Ours must descend from the live
//! one in git; otherwise the service is skipped and the apply says why: the live commit is newer
//! (it descends from ours), the two diverge (neither contains the other), or git cannot tell (this
//! clone lacks the live commit: a shallow clone, another repository). An order that cannot be
//! proven is not guessed: commit times are not compared (two commits in the same second, or a
//! skewed clock, once let an older commit replace a newer one). `--allow-older` applies anyway;
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
    let (live_short, ours_short) = (short(live_sha), short(&ours.sha));
    let descends = |newer: &str, older: &str| git.and_then(|git| git.descends(newer, older));
    let why = match (descends(live_sha, &ours.sha), descends(&ours.sha, live_sha)) {
        (_, Some(true)) => return None,
        (Some(true), _) => format!(
            "which is newer: it descends from this apply's commit {ours_short}. Applying {ours_short} would go back \
             in history; pass --allow-older to do so (or use `jones-sync rollback`)."
        ),
        (Some(false), Some(false)) => format!(
            "and neither it nor this apply's commit {ours_short} contains the other (diverging branches), so \
             applying {ours_short} could undo changes of {live_short}. Merge them, or pass --allow-older to apply \
             {ours_short} anyway."
        ),
        // Commit times cannot order them (two commits in one second, a skewed clock): not guessed.
        _ => format!(
            "which this clone of the repository does not have, so whether this apply's commit {ours_short} is newer \
             cannot be proven. Fetch it (`git fetch`, or a deeper clone) and apply again, or pass --allow-older to \
             apply {ours_short} anyway."
        ),
    };
    Some(format!(
        "{service}: skipped: ZooKeeper holds commit {live_short} (applied at {} by {}), {why}",
        live.applied_at, live.actor
    ))
}

/// Takes out of `plan` the services whose live content [`superseded`] says must stay; returns what
/// to say about them, a line each. `live_record` is the live record the plan read of a service.
pub fn skip(
    git: Option<&Git>,
    state: &crate::desired::DesiredState,
    live_record: impl Fn(&str) -> Option<Record>,
    plan: &mut crate::plan::Plan,
) -> String {
    let mut notes = String::new();
    // A service deleted whole (`--prune`) is not in the repository: its commit is the repository's,
    // and its live record is the one the plan deletes.
    let repository = state.origins.values().find(|origin| origin.pin.is_none());
    plan.services.retain(|service| {
        let (origin, live) = if service.prune {
            let record = service.changes.iter().find(|c| c.kind == crate::layout::NodeKind::Record);
            (repository, record.and_then(|c| c.action.data().0).and_then(Record::parse))
        } else {
            (Some(state.origin(&service.name)), live_record(&service.name))
        };
        let skip = (!service.is_empty()).then(|| superseded(git, &service.name, origin?, live.as_ref())).flatten();
        match skip {
            Some(note) => {
                notes.push_str(&note);
                notes.push('\n');
                false
            }
            None => true,
        }
    });
    notes
}
