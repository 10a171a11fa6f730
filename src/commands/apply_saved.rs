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

use super::{Options, actor, show_sensitive};
use crate::cli::ApplyArgs;
use crate::plan::redact::Redactor;
use crate::plan::render::text;
use crate::plan::saved::SavedPlan;
use crate::plan::verify::Limits;
use crate::zk::lock::Holder;

pub(crate) async fn run(options: &Options, args: &ApplyArgs, file: &Path) -> anyhow::Result<ExitCode> {
    if !args.services.is_empty() {
        bail!(
            "--service cannot be combined with a plan file: the plan says what to apply \
             (make it with `jones-sync plan --service NAME --out FILE`)"
        );
    }
    let show = show_sensitive(args.show_sensitive)?;
    let saved = SavedPlan::read(file)?;
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
