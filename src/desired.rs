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

use std::collections::{BTreeMap, HashSet};
use std::path::Path;

use crate::cache::Cache;
use crate::model::Service;
use crate::repo::EntryKind;
use crate::repo::settings::Settings;

use crate::diagnostic::{Problem, Problems};
use crate::repo::Repo;
use crate::repo::git::Commit;
use crate::repo::revision::{self, Listing, LoadError, Origin};
use crate::view::DesiredConfs;

/// A loaded repository: the model, the desired confs of every service, and their origins.
#[derive(Debug, Clone)]
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
    /// The git tree id of each service's directory, for the services read exactly from it (read
    /// with the parse cache, not pinned, unchanged in the work tree): a service with the same
    /// tree id under the same settings has the same desired nodes.
    pub trees: BTreeMap<String, String>,
}

impl DesiredState {
    /// The origin of `service` (every loaded service has one).
    pub fn origin(&self, service: &str) -> &Origin {
        &self.origins[service]
    }

    /// The model of `service` with its environments' values (read back from its desired confs).
    pub fn service(&self, service: &str) -> Option<crate::model::Service> {
        let confs = self.confs.iter().find(|d| d.name == service)?;
        Some(crate::view::with_values(Service::clone(self.repo.services.get(service)?), confs))
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
    load_cached(dir, rev, None)
}

/// [`load`], where services whose directory is unchanged since `HEAD` come from the parse cache
/// `cache` when it has them, and the others are written to it ([`crate::cache`]).
pub fn load_cached(
    dir: &Path,
    rev: Option<&str>,
    cache: Option<&Cache>,
) -> Result<Result<DesiredState, Vec<Problem>>, LoadError> {
    build(revision::read(dir, rev, cache)?)
}

/// The work tree at `dir` read as [`load_cached`] reads it, but with no service checked against its
/// schema (`jones-sync schema` shows the views a schema rejects), and no parse cache.
pub fn load_unchecked(dir: &Path) -> Result<Result<DesiredState, Vec<Problem>>, LoadError> {
    let mut listing = revision::read(dir, None, None)?;
    listing
        .entries
        .retain(|entry| !(entry.path.starts_with("services/") && entry.path.ends_with(crate::repo::SCHEMA_FILE)));
    build(listing)
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
///
/// With the parse cache ([`Listing::cache`]): a service found there for a commit (`--rev`) is
/// used as it is. One found for the work tree stands for it only when git's status scan finds
/// nothing changed in its directory and it has no symlink, so the scan is waited for before
/// parsing (what is left to parse is what the cache lacks); the files of every other service
/// found there are read then. Every service parsed from an unchanged
/// directory is written to the cache once the whole repository has loaded without a problem.
fn build(mut listing: Listing) -> Result<Result<DesiredState, Vec<Problem>>, LoadError> {
    let mut entries = std::mem::take(&mut listing.entries);
    let mut cache_use = listing.cache.take();
    let mut from_cache = Vec::new();
    if let Some(found) = &mut cache_use
        && !found.listed
    {
        // A commit's: its services found were not listed; a pinned one comes from its pin.
        let hits = std::mem::take(&mut found.hits);
        from_cache =
            hits.into_iter().filter(|(svc, _)| !listing.overridden.contains_key(svc)).map(|(_, p)| p).collect();
    }
    if let Some(found) = &mut cache_use
        && found.listed
        && !found.hits.is_empty()
    {
        let hits = std::mem::take(&mut found.hits);
        let differences = listing.wait_differences()?;
        let touched = touched(&differences, listing.links());
        // The settings the keys were made with must be the ones parsed (read apart, just before).
        let same_settings = entries
            .iter()
            .find_map(|entry| match &entry.kind {
                EntryKind::File(Some(bytes)) if entry.path == crate::repo::settings::FILE => Some(bytes.as_slice()),
                _ => None,
            })
            .map_or(Some(Settings::default()), |bytes| {
                crate::repo::settings::parse(std::str::from_utf8(bytes).ok()?).ok()
            })
            .is_some_and(|parsed| {
                crate::cache::shaping(&parsed) == crate::cache::shaping(&found.settings)
                    && parsed.zookeeper.acl == found.settings.zookeeper.acl
            });
        let present: HashSet<&str> = entries
            .iter()
            .filter(|entry| entry.kind == EntryKind::Dir && entry.path.matches('/').count() == 1)
            .filter_map(|entry| revision::service_of(&entry.path))
            .collect();
        let used: HashSet<String> = hits
            .keys()
            .filter(|svc| {
                same_settings
                    && present.contains(svc.as_str())
                    && !touched.contains(svc.as_str())
                    && !listing.overridden.contains_key(*svc)
            })
            .cloned()
            .collect();
        entries.retain(|entry| revision::service_of(&entry.path).is_none_or(|svc| !used.contains(svc)));
        let root = listing.root().to_path_buf();
        entries.retain_mut(|entry| crate::repo::source::read_content(&root, entry, &mut listing.problems));
        from_cache = hits.into_iter().filter(|(svc, _)| used.contains(svc)).map(|(_, parsed)| parsed).collect();
    }
    let mut problems = Problems::default();
    problems.extend(std::mem::take(&mut listing.problems));
    let mut tree_problems = Vec::new();
    let settings_text = crate::repo::settings_text(&entries);
    let parsed = crate::repo::parse_each(entries, problems, |settings, mut service| {
        let confs = crate::view::checked(&service, settings, &mut tree_problems);
        for env in service.envs.values_mut() {
            env.values = serde_json::Map::new();
        }
        (std::sync::Arc::new(service), confs)
    });
    // The work tree's status scan ran meanwhile.
    let differences = listing.wait_differences()?;
    let dirty_paths: Vec<String> =
        differences.iter().map(|(path, what)| revision::describe_difference(path, what)).collect();
    let labelled = |found: Vec<Problem>| {
        let mut found: Vec<Problem> = found.into_iter().map(|problem| listing.label(problem)).collect();
        found.sort();
        found
    };
    let (settings, mut services) = match parsed {
        Ok(parsed) => parsed,
        Err(problems) => return Ok(Err(labelled(problems))),
    };
    // Problems of the desired nodes (too large) count once the repository itself is valid.
    if !tree_problems.is_empty() {
        return Ok(Err(labelled(tree_problems)));
    }
    let mut trees = BTreeMap::new();
    if let Some(found) = &cache_use {
        let touched = touched(&differences, listing.links());
        trees = found
            .trees
            .iter()
            .filter(|(name, _)| !touched.contains(name.as_str()) && !listing.overridden.contains_key(*name))
            .map(|(name, tree)| (name.clone(), tree.clone()))
            .collect();
        for parsed in &services {
            let name = parsed.0.name.as_str();
            if let Some(tree) = found.trees.get(name)
                && !touched.contains(name)
                && !listing.overridden.contains_key(name)
            {
                found.cache.put(tree, &settings, parsed);
            }
        }
    }
    for (_, confs) in &mut from_cache {
        confs.acl.clone_from(&settings.zookeeper.acl);
    }
    services.extend(from_cache);
    services.sort_by(|a, b| a.0.name.cmp(&b.0.name));
    let known = |name: &str| services.binary_search_by(|s| s.0.name.as_str().cmp(name)).is_ok();
    let target_problems = crate::repo::target_problems(&settings, settings_text.as_deref().unwrap_or_default(), known);
    if !target_problems.is_empty() {
        return Ok(Err(labelled(target_problems)));
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
    Ok(Ok(DesiredState { repo, confs, origins, dirty_paths, trees }))
}

/// The services with a difference from `HEAD` (`differences`, from [`Listing::wait_differences`])
/// or a symlink (`links`) in their directory: their tree id does not describe what is read.
fn touched<'a>(differences: &'a [(String, String)], links: &'a [String]) -> HashSet<&'a str> {
    let paths = differences.iter().map(|(path, _)| path.as_str()).chain(links.iter().map(String::as_str));
    paths.filter_map(revision::service_of).collect()
}
