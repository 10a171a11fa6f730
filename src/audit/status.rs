//! Where each service stands: the commit its live record says was applied, when and by whom,
//! whether ZooKeeper matches the repository at HEAD, and whether it is pinned or rolled back;
//! and the notes a plan adds about pins and rollbacks it would undo.

use std::fmt::Write;

use serde_json::{Value, json};

use crate::audit::history::table;
use crate::audit::record::Record;
use crate::desired::DesiredState;
use crate::layout::NodeKind;
use crate::plan::{Action, Plan};
use crate::repo::git::short;
use crate::sync::Planned;

/// One service of the repository.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub service: String,
    /// The service node exists in ZooKeeper.
    pub exists: bool,
    /// Its live record, when it has a readable one.
    pub record: Option<Record>,
    /// Changes for ZooKeeper to match the repository, as the plan counts them (its nodes and its
    /// record, [`crate::plan::ServicePlan::counts`]).
    pub changes: usize,
    /// ACLs to set ([`crate::plan::ServicePlan::acls`]).
    pub acls: usize,
    /// `[services.<name>] pin` and the commit it resolves to.
    pub pin: Option<(String, String)>,
    /// Break-glass edits (`jones-sync set`) the repository does not hold yet: an apply would undo
    /// them ([`crate::plan::break_glass`]).
    pub break_glass: Vec<crate::audit::record::BreakGlass>,
}

/// A row per service of `state`, from the plan made of it and what its reads showed.
pub fn rows(state: &DesiredState, planned: &Planned) -> Vec<Row> {
    planned
        .plan
        .services
        .iter()
        .map(|service| {
            let standing = planned.standing.get(&service.name).cloned().unwrap_or_default();
            let origin = state.origin(&service.name);
            let pin = origin.pin.clone().zip(origin.commit.as_ref().map(|c| c.sha.clone()));
            Row {
                service: service.name.clone(),
                exists: standing.exists,
                record: standing.record(),
                changes: service.counts().total(),
                acls: service.acls.len(),
                pin,
                break_glass: service.break_glass.iter().filter(|k| k.undone).map(|k| k.edit.clone()).collect(),
            }
        })
        .collect()
}

/// Rows as a table for people; `head` names what the repository side is (`HEAD`, or `the work
/// tree` outside git).
pub fn render_text(rows: &[Row], head: &str) -> String {
    let cells: Vec<[String; 6]> = rows
        .iter()
        .map(|row| {
            let dash = || "-".to_string();
            let (commit, at, actor) = match &row.record {
                Some(r) => {
                    let mut commit = r.sha.as_deref().map_or("(no git)".to_string(), |s| short(s).to_string());
                    if r.rollback {
                        commit.push_str(" (rollback)");
                    } else if r.dirty {
                        commit.push_str(" (dirty)");
                    }
                    (commit, r.applied_at.clone(), r.actor.clone())
                }
                None => (dash(), dash(), dash()),
            };
            let live = if !row.exists {
                "not in ZooKeeper".to_string()
            } else if row.changes == 0 && row.acls == 0 {
                format!("matches {head}")
            } else {
                let plural = |n: usize| if n == 1 { "" } else { "s" };
                let changes =
                    (row.changes > 0).then(|| format!("{} change{} to apply", row.changes, plural(row.changes)));
                let acls = (row.acls > 0).then(|| format!("{} ACL{} to set", row.acls, plural(row.acls)));
                let kept = (!row.break_glass.is_empty()).then(|| "break-glass edit".to_string());
                kept.into_iter().chain(changes).chain(acls).collect::<Vec<_>>().join(", ")
            };
            let pin = row.pin.as_ref().map_or_else(dash, |(rev, sha)| {
                if sha.starts_with(rev.as_str()) { short(sha).to_string() } else { format!("{rev} ({})", short(sha)) }
            });
            [row.service.clone(), commit, at, actor, live, pin]
        })
        .collect();
    let mut text = table(["SERVICE", "APPLIED", "AT", "BY", "LIVE", "PIN"], &cells);
    let edits: Vec<String> = rows
        .iter()
        .flat_map(|row| row.break_glass.iter().map(|e| format!("  {} {}", row.service, e.describe())))
        .collect();
    if !edits.is_empty() {
        let _ = write!(
            text,
            "\nBreak-glass edits the repository does not hold (apply refuses to undo them):\n{}\n",
            edits.join("\n")
        );
    }
    text
}

/// Rows as a JSON array.
pub fn render_json(rows: &[Row]) -> String {
    let mut text = serde_json::to_string_pretty(&rows_json(rows)).expect("JSON values always serialize");
    text.push('\n');
    text
}

/// Where each service stands in each target (`[targets]`): a target, its wave (from 0), and its
/// rows or why it could not be read.
pub struct TargetRows<'a> {
    pub name: &'a str,
    pub wave: usize,
    pub rows: Result<Vec<Row>, String>,
}

/// A matrix of services × targets for people: in each cell the commit applied and whether the
/// service matches `head`.
pub fn render_matrix(targets: &[TargetRows], head: &str) -> String {
    let mut services: Vec<&str> =
        targets.iter().filter_map(|t| t.rows.as_ref().ok()).flatten().map(|r| r.service.as_str()).collect();
    services.sort_unstable();
    services.dedup();
    let mut header = vec!["SERVICE".to_string()];
    header.extend(targets.iter().map(|t| t.name.to_uppercase()));
    let mut lines = vec![header];
    for service in &services {
        let mut line = vec![service.to_string()];
        for target in targets {
            let row = target.rows.as_ref().ok().and_then(|rows| rows.iter().find(|r| r.service == *service));
            line.push(match (&target.rows, row) {
                (Err(_), _) => "?".into(),
                (Ok(_), None) => "-".into(),
                (Ok(_), Some(row)) => cell(row),
            });
        }
        lines.push(line);
    }
    let widths: Vec<usize> =
        (0..lines[0].len()).map(|i| lines.iter().map(|l| l[i].chars().count()).max().unwrap_or(0)).collect();
    let mut text = String::new();
    for line in &lines {
        let cells: Vec<String> = line.iter().zip(&widths).map(|(c, w)| format!("{c:w$}")).collect();
        let _ = writeln!(text, "{}", cells.join("  ").trim_end());
    }
    let _ = writeln!(
        text,
        "\nEach cell: the commit applied, then `=` when the service matches {head}, or the changes an apply would make. \
         `-`: the service does not go to that target; `?`: the target could not be read."
    );
    for target in targets {
        if let Err(err) = &target.rows {
            let _ = writeln!(text, "{}: {err}", target.name);
        }
    }
    text
}

/// One cell of the matrix: `1a2b3c4d5e6f =`, `1a2b3c4d5e6f 3 to apply`, `not applied`.
fn cell(row: &Row) -> String {
    let commit = match &row.record {
        Some(record) => record.sha.as_deref().map_or("(no git)".to_string(), |s| short(s).to_string()),
        None if row.exists => "unmanaged".to_string(),
        None => "not applied".to_string(),
    };
    let to_apply = row.changes + row.acls;
    let mut cell =
        if to_apply == 0 && row.exists { format!("{commit} =") } else { format!("{commit} {to_apply} to apply") };
    if !row.break_glass.is_empty() {
        cell.push_str(" +break-glass");
    }
    cell
}

/// The matrix as JSON: a target per item, with its rows as [`render_json`] gives them.
pub fn render_matrix_json(targets: &[TargetRows]) -> String {
    let items: Vec<Value> = targets
        .iter()
        .map(|t| {
            json!({
                "target": t.name,
                "wave": t.wave + 1,
                "error": t.rows.as_ref().err(),
                "services": t.rows.as_ref().ok().map(|rows| rows_json(rows)),
            })
        })
        .collect();
    let mut text = serde_json::to_string_pretty(&json!({ "targets": items })).expect("JSON values always serialize");
    text.push('\n');
    text
}

fn rows_json(rows: &[Row]) -> Vec<Value> {
    rows.iter()
        .map(|row| {
            let r = row.record.as_ref();
            json!({
                "service": row.service,
                "exists": row.exists,
                "managed": r.is_some(),
                "sha": r.and_then(|r| r.sha.clone()),
                "applied_at": r.map(|r| r.applied_at.clone()),
                "actor": r.map(|r| r.actor.clone()),
                "rollback": r.is_some_and(|r| r.rollback),
                "dirty": r.is_some_and(|r| r.dirty),
                "matches_head": row.exists && row.changes == 0 && row.acls == 0,
                "changes": row.changes,
                "acls": row.acls,
                "pinned": row.pin.is_some(),
                "pin": row.pin.as_ref().map(|(rev, _)| rev.clone()),
                "pin_sha": row.pin.as_ref().map(|(_, sha)| sha.clone()),
                "break_glass": row.break_glass,
            })
        })
        .collect()
}

/// What a plan should say besides its changes: the services it reads at a pin, and the rollbacks
/// it would undo. Empty when there is nothing to say.
pub fn notes(state: &DesiredState, plan: &Plan) -> String {
    let mut out = String::new();
    for (name, origin) in &state.origins {
        if let (Some(pin), Some(commit)) = (&origin.pin, &origin.commit) {
            let _ = writeln!(
                out,
                "Note: `{name}` is pinned to `{pin}` ({}) in jones-sync.toml: its configuration comes from that commit.",
                short(&commit.sha)
            );
        }
    }
    for service in &plan.services {
        let live_record = service.changes.iter().find_map(|change| match (&change.kind, &change.action) {
            (NodeKind::Record, Action::Update { before, .. }) => Record::parse(before),
            _ => None,
        });
        if let Some(record) = live_record.filter(|r| r.rollback) {
            let _ = writeln!(
                out,
                "Warning: `{}` was rolled back to {} by {} at {}, and this plan undoes that rollback.\n  \
                 To keep the rollback, make git agree: revert the change, or pin the service (`jones-sync history {}`).",
                service.name,
                record.sha.as_deref().map_or("(no commit)", short),
                record.actor,
                record.applied_at,
                service.name
            );
        }
    }
    if out.is_empty() { out } else { format!("\n{out}") }
}
