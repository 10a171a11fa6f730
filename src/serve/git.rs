//! Following the branch: `git fetch` (the command line, so the user's SSH keys, credential helpers
//! and `.gitconfig` work as they do for git) and the commit the branch points at, read from git
//! objects, never the work tree.
//!
//! - With a remote `origin`, the followed commit is `origin/BRANCH` after
//!   `git fetch origin +refs/heads/BRANCH:refs/remotes/origin/BRANCH` (explicit, so a clone with
//!   a narrowed fetch refspec still updates it); the local branch and the work tree are left alone.
//! - Without one, it is the local branch `refs/heads/BRANCH` (commits made in the clone itself).

use std::path::{Path, PathBuf};
use std::time::Duration;

/// How long one `git fetch` may take before it counts as failed.
const FETCH_TIMEOUT: Duration = Duration::from_secs(120);

#[derive(Debug, thiserror::Error)]
pub enum FollowError {
    #[error("`{dir}` is not a git repository: `serve` follows a branch, so --repo must be a clone")]
    NotARepository { dir: String },
    #[error("cannot tell the branch to follow: HEAD of `{dir}` is detached; pass --branch NAME")]
    Detached { dir: String },
    #[error("`git {args}` failed: {reason}")]
    Git { args: String, reason: String },
    #[error("the branch `{name}` does not exist{hint}")]
    NoBranch { name: String, hint: String },
}

/// A branch followed in a clone.
#[derive(Debug, Clone)]
pub struct Follower {
    dir: PathBuf,
    pub branch: String,
    /// The clone has a remote `origin`: fetch it and follow `origin/BRANCH`.
    pub remote: bool,
}

impl Follower {
    /// The branch `branch` of the clone at `dir` (by default the branch checked out).
    pub async fn new(dir: &Path, branch: Option<String>) -> Result<Follower, FollowError> {
        let dir = dir.to_path_buf();
        let inside = git(&dir, &["rev-parse", "--is-inside-work-tree"]).await;
        let bare = git(&dir, &["rev-parse", "--is-bare-repository"]).await;
        if inside.is_err() && bare.is_err() {
            return Err(FollowError::NotARepository { dir: dir.display().to_string() });
        }
        let branch = match branch {
            Some(branch) => branch,
            None => git(&dir, &["symbolic-ref", "--quiet", "--short", "HEAD"])
                .await
                .map_err(|_| FollowError::Detached { dir: dir.display().to_string() })?,
        };
        let remotes = git(&dir, &["remote"]).await?;
        let remote = remotes.lines().any(|name| name == "origin");
        Ok(Follower { dir, branch, remote })
    }

    /// What is followed, for logs: `origin/main` or `main`.
    pub fn describe(&self) -> String {
        if self.remote { format!("origin/{}", self.branch) } else { self.branch.clone() }
    }

    /// Fetches the branch from `origin` (nothing to do without a remote).
    pub async fn fetch(&self) -> Result<(), FollowError> {
        if !self.remote {
            return Ok(());
        }
        let refspec = format!("+refs/heads/{0}:refs/remotes/origin/{0}", self.branch);
        let args = ["fetch", "--quiet", "--no-tags", "--no-write-fetch-head", "origin", refspec.as_str()];
        match tokio::time::timeout(FETCH_TIMEOUT, git(&self.dir, &args)).await {
            Ok(result) => result.map(|_| ()),
            Err(_) => Err(FollowError::Git {
                args: args.join(" "),
                reason: format!("no answer within {}s", FETCH_TIMEOUT.as_secs()),
            }),
        }
    }

    /// The SHA of the commit the followed branch points at.
    pub async fn head(&self) -> Result<String, FollowError> {
        let name = if self.remote {
            format!("refs/remotes/origin/{}", self.branch)
        } else {
            format!("refs/heads/{}", self.branch)
        };
        // Read with libgit2, not `git rev-parse`: a process per tick costs more than the rest of
        // an idle tick put together.
        let dir = self.dir.clone();
        let read = tokio::task::spawn_blocking(move || {
            let repo = git2::Repository::open(&dir)?;
            let commit = repo.find_reference(&name)?.peel_to_commit()?;
            Ok::<_, git2::Error>(commit.id().to_string())
        })
        .await;
        match read {
            Ok(Ok(sha)) => Ok(sha),
            Ok(Err(err)) if err.code() != git2::ErrorCode::NotFound => Err(FollowError::Git {
                args: format!("rev-parse {}", self.describe()),
                reason: err.message().to_string(),
            }),
            Err(join) => {
                Err(FollowError::Git { args: format!("rev-parse {}", self.describe()), reason: join.to_string() })
            }
            Ok(Err(_)) => Err(FollowError::NoBranch {
                name: self.describe(),
                hint: if self.remote { " on `origin`".into() } else { " in the clone".into() },
            }),
        }
    }
}

/// Runs `git ARGS` in `dir`; its trimmed stdout, or its stderr as the reason it failed. Never
/// prompts: a fetch that needs a password fails instead of waiting for one.
async fn git(dir: &Path, args: &[&str]) -> Result<String, FollowError> {
    let failed = |reason: String| FollowError::Git { args: args.join(" "), reason };
    let output = tokio::process::Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_TERMINAL_PROMPT", "0")
        .stdin(std::process::Stdio::null())
        .kill_on_drop(true)
        .output()
        .await
        .map_err(|err| failed(format!("cannot run git: {err}")))?;
    if !output.status.success() {
        let stderr = String::from_utf8_lossy(&output.stderr).trim().to_string();
        let reason = if stderr.is_empty() { format!("exited with {}", output.status) } else { stderr };
        return Err(failed(reason));
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_string())
}
