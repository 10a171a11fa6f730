//! Typed configuration: a service's `schema.json`, checked against every environment's view by
//! `validate` (and so by `plan` and `apply`, which read the repository the same way), each
//! violation at the `config.toml` line that set the value.

use crate::util::Test;

const SCHEMA: &str = r#"{
  "$schema": "https://json-schema.org/draft/2020-12/schema",
  "type": "object",
  "properties": {
    "pct_new_queue": {"type": "number", "minimum": 0, "maximum": 1},
    "macguffin_enabled_for": {"type": "array", "items": {"type": "integer"}},
    "enable_flux_capacitor": {"type": "boolean"}
  },
  "additionalProperties": false
}
"#;

#[test]
fn the_seed_examples_fail_validate_at_their_lines() {
    let t = Test::new("schema_seed");
    t.write("services/shop/schema.json", SCHEMA)
        .write("services/shop/config.toml", "pct_new_queue = 0.25\nenable_flux_capacitor = false\n")
        .write("services/shop/prod/config.toml", "# production\npct_new_queue = \"0.25\"\n")
        .write("services/shop/beta/config.toml", "macguffin_enabled_for = 3\n")
        .write("services/shop/dev/config.toml", "enable_flux_capacitr = true\n");
    let out = t.run(&["validate"]).code(1);
    assert_eq!(
        out.stderr,
        "error: services/shop/beta/config.toml:1:1: `macguffin_enabled_for` breaks services/shop/schema.json: value is not of type \"array\" (rule /properties/macguffin_enabled_for/type, at /macguffin_enabled_for), in the view of beta\n\
         error: services/shop/dev/config.toml:1:1: `enable_flux_capacitr` breaks services/shop/schema.json: `enable_flux_capacitr` is not a key the schema allows (additionalProperties) (rule /additionalProperties, at /enable_flux_capacitr), in the view of dev\n\
         error: services/shop/prod/config.toml:2:1: `pct_new_queue` breaks services/shop/schema.json: value is not of type \"number\" (rule /properties/pct_new_queue/type, at /pct_new_queue), in the view of prod\n\
         3 problems found\n",
        "{}",
        out.stderr
    );
    // Nothing is written while any remain: plan and apply read the repository the same way.
    t.run(&["plan"]).code(1);
    t.run(&["apply", "--yes"]).code(1);
    assert!(t.tree().is_empty());
}

#[test]
fn a_violation_by_inheritance_names_the_parent_line_and_every_view() {
    let t = Test::new("schema_inherit");
    t.write("services/shop/schema.json", SCHEMA)
        .write("services/shop/config.toml", "# defaults\n\npct_new_queue = 5\n")
        .write("services/shop/prod/config.toml", "enable_flux_capacitor = true\n")
        .write("services/shop/prod/eu/config.toml", "");
    let out = t.run(&["validate"]).code(1);
    assert!(
        out.stderr
            .starts_with("error: services/shop/config.toml:3:1: `pct_new_queue` breaks services/shop/schema.json: "),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains("(rule /properties/pct_new_queue/maximum, at /pct_new_queue), in the view of (root), prod, prod/eu\n1 problem found\n"), "{}", out.stderr);
    // Fixed at the parent, every view passes.
    t.write("services/shop/config.toml", "pct_new_queue = 0.5\n");
    t.run(&["validate"]).success();
}

#[test]
fn an_invalid_schema_is_a_clear_error() {
    let t = Test::new("schema_invalid");
    t.write("services/shop/config.toml", "pct_new_queue = 0.5\n")
        .write("services/shop/schema.json", "{\n  \"type\": \"object\",\n}\n");
    let out = t.run(&["validate"]).code(1);
    assert!(
        out.stderr.starts_with("error: services/shop/schema.json:3:1: invalid schema: not JSON: trailing comma"),
        "{}",
        out.stderr
    );
    t.write("services/shop/schema.json", r#"{"type": "nonsense"}"#);
    let out = t.run(&["validate"]).code(1);
    assert!(out.stderr.starts_with("error: services/shop/schema.json: invalid schema: "), "{}", out.stderr);
    // A schema.json anywhere but the service's root is no schema.
    t.write("services/shop/schema.json", SCHEMA).write("services/shop/prod/schema.json", SCHEMA);
    let out = t.run(&["validate"]).code(1);
    assert_eq!(
        out.stderr,
        "error: services/shop/prod/schema.json: a service's schema is `services/shop/schema.json`, at its root: \
         one schema checks every environment's view\n1 problem found\n"
    );
}

#[test]
fn require_asks_every_service_for_a_schema() {
    let t = Test::new("schema_require");
    t.write("jones-sync.toml", "[schema]\nrequire = true\n")
        .write("services/shop/schema.json", SCHEMA)
        .write("services/shop/config.toml", "pct_new_queue = 0.5\n")
        .write("services/search/config.toml", "shards = 4\n");
    let out = t.run(&["validate"]).code(1);
    assert_eq!(
        out.stderr,
        "error: services/search/: has no `schema.json`, which `[schema] require = true` in jones-sync.toml asks of every service\n1 problem found\n"
    );
    t.remove("jones-sync.toml");
    t.run(&["validate"]).success();
}

#[test]
fn the_schema_command_shows_the_schema_and_checks_a_view_rule_by_rule() {
    let t = Test::new("schema_command");
    t.write("services/shop/schema.json", SCHEMA)
        .write("services/shop/config.toml", "pct_new_queue = 5\nenable_flux_capacitor = true\n")
        .write("services/shop/prod/config.toml", "enable_flux_capacitr = false\n")
        .write("services/search/config.toml", "shards = 4\n");
    t.run(&["schema", "shop"]).success().stdout(&format!("services/shop/schema.json:\n{SCHEMA}"));
    // The views a schema rejects are shown all the same (validate refuses the repository).
    t.run(&["validate"]).code(1);
    t.run(&["schema", "shop", "--env", "prod"]).success().stdout(
        "The view of `prod` of `shop` against services/shop/schema.json:\n  \
         pass  enable_flux_capacitor\n  \
         pass  macguffin_enabled_for (not set)\n  \
         FAIL  pct_new_queue: value is greater than the maximum of 1 (rule /properties/pct_new_queue/maximum; set in `(root)`)\n  \
         FAIL  `enable_flux_capacitr`: `enable_flux_capacitr` is not a key the schema allows (additionalProperties) (rule /additionalProperties)\n\
         The view breaks the schema.\n",
    );
    t.run(&["schema", "search"]).success().stdout(
        "`search` has no schema: `services/search/schema.json` does not exist, so its values are not checked.\n",
    );
    t.run(&["schema", "nope"]).code(1).stderr("error: no service `nope` (no `services/nope/`)\n");
}

#[test]
fn import_infers_a_starter_schema_that_the_imported_repository_meets() {
    let t = Test::new("schema_infer");
    t.write(
        "services/shop/config.toml",
        "log_level = \"info\"\npct_new_queue = 0\ntimeout_ms = 30\n[db]\nhost = \"db1\"\n",
    )
    .write("services/shop/prod/config.toml", "log_level = \"warn\"\npct_new_queue = 0.25\n")
    .write("services/shop/prod/hosts.toml", "hosts = [\"web1\"]\n")
    .write("services/shop/dev/config.toml", "debug = true\n");
    t.run(&["apply", "--yes"]).success();
    let out = tempfile::tempdir().unwrap();
    let dir = out.path().join("imported");
    let dir = dir.to_str().unwrap();
    t.run(&["import", "--out", dir, "--infer-schema"]).success();
    let schema: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(format!("{dir}/services/shop/schema.json")).unwrap()).unwrap();
    assert_eq!(schema["$schema"], "https://json-schema.org/draft/2020-12/schema");
    assert_eq!(schema["properties"]["pct_new_queue"], serde_json::json!({"type": "number"}));
    assert_eq!(schema["properties"]["timeout_ms"], serde_json::json!({"type": "integer"}));
    assert_eq!(schema["properties"]["log_level"], serde_json::json!({"type": "string", "enum": ["info", "warn"]}));
    assert_eq!(schema["required"], serde_json::json!(["db", "log_level", "pct_new_queue", "timeout_ms"]));
    // The imported repository validates against it, and a value it does not allow is refused.
    t.run(&["validate", "--repo", dir]).success();
    std::fs::write(format!("{dir}/services/shop/prod/config.toml"), "log_level = \"loud\"\npct_new_queue = 0.25\n")
        .unwrap();
    let refused = t.run(&["validate", "--repo", dir]).code(1);
    assert!(
        refused
            .stderr
            .starts_with("error: services/shop/prod/config.toml:1:1: `log_level` breaks services/shop/schema.json"),
        "{}",
        refused.stderr
    );
}
