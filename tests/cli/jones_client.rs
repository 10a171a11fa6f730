//! The tree written from `example-repo/` read the way a Jones client reads it (JONES.md, "What a
//! client does"): nodemaps → the host's view, else the root conf. What every host sees is
//! compared with its effective config computed here independently, straight from the TOML files.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{Map, Value};

use crate::util::{Test, run_in};
use crate::zookeeper::block_on;

fn example_repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("example-repo")
}

fn toml_to_json(value: toml::Value) -> Value {
    match value {
        toml::Value::String(s) => Value::String(s),
        toml::Value::Integer(i) => Value::from(i),
        toml::Value::Float(f) => Value::from(f),
        toml::Value::Boolean(b) => Value::Bool(b),
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Array(items) => Value::Array(items.into_iter().map(toml_to_json).collect()),
        toml::Value::Table(table) => Value::Object(table.into_iter().map(|(k, v)| (k, toml_to_json(v))).collect()),
    }
}

/// For one service directory: each associated host's effective config, and the root's.
fn expected(service_dir: &Path) -> (BTreeMap<String, Map<String, Value>>, Map<String, Value>) {
    fn walk(
        dir: &Path,
        inherited: &Map<String, Value>,
        hosts: &mut BTreeMap<String, Map<String, Value>>,
    ) -> Map<String, Value> {
        let mut view = inherited.clone();
        if let Ok(text) = std::fs::read_to_string(dir.join("config.toml")) {
            let Value::Object(own) = toml_to_json(toml::from_str(&text).unwrap()) else { unreachable!() };
            view.extend(own); // a shallow update, as Python's dict.update
        }
        if let Ok(text) = std::fs::read_to_string(dir.join("hosts.toml")) {
            let table: toml::Table = toml::from_str(&text).unwrap();
            for host in table["hosts"].as_array().unwrap() {
                hosts.insert(host.as_str().unwrap().to_string(), view.clone());
            }
        }
        for entry in std::fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            if entry.file_type().unwrap().is_dir() {
                walk(&entry.path(), &view, hosts);
            }
        }
        view
    }
    let mut hosts = BTreeMap::new();
    let root = walk(service_dir, &Map::new(), &mut hosts);
    (hosts, root)
}

/// What a Jones client for `service` on `host` reads.
pub(crate) async fn client_reads(client: &zookeeper_client::Client, service: &str, host: &str) -> Value {
    let (nodemap, _) = client.get_data(&format!("/services/{service}/nodemaps")).await.expect("nodemaps must exist");
    let nodemap: Map<String, Value> =
        if nodemap.is_empty() { Map::new() } else { serde_json::from_slice(&nodemap).unwrap() };
    let path = match nodemap.get(host) {
        Some(view) => view.as_str().unwrap().to_string(),
        None => format!("/services/{service}/conf"),
    };
    let (data, _) = client.get_data(&path).await.unwrap_or_else(|err| panic!("{host} reads {path}: {err}"));
    serde_json::from_slice(&data).unwrap()
}

#[test]
fn every_host_of_example_repo_reads_its_effective_config() {
    let t = Test::new("jonesclient");
    run_in(&example_repo(), &t.zk, &["apply", "--yes", "--allow-dirty"]).success();
    let zk = block_on(crate::zookeeper::raw(&t.zk, Duration::from_secs(10)));
    let mut checked = 0;
    for entry in std::fs::read_dir(example_repo().join("services")).unwrap() {
        let entry = entry.unwrap();
        if !entry.file_type().unwrap().is_dir() {
            continue;
        }
        let service = entry.file_name().into_string().unwrap();
        let (hosts, root) = expected(&entry.path());
        assert!(!hosts.is_empty(), "{service} has hosts");
        for (host, config) in hosts {
            let config = Value::Object(config);
            assert_eq!(block_on(client_reads(&zk, &service, &host)), config, "{service} on {host}");
            // `jones-sync get`, from ZooKeeper and from the repository, reads the same.
            for extra in [&[][..], &["--repo-only"]] {
                let mut args = vec!["get", service.as_str(), "--host", host.as_str(), "--format", "json"];
                args.extend_from_slice(extra);
                let got = run_in(&example_repo(), &t.zk, &args).success();
                assert_eq!(serde_json::from_str::<Value>(&got.stdout).unwrap(), config, "get {args:?}");
            }
            checked += 1;
        }
        let unassociated = block_on(client_reads(&zk, &service, "not-associated.example.com"));
        assert_eq!(unassociated, Value::Object(root.clone()), "{service} on an unassociated host reads the root");
        let got = run_in(&example_repo(), &t.zk, &["get", &service, "--host", "nobody", "--format", "json"]).success();
        assert_eq!(serde_json::from_str::<Value>(&got.stdout).unwrap(), Value::Object(root));
    }
    assert!(checked >= 30, "checked {checked} host associations");
    run_in(&example_repo(), &t.zk, &["plan", "--detailed-exitcode"]).code(0);
}

/// How each Jones part parses a nodemap, replicated rule for rule from its source (github
/// mwhooker/jones; JONES.md, "Associations"), for tests that cannot run the Python, Go or Ruby
/// clients themselves. Each returns the association → view path map the part reads, or why it
/// fails.
pub mod rules {
    use std::collections::BTreeMap;

    pub type Nodemap = BTreeMap<String, String>;

    /// Python's `dict(l.split(' -> ') for l in d.split('\n'))`: every line must split into exactly
    /// two parts (`ValueError` otherwise), later lines win.
    fn lines(data: &str) -> Result<Nodemap, String> {
        let mut map = Nodemap::new();
        for line in data.split('\n') {
            let parts: Vec<&str> = line.split(" -> ").collect();
            let [host, path] = parts.as_slice() else {
                return Err(format!("ValueError: line {line:?} splits into {} parts", parts.len()));
            };
            map.insert(host.to_string(), path.to_string());
        }
        Ok(map)
    }

    /// `json.loads` of an object of strings (what a Jones nodemap holds).
    fn json(data: &str) -> Result<Nodemap, String> {
        serde_json::from_str(data).map_err(|err| format!("ValueError: {err}"))
    }

    /// The Jones server (`jones/jones.py`, `ZNodeMap._get`): empty is `{}`; text holding `' -> '`
    /// anywhere is read as lines (`_get_old`), else as JSON.
    pub fn server(data: &str) -> Result<Nodemap, String> {
        if data.is_empty() {
            Ok(Nodemap::new())
        } else if data.contains(" -> ") {
            lines(data)
        } else {
            json(data)
        }
    }

    /// The 0.5.x Python client (`jones/client.py` at tag 0.5.3, `_deserialize_nodemap`): empty is
    /// `{}`, anything else is lines.
    pub fn client_05(data: &str) -> Result<Nodemap, String> {
        if data.is_empty() { Ok(Nodemap::new()) } else { lines(data) }
    }

    /// The Jones 1.x Python client (`jones/client.py`, `_deserialize_nodemap`): empty is `{}`,
    /// anything else is `json.loads` (Ruby's `JSON.load` alike).
    pub fn client_1x(data: &str) -> Result<Nodemap, String> {
        if data.is_empty() { Ok(Nodemap::new()) } else { json(data) }
    }

    /// What the Go client (`contrib/go-jones`, `nodemapChanged`) makes `host` read: it ignores the
    /// error of `json.Unmarshal`, so a nodemap it cannot parse leaves no association, and a host
    /// without one reads `/services/<svc>/conf`.
    pub fn go_reads(data: &str, service: &str, host: &str) -> String {
        let map = if data.is_empty() { Nodemap::new() } else { json(data).unwrap_or_default() };
        map.get(host).cloned().unwrap_or_else(|| format!("/services/{service}/conf"))
    }
}

/// The published Jones 0.5.x client (PyPI `jones` 0.5.4, installed by
/// `scripts/install-jones-client.sh`): its own `JonesClient._deserialize_nodemap` run on `data`.
/// Returns the associations it reads, or the Python exception it raises.
fn published_05_parser(data: &str) -> Result<rules::Nodemap, String> {
    use std::io::Write;
    let python = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/jones-client/bin/python");
    assert!(
        python.exists(),
        "the published Jones client is not installed: run scripts/install-jones-client.sh (scripts/test.sh does)"
    );
    // jones 0.5.4 imports `collections.Mapping` (moved to `collections.abc` in Python 3.10) and
    // kazoo's DataWatch (for watching only): both shimmed, the parser itself runs as published.
    let script = r#"
import collections, collections.abc, json, sys, types
collections.Mapping = collections.abc.Mapping
watchers = types.ModuleType("kazoo.recipe.watchers")
watchers.DataWatch = object
sys.modules.update({"kazoo": types.ModuleType("kazoo"), "kazoo.recipe": types.ModuleType("kazoo.recipe"),
                    "kazoo.recipe.watchers": watchers})
from jones.client import JonesClient
try:
    print(json.dumps({"ok": JonesClient._deserialize_nodemap(sys.stdin.read())}))
except Exception as error:
    print(json.dumps({"error": type(error).__name__}))
"#;
    let mut child = std::process::Command::new(python)
        .args(["-c", script])
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(data.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "the published client's parser ran");
    let answer: Value = serde_json::from_slice(&output.stdout).unwrap();
    match answer.get("ok") {
        Some(map) => Ok(serde_json::from_value(map.clone()).unwrap()),
        None => Err(answer["error"].as_str().unwrap().to_string()),
    }
}

/// What jones-sync writes in `legacy` mode is what the published 0.5.x client reads: each host
/// pointing at its environment's view. And the rule the other tests replicate (`rules::client_05`)
/// agrees with the published parser on every kind of nodemap, well formed or not.
#[test]
fn the_published_0_5_client_reads_the_legacy_nodemaps_jones_sync_writes() {
    let t = Test::new("pyclient");
    t.write("jones-sync.toml", "[sync]\nnodemap_format = \"legacy\"\n")
        .write("services/s/config.toml", "a = 1\n")
        .write("services/s/prod/hosts.toml", "hosts = [\"web1.example.com\", \"web-2\", \"with space\"]\n")
        .write("services/s/prod/eu/hosts.toml", "hosts = [\"eu_1\", \"Mixed.Case\"]\n")
        .write("services/s/dev/hosts.toml", "hosts = [\"dev1\"]\n");
    t.run(&["apply", "--yes"]).success();
    let nodemap = &t.tree()["/services/s/nodemaps"];
    let read = published_05_parser(nodemap).unwrap_or_else(|err| panic!("{err} on {nodemap:?}"));
    let view = |env: &str| format!("/services/s/views/{env}");
    let expected: rules::Nodemap = [
        ("web1.example.com", view("prod")),
        ("web-2", view("prod")),
        ("with space", view("prod")),
        ("eu_1", view("prod/eu")),
        ("Mixed.Case", view("prod/eu")),
        ("dev1", view("dev")),
    ]
    .into_iter()
    .map(|(host, path)| (host.to_string(), path))
    .collect();
    assert_eq!(read, expected);

    let corpus = [
        "",
        "h -> /services/s/views/a",
        "h -> /services/s/views/a\nk -> /services/s/views/b",
        "h -> /services/s/views/a\n",
        "h -> /services/s/views/a\r\nk -> /services/s/views/b",
        "h -> a -> b",
        "h ->/services/s/views/a",
        " -> /services/s/views/a",
        "{\"h\": \"/services/s/views/a\"}",
        "\n",
        nodemap,
    ];
    for data in corpus {
        let published = published_05_parser(data);
        let replicated = rules::client_05(data);
        assert_eq!(published.is_ok(), replicated.is_ok(), "{data:?}: {published:?} vs {replicated:?}");
        if let (Ok(published), Ok(replicated)) = (published, replicated) {
            assert_eq!(published, replicated, "{data:?}");
        }
    }
}
