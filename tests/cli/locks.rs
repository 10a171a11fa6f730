//! Per-service apply locks, and the guard against applying an older commit over a newer one.

use std::time::{Duration, Instant};

use crate::util::{Test, hold_lock, spawn_in};

/// Audit entries of `service`.
fn entries(t: &Test, service: &str) -> Vec<String> {
    t.tree().into_keys().filter(|path| path.starts_with(&format!("/services/{service}/jones-sync/log-"))).collect()
}

#[test]
fn a_held_lock_times_out_naming_its_holder_and_unlock_removes_it() {
    let t = Test::new("lockheld");
    t.write("services/s/config.toml", "a = 1\n");
    t.run(&["apply", "--yes"]).success();
    let (_session, id) = hold_lock(&t.zk, "s");
    t.write("services/s/config.toml", "a = 2\n");
    let before = t.tree();
    let out = t.run(&["apply", "--yes", "--lock-timeout", "1"]).code(1);
    assert_eq!(out.stdout, "");
    assert_eq!(
        out.stderr,
        format!(
            "error: `s` is locked by other-ci on runner-9 (pid 4242, since 2026-11-25T01:00:00Z), lock id `{id}`; \
             gave up after waiting 1s (--lock-timeout). If that apply is gone, remove its lock: \
             jones-sync unlock s --id {id}\n"
        )
    );
    assert_eq!(t.tree(), before, "nothing written, no lock left behind");

    let wrong = t.run(&["unlock", "s", "--id", "lock-0000009999"]).code(1);
    assert_eq!(
        wrong.stderr,
        format!(
            "error: `s` has no lock `lock-0000009999`, so nothing was removed; its locks now: `{id}` \
             (other-ci on runner-9 (pid 4242, since 2026-11-25T01:00:00Z))\n"
        )
    );
    t.run(&["unlock", "s", "--id", &id]).success().stdout(&format!(
        "Removed lock `{id}` of `s`, held by other-ci on runner-9 (pid 4242, since 2026-11-25T01:00:00Z).\n"
    ));
    t.run(&["apply", "--yes", "--lock-timeout", "1"]).success();
    assert_eq!(t.tree()["/services/s/conf"], r#"{"a":2}"#);
}

/// Regression: a failed lock wait named only the first locked service, though a killed apply can
/// leave dozens locked.
#[test]
fn a_lock_wait_that_times_out_names_every_locked_service() {
    let t = Test::new("lockmany");
    for svc in ["a", "b", "c", "d"] {
        t.write(&format!("services/{svc}/config.toml"), "v = 1\n");
    }
    t.run(&["apply", "--yes"]).success();
    let held: Vec<_> = ["b", "d", "a"].iter().map(|svc| (svc.to_string(), hold_lock(&t.zk, svc))).collect();
    let id = |svc: &str| held.iter().find(|(s, _)| s == svc).map(|(_, (_, id))| id.clone()).unwrap();
    for svc in ["a", "b", "c", "d"] {
        t.write(&format!("services/{svc}/config.toml"), "v = 2\n");
    }
    let before = t.tree();
    let out = t.run(&["apply", "--yes", "--lock-timeout", "1"]).code(1);
    let holder = "other-ci on runner-9 (pid 4242, since 2026-11-25T01:00:00Z)";
    assert_eq!(
        out.stderr,
        format!(
            "error: `a` is locked by {holder}, lock id `{a}`; gave up after waiting 1s (--lock-timeout). \
             2 more services of this apply are locked too:\n  \
             `b` by {holder}, lock id `{b}`\n  \
             `d` by {holder}, lock id `{d}`\n\
             If those applies are gone, remove their locks:\n  \
             jones-sync unlock a --id {a}\n  \
             jones-sync unlock b --id {b}\n  \
             jones-sync unlock d --id {d}\n",
            a = id("a"),
            b = id("b"),
            d = id("d"),
        )
    );
    assert_eq!(t.tree(), before, "nothing written, no lock of ours left behind");
}

#[test]
fn an_apply_waits_for_the_lock_and_then_reads_what_is_live() {
    let t = Test::new("lockwait");
    t.write("services/s/config.toml", "a = 1\n");
    t.run(&["apply", "--yes"]).success();
    let (session, _) = hold_lock(&t.zk, "s");
    t.write("services/s/config.toml", "a = 2\n");
    let waiting = spawn_in(t.repo.path(), &t.zk, &["apply", "--yes", "--lock-timeout", "60"]);
    // The waiting apply has queued its own lock node behind ours.
    let deadline = Instant::now() + Duration::from_secs(30);
    while t.tree().keys().filter(|p| p.starts_with("/services/s/jones-sync/locks/lock-")).count() < 2 {
        assert!(Instant::now() < deadline, "the second apply never queued for the lock");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(t.tree()["/services/s/conf"], r#"{"a":1}"#, "nothing written while the lock is held");
    drop(session);
    waiting.finish().success();
    assert_eq!(t.tree()["/services/s/conf"], r#"{"a":2}"#);
    assert!(!t.tree().keys().any(|p| p.contains("/locks/lock-")), "locks released");
}

#[test]
fn two_applies_of_the_same_commit_at_once_write_it_once() {
    let t = Test::new("lockrace");
    t.write("services/s/config.toml", "a = 1\n").write("services/t/config.toml", "b = 1\n");
    t.commit_all("first");
    let spawn = || spawn_in(t.repo.path(), &t.zk, &["apply", "--yes"]);
    let (a, b) = (spawn(), spawn());
    let stdouts: Vec<String> = [a, b].map(|apply| apply.finish().success().stdout).into();
    // New services are not locked (nothing is written before their first transaction): the
    // second apply either plans after the first landed, or finds its creation made first.
    for svc in ["s", "t"] {
        let applied =
            stdouts.iter().filter(|out| out.contains(&format!("\n{svc}: applied in one transaction"))).count();
        let by_other = |out: &&String| {
            out.starts_with(&format!("{svc}: no changes\n"))
                || out.contains(&format!("\n{svc}: no changes\n"))
                || out.contains(&format!(
                    "\n{svc}: already written: another apply of the same content created it first; nothing written\n"
                ))
        };
        assert_eq!(applied, 1, "one applies {svc}:\n{stdouts:#?}");
        assert_eq!(stdouts.iter().filter(by_other).count(), 1, "the other finds it done:\n{stdouts:#?}");
    }
    assert_eq!(entries(&t, "s").len(), 1);
    assert_eq!(entries(&t, "t").len(), 1);
}

/// New services are not locked, so two first applies of different services race to create
/// `/services`: the one that finds it made meanwhile goes on without creating it.
#[test]
fn first_applies_of_different_services_at_once_both_land() {
    for round in 0..3 {
        let t = Test::new(&format!("firstrace{round}"));
        t.write("services/a/config.toml", "a = 1\n").write("services/b/config.toml", "b = 1\n");
        let spawn = |svc: &str| spawn_in(t.repo.path(), &t.zk, &["apply", "--yes", "--service", svc]);
        let (a, b) = (spawn("a"), spawn("b"));
        for apply in [a, b] {
            apply.finish().success();
        }
        assert_eq!(entries(&t, "a").len(), 1);
        assert_eq!(entries(&t, "b").len(), 1);
        t.run(&["plan", "--detailed-exitcode"]).code(0);
    }
}

#[test]
fn an_older_commit_does_not_replace_a_newer_one() {
    let t = Test::new("older");
    t.write("services/s/config.toml", "a = 1\n").write("services/t/config.toml", "b = 1\n");
    let old = t.commit_all("a = 1");
    t.write("services/s/config.toml", "a = 2\n");
    let new = t.commit_all("a = 2");
    t.run(&["apply", "--yes"]).success();
    t.write("services/t/config.toml", "b = 2\n");
    let before = t.tree();
    // The old commit's pipeline comes last: `s` holds a newer commit and stays.
    let out = t.run(&["apply", "--yes", "--rev", &old]).success();
    let short = |sha: &str| sha[..12].to_string();
    // Regression: this printed "No changes. ZooKeeper matches the repository." (it does not), and
    // its note read backwards.
    let record: serde_json::Value = serde_json::from_str(&t.tree()["/services/s/jones-sync"]).unwrap();
    assert_eq!(
        out.stdout,
        format!(
            "s: skipped: ZooKeeper holds commit {new} (applied at {} by tester), which is newer: it descends from \
             this apply's commit {old}. Applying {old} would go back in history; pass --allow-older to do so (or use \
             `jones-sync rollback`).\n\n\
             Nothing applied: every service this commit would change holds content ZooKeeper must keep.\n",
            record["applied_at"].as_str().unwrap(),
            new = short(&new),
            old = short(&old),
        )
    );
    assert_eq!(t.tree(), before, "`t` is unchanged at that commit too, `s` is skipped");
    t.run(&["apply", "--yes", "--rev", &old, "--allow-older"]).success();
    assert_eq!(t.tree()["/services/s/conf"], r#"{"a":1}"#);
}

/// Regression: when the clone lacks the live commit, the order was guessed from commit times in
/// whole seconds, so an older commit made in the same second as the newer one (or under a skewed
/// clock) replaced it, exit 0. An order git cannot prove is not guessed: the service is skipped
/// with how to resolve it.
#[test]
fn an_order_git_cannot_prove_is_not_guessed() {
    let t = Test::new("unproven");
    t.write("services/s/config.toml", "a = 1\n");
    t.commit_all("a = 1");
    // A pipeline's clone made now lacks the commit that follows, made in the same second.
    let clone = tempfile::tempdir().unwrap();
    let cloned = std::process::Command::new("git")
        .args(["clone", "-q", &t.repo.path().display().to_string(), &clone.path().display().to_string()])
        .status()
        .unwrap();
    assert!(cloned.success());
    t.write("services/s/config.toml", "a = 2\n");
    let newer = t.commit_all("a = 2");
    t.run(&["apply", "--yes"]).success();
    let before = t.tree();
    let out = crate::util::run_in(clone.path(), &t.zk, &["apply", "--yes"]).success();
    assert!(
        out.stdout
            .starts_with(&format!("s: skipped: ZooKeeper holds commit {} (applied at ", crate::util::short(&newer)))
            && out.stdout.contains("which this clone of the repository does not have, so whether this apply's commit")
            && out.stdout.contains(
                "is newer cannot be proven. Fetch it (`git fetch`, or a deeper clone) and apply again, or pass \
             --allow-older to apply"
            ),
        "{}",
        out.stdout
    );
    assert_eq!(t.tree(), before, "the newer content stays");
    // Diverging branches: neither commit contains the other.
    t.git(&["checkout", "-q", "-b", "side", "HEAD~1"]);
    t.write("services/s/config.toml", "a = 3\n");
    t.commit_all("a = 3 on a side branch");
    let out = t.run(&["apply", "--yes"]).success();
    assert!(out.stdout.contains("(diverging branches)"), "{}", out.stdout);
    assert_eq!(t.tree(), before);
    t.run(&["apply", "--yes", "--allow-older"]).success();
    assert_eq!(t.tree()["/services/s/conf"], r#"{"a":3}"#);
}

#[test]
fn racing_applies_of_two_commits_end_with_the_newer() {
    let t = Test::new("olderrace");
    t.write("services/s/config.toml", "a = 0\n");
    t.commit_all("a = 0");
    t.run(&["apply", "--yes"]).success();
    for round in 1..=3 {
        t.write("services/s/config.toml", &format!("a = {round}1\n"));
        let older = t.commit_all("older");
        t.write("services/s/config.toml", &format!("a = {round}2\n"));
        let newer = t.commit_all("newer");
        let spawn = |rev: &str| spawn_in(t.repo.path(), &t.zk, &["apply", "--yes", "--rev", rev]);
        let (a, b) = if round % 2 == 0 { (spawn(&older), spawn(&newer)) } else { (spawn(&newer), spawn(&older)) };
        for apply in [a, b] {
            apply.finish().success();
        }
        assert_eq!(t.tree()["/services/s/conf"], format!(r#"{{"a":{round}2}}"#), "round {round}");
    }
}
