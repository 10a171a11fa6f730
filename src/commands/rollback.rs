//! `jones-sync rollback SERVICE`: apply a service's configuration as of an earlier apply, read
//! from git, through the same pipeline as `apply` ([`crate::sync`]: locks, ACLs, splits, guards),
//! then say what to do in git so that the next apply does not undo it.

use std::process::ExitCode;

use anyhow::{anyhow, bail};

use super::{Options, actor, out, report};
use crate::audit::record::Record;
use crate::audit::rollback::Target;
use crate::cli::RollbackArgs;
use crate::plan::redact::Redactor;
use crate::repo::git::{Git, short};
use crate::zk::lock::Holder;

pub(crate) async fn run(options: &Options, args: RollbackArgs) -> anyhow::Result<ExitCode> {
    let service = args.service.as_str();
    if let Some(why) = crate::repo::names::zk_name_problem(service) {
        bail!("invalid service name `{service}`: {why}");
    }
    super::can_confirm(args.yes)?;
    let git = Git::open(&options.repo)?.ok_or_else(|| {
        anyhow!("rollback reads earlier commits from git, but `{}` is not in a git work tree", options.repo.display())
    })?;
    let target = match &args.to {
        Some(rev) => Target::Sha(git.resolve(rev)?.sha),
        None => Target::Steps(usize::try_from(args.steps.unwrap_or(1)).unwrap_or(usize::MAX)),
    };
    let mut zk = super::connect(options, None).await?;
    let Some(log) = crate::audit::history::read(&zk, service, None).await? else {
        bail!("there is no service `{service}` in ZooKeeper");
    };
    let (entry, from) = crate::audit::rollback::choose(service, &log, &target)?;
    let commit = git.resolve(entry.sha().expect("chosen entries have a commit"))?;
    let Some(state) = report(crate::desired::load_service_at(&options.repo, service, &commit)?)? else {
        return Ok(ExitCode::FAILURE);
    };
    let applied = entry.entry.as_ref().map(|e| &e.record).expect("entries with a commit parsed");
    out(&format!(
        "Rolling back `{service}` from {} to {} \"{}\" (applied at {} by {}, audit entry {}).\n\n",
        from.map_or("(no commit)", short),
        short(&commit.sha),
        commit.subject,
        applied.applied_at,
        applied.actor,
        entry.seq
    ));
    if applied.dirty {
        out(
            "Note: that apply had uncommitted changes (--allow-dirty); the rollback applies its commit as committed.\n\n",
        );
    }
    let actor = actor(args.actor);
    let lock_timeout = super::lock_timeout(&args.lock)?;
    let settings = &state.repo.settings;
    let record = |name: &str| Record { rollback: true, ..Record::new(state.origin(name), actor.clone()) }.to_json();
    // Only this service was loaded: the others are out of scope, not "left untouched" news here.
    let request = crate::sync::Request::new(&state, &[], record, false, lock_timeout)?
        .with_others(crate::sync::Others::OutOfScope);
    let redactor = Redactor::new(&settings.plan.sensitive_keys(), false)?;
    if let Some(acl) = &settings.zookeeper.acl {
        super::check_acl(options, acl)?;
        zk.set_create_acl(acl);
    }
    let holder = Holder::me(&actor, Some(commit.sha.clone()));
    let names = [service.to_string()];
    let result = crate::sync::locked(zk, &names, holder, &request.settings, async |session| {
        let plan = crate::sync::plan_locked(session, &request).await?.plan;
        super::out_with(|w| crate::plan::render::text::render_to(w, &plan, &redactor, options.colour));
        if plan.is_empty() {
            out(&format!(
                "`{service}` already holds the configuration of {}: nothing to roll back.\n",
                short(&commit.sha)
            ));
            return Ok(None);
        }
        crate::sync::check_guards(&plan, args.allow_mass_delete)?;
        super::confirm(args.yes)?;
        super::report_outcomes(&crate::apply::execute(session, &plan, &request.settings).await).map(Some)
    })
    .await;
    let Some(code) = result? else { return Ok(ExitCode::SUCCESS) };
    let pinned = settings.services.get(service).and_then(|s| s.pin.as_ref()).map(|pin| pin.get_ref().as_str());
    out(&crate::audit::rollback::advice(&git, &options.repo, service, from, &commit, pinned));
    Ok(code)
}
