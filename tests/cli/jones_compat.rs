//! Jones compatibility at the edges, against a real ZooKeeper: values Python's `json` writes that
//! a plain JSON parser refuses or changes, names the Jones server misreads, and the nodemap format
//! each client generation reads (parsed here by the rules of `jones_client::rules`, replicated from
//! the Jones source).

use crate::jones_client::rules;
use crate::util::{Test, run_in};

fn import(t: &Test) -> (tempfile::TempDir, crate::util::Output) {
    let out = tempfile::tempdir().unwrap();
    let imported = t.run(&["import", "--out", out.path().to_str().unwrap()]);
    (out, imported)
}

fn read(dir: &std::path::Path, file: &str) -> String {
    std::fs::read_to_string(dir.join(file)).unwrap()
}

#[test]
fn an_integer_beyond_64_bits_is_left_out_by_import_and_never_planned_as_its_float() {
    let t = Test::new("compatbigint");
    // 2^64, as Python's json writes it.
    t.zk_write("/services/s/conf", r#"{"big": 18446744073709551616, "a": 1}"#);
    t.zk_write("/services/s/views", r#"{"big": 18446744073709551616, "a": 1}"#);
    t.zk_write("/services/s/nodemaps", "");
    let (out, imported) = import(&t);
    let imported = imported.success();
    assert_eq!(
        imported.stderr,
        "warning: /services/s/conf: `big` is `18446744073709551616`, which does not read exactly (an integer beyond \
         64 bits): left out (the next apply removes it)\nwarning: /services/s/views: does not read exactly as a \
         JSON object: the next apply rewrites it\n"
    );
    assert!(!imported.stdout.contains("Nothing was left out"), "{}", imported.stdout);
    assert_eq!(read(out.path(), "services/s/config.toml"), "a = 1\n");
    // The plan shows the value that goes as it is written, not as a float.
    let plan = run_in(out.path(), &t.zk, &["plan", "--detailed-exitcode"]).code(2);
    assert!(
        plan.stdout.contains(
            "  ~ /services/s/conf (conf)\n      - big = 18446744073709551616 (unreadable: an integer beyond 64 bits)\n"
        ),
        "{}",
        plan.stdout
    );
    // The float a parser makes of it is another value of another type: a change, shown.
    std::fs::write(out.path().join("services/s/config.toml"), "a = 1\nbig = 18446744073709552000.0\n").unwrap();
    let plan = run_in(out.path(), &t.zk, &["plan", "--detailed-exitcode"]).code(2);
    assert!(
        plan.stdout.contains(
            "      ~ big: 18446744073709551616 (unreadable: an integer beyond 64 bits) → 1.8446744073709552e+19\n"
        ),
        "{}",
        plan.stdout
    );
}

#[test]
fn one_unreadable_value_no_longer_empties_a_conf_on_import_or_apply() {
    let t = Test::new("compatnan");
    // What Python's json.dumps writes for float('nan'), float('inf') and a lone surrogate.
    let conf = r#"{"timeout": 30, "ratio": NaN, "limit": Infinity, "label": "\ud800", "db": {"host": "db1", "weight": -Infinity}}"#;
    t.zk_write("/services/s/conf", conf);
    t.zk_write("/services/s/views", conf);
    t.zk_write("/services/s/nodemaps", "{}");
    let (out, imported) = import(&t);
    let imported = imported.success();
    for key in ["ratio", "limit", "label", "db.weight"] {
        assert!(imported.stderr.contains(&format!("warning: /services/s/conf: `{key}` is `")), "{}", imported.stderr);
    }
    assert_eq!(read(out.path(), "services/s/config.toml"), "timeout = 30\n\n[db]\nhost = \"db1\"\n");
    run_in(out.path(), &t.zk, &["validate"]).success();
    let plan = run_in(out.path(), &t.zk, &["plan"]).success();
    assert!(
        plan.stdout.contains(
            "  ~ /services/s/conf (conf)\n      \
             ~ db: {\"host\": \"db1\", \"weight\": -Infinity} (unreadable: `db.weight`: `-Infinity` is not a JSON number) → {\"host\":\"db1\"}\n      \
             - label = \"\\ud800\" (unreadable: a string holding a lone surrogate (half of a UTF-16 pair), which is not text)\n      \
             - limit = Infinity (unreadable: `Infinity` is not a JSON number)\n      \
             - ratio = NaN (unreadable: `NaN` is not a JSON number)\n"
        ),
        "{}",
        plan.stdout
    );
    run_in(out.path(), &t.zk, &["apply", "--yes"]).success();
    assert_eq!(t.tree()["/services/s/conf"], r#"{"db":{"host":"db1"},"timeout":30}"#, "the valid keys are kept");
}

#[test]
fn import_of_a_conf_nested_deeper_than_config_toml_holds_writes_a_valid_repository() {
    let t = Test::new("compatdeep");
    let deep = format!(r#"{{"deep": {}1{}, "kept": 1}}"#, "[".repeat(90), "]".repeat(90));
    t.zk_write("/services/s/conf", &deep);
    t.zk_write("/services/s/views", &deep);
    t.zk_write("/services/s/nodemaps", "{}");
    let (out, imported) = import(&t);
    let imported = imported.success();
    assert!(
        imported.stderr.contains("is nested deeper than the 80 levels a `config.toml` can hold: left out"),
        "{}",
        imported.stderr
    );
    assert!(read(out.path(), "services/s/config.toml").contains("kept = 1"));
    run_in(out.path(), &t.zk, &["validate"]).success();
}

#[test]
fn directories_named_like_an_environments_file_are_refused_and_left_out_by_import() {
    let t = Test::new("compatfilenames");
    t.write("services/s/config.toml", "a = 1\n").mkdir("services/s/config.toml.d").mkdir("services/s/prod/hosts.toml");
    let out = t.run(&["validate"]).code(1);
    assert_eq!(
        out.stderr,
        "error: services/s/prod/hosts.toml: invalid environment name: `hosts.toml` is the name of an environment's \
         file, so a directory of that name cannot be an environment\n1 problem found\n"
    );
    t.zk_write("/services/z/conf", "{}");
    t.zk_write("/services/z/conf/config.toml", "{}");
    t.zk_write("/services/z/views", "{}");
    t.zk_write("/services/z/views/config.toml", "{}");
    t.zk_write("/services/z/nodemaps", "{}");
    let (out, imported) = import(&t);
    assert!(imported.success().stderr.contains("/services/z/conf/config.toml: left out with everything below it"));
    run_in(out.path(), &t.zk, &["validate"]).success();
}

#[test]
fn names_holding_an_arrow_are_refused_in_either_format_since_the_jones_server_misreads_them() {
    let t = Test::new("compatarrow");
    t.write("services/s/config.toml", "")
        .write("services/s/a -> b/config.toml", "")
        .write("services/s/e/hosts.toml", "hosts = [\n  \"web1\",\n  \"web2 -> x\",\n]\n");
    // The server's rule: a JSON nodemap holding ` -> ` is read as lines, which makes garbage of it.
    let nodemap = r#"{"web1": "/services/s/views/e", "web2 -> x": "/services/s/views/e"}"#;
    let misread = rules::server(nodemap).unwrap();
    assert_eq!(misread.len(), 1);
    assert!(!misread.contains_key("web1"), "{misread:?}");
    for settings in ["", "[sync]\nnodemap_format = \"legacy\"\n"] {
        t.write("jones-sync.toml", settings);
        let out = t.run(&["validate"]).code(1);
        let arrow = "contains ` -> `: the Jones server reads any nodemap holding ` -> ` as the legacy line format, so it \
                     would misread this service's whole nodemap (and rewrite it without its hosts at its next association \
                     change)";
        assert_eq!(
            out.stderr,
            format!(
                "error: services/s/a -> b: invalid environment name: it {arrow}\n\
                 error: services/s/e/hosts.toml:3:3: host `web2 -> x` {arrow}\n2 problems found\n"
            )
        );
    }
}

#[test]
fn host_names_no_jones_client_matches_are_refused_and_case_variants_warned() {
    let t = Test::new("compathosts");
    t.write("services/s/config.toml", "")
        .write("services/s/a/hosts.toml", "hosts = [\" web1\", \"web2\\n\"]\n")
        .write("services/s/b/hosts.toml", "hosts = [\"web3\"]\n");
    let out = t.run(&["validate"]).code(1);
    assert_eq!(out.stderr.lines().count(), 3, "{}", out.stderr);
    assert!(out.stderr.starts_with(
        "error: services/s/a/hosts.toml:1:10: host `\" web1\"` starts or ends with white space: a Jones client looks \
         its name up exactly, and a host's name has none, so no client would read this entry"
    ));
    assert!(out.stderr.contains("error: services/s/a/hosts.toml:1:19: host `\"web2\\n\"` contains a line break"));
    // Names differing only in case are two entries to a Jones client: valid, with a warning.
    t.write("services/s/a/hosts.toml", "hosts = [\"Web3.example.com\"]\n");
    t.write("services/s/b/hosts.toml", "hosts = [\"web3.example.com\"]\n");
    t.run(&["validate"]).success().stderr(
        "warning: services/s/b/hosts.toml: host `web3.example.com` differs from `Web3.example.com` \
         (services/s/a/hosts.toml) only in case: a Jones client matches its name exactly, so each entry reaches only a \
         host whose name is spelled that way (DNS ignores case)\n",
    );
    // A live host with white space at an end (the web UI takes any string) is quoted in the plan.
    t.run(&["apply", "--yes"]).success();
    t.zk_write(
        "/services/s/nodemaps",
        r#"{"Web3.example.com": "/services/s/views/a", "web3.example.com": "/services/s/views/b", "web9 ": "/services/s/views/b"}"#,
    );
    let plan = t.run(&["plan"]).success();
    assert!(plan.stdout.contains("    \"web9 \" moves from b to (no association)\n"), "{}", plan.stdout);
    assert!(plan.stdout.contains("      - \"web9 \" = \"/services/s/views/b\"\n"), "{}", plan.stdout);
}

#[test]
fn legacy_mode_rewrites_a_nodemap_the_jones_web_ui_turned_into_json() {
    let t = Test::new("compatlegacy");
    t.write("jones-sync.toml", "[sync]\nnodemap_format = \"legacy\"\n")
        .write("services/s/config.toml", "gateway = \"sandbox\"\n")
        .write("services/s/prod/config.toml", "gateway = \"live\"\n")
        .write("services/s/prod/hosts.toml", "hosts = [\"web1\", \"web2\"]\n");
    t.run(&["apply", "--yes"]).success();
    let written = t.tree()["/services/s/nodemaps"].clone();
    assert_eq!(rules::client_05(&written).unwrap()["web1"], "/services/s/views/prod");
    // The Jones web UI's next association change rewrites it as the server writes: json.dumps.
    t.zk_write("/services/s/nodemaps", r#"{"web1": "/services/s/views/prod", "web2": "/services/s/views/prod"}"#);
    assert!(rules::client_05(&t.tree()["/services/s/nodemaps"]).is_err(), "0.5.x clients cannot read it");
    let plan = t.run(&["plan", "--detailed-exitcode"]).code(2);
    assert!(
        plan.stdout.contains(
            "  ~ /services/s/nodemaps (nodemap) drift: changed outside jones-sync since its last apply; applying \
             reverts that\n      ~ (format): json → legacy\n"
        ),
        "{}",
        plan.stdout
    );
    assert!(
        plan.stdout.contains(
            "warning: this plan rewrites the json nodemaps of s as legacy, which Jones 1.x clients (Python, Go, Ruby) \
             cannot read ([sync] nodemap_format = \"json\" keeps the format they are in)\n"
        ),
        "{}",
        plan.stdout
    );
    t.run(&["apply", "--yes"]).success();
    assert_eq!(t.tree()["/services/s/nodemaps"], written);
    t.run(&["plan", "--detailed-exitcode"]).code(0);
    // Switching the setting reaches the nodemap too.
    t.write("jones-sync.toml", "");
    t.run(&["apply", "--yes"]).success();
    let json = t.tree()["/services/s/nodemaps"].clone();
    assert_eq!(rules::client_1x(&json).unwrap()["web2"], "/services/s/views/prod");
    assert_eq!(rules::server(&json).unwrap(), rules::client_1x(&json).unwrap());
}

#[test]
fn legacy_mode_says_which_clients_it_leaves_behind() {
    let t = Test::new("compatlegacywho");
    t.write("jones-sync.toml", "[sync]\nnodemap_format = \"legacy\"\n")
        .write("services/pay/config.toml", "gateway = \"sandbox\"\n")
        .write("services/pay/prod/config.toml", "gateway = \"live\"\n")
        .write("services/pay/prod/hosts.toml", "hosts = [\"web1\"]\n");
    let left_behind = "warning: jones-sync.toml: nodemap_format = \"legacy\": Jones 1.x clients (Python, Go, Ruby) \
                       cannot parse a legacy nodemap, so no host running one reads its environment (the Go client \
                       reads the service's root config instead); only the 0.5.x Python client reads these nodemaps\n";
    t.run(&["validate"]).success().stderr(left_behind);
    assert!(t.run(&["plan"]).success().stdout.ends_with(left_behind));
    t.run(&["apply", "--yes"]).success();
    let nodemap = t.tree()["/services/pay/nodemaps"].clone();
    // What each generation reads: the 0.5.x client the view, a Go client the root.
    assert_eq!(rules::client_05(&nodemap).unwrap()["web1"], "/services/pay/views/prod");
    assert_eq!(rules::go_reads(&nodemap, "pay", "web1"), "/services/pay/conf");
    assert!(rules::client_1x(&nodemap).is_err());
    // get says which one it resolves as.
    t.run(&["get", "pay", "--host", "web1"]).success().stdout(
        "pay on web1 reads `/services/pay/views/prod` (environment `prod`), as the 0.5.x Python client resolves it; \
         Jones 1.x clients (Python, Go, Ruby) cannot parse this legacy nodemap and do not read this view (the Go \
         client reads `/services/pay/conf`, the root, instead)\n{\n  \"gateway\": \"live\"\n}\n",
    );
    t.run(&["get", "pay", "--host", "web1", "--format", "json"]).success().stdout("{\"gateway\":\"live\"}\n").stderr(
        "note: pay on web1 reads `/services/pay/views/prod` as the 0.5.x Python client resolves it; Jones 1.x clients \
         (Python, Go, Ruby) cannot parse this legacy nodemap and do not read this view (the Go client reads \
         `/services/pay/conf`, the root, instead)\n",
    );
}

#[test]
fn the_blast_radius_reads_a_live_legacy_nodemap() {
    let t = Test::new("compatlegacyblast");
    t.write("jones-sync.toml", "[sync]\nnodemap_format = \"legacy\"\n")
        .write("services/s/config.toml", "")
        .write("services/s/prod/config.toml", "t = 1\n")
        .write("services/s/prod/hosts.toml", "hosts = [\"web1\", \"web2\"]\n");
    t.run(&["apply", "--yes"]).success();
    t.write("services/s/prod/config.toml", "t = 2\n");
    let plan = t.run(&["plan"]).success();
    assert!(plan.stdout.contains("  Blast radius: 2 hosts\n    prod (view updated): web1, web2\n"), "{}", plan.stdout);
    assert!(!plan.stdout.contains("moves"), "{}", plan.stdout);
}

#[test]
fn get_names_values_that_do_not_read_exactly_instead_of_failing_or_changing_them() {
    let t = Test::new("compatget");
    t.zk_write("/services/s/conf", r#"{"a": 1, "big": 18446744073709551616, "ratio": NaN}"#);
    t.zk_write("/services/s/nodemaps", "");
    t.run(&["get", "s", "--host", "web1", "--format", "json"]).success().stdout("{\"a\":1}\n").stderr(
        "warning: `big` in `/services/s/conf` is `18446744073709551616`, which does not read exactly as JSON (an \
         integer beyond 64 bits): left out\nwarning: `ratio` in `/services/s/conf` is `NaN`, which does not read \
         exactly as JSON (`NaN` is not a JSON number): left out\n",
    );
}

#[test]
fn a_legacy_nodemap_the_0_5_client_cannot_parse_is_rewritten_though_its_hosts_are_the_same() {
    let t = Test::new("compatlegacytrailing");
    t.write("jones-sync.toml", "[sync]\nnodemap_format = \"legacy\"\n")
        .write("services/s/config.toml", "")
        .write("services/s/a/hosts.toml", "hosts = [\"web1\"]\n");
    t.run(&["apply", "--yes"]).success();
    // A script appends a newline: the 0.5.x client's last line is empty, one part, a ValueError.
    t.zk_write("/services/s/nodemaps", "web1 -> /services/s/views/a\n");
    assert!(rules::client_05("web1 -> /services/s/views/a\n").is_err());
    t.run(&["plan", "--detailed-exitcode"]).code(2);
    t.run(&["apply", "--yes"]).success();
    assert_eq!(rules::client_05(&t.tree()["/services/s/nodemaps"]).unwrap()["web1"], "/services/s/views/a");
    t.run(&["plan", "--detailed-exitcode"]).code(0);
}
