//! Saved plans: `plan --out FILE`, then `apply FILE` executes exactly that plan, or refuses it
//! when a node it touches changed since (listing every such node, writing nothing).

use crate::util::Test;

/// A repository applied once: `s` with environments `a` (host h1) and `b`, and `other`.
fn applied(name: &str) -> Test {
    let t = Test::new(name);
    t.write("services/s/config.toml", "timeout = 30\n")
        .write("services/s/a/config.toml", "x = 1\n")
        .write("services/s/a/hosts.toml", "hosts = [\"h1\"]\n")
        .write("services/s/b/config.toml", "y = 1\n")
        .write("services/other/config.toml", "o = 1\n");
    t.run(&["apply", "--yes"]).success();
    t
}

/// Edits `s`: a changes, c is new, b is removed.
fn edit(t: &Test) {
    t.write("services/s/a/config.toml", "x = 2\n").write("services/s/c/config.toml", "z = 1\n").remove("services/s/b");
}

/// Edits `s` and saves the plan to `plan.json` outside the repository.
fn saved_plan(t: &Test) -> (tempfile::TempDir, String) {
    edit(t);
    save(t)
}

fn save(t: &Test) -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plan.json").to_str().unwrap().to_string();
    let out = t.run(&["plan", "--out", &file]).success();
    assert!(
        out.stdout.ends_with(&format!(
            "\nSaved the plan to `{file}`. To apply exactly these changes: jones-sync apply {file}\n"
        )),
        "{}",
        out.stdout
    );
    (dir, file)
}

#[test]
fn a_saved_plan_applies_exactly_without_reading_the_repository() {
    let t = applied("saved");
    edit(&t);
    let sha = t.commit_all("edit");
    let (_dir, file) = save(&t);
    let planned = t.run(&["plan"]).success().stdout;
    // The repository moves on (or disappears): the saved plan does not follow it.
    t.write("services/s/a/config.toml", "x = 99\n");
    std::fs::rename(t.path("services"), t.path("moved-away")).unwrap();
    let out = t.run(&["apply", &file, "--actor", "deployer"]).success();
    assert!(out.stdout.starts_with(&planned), "prints the saved plan:\n{}", out.stdout);
    assert!(out.stdout.ends_with("Apply complete: 2 created, 3 updated, 2 deleted.\n"), "{}", out.stdout);
    let tree = t.config_tree();
    assert_eq!(tree["/services/s/conf/a"], r#"{"x":2}"#);
    assert_eq!(tree["/services/s/views/c"], r#"{"timeout":30,"z":1}"#);
    assert!(!tree.contains_key("/services/s/conf/b"));
    let record: serde_json::Value = serde_json::from_str(&t.tree()["/services/s/jones-sync"]).unwrap();
    assert_eq!(record["sha"], sha.as_str(), "the commit the plan was made from");
    assert_eq!(record["actor"], "deployer", "who applied");
    // The audit log has the apply, as `apply` would write it.
    let history: serde_json::Value =
        serde_json::from_str(&t.run(&["history", "s", "--format", "json"]).success().stdout).unwrap();
    assert_eq!(history[0]["actor"], "deployer", "{history:#}");
    assert_eq!(history[0]["sha"], sha.as_str(), "{history:#}");
    // Applying it again: every node it wrote has moved on since, so it is stale.
    let again = t.run(&["apply", &file]).code(1);
    assert!(again.stderr.contains(" is stale: 7 nodes it relies on changed since it was made"), "{}", again.stderr);
}

#[test]
fn a_stale_plan_is_refused_listing_every_stale_node_and_nothing_is_written() {
    let t = applied("stale");
    let (_dir, file) = saved_plan(&t);
    t.zk_write("/services/s/conf/a", r#"{"x": "web UI"}"#); // the plan updates it
    t.zk_write("/services/s/conf/c", "{}"); // the plan creates it
    t.zk_write("/services/s/conf/b/new", "{}"); // below a node the plan deletes
    let before = t.tree();
    t.run(&["apply", &file]).code(1).stdout("").stderr(&format!(
        "error: the plan `{file}` is stale: 3 nodes it relies on changed since it was made, so nothing was written:
  /services/s/conf/a: was changed since the plan was made (version 0 then, 1 now)
  /services/s/conf/b: cannot be deleted: `/services/s/conf/b/new` was created below it since the plan was made
  /services/s/conf/c: was created since the plan was made
make a new plan
"
    ));
    assert_eq!(t.tree(), before, "nothing was written");
}

#[test]
fn a_change_elsewhere_does_not_make_a_plan_stale() {
    let t = applied("unrelated");
    let (_dir, file) = saved_plan(&t);
    // A conf of `s` the plan does not write, but from which the views it writes derive: applying
    // would leave views that do not follow from the live confs.
    t.zk_write("/services/s/conf", r#"{"timeout": 30, "by": "hand"}"#);
    let before = t.tree();
    let refused = t.run(&["apply", &file]).code(1);
    assert!(
        refused.stderr.starts_with(&format!(
            "error: the plan `{file}` cannot be applied as it stands (3 problems found), so nothing was written:\n  \
             /services/s/views: would not equal the materialization of the confs after the plan (a conf it \
             derives from changed since the plan was made, or the plan was edited)\n"
        )),
        "{}",
        refused.stderr
    );
    assert_eq!(t.tree(), before);
    // Another service: nothing the plan relies on.
    t.zk_write("/services/s/conf", r#"{"timeout": 30}"#);
    t.zk_write("/services/other/conf", r#"{"o": "edited"}"#);
    let out = t.run(&["apply", &file]).success();
    assert!(out.stdout.ends_with("Apply complete: 2 created, 3 updated, 2 deleted.\n"), "{}", out.stdout);
    let tree = t.config_tree();
    assert_eq!(tree["/services/other/conf"], r#"{"o": "edited"}"#, "left alone");
    assert_eq!(tree["/services/s/conf/a"], r#"{"x":2}"#);
}

#[test]
fn a_plan_for_another_zookeeper_is_refused() {
    let t = applied("target");
    let (_dir, file) = saved_plan(&t);
    let other = format!("{}/elsewhere", crate::zookeeper::server().address());
    let refused = format!(
        "error: the plan file `{file}` was made for ZooKeeper `{}`, not `{other}`: a plan applies only where it was \
         made (make a new plan, or leave out --zk and JONES_SYNC_ZK: `apply FILE` then uses the plan's own)\n",
        t.zk
    );
    t.run(&["apply", &file, "--zk", &other]).code(1).stderr(&refused);
    // JONES_SYNC_ZK is a connect string given too.
    crate::util::run_in(t.repo.path(), &other, &["apply", &file]).code(1).stderr(&refused);
}

/// Regression: `show` prints `jones-sync apply FILE` as the next step, which failed unless `--zk`
/// was given again. Without `--zk` or `JONES_SYNC_ZK`, `apply FILE` uses the plan's own.
#[test]
fn apply_file_uses_the_plans_own_connect_string() {
    let t = applied("ownzk");
    let (_dir, file) = saved_plan(&t);
    let shown = t.run(&["show", &file]).success().stdout;
    let next = format!("jones-sync apply {file}");
    assert!(shown.ends_with(&format!("To apply exactly these changes: {next}\n")), "{shown}");
    let out = std::process::Command::new(assert_cmd::cargo::cargo_bin("jones-sync"))
        .args(["apply", &file])
        .env_remove("JONES_SYNC_ZK")
        .env_remove("JONES_SYNC_REPO")
        .env("JONES_SYNC_CACHE", crate::util::test_cache())
        .current_dir(std::env::temp_dir())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.ends_with("Apply complete: 2 created, 3 updated, 2 deleted.\n"), "{stdout}");
    assert_eq!(t.config_tree()["/services/s/conf/a"], r#"{"x":2}"#);
}

#[test]
fn a_plan_file_of_a_newer_format_is_refused() {
    let t = applied("newer");
    let (_dir, file) = saved_plan(&t);
    let mut plan: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
    plan["format_version"] = "1.5.0".into();
    std::fs::write(&file, plan.to_string()).unwrap();
    let before = t.tree();
    let out = t.run(&["apply", &file]).code(1);
    assert_eq!(
        out.stderr,
        format!(
            "error: the plan file `{file}` has format version 1.5.0, which this jones-sync ({}) cannot apply (it \
             applies 1.x up to 1.4.0): use a matching jones-sync, or make a new plan\n",
            env!("CARGO_PKG_VERSION")
        )
    );
    assert_eq!(t.tree(), before);
    t.run(&["apply", "/no/such/plan.json"])
        .code(1)
        .stderr("error: cannot read the plan file `/no/such/plan.json`: No such file or directory (os error 2)\n");
}

#[test]
fn a_plan_of_uncommitted_config_needs_allow_dirty() {
    let t = applied("dirtyplan");
    t.commit_all("first");
    let (_dir, file) = saved_plan(&t);
    let out = t.run(&["apply", &file]).code(1);
    assert_eq!(
        out.stderr,
        format!(
            "error: the plan `{file}` was made from config files with uncommitted changes, so the recorded commit would \
             not describe what is applied: pass --allow-dirty to apply it anyway\n"
        )
    );
    t.run(&["apply", &file, "--allow-dirty"]).success();
    let record: serde_json::Value = serde_json::from_str(&t.tree()["/services/s/jones-sync"]).unwrap();
    assert_eq!(record["dirty"], true);
}

#[test]
fn service_and_rev_cannot_change_a_saved_plan() {
    let t = applied("savedservice");
    let (_dir, file) = saved_plan(&t);
    let rev = t.run(&["apply", &file, "--rev", "HEAD"]).code(1);
    assert!(
        rev.stderr.starts_with("error: the argument '[PLAN_FILE]' cannot be used with '--rev <REV>'"),
        "{}",
        rev.stderr
    );
    t.run(&["apply", &file, "--service", "s"]).code(1).stderr(
        "error: --service cannot be combined with a plan file: the plan says what to apply (make it with \
         `jones-sync plan --service NAME --out FILE`)\n",
    );
}

#[test]
fn plan_out_with_a_machine_format_keeps_stdout_clean() {
    let t = applied("outjson");
    t.write("services/s/config.toml", "timeout = 31\n");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("p.json");
    let out = t.run(&["plan", "--format", "json", "--out", file.to_str().unwrap()]).success();
    let json: serde_json::Value = serde_json::from_str(&out.stdout).expect("stdout is the JSON plan alone");
    assert_eq!(json["summary"]["update"], 5);
    assert!(out.stderr.contains("Saved the plan to"), "{}", out.stderr);
    t.run(&["apply", file.to_str().unwrap()]).success();
    assert_eq!(t.config_tree()["/services/s/conf"], r#"{"timeout":31}"#);
}

/// `plan --out FILE --format FORMAT` in a temporary directory: the file and what was printed.
fn save_as(t: &Test, format: &str) -> (tempfile::TempDir, String, String) {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plan.json").to_str().unwrap().to_string();
    let out = t.run(&["plan", "--format", format, "--out", &file]).success();
    (dir, file, out.stdout)
}

/// Where ZooKeeper is not: `show` must not need it.
const NO_ZOOKEEPER: &str = "127.0.0.1:1";

#[test]
fn show_prints_a_saved_plan_offline_exactly_as_it_was_planned_in_every_format() {
    let t = applied("show");
    let sha = t.commit_all("first");
    edit(&t);
    t.commit_all("edit");
    let (_json_dir, json_file, json) = save_as(&t, "json");
    let (_md_dir, md_file, markdown) = save_as(&t, "markdown");
    let (_text_dir, text_file, text) = save_as(&t, "text");
    // Neither the repository nor ZooKeeper is read: the file is the plan.
    std::fs::rename(t.path("services"), t.path("moved-away")).unwrap();
    let show = |file: &str, format: &str| {
        crate::util::run_in(t.repo.path(), NO_ZOOKEEPER, &["show", file, "--format", format])
    };
    show(&json_file, "json").success().stdout(&json);
    show(&md_file, "markdown").success().stdout(&markdown);
    let saved: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&text_file).unwrap()).unwrap();
    let body = text
        .strip_suffix(&format!(
            "\nSaved the plan to `{text_file}`. To apply exactly these changes: jones-sync apply {text_file}\n"
        ))
        .expect(&text);
    assert!(body.ends_with("Plan: 2 to create, 3 to update, 2 to delete. Reaches 1 host.\n"), "{body}");
    let head = t.rev("HEAD");
    assert_ne!(head, sha);
    show(&text_file, "text").success().stdout(&format!(
        "Saved plan, made {} by jones-sync {} from commit {}, for ZooKeeper `{}`.\n\n{body}\nTo apply exactly these \
         changes: jones-sync apply {text_file}\n",
        saved["created_at"].as_str().unwrap(),
        env!("CARGO_PKG_VERSION"),
        crate::util::short(&head),
        t.zk,
    ));
    // What is shown is what applies.
    std::fs::rename(t.path("moved-away"), t.path("services")).unwrap();
    t.run(&["apply", &text_file]).success();
    assert_eq!(t.config_tree()["/services/s/conf/c"], r#"{"z":1}"#);
}

#[test]
fn show_says_whether_a_saved_plan_has_changes_and_hides_sensitive_values() {
    let t = applied("showexit");
    t.write("jones-sync.toml", "[plan]\nsensitive_keys = [\"*password*\"]\n");
    t.run(&["apply", "--yes"]).success();
    let (_dir, empty, _) = save_as(&t, "text");
    crate::util::run_in(t.repo.path(), NO_ZOOKEEPER, &["show", &empty, "--detailed-exitcode"]).success();
    let out = t.run(&["show", &empty]).success();
    assert!(out.stdout.ends_with("\nNo changes. ZooKeeper matches the repository.\n"), "{}", out.stdout);
    assert!(out.stdout.starts_with("Saved plan, made "), "{}", out.stdout);
    assert!(out.stdout.contains(" from a repository outside git, "), "{}", out.stdout);

    t.write("services/s/a/config.toml", "x = 1\ndb_password = \"hunter2\"\n");
    let (_dir, changes, _) = save_as(&t, "text");
    for format in ["text", "markdown", "json"] {
        let out = t.run(&["show", &changes, "--format", format, "--detailed-exitcode"]).code(2);
        assert!(out.stdout.contains("(sensitive)"), "{format}:\n{}", out.stdout);
        assert!(!out.stdout.contains("hunter2"), "{format} shows a sensitive value:\n{}", out.stdout);
    }
    // Only a terminal may see them.
    let out = t.run(&["show", &changes, "--show-sensitive"]).code(1);
    assert!(
        out.stderr.starts_with("error: --show-sensitive shows sensitive values on a terminal only"),
        "{}",
        out.stderr
    );
}

#[test]
fn show_refuses_what_is_not_a_saved_plan() {
    let t = applied("shownotaplan");
    edit(&t);
    let json = t.run(&["plan", "--format", "json"]).success().stdout;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("output.json");
    std::fs::write(&file, json).unwrap();
    let file = file.to_str().unwrap();
    t.run(&["show", file]).code(1).stdout("").stderr(&format!(
        "error: `{file}` is not a saved plan: it has no `plan` (the output of `plan --format json` cannot be applied) \
         (save one with `jones-sync plan --out FILE`)\n"
    ));
    t.run(&["show", "/no/such/plan.json"])
        .code(1)
        .stderr("error: cannot read the plan file `/no/such/plan.json`: No such file or directory (os error 2)\n");
    let out = t.run(&["show"]).code(1);
    assert!(out.stderr.contains("<PLAN_FILE>"), "{}", out.stderr);
}

/// The saved plan at `file` as JSON, edited by `edit`, written back.
fn edit_file(file: &str, edit: impl FnOnce(&mut serde_json::Value)) {
    let mut plan: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(file).unwrap()).unwrap();
    edit(&mut plan);
    std::fs::write(file, plan.to_string()).unwrap();
}

/// The change of `path` in the first service of a saved plan.
fn change<'a>(plan: &'a mut serde_json::Value, path: &str) -> &'a mut serde_json::Value {
    let changes = plan["plan"]["services"][1]["changes"].as_array_mut().unwrap();
    changes.iter_mut().find(|c| c["path"] == path).unwrap_or_else(|| panic!("no change of {path}"))
}

/// Regression: staleness was judged by versions alone, so a node deleted and created again with
/// other content (at the same version), or another cluster behind the same connect string, let
/// `apply FILE` write content the plan never showed.
#[test]
fn a_plan_is_stale_when_a_node_is_not_the_one_it_read_whatever_its_version() {
    let t = applied("recreated");
    let (_dir, file) = saved_plan(&t);
    // conf/a is updated by the plan (read at version 0); made again, it is at version 0 again.
    t.zk_delete_all("/services/s/conf/a");
    t.zk_write("/services/s/conf/a", r#"{"x": "someone else's"}"#);
    let before = t.tree();
    let out = t.run(&["apply", &file]).code(1);
    assert!(
        out.stderr.contains(
            "\n  /services/s/conf/a: is not the node the plan read (created at zxid 0x"
        ) && out.stderr.contains(" now: deleted and created again since the plan was made, or another ZooKeeper behind the same address)\n"),
        "{}",
        out.stderr
    );
    assert_eq!(t.tree(), before);

    // Another cluster behind the same address: the same services, applied anew.
    let t = applied("rebuilt");
    let (_dir, file) = saved_plan(&t);
    t.zk_delete_all("/services");
    t.write("services/s/a/config.toml", "x = 1\n").write("services/s/b/config.toml", "y = 1\n");
    t.remove("services/s/c");
    t.run(&["apply", "--yes"]).success();
    let before = t.tree();
    let out = t.run(&["apply", &file]).code(1);
    assert!(out.stderr.contains("\n  /services: is not the node the plan read (created at zxid 0x"), "{}", out.stderr);
    assert_eq!(t.tree(), before);
}

/// Regression: a hand-edited plan file was executed as given: non-JSON conf data, a create
/// outside the Jones layout, a nodemap pointing at a view that does not exist, a mass deletion
/// with its guard flag removed. Each is worked out again from the file and the live state.
#[test]
fn a_hand_edited_plan_is_refused_naming_what_does_not_hold() {
    let t = applied("edited");
    edit(&t);
    t.write("services/s/a/hosts.toml", "hosts = [\"h1\", \"h2\"]\n");
    let (_dir, file) = save(&t);
    let pristine = std::fs::read_to_string(&file).unwrap();
    let before = t.tree();
    let refused = |edit: &dyn Fn(&mut serde_json::Value)| {
        std::fs::write(&file, &pristine).unwrap();
        edit_file(&file, edit);
        let out = t.run(&["apply", &file]).code(1);
        assert_eq!(t.tree(), before, "nothing written");
        out.stderr
    };
    let err = refused(&|plan| change(plan, "/services/s/conf/c")["after"] = "not json".into());
    assert!(
        err.starts_with(&format!(
            "error: the plan `{file}` cannot be applied as it stands (1 problem found), so nothing was written:\n  \
             /services/s/conf/c: would hold a conf that is not JSON ("
        )),
        "{err}"
    );
    let err = refused(&|plan| change(plan, "/services/s/conf/c")["path"] = "/zookeeper/config".into());
    assert!(err.contains("\n  /zookeeper/config: is not a node of service `s` in the Jones layout\n"), "{err}");
    let err = refused(&|plan| {
        change(plan, "/services/s/nodemaps")["after"] = r#"{"h1": "/services/s/views/nowhere"}"#.into()
    });
    assert!(
        err.contains(
            "\n  /services/s/nodemaps: would point host `h1` at `/services/s/views/nowhere`, which is not a view of \
             `s` after the plan\n"
        ),
        "{err}"
    );
    assert!(err.ends_with("make a new plan with `jones-sync plan --out FILE` (and do not edit plan files)\n"), "{err}");

    // A mass deletion whose guard verdict was removed from the file is refused all the same.
    t.remove("services/s/a").remove("services/s/c");
    t.write("services/s/config.toml", "timeout = 31\n");
    let (_dir, file) = save(&t);
    edit_file(&file, |plan| plan["plan"]["services"][1]["mass_delete"] = serde_json::Value::Null);
    let out = t.run(&["apply", &file]).code(1);
    assert!(out.stderr.starts_with("error: refusing a mass deletion without --allow-mass-delete"), "{}", out.stderr);
    assert_eq!(t.tree(), before);
}

/// Regression: `plan --out` onto an existing file kept that file's permissions (0644, with
/// secrets inside).
#[cfg(unix)]
#[test]
fn plan_out_replaces_an_existing_file_with_one_only_its_owner_reads() {
    use std::os::unix::fs::PermissionsExt;
    let t = applied("perms");
    edit(&t);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("plan.json");
    std::fs::write(&file, "old").unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    t.run(&["plan", "--out", file.to_str().unwrap()]).success();
    assert_eq!(std::fs::metadata(&file).unwrap().permissions().mode() & 0o777, 0o600);
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1, "no temporary file left");
}
