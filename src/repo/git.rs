//! What git says about a config repository directory: the commit its content comes from, whether
//! the config files have uncommitted changes (a recorded SHA must not lie), revisions resolved to
//! commits, and the history of a service's directory.
//!
//! The config repository may be a subdirectory of a git work tree (`example-repo/` inside this
//! project): [`Git::prefix`] maps between the two, so that every path jones-sync shows stays
//! relative to the config repository. Everything here reads the object database; nothing checks
//! out or touches the work tree.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::diagnostic::Problems;
use crate::repo::Entry;

/// One commit, as the record and the audit log describe it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Commit {
    pub sha: String,
    /// The first line of the message.
    pub subject: String,
    /// `Name <email>`.
    pub author: String,
    /// When it was committed (committer time), RFC 3339 in UTC.
    pub committed_at: String,
}

#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("cannot read git state of `{path}`: {error}")]
    Read { path: String, error: git2::Error },
    #[error("`{path}` is not in a git work tree, so it has no revision `{rev}`")]
    NotARepository { path: String, rev: String },
    #[error(
        "unknown revision `{rev}` in the git repository of `{path}`: no commit, branch or tag by that name here \
         (if it exists elsewhere, `git fetch` it first)"
    )]
    UnknownRevision { path: String, rev: String },
    #[error(
        "revision `{rev}` is not in the git repository of `{path}`, which is a shallow clone: its history is cut off, \
         so older commits, branches and tags are missing. Fetch the history with `git fetch --unshallow` \
         (GitHub Actions: `actions/checkout` with `fetch-depth: 0`)"
    )]
    Shallow { path: String, rev: String },
    #[error("revision `{rev}` is not a commit: {error}")]
    NotACommit { rev: String, error: git2::Error },
    #[error("the config repository `{dir}` does not exist at revision `{rev}` ({sha})")]
    NoDirectory { dir: String, rev: String, sha: String },
    #[error("cannot read revision `{rev}` ({sha}) from git: {error}")]
    Objects { rev: String, sha: String, error: git2::Error },
}

/// What git says of a work tree's config files against `HEAD` ([`Git::scan`]).
#[derive(Debug, Clone, Default)]
pub struct Scan {
    /// Files that differ from `HEAD` or are untracked, relative to the config repository, with
    /// what git says of each (`modified`, `untracked`...).
    pub changes: Vec<(String, &'static str)>,
    /// The config files git tracks (its index), relative to the config repository: the
    /// directories it records are theirs. What git cannot see (an empty directory, a directory or
    /// file it ignores) is missing here.
    pub tracked: Vec<String>,
    /// `changes` come from hashing the tracked files, not from git's status (which cannot scan
    /// the work tree): untracked files are not among them.
    pub hashed: bool,
}

/// Whether `path` (relative to the config repository) is a config file: `jones-sync.toml`, or
/// below `services/`.
fn is_config(path: &str) -> bool {
    path == crate::repo::settings::FILE || path.starts_with("services/")
}

/// What git's status of a file says, in a word; `None` for a status that is no change.
fn describe_status(status: git2::Status) -> Option<&'static str> {
    use git2::Status as S;
    Some(if status.intersects(S::CONFLICTED) {
        "conflicted"
    } else if status.intersects(S::WT_NEW) {
        "untracked"
    } else if status.intersects(S::INDEX_NEW) {
        "added"
    } else if status.intersects(S::WT_DELETED | S::INDEX_DELETED) {
        "deleted"
    } else if status.intersects(S::WT_RENAMED | S::INDEX_RENAMED) {
        "renamed"
    } else if status.intersects(S::WT_TYPECHANGE | S::INDEX_TYPECHANGE) {
        "changed type"
    } else if status.intersects(S::WT_MODIFIED | S::INDEX_MODIFIED) {
        "modified"
    } else {
        return None;
    })
}

const MODE_TREE: i32 = 0o040000;

/// A config repository directory inside a git work tree.
pub struct Git {
    repo: git2::Repository,
    /// The config repository relative to the work tree's top, `/`-separated, `""` at the top.
    prefix: String,
    /// The directory as the user named it, for messages.
    dir: PathBuf,
}

impl Git {
    /// The git work tree holding `dir`, or `None` when `dir` is not inside one.
    pub fn open(dir: &Path) -> Result<Option<Git>, GitError> {
        let error = |error| GitError::Read { path: dir.display().to_string(), error };
        let repo = match git2::Repository::discover(dir) {
            Ok(repo) => repo,
            Err(err) if err.code() == git2::ErrorCode::NotFound => return Ok(None),
            Err(err) => return Err(error(err)),
        };
        let Some(workdir) = repo.workdir() else { return Ok(None) };
        let io = |e: std::io::Error| error(git2::Error::from_str(&e.to_string()));
        let top = workdir.canonicalize().map_err(io)?;
        let here = dir.canonicalize().map_err(io)?;
        let prefix = here.strip_prefix(&top).unwrap_or(Path::new("")).to_string_lossy().replace('\\', "/");
        Ok(Some(Git { repo, prefix, dir: dir.to_path_buf() }))
    }

    /// The config repository relative to the top of the work tree (`""` when it is the top).
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// `path` (relative to the config repository) relative to the top of the work tree.
    fn top_path(&self, path: &str) -> String {
        if self.prefix.is_empty() { path.to_string() } else { format!("{}/{path}", self.prefix) }
    }

    fn error(&self, error: git2::Error) -> GitError {
        GitError::Read { path: self.dir.display().to_string(), error }
    }

    /// The commit `HEAD` points at, `None` before the first commit.
    pub fn head(&self) -> Result<Option<Commit>, GitError> {
        match self.repo.head() {
            Ok(head) => Ok(Some(describe(&head.peel_to_commit().map_err(|e| self.error(e))?))),
            Err(err) if matches!(err.code(), git2::ErrorCode::UnbornBranch | git2::ErrorCode::NotFound) => Ok(None),
            Err(err) => Err(self.error(err)),
        }
    }

    /// What git says of the config files (`services/`, `jones-sync.toml`) against `HEAD`: see
    /// [`Scan`]. When libgit2 cannot scan the work tree (it refuses directories nested 100 deep
    /// or more, which git itself reads), the index is compared with `HEAD`, and each file of the
    /// index hashed and compared with the work tree, instead.
    pub fn scan(&self) -> Result<Scan, GitError> {
        let index = self.repo.index().map_err(|e| self.error(e))?;
        let prefix = if self.prefix.is_empty() { String::new() } else { format!("{}/", self.prefix) };
        let tracked: Vec<(String, git2::Oid, u32)> = index
            .iter()
            .filter_map(|entry| {
                let path = String::from_utf8_lossy(&entry.path).into_owned();
                let rel = path.strip_prefix(&prefix)?;
                is_config(rel).then(|| (rel.to_string(), entry.id, entry.mode))
            })
            .collect();
        let (changes, hashed) = match self.status() {
            Ok(changes) => (changes, false),
            Err(err) if err.message().contains("nesting too deep") => {
                (self.compare_index(&index, &tracked).map_err(|e| self.error(e))?, true)
            }
            Err(err) => return Err(self.error(err)),
        };
        Ok(Scan { changes, tracked: tracked.into_iter().map(|(path, _, _)| path).collect(), hashed })
    }

    /// Git's status of the config files: each changed or untracked file, relative to the config
    /// repository, with what git says of it.
    fn status(&self) -> Result<Vec<(String, &'static str)>, git2::Error> {
        let mut options = git2::StatusOptions::new();
        options
            .include_untracked(true)
            .recurse_untracked_dirs(true)
            .include_ignored(false)
            .pathspec(self.top_path(crate::repo::SERVICES_DIR))
            .pathspec(self.top_path(crate::repo::settings::FILE));
        let statuses = self.repo.statuses(Some(&mut options))?;
        Ok(statuses
            .iter()
            .filter_map(|entry| {
                let path = String::from_utf8_lossy(entry.path_bytes()).into_owned();
                Some((self.relative(&path), describe_status(entry.status())?))
            })
            .collect())
    }

    /// What [`Git::status`] says of tracked files, without scanning the work tree: the index
    /// against `HEAD` (staged changes), then each file of the index (`tracked`) hashed from the
    /// work tree (content filters such as `core.autocrlf` are not applied, so a converted file
    /// counts as modified).
    fn compare_index(
        &self,
        index: &git2::Index,
        tracked: &[(String, git2::Oid, u32)],
    ) -> Result<Vec<(String, &'static str)>, git2::Error> {
        const MODE_LINK: u32 = 0o120000;
        const MODE_SUBMODULE: u32 = 0o160000;
        let head = match self.repo.head() {
            Ok(head) => Some(head.peel_to_tree()?),
            Err(err) if matches!(err.code(), git2::ErrorCode::UnbornBranch | git2::ErrorCode::NotFound) => None,
            Err(err) => return Err(err),
        };
        let mut options = git2::DiffOptions::new();
        options.pathspec(self.top_path(crate::repo::SERVICES_DIR)).pathspec(self.top_path(crate::repo::settings::FILE));
        let staged = self.repo.diff_tree_to_index(head.as_ref(), Some(index), Some(&mut options))?;
        let mut changes: Vec<(String, &'static str)> = staged
            .deltas()
            .filter_map(|delta| {
                let path = delta.new_file().path().or(delta.old_file().path())?;
                let what = match delta.status() {
                    git2::Delta::Added => "added",
                    git2::Delta::Deleted => "deleted",
                    _ => "modified",
                };
                Some((self.relative(&path.to_string_lossy()), what))
            })
            .collect();
        for (path, oid, mode) in tracked {
            let file = self.dir.join(path);
            let found =
                match *mode {
                    MODE_SUBMODULE => continue,
                    MODE_LINK => std::fs::read_link(&file).map_err(|e| git2::Error::from_str(&e.to_string())).and_then(
                        |target| git2::Oid::hash_object(git2::ObjectType::Blob, target.as_os_str().as_encoded_bytes()),
                    ),
                    _ => git2::Oid::hash_file(git2::ObjectType::Blob, &file),
                };
            match found {
                Ok(found) if found == *oid => {}
                Ok(_) => changes.push((path.clone(), "modified")),
                Err(_) => changes.push((path.clone(), "deleted")),
            }
        }
        Ok(changes)
    }

    /// Entries of the config repository read through a symlink (`path`, whether a directory),
    /// checked where they point against `HEAD`, as git's status does not (the target may be
    /// outside `services/`): a directory `HEAD` does not have, a file it does not have or whose
    /// content differs. Each such entry with what is wrong, by its path in the config repository.
    pub fn read_through_links(&self, entries: &[(String, bool)]) -> Result<Vec<(String, String)>, GitError> {
        let io = |e: std::io::Error| self.error(git2::Error::from_str(&e.to_string()));
        let top = self.repo.workdir().map(Path::to_path_buf).unwrap_or_default().canonicalize().map_err(io)?;
        let head = match self.repo.head() {
            Ok(head) => Some(head.peel_to_tree().map_err(|e| self.error(e))?),
            Err(err) if matches!(err.code(), git2::ErrorCode::UnbornBranch | git2::ErrorCode::NotFound) => None,
            Err(err) => return Err(self.error(err)),
        };
        let mut found = Vec::new();
        for (path, is_dir) in entries {
            let real = self.dir.join(path).canonicalize().map_err(io)?;
            let shown = real.strip_prefix(&top).unwrap_or(&real).to_string_lossy().replace('\\', "/");
            let committed = head.as_ref().and_then(|tree| tree.get_path(Path::new(&shown)).ok());
            let what = match (committed.map(|entry| (entry.kind(), entry.id())), is_dir) {
                (Some((Some(git2::ObjectType::Tree), _)), true) => continue,
                (_, true) => format!(
                    "read through a symlink from `{shown}`, a directory git does not record: it is empty, or holds \
                     only files git ignores"
                ),
                (Some((Some(git2::ObjectType::Blob), oid)), false) => {
                    if git2::Oid::hash_file(git2::ObjectType::Blob, &real).is_ok_and(|found| found == oid) {
                        continue;
                    }
                    format!("read through a symlink from `{shown}`, which differs from the commit")
                }
                (_, false) => format!("read through a symlink from `{shown}`, which is not in the commit"),
            };
            found.push((path.clone(), what));
        }
        Ok(found)
    }

    /// `path` (relative to the top of the work tree) relative to the config repository.
    fn relative(&self, path: &str) -> String {
        match self.prefix.as_str() {
            "" => path.to_string(),
            prefix => path.strip_prefix(prefix).and_then(|rest| rest.strip_prefix('/')).unwrap_or(path).to_string(),
        }
    }

    /// The commit `rev` names (a SHA or its prefix, a branch, a tag, `HEAD~3`...), with an error
    /// that says how to fetch it when it is missing from a shallow clone.
    pub fn resolve(&self, rev: &str) -> Result<Commit, GitError> {
        let path = self.dir.display().to_string();
        let object = match self.repo.revparse_single(rev) {
            Ok(object) => object,
            Err(err) if matches!(err.code(), git2::ErrorCode::NotFound | git2::ErrorCode::InvalidSpec) => {
                return Err(if self.repo.is_shallow() {
                    GitError::Shallow { path, rev: rev.into() }
                } else {
                    GitError::UnknownRevision { path, rev: rev.into() }
                });
            }
            Err(err) => return Err(GitError::NotACommit { rev: rev.into(), error: err }),
        };
        let commit = object.peel_to_commit().map_err(|error| GitError::NotACommit { rev: rev.into(), error })?;
        Ok(describe(&commit))
    }

    /// Whether commit `newer` descends from commit `older` (both SHAs); `None` when either is not in
    /// this repository (a shallow clone, say).
    pub fn descends(&self, newer: &str, older: &str) -> Option<bool> {
        let newer = self.repo.find_commit(git2::Oid::from_str(newer).ok()?).ok()?.id();
        let older = self.repo.find_commit(git2::Oid::from_str(older).ok()?).ok()?.id();
        self.repo.graph_descendant_of(newer, older).ok()
    }

    /// The entries of the config repository at `commit` (from [`Git::resolve`]), as the work-tree
    /// source lists them; with `only`, just `services/` and `services/<only>/`.
    pub fn entries(&self, rev: &str, commit: &Commit, only: Option<&str>) -> Result<(Vec<Entry>, Problems), GitError> {
        let objects = |error| GitError::Objects { rev: rev.into(), sha: commit.sha.clone(), error };
        let oid = git2::Oid::from_str(&commit.sha).map_err(objects)?;
        let tree = self.repo.find_commit(oid).and_then(|c| c.tree()).map_err(objects)?;
        match crate::repo::git_tree::read(&self.repo, &tree, &self.prefix, only).map_err(objects)? {
            Some(found) => Ok(found),
            None => Err(GitError::NoDirectory {
                dir: self.dir.display().to_string(),
                rev: rev.into(),
                sha: commit.sha.clone(),
            }),
        }
    }

    /// The git tree id (hex) of each service directory `services/<name>/` at `commit`, for the
    /// parse cache ([`crate::cache`]). Only real directories count: a service that is a symlink
    /// or a submodule, or a config repository reached through a symlink, has none (its tree id
    /// would not describe what is read). Empty when the commit cannot be read.
    pub fn service_trees(&self, commit: &Commit) -> BTreeMap<String, String> {
        let services = self.config_tree(commit).ok().flatten().and_then(|tree| {
            let id = tree.get_name(crate::repo::SERVICES_DIR).filter(|e| e.filemode() == MODE_TREE)?.id();
            self.repo.find_tree(id).ok()
        });
        let Some(services) = services else { return BTreeMap::new() };
        services
            .iter()
            .filter(|entry| entry.filemode() == MODE_TREE)
            .filter_map(|entry| Some((entry.name().ok()?.to_string(), entry.id().to_string())))
            .collect()
    }

    /// The settings of the config repository at `commit`, for the parse cache's keys: `None` when
    /// `jones-sync.toml` there is not a plain file or not valid (then the load reports it).
    pub fn settings_at(&self, commit: &Commit) -> Option<crate::repo::settings::Settings> {
        let tree = self.config_tree(commit).ok()??;
        let Some(entry) = tree.get_name(crate::repo::settings::FILE) else {
            return Some(Default::default());
        };
        if ![0o100644, 0o100755].contains(&entry.filemode()) {
            return None;
        }
        let blob = self.repo.find_blob(entry.id()).ok()?;
        crate::repo::settings::parse(std::str::from_utf8(blob.content()).ok()?).ok()
    }

    /// The config repository's tree at `commit`, reached through real directories only.
    fn config_tree(&self, commit: &Commit) -> Result<Option<git2::Tree<'_>>, git2::Error> {
        let mut tree = self.repo.find_commit(git2::Oid::from_str(&commit.sha)?)?.tree()?;
        for name in self.prefix.split('/').filter(|part| !part.is_empty()) {
            let Some((mode, id)) = tree.get_name(name).map(|entry| (entry.filemode(), entry.id())) else {
                return Ok(None);
            };
            if mode != MODE_TREE {
                return Ok(None);
            }
            tree = self.repo.find_tree(id)?;
        }
        Ok(Some(tree))
    }

    /// [`Git::entries`] of the whole config repository, without the services `skip` names (not
    /// listed at all), and the symlinks listed.
    pub fn entries_skipping(
        &self,
        rev: &str,
        commit: &Commit,
        skip: &dyn Fn(&str) -> bool,
    ) -> Result<crate::repo::git_tree::Listed, GitError> {
        let objects = |error| GitError::Objects { rev: rev.into(), sha: commit.sha.clone(), error };
        let oid = git2::Oid::from_str(&commit.sha).map_err(objects)?;
        let tree = self.repo.find_commit(oid).and_then(|c| c.tree()).map_err(objects)?;
        match crate::repo::git_tree::read_skipping(&self.repo, &tree, &self.prefix, None, skip).map_err(objects)? {
            Some(found) => Ok(found),
            None => Err(GitError::NoDirectory {
                dir: self.dir.display().to_string(),
                rev: rev.into(),
                sha: commit.sha.clone(),
            }),
        }
    }

    /// The commits reachable from `to` but not from `from`, newest first, that changed the config
    /// repository's `path`; each says whether it changed anything else too. `None` when `from` is
    /// not an ancestor of `to`, or history between them is missing (a shallow clone).
    pub fn commits_touching(&self, from: &str, to: &str, path: &str) -> Option<Vec<(Commit, bool)>> {
        let from = git2::Oid::from_str(from).ok()?;
        let to = git2::Oid::from_str(to).ok()?;
        if !self.repo.graph_descendant_of(to, from).ok()? {
            return None;
        }
        let mut walk = self.repo.revwalk().ok()?;
        walk.push(to).ok()?;
        walk.hide(from).ok()?;
        let within = self.top_path(path);
        let mut found = Vec::new();
        for oid in walk {
            let commit = self.repo.find_commit(oid.ok()?).ok()?;
            let tree = commit.tree().ok()?;
            let parent_tree = match commit.parent_count() {
                0 => None,
                1 => Some(commit.parent(0).ok()?.tree().ok()?),
                // A merge's changes are its parents' commits, listed on their own.
                _ => continue,
            };
            let diff = self.repo.diff_tree_to_tree(parent_tree.as_ref(), Some(&tree), None).ok()?;
            let paths: Vec<String> = diff
                .deltas()
                .flat_map(|d| [d.old_file().path(), d.new_file().path()])
                .flatten()
                .map(|p| p.to_string_lossy().replace('\\', "/"))
                .collect();
            let inside = |p: &String| p == &within || p.starts_with(&format!("{within}/"));
            if paths.iter().any(inside) {
                found.push((describe(&commit), paths.iter().all(inside)));
            }
        }
        Some(found)
    }
}

fn describe(commit: &git2::Commit) -> Commit {
    let author = commit.author();
    let name = String::from_utf8_lossy(author.name_bytes());
    let email = String::from_utf8_lossy(author.email_bytes());
    Commit {
        sha: commit.id().to_string(),
        subject: commit.summary_bytes().map(|s| String::from_utf8_lossy(s).into_owned()).unwrap_or_default(),
        author: format!("{name} <{email}>"),
        committed_at: jiff::Timestamp::from_second(commit.time().seconds())
            .map(|t| t.strftime("%Y-%m-%dT%H:%M:%SZ").to_string())
            .unwrap_or_default(),
    }
}

/// `sha` shortened for people: 12 digits stay unique in repositories far larger than config ones.
pub fn short(sha: &str) -> &str {
    &sha[..sha.len().min(12)]
}
