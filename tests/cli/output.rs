//! Output that must not mislead: the summary of a plan without changes, redaction in `tree`,
//! what `rollback` counts, bad connect strings, a connection lost mid-command, and each command's
//! `--help`.

use crate::util::Test;

/// Regression: with an empty `services/`, plan printed "No changes. ZooKeeper matches the
/// repository." while listing the managed services the repository no longer has.
#[test]
fn an_empty_services_directory_does_not_claim_a_match() {
    let t = Test::new("emptyservices");
    t.write("services/a/config.toml", "x = 1\n").write("services/b/config.toml", "y = 1\n");
    t.run(&["apply", "--yes"]).success();
    t.remove("services/a").remove("services/b");
    let expected = "\
Managed by jones-sync but no longer in the repository (left untouched; --prune deletes them): a, b

No changes: the repository has no services, but ZooKeeper does not match the repository: it still has 2 managed services that the repository no longer has (left untouched; --prune deletes them).
";
    t.run(&["plan", "--detailed-exitcode"]).success().stdout(expected);
    let before = t.tree();
    t.run(&["apply", "--yes"]).success().stdout(expected);
    assert_eq!(t.tree(), before);
    let markdown = t.run(&["plan", "--format", "markdown"]).success().stdout;
    assert!(
        markdown.contains("**No changes: the repository has no services**, but ZooKeeper does not match"),
        "{markdown}"
    );
}

/// Regression: `tree` printed sensitive values that every plan redacts, from ZooKeeper and from
/// the repository; the repository's own patterns apply, and `--show-sensitive` needs a terminal.
#[test]
fn tree_redacts_sensitive_values_as_plan_does() {
    let t = Test::new("treeredact");
    t.write("services/s/config.toml", "db_password = \"hunter2\"\nhost = \"db1\"\n[auth]\napi_token = \"t-1\"\n")
        .write("services/s/prod/config.toml", "pin_code = \"1234\"\n");
    t.run(&["apply", "--yes"]).success();
    let expected = "\
s
(root) · 0 hosts
│   auth = {\"api_token\":\"(sensitive)\"}
│   db_password = (sensitive)
│   host = \"db1\"
└── prod · 0 hosts
        auth = {\"api_token\":\"(sensitive)\"}  (from root)
        db_password = (sensitive)           (from root)
        host = \"db1\"                        (from root)
        pin_code = \"1234\"
";
    t.run(&["tree", "s"]).success().stdout(expected);
    t.run(&["tree", "s", "--repo-only"]).success().stdout(expected);
    // The repository's patterns, in both modes.
    t.write("jones-sync.toml", "[plan]\nsensitive_keys = [\"*pin*\"]\n");
    for args in [&["tree", "s"][..], &["tree", "s", "--repo-only"]] {
        let out = t.run(args).success().stdout;
        assert!(out.contains("pin_code = (sensitive)") && out.contains("hunter2"), "{args:?}: {out}");
    }
    // Unreadable settings: nothing is shown, since what they hide is unknown.
    t.write("jones-sync.toml", "[plan]\nsensitive_keys = \"*pin*\"\n");
    let out = t.run(&["tree", "s"]).code(1);
    assert_eq!(out.stdout, "");
    assert!(out.stderr.starts_with("error: jones-sync.toml:2:18: invalid settings:"), "{}", out.stderr);
    t.remove("jones-sync.toml");
    t.run(&["tree", "s", "--show-sensitive"]).code(1).stdout("").stderr(
        "error: --show-sensitive shows sensitive values on a terminal only, and stdout is not one (they must not \
         reach logs, files or pull requests)\n",
    );
    let shown = t.run_tty(&["tree", "s", "--show-sensitive"], true).success().stdout;
    assert!(shown.contains("db_password = \"hunter2\"") && shown.contains("\"api_token\":\"t-1\""), "{shown}");
}

/// Regression: a service with 5 audit entries of one commit (applies repairing drift) was told
/// "0 earlier applies in its audit log, not 1".
#[test]
fn rollback_says_what_its_steps_count() {
    let t = Test::new("rollbacksteps");
    t.write("services/s/config.toml", "a = 1\n");
    let sha = t.commit_all("First");
    t.run(&["apply", "--yes"]).success();
    for drift in 2..=5 {
        t.zk_write("/services/s/conf", &format!("{{\"a\":{drift}}}"));
        t.run(&["apply", "--yes"]).success();
    }
    let before = t.tree();
    t.run(&["rollback", "s", "--yes"]).code(1).stderr(&format!(
        "error: `s` cannot go back 1 step (it can go back 0 steps): all 5 entries of its audit log are applies of {}, and a step goes back to an apply of another commit (repeated applies of one commit are one step). See `jones-sync history s`\n",
        &sha[..12]
    ));
    assert_eq!(t.tree(), before);
}
