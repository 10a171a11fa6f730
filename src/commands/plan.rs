//! `jones-sync plan`: what apply would change, in text, markdown or JSON, optionally saved for
//! `apply FILE`.

use std::process::ExitCode;
use std::time::Duration;

use super::aim::Aimed;
use super::{Options, actor, load_or_report, out, show_sensitive};
use crate::audit::record::Record;
use crate::cli::{Format, PlanArgs};
use crate::desired::DesiredState;
use crate::plan::Plan;
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
    let shown = shown(&plans, |plan| crate::audit::status::notes(state, plan), &redactor, options.colour);
    let same_as = crate::targets::same_as(&shown);
    let waves = aims.last().map_or(0, |a| a.target.wave + 1);
    match args.format {
        Format::Json => {
            let targets: Vec<json::TargetPlan> = aims
                .iter()
                .zip(&plans)
                .zip(&same_as)
                .map(|((aim, plan), same)| json::TargetPlan {
                    name: &aim.target.name,
                    wave: aim.target.wave,
                    zookeeper: &aim.options.zk,
                    same_as: same.filter(|_| plan.is_ok()).map(|i| aims[i].target.name.as_str()),
                    plan: plan.as_ref().map_err(String::as_str),
                })
                .collect();
            out(&json::render_targets(&targets, &redactor));
        }
        Format::Text => out(&sections(aims, &plans, &shown, &same_as)),
        Format::Markdown => {
            let mut text =
                format!("{}\n\n### jones-sync plan\n\n| Target | Wave | Plan |\n|---|---|---|\n", markdown::MARKER);
            for (aim, plan) in aims.iter().zip(&plans) {
                let wave = aim.target.wave + 1;
                text.push_str(&format!("| `{}` | {wave} of {waves} | {} |\n", aim.target.name, counts(plan)));
            }
            text.push('\n');
            for (i, plan) in plans.iter().enumerate() {
                let (Ok(plan), None) = (plan, same_as[i]) else { continue };
                let section = markdown::render(plan, &redactor, &full_plan_hint("jones-sync plan"));
                let section = section.strip_prefix(markdown::MARKER).unwrap_or(&section).trim_start();
                let section = section.strip_prefix("### jones-sync plan").unwrap_or(section).trim_start();
                text.push_str(&format!("#### {}\n\n{section}\n", target_heading(&alike(aims, &same_as, i), waves)));
            }
            out(&text);
        }
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
    let changes = plans.iter().any(|p| p.as_ref().is_ok_and(|p| !p.is_empty()));
    Ok(if args.detailed_exitcode && changes { ExitCode::from(2) } else { ExitCode::SUCCESS })
}

/// What each target's text plan shows (with `extra`), to fold the equal ones: the same text is
/// the same plan (a record's `apply_id` differs from target to target, and the text shows no
/// record). `None` for a target that could not be planned.
pub(crate) fn shown(
    plans: &[Result<Plan, String>],
    extra: impl Fn(&Plan) -> String,
    redactor: &Redactor,
    colour: bool,
) -> Vec<Option<String>> {
    plans
        .iter()
        .map(|plan| {
            let plan = plan.as_ref().ok()?;
            let mut text = text::render(plan, redactor, colour);
            text.push_str(&extra(plan));
            Some(text)
        })
        .collect()
}

/// The text plan of several targets: a section per plan, one for all the targets it is the
/// same for (`same_as`, [`crate::targets::same_as`] of `shown`), then a line per target.
pub(crate) fn sections(
    aims: &[Aimed],
    plans: &[Result<Plan, String>],
    shown: &[Option<String>],
    same_as: &[Option<usize>],
) -> String {
    let waves = aims.last().map_or(0, |a| a.target.wave + 1);
    let mut text = String::new();
    for (i, section) in shown.iter().enumerate() {
        let (Some(section), None) = (section, same_as[i]) else { continue };
        text.push_str(&format!("── {} ──\n\n{section}\n", target_heading(&alike(aims, same_as, i), waves)));
    }
    text.push_str("By target:\n");
    let width = aims.iter().map(|a| a.target.name.len()).max().unwrap_or(0);
    for (aim, plan) in aims.iter().zip(plans) {
        let wave = aim.target.wave + 1;
        text.push_str(&format!("  {:width$}  wave {wave} of {waves}  {}\n", aim.target.name, counts(plan)));
    }
    text
}

/// Target `i` and those whose plan is the same as its.
fn alike<'a>(aims: &'a [Aimed], same_as: &[Option<usize>], i: usize) -> Vec<&'a Aimed> {
    aims.iter().enumerate().filter(|(j, _)| *j == i || same_as[*j] == Some(i)).map(|(_, a)| a).collect()
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

/// `Target `a` (wave 1 of 2)`, or `Targets `a`, `b` (wave 2 of 2): the same plan for each`.
fn target_heading(alike: &[&Aimed], waves: usize) -> String {
    let names = super::aim::listed(alike.iter().map(|a| a.target.name.as_str()));
    let mut in_waves: Vec<usize> = alike.iter().map(|a| a.target.wave + 1).collect();
    in_waves.dedup();
    let in_waves: Vec<String> = in_waves.iter().map(usize::to_string).collect();
    let wave = if in_waves.len() == 1 { "wave" } else { "waves" };
    match alike {
        [_] => format!("Target {names} ({wave} {} of {waves})", in_waves.join(", ")),
        _ => format!("Targets {names} ({wave} {} of {waves}): the same plan for each", in_waves.join(", ")),
    }
}

/// A target's changes in a few words, or why it has none.
fn counts(plan: &Result<Plan, String>) -> String {
    match plan {
        Err(_) => "could not be planned (below)".into(),
        Ok(plan) if plan.is_empty() => "no changes".into(),
        Ok(plan) => {
            let c = plan.counts();
            format!("{} to create, {} to update, {} to delete", c.create, c.update, c.delete)
        }
    }
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
