//! `jones-sync show FILE`: a plan saved by `plan --out FILE`, rendered offline in any format.
//!
//! What it prints is the plan `apply FILE` executes, so a pipeline that plans once can show it
//! in several formats without reading ZooKeeper again (three reads could see three different
//! states). Text gets a line saying where the plan comes from; markdown and JSON are exactly what
//! `plan --format markdown|json` printed when the plan was made.

use std::process::ExitCode;

use super::{Options, out, out_with, show_sensitive};
use crate::cli::{Format, ShowArgs};
use crate::plan::redact::Redactor;
use crate::plan::saved::SavedPlan;

pub(crate) fn run(options: &Options, args: &ShowArgs) -> anyhow::Result<ExitCode> {
    let show = show_sensitive(args.show_sensitive)?;
    let mut all = SavedPlan::read_all(&args.plan_file)?;
    if all[0].target.is_some() {
        return show_targets(options, args, &all, show);
    }
    let saved = all.remove(0);
    // Redacted with the patterns of the repository it was made from, as `apply FILE` shows it.
    let redactor = Redactor::new(&saved.sensitive_keys, show)?;
    let plan = &saved.plan;
    let file = args.plan_file.display();
    match args.format {
        Format::Text => {
            out(&origin(&saved));
            out_with(|w| crate::plan::render::text::render_to(w, plan, &redactor, options.colour));
            if !plan.is_empty() {
                out(&format!("\nTo apply exactly these changes: jones-sync apply {file}\n"));
            }
        }
        Format::Markdown => {
            let hint = super::plan::full_plan_hint(&format!("jones-sync show {file}"));
            out(&crate::plan::render::markdown::render(plan, &redactor, &hint))
        }
        Format::Json => out(&crate::plan::render::json::render(plan, &redactor)),
    }
    Ok(if args.detailed_exitcode && !plan.is_empty() { ExitCode::from(2) } else { ExitCode::SUCCESS })
}

/// A plan file for several targets, as `plan` printed it.
fn show_targets(options: &Options, args: &ShowArgs, saved: &[SavedPlan], show: bool) -> anyhow::Result<ExitCode> {
    let redactor = Redactor::new(&saved[0].sensitive_keys, show)?;
    let plans: Vec<crate::plan::Plan> = saved.iter().map(|s| s.plan.clone()).collect();
    let targets = super::apply_saved::targets_of(saved, &plans, &redactor, options.colour);
    let file = args.plan_file.display();
    match args.format {
        Format::Text => {
            out(&origin(&saved[0]).replace(&format!(", for ZooKeeper `{}`", saved[0].zookeeper), ", for every target"));
            out(&targets.text());
            if targets.has_changes() {
                out(&format!("\nTo apply exactly these changes, wave by wave: jones-sync apply {file}\n"));
            }
        }
        Format::Markdown => {
            let hint = super::plan::full_plan_hint(&format!("jones-sync show {file}"));
            out(&targets.markdown(&redactor, &hint))
        }
        Format::Json => out(&targets.json(&redactor)),
    }
    Ok(if args.detailed_exitcode && targets.has_changes() { ExitCode::from(2) } else { ExitCode::SUCCESS })
}

/// Where the plan comes from: when and by which jones-sync it was made, from which commit, for
/// which ZooKeeper.
fn origin(saved: &SavedPlan) -> String {
    let commit = match &saved.source.sha {
        Some(sha) => format!("commit {}", crate::repo::git::short(sha)),
        None => "a repository outside git".to_string(),
    };
    let dirty = if saved.source.dirty { " with uncommitted changes" } else { "" };
    format!(
        "Saved plan, made {} by {} {} from {commit}{dirty}, for ZooKeeper `{}`.\n\n",
        saved.created_at, saved.tool.name, saved.tool.version, saved.zookeeper
    )
}
