//! The audit log: an entry per apply of a service in the apply's own transaction, retention,
//! `history` and `status`.

use std::time::Duration;

use serde_json::{Value, json};

use crate::util::{Test, short, times};
use crate::zookeeper::block_on;

/// The service's audit entries, oldest first: (node name, JSON, czxid).
fn log(t: &Test, service: &str) -> Vec<(String, Value, i64)> {
    let (connect, record) = (t.zk.clone(), format!("/services/{service}/jones-sync"));
    block_on(async move {
        let zk = crate::zookeeper::raw(&connect, Duration::from_secs(10)).await;
        let mut names = zk.list_children(&record).await.unwrap();
        names.retain(|name| name.starts_with("log-"));
        names.sort();
        let mut entries = Vec::new();
        for name in names {
            let (data, stat) = zk.get_data(&format!("{record}/{name}")).await.unwrap();
            entries.push((name, serde_json::from_slice(&data).unwrap(), stat.czxid));
        }
        entries
    })
}

/// The record's JSON and mzxid.
fn record(t: &Test, service: &str) -> (Value, i64) {
    let (connect, record) = (t.zk.clone(), format!("/services/{service}/jones-sync"));
    block_on(async move {
        let zk = crate::zookeeper::raw(&connect, Duration::from_secs(10)).await;
        let (data, stat) = zk.get_data(&record).await.unwrap();
        (serde_json::from_slice(&data).unwrap(), stat.mzxid)
    })
}

#[test]
fn every_apply_logs_its_commit_in_its_own_transaction() {
    let t = Test::new("auditlog");
    t.write("services/shop/config.toml", "a = 1\n").write("services/shop/prod/hosts.toml", "hosts = [\"w1\"]\n");
    let first = t.commit_all("Add shop");
    t.run(&["apply", "--yes"]).success();
    t.write("services/shop/config.toml", "a = 2\n");
    t.remove("services/shop/prod");
    let second = t.commit_all("Raise a, drop prod");
    // Its only child environment goes: a mass deletion.
    t.run(&["apply", "--yes", "--actor", "ci", "--allow-mass-delete"]).success();
    // Nothing to apply: nothing logged.
    t.run(&["apply", "--yes"]).success();

    let entries = log(&t, "shop");
    let names: Vec<&str> = entries.iter().map(|(name, _, _)| name.as_str()).collect();
    assert_eq!(names, ["log-0000000001", "log-0000000002"]);
    let (last, record_mzxid) = record(&t, "shop");
    let (_, entry, czxid) = &entries[1];
    assert_eq!(*czxid, record_mzxid, "the entry is created by the transaction that wrote the record");
    let digest = entry["plan_digest"].as_str().unwrap().to_string();
    assert!(digest.starts_with("sha256:") && digest.len() == 71, "{digest}");
    assert_eq!(
        entry,
        &json!({
            "sha": second, "subject": "Raise a, drop prod", "author": "Ada <ada@example.com>",
            "committed_at": last["committed_at"],
            "actor": "ci", "applied_at": last["applied_at"], "apply_id": last["apply_id"], "dirty": false,
            "rollback": false, "pinned": false, "pin": null,
            "counts": {"create": 0, "update": 4, "delete": 2}, "plan_digest": digest,
            "tool": {"name": "jones-sync", "version": env!("CARGO_PKG_VERSION")},
        })
    );
    assert_eq!(entries[0].1["sha"], first.as_str());
    assert_eq!(entries[0].1["actor"], "tester");
    assert_eq!(entries[0].1["counts"], json!({"create": 7, "update": 0, "delete": 0}));
    // The record is the entry without what the apply changed.
    let mut without = entry.clone();
    without.as_object_mut().unwrap().retain(|key, _| key != "counts" && key != "plan_digest");
    assert_eq!(last, without);
}

#[test]
fn retention_keeps_the_newest_entries() {
    let t = Test::new("retention");
    t.write("jones-sync.toml", "[history]\nkeep = 2\n");
    let mut shas = Vec::new();
    for n in 1..=4 {
        t.write("services/s/config.toml", &format!("n = {n}\n"));
        shas.push(t.commit_all(&format!("n = {n}")));
        t.run(&["apply", "--yes"]).success();
    }
    let entries: Vec<(String, Value)> =
        log(&t, "s").into_iter().map(|(name, entry, _)| (name, entry["sha"].clone())).collect();
    assert_eq!(
        entries,
        [("log-0000000003".to_string(), json!(shas[2])), ("log-0000000004".to_string(), json!(shas[3]))]
    );
}

#[test]
fn history_lists_applies_newest_first() {
    let t = Test::new("history");
    t.write("services/s/config.toml", "a = 1\n");
    let first = t.commit_all("First");
    t.run(&["apply", "--yes"]).success();
    t.write("services/s/e/config.toml", "b = 1\n");
    let second = t.commit_all("Add environment e");
    t.run(&["apply", "--yes", "--actor", "release-bot"]).success();
    t.write("services/s/e/config.toml", "b = 2\n");
    t.run(&["apply", "--yes", "--allow-dirty"]).success();

    let out = t.run(&["history", "s"]).success();
    assert_eq!(
        times(&out.stdout),
        format!(
            "\
SEQ  APPLIED AT            COMMIT        ACTOR        CHANGES   SUBJECT
3    <time>  {second}  tester       +0 ~3 -0  Add environment e [uncommitted changes]
2    <time>  {second}  release-bot  +2 ~1 -0  Add environment e
1    <time>  {first}  tester       +5 ~0 -0  First
",
            second = short(&second),
            first = short(&first)
        )
    );
    let out = t.run(&["history", "s", "--limit", "2", "--format", "json"]).success();
    let entries: Vec<Value> = serde_json::from_str(&out.stdout).unwrap();
    let summary: Vec<(u64, &str, &str, bool)> = entries
        .iter()
        .map(|e| {
            (e["seq"].as_u64().unwrap(), e["sha"].as_str().unwrap(), e["actor"].as_str().unwrap(), e["dirty"] == true)
        })
        .collect();
    assert_eq!(summary, [(3, second.as_str(), "tester", true), (2, second.as_str(), "release-bot", false)]);
    assert!(entries.iter().all(|e| e["applied_at"].is_string()));

    t.run(&["history", "nope"]).code(1).stderr("error: there is no service `nope` in ZooKeeper\n");
    t.zk_write("/services/legacy/conf", "{}");
    t.run(&["history", "legacy"]).success().stdout(
        "`legacy` has no audit log entries: jones-sync has not applied it yet (or only a version without the audit log did).\n",
    );
    t.run(&["history", "legacy", "--format", "json"]).success().stdout("[]\n");
}

#[test]
fn status_shows_the_applied_commit_and_whether_live_matches_head() {
    let t = Test::new("status");
    t.write("services/a/config.toml", "x = 1\n").write("services/b/config.toml", "y = 1\n");
    let first = t.commit_all("Add a and b");
    t.run(&["apply", "--yes"]).success();
    // b changes in git but is not applied; c is new; a is pinned to the first commit.
    t.write("services/b/config.toml", "y = 2\n").write("services/c/config.toml", "z = 1\n");
    t.write("services/a/config.toml", "x = 2\n");
    t.write("jones-sync.toml", &format!("[services.a]\npin = \"{first}\"\n"));
    let head = t.commit_all("Change b, add c, pin a");
    // Uncommitted edits do not count: status compares with HEAD.
    t.write("services/a/config.toml", "x = 3\n");

    let out = t.run(&["status"]).success();
    assert_eq!(
        times(&out.stdout),
        format!(
            "\
HEAD is {head} Change b, add c, pin a

SERVICE  APPLIED       AT                    BY      LIVE                PIN
a        {first}  <time>  tester  matches HEAD        {first}
b        {first}  <time>  tester  3 changes to apply  -
c        -             -                     -       not in ZooKeeper    -
",
            head = short(&head),
            first = short(&first)
        )
    );
    let out = t.run(&["status", "--format", "json"]).success();
    let rows: Vec<Value> = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(rows[0]["pin"], first.as_str());
    assert_eq!(rows[0]["pin_sha"], first.as_str());
    assert_eq!(rows[0]["matches_head"], true);
    assert_eq!(rows[1]["sha"], first.as_str());
    assert_eq!(rows[1]["matches_head"], false);
    assert_eq!(rows[1]["changes"], 3);
    // The figure is the plan's, as `plan` counts the same service at the same commit.
    let plan = t.run(&["plan", "--rev", "HEAD", "--service", "b"]).success();
    assert!(plan.stdout.starts_with("b: 0 to create, 3 to update, 0 to delete\n"), "{}", plan.stdout);
    assert_eq!(rows[2]["managed"], false);
    assert_eq!(rows[2]["exists"], false);
}

/// `status` plans through the pipeline, which reads a window of services at a time (it used to
/// read every service at once and build every view): a repository of more services than one
/// window is read and reported whole, each service from its own window.
#[test]
fn status_reads_more_services_than_one_window() {
    let t = Test::new("statuswindows");
    let count = jones_sync::sync::READ_WINDOW + 8;
    for i in 0..count {
        t.write(&format!("services/s{i:02}/config.toml"), "x = 1\n");
    }
    t.commit_all("Many services");
    t.run(&["apply", "--yes"]).success();
    let changed = [format!("s{:02}", 3), format!("s{:02}", count - 2)];
    for svc in &changed {
        t.write(&format!("services/{svc}/config.toml"), "x = 2\n");
    }
    t.commit_all("Change two");
    let out = t.run(&["status", "--format", "json"]).success();
    let rows: Vec<Value> = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(rows.len(), count);
    for (i, row) in rows.iter().enumerate() {
        let svc = format!("s{i:02}");
        assert_eq!(row["service"], svc.as_str());
        assert_eq!(row["exists"], true, "{svc}");
        assert_eq!(row["managed"], true, "{svc}");
        // conf, views and the record.
        let changes = if changed.contains(&svc) { 3 } else { 0 };
        assert_eq!(row["changes"], changes, "{svc}");
        assert_eq!(row["matches_head"], changes == 0, "{svc}");
    }
}
