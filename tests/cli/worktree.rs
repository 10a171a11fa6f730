//! The work tree against git: what jones-sync reads from a work tree must be what the recorded
//! commit holds, or the apply is refused as dirty, naming the path (issue "the work tree and git
//! disagree"). Git tracks files, not directories, and does not see what it ignores.

use crate::util::Test;

fn record(t: &Test, service: &str) -> serde_json::Value {
    serde_json::from_str(&t.tree()[&format!("/services/{service}/jones-sync")]).unwrap()
}

fn committed(name: &str) -> Test {
    let t = Test::new(name);
    t.write("services/s/config.toml", "a = 1\n").write("services/s/prod/hosts.toml", "hosts = [\"web1\"]\n");
    t.commit_all("first");
    t
}

#[track_caller]
fn refused(t: &Test, paths: &[&str]) {
    let before = t.tree();
    let out = t.run(&["apply", "--yes"]).code(1);
    let listed: String = paths.iter().map(|p| format!("\n  {p}")).collect();
    assert_eq!(
        out.stderr,
        format!(
            "error: config files in `{}` have uncommitted changes, so the recorded commit would not describe what \
             is applied: commit them, or pass --allow-dirty{listed}\n",
            t.repo.path().display()
        )
    );
    assert_eq!(t.tree(), before, "nothing written");
}

#[test]
fn an_empty_directory_git_does_not_record_is_refused_as_dirty_with_its_path() {
    let t = committed("wtempty");
    t.mkdir("services/s/qa/below");
    // The work tree has the environment; the commit does not.
    assert!(t.run(&["plan"]).success().stdout.contains("+ /services/s/conf/qa (conf)"));
    assert!(!t.run(&["plan", "--rev", "HEAD"]).success().stdout.contains("/services/s/conf/qa"));
    refused(&t, &["`services/s/qa` (a directory git does not record: it is empty, or holds only files git ignores)"]);
    t.run(&["apply", "--yes", "--allow-dirty"]).success();
    assert_eq!(record(&t, "s")["dirty"], true, "the record does not claim the commit holds what was written");
}

#[test]
fn a_directory_holding_only_ignored_files_is_refused_as_dirty() {
    let t = committed("wtignoreddir");
    t.write(".gitignore", "scratch.md\n");
    t.commit_all("ignore scratch notes");
    t.write("services/s/staging/scratch.md", "my notes\n");
    refused(
        &t,
        &["`services/s/staging` (a directory git does not record: it is empty, or holds only files git ignores)"],
    );
}

#[test]
fn an_ignored_config_file_is_refused_as_dirty() {
    let t = committed("wtignoredfile");
    t.write(".gitignore", "local/\nhosts.toml\n");
    t.commit_all("ignore local overrides");
    // A tracked file stays tracked; a new one that matches is ignored.
    t.write("services/s/local/config.toml", "debug = true\n").write("services/s/dev/hosts.toml", "hosts = [\"d1\"]\n");
    refused(
        &t,
        &[
            "`services/s/dev/hosts.toml` (ignored by git, so not in the commit)",
            "`services/s/local/config.toml` (ignored by git, so not in the commit)",
        ],
    );
    t.remove("services/s/local").remove("services/s/dev/hosts.toml");
    t.write("services/s/dev/config.toml", "x = 1\n");
    t.write(".gitignore", "services/s/dev/hosts.toml\n");
    t.commit_all("dev");
    t.write("services/s/dev/hosts.toml", "hosts = [\"d1\"]\n");
    refused(&t, &["`services/s/dev/hosts.toml` (ignored by git, so not in the commit)"]);
}

#[test]
fn a_directory_kept_by_a_hidden_file_is_in_the_commit_and_clean() {
    let t = committed("wtgitkeep");
    t.write("services/s/qa/.gitkeep", "");
    t.commit_all("qa");
    t.run(&["apply", "--yes"]).success();
    assert_eq!(record(&t, "s")["dirty"], false);
    assert!(t.tree().contains_key("/services/s/conf/qa"));
}

#[test]
fn environments_nested_a_hundred_deep_are_read_and_checked_like_any_other() {
    let t = committed("wtdeep");
    let deep: String = (1..=100).map(|i| format!("/e{i}")).collect();
    t.write(&format!("services/s{deep}/config.toml"), "b = 1\n");
    t.commit_all("deep");
    t.run(&["validate"]).success().stdout("The repository is valid: 1 service, 102 environments, 1 host.\n");
    t.run(&["apply", "--yes"]).success();
    assert_eq!(record(&t, "s")["dirty"], false);
    assert_eq!(t.tree()[&format!("/services/s/conf{deep}")], "{\"b\":1}");
    t.run(&["plan", "--detailed-exitcode"]).code(0);
    // A change down there is a change git would see.
    t.write(&format!("services/s{deep}/config.toml"), "b = 2\n");
    refused(&t, &[&format!("`services/s{deep}/config.toml` (modified)")]);
    t.write(&format!("services/s{deep}/extra/config.toml"), "c = 1\n");
    refused(
        &t,
        &[
            &format!("`services/s{deep}/config.toml` (modified)"),
            &format!("`services/s{deep}/extra/config.toml` (not in the commit)"),
        ],
    );
}

#[test]
fn an_environment_read_through_a_committed_symlink_is_clean() {
    let t = committed("wtsymlink");
    t.write("shared/prod/config.toml", "a = 2\n");
    std::os::unix::fs::symlink("../../shared/prod", t.path("services/s/eu")).unwrap();
    t.commit_all("eu is prod");
    t.run(&["apply", "--yes"]).success();
    assert_eq!(record(&t, "s")["dirty"], false);
    assert_eq!(t.tree()["/services/s/conf/eu"], "{\"a\":2}");
    // An empty directory where the link points is not in the commit either.
    t.mkdir("shared/prod/qa");
    refused(
        &t,
        &["`services/s/eu/qa` (read through a symlink from `shared/prod/qa`, a directory git does not record: it is \
             empty, or holds only files git ignores)"],
    );
}

#[test]
fn config_read_through_a_symlink_from_outside_services_is_checked_against_the_commit() {
    let t = committed("wtsymlinkcontent");
    t.write("shared/prod/config.toml", "a = 2\n");
    std::os::unix::fs::symlink("../../shared/prod", t.path("services/s/eu")).unwrap();
    t.commit_all("eu is prod");
    // Git's status of `services/` sees the link, not the file it reads.
    t.write("shared/prod/config.toml", "a = 3\n");
    refused(
        &t,
        &[
            "`services/s/eu/config.toml` (read through a symlink from `shared/prod/config.toml`, which differs from the commit)",
        ],
    );
}
