//! `jones-sync status`: per service of the repository, what is applied and whether it matches HEAD,
//! from a plan made by the pipeline ([`crate::sync`]) as `plan` makes it, a window at a time.

use std::process::ExitCode;
use std::time::Duration;

use super::{Options, actor, load_or_report, out};
use crate::audit::record::Record;
use crate::audit::status::TargetRows;
use crate::cli::{ListFormat, StatusArgs};

pub(crate) async fn run(options: &Options, args: StatusArgs) -> anyhow::Result<ExitCode> {
    // HEAD's committed content (with its pins); outside git, or before the first commit, the work tree.
    let head = match crate::repo::git::Git::open(&options.repo)? {
        Some(git) => git.head()?,
        None => None,
    };
    let rev = head.as_ref().map(|_| "HEAD");
    let Some(state) = load_or_report(options, rev)? else { return Ok(ExitCode::FAILURE) };
    let actor = actor(None);
    let record = |name: &str| Record::new(state.origin(name), actor.clone()).to_json();
    let head_name = if head.is_some() { "HEAD" } else { "the work tree" };
    if let Some(aims) = super::aim::targets(options, &state.repo.settings)? {
        let rows = super::aim::each(&aims, async |aim| {
            let request = super::plan::target_request(&state, &[], aim, &record, false, Duration::ZERO)?
                .with_others(crate::sync::Others::OutOfScope);
            let zk = super::connect(&aim.options, None).await?;
            Ok(crate::audit::status::rows(&state, &crate::sync::plan(&zk, &request).await?))
        })
        .await;
        let targets: Vec<TargetRows> = aims
            .iter()
            .zip(rows)
            .map(|(aim, rows)| TargetRows { name: &aim.target.name, wave: aim.target.wave, rows })
            .collect();
        match args.format {
            ListFormat::Json => out(&crate::audit::status::render_matrix_json(&targets)),
            ListFormat::Text => {
                let mut text = String::new();
                if let Some(head) = &head {
                    text.push_str(&format!("HEAD is {} {}\n\n", crate::repo::git::short(&head.sha), head.subject));
                }
                text.push_str(&crate::audit::status::render_matrix(&targets, head_name));
                out(&text);
            }
        }
        let failed: Vec<&str> = targets.iter().filter(|t| t.rows.is_err()).map(|t| t.name).collect();
        if !failed.is_empty() {
            anyhow::bail!(
                "{} of {} targets could not be read: {}",
                failed.len(),
                targets.len(),
                super::aim::listed(failed)
            );
        }
        return Ok(ExitCode::SUCCESS);
    }
    let request = crate::sync::Request::new(&state, &[], record, false, Duration::ZERO)?
        .with_others(crate::sync::Others::OutOfScope);
    let zk = super::connect(options, None).await?;
    let planned = crate::sync::plan(&zk, &request).await?;
    let rows = crate::audit::status::rows(&state, &planned);
    match args.format {
        ListFormat::Json => out(&crate::audit::status::render_json(&rows)),
        ListFormat::Text => {
            let mut text = String::new();
            if let Some(head) = &head {
                text.push_str(&format!("HEAD is {} {}\n\n", crate::repo::git::short(&head.sha), head.subject));
            }
            text.push_str(&crate::audit::status::render_text(&rows, head_name));
            out(&text);
        }
    }
    Ok(ExitCode::SUCCESS)
}
