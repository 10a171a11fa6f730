//! Services larger than one transaction.

use crate::util::Test;

#[test]
fn a_service_over_the_request_limit_is_applied_in_safe_steps_and_said_so() {
    let t = Test::new("split");
    t.write("jones-sync.toml", "[zookeeper]\nmax_request_bytes = 2000\n");
    let blob = "x".repeat(300);
    t.write("services/s/config.toml", &format!("root = \"{blob}\"\n"));
    for env in ["a", "b", "c", "d"] {
        t.write(&format!("services/s/{env}/config.toml"), &format!("own = \"{env}{blob}\"\n"))
            .write(&format!("services/s/{env}/hosts.toml"), &format!("hosts = [\"{env}1\", \"{env}2\"]\n"));
    }
    t.write("services/small/config.toml", "x = 1\n");
    // The plan says beforehand that `s` will not be applied atomically, and why.
    let says_so = |stdout: &str| {
        stdout.contains("s: 13 to create, 0 to update, 0 to delete, not managed by jones-sync yet\n  Not atomic: `s` will not be applied atomically: its changes take ")
            && stdout.contains("bytes, over the 2000-byte request limit ([zookeeper] max_request_bytes), so they go in ")
    };
    let plan = t.run(&["plan"]).success();
    assert!(says_so(&plan.stdout), "{}", plan.stdout);
    assert!(
        !plan
            .stdout
            .contains("small: 4 to create, 0 to update, 0 to delete, not managed by jones-sync yet\n  Not atomic")
    );
    let json: serde_json::Value = serde_json::from_str(&t.run(&["plan", "--format", "json"]).success().stdout).unwrap();
    assert!(json["services"][0]["not_atomic"].as_str().unwrap().starts_with("`s` will not be applied atomically"));
    assert_eq!(json["services"][1]["not_atomic"], serde_json::Value::Null);
    let out = t.run(&["apply", "--yes"]).success();
    assert!(says_so(&out.stdout), "{}", out.stdout);
    assert!(out.stdout.contains("\ns: applied in "), "{}", out.stdout);
    // `/services` on a line of its own: the service's figures are the plan's for it.
    assert!(
        out.stdout.contains("\n/services: created\ns: applied in 6 transactions: 13 created, 0 updated, 0 deleted"),
        "{}",
        out.stdout
    );
    assert!(out.stdout.contains("small: applied in one transaction: 5 created"), "{}", out.stdout);
    assert!(out.stdout.ends_with("Apply complete: 19 created, 0 updated, 0 deleted.\n"), "{}", out.stdout);
    t.run(&["plan", "--detailed-exitcode"]).code(0);
    // Moving hosts and deleting environments in steps converges too.
    t.remove("services/s/a").remove("services/s/b");
    t.write("services/s/c/hosts.toml", "hosts = [\"a1\", \"b1\", \"c1\", \"c2\"]\n");
    t.run(&["apply", "--yes"]).success();
    t.run(&["plan", "--detailed-exitcode"]).code(0);
    let nodemap: serde_json::Value = serde_json::from_str(&t.tree()["/services/s/nodemaps"]).unwrap();
    assert_eq!(
        nodemap,
        serde_json::json!({
            "a1": "/services/s/views/c", "b1": "/services/s/views/c", "c1": "/services/s/views/c",
            "c2": "/services/s/views/c", "d1": "/services/s/views/d", "d2": "/services/s/views/d"
        })
    );
}
