//! `--rev`: reading the repository from git objects (no checkout), the helpful error of shallow
//! clones, and version pins.

use std::path::Path;

use jones_sync::repo::{Entry, EntryKind};

use crate::util::{Test, run_in, short};

/// Copies a directory tree (files and directories only).
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn git_in(dir: &Path, args: &[&str]) {
    let status = std::process::Command::new("git").args(args).current_dir(dir).output().unwrap();
    assert!(status.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&status.stderr));
}

#[test]
fn plans_of_a_revision_equal_plans_of_its_checkout() {
    let t = Test::new("revplan");
    // The config repository is a subdirectory of the git work tree, as example-repo/ is.
    t.write("config/services/shop/config.toml", "timeout = 30\n")
        .write("config/services/shop/prod/config.toml", "region = \"us\"\n")
        .write("config/services/shop/prod/hosts.toml", "hosts = [\"p1\", \"p2\"]\n")
        .write("config/services/web/config.toml", "port = 80\n")
        .write("src/main.c", "int main;\n");
    let first = t.commit_all("First");
    let config = t.path("config");
    let config = config.to_str().unwrap();
    t.run(&["apply", "--yes", "--repo", config]).success();
    t.write("config/services/shop/config.toml", "timeout = 60\n")
        .write("config/services/shop/dev/config.toml", "debug = true\n");
    t.remove("config/services/shop/prod/hosts.toml");
    t.write("config/jones-sync.toml", "[zookeeper]\nmax_node_bytes = 5000\n");
    let second = t.commit_all("Second");
    t.remove("config/services/web");
    t.write("config/services/shop/dev/hosts.toml", "hosts = [\"p1\"]\n");
    t.commit_all("Third");
    // Uncommitted edits in the work tree are not what --rev reads.
    t.write("config/services/shop/config.toml", "timeout = 999\n");
    let status_before = t.git(&["status", "--porcelain"]);

    let checkout = tempfile::tempdir().unwrap();
    git_in(checkout.path(), &["clone", "-q", t.repo.path().to_str().unwrap(), "."]);
    for rev in [first.as_str(), "HEAD~1", "main"] {
        git_in(checkout.path(), &["checkout", "-q", "--detach", &t.rev(rev)]);
        let checked_out = checkout.path().join("config");
        let expected = run_in(&checked_out, &t.zk, &["plan"]).success();
        let got = t.run(&["plan", "--repo", config, "--rev", rev]).success();
        assert_eq!(got.stdout, expected.stdout, "plan --rev {rev}");
        let expected = run_in(&checked_out, &t.zk, &["validate"]).success();
        t.run(&["validate", "--repo", config, "--rev", rev]).success().stdout(&expected.stdout);
    }
    assert!(t.run(&["plan", "--repo", config, "--rev", &first]).stdout.contains("No changes."));

    // Applying a revision needs no clean work tree, and records that commit.
    // (It removes both of shop's hosts: a mass deletion.)
    t.run(&["apply", "--yes", "--allow-mass-delete", "--repo", config, "--rev", "HEAD~1"]).success();
    let record: serde_json::Value = serde_json::from_str(&t.tree()["/services/shop/jones-sync"]).unwrap();
    assert_eq!((record["sha"].as_str(), record["subject"].as_str()), (Some(second.as_str()), Some("Second")));
    assert_eq!(record["dirty"], false);
    assert!(t.run(&["plan", "--repo", config, "--rev", &second]).stdout.contains("No changes."));
    // The work tree is untouched.
    assert_eq!(t.git(&["status", "--porcelain"]), status_before);
    assert_eq!(std::fs::read_to_string(t.path("config/services/shop/config.toml")).unwrap(), "timeout = 999\n");
}

#[test]
fn problems_at_a_revision_name_their_file_line_and_column() {
    let t = Test::new("revproblems");
    t.write("services/s/config.toml", "a = \n");
    let bad = t.commit_all("Broken");
    t.write("services/s/config.toml", "a = 1\n");
    t.commit_all("Fixed");
    t.run(&["validate"]).success();
    let out = t.run(&["validate", "--rev", &bad]).code(1);
    assert_eq!(
        out.stderr,
        "error: services/s/config.toml:1:5: invalid TOML: string values must be quoted, expected literal string\n1 problem found\n"
    );
}

#[test]
fn the_git_source_lists_what_the_work_tree_source_lists() {
    let t = Test::new("gitsource");
    copy_dir(&Path::new(env!("CARGO_MANIFEST_DIR")).join("example-repo"), &t.path("config"));
    t.write("config/.github/workflows/ci.yml", "on: push\n")
        .write("config/services/search/.hidden/config.toml", "not = read\n")
        .write("config/jones-sync.toml", "[history]\nkeep = 7\n")
        .write("outside/config.toml", "secret = 1\n");
    let link = |target: &str, at: &str| std::os::unix::fs::symlink(target, t.path(at)).unwrap();
    link("production", "config/services/search/alias"); // a directory, inside
    link("../config.toml", "config/services/search/staging/linked.toml"); // a file, inside
    link("../../../outside", "config/services/search/escape"); // leaves the config repository
    link("missing", "config/services/search/broken");
    link(".", "config/services/search/production/loop");
    t.commit_all("Everything");

    let dir = t.path("config");
    let (mut from_disk, disk_problems) = jones_sync::repo::source::read_dir(&dir).unwrap();
    let git = jones_sync::repo::git::Git::open(&dir).unwrap().unwrap();
    let head = git.resolve("HEAD").unwrap();
    let (mut from_git, git_problems) = git.entries("HEAD", &head, None).unwrap();
    let key = |e: &Entry| e.path.clone();
    from_disk.sort_by_key(key);
    from_git.sort_by_key(key);
    assert_eq!(from_git, from_disk);
    assert!(from_git.iter().any(|e| e.path == "services/search/alias/us-east/hosts.toml"));
    assert!(from_git.iter().any(|e| e.path == "jones-sync.toml" && e.kind != EntryKind::Dir));
    let files = |problems: jones_sync::diagnostic::Problems| -> Vec<String> {
        problems.into_sorted().into_iter().map(|p| p.file).collect()
    };
    let expected = [
        "services/search/alias/loop",
        "services/search/broken",
        "services/search/escape",
        "services/search/production/loop",
    ];
    assert_eq!(files(disk_problems), expected);
    assert_eq!(files(git_problems), expected);
}

#[test]
fn a_shallow_clone_says_how_to_fetch_a_missing_revision() {
    let t = Test::new("shallow");
    t.write("services/s/config.toml", "a = 1\n");
    let first = t.commit_all("First");
    t.write("services/s/config.toml", "a = 2\n");
    t.commit_all("Second");
    let clone = tempfile::tempdir().unwrap();
    let url = format!("file://{}", t.repo.path().display());
    git_in(clone.path(), &["clone", "-q", "--depth", "1", &url, "."]);

    let message = |rev: &str| {
        format!(
            "error: revision `{rev}` is not in the git repository of `{}`, which is a shallow clone: its history is cut off, \
             so older commits, branches and tags are missing. Fetch the history with `git fetch --unshallow` \
             (GitHub Actions: `actions/checkout` with `fetch-depth: 0`)\n",
            clone.path().display()
        )
    };
    run_in(clone.path(), &t.zk, &["plan", "--rev", "HEAD~1"]).code(1).stderr(&message("HEAD~1"));
    run_in(clone.path(), &t.zk, &["validate", "--rev", &first]).code(1).stderr(&message(&first));
    run_in(clone.path(), &t.zk, &["validate", "--rev", "HEAD"]).success();
    assert!(t.tree().is_empty(), "nothing was written");
}

#[test]
fn unknown_revisions_and_revisions_outside_git_are_errors() {
    let t = Test::new("revunknown");
    t.write("services/s/config.toml", "a = 1\n");
    let dir = t.repo.path().display().to_string();
    t.run(&["plan", "--rev", "HEAD"])
        .code(1)
        .stderr(&format!("error: `{dir}` is not in a git work tree, so it has no revision `HEAD`\n"));
    t.commit_all("First");
    t.run(&["apply", "--yes", "--rev", "v9"]).code(1).stderr(&format!(
        "error: unknown revision `v9` in the git repository of `{dir}`: no commit, branch or tag by that name here \
         (if it exists elsewhere, `git fetch` it first)\n"
    ));
    assert!(t.tree().is_empty());
}

#[test]
fn a_pinned_service_stays_put_while_another_moves() {
    let t = Test::new("pins");
    t.write("services/a/config.toml", "x = 1\n").write("services/b/config.toml", "y = 1\n");
    let v1 = t.commit_all("Version 1");
    t.git(&["tag", "v1"]);
    t.run(&["apply", "--yes"]).success();

    t.write("services/a/config.toml", "x = 2\n").write("services/b/config.toml", "y = 2\n");
    t.write("jones-sync.toml", "[services.a]\npin = \"v1\"\n");
    let v2 = t.commit_all("Version 2, a pinned to v1");
    t.run(&["plan"]).success().stdout(&format!(
        "\
a: no changes

b: 0 to create, 3 to update, 0 to delete
  ~ /services/b/conf (conf)
      ~ y: 1 → 2
  ~ /services/b/jones-sync (record of this apply)
  ~ /services/b/views (view, derived)
      ~ y: 1 → 2
  Blast radius: all unassociated hosts
    (root): every host without an association

Plan: 0 to create, 3 to update, 0 to delete. Reaches all unassociated hosts of b.

Note: `a` is pinned to `v1` ({}) in jones-sync.toml: its configuration comes from that commit.
",
        short(&v1)
    ));
    t.run(&["apply", "--yes"]).success();
    let tree = t.config_tree();
    assert_eq!((tree["/services/a/conf"].as_str(), tree["/services/b/conf"].as_str()), (r#"{"x":1}"#, r#"{"y":2}"#));

    // Moving the pin applies the pinned content, and the record says which commit it came from.
    t.write("jones-sync.toml", &format!("[services.a]\npin = \"{v2}\"\n"));
    t.write("services/a/config.toml", "x = 3\n");
    t.commit_all("Pin a to version 2; x = 3 waits");
    assert!(t.run(&["plan"]).stdout.contains("      ~ x: 1 → 2\n"));
    t.run(&["apply", "--yes"]).success();
    assert_eq!(t.config_tree()["/services/a/conf"], r#"{"x":2}"#);
    let record: serde_json::Value = serde_json::from_str(&t.tree()["/services/a/jones-sync"]).unwrap();
    assert_eq!((record["sha"].as_str(), record["pin"].as_str()), (Some(v2.as_str()), Some(v2.as_str())));
    assert_eq!(
        (record["pinned"].as_bool(), record["subject"].as_str()),
        (Some(true), Some("Version 2, a pinned to v1"))
    );
    let history = t.run(&["history", "a"]).success().stdout;
    assert!(history.lines().nth(1).unwrap().ends_with(&format!("[pinned to {v2}]")), "{history}");

    // Unpinned, a follows HEAD again.
    t.write("jones-sync.toml", "");
    t.commit_all("Unpin a");
    assert!(t.run(&["plan"]).stdout.contains("      ~ x: 2 → 3\n"));
}

#[test]
fn pins_that_cannot_be_read_are_validation_errors() {
    let t = Test::new("badpins");
    t.write("services/a/config.toml", "x = \n");
    t.commit_all("Broken a");
    t.git(&["tag", "broken"]);
    t.write("services/a/config.toml", "x = 1\n").write("services/b/config.toml", "y = 1\n");
    t.write(
        "jones-sync.toml",
        "[services.a]\npin = \"broken\"\n\n[services.b]\npin = \"v7\"\n\n[services.c]\npin = \"HEAD\"\n",
    );
    t.commit_all("Pins");
    let dir = t.repo.path().display().to_string();
    let out = t.run(&["validate"]).code(1);
    assert_eq!(
        out.stderr,
        format!(
            "\
error: broken:services/a/config.toml:1:5: invalid TOML: string values must be quoted, expected literal string
error: jones-sync.toml:5:7: cannot pin `b`: unknown revision `v7` in the git repository of `{dir}`: no commit, branch or tag by that name here (if it exists elsewhere, `git fetch` it first)
error: jones-sync.toml:8:7: cannot pin `c`: `services/c/` does not exist at `HEAD` ({})
3 problems found
",
            short(&t.rev("HEAD"))
        )
    );
    t.run(&["plan"]).code(1);
    assert!(t.tree().is_empty(), "nothing was read or written");
}
