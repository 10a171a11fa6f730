//! `jones-sync apply`: lock, plan, confirm, execute, report. With a plan file,
//! [`super::apply_saved`] executes that plan instead.
//!
//! Every service planned is locked first ([`crate::lock`]) and live state is read under the locks,
//! so two applies never interleave and a second apply of the same commit finds nothing to do. It is
//! read and diffed a window of services at a time, as for `plan`, so the live copy is never held
//! whole; the plan is still printed whole before the confirmation, and its versions are the ones
//! read under the locks.

use std::collections::BTreeMap;
use std::io::{BufRead, IsTerminal};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};

use super::{Options, actor, load_or_report, out, select, show_sensitive};
use crate::apply::{Session, Settings};
use crate::cli::{ApplyArgs, LockArgs};
use crate::lock::{Holder, Locks};
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
    let settings = settings(&loaded.repo.settings, &args.lock)?;
    let desired = select(&loaded, &args.services)?;
    let names: Vec<String> = desired.iter().map(|d| d.name.clone()).collect();
    let redactor = Redactor::new(&loaded.repo.settings.plan.sensitive_keys(), show)?;
    let mut zk = super::connect(options).await?;
    if let Some(acl) = &loaded.repo.settings.zookeeper.acl {
        zk.set_create_acl(acl);
    }
    let commit = loaded.origins.values().find_map(|o| o.commit.as_ref().map(|c| c.sha.clone()));
    let prune = (args.prune || loaded.repo.settings.sync.prune) && args.services.is_empty();
    // A service deleted whole is locked like any other: the managed services the repository no
    // longer has are found before the locks, and confirmed under them.
    let mut locked = names.clone();
    if prune {
        let removed: Vec<String> =
            zk.snapshot(&[]).await?.all_services.into_iter().filter(|name| !names.contains(name)).collect();
        locked.extend(zk.managed(&removed).await?);
    }
    let mut session = lock(zk, &locked, &actor, commit, &settings).await?;
    let result = async {
        // Live state is read under the locks: a second apply of the same commit finds nothing to do.
        // It is read and diffed a window of services at a time, like a plan's; of each window's
        // snapshot only the live records are kept, to tell a newer commit's content.
        let mut live_records = BTreeMap::new();
        let mut plan = super::read_and_diff(
            &session.zk,
            &desired,
            loaded.repo.settings.zookeeper.acl.is_some(),
            &session.locks.created(),
            |name| Record::new(loaded.origin(name), actor.clone()).to_json(),
            |snapshot| {
                for (name, live) in &snapshot.services {
                    let record =
                        live.nodes.get(&crate::model::paths::record(name)).and_then(|n| Record::parse(&n.data));
                    live_records.insert(name.clone(), record);
                }
            },
        )
        .await?;
        if args.services.is_empty() {
            let (locks, ours) = (&session.locks, session.locks.nodes());
            super::removed_services(&session.zk, &mut plan, |name| prune && locks.holds(name), &ours).await?;
        } else {
            // The other services are out of scope, like the services of the repository not chosen.
            plan.unmanaged.clear();
        }
        let skipped =
            if args.allow_older { String::new() } else { skip_superseded(options, &loaded, &live_records, &mut plan)? };
        crate::apply::mark_splits(&mut plan, settings.keep, settings.max_request_bytes);
        super::out_with(|w| crate::plan::text::render_to(w, &plan, &redactor, options.colour));
        out(&skipped);
        out(&crate::status::notes(&loaded, &plan));
        if plan.is_empty() {
            return Ok(ExitCode::SUCCESS);
        }
        if !args.allow_mass_delete {
            crate::plan::guard::check(&plan)?;
        }
        execute(&mut session, &plan, &settings, args.yes).await
    }
    .await;
    session.locks.release(&session.zk).await;
    result
}

/// Takes out of `plan` the services whose live content comes from a newer commit
/// ([`crate::supersede`]); returns what to say about them.
fn skip_superseded(
    options: &Options,
    loaded: &crate::load::Loaded,
    live_records: &BTreeMap<String, Option<Record>>,
    plan: &mut Plan,
) -> anyhow::Result<String> {
    let git = crate::git::Git::open(&options.repo)?;
    let mut notes = String::new();
    // A service deleted whole (`--prune`) is not in the repository: its commit is the repository's,
    // and its live record is the one the plan deletes.
    let repository = loaded.origins.values().find(|origin| origin.pin.is_none());
    plan.services.retain(|service| {
        let (origin, live) = if service.prune {
            let record = service.changes.iter().find(|c| c.kind == crate::view::NodeKind::Record);
            (repository, record.and_then(|c| c.action.data().0).and_then(Record::parse))
        } else {
            (Some(loaded.origin(&service.name)), live_records.get(&service.name).cloned().flatten())
        };
        let skip = (!service.is_empty())
            .then(|| crate::supersede::superseded(git.as_ref(), &service.name, origin?, live.as_ref()))
            .flatten();
        match skip {
            Some(note) => {
                notes.push_str(&note);
                notes.push('\n');
                false
            }
            None => true,
        }
    });
    Ok(notes)
}

/// How this apply runs, from the repository's settings and the command line.
pub(super) fn settings(repo: &crate::repo::settings::Settings, lock: &LockArgs) -> anyhow::Result<Settings> {
    if !(lock.lock_timeout.is_finite() && lock.lock_timeout >= 0.0) {
        bail!("--lock-timeout must be a number of seconds, not {}", lock.lock_timeout);
    }
    Ok(Settings {
        max_request_bytes: repo.zookeeper.max_request_bytes,
        keep: repo.history.keep(),
        lock_timeout: Duration::from_secs_f64(lock.lock_timeout),
    })
}

/// Takes the lock of every service in `names` (waiting for other applies), for `actor` applying
/// `commit`.
pub(super) async fn lock(
    zk: Zk,
    names: &[String],
    actor: &str,
    commit: Option<String>,
    settings: &Settings,
) -> anyhow::Result<Session> {
    let holder = Holder::me(actor, commit);
    let locks = Locks::acquire(&zk, names, &holder, settings.lock_timeout).await?;
    Ok(Session { zk, locks, holder })
}

/// Asks for confirmation (unless `yes`), applies `plan` and reports per service. Errors when any
/// service failed.
pub(super) async fn execute(
    session: &mut Session,
    plan: &Plan,
    settings: &Settings,
    yes: bool,
) -> anyhow::Result<ExitCode> {
    if !yes {
        confirm()?;
    }
    apply_and_report(session, plan, settings).await
}

/// Executes `plan` and reports what happened. Errors when any service failed.
pub(super) async fn apply_and_report(
    session: &mut Session,
    plan: &Plan,
    settings: &Settings,
) -> anyhow::Result<ExitCode> {
    let outcomes = crate::apply::apply(session, plan, settings).await;
    let mut report = String::from("\n");
    let mut total = crate::plan::Counts::default();
    let mut failed = Vec::new();
    for outcome in &outcomes {
        let c = outcome.counts;
        let how = if outcome.transactions == 1 {
            "in one transaction".to_string()
        } else {
            format!("in {} transactions", outcome.transactions)
        };
        let recovered = recovery_note(&outcome.recovery);
        match &outcome.result {
            Ok(zxid) => {
                total.create += c.create;
                total.update += c.update;
                total.delete += c.delete;
                let zxid = zxid.map(|z| format!(", zxid 0x{z:x}")).unwrap_or_default();
                let acls = match outcome.acls {
                    0 => String::new(),
                    1 => ", 1 ACL set".to_string(),
                    n => format!(", {n} ACLs set"),
                };
                if c.total() == 0 {
                    report.push_str(&format!("{}: ACLs only{acls}\n", outcome.service));
                } else {
                    report.push_str(&format!(
                        "{}: applied {how}: {} created, {} updated, {} deleted{zxid}{recovered}{acls}\n",
                        outcome.service, c.create, c.update, c.delete
                    ));
                }
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

/// What the report says about commits whose reply was lost: what reading ZooKeeper showed, and
/// what was done about it (never a guess).
fn recovery_note(recovery: &crate::apply::Recovery) -> String {
    if recovery.is_empty() {
        return String::new();
    }
    let found = match (recovery.found_applied, recovery.resent) {
        (1, 0) => "it had been applied, so it was not sent again".to_string(),
        (0, 1) => "it had not been applied, so it was sent again".to_string(),
        (applied, resent) => {
            format!("{applied} of those commits had been applied (not sent again) and {resent} had not (sent again)")
        }
    };
    let session = if recovery.new_sessions > 0 { "; the session had expired, so a new one was made" } else { "" };
    format!(" (the connection dropped before ZooKeeper answered; ZooKeeper shows {found}{session})")
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
