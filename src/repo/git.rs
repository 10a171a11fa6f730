//! What git says about a config repository directory: the commit its content comes from, whether
//! the config files have uncommitted changes (a recorded SHA must not lie), revisions resolved to
//! commits, and the history of a service's directory.
//!
//! The config repository may be a subdirectory of a git work tree (`example-repo/` inside this
//! project): [`Git::prefix`] maps between the two, so that every path jones-sync shows stays
//! relative to the config repository. Everything here reads the object database; nothing checks
//! out or touches the work tree.

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
    /// The config repository at `HEAD` as [`crate::repo::git_tree::shape`] lists it (directories,
    /// and files without content); `None` before the first commit or when `HEAD` lacks it. What git
    /// cannot see (an empty directory, a directory or file it ignores) shows as missing here.
    pub head: Option<Vec<Entry>>,
    /// `changes` come from hashing the files of `HEAD`, not from git's status (which cannot scan
    /// the work tree): untracked files are not among them.
    pub hashed: bool,
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
    /// or more, which git itself reads), each file of `HEAD` is hashed and compared instead.
    pub fn scan(&self) -> Result<Scan, GitError> {
        let head = match self.repo.head() {
            Ok(head) => {
                let tree = head.peel_to_tree().map_err(|e| self.error(e))?;
                crate::repo::git_tree::shape(&self.repo, &tree, &self.prefix).map_err(|e| self.error(e))?
            }
            Err(err) if matches!(err.code(), git2::ErrorCode::UnbornBranch | git2::ErrorCode::NotFound) => None,
            Err(err) => return Err(self.error(err)),
        };
        let (changes, hashed) = match self.status() {
            Ok(changes) => (changes, false),
            Err(err) if err.message().contains("nesting too deep") => {
                (self.compare_blobs(head.as_ref().map_or(&[][..], |(_, blobs)| blobs.as_slice())), true)
            }
            Err(err) => return Err(self.error(err)),
        };
        Ok(Scan { changes, head: head.map(|(entries, _)| entries), hashed })
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
        let prefix = if self.prefix.is_empty() { String::new() } else { format!("{}/", self.prefix) };
        Ok(statuses
            .iter()
            .filter_map(|entry| {
                let path = String::from_utf8_lossy(entry.path_bytes()).into_owned();
                let path = path.strip_prefix(&prefix).unwrap_or(&path).to_string();
                Some((path, describe_status(entry.status())?))
            })
            .collect())
    }

    /// The files of `HEAD` (`blobs`, by path) whose content in the work tree differs or is gone,
    /// found by hashing them: what [`Git::status`] says of tracked files, without scanning the work
    /// tree (content filters such as `core.autocrlf` are not applied, so a converted file counts as
    /// modified).
    fn compare_blobs(&self, blobs: &[(String, git2::Oid)]) -> Vec<(String, &'static str)> {
        blobs
            .iter()
            .filter(|(path, _)| !path.ends_with(".md"))
            .filter_map(|(path, oid)| match git2::Oid::hash_file(git2::ObjectType::Blob, self.dir.join(path)) {
                Ok(found) if found == *oid => None,
                Ok(_) => Some((path.clone(), "modified")),
                Err(_) => Some((path.clone(), "deleted")),
            })
            .collect()
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
