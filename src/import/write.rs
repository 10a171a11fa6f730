//! Writing an imported repository to disk. Each service is written into a hidden directory next to
//! its place and renamed into it, so that a failure midway leaves no half-written service (and the
//! repository reader skips hidden directories).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::Report;
use crate::nodemap::Format;

#[derive(Debug, thiserror::Error)]
pub enum WriteError {
    #[error("`{}` is not empty: pass --force to write into it (the imported services' directories there are replaced)", .0.display())]
    NotEmpty(PathBuf),
    #[error("`{}` is not a directory", .0.display())]
    NotADirectory(PathBuf),
    #[error("cannot write `{}`: {error}", path.display())]
    Io { path: PathBuf, error: std::io::Error },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> WriteError + '_ {
    move |error| WriteError::Io { path: path.to_path_buf(), error }
}

/// Checks that `dir` can receive a repository: missing, empty, or `force`.
pub fn check_target(dir: &Path, force: bool) -> Result<(), WriteError> {
    match std::fs::read_dir(dir) {
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(_) if dir.exists() && !dir.is_dir() => Err(WriteError::NotADirectory(dir.to_path_buf())),
        Err(error) => Err(WriteError::Io { path: dir.to_path_buf(), error }),
        Ok(mut entries) => {
            if entries.next().is_some() && !force {
                return Err(WriteError::NotEmpty(dir.to_path_buf()));
            }
            Ok(())
        }
    }
}

/// Writes every service's files (paths relative to the repository, `services/<svc>/...`) into `dir`,
/// replacing each service's directory whole, and the settings `format` needs. Returns reports about
/// an existing `jones-sync.toml` that disagrees with what was found.
pub fn write(
    dir: &Path,
    services: &BTreeMap<String, BTreeMap<String, String>>,
    format: Format,
) -> Result<Vec<Report>, WriteError> {
    let services_dir = dir.join(crate::repo::SERVICES_DIR);
    std::fs::create_dir_all(&services_dir).map_err(io(&services_dir))?;
    for (name, files) in services {
        let staging = services_dir.join(format!(".{name}.jones-sync-import"));
        if staging.exists() {
            std::fs::remove_dir_all(&staging).map_err(io(&staging))?;
        }
        std::fs::create_dir(&staging).map_err(io(&staging))?;
        let prefix = format!("{}/{name}/", crate::repo::SERVICES_DIR);
        for (path, text) in files {
            let rel = path.strip_prefix(&prefix).expect("a service's files are below its directory");
            let file = staging.join(rel);
            let parent = file.parent().expect("files have a directory");
            std::fs::create_dir_all(parent).map_err(io(parent))?;
            std::fs::write(&file, text).map_err(io(&file))?;
        }
        let target = services_dir.join(name);
        if target.exists() {
            std::fs::remove_dir_all(&target).map_err(io(&target))?;
        }
        std::fs::rename(&staging, &target).map_err(io(&target))?;
    }
    settings(dir, format)
}

/// What `jones-sync.toml` in `dir` will hold after [`write()`]: the file that is there (left alone),
/// else the settings `format` needs (`None`: no file).
pub fn settings_text(dir: &Path, format: Format) -> Result<Option<String>, WriteError> {
    let path = dir.join(crate::repo::settings::FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(Some(text)),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            Ok((format == Format::Legacy).then(|| LEGACY_SETTINGS.to_string()))
        }
        Err(error) => Err(WriteError::Io { path, error }),
    }
}

const LEGACY_SETTINGS: &str = "[sync]\n# The nodemaps found were in the 0.5.x text format: keep writing it for old clients.\nnodemap_format = \"legacy\"\n";

/// Writes `jones-sync.toml` when the format is not the default; leaves an existing file alone.
fn settings(dir: &Path, format: Format) -> Result<Vec<Report>, WriteError> {
    let path = dir.join(crate::repo::settings::FILE);
    let file = crate::repo::settings::FILE;
    match std::fs::read_to_string(&path) {
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            if format == Format::Legacy {
                std::fs::write(&path, LEGACY_SETTINGS).map_err(io(&path))?;
            }
            Ok(Vec::new())
        }
        Err(error) => Err(WriteError::Io { path, error }),
        Ok(text) => match crate::repo::settings::parse(&text) {
            Ok(settings) if settings.sync.nodemap_format == format => Ok(Vec::new()),
            Ok(settings) => Ok(vec![super::report(
                file,
                format!(
                    "left as it is, with nodemap_format = \"{}\"; the nodemaps found suggest \"{}\"",
                    settings.sync.nodemap_format.as_str(),
                    format.as_str()
                ),
            )]),
            Err(problem) => Ok(vec![super::report(file, format!("left as it is, but it is invalid: {problem}"))]),
        },
    }
}
