//! `jones-sync plan`: what apply would change, in text, markdown or JSON, optionally saved for
//! `apply FILE`.

use std::process::ExitCode;
use std::time::Duration;

use super::aim::Aimed;
use super::{Options, actor, load_or_report, out, show_sensitive};
use crate::audit::record::Record;
use crate::cli::{Format, PlanArgs};
use crate::desired::DesiredState;
use crate::plan::redact::Redactor;
use crate::plan::render::targets::{TargetPlan, Targets};
use crate::plan::render::{json, markdown, text};
use crate::plan::saved::{SavedPlan, Source};

pub(crate) async fn run(options: &Options, args: PlanArgs) -> anyhow::Result<ExitCode> {
    let show = show_sensitive(args.show_sensitive)?;
    let Some(state) = load_or_report(options, args.rev.as_deref())? else { return Ok(ExitCode::FAILURE) };
    let actor = actor(None);
    let record = |name: &str| Record::new(state.origin(name), actor.clone()).to_json();
    let settings = &state.repo.settings;
    let prune = args.prune || settings.sync.prune;
    if let Some(aims) = super::aim::targets(options, settings)? {
        return plan_targets(options, &args, &state, &aims, &record, show).await;
    }
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

/// The plan of every target of `aims` (`[targets]`), read all at once: a section per plan, a
/// plan the same for several targets shown once for them all, and a line per target.
async fn plan_targets(
    options: &Options,
    args: &PlanArgs,
    state: &DesiredState,
    aims: &[Aimed],
    record: &dyn Fn(&str) -> serde_json::Value,
    show: bool,
) -> anyhow::Result<ExitCode> {
    let settings = &state.repo.settings;
    let prune = args.prune || settings.sync.prune;
    // `--service` names are checked once, before any target is contacted.
    crate::sync::Request::new(state, &args.services, record, prune, Duration::ZERO)?;
    let plans = super::aim::each(aims, async |aim| {
        let request = target_request(state, &args.services, aim, record, prune, Duration::ZERO)?;
        let zk = super::connect(&aim.options, None).await?;
        Ok(crate::sync::plan(&zk, &request).await?.plan)
    })
    .await;
    let patterns = settings.plan.sensitive_keys();
    let redactor = Redactor::new(&patterns, show)?;
    let failed: Vec<(&Aimed, &String)> =
        aims.iter().zip(&plans).filter_map(|(a, p)| Some((a, p.as_ref().err()?))).collect();
    if let (Some(path), true) = (&args.out, failed.is_empty()) {
        let saved: Vec<SavedPlan> = aims
            .iter()
            .zip(&plans)
            .filter_map(|(aim, plan)| Some((aim, plan.as_ref().ok()?)))
            .map(|(aim, plan)| {
                SavedPlan::new(
                    plan.clone(),
                    &aim.options.zk,
                    source(state),
                    patterns.clone(),
                    settings.zookeeper.max_request_bytes,
                    settings.history.keep(),
                )
                .with_acl(settings.zookeeper.acl.clone())
                .with_max_node_bytes(settings.zookeeper.max_node_bytes)
                .for_target(&aim.target.name, aim.target.wave)
            })
            .collect();
        SavedPlan::write_targets(&saved, path)?;
    }
    let targets = Targets::new(
        aims.iter()
            .zip(&plans)
            .map(|(aim, plan)| TargetPlan {
                name: &aim.target.name,
                wave: aim.target.wave,
                zookeeper: &aim.options.zk,
                plan: plan.as_ref().map_err(String::as_str),
                notes: plan.as_ref().map(|plan| crate::audit::status::notes(state, plan)).unwrap_or_default(),
            })
            .collect(),
        &redactor,
        options.colour,
    );
    match args.format {
        Format::Json => out(&targets.json(&redactor)),
        Format::Text => out(&targets.text()),
        Format::Markdown => out(&targets.markdown(&redactor, &full_plan_hint("jones-sync plan"))),
    }
    let notes = super::validate::warnings(state, None);
    if args.format == Format::Text {
        out(&notes)
    } else {
        eprint!("{notes}")
    }
    if !failed.is_empty() {
        let lines: Vec<String> = failed.iter().map(|(aim, err)| format!("  {}: {err}", aim.target.name)).collect();
        anyhow::bail!(
            "{} of {} targets could not be planned{}:\n{}",
            failed.len(),
            aims.len(),
            if args.out.is_some() { " (so no plan was saved)" } else { "" },
            lines.join("\n")
        );
    }
    if let Some(path) = &args.out {
        let saved = format!(
            "\nSaved the plan of {1} targets to `{0}`. To apply exactly these changes, wave by wave: jones-sync apply {0}\n",
            path.display(),
            aims.len()
        );
        if args.format == Format::Text { out(&saved) } else { eprint!("{saved}") }
    }
    let changes = targets.has_changes();
    Ok(if args.detailed_exitcode && changes { ExitCode::from(2) } else { ExitCode::SUCCESS })
}

/// The request for one target: `services` (every one when empty) that go to it.
pub(crate) fn target_request<'a>(
    state: &'a DesiredState,
    services: &[String],
    aim: &Aimed,
    record: &'a dyn Fn(&str) -> serde_json::Value,
    prune: bool,
    lock_timeout: Duration,
) -> Result<crate::sync::Request<'a>, crate::sync::SyncError> {
    let request = crate::sync::Request::new(state, services, record, prune, lock_timeout)?;
    Ok(match &aim.target.services {
        Some(only) => request.only(only),
        None => request,
    })
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
