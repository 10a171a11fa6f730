//! Git facts in the record, and the refusal to apply uncommitted config.

use crate::util::Test;

fn record(t: &Test, service: &str) -> serde_json::Value {
    serde_json::from_str(&t.tree()[&format!("/services/{service}/jones-sync")]).unwrap()
}

#[test]
fn the_record_names_the_commit_applied() {
    let t = Test::new("gitsha");
    t.write("services/s/config.toml", "a = 1\n");
    let sha = t.commit_all("first");
    t.run(&["apply", "--yes"]).success();
    assert_eq!(record(&t, "s")["sha"], sha.as_str());
    assert_eq!(record(&t, "s")["dirty"], false);
}

#[test]
fn uncommitted_config_is_refused_unless_allowed() {
    let t = Test::new("gitdirty");
    t.write("services/s/config.toml", "a = 1\n").write("notes.txt", "not config\n");
    let sha = t.commit_all("first");
    // Changes outside the config files do not matter.
    t.write("notes.txt", "edited\n");
    t.write("services/s/new-env/config.toml", "b = 1\n");
    let out = t.run(&["apply", "--yes"]).code(1);
    assert_eq!(
        out.stderr,
        format!(
            "error: config files in `{}` have uncommitted changes, so the recorded commit would not describe what is applied: \
             commit them, or pass --allow-dirty\n  `services/s/new-env/config.toml` (untracked)\n",
            t.repo.path().display()
        )
    );
    assert!(t.tree().is_empty(), "nothing written");
    // plan shows uncommitted edits, while editing.
    assert!(t.run(&["plan"]).success().stdout.contains("+ /services/s/conf/new-env (conf)"));
    t.run(&["apply", "--yes", "--allow-dirty"]).success();
    assert_eq!(record(&t, "s")["sha"], sha.as_str());
    assert_eq!(record(&t, "s")["dirty"], true);
}

#[test]
fn a_repository_in_a_subdirectory_of_a_git_work_tree() {
    let t = Test::new("gitsub");
    t.write("config/services/s/config.toml", "a = 1\n").write("src/main.c", "int main;\n");
    let sha = t.commit_all("first");
    t.write("src/main.c", "changed\n");
    let config = t.path("config");
    t.run(&["apply", "--yes", "--repo", config.to_str().unwrap()]).success();
    assert_eq!(record(&t, "s")["sha"], sha.as_str());
}

#[test]
fn confirmation_on_a_terminal() {
    let t = Test::new("prompt");
    t.write("services/s/config.toml", "a = 1\n");
    let out = t.run_on_terminal(&["apply"], || "no".into()).code(1);
    assert!(out.stdout.ends_with("Enter a value: no\nerror: apply cancelled: nothing was written\n"), "{}", out.stdout);
    assert!(t.tree().is_empty());
    let out = t.run_on_terminal(&["apply"], || "yes".into()).success();
    assert!(out.stdout.ends_with("Apply complete: 6 created, 0 updated, 0 deleted.\n"), "{}", out.stdout);
}

#[test]
fn an_edit_while_the_prompt_waits_aborts_the_apply() {
    let t = Test::new("promptrace");
    t.write("services/s/config.toml", "a = 1\n");
    t.run(&["apply", "--yes"]).success();
    t.write("services/s/config.toml", "a = 2\n");
    let out = t
        .run_on_terminal(&["apply"], || {
            t.zk_write("/services/s/conf", r#"{"a": "set in the web UI"}"#);
            "yes".into()
        })
        .code(1);
    assert!(
        out.stdout.contains(
            "error: s: `/services/s/conf` was changed by someone else since it was read; nothing was written\n"
        ),
        "{}",
        out.stdout
    );
    assert_eq!(t.tree()["/services/s/conf"], r#"{"a": "set in the web UI"}"#);
    assert_eq!(t.tree()["/services/s/views"], r#"{"a":1}"#);
}
