//! Which content a command reads: the work tree, or a revision read straight from the git object
//! database (`--rev`), with each pinned service read at its pin; or one service as of a commit (a
//! rollback). The result is a [`Listing`]: plain [`Entry`] values for [`super::parse`], so a
//! revision, a pin and a rollback are checked exactly like the work tree, and where each service's
//! content comes from ([`Origin`]), for the record and the audit log.
//!
//! Problems in content read at a pin or a rollback's commit name it git's way, `<rev>:<path>`,
//! since that file is not in the work tree ([`Listing::label`]).

use std::collections::BTreeMap;
use std::path::Path;
use std::thread::JoinHandle;

use super::git::{Commit, Git, GitError, Scan};
use super::settings::Settings;
use super::source::SourceError;
use super::{Entry, EntryKind, SERVICES_DIR, settings};
use crate::cache::Cache;
use crate::diagnostic::{Problem, Problems};

/// Where one service's content comes from: the commit, and how it was chosen.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Origin {
    /// The commit; `None` outside git (or before the first commit).
    pub commit: Option<Commit>,
    /// Read from a work tree whose config files differ from the commit (`apply --allow-dirty`).
    pub dirty: bool,
    /// The revision of `[services.<name>] pin`, as written, when the service is pinned.
    pub pin: Option<String>,
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

/// The entries a command reads, with their origins.
pub struct Listing {
    /// Every entry, each overridden service's (a pin's, a rollback's) in place of the base's.
    pub entries: Vec<Entry>,
    /// Problems found while listing (not labelled yet: [`Listing::label`]).
    pub problems: Vec<Problem>,
    /// The origin of every service not overridden.
    pub base: Origin,
    /// The origin of each overridden service.
    pub overridden: BTreeMap<String, Origin>,
    /// How problems in each overridden service's files name its commit: `<label>:<path>`.
    labels: Vec<(String, String)>,
    /// Git's status scan of the work tree, still running: its config files' uncommitted changes.
    dirty: Option<JoinHandle<Result<Scan, GitError>>>,
    /// The work tree's entries as listed (path, whether a directory), `*.md` files left out: what
    /// git must record too for the work tree to be what the commit holds.
    shape: Vec<(String, bool)>,
    /// The work tree's entries that are symlinks (what is below them is in `shape` too).
    links: Vec<String>,
    /// The config repository's directory.
    root: std::path::PathBuf,
    /// [`Listing::wait_differences`]' answer, once known.
    differences: Option<Vec<(String, String)>>,
    /// The parse cache, when in use for the work tree ([`CacheUse`]).
    pub cache: Option<CacheUse>,
}

/// The parse cache as a listing uses it ([`crate::cache`]): the entries found for the services of
/// the commit read (`HEAD` for the work tree). In a work tree, whether a service's entry stands for
/// it is only known once git's status scan says its directory has no changes
/// ([`crate::desired`] decides).
pub struct CacheUse {
    pub cache: Cache,
    /// The settings the keys were made with (the work tree's `jones-sync.toml`).
    pub settings: Settings,
    /// The git tree id of each service directory at `HEAD`.
    pub trees: BTreeMap<String, String>,
    /// The entry found for each service, by name.
    pub hits: BTreeMap<String, crate::cache::Parsed>,
    /// The services found are listed, without their files' content (the work tree: whether an
    /// entry stands for it is known only once git's status scan is done); otherwise (a commit,
    /// `--rev`) they are not listed at all.
    pub listed: bool,
}

impl Listing {
    /// `problem` with its file named git's way when it is in an overridden service.
    pub fn label(&self, mut problem: Problem) -> Problem {
        if let Some((_, label)) = self.labels.iter().find(|(service, _)| within_service(&problem.file, service)) {
            problem.file = format!("{label}:{}", problem.file);
        }
        problem
    }

    /// Waits for git's status scan: how the work tree's config files differ from `HEAD`, one
    /// `` `path` (what) `` each, sorted (none for content read from commits). Once: later calls
    /// find nothing.
    ///
    /// Git tracks files, not directories, so besides what its status says, the work tree must have
    /// nothing that git does not record (its index): an empty directory (or one holding only files
    /// git ignores) is an environment to jones-sync but not in any commit, and an ignored
    /// `config.toml` is read but not committed; either way the recorded commit would not describe
    /// what is applied.
    pub fn wait_dirty(&mut self) -> Result<Vec<String>, GitError> {
        Ok(self.wait_differences()?.iter().map(|(path, what)| describe_difference(path, what)).collect())
    }

    /// [`Listing::wait_dirty`] as `(path, what)` pairs, sorted. Waits once; later calls give the
    /// same answer.
    pub fn wait_differences(&mut self) -> Result<Vec<(String, String)>, GitError> {
        if let Some(found) = &self.differences {
            return Ok(found.clone());
        }
        let Some(scan) = self.dirty.take() else { return Ok(Vec::new()) };
        let scan = scan.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
        let links: std::collections::HashSet<&str> = self.links.iter().map(String::as_str).collect();
        let (mut found, linked) = difference_pairs(&scan, &self.shape, |path| links.contains(path));
        // What is read through a symlink is checked where it points, against the commit.
        if !linked.is_empty()
            && let Some(git) = Git::open(&self.root)?
        {
            found.extend(git.read_through_links(&linked)?);
            found.sort();
        }
        self.differences = Some(found.clone());
        Ok(found)
    }

    /// The work tree's entries that are symlinks.
    pub fn links(&self) -> &[String] {
        &self.links
    }

    /// The config repository's directory.
    pub fn root(&self) -> &Path {
        &self.root
    }
}

/// Lists `dir`'s work tree, or with `rev` that commit's tree, and every pinned service at its pin.
/// With `cache`, the services that have an entry there are listed without reading their files
/// (the work tree), or not at all (a commit) ([`CacheUse`]).
pub fn read(dir: &Path, rev: Option<&str>, cache: Option<&Cache>) -> Result<Listing, LoadError> {
    let git = Git::open(dir)?;
    let mut shape = Vec::new();
    let links;
    let cache_use;
    let (entries, mut problems, base, dirty) = match rev {
        Some(rev) => {
            let git = git
                .as_ref()
                .ok_or_else(|| GitError::NotARepository { path: dir.display().to_string(), rev: rev.to_string() })?;
            let commit = git.resolve(rev)?;
            cache_use = cache.and_then(|cache| {
                let settings = git.settings_at(&commit)?;
                Some(look_up(cache, settings, git.service_trees(&commit), false))
            });
            let hits = cache_use.as_ref().map(|found| &found.hits);
            let skip = |svc: &str| hits.is_some_and(|hits| hits.contains_key(svc));
            let (entries, problems, found_links) = git.entries_skipping(rev, &commit, &skip)?;
            links = found_links;
            (entries, problems, Origin { commit: Some(commit), dirty: false, pin: None }, None)
        }
        None => {
            // Git's status scan of a large work tree takes about as long as reading the tree: it
            // runs on another thread while the tree is read and parsed ([`Listing::wait_dirty`]).
            let dirty = git.as_ref().map(|_| {
                let dir = dir.to_path_buf();
                std::thread::spawn(move || Git::open(&dir)?.map_or(Ok(Scan::default()), |git| git.scan()))
            });
            let head = match &git {
                Some(git) => git.head()?,
                None => None,
            };
            cache_use = match (cache, &git, &head) {
                (Some(cache), Some(git), Some(head)) => {
                    // Settings that cannot be read are reported by the load, and nothing is cached.
                    settings::read_work_tree(dir)
                        .ok()
                        .map(|settings| look_up(cache, settings, git.service_trees(head), true))
                }
                _ => None,
            };
            let hits = cache_use.as_ref().map(|found| &found.hits);
            let deferred =
                |rel: &str| service_of(rel).is_some_and(|svc| hits.is_some_and(|hits| hits.contains_key(svc)));
            let (entries, problems, found_links) = super::source::read_dir_with_links(dir, &deferred)?;
            links = found_links;
            shape = entries
                .iter()
                .filter(|entry| !(entry.path.ends_with(".md") && entry.kind != EntryKind::Dir))
                .map(|entry| (entry.path.clone(), entry.kind == EntryKind::Dir))
                .collect();
            let origin = match &git {
                Some(_) => Origin { commit: head, dirty: false, pin: None },
                None => Origin::default(),
            };
            (entries, problems, origin, dirty)
        }
    };
    let overrides = pins(dir, git.as_ref(), &entries, &mut problems)?;
    let mut listing = merge(entries, problems, base, overrides);
    listing.dirty = dirty;
    listing.shape = shape;
    listing.links = links;
    listing.root = dir.to_path_buf();
    listing.cache = cache_use;
    Ok(listing)
}

/// The entries `cache` has for the services of a commit (their directories' `trees`) under
/// `settings`.
fn look_up(cache: &Cache, settings: Settings, trees: BTreeMap<String, String>, listed: bool) -> CacheUse {
    let hits = trees.iter().filter_map(|(svc, tree)| Some((svc.clone(), cache.get(svc, tree, &settings)?))).collect();
    CacheUse { cache: cache.clone(), settings, trees, hits, listed }
}

/// The service `path` is in (`services/<svc>` or below), if any.
pub fn service_of(path: &str) -> Option<&str> {
    let rest = path.strip_prefix(SERVICES_DIR)?.strip_prefix('/')?;
    Some(rest.split('/').next().unwrap_or(rest))
}

/// Lists only `service`, as of `commit`, with the work tree's settings: what a rollback applies.
pub fn read_service_at(dir: &Path, service: &str, commit: &Commit) -> Result<Listing, LoadError> {
    let rev = commit.sha.clone();
    let git = Git::open(dir)?
        .ok_or_else(|| GitError::NotARepository { path: dir.display().to_string(), rev: rev.clone() })?;
    let mut entries = vec![Entry { path: SERVICES_DIR.into(), kind: EntryKind::Dir }];
    let mut problems = Problems::default();
    super::source::read_settings(dir, &mut entries, &mut problems);
    let (found, found_problems) = git.entries(&rev, commit, Some(service))?;
    if !has_service(&found, service) {
        return Err(LoadError::NoService { service: service.into(), rev: rev.clone(), sha: commit.sha.clone() });
    }
    let label = super::git::short(&commit.sha).to_string();
    let origin = Origin { commit: Some(commit.clone()), dirty: false, pin: None };
    let overrides = vec![Override { service: service.into(), label, origin, entries: found, problems: found_problems }];
    Ok(merge(entries, problems, Origin::default(), overrides))
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
    // Invalid settings are reported by `repo::parse`; without settings there are no pins.
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
            let short = super::git::short(&commit.sha);
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
pub fn within_service(path: &str, service: &str) -> bool {
    path.strip_prefix(SERVICES_DIR)
        .and_then(|rest| rest.strip_prefix('/'))
        .and_then(|rest| rest.strip_prefix(service))
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

/// Replaces each overridden service's entries (and problems) by the override's.
fn merge(mut entries: Vec<Entry>, problems: Problems, base: Origin, overrides: Vec<Override>) -> Listing {
    let mut problems: Vec<Problem> = problems.into_sorted();
    let mut labels = Vec::new();
    let mut overridden = BTreeMap::new();
    for o in overrides {
        entries.retain(|entry| !within_service(&entry.path, &o.service));
        problems.retain(|problem| !within_service(&problem.file, &o.service));
        entries.extend(o.entries.into_iter().filter(|entry| within_service(&entry.path, &o.service)));
        problems.extend(o.problems.into_sorted());
        labels.push((o.service.clone(), o.label));
        overridden.insert(o.service, o.origin);
    }
    Listing {
        entries,
        problems,
        base,
        overridden,
        labels,
        dirty: None,
        shape: Vec::new(),
        links: Vec::new(),
        root: Default::default(),
        differences: None,
        cache: None,
    }
}

/// One difference of the work tree from `HEAD`: the path, and what git says of it.
pub type Difference = (String, String);

/// How the work tree (`shape`, its entries) differs from `HEAD` according to `scan`: what git's
/// status says, and every entry git does not record that the status cannot say (see
/// [`Listing::wait_dirty`]), except symlinks and what is read through them (`is_link` of the
/// path or a directory above it; git records the link, not what it points to): those entries are
/// returned to be checked where they point.
/// One `(path, what)` each, sorted, an entry below one already named left out.
fn difference_pairs(
    scan: &Scan,
    shape: &[(String, bool)],
    is_link: impl Fn(&str) -> bool,
) -> (Vec<Difference>, Vec<(String, bool)>) {
    use std::collections::{BTreeSet, HashSet};
    let mut found: BTreeMap<String, String> =
        scan.changes.iter().map(|(path, what)| (path.clone(), what.to_string())).collect();
    // What git records: the tracked files and the directories they are in.
    let tracked: HashSet<(&str, bool)> = scan
        .tracked
        .iter()
        .flat_map(|path| std::iter::once((path.as_str(), false)).chain(ancestors(path).map(|dir| (dir, true))))
        .collect();
    // Every directory with a file below it (in the work tree, or among git's changes).
    let files = shape.iter().filter(|(_, is_dir)| !is_dir).map(|(path, _)| path.as_str());
    let with_files: HashSet<&str> = files.chain(found.keys().map(String::as_str)).flat_map(ancestors).collect();
    let named: BTreeSet<&str> = found.keys().map(String::as_str).collect();
    let mut unseen: BTreeMap<&str, bool> = BTreeMap::new();
    for (path, is_dir) in shape {
        let path = path.as_str();
        if tracked.contains(&(path, *is_dir))
            || named.contains(path)
            // A directory with files is named by its files; one without is named itself, once.
            || (*is_dir && with_files.contains(path))
            || ancestors(path).any(|dir| named.contains(dir) || unseen.contains_key(dir))
        {
            continue;
        }
        unseen.insert(path, *is_dir);
    }
    // Git records a symlink, not what is read through it: that is checked where it points.
    let through_link = |path: &str| ancestors(path).any(&is_link);
    let linked = shape.iter().filter(|(path, _)| is_link(path) || through_link(path)).cloned().collect();
    unseen.retain(|path, _| !is_link(path) && !through_link(path));
    for (path, is_dir) in unseen {
        let what = match (is_dir, scan.hashed) {
            (true, _) => "a directory git does not record: it is empty, or holds only files git ignores",
            (false, false) => "ignored by git, so not in the commit",
            (false, true) => "not in the commit",
        };
        found.insert(path.to_string(), what.to_string());
    }
    (found.into_iter().collect(), linked)
}

/// [`difference_pairs`], one `` `path` (what) `` each.
#[cfg(test)]
fn differences(
    scan: &Scan,
    shape: &[(String, bool)],
    is_link: impl Fn(&str) -> bool,
) -> (Vec<String>, Vec<(String, bool)>) {
    let (found, linked) = difference_pairs(scan, shape, is_link);
    (found.iter().map(|(path, what)| describe_difference(path, what)).collect(), linked)
}

/// A difference as messages show it: `` `path` (what) ``.
pub fn describe_difference(path: &str, what: &str) -> String {
    format!("`{path}` ({what})")
}

/// The directories `path` is below, nearest first (`a/b/c`: `a/b`, `a`).
fn ancestors(path: &str) -> impl Iterator<Item = &str> {
    std::iter::successors(path.rsplit_once('/').map(|(dir, _)| dir), |dir| dir.rsplit_once('/').map(|(up, _)| up))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn what_git_cannot_see_in_the_work_tree_is_a_difference_named_once() {
        let scan = Scan {
            changes: vec![("services/s/new/config.toml".into(), "untracked")],
            tracked: vec!["services/s/config.toml".into(), "services/s/a/README.md".into(), "services/s/link".into()],
            hashed: false,
        };
        let shape: Vec<(String, bool)> = [
            ("services", true),
            ("services/s", true),
            ("services/s/config.toml", false),
            ("services/s/a", true),
            ("services/s/a/hosts.toml", false),
            ("services/s/empty", true),
            ("services/s/empty/below", true),
            ("services/s/new", true),
            ("services/s/new/config.toml", false),
            // A symlink to a directory: git records the link, the listing what it points to.
            ("services/s/link", true),
            ("services/s/link/config.toml", false),
        ]
        .iter()
        .map(|(path, is_dir)| (path.to_string(), *is_dir))
        .collect();
        let is_link = |path: &str| path == "services/s/link";
        let (found, linked) = differences(&scan, &shape, is_link);
        assert_eq!(linked, [("services/s/link".to_string(), true), ("services/s/link/config.toml".to_string(), false)]);
        assert_eq!(
            found,
            [
                "`services/s/a/hosts.toml` (ignored by git, so not in the commit)",
                "`services/s/empty` (a directory git does not record: it is empty, or holds only files git ignores)",
                "`services/s/new/config.toml` (untracked)",
            ]
        );
        assert_eq!(differences(&scan, &shape[..4], is_link).0, ["`services/s/new/config.toml` (untracked)"]);
        assert_eq!(ancestors("a/b/c").collect::<Vec<_>>(), ["a/b", "a"]);
        assert_eq!(ancestors("a").count(), 0);
    }

    #[test]
    fn within_service_is_by_whole_names() {
        assert!(within_service("services/shop", "shop"));
        assert!(within_service("services/shop/prod/config.toml", "shop"));
        assert!(!within_service("services/shopping/config.toml", "shop"));
        assert!(!within_service("services", "shop"));
        assert!(!within_service("jones-sync.toml", "shop"));
    }
}
