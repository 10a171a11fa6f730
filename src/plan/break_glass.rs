//! Break-glass edits (`jones-sync set`) in a plan: each edit the live record lists, and whether
//! the plan would undo it. An apply refuses a plan that undoes one unless told
//! (`--revert-break-glass`), naming the edit and the two ways out; a plan that keeps them all
//! writes a record without them (the repository caught up).
//!
//! An edit is undone when the plan changes its environment's conf at one of the keys it set or
//! deleted, or deletes that conf. Like the mass-deletion guard ([`super::guard`]), it is worked
//! out from the changes and the live record they were planned against, so it is part of the plan
//! value, and worked out again from live state for a saved plan.

use std::fmt::Write;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::{Action, Change, Plan};
use crate::audit::record::{BreakGlass, Record};
use crate::layout;
use crate::live::LiveService;
use crate::model::EnvPath;

/// A break-glass edit of the live record, and whether the plan undoes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Kept {
    #[serde(flatten)]
    pub edit: BreakGlass,
    pub undone: bool,
}

/// The break-glass edits of service `name` (its live record's), each assessed against `changes`.
pub fn assess(name: &str, live: &LiveService, changes: &[Change]) -> Vec<Kept> {
    let Some(record) = live.nodes.get(&layout::record(name)).and_then(|node| Record::parse(&node.data)) else {
        return Vec::new();
    };
    record
        .break_glass
        .into_iter()
        .map(|edit| {
            let path = layout::conf(name, &EnvPath::parse(&edit.env));
            let undone = changes.iter().find(|c| c.path == path).is_some_and(|change| undoes(&edit, change));
            Kept { edit, undone }
        })
        .collect()
}

fn undoes(edit: &BreakGlass, change: &Change) -> bool {
    let object = |bytes: &[u8]| match serde_json::from_slice(bytes) {
        Ok(Value::Object(map)) => Some(map),
        _ => None,
    };
    let (before, after) = match &change.action {
        Action::Update { before, after, .. } => (object(before), object(after)),
        Action::Delete { .. } | Action::Create { .. } => return true,
    };
    let (Some(before), Some(after)) = (before, after) else { return true };
    let at = |values: &Map<String, Value>, key: &str| {
        crate::edit::parse_key(key).ok().and_then(|key| crate::edit::get(values, &key).cloned())
    };
    edit.keys().any(|key| at(&before, key) != at(&after, key))
}

/// Why an apply refuses a plan: the break-glass edits it would undo, by service.
#[derive(Debug, thiserror::Error)]
#[error("{}", refusal(.services))]
pub struct Refused {
    pub services: Vec<(String, Vec<BreakGlass>)>,
}

fn refusal(services: &[(String, Vec<BreakGlass>)]) -> String {
    let mut message = String::from(
        "refusing to undo break-glass edits (made with `jones-sync set`) without --revert-break-glass; nothing was \
         written. This apply would undo:",
    );
    for (name, edits) in services {
        for edit in edits {
            let _ = write!(message, "\n  {name} {}", edit.describe());
        }
    }
    message.push_str(
        "\nEither bring the edits into the repository (`jones-sync pull` writes them into its files; commit, merge, \
         then apply), or undo them on purpose: jones-sync apply --revert-break-glass",
    );
    message
}

/// Refuses a plan that undoes a break-glass edit, unless `revert`.
pub fn check(plan: &Plan, revert: bool) -> Result<(), Refused> {
    if revert {
        return Ok(());
    }
    let refused = undone(plan);
    if refused.services.is_empty() { Ok(()) } else { Err(refused) }
}

/// Takes out of `plan` the services whose plan undoes a break-glass edit (for a caller that
/// applies the others: `jones-sync serve`); what it took out, if anything.
pub fn hold_back(plan: &mut Plan) -> Option<Refused> {
    let refused = undone(plan);
    plan.services.retain(|service| !refused.services.iter().any(|(name, _)| *name == service.name));
    (!refused.services.is_empty()).then_some(refused)
}

/// The services of `plan` that undo break-glass edits, with those edits.
fn undone(plan: &Plan) -> Refused {
    let services: Vec<(String, Vec<BreakGlass>)> = plan
        .services
        .iter()
        .filter(|service| !service.is_empty())
        .map(|service| {
            let undone = service.break_glass.iter().filter(|kept| kept.undone).map(|kept| kept.edit.clone());
            (service.name.clone(), undone.collect::<Vec<_>>())
        })
        .filter(|(_, edits)| !edits.is_empty())
        .collect();
    Refused { services }
}
