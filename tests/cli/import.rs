//! import against a real ZooKeeper: trees written the way the Jones web UI writes them (Python's
//! `json.dumps`, keys in insertion order, parents made with empty data, an empty nodemap before
//! the first association), round-tripped through a repository.

use std::collections::BTreeMap;
use std::path::Path;

use crate::util::{Test, run_in};

/// Two services as the Jones web UI leaves them.
fn jones_ui_tree(t: &Test) {
    t.zk_write("/services/shop/conf", r#"{"timeout": 30, "currency": "USD", "db": {"host": "db0", "port": 5432}}"#);
    t.zk_write("/services/shop/conf/production", r#"{"timeout": 60}"#);
    t.zk_write("/services/shop/conf/production/canary", r#"{"features": ["a", "b"], "ratio": 0.05}"#);
    t.zk_write("/services/shop/conf/staging", r#"{"debug": true}"#);
    t.zk_write("/services/shop/views", r#"{"timeout": 30, "currency": "USD", "db": {"host": "db0", "port": 5432}}"#);
    t.zk_write(
        "/services/shop/views/production",
        r#"{"timeout": 60, "currency": "USD", "db": {"host": "db0", "port": 5432}}"#,
    );
    t.zk_write(
        "/services/shop/views/production/canary",
        r#"{"timeout": 60, "currency": "USD", "db": {"host": "db0", "port": 5432}, "features": ["a", "b"], "ratio": 0.05}"#,
    );
    t.zk_write(
        "/services/shop/views/staging",
        r#"{"timeout": 30, "currency": "USD", "db": {"host": "db0", "port": 5432}, "debug": true}"#,
    );
    t.zk_write(
        "/services/shop/nodemaps",
        r#"{"web1.example.com": "/services/shop/views/production", "c1": "/services/shop/views/production/canary"}"#,
    );
    t.zk_write("/services/search/conf", "{}");
    t.zk_write("/services/search/views", "{}");
    t.zk_write("/services/search/nodemaps", "");
}

/// Every file below `dir`, by relative path, with its text.
fn files(dir: &Path) -> BTreeMap<String, String> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .map(Result::unwrap)
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let rel = e.path().strip_prefix(dir).unwrap().to_str().unwrap().to_string();
            (rel, std::fs::read_to_string(e.path()).unwrap())
        })
        .collect()
}

#[test]
fn a_tree_written_by_the_jones_web_ui_round_trips_and_is_adopted_by_the_next_apply() {
    let t = Test::new("import");
    jones_ui_tree(&t);
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().join("repo");
    let dir_text = dir.to_str().unwrap();
    let imported = t.run(&["import", "--out", dir_text]).success();
    assert_eq!(imported.stderr, "");
    assert_eq!(
        imported.stdout,
        format!(
            "Imported 2 services into `{dir_text}`: 5 environments, 2 hosts; nodemap format json.\n  search: 1 environment, 0 hosts\n  shop: 4 environments, 2 hosts\nNothing was left out: `jones-sync plan` against this ZooKeeper says `No changes.`\n"
        )
    );
    let expected: BTreeMap<String, String> = [
        ("services/search/config.toml", ""),
        ("services/shop/config.toml", "currency = \"USD\"\ntimeout = 30\n\n[db]\nhost = \"db0\"\nport = 5432\n"),
        ("services/shop/production/config.toml", "timeout = 60\n"),
        ("services/shop/production/hosts.toml", "hosts = [\n    \"web1.example.com\",\n]\n"),
        ("services/shop/production/canary/config.toml", "features = [\"a\", \"b\"]\nratio = 0.05\n"),
        ("services/shop/production/canary/hosts.toml", "hosts = [\n    \"c1\",\n]\n"),
        ("services/shop/staging/config.toml", "debug = true\n"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    assert_eq!(files(&dir), expected);

    // The round trip: nothing to change, and the missing records are not a change by themselves.
    let before = t.tree();
    run_in(&dir, &t.zk, &["plan", "--detailed-exitcode"])
        .code(0)
        .stdout("search: no changes\n\nshop: no changes\n\nNo changes. ZooKeeper matches the repository.\n");
    run_in(&dir, &t.zk, &["apply", "--yes"]).success();
    assert_eq!(t.tree(), before, "an apply without changes writes nothing, not even a record");

    // The next real change adopts the service: its record is written with it.
    std::fs::write(dir.join("services/shop/staging/config.toml"), "debug = false\n").unwrap();
    let plan = run_in(&dir, &t.zk, &["plan"]).success();
    assert!(
        plan.stdout.contains("shop: 1 to create, 2 to update, 0 to delete, not managed by jones-sync yet\n"),
        "{}",
        plan.stdout
    );
    assert!(plan.stdout.contains("  + /services/shop/jones-sync (record of this apply)\n"), "{}", plan.stdout);
    run_in(&dir, &t.zk, &["apply", "--yes"]).success();
    let after = t.tree();
    assert!(after.contains_key("/services/shop/jones-sync"));
    assert!(!after.contains_key("/services/search/jones-sync"), "an unchanged service is not adopted");
    // Untouched nodes keep the Jones web UI's bytes.
    assert_eq!(after["/services/shop/conf"], before["/services/shop/conf"]);
    assert_eq!(
        after["/services/shop/views/staging"],
        r#"{"currency":"USD","db":{"host":"db0","port":5432},"debug":false,"timeout":30}"#
    );
    run_in(&dir, &t.zk, &["plan", "--detailed-exitcode"]).code(0);
}

#[test]
fn legacy_nodemaps_are_imported_kept_legacy_and_read_back() {
    let t = Test::new("importlegacy");
    t.zk_write("/services/old/conf", r#"{"a": 1}"#);
    t.zk_write("/services/old/conf/x", r#"{"b": 2}"#);
    t.zk_write("/services/old/conf/y", "{}");
    t.zk_write("/services/old/views", r#"{"a": 1}"#);
    t.zk_write("/services/old/views/x", r#"{"a": 1, "b": 2}"#);
    t.zk_write("/services/old/views/y", r#"{"a": 1}"#);
    t.zk_write("/services/old/nodemaps", "h1 -> /services/old/views/x\nh2 -> /services/old/views/x");
    let out = tempfile::tempdir().unwrap();
    let dir = out.path();
    let imported = t.run(&["import", "--out", dir.to_str().unwrap()]).success();
    assert!(imported.stdout.contains("nodemap format legacy"), "{}", imported.stdout);
    assert_eq!(
        std::fs::read_to_string(dir.join("jones-sync.toml")).unwrap(),
        "[sync]\n# The nodemaps found were in the 0.5.x text format: keep writing it for old clients.\nnodemap_format = \"legacy\"\n"
    );
    run_in(dir, &t.zk, &["plan", "--detailed-exitcode"]).code(0);
    // A host move is written in the legacy format.
    std::fs::write(dir.join("services/old/x/hosts.toml"), "hosts = [\"h1\"]\n").unwrap();
    std::fs::write(dir.join("services/old/y/hosts.toml"), "hosts = [\"h2\"]\n").unwrap();
    let plan = run_in(dir, &t.zk, &["plan"]).success();
    assert!(
        plan.stdout.contains(
            "  ~ /services/old/nodemaps (nodemap)\n      ~ h2: \"/services/old/views/x\" → \"/services/old/views/y\"\n"
        ),
        "{}",
        plan.stdout
    );
    run_in(dir, &t.zk, &["apply", "--yes"]).success();
    assert_eq!(t.tree()["/services/old/nodemaps"], "h1 -> /services/old/views/x\nh2 -> /services/old/views/y");
    run_in(dir, &t.zk, &["plan", "--detailed-exitcode"]).code(0);
    t.run(&["get", "old", "--host", "h2", "--format", "json"]).success().stdout("{\"a\":1}\n");
    // Switching the format reaches the nodemap: Jones 1.x clients cannot read the legacy lines.
    std::fs::remove_file(dir.join("jones-sync.toml")).unwrap();
    let plan = run_in(dir, &t.zk, &["plan", "--detailed-exitcode"]).code(2);
    assert!(
        plan.stdout.contains("  ~ /services/old/nodemaps (nodemap)\n      ~ (format): legacy → json\n"),
        "{}",
        plan.stdout
    );
    run_in(dir, &t.zk, &["apply", "--yes"]).success();
    assert_eq!(t.tree()["/services/old/nodemaps"], r#"{"h1":"/services/old/views/x","h2":"/services/old/views/y"}"#);
    run_in(dir, &t.zk, &["plan", "--detailed-exitcode"]).code(0);
}

#[test]
fn nulls_broken_views_and_dangling_hosts_are_reported_and_the_rest_imported() {
    let t = Test::new("importbroken");
    t.zk_write("/services/s/conf", r#"{"a": 1, "gone": null}"#);
    t.zk_write("/services/s/conf/list", "[1, 2]");
    t.zk_write("/services/s/conf/ok", r#"{"b": 2, "nested": {"n": null, "m": 1}}"#);
    t.zk_write("/services/s/conf/ok/.hidden", "{}");
    t.zk_write("/services/s/views", r#"{"a": 1, "gone": null}"#);
    t.zk_write("/services/s/views/list", r#"{"a": 1, "gone": null}"#);
    t.zk_write("/services/s/views/ok", r#"{"a": 1, "gone": null, "b": 3, "nested": {"n": null, "m": 1}}"#);
    t.zk_write("/services/s/views/orphan", "{}");
    t.zk_write(
        "/services/s/nodemaps",
        r#"{"h1": "/services/s/views/ok", "h2": "/services/s/views/missing", "h3": "/services/s/views", "h4": 7}"#,
    );
    t.zk_write("/services/not-jones/something", "x");
    t.zk_write("/services/fine/conf", "{}");
    t.zk_write("/services/fine/views", "{}");
    t.zk_write("/services/fine/nodemaps", "{}");
    let out = tempfile::tempdir().unwrap();
    let dir = out.path();
    let imported = t.run(&["import", "--out", dir.to_str().unwrap()]).success();
    assert_eq!(
        imported.stderr,
        "\
warning: /services/not-jones: not imported: not a Jones service (it has no `conf` node)
warning: /services/s/conf: `gone` is null, which TOML cannot hold: left out (the next apply removes it)
warning: /services/s/conf/list: holds an array, not a JSON object: imported as `{}` (the next apply writes `{}`)
warning: /services/s/conf/ok: `nested.n` is null, which TOML cannot hold: left out (the next apply removes it)
warning: /services/s/conf/ok/.hidden: left out with everything below it: `.hidden` starts with `.`, and the repository skips hidden entries
warning: /services/s/nodemaps: host `h2` points at `/services/s/views/missing`, which does not exist: dropped, so it reads the root
warning: /services/s/nodemaps: host `h3` points at the root view `/services/s/views`, which hosts read without an association: dropped, so it reads the root
warning: /services/s/nodemaps: host `h4` maps to 7, not to a view path: dropped, so it reads the root
warning: /services/s/views/ok: does not match the materialization of its conf (differs in `b`): the next apply rewrites it
warning: /services/s/views/orphan: is a view without a conf: the next apply deletes it
"
    );
    assert!(
        imported.stdout.ends_with(
            "10 warnings (above, on stderr): `jones-sync plan` shows what the next apply changes because of them.\n"
        ),
        "{}",
        imported.stdout
    );
    // The plan changes exactly what was reported, and nothing of `fine`.
    let plan = run_in(dir, &t.zk, &["plan"]).success();
    let changed: Vec<&str> =
        plan.stdout.lines().filter(|l| ["  + /", "  ~ /", "  - /"].iter().any(|p| l.starts_with(p))).collect();
    assert_eq!(
        changed,
        [
            "  ~ /services/s/conf (conf)",
            "  ~ /services/s/conf/list (conf)",
            "  ~ /services/s/conf/ok (conf)",
            "  - /services/s/conf/ok/.hidden (conf)",
            "  + /services/s/jones-sync (record of this apply)",
            "  ~ /services/s/nodemaps (nodemap)",
            "  ~ /services/s/views (view, derived)",
            "  ~ /services/s/views/list (view, derived)",
            "  ~ /services/s/views/ok (view, derived)",
            "  - /services/s/views/orphan (view, derived)",
        ]
    );
    assert!(plan.stdout.starts_with("fine: no changes\n"), "{}", plan.stdout);
    run_in(dir, &t.zk, &["apply", "--yes"]).success();
    // Imported again, the repaired tree has nothing to report.
    let again = tempfile::tempdir().unwrap();
    let out = t.run(&["import", "--out", again.path().to_str().unwrap(), "--service", "s"]).success();
    assert_eq!(out.stderr, "");
}

#[test]
fn a_non_empty_directory_needs_force_and_services_can_be_chosen() {
    let t = Test::new("importforce");
    jones_ui_tree(&t);
    let out = tempfile::tempdir().unwrap();
    let dir = out.path();
    std::fs::write(dir.join("README.md"), "# our config\n").unwrap();
    std::fs::create_dir_all(dir.join("services/shop/stale-env")).unwrap();
    std::fs::write(dir.join("services/shop/stale-env/config.toml"), "x = 1\n").unwrap();
    let dir_text = dir.to_str().unwrap();
    t.run(&["import", "--out", dir_text]).code(1).stderr(&format!(
        "error: `{dir_text}` is not empty: pass --force to write into it (the imported services' directories there are replaced)\n"
    ));
    assert!(dir.join("services/shop/stale-env").exists(), "nothing was written");
    t.run(&["import", "--out", dir_text, "--service", "nope", "--service", "shop", "--force"])
        .code(1)
        .stderr("error: no service `nope` in ZooKeeper (found: search, shop); nothing was written\n");
    let imported = t.run(&["import", "--out", dir_text, "--service", "shop", "--force"]).success();
    assert!(imported.stdout.starts_with(&format!("Imported 1 service into `{dir_text}`")), "{}", imported.stdout);
    let written: Vec<String> = files(dir).into_keys().collect();
    assert_eq!(
        written,
        [
            "README.md",
            "services/shop/config.toml",
            "services/shop/production/canary/config.toml",
            "services/shop/production/canary/hosts.toml",
            "services/shop/production/config.toml",
            "services/shop/production/hosts.toml",
            "services/shop/staging/config.toml",
        ]
    );
}
