//! plan and apply against a real ZooKeeper.

use std::collections::BTreeMap;

use crate::util::Test;

fn tree(entries: &[(&str, &str)]) -> BTreeMap<String, String> {
    entries.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

#[test]
fn create_from_empty_then_no_changes() {
    let t = Test::new("create");
    t.write("services/shop/config.toml", "timeout = 30\nname = \"shop\"\n")
        .write("services/shop/prod/config.toml", "timeout = 45\n")
        .write("services/shop/prod/hosts.toml", "hosts = [\"web1\"]\n");
    t.run(&["plan", "--detailed-exitcode"]).code(2).stdout(
        "\
+ /services (the parent of every service)

shop: 7 to create, 0 to update, 0 to delete, not managed by jones-sync yet
  + /services/shop (service)
  + /services/shop/conf (conf)
      + name = \"shop\"
      + timeout = 30
  + /services/shop/conf/prod (conf)
      + timeout = 45
  + /services/shop/jones-sync (record of this apply)
  + /services/shop/nodemaps (nodemap)
      + web1 = \"/services/shop/views/prod\"
  + /services/shop/views (view, derived)
      + name = \"shop\"
      + timeout = 30
  + /services/shop/views/prod (view, derived)
      + name = \"shop\"
      + timeout = 45
  Blast radius: 1 host (1 moving) and all unassociated hosts
    (root): every host without an association
    prod (view created): no hosts
    web1 moves from (no association) to prod
        + name = \"shop\"
        + timeout = 45

Plan: 8 to create, 0 to update, 0 to delete. Reaches 1 host (1 moving) and all unassociated hosts of shop.
",
    );
    let applied = t.run(&["apply", "--yes"]).success();
    assert!(applied.stdout.ends_with("Apply complete: 8 created, 0 updated, 0 deleted.\n"), "{}", applied.stdout);
    assert_eq!(
        t.config_tree(),
        tree(&[
            ("/services", ""),
            ("/services/shop", ""),
            ("/services/shop/conf", r#"{"name":"shop","timeout":30}"#),
            ("/services/shop/conf/prod", r#"{"timeout":45}"#),
            ("/services/shop/nodemaps", r#"{"web1":"/services/shop/views/prod"}"#),
            ("/services/shop/views", r#"{"name":"shop","timeout":30}"#),
            ("/services/shop/views/prod", r#"{"name":"shop","timeout":45}"#),
        ])
    );
    t.run(&["plan", "--detailed-exitcode"])
        .code(0)
        .stdout("shop: no changes\n\nNo changes. ZooKeeper matches the repository.\n");
}

/// A repository with a three-level tree, applied.
fn applied_tree(name: &str) -> Test {
    let t = Test::new(name);
    t.write("services/s/config.toml", "timeout = 30\n[db]\nhost = \"db0\"\nport = 5432\n")
        .write("services/s/prod/config.toml", "region = \"us\"\n")
        .write("services/s/prod/hosts.toml", "hosts = [\"p1\"]\n")
        .write("services/s/prod/canary/config.toml", "[db]\nhost = \"db9\"\n")
        .write("services/s/prod/canary/hosts.toml", "hosts = [\"c1\", \"c2\"]\n")
        .write("services/s/dev/config.toml", "debug = true\n");
    t.run(&["apply", "--yes"]).success();
    t
}

#[test]
fn a_child_table_replaces_the_inherited_table_whole() {
    let t = applied_tree("shallow");
    let tree = t.config_tree();
    assert_eq!(tree["/services/s/views/prod"], r#"{"db":{"host":"db0","port":5432},"region":"us","timeout":30}"#);
    // `port` is not inherited: the canary's [db] replaces the root's [db] whole (Python's dict.update).
    assert_eq!(tree["/services/s/views/prod/canary"], r#"{"db":{"host":"db9"},"region":"us","timeout":30}"#);
    assert_eq!(tree["/services/s/conf/prod/canary"], r#"{"db":{"host":"db9"}}"#);
}

#[test]
fn a_parent_key_change_reaches_every_descendant_view() {
    let t = applied_tree("parent");
    let before = t.config_tree();
    t.write("services/s/config.toml", "timeout = 60\n[db]\nhost = \"db0\"\nport = 5432\n");
    t.run(&["plan"]).success().stdout(
        "\
s: 0 to create, 6 to update, 0 to delete
  ~ /services/s/conf (conf)
      ~ timeout: 30 → 60
  ~ /services/s/jones-sync (record of this apply)
  ~ /services/s/views (view, derived)
      ~ timeout: 30 → 60
  ~ /services/s/views/dev (view, derived)
      ~ timeout: 30 → 60
  ~ /services/s/views/prod (view, derived)
      ~ timeout: 30 → 60
  ~ /services/s/views/prod/canary (view, derived)
      ~ timeout: 30 → 60
  Blast radius: 3 hosts and all unassociated hosts
    (root): every host without an association
    dev (view updated): no hosts
    prod (view updated): p1
    prod/canary (view updated): c1, c2

Plan: 0 to create, 6 to update, 0 to delete. Reaches 3 hosts and all unassociated hosts of s.
",
    );
    t.run(&["apply", "--yes"]).success();
    let after = t.config_tree();
    let changed: Vec<&str> =
        after.iter().filter(|(path, data)| before.get(*path) != Some(*data)).map(|(path, _)| path.as_str()).collect();
    assert_eq!(
        changed,
        [
            "/services/s/conf",
            "/services/s/views",
            "/services/s/views/dev",
            "/services/s/views/prod",
            "/services/s/views/prod/canary"
        ]
    );
    assert!(after["/services/s/views/prod/canary"].contains(r#""timeout":60"#));
    t.run(&["plan", "--detailed-exitcode"]).code(0);
}

#[test]
fn moving_a_host_rewrites_only_the_nodemap() {
    let t = applied_tree("move");
    t.write("services/s/prod/canary/hosts.toml", "hosts = [\"c2\"]\n")
        .write("services/s/dev/hosts.toml", "hosts = [\"c1\"]\n");
    t.run(&["plan"]).success().stdout(
        "\
s: 0 to create, 2 to update, 0 to delete
  ~ /services/s/jones-sync (record of this apply)
  ~ /services/s/nodemaps (nodemap)
      ~ c1: \"/services/s/views/prod/canary\" → \"/services/s/views/dev\"
  Blast radius: 1 host (1 moving)
    c1 moves from prod/canary to dev
        ~ db: {\"host\":\"db9\"} → {\"host\":\"db0\",\"port\":5432}
        + debug = true
        - region = \"us\"

Plan: 0 to create, 2 to update, 0 to delete. Reaches 1 host (1 moving).
",
    );
    t.run(&["apply", "--yes"]).success();
    assert_eq!(
        t.config_tree()["/services/s/nodemaps"],
        r#"{"c1":"/services/s/views/dev","c2":"/services/s/views/prod/canary","p1":"/services/s/views/prod"}"#
    );
}

#[test]
fn deleting_an_environment_removes_its_subtree_children_first() {
    let t = applied_tree("delete");
    t.remove("services/s/prod");
    let plan = t.run(&["plan"]).success();
    assert!(
        plan.stdout.ends_with(
            "Plan: 0 to create, 2 to update, 4 to delete. Reaches 3 hosts (3 moving).\n\
             Mass deletion: s (flagged above): applying this plan needs --allow-mass-delete.\n"
        ),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains("  - /services/s/conf/prod/canary (conf)\n      - db = {\"host\":\"db9\"}\n"),
        "{}",
        plan.stdout
    );
    // Two of its three child environments go: a mass deletion, which apply refuses unless allowed.
    t.run(&["apply", "--yes"]).code(1);
    t.run(&["apply", "--yes", "--allow-mass-delete"]).success();
    let paths: Vec<String> = t.config_tree().into_keys().collect();
    assert_eq!(
        paths,
        [
            "/services",
            "/services/s",
            "/services/s/conf",
            "/services/s/conf/dev",
            "/services/s/nodemaps",
            "/services/s/views",
            "/services/s/views/dev"
        ]
    );
    assert_eq!(t.config_tree()["/services/s/nodemaps"], "{}");
}

#[test]
fn services_only_in_zookeeper_are_listed_and_left_alone() {
    let t = Test::new("unmanaged");
    t.zk_write("/services/legacy/conf", r#"{"hand": "made"}"#);
    t.write("services/s/config.toml", "a = 1\n");
    let plan = t.run(&["plan"]).success();
    assert!(plan.stdout.contains("\nNot in the repository (left untouched): legacy\n"), "{}", plan.stdout);
    t.run(&["apply", "--yes"]).success();
    assert_eq!(t.tree()["/services/legacy/conf"], r#"{"hand": "made"}"#);
}

#[test]
fn the_record_says_what_was_applied_by_whom() {
    let t = Test::new("record");
    t.write("services/s/config.toml", "a = 1\n");
    t.run(&["apply", "--yes", "--actor", "ci-bot"]).success();
    let record: serde_json::Value = serde_json::from_str(&t.tree()["/services/s/jones-sync"]).unwrap();
    assert_eq!(record["sha"], serde_json::Value::Null, "not a git repository");
    assert_eq!(record["actor"], "ci-bot");
    assert_eq!(record["tool"]["name"], "jones-sync");
    assert_eq!(record["tool"]["version"], env!("CARGO_PKG_VERSION"));
    let applied_at = record["applied_at"].as_str().unwrap();
    assert!(applied_at.parse::<jiff::Timestamp>().is_ok() && applied_at.ends_with('Z'), "{applied_at}");
    // Without --actor, $USER.
    t.write("services/s/config.toml", "a = 2\n");
    t.run(&["apply", "--yes"]).success();
    let record: serde_json::Value = serde_json::from_str(&t.tree()["/services/s/jones-sync"]).unwrap();
    assert_eq!(record["actor"], "tester");
}

#[test]
fn apply_without_a_terminal_needs_yes() {
    let t = Test::new("noyes");
    t.write("services/s/config.toml", "a = 1\n");
    let out = t.run(&["apply"]).code(1);
    assert!(
        out.stderr.contains("refusing to apply without confirmation: stdin is not a terminal (pass --yes"),
        "{}",
        out.stderr
    );
    assert!(t.tree().is_empty(), "nothing written");
}

/// Regression: `apply` refused (no terminal, no `--yes`) or answered "no" on a cluster without
/// `/services` created `/services` for its locks, and sometimes left it (a race between the
/// clean-up of several services' lock nodes). A service ZooKeeper does not hold is not locked
/// now (its first transaction creates it), and a command that cannot be confirmed is refused
/// before it connects; a service made by Jones gets its lock's nodes removed, deepest first.
#[test]
fn a_refused_or_cancelled_apply_writes_nothing() {
    let t = Test::new("cancelled");
    for svc in ["a", "b", "c", "d"] {
        t.write(&format!("services/{svc}/config.toml"), "v = 1\n");
    }
    for _ in 0..3 {
        let out = t.run(&["apply"]).code(1);
        assert!(out.stderr.ends_with("nothing was read or written\n"), "{}", out.stderr);
        assert!(t.tree().is_empty(), "refused: nothing written");
        let out = t.run_on_terminal(&["apply"], || "no".into());
        assert!(out.stdout.ends_with("apply cancelled: nothing was written\n"), "{}", out.stdout);
        assert!(t.tree().is_empty(), "cancelled: nothing written: {:?}", t.tree());
    }
    // Services made by the Jones web UI (no record yet) next to new ones: the locks' nodes go.
    t.zk_write("/services", "");
    for svc in ["a", "b"] {
        t.zk_write(&format!("/services/{svc}"), "");
        t.zk_write(&format!("/services/{svc}/conf"), r#"{"v": 0}"#);
    }
    let before = t.tree();
    for _ in 0..3 {
        t.run_on_terminal(&["apply"], || "no".into());
        assert_eq!(t.tree(), before, "cancelled: nothing written");
    }
}

/// Regression: an interactive apply whose lock went while it waited at the prompt (its session
/// expired, or `unlock` removed it as hung) wrote anyway. Every transaction checks the lock node.
#[test]
fn an_apply_whose_lock_went_during_the_prompt_writes_nothing() {
    let t = Test::new("lostlock");
    t.write("services/s/config.toml", "a = 1\n");
    t.run(&["apply", "--yes"]).success();
    t.write("services/s/config.toml", "a = 2\n");
    let out = t.run_on_terminal(&["apply"], || {
        let lock = t.tree().into_keys().find(|p| p.starts_with("/services/s/jones-sync/locks/lock-")).unwrap();
        let id = lock.rsplit('/').next().unwrap().to_string();
        t.run(&["unlock", "s", "--id", &id]).success();
        "yes".into()
    });
    assert_eq!(out.code, 1, "{}", out.stdout);
    assert!(
        out.stdout.contains(
            "error: s: this apply's lock on `s` is gone (its session expired while the process was stalled, or \
             `jones-sync unlock` removed it), so nothing of the transaction was written; run apply again\n"
        ),
        "{}",
        out.stdout
    );
    assert_eq!(t.tree()["/services/s/conf"], r#"{"a":1}"#);
}

#[test]
fn global_options_work_after_the_subcommand() {
    let t = Test::new("global");
    t.write("services/s/config.toml", "a = 1\n");
    let repo = t.repo.path().to_str().unwrap().to_string();
    let out = crate::util::run_in(std::path::Path::new("/"), "127.0.0.1:1", &["plan", "--repo", &repo, "--zk", &t.zk]);
    out.success();
}

#[test]
fn unreachable_zookeeper_is_a_clear_error_in_bounded_time() {
    let t = Test::new("unreachable");
    t.write("services/s/config.toml", "a = 1\n");
    let port = crate::zookeeper::free_port();
    let address = format!("127.0.0.1:{port}");
    let started = std::time::Instant::now();
    let out = t.run(&["plan", "--zk", &address, "--connect-timeout", "5"]).code(1);
    assert!(started.elapsed() < std::time::Duration::from_secs(10), "took {:?}", started.elapsed());
    assert_eq!(out.stdout, "");
    assert_eq!(
        out.stderr,
        format!(
            "error: cannot connect to ZooKeeper at `{address}`: no server is reachable within 5s (is ZooKeeper running?)\n"
        )
    );
}

#[test]
fn a_missing_chroot_is_named() {
    let t = Test::new("chroot");
    t.write("services/s/config.toml", "a = 1\n");
    let connect = format!("{}/no-such-chroot", crate::zookeeper::server().address());
    t.run(&["plan", "--zk", &connect])
        .code(1)
        .stderr(&format!("error: the chroot of `{connect}` does not exist in ZooKeeper: create that node first\n"));
}

#[test]
fn a_plan_of_many_services_is_the_same_read_in_windows() {
    // More services than one window of live reads: changes, view-integrity findings and the
    // services the repository lacks are found in every window.
    let t = Test::new("windows");
    let names: Vec<String> = (0..70).map(|i| format!("s{i:02}")).collect();
    for name in &names {
        t.write(&format!("services/{name}/config.toml"), "v = 1\n")
            .write(&format!("services/{name}/e/config.toml"), "");
    }
    t.run(&["apply", "--yes"]).success();
    t.zk_write("/services/legacy/conf", "{}");
    t.zk_write("/services/s50-manual/conf", "{}");
    t.zk_write("/services/s40/views/e", r#"{"v": 7}"#);
    t.write("services/s05/config.toml", "v = 2\n").write("services/s69/config.toml", "v = 3\n");

    let out = t.run(&["plan", "--format", "json"]).success();
    let plan: serde_json::Value = serde_json::from_str(&out.stdout).unwrap();
    let services = plan["services"].as_array().unwrap();
    assert_eq!(services.iter().map(|s| s["name"].as_str().unwrap()).collect::<Vec<_>>(), names);
    let changed: Vec<(&str, Vec<&str>)> = services
        .iter()
        .filter(|s| !s["changes"].as_array().unwrap().is_empty())
        .map(|s| {
            let paths = s["changes"].as_array().unwrap().iter().map(|c| c["path"].as_str().unwrap()).collect();
            (s["name"].as_str().unwrap(), paths)
        })
        .collect();
    assert_eq!(
        changed,
        [
            (
                "s05",
                vec!["/services/s05/conf", "/services/s05/jones-sync", "/services/s05/views", "/services/s05/views/e"]
            ),
            ("s40", vec!["/services/s40/jones-sync", "/services/s40/views/e"]),
            (
                "s69",
                vec!["/services/s69/conf", "/services/s69/jones-sync", "/services/s69/views", "/services/s69/views/e"]
            ),
        ]
    );
    let findings: Vec<&str> = services
        .iter()
        .flat_map(|s| s["view_integrity"].as_array().unwrap())
        .map(|f| f["path"].as_str().unwrap())
        .collect();
    assert_eq!(findings, ["/services/s40/views/e"]);
    assert_eq!(plan["unmanaged_services"], serde_json::json!(["legacy", "s50-manual"]));
    assert_eq!(plan["create_root"], false);
}

/// Regression: each figure meant something else. Apply counted `/services` into the first
/// service's line (17 created where the plan said 16 and the history +15); `validate` counted a
/// host once per service (36) where `plan` counted it once (32). Now a service's figures are the
/// plan's everywhere (its nodes and its record), `/services` has a line of its own, and a host is
/// a host wherever it is associated.
#[test]
fn plan_apply_history_and_validate_count_alike() {
    let t = Test::new("counts");
    for (svc, hosts) in [("a", "[\"h1\", \"shared\"]"), ("b", "[\"h2\", \"shared\"]")] {
        t.write(&format!("services/{svc}/config.toml"), "x = 1\n")
            .write(&format!("services/{svc}/e/hosts.toml"), &format!("hosts = {hosts}\n"));
    }
    t.commit_all("Two services");
    t.run(&["validate"])
        .success()
        .stdout("The repository is valid: 2 services, 4 environments, 3 hosts (4 associations: some hosts are in several services).\n");
    let plan = t.run(&["plan"]).success().stdout;
    assert!(plan.starts_with("+ /services (the parent of every service)\n\na: 7 to create,"), "{plan}");
    assert!(plan.contains("\nb: 7 to create, 0 to update, 0 to delete,"), "{plan}");
    assert!(plan.contains("\nPlan: 15 to create, 0 to update, 0 to delete. Reaches 3 hosts"), "{plan}");
    let applied = t.run(&["apply", "--yes"]).success().stdout;
    let report: Vec<&str> = applied.rsplit("\n\n").next().unwrap().lines().collect();
    let report: Vec<String> = report.iter().map(|line| line.split(", zxid").next().unwrap().to_string()).collect();
    assert_eq!(
        report,
        [
            "/services: created",
            "a: applied in one transaction: 7 created, 0 updated, 0 deleted",
            "b: applied in one transaction: 7 created, 0 updated, 0 deleted",
            "Apply complete: 15 created, 0 updated, 0 deleted."
        ]
    );
    for svc in ["a", "b"] {
        let history = t.run(&["history", svc]).success().stdout;
        assert!(history.lines().nth(1).unwrap().contains("  +7 ~0 -0  "), "{history}");
    }
    t.write("services/a/config.toml", "x = 2\n");
    t.commit_all("x = 2");
    let status = t.run(&["status"]).success().stdout;
    assert!(status.contains("\na        ") && status.contains("  4 changes to apply  -\n"), "{status}");
    let plan = t.run(&["plan"]).success().stdout;
    assert!(plan.starts_with("a: 0 to create, 4 to update, 0 to delete\n"), "{plan}");
    let applied = t.run(&["apply", "--yes"]).success().stdout;
    assert!(applied.contains("\na: applied in one transaction: 0 created, 4 updated, 0 deleted"), "{applied}");
    assert!(t.run(&["history", "a"]).success().stdout.lines().nth(1).unwrap().contains("  +0 ~4 -0  "));
}

/// Regression: someone who read the plan for more than a few seconds before typing `yes` lost the
/// ZooKeeper session. The command's only thread sat in the prompt, so nobody served the session:
/// the client gives a connection up after 4 s without a reply, and ZooKeeper expires a session (and
/// its locks) after 10 s. The apply then had to recover from a loss it caused itself. The session
/// is now served on a thread of its own: a slow answer applies as an instant one does.
#[test]
fn a_slow_answer_at_the_prompt_keeps_the_session_and_its_locks() {
    let t = Test::new("slowyes");
    t.write("services/s/config.toml", "a = 1\n");
    let out = t
        .run_on_terminal(&["apply"], || {
            // Longer than the session timeout (10 s).
            std::thread::sleep(std::time::Duration::from_secs(12));
            "yes".into()
        })
        .success();
    // No recovery note: nothing was lost.
    let report: Vec<&str> = out.stdout.rsplit("\n\n").next().unwrap().lines().collect();
    let zxid = report
        .get(1)
        .and_then(|line| line.strip_prefix("s: applied in one transaction: 5 created, 0 updated, 0 deleted, zxid 0x"));
    assert!(zxid.is_some_and(|z| z.chars().all(|c| c.is_ascii_hexdigit())), "{}", out.stdout);
    assert_eq!([report[0], report[2]], ["/services: created", "Apply complete: 6 created, 0 updated, 0 deleted."]);
    t.run(&["plan", "--detailed-exitcode"]).code(0);
}
