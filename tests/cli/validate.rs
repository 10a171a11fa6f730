//! validate, offline: every kind of problem, each with its file and place, sorted, then a count.

use crate::util::Test;

#[test]
fn valid_repository_is_summarized() {
    let t = Test::new("valid");
    t.write("services/a/config.toml", "x = 1\n").write("services/a/e/hosts.toml", "hosts = [\"h1\", \"h2\"]\n");
    t.run(&["validate"]).success().stdout("The repository is valid: 1 service, 2 environments, 2 hosts.\n");
}

#[test]
fn every_problem_is_listed_sorted_with_a_count() {
    let t = Test::new("problems");
    t.write("services/shop/config.toml", "timeout = 30\nratio = nan\n")
        .write("services/shop/hosts.toml", "hosts = [\"root-host\"]\n")
        .write("services/shop/prod/config.toml", "[db\nhost = 1\n")
        .write("services/shop/prod/hosts.toml", "hosts = [\"web1\", \"\"]\n")
        .write("services/shop/prod/confg.toml", "x = 1\n")
        .write("services/shop/dev/hosts.toml", "hosts = [\"web1\"]\n")
        .write("services/shop/dev/README.md", "# notes are fine\n")
        .write("services/shop/limit/config.toml", "big = inf\n")
        .write("services/bad\u{7f}name/config.toml", "")
        .write("services/ok/tab\there/config.toml", "")
        .write("services/ok/emoji🚀/config.toml", "");
    std::fs::write(t.path("services/ok/latin1.toml"), b"x = \"caf\xe9\"\n").unwrap();
    std::fs::write(t.path("services/ok/config.toml"), b"x = \"caf\xe9\"\n").unwrap();
    let out = t.run(&["validate"]).code(1);
    assert_eq!(out.stdout, "");
    assert_eq!(
        out.stderr,
        "\
error: services/bad\u{7f}name: invalid service name: it contains a control character (U+007F), which ZooKeeper rejects in node names
error: services/ok/config.toml:1:9: not valid UTF-8 (invalid byte at offset 8)
error: services/ok/emoji🚀: invalid environment name: it contains a character outside the Basic Multilingual Plane (such as an emoji) (U+1F680), which ZooKeeper rejects in node names
error: services/ok/latin1.toml: unknown file `latin1.toml`: an environment holds only `config.toml`, `hosts.toml`, `*.md` files and child environments
error: services/ok/tab\there: invalid environment name: it contains a control character (U+0009), which ZooKeeper rejects in node names
error: services/shop/config.toml:2:9: `ratio`: nan cannot be stored in JSON (only finite numbers can); use a string if you need it
error: services/shop/hosts.toml: `hosts.toml` is not allowed in a service's root environment: hosts without an association read the root already
error: services/shop/limit/config.toml:1:7: `big`: inf cannot be stored in JSON (only finite numbers can); use a string if you need it
error: services/shop/prod/confg.toml: unknown file `confg.toml`: did you mean `config.toml`?
error: services/shop/prod/config.toml:1:4: invalid TOML: unclosed table, expected `]`
error: services/shop/prod/hosts.toml:1:10: host `web1` is also associated in `services/shop/dev/hosts.toml`: a host reads exactly one environment
error: services/shop/prod/hosts.toml:1:18: a host name must not be empty
12 problems found
"
    );
}

#[test]
fn a_repository_without_services_is_named() {
    let t = Test::new("noservices");
    t.remove("services");
    let out = t.run(&["validate"]).code(1);
    assert_eq!(
        out.stderr,
        "error: services/: not found: a config repository holds `services/<service>/config.toml` (is `--repo` pointing at one?)\n1 problem found\n"
    );
}

#[test]
fn a_missing_repository_directory_is_an_error() {
    let t = Test::new("norepo");
    let missing = t.path("nope");
    let out = t.run(&["validate", "--repo", missing.to_str().unwrap()]).code(1);
    assert_eq!(
        out.stderr,
        format!("error: cannot read the repository `{}`: No such file or directory (os error 2)\n", missing.display())
    );
}

#[test]
fn symlinks_may_not_leave_the_repository() {
    let t = Test::new("symlinks");
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(outside.path().join("config.toml"), "secret = 1\n").unwrap();
    t.write("services/s/config.toml", "a = 1\n").write("shared/common.toml", "b = 1\n");
    std::os::unix::fs::symlink(outside.path().join("config.toml"), t.path("services/s/config.toml.link")).unwrap();
    t.mkdir("services/s/e");
    std::os::unix::fs::symlink(outside.path().join("config.toml"), t.path("services/s/e/config.toml")).unwrap();
    std::os::unix::fs::symlink(outside.path(), t.path("services/s/outdir")).unwrap();
    // A symlink inside the repository is followed.
    t.mkdir("services/s/f");
    std::os::unix::fs::symlink(t.path("shared/common.toml"), t.path("services/s/f/config.toml")).unwrap();
    std::os::unix::fs::symlink(t.path("services/s/nowhere"), t.path("services/s/broken")).unwrap();
    let out = t.run(&["validate"]).code(1);
    let target = outside.path().canonicalize().unwrap();
    assert_eq!(
        out.stderr,
        format!(
            "\
error: services/s/broken: broken symlink: its target does not exist
error: services/s/config.toml.link: symlink leaves the repository (it points to `{0}/config.toml`)
error: services/s/e/config.toml: symlink leaves the repository (it points to `{0}/config.toml`)
error: services/s/outdir: symlink leaves the repository (it points to `{0}`)
4 problems found
",
            target.display()
        )
    );
    t.remove("services/s/broken")
        .remove("services/s/outdir")
        .remove("services/s/e/config.toml")
        .remove("services/s/config.toml.link");
    t.run(&["validate"]).success();
}

#[test]
fn oversized_nodes_are_reported_before_anything_is_written() {
    let t = Test::new("oversized");
    let big = "x".repeat(700_000);
    t.write("services/s/config.toml", &format!("a = \"{big}\"\n"))
        .write("services/s/e/config.toml", &format!("b = \"{big}\"\n"));
    let out = t.run(&["apply", "--yes"]).code(1);
    assert_eq!(
        out.stderr,
        "\
error: services/s/e: the view `/services/s/views/e` would be 1400015 bytes, over the 1048575-byte znode limit ([zookeeper] max_node_bytes)
1 problem found
"
    );
    assert!(t.tree().is_empty());
    // The limit is a setting.
    t.write("jones-sync.toml", "[zookeeper]\nmax_node_bytes = 1000\n");
    let out = t.run(&["validate"]).code(1);
    assert!(out.stderr.ends_with("4 problems found\n"), "{}", out.stderr);
}

#[test]
fn plan_refuses_an_invalid_repository_without_contacting_zookeeper() {
    let t = Test::new("invalidplan");
    t.write("services/s/config.toml", "a = \n");
    let out = t.run(&["plan", "--zk", "127.0.0.1:1"]).code(1);
    assert_eq!(out.stdout, "");
    assert_eq!(
        out.stderr,
        "error: services/s/config.toml:1:5: invalid TOML: string values must be quoted, expected literal string\n1 problem found\n"
    );
}

/// Regression: a node between `max_request_bytes` and `max_node_bytes` (a view of ~1.02 MB with
/// the default settings, or any node over a small `max_request_bytes`) passed validate and plan,
/// was then half-applied, and no rerun ever finished. Every node that validates can be written.
#[test]
fn a_node_no_request_can_hold_is_a_validation_error() {
    let t = Test::new("request");
    // Default settings: a conf within max_node_bytes (1,048,575) over max_request_bytes (1,000,000).
    t.write("services/big/config.toml", &format!("blob = \"{}\"\n", "x".repeat(1_020_000)));
    let out = t.run(&["validate"]).code(1);
    assert!(
        out.stderr.contains(
            "services/big/config.toml: the conf `/services/big/conf` would be 1020011 bytes: writing it takes \
             1020109 bytes, more than one request holds (999622 bytes with the checks it carries"
        ) && out.stderr.contains(
            "; [zookeeper] max_request_bytes is 1000000), so an apply could never finish: make it smaller, or raise \
             max_request_bytes (up to the servers' jute.maxbuffer)"
        ),
        "{}",
        out.stderr
    );
    t.run(&["plan"]).code(1);
    assert!(t.tree().is_empty(), "nothing planned or written");
    // A max_request_bytes smaller than one ordinary write.
    t.write("services/big/config.toml", &format!("blob = \"{}\"\n", "x".repeat(600)));
    t.write("jones-sync.toml", "[zookeeper]\nmax_request_bytes = 800\n");
    let out = t.run(&["validate"]).code(1);
    assert!(
        out.stderr.contains("the view `/services/big/views` would be 611 bytes: writing it takes"),
        "{}",
        out.stderr
    );
}
