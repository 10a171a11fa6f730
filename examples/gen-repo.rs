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

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use rand::rngs::ChaCha8Rng;
use rand::seq::IndexedRandom;
use rand::{RngExt, SeedableRng};
use toml::{Table, Value};

const USAGE: &str =
    "usage: gen-repo --out DIR [--services S] [--envs E] [--keys K] [--hosts H] [--seed N] [--change PERCENT]";

struct Args {
    out: PathBuf,
    services: usize,
    envs: usize,
    keys: usize,
    hosts: usize,
    seed: u64,
    change: f64,
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args { out: PathBuf::new(), services: 100, envs: 40, keys: 30, hosts: 100, seed: 1, change: 0.0 };
    let mut out = None;
    let mut iter = std::env::args().skip(1);
    while let Some(flag) = iter.next() {
        if flag == "--help" || flag == "-h" {
            return Err(USAGE.into());
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
    let changed = if args.change > 0.0 { change(&mut services, args.seed, args.change) } else { 0 };
    if let Err(err) = write(&args.out, &services) {
        eprintln!("error: cannot write `{}`: {err}", args.out.display());
        return ExitCode::FAILURE;
    }
    let envs: usize = services.iter().map(|s| s.envs.len()).sum();
    let hosts: usize = services.iter().flat_map(|s| &s.envs).map(|e| e.hosts.len()).sum();
    let znodes = 1 + services.iter().map(|s| 3 + 2 * s.envs.len()).sum::<usize>();
    println!(
        "{}: {} services, {envs} environments, {hosts} hosts, {znodes} znodes{}",
        args.out.display(),
        services.len(),
        if changed > 0 { format!(", {changed} environments changed") } else { String::new() }
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
#[derive(Clone, Copy)]
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
        Service { name, envs }
    }
}

/// Changes one value in `percent` of all environments, with a generator of its own, and returns
/// how many environments changed.
fn change(services: &mut [Service], seed: u64, percent: f64) -> usize {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x6368_616e_6765);
    let mut all: Vec<(usize, usize)> =
        services.iter().enumerate().flat_map(|(s, svc)| (0..svc.envs.len()).map(move |e| (s, e))).collect();
    let count = ((all.len() as f64 * percent / 100.0).round() as usize).clamp(1, all.len());
    let picked: Vec<(usize, usize)> = all.sample(&mut rng, count).copied().collect();
    all.clear();
    for (s, e) in &picked {
        let values = &mut services[*s].envs[*e].values;
        let keys: Vec<String> = values.keys().cloned().collect();
        let Some(key) = keys.choose(&mut rng) else {
            values.insert("changed".into(), Value::Boolean(true));
            continue;
        };
        // The edits a pull request makes: flip a switch, move a rollout, tune a number, and so on.
        let edited = match &values[key] {
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
        };
        values.insert(key.clone(), edited);
    }
    picked.len()
}

fn write(out: &Path, services: &[Service]) -> std::io::Result<()> {
    if out.exists() && std::fs::read_dir(out)?.next().is_some() {
        return Err(std::io::Error::other("the directory is not empty"));
    }
    for service in services {
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
