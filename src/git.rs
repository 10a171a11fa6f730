//! What git says about a repository directory: the commit its content comes from and whether the
//! config files have uncommitted changes (a recorded SHA must not lie).

use std::path::Path;

/// Git facts about a config repository directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GitInfo {
    /// The commit `HEAD` points at, `None` before the first commit.
    pub sha: Option<String>,
    /// Config files (`services/`, `jones-sync.toml`) differ from `HEAD`, or are untracked.
    pub dirty: bool,
}

#[derive(Debug, thiserror::Error)]
#[error("cannot read git state of `{path}`: {error}")]
pub struct GitError {
    path: String,
    error: git2::Error,
}

/// Git facts for `dir`, or `None` when `dir` is not inside a git work tree.
pub fn inspect(dir: &Path) -> Result<Option<GitInfo>, GitError> {
    let error = |error| GitError { path: dir.display().to_string(), error };
    let repo = match git2::Repository::discover(dir) {
        Ok(repo) => repo,
        Err(err) if err.code() == git2::ErrorCode::NotFound => return Ok(None),
        Err(err) => return Err(error(err)),
    };
    let Some(workdir) = repo.workdir() else { return Ok(None) };
    let sha = match repo.head() {
        Ok(head) => Some(head.peel_to_commit().map_err(error)?.id().to_string()),
        Err(err) if matches!(err.code(), git2::ErrorCode::UnbornBranch | git2::ErrorCode::NotFound) => None,
        Err(err) => return Err(error(err)),
    };
    // Pathspecs are relative to the work tree's top.
    let top = workdir.canonicalize().map_err(|e| error(git2::Error::from_str(&e.to_string())))?;
    let here = dir.canonicalize().map_err(|e| error(git2::Error::from_str(&e.to_string())))?;
    let prefix = here.strip_prefix(&top).unwrap_or(Path::new("")).to_string_lossy().replace('\\', "/");
    let spec = |name: &str| if prefix.is_empty() { name.to_string() } else { format!("{prefix}/{name}") };
    let mut options = git2::StatusOptions::new();
    options
        .include_untracked(true)
        .recurse_untracked_dirs(true)
        .include_ignored(false)
        .pathspec(spec(crate::repo::SERVICES_DIR))
        .pathspec(spec(crate::repo::settings::FILE));
    let statuses = repo.statuses(Some(&mut options)).map_err(error)?;
    Ok(Some(GitInfo { sha, dirty: !statuses.is_empty() }))
}
