//! `load` on plain lists of entries: every layout rule and every validation problem.

use serde_json::json;

use super::*;

/// Entries from `(path, content)`: a path ending in `/` is a directory.
fn entries(items: &[(&str, &str)]) -> Vec<Entry> {
    items
        .iter()
        .map(|(path, content)| match path.strip_suffix('/') {
            Some(dir) => Entry { path: dir.into(), kind: EntryKind::Dir },
            None => Entry { path: path.to_string(), kind: EntryKind::File(Some(content.as_bytes().to_vec())) },
        })
        .collect()
}

fn load_ok(items: &[(&str, &str)]) -> Repo {
    parse(entries(items), Problems::default()).unwrap_or_else(|p| panic!("unexpected problems: {p:#?}"))
}

fn problems(items: &[(&str, &str)]) -> Vec<String> {
    match parse(entries(items), Problems::default()) {
        Ok(_) => panic!("expected problems"),
        Err(problems) => problems.iter().map(ToString::to_string).collect(),
    }
}

fn env(path: &str) -> EnvPath {
    EnvPath(path.split('/').filter(|s| !s.is_empty()).map(String::from).collect())
}

#[test]
fn reads_services_environments_values_and_hosts() {
    let repo = load_ok(&[
        ("services/", ""),
        ("services/shop/", ""),
        ("services/shop/config.toml", "timeout = 30\n"),
        ("services/shop/prod/", ""),
        ("services/shop/prod/config.toml", "[db]\nhost = \"db1\"\n"),
        ("services/shop/prod/hosts.toml", "hosts = [\"web1\", \"web2\"]\n"),
        ("services/shop/prod/canary/", ""),
        ("services/shop/prod/README.md", "notes"),
        ("services/shop/.hidden-is-skipped-by-sources/", ""),
    ]);
    let shop = &repo.services["shop"];
    // `.hidden…` would only appear if a source listed it; load treats it as an environment.
    assert_eq!(shop.envs.len(), 4);
    assert_eq!(shop.envs[&env("")].values, *json!({"timeout": 30}).as_object().unwrap());
    assert_eq!(shop.envs[&env("prod")].values, *json!({"db": {"host": "db1"}}).as_object().unwrap());
    assert_eq!(shop.envs[&env("prod")].hosts, ["web1", "web2"]);
    assert!(shop.envs[&env("prod/canary")].values.is_empty(), "a directory without config.toml is {{}}");
    assert_eq!(shop.envs[&env("prod/canary")].dir, "services/shop/prod/canary");
}

#[test]
fn missing_services_directory() {
    assert_eq!(
        problems(&[("README.md", "")]),
        [
            "services/: not found: a config repository holds `services/<service>/config.toml` (is `--repo` pointing at one?)"
        ]
    );
}

#[test]
fn every_problem_is_collected_and_sorted() {
    let found = problems(&[
        ("services/", ""),
        ("services/b/", ""),
        ("services/b/config.toml", "x = \n"),
        ("services/a/", ""),
        ("services/a/hosts.toml", "hosts = [\"h\"]\n"),
        ("services/a/prod/", ""),
        ("services/a/prod/confg.toml", ""),
        ("services/a/prod/config.toml", "f = nan\n"),
    ]);
    assert_eq!(
        found,
        [
            "services/a/hosts.toml: `hosts.toml` is not allowed in a service's root environment: hosts without an association read the root already",
            "services/a/prod/confg.toml: unknown file `confg.toml`: did you mean `config.toml`?",
            "services/a/prod/config.toml:1:5: `f`: nan cannot be stored in JSON (only finite numbers can); use a string if you need it",
            "services/b/config.toml:1:5: invalid TOML: string values must be quoted, expected literal string",
        ]
    );
}

#[test]
fn hosts_file_must_be_a_list_of_non_empty_strings() {
    let dir = [("services/", ""), ("services/s/", ""), ("services/s/e/", "")];
    let with = |text: &'static str| {
        let mut items = dir.to_vec();
        items.push(("services/s/e/hosts.toml", text));
        problems(&items)
    };
    assert_eq!(
        with("hosts = \"web1\"\n"),
        ["services/s/e/hosts.toml:1:9: `hosts` must be an array of host names, not a string"]
    );
    assert_eq!(
        with("hosts = [\"a\", \"\", 3]\n"),
        [
            "services/s/e/hosts.toml:1:15: a host name must not be empty",
            "services/s/e/hosts.toml:1:19: a host must be a string, not an integer",
        ]
    );
    assert_eq!(
        with("host = [\"a\"]\n"),
        [
            "services/s/e/hosts.toml:1:1: unknown key `host` in hosts.toml: expected `hosts = [\"web1.example.com\", ...]`",
        ]
    );
    assert_eq!(
        with(""),
        ["services/s/e/hosts.toml:1:1: no `hosts` key: expected `hosts = [\"web1.example.com\", ...]`"]
    );
    assert_eq!(with("hosts = [\"a\", \"a\"]\n"), ["services/s/e/hosts.toml:1:15: host `a` is listed twice"]);
}

#[test]
fn a_host_in_two_environments_names_both_files() {
    let found = problems(&[
        ("services/", ""),
        ("services/s/", ""),
        ("services/s/a/", ""),
        ("services/s/a/hosts.toml", "hosts = [\"web1\"]\n"),
        ("services/s/b/", ""),
        ("services/s/b/hosts.toml", "hosts = [\"x\",\n  \"web1\"]\n"),
        // Another service may associate the same host.
        ("services/t/", ""),
        ("services/t/a/", ""),
        ("services/t/a/hosts.toml", "hosts = [\"web1\"]\n"),
    ]);
    assert_eq!(
        found,
        [
            "services/s/b/hosts.toml:2:3: host `web1` is also associated in `services/s/a/hosts.toml`: a host reads exactly one environment"
        ]
    );
}

#[test]
fn names_zookeeper_rejects() {
    let found = problems(&[
        ("services/", ""),
        ("services/bad\u{1}name/", ""),
        ("services/ok/", ""),
        ("services/ok/rocket🚀/", ""),
        ("services/ok/rocket🚀/child/", ""),
        ("services/ok/rocket🚀/child/config.toml", "x = nan"),
    ]);
    assert_eq!(found.len(), 2, "children of a rejected environment are not reported again: {found:#?}");
    assert!(found[0].starts_with("services/bad\u{1}name: invalid service name: it contains a control character"));
    assert!(found[1].starts_with(
        "services/ok/rocket🚀: invalid environment name: it contains a character outside the Basic Multilingual Plane"
    ));
}

#[test]
fn a_directory_named_like_an_environments_file_is_not_an_environment() {
    let found = problems(&[
        ("services/", ""),
        ("services/s/", ""),
        ("services/s/config.toml/", ""),
        ("services/s/config.toml/config.toml", "x = 1\n"),
        ("services/s/prod/", ""),
        ("services/s/prod/hosts.toml/", ""),
        ("services/hosts.toml/", ""),
    ]);
    assert_eq!(
        found,
        [
            "services/hosts.toml: invalid service name: `hosts.toml` is the name of an environment's file, so a directory of that name cannot be an environment",
            "services/s/config.toml: invalid environment name: `config.toml` is the name of an environment's file, so a directory of that name cannot be an environment",
            "services/s/prod/hosts.toml: invalid environment name: `hosts.toml` is the name of an environment's file, so a directory of that name cannot be an environment",
        ]
    );
}

#[test]
fn names_the_jones_server_misreads_in_a_json_nodemap_are_refused_at_their_place() {
    let found = problems(&[
        ("services/", ""),
        ("services/a -> b/", ""),
        ("services/s/", ""),
        ("services/s/x -> y/", ""),
        ("services/s/e/", ""),
        ("services/s/e/hosts.toml", "hosts = [\n  \"ok\",\n  \"web1 -> web2\",\n]\n"),
    ]);
    let arrow = "contains ` -> `: the Jones server reads any nodemap holding ` -> ` as the legacy line format, so it \
                 would misread this service's whole nodemap (and rewrite it without its hosts at its next association change)";
    assert_eq!(
        found,
        [
            format!("services/a -> b: invalid service name: it {arrow}"),
            format!("services/s/e/hosts.toml:3:3: host `web1 -> web2` {arrow}"),
            format!("services/s/x -> y: invalid environment name: it {arrow}"),
        ]
    );
}

#[test]
fn host_names_no_jones_client_matches_are_refused_at_their_place() {
    let found = problems(&[
        ("services/", ""),
        ("services/s/", ""),
        ("services/s/e/", ""),
        ("services/s/e/hosts.toml", "hosts = [\" web1\", \"web2 \", \"web3\\n\", \"web4\\r\", \"fine host\"]\n"),
    ]);
    assert_eq!(found.len(), 4, "{found:#?}");
    assert!(found[0].starts_with("services/s/e/hosts.toml:1:10: host `\" web1\"` starts or ends with white space"));
    assert!(found[1].starts_with("services/s/e/hosts.toml:1:19: host `\"web2 \"` starts or ends with white space"));
    assert!(found[2].starts_with("services/s/e/hosts.toml:1:28: host `\"web3\\n\"` contains a line break"));
    assert!(found[3].starts_with("services/s/e/hosts.toml:1:38: host `\"web4\\r\"` contains a line break"));
}

#[test]
fn legacy_nodemap_lines_that_read_back_as_another_host_are_refused_at_their_place() {
    let repo = [
        ("services/", ""),
        ("services/s/", ""),
        ("services/s/e/", ""),
        ("services/s/e/hosts.toml", "hosts = [\"ok\", \"web1 ->\", \"{web2\"]\n"),
    ];
    let mut legacy = repo.to_vec();
    legacy.push(("jones-sync.toml", "[sync]\nnodemap_format = \"legacy\"\n"));
    let found = problems(&legacy);
    assert_eq!(found.len(), 2, "{found:#?}");
    assert!(found[0].starts_with(
        "services/s/e/hosts.toml:1:16: host `web1 ->` cannot be written in the legacy nodemap format: its line \
         `web1 -> -> /services/s/views/e` would read back as host `web1` reading `-> /services/s/views/e`"
    ));
    assert!(found[0].ends_with("([sync] nodemap_format = \"legacy\")"));
    assert!(found[1].starts_with("services/s/e/hosts.toml:1:27: host `{web2` starts with `{`"));
    // JSON holds both as they are.
    assert_eq!(load_ok(&repo).services["s"].envs[&env("e")].hosts, ["ok", "web1 ->", "{web2"]);
}

#[test]
fn unknown_files_get_a_hint() {
    let found = problems(&[
        ("services/", ""),
        ("services/notes.txt", ""),
        ("services/s/", ""),
        ("services/s/host.toml", ""),
        ("services/s/values.yaml", ""),
    ]);
    assert_eq!(
        found,
        [
            "services/notes.txt: unexpected file: `services/` holds one directory per service (`services/<service>/config.toml`)",
            "services/s/host.toml: unknown file `host.toml`: did you mean `hosts.toml`?",
            "services/s/values.yaml: unknown file `values.yaml`: an environment holds only `config.toml`, `hosts.toml`, `*.md` files and child environments",
        ]
    );
}

#[test]
fn files_that_are_not_utf8_are_reported_at_the_bad_byte() {
    let mut items = entries(&[("services/", ""), ("services/s/", "")]);
    items.push(Entry {
        path: "services/s/config.toml".into(),
        kind: EntryKind::File(Some(b"a = 1\nb = \"\xff\"\n".to_vec())),
    });
    let found: Vec<String> = parse(items, Problems::default()).unwrap_err().iter().map(ToString::to_string).collect();
    assert_eq!(found, ["services/s/config.toml:2:6: not valid UTF-8 (invalid byte at offset 11)"]);
}

#[test]
fn settings_are_read_and_checked() {
    let repo = load_ok(&[("jones-sync.toml", "[zookeeper]\nmax_node_bytes = 100\n"), ("services/", "")]);
    assert_eq!(repo.settings.zookeeper.max_node_bytes, 100);
    assert_eq!(
        problems(&[("jones-sync.toml", "[zookeepr]\n"), ("services/", "")]),
        [
            "jones-sync.toml:1:2: invalid settings: unknown table `[zookeepr]`: did you mean `[zookeeper]`? (jones-sync.toml holds the tables `[zookeeper]`, `[history]`, `[sync]`, `[services.<name>]`, `[plan]`, `[targets.<name>]` and `[rollout]`)"
        ]
    );
}

#[test]
fn source_problems_are_reported_with_the_rest() {
    let mut source_problems = Problems::default();
    source_problems.push(Problem::new("services/s/link", "symlink leaves the repository"));
    let found = parse(entries(&[("services/", "")]), source_problems).unwrap_err();
    assert_eq!(found.len(), 1);
}

#[test]
fn parse_each_hands_over_each_service_whole_in_name_order() {
    let items = [
        ("services/", ""),
        ("services/a-b/", ""),
        ("services/a-b/config.toml", "x = 1\n"),
        ("services/a/", ""),
        ("services/a/prod/", ""),
        ("services/a/prod/config.toml", "y = 2\n"),
        ("services/a/prod/hosts.toml", "hosts = [\"h1\"]\n"),
        ("services/empty/", ""),
    ];
    let mut seen = Vec::new();
    let (settings, services) = parse_each(entries(&items), Problems::default(), |settings, service| {
        seen.push(service.name.clone());
        assert_eq!(settings, &settings::Settings::default());
        service
    })
    .unwrap();
    assert_eq!(seen, ["a", "a-b", "empty"]);
    assert_eq!(settings, settings::Settings::default());
    let whole = load_ok(&items);
    let names: Vec<&String> = whole.services.keys().collect();
    assert_eq!(services.iter().map(|s| &s.name).collect::<Vec<_>>(), names);
    for service in &services {
        let expected = &whole.services[&service.name];
        assert_eq!(format!("{:?}", service.envs), format!("{:?}", expected.envs));
    }
    assert_eq!(services[0].envs[&env("prod")].values, json!({"y": 2}).as_object().unwrap().clone());
    assert_eq!(services[0].envs[&env("prod")].hosts, ["h1"]);
}

#[test]
fn parse_each_reports_every_problem_even_after_handing_services_over() {
    let items = [
        ("services/", ""),
        ("services/a/", ""),
        ("services/a/config.toml", "x = \n"),
        ("services/b/", ""),
        ("services/b/config.toml", "ok = true\n"),
        ("services/c/", ""),
        ("services/c/e/", ""),
        ("services/c/e/hosts.toml", "hosts = [\"h\", \"h\"]\n"),
    ];
    let found = parse_each(entries(&items), Problems::default(), |_, service| service.name).unwrap_err();
    let found: Vec<String> = found.iter().map(ToString::to_string).collect();
    assert_eq!(found, problems(&items));
    assert_eq!(found.len(), 2, "{found:?}");
}

#[test]
fn a_target_names_only_services_of_the_repository() {
    let settings = "[targets.eu]\nzk = \"zk1:2181\"\nservices = [\"shop\", \"shpo\"]\n";
    assert_eq!(
        problems(&[("jones-sync.toml", settings), ("services/", ""), ("services/shop/", "")]),
        [
            "jones-sync.toml:3:21: invalid settings: `[targets.eu] services` names `shpo`, which is not a service of the repository"
        ]
    );
}
