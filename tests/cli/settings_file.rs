//! `jones-sync.toml` at the edges: read only from inside the repository and only as a file, its
//! near-miss names refused, every problem in it listed in the file's words, and an ACL that would
//! lock jones-sync out of its own nodes refused before anything is written.

use crate::security::{AUTH, DEPLOY};
use crate::util::Test;

/// Regression: a `jones-sync.toml` symlink to a file outside the repository was followed, and the
/// parse error showed its content.
#[test]
fn a_settings_symlink_leaving_the_repository_is_refused_without_showing_its_content() {
    let t = Test::new("settingslink");
    t.write("services/s/config.toml", "a = 1\n");
    let outside = tempfile::tempdir().unwrap();
    let secret = outside.path().join("passwords");
    std::fs::write(&secret, "root hunter2 s3cr3t\n").unwrap();
    std::os::unix::fs::symlink(&secret, t.path("jones-sync.toml")).unwrap();
    let out = t.run(&["validate"]).code(1);
    let target = secret.canonicalize().unwrap();
    assert_eq!(
        out.stderr,
        format!(
            "error: jones-sync.toml: symlink leaves the repository (it points to `{}`): the settings are read from inside it only\n1 problem found\n",
            target.display()
        )
    );
    // `plan` stops the same way, before contacting ZooKeeper.
    let plan = t.run(&["plan"]).code(1);
    assert!(!plan.stderr.contains("hunter2") && !plan.stdout.contains("hunter2"), "{plan:?}");

    // Committed, read with `--rev`: a link out of the git tree, and one out of the config
    // repository (a subdirectory of the work tree) into the rest of the work tree.
    std::fs::remove_file(t.path("jones-sync.toml")).unwrap();
    std::os::unix::fs::symlink("../../etc/passwd", t.path("jones-sync.toml")).unwrap();
    t.commit_all("a link out of git");
    let out = t.run(&["validate", "--rev", "HEAD"]).code(1);
    assert_eq!(
        out.stderr,
        "error: jones-sync.toml: symlink leaves the repository (it points to `..`): the settings are read from inside it only\n1 problem found\n"
    );
    t.write("config/services/s/config.toml", "a = 1\n").write("private.toml", "[zookeeper]\nsecret = \"s3cr3t\"\n");
    std::os::unix::fs::symlink("../private.toml", t.path("config/jones-sync.toml")).unwrap();
    t.commit_all("a link out of the config repository");
    let config = t.path("config");
    for rev in [None, Some("HEAD")] {
        let mut args = vec!["validate", "--repo", config.to_str().unwrap()];
        args.extend(rev.iter().flat_map(|rev| ["--rev", rev]));
        let out = t.run(&args).code(1);
        assert!(
            out.stderr.starts_with("error: jones-sync.toml: symlink leaves the repository (it points to `"),
            "{rev:?}: {}",
            out.stderr
        );
        assert!(!out.stderr.contains("s3cr3t"), "{}", out.stderr);
    }
}

#[test]
fn a_settings_symlink_inside_the_repository_is_followed() {
    let t = Test::new("settingslinkin");
    t.write("services/s/config.toml", "a = 1\n").write("settings/real.toml", "[history]\nkeep = 0\n");
    std::os::unix::fs::symlink("settings/real.toml", t.path("jones-sync.toml")).unwrap();
    let expected = "error: jones-sync.toml:2:8: invalid settings: `[history] keep` must be a whole number of audit entries, at least 1 (the entry of the last apply), found 0\n1 problem found\n";
    t.run(&["validate"]).code(1).stderr(expected);
    t.commit_all("linked settings");
    t.run(&["validate", "--rev", "HEAD"]).code(1).stderr(expected);
    // A link to nowhere is named, not skipped.
    t.remove("jones-sync.toml");
    std::os::unix::fs::symlink("settings/gone.toml", t.path("jones-sync.toml")).unwrap();
    let broken = "error: jones-sync.toml: broken symlink: its target does not exist\n1 problem found\n";
    t.run(&["validate"]).code(1).stderr(broken);
    t.commit_all("a broken link");
    t.run(&["validate", "--rev", "HEAD"]).code(1).stderr(broken);
}

/// Regression: a directory named `jones-sync.toml` was silently ignored (no settings applied).
#[test]
fn a_settings_directory_is_an_error() {
    let t = Test::new("settingsdir");
    t.write("services/s/config.toml", "a = 1\n").write("jones-sync.toml/zookeeper.toml", "acl = []\n");
    let expected = "error: jones-sync.toml: is a directory: the settings file must be a file\n1 problem found\n";
    t.run(&["validate"]).code(1).stderr(expected);
    t.commit_all("settings as a directory");
    t.run(&["validate", "--rev", "HEAD"]).code(1).stderr(expected);
}

/// Regression: a settings file under a near-miss name was silently ignored, so its settings (an
/// ACL, the sensitive-key patterns) were not applied.
#[test]
fn near_miss_settings_file_names_are_errors() {
    let t = Test::new("settingsname");
    t.write("services/s/config.toml", "a = 1\n")
        .write("jones_sync.toml", "[plan]\nsensitive_keys = [\"*\"]\n")
        .write("Jones-Sync.yaml", "plan: {}\n")
        .write("jones-sync.toml.example", "# an example is fine\n")
        .write("README.md", "# notes\n");
    let expected = "\
error: Jones-Sync.yaml: not read: jones-sync reads its settings only from `jones-sync.toml` at the repository root; rename this file to `jones-sync.toml` (in TOML), or remove it
error: jones_sync.toml: not read: jones-sync reads its settings only from `jones-sync.toml` at the repository root; rename this file to `jones-sync.toml` (in TOML), or remove it
2 problems found
";
    t.run(&["validate"]).code(1).stderr(expected);
    t.commit_all("near misses");
    t.run(&["validate", "--rev", "HEAD"]).code(1).stderr(expected);
    t.remove("jones_sync.toml").remove("Jones-Sync.yaml");
    t.write("jones-sync.toml", "[plan]\nsensitive_keys = [\"*\"]\n");
    t.run(&["validate"]).success();
}

/// Regression: settings errors stopped at the first and spoke Rust (`expected usize`,
/// `expected struct ZooKeeperSettings`).
#[test]
fn every_settings_problem_is_listed_in_the_words_of_the_file() {
    let t = Test::new("settingswords");
    t.write("services/s/config.toml", "a = 1\n").write(
        "jones-sync.toml",
        "[zookeeper]\nmax_request_bytes = \"1MB\"\nmax_node_byte = 5\n[history]\nkeep = -3\n[sync]\nprune = 1\n[servics.a]\npin = \"v1\"\n",
    );
    t.run(&["validate"]).code(1).stderr(
        "\
error: jones-sync.toml:2:21: invalid settings: `[zookeeper] max_request_bytes` must be a whole number of bytes, at least 1, found a string
error: jones-sync.toml:3:1: invalid settings: unknown key `max_node_byte` in `[zookeeper]`: did you mean `max_node_bytes`? (the keys of `[zookeeper]` are `max_node_bytes`, `max_request_bytes` and `acl`)
error: jones-sync.toml:5:8: invalid settings: `[history] keep` must be a whole number of audit entries, at least 1, found -3
error: jones-sync.toml:7:9: invalid settings: `[sync] prune` must be true or false, found the number 1
error: jones-sync.toml:8:2: invalid settings: unknown table `[servics]`: did you mean `[services]`? (jones-sync.toml holds the tables `[zookeeper]`, `[history]`, `[sync]`, `[services.<name>]`, `[plan]`, `[targets.<name>]` and `[rollout]`)
5 problems found
",
    );
}

/// Regression: `acl = ["world:anyone:r"]` passed validate, and the apply that created `/services`
/// with it could not lock, leaving `/services` read-only for everyone (only a ZooKeeper superuser
/// could undo it).
#[test]
fn an_acl_locking_jones_sync_out_is_refused_before_anything_is_written() {
    let t = Test::new("acllockout");
    t.write("services/s/config.toml", "a = 1\n").write("jones-sync.toml", "[zookeeper]\nacl = [\"world:anyone:r\"]\n");
    let expected = "error: jones-sync.toml:2:1: invalid settings: `acl` gives nobody `cdw`: jones-sync would be locked out of the nodes it creates with it, since it needs `r` to read them, `w` to write their data, `c` to add environments, audit entries and locks, and `d` to remove them; nobody has the admin permission `a`, so only a ZooKeeper superuser could undo that\n1 problem found\n";
    t.run(&["validate"]).code(1).stderr(expected);
    t.run(&["apply", "--yes"]).code(1).stderr(expected);
    assert!(t.tree().is_empty(), "{:?}", t.tree());
    // Another instance of the class: writes for one user, deletes for another.
    let other = "digest:other:tOZjCThA8OKxtaNg5wuTJhLSUfo=";
    t.write("jones-sync.toml", &format!("[zookeeper]\nacl = [\"world:anyone:r\", \"{DEPLOY}:cwa\", \"{other}:d\"]\n"));
    let out = t.run_env(&["apply", "--yes"], &[AUTH]).code(1);
    assert!(out.stderr.contains("`acl` gives all of `cdrw` to no one identity"), "{}", out.stderr);
    assert!(t.tree().is_empty(), "{:?}", t.tree());
}

/// An ACL that only another identity than the one jones-sync connects as could use: refused by
/// apply before anything is written, saying who gets what; the right credentials apply.
#[test]
fn an_acl_for_another_identity_is_refused_by_apply_before_writing() {
    let t = Test::new("aclidentity");
    t.write("services/s/config.toml", "a = 1\n")
        .write("jones-sync.toml", &format!("[zookeeper]\nacl = [\"world:anyone:r\", \"{DEPLOY}:cdrwa\"]\n"));
    let refused = |who: &str| {
        format!(
            "error: `[zookeeper] acl` would lock this session out of the nodes it creates: it {who}, so it would lack `cdw`, which only `digest:deploy` gets. jones-sync needs `r` to read them, `w` to write their data, `c` to add environments, audit entries and locks, and `d` to remove them; only an identity with the admin permission `a` (or a ZooKeeper superuser) could undo that. Set JONES_SYNC_ZK_AUTH to the `user:password` of an identity the ACL gives `cdrw`, or change the ACL; nothing was written\n"
        )
    };
    t.run(&["apply", "--yes"]).code(1).stderr(&refused("connects without credentials"));
    t.run_env(&["apply", "--yes"], &[("JONES_SYNC_ZK_AUTH", "ops:pw")])
        .code(1)
        .stderr(&refused("authenticates as `ops`"));
    let out = t.run_env(&["apply", "--yes"], &[("JONES_SYNC_ZK_AUTH", "deploy:wrong")]).code(1);
    assert_eq!(out.stderr, refused("authenticates as `deploy` with another password than the ACL's `digest:deploy`"));
    assert!(t.tree().is_empty(), "{:?}", t.tree());
    // `plan` only reads: it plans without the writer's credentials (a reviewer's job may lack them).
    t.run(&["plan", "--detailed-exitcode"]).code(2);
    t.run_env(&["apply", "--yes"], &[AUTH]).success();
    assert_eq!(t.config_tree()["/services/s/conf"], r#"{"a":1}"#);
}
