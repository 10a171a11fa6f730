//! get and tree: what a host reads, for people and machines, once and watching.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use crate::util::Test;

fn applied(name: &str) -> Test {
    let t = Test::new(name);
    t.write("services/s/config.toml", "timeout = 30\nname = \"s\"\n")
        .write("services/s/prod/config.toml", "timeout = 60\n")
        .write("services/s/prod/hosts.toml", "hosts = [\"web1\"]\n")
        .write("services/s/prod/canary/config.toml", "canary = true\n")
        .write("services/s/prod/canary/hosts.toml", "hosts = [\"c1\", \"c2\"]\n")
        .write("services/s/dev/config.toml", "debug = true\n");
    t.run(&["apply", "--yes"]).success();
    t
}

#[test]
fn get_shows_what_a_host_reads_and_where_from() {
    let t = applied("get");
    t.run(&["get", "s", "--host", "web1"]).success().stdout(
        "s on web1 reads `/services/s/views/prod` (environment `prod`), as Jones 1.x clients (Python, Go, Ruby) \
         resolve it; the 0.5.x Python client cannot parse a JSON nodemap\n{\n  \"name\": \"s\",\n  \"timeout\": 60\n}\n",
    );
    t.run(&["get", "s", "--host", "stranger"]).success().stdout(
        "s on stranger reads `/services/s/conf` (the root: it has no association)\n{\n  \"name\": \"s\",\n  \"timeout\": 30\n}\n",
    );
    t.run(&["get", "s", "--host", "c1", "--repo-only"]).success().stdout(
        "s on c1 reads `/services/s/views/prod/canary` (environment `prod/canary`), as Jones 1.x clients (Python, Go, \
         Ruby) resolve it; the 0.5.x Python client cannot parse a JSON nodemap, according to the repository\n\
         {\n  \"canary\": true,\n  \"name\": \"s\",\n  \"timeout\": 60\n}\n",
    );
    t.run(&["get", "s", "--host", "c1", "--key", "name"]).success().stdout("s\n");
    t.run(&["get", "s", "--host", "c1", "--key", "name", "--format", "json"]).success().stdout("\"s\"\n");
    t.run(&["get", "s", "--host", "c1", "--key", "timeout"]).success().stdout("60\n");
    t.run(&["get", "s", "--host", "c1", "--key", "nope"])
        .code(1)
        .stderr("error: `s` on `c1` reads no key `nope` (it reads `/services/s/views/prod/canary`)\n");
    t.run(&["get", "nothing", "--host", "c1"]).code(1).stderr(
        "error: `/services/nothing/nodemaps` does not exist, so a Jones client of `nothing` fails: is `nothing` a Jones service?\n",
    );
    // A nodemap pointing at a view that is gone fails as it fails a Jones client.
    t.zk_write("/services/s/nodemaps", r#"{"web1": "/services/s/views/gone"}"#);
    t.run(&["get", "s", "--host", "web1"])
        .code(1)
        .stderr("error: `/services/s/views/gone`, which `web1` reads according to the nodemap, does not exist\n");
}

#[test]
fn get_watch_sees_an_apply_and_a_host_move() {
    let t = applied("getwatch");
    let mut child = Command::new(assert_cmd::cargo::cargo_bin("jones-sync"))
        .args(["get", "s", "--host", "web1", "--format", "json", "--watch", "--zk", &t.zk])
        .env("JONES_SYNC_CACHE", crate::util::test_cache())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let (lines, received) = mpsc::channel();
    let stdout = child.stdout.take().unwrap();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            if lines.send(line.unwrap()).is_err() {
                break;
            }
        }
    });
    let next = || received.recv_timeout(Duration::from_secs(60)).expect("the watch prints within a minute");
    assert_eq!(next(), r#"{"name":"s","timeout":60}"#);
    t.write("services/s/prod/config.toml", "timeout = 90\n");
    t.run(&["apply", "--yes"]).success();
    assert_eq!(next(), r#"{"name":"s","timeout":90}"#);
    // A move to another environment: the watch follows the host.
    t.write("services/s/dev/hosts.toml", "hosts = [\"web1\"]\n").remove("services/s/prod/hosts.toml");
    t.run(&["apply", "--yes"]).success();
    assert_eq!(next(), r#"{"debug":true,"name":"s","timeout":30}"#);
    // Another host's move does not reach web1: nothing is printed for it.
    t.write("services/s/dev/hosts.toml", "hosts = [\"web1\", \"c2\"]\n")
        .write("services/s/prod/canary/hosts.toml", "hosts = [\"c1\"]\n");
    t.run(&["apply", "--yes"]).success();
    t.write("services/s/config.toml", "timeout = 30\nname = \"renamed\"\n");
    t.run(&["apply", "--yes"]).success();
    assert_eq!(next(), r#"{"debug":true,"name":"renamed","timeout":30}"#);
    child.kill().unwrap();
    child.wait().unwrap();
}

#[test]
fn tree_shows_own_and_inherited_keys_live_and_from_the_repository() {
    let t = applied("tree");
    let expected = "\
s
(root) · 0 hosts
│   name = \"s\"
│   timeout = 30
├── dev · 0 hosts
│       debug = true
│       name = \"s\"    (from root)
│       timeout = 30  (from root)
└── prod · 1 host
    │   name = \"s\"    (from root)
    │   timeout = 60  (overrides root)
    └── canary · 2 hosts
            canary = true
            name = \"s\"     (from root)
            timeout = 60   (from prod)
";
    t.run(&["tree", "s"]).success().stdout(expected).stderr("");
    t.run(&["tree", "s", "--repo-only"]).success().stdout(expected);
    t.run(&["tree", "nope"]).code(1).stderr("error: no service `nope` in ZooKeeper\n");
}
