//! The diff on plain data: desired trees against hand-made snapshots.

use serde_json::json;

use super::render::{json, markdown, text};
use super::*;
use crate::layout::{self, NodeKind};
use crate::live::{LiveNode, LiveService, Snapshot};
use crate::model::{EnvPath, Environment, Service};
use crate::view::{self, DesiredService};

pub(crate) fn service(name: &str, envs: &[(&str, serde_json::Value, &[&str])]) -> DesiredService {
    view::desired(&model(name, envs))
}

/// [`service`] with its nodemap in the legacy format.
fn legacy_service(name: &str, envs: &[(&str, serde_json::Value, &[&str])]) -> DesiredService {
    let mut settings = crate::repo::settings::Settings::default();
    settings.sync.nodemap_format = crate::nodemap::Format::Legacy;
    view::checked(&model(name, envs), &settings, &mut Vec::new()).materialize()
}

fn model(name: &str, envs: &[(&str, serde_json::Value, &[&str])]) -> Service {
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
    Service { name: name.into(), envs }
}

/// A snapshot holding exactly what `desired` describes (as if applied), plus a record.
pub(crate) fn applied(desired: &DesiredService) -> Snapshot {
    let mut live = LiveService::default();
    for (path, node) in &desired.nodes {
        live.nodes.insert(path.clone(), LiveNode { data: node.bytes.clone(), version: 3, mzxid: 10, czxid: 1 });
    }
    live.nodes.insert(
        layout::record(&desired.name),
        LiveNode { data: b"{}".to_vec().into(), version: 1, mzxid: 10, czxid: 1 },
    );
    Snapshot {
        root_exists: true,
        root_czxid: Some(1),
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
    nodes.get_mut("/services/shop/conf").unwrap().data = b"{ \"b\": \"x\",\n  \"a\": 1 }".to_vec().into();
    // An empty nodemap node means no associations.
    nodes.get_mut("/services/shop/nodemaps").unwrap().data = Vec::new().into();
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

/// Marks `path` as written at `mzxid` with `data`, as another writer would.
fn edit(live: &mut Snapshot, svc: &str, path: &str, data: &str, mzxid: i64) {
    let node = live.services.get_mut(svc).unwrap().nodes.entry(path.to_string()).or_insert(LiveNode {
        data: Vec::new().into(),
        version: 0,
        mzxid,
        czxid: mzxid,
    });
    node.data = data.as_bytes().to_vec().into();
    node.version += 1;
    node.mzxid = mzxid;
}

#[test]
fn drift_is_a_change_to_a_node_written_after_the_last_apply() {
    let before = service("s", &[("", json!({"a": 1}), &[]), ("e", json!({"b": 1}), &[]), ("f", json!({}), &[])]);
    let mut live = applied(&before);
    // The record (and every node of the last apply) is at zxid 10.
    edit(&mut live, "s", "/services/s/conf/e", r#"{"b": "by hand"}"#, 11);
    // Edited by hand, and then back: newer, but nothing to revert.
    edit(&mut live, "s", "/services/s/conf/f", "{}", 12);
    // Added by hand: deleting it reverts that too.
    edit(&mut live, "s", "/services/s/conf/g", "{}", 13);
    let plan = diff(&[before], &live, &json!({}));
    let service = &plan.services[0];
    assert_eq!(service.last_apply_zxid, Some(10));
    let drift: Vec<(&str, &str, bool)> =
        service.changes.iter().map(|c| (c.action.name(), c.path.as_str(), c.drift)).collect();
    assert_eq!(
        drift,
        [
            ("update", "/services/s/conf/e", true),
            ("delete", "/services/s/conf/g", true),
            ("update", "/services/s/jones-sync", false),
        ]
    );
}

#[test]
fn a_nodemap_with_the_same_associations_is_no_change_only_in_a_format_its_clients_read() {
    let json = service("s", &[("", json!({}), &[]), ("a", json!({}), &["web2", "web1"])]);
    let legacy = legacy_service("s", &[("", json!({}), &[]), ("a", json!({}), &["web2", "web1"])]);
    let lines = &b"web1 -> /services/s/views/a\nweb2 -> /services/s/views/a"[..];
    let object = &br#"{"web2": "/services/s/views/a", "web1": "/services/s/views/a"}"#[..];
    let with_nodemap = |desired: &crate::view::DesiredService, data: &[u8]| {
        let mut live = applied(desired);
        live.services.get_mut("s").unwrap().nodes.get_mut("/services/s/nodemaps").unwrap().data = data.to_vec().into();
        diff(std::slice::from_ref(desired), &live, &json!({}))
    };
    // Formatted otherwise, in the format the setting serves: no change.
    assert!(with_nodemap(&json, object).is_empty());
    assert!(with_nodemap(&legacy, b"web2 -> /services/s/views/a\nweb1 -> /services/s/views/a").is_empty());
    // But a trailing newline fails the 0.5.x client (Python's `l.split(' -> ')` of the empty last
    // line gives one part): a change, shown as the text it is.
    let trailing = &b"web1 -> /services/s/views/a\nweb2 -> /services/s/views/a\n"[..];
    let plan = with_nodemap(&legacy, trailing);
    let change = plan.services[0].changes.iter().find(|c| c.kind == NodeKind::Nodemap).expect("a change");
    let Action::Update { before, after, .. } = &change.action else { panic!("{change:?}") };
    assert!(matches!(&key_changes(NodeKind::Nodemap, Some(before), Some(after))[..], [KeyChange::Whole { .. }]));
    // In the other format, the clients the setting serves cannot read it: a change, shown as one.
    for (desired, live, before, after) in [(&json, lines, "legacy", "json"), (&legacy, object, "json", "legacy")] {
        let plan = with_nodemap(desired, live);
        let change = plan.services[0].changes.iter().find(|c| c.kind == NodeKind::Nodemap).expect("a change");
        let Action::Update { before: data_before, after: data_after, .. } = &change.action else {
            panic!("{change:?}")
        };
        assert_eq!(
            key_changes(NodeKind::Nodemap, Some(data_before), Some(data_after)),
            [KeyChange::Format { before: before.into(), after: after.into() }]
        );
        // No host moves: the blast radius reads the live nodemap in either format.
        assert!(plan.services[0].blast_radius.moves.is_empty(), "{:?}", plan.services[0].blast_radius);
    }
    // `{}` is JSON, which 0.5.x clients cannot read; an empty node is no associations for all.
    let nobody = service("s", &[("", json!({}), &[])]);
    let nobody_legacy = legacy_service("s", &[("", json!({}), &[])]);
    assert!(with_nodemap(&nobody, b"").is_empty());
    assert!(!with_nodemap(&nobody_legacy, b"{}").is_empty());
    // A legacy nodemap that differs shows the association that changes, key by key.
    let plan = with_nodemap(&json, b"web1 -> /services/s/views/a");
    let change = plan.services[0].changes.iter().find(|c| c.kind == NodeKind::Nodemap).unwrap();
    let Action::Update { before, after, .. } = &change.action else { panic!("{change:?}") };
    assert_eq!(
        key_changes(NodeKind::Nodemap, Some(before), Some(after)),
        [
            KeyChange::Format { before: "legacy".into(), after: "json".into() },
            KeyChange::Added { key: "web2".into(), value: json!("/services/s/views/a") }
        ]
    );
    assert_eq!(plan.services[0].blast_radius.moves.len(), 1, "only web2 moves");
}

#[test]
fn an_unmanaged_service_has_no_drift() {
    let before = service("s", &[("", json!({"a": 1}), &[])]);
    let mut live = applied(&before);
    live.services.get_mut("s").unwrap().nodes.remove("/services/s/jones-sync");
    edit(&mut live, "s", "/services/s/conf", r#"{"a": 2}"#, 99);
    let plan = diff(&[before], &live, &json!({}));
    assert_eq!(plan.services[0].last_apply_zxid, None);
    assert!(plan.services[0].changes.iter().all(|c| !c.drift));
    assert!(!plan.services[0].changes.is_empty());
}

#[test]
fn blast_radius_names_environments_hosts_moves_and_the_unassociated() {
    let before = service(
        "s",
        &[("", json!({"t": 1}), &[]), ("a", json!({"x": 1}), &["a1", "a2", "mover"]), ("b", json!({}), &["gone"])],
    );
    let after = service(
        "s",
        &[("", json!({"t": 2}), &[]), ("a", json!({"x": 1}), &["a1", "a2"]), ("b", json!({"y": 1}), &["mover", "new"])],
    );
    let plan = diff(&[after], &applied(&before), &json!({}));
    let blast = &plan.services[0].blast_radius;
    assert!(blast.unassociated_hosts, "the root's values change");
    let envs: Vec<(&str, &str, Vec<&str>)> = blast
        .environments
        .iter()
        .map(|e| (e.environment.as_str(), e.action.as_str(), e.hosts.iter().map(String::as_str).collect()))
        .collect();
    assert_eq!(envs, [("a", "update", vec!["a1", "a2"]), ("b", "update", vec![])]);
    let moves: Vec<(Option<&str>, Option<&str>, Vec<&str>)> = blast
        .moves
        .iter()
        .map(|m| (m.from.as_deref(), m.to.as_deref(), m.hosts.iter().map(String::as_str).collect()))
        .collect();
    assert_eq!(
        moves,
        [
            (None, Some("/services/s/views/b"), vec!["new"]),
            (Some("/services/s/views/a"), Some("/services/s/views/b"), vec!["mover"]),
            (Some("/services/s/views/b"), None, vec!["gone"]),
        ]
    );
    // What a mover sees: the live view it reads now against the desired view it will read.
    assert_eq!(
        &blast.moves[1].changes.get()[..],
        [
            KeyChange::Changed { key: "t".into(), before: json!(1), after: json!(2) },
            KeyChange::Removed { key: "x".into(), value: json!(1) },
            KeyChange::Added { key: "y".into(), value: json!(1) },
        ]
    );
    // A host that loses its association reads the root's conf.
    assert_eq!(
        &blast.moves[2].changes.get()[..],
        [KeyChange::Changed { key: "t".into(), before: json!(1), after: json!(2) }]
    );
    assert_eq!(blast.hosts().into_iter().collect::<Vec<_>>(), ["a1", "a2", "gone", "mover", "new"]);
    assert_eq!(Reach::of(&plan), Reach { hosts: 5, moving: 3, unassociated: vec!["s".into()], drift: 0, findings: 0 });
}

#[test]
fn an_unchanged_host_in_an_unchanged_view_is_not_reached() {
    let before = service("s", &[("", json!({}), &[]), ("a", json!({"x": 1}), &["a1"]), ("b", json!({}), &["b1"])]);
    let after = service("s", &[("", json!({}), &[]), ("a", json!({"x": 1}), &["a1"]), ("b", json!({"z": 1}), &["b1"])]);
    let plan = diff(&[after], &applied(&before), &json!({}));
    let blast = &plan.services[0].blast_radius;
    assert!(!blast.unassociated_hosts);
    assert_eq!(blast.hosts().into_iter().collect::<Vec<_>>(), ["b1"]);
}

#[test]
fn view_integrity_finds_views_that_do_not_follow_from_the_live_conf() {
    let before = service(
        "s",
        &[
            ("", json!({"t": 1}), &[]),
            ("a", json!({"x": 1}), &[]),
            ("b", json!({}), &[]),
            ("c", json!({}), &[]),
            ("c/d", json!({}), &[]),
        ],
    );
    let mut live = applied(&before);
    assert!(diff(std::slice::from_ref(&before), &live, &json!({})).services[0].view_integrity.is_empty());
    // The web UI wrote conf/a but crashed before rewriting views/a.
    edit(&mut live, "s", "/services/s/conf/a", r#"{"x": 2}"#, 11);
    // A view deleted by hand, a view without an environment, an unreadable conf with a child.
    live.services.get_mut("s").unwrap().nodes.remove("/services/s/views/b");
    edit(&mut live, "s", "/services/s/views/ghost", "{}", 12);
    edit(&mut live, "s", "/services/s/conf/c", "not json", 13);
    let plan = diff(&[before], &live, &json!({}));
    let findings: Vec<String> = plan.services[0]
        .view_integrity
        .iter()
        .map(|f| format!("{} {}", f.path, serde_json::to_string(&f.problem).unwrap()))
        .collect();
    assert_eq!(
        findings,
        [
            r#"/services/s/conf/c {"problem":"unreadable_conf"}"#,
            r#"/services/s/views/a {"problem":"differs","changes":[{"op":"change","key":"x","before":1,"after":2}]}"#,
            r#"/services/s/views/b {"problem":"missing"}"#,
            r#"/services/s/views/ghost {"problem":"orphan"}"#,
        ]
    );
}

#[test]
fn a_plan_round_trips_through_serde_exactly() {
    let before = service("s", &[("", json!({"a": 1.1}), &[]), ("e", json!({}), &["h"])]);
    let after = service("s", &[("", json!({"a": 2.000000000000001, "s": "ü"}), &[]), ("f", json!({}), &["h"])]);
    let mut live = applied(&before);
    edit(&mut live, "s", "/services/s/conf/e", "\u{0}\u{1}", 11);
    live.services.get_mut("s").unwrap().nodes.get_mut("/services/s/conf/e").unwrap().data =
        vec![0xff, 0xfe, b'{'].into();
    let plan = diff(&[after], &live, &json!({"sha": null}));
    let text = serde_json::to_string(&plan).unwrap();
    let back: Plan = serde_json::from_str(&text).unwrap();
    assert_eq!(back, plan);
    assert!(text.contains(r#""before":[255,254,123]"#), "non-UTF-8 data as bytes: {text}");
}

#[test]
fn acl_drift_is_planned_only_when_an_acl_is_set() {
    let entry = |text: &str| -> crate::acl::AclEntry { text.parse().unwrap() };
    let mut desired = service("s", &[("", json!({}), &[]), ("gone", json!({}), &[])]);
    let mut live = applied(&desired);
    let open = crate::live::LiveAcl { acl: vec![entry("world:anyone:cdrwa")], aversion: 0 };
    let wanted = vec![entry("world:anyone:r"), entry("ip:127.0.0.1:cdrwa")];
    let service_live = live.services.get_mut("s").unwrap();
    for path in ["/services/s/conf", "/services/s/conf/gone", "/services/s/views"] {
        service_live.acls.insert(path.into(), open.clone());
    }
    let ordered = crate::live::LiveAcl { acl: wanted.iter().rev().cloned().collect(), aversion: 4 };
    service_live.acls.insert("/services/s/nodemaps".into(), ordered);
    // No setting: ACLs are not compared.
    assert!(diff(std::slice::from_ref(&desired), &live, &json!({})).is_empty());
    // `gone` is deleted by this plan: its ACL does not matter; order within an ACL does not either.
    desired.nodes.retain(|path, _| !path.ends_with("/gone"));
    desired.acl = Some(wanted.clone());
    let plan = diff(std::slice::from_ref(&desired), &live, &json!({}));
    let acls: Vec<(&str, i32)> = plan.services[0].acls.iter().map(|a| (a.path.as_str(), a.aversion)).collect();
    assert_eq!(acls, [("/services/s/conf", 0), ("/services/s/views", 0)]);
    assert!(!plan.is_empty());
    assert_eq!(plan.acl_count(), 2);
    let text = text::render(&plan, &redact::Redactor::show_all(), false);
    assert!(
        text.contains("  ~ /services/s/conf (ACL)\n      world:anyone:cdrwa → ip:127.0.0.1:cdrwa, world:anyone:r\n"),
        "{text}"
    );
    assert!(text.contains("\nPlan: 0 to create, 1 to update, 2 to delete, 2 ACLs to set. "), "{text}");
    let md = markdown::render(&plan, &redact::Redactor::show_all(), "");
    assert!(md.contains("**Plan: 0 to create, 1 to update, 2 to delete, 2 ACLs to set.**"), "{md}");
    assert!(md.contains("- `/services/s/views`: world:anyone:cdrwa → ip:127.0.0.1:cdrwa, world:anyone:r\n"), "{md}");
    let json: Value = serde_json::from_str(&json::render(&plan, &redact::Redactor::show_all())).unwrap();
    assert_eq!(json["summary"]["acls"], 2);
    assert_eq!(json["services"][0]["acl_changes"][0]["after"], json!(["ip:127.0.0.1:cdrwa", "world:anyone:r"]));
}

#[test]
fn a_live_integer_beyond_64_bits_is_a_change_even_to_the_float_a_parser_makes_of_it() {
    // 2^64 as Python writes it; a JSON parser reads it as the float 1.8446744073709552e19.
    let desired = service("s", &[("", json!({"x": 1.8446744073709552e19, "y": 1}), &[])]);
    let mut live = applied(&desired);
    edit(&mut live, "s", "/services/s/conf", r#"{"x": 18446744073709551616, "y": 1}"#, 10);
    edit(&mut live, "s", "/services/s/views", r#"{"x": 18446744073709551616, "y": 1}"#, 10);
    let plan = diff(std::slice::from_ref(&desired), &live, &json!({}));
    assert_eq!(
        summary(&plan),
        ["update /services/s/conf", "update /services/s/jones-sync", "update /services/s/views"]
    );
    let Action::Update { before, after, .. } = &plan.services[0].changes[0].action else { panic!() };
    assert_eq!(
        key_changes(NodeKind::Conf, Some(before), Some(after)),
        [KeyChange::Unreadable {
            key: "x".into(),
            text: "18446744073709551616".into(),
            why: "an integer beyond 64 bits".into(),
            after: Some(json!(1.8446744073709552e19)),
        }]
    );
    let text = text::render(&plan, &redact::Redactor::show_all(), false);
    assert!(
        text.contains(
            "  ~ /services/s/conf (conf)\n      ~ x: 18446744073709551616 (unreadable: an integer beyond 64 bits) → 1.8446744073709552e+19\n"
        ),
        "{text}"
    );
    let json: Value = serde_json::from_str(&json::render(&plan, &redact::Redactor::show_all())).unwrap();
    let conf = &json["services"][0]["changes"][0];
    assert_eq!(conf["before"], "{\"x\": 18446744073709551616, \"y\": 1}", "shown as text, not as a float");
}

#[test]
fn a_live_conf_with_an_unreadable_value_is_compared_key_by_key_and_the_value_shown() {
    let desired = service("s", &[("", json!({"a": 1, "c": 3, "password": "new"}), &[])]);
    let mut live = applied(&desired);
    edit(&mut live, "s", "/services/s/conf", r#"{"a": 1, "b": NaN, "c": 2, "password": Infinity}"#, 10);
    let plan = diff(std::slice::from_ref(&desired), &live, &json!({}));
    let Action::Update { before, after, .. } = &plan.services[0].changes[0].action else { panic!() };
    assert_eq!(
        key_changes(NodeKind::Conf, Some(before), Some(after)),
        [
            KeyChange::Unreadable {
                key: "b".into(),
                text: "NaN".into(),
                why: "`NaN` is not a JSON number".into(),
                after: None
            },
            KeyChange::Changed { key: "c".into(), before: json!(2), after: json!(3) },
            KeyChange::Unreadable {
                key: "password".into(),
                text: "Infinity".into(),
                why: "`Infinity` is not a JSON number".into(),
                after: Some(json!("new"))
            },
        ]
    );
    let r = redact::Redactor::new(redact::DEFAULT_PATTERNS, false).unwrap();
    let text = text::render(&plan, &r, false);
    assert!(
        text.contains(
            "  ~ /services/s/conf (conf)\n      - b = NaN (unreadable: `NaN` is not a JSON number)\n      ~ c: 2 → 3\n      \
             ~ password: (sensitive) (unreadable: `Infinity` is not a JSON number) → (sensitive)\n"
        ),
        "{text}"
    );
    // The view's integrity cannot be judged from a conf that does not read.
    assert!(plan.services[0].view_integrity.iter().any(|f| f.path == "/services/s/conf"), "{plan:#?}");
}
