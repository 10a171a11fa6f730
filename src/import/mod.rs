//! Importing a live Jones deployment: from the [`crate::live`] snapshot of a service to the
//! [`crate::model`] (as Jones holds it, JSON nulls included), and from the model to the files of a
//! config repository ([`files`]), such that `plan` right after finds nothing to change.
//!
//! Nothing here does I/O. What the repository cannot hold, or what would not survive the round
//! trip, is never an error: it becomes a [`Report`] that names the node and says what was done, and
//! the rest of the service is imported. Decisions where Jones' data does not fit the repository:
//!
//! - a conf that is not a JSON object (or empty, or not JSON) is imported as `{}`;
//! - a conf is read key by key ([`crate::live_json`]): a value that does not read exactly (`NaN`,
//!   `Infinity`, an integer beyond 64 bits, a lone surrogate, nesting beyond 128 levels) is left
//!   out where it is, and every other key is kept; never is a number imported as another type;
//! - a JSON `null` (TOML has none), an integer beyond i64, or a value nested deeper than a
//!   `config.toml` holds ([`toml_out::MAX_DEPTH`]) is left out, wherever it is nested;
//! - a nodemap entry that points at a missing view, at the root view, outside the service's views,
//!   or is not a string, is dropped (the host reads the root after the next apply), and so is a
//!   host that validation refuses ([`crate::nodemap::host_problem`]; with the legacy format, also
//!   [`crate::nodemap::unwritable`]);
//! - a view that differs from its conf's materialization, a view without conf and a missing view
//!   are reported: the next apply rewrites, deletes or creates them;
//! - an environment whose name a repository cannot hold (hidden, a file name of ours, holding
//!   ` -> `, too long, rejected by ZooKeeper's rules) is left out with everything below it.
//!
//! What import writes validates: [`check`] runs `validate`'s checks on the files before anything is
//! written, and the command fails rather than write a repository that does not.

pub mod toml_out;
pub mod write;

use std::collections::{BTreeMap, BTreeSet};

use serde_json::{Map, Value};

use crate::layout;
use crate::live::{LiveService, Snapshot};
use crate::model::{EnvPath, Environment, Service};
use crate::nodemap::Format;
use crate::zk::{Zk, ZkError};

/// Something the import could not carry over as it is.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Report {
    /// The znode (or repository file) it is about.
    pub subject: String,
    pub message: String,
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.subject, self.message)
    }
}

fn report(subject: impl Into<String>, message: impl Into<String>) -> Report {
    Report { subject: subject.into(), message: message.into() }
}

/// One live service, as the model holds it.
#[derive(Debug, Clone)]
pub struct Imported {
    pub service: Service,
    /// The format of its nodemap; `None` when it was empty or missing.
    pub nodemap_format: Option<Format>,
}

/// Why live services cannot be imported.
#[derive(Debug, thiserror::Error)]
pub enum ReadError {
    #[error("nothing to import: `/services` does not exist in ZooKeeper at `{connect}`")]
    NoServices { connect: String },
    #[error("no service {missing} in ZooKeeper (found: {found}); nothing was written")]
    Missing { missing: String, found: String },
    #[error(transparent)]
    ZooKeeper(#[from] ZkError),
}

/// The live services named by `wanted` (every one when it is empty), in name order, read in one
/// snapshot.
pub async fn read(zk: &Zk, wanted: &[String]) -> Result<(Vec<String>, Snapshot), ReadError> {
    let listing = zk.snapshot(&[]).await?;
    if !listing.root_exists {
        return Err(ReadError::NoServices { connect: zk.connect_string().to_string() });
    }
    let mut names: Vec<String> = if wanted.is_empty() { listing.all_services.clone() } else { wanted.to_vec() };
    names.sort();
    names.dedup();
    let missing: Vec<String> =
        names.iter().filter(|n| !listing.all_services.contains(n)).map(|m| format!("`{m}`")).collect();
    if !missing.is_empty() {
        let found = if listing.all_services.is_empty() { "none".to_string() } else { listing.all_services.join(", ") };
        return Err(ReadError::Missing { missing: missing.join(", "), found });
    }
    let snapshot = zk.snapshot(&names).await?;
    Ok((names, snapshot))
}

/// The live nodes of service `name`, `None` when ZooKeeper has no such service.
pub async fn read_service(zk: &Zk, name: &str) -> Result<Option<LiveService>, ZkError> {
    let mut snapshot = zk.snapshot(&[name.to_string()]).await?;
    if !snapshot.all_services.iter().any(|s| s == name) {
        return Ok(None);
    }
    Ok(snapshot.services.remove(name))
}

/// Reads the model of service `name` out of its snapshot; `None` (with a report) when it is not a
/// Jones service (no `conf` node) or its name cannot be a directory.
pub fn service(name: &str, live: &LiveService, reports: &mut Vec<Report>) -> Option<Imported> {
    let base = layout::service(name);
    if let Some(why) = dir_name_problem(name) {
        reports.push(report(&base, format!("not imported: {why}")));
        return None;
    }
    let conf_root = layout::conf(name, &EnvPath::root());
    if !live.nodes.contains_key(&conf_root) {
        reports.push(report(&base, "not imported: not a Jones service (it has no `conf` node)"));
        return None;
    }
    let dir = format!("{}/{name}", crate::repo::SERVICES_DIR);
    let mut envs: BTreeMap<EnvPath, Environment> = BTreeMap::new();
    let mut skipped: Vec<EnvPath> = Vec::new();
    for (path, node) in &live.nodes {
        let Some(env) = layout::conf_env(name, path) else { continue };
        if skipped.iter().any(|s| env.0.starts_with(&s.0)) {
            continue; // below a name that was left out, reported there
        }
        if let Some(why) = env.0.last().and_then(|segment| dir_name_problem(segment)) {
            reports.push(report(path, format!("left out with everything below it: {why}")));
            skipped.push(env);
            continue;
        }
        let values = match crate::live_json::exact(&node.data) {
            Some(Value::Object(values)) => values,
            Some(other) => {
                let what = format!("holds {}, not a JSON object", kind_of(&other));
                reports.push(report(path, format!("{what}: imported as `{{}}` (the next apply writes `{{}}`)")));
                Map::new()
            }
            // Key by key: every value that reads is kept, each other one is left out and named.
            None => match crate::live_json::object(&node.data) {
                Ok(object) => {
                    for part in &object.unreadable {
                        let message = format!(
                            "`{}` is `{}`, which does not read exactly ({}): left out (the next apply removes it)",
                            part.path,
                            cut(&part.text),
                            part.why
                        );
                        reports.push(report(path, message));
                    }
                    object.values
                }
                Err(_) if node.data.iter().all(u8::is_ascii_whitespace) => {
                    reports.push(report(
                        path,
                        "is empty, not a JSON object: imported as `{}` (the next apply writes `{}`)",
                    ));
                    Map::new()
                }
                Err(err) => {
                    let message =
                        format!("is not a JSON object ({err}): imported as `{{}}` (the next apply writes `{{}}`)");
                    reports.push(report(path, message));
                    Map::new()
                }
            },
        };
        let env_dir = env.below(&dir);
        envs.insert(env, Environment { dir: env_dir, values, hosts: Vec::new() });
    }
    check_views(name, live, &envs, &skipped, reports);
    let nodemap_format = hosts(name, live, &mut envs, &skipped, reports);
    Some(Imported { service: Service { name: name.to_string(), envs }, nodemap_format })
}

/// Reports every view that the next apply would create, rewrite or delete.
fn check_views(
    name: &str,
    live: &LiveService,
    envs: &BTreeMap<EnvPath, Environment>,
    skipped: &[EnvPath],
    reports: &mut Vec<Report>,
) {
    let service = Service { name: name.to_string(), envs: envs.clone() };
    let materialized = crate::view::views(&service);
    for (env, view) in &materialized {
        let path = layout::view(name, env);
        match live.nodes.get(&path).map(|node| crate::live_json::exact(&node.data)) {
            None => reports.push(report(&path, "is missing: the next apply creates it")),
            Some(Some(Value::Object(live_view))) if &live_view == view => {}
            Some(Some(Value::Object(live_view))) => {
                let mut keys: BTreeSet<&String> = BTreeSet::new();
                keys.extend(live_view.keys().filter(|k| live_view.get(*k) != view.get(*k)));
                keys.extend(view.keys().filter(|k| live_view.get(*k) != view.get(*k)));
                let keys: Vec<String> = keys.into_iter().map(|k| format!("`{k}`")).collect();
                reports.push(report(
                    &path,
                    format!(
                        "does not match the materialization of its conf (differs in {}): the next apply rewrites it",
                        keys.join(", ")
                    ),
                ));
            }
            Some(_) => {
                reports.push(report(&path, "does not read exactly as a JSON object: the next apply rewrites it"))
            }
        }
    }
    for path in live.nodes.keys() {
        let Some(env) = layout::view_env(name, path) else { continue };
        if !envs.contains_key(&env) && !skipped.iter().any(|s| env.0.starts_with(&s.0)) {
            reports.push(report(path, "is a view without a conf: the next apply deletes it"));
        }
    }
}

/// Fills the hosts of `envs` from the nodemap; returns the nodemap's format.
fn hosts(
    name: &str,
    live: &LiveService,
    envs: &mut BTreeMap<EnvPath, Environment>,
    skipped: &[EnvPath],
    reports: &mut Vec<Report>,
) -> Option<Format> {
    let nodemaps = layout::nodemaps(name);
    let Some(node) = live.nodes.get(&nodemaps) else {
        reports.push(report(&nodemaps, "is missing, so Jones clients of this service fail: the next apply creates it"));
        return None;
    };
    let parsed = match crate::nodemap::parse(&node.data) {
        Ok(parsed) => parsed,
        Err(reason) => {
            reports.push(report(&nodemaps, format!("cannot be read ({reason}): imported without hosts")));
            return None;
        }
    };
    if !parsed.clean {
        reports.push(report(
            &nodemaps,
            "is written in a way some Jones clients cannot parse (white space only, a trailing newline or CR LF \
             line ends, ` -> ` in JSON): the next apply rewrites it",
        ));
    }
    let views_root = layout::view(name, &EnvPath::root());
    for (host, target) in parsed.map {
        let dropped = |why: String| report(&nodemaps, format!("host `{host}` {why}: dropped, so it reads the root"));
        if host.is_empty() {
            reports.push(report(&nodemaps, "an empty association is not a host: dropped"));
            continue;
        }
        // What validation refuses (no client reads it as written, or the Jones server misreads it).
        if let Some(why) = crate::nodemap::host_problem(&host) {
            reports.push(report(&nodemaps, format!("{why}: dropped")));
            continue;
        }
        let Value::String(target) = target else {
            reports.push(dropped(format!("maps to {target}, not to a view path")));
            continue;
        };
        if target == views_root {
            reports
                .push(dropped(format!("points at the root view `{target}`, which hosts read without an association")));
            continue;
        }
        let Some(env) = layout::view_env(name, &target) else {
            reports.push(dropped(format!("points at `{target}`, which is not a view of `{name}`")));
            continue;
        };
        if skipped.iter().any(|s| env.0.starts_with(&s.0)) {
            reports.push(dropped(format!("points at `{target}`, whose environment was left out")));
        } else if !live.nodes.contains_key(&target) {
            reports.push(dropped(format!("points at `{target}`, which does not exist")));
        } else if let Some(environment) = envs.get_mut(&env) {
            environment.hosts.push(host);
        } else {
            reports.push(dropped(format!("points at `{target}`, a view without a conf")));
        }
    }
    parsed.format
}

/// Why a repository cannot hold `name` as a directory below `services/`: what validation refuses
/// ([`crate::repo::names::dir_name_problem`]), and what a file system or the repository reader
/// cannot hold.
pub fn dir_name_problem(name: &str) -> Option<String> {
    if let Some(why) = crate::repo::names::dir_name_problem(name) {
        return Some(why);
    }
    if name.starts_with('.') {
        return Some(format!("`{name}` starts with `.`, and the repository skips hidden entries"));
    }
    if name.len() > 255 {
        return Some(format!("the name is {} bytes, over the 255 that a file name may have", name.len()));
    }
    None
}

/// `text` cut to 60 characters for a report.
fn cut(text: &str) -> String {
    if text.chars().count() <= 60 {
        return text.to_string();
    }
    let kept: String = text.chars().take(59).collect();
    format!("{kept}…")
}

fn kind_of(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// The repository files of `service`: by path relative to the repository root, their text.
/// Every environment gets a `config.toml` (empty without values), so that git keeps its directory.
pub fn files(service: &Service, reports: &mut Vec<Report>) -> BTreeMap<String, String> {
    let mut files = BTreeMap::new();
    for (env, environment) in &service.envs {
        let conf = layout::conf(&service.name, env);
        let config = format!("{}/{}", environment.dir, crate::repo::CONFIG_FILE);
        files.insert(config, toml_out::config(&environment.values, &conf, reports));
        if !environment.hosts.is_empty() {
            let hosts = format!("{}/{}", environment.dir, crate::repo::HOSTS_FILE);
            files.insert(hosts, toml_out::hosts(&environment.hosts));
        }
    }
    files
}

/// The problems the repository made of `files` (per service, by path; see [`files`]) and the
/// settings `settings` (the text of `jones-sync.toml`, if any) would have: what import writes must
/// validate, so any problem here stops it before anything is written. The checks are
/// `validate`'s own ([`crate::repo::parse_each`], [`crate::view::checked`]).
pub fn check(
    files: &BTreeMap<String, BTreeMap<String, String>>,
    settings: Option<&str>,
) -> Vec<crate::diagnostic::Problem> {
    use crate::repo::{Entry, EntryKind};
    let mut entries = vec![Entry { path: crate::repo::SERVICES_DIR.into(), kind: EntryKind::Dir }];
    if let Some(text) = settings {
        entries.push(Entry { path: crate::repo::settings::FILE.into(), kind: EntryKind::File(Some(text.into())) });
    }
    let mut dirs = BTreeSet::new();
    for (path, text) in files.values().flatten() {
        let mut dir = path.as_str();
        while let Some((parent, _)) = dir.rsplit_once('/') {
            if parent == crate::repo::SERVICES_DIR || !dirs.insert(parent.to_string()) {
                break;
            }
            dir = parent;
        }
        entries.push(Entry { path: path.clone(), kind: EntryKind::File(Some(text.clone().into_bytes())) });
    }
    entries.extend(dirs.into_iter().map(|path| Entry { path, kind: EntryKind::Dir }));
    let mut problems = Vec::new();
    let parsed = crate::repo::parse_each(entries, Default::default(), |settings, service| {
        crate::view::checked(&service, settings, &mut problems);
    });
    match parsed {
        Ok(_) => problems,
        Err(found) => found,
    }
}

/// Drops, with a report, every host that the legacy nodemap format cannot hold
/// ([`crate::nodemap::unwritable`]): for a repository whose `nodemap_format` is `legacy`.
pub fn legacy_hosts(imported: &mut [Imported], reports: &mut Vec<Report>) {
    for i in imported {
        let name = i.service.name.clone();
        for (env, environment) in &mut i.service.envs {
            let view = layout::view(&name, env);
            environment.hosts.retain(|host| match crate::nodemap::unwritable(host, &view) {
                Some(why) => {
                    reports.push(report(layout::nodemaps(&name), format!("{why}: dropped, so it reads the root")));
                    false
                }
                None => true,
            });
        }
    }
}

/// The nodemap format for a repository of `imported` services: `legacy` when every nodemap that
/// has a format is legacy, else `json` (Jones' own), reported when the services disagree.
pub fn nodemap_format(imported: &[Imported], reports: &mut Vec<Report>) -> Format {
    let legacy: Vec<&str> =
        imported.iter().filter(|i| i.nodemap_format == Some(Format::Legacy)).map(|i| i.service.name.as_str()).collect();
    let json = imported.iter().filter(|i| i.nodemap_format == Some(Format::Json)).count();
    match (legacy.is_empty(), json) {
        (true, _) => Format::Json,
        (false, 0) => Format::Legacy,
        (false, _) => {
            reports.push(report(
                crate::repo::settings::FILE,
                format!(
                    "nodemaps of {} are in the legacy format and the others in JSON; jones-sync writes one format \
                     (`[sync] nodemap_format`): chose `json`, so these are rewritten in JSON with their next change",
                    legacy.join(", ")
                ),
            ));
            Format::Json
        }
    }
}

#[cfg(test)]
mod tests;
