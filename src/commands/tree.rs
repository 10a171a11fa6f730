//! `jones-sync tree`: a service's environment tree, from ZooKeeper or the repository, with
//! sensitive values redacted as plans redact them (the repository's `[plan] sensitive_keys`, or
//! the default patterns where `--repo` holds no settings); `--show-sensitive` shows them, on a
//! terminal only.

use std::path::Path;
use std::process::ExitCode;

use anyhow::bail;

use super::{Options, connect, load_or_report, out, show_sensitive};
use crate::cli::TreeArgs;
use crate::diagnostic::{self, Problems};
use crate::plan::redact::Redactor;
use crate::repo::{EntryKind, settings};

pub(crate) async fn run(options: &Options, args: TreeArgs) -> anyhow::Result<ExitCode> {
    let show = show_sensitive(args.show_sensitive)?;
    let (service, patterns) = if args.repo_only {
        let Some(state) = load_or_report(options, None)? else { return Ok(ExitCode::FAILURE) };
        let patterns = state.repo.settings.plan.sensitive_keys();
        match state.service(&args.service) {
            Some(service) => (service, patterns),
            None => bail!("no service `{0}` in the repository (no `services/{0}/`)", args.service),
        }
    } else {
        let Some(patterns) = sensitive_keys(&options.repo)? else { return Ok(ExitCode::FAILURE) };
        let zk = connect(options, None).await?;
        let Some(live) = crate::import::read_service(&zk, &args.service).await? else {
            bail!("no service `{}` in ZooKeeper", args.service);
        };
        let mut reports = Vec::new();
        let imported = crate::import::service(&args.service, &live, &mut reports);
        reports.sort();
        for report in &reports {
            eprintln!("warning: {report}");
        }
        match imported {
            Some(imported) => (imported.service, patterns),
            None => bail!("cannot show `{}`", args.service),
        }
    };
    let redactor = Redactor::new(&patterns, show)?;
    out(&crate::env_tree::render(&service, &redactor));
    Ok(ExitCode::SUCCESS)
}

/// The sensitive-key patterns of the settings file in `dir`, the defaults without one, or `None`
/// after printing why the file cannot be read (then nothing is shown: what it hides is unknown).
fn sensitive_keys(dir: &Path) -> anyhow::Result<Option<Vec<String>>> {
    let mut entries = Vec::new();
    let mut problems = Problems::default();
    crate::repo::source::read_settings(dir, &mut entries, &mut problems);
    let text = entries.into_iter().find_map(|entry| match entry.kind {
        EntryKind::File(Some(bytes)) if entry.path == settings::FILE => Some(bytes),
        _ => None,
    });
    let parsed = match text.map(String::from_utf8) {
        None => Ok(settings::Settings::default()),
        Some(Ok(text)) => settings::parse(&text).map_err(|invalid| invalid.0),
        Some(Err(_)) => Err(vec![diagnostic::Problem::new(settings::FILE, "not valid UTF-8")]),
    };
    match parsed {
        Ok(settings) if problems.is_empty() => Ok(Some(settings.plan.sensitive_keys())),
        Ok(_) => {
            eprint!("{}", diagnostic::render(&problems.into_sorted()));
            Ok(None)
        }
        Err(found) => {
            problems.extend(found);
            eprint!("{}", diagnostic::render(&problems.into_sorted()));
            Ok(None)
        }
    }
}
