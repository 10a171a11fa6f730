//! Loading the configuration a command works on: the work tree, or a revision read straight from
//! the git object database (`--rev`), with each pinned service read at its pin; and where each
//! service's content comes from ([`Origin`]), for the record and the audit log.
//!
//! Every source lists plain [`Entry`] values and [`crate::repo::load`] parses them all, so a
//! revision, a pin and a rollback are checked exactly like the work tree. Problems in content
//! read at a pin or a rollback's commit name it git's way, `<rev>:<path>`, since that file is not
//! in the work tree.

use std::collections::BTreeMap;
use std::path::Path;

use crate::diagnostic::{Problem, Problems};
use crate::git::{Commit, Git, GitError};
use crate::model::Repo;
use crate::record::Origin;
use crate::repo::source::SourceError;
use crate::repo::{Entry, EntryKind, SERVICES_DIR, settings};
use crate::view::DesiredConfs;

/// A loaded repository: the model, the desired confs of every service, and their origins.
pub struct Loaded {
    /// The model *without the environments' values*: services, environments, their directories
    /// and hosts, and the settings. Each service's values are freed as soon as its desired tree is
    /// built, since parsed values take several times the memory of the JSON they become and a
    /// large repository must never hold both whole; [`Loaded::service`] gives one service whole.
    pub repo: Repo,
    /// Each service's desired tree, kept as its confs: the views are materialized only for the
    /// services a command is working on ([`DesiredConfs::tree`]).
    pub desired: Vec<DesiredConfs>,
    /// Where each service's content comes from, by name.
    pub origins: BTreeMap<String, Origin>,
}

impl Loaded {
    /// The origin of `service` (every loaded service has one).
    pub fn origin(&self, service: &str) -> &Origin {
        &self.origins[service]
    }

    /// The model of `service` with its environments' values (read back from its desired confs).
    pub fn service(&self, service: &str) -> Option<crate::model::Service> {
        let desired = self.desired.iter().find(|d| d.name == service)?;
        Some(crate::view::with_values(self.repo.services.get(service)?.clone(), desired))
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error(transparent)]
    Git(#[from] GitError),
    #[error("`services/{service}/` does not exist at revision `{rev}` ({sha})")]
    NoService { service: String, rev: String, sha: String },
}

/// Reads `dir`'s work tree, or with `rev` that commit's tree, and every pinned service at its pin.
/// `Ok(Err(problems))` when the repository is invalid.
pub fn load(dir: &Path, rev: Option<&str>) -> Result<Result<Loaded, Vec<Problem>>, LoadError> {
    let git = Git::open(dir)?;
    let (entries, problems, base) = match rev {
        Some(rev) => {
            let git = git
                .as_ref()
                .ok_or_else(|| GitError::NotARepository { path: dir.display().to_string(), rev: rev.to_string() })?;
            let commit = git.resolve(rev)?;
            let (entries, problems) = git.entries(rev, &commit, None)?;
            (entries, problems, Origin { commit: Some(commit), dirty: false, pin: None })
        }
        None => {
            // Git's status scan of a large work tree takes about as long as reading the tree: the
            // two run at once, and the work tree's origin gets `dirty` when both are done.
            return std::thread::scope(|scope| {
                let dirty = git.as_ref().map(|_| scope.spawn(|| Git::open(dir)?.map_or(Ok(false), |git| git.dirty())));
                let (entries, mut problems) = crate::repo::source::read_dir(dir)?;
                let origin = match &git {
                    Some(git) => Origin { commit: git.head()?, dirty: false, pin: None },
                    None => Origin::default(),
                };
                let overrides = pins(dir, git.as_ref(), &entries, &mut problems)?;
                let mut loaded = finish(entries, problems, &origin, overrides);
                let dirty = match dirty {
                    Some(scan) => scan.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))?,
                    None => false,
                };
                if let Ok(loaded) = &mut loaded {
                    // Pinned services come from their pin's commit, never dirty; the rest from the work tree.
                    loaded.origins.values_mut().filter(|o| o.pin.is_none()).for_each(|o| o.dirty = dirty);
                }
                Ok(loaded)
            });
        }
    };
    let mut problems = problems;
    let overrides = pins(dir, git.as_ref(), &entries, &mut problems)?;
    Ok(finish(entries, problems, &base, overrides))
}

/// Reads only `service`, as of `commit`, with the work tree's settings: what a rollback applies.
pub fn load_service_at(dir: &Path, service: &str, commit: &Commit) -> Result<Result<Loaded, Vec<Problem>>, LoadError> {
    let rev = commit.sha.clone();
    let git = Git::open(dir)?
        .ok_or_else(|| GitError::NotARepository { path: dir.display().to_string(), rev: rev.clone() })?;
    let mut entries = vec![Entry { path: SERVICES_DIR.into(), kind: EntryKind::Dir }];
    let mut problems = Problems::default();
    let settings_path = dir.join(settings::FILE);
    if settings_path.is_file() {
        match std::fs::read(&settings_path) {
            Ok(bytes) => entries.push(Entry { path: settings::FILE.into(), kind: EntryKind::File(Some(bytes)) }),
            Err(err) => problems.push(Problem::new(settings::FILE, format!("cannot read: {err}"))),
        }
    }
    let (found, found_problems) = git.entries(&rev, commit, Some(service))?;
    if !has_service(&found, service) {
        return Err(LoadError::NoService { service: service.into(), rev: rev.clone(), sha: commit.sha.clone() });
    }
    let label = crate::git::short(&commit.sha).to_string();
    let origin = Origin { commit: Some(commit.clone()), dirty: false, pin: None };
    let overrides = vec![Override { service: service.into(), label, origin, entries: found, problems: found_problems }];
    Ok(finish(entries, problems, &Origin::default(), overrides))
}

/// A service whose content comes from another commit than the rest.
struct Override {
    service: String,
    /// How problems in its files name the commit: `<label>:<path>`.
    label: String,
    origin: Origin,
    entries: Vec<Entry>,
    problems: Problems,
}

/// Reads every `[services.<name>] pin` of the settings among `entries`; a pin that cannot be read
/// is a problem at its place in `jones-sync.toml`.
fn pins(dir: &Path, git: Option<&Git>, entries: &[Entry], problems: &mut Problems) -> Result<Vec<Override>, LoadError> {
    let text = entries.iter().find_map(|entry| match (&entry.kind, entry.path == settings::FILE) {
        (EntryKind::File(Some(bytes)), true) => std::str::from_utf8(bytes).ok(),
        _ => None,
    });
    // Invalid settings are reported by `repo::load`; without settings there are no pins.
    let Some(settings) = text.and_then(|text| settings::parse(text).ok()) else { return Ok(Vec::new()) };
    let text = text.unwrap_or_default();
    let mut overrides = Vec::new();
    for (service, pin) in settings.pins() {
        let rev = pin.get_ref().trim();
        let problem = |message: String| Problem::at(settings::FILE, text, pin.span().start, message);
        let Some(git) = git else {
            problems.push(problem(format!(
                "cannot pin `{service}`: `{}` is not in a git work tree, so there is no revision `{rev}`",
                dir.display()
            )));
            continue;
        };
        let commit = match git.resolve(rev) {
            Ok(commit) => commit,
            Err(err) => {
                problems.push(problem(format!("cannot pin `{service}`: {err}")));
                continue;
            }
        };
        let (found, found_problems) = git.entries(rev, &commit, Some(service))?;
        if !has_service(&found, service) {
            let short = crate::git::short(&commit.sha);
            problems.push(problem(format!(
                "cannot pin `{service}`: `services/{service}/` does not exist at `{rev}` ({short})"
            )));
            continue;
        }
        let origin = Origin { commit: Some(commit), dirty: false, pin: Some(rev.to_string()) };
        overrides.push(Override {
            service: service.to_string(),
            label: rev.to_string(),
            origin,
            entries: found,
            problems: found_problems,
        });
    }
    Ok(overrides)
}

fn has_service(entries: &[Entry], service: &str) -> bool {
    let dir = format!("{SERVICES_DIR}/{service}");
    entries.iter().any(|entry| entry.path == dir && entry.kind == EntryKind::Dir)
}

/// Whether `path` is the directory of `service` or below it.
fn within_service(path: &str, service: &str) -> bool {
    path.strip_prefix(SERVICES_DIR)
        .and_then(|rest| rest.strip_prefix('/'))
        .and_then(|rest| rest.strip_prefix(service))
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// Replaces each overridden service's entries by the override's, then parses everything once.
fn finish(
    mut entries: Vec<Entry>,
    problems: Problems,
    base: &Origin,
    overrides: Vec<Override>,
) -> Result<Loaded, Vec<Problem>> {
    let mut problems: Vec<Problem> = problems.into_sorted();
    let mut relabel: Vec<(String, String)> = Vec::new();
    let mut origins = BTreeMap::new();
    for o in overrides {
        entries.retain(|entry| !within_service(&entry.path, &o.service));
        problems.retain(|problem| !within_service(&problem.file, &o.service));
        entries.extend(o.entries.into_iter().filter(|entry| within_service(&entry.path, &o.service)));
        problems.extend(o.problems.into_sorted());
        relabel.push((o.service.clone(), o.label));
        origins.insert(o.service, o.origin);
    }
    let label = |mut problem: Problem| {
        if let Some((_, label)) = relabel.iter().find(|(service, _)| within_service(&problem.file, service)) {
            problem.file = format!("{label}:{}", problem.file);
        }
        problem
    };
    let mut all = Problems::default();
    all.extend(problems);
    let relabelled = |found: Vec<Problem>| {
        let mut found: Vec<Problem> = found.into_iter().map(label).collect();
        found.sort();
        found
    };
    // Each service's desired confs are built (and its views measured) as soon as the service is
    // read, and its values freed.
    let mut tree_problems = Vec::new();
    let (settings, services) = crate::repo::load_each(entries, all, |settings, mut service| {
        let desired = crate::view::checked(&service, settings, &mut tree_problems);
        for env in service.envs.values_mut() {
            env.values = serde_json::Map::new();
        }
        (service, desired)
    })
    .map_err(relabelled)?;
    // Problems of the desired trees (nodes too large) count once the repository itself is valid.
    if !tree_problems.is_empty() {
        return Err(relabelled(tree_problems));
    }
    let (services, desired): (Vec<_>, Vec<_>) = services.into_iter().unzip();
    let repo = Repo { settings, services: services.into_iter().map(|s| (s.name.clone(), s)).collect() };
    for name in repo.services.keys() {
        origins.entry(name.clone()).or_insert_with(|| base.clone());
    }
    origins.retain(|name, _| repo.services.contains_key(name));
    Ok(Loaded { repo, desired, origins })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn within_service_is_by_whole_names() {
        assert!(within_service("services/shop", "shop"));
        assert!(within_service("services/shop/prod/config.toml", "shop"));
        assert!(!within_service("services/shopping/config.toml", "shop"));
        assert!(!within_service("services", "shop"));
        assert!(!within_service("jones-sync.toml", "shop"));
    }
}
