//! `jones-sync pull [SERVICE...] [--env ENV] [--dry-run]`: writes what ZooKeeper holds and the
//! repository does not (break-glass edits, edits made in the Jones web UI) into the work tree's
//! TOML files as the smallest edit ([`crate::pull`]), for review as a `git diff`.
//!
//! Decisions: the work tree is read and written (not a commit), so uncommitted edits stay and the
//! pulled keys land on top of them. Nothing is written while any service cannot be pulled whole
//! (a live value TOML cannot hold, a live state `import` would report, a pinned service: its
//! directory is not what ZooKeeper was given). Services ZooKeeper has and the repository does not
//! are `import`'s business.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{anyhow, bail};

use super::{Options, load_or_report, out};
use crate::cli::PullArgs;
use crate::pull::FileEdit;

pub(crate) async fn run(options: &Options, args: PullArgs) -> anyhow::Result<ExitCode> {
    let Some(state) = load_or_report(options, None)? else { return Ok(ExitCode::FAILURE) };
    let names: Vec<String> = if args.services.is_empty() {
        state.repo.services.keys().cloned().collect()
    } else {
        for name in &args.services {
            if !state.repo.services.contains_key(name) {
                bail!("there is no service `{name}` in the repository (`jones-sync import` adopts one ZooKeeper has)");
            }
        }
        args.services.clone()
    };
    let zk = super::connect(options, None).await?;
    let snapshot = zk.snapshot(&names).await?;
    let mut edits: Vec<FileEdit> = Vec::new();
    let mut problems: Vec<String> = Vec::new();
    let mut pinned = Vec::new();
    for name in &names {
        if let Some(pin) = &state.origin(name).pin {
            if !args.force {
                problems.push(format!(
                    "{name}: pinned to `{pin}`: ZooKeeper holds the pin's content, not `services/{name}/`'s; pass --force \
                     to pull into `services/{name}/` anyway"
                ));
                continue;
            }
            pinned.push(format!("`{name}` (pinned to `{pin}`)"));
        }
        let Some(live) = snapshot.services.get(name).filter(|_| snapshot.all_services.contains(name)) else {
            continue; // not in ZooKeeper: nothing to pull
        };
        let mut reports = Vec::new();
        let imported = crate::import::service(name, live, &mut reports);
        problems.extend(reports.iter().map(|r| format!("{}: {}", r.subject, r.message)));
        let (Some(imported), Some(ours)) = (imported, state.service(name)) else { continue };
        if !reports.is_empty() {
            continue;
        }
        let read = |path: &str| std::fs::read_to_string(options.repo.join(path)).ok();
        match crate::pull::edits(&ours, &imported.service, &read) {
            Ok(found) => edits.extend(found),
            Err(found) => problems.extend(found),
        }
    }
    if let Some(env) = &args.env {
        let env = crate::model::EnvPath::parse(env);
        edits.retain(|edit| {
            let dir = Path::new(&edit.path).parent().and_then(Path::to_str).unwrap_or_default();
            names.iter().any(|name| dir == env.below(&format!("{}/{name}", crate::repo::SERVICES_DIR)))
        });
    }
    if !problems.is_empty() {
        bail!("cannot pull; nothing was written:\n  {}", problems.join("\n  "));
    }
    if edits.is_empty() {
        out("Nothing to pull: the repository holds what ZooKeeper holds.\n");
        return Ok(ExitCode::SUCCESS);
    }
    for edit in &edits {
        out(&diff(edit));
    }
    if args.dry_run {
        out(&format!("\n{} to change (--dry-run: nothing written).\n", files(edits.len())));
        return Ok(ExitCode::SUCCESS);
    }
    for edit in &edits {
        write(&options.repo, edit)?;
    }
    // An environment whose files went but whose directory holds others is still one.
    let mut left: Vec<String> = edits
        .iter()
        .filter(|edit| edit.after.is_none())
        .filter_map(|edit| Path::new(&edit.path).parent().map(|dir| dir.display().to_string()))
        .filter(|dir| options.repo.join(dir).exists())
        .collect();
    left.dedup();
    out(&format!(
        "\nPulled into {}. Review with `git diff`, commit and merge: then `jones-sync plan` shows no changes.\n",
        files(edits.len())
    ));
    for dir in &left {
        out(&format!(
            "Note: `{dir}/` still holds other files, so it is still an environment (with no values): remove it to \
             finish.\n"
        ));
    }
    if !pinned.is_empty() {
        out(&format!(
            "Note: {} still read their pin's commit: move or remove the pin in jones-sync.toml for what was pulled to \
             be applied.\n",
            pinned.join(", ")
        ));
    }
    Ok(ExitCode::SUCCESS)
}

fn files(count: usize) -> String {
    format!("{count} file{}", if count == 1 { "" } else { "s" })
}

/// The unified diff of one file, as `git diff` shows it.
fn diff(edit: &FileEdit) -> String {
    let (before, after) = (edit.before.as_deref().unwrap_or(""), edit.after.as_deref().unwrap_or(""));
    let old = if edit.before.is_some() { format!("a/{}", edit.path) } else { "/dev/null".into() };
    let new = if edit.after.is_some() { format!("b/{}", edit.path) } else { "/dev/null".into() };
    similar::TextDiff::from_lines(before, after).unified_diff().context_radius(3).header(&old, &new).to_string()
}

/// Writes (through a temporary file renamed into place) or removes one file; a directory left
/// empty by a removal goes too.
fn write(repo: &Path, edit: &FileEdit) -> anyhow::Result<()> {
    let path = repo.join(&edit.path);
    let failed = |err: std::io::Error| anyhow!("cannot write `{}`: {err}", path.display());
    match &edit.after {
        Some(text) => {
            let dir = path.parent().expect("files are in a directory");
            std::fs::create_dir_all(dir).map_err(failed)?;
            let temp = dir.join(format!(".{}.jones-sync-pull", uuid::Uuid::new_v4().simple()));
            std::fs::write(&temp, text).and_then(|()| std::fs::rename(&temp, &path)).map_err(|err| {
                let _ = std::fs::remove_file(&temp);
                failed(err)
            })?;
        }
        None => {
            std::fs::remove_file(&path).map_err(failed)?;
            // Environment directories left empty go; the service's own directory stays.
            let service_dir: std::path::PathBuf = repo.join(edit.path.split('/').take(2).collect::<Vec<_>>().join("/"));
            let mut dir = path.parent();
            while let Some(parent) = dir.filter(|d| d.starts_with(&service_dir) && *d != service_dir) {
                if std::fs::remove_dir(parent).is_err() {
                    break;
                }
                dir = parent.parent();
            }
        }
    }
    Ok(())
}
