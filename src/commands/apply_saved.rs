//! `jones-sync apply FILE`: execute exactly a plan saved by `plan --out FILE`. The repository is
//! not read and nothing is asked; the plan is refused if it was made for another ZooKeeper, by a
//! newer jones-sync, or if any node it touches changed since it was made (every such node listed,
//! nothing written).

use std::path::Path;
use std::process::ExitCode;

use anyhow::bail;

use super::{Options, actor, show_sensitive};
use crate::cli::ApplyArgs;
use crate::plan::redact::Redactor;
use crate::plan::saved::{SavedPlan, SavedPlanError, stale_nodes};

pub(crate) async fn run(options: &Options, args: &ApplyArgs, file: &Path) -> anyhow::Result<ExitCode> {
    if !args.services.is_empty() {
        bail!(
            "--service cannot be combined with a plan file: the plan says what to apply \
             (make it with `jones-sync plan --service NAME --out FILE`)"
        );
    }
    let show = show_sensitive(args.show_sensitive)?;
    let saved = SavedPlan::read(file)?;
    saved.check_target(file, &options.zk)?;
    if saved.source.dirty && !args.allow_dirty {
        bail!(
            "the plan `{}` was made from config files with uncommitted changes, so the recorded commit would not \
             describe what is applied: pass --allow-dirty to apply it anyway",
            file.display()
        );
    }
    let plan = saved.plan_for(&actor(args.actor.clone()));
    let redactor = Redactor::new(&saved.sensitive_keys, show)?;
    if plan.is_empty() {
        super::out_with(|w| crate::plan::text::render_to(w, &plan, &redactor, options.colour));
        return Ok(ExitCode::SUCCESS);
    }
    let settings = crate::apply::Settings {
        max_request_bytes: saved.max_request_bytes,
        keep: saved.history_keep,
        lock_timeout: super::apply::settings(&Default::default(), &args.lock)?.lock_timeout,
    };
    let mut zk = super::connect(options).await?;
    if let Some(acl) = &saved.acl {
        zk.set_create_acl(acl);
    }
    let names: Vec<String> = plan.services.iter().filter(|s| !s.is_empty()).map(|s| s.name.clone()).collect();
    let commit = saved.source.sha.clone();
    let mut session = super::apply::lock(zk, &names, &actor(args.actor.clone()), commit, &settings).await?;
    let result = async {
        // Read under the locks; the nodes a lock had to create do not make the plan stale.
        let mut live = session.zk.snapshot(&names).await?;
        // A service deleted whole relies on its whole tree.
        let pruned: Vec<String> = plan.services.iter().filter(|s| s.prune).map(|s| s.name.clone()).collect();
        live.services.extend(session.zk.service_trees(&pruned).await?);
        let live = live.without(&session.locks.nodes());
        let stale = stale_nodes(&plan, &live);
        if !stale.is_empty() {
            return Err(SavedPlanError::Stale { path: file.display().to_string(), nodes: stale }.into());
        }
        let mut plan = plan;
        if !saved.carries_mass_delete() {
            // Made before plans carried the guard's verdict: the live state it relies on is as it was.
            for service in &mut plan.services {
                let empty = Default::default();
                let live_service = live.services.get(&service.name).unwrap_or(&empty);
                let (name, managed, prune) = (&service.name, service.managed, service.prune);
                service.mass_delete = crate::plan::guard::assess(name, managed, prune, live_service, &service.changes);
            }
        }
        super::out_with(|w| crate::plan::text::render_to(w, &plan, &redactor, options.colour));
        if !args.allow_mass_delete {
            crate::plan::guard::check(&plan)?;
        }
        super::apply::apply_and_report(&mut session, &plan, &settings).await
    }
    .await;
    session.locks.release(&session.zk).await;
    result
}
