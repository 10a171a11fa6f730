//! `sync::apply_unattended`, what `serve` applies with: as `apply --yes`, through the same
//! pipeline, but a plan the mass-deletion guard flags is refused, never applied.

use std::time::Duration;

use crate::util::Test;
use crate::zookeeper::block_on;

fn apply(t: &Test) -> Result<jones_sync::sync::Applied, String> {
    let state = jones_sync::desired::load(t.repo.path(), Some("HEAD")).unwrap().unwrap();
    let git = jones_sync::repo::git::Git::open(t.repo.path()).unwrap();
    let record =
        |name: &str| jones_sync::audit::record::Record::new(state.origin(name), "jones-sync serve".into()).to_json();
    let request = jones_sync::sync::Request::new(&state, &[], record, false, Duration::from_secs(5)).unwrap();
    let holder = jones_sync::zk::lock::Holder::me("jones-sync serve", None);
    block_on(async {
        let zk = jones_sync::zk::Zk::connect(&t.zk, Duration::from_secs(10)).await.unwrap();
        jones_sync::sync::apply_unattended(zk, &state, git.as_ref(), &request, holder).await
    })
    .map_err(|err| err.to_string())
}

#[test]
fn an_unattended_apply_applies_once_and_never_a_mass_deletion() {
    let t = Test::new("unattended");
    t.write("services/keep/config.toml", "k = 1\n").write("services/s/config.toml", "root = 1\n");
    for env in ["a", "b", "c"] {
        t.write(&format!("services/s/{env}/config.toml"), "v = 1\n");
    }
    t.commit_all("v1");
    let applied = apply(&t).unwrap();
    assert_eq!(applied.outcomes.len(), 2);
    assert!(applied.outcomes.iter().all(|o| o.result.is_ok()));
    let record: serde_json::Value = serde_json::from_str(&t.tree()["/services/s/jones-sync"]).unwrap();
    assert_eq!(record["actor"], "jones-sync serve");
    assert!(apply(&t).unwrap().outcomes.is_empty(), "nothing more to do");

    t.remove("services/s/a").remove("services/s/b").remove("services/s/c");
    t.commit_all("drop every environment");
    let before = t.tree();
    let refused = apply(&t).err().unwrap();
    assert!(refused.starts_with("refusing a mass deletion without --allow-mass-delete"), "{refused}");
    assert_eq!(t.tree(), before);
}
