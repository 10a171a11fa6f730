//! Faults: servers dying around an apply.

use crate::ensemble::Ensemble;
use crate::util::{Test, run_in};

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
