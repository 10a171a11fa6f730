//! The diff on plain data: desired trees against hand-made snapshots.

use serde_json::json;

use super::*;
use crate::live::LiveNode;
use crate::model::{EnvPath, Environment, Service};
use crate::view;

fn service(name: &str, envs: &[(&str, serde_json::Value, &[&str])]) -> DesiredService {
    let envs = envs
        .iter()
        .map(|(path, values, hosts)| {
            let path = EnvPath(path.split('/').filter(|s| !s.is_empty()).map(String::from).collect());
            let env = Environment {
                dir: String::new(),
                values: values.as_object().unwrap().clone(),
                hosts: hosts.iter().map(|h| h.to_string()).collect(),
            };
            (path, env)
        })
        .collect();
    view::desired(&Service { name: name.into(), envs })
}

/// A snapshot holding exactly what `desired` describes (as if applied), plus a record.
fn applied(desired: &DesiredService) -> Snapshot {
    let mut live = LiveService::default();
    for (path, node) in &desired.nodes {
        live.nodes.insert(path.clone(), LiveNode { data: node.bytes.clone(), version: 3, mzxid: 10 });
    }
    live.nodes.insert(paths::record(&desired.name), LiveNode { data: b"{}".to_vec(), version: 1, mzxid: 10 });
    Snapshot {
        root_exists: true,
        all_services: vec![desired.name.clone()],
        services: [(desired.name.clone(), live)].into(),
    }
}

fn summary(plan: &Plan) -> Vec<String> {
    plan.services.iter().flat_map(|s| s.changes.iter()).map(|c| format!("{} {}", c.action.name(), c.path)).collect()
}

#[test]
fn empty_zookeeper_gets_everything_created_parents_first() {
    let desired = service("shop", &[("", json!({"a": 1}), &[]), ("prod", json!({}), &["web1"])]);
    let plan = diff(&[desired], &Snapshot::default(), &json!({"sha": null}));
    assert!(plan.create_root);
    assert_eq!(
        summary(&plan),
        [
            "create /services/shop",
            "create /services/shop/conf",
            "create /services/shop/conf/prod",
            "create /services/shop/jones-sync",
            "create /services/shop/nodemaps",
            "create /services/shop/views",
            "create /services/shop/views/prod",
        ]
    );
    assert_eq!(plan.counts(), Counts { create: 8, update: 0, delete: 0 });
    assert!(!plan.services[0].managed);
}

#[test]
fn applied_state_has_no_changes() {
    let desired = service("shop", &[("", json!({"a": 1}), &[]), ("prod", json!({"b": [1, 2]}), &["web1"])]);
    let plan = diff(std::slice::from_ref(&desired), &applied(&desired), &json!({}));
    assert!(plan.is_empty(), "{plan:#?}");
    assert!(plan.services[0].managed);
}

#[test]
fn compares_parsed_json_not_bytes() {
    let desired = service("shop", &[("", json!({"a": 1, "b": "x"}), &[])]);
    let mut live = applied(&desired);
    let nodes = &mut live.services.get_mut("shop").unwrap().nodes;
    nodes.get_mut("/services/shop/conf").unwrap().data = b"{ \"b\": \"x\",\n  \"a\": 1 }".to_vec();
    // An empty nodemap node means no associations.
    nodes.get_mut("/services/shop/nodemaps").unwrap().data = Vec::new();
    assert!(diff(&[desired], &live, &json!({})).is_empty());
}

#[test]
fn a_parent_change_updates_every_descendant_view_and_the_record() {
    let before = service("s", &[("", json!({"t": 1}), &[]), ("a", json!({}), &[]), ("a/b", json!({"x": 1}), &[])]);
    let after = service("s", &[("", json!({"t": 2}), &[]), ("a", json!({}), &[]), ("a/b", json!({"x": 1}), &[])]);
    let plan = diff(&[after], &applied(&before), &json!({}));
    assert_eq!(
        summary(&plan),
        [
            "update /services/s/conf",
            "update /services/s/jones-sync",
            "update /services/s/views",
            "update /services/s/views/a",
            "update /services/s/views/a/b",
        ]
    );
    let Action::Update { version, .. } = &plan.services[0].changes[0].action else { panic!() };
    assert_eq!(*version, 3, "updates are guarded by the version read");
}

#[test]
fn removed_environments_are_deleted_whole_subtree() {
    let before =
        service("s", &[("", json!({}), &[]), ("a", json!({}), &[]), ("a/b", json!({}), &[]), ("ab", json!({}), &[])]);
    let after = service("s", &[("", json!({}), &[]), ("ab", json!({}), &[])]);
    let plan = diff(&[after], &applied(&before), &json!({}));
    assert_eq!(
        summary(&plan),
        [
            "delete /services/s/conf/a",
            "delete /services/s/conf/a/b",
            "update /services/s/jones-sync",
            "delete /services/s/views/a",
            "delete /services/s/views/a/b",
        ]
    );
}

#[test]
fn moving_a_host_guards_the_views_it_relies_on() {
    let before = service("s", &[("", json!({}), &[]), ("a", json!({}), &["h1"]), ("b", json!({}), &["h2"])]);
    let after = service("s", &[("", json!({}), &[]), ("a", json!({}), &[]), ("b", json!({}), &["h1", "h2"])]);
    let plan = diff(&[after], &applied(&before), &json!({}));
    assert_eq!(summary(&plan), ["update /services/s/jones-sync", "update /services/s/nodemaps"]);
    assert_eq!(plan.services[0].guards, [("/services/s/views/b".to_string(), 3)]);
}

#[test]
fn services_not_in_the_repo_are_listed_not_touched() {
    let desired = service("s", &[("", json!({}), &[])]);
    let mut live = applied(&desired);
    live.all_services = vec!["legacy".into(), "s".into()];
    let plan = diff(&[desired], &live, &json!({}));
    assert_eq!(plan.unmanaged, ["legacy"]);
    assert!(plan.is_empty());
}

#[test]
fn key_changes_show_added_removed_and_changed_keys() {
    let before = br#"{"a":1,"b":{"x":1},"c":true}"#;
    let after = br#"{"a":2,"b":{"x":1},"d":"new"}"#;
    assert_eq!(
        key_changes(NodeKind::Conf, Some(before), Some(after)),
        [
            KeyChange::Changed { key: "a".into(), before: json!(1), after: json!(2) },
            KeyChange::Removed { key: "c".into(), value: json!(true) },
            KeyChange::Added { key: "d".into(), value: json!("new") },
        ]
    );
    assert_eq!(
        key_changes(NodeKind::Conf, Some(b"not json"), Some(b"{}")),
        [KeyChange::Whole { before: Some("not json".into()), after: Some("{}".into()) }]
    );
}

/// Regression: serde_json's default float parser is not exact, so a float written by jones-sync
/// read back as a different number and every plan showed a spurious update (found by proptest).
#[test]
fn floats_read_back_exactly_so_plans_stay_empty() {
    let desired = service("s", &[("", json!({"a": -916287893045.5581, "b": 0.1, "c": 1e-300}), &[])]);
    assert!(diff(std::slice::from_ref(&desired), &applied(&desired), &json!({})).is_empty());
}
