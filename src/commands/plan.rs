//! `jones-sync plan`: what apply would change, in text, markdown or JSON, optionally saved for
//! `apply FILE`.

use std::process::ExitCode;
use std::time::Duration;

use super::{Options, actor, load_or_report, out, show_sensitive};
use crate::audit::record::Record;
use crate::cli::{Format, PlanArgs};
use crate::desired::DesiredState;
use crate::plan::redact::Redactor;
use crate::plan::render::{json, markdown, text};
use crate::plan::saved::{SavedPlan, Source};

pub(crate) async fn run(options: &Options, args: PlanArgs) -> anyhow::Result<ExitCode> {
    let show = show_sensitive(args.show_sensitive)?;
    let Some(state) = load_or_report(options, args.rev.as_deref())? else { return Ok(ExitCode::FAILURE) };
    let actor = actor(None);
    let record = |name: &str| Record::new(state.origin(name), actor.clone()).to_json();
    let settings = &state.repo.settings;
    let prune = args.prune || settings.sync.prune;
    let request = crate::sync::Request::new(&state, &args.services, record, prune, Duration::ZERO)?;
    // A plan creates nothing, so the ACL of created nodes does not matter here (and a reviewer may
    // plan without the credentials that apply needs).
    let zk = super::connect(options, None).await?;
    let plan = crate::sync::plan(&zk, &request).await?.plan;
    let patterns = settings.plan.sensitive_keys();
    let redactor = Redactor::new(&patterns, show)?;
    if let Some(path) = &args.out {
        let max_request_bytes = settings.zookeeper.max_request_bytes;
        let keep = settings.history.keep();
        SavedPlan::new(plan.clone(), &options.zk, source(&state), patterns, max_request_bytes, keep)
            .with_acl(settings.zookeeper.acl.clone())
            .with_max_node_bytes(settings.zookeeper.max_node_bytes)
            .write(path)?;
    }
    match args.format {
        Format::Text => super::out_with(|w| text::render_to(w, &plan, &redactor, options.colour)),
        Format::Markdown => out(&markdown::render(&plan, &redactor, &full_plan_hint("jones-sync plan"))),
        Format::Json => out(&json::render(&plan, &redactor)),
    }
    // Notes (pins, undone rollbacks) are prose: machine formats keep stdout for themselves.
    let mut notes = crate::audit::status::notes(&state, &plan);
    notes.push_str(&super::validate::warnings(&state, Some(&plan)));
    if args.format == Format::Text {
        out(&notes)
    } else {
        eprint!("{notes}")
    }
    if let Some(path) = &args.out {
        let saved = format!(
            "\nSaved the plan to `{0}`. To apply exactly these changes: jones-sync apply {0}\n",
            path.display()
        );
        // Machine formats keep stdout for themselves.
        if args.format == Format::Text { out(&saved) } else { eprint!("{saved}") }
    }
    Ok(if args.detailed_exitcode && !plan.is_empty() { ExitCode::from(2) } else { ExitCode::SUCCESS })
}

/// The commit a saved plan comes from: the one the repository was read at (pinned services record
/// their own in their records), and whether any config file had uncommitted changes.
fn source(state: &DesiredState) -> Source {
    Source { sha: state.commit().map(|c| c.sha.clone()), dirty: state.dirty() }
}

/// Where the full plan is, for the note of a markdown plan too long for a comment: the workflow
/// run on GitHub Actions (its log and artifacts), else `command`, which prints it.
pub(crate) fn full_plan_hint(command: &str) -> String {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.is_empty());
    match (var("GITHUB_SERVER_URL"), var("GITHUB_REPOSITORY"), var("GITHUB_RUN_ID")) {
        (Some(server), Some(repo), Some(run)) => format!(
            "The full plan is in [the log and artifacts of this workflow run]({server}/{repo}/actions/runs/{run}); \
             `{command}` prints it too."
        ),
        _ => format!("`{command}` prints the full plan."),
    }
}
