//! Import on plain data: snapshots written the way the Jones web UI writes (Python's `json.dumps`,
//! keys in insertion order, an empty nodemap before the first association).

use serde_json::json;

use super::*;
use crate::live::LiveNode;

fn live(nodes: &[(&str, &str)]) -> LiveService {
    let nodes = nodes
        .iter()
        .map(|(path, data)| {
            (path.to_string(), LiveNode { data: data.as_bytes().to_vec().into(), version: 0, mzxid: 1, czxid: 1 })
        })
        .collect();
    LiveService { nodes, ..LiveService::default() }
}

fn import(name: &str, live: &LiveService) -> (Option<Imported>, Vec<String>) {
    let mut reports = Vec::new();
    let imported = service(name, live, &mut reports);
    reports.sort();
    (imported, reports.iter().map(ToString::to_string).collect())
}

fn env(path: &str) -> EnvPath {
    EnvPath(path.split('/').filter(|s| !s.is_empty()).map(String::from).collect())
}

#[test]
fn the_example_of_jones_md_imports_without_reports() {
    let live = live(&[
        ("/services/test", ""),
        ("/services/test/conf", r#"{"foo": "bar", "fiesasld": "value31"}"#),
        ("/services/test/conf/child1", r#"{"field": "x"}"#),
        ("/services/test/conf/child1/sib", r#"{"foo": "big"}"#),
        ("/services/test/views", r#"{"foo": "bar", "fiesasld": "value31"}"#),
        ("/services/test/views/child1", r#"{"field": "x", "foo": "bar", "fiesasld": "value31"}"#),
        ("/services/test/views/child1/sib", r#"{"field": "x", "foo": "big", "fiesasld": "value31"}"#),
        ("/services/test/nodemaps", r#"{"web1.example.com": "/services/test/views/child1/sib"}"#),
    ]);
    let (imported, reports) = import("test", &live);
    assert!(reports.is_empty(), "{reports:?}");
    let imported = imported.unwrap();
    assert_eq!(imported.nodemap_format, Some(Format::Json));
    let envs = &imported.service.envs;
    assert_eq!(envs.keys().cloned().collect::<Vec<_>>(), [env(""), env("child1"), env("child1/sib")]);
    assert_eq!(envs[&env("child1/sib")].hosts, ["web1.example.com"]);
    assert_eq!(envs[&env("child1/sib")].dir, "services/test/child1/sib");
    let mut reports = Vec::new();
    let files = files(&imported.service, &mut reports);
    assert_eq!(
        files,
        BTreeMap::from([
            ("services/test/child1/config.toml".to_string(), "field = \"x\"\n".to_string()),
            ("services/test/child1/sib/config.toml".to_string(), "foo = \"big\"\n".to_string()),
            (
                "services/test/child1/sib/hosts.toml".to_string(),
                "hosts = [\n    \"web1.example.com\",\n]\n".to_string()
            ),
            ("services/test/config.toml".to_string(), "fiesasld = \"value31\"\nfoo = \"bar\"\n".to_string()),
        ])
    );
}

#[test]
fn every_kind_of_damage_is_reported_and_the_rest_imported() {
    let live = live(&[
        ("/services/s", ""),
        ("/services/s/conf", r#"{"a": 1, "gone": null}"#),
        ("/services/s/conf/list", "[1, 2]"),
        ("/services/s/conf/blank", ""),
        ("/services/s/conf/.hidden", "{}"),
        ("/services/s/conf/.hidden/below", "{}"),
        ("/services/s/conf/ok", r#"{"b": 2}"#),
        ("/services/s/views", r#"{"a": 1, "gone": null}"#),
        ("/services/s/views/list", r#"{"a": 1, "gone": null}"#),
        ("/services/s/views/ok", r#"{"a": 1, "b": 3}"#),
        ("/services/s/views/orphan", "{}"),
        (
            "/services/s/nodemaps",
            "h1 -> /services/s/views/ok\nh2 -> /services/s/views/missing\nh3 -> /services/s/views\n\
             h4 -> /services/other/views/x\nh5 -> /services/s/views/orphan\nh6 -> /services/s/views/.hidden",
        ),
    ]);
    let (imported, reports) = import("s", &live);
    let imported = imported.unwrap();
    assert_eq!(imported.nodemap_format, Some(Format::Legacy));
    assert_eq!(
        imported.service.envs.keys().cloned().collect::<Vec<_>>(),
        [env(""), env("blank"), env("list"), env("ok")]
    );
    assert_eq!(imported.service.envs[&env("ok")].hosts, ["h1"]);
    assert_eq!(
        reports,
        [
            "/services/s/conf/.hidden: left out with everything below it: `.hidden` starts with `.`, and the repository skips hidden entries",
            "/services/s/conf/blank: is empty, not a JSON object: imported as `{}` (the next apply writes `{}`)",
            "/services/s/conf/list: holds an array, not a JSON object: imported as `{}` (the next apply writes `{}`)",
            "/services/s/nodemaps: host `h2` points at `/services/s/views/missing`, which does not exist: dropped, so it reads the root",
            "/services/s/nodemaps: host `h3` points at the root view `/services/s/views`, which hosts read without an association: dropped, so it reads the root",
            "/services/s/nodemaps: host `h4` points at `/services/other/views/x`, which is not a view of `s`: dropped, so it reads the root",
            "/services/s/nodemaps: host `h5` points at `/services/s/views/orphan`, a view without a conf: dropped, so it reads the root",
            "/services/s/nodemaps: host `h6` points at `/services/s/views/.hidden`, whose environment was left out: dropped, so it reads the root",
            "/services/s/views/blank: is missing: the next apply creates it",
            "/services/s/views/ok: does not match the materialization of its conf (differs in `b`, `gone`): the next apply rewrites it",
            "/services/s/views/orphan: is a view without a conf: the next apply deletes it",
        ]
    );
    // The null is reported when the files are written.
    let mut reports = Vec::new();
    let files = files(&imported.service, &mut reports);
    assert_eq!(files["services/s/config.toml"], "a = 1\n");
    assert_eq!(files["services/s/list/config.toml"], "");
    assert_eq!(
        reports.iter().map(ToString::to_string).collect::<Vec<_>>(),
        ["/services/s/conf: `gone` is null, which TOML cannot hold: left out (the next apply removes it)"]
    );
}

#[test]
fn a_child_of_services_without_conf_is_not_a_jones_service() {
    let (imported, reports) = import("zookeeper-stuff", &live(&[("/services/zookeeper-stuff", "x")]));
    assert!(imported.is_none());
    assert_eq!(reports, ["/services/zookeeper-stuff: not imported: not a Jones service (it has no `conf` node)"]);
    let (imported, reports) = import(".odd", &live(&[("/services/.odd/conf", "{}")]));
    assert!(imported.is_none());
    assert_eq!(
        reports,
        ["/services/.odd: not imported: `.odd` starts with `.`, and the repository skips hidden entries"]
    );
}

#[test]
fn a_missing_or_unreadable_nodemap_imports_without_hosts() {
    let (imported, reports) = import("s", &live(&[("/services/s/conf", "{}"), ("/services/s/views", "{}")]));
    assert_eq!(imported.unwrap().nodemap_format, None);
    assert_eq!(
        reports,
        ["/services/s/nodemaps: is missing, so Jones clients of this service fail: the next apply creates it"]
    );
    let garbage = live(&[("/services/s/conf", "{}"), ("/services/s/views", "{}"), ("/services/s/nodemaps", "h = x")]);
    let (_, reports) = import("s", &garbage);
    assert_eq!(
        reports,
        [
            "/services/s/nodemaps: cannot be read (neither a JSON object nor the legacy `host -> path` format (line 1: `h = x`)): imported without hosts"
        ]
    );
}

#[test]
fn the_format_follows_the_nodemaps_found() {
    let imported = |name: &str, format| Imported {
        service: Service { name: name.into(), envs: BTreeMap::new() },
        nodemap_format: format,
    };
    let mut reports = Vec::new();
    let all_legacy = [imported("a", Some(Format::Legacy)), imported("b", None)];
    assert_eq!(nodemap_format(&all_legacy, &mut reports), Format::Legacy);
    assert_eq!(nodemap_format(&[imported("a", None)], &mut reports), Format::Json);
    assert!(reports.is_empty());
    let mixed = [imported("a", Some(Format::Legacy)), imported("b", Some(Format::Json))];
    assert_eq!(nodemap_format(&mixed, &mut reports), Format::Json);
    assert_eq!(reports.len(), 1);
    assert!(reports[0].message.starts_with("nodemaps of a are in the legacy format"), "{}", reports[0]);
    let _ = json!(null);
}
