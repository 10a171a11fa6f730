//! Writes a realistic config repository of any size, for the benchmark (`scripts/bench.sh`) and for
//! trying jones-sync at fleet scale:
//!
//! ```sh
//! cargo run --release --example gen-repo -- --out /tmp/fleet --services 120 --envs 40 --keys 30 --hosts 100
//! ```
//!
//! - `--services S` services, each with `--envs E` environments (the root included) in a tree up to
//!   three levels deep (tier → region → cluster, `production/us-east-1/canary`);
//! - every environment sets between `K/3` and `5K/3` keys (`--keys K`; 10–50 for the default 30)
//!   drawn from a per-service vocabulary of `2K` keys, so children override their parents' values:
//!   feature switches, percentage rollouts, user buckets, timeouts, service endpoints (nested
//!   tables) and database replica lists (arrays);
//! - `--hosts H` hosts per service, spread over its leaf environments.
//!
//! A service has `2E + 3` znodes (a conf and a view per environment, the service node, its
//! nodemap and the jones-sync record), and the repository `S(2E + 3) + 1` with `/services`.
//! A service fits in one ZooKeeper transaction while it stays under `max_request_bytes` (1 MB;
//! a larger one is applied in several, not atomically): at the defaults a service is about 200 kB,
//! so a large deployment is generated as many services rather than a few huge ones.
//!
//! The output is a pure function of the arguments (a seeded ChaCha generator, `--seed`, default
//! 1). `--change P` writes the same repository with one value changed in P percent of the
//! environments' `config.toml` (picked by their own generator, so the rest is byte-identical): the
//! benchmark's "1% change".
//!
//! `--schemas` also writes each service's JSON Schema, `services/<svc>/schema.json` (draft
//! 2020-12), which every view of the repository satisfies: a `properties` entry for each key of the
//! service's vocabulary, typed to the kind of value drawn for it (booleans; numbers from 0 to 1 for
//! rollouts; integers from 0 to 99 in bucket lists; positive integers for timeouts and limits; an
//! `enum` of log levels; modes and endpoint URLs by `pattern`; the nested tables of endpoints and
//! databases with their own `properties`, all `required`, replica lists as arrays of `host:port`),
//! `"additionalProperties": false` at both levels so that every key is checked, and `required` for
//! the keys the service's root environment sets (its own draw: no key is set at every service's
//! root, but every view inherits the root's keys). The other files are the very bytes written
//! without `--schemas`, so the benchmark compares the same repository with and without schemas.
//! With `--change`, the same environments and keys change, each edit kept within its key's schema
//! (a rollout past 1 goes down instead, a log level or mode moves to another valid one, a nested
//! table has a number bumped rather than a key added); without `--schemas` the edits are those of
//! before.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use rand::rngs::ChaCha8Rng;
use rand::seq::IndexedRandom;
use rand::{RngExt, SeedableRng};
use toml::{Table, Value};

const USAGE: &str = concat!(
    "usage: gen-repo --out DIR [--services S] [--envs E] [--keys K] [--hosts H] [--seed N] [--change PERCENT]",
    " [--schemas]"
);

struct Args {
    out: PathBuf,
    services: usize,
    envs: usize,
    keys: usize,
    hosts: usize,
    seed: u64,
    change: f64,
    /// `--schemas`: also write each service's `schema.json`.
    schemas: bool,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        out: PathBuf::new(),
        services: 100,
        envs: 40,
        keys: 30,
        hosts: 100,
        seed: 1,
        change: 0.0,
        schemas: false,
    };
    let mut out = None;
    let mut iter = std::env::args().skip(1);
    while let Some(flag) = iter.next() {
        if flag == "--help" || flag == "-h" {
            return Err(USAGE.into());
        }
        if flag == "--schemas" {
            args.schemas = true;
            continue;
        }
        let value = iter.next().ok_or_else(|| format!("`{flag}` needs a value\n{USAGE}"))?;
        let number =
            |value: &str| value.parse::<usize>().map_err(|_| format!("`{flag}` needs a whole number, not `{value}`"));
        match flag.as_str() {
            "--out" => out = Some(PathBuf::from(value)),
            "--services" => args.services = number(&value)?,
            "--envs" => args.envs = number(&value)?,
            "--keys" => args.keys = number(&value)?,
            "--hosts" => args.hosts = number(&value)?,
            "--seed" => args.seed = number(&value)? as u64,
            "--change" => {
                args.change = value
                    .parse::<f64>()
                    .ok()
                    .filter(|p| (0.0..=100.0).contains(p))
                    .ok_or_else(|| format!("`--change` needs a percentage from 0 to 100, not `{value}`"))?
            }
            _ => return Err(format!("unknown argument `{flag}`\n{USAGE}")),
        }
    }
    args.out = out.ok_or_else(|| format!("`--out DIR` is required\n{USAGE}"))?;
    if args.services == 0 || args.envs == 0 || args.keys == 0 {
        return Err("`--services`, `--envs` and `--keys` must be at least 1".into());
    }
    Ok(args)
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(args) => args,
        Err(message) => {
            eprintln!("{message}");
            return ExitCode::from(2);
        }
    };
    let mut rng = ChaCha8Rng::seed_from_u64(args.seed);
    let mut services: Vec<Service> = service_names(&mut rng, args.services)
        .into_iter()
        .map(|name| Service::generate(&mut rng, name, &args))
        .collect();
    let changed = if args.change > 0.0 { change(&mut services, args.seed, args.change, args.schemas) } else { 0 };
    if let Err(err) = write(&args.out, &services, args.schemas) {
        eprintln!("error: cannot write `{}`: {err}", args.out.display());
        return ExitCode::FAILURE;
    }
    let envs: usize = services.iter().map(|s| s.envs.len()).sum();
    let hosts: usize = services.iter().flat_map(|s| &s.envs).map(|e| e.hosts.len()).sum();
    let znodes = 1 + services.iter().map(|s| 3 + 2 * s.envs.len()).sum::<usize>();
    println!(
        "{}: {} services, {envs} environments, {hosts} hosts, {znodes} znodes{}{}",
        args.out.display(),
        services.len(),
        if changed > 0 { format!(", {changed} environments changed") } else { String::new() },
        if args.schemas { format!(", {} schemas", services.len()) } else { String::new() }
    );
    ExitCode::SUCCESS
}

/// One environment: its path below the service, own values and hosts.
struct Env {
    path: Vec<String>,
    values: Table,
    hosts: Vec<String>,
}

struct Service {
    name: String,
    /// The vocabulary its environments draw their keys from.
    keys: Vec<KeySpec>,
    /// Parents before children (the root first).
    envs: Vec<Env>,
}

const SERVICE_WORDS: &[&str] = &[
    "checkout",
    "search",
    "billing",
    "catalog",
    "inventory",
    "payments",
    "notifications",
    "accounts",
    "shipping",
    "pricing",
    "reviews",
    "recommendations",
    "ads",
    "auth",
    "profile",
    "media",
    "gateway",
    "ledger",
    "fraud",
    "messaging",
    "analytics",
    "reporting",
    "scheduler",
    "exports",
    "imports",
    "sessions",
    "cart",
    "orders",
    "returns",
    "loyalty",
    "coupons",
    "tax",
    "geo",
    "maps",
    "feeds",
    "indexer",
    "crawler",
    "mailer",
    "sms",
    "webhooks",
];
const TIERS: &[&str] =
    &["production", "staging", "development", "qa", "sandbox", "perf", "preprod", "integration", "demo", "load"];
const REGIONS: &[&str] = &[
    "us-east-1",
    "us-west-2",
    "eu-west-1",
    "eu-central-1",
    "ap-southeast-1",
    "ap-northeast-1",
    "sa-east-1",
    "ca-central-1",
    "us-east-2",
    "eu-north-1",
    "ap-south-1",
    "me-south-1",
];
const CLUSTERS: &[&str] =
    &["canary", "blue", "green", "batch", "web", "api", "worker", "cron", "edge", "internal", "public", "shadow"];
const NOUNS: &[&str] = &[
    "wishlist",
    "reviews",
    "gift_cards",
    "one_page_checkout",
    "recs_carousel",
    "dark_mode",
    "search_suggest",
    "price_alerts",
    "new_header",
    "fast_refunds",
    "saved_carts",
    "express_pay",
    "address_autocomplete",
    "image_zoom",
    "live_chat",
    "bulk_export",
    "audit_trail",
    "rate_limiter",
    "cache",
    "queue",
    "retry",
    "circuit_breaker",
    "thumbnailer",
    "sitemap",
    "tracking",
    "currency",
    "tax_engine",
    "fraud_score",
    "ledger",
    "inventory_sync",
    "partner_feed",
    "mailer",
    "sms",
    "push",
    "webhooks",
    "scheduler",
];
const WORDS: &[&str] = &[
    "alpha", "bravo", "delta", "echo", "fox", "kilo", "lima", "nova", "orbit", "pine", "quartz", "river", "sierra",
    "tango", "ultra", "vega", "willow", "zephyr",
];
const LOG_LEVELS: &[&str] = &["debug", "info", "warn", "error"];

fn service_names(rng: &mut ChaCha8Rng, count: usize) -> Vec<String> {
    let mut names = BTreeSet::new();
    while names.len() < count {
        let word = SERVICE_WORDS.choose(rng).expect("not empty");
        let name = if names.len() < SERVICE_WORDS.len() && !names.contains(*word) {
            word.to_string()
        } else {
            format!("{word}-{}", rng.random_range(2..1000))
        };
        names.insert(name);
    }
    names.into_iter().collect()
}

/// The kind of value a key holds, which decides its name and how values are drawn.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Switch,
    Rollout,
    Buckets,
    Timeout,
    Limit,
    LogLevel,
    Mode,
    Endpoint,
    Database,
}

struct KeySpec {
    name: String,
    kind: Kind,
}

fn vocabulary(rng: &mut ChaCha8Rng, size: usize) -> Vec<KeySpec> {
    let mut names = BTreeSet::new();
    let mut specs = Vec::new();
    while specs.len() < size {
        let noun = NOUNS.choose(rng).expect("not empty");
        let kind = [
            Kind::Switch,
            Kind::Switch,
            Kind::Rollout,
            Kind::Buckets,
            Kind::Timeout,
            Kind::Timeout,
            Kind::Limit,
            Kind::LogLevel,
            Kind::Mode,
            Kind::Endpoint,
            Kind::Database,
        ]
        .choose(rng)
        .copied()
        .expect("not empty");
        let base = match kind {
            Kind::Switch => format!("enable_{noun}"),
            Kind::Rollout => format!("pct_{noun}"),
            Kind::Buckets => format!("{noun}_enabled_buckets"),
            Kind::Timeout => format!("{noun}_timeout_ms"),
            Kind::Limit => format!("max_{noun}_per_minute"),
            Kind::LogLevel => format!("{noun}_log_level"),
            Kind::Mode => format!("{noun}_mode"),
            Kind::Endpoint => format!("{noun}_api"),
            Kind::Database => format!("{noun}_db"),
        };
        let mut name = base.clone();
        let mut n = 2;
        while names.contains(&name) {
            name = format!("{base}_{n}");
            n += 1;
        }
        names.insert(name.clone());
        specs.push(KeySpec { name, kind });
    }
    specs
}

fn value(rng: &mut ChaCha8Rng, kind: Kind, service: &str) -> Value {
    let word = |rng: &mut ChaCha8Rng| WORDS.choose(rng).expect("not empty").to_string();
    match kind {
        Kind::Switch => Value::Boolean(rng.random_bool(0.5)),
        Kind::Rollout => Value::Float(f64::from(rng.random_range(0..=100u32)) / 100.0),
        Kind::Buckets => {
            let n = rng.random_range(0..=10usize);
            Value::Array((0..n).map(|_| Value::Integer(rng.random_range(0..100))).collect())
        }
        Kind::Timeout => Value::Integer(rng.random_range(1..=60) * 100),
        Kind::Limit => Value::Integer(rng.random_range(1..=500) * 10),
        Kind::LogLevel => Value::String(LOG_LEVELS.choose(rng).expect("not empty").to_string()),
        Kind::Mode => Value::String(format!("{}-{}", word(rng), rng.random_range(1..=9))),
        Kind::Endpoint => {
            let mut table = Table::new();
            let host = format!("{}-{}.{service}.internal.example.com", word(rng), rng.random_range(1..=20));
            table.insert("endpoint".into(), Value::String(format!("https://{host}/v{}", rng.random_range(1..=3))));
            table.insert("timeout_ms".into(), Value::Integer(rng.random_range(1..=30) * 100));
            table.insert("max_retries".into(), Value::Integer(rng.random_range(0..=5)));
            Value::Table(table)
        }
        Kind::Database => {
            let mut table = Table::new();
            let host =
                |rng: &mut ChaCha8Rng| format!("db-{}.{service}.internal.example.com:5432", rng.random_range(1..=99));
            table.insert("primary".into(), Value::String(host(rng)));
            let replicas = rng.random_range(0..=4usize);
            table.insert("replicas".into(), Value::Array((0..replicas).map(|_| Value::String(host(rng))).collect()));
            table.insert("pool_size".into(), Value::Integer(rng.random_range(1..=10) * 5));
            table.insert("statement_timeout_ms".into(), Value::Integer(rng.random_range(1..=30) * 1000));
            Value::Table(table)
        }
    }
}

impl Service {
    fn generate(rng: &mut ChaCha8Rng, name: String, args: &Args) -> Service {
        let keys = vocabulary(rng, 2 * args.keys);
        let mut paths: Vec<Vec<String>> = vec![Vec::new()];
        while paths.len() < args.envs {
            // Trees several levels deep: a few tiers, regions below them, clusters below those.
            let tiers = paths.iter().filter(|p| p.len() == 1).count();
            let parent = if tiers == 0 || (tiers < 4 && rng.random_bool(0.2)) {
                Vec::new()
            } else {
                let inner: Vec<&Vec<String>> = paths.iter().filter(|p| p.len() == 1 || p.len() == 2).collect();
                inner.choose(rng).map(|p| p.to_vec()).expect("a tier exists")
            };
            let words = [TIERS, REGIONS, CLUSTERS][parent.len()];
            let siblings: BTreeSet<&str> = paths
                .iter()
                .filter(|p| p.len() == parent.len() + 1 && p.starts_with(&parent))
                .map(|p| p[parent.len()].as_str())
                .collect();
            // Unused names first; `-2`, `-3`... only once every name is taken.
            let unused: Vec<&str> = words.iter().copied().filter(|w| !siblings.contains(w)).collect();
            let child = match unused.choose(rng) {
                Some(word) => word.to_string(),
                None => {
                    let word = words.choose(rng).expect("not empty");
                    (2..).map(|n| format!("{word}-{n}")).find(|c| !siblings.contains(c.as_str())).expect("endless")
                }
            };
            let mut path = parent;
            path.push(child);
            paths.push(path);
        }
        paths.sort();
        let low = (args.keys / 3).max(1);
        let high = (args.keys * 5 / 3).max(low);
        let mut envs: Vec<Env> = paths
            .into_iter()
            .map(|path| {
                let count = rng.random_range(low..=high).min(keys.len());
                let mut values = Table::new();
                for spec in keys.sample(rng, count) {
                    values.insert(spec.name.clone(), value(rng, spec.kind, &name));
                }
                Env { path, values, hosts: Vec::new() }
            })
            .collect();
        let leaves: Vec<usize> = (0..envs.len())
            .filter(|&i| {
                let path = &envs[i].path;
                !path.is_empty() && !envs.iter().any(|e| e.path.len() > path.len() && e.path.starts_with(path))
            })
            .collect();
        if !leaves.is_empty() {
            for n in 0..args.hosts {
                let leaf = *leaves.choose(rng).expect("not empty");
                let region = envs[leaf].path.get(1).cloned().unwrap_or_else(|| "global".into());
                envs[leaf].hosts.push(format!("{name}-{n:05}.{region}.example.com"));
            }
        }
        Service { name, keys, envs }
    }

    /// The kind of value of `key` in this service's vocabulary.
    fn kind(&self, key: &str) -> Option<Kind> {
        self.keys.iter().find(|spec| spec.name == key).map(|spec| spec.kind)
    }

    /// The service's `schema.json`: every view of it satisfies it, also after `--change --schemas`.
    fn schema(&self) -> String {
        let root = self.envs.iter().find(|env| env.path.is_empty()).expect("the root comes first");
        let mut keys: Vec<&KeySpec> = self.keys.iter().collect();
        keys.sort_by(|a, b| a.name.cmp(&b.name));
        let quote = |text: &str| serde_json::to_string(text).expect("JSON");
        let mut out = String::from("{\n");
        out += "  \"$schema\": \"https://json-schema.org/draft/2020-12/schema\",\n";
        out += &format!("  \"title\": {},\n", quote(&format!("{}: what every environment's view holds", self.name)));
        out += "  \"type\": \"object\",\n";
        let required: Vec<String> = root.values.keys().map(|key| quote(key)).collect();
        out += &format!("  \"required\": [{}],\n", required.join(", "));
        out += "  \"properties\": {\n";
        let properties: Vec<String> =
            keys.iter().map(|spec| format!("    {}: {}", quote(&spec.name), kind_schema(spec.kind, "    "))).collect();
        out += &properties.join(",\n");
        out += "\n  },\n";
        out += "  \"additionalProperties\": false\n";
        out += "}\n";
        out
    }
}

/// The patterns of endpoint URLs and of database hosts (`host:port`), as [`value`] writes them.
const URL: &str = "^https://[a-z0-9]([a-z0-9.-]*[a-z0-9])?(:[0-9]{1,5})?/v[0-9]+$";
const HOST_PORT: &str = "^[a-z0-9]([a-z0-9.-]*[a-z0-9])?:[0-9]{1,5}$";

/// The schema of a value of `kind`, as [`value`] draws it (and [`edit`] changes it): JSON with its
/// members in the order written, a nested table's properties on lines of their own (at `indent`).
fn kind_schema(kind: Kind, indent: &str) -> String {
    let quote = |text: &str| serde_json::to_string(text).expect("JSON");
    let positive = r#"{"type": "integer", "minimum": 1}"#;
    let table = |properties: &[(&str, String)]| {
        let lines: Vec<String> =
            properties.iter().map(|(name, schema)| format!("{indent}    {}: {schema}", quote(name))).collect();
        let required: Vec<String> = properties.iter().map(|(name, _)| quote(name)).collect();
        let members = [
            r#""type": "object""#.to_string(),
            format!("\"properties\": {{\n{}\n{indent}  }}", lines.join(",\n")),
            format!("\"required\": [{}]", required.join(", ")),
            r#""additionalProperties": false"#.to_string(),
        ];
        format!("{{\n{indent}  {}\n{indent}}}", members.join(&format!(",\n{indent}  ")))
    };
    match kind {
        Kind::Switch => r#"{"type": "boolean"}"#.into(),
        Kind::Rollout => r#"{"type": "number", "minimum": 0, "maximum": 1}"#.into(),
        Kind::Buckets => r#"{"type": "array", "items": {"type": "integer", "minimum": 0, "maximum": 99}}"#.into(),
        Kind::Timeout | Kind::Limit => positive.into(),
        Kind::LogLevel => {
            format!(r#"{{"enum": [{}]}}"#, LOG_LEVELS.iter().map(|l| quote(l)).collect::<Vec<_>>().join(", "))
        }
        Kind::Mode => format!(r#"{{"type": "string", "pattern": {}}}"#, quote("^[a-z]+-[1-9]$")),
        Kind::Endpoint => table(&[
            ("endpoint", format!(r#"{{"type": "string", "pattern": {}}}"#, quote(URL))),
            ("timeout_ms", positive.into()),
            ("max_retries", r#"{"type": "integer", "minimum": 0}"#.into()),
        ]),
        Kind::Database => table(&[
            ("primary", format!(r#"{{"type": "string", "pattern": {}}}"#, quote(HOST_PORT))),
            (
                "replicas",
                format!(r#"{{"type": "array", "items": {{"type": "string", "pattern": {}}}}}"#, quote(HOST_PORT)),
            ),
            ("pool_size", positive.into()),
            ("statement_timeout_ms", positive.into()),
        ]),
    }
}

/// Changes one value in `percent` of all environments, with a generator of its own, and returns
/// how many environments changed. With `schemas`, the same values change, each within its key's
/// schema ([`edit`]).
fn change(services: &mut [Service], seed: u64, percent: f64, schemas: bool) -> usize {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x6368_616e_6765);
    let mut all: Vec<(usize, usize)> =
        services.iter().enumerate().flat_map(|(s, svc)| (0..svc.envs.len()).map(move |e| (s, e))).collect();
    let count = ((all.len() as f64 * percent / 100.0).round() as usize).clamp(1, all.len());
    let picked: Vec<(usize, usize)> = all.sample(&mut rng, count).copied().collect();
    all.clear();
    for (s, e) in &picked {
        let service = &mut services[*s];
        let values = &service.envs[*e].values;
        let keys: Vec<String> = values.keys().cloned().collect();
        let Some(key) = keys.choose(&mut rng) else {
            // Not drawn in practice (every environment sets a key or more).
            let (key, value) = match service.keys.first() {
                Some(spec) if schemas => (spec.name.clone(), value(&mut rng, spec.kind, &service.name)),
                _ => ("changed".into(), Value::Boolean(true)),
            };
            service.envs[*e].values.insert(key, value);
            continue;
        };
        let kind = if schemas { service.kind(key) } else { None };
        let edited = edit(&values[key], kind);
        service.envs[*e].values.insert(key.clone(), edited);
    }
    picked.len()
}

/// The edits a pull request makes: flip a switch, move a rollout, tune a number, and so on. With
/// the value's `kind` (`--schemas`), the edit stays within the kind's schema ([`kind_schema`]).
fn edit(value: &Value, kind: Option<Kind>) -> Value {
    match (value, kind) {
        (Value::Float(f), Some(Kind::Rollout)) => {
            let up = ((f + 0.05) * 100.0).round() / 100.0;
            Value::Float(if up <= 1.0 { up } else { ((f - 0.05) * 100.0).round() / 100.0 })
        }
        (Value::String(s), Some(Kind::LogLevel)) => {
            let at = LOG_LEVELS.iter().position(|level| level == s).unwrap_or(0);
            Value::String(LOG_LEVELS[(at + 1) % LOG_LEVELS.len()].to_string())
        }
        (Value::String(s), Some(Kind::Mode)) => {
            let (word, digit) = s.rsplit_once('-').unwrap_or((s, "0"));
            let next = digit.parse::<u32>().map_or(1, |d| d % 9 + 1);
            Value::String(format!("{word}-{next}"))
        }
        (Value::Table(table), Some(Kind::Endpoint | Kind::Database)) => {
            let (field, step) = if kind == Some(Kind::Endpoint) { ("timeout_ms", 100) } else { ("pool_size", 5) };
            let mut table = table.clone();
            if let Some(Value::Integer(i)) = table.get(field) {
                table.insert(field.into(), Value::Integer(i + step));
            }
            Value::Table(table)
        }
        // Within every kind's schema as it is: a switch flipped, a timeout or limit one more, bucket
        // 99 added.
        _ => match value {
            Value::Boolean(b) => Value::Boolean(!b),
            Value::Integer(i) => Value::Integer(i + 1),
            Value::Float(f) => Value::Float(((f + 0.05) * 100.0).round() / 100.0),
            Value::String(s) => Value::String(format!("{s}-next")),
            Value::Array(items) => Value::Array(items.iter().cloned().chain([Value::Integer(99)]).collect()),
            Value::Table(table) => {
                let mut table = table.clone();
                table.insert("changed".into(), Value::Boolean(true));
                Value::Table(table)
            }
            Value::Datetime(_) => Value::String("changed".into()),
        },
    }
}

fn write(out: &Path, services: &[Service], schemas: bool) -> std::io::Result<()> {
    if out.exists() && std::fs::read_dir(out)?.next().is_some() {
        return Err(std::io::Error::other("the directory is not empty"));
    }
    for service in services {
        if schemas {
            let dir = out.join("services").join(&service.name);
            std::fs::create_dir_all(&dir)?;
            std::fs::write(dir.join("schema.json"), service.schema())?;
        }
        for env in &service.envs {
            let mut dir = out.join("services").join(&service.name);
            dir.extend(&env.path);
            std::fs::create_dir_all(&dir)?;
            let toml = toml::to_string(&env.values).map_err(std::io::Error::other)?;
            std::fs::write(dir.join("config.toml"), toml)?;
            if !env.hosts.is_empty() {
                let hosts = Table::from_iter([(
                    "hosts".to_string(),
                    Value::Array(env.hosts.iter().cloned().map(Value::String).collect()),
                )]);
                std::fs::write(dir.join("hosts.toml"), toml::to_string(&hosts).map_err(std::io::Error::other)?)?;
            }
        }
    }
    Ok(())
}
