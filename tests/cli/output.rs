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
