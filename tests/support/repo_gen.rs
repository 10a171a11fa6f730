//! Random valid config repositories for property tests: a few services, each a prefix-closed tree
//! of environments with values of every TOML type (nested tables and arrays included) and hosts
//! associated with at most one environment per service.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;

/// Candidate environment paths; a chosen path brings its parents along.
const ENVS: [&str; 7] = ["prod", "prod/us", "prod/us/canary", "prod/eu", "dev", "dev/local", "staging"];
const KEYS: [&str; 7] = ["a", "b", "timeout", "db", "flags", "name", "key with spaces"];

#[derive(Debug, Clone)]
pub struct GenService {
    pub name: String,
    /// Own values by environment path ("" for the root).
    pub values: BTreeMap<String, toml::Table>,
    /// Hosts by environment path (never the root).
    pub hosts: BTreeMap<String, Vec<String>>,
}

#[derive(Debug, Clone)]
pub struct GenRepo {
    pub services: Vec<GenService>,
}

fn leaf() -> impl Strategy<Value = toml::Value> {
    prop_oneof![
        any::<bool>().prop_map(toml::Value::Boolean),
        prop_oneof![Just(i64::MIN), Just(i64::MAX), -1000i64..1000].prop_map(toml::Value::Integer),
        (-1e12f64..1e12).prop_map(toml::Value::Float),
        "[a-z \"\\\\\n\t]{0,8}".prop_map(toml::Value::String),
        "\\PC{0,6}".prop_map(toml::Value::String),
    ]
}

fn value() -> impl Strategy<Value = toml::Value> {
    leaf().prop_recursive(2, 12, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(toml::Value::Array),
            prop::collection::btree_map("[a-z]{1,4}", inner, 0..4)
                .prop_map(|m| toml::Value::Table(m.into_iter().collect())),
        ]
    })
}

fn table() -> impl Strategy<Value = toml::Table> {
    prop::collection::btree_map(prop::sample::select(KEYS.to_vec()), value(), 0..4)
        .prop_map(|m| m.into_iter().map(|(k, v)| (k.to_string(), v)).collect())
}

fn service(name: String) -> impl Strategy<Value = GenService> {
    let envs = prop::collection::btree_set(prop::sample::select(ENVS.to_vec()), 0..5);
    (envs, prop::collection::vec(table(), 8), prop::collection::vec(prop::collection::btree_set(0..8u8, 0..3), 8))
        .prop_map(move |(chosen, tables, host_sets)| {
            let mut paths: BTreeSet<String> = BTreeSet::from([String::new()]);
            for env in chosen {
                let parts: Vec<&str> = env.split('/').collect();
                for i in 1..=parts.len() {
                    paths.insert(parts[..i].join("/"));
                }
            }
            let mut used = BTreeSet::new();
            let mut values = BTreeMap::new();
            let mut hosts = BTreeMap::new();
            for (i, path) in paths.into_iter().enumerate() {
                values.insert(path.clone(), tables[i % tables.len()].clone());
                if !path.is_empty() {
                    let mine: Vec<String> = host_sets[i % host_sets.len()]
                        .iter()
                        .filter(|h| used.insert(**h))
                        .map(|h| format!("host{h}.example.com"))
                        .collect();
                    if !mine.is_empty() {
                        hosts.insert(path, mine);
                    }
                }
            }
            GenService { name: name.clone(), values, hosts }
        })
}

pub fn repo() -> impl Strategy<Value = GenRepo> {
    prop::collection::btree_set(prop::sample::select(vec!["shop", "search", "mail"]), 1..3)
        .prop_flat_map(|names| names.into_iter().map(|n| service(n.to_string())).collect::<Vec<_>>())
        .prop_map(|services| GenRepo { services })
}

impl GenRepo {
    /// Writes the repository's files below `dir` (which must be empty).
    pub fn write(&self, dir: &std::path::Path) {
        std::fs::create_dir_all(dir.join("services")).unwrap();
        for service in &self.services {
            for (path, values) in &service.values {
                let env_dir = dir.join("services").join(&service.name).join(path);
                std::fs::create_dir_all(&env_dir).unwrap();
                if !values.is_empty() {
                    std::fs::write(env_dir.join("config.toml"), toml::to_string(values).unwrap()).unwrap();
                }
                if let Some(hosts) = service.hosts.get(path) {
                    let mut table = toml::Table::new();
                    table.insert(
                        "hosts".into(),
                        toml::Value::Array(hosts.iter().cloned().map(toml::Value::String).collect()),
                    );
                    std::fs::write(env_dir.join("hosts.toml"), toml::to_string(&table).unwrap()).unwrap();
                }
            }
        }
    }
}

/// TOML as JSON, the way the repository format defines it.
#[allow(dead_code)] // used by some of the test binaries that include this file
pub fn json(value: &toml::Value) -> serde_json::Value {
    match value {
        toml::Value::String(s) => s.clone().into(),
        toml::Value::Integer(i) => (*i).into(),
        toml::Value::Float(f) => (*f).into(),
        toml::Value::Boolean(b) => (*b).into(),
        toml::Value::Datetime(d) => d.to_string().into(),
        toml::Value::Array(items) => items.iter().map(json).collect(),
        toml::Value::Table(table) => {
            table.iter().map(|(k, v)| (k.clone(), json(v))).collect::<serde_json::Map<_, _>>().into()
        }
    }
}
