//! Rolling back: by steps and by SHA from the audit log, the git advice that makes the repository
//! agree, and rolling back the git way (revert, then apply).

use serde_json::Value;

use crate::util::{Test, short, times};
use crate::zookeeper::block_on;

fn record(t: &Test, service: &str) -> Value {
    serde_json::from_str(&t.tree()[&format!("/services/{service}/jones-sync")]).unwrap()
}

/// Applies `a = n` for each n as its own commit; returns the SHAs.
fn applied_versions(t: &Test, versions: &[i32]) -> Vec<String> {
    versions
        .iter()
        .map(|n| {
            t.write("services/s/config.toml", &format!("a = {n}\n"));
            let sha = t.commit_all(&format!("a = {n}"));
            t.run(&["apply", "--yes"]).success();
            sha
        })
        .collect()
}

/// Runs a shell command line (as a person pastes it) in the repository.
fn sh(t: &Test, line: &str) {
    let out = std::process::Command::new("sh")
        .args(["-c", line])
        .current_dir(t.repo.path())
        .env("GIT_AUTHOR_NAME", "Ada")
        .env("GIT_AUTHOR_EMAIL", "ada@example.com")
        .env("GIT_COMMITTER_NAME", "Ada")
        .env("GIT_COMMITTER_EMAIL", "ada@example.com")
        .output()
        .unwrap();
    assert!(out.status.success(), "{line}: {}", String::from_utf8_lossy(&out.stderr));
}

/// The indented command lines of the advice, after `intro`.
fn commands_after<'a>(stdout: &'a str, intro: &str) -> Vec<&'a str> {
    let rest = &stdout[stdout.find(intro).unwrap_or_else(|| panic!("no {intro:?} in:\n{stdout}"))..];
    rest.lines().skip(2).take_while(|line| line.starts_with("    ")).map(str::trim).collect()
}

#[test]
fn rollback_by_steps_then_by_sha() {
    let t = Test::new("rollback");
    t.write("services/s/prod/hosts.toml", "hosts = [\"w1\"]\n");
    let shas = applied_versions(&t, &[1, 2, 3]);
    let dir = t.repo.path().display().to_string();

    let out = t.run(&["rollback", "s", "--yes"]).success();
    assert_eq!(
        times(&out.stdout),
        format!(
            "\
Rolling back `s` from {c3} to {c2} \"a = 2\" (applied at <time> by tester, audit entry 2).

s: 0 to create, 4 to update, 0 to delete
  ~ /services/s/conf (conf)
      ~ a: 3 → 2
  ~ /services/s/jones-sync (record of this apply)
  ~ /services/s/views (view, derived)
      ~ a: 3 → 2
  ~ /services/s/views/prod (view, derived)
      ~ a: 3 → 2
  Blast radius: 1 host and all unassociated hosts
    (root): every host without an association
    prod (view updated): w1

Plan: 0 to create, 4 to update, 0 to delete. Reaches 1 host and all unassociated hosts of s.

s: applied in one transaction: 0 created, 4 updated, 0 deleted, zxid {zxid}
Apply complete: 0 created, 4 updated, 0 deleted.

Rolled back: `s` now runs {c2} (a = 2).
The repository still holds the configuration it was rolled back from, so `jones-sync plan`
shows the difference and the next `jones-sync apply` would undo the rollback. Make git agree,
either by reverting the commits that changed services/s/ since then:

    git -C {dir} revert --no-edit {c3}

or by pinning the service to that commit in jones-sync.toml until a fix is merged:

    [services.s]
    pin = \"{full}\"
",
            c3 = short(&shas[2]),
            c2 = short(&shas[1]),
            full = shas[1],
            zxid = out.stdout.split("zxid ").nth(1).unwrap().lines().next().unwrap(),
        )
    );
    assert_eq!(t.config_tree()["/services/s/conf"], r#"{"a":2}"#);
    let rec = record(&t, "s");
    assert_eq!((rec["sha"].as_str(), rec["rollback"].as_bool()), (Some(shas[1].as_str()), Some(true)));

    // Until git agrees, plan shows the divergence and says it would undo the rollback.
    let plan = t.run(&["plan"]).success().stdout;
    assert!(plan.contains("      ~ a: 2 → 3\n"), "{plan}");
    assert!(
        times(&plan).ends_with(&format!(
            "\nWarning: `s` was rolled back to {} by tester at <time>, and this plan undoes that rollback.\n  \
             To keep the rollback, make git agree: revert the change, or pin the service (`jones-sync history s`).\n",
            short(&shas[1])
        )),
        "{plan}"
    );
    assert!(t.run(&["status"]).stdout.contains(&format!("{} (rollback)", short(&shas[1]))));

    // By SHA (any revision naming it), to an entry further back.
    t.run(&["rollback", "s", "--to", short(&shas[0]), "--yes"]).success();
    assert_eq!(t.config_tree()["/services/s/conf"], r#"{"a":1}"#);
    assert_eq!(record(&t, "s")["sha"], shas[0].as_str());
    let history = t.run(&["history", "s", "--format", "json"]).success().stdout;
    let entries: Vec<Value> = serde_json::from_str(&history).unwrap();
    let summary: Vec<(&str, bool)> =
        entries.iter().map(|e| (e["sha"].as_str().unwrap(), e["rollback"].as_bool().unwrap())).collect();
    assert_eq!(
        summary,
        [
            (shas[0].as_str(), true),
            (shas[1].as_str(), true),
            (shas[2].as_str(), false),
            (shas[1].as_str(), false),
            (shas[0].as_str(), false)
        ]
    );

    // Steps count applies of other commits: two back from a (rollback to) 1 is 3.
    t.run(&["rollback", "s", "--steps", "2", "--yes"]).success();
    assert_eq!(t.config_tree()["/services/s/conf"], r#"{"a":3}"#);
}

#[test]
fn following_the_advice_makes_the_repository_agree() {
    let t = Test::new("rollbackadvice");
    let shas = applied_versions(&t, &[1, 2]);
    let out = t.run(&["rollback", "s", "--yes"]).success();
    let revert = commands_after(&out.stdout, "either by reverting");
    assert_eq!(revert, [format!("git -C {} revert --no-edit {}", t.repo.path().display(), short(&shas[1]))]);
    sh(&t, revert[0]);
    t.run(&["plan", "--detailed-exitcode"]).code(0);
    // The pin alternative, pasted into jones-sync.toml, agrees too.
    let pin = commands_after(&out.stdout, "or by pinning");
    t.git(&["reset", "-q", "--hard", &shas[1]]);
    t.write("jones-sync.toml", &format!("{}\n", pin.join("\n")));
    let plan = t.run(&["plan", "--detailed-exitcode"]).code(0).stdout;
    assert!(plan.contains(&format!("Note: `s` is pinned to `{}`", shas[0])), "{plan}");
}

#[test]
fn commits_that_changed_other_services_too_are_restored_not_reverted() {
    let t = Test::new("rollbackmixed");
    t.write("services/s/config.toml", "a = 1\n").write("services/o/config.toml", "b = 1\n");
    let first = t.commit_all("First");
    t.run(&["apply", "--yes"]).success();
    t.write("services/s/config.toml", "a = 2\n").write("services/o/config.toml", "b = 2\n");
    t.commit_all("Both");
    t.run(&["apply", "--yes"]).success();

    let out = t.run(&["rollback", "s", "--yes"]).success();
    let restore = commands_after(
        &out.stdout,
        "either by restoring services/s/ as of that commit (the commits since then changed other files too)",
    );
    let git = format!("git -C {}", t.repo.path().display());
    assert_eq!(
        restore,
        [
            format!("{git} restore --source={} --staged --worktree -- services/s", short(&first)),
            format!("{git} commit -m \"Roll back s to {}\"", short(&first)),
        ]
    );
    assert_eq!(t.config_tree()["/services/o/conf"], r#"{"b":2}"#, "only s rolled back");
    for line in &restore {
        sh(&t, line);
    }
    t.run(&["plan", "--detailed-exitcode"]).code(0);
}

#[test]
fn rolling_back_by_git_revert_and_apply_needs_nothing_special() {
    let t = Test::new("revertapply");
    let shas = applied_versions(&t, &[1, 2]);
    t.git(&["revert", "--no-edit", "HEAD"]);
    let revert = t.rev("HEAD");
    let plan = t.run(&["plan"]).success().stdout;
    assert!(plan.contains("      ~ a: 2 → 1\n") && !plan.contains("Warning"), "{plan}");
    t.run(&["apply", "--yes"]).success();
    assert_eq!(t.config_tree()["/services/s/conf"], r#"{"a":1}"#);
    let rec = record(&t, "s");
    assert_eq!((rec["sha"].as_str(), rec["rollback"].as_bool()), (Some(revert.as_str()), Some(false)));
    let history = t.run(&["history", "s"]).success().stdout;
    let commits: Vec<&str> = history.lines().skip(1).map(|line| line.split_whitespace().nth(2).unwrap()).collect();
    assert_eq!(commits, [short(&revert), short(&shas[1]), short(&shas[0])]);
}

#[test]
fn rollback_errors_change_nothing() {
    let t = Test::new("rollbackerrors");
    t.write("services/s/config.toml", "a = 1\n");
    let dir = t.repo.path().display().to_string();
    t.run(&["rollback", "s", "--yes"])
        .code(1)
        .stderr(&format!("error: rollback reads earlier commits from git, but `{dir}` is not in a git work tree\n"));
    let first = t.commit_all("First");
    t.run(&["rollback", "s", "--yes"]).code(1).stderr("error: there is no service `s` in ZooKeeper\n");
    t.run(&["apply", "--yes"]).success();
    t.run(&["rollback", "s", "--yes"])
        .code(1)
        .stderr("error: `s` cannot go back 1 step (it can go back 0 steps): its audit log holds 1 entry, the current apply, and a step goes back to an apply of another commit (repeated applies of one commit are one step). See `jones-sync history s`\n");
    t.run(&["rollback", "s", "--to", "HEAD", "--yes"])
        .code(1)
        .stderr(&format!("error: `s` already runs {}, the commit of its last apply\n", short(&first)));
    t.write("services/s/config.toml", "a = 2\n");
    let second = t.commit_all("Second");
    t.run(&["rollback", "s", "--to", &second, "--yes"]).code(1).stderr(&format!(
        "error: commit {} was never applied to `s`, or its entry was pruned from the audit log (see `jones-sync history s`); \
         to apply any revision use `jones-sync apply --rev`\n",
        short(&second)
    ));
    let before = t.tree();
    t.run(&["apply", "--yes"]).success();
    let applied = t.tree();
    assert_ne!(before, applied);
    t.run(&["rollback", "s", "--to", "nope"]).code(1);
    // Without a terminal and without --yes, nothing is written.
    t.run(&["rollback", "s"]).code(1);
    assert_eq!(t.tree(), applied);
}

#[test]
fn a_pinned_service_is_told_to_move_its_pin() {
    let t = Test::new("rollbackpinned");
    let shas = applied_versions(&t, &[1, 2]);
    t.write("jones-sync.toml", &format!("[services.s]\npin = \"{}\"\n", short(&shas[1])));
    t.write("services/s/config.toml", "a = 3\n");
    t.commit_all("Pin s, a = 3 waits");
    t.run(&["apply", "--yes"]).success();
    assert_eq!(t.config_tree()["/services/s/conf"], r#"{"a":2}"#, "held by the pin");

    let out = t.run(&["rollback", "s", "--yes"]).success();
    let pin = commands_after(&out.stdout, &format!("by moving its pin in jones-sync.toml (now `{}`)", short(&shas[1])));
    assert_eq!(pin, ["[services.s]".to_string(), format!("pin = \"{}\"", shas[0])]);
    assert!(!out.stdout.contains("revert") && !out.stdout.contains("restore"), "{}", out.stdout);
    t.write("jones-sync.toml", &format!("{}\n", pin.join("\n")));
    t.run(&["plan", "--detailed-exitcode"]).code(0);
}

/// Regression: `rollback` made a plan of its own, which read no ACLs (so it neither showed nor
/// repaired ACL drift that `plan` shows and `apply` repairs). Now it goes through the pipeline:
/// its plan is exactly `plan`'s for the same content, ACLs included.
#[test]
fn rollback_shows_and_repairs_acl_drift_exactly_as_plan_does() {
    use crate::security::{AUTH, DEPLOY, acl, as_deploy, locked};
    let t = locked("rollbackacl");
    let v1 = t.commit_all("a = 1");
    t.run_env(&["apply", "--yes"], &[AUTH]).success();
    t.write("services/s/config.toml", "a = 2\n");
    t.commit_all("a = 2");
    t.run_env(&["apply", "--yes"], &[AUTH]).success();
    // Someone opens a view up, out of band.
    let zk = as_deploy(&t.zk);
    block_on(zk.set_acl("/services/s/views/e", &zookeeper_client::Acls::anyone_all(), None)).unwrap();

    let planned = t.run_env(&["plan", "--rev", &v1], &[AUTH]).success().stdout;
    assert!(planned.contains("  ~ /services/s/views/e (ACL)\n"), "{planned}");
    assert!(planned.starts_with("s: 0 to create, 4 to update, 0 to delete, 1 ACL to set\n"), "{planned}");
    let out = t.run_env(&["rollback", "s", "--yes"], &[AUTH]).success();
    assert!(out.stdout.contains(&format!(").\n\n{planned}\n")), "the rollback's plan is plan's:\n{}", out.stdout);
    assert!(
        out.stdout.contains("s: applied in one transaction: 0 created, 4 updated, 0 deleted, zxid "),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains(", 1 ACL set\nApply complete: 0 created, 4 updated, 0 deleted.\n"), "{}", out.stdout);
    assert_eq!(acl(&t, "/services/s/views/e"), [format!("{DEPLOY}:cdrwa"), "world:anyone:r".to_string()]);
    t.run_env(&["plan", "--rev", &v1, "--detailed-exitcode"], &[AUTH]).code(0);
}

/// Regression: `rollback` never marked a service too large for one transaction, so its plan did
/// not say "not atomic" although the apply then split it. Now its plan is `plan`'s, and says so.
#[test]
fn rollback_of_a_service_too_large_for_one_transaction_says_so_beforehand() {
    let t = Test::new("rollbacksplit");
    t.write("jones-sync.toml", "[zookeeper]\nmax_request_bytes = 2000\n");
    let blob = "x".repeat(300);
    let versions: Vec<String> = (1..=2)
        .map(|n| {
            for env in ["a", "b", "c", "d"] {
                t.write(&format!("services/s/{env}/config.toml"), &format!("own = \"{env}{n}{blob}\"\n"));
            }
            let sha = t.commit_all(&format!("v{n}"));
            t.run(&["apply", "--yes"]).success();
            sha
        })
        .collect();

    let planned = t.run(&["plan", "--rev", &versions[0]]).success().stdout;
    assert!(
        planned.starts_with(
            "s: 0 to create, 9 to update, 0 to delete\n  Not atomic: `s` will not be applied atomically: its changes take "
        ),
        "{planned}"
    );
    let out = t.run(&["rollback", "s", "--yes"]).success();
    // The same but for the size, by a byte: the rollback's record says `"rollback":true`.
    let sized = |text: &str| match text.find(" bytes, over") {
        Some(at) => {
            let start = text[..at].rfind(' ').unwrap();
            format!("{}N{}", &text[..start + 1], &text[at..])
        }
        None => text.to_string(),
    };
    assert!(
        sized(&out.stdout).contains(&format!(").\n\n{}\n", sized(&planned))),
        "the rollback's plan is plan's:\n{}",
        out.stdout
    );
    let steps = out.stdout.split("\ns: applied in ").nth(1).and_then(|rest| rest.split(' ').next());
    let steps: usize = steps.and_then(|n| n.parse().ok()).unwrap_or_else(|| panic!("{}", out.stdout));
    assert!(steps > 1, "{}", out.stdout);
    assert!(planned.contains(&format!("so they go in {steps} transactions")), "{planned}");
    t.run(&["plan", "--rev", &versions[0], "--detailed-exitcode"]).code(0);
}
