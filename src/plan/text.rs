//! The plan as text for people: per service, each node to create (`+`), update (`~`) or delete
//! (`-`), with the keys that change, then a count line.

use std::fmt::Write;

use serde_json::Value;

use super::{Action, Change, KeyChange, Plan, key_changes};
use crate::view::NodeKind;

pub fn render(plan: &Plan) -> String {
    let mut out = String::new();
    if plan.create_root {
        out.push_str("+ /services (the parent of every service)\n\n");
    }
    for service in &plan.services {
        if service.is_empty() {
            let _ = writeln!(out, "{}: no changes\n", service.name);
            continue;
        }
        let c = service.counts();
        let adopt = if service.managed { "" } else { ", not managed by jones-sync yet" };
        let _ = writeln!(
            out,
            "{}: {} to create, {} to update, {} to delete{adopt}",
            service.name, c.create, c.update, c.delete
        );
        for change in &service.changes {
            render_change(&mut out, change);
        }
        out.push('\n');
    }
    if !plan.unmanaged.is_empty() {
        let _ = writeln!(out, "Not in the repository (left untouched): {}\n", plan.unmanaged.join(", "));
    }
    let c = plan.counts();
    if plan.is_empty() {
        out.push_str("No changes. ZooKeeper matches the repository.\n");
    } else {
        let _ = writeln!(out, "Plan: {} to create, {} to update, {} to delete.", c.create, c.update, c.delete);
    }
    out
}

fn render_change(out: &mut String, change: &Change) {
    let (sign, before, after) = match &change.action {
        Action::Create { after } => ('+', None, Some(after.as_slice())),
        Action::Update { before, after, .. } => ('~', Some(before.as_slice()), Some(after.as_slice())),
        Action::Delete { before, .. } => ('-', Some(before.as_slice()), None),
    };
    let note = match change.kind {
        NodeKind::View => " (view, derived)",
        NodeKind::Conf => " (conf)",
        NodeKind::Nodemap => " (nodemap)",
        NodeKind::Record => " (record of this apply)",
        NodeKind::Service => " (service)",
        NodeKind::Root => "",
    };
    let _ = writeln!(out, "  {sign} {}{note}", change.path);
    if matches!(change.kind, NodeKind::Record | NodeKind::Service | NodeKind::Root) {
        return;
    }
    let changes = key_changes(change.kind, before, after);
    if changes.is_empty() && after.is_some() {
        let _ = writeln!(out, "      (empty)");
    }
    for key_change in changes {
        let _ = match key_change {
            KeyChange::Added { key, value } => writeln!(out, "      + {key} = {}", show(&value)),
            KeyChange::Removed { key, value } => writeln!(out, "      - {key} = {}", show(&value)),
            KeyChange::Changed { key, before, after } => {
                writeln!(out, "      ~ {key}: {} → {}", show(&before), show(&after))
            }
            KeyChange::Whole { before, after } => {
                let text = |t: Option<String>| t.unwrap_or_else(|| "(none)".into());
                writeln!(out, "      ~ whole value (not a JSON object): {} → {}", text(before), text(after))
            }
        };
    }
}

fn show(value: &Value) -> String {
    value.to_string()
}
