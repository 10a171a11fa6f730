//! Rolling a service back to an earlier apply: which entry of its audit log to go back to, and
//! what to do in git afterwards so that the next apply from the main branch does not undo it.
//!
//! Steps count applies of *different* commits: consecutive entries of the same commit (an apply
//! repeated to repair drift, say) are one step, so `--steps 1` always changes the commit. The
//! content is read from git objects at the chosen entry's commit ([`crate::desired::load_service_at`]).

use std::fmt::Write;
use std::path::Path;

use crate::audit::history::Logged;
use crate::repo::git::{Commit, Git, short};

/// Where to go back to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// This many applies of other commits back (1: the one before the current).
    Steps(usize),
    /// The newest apply of this commit (a full SHA).
    Sha(String),
}

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RollbackError {
    #[error("`{service}` has no audit log entries yet, so there is nothing to roll back to")]
    NoHistory { service: String },
    /// `--steps` beyond the log: `entries` entries hold `available` steps back (applies of another
    /// commit than the one after them); `current` is the commit of the newest entry.
    #[error("{}", too_few(service, *steps, *entries, *available, current.as_deref()))]
    TooFewApplies { service: String, steps: usize, entries: usize, available: usize, current: Option<String> },
    #[error("`{service}` already runs {sha}, the commit of its last apply")]
    AlreadyThere { service: String, sha: String },
    #[error(
        "commit {sha} was never applied to `{service}`, or its entry was pruned from the audit log (see `jones-sync history {service}`); \
         to apply any revision use `jones-sync apply --rev`"
    )]
    NeverApplied { service: String, sha: String },
    #[error("audit entry {seq} of `{service}` was not applied from a git commit, so there is no content to go back to")]
    NoCommit { service: String, seq: u64 },
}

/// The message of [`RollbackError::TooFewApplies`]: what was counted (steps are applies of another
/// commit, not entries), so that five entries of one commit read as no step back, not "0 applies".
fn too_few(service: &str, steps: usize, entries: usize, available: usize, current: Option<&str>) -> String {
    let step = |n: usize| format!("{n} step{}", if n == 1 { "" } else { "s" });
    let log = match (entries, current) {
        (1, _) => "its audit log holds 1 entry, the current apply".to_string(),
        (n, Some(sha)) if available == 0 => format!("all {n} entries of its audit log are applies of {sha}"),
        (n, _) => format!("its audit log holds {n} entries"),
    };
    format!(
        "`{service}` cannot go back {} (it can go back {}): {log}, and a step goes back to an apply of \
         another commit (repeated applies of one commit are one step). See `jones-sync history {service}`",
        step(steps),
        step(available),
    )
}

/// The entry to roll back to, and the commit of the current one, from the log (newest first).
pub fn choose<'a>(
    service: &str,
    log: &'a [Logged],
    target: &Target,
) -> Result<(&'a Logged, Option<&'a str>), RollbackError> {
    let Some(current) = log.first() else { return Err(RollbackError::NoHistory { service: service.into() }) };
    let current_sha = current.sha();
    let chosen = match target {
        Target::Steps(steps) => {
            // The newest entry of each run of consecutive entries of one commit.
            let mut runs: Vec<&Logged> = Vec::new();
            for logged in log {
                if runs.last().is_none_or(|last| last.sha().is_none() || last.sha() != logged.sha()) {
                    runs.push(logged);
                }
            }
            *runs.get(*steps).ok_or_else(|| RollbackError::TooFewApplies {
                service: service.into(),
                steps: *steps,
                entries: log.len(),
                available: runs.len() - 1,
                current: current_sha.map(|sha| short(sha).to_string()),
            })?
        }
        Target::Sha(sha) => {
            if current_sha == Some(sha.as_str()) {
                return Err(RollbackError::AlreadyThere { service: service.into(), sha: short(sha).into() });
            }
            log.iter()
                .find(|logged| logged.sha() == Some(sha.as_str()))
                .ok_or_else(|| RollbackError::NeverApplied { service: service.into(), sha: short(sha).into() })?
        }
    };
    if chosen.sha().is_none() {
        return Err(RollbackError::NoCommit { service: service.into(), seq: chosen.seq });
    }
    Ok((chosen, current_sha))
}

/// What to run in git so that the repository agrees with the rollback of `service` from the commit
/// `from` to `to`: revert the commits that changed the service since `to` (when they changed
/// nothing else), else restore its directory as of `to`; or pin it.
/// When the service is pinned (`pinned` is the pin as written), moving the pin is the only advice.
pub fn advice(git: &Git, dir: &Path, service: &str, from: Option<&str>, to: &Commit, pinned: Option<&str>) -> String {
    let path = format!("{}/{service}", crate::repo::SERVICES_DIR);
    let git_cmd = if dir == Path::new(".") { "git".to_string() } else { format!("git -C {}", dir.display()) };
    let commits = from.and_then(|from| git.commits_touching(&to.sha, from, &path));
    let mut out = String::new();
    let _ = writeln!(
        out,
        "\nRolled back: `{service}` now runs {} ({}).\n\
         The repository still holds the configuration it was rolled back from, so `jones-sync plan`\n\
         shows the difference and the next `jones-sync apply` would undo the rollback. Make git agree,",
        short(&to.sha),
        to.subject
    );
    if let Some(pin) = pinned {
        let _ = writeln!(
            out,
            "by moving its pin in jones-sync.toml (now `{pin}`) to that commit:\n\n    [services.{service}]\n    pin = \"{}\"",
            to.sha
        );
        return out;
    }
    match commits {
        Some(commits) if !commits.is_empty() && commits.iter().all(|(_, only_service)| *only_service) => {
            let _ = writeln!(out, "either by reverting the commits that changed {path}/ since then:\n");
            let shas: Vec<&str> = commits.iter().map(|(commit, _)| short(&commit.sha)).collect();
            let _ = writeln!(out, "    {git_cmd} revert --no-edit {}", shas.join(" "));
        }
        found => {
            let why = match found {
                Some(commits) if !commits.is_empty() => " (the commits since then changed other files too)",
                _ => "",
            };
            let _ = writeln!(out, "either by restoring {path}/ as of that commit{why}:\n");
            let _ = writeln!(out, "    {git_cmd} restore --source={} --staged --worktree -- {path}", short(&to.sha));
            let _ = writeln!(out, "    {git_cmd} commit -m \"Roll back {service} to {}\"", short(&to.sha));
        }
    }
    let _ = writeln!(out, "\nor by pinning the service to that commit in jones-sync.toml until a fix is merged:\n");
    let _ = writeln!(out, "    [services.{service}]\n    pin = \"{}\"", to.sha);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log(shas: &[Option<&str>]) -> Vec<Logged> {
        let n = shas.len();
        shas.iter()
            .enumerate()
            .map(|(i, sha)| {
                let data = serde_json::json!({
                    "sha": sha, "dirty": false, "applied_at": "2025-01-02T10:00:00Z", "actor": "ci",
                    "tool": {"name": "jones-sync", "version": "0"},
                    "counts": {"create": 0, "update": 1, "delete": 0}, "plan_digest": "sha256:00",
                });
                Logged::parse(&format!("log-{:010}", n - i), data.to_string().as_bytes())
            })
            .collect()
    }

    fn chosen(log: &[Logged], target: Target) -> Result<(u64, Option<&str>), RollbackError> {
        choose("shop", log, &target).map(|(entry, current)| (entry.seq, current))
    }

    #[test]
    fn steps_skip_repeated_applies_of_one_commit() {
        // Newest first: c (applied twice), b, a.
        let log = log(&[Some("c"), Some("c"), Some("b"), Some("a")]);
        assert_eq!(chosen(&log, Target::Steps(1)), Ok((2, Some("c"))));
        assert_eq!(chosen(&log, Target::Steps(2)), Ok((1, Some("c"))));
        assert_eq!(
            chosen(&log, Target::Steps(3)).unwrap_err().to_string(),
            "`shop` cannot go back 3 steps (it can go back 2 steps): its audit log holds 4 entries, and a step goes \
             back to an apply of another commit (repeated applies of one commit are one step). See `jones-sync history shop`"
        );
    }

    /// Regression: five entries of one commit read "0 earlier applies in its audit log, not 1".
    #[test]
    fn too_few_steps_says_what_is_counted() {
        let same = log(&[Some("c0ffee1"); 5]);
        assert_eq!(
            chosen(&same, Target::Steps(1)).unwrap_err().to_string(),
            "`shop` cannot go back 1 step (it can go back 0 steps): all 5 entries of its audit log are applies of \
             c0ffee1, and a step goes back to an apply of another commit (repeated applies of one commit are one \
             step). See `jones-sync history shop`"
        );
        assert_eq!(
            chosen(&log(&[Some("a")]), Target::Steps(1)).unwrap_err().to_string(),
            "`shop` cannot go back 1 step (it can go back 0 steps): its audit log holds 1 entry, the current apply, \
             and a step goes back to an apply of another commit (repeated applies of one commit are one step). See \
             `jones-sync history shop`"
        );
    }

    #[test]
    fn a_rollback_can_be_rolled_back() {
        // a, b, then a rollback to a: one step back is b again.
        let log = log(&[Some("a"), Some("b"), Some("a")]);
        assert_eq!(chosen(&log, Target::Steps(1)), Ok((2, Some("a"))));
    }

    #[test]
    fn to_a_sha_picks_its_newest_entry() {
        let log = log(&[Some("c"), Some("b"), Some("a"), Some("b")]);
        assert_eq!(chosen(&log, Target::Sha("b".into())), Ok((3, Some("c"))));
        assert_eq!(
            chosen(&log, Target::Sha("c".into())),
            Err(RollbackError::AlreadyThere { service: "shop".into(), sha: "c".into() })
        );
        assert_eq!(
            chosen(&log, Target::Sha("d".into())),
            Err(RollbackError::NeverApplied { service: "shop".into(), sha: "d".into() })
        );
    }

    #[test]
    fn entries_without_a_commit_cannot_be_targets() {
        let log = log(&[Some("b"), None, Some("a")]);
        assert_eq!(chosen(&log, Target::Steps(1)), Err(RollbackError::NoCommit { service: "shop".into(), seq: 2 }));
        assert_eq!(chosen(&log, Target::Steps(2)), Ok((1, Some("b"))));
        assert_eq!(chosen(&[], Target::Steps(1)), Err(RollbackError::NoHistory { service: "shop".into() }));
    }
}
