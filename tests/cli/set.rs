//! `jones-sync set`: the audited emergency edit, and how plan, apply and status keep it.

use std::time::Duration;

use serde_json::{Value, json};

use crate::jones_client::client_reads;
use crate::util::Test;
use crate::zookeeper::block_on;

/// `shop`: the root (`feature = false`), `prod` (host web1) and `prod/eu` (host web2), applied.
fn applied(name: &str) -> Test {
    let t = Test::new(name);
    t.write("services/shop/config.toml", "# switches\nfeature = false\npct = 0.25\n")
        .write("services/shop/prod/config.toml", "timeout = 45\n[db]\npool = 5\n")
        .write("services/shop/prod/hosts.toml", "hosts = [\"web1\"]\n")
        .write("services/shop/prod/eu/hosts.toml", "hosts = [\"web2\"]\n")
        .write("services/shop/dev/hosts.toml", "hosts = [\"dev1\"]\n");
    t.commit_all("first");
    t.run(&["apply", "--yes"]).success();
    t
}

fn reads(t: &Test, host: &str) -> Value {
    let zk = block_on(crate::zookeeper::raw(&t.zk, Duration::from_secs(10)));
    block_on(client_reads(&zk, "shop", host))
}

#[test]
fn set_flips_a_switch_every_client_below_sees_and_apply_refuses_to_undo_it() {
    let t = applied("set_switch");
    let out = t
        .run(&[
            "set",
            "shop",
            "--env",
            "prod",
            "feature=true",
            "db.pool=8",
            "--reason",
            "load",
            "--yes",
            "--actor",
            "alice",
        ])
        .success();
    // The change and its blast radius: prod and prod/eu, not dev.
    assert!(out.stdout.contains("+ feature = true"), "{}", out.stdout);
    assert!(out.stdout.contains("Blast radius: 2 hosts"), "{}", out.stdout);
    assert!(out.stdout.contains("differs from its commit on purpose"), "{}", out.stdout);
    // A Jones client sees it at once, in the environment and every child; the others do not.
    let switched = json!({"feature": true, "pct": 0.25, "timeout": 45, "db": {"pool": 8}});
    assert_eq!(reads(&t, "web1"), switched);
    assert_eq!(reads(&t, "web2"), switched);
    assert_eq!(reads(&t, "dev1"), json!({"feature": false, "pct": 0.25}));
    // The plan shows it apart, and that it would undo it; apply refuses, naming it and the ways out.
    let plan = t.run(&["plan"]).success();
    assert!(
        plan.stdout.contains("Break-glass edit: prod: `feature` set, `db.pool` set by alice at "),
        "{}",
        plan.stdout
    );
    let json_plan: Value = serde_json::from_str(&t.run(&["plan", "--format", "json"]).success().stdout).unwrap();
    assert_eq!(json_plan["format_version"], "1.5.0");
    let kept = &json_plan["services"][0]["break_glass"][0];
    assert_eq!(
        (&kept["env"], &kept["actor"], &kept["reason"], &kept["undone"]),
        (&json!("prod"), &json!("alice"), &json!("load"), &json!(true))
    );
    let before = t.tree();
    let refused = t.run(&["apply", "--yes"]).code(1);
    assert!(refused.stderr.contains("refusing to undo break-glass edits"), "{}", refused.stderr);
    assert!(refused.stderr.contains("jones-sync apply --revert-break-glass"), "{}", refused.stderr);
    assert_eq!(t.tree(), before, "nothing written");
    // status lists it.
    let status = t.run(&["status"]).success();
    assert!(status.stdout.contains("break-glass edit, "), "{}", status.stdout);
    assert!(status.stdout.contains("shop prod: `feature` set, `db.pool` set by alice"), "{}", status.stdout);
    // The audit log has it, by alice, at the commit the service was at.
    let history: Value =
        serde_json::from_str(&t.run(&["history", "shop", "--format", "json"]).success().stdout).unwrap();
    assert_eq!(history[0]["actor"], "alice");
    assert_eq!(history[0]["sha"], t.rev("HEAD").as_str());
    let history = t.run(&["history", "shop"]).success().stdout;
    assert!(history.contains("first [break-glass prod feature db.pool: load]"), "{history}");
    // Once the repository holds the same values, there is nothing to do.
    t.write("services/shop/prod/config.toml", "feature = true\ntimeout = 45\n[db]\npool = 8\n");
    t.commit_all("keep the switch");
    assert_eq!(t.run(&["plan", "--detailed-exitcode"]).code, 0);
    assert!(!t.run(&["status"]).success().stdout.contains("break-glass"));
}

#[test]
fn apply_reverts_a_break_glass_edit_only_when_told() {
    let t = applied("set_revert");
    t.run(&["set", "shop", "pct=0.0", "--delete", "feature", "--yes"]).success();
    assert_eq!(reads(&t, "dev1"), json!({"pct": 0.0}));
    t.run(&["apply", "--yes"]).code(1);
    // A saved plan too: judged from live state when it is applied.
    let file = t.path("plan.json");
    t.run(&["plan", "--out", file.to_str().unwrap()]).success();
    let refused = t.run(&["apply", "--yes", file.to_str().unwrap()]).code(1);
    assert!(refused.stderr.contains("shop (root): `pct` set, `feature` deleted by "), "{}", refused.stderr);
    t.run(&["apply", "--yes", "--revert-break-glass"]).success();
    assert_eq!(reads(&t, "dev1"), json!({"feature": false, "pct": 0.25}));
    // The record of that apply lists no break-glass edit any more.
    let record: Value = serde_json::from_str(&t.tree()["/services/shop/jones-sync"]).unwrap();
    assert!(record.get("break_glass").is_none(), "{record}");
    assert_eq!(t.run(&["plan", "--detailed-exitcode"]).code, 0);
}

#[test]
fn bad_set_input_is_refused_before_anything_is_written() {
    let t = applied("set_refused");
    t.write("jones-sync.toml", "[zookeeper]\nmax_node_bytes = 400\n");
    let before = t.tree();
    let refused = |args: &[&str], says: &str| {
        let mut all = vec!["set", "shop"];
        all.extend_from_slice(args);
        all.push("--yes");
        let out = t.run(&all).code(1);
        assert!(out.stderr.contains(says), "{args:?}: {}", out.stderr);
    };
    refused(&["--env", "prdo", "feature=true"], "has no environment `prdo` (it has: (root), dev, prod, prod/eu)");
    refused(&["greeting=hello"], "quote text: `greeting=\"hello\"`");
    refused(&["big=9223372036854775808"], "64 bits");
    refused(&[], "nothing to set");
    refused(&["feature.on=true"], "`feature` is not a table");
    refused(&["--delete", "nothing"], "no key `nothing` to delete");
    let long = format!("blob=\"{}\"", "x".repeat(500));
    refused(&[&long], "refusing the edit");
    // A service jones-sync does not manage, or does not exist.
    t.zk_write("/services/raw/conf", "{}");
    let out = t.run(&["set", "raw", "a=1", "--yes"]).code(1);
    assert!(out.stderr.contains("not managed by jones-sync"), "{}", out.stderr);
    let out = t.run(&["set", "nosuch", "a=1", "--yes"]).code(1);
    assert!(out.stderr.contains("there is no service `nosuch`"), "{}", out.stderr);
    // A live state that is not what jones-sync writes (a view edited by hand).
    t.zk_write("/services/shop/views/dev", r#"{"feature": true}"#);
    let out = t.run(&["set", "shop", "pct=0.5", "--yes"]).code(1);
    assert!(out.stderr.contains("/services/shop/views/dev"), "{}", out.stderr);
    let mut expected = before;
    expected.insert("/services/raw".into(), String::new());
    expected.insert("/services/raw/conf".into(), "{}".into());
    expected.insert("/services/shop/views/dev".into(), r#"{"feature": true}"#.into());
    assert_eq!(t.tree(), expected, "nothing written by set");
}

#[test]
fn set_waits_for_an_apply_holding_the_lock_and_gives_up_without_writing() {
    let t = applied("set_locked");
    let before = t.tree();
    let (_holder, _lock) = crate::util::hold_lock(&t.zk, "shop");
    let out = t.run(&["set", "shop", "feature=true", "--yes", "--lock-timeout", "1"]).code(1);
    assert!(out.stderr.contains("other-ci"), "names who holds the lock: {}", out.stderr);
    let after: std::collections::BTreeMap<String, String> =
        t.tree().into_iter().filter(|(path, _)| !path.contains("/locks/")).collect();
    let before: std::collections::BTreeMap<String, String> =
        before.into_iter().filter(|(path, _)| !path.contains("/locks/")).collect();
    assert_eq!(after, before);
}

#[test]
fn pull_writes_a_break_glass_edit_into_the_files_keeping_everything_else_byte_for_byte() {
    let t = applied("pull_set");
    t.run(&["set", "shop", "--env", "prod", "db.pool=8", "flag=true", "--yes"]).success();
    let root = t.read("services/shop/config.toml");
    // --dry-run shows the diff and writes nothing.
    let dry = t.run(&["pull", "--dry-run"]).success();
    assert!(dry.stdout.contains("+++ b/services/shop/prod/config.toml\n"), "{}", dry.stdout);
    assert!(dry.stdout.contains("-pool = 5\n+pool = 8\n"), "{}", dry.stdout);
    assert_eq!(t.read("services/shop/prod/config.toml"), "timeout = 45\n[db]\npool = 5\n");
    t.run(&["pull"]).success();
    assert_eq!(t.read("services/shop/prod/config.toml"), "timeout = 45\nflag = true\n[db]\npool = 8\n");
    assert_eq!(t.read("services/shop/config.toml"), root, "untouched");
    assert_eq!(t.run(&["plan", "--detailed-exitcode"]).code, 0);
    t.commit_all("pull the emergency edit");
    // The next apply keeps it and records no break-glass edit; pull has nothing more.
    assert!(t.run(&["pull"]).success().stdout.contains("Nothing to pull"));
}

#[test]
fn pull_takes_in_what_the_jones_web_ui_wrote_hosts_and_environments_too() {
    let t = applied("pull_webui");
    // As the Jones server model writes an edit: the conf, then every view below it.
    t.zk_write("/services/shop/conf", r#"{"feature": true, "pct": 0.25}"#);
    t.zk_write("/services/shop/views", r#"{"feature": true, "pct": 0.25}"#);
    t.zk_write("/services/shop/views/dev", r#"{"feature": true, "pct": 0.25}"#);
    t.zk_write("/services/shop/views/prod", r#"{"feature": true, "pct": 0.25, "timeout": 45, "db": {"pool": 5}}"#);
    t.zk_write("/services/shop/views/prod/eu", r#"{"feature": true, "pct": 0.25, "timeout": 45, "db": {"pool": 5}}"#);
    // A new environment, and a host moved into it from prod/eu.
    t.zk_write("/services/shop/conf/qa", r#"{"big": 9007199254740993}"#);
    t.zk_write("/services/shop/views/qa", r#"{"feature": true, "pct": 0.25, "big": 9007199254740993}"#);
    t.zk_write(
        "/services/shop/nodemaps",
        r#"{"dev1": "/services/shop/views/dev", "web1": "/services/shop/views/prod", "web2": "/services/shop/views/qa"}"#,
    );
    t.run(&["pull", "shop"]).success();
    assert_eq!(t.read("services/shop/config.toml"), "# switches\nfeature = true\npct = 0.25\n");
    assert_eq!(t.read("services/shop/qa/config.toml"), "big = 9007199254740993\n");
    assert!(t.read("services/shop/qa/hosts.toml").contains("\"web2\""));
    assert_eq!(t.read("services/shop/prod/eu/hosts.toml"), "hosts = []\n");
    t.run(&["validate"]).success();
    assert_eq!(t.run(&["plan", "--detailed-exitcode"]).code, 0, "{}", t.run(&["plan"]).stdout);
}

#[test]
fn pull_refuses_what_toml_cannot_hold_and_writes_nothing() {
    let t = applied("pull_null");
    t.zk_write("/services/shop/conf/dev", r#"{"gone": null}"#);
    t.zk_write("/services/shop/views/dev", r#"{"feature": false, "pct": 0.25, "gone": null}"#);
    let files = t.config_tree_files();
    let out = t.run(&["pull"]).code(1);
    assert!(out.stderr.contains("`gone`"), "{}", out.stderr);
    assert!(out.stderr.contains("nothing was written"), "{}", out.stderr);
    assert_eq!(t.config_tree_files(), files);
}

#[test]
fn pull_of_a_pinned_service_needs_force() {
    let t = applied("pull_pinned");
    let first = t.rev("HEAD");
    t.write("jones-sync.toml", &format!("[services.shop]\npin = \"{first}\"\n"));
    t.commit_all("pin shop");
    t.run(&["set", "shop", "pct=0.5", "--yes"]).success();
    let refused = t.run(&["pull"]).code(1);
    assert!(refused.stderr.contains("shop: pinned to"), "{}", refused.stderr);
    assert!(refused.stderr.contains("--force"), "{}", refused.stderr);
    assert!(t.git(&["status", "--porcelain"]).is_empty(), "nothing written");
    let forced = t.run(&["pull", "--force"]).success();
    assert!(forced.stdout.contains("`shop` (pinned to "), "{}", forced.stdout);
    assert!(t.read("services/shop/config.toml").contains("pct = 0.5\n"));
}

#[test]
fn set_racing_a_jones_web_ui_edit_aborts_on_the_version_guard_and_loses_nothing() {
    use crate::proxy::{Fault, Proxy};
    let t = applied("set_race");
    let proxy = Proxy::start(&crate::zookeeper::server().address());
    let through = proxy.connect_string(&t.zk[t.zk.find('/').unwrap()..]);
    proxy.arm(Fault::Pause, 0);
    let set = crate::util::spawn_in(t.repo.path(), &through, &["set", "shop", "--env", "prod", "timeout=5", "--yes"]);
    proxy.wait_paused();
    // Meanwhile someone edits the same conf without jones-sync (no lock), as the web UI does.
    t.zk_write("/services/shop/conf/prod", r#"{"timeout": 60, "db": {"pool": 5}}"#);
    proxy.resume();
    let out = set.finish();
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("/services/shop/conf/prod"), "names the node: {}", out.stderr);
    // The other edit stands, and nothing of the set was written.
    let tree = t.tree();
    assert_eq!(tree["/services/shop/conf/prod"], r#"{"timeout": 60, "db": {"pool": 5}}"#);
    assert!(!tree["/services/shop/views/prod"].contains("\"timeout\":5"), "{}", tree["/services/shop/views/prod"]);
    let record: Value = serde_json::from_str(&tree["/services/shop/jones-sync"]).unwrap();
    assert!(record.get("break_glass").is_none(), "{record}");
}

#[test]
fn pull_removes_an_environment_zookeeper_no_longer_has_and_keeps_the_service() {
    let t = applied("pull_removed_env");
    t.write("services/shop/dev/README.md", "notes\n");
    t.zk_delete_all("/services/shop/conf/dev");
    t.zk_delete_all("/services/shop/views/dev");
    t.zk_write(
        "/services/shop/nodemaps",
        r#"{"web1": "/services/shop/views/prod", "web2": "/services/shop/views/prod/eu"}"#,
    );
    let out = t.run(&["pull"]).success();
    assert!(!t.path("services/shop/dev/hosts.toml").exists());
    // A directory that holds more than config.toml and hosts.toml stays, and says why.
    assert!(t.path("services/shop/dev/README.md").exists());
    assert!(out.stdout.contains("`services/shop/dev/` still holds other files"), "{}", out.stdout);
    std::fs::remove_file(t.path("services/shop/dev/README.md")).unwrap();
    std::fs::remove_dir(t.path("services/shop/dev")).unwrap();
    assert!(t.path("services/shop/config.toml").exists());
    assert_eq!(t.run(&["plan", "--detailed-exitcode"]).code, 0, "{}", t.run(&["plan"]).stdout);
}

#[test]
fn set_says_which_out_of_band_edits_stop_showing_as_drift() {
    let t = applied("set_drift_note");
    t.zk_write("/services/shop/conf/dev", r#"{"x": 1}"#);
    t.zk_write("/services/shop/views/dev", r#"{"feature": false, "pct": 0.25, "x": 1}"#);
    let out = t.run(&["set", "shop", "--env", "prod", "timeout=50", "--yes"]).success();
    assert!(out.stdout.contains("no longer shown as drift"), "{}", out.stdout);
    assert!(out.stdout.contains("/services/shop/conf/dev, /services/shop/views/dev"), "{}", out.stdout);
    // Still a difference from the repository, which pull takes in with the edit.
    t.run(&["pull"]).success();
    assert_eq!(t.read("services/shop/dev/config.toml"), "x = 1\n");
    assert_eq!(t.run(&["plan", "--detailed-exitcode"]).code, 0);
}
