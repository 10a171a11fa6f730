//! The desired state a command works on: the repository at the chosen revision, with each pinned
//! service at its pin ([`crate::repo::revision`]), parsed ([`crate::repo::parse_each`]) and made
//! into each service's desired confs ([`crate::view`]), with where each service's content comes
//! from.
//!
//! Memory is bounded by the desired confs, not the model: each service's values are freed as soon
//! as its confs are built (parsed values take several times the memory of the JSON they become),
//! and views are materialized only for the services being diffed, a window at a time
//! ([`crate::sync`]). Problems are collected, never stopped at, and name their file (git's
//! `<rev>:<path>` for content read from a commit).

use std::collections::BTreeMap;
use std::path::Path;

use crate::diagnostic::{Problem, Problems};
use crate::repo::Repo;
use crate::repo::git::Commit;
use crate::repo::revision::{self, Listing, LoadError, Origin};
use crate::view::DesiredConfs;

/// A loaded repository: the model, the desired confs of every service, and their origins.
pub struct DesiredState {
    /// The model *without the environments' values*: services, environments, their directories
    /// and hosts, and the settings. [`DesiredState::service`] gives one service whole.
    pub repo: Repo,
    /// Each service's desired nodes, kept as its confs (in name order): the views are
    /// materialized only for the services a command is working on
    /// ([`DesiredConfs::materialize`]).
    pub confs: Vec<DesiredConfs>,
    /// Where each service's content comes from, by name.
    pub origins: BTreeMap<String, Origin>,
    /// How the work tree's config files differ from the commit, one `` `path` (what) `` each
    /// ([`Listing::wait_dirty`]); empty for content read from commits.
    pub dirty_paths: Vec<String>,
}

impl DesiredState {
    /// The origin of `service` (every loaded service has one).
    pub fn origin(&self, service: &str) -> &Origin {
        &self.origins[service]
    }

    /// The model of `service` with its environments' values (read back from its desired confs).
    pub fn service(&self, service: &str) -> Option<crate::model::Service> {
        let confs = self.confs.iter().find(|d| d.name == service)?;
        Some(crate::view::with_values(self.repo.services.get(service)?.clone(), confs))
    }

    /// Whether any config file read had uncommitted changes (only the work tree can).
    pub fn dirty(&self) -> bool {
        self.origins.values().any(|origin| origin.dirty)
    }

    /// [`DesiredState::dirty_paths`] for an error message: one per line, indented, at most 10
    /// (then how many more).
    pub fn dirty_list(&self) -> String {
        let mut list: String = self.dirty_paths.iter().take(10).map(|path| format!("\n  {path}")).collect();
        if self.dirty_paths.len() > 10 {
            list.push_str(&format!("\n  and {} more", self.dirty_paths.len() - 10));
        }
        list
    }

    /// The commit the repository was read at (pinned services record their own), when in git.
    pub fn commit(&self) -> Option<&Commit> {
        let unpinned = self.origins.values().find(|o| o.pin.is_none()).or_else(|| self.origins.values().next());
        unpinned.and_then(|o| o.commit.as_ref())
    }
}

/// Reads `dir`'s work tree, or with `rev` that commit's tree, and every pinned service at its pin.
/// `Ok(Err(problems))` when the repository is invalid.
pub fn load(dir: &Path, rev: Option<&str>) -> Result<Result<DesiredState, Vec<Problem>>, LoadError> {
    build(revision::read(dir, rev)?)
}

/// Reads only `service`, as of `commit`, with the work tree's settings: what a rollback applies.
pub fn load_service_at(
    dir: &Path,
    service: &str,
    commit: &Commit,
) -> Result<Result<DesiredState, Vec<Problem>>, LoadError> {
    build(revision::read_service_at(dir, service, commit)?)
}

/// Parses `listing` once, building each service's desired confs as soon as it is read.
fn build(mut listing: Listing) -> Result<Result<DesiredState, Vec<Problem>>, LoadError> {
    let entries = std::mem::take(&mut listing.entries);
    let mut problems = Problems::default();
    problems.extend(std::mem::take(&mut listing.problems));
    let mut tree_problems = Vec::new();
    let parsed = crate::repo::parse_each(entries, problems, |settings, mut service| {
        let confs = crate::view::checked(&service, settings, &mut tree_problems);
        for env in service.envs.values_mut() {
            env.values = serde_json::Map::new();
        }
        (service, confs)
    });
    // The work tree's status scan ran meanwhile.
    let dirty_paths = listing.wait_dirty()?;
    let labelled = |found: Vec<Problem>| {
        let mut found: Vec<Problem> = found.into_iter().map(|problem| listing.label(problem)).collect();
        found.sort();
        found
    };
    let (settings, services) = match parsed {
        Ok(parsed) => parsed,
        Err(problems) => return Ok(Err(labelled(problems))),
    };
    // Problems of the desired nodes (too large) count once the repository itself is valid.
    if !tree_problems.is_empty() {
        return Ok(Err(labelled(tree_problems)));
    }
    let (services, confs): (Vec<_>, Vec<_>) = services.into_iter().unzip();
    let repo = Repo { settings, services: services.into_iter().map(|s| (s.name.clone(), s)).collect() };
    // Overridden services come from their commit, never dirty; the rest from the base.
    let base = Origin { dirty: !dirty_paths.is_empty(), ..listing.base.clone() };
    let origins = repo
        .services
        .keys()
        .map(|name| (name.clone(), listing.overridden.get(name).cloned().unwrap_or_else(|| base.clone())))
        .collect();
    Ok(Ok(DesiredState { repo, confs, origins, dirty_paths }))
}
