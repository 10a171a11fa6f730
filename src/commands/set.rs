//! `jones-sync set SERVICE [--env ENV] KEY=VALUE... [--delete KEY]`: the audited emergency edit.
//!
//! Under the service's apply lock, reads its live state, changes the environment's own values
//! ([`crate::edit`]), and writes that conf and every view it reaches (materialized exactly as
//! Jones does) in one version-guarded transaction, with the service's record and an audit entry
//! that list the edit as a break-glass edit ([`crate::audit::record::BreakGlass`]): who, when, why,
//! and the commit the service was at (the record's, kept). From then on `plan` shows it apart and
//! `apply` refuses to undo it unless told ([`crate::plan::break_glass`]).
//!
//! Decisions: only a service jones-sync manages (it has a record) can be edited, and only when
//! its live state reads exactly as Jones wrote it (what `import` would report is refused, naming
//! it: `set` must write nothing but its edit); the settings (size limits, ACL, sensitive keys) are
//! the repository's work tree's, or the defaults outside one.

use std::process::ExitCode;

use anyhow::{anyhow, bail};

use super::{Options, actor, out};
use crate::audit::record::{BreakGlass, Record};
use crate::cli::SetArgs;
use crate::edit::{self, Key};
use crate::layout;
use crate::model::EnvPath;
use crate::plan::Plan;
use crate::plan::redact::Redactor;
use crate::repo::settings;
use crate::zk::lock::Holder;

pub(crate) async fn run(options: &Options, args: SetArgs) -> anyhow::Result<ExitCode> {
    let service = args.service.as_str();
    if let Some(why) = crate::repo::names::zk_name_problem(service) {
        bail!("invalid service name `{service}`: {why}");
    }
    let sets: Vec<(Key, serde_json::Value)> =
        args.assignments.iter().map(|a| edit::parse_assignment(a)).collect::<Result<_, _>>().map_err(|e| anyhow!(e))?;
    let deletes: Vec<Key> =
        args.delete.iter().map(|k| edit::parse_key(k)).collect::<Result<_, _>>().map_err(|e| anyhow!(e))?;
    if sets.is_empty() && deletes.is_empty() {
        bail!("nothing to set: give KEY=VALUE (VALUE in TOML: `true`, `0.5`, `\"text\"`) or --delete KEY");
    }
    let env = EnvPath::parse(args.env.as_deref().unwrap_or(""));
    super::can_confirm(args.yes)?;
    let settings = settings::read_work_tree(&options.repo).map_err(|e| anyhow!(e))?;
    let actor = actor(args.actor);
    let lock_timeout = super::lock_timeout(&args.lock)?;
    let apply_settings = crate::apply::Settings::new(&settings, lock_timeout);
    let redactor = Redactor::new(&settings.plan.sensitive_keys(), false)?;
    let mut zk = super::connect(options, None).await?;
    if let Some(acl) = &settings.zookeeper.acl {
        super::check_acl(options, acl)?;
        zk.set_create_acl(acl);
    }
    let names = [service.to_string()];
    let holder = Holder::me(&actor, None);
    let edited = crate::sync::locked(zk, &names, holder, &apply_settings, async |session| {
        let snapshot = session.zk.snapshot(&names).await?.without(&session.locks.nodes());
        let Some(live) = snapshot.services.get(service).filter(|_| snapshot.all_services.iter().any(|s| s == service))
        else {
            bail!("there is no service `{service}` in ZooKeeper");
        };
        let Some(record) = live.nodes.get(&layout::record(service)).and_then(|node| Record::parse(&node.data)) else {
            bail!(
                "`{service}` is not managed by jones-sync (it has no record): `set` edits only what `apply` wrote; \
                 apply it first"
            );
        };
        let mut reports = Vec::new();
        let imported = crate::import::service(service, live, &mut reports);
        if !reports.is_empty() || imported.is_none() {
            let found: Vec<String> = reports.iter().map(|r| format!("  {}: {}", r.subject, r.message)).collect();
            bail!(
                "`{service}`'s live state is not what jones-sync writes, so `set` would write more than its edit:\n{}\n\
                 apply the repository first (`jones-sync plan` shows it)",
                found.join("\n")
            );
        }
        let imported = imported.expect("checked");
        let mut model = imported.service;
        let known: Vec<String> = model.envs.keys().map(EnvPath::to_string).collect();
        let Some(environment) = model.envs.get_mut(&env) else {
            bail!("`{service}` has no environment `{env}` (it has: {})", known.join(", "));
        };
        let before = environment.values.clone();
        for (key, value) in &sets {
            edit::set(&mut environment.values, key, value.clone()).map_err(|e| anyhow!(e))?;
        }
        for key in &deletes {
            edit::delete(&mut environment.values, key).map_err(|e| anyhow!(e))?;
        }
        if environment.values == before {
            out(&format!("`{service}` {env} already holds these values: nothing to set.\n"));
            return Ok(None);
        }
        let mut shaping = settings.clone();
        if let Some(format) = imported.nodemap_format {
            shaping.sync.nodemap_format = format;
        }
        let mut problems = Vec::new();
        let mut confs = crate::view::checked(&model, &shaping, &mut problems);
        if !problems.is_empty() {
            let found: Vec<String> = problems.iter().map(|p| format!("  {}", p.message)).collect();
            bail!("refusing the edit; nothing was written:\n{}", found.join("\n"));
        }
        confs.acl.clone_from(&settings.zookeeper.acl);
        // The edit's time is the record's: its audit entry is the one whose newest edit has it.
        let now = crate::clock::now();
        let mut break_glass = record.break_glass.clone();
        break_glass.push(BreakGlass {
            env: env.0.join("/"),
            set: sets.iter().map(|(key, _)| edit::show(key)).collect(),
            deleted: deletes.iter().map(|key| edit::show(key)).collect(),
            actor: actor.clone(),
            at: now.clone(),
            reason: args.reason.clone(),
        });
        let new_record = Record {
            apply_id: Some(uuid::Uuid::new_v4().to_string()),
            applied_at: now,
            actor: actor.clone(),
            break_glass,
            ..record
        };
        let planned = crate::sync::plan_service(&confs, &snapshot, &new_record.to_json(), &apply_settings);
        // Only the edited conf and the views it reaches (and the record): anything else would be
        // an apply's business, not an emergency edit's.
        let conf = layout::conf(service, &env);
        let mut foreign: Vec<String> = planned
            .changes
            .iter()
            .filter(|c| !(c.path == conf || c.kind == layout::NodeKind::View || c.kind == layout::NodeKind::Record))
            .map(|c| c.path.clone())
            .collect();
        foreign.extend(planned.acls.iter().map(|acl| format!("the ACL of {}", acl.path)));
        if !foreign.is_empty() {
            bail!(
                "the edit would also change {}: `set` writes only its edit; apply the repository first",
                foreign.join(", ")
            );
        }
        let plan = Plan { services: vec![planned], root_czxid: snapshot.root_czxid, ..Plan::default() };
        super::out_with(|w| crate::plan::render::text::render_to(w, &plan, &redactor, options.colour));
        // Drift is told by zxid against the record, which this edit rewrites: say what stops
        // showing as drift (it still shows as a difference from the repository).
        let record_zxid = live.nodes.get(&layout::record(service)).map_or(i64::MAX, |node| node.mzxid);
        let drifted: Vec<&str> = live
            .nodes
            .iter()
            .filter(|(path, node)| {
                node.mzxid > record_zxid
                    && matches!(
                        layout::kind_of(service, path),
                        layout::NodeKind::Conf | layout::NodeKind::View | layout::NodeKind::Nodemap
                    )
            })
            .map(|(path, _)| path.as_str())
            .collect();
        if !drifted.is_empty() {
            out(&format!(
                "\nNote: edited outside jones-sync since the last apply, and no longer shown as drift after this edit \
                 (still a difference from the repository, which `pull` can take in): {}\n",
                drifted.join(", ")
            ));
        }
        super::confirm(args.yes)?;
        super::report_outcomes(&crate::apply::execute(session, &plan, &apply_settings).await).map(Some)
    })
    .await?;
    let Some(code) = edited else { return Ok(ExitCode::SUCCESS) };
    if code == ExitCode::SUCCESS {
        out(&format!(
            "\n`{service}` now differs from its commit on purpose (a break-glass edit by {actor}). `apply` keeps it: it \
             refuses to undo it until the repository holds the same values (`jones-sync pull` writes them into its \
             files), or unless --revert-break-glass. `jones-sync plan` and `jones-sync status` show it.\n"
        ));
    }
    Ok(code)
}
