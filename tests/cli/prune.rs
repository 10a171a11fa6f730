//! Guard rails against mass deletion, against a real ZooKeeper: `--prune` deletes a managed
//! service that the repository no longer has (whole, by exact path, locked like any other), never
//! an unmanaged one; and a plan that deletes a whole service, or more than half of a service's
//! environments or hosts, is flagged by `plan` and refused by `apply`, `apply FILE` and `rollback`
//! without `--allow-mass-delete`, with nothing written.

use std::collections::BTreeMap;

use crate::util::Test;

/// The paths of the chroot's tree at and below `/services/<service>`.
fn paths_of(tree: &BTreeMap<String, String>, service: &str) -> Vec<String> {
    let base = format!("/services/{service}");
    tree.keys().filter(|p| **p == base || p.starts_with(&format!("{base}/"))).cloned().collect()
}

/// `foo` (two environments, two hosts) and `foo_bar` (a name with `foo` as its prefix), applied;
/// then `legacy` (no record: not managed) and `half` (an empty record, as a lock that never applied
/// leaves it) written by hand, and a node jones-sync does not know below `foo`.
fn applied(name: &str) -> Test {
    let t = Test::new(name);
    t.write("services/foo/config.toml", "a = 1\n")
        .write("services/foo/x/config.toml", "b = 2\n")
        .write("services/foo/x/hosts.toml", "hosts = [\"h1\"]\n")
        .write("services/foo/x/y/hosts.toml", "hosts = [\"h2\"]\n")
        .write("services/foo_bar/config.toml", "c = 3\n");
    t.run(&["apply", "--yes"]).success();
    t.zk_write("/services/legacy/conf", "{\"l\":1}");
    t.zk_write("/services/half/jones-sync", "");
    t.zk_write("/services/foo/extra", "hand-made");
    t
}

#[test]
fn without_prune_a_removed_service_is_listed_and_left_untouched() {
    let t = applied("pruneoff");
    t.remove("services/foo");
    t.run(&["plan"]).success().stdout(
        "\
foo_bar: no changes

Not in the repository (left untouched): half, legacy

Managed by jones-sync but no longer in the repository (left untouched; --prune deletes them): foo

No changes to the repository's services, but ZooKeeper does not match the repository: it still has 1 managed service that the repository no longer has (left untouched; --prune deletes it), and 2 services that jones-sync does not manage (left untouched).
",
    );
    let before = t.tree();
    let applied = t.run(&["apply", "--yes"]).success();
    assert!(applied.stdout.contains("--prune deletes them): foo\n"), "{}", applied.stdout);
    assert_eq!(t.tree(), before);

    let json: serde_json::Value = serde_json::from_str(&t.run(&["plan", "--format", "json"]).success().stdout).unwrap();
    assert_eq!(json["format_version"], "1.5.0");
    assert_eq!(json["unmanaged_services"], serde_json::json!(["foo", "half", "legacy"]));
    assert_eq!(json["prunable_services"], serde_json::json!(["foo"]));
    assert_eq!(json["summary"]["mass_delete"], serde_json::json!([]));
    let md = t.run(&["plan", "--format", "markdown"]).success().stdout;
    assert!(
        md.contains(
            "Not in the repository (left untouched): `half`, `legacy`.\n\n\
             Managed by jones-sync but no longer in the repository (left untouched; `--prune` deletes them): `foo`.\n"
        ),
        "{md}"
    );
}

#[test]
fn prune_deletes_a_managed_service_whole_by_exact_path_once_allowed() {
    let t = applied("prune");
    t.remove("services/foo");
    t.run(&["plan", "--prune", "--detailed-exitcode"]).code(2).stdout(
        "\
foo: 0 to create, 0 to update, 12 to delete, deleted whole: no longer in the repository (--prune)
  Mass deletion: the whole service; 2 of 2 environments (x, x/y); 2 of 2 hosts (h1, h2)
  - /services/foo (service)
  - /services/foo/conf (conf)
      - a = 1
  - /services/foo/conf/x (conf)
      - b = 2
  - /services/foo/conf/x/y (conf)
  - /services/foo/extra (not written by jones-sync)
  - /services/foo/jones-sync (record)
  - /services/foo/jones-sync/locks (lock)
  - /services/foo/jones-sync/log-0000000001 (audit log entry)
  - /services/foo/nodemaps (nodemap)
      - h1 = \"/services/foo/views/x\"
      - h2 = \"/services/foo/views/x/y\"
  - /services/foo/views (view, derived)
      - a = 1
  - /services/foo/views/x (view, derived)
      - a = 1
      - b = 2
  - /services/foo/views/x/y (view, derived)
      - a = 1
      - b = 2
  Blast radius: 2 hosts (2 moving) and all unassociated hosts
    (root): every host without an association
    x (view deleted): no hosts
    x/y (view deleted): no hosts
    h1 moves from x to (no association)
        - a = 1
        - b = 2
    h2 moves from x/y to (no association)
        - a = 1
        - b = 2

foo_bar: no changes

Not in the repository (left untouched): half, legacy

Plan: 0 to create, 0 to update, 12 to delete. Reaches 2 hosts (2 moving) and all unassociated hosts of foo.
Mass deletion: foo (flagged above): applying this plan needs --allow-mass-delete.
",
    );
    let json: serde_json::Value =
        serde_json::from_str(&t.run(&["plan", "--prune", "--format", "json"]).success().stdout).unwrap();
    assert_eq!(json["summary"]["mass_delete"], serde_json::json!(["foo"]));
    assert_eq!(json["unmanaged_services"], serde_json::json!(["half", "legacy"]));
    let foo = &json["services"][0];
    assert_eq!((foo["name"].as_str(), foo["prune"].as_bool()), (Some("foo"), Some(true)));
    assert_eq!(
        foo["mass_delete"],
        serde_json::json!({"whole_service": true, "environments": ["x", "x/y"], "environments_total": 2,
                           "hosts": ["h1", "h2"], "hosts_total": 2})
    );
    let kinds: Vec<&str> = foo["changes"].as_array().unwrap().iter().map(|c| c["kind"].as_str().unwrap()).collect();
    assert_eq!(
        kinds,
        ["service", "conf", "conf", "conf", "other", "record", "lock", "log", "nodemap", "view", "view", "view"]
    );
    let md = t.run(&["plan", "--prune", "--format", "markdown"]).success().stdout;
    assert!(
        md.contains("> **Mass deletion:** `foo` (flagged below): applying this plan needs `--allow-mass-delete`."),
        "{md}"
    );
    assert!(md.contains("| `foo` (deleted whole) **(mass deletion)** | 0 | 0 | 12 |"), "{md}");

    // Refused without --allow-mass-delete: printed, named, nothing written, no lock left behind.
    let before = t.tree();
    let refused = t.run(&["apply", "--yes", "--prune"]).code(1);
    assert!(
        refused.stdout.starts_with("foo: 0 to create, 0 to update, 12 to delete, deleted whole"),
        "{}",
        refused.stdout
    );
    assert_eq!(
        refused.stderr,
        "error: refusing a mass deletion without --allow-mass-delete; nothing was written. What would go:\n  \
         foo: the whole service; 2 of 2 environments (x, x/y); 2 of 2 hosts (h1, h2)\n\
         review the plan above, then pass --allow-mass-delete to apply it\n"
    );
    assert_eq!(t.tree(), before);

    let out = t.run(&["apply", "--yes", "--prune", "--allow-mass-delete"]).success();
    assert!(
        out.stdout.ends_with(
            "\nfoo: applied in one transaction: 0 created, 0 updated, 12 deleted\n\
             Apply complete: 0 created, 0 updated, 12 deleted.\n"
        ),
        "{}",
        out.stdout
    );
    // Gone whole, our own lock node with it; `foo_bar`, `legacy` and `half` as they were.
    let after = t.tree();
    assert_eq!(paths_of(&after, "foo"), Vec::<String>::new());
    for kept in ["foo_bar", "legacy", "half"] {
        let kept_before: Vec<(&String, &String)> =
            before.iter().filter(|(p, _)| paths_of(&before, kept).contains(p)).collect();
        let kept_after: Vec<(&String, &String)> =
            after.iter().filter(|(p, _)| paths_of(&after, kept).contains(p)).collect();
        assert_eq!(kept_after, kept_before, "{kept}");
    }
    assert!(!paths_of(&after, "foo_bar").is_empty());
    t.run(&["plan", "--prune", "--detailed-exitcode"]).code(0);
}

#[test]
fn prune_from_the_settings_and_never_with_service() {
    let t = applied("prunesettings");
    t.remove("services/foo");
    t.write("jones-sync.toml", "[sync]\nprune = true\n");
    let plan = t.run(&["plan"]).success().stdout;
    assert!(plan.starts_with("foo: 0 to create, 0 to update, 12 to delete, deleted whole"), "{plan}");
    // --service plans only services of the repository: nothing is pruned, nothing listed.
    t.run(&["plan", "--service", "foo_bar"])
        .success()
        .stdout("foo_bar: no changes\n\nNo changes. ZooKeeper matches the repository.\n");
    let usage = t.run(&["plan", "--prune", "--service", "foo_bar"]).code(1);
    assert!(usage.stderr.contains("the argument '--prune' cannot be used with '--service <NAME>'"), "{}", usage.stderr);
    t.run(&["apply", "--yes", "--allow-mass-delete"]).success();
    assert!(paths_of(&t.tree(), "foo").is_empty());
}

#[test]
fn a_service_managed_without_locks_yet_is_pruned_with_the_nodes_our_lock_made() {
    // As an older jones-sync left it: a record, no `locks` node. Our lock creates `locks` for the
    // apply, and the prune deletes it with our lock node.
    let t = Test::new("prunenolocks");
    t.write("services/keep/config.toml", "k = 1\n");
    t.zk_write("/services/old/conf", "{}");
    t.zk_write("/services/old/jones-sync", r#"{"sha":null}"#);
    let plan = t.run(&["plan", "--prune"]).success().stdout;
    assert!(
        plan.contains(
            "\n\
old: 0 to create, 0 to update, 3 to delete, deleted whole: no longer in the repository (--prune)
  Mass deletion: the whole service
  - /services/old (service)
  - /services/old/conf (conf)
  - /services/old/jones-sync (record)
"
        ),
        "{plan}"
    );
    t.run(&["apply", "--yes", "--prune", "--allow-mass-delete"]).success();
    let tree = t.tree();
    assert!(paths_of(&tree, "old").is_empty(), "{tree:?}");
    assert!(tree.contains_key("/services/keep/conf"));
}

#[test]
fn a_large_pruned_service_is_deleted_in_several_transactions_record_last() {
    let t = Test::new("prunesplit");
    for i in 0..40 {
        t.write(&format!("services/big/e{i:02}/config.toml"), &format!("value = \"{}\"\n", "x".repeat(200)));
    }
    t.write("services/keep/config.toml", "k = 1\n");
    t.run(&["apply", "--yes"]).success();
    t.remove("services/big");
    t.write("jones-sync.toml", "[zookeeper]\nmax_request_bytes = 4000\n");
    let out = t.run(&["apply", "--yes", "--prune", "--allow-mass-delete"]).success();
    assert!(
        out.stdout.contains("\n  Not atomic: `big` will not be applied atomically: its changes take "),
        "{}",
        out.stdout
    );
    let applied = out.stdout.lines().find(|l| l.starts_with("big: applied in ")).unwrap();
    let transactions: usize = applied["big: applied in ".len()..].split(' ').next().unwrap().parse().unwrap();
    assert!(transactions > 2, "{applied}");
    assert!(applied.ends_with(" transactions: 0 created, 0 updated, 87 deleted"), "{applied}");
    assert!(paths_of(&t.tree(), "big").is_empty());
}

#[test]
fn a_saved_plan_carries_the_flag_and_apply_file_refuses_it_unless_allowed() {
    let t = applied("prunesaved");
    t.remove("services/foo");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plan.json").to_str().unwrap().to_string();
    t.run(&["plan", "--prune", "--out", &file]).success();
    let saved: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(saved["format_version"], "1.4.0");
    assert_eq!(saved["plan"]["services"][0]["prune"], true);
    assert_eq!(saved["plan"]["services"][0]["mass_delete"]["whole_service"], true);

    let before = t.tree();
    let refused = t.run(&["apply", &file]).code(1);
    assert!(
        refused.stderr.starts_with("error: refusing a mass deletion without --allow-mass-delete"),
        "{}",
        refused.stderr
    );
    assert_eq!(t.tree(), before);
    let usage = t.run(&["apply", &file, "--prune"]).code(1);
    assert!(usage.stderr.contains("cannot be used with '--prune'"), "{}", usage.stderr);

    // Our lock node, made after the plan, is deleted with the service and does not make it stale.
    let out = t.run(&["apply", &file, "--allow-mass-delete"]).success();
    assert!(out.stdout.ends_with("Apply complete: 0 created, 0 updated, 12 deleted.\n"), "{}", out.stdout);
    assert!(paths_of(&t.tree(), "foo").is_empty());
}

#[test]
fn deleting_more_than_half_of_the_environments_is_refused_and_a_never_touches_ab() {
    let t = Test::new("massenv");
    for env in ["a", "ab", "b", "c"] {
        t.write(&format!("services/s/{env}/config.toml"), "v = 1\n");
    }
    t.run(&["apply", "--yes"]).success();
    // Two of four: not more than half.
    t.remove("services/s/b").remove("services/s/c");
    t.run(&["apply", "--yes"]).success();
    t.write("services/s/b/config.toml", "v = 1\n").write("services/s/c/config.toml", "v = 1\n");
    t.run(&["apply", "--yes"]).success();
    // Three of four.
    t.remove("services/s/a").remove("services/s/b").remove("services/s/c");
    let plan = t.run(&["plan"]).success().stdout;
    assert!(plan.contains("\n  Mass deletion: 3 of 4 environments (a, b, c)\n"), "{plan}");
    let before = t.tree();
    let refused = t.run(&["apply", "--yes"]).code(1);
    assert_eq!(
        refused.stderr,
        "error: refusing a mass deletion without --allow-mass-delete; nothing was written. What would go:\n  \
         s: 3 of 4 environments (a, b, c)\n\
         review the plan above, then pass --allow-mass-delete to apply it\n"
    );
    assert_eq!(t.tree(), before);
    t.run(&["apply", "--yes", "--allow-mass-delete"]).success();
    let paths: Vec<String> =
        t.config_tree().into_keys().filter(|p| p.contains("/conf") || p.contains("/views")).collect();
    assert_eq!(paths, ["/services/s/conf", "/services/s/conf/ab", "/services/s/views", "/services/s/views/ab"]);
}

#[test]
fn removing_more_than_half_of_the_hosts_is_refused_and_moves_do_not_count() {
    let t = Test::new("masshosts");
    t.write("services/s/a/hosts.toml", "hosts = [\"h1\", \"h2\", \"h3\"]\n")
        .write("services/s/b/hosts.toml", "hosts = [\"h4\"]\n");
    t.run(&["apply", "--yes"]).success();
    // Every host moves to `b`: nobody loses an association.
    t.write("services/s/a/hosts.toml", "hosts = []\n")
        .write("services/s/b/hosts.toml", "hosts = [\"h1\", \"h2\", \"h3\", \"h4\"]\n");
    t.run(&["apply", "--yes"]).success();
    // Three of four lose theirs.
    t.write("services/s/b/hosts.toml", "hosts = [\"h4\"]\n");
    let json: serde_json::Value = serde_json::from_str(&t.run(&["plan", "--format", "json"]).success().stdout).unwrap();
    assert_eq!(
        json["services"][0]["mass_delete"],
        serde_json::json!({"whole_service": false, "environments": [], "environments_total": 2,
                           "hosts": ["h1", "h2", "h3"], "hosts_total": 4})
    );
    let before = t.tree();
    let refused = t.run(&["apply", "--yes"]).code(1);
    assert!(refused.stderr.contains("\n  s: 3 of 4 hosts (h1, h2, h3)\n"), "{}", refused.stderr);
    assert_eq!(t.tree(), before);
    t.run(&["apply", "--yes", "--allow-mass-delete"]).success();
    assert_eq!(t.config_tree()["/services/s/nodemaps"], r#"{"h4":"/services/s/views/b"}"#);
}

#[test]
fn a_rollback_that_deletes_most_environments_needs_allow_mass_delete_too() {
    let t = Test::new("massrollback");
    t.write("services/s/config.toml", "v = 1\n");
    t.commit_all("Only the root");
    t.run(&["apply", "--yes"]).success();
    t.write("services/s/a/config.toml", "v = 2\n").write("services/s/b/config.toml", "v = 3\n");
    t.commit_all("Add a and b");
    t.run(&["apply", "--yes"]).success();
    let before = t.tree();
    let refused = t.run(&["rollback", "s", "--yes"]).code(1);
    assert!(refused.stderr.contains("\n  s: 2 of 2 environments (a, b)\n"), "{}", refused.stderr);
    assert_eq!(t.tree(), before);
    t.run(&["rollback", "s", "--yes", "--allow-mass-delete"]).success();
    assert!(!t.config_tree().contains_key("/services/s/conf/a"));
}

#[test]
fn a_pruned_service_is_locked_like_any_other() {
    let t = applied("prunelocked");
    t.remove("services/foo");
    // Another apply holds `foo`'s lock (the lowest sequence number holds it).
    t.zk_write(
        "/services/foo/jones-sync/locks/lock-0000000000",
        r#"{"actor":"other","host":"ci-7","pid":42,"started_at":"2025-01-01T00:00:00Z","commit":null}"#,
    );
    let before = t.tree();
    let out = t.run(&["apply", "--yes", "--prune", "--allow-mass-delete", "--lock-timeout", "0.5"]).code(1);
    assert_eq!(
        out.stderr,
        "error: `foo` is locked by other on ci-7 (pid 42, since 2025-01-01T00:00:00Z), lock id `lock-0000000000`; \
         gave up after waiting 0s (--lock-timeout). If that apply is gone, remove its lock: \
         jones-sync unlock foo --id lock-0000000000\n"
    );
    assert_eq!(t.tree(), before);
    t.run(&["unlock", "foo", "--id", "lock-0000000000"]).success();
    t.run(&["apply", "--yes", "--prune", "--allow-mass-delete"]).success();
    assert!(paths_of(&t.tree(), "foo").is_empty());
}

#[test]
fn a_plan_file_from_before_the_guard_is_judged_again_from_the_live_state() {
    let t = Test::new("massolderfile");
    for env in ["a", "b", "c"] {
        t.write(&format!("services/s/{env}/config.toml"), "v = 1\n");
    }
    t.run(&["apply", "--yes"]).success();
    t.remove("services/s/a").remove("services/s/b");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plan.json").to_str().unwrap().to_string();
    t.run(&["plan", "--out", &file]).success();
    // As a build without the guard wrote it: format 1.1.0, no verdict.
    let mut saved: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    assert_eq!(saved["plan"]["services"][0]["mass_delete"]["environments"], serde_json::json!(["a", "b"]));
    saved["format_version"] = "1.1.0".into();
    saved["plan"]["services"][0].as_object_mut().unwrap().remove("mass_delete");
    std::fs::write(&file, saved.to_string()).unwrap();
    let before = t.tree();
    let refused = t.run(&["apply", &file]).code(1);
    assert!(refused.stderr.contains("\n  s: 2 of 3 environments (a, b)\n"), "{}", refused.stderr);
    assert_eq!(t.tree(), before);
    t.run(&["apply", &file, "--allow-mass-delete"]).success();
    assert!(!t.config_tree().contains_key("/services/s/conf/a"));
}

#[test]
fn an_older_commit_does_not_prune_a_service_a_newer_one_applied() {
    let t = Test::new("pruneolder");
    t.write("services/keep/config.toml", "k = 1\n").write("services/foo/config.toml", "f = 1\n");
    t.commit_all("Add foo");
    t.remove("services/foo");
    let without = t.commit_all("Drop foo");
    t.write("services/foo/config.toml", "f = 2\n");
    let again = t.commit_all("Bring foo back");
    t.run(&["apply", "--yes"]).success();
    let before = t.tree();
    let out = t.run(&["apply", "--yes", "--prune", "--allow-mass-delete", "--rev", &without]).success();
    assert!(
        out.stdout
            .contains(&format!("foo: skipped: ZooKeeper holds commit {} (applied at ", crate::util::short(&again))),
        "{}",
        out.stdout
    );
    assert_eq!(t.config_tree(), before.into_iter().filter(|(p, _)| !p.contains("/jones-sync")).collect());
    // --allow-older prunes it.
    t.run(&["apply", "--yes", "--prune", "--allow-mass-delete", "--allow-older", "--rev", &without]).success();
    assert!(paths_of(&t.tree(), "foo").is_empty());
}
