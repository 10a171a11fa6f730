//! What plan shows against a real ZooKeeper: drift, view integrity, redaction in every format,
//! the formats themselves, exit codes, `--service` and colour.

use crate::util::Test;

fn json(out: &str) -> serde_json::Value {
    serde_json::from_str(out).unwrap_or_else(|e| panic!("not JSON ({e}):\n{out}"))
}

#[test]
fn drift_flags_a_change_that_reverts_an_out_of_band_write() {
    let t = Test::new("drift");
    t.write("services/s/config.toml", "timeout = 30\n").write("services/s/e/config.toml", "x = 1\n");
    t.run(&["apply", "--yes"]).success();
    // Someone edits the conf of `e` with the Jones web UI.
    t.zk_write("/services/s/conf/e", r#"{"x": 1, "debug": true}"#);
    t.run(&["plan"]).success().stdout(
        "\
s: 0 to create, 2 to update, 0 to delete
  ~ /services/s/conf/e (conf) drift: changed outside jones-sync since its last apply; applying reverts that
      - debug = true
  ~ /services/s/jones-sync (record of this apply)
  View integrity: live views that do not follow from the live conf (as Jones' web UI can leave them):
    /services/s/views/e differs from the materialized conf (live → materialized):
        + debug = true

Plan: 0 to create, 2 to update, 0 to delete. Reaches no hosts.
Drift: 1 change reverts an edit made outside jones-sync since the last apply (marked `drift` above).
View integrity: 1 finding (listed above): live views do not follow from the live conf. Applying brings both back in line with the repository.
",
    );
    let plan = json(&t.run(&["plan", "--format", "json"]).success().stdout);
    let changes = &plan["services"][0]["changes"];
    assert_eq!(changes[0]["path"], "/services/s/conf/e");
    assert_eq!(changes[0]["drift"], true);
    assert_eq!(changes[1]["drift"], false);
    assert_eq!(plan["summary"]["drift"], 1);
    // After the apply, nothing is drift any more.
    t.run(&["apply", "--yes"]).success();
    t.write("services/s/e/config.toml", "x = 2\n");
    let plan = json(&t.run(&["plan", "--format", "json"]).success().stdout);
    assert_eq!(plan["summary"]["drift"], 0, "{plan:#}");
}

#[test]
fn a_view_left_behind_is_a_view_integrity_finding() {
    let t = Test::new("integrity");
    t.write("services/s/config.toml", "timeout = 30\n")
        .write("services/s/e/config.toml", "x = 1\n")
        .write("services/s/e/hosts.toml", "hosts = [\"h1\"]\n");
    t.run(&["apply", "--yes"]).success();
    // Two people edit in the Jones web UI at once: the last view write wins over the conf.
    t.zk_write("/services/s/views/e", r#"{"timeout": 30, "x": 1, "stale": true}"#);
    t.run(&["plan"]).success().stdout(
        "\
s: 0 to create, 2 to update, 0 to delete
  ~ /services/s/jones-sync (record of this apply)
  ~ /services/s/views/e (view, derived) drift: changed outside jones-sync since its last apply; applying reverts that
      - stale = true
  Blast radius: 1 host
    e (view updated): h1
  View integrity: live views that do not follow from the live conf (as Jones' web UI can leave them):
    /services/s/views/e differs from the materialized conf (live → materialized):
        - stale = true

Plan: 0 to create, 2 to update, 0 to delete. Reaches 1 host.
Drift: 1 change reverts an edit made outside jones-sync since the last apply (marked `drift` above).
View integrity: 1 finding (listed above): live views do not follow from the live conf. Applying brings both back in line with the repository.
",
    );
    let plan = json(&t.run(&["plan", "--format", "json"]).success().stdout);
    assert_eq!(
        plan["services"][0]["view_integrity"],
        serde_json::json!([{
            "path": "/services/s/views/e",
            "problem": "differs",
            "changes": [{"op": "remove", "key": "stale", "before": true}],
        }])
    );
    t.run(&["apply", "--yes"]).success();
    let plan = json(&t.run(&["plan", "--format", "json"]).success().stdout);
    assert_eq!(plan["summary"]["view_integrity"], 0);
}

/// A service with secrets in conf, in a nested table, and in a host's move; applied, then changed.
fn with_secrets(name: &str) -> Test {
    let t = Test::new(name);
    t.write("services/s/config.toml", "db_password = \"old-pw\"\n[api]\nurl = \"https://a\"\ntoken = \"tok-1\"\n")
        .write("services/s/e/config.toml", "x = 1\n")
        .write("services/s/f/config.toml", "secret_key = \"f-secret\"\n")
        .write("services/s/e/hosts.toml", "hosts = [\"h1\"]\n");
    t.run(&["apply", "--yes"]).success();
    t.write("services/s/config.toml", "db_password = \"new-pw\"\n[api]\nurl = \"https://b\"\ntoken = \"tok-2\"\n")
        .remove("services/s/e/hosts.toml")
        .write("services/s/f/hosts.toml", "hosts = [\"h1\"]\n");
    // Drift: someone put a secret into a conf by hand.
    t.zk_write("/services/s/conf/e", r#"{"x": 1, "admin_password": "by-hand"}"#);
    t
}

const SECRETS: &[&str] = &["old-pw", "new-pw", "tok-1", "tok-2", "f-secret", "by-hand"];

#[test]
fn sensitive_values_are_redacted_in_every_format() {
    let t = with_secrets("redact");
    for format in ["text", "markdown", "json"] {
        let out = t.run(&["plan", "--format", format]).success().stdout;
        for secret in SECRETS {
            assert!(!out.contains(secret), "{format} shows {secret}:\n{out}");
        }
        assert!(out.contains("(sensitive)"), "{format}:\n{out}");
        assert!(out.contains("https://b"), "{format} hides a value that is not sensitive:\n{out}");
    }
    let text = t.run(&["plan"]).success().stdout;
    assert!(text.contains("      ~ db_password: (sensitive) → (sensitive)\n"), "{text}");
    assert!(text.contains("      - admin_password = (sensitive)\n"), "drift output:\n{text}");
    assert!(text.contains("    h1 moves from e to f\n"), "{text}");
    assert!(text.contains("        + secret_key = (sensitive)\n"), "blast radius:\n{text}");
    let plan = json(&t.run(&["plan", "--format", "json"]).success().stdout);
    assert_eq!(plan["services"][0]["changes"][0]["after"]["api"]["token"], "(sensitive)");
    // apply shows the plan the same way, and writes the real values.
    let applied = t.run(&["apply", "--yes"]).success().stdout;
    for secret in SECRETS {
        assert!(!applied.contains(secret), "apply shows {secret}:\n{applied}");
    }
    assert!(t.tree()["/services/s/conf"].contains("\"new-pw\""));
}

#[test]
fn sensitive_keys_are_configurable_and_shown_only_on_a_terminal() {
    let t = with_secrets("redactcfg");
    t.write("jones-sync.toml", "[plan]\nsensitive_keys = [\"URL\"]\n");
    let out = t.run(&["plan"]).success().stdout;
    assert!(out.contains("\"new-pw\"") && !out.contains("https://b"), "{out}");
    t.write("jones-sync.toml", "[plan]\nsensitive_keys = []\n");
    assert!(t.run(&["plan", "--format", "json"]).success().stdout.contains("tok-2"));
    t.write("jones-sync.toml", "[plan]\nsensitive_keys = [\"[oops\"]\n");
    t.run(&["plan"]).code(1).stdout("").stderr(
        "error: jones-sync.toml:2:19: invalid settings: invalid sensitive key pattern `[oops`: unclosed character class; missing ']'\n1 problem found\n",
    );
    t.remove("jones-sync.toml");
    t.run(&["plan", "--show-sensitive"]).code(1).stdout("").stderr(
        "error: --show-sensitive shows sensitive values on a terminal only, and stdout is not one (they must not \
         reach logs, files or pull requests)\n",
    );
    let shown = t.run_tty(&["plan", "--show-sensitive"], true).success().stdout;
    assert!(shown.contains("~ db_password: \"old-pw\" → \"new-pw\""), "{shown}");
    let hidden = t.run_tty(&["plan"], true).success().stdout;
    assert!(!hidden.contains("new-pw"), "{hidden}");
}

#[test]
fn exit_codes() {
    let t = Test::new("exitcodes");
    t.write("services/s/config.toml", "a = 1\n");
    for format in ["text", "markdown", "json"] {
        t.run(&["plan", "--detailed-exitcode", "--format", format]).code(2);
        t.run(&["plan", "--format", format]).code(0);
    }
    t.run(&["apply", "--yes"]).success();
    t.run(&["plan", "--detailed-exitcode"]).code(0);
    t.write("services/s/config.toml", "a = \n");
    t.run(&["plan", "--detailed-exitcode"]).code(1);
    t.write("services/s/config.toml", "a = 1\n");
    let port = crate::zookeeper::free_port();
    t.run(&["plan", "--detailed-exitcode", "--zk", &format!("127.0.0.1:{port}"), "--connect-timeout", "3"]).code(1);
    // A usage error is an error, not "changes present".
    let usage = t.run(&["plan", "--detailed-exitcode", "--format", "yaml"]).code(1);
    assert!(usage.stderr.starts_with("error: invalid value 'yaml' for '--format <FORMAT>'"), "{}", usage.stderr);
    t.run(&["plan", "--help"]).code(0);
}

#[test]
fn service_limits_plan_and_apply() {
    let t = Test::new("service");
    t.write("services/a/config.toml", "x = 1\n")
        .write("services/b/config.toml", "x = 1\n")
        .write("services/c/config.toml", "x = 1\n");
    t.zk_write("/services/legacy/conf", "{}");
    let plan = t.run(&["plan", "--service", "c", "--service", "a"]).success().stdout;
    let headers: Vec<&str> = plan.lines().filter(|l| !l.starts_with(' ') && !l.is_empty()).collect();
    assert_eq!(
        headers,
        [
            "a: 5 to create, 0 to update, 0 to delete, not managed by jones-sync yet",
            "c: 5 to create, 0 to update, 0 to delete, not managed by jones-sync yet",
            "Plan: 10 to create, 0 to update, 0 to delete. Reaches all unassociated hosts of a, c.",
        ],
        "neither b nor the unmanaged service:\n{plan}"
    );
    t.run(&["apply", "--yes", "--service", "b"]).success();
    let services: Vec<String> = t.config_tree().into_keys().filter(|p| p.matches('/').count() == 2).collect();
    assert_eq!(services, ["/services/b", "/services/legacy"]);
    t.run(&["plan", "--service", "b", "--detailed-exitcode"]).code(0);
    t.run(&["plan", "--service", "d", "--service", "bb"]).code(1).stdout("").stderr(
        "error: --service `d`: the repository has no `services/d/`\n--service `bb`: the repository has no `services/bb/`; did you mean `b`?\n",
    );
}

#[test]
fn colour_follows_color_no_color_and_the_terminal() {
    let t = Test::new("colour");
    t.write("services/s/config.toml", "a = 1\n");
    let escape = '\x1b';
    // The test harness sets NO_COLOR and stdout is a pipe.
    assert!(!t.run(&["plan"]).success().stdout.contains(escape));
    assert!(!t.run(&["plan", "--color", "auto"]).success().stdout.contains(escape));
    let always = t.run(&["plan", "--color", "always"]).success().stdout;
    assert!(always.contains("\x1b[32m+\x1b[0m /services/s/conf (conf)"), "{always}");
    assert!(t.run_tty(&["plan"], false).success().stdout.contains(escape), "a terminal gets colour");
    assert!(!t.run_tty(&["plan"], true).success().stdout.contains(escape), "unless NO_COLOR is set");
    assert!(!t.run_tty(&["plan", "--color", "never"], false).success().stdout.contains(escape));
    // Machine formats never have colour.
    assert!(!t.run(&["plan", "--format", "json", "--color", "always"]).success().stdout.contains(escape));
    assert!(!t.run(&["plan", "--format", "markdown", "--color", "always"]).success().stdout.contains(escape));
}

#[test]
fn markdown_for_a_pull_request_comment() {
    let t = Test::new("markdown");
    t.write("services/s/config.toml", "timeout = 30\n").write("services/s/e/hosts.toml", "hosts = [\"h1\"]\n");
    t.run(&["apply", "--yes"]).success();
    t.write("services/s/config.toml", "timeout = 60\n");
    t.run(&["plan", "--format", "markdown"]).success().stdout(
        "\
<!-- jones-sync plan -->
### jones-sync plan

**Plan: 0 to create, 4 to update, 0 to delete.** Reaches 1 host and all unassociated hosts of `s`.

| Service | Create | Update | Delete | Hosts reached | Drift |
|:--|--:|--:|--:|:--|--:|
| `s` | 0 | 4 | 0 | 1 + all unassociated | 0 |

<details><summary><code>s</code>: 0 to create, 4 to update, 0 to delete</summary>

**Blast radius:** 1 host and all unassociated hosts

- `(root)`: every host without an association
- `e` (view updated): `h1`

**Changes:**

```diff
~ /services/s/conf (conf)
-   timeout = 30
+   timeout = 60
~ /services/s/jones-sync (record of this apply)
~ /services/s/views (view, derived)
-   timeout = 30
+   timeout = 60
~ /services/s/views/e (view, derived)
-   timeout = 30
+   timeout = 60
```

</details>

",
    );
}
