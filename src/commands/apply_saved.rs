//! `jones-sync apply FILE`: execute exactly a plan saved by `plan --out FILE`, through the
//! pipeline's locks, staleness check and guards ([`crate::sync`]). The repository is not read and
//! nothing is asked. It connects to the plan's own connect string unless `--zk` (or
//! `JONES_SYNC_ZK`) names one, which must then be the same ensemble and chroot. The plan is
//! refused if it was made for another ZooKeeper, by a newer jones-sync, if any node it touches is
//! not as it read it, or if its content does not hold ([`crate::plan::verify`]): every such node
//! listed, nothing written.

use std::path::Path;
use std::process::ExitCode;

use anyhow::bail;

use super::{Options, actor, out, show_sensitive};
use crate::cli::ApplyArgs;
use crate::plan::Plan;
use crate::plan::redact::Redactor;
use crate::plan::render::targets::{TargetPlan, Targets};
use crate::plan::render::text;
use crate::plan::saved::SavedPlan;
use crate::plan::verify::Limits;
use crate::targets::Selected;
use crate::zk::lock::Holder;

pub(crate) async fn run(options: &Options, args: &ApplyArgs, file: &Path) -> anyhow::Result<ExitCode> {
    if !args.services.is_empty() {
        bail!(
            "--service cannot be combined with a plan file: the plan says what to apply \
             (make it with `jones-sync plan --service NAME --out FILE`)"
        );
    }
    let show = show_sensitive(args.show_sensitive)?;
    let mut all = SavedPlan::read_all(file)?;
    if all[0].target.is_some() {
        return apply_targets(options, args, file, all, show).await;
    }
    if !options.targets.is_empty() {
        bail!("--target: the plan `{}` was made for one cluster, not for `[targets]`", file.display());
    }
    let saved = all.remove(0);
    // The plan applies where it was made: to its own connect string, unless one is given, which
    // must then name the same ensemble and chroot.
    let aimed;
    let options = if options.zk_from == super::ZkFrom::Default {
        aimed = options.aimed_at(&saved.zookeeper, super::ZkFrom::PlanFile)?;
        &aimed
    } else {
        saved.check_target(file, &options.zk)?;
        options
    };
    if saved.source.dirty && !args.allow_dirty {
        bail!(
            "the plan `{}` was made from config files with uncommitted changes, so the recorded commit would not \
             describe what is applied: pass --allow-dirty to apply it anyway",
            file.display()
        );
    }
    let actor = actor(args.actor.clone());
    let mut plan = saved.plan_for(&actor);
    let redactor = Redactor::new(&saved.sensitive_keys, show)?;
    if plan.is_empty() {
        super::out_with(|w| text::render_to(w, &plan, &redactor, options.colour));
        return Ok(ExitCode::SUCCESS);
    }
    let settings = crate::apply::Settings {
        max_request_bytes: saved.max_request_bytes,
        keep: saved.history_keep,
        lock_timeout: super::lock_timeout(&args.lock)?,
    };
    let zk = super::connect(options, saved.acl.as_deref()).await?;
    let names: Vec<String> = plan.services.iter().filter(|s| !s.is_empty()).map(|s| s.name.clone()).collect();
    let holder = Holder::me(&actor, saved.source.sha.clone());
    crate::sync::locked(zk, &names, holder, &settings, async |session| {
        let limits = Limits { max_node_bytes: saved.max_node_bytes, max_request_bytes: saved.max_request_bytes };
        crate::sync::verify_saved(session, file, &mut plan, limits).await?;
        super::out_with(|w| text::render_to(w, &plan, &redactor, options.colour));
        crate::sync::check_guards(&plan, args.allow_mass_delete)?;
        crate::plan::break_glass::check(&plan, args.revert_break_glass)?;
        super::report_outcomes(&crate::apply::execute(session, &plan, &settings).await)
    })
    .await
}

/// Applies a plan file made for several targets, wave by wave ([`super::waves`]): each target's
/// plan at its own ZooKeeper, checked for staleness under its locks when its wave comes.
async fn apply_targets(
    options: &Options,
    args: &ApplyArgs,
    file: &Path,
    saved: Vec<SavedPlan>,
    show: bool,
) -> anyhow::Result<ExitCode> {
    let in_file: Vec<&str> = saved.iter().filter_map(|p| Some(p.target.as_ref()?.name.as_str())).collect();
    for name in &options.targets {
        if !in_file.contains(&name.as_str()) {
            bail!(
                "--target `{name}`: the plan `{}` has {}",
                file.display(),
                super::aim::listed(in_file.iter().copied())
            );
        }
    }
    if options.zk_from == super::ZkFrom::Flag && options.targets.len() != 1 {
        bail!("--zk with a plan for several targets needs exactly one --target (its address is what --zk names)");
    }
    let saved: Vec<SavedPlan> = saved
        .into_iter()
        .filter(|p| {
            let name = &p.target.as_ref().expect("a plan for targets names its target").name;
            options.targets.is_empty() || options.targets.contains(name)
        })
        .collect();
    let mut aims = Vec::new();
    for plan in &saved {
        let target = plan.target.as_ref().expect("a plan for targets names its target");
        if options.zk_from == super::ZkFrom::Flag {
            plan.check_target(file, &options.zk)?;
        }
        let selected =
            Selected { name: target.name.clone(), zk: plan.zookeeper.clone(), services: None, wave: target.wave };
        aims.push(super::aim::aim(options, selected)?);
    }
    if saved.iter().any(|p| p.source.dirty) && !args.allow_dirty {
        bail!(
            "the plan `{}` was made from config files with uncommitted changes, so the recorded commit would not \
             describe what is applied: pass --allow-dirty to apply it anyway",
            file.display()
        );
    }
    let actor = actor(args.actor.clone());
    let plans: Vec<Plan> = saved.iter().map(|p| p.plan_for(&actor)).collect();
    let redactor = Redactor::new(&saved[0].sensitive_keys, show)?;
    out(&targets_of(&saved, &plans, &redactor, options.colour).text());
    if plans.iter().all(Plan::is_empty) {
        return Ok(ExitCode::SUCCESS);
    }
    let pause = super::waves::pause(args.wave_pause)?;
    let lock_timeout = super::lock_timeout(&args.lock)?;
    let index = |aim: &super::aim::Aimed| aims.iter().position(|a| std::ptr::eq(a, aim)).expect("aims are aims");
    let rollout = super::waves::roll_out(&aims, pause, async |aim| {
        let i = index(aim);
        let (saved, mut plan) = (&saved[i], plans[i].clone());
        if plan.is_empty() {
            return Ok("No changes.\n".to_string());
        }
        let settings = crate::apply::Settings {
            max_request_bytes: saved.max_request_bytes,
            keep: saved.history_keep,
            lock_timeout,
        };
        let zk = super::connect(&aim.options, saved.acl.as_deref()).await?;
        let names: Vec<String> = plan.services.iter().filter(|s| !s.is_empty()).map(|s| s.name.clone()).collect();
        let holder = Holder::me(&actor, saved.source.sha.clone());
        crate::sync::locked(zk, &names, holder, &settings, async |session| {
            let limits = Limits { max_node_bytes: saved.max_node_bytes, max_request_bytes: saved.max_request_bytes };
            crate::sync::verify_saved(session, file, &mut plan, limits).await?;
            crate::sync::check_guards(&plan, args.allow_mass_delete)?;
            crate::plan::break_glass::check(&plan, args.revert_break_glass)?;
            super::waves::reported(&crate::apply::execute(session, &plan, &settings).await)
        })
        .await
    })
    .await;
    let services: Vec<Vec<String>> =
        plans.iter().map(|p| p.services.iter().map(|s| s.name.clone()).collect()).collect();
    super::waves::finish(&aims, rollout, &services).await
}

/// The plans of a file for several targets (`plans`: each one's plan to execute), to show.
pub(crate) fn targets_of<'a>(
    saved: &'a [SavedPlan],
    plans: &'a [Plan],
    redactor: &Redactor,
    colour: bool,
) -> Targets<'a> {
    let targets = saved
        .iter()
        .zip(plans)
        .map(|(saved, plan)| {
            let target = saved.target.as_ref().expect("a plan for targets names its target");
            TargetPlan {
                name: &target.name,
                wave: target.wave,
                zookeeper: &saved.zookeeper,
                plan: Ok(plan),
                notes: String::new(),
            }
        })
        .collect();
    Targets::new(targets, redactor, colour)
}
