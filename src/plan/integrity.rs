//! View integrity: live views that do not equal the materialization of the live conf nodes.
//!
//! Jones' web UI writes a conf node and then rewrites the views below it one by one, last write
//! wins, so two people editing at once (or a crash halfway) can leave a view that no longer
//! follows from the conf. Clients read views, so such a host reads values nobody configured. This
//! check recomputes every view from the live conf with Jones' own algorithm ([`crate::view`]) and
//! reports each difference; it reads the snapshot only, so it costs no extra round trip.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::{KeyChange, key_changes};
use crate::layout::{self, NodeKind};
use crate::live::LiveService;
use crate::model::{EnvPath, Environment, Service};

/// One view that does not follow from the live conf.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// The absolute path of the view (or, for `unreadable_conf`, of the conf node).
    pub path: String,
    #[serde(flatten)]
    pub problem: Problem,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "problem", rename_all = "snake_case")]
pub enum Problem {
    /// The view exists but holds other values: `changes` turn the live view into the
    /// materialization of the live conf.
    Differs { changes: Vec<KeyChange> },
    /// The environment has a conf node but no view.
    Missing,
    /// A view without a conf node for its environment.
    Orphan,
    /// A conf node that is not a JSON object, so the views at and below it cannot be checked.
    UnreadableConf,
}

/// Findings for the live nodes of service `name`, by path.
pub(super) fn check(name: &str, live: &LiveService) -> Vec<Finding> {
    let conf_base = layout::conf(name, &EnvPath::root());
    let mut findings = Vec::new();
    // Live conf nodes as environments; an unreadable one hides its whole subtree.
    let mut envs = BTreeMap::new();
    let mut unreadable: Vec<EnvPath> = Vec::new();
    for (path, node) in live.nodes.range(conf_base.clone()..) {
        let Some(env) = layout::conf_env(name, path) else { continue };
        if unreadable.iter().any(|bad| env.0.starts_with(&bad.0)) {
            continue;
        }
        match node.json() {
            Some(Value::Object(values)) => {
                envs.insert(env, Environment { values, ..Environment::default() });
            }
            _ => {
                findings.push(Finding { path: path.clone(), problem: Problem::UnreadableConf });
                unreadable.push(env);
            }
        }
    }
    let service = Service { name: name.to_string(), envs };
    let materialized =
        if service.envs.contains_key(&EnvPath::root()) { crate::view::views(&service) } else { BTreeMap::new() };
    for (env, view) in &materialized {
        let path = layout::view(name, env);
        let expected = serde_json::to_vec(view).expect("JSON values always serialize");
        match live.nodes.get(&path) {
            None => findings.push(Finding { path, problem: Problem::Missing }),
            // Equal bytes are equal values (what jones-sync writes is canonical): parse only the rest.
            Some(node) if node.data != expected && node.json() != Some(Value::Object(view.clone())) => {
                let changes = key_changes(NodeKind::View, Some(&node.data), Some(&expected));
                findings.push(Finding { path, problem: Problem::Differs { changes } });
            }
            Some(_) => {}
        }
    }
    for (path, env) in live.nodes.keys().filter_map(|path| Some((path, layout::view_env(name, path)?))) {
        let hidden = unreadable.iter().any(|bad| env.0.starts_with(&bad.0));
        if !hidden && !materialized.contains_key(&env) {
            findings.push(Finding { path: path.clone(), problem: Problem::Orphan });
        }
    }
    findings.sort_by(|a, b| a.path.cmp(&b.path));
    findings
}
