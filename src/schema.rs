//! Typed configuration: a service's JSON Schema (`services/<svc>/schema.json`, read by
//! [`crate::repo::parse_each`]), compiled once, checked against the materialized
//! view of every environment — what a host actually reads — and each violation traced back to
//! the environment whose `config.toml` set the offending top-level key (the nearest one up the
//! tree), so the error can point at that file's line.
//!
//! Pure: the schema's JSON and the service model in, violations out. Messages never hold the
//! value itself (`jsonschema`'s masked errors), so a sensitive value cannot leak through them.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::diagnostic::Problem;
use crate::model::{EnvPath, Service};

/// A compiled schema.
pub struct Schema {
    validator: jsonschema::Validator,
}

/// One rule a view breaks.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The environment whose view fails.
    pub env: EnvPath,
    /// Where in the view, as a JSON pointer (`/pct_new_queue`; `` for the view itself).
    pub pointer: String,
    /// The rule, as the schema's JSON pointer (`/properties/pct_new_queue/type`).
    pub rule: String,
    /// What is wrong, without the value.
    pub message: String,
    /// The top-level key the pointer is in, and the environment that set it (the nearest up the
    /// tree from `env`); `None` for a rule about the whole view (a required key that is missing).
    pub source: Option<(String, EnvPath)>,
}

impl Schema {
    /// Compiles `schema` (draft 2020-12 unless its `$schema` names another, e.g. draft 7), or says
    /// why it is not a valid schema.
    pub fn compile(schema: &Value) -> Result<Schema, String> {
        jsonschema::validator_for(schema).map(|validator| Schema { validator }).map_err(|err| err.to_string())
    }

    /// Every violation of every environment's view of `service`, environments in tree order.
    pub fn check(&self, service: &Service) -> Vec<Violation> {
        let views = crate::view::views(service);
        let mut found = Vec::new();
        // Each view is checked as it is, not copied.
        for (env, view) in views {
            let env = &env;
            let instance = Value::Object(view);
            for error in self.validator.iter_errors(&instance) {
                let pointer = error.instance_path().to_string();
                let rule = error.schema_path().to_string();
                // A key the schema does not allow is said at the key, as a misspelt key is.
                if let (jsonschema::error::ValidationErrorKind::AdditionalProperties { unexpected }, "") =
                    (error.kind(), pointer.as_str())
                {
                    for key in unexpected {
                        let from = setter(service, env, key);
                        found.push(Violation {
                            env: env.clone(),
                            pointer: format!("/{}", key.replace('~', "~0").replace('/', "~1")),
                            rule: rule.clone(),
                            message: format!("`{key}` is not a key the schema allows (additionalProperties)"),
                            source: Some((key.clone(), from)),
                        });
                    }
                    continue;
                }
                let key = top_level_key(&pointer);
                found.push(Violation {
                    env: env.clone(),
                    rule,
                    message: error.masked().to_string(),
                    source: key.map(|key| {
                        let from = setter(service, env, &key);
                        (key, from)
                    }),
                    pointer,
                });
            }
        }
        found
    }
}

/// The first segment of a JSON pointer, unescaped (`/a~1b/0` → `a/b`).
fn top_level_key(pointer: &str) -> Option<String> {
    let first = pointer.strip_prefix('/')?.split('/').next()?;
    Some(first.replace("~1", "/").replace("~0", "~"))
}

/// The environment that gives `env`'s view its `key`: the nearest, from `env` up to the root,
/// whose own values set it.
fn setter(service: &Service, env: &EnvPath, key: &str) -> EnvPath {
    let sets = |path: &EnvPath| service.envs.get(path).is_some_and(|e| e.values.contains_key(key));
    (0..=env.0.len()).rev().map(|depth| EnvPath(env.0[..depth].to_vec())).find(sets).unwrap_or_else(EnvPath::root)
}

/// The problems of `service` against its schema file (`path`, content `schema`): the file is not
/// JSON, or not a schema, or the views break it. A violation is said once at the `config.toml`
/// line that set the value (the environment nearest up the tree that sets the key), naming every
/// environment whose view fails because of it; `texts` are the service's config files, by path.
pub fn problems(service: &Service, path: &str, schema: &[u8], texts: &BTreeMap<String, Vec<u8>>) -> Vec<Problem> {
    let text = String::from_utf8_lossy(schema);
    let value: Value = match serde_json::from_str(&text) {
        Ok(value) => value,
        Err(err) => {
            let offset = offset_of(&text, err.line(), err.column());
            return vec![Problem::at(path, &text, offset, format!("invalid schema: not JSON: {err}"))];
        }
    };
    let schema = match Schema::compile(&value) {
        Ok(schema) => schema,
        Err(why) => return vec![Problem::new(path, format!("invalid schema: {why}"))],
    };
    // Violations alike (the same file, key and rule) are one problem, naming each view they reach.
    let mut grouped: BTreeMap<(String, String, String, String), Vec<String>> = BTreeMap::new();
    for violation in schema.check(service) {
        let at = violation.source.as_ref().map_or(&violation.env, |(_, from)| from);
        let dir = service.envs.get(at).map_or_else(String::new, |e| e.dir.clone());
        let file = format!("{dir}/{}", crate::repo::CONFIG_FILE);
        let key = violation.source.as_ref().map(|(key, _)| key.clone()).unwrap_or_default();
        let what =
            format!("{} (rule {}, at {})", violation.message, violation.rule, pointer_or_root(&violation.pointer));
        grouped.entry((file, key, what, violation.rule)).or_default().push(violation.env.to_string());
    }
    grouped
        .into_iter()
        .map(|((file, key, what, _), envs)| {
            let message = format!("breaks {path}: {what}, in the view of {}", envs.join(", "));
            let text = texts.get(&file).map(|bytes| String::from_utf8_lossy(bytes).into_owned());
            match text.as_deref().and_then(|text| key_offset(text, &key).map(|offset| (text, offset))) {
                Some((text, offset)) => Problem::at(&file, text, offset, format!("`{key}` {message}")),
                None if key.is_empty() => Problem::new(&file, format!("the environment's view {message}")),
                None => Problem::new(&file, format!("`{key}` {message}")),
            }
        })
        .collect()
}

fn pointer_or_root(pointer: &str) -> &str {
    if pointer.is_empty() { "the view" } else { pointer }
}

/// Where the top-level key `key` of a TOML text is written (its key, or its table's header).
fn key_offset(text: &str, key: &str) -> Option<usize> {
    let root = toml::de::DeTable::parse(text).ok()?;
    root.get_ref().iter().find(|(k, _)| k.get_ref().as_ref() == key).map(|(k, _)| k.span().start)
}

/// The byte offset of 1-based `line` and `column` in `text`.
fn offset_of(text: &str, line: usize, column: usize) -> usize {
    let start: usize = text.split_inclusive('\n').take(line.saturating_sub(1)).map(str::len).sum();
    (start + column.saturating_sub(1)).min(text.len())
}

/// Distinct strings a key may take before a starter schema stops listing them as an `enum`.
const ENUM_MAX: usize = 5;

/// A starter schema every view of `service` meets (`import --infer-schema`): each top-level key
/// with the types its values have in the views (`integer` when every number is whole; arrays and
/// tables described the same way, two levels down), an `enum` for a key whose values are a few
/// short words (log levels, modes: not endpoints or names), and `required` for the keys every view
/// has. Other keys stay allowed
/// (`additionalProperties` is left to the people who own the schema).
pub fn infer(service: &Service) -> Value {
    let views = crate::view::views(service);
    let values: Vec<Value> = views.values().map(|view| Value::Object(view.clone())).collect();
    let mut schema = describe(&values.iter().collect::<Vec<_>>(), 0);
    let object = schema.as_object_mut().expect("a view is an object");
    let mut top = Map::new();
    top.insert("$schema".into(), "https://json-schema.org/draft/2020-12/schema".into());
    top.insert("title".into(), format!("{}: inferred from its live values by jones-sync import", service.name).into());
    top.append(object);
    Value::Object(top)
}

/// A schema for `values` (every value a key took): their types, and for objects their properties.
fn describe(values: &[&Value], depth: usize) -> Value {
    let mut types: Vec<&str> = values.iter().map(|v| type_of(v)).collect();
    types.sort_unstable();
    types.dedup();
    // Whole numbers among fractional ones are numbers.
    if types.contains(&"number") {
        types.retain(|t| *t != "integer");
    }
    let mut schema = Map::new();
    schema.insert(
        "type".into(),
        if types.len() == 1 { types[0].into() } else { Value::Array(types.iter().map(|t| (*t).into()).collect()) },
    );
    if types == ["string"] {
        let mut strings: Vec<&str> = values.iter().filter_map(|v| v.as_str()).collect();
        strings.sort_unstable();
        strings.dedup();
        // A few short words (log levels, modes) are a set; endpoints, names and text are not.
        let word = |s: &&str| s.len() <= 20 && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
        if strings.len() <= ENUM_MAX && strings.iter().all(word) {
            schema.insert("enum".into(), strings.into_iter().map(Value::from).collect());
        }
    }
    if types == ["object"] && depth < 2 {
        let objects: Vec<&Map<String, Value>> = values.iter().filter_map(|v| v.as_object()).collect();
        let mut keys: Vec<&String> = objects.iter().flat_map(|o| o.keys()).collect();
        keys.sort_unstable();
        keys.dedup();
        let properties: Map<String, Value> = keys
            .iter()
            .map(|key| {
                let taken: Vec<&Value> = objects.iter().filter_map(|o| o.get(*key)).collect();
                ((*key).clone(), describe(&taken, depth + 1))
            })
            .collect();
        let required: Vec<Value> = keys
            .iter()
            .filter(|key| objects.iter().all(|o| o.contains_key(**key)))
            .map(|k| Value::from(k.as_str()))
            .collect();
        schema.insert("properties".into(), Value::Object(properties));
        if !required.is_empty() {
            schema.insert("required".into(), Value::Array(required));
        }
    }
    if types == ["array"] && depth < 2 {
        let items: Vec<&Value> = values.iter().filter_map(|v| v.as_array()).flatten().collect();
        if !items.is_empty() {
            schema.insert("items".into(), describe(&items, depth + 1));
        }
    }
    Value::Object(schema)
}

fn type_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// `env`'s view of `service` checked against `schema` (whose JSON is `value`, read from `file`),
/// rule by rule: each top-level property the schema names passes or fails (with why, and the file
/// that set the value), then the rules about the whole view.
pub fn report(schema: &Schema, value: &Value, service: &Service, env: &EnvPath, file: &str) -> String {
    use std::fmt::Write;
    let violations: Vec<Violation> = schema.check(service).into_iter().filter(|v| &v.env == env).collect();
    let views = crate::view::views(service);
    let view: Map<String, Value> = views.get(env).cloned().unwrap_or_default();
    let mut out = format!("The view of `{env}` of `{}` against {file}:\n", service.name);
    let properties = value.get("properties").and_then(Value::as_object);
    for key in properties.into_iter().flat_map(|p| p.keys()) {
        let failed: Vec<&Violation> =
            violations.iter().filter(|v| v.source.as_ref().is_some_and(|(k, _)| k == key)).collect();
        let set = if view.contains_key(key) { "" } else { " (not set)" };
        if failed.is_empty() {
            let _ = writeln!(out, "  pass  {key}{set}");
        }
        for violation in failed {
            let from = violation.source.as_ref().map(|(_, e)| e.to_string()).unwrap_or_default();
            let _ = writeln!(out, "  FAIL  {key}: {} (rule {}; set in `{from}`)", violation.message, violation.rule);
        }
    }
    let named = |key: &str| properties.is_some_and(|p| p.contains_key(key));
    for violation in violations.iter().filter(|v| v.source.as_ref().is_none_or(|(k, _)| !named(k))) {
        let what = violation.source.as_ref().map_or_else(|| "the view".to_string(), |(k, _)| format!("`{k}`"));
        let _ = writeln!(out, "  FAIL  {what}: {} (rule {})", violation.message, violation.rule);
    }
    let _ = writeln!(
        out,
        "{}",
        if violations.is_empty() { "The view meets the schema." } else { "The view breaks the schema." }
    );
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::model::Environment;

    fn service(envs: &[(&str, Value)]) -> Service {
        let envs = envs
            .iter()
            .map(|(path, values)| {
                let env = Environment { values: values.as_object().unwrap().clone(), ..Environment::default() };
                (EnvPath::parse(path), env)
            })
            .collect();
        Service { name: "s".into(), envs }
    }

    fn schema() -> Schema {
        Schema::compile(&json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "properties": {
                "pct_new_queue": {"type": "number", "minimum": 0, "maximum": 1},
                "macguffin_enabled_for": {"type": "array", "items": {"type": "integer"}},
                "enable_flux_capacitor": {"type": "boolean"},
                "api_token": {"type": "string", "minLength": 8}
            },
            "additionalProperties": false
        }))
        .unwrap()
    }

    /// A violation as (environment, pointer, (key, environment that set it)).
    type Seen = (String, String, Option<(String, String)>);

    fn summary(violations: &[Violation]) -> Vec<Seen> {
        violations
            .iter()
            .map(|v| (v.env.to_string(), v.pointer.clone(), v.source.as_ref().map(|(k, e)| (k.clone(), e.to_string()))))
            .collect()
    }

    #[test]
    fn the_seed_examples_fail_where_they_are_set() {
        let s = service(&[
            ("", json!({"pct_new_queue": 0.25})),
            ("prod", json!({"pct_new_queue": "0.25", "macguffin_enabled_for": 3})),
            ("dev", json!({"enable_flux_capacitr": true})),
        ]);
        let found = schema().check(&s);
        let root = "(root)".to_string();
        assert_eq!(
            summary(&found),
            [
                ("dev".into(), "/enable_flux_capacitr".into(), Some(("enable_flux_capacitr".into(), "dev".into()))),
                ("prod".into(), "/macguffin_enabled_for".into(), Some(("macguffin_enabled_for".into(), "prod".into()))),
                ("prod".into(), "/pct_new_queue".into(), Some(("pct_new_queue".into(), "prod".into()))),
            ]
            .into_iter()
            .collect::<Vec<Seen>>(),
            "{found:#?} (root: {root})"
        );
        let typo = &found[0];
        assert_eq!(typo.rule, "/additionalProperties");
        assert_eq!(typo.message, "`enable_flux_capacitr` is not a key the schema allows (additionalProperties)");
    }

    #[test]
    fn a_violation_that_comes_by_inheritance_names_the_parent_that_set_it() {
        let s = service(&[("", json!({"pct_new_queue": 5})), ("prod", json!({})), ("prod/eu", json!({}))]);
        let found = schema().check(&s);
        let sources: Vec<(String, String)> =
            found.iter().map(|v| (v.env.to_string(), v.source.as_ref().unwrap().1.to_string())).collect();
        assert_eq!(
            sources,
            [("(root)".into(), "(root)".into()), ("prod".into(), "(root)".into()), ("prod/eu".into(), "(root)".into())]
        );
        assert_eq!(found[0].rule, "/properties/pct_new_queue/maximum");
    }

    #[test]
    fn messages_never_hold_the_value() {
        let s = service(&[("", json!({"api_token": "s3cr3t"}))]);
        let found = schema().check(&s);
        assert_eq!(found.len(), 1);
        assert!(!found[0].message.contains("s3cr3t"), "{}", found[0].message);
    }

    #[test]
    fn an_inferred_schema_describes_the_views_and_every_view_meets_it() {
        let s = service(&[
            (
                "",
                json!({"log_level": "info", "pct": 0, "timeout_ms": 30, "db": {"host": "a", "port": 1}, "ids": [1, 2]}),
            ),
            ("prod", json!({"log_level": "warn", "pct": 0.25, "db": {"host": "b"}})),
            ("dev", json!({"log_level": "debug", "debug": true})),
        ]);
        let inferred = infer(&s);
        assert_eq!(inferred["properties"]["pct"], json!({"type": "number"}));
        assert_eq!(inferred["properties"]["timeout_ms"], json!({"type": "integer"}));
        assert_eq!(inferred["properties"]["log_level"], json!({"type": "string", "enum": ["debug", "info", "warn"]}));
        assert_eq!(inferred["properties"]["db"]["properties"]["port"], json!({"type": "integer"}));
        assert_eq!(inferred["properties"]["db"]["required"], json!(["host"]));
        assert_eq!(inferred["properties"]["ids"], json!({"type": "array", "items": {"type": "integer"}}));
        // Every view has these; `debug` only dev's.
        assert_eq!(inferred["required"], json!(["db", "ids", "log_level", "pct", "timeout_ms"]));
        let schema = Schema::compile(&inferred).unwrap();
        assert_eq!(schema.check(&s), []);
    }

    #[test]
    fn an_invalid_schema_is_an_error_and_draft_7_works() {
        assert!(Schema::compile(&json!({"type": "nonsense"})).is_err());
        let draft7 = Schema::compile(&json!({
            "$schema": "http://json-schema.org/draft-07/schema#",
            "properties": {"a": {"type": "integer"}}
        }))
        .unwrap();
        assert_eq!(draft7.check(&service(&[("", json!({"a": "x"}))])).len(), 1);
        assert!(draft7.check(&service(&[("", json!({"a": 1}))])).is_empty());
    }
}
