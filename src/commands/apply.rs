//! `jones-sync apply`: plan, confirm, execute one transaction per service, report. With a plan
//! file, [`super::apply_saved`] executes that plan instead.

use std::io::{BufRead, IsTerminal};
use std::process::ExitCode;

use anyhow::{Context, bail};

use super::{Options, actor, load_or_report, make_plan, out, show_sensitive};
use crate::cli::ApplyArgs;
use crate::load::Loaded;
use crate::plan::Plan;
use crate::plan::redact::Redactor;
use crate::record::Record;
use crate::zk::Zk;

pub(crate) async fn run(options: &Options, args: ApplyArgs) -> anyhow::Result<ExitCode> {
    if let Some(file) = &args.plan_file {
        return super::apply_saved::run(options, &args, file).await;
    }
    let show = show_sensitive(args.show_sensitive)?;
    let Some(loaded) = load_or_report(&options.repo, args.rev.as_deref())? else { return Ok(ExitCode::FAILURE) };
    // Only the work tree can be dirty; a revision and a pin are read from commits.
    let dirty = loaded.origins.values().any(|origin| origin.dirty);
    if dirty && !args.allow_dirty {
        bail!(
            "config files in `{}` have uncommitted changes, so the recorded commit would not describe what is applied: \
             commit them, or pass --allow-dirty",
            options.repo.display()
        );
    }
    let actor = actor(args.actor);
    let record = |name: &str| Record::new(loaded.origin(name), actor.clone());
    let (zk, plan) = make_plan(options, &loaded, record, &args.services).await?;
    let redactor = Redactor::new(&loaded.repo.settings.plan.sensitive_keys(), show)?;
    out(&crate::plan::text::render(&plan, &redactor, options.colour));
    out(&crate::status::notes(&loaded, &plan));
    if plan.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    execute(&zk, &plan, &loaded, args.yes).await
}

/// Asks for confirmation (unless `yes`), applies `plan` and reports per service. Errors when any
/// service failed.
pub(super) async fn execute(zk: &Zk, plan: &Plan, loaded: &Loaded, yes: bool) -> anyhow::Result<ExitCode> {
    if !yes {
        confirm()?;
    }
    let settings = &loaded.repo.settings;
    apply_and_report(zk, plan, settings.zookeeper.max_request_bytes, settings.history.keep()).await
}

/// Executes `plan` (one transaction per service, each keeping `keep` audit entries) and reports
/// what happened. Errors when any service failed.
pub(super) async fn apply_and_report(
    zk: &Zk,
    plan: &Plan,
    max_request_bytes: usize,
    keep: usize,
) -> anyhow::Result<ExitCode> {
    let outcomes = crate::apply::apply(zk, plan, max_request_bytes, keep).await;
    let mut report = String::from("\n");
    let mut total = crate::plan::Counts::default();
    let mut failed = Vec::new();
    for outcome in &outcomes {
        let c = outcome.counts;
        match &outcome.result {
            Ok(zxid) => {
                total.create += c.create;
                total.update += c.update;
                total.delete += c.delete;
                let zxid = zxid.map(|z| format!(", zxid 0x{z:x}")).unwrap_or_default();
                report.push_str(&format!(
                    "{}: applied in one transaction: {} created, {} updated, {} deleted{zxid}\n",
                    outcome.service, c.create, c.update, c.delete
                ));
            }
            Err(err) => {
                eprintln!("error: {}: {err}", outcome.service);
                failed.push(outcome.service.as_str());
            }
        }
    }
    report.push_str(&format!(
        "Apply {}: {} created, {} updated, {} deleted.\n",
        if failed.is_empty() { "complete" } else { "incomplete" },
        total.create,
        total.update,
        total.delete
    ));
    out(&report);
    if failed.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        bail!("{} of {} services failed to apply: {}", failed.len(), outcomes.len(), failed.join(", "))
    }
}

/// Asks on the terminal, as Terraform does; without a terminal there is nobody to ask.
fn confirm() -> anyhow::Result<()> {
    if !std::io::stdin().is_terminal() {
        bail!(
            "refusing to apply without confirmation: stdin is not a terminal (pass --yes to apply non-interactively)"
        );
    }
    out("\nDo you want to apply these changes? Only 'yes' will be accepted.\n  Enter a value: ");
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer).context("cannot read the answer")?;
    if answer.trim() != "yes" {
        bail!("apply cancelled: nothing was written");
    }
    Ok(())
}
