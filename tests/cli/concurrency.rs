//! A concurrent edit between jones-sync's read and its write aborts the service's transaction and
//! leaves ZooKeeper as the other writer left it. Driven through the library, so the edit lands
//! exactly between the read and the commit.

use std::time::Duration;

use crate::util::Test;
use crate::zookeeper::block_on;

/// The plan of the repository, made by the pipeline as `plan` makes it.
fn plan_for(t: &Test, zk: &jones_sync::zk::Zk) -> jones_sync::plan::Plan {
    let state = jones_sync::desired::load(t.repo.path(), None).unwrap().unwrap();
    let record = |_: &str| serde_json::json!({"sha": null});
    let request = jones_sync::sync::Request::new(&state, &[], record, false, Duration::from_secs(5)).unwrap();
    block_on(jones_sync::sync::plan(zk, &request)).unwrap().plan
}

/// Applies `plan` without locks (the edits these tests make are not jones-sync applies).
fn apply(zk: jones_sync::zk::Zk, plan: &jones_sync::plan::Plan) -> Vec<jones_sync::apply::Outcome> {
    let mut session = jones_sync::apply::Session {
        zk,
        locks: jones_sync::zk::lock::Locks::default(),
        holder: jones_sync::zk::lock::Holder::me("test", None),
    };
    let settings = jones_sync::apply::Settings {
        max_request_bytes: 1_000_000,
        keep: jones_sync::repo::settings::DEFAULT_KEEP,
        lock_timeout: Duration::from_secs(5),
    };
    block_on(jones_sync::apply::execute(&mut session, plan, &settings))
}

fn connect(t: &Test) -> jones_sync::zk::Zk {
    block_on(jones_sync::zk::Zk::connect(&t.zk, Duration::from_secs(10))).unwrap()
}

#[test]
fn an_edit_between_read_and_write_aborts_the_whole_service() {
    let t = Test::new("concurrent");
    t.write("services/s/config.toml", "a = 1\n").write("services/s/e/config.toml", "b = 1\n");
    t.write("services/other/config.toml", "o = 1\n");
    t.run(&["apply", "--yes"]).success();

    t.write("services/s/config.toml", "a = 2\n").write("services/s/f/config.toml", "c = 1\n");
    t.write("services/other/config.toml", "o = 2\n");
    let zk = connect(&t);
    let plan = plan_for(&t, &zk);
    // Someone edits a view of `s` with the Jones web UI after the plan read it.
    t.zk_write("/services/s/views/e", r#"{"edited": "by hand"}"#);
    let before = t.tree();

    let outcomes = apply(zk, &plan);
    let errors: Vec<String> = outcomes
        .iter()
        .map(|o| format!("{}: {}", o.service, o.result.as_ref().err().map(ToString::to_string).unwrap_or("ok".into())))
        .collect();
    assert_eq!(
        errors,
        ["other: ok", "s: `/services/s/views/e` was changed by someone else since it was read; nothing was written",]
    );
    let after = t.tree();
    let changed: Vec<&String> = after.keys().filter(|path| before.get(*path) != after.get(*path)).collect();
    assert_eq!(
        changed,
        [
            "/services/other/conf",
            "/services/other/jones-sync",
            "/services/other/jones-sync/log-0000000002",
            "/services/other/views"
        ],
        "only the other service changed (and logged its apply)"
    );
    assert!(!after.contains_key("/services/s/conf/f"), "no create of the aborted transaction is visible");
}

#[test]
fn a_node_created_meanwhile_aborts_the_transaction() {
    let t = Test::new("created");
    t.write("services/s/config.toml", "a = 1\n");
    let zk = connect(&t);
    let plan = plan_for(&t, &zk);
    t.zk_write("/services/s/conf", r#"{"a": 0}"#);
    let before = t.tree();
    let outcomes = apply(zk, &plan);
    let err = outcomes[0].result.as_ref().unwrap_err().to_string();
    assert_eq!(
        err,
        "`/services/s` was created by someone else since it was read, with other content than this plan's, so \
         nothing was written; `jones-sync plan` shows what it holds now"
    );
    assert_eq!(t.tree(), before);
}

#[test]
fn a_host_move_fails_if_its_target_view_was_deleted_meanwhile() {
    let t = Test::new("guard");
    t.write("services/s/a/hosts.toml", "hosts = [\"h\"]\n").mkdir("services/s/b");
    t.run(&["apply", "--yes"]).success();
    t.write("services/s/b/hosts.toml", "hosts = [\"h\"]\n").remove("services/s/a/hosts.toml");
    let zk = connect(&t);
    let plan = plan_for(&t, &zk);
    t.zk_write("/services/s/views/b", "{\"x\": 1}");
    let before = t.tree();
    let outcomes = apply(zk, &plan);
    let err = outcomes[0].result.as_ref().unwrap_err().to_string();
    assert_eq!(err, "`/services/s/views/b` was changed by someone else since it was read; nothing was written");
    assert_eq!(t.tree(), before);
}
