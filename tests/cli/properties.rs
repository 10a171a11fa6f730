//! Properties of plan and apply against a real ZooKeeper, over random repositories: apply then
//! plan is empty; apply is idempotent; applying A then B leaves the same tree as applying B to an
//! empty ZooKeeper.

use proptest::prelude::*;

use crate::repo_gen;
use crate::util::{Test, run_in};

fn applied(repo: &repo_gen::GenRepo, name: &str) -> Test {
    let t = Test::new(name);
    t.remove("services");
    repo.write(t.repo.path());
    t.run(&["apply", "--yes"]).success();
    t
}

proptest! {
    // Each case runs the binary a handful of times against the server: keep the count modest.
    #![proptest_config(ProptestConfig { cases: 12, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn apply_converges_and_is_idempotent_and_history_independent(a in repo_gen::repo(), b in repo_gen::repo()) {
        let t = applied(&a, "propa");
        let plan = t.run(&["plan", "--detailed-exitcode"]);
        prop_assert_eq!(plan.code, 0, "apply then plan is empty:\n{}", plan.stdout);
        let tree = t.tree();
        let again = t.run(&["apply", "--yes"]).success();
        prop_assert!(again.stdout.ends_with("No changes. ZooKeeper matches the repository.\n"), "{}", again.stdout);
        prop_assert_eq!(t.tree(), tree, "a second apply writes nothing, not even the record");

        // A then B equals B on an empty ZooKeeper (services only in A are left alone: compare B's).
        let b_dir = tempfile::tempdir().unwrap();
        b.write(b_dir.path());
        // B may well delete most of A's environments and hosts: allowed here.
        run_in(b_dir.path(), &t.zk, &["apply", "--yes", "--allow-mass-delete"]).success();
        let fresh = applied(&b, "propb");
        let names: Vec<String> = b.services.iter().map(|s| format!("/services/{}", s.name)).collect();
        let only_b = |tree: std::collections::BTreeMap<String, String>| -> Vec<(String, String)> {
            tree.into_iter().filter(|(p, _)| names.iter().any(|n| p.starts_with(&format!("{n}/")) || p == n)).collect()
        };
        prop_assert_eq!(only_b(t.config_tree()), only_b(fresh.config_tree()));
        let plan = run_in(b_dir.path(), &t.zk, &["plan", "--detailed-exitcode"]);
        prop_assert_eq!(plan.code, 0, "{}", plan.stdout);
    }
}
