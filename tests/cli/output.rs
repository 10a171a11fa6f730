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

/// Regression: `http://host:port` said "empty node is not allowed in path", an unresolvable host
/// waited for the whole timeout then said "no server is reachable", an empty `JONES_SYNC_ZK` (a
/// missing CI secret) said "empty connect string". Each now says what is wrong and what to write,
/// at once and with nothing contacted.
#[test]
fn bad_connect_strings_say_what_is_wrong_and_what_to_write() {
    let t = Test::new("badzk");
    t.write("services/s/config.toml", "a = 1\n");
    let form = "`host:port[,host:port...][/chroot]`, e.g. `zk1:2181,zk2:2181/jones` (`tcp+tls://host:port` for TLS)";
    t.run(&["plan", "--zk", "http://zk1.example:2181"]).code(1).stderr(&format!(
        "error: invalid connect string `http://zk1.example:2181` (from --zk): `http://` is not a ZooKeeper address: a server is `host:port`, without a URL scheme; write {form}\n"
    ));
    t.run(&["apply", "--yes", "--zk", "zk1:2181/jones,zk2:2181"]).code(1).stderr(
        "error: invalid connect string `zk1:2181/jones,zk2:2181` (from --zk): a chroot (`/jones`) goes once, after the last server: write `host:port,host:port/chroot`\n",
    );
    t.run_env(&["status"], &[("JONES_SYNC_ZK", "zk1:2181\n")]).code(1).stderr(&format!(
        "error: invalid connect string `zk1:2181\\n` (from JONES_SYNC_ZK): it contains white space (a line break or a space copied along with it?); write it without, as {form}\n"
    ));
    t.run_env(&["plan"], &[("JONES_SYNC_ZK", "")]).code(1).stderr(&format!(
        "error: JONES_SYNC_ZK is set but empty (a CI secret that is not defined?): set it to the connect string, {form}, or unset it to use 127.0.0.1:2181\n"
    ));
    // A command that does not connect does not care.
    t.run_env(&["validate"], &[("JONES_SYNC_ZK", "")]).success();
    // An unresolvable host fails at once, named, long before the timeout.
    let started = std::time::Instant::now();
    let out = t.run(&["plan", "--zk", "zk-gone.invalid:2181/jones", "--connect-timeout", "60"]).code(1);
    // The resolver's reason in the parentheses depends on the resolver.
    assert!(out.stderr.starts_with("error: cannot resolve `zk-gone.invalid` ("), "{}", out.stderr);
    assert!(
        out.stderr.ends_with(
            ") in the connect string `zk-gone.invalid:2181/jones` (from --zk): check the host name, nothing was contacted\n"
        ),
        "{}",
        out.stderr
    );
    assert!(started.elapsed() < std::time::Duration::from_secs(20), "{:?}", started.elapsed());
}

/// Regression: `host:port/chroot/` was refused, though a trailing `/` is documented as ignored.
#[test]
fn a_trailing_slash_of_the_chroot_is_ignored() {
    let t = Test::new("zkslash");
    t.write("services/s/config.toml", "a = 1\n");
    let slash = format!("{}/", t.zk);
    t.run(&["apply", "--yes", "--zk", &slash]).success();
    assert_eq!(t.config_tree()["/services/s/conf"], r#"{"a":1}"#);
    t.run(&["plan", "--detailed-exitcode", "--zk", &slash]).success();
    // One unresolvable server of two is a warning: the other one serves.
    let (server, chroot) = t.zk.split_once('/').unwrap();
    let two = format!("{server},zk-gone.invalid:2181/{chroot}/");
    let out = t.run(&["plan", "--detailed-exitcode", "--zk", &two]).success();
    assert!(out.stderr.starts_with("warning: cannot resolve `zk-gone.invalid` ("), "{}", out.stderr);
    assert!(out.stdout.ends_with("No changes. ZooKeeper matches the repository.\n"), "{}", out.stdout);
}

/// Regression: every subcommand's `--help` listed `--zk`, `--repo`, `--connect-timeout` and
/// `--color`, whether it used them or not. Options stay accepted where users type them: after a
/// command that uses them, and before any command.
#[test]
fn each_command_help_lists_only_the_options_it_uses() {
    let t = Test::new("help");
    t.write("services/s/config.toml", "a = 1\n");
    // command: (--repo, --zk and --connect-timeout, --color)
    let uses = [
        ("validate", (true, false, false)),
        ("plan", (true, true, true)),
        ("show", (false, false, true)),
        ("apply", (true, true, true)),
        ("history", (false, true, false)),
        ("status", (true, true, false)),
        ("rollback", (true, true, true)),
        ("unlock", (false, true, false)),
        ("import", (false, true, false)),
        ("get", (true, true, false)),
        ("tree", (true, true, false)),
    ];
    for (command, (repo, zk, color)) in uses {
        let help = t.run(&[command, "--help"]).success().stdout;
        let has = |option: &str| help.contains(&format!("      {option} <"));
        assert_eq!(
            (has("--repo"), has("--zk"), has("--connect-timeout"), has("--color")),
            (repo, zk, zk, color),
            "{command} --help:\n{help}"
        );
    }
    // Both positions, for a command that uses the option; `--repo` after the command wins.
    let elsewhere = tempfile::tempdir().unwrap();
    let there = elsewhere.path().to_str().unwrap();
    let repo = t.repo.path().to_str().unwrap();
    let run = |args: &[&str]| crate::util::run_in(elsewhere.path(), "127.0.0.1:1", args);
    let planned = "\ns: 5 to create, 0 to update, 0 to delete, not managed by jones-sync yet\n";
    for args in [
        &["--zk", &t.zk, "--repo", repo, "plan"][..],
        &["plan", "--zk", &t.zk, "--repo", repo],
        &["--repo", there, "--zk", "127.0.0.1:1", "plan", "--repo", repo, "--zk", &t.zk],
    ] {
        let out = run(args).success();
        assert!(out.stdout.contains(planned), "{args:?}: {out:?}");
    }
    // Before the command, every command accepts them (a prefix shared by several commands);
    // after it, only the commands that use them.
    run(&["--zk", &t.zk, "--repo", repo, "validate"]).success();
    let out = run(&["validate", "--repo", repo, "--zk", &t.zk]).code(1);
    assert!(out.stderr.starts_with("error: unexpected argument '--zk' found"), "{}", out.stderr);
    let out = run(&["history", "s", "--repo", repo]).code(1);
    assert!(out.stderr.starts_with("error: unexpected argument '--repo' found"), "{}", out.stderr);
}

/// Regression: ZooKeeper lost while `plan` read said only "session expired", after 15 s.
#[test]
fn zookeeper_lost_during_plan_says_so_and_that_nothing_was_written() {
    use crate::proxy::{Fault, Proxy};
    let t = Test::new("planlost");
    t.write("services/s/config.toml", "a = 1\n");
    t.run(&["apply", "--yes"]).success();
    t.write("services/s/config.toml", "a = 2\n");
    let proxy = Proxy::start(&crate::zookeeper::server().address());
    proxy.arm_read(Fault::Down, 0);
    let connect = proxy.connect_string(&t.zk[t.zk.find('/').unwrap()..]);
    let out = crate::util::run_in(t.repo.path(), &connect, &["plan", "--connect-timeout", "2"]).code(1);
    assert_eq!(proxy.fired(), [Fault::Down]);
    assert_eq!(out.stdout, "");
    assert_eq!(
        out.stderr,
        format!(
            "error: the connection to ZooKeeper at `{connect}` was lost (session expired): nothing was written, as \
             `plan` only reads (and saves `--out` only once the plan is complete); run it again once ZooKeeper is \
             reachable\n"
        )
    );
    // Another reading command says the same of itself.
    let proxy = Proxy::start(&crate::zookeeper::server().address());
    proxy.arm_read(Fault::Down, 0);
    let connect = proxy.connect_string(&t.zk[t.zk.find('/').unwrap()..]);
    let out = crate::util::run_in(t.repo.path(), &connect, &["status", "--connect-timeout", "2"]).code(1);
    assert!(
        out.stderr.ends_with("was lost (session expired): nothing was written, as `status` only reads; run it again once ZooKeeper is reachable\n"),
        "{}",
        out.stderr
    );
}
