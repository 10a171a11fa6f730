//! Listing a repository's work tree: the entries [`super::parse`] reads, and the problems that only
//! a file system has (names that are not UTF-8, symlinks that leave the repository, unreadable
//! files).

use std::path::{Path, PathBuf};

use walkdir::WalkDir;

use super::{Entry, EntryKind, SERVICES_DIR, settings, wants_content};
use crate::diagnostic::{Problem, Problems};

/// Failure to read a repository at all (as opposed to problems inside it).
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("cannot read the repository `{}`: {error}", path.display())]
    Root { path: PathBuf, error: std::io::Error },
    #[error("the repository `{}` is not a directory", path.display())]
    NotADirectory { path: PathBuf },
}

/// Adds `root`'s `jones-sync.toml` to `entries`, when there is one. It is read only from inside the
/// repository: a symlink leaving it is a problem (its content is never read, so never shown), as
/// are a directory, a file of another kind, and a near miss of its name ([`settings::near_miss`]).
pub fn read_settings(root: &Path, entries: &mut Vec<Entry>, problems: &mut Problems) {
    if let Ok(listing) = std::fs::read_dir(root) {
        for entry in listing.flatten() {
            let name = entry.file_name();
            if let Some(name) = name.to_str()
                && settings::near_miss(name)
                && !entry.path().is_dir()
            {
                problems.push(settings::near_miss_problem(name));
            }
        }
    }
    let path = root.join(settings::FILE);
    let Ok(link) = path.symlink_metadata() else { return };
    if link.file_type().is_symlink() {
        match (path.canonicalize(), root.canonicalize()) {
            (Ok(target), Ok(root)) if !target.starts_with(&root) => {
                let message = format!(
                    "symlink leaves the repository (it points to `{}`): the settings are read from inside it only",
                    target.display()
                );
                return problems.push(Problem::new(settings::FILE, message));
            }
            (Ok(_), Ok(_)) => {}
            (Err(err), _) | (_, Err(err)) if err.kind() == std::io::ErrorKind::NotFound => {
                return problems.push(Problem::new(settings::FILE, "broken symlink: its target does not exist"));
            }
            (Err(err), _) | (_, Err(err)) => {
                return problems.push(Problem::new(settings::FILE, format!("cannot follow symlink: {err}")));
            }
        }
    }
    match std::fs::metadata(&path) {
        Ok(meta) if meta.is_dir() => problems.push(settings::directory_problem()),
        Ok(meta) if !meta.is_file() => {
            problems.push(Problem::new(settings::FILE, "not a regular file: the settings file must be a file"))
        }
        Ok(_) => match std::fs::read(&path) {
            Ok(bytes) => entries.push(Entry { path: settings::FILE.into(), kind: EntryKind::File(Some(bytes)) }),
            Err(err) => problems.push(Problem::new(settings::FILE, format!("cannot read: {err}"))),
        },
        Err(err) => problems.push(Problem::new(settings::FILE, format!("cannot read: {err}"))),
    }
}

/// Lists `root`'s `jones-sync.toml` and everything below `services/`, skipping hidden entries.
pub fn read_dir(root: &Path) -> Result<(Vec<Entry>, Problems), SourceError> {
    read_dir_with_links(root, &|_| false).map(|(entries, problems, _)| (entries, problems))
}

/// [`read_dir`], and the entries that are symlinks (followed: what is below them is listed too).
/// The files `deferred` names are listed without their content (`File(None)`), to be read later
/// if need be ([`read_content`]).
pub fn read_dir_with_links(
    root: &Path,
    deferred: &dyn Fn(&str) -> bool,
) -> Result<(Vec<Entry>, Problems, Vec<String>), SourceError> {
    let canonical_root = root.canonicalize().map_err(|error| SourceError::Root { path: root.to_path_buf(), error })?;
    if !canonical_root.is_dir() {
        return Err(SourceError::NotADirectory { path: root.to_path_buf() });
    }
    let mut entries = Vec::new();
    let mut problems = Problems::default();
    let mut links = Vec::new();
    read_settings(root, &mut entries, &mut problems);

    let services = root.join(SERVICES_DIR);
    if !services.exists() && services.symlink_metadata().is_err() {
        return Ok((entries, problems, links));
    }
    let mut walk = WalkDir::new(&services)
        .follow_links(true)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|entry| entry.depth() == 0 || !entry.file_name().as_encoded_bytes().starts_with(b"."));
    while let Some(next) = walk.next() {
        let entry = match next {
            Ok(entry) => entry,
            Err(err) => {
                let path = err.path().map(|p| relative(root, p)).unwrap_or_else(|| SERVICES_DIR.into());
                let message = match err.loop_ancestor() {
                    Some(_) => "symlink loop".to_string(),
                    None => match err.io_error() {
                        Some(io) if io.kind() == std::io::ErrorKind::NotFound => {
                            "broken symlink: its target does not exist".to_string()
                        }
                        Some(io) => format!("cannot read: {io}"),
                        None => err.to_string(),
                    },
                };
                problems.push(Problem::new(path, message));
                continue;
            }
        };
        let rel = relative(root, entry.path());
        let is_dir = entry.file_type().is_dir();
        let mut skip = |problem: Problem, walk: &mut walkdir::FilterEntry<_, _>| {
            problems.push(problem);
            if is_dir {
                walk.skip_current_dir();
            }
        };
        if entry.path().strip_prefix(root).ok().and_then(|p| p.to_str()).is_none() {
            skip(Problem::new(rel, "name is not valid UTF-8: rename it"), &mut walk);
            continue;
        }
        if entry.path_is_symlink() {
            links.push(rel.clone());
            match entry.path().canonicalize() {
                Ok(target) if !target.starts_with(&canonical_root) => {
                    let message = format!("symlink leaves the repository (it points to `{}`)", target.display());
                    skip(Problem::new(rel, message), &mut walk);
                    continue;
                }
                Ok(_) => {}
                Err(err) => {
                    skip(Problem::new(rel, format!("cannot follow symlink: {err}")), &mut walk);
                    continue;
                }
            }
        }
        let kind = if is_dir {
            EntryKind::Dir
        } else if wants_content(&rel) && !deferred(&rel) {
            match std::fs::read(entry.path()) {
                Ok(bytes) => EntryKind::File(Some(bytes)),
                Err(err) => {
                    problems.push(Problem::new(rel, format!("cannot read: {err}")));
                    continue;
                }
            }
        } else {
            EntryKind::File(None)
        };
        entries.push(Entry { path: rel, kind });
    }
    Ok((entries, problems, links))
}

/// `path` relative to `root`, `/`-separated, lossy for names that are not UTF-8 (those are
/// reported, never loaded).
fn relative(root: &Path, path: &Path) -> String {
    let rel = path.strip_prefix(root).unwrap_or(path);
    rel.components().map(|c| c.as_os_str().to_string_lossy()).collect::<Vec<_>>().join("/")
}

/// Reads the content of `entry`, listed without it by [`read_dir_with_links`], from the work tree
/// `root`: nothing to do for directories and for files [`super::parse`] does not read; a file that
/// cannot be read is a problem, and leaves the listing.
pub fn read_content(root: &Path, entry: &mut Entry, problems: &mut Vec<crate::diagnostic::Problem>) -> bool {
    if !matches!(entry.kind, EntryKind::File(None)) || !wants_content(&entry.path) {
        return true;
    }
    match std::fs::read(root.join(&entry.path)) {
        Ok(bytes) => {
            entry.kind = EntryKind::File(Some(bytes));
            true
        }
        Err(err) => {
            problems.push(Problem::new(entry.path.clone(), format!("cannot read: {err}")));
            false
        }
    }
}
