//! `jones-sync rollback SERVICE`: apply a service's configuration as of an earlier apply, read
//! from git, then say what to do in git so that the next apply does not undo it.

use std::process::ExitCode;

use anyhow::{anyhow, bail};

use super::{Options, actor, out, report};
use crate::cli::RollbackArgs;
use crate::git::{Git, short};
use crate::history::Logged;
use crate::record::Record;
use crate::rollback::Target;

pub(crate) async fn run(options: &Options, args: RollbackArgs) -> anyhow::Result<ExitCode> {
    let service = args.service.as_str();
    if let Some(why) = crate::repo::names::zk_name_problem(service) {
        bail!("invalid service name `{service}`: {why}");
    }
    let git = Git::open(&options.repo)?.ok_or_else(|| {
        anyhow!("rollback reads earlier commits from git, but `{}` is not in a git work tree", options.repo.display())
    })?;
    let target = match &args.to {
        Some(rev) => Target::Sha(git.resolve(rev)?.sha),
        None => Target::Steps(usize::try_from(args.steps.unwrap_or(1)).unwrap_or(usize::MAX)),
    };
    let zk = super::connect(options).await?;
    let Some(entries) = zk.read_log(service, None).await? else {
        bail!("there is no service `{service}` in ZooKeeper");
    };
    let log: Vec<Logged> = entries.iter().map(|(name, data)| Logged::parse(name, data)).collect();
    let (entry, from) = crate::rollback::choose(service, &log, &target)?;
    let commit = git.resolve(entry.sha().expect("chosen entries have a commit"))?;
    let Some(loaded) = report(crate::load::load_service_at(&options.repo, service, &commit)?)? else {
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
    let settings = super::apply::settings(&loaded.repo.settings, &args.lock)?;
    let names = [service.to_string()];
    let mut session = super::apply::lock(zk, &names, &actor, Some(commit.sha.clone()), &settings).await?;
    let result = async {
        let snapshot = session.zk.snapshot(&names).await?.without(&session.locks.created());
        let trees: Vec<_> = loaded.desired.iter().map(crate::view::DesiredConfs::tree).collect();
        let mut plan = crate::plan::diff_with(&trees, &snapshot, |name| {
            Record { rollback: true, ..Record::new(loaded.origin(name), actor.clone()) }.to_json()
        });
        // Only this service was loaded: the others are not "left untouched" news here.
        plan.unmanaged.clear();
        let redactor = crate::plan::redact::Redactor::new(&loaded.repo.settings.plan.sensitive_keys(), false)?;
        super::out_with(|w| crate::plan::text::render_to(w, &plan, &redactor, options.colour));
        if plan.is_empty() {
            out(&format!(
                "`{service}` already holds the configuration of {}: nothing to roll back.\n",
                short(&commit.sha)
            ));
            return Ok(None);
        }
        if !args.allow_mass_delete {
            crate::plan::guard::check(&plan)?;
        }
        super::apply::execute(&mut session, &plan, &settings, args.yes).await.map(Some)
    }
    .await;
    session.locks.release(&session.zk).await;
    let Some(code) = result? else { return Ok(ExitCode::SUCCESS) };
    let settings = &loaded.repo.settings;
    let pinned = settings.services.get(service).and_then(|s| s.pin.as_ref()).map(|pin| pin.get_ref().as_str());
    out(&crate::rollback::advice(&git, &options.repo, service, from, &commit, pinned));
    Ok(code)
}
