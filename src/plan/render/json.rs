//! The plan as JSON for programs (`plan --format json`). The schema is documented in docs/json-plan.md
//! and is a contract: it is built here from the plan by explicit output types, so the plan's
//! internal shape can change without changing it.
//!
//! Compatibility: `format_version` is semver. A minor version adds fields; consumers ignore
//! fields they do not know and reject a major version they do not know. Values are redacted like
//! every other rendering; there is no colour and no prose.

use serde::Serialize;
use serde_json::Value;

use crate::layout::NodeKind;
use crate::plan::blast::environment_of;
use crate::plan::redact::Redactor;
use crate::plan::{Change, KeyChange, MassDelete, Plan, Reach, ServicePlan, guard, integrity};

/// The version of this schema. 1.5.0: with `[targets]`, the plan of each target ([`render_targets`]).
pub const FORMAT_VERSION: &str = "1.5.0";

#[derive(Serialize)]
struct Output<'a> {
    format_version: &'static str,
    #[serde(flatten)]
    plan: PlanOut<'a>,
}

/// With `[targets]` (since 1.5.0): a plan per target, in wave order.
#[derive(Serialize)]
struct TargetsOutput<'a> {
    format_version: &'static str,
    summary: TargetsSummary<'a>,
    targets: Vec<TargetOut<'a>>,
}

#[derive(Serialize)]
struct TargetsSummary<'a> {
    /// Some target's plan has changes.
    has_changes: bool,
    /// Summed over the targets.
    create: usize,
    update: usize,
    delete: usize,
    /// The targets that could not be planned.
    failed: Vec<&'a str>,
}

#[derive(Serialize)]
struct TargetOut<'a> {
    name: &'a str,
    /// From 1.
    wave: usize,
    zookeeper: &'a str,
    /// The first target before this one whose plan is the same (what the text plan shows once).
    same_as: Option<&'a str>,
    /// Why it could not be planned; then it has no plan fields.
    error: Option<&'a str>,
    #[serde(flatten)]
    plan: Option<PlanOut<'a>>,
}

/// One target's plan, as [`render_targets`] takes it.
pub struct TargetPlan<'a> {
    pub name: &'a str,
    pub wave: usize,
    pub zookeeper: &'a str,
    pub same_as: Option<&'a str>,
    pub plan: Result<&'a Plan, &'a str>,
}

#[derive(Serialize)]
struct PlanOut<'a> {
    summary: Summary<'a>,
    /// `/services` itself is created first.
    create_root: bool,
    services: Vec<ServiceOut<'a>>,
    /// Services in ZooKeeper that the repository does not have, left untouched.
    unmanaged_services: &'a [String],
    /// Of those, the ones jones-sync manages, which `--prune` would delete (since 1.2.0).
    prunable_services: &'a [String],
}

#[derive(Serialize)]
struct Summary<'a> {
    has_changes: bool,
    create: usize,
    update: usize,
    delete: usize,
    hosts_affected: usize,
    hosts_moving: usize,
    unassociated_hosts: Vec<String>,
    drift: usize,
    view_integrity: usize,
    /// ACLs to set (since 1.1.0).
    acls: usize,
    /// Services the mass-deletion guard flags (since 1.2.0).
    mass_delete: Vec<&'a str>,
}

#[derive(Serialize)]
struct ServiceOut<'a> {
    name: &'a str,
    managed: bool,
    last_apply_zxid: Option<i64>,
    /// Why the service will not be applied in one transaction; `null` when it will.
    not_atomic: Option<&'a str>,
    /// Deleted whole: not in the repository, pruned (since 1.2.0).
    prune: bool,
    /// What goes, when the mass-deletion guard flags the service (since 1.2.0).
    mass_delete: Option<&'a MassDelete>,
    changes: Vec<ChangeOut<'a>>,
    blast_radius: BlastOut<'a>,
    view_integrity: Vec<FindingOut<'a>>,
    /// ACL drift on existing nodes (`[zookeeper] acl`; since 1.1.0).
    acl_changes: Vec<AclOut<'a>>,
    /// The live record's break-glass edits (`jones-sync set`), each with `undone`: whether this
    /// plan undoes it (since 1.4.0).
    break_glass: &'a [crate::plan::break_glass::Kept],
}

#[derive(Serialize)]
struct AclOut<'a> {
    path: &'a str,
    before: Vec<String>,
    after: Vec<String>,
}

#[derive(Serialize)]
struct ChangeOut<'a> {
    action: &'static str,
    path: &'a str,
    kind: &'static str,
    before: Value,
    after: Value,
    drift: bool,
}

#[derive(Serialize)]
struct BlastOut<'a> {
    unassociated_hosts: bool,
    hosts_affected: Vec<&'a str>,
    environments: Vec<EnvironmentOut<'a>>,
    moves: Vec<MoveOut<'a>>,
}

#[derive(Serialize)]
struct EnvironmentOut<'a> {
    environment: &'a str,
    view: &'a str,
    action: &'a str,
    hosts: &'a [String],
}

#[derive(Serialize)]
struct MoveOut<'a> {
    hosts: &'a [String],
    from: Option<String>,
    to: Option<String>,
    from_view: Option<&'a str>,
    to_view: Option<&'a str>,
    changes: Vec<KeyChange>,
}

#[derive(Serialize)]
struct FindingOut<'a> {
    path: &'a str,
    problem: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    changes: Option<Vec<KeyChange>>,
}

pub fn render(plan: &Plan, redactor: &Redactor) -> String {
    let output = Output { format_version: FORMAT_VERSION, plan: plan_out(plan, redactor) };
    let mut text = serde_json::to_string_pretty(&output).expect("plans always serialize");
    text.push('\n');
    text
}

/// The plans of several targets (`[targets]`), in wave order.
pub fn render_targets(targets: &[TargetPlan], redactor: &Redactor) -> String {
    let mut total = crate::plan::Counts::default();
    for plan in targets.iter().filter_map(|t| t.plan.ok()) {
        total.add(&plan.counts());
    }
    let output = TargetsOutput {
        format_version: FORMAT_VERSION,
        summary: TargetsSummary {
            has_changes: targets.iter().any(|t| t.plan.is_ok_and(|p| !p.is_empty())),
            create: total.create,
            update: total.update,
            delete: total.delete,
            failed: targets.iter().filter(|t| t.plan.is_err()).map(|t| t.name).collect(),
        },
        targets: targets
            .iter()
            .map(|t| TargetOut {
                name: t.name,
                wave: t.wave + 1,
                zookeeper: t.zookeeper,
                same_as: t.same_as,
                error: t.plan.err(),
                plan: t.plan.ok().map(|plan| plan_out(plan, redactor)),
            })
            .collect(),
    };
    let mut text = serde_json::to_string_pretty(&output).expect("plans always serialize");
    text.push('\n');
    text
}

fn plan_out<'a>(plan: &'a Plan, redactor: &Redactor) -> PlanOut<'a> {
    let counts = plan.counts();
    let reach = Reach::of(plan);
    PlanOut {
        summary: Summary {
            has_changes: !plan.is_empty(),
            create: counts.create,
            update: counts.update,
            delete: counts.delete,
            hosts_affected: reach.hosts,
            hosts_moving: reach.moving,
            unassociated_hosts: reach.unassociated,
            drift: reach.drift,
            view_integrity: reach.findings,
            acls: plan.acl_count(),
            mass_delete: guard::flagged(plan).into_iter().map(|(name, _)| name).collect(),
        },
        create_root: plan.create_root,
        services: plan.services.iter().map(|s| service(s, redactor)).collect(),
        unmanaged_services: &plan.unmanaged,
        prunable_services: &plan.prunable,
    }
}

fn service<'a>(service: &'a ServicePlan, r: &Redactor) -> ServiceOut<'a> {
    let blast = &service.blast_radius;
    let env = |view: Option<&str>| view.map(|v| environment_of(&service.name, v).unwrap_or_else(|| v.to_string()));
    ServiceOut {
        name: &service.name,
        managed: service.managed,
        last_apply_zxid: service.last_apply_zxid,
        not_atomic: service.not_atomic.as_deref(),
        prune: service.prune,
        mass_delete: service.mass_delete.as_ref(),
        break_glass: &service.break_glass,
        changes: service.changes.iter().map(|c| change(c, r)).collect(),
        blast_radius: BlastOut {
            unassociated_hosts: blast.unassociated_hosts,
            hosts_affected: blast.hosts().into_iter().collect(),
            environments: blast
                .environments
                .iter()
                .map(|e| EnvironmentOut {
                    environment: &e.environment,
                    view: &e.view,
                    action: &e.action,
                    hosts: &e.hosts,
                })
                .collect(),
            moves: blast
                .moves
                .iter()
                .map(|m| MoveOut {
                    hosts: &m.hosts,
                    from: env(m.from.as_deref()),
                    to: env(m.to.as_deref()),
                    from_view: m.from.as_deref(),
                    to_view: m.to.as_deref(),
                    changes: key_changes(&m.changes.get(), r),
                })
                .collect(),
        },
        view_integrity: service
            .view_integrity
            .iter()
            .map(|f| {
                let (problem, changes) = match &f.problem {
                    integrity::Problem::Differs { changes } => ("differs", Some(key_changes(changes, r))),
                    integrity::Problem::Missing => ("missing", None),
                    integrity::Problem::Orphan => ("orphan", None),
                    integrity::Problem::UnreadableConf => ("unreadable_conf", None),
                };
                FindingOut { path: &f.path, problem, changes }
            })
            .collect(),
        acl_changes: service
            .acls
            .iter()
            .map(|a| AclOut {
                path: &a.path,
                before: a.before.iter().map(ToString::to_string).collect(),
                after: a.after.iter().map(ToString::to_string).collect(),
            })
            .collect(),
    }
}

fn change<'a>(change: &'a Change, r: &Redactor) -> ChangeOut<'a> {
    let (before, after) = change.action.data();
    let value = |data: Option<&[u8]>| match data {
        None => Value::Null,
        Some(_) if matches!(change.kind, NodeKind::Service | NodeKind::Root) => Value::Null,
        // An empty nodemap means no associations (JONES.md).
        Some(data) if change.kind == NodeKind::Nodemap && data.iter().all(u8::is_ascii_whitespace) => {
            Value::Object(Default::default())
        }
        Some(data) => r.data(data).unwrap_or_else(|| Value::String(r.text(&String::from_utf8_lossy(data)))),
    };
    ChangeOut {
        action: change.action.name(),
        path: &change.path,
        kind: change.kind.as_str(),
        before: value(before),
        after: value(after),
        drift: change.drift,
    }
}

/// Key changes with their values redacted.
fn key_changes(changes: &[KeyChange], r: &Redactor) -> Vec<KeyChange> {
    changes
        .iter()
        .map(|c| match c {
            KeyChange::Added { key, value } => KeyChange::Added { key: key.clone(), value: r.value_of(key, value) },
            KeyChange::Removed { key, value } => KeyChange::Removed { key: key.clone(), value: r.value_of(key, value) },
            KeyChange::Changed { key, before, after } => {
                KeyChange::Changed { key: key.clone(), before: r.value_of(key, before), after: r.value_of(key, after) }
            }
            KeyChange::Whole { before, after } => KeyChange::Whole {
                before: before.as_deref().map(|t| r.text(t)),
                after: after.as_deref().map(|t| r.text(t)),
            },
            KeyChange::Unreadable { key, text, why, after } => KeyChange::Unreadable {
                key: key.clone(),
                text: super::rows::unreadable_text(key, text, r),
                why: why.clone(),
                after: after.as_ref().map(|after| r.value_of(key, after)),
            },
            KeyChange::Format { .. } => c.clone(),
        })
        .collect()
}
