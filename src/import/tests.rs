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
fn a_nodemap_some_client_cannot_parse_is_reported() {
    let trailing = live(&[
        ("/services/s/conf", "{}"),
        ("/services/s/conf/a", "{}"),
        ("/services/s/views", "{}"),
        ("/services/s/views/a", "{}"),
        ("/services/s/nodemaps", "h -> /services/s/views/a\n"),
    ]);
    let (imported, reports) = import("s", &trailing);
    assert_eq!(imported.unwrap().service.envs[&env("a")].hosts, ["h"]);
    assert_eq!(
        reports,
        [
            "/services/s/nodemaps: is written in a way some Jones clients cannot parse (white space only, a trailing newline or CR LF line ends, ` -> ` in JSON): the next apply rewrites it"
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

#[test]
fn one_unreadable_value_leaves_out_only_itself() {
    // Python's json writes NaN, Infinity, integers of any size and lone surrogates.
    let conf = r#"{"a": 1, "nan": NaN, "db": {"host": "h", "ratio": -Infinity}, "big": 18446744073709551616, "list": [1, Infinity], "name": "\ud800x", "ok": "é"}"#;
    let (imported, reports) =
        import("s", &live(&[("/services/s/conf", conf), ("/services/s/views", conf), ("/services/s/nodemaps", "")]));
    let values = Value::Object(imported.unwrap().service.envs[&env("")].values.clone());
    assert_eq!(values, json!({"a": 1, "db": {"host": "h"}, "list": [1], "ok": "é"}));
    assert_eq!(
        reports,
        [
            "/services/s/conf: `big` is `18446744073709551616`, which does not read exactly (an integer beyond 64 bits): left out (the next apply removes it)",
            "/services/s/conf: `db.ratio` is `-Infinity`, which does not read exactly (`-Infinity` is not a JSON number): left out (the next apply removes it)",
            "/services/s/conf: `list[1]` is `Infinity`, which does not read exactly (`Infinity` is not a JSON number): left out (the next apply removes it)",
            "/services/s/conf: `name` is `\"\\ud800x\"`, which does not read exactly (a string holding a lone surrogate (half of a UTF-16 pair), which is not text): left out (the next apply removes it)",
            "/services/s/conf: `nan` is `NaN`, which does not read exactly (`NaN` is not a JSON number): left out (the next apply removes it)",
            "/services/s/views: does not read exactly as a JSON object: the next apply rewrites it",
        ]
    );
}

#[test]
fn an_integer_beyond_64_bits_is_never_imported_as_a_float() {
    let conf = r#"{"big": 18446744073709551616, "neg": -9223372036854775809, "max": 9223372036854775807}"#;
    let (imported, reports) =
        import("s", &live(&[("/services/s/conf", conf), ("/services/s/views", conf), ("/services/s/nodemaps", "{}")]));
    let service = imported.unwrap().service;
    assert_eq!(Value::Object(service.envs[&env("")].values.clone()), json!({"max": i64::MAX}));
    assert_eq!(reports.len(), 3, "{reports:?}");
    assert!(
        reports[0].contains("`big` is `18446744073709551616`, which does not read exactly (an integer beyond 64 bits)")
    );
    let mut reports = Vec::new();
    assert_eq!(files(&service, &mut reports)["services/s/config.toml"], "max = 9223372036854775807\n");
}

#[test]
fn names_and_hosts_the_repository_refuses_are_left_out_and_what_is_written_validates() {
    let deep = format!("{{\"deep\": {}1{}, \"kept\": 1}}", "[".repeat(100), "]".repeat(100));
    let live = live(&[
        ("/services/s/conf", &deep),
        ("/services/s/conf/a -> b", "{}"),
        ("/services/s/conf/config.toml", "{}"),
        ("/services/s/conf/e", "{}"),
        ("/services/s/views", "{}"),
        ("/services/s/views/e", "{}"),
        (
            "/services/s/nodemaps",
            r#"{" web1": "/services/s/views/e", "web2\n": "/services/s/views/e", "x -> y": "/services/s/views/e", "web3 ->": "/services/s/views/e", "web4": "/services/s/views/e"}"#,
        ),
    ]);
    let (imported, reports) = import("s", &live);
    let mut imported = vec![imported.unwrap()];
    assert_eq!(imported[0].service.envs.keys().cloned().collect::<Vec<_>>(), [env(""), env("e")]);
    assert_eq!(imported[0].service.envs[&env("e")].hosts, ["web3 ->", "web4"]);
    let left_out: Vec<&str> = reports.iter().map(|r| r.split(':').next().unwrap()).collect();
    assert_eq!(
        left_out,
        [
            "/services/s/conf/a -> b",
            "/services/s/conf/config.toml",
            "/services/s/nodemaps",
            "/services/s/nodemaps",
            "/services/s/nodemaps",
            // ` -> ` in the JSON: the Jones server would misread it, so it is rewritten.
            "/services/s/nodemaps",
            "/services/s/views",
            "/services/s/views/e",
        ],
        "{reports:#?}"
    );
    let mut reports = Vec::new();
    let written = |imported: &[Imported], reports: &mut Vec<Report>| -> BTreeMap<String, BTreeMap<String, String>> {
        imported.iter().map(|i| (i.service.name.clone(), files(&i.service, reports))).collect()
    };
    let json_files = written(&imported, &mut reports);
    assert!(reports[0].message.starts_with("`deep[0][0]"), "{reports:?}");
    assert_eq!(check(&json_files, None), []);
    // `web3 ->` reads back as `web3` from a legacy line: dropped when the repository is legacy.
    let legacy = "[sync]\nnodemap_format = \"legacy\"\n";
    let problems: Vec<String> = check(&json_files, Some(legacy)).iter().map(ToString::to_string).collect();
    assert_eq!(problems.len(), 1, "{problems:?}");
    assert!(problems[0].starts_with("services/s/e/hosts.toml:2:5: host `web3 ->` cannot be written in the legacy"));
    let mut reports = Vec::new();
    legacy_hosts(&mut imported, &mut reports);
    assert_eq!(imported[0].service.envs[&env("e")].hosts, ["web4"]);
    assert_eq!(reports.len(), 1);
    assert_eq!(check(&written(&imported, &mut Vec::new()), Some(legacy)), []);
}
