//! Faults around an apply: connections cut around the commit (by a proxy, [`crate::proxy`]),
//! sessions expiring, the leader of an ensemble dying, the process killed, ZooKeeper down. In every
//! case each service ends entirely old or entirely new, is applied at most once, the report says
//! what happened, and a rerun converges.

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;

use crate::ensemble::Ensemble;
use crate::proxy::{Event, Fault, Proxy};
use crate::util::{Output, Test, hold_lock, run_in, spawn_in};
use crate::zookeeper::{block_on, server};

/// Writes `count` services at `version`: every version changes conf and views, moves a host,
/// creates an environment and deletes another, so a half-applied service would show.
fn write_services(t: &Test, count: usize, version: u32) {
    for i in 0..count {
        let svc = format!("services/s{i:02}");
        if t.path(&svc).exists() {
            t.remove(&svc);
        }
        t.write(&format!("{svc}/config.toml"), &format!("version = {version}\nname = \"s{i:02}\"\n"));
        t.write(&format!("{svc}/prod/config.toml"), &format!("timeout = {}\n", version * 10));
        t.write(&format!("{svc}/prod/canary/hosts.toml"), &format!("hosts = [\"c{version}\"]\n"));
        t.write(&format!("{svc}/env{version}/hosts.toml"), "hosts = [\"moving\", \"h2\"]\n");
        t.write(&format!("{svc}/env{version}/config.toml"), &format!("only_in = {version}\n"));
    }
}

/// A service too large for one transaction at `version` (`[zookeeper] max_request_bytes` is small).
fn write_split_service(t: &Test, version: u32) {
    t.write("jones-sync.toml", "[zookeeper]\nmax_request_bytes = 1500\n");
    if t.path("services/big").exists() {
        t.remove("services/big");
    }
    let blob = "x".repeat(300);
    t.write("services/big/config.toml", &format!("root = \"{version}{blob}\"\n"));
    for env in ["a", "b", "c"] {
        t.write(&format!("services/big/{env}{version}/config.toml"), &format!("own = \"{env}{blob}\"\n"))
            .write(&format!("services/big/{env}{version}/hosts.toml"), &format!("hosts = [\"{env}1\", \"{env}2\"]\n"));
    }
}

/// Every node below `connect` (a chroot) with its data, by path.
fn tree_at(connect: &str) -> BTreeMap<String, String> {
    let connect = connect.to_string();
    block_on(async move {
        let zk = jones_sync::zk::Zk::connect(&connect, Duration::from_secs(30)).await.unwrap();
        let tree = zk.dump("/").await.unwrap();
        tree.into_iter().map(|(path, data)| (path, String::from_utf8(data).unwrap())).collect()
    })
}

/// The service's configuration nodes (everything but jones-sync's record, log and locks).
fn config_of(tree: &BTreeMap<String, String>, svc: &str) -> BTreeMap<String, String> {
    let base = format!("/services/{svc}");
    tree.iter()
        .filter(|(path, _)| (**path == base || path.starts_with(&format!("{base}/"))) && !path.contains("/jones-sync"))
        .map(|(path, data)| (path.clone(), data.clone()))
        .collect()
}

/// The service's audit entries, oldest first.
fn entries(tree: &BTreeMap<String, String>, svc: &str) -> Vec<Value> {
    let prefix = format!("/services/{svc}/jones-sync/log-");
    tree.iter()
        .filter(|(path, _)| path.starts_with(&prefix))
        .map(|(_, data)| serde_json::from_str(data).unwrap())
        .collect()
}

fn record(tree: &BTreeMap<String, String>, svc: &str) -> Value {
    serde_json::from_str(&tree[&format!("/services/{svc}/jones-sync")]).unwrap()
}

/// The `mzxid` of the record of `svc`: the zxid of its last apply's transaction.
fn record_mzxid(t: &Test, svc: &str) -> i64 {
    let (connect, record) = (t.zk.clone(), format!("/services/{svc}/jones-sync"));
    block_on(async move {
        let zk = crate::zookeeper::raw(&connect, Duration::from_secs(10)).await;
        zk.get_data(&record).await.unwrap().1.mzxid
    })
}

/// The configuration nodes the repository's work tree gives on an empty ZooKeeper.
fn expected(t: &Test) -> BTreeMap<String, String> {
    let fresh = server().chroot("expected");
    run_in(t.repo.path(), &fresh, &["apply", "--yes"]).success();
    tree_at(&fresh).into_iter().filter(|(path, _)| !path.contains("/jones-sync")).collect()
}

/// `t`'s chroot, reached through `proxy`.
fn proxied(t: &Test, proxy: &Proxy) -> String {
    proxy.connect_string(&t.zk[t.zk.find('/').unwrap()..])
}

/// The apply's report: the lines after the plan, zxids masked.
fn report(out: &Output) -> String {
    let start = out.stdout.rfind("\n\n").map_or(0, |i| i + 2);
    let mut report = String::new();
    for line in out.stdout[start..].lines() {
        let line = match line.find(", zxid 0x") {
            Some(i) => {
                let end = line[i + 9..].find(|c: char| !c.is_ascii_hexdigit()).map_or(line.len(), |e| i + 9 + e);
                format!("{}, zxid <zxid>{}", &line[..i], &line[end..])
            }
            None => line.to_string(),
        };
        report.push_str(&line);
        report.push('\n');
    }
    report
}

/// A report line of a service of [`write_services`] applied in one transaction, with `note`.
fn applied_line(svc: &str, note: &str) -> String {
    format!("{svc}: applied in one transaction: 2 created, 7 updated, 2 deleted, zxid <zxid>{note}\n")
}

/// The report of an apply of the three services of [`applied_then_changed`], each in one
/// transaction, with `s01_note` on the service whose commit met a fault.
fn all_three_applied(s01_note: &str) -> String {
    [
        applied_line("s00", ""),
        applied_line("s01", s01_note),
        applied_line("s02", ""),
        "Apply complete: 6 created, 21 updated, 6 deleted.\n".into(),
    ]
    .concat()
}

const FOUND_APPLIED: &str = " (the connection dropped before ZooKeeper answered; ZooKeeper shows it had been \
                             applied, so it was not sent again)";
const RESENT: &str = " (the connection dropped before ZooKeeper answered; ZooKeeper shows it had not been applied, \
                      so it was sent again)";
const FOUND_APPLIED_NEW_SESSION: &str = " (the connection dropped before ZooKeeper answered; ZooKeeper shows it \
                                         had been applied, so it was not sent again; the session had expired, so a \
                                         new one was made)";
const RESENT_NEW_SESSION: &str = " (the connection dropped before ZooKeeper answered; ZooKeeper shows it had not \
                                  been applied, so it was sent again; the session had expired, so a new one was made)";

/// What the client did through `proxy`, one line per event: sessions numbered in order of
/// appearance, lock paths without the chroot and the service's path.
fn events(proxy: &Proxy) -> Vec<String> {
    let mut sessions = Vec::new();
    proxy
        .events()
        .into_iter()
        .map(|event| match event {
            Event::Session(id) => {
                if !sessions.contains(&id) {
                    sessions.push(id);
                }
                format!("session {}", sessions.iter().position(|s| *s == id).unwrap() + 1)
            }
            Event::Expired => "session expired".to_string(),
            Event::Create(path) => format!("create {}", short(&path)),
            Event::Read(fault) => format!("read: {fault:?}"),
            Event::Multi(first, None) => format!("multi {}", short(&first)),
            Event::Multi(first, Some(fault)) => format!("multi {}: {fault:?}", short(&first)),
        })
        .collect()
}

/// `op /chroot/services/path` as `op path`.
fn short(text: &str) -> String {
    match text.split_once("/services/") {
        Some((op, path)) => format!("{}{path}", op.split('/').next().unwrap_or(op)),
        None => text.to_string(),
    }
}

/// The events of an apply of s00, s01, s02 (`multis` of them) on one session.
fn locks_then(multis: &[&str]) -> Vec<String> {
    let mut events = vec!["session 1".to_string()];
    events.extend(["s00", "s01", "s02"].map(|svc| format!("create {svc}/jones-sync/locks/lock-")));
    events.extend(multis.iter().map(|m| m.to_string()));
    events
}

/// Three services applied at version 1, the repository at version 2 (committed); returns its SHA.
fn applied_then_changed(t: &Test) -> String {
    write_services(t, 3, 1);
    t.commit_all("v1");
    t.run(&["apply", "--yes"]).success();
    write_services(t, 3, 2);
    t.commit_all("v2")
}

/// Every service of `t` is at version 2, applied once since version 1, with the right record.
#[track_caller]
fn applied_exactly_once(t: &Test, v2: &str, count: usize) {
    let tree = t.tree();
    let want = expected(t);
    for i in 0..count {
        let svc = format!("s{i:02}");
        assert_eq!(config_of(&tree, &svc), config_of(&want, &svc), "{svc} is entirely new");
        let log = entries(&tree, &svc);
        assert_eq!(log.len(), 2, "{svc}: one audit entry per apply: {log:#?}");
        let record = record(&tree, &svc);
        assert_eq!(record["sha"], v2, "{svc}");
        assert_eq!(log[1]["apply_id"], record["apply_id"], "{svc}: the entry is the record's apply");
        assert_eq!(log[1]["sha"], v2);
        // The plan's counts, the record included: what the report line of the apply says.
        assert_eq!(log[1]["counts"], serde_json::json!({"create": 2, "update": 7, "delete": 2}), "{svc}");
    }
    t.run(&["plan", "--detailed-exitcode"]).code(0);
}

/// Each service of `tree` is entirely `old` or entirely `new` (configuration and record together);
/// returns the services that are new.
#[track_caller]
fn old_or_new(
    tree: &BTreeMap<String, String>,
    old: &BTreeMap<String, String>,
    new: &BTreeMap<String, String>,
    (v1, v2): (&str, &str),
    count: usize,
) -> Vec<String> {
    let mut updated = Vec::new();
    for i in 0..count {
        let svc = format!("s{i:02}");
        let live = config_of(tree, &svc);
        let sha = record(tree, &svc)["sha"].as_str().unwrap().to_string();
        if live == config_of(new, &svc) && sha == v2 {
            assert_eq!(entries(tree, &svc).len(), 2, "{svc}");
            updated.push(svc);
        } else {
            assert_eq!(live, config_of(old, &svc), "{svc} is neither entirely old nor entirely new");
            assert_eq!(sha, v1, "{svc}");
            assert_eq!(entries(tree, &svc).len(), 1, "{svc}");
        }
    }
    updated
}

/// Waits until `svc` has `count` audit entries, through a session on `connect` (a ZooKeeper watch,
/// not a poll).
fn wait_for_entries(zk: &zookeeper_client::Client, svc: &str, count: usize) {
    let record = format!("/services/{svc}/jones-sync");
    block_on(async {
        tokio::time::timeout(Duration::from_secs(120), async {
            loop {
                let (children, watcher) = match zk.list_and_watch_children(&record).await {
                    Ok(found) => found,
                    Err(err) => panic!("cannot watch {record}: {err}"),
                };
                if children.iter().filter(|c| c.starts_with("log-")).count() >= count {
                    return;
                }
                watcher.changed().await;
            }
        })
        .await
        .unwrap_or_else(|_| panic!("{svc} never got {count} audit entries"))
    });
}

// Connections cut around a commit or a read: the outcome is read back, never guessed.

#[test]
fn a_commit_cut_after_it_reached_zookeeper_is_found_applied_and_not_applied_again() {
    let t = Test::new("cut-after");
    let v2 = applied_then_changed(&t);
    let proxy = Proxy::start(&server().address());
    proxy.arm(Fault::CutAfter, 1);
    let out = run_in(t.repo.path(), &proxied(&t, &proxy), &["apply", "--yes"]).success();
    assert_eq!(
        events(&proxy),
        locks_then(&["multi set s00/conf", "multi set s01/conf: CutAfter", "session 1", "multi set s02/conf"])
    );
    assert_eq!(report(&out), all_three_applied(FOUND_APPLIED));
    // The zxid said is the transaction's own, read back from ZooKeeper.
    let mzxid = record_mzxid(&t, "s01");
    assert!(
        out.stdout.contains(&format!(
            "\ns01: applied in one transaction: 2 created, 7 updated, 2 deleted, zxid 0x{mzxid:x} ("
        ))
    );
    applied_exactly_once(&t, &v2, 3);
}

/// Regression: a commit that reached ZooKeeper and whose reply never came back (the client gave
/// up: "no response from connection in 4000ms") was reported as a failed transaction, exit 1,
/// although it had landed.
#[test]
fn a_commit_whose_reply_never_came_is_found_applied_not_reported_failed() {
    let t = Test::new("stall");
    let v2 = applied_then_changed(&t);
    let proxy = Proxy::start(&server().address());
    proxy.arm(Fault::Stall, 1);
    let out = run_in(t.repo.path(), &proxied(&t, &proxy), &["apply", "--yes"]).success();
    assert_eq!(proxy.fired(), [Fault::Stall]);
    assert_eq!(report(&out), all_three_applied(FOUND_APPLIED));
    applied_exactly_once(&t, &v2, 3);
}

#[test]
fn a_lock_whose_create_reply_was_lost_is_found_and_taken_not_waited_behind() {
    let t = Test::new("lock-cut");
    let v2 = applied_then_changed(&t);
    let proxy = Proxy::start(&server().address());
    // s01's lock node is made, and the reply lost with the connection: an orphan of this very
    // session, which a second lock node would wait behind until --lock-timeout.
    proxy.arm_create(Fault::CutAfter, 1);
    let out = run_in(t.repo.path(), &proxied(&t, &proxy), &["apply", "--yes", "--lock-timeout", "5"]).success();
    assert_eq!(proxy.fired(), [Fault::CutAfter]);
    let events = events(&proxy);
    let creates = |svc: &str| events.iter().filter(|e| **e == format!("create {svc}/jones-sync/locks/lock-")).count();
    assert_eq!(creates("s01"), 1, "the lock node ZooKeeper made is taken, not made again: {events:#?}");
    assert_eq!(events.iter().filter(|e| e.starts_with("session ")).count(), 2, "{events:#?}");
    assert!(out.stdout.ends_with("Apply complete: 6 created, 21 updated, 6 deleted.\n"), "{}", out.stdout);
    applied_exactly_once(&t, &v2, 3);
}

#[test]
fn a_commit_cut_before_it_reached_zookeeper_is_committed_again() {
    let t = Test::new("cut-before");
    let v2 = applied_then_changed(&t);
    let proxy = Proxy::start(&server().address());
    proxy.arm(Fault::CutBefore, 1);
    let out = run_in(t.repo.path(), &proxied(&t, &proxy), &["apply", "--yes"]).success();
    assert_eq!(
        events(&proxy),
        locks_then(&[
            "multi set s00/conf",
            "multi set s01/conf: CutBefore",
            "session 1",
            "multi set s01/conf",
            "multi set s02/conf"
        ])
    );
    assert_eq!(report(&out), all_three_applied(RESENT));
    applied_exactly_once(&t, &v2, 3);
}

#[test]
fn a_cut_around_any_step_of_a_split_service_is_found_out_by_its_effect() {
    // The steps of `big` from version 1 to 2: content, the nodemap, deletes, the record.
    let steps = [
        "set big/conf",
        "create big/conf/b2",
        "set big/views",
        "create big/views/b2",
        "create big/views/c2",
        "set big/nodemaps",
        "delete big/views/c1",
        "set big/jones-sync",
    ];
    let cases = [
        (0, Fault::CutAfter),
        (0, Fault::CutBefore),
        (3, Fault::ExpireAfter),
        (5, Fault::CutAfter),
        (6, Fault::CutAfter),
        (6, Fault::ExpireBefore),
        (7, Fault::CutAfter),
    ];
    for (step, fault) in cases {
        let t = Test::new("split-cut");
        write_split_service(&t, 1);
        t.commit_all("v1");
        t.run(&["apply", "--yes"]).success();
        write_split_service(&t, 2);
        let v2 = t.commit_all("v2");
        let proxy = Proxy::start(&server().address());
        proxy.arm(fault, step);
        // Every environment is renamed: a mass deletion, allowed.
        let args = ["apply", "--yes", "--allow-mass-delete"];
        let out = run_in(t.repo.path(), &proxied(&t, &proxy), &args).success();

        let lock = "create big/jones-sync/locks/lock-".to_string();
        let mut want = vec!["session 1".to_string(), lock.clone()];
        want.extend(steps[..step].iter().map(|s| format!("multi {s}")));
        want.push(format!("multi {}: {fault:?}", steps[step]));
        let (before, expired) = match fault {
            Fault::CutAfter => (false, false),
            Fault::CutBefore => (true, false),
            Fault::ExpireAfter => (false, true),
            Fault::ExpireBefore => (true, true),
            other => unreachable!("{other:?}"),
        };
        if expired {
            want.extend(["session expired".to_string(), "session 2".to_string()]);
            // The lock is taken again before the next write (none after the last step).
            if before || step + 1 < steps.len() {
                want.push(lock);
            }
        } else {
            want.push("session 1".into());
        }
        let next = if before { step } else { step + 1 };
        want.extend(steps[next..].iter().map(|s| format!("multi {s}")));
        assert_eq!(events(&proxy), want, "step {step}, {fault:?}");

        let note = match (before, expired) {
            (false, false) => FOUND_APPLIED,
            (true, false) => RESENT,
            (false, true) => FOUND_APPLIED_NEW_SESSION,
            (true, true) => RESENT_NEW_SESSION,
        };
        // The zxid is the last transaction's, read from ZooKeeper when its reply was lost.
        assert_eq!(
            report(&out),
            format!(
                "big: applied in 8 transactions: 6 created, 4 updated, 6 deleted, zxid <zxid>{note}\n\
                 Apply complete: 6 created, 4 updated, 6 deleted.\n"
            ),
            "step {step}, {fault:?}"
        );
        let tree = t.tree();
        assert_eq!(config_of(&tree, "big"), config_of(&expected(&t), "big"));
        assert_eq!(entries(&tree, "big").len(), 2);
        assert_eq!(record(&tree, "big")["sha"], v2);
        t.run(&["plan", "--detailed-exitcode"]).code(0);
    }
}

#[test]
fn a_commit_cut_at_every_attempt_fails_saying_it_was_not_applied() {
    let t = Test::new("cut-always");
    applied_then_changed(&t);
    let before = t.tree();
    let proxy = Proxy::start(&server().address());
    for skip in 1..=4 {
        proxy.arm(Fault::CutBefore, skip);
    }
    let out = run_in(t.repo.path(), &proxied(&t, &proxy), &["apply", "--yes"]).code(1);
    assert_eq!(
        events(&proxy),
        locks_then(&[
            "multi set s00/conf",
            "multi set s01/conf: CutBefore",
            "session 1",
            "multi set s01/conf: CutBefore",
            "session 1",
            "multi set s01/conf: CutBefore",
            "session 1",
            "multi set s01/conf: CutBefore",
            "session 1",
            "multi set s02/conf"
        ])
    );
    assert_eq!(
        out.stderr,
        "error: s01: the connection to ZooKeeper was lost at each of 4 attempts to commit; ZooKeeper shows it was \
         not applied, so nothing of it was written: connection to server has lost\n\
         error: 1 of 3 services failed to apply: s01\n"
    );
    assert_eq!(
        report(&out),
        [
            applied_line("s00", ""),
            applied_line("s02", ""),
            "Apply incomplete: 4 created, 14 updated, 4 deleted.\n".into()
        ]
        .concat()
    );
    let after = t.tree();
    assert_eq!(config_of(&after, "s01"), config_of(&before, "s01"), "s01 is entirely old");
    assert_eq!(entries(&after, "s01").len(), 1);
    t.run(&["apply", "--yes"]).success();
    t.run(&["plan", "--detailed-exitcode"]).code(0);
}

#[test]
fn a_connection_lost_while_reading_live_state_is_read_again() {
    let t = Test::new("read-cut");
    let v2 = applied_then_changed(&t);
    let proxy = Proxy::start(&server().address());
    proxy.arm_read(Fault::CutBefore, 0);
    proxy.arm_read(Fault::CutAfter, 1);
    let out = run_in(t.repo.path(), &proxied(&t, &proxy), &["apply", "--yes"]).success();
    assert_eq!(
        events(&proxy),
        locks_then(&[
            "read: CutBefore",
            "session 1",
            "read: CutAfter",
            "session 1",
            "multi set s00/conf",
            "multi set s01/conf",
            "multi set s02/conf"
        ])
    );
    assert_eq!(report(&out), all_three_applied(""));
    applied_exactly_once(&t, &v2, 3);
}

// Sessions expiring mid-apply: a new session, the locks taken again before any further write.

#[test]
fn a_session_expired_after_the_commit_reached_zookeeper_is_found_applied_and_the_locks_taken_again() {
    let t = Test::new("expire-after");
    let v2 = applied_then_changed(&t);
    let proxy = Proxy::start(&server().address());
    proxy.arm(Fault::ExpireAfter, 1);
    let out = run_in(t.repo.path(), &proxied(&t, &proxy), &["apply", "--yes"]).success();
    // The new session takes every lock again before it writes s02.
    assert_eq!(
        events(&proxy),
        locks_then(&[
            "multi set s00/conf",
            "multi set s01/conf: ExpireAfter",
            "session expired",
            "session 2",
            "create s00/jones-sync/locks/lock-",
            "create s01/jones-sync/locks/lock-",
            "create s02/jones-sync/locks/lock-",
            "multi set s02/conf"
        ])
    );
    assert_eq!(report(&out), all_three_applied(FOUND_APPLIED_NEW_SESSION));
    applied_exactly_once(&t, &v2, 3);
}

#[test]
fn a_session_expired_before_the_commit_reached_zookeeper_relocks_and_commits_again() {
    let t = Test::new("expire-before");
    let v2 = applied_then_changed(&t);
    let proxy = Proxy::start(&server().address());
    proxy.arm(Fault::ExpireBefore, 1);
    let out = run_in(t.repo.path(), &proxied(&t, &proxy), &["apply", "--yes"]).success();
    assert_eq!(
        events(&proxy),
        locks_then(&[
            "multi set s00/conf",
            "multi set s01/conf: ExpireBefore",
            "session expired",
            "session 2",
            "create s00/jones-sync/locks/lock-",
            "create s01/jones-sync/locks/lock-",
            "create s02/jones-sync/locks/lock-",
            "multi set s01/conf",
            "multi set s02/conf"
        ])
    );
    assert_eq!(report(&out), all_three_applied(RESENT_NEW_SESSION));
    applied_exactly_once(&t, &v2, 3);
}

/// Regression: a split apply stalled after its first step (a GC pause, SIGSTOP) lost its session;
/// a newer commit was applied meanwhile; the stalled apply then took its lock again and sent its
/// next step, which landed: live confs mixed both commits under the newer record. Every step now
/// checks the record is still as planned, so nothing more of the stalled apply lands.
#[test]
fn a_stalled_split_apply_does_not_land_after_another_apply() {
    let t = Test::new("stalled");
    write_split_service(&t, 1);
    t.commit_all("v1");
    t.run(&["apply", "--yes"]).success();
    write_split_service(&t, 2);
    let v2 = t.commit_all("v2");
    // v3: v1 with one environment's value changed, so it creates nothing v2's second step does.
    write_split_service(&t, 1);
    t.write("services/big/a1/config.toml", "own = \"changed in v3\"\n");
    t.commit_all("v3");

    let stalled = ["apply", "--yes", "--allow-mass-delete", "--rev", &v2, "--lock-timeout", "30"];
    let out = stalled_past_a_newer_apply(&t, &stalled, &["apply", "--yes"]);
    assert!(
        out.stderr.starts_with(
            "error: big: 1 of 8 transactions were applied, then: another apply wrote `big` since this one read it, \
             so nothing more of it was written; `jones-sync plan` shows where it stands."
        ),
        "{}",
        out.stderr
    );
}

/// Runs `stalled` through a proxy that holds its second transaction; meanwhile its session is
/// closed and `newer` applies a newer commit (ZooKeeper stays out of the stalled apply's reach
/// until then, so it cannot go first); then lets it go on. Checks that nothing of it landed after
/// the newer apply, and returns how it ended (exit 1).
fn stalled_past_a_newer_apply(t: &Test, stalled: &[&str], newer: &[&str]) -> Output {
    let proxy = Proxy::start(&server().address());
    proxy.arm(Fault::Pause, 1);
    let stalled = spawn_in(t.repo.path(), &proxied(t, &proxy), stalled);
    // Its first step landed; it stalls at its second, past its session's life.
    proxy.wait_paused();
    proxy.refuse();
    proxy.expire_session();
    t.run(newer).success();
    let after_newer = t.tree();
    proxy.serve();
    proxy.resume();
    let out = stalled.finish().code(1);
    let now = t.tree();
    let changed: Vec<&String> =
        now.keys().filter(|p| after_newer.get(*p) != now.get(*p) && !p.contains("/locks")).collect();
    assert!(changed.is_empty(), "nothing of the stalled apply landed after the newer one: {changed:?}");
    t.run(&["plan", "--detailed-exitcode"]).code(0);
    out
}

/// The same for a service's first apply: its first transaction makes the service with an empty
/// record, which every later step checks, so nothing more lands once another apply wrote it.
#[test]
fn a_stalled_first_apply_of_a_split_service_does_not_land_after_another_apply() {
    let t = Test::new("stalled-new");
    write_split_service(&t, 2);
    let v2 = t.commit_all("v2");
    write_split_service(&t, 1);
    t.commit_all("v3");

    let stalled = ["apply", "--yes", "--rev", &v2, "--lock-timeout", "30"];
    let out = stalled_past_a_newer_apply(&t, &stalled, &["apply", "--yes", "--allow-mass-delete"]);
    assert!(
        out.stderr.starts_with("error: big: 1 of ") && out.stderr.contains(
            " transactions were applied, then: another apply wrote `big` since this one read it, so nothing more of \
             it was written"
        ),
        "{}",
        out.stderr
    );
}

#[test]
fn a_session_expired_while_another_apply_took_a_lock_stops_the_apply_truthfully() {
    let t = Test::new("relock");
    let v2 = applied_then_changed(&t);
    let before = t.tree();
    let proxy = Proxy::start(&server().address());
    proxy.arm(Fault::Pause, 0);
    proxy.arm(Fault::ExpireBefore, 1);
    let apply = spawn_in(t.repo.path(), &proxied(&t, &proxy), &["apply", "--yes", "--lock-timeout", "2"]);
    // The apply holds its three locks and is about to commit s00: another pipeline queues for s02's
    // lock, and gets it when the apply's session expires.
    proxy.wait_paused();
    let (other, _) = hold_lock(&t.zk, "s02");
    proxy.resume();
    let out = apply.finish();
    assert_eq!(proxy.fired(), [Fault::Pause, Fault::ExpireBefore]);
    assert_eq!(
        out.stderr,
        "error: s01: the session expired and the locks could not be taken again, so nothing more was written: `s02` \
         is locked by other-ci on runner-9 (pid 4242, since 2026-11-25T01:00:00Z), lock id `lock-0000000001`; gave up \
         after waiting 2s (--lock-timeout). If that apply is gone, remove its lock: jones-sync unlock s02 --id \
         lock-0000000001\n\
         error: s02: not attempted: this apply lost ZooKeeper or its locks at `s01`; nothing of it was written\n\
         error: 2 of 3 services failed to apply: s01, s02\n"
    );
    assert_eq!(
        report(&out),
        [applied_line("s00", ""), "Apply incomplete: 2 created, 7 updated, 2 deleted.\n".into()].concat()
    );
    let after = t.tree();
    assert_eq!(record(&after, "s00")["sha"], v2);
    for svc in ["s01", "s02"] {
        assert_eq!(config_of(&after, svc), config_of(&before, svc), "{svc} is entirely old");
        assert_eq!(entries(&after, svc).len(), 1);
    }
    drop(other);
    t.run(&["apply", "--yes"]).success();
    applied_exactly_once(&t, &v2, 3);
}

#[test]
fn a_service_deleted_whole_survives_its_session_expiring_around_the_commit() {
    // `--prune` deletes s01 with our lock node in the same transaction; after an expiry the lock
    // nodes have new names, and s01's lock must not be taken again once s01 is gone.
    let lock = |svc: &str| format!("create {svc}/jones-sync/locks/lock-");
    for (fault, note) in [(Fault::ExpireBefore, RESENT_NEW_SESSION), (Fault::ExpireAfter, FOUND_APPLIED_NEW_SESSION)] {
        let t = Test::new("prune-expire");
        applied_then_changed(&t);
        t.remove("services/s01");
        t.commit_all("drop s01");
        let proxy = Proxy::start(&server().address());
        proxy.arm(fault, 1);
        let out = run_in(t.repo.path(), &proxied(&t, &proxy), &["apply", "--yes", "--prune", "--allow-mass-delete"])
            .success();
        let mut want = vec!["session 1".to_string(), lock("s00"), lock("s02"), lock("s01")];
        want.push("multi set s00/conf".into());
        want.push(format!("multi delete s01/views/prod/canary: {fault:?}"));
        want.extend(["session expired".into(), "session 2".into(), lock("s00"), lock("s02")]);
        if fault == Fault::ExpireBefore {
            want.extend([lock("s01"), "multi delete s01/views/prod/canary".into()]);
        }
        want.push("multi set s02/conf".into());
        assert_eq!(events(&proxy), want, "{fault:?}");
        assert_eq!(
            report(&out),
            [
                applied_line("s00", ""),
                format!("s01: applied in one transaction: 0 created, 0 updated, 13 deleted{note}\n"),
                applied_line("s02", ""),
                "Apply complete: 4 created, 14 updated, 17 deleted.\n".into()
            ]
            .concat(),
            "{fault:?}"
        );
        assert_eq!(t.tree().keys().filter(|path| path.starts_with("/services/s01")).count(), 0, "{fault:?}");
        t.run(&["plan", "--prune", "--detailed-exitcode"]).code(0);
    }
}

// ZooKeeper down at the start, starting up, or lost for good mid-apply.

#[test]
fn zookeeper_down_at_start_is_a_clear_error_within_the_connect_timeout_and_nothing_is_written() {
    let t = Test::new("down-at-start");
    t.write("services/s/config.toml", "a = 1\n");
    t.commit_all("v1");
    let refused = format!("127.0.0.1:{}", crate::zookeeper::free_port());
    // Nothing listens (refused), or a server accepts and never answers (hung).
    let (silent, _task) = crate::proxy::silent_server();
    let hung = format!("127.0.0.1:{silent}");
    for connect in [refused, hung] {
        let started = std::time::Instant::now();
        let out = run_in(t.repo.path(), &format!("{connect}/c"), &["apply", "--yes", "--connect-timeout", "3"]).code(1);
        let took = started.elapsed();
        assert!(took >= Duration::from_secs(2) && took < Duration::from_secs(8), "{connect}: took {took:?}");
        assert_eq!(out.stdout, "", "no plan, no report");
        assert_eq!(
            out.stderr,
            format!(
                "error: cannot connect to ZooKeeper at `{connect}/c`: no server is reachable within 3s (is ZooKeeper \
                 running?)\n"
            )
        );
    }
    assert_eq!(t.tree(), BTreeMap::new(), "nothing written");
    t.run(&["apply", "--yes"]).success();
}

#[test]
fn a_server_that_starts_serving_within_the_connect_timeout_is_waited_for() {
    let t = Test::new("starting");
    t.write("services/s/config.toml", "a = 1\n");
    t.commit_all("v1");
    let proxy = Proxy::start_refusing(&server().address());
    let apply = spawn_in(t.repo.path(), &proxied(&t, &proxy), &["apply", "--yes", "--connect-timeout", "60"]);
    proxy.wait_refused(2);
    proxy.serve();
    let out = apply.finish().success();
    assert!(out.stdout.ends_with("Apply complete: 6 created, 0 updated, 0 deleted.\n"), "{}", out.stdout);
    t.run(&["plan", "--detailed-exitcode"]).code(0);
}

#[test]
fn zookeeper_lost_for_good_mid_apply_fails_in_bounded_time_and_a_rerun_converges() {
    let t = Test::new("down");
    write_services(&t, 4, 1);
    t.commit_all("v1");
    t.run(&["apply", "--yes"]).success();
    write_services(&t, 4, 2);
    let v2 = t.commit_all("v2");
    let before = t.tree();
    let proxy = Proxy::start(&server().address());
    proxy.arm(Fault::Down, 1);
    let started = std::time::Instant::now();
    let out = run_in(t.repo.path(), &proxied(&t, &proxy), &["apply", "--yes", "--connect-timeout", "2"]).code(1);
    let took = started.elapsed();
    assert_eq!(proxy.fired(), [Fault::Down]);
    let connect = proxied(&t, &proxy);
    assert_eq!(
        out.stderr,
        format!(
            "error: s01: the connection to ZooKeeper was lost during the commit and could not be restored, so \
             whether it was applied is unknown; once ZooKeeper is back, `jones-sync plan` shows it and `apply` \
             finishes the job: cannot connect to ZooKeeper at `{connect}`: no server is reachable within 2s (is \
             ZooKeeper running?)\n\
             error: s02: not attempted: this apply lost ZooKeeper or its locks at `s01`; nothing of it was written\n\
             error: s03: not attempted: this apply lost ZooKeeper or its locks at `s01`; nothing of it was written\n\
             error: 3 of 4 services failed to apply: s01, s02, s03\n"
        )
    );
    assert_eq!(
        report(&out),
        [applied_line("s00", ""), "Apply incomplete: 2 created, 7 updated, 2 deleted.\n".into()].concat()
    );
    assert!(took < Duration::from_secs(40), "took {took:?}");
    let after = t.tree();
    for svc in ["s01", "s02", "s03"] {
        assert_eq!(config_of(&after, svc), config_of(&before, svc), "{svc} is entirely old");
    }
    assert_eq!(record(&after, "s00")["sha"], v2);
    t.run(&["apply", "--yes"]).success();
    applied_exactly_once(&t, &v2, 4);
}

// A three-server ensemble losing its leader.

#[test]
fn apply_works_through_an_ensemble_and_survives_losing_the_leader() {
    let mut ensemble = Ensemble::start(3);
    ensemble.create("/t");
    let zk = ensemble.connect_string("/t");
    let t = Test::new("ensemble");
    t.write("services/s/config.toml", "a = 1\n").write("services/s/e/hosts.toml", "hosts = [\"h\"]\n");
    run_in(t.repo.path(), &zk, &["apply", "--yes"]).success();
    let leader = ensemble.leader();
    ensemble.kill(leader);
    t.write("services/s/config.toml", "a = 2\n");
    run_in(t.repo.path(), &zk, &["apply", "--yes"]).success();
    run_in(t.repo.path(), &zk, &["plan", "--detailed-exitcode"]).code(0);
    ensemble.restart(leader);
    ensemble.wait_for_quorum();
}

#[test]
fn losing_the_leader_mid_apply_leaves_every_service_entirely_old_or_new() {
    const COUNT: usize = 16;
    let mut ensemble = Ensemble::start(3);
    for (round, watched) in [(0, "s00"), (1, "s03"), (2, "s06")] {
        ensemble.create(&format!("/r{round}"));
        let zk = ensemble.connect_string(&format!("/r{round}"));
        let t = Test::new("leader");
        write_services(&t, COUNT, 1);
        let v1 = t.commit_all("v1");
        run_in(t.repo.path(), &zk, &["apply", "--yes"]).success();
        let old = expected(&t);
        write_services(&t, COUNT, 2);
        let v2 = t.commit_all("v2");
        let new = expected(&t);
        let leader = ensemble.leader();
        let watcher = block_on(crate::zookeeper::raw(&zk, Duration::from_secs(30)));
        let started = std::time::Instant::now();
        let mut apply = spawn_in(t.repo.path(), &zk, &["apply", "--yes"]);
        wait_for_entries(&watcher, watched, 2);
        ensemble.kill(leader);
        let mid_apply = apply.running();
        drop(watcher);
        let out = apply.finish();
        let took = started.elapsed();
        assert!(mid_apply, "the leader died after the apply ended: {}", out.stdout);
        let updated = old_or_new(&tree_at(&zk), &old, &new, (&v1, &v2), COUNT);
        eprintln!(
            "round {round}: exit {}, {} of {COUNT} services new, took {took:?}\n{}\n{}",
            out.code,
            updated.len(),
            report(&out),
            out.stderr
        );
        assert!(out.code == 0 || out.code == 1, "{out:?}");
        if out.code == 0 {
            assert_eq!(updated.len(), COUNT, "{}", out.stdout);
        }
        run_in(t.repo.path(), &zk, &["apply", "--yes"]).success();
        run_in(t.repo.path(), &zk, &["plan", "--detailed-exitcode"]).code(0);
        assert_eq!(old_or_new(&tree_at(&zk), &old, &new, (&v1, &v2), COUNT).len(), COUNT);
        ensemble.restart(leader);
        ensemble.wait_for_quorum();
    }
}

// The jones-sync process killed (SIGKILL) mid-apply.

#[test]
fn a_killed_apply_leaves_every_service_entirely_old_or_new_and_the_next_apply_finishes() {
    const COUNT: usize = 12;
    let t = Test::new("sigkill");
    write_services(&t, COUNT, 1);
    let v1 = t.commit_all("v1");
    t.run(&["apply", "--yes"]).success();
    let old = expected(&t);
    write_services(&t, COUNT, 2);
    let v2 = t.commit_all("v2");
    let new = expected(&t);

    // Killed exactly while sending the commit of s05 (held by the proxy, never forwarded).
    let proxy = Proxy::start(&server().address());
    proxy.arm(Fault::Pause, 5);
    let mut apply = spawn_in(t.repo.path(), &proxied(&t, &proxy), &["apply", "--yes"]);
    proxy.wait_paused();
    apply.kill();
    let out = apply.finish();
    drop(proxy);
    assert_eq!(out.code, -1, "killed by a signal");
    let updated = old_or_new(&t.tree(), &old, &new, (&v1, &v2), COUNT);
    assert_eq!(updated, ["s00", "s01", "s02", "s03", "s04"]);

    // The next apply waits for the dead process's locks to vanish with its session, then
    // finishes the job: the services applied before the kill have no changes left.
    let started = std::time::Instant::now();
    let out = t.run(&["apply", "--yes"]).success();
    let waited = started.elapsed();
    assert!(waited < Duration::from_secs(40), "waited {waited:?}");
    let applied: Vec<String> = (5..COUNT).map(|i| applied_line(&format!("s{i:02}"), "")).collect();
    assert_eq!(report(&out), format!("{}Apply complete: 14 created, 49 updated, 14 deleted.\n", applied.concat()));
    for i in 0..5 {
        assert!(out.stdout.contains(&format!("s{i:02}: no changes\n")), "{}", out.stdout);
    }
    applied_exactly_once(&t, &v2, COUNT);
}

#[test]
fn an_apply_killed_at_any_moment_leaves_every_service_entirely_old_or_new() {
    const COUNT: usize = 16;
    let t = Test::new("sigkill-any");
    write_services(&t, COUNT, 1);
    let v1 = t.commit_all("v1");
    t.run(&["apply", "--yes"]).success();
    let old = expected(&t);
    write_services(&t, COUNT, 2);
    let v2 = t.commit_all("v2");
    let new = expected(&t);
    let watcher = block_on(crate::zookeeper::raw(&t.zk, Duration::from_secs(10)));
    let mut apply = spawn_in(t.repo.path(), &t.zk, &["apply", "--yes"]);
    // Killed as soon as the third service is applied, wherever the process is then.
    wait_for_entries(&watcher, "s02", 2);
    apply.kill();
    let out = apply.finish();
    let updated = old_or_new(&t.tree(), &old, &new, (&v1, &v2), COUNT);
    eprintln!("killed with {} of {COUNT} services applied (exit {})", updated.len(), out.code);
    t.run(&["apply", "--yes"]).success();
    applied_exactly_once(&t, &v2, COUNT);
}
