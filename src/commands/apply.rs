//! `jones-sync apply`: lock, plan, confirm, execute, report, through the pipeline
//! ([`crate::sync`]). Live state is read under the locks, so two applies never interleave and a
//! second apply of the same commit finds nothing to do; the plan is printed whole before the
//! confirmation, and its versions are the ones read under the locks. (With a plan file,
//! [`super::apply_saved`] executes that plan instead.)

use std::process::ExitCode;

use anyhow::bail;

use super::aim::Aimed;
use super::plan::target_request;
use super::{Options, actor, load_or_report, out, show_sensitive};
use crate::audit::record::Record;
use crate::cli::ApplyArgs;
use crate::desired::DesiredState;
use crate::plan::Plan;
use crate::plan::redact::Redactor;
use crate::plan::render::targets::{TargetPlan, Targets};
use crate::zk::lock::Holder;

pub(crate) async fn run(options: &Options, args: ApplyArgs) -> anyhow::Result<ExitCode> {
    let show = show_sensitive(args.show_sensitive)?;
    super::can_confirm(args.yes)?;
    let Some(state) = load_or_report(options, args.rev.as_deref())? else { return Ok(ExitCode::FAILURE) };
    // Only the work tree can be dirty; a revision and a pin are read from commits.
    if state.dirty() && !args.allow_dirty {
        bail!(
            "config files in `{}` have uncommitted changes, so the recorded commit would not describe what is applied: \
             commit them, or pass --allow-dirty{}",
            options.repo.display(),
            state.dirty_list()
        );
    }
    let actor = actor(args.actor.clone());
    let lock_timeout = super::lock_timeout(&args.lock)?;
    let settings = &state.repo.settings;
    let prune = args.prune || settings.sync.prune;
    let record = |name: &str| Record::new(state.origin(name), actor.clone()).to_json();
    let redactor = Redactor::new(&settings.plan.sensitive_keys(), show)?;
    if let Some(aims) = super::aim::targets(options, settings)? {
        return apply_targets(options, &args, &state, &aims, &record, &redactor, &actor).await;
    }
    if args.wave_pause.is_some() {
        bail!("--wave-pause: jones-sync.toml has no `[targets]`, so there are no waves to pause between");
    }
    let request = crate::sync::Request::new(&state, &args.services, record, prune, lock_timeout)?;
    let zk = super::connect(options, settings.zookeeper.acl.as_deref()).await?;
    let locked = crate::sync::lock_scope(&zk, &request).await?;
    let holder = Holder::me(&actor, state.commit().map(|c| c.sha.clone()));
    crate::sync::locked(zk, &locked, holder, &request.settings, async |session| {
        let planned = crate::sync::plan_locked(session, &request).await?;
        let mut plan = planned.plan;
        let skipped = if args.allow_older {
            String::new()
        } else {
            let git = crate::repo::git::Git::open(&options.repo)?;
            let live_record = |name: &str| planned.standing.get(name).and_then(crate::sync::Standing::record);
            crate::audit::supersede::skip(git.as_ref(), &state, live_record, &mut plan)
        };
        if plan.is_empty() && !skipped.is_empty() {
            // Not "No changes": ZooKeeper does not match this commit, it holds newer ones.
            out(&skipped);
            out("\nNothing applied: every service this commit would change holds content ZooKeeper must keep.\n");
            return Ok(ExitCode::SUCCESS);
        }
        super::out_with(|w| crate::plan::render::text::render_to(w, &plan, &redactor, options.colour));
        out(&skipped);
        out(&crate::audit::status::notes(&state, &plan));
        if plan.is_empty() {
            return Ok(ExitCode::SUCCESS);
        }
        crate::sync::check_guards(&plan, args.allow_mass_delete)?;
        crate::plan::break_glass::check(&plan, args.revert_break_glass)?;
        super::confirm(args.yes)?;
        super::report_outcomes(&crate::apply::execute(session, &plan, &request.settings).await)
    })
    .await
}

/// Applies to every target of `aims` (`[targets]`), wave by wave ([`super::waves`]): every
/// target is planned first, all at once, and the plan shown and confirmed once; then each
/// target is locked, planned again under its locks, and applied, in its wave. A target whose
/// plan under the locks is not the one confirmed stops the rollout (with `--yes`, the plan under
/// the locks is applied, as a single-cluster apply does).
async fn apply_targets(
    options: &Options,
    args: &ApplyArgs,
    state: &DesiredState,
    aims: &[Aimed],
    record: &dyn Fn(&str) -> serde_json::Value,
    redactor: &Redactor,
    actor: &str,
) -> anyhow::Result<ExitCode> {
    let settings = &state.repo.settings;
    let prune = args.prune || settings.sync.prune;
    let lock_timeout = super::lock_timeout(&args.lock)?;
    let pause = super::waves::pause(args.wave_pause)?;
    // `--service` names are checked once, before any target is contacted.
    crate::sync::Request::new(state, &args.services, record, prune, lock_timeout)?;
    let git = if args.allow_older { None } else { crate::repo::git::Git::open(&options.repo)? };
    let skip = |plan: &mut Plan, planned: &crate::sync::Planned| {
        let live_record = |name: &str| planned.standing.get(name).and_then(crate::sync::Standing::record);
        crate::audit::supersede::skip(git.as_ref(), state, live_record, plan)
    };
    let planned = super::aim::each(aims, async |aim| {
        let request = target_request(state, &args.services, aim, record, prune, lock_timeout)?;
        let zk = super::connect(&aim.options, None).await?;
        let planned = crate::sync::plan(&zk, &request).await?;
        let mut plan = planned.plan.clone();
        let skipped = skip(&mut plan, &planned);
        Ok((plan, skipped))
    })
    .await;
    let plans: Vec<Result<Plan, String>> =
        planned.iter().map(|p| p.as_ref().map(|(plan, _)| plan.clone()).map_err(Clone::clone)).collect();
    let shown = Targets::new(
        aims.iter()
            .zip(&plans)
            .zip(&planned)
            .map(|((aim, plan), planned)| TargetPlan {
                name: &aim.target.name,
                wave: aim.target.wave,
                zookeeper: &aim.options.zk,
                plan: plan.as_ref().map_err(String::as_str),
                notes: match (plan, planned) {
                    (Ok(plan), Ok((_, skipped))) => format!("{skipped}{}", crate::audit::status::notes(state, plan)),
                    _ => String::new(),
                },
            })
            .collect(),
        redactor,
        options.colour,
    );
    out(&shown.text());
    let failed: Vec<String> = aims
        .iter()
        .zip(&plans)
        .filter_map(|(aim, plan)| Some(format!("  {}: {}", aim.target.name, plan.as_ref().err()?)))
        .collect();
    if !failed.is_empty() {
        bail!(
            "{} of {} targets could not be planned, so nothing was applied anywhere:\n{}\n\
             (to apply to the others meanwhile, name them with --target)",
            failed.len(),
            aims.len(),
            failed.join("\n")
        );
    }
    let plans: Vec<Plan> = plans.into_iter().flatten().collect();
    if plans.iter().all(Plan::is_empty) {
        return Ok(ExitCode::SUCCESS);
    }
    for (aim, plan) in aims.iter().zip(&plans) {
        let refused = |err: &dyn std::fmt::Display| anyhow::anyhow!("target `{}`: {err}", aim.target.name);
        crate::sync::check_guards(plan, args.allow_mass_delete).map_err(|e| refused(&e))?;
        crate::plan::break_glass::check(plan, args.revert_break_glass).map_err(|e| refused(&e))?;
    }
    super::confirm(args.yes)?;
    let holder = Holder::me(actor, state.commit().map(|c| c.sha.clone()));
    let confirmed: Vec<String> =
        plans.iter().map(|plan| crate::plan::render::text::render(plan, redactor, false)).collect();
    let index = |aim: &Aimed| aims.iter().position(|a| std::ptr::eq(a, aim)).expect("aims are aims");
    let rollout = super::waves::roll_out(aims, pause, async |aim| {
        let i = index(aim);
        if plans[i].is_empty() {
            return Ok("No changes.\n".to_string());
        }
        let request = target_request(state, &args.services, aim, record, prune, lock_timeout)?;
        let zk = super::connect(&aim.options, settings.zookeeper.acl.as_deref()).await?;
        let locked = crate::sync::lock_scope(&zk, &request).await?;
        crate::sync::locked(zk, &locked, holder.clone(), &request.settings, async |session| {
            let planned = crate::sync::plan_locked(session, &request).await?;
            let mut plan = planned.plan.clone();
            let skipped = skip(&mut plan, &planned);
            let text = crate::plan::render::text::render(&plan, redactor, false);
            let mut report = String::new();
            if text != confirmed[i] {
                if !args.yes {
                    bail!(
                        "ZooKeeper changed since the plan you confirmed was read, so nothing was written to this \
                         target: run apply again to see the plan as it is now"
                    );
                }
                report =
                    format!("ZooKeeper changed since the plan above was read; applying this plan:\n\n{text}{skipped}");
            }
            if plan.is_empty() {
                return Ok(report + "No changes.\n");
            }
            crate::sync::check_guards(&plan, args.allow_mass_delete)?;
            crate::plan::break_glass::check(&plan, args.revert_break_glass)?;
            let outcomes = crate::apply::execute(session, &plan, &request.settings).await;
            Ok(report + &super::waves::reported(&outcomes)?)
        })
        .await
    })
    .await;
    let services: Vec<Vec<String>> =
        plans.iter().map(|p| p.services.iter().map(|s| s.name.clone()).collect()).collect();
    super::waves::finish(aims, rollout, &services).await
}
