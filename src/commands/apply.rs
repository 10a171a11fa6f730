//! `jones-sync apply`: lock, plan, confirm, execute, report, through the pipeline
//! ([`crate::sync`]). Live state is read under the locks, so two applies never interleave and a
//! second apply of the same commit finds nothing to do; the plan is printed whole before the
//! confirmation, and its versions are the ones read under the locks. (With a plan file,
//! [`super::apply_saved`] executes that plan instead.)

use std::process::ExitCode;

use anyhow::bail;

use super::{Options, actor, load_or_report, out, show_sensitive};
use crate::audit::record::Record;
use crate::cli::ApplyArgs;
use crate::plan::redact::Redactor;
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
    let actor = actor(args.actor);
    let lock_timeout = super::lock_timeout(&args.lock)?;
    let settings = &state.repo.settings;
    let prune = args.prune || settings.sync.prune;
    let record = |name: &str| Record::new(state.origin(name), actor.clone()).to_json();
    let request = crate::sync::Request::new(&state, &args.services, record, prune, lock_timeout)?;
    let redactor = Redactor::new(&settings.plan.sensitive_keys(), show)?;
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
