//! Reading a config repository into a [`Repo`], collecting every problem on the way.
//!
//! Reading has two halves: a *source* lists the repository's entries with the content of the files
//! that matter ([`source::read_dir`] for a work tree, [`git_tree::read`] for a commit, chosen with
//! the pins by [`revision`], with [`git`]'s help), and [`parse`] turns that plain list into the
//! model. `parse` does no I/O, so it is tested (and fuzzed) on plain data.
//!
//! Layout: `services/<svc>/` is a service's root environment and every directory below it is an
//! environment; `config.toml` holds an environment's own values and `hosts.toml` its associations.
//! Hidden entries are skipped by the source; `*.md` files are allowed anywhere and ignored.

pub mod git;
pub mod git_tree;
pub mod names;
pub mod revision;
pub mod settings;
pub mod source;
pub mod toml_json;

use std::collections::BTreeMap;
use std::sync::Arc;

use toml::de::{DeTable, DeValue};

use crate::diagnostic::{Problem, Problems};
use crate::model::{EnvPath, Environment, Service};
use crate::nodemap;
use crate::repo::settings::Settings;

/// A whole config repository: its settings and its services.
#[derive(Debug, Clone, Default)]
pub struct Repo {
    pub settings: Settings,
    /// Shared, not copied, by clones: a long-running server holds one commit's services and the
    /// next's, which share most of them ([`crate::cache::Cache::in_memory`]).
    pub services: BTreeMap<String, Arc<Service>>,
}

pub const SERVICES_DIR: &str = "services";
pub const CONFIG_FILE: &str = "config.toml";
pub const HOSTS_FILE: &str = "hosts.toml";

/// One entry of a repository, with a `/`-separated path relative to its root.
#[derive(Debug, Clone, PartialEq)]
pub struct Entry {
    pub path: String,
    pub kind: EntryKind,
}

#[derive(Debug, Clone, PartialEq)]
pub enum EntryKind {
    Dir,
    /// A file; sources read the content of the files [`wants_content`] names, `None` for others.
    File(Option<Vec<u8>>),
}

/// Whether [`parse`] needs the content of the file at `path` (sources skip reading the rest).
pub fn wants_content(path: &str) -> bool {
    path == settings::FILE
        || (path.starts_with("services/") && (path.ends_with("/config.toml") || path.ends_with("/hosts.toml")))
        || (path.starts_with("services/") && path.matches('/').count() == 2 && path.ends_with(SCHEMA_FILE))
}

/// A service's JSON Schema, at its root: `services/<svc>/schema.json` ([`crate::schema`]).
pub const SCHEMA_FILE: &str = "schema.json";

/// Turns a source's entries (and the problems it found while listing them) into a repository,
/// or every problem found.
pub fn parse(entries: Vec<Entry>, problems: Problems) -> Result<Repo, Vec<Problem>> {
    let text = settings_text(&entries);
    let (settings, services) = parse_each(entries, problems, |_, service| service)?;
    let known: Vec<&str> = services.iter().map(|s| s.name.as_str()).collect();
    let problems = target_problems(&settings, text.as_deref().unwrap_or_default(), |name| known.contains(&name));
    if !problems.is_empty() {
        return Err(problems);
    }
    Ok(Repo {
        settings,
        services: services.into_iter().map(|service| (service.name.clone(), Arc::new(service))).collect(),
    })
}

/// The text of `jones-sync.toml` among `entries`, when it has one that is UTF-8.
pub fn settings_text(entries: &[Entry]) -> Option<String> {
    entries.iter().find_map(|entry| match &entry.kind {
        EntryKind::File(Some(bytes)) if entry.path == settings::FILE => String::from_utf8(bytes.clone()).ok(),
        _ => None,
    })
}

/// A target's `services` must name services of the repository (`known`): the problems of
/// `settings`, read from `text`, once every service is known (some may come from the parse cache).
pub fn target_problems(settings: &Settings, text: &str, known: impl Fn(&str) -> bool) -> Vec<Problem> {
    let mut problems = Vec::new();
    for target in &settings.targets {
        for name in target.services.iter().flatten().filter(|name| !known(name.get_ref())) {
            let message = format!(
                "invalid settings: `[targets.{}] services` names `{}`, which is not a service of the repository",
                target.name.get_ref(),
                name.get_ref()
            );
            problems.push(Problem::at(settings::FILE, text, name.span().start, message));
        }
    }
    problems
}

/// [`parse`], handing each service to `finish` as soon as it is complete, in name order, rather
/// than keeping the whole model: parsed values take several times the memory of what is made of
/// them, so a caller that only needs, say, the desired trees never holds a large repository's
/// model whole. Returns the settings and what `finish` made of each service, or every problem
/// found (`finish` may have run for some services by then).
///
/// Single-threaded on purpose: parsing services on a second thread cost more than it saved (the
/// docs/performance.md has the measurement), while git's status scan already takes the
/// other core ([`crate::desired`]).
pub fn parse_each<T>(
    mut entries: Vec<Entry>,
    mut problems: Problems,
    mut finish: impl FnMut(&Settings, Service) -> T,
) -> Result<(Settings, Vec<T>), Vec<Problem>> {
    // Sorted paths put every directory before its contents.
    entries.sort_by(|a, b| a.path.cmp(&b.path));
    let mut settings = Settings::default();
    let mut services: BTreeMap<String, Service> = BTreeMap::new();
    let mut has_services_dir = false;
    let mut settings_text = None;
    // Files are parsed after all directories are known, so that every environment exists first.
    let mut files = Vec::new();
    // Each service's schema file, by service.
    let mut schemas: BTreeMap<String, (String, Vec<u8>)> = BTreeMap::new();

    for Entry { path, kind } in entries {
        let parts: Vec<&str> = path.split('/').collect();
        // By value: file contents move on rather than being copied.
        match (parts.as_slice(), kind) {
            ([settings::FILE], EntryKind::File(content)) => settings_text = Some(content.unwrap_or_default()),
            ([SERVICES_DIR], EntryKind::Dir) => has_services_dir = true,
            ([SERVICES_DIR], EntryKind::File(_)) => {
                problems.push(Problem::new(&path, "`services` must be a directory"))
            }
            ([SERVICES_DIR, name], EntryKind::Dir) => {
                if let Some(why) = names::dir_name_problem(name) {
                    problems.push(Problem::new(&path, format!("invalid service name: {why}")));
                    continue;
                }
                let root = Environment { dir: path.clone(), ..Environment::default() };
                let envs = BTreeMap::from([(EnvPath::root(), root)]);
                services.insert(name.to_string(), Service { name: name.to_string(), envs });
            }
            ([SERVICES_DIR, name], EntryKind::File(_)) if !name.ends_with(".md") => {
                problems.push(Problem::new(
                    &path,
                    "unexpected file: `services/` holds one directory per service (`services/<service>/config.toml`)",
                ));
            }
            ([SERVICES_DIR, svc, env @ ..], EntryKind::Dir) => {
                let Some(service) = services.get_mut(*svc) else { continue };
                let env_path = EnvPath(env.iter().map(|s| s.to_string()).collect());
                // A parent that was rejected leaves its children out too (their problem is the parent's).
                if !env_path.parent().is_some_and(|parent| service.envs.contains_key(&parent)) {
                    continue;
                }
                if let Some(why) = env.last().and_then(|name| names::dir_name_problem(name)) {
                    problems.push(Problem::new(&path, format!("invalid environment name: {why}")));
                    continue;
                }
                service.envs.insert(env_path, Environment { dir: path.clone(), ..Environment::default() });
            }
            ([SERVICES_DIR, svc, file], EntryKind::File(content)) if *file == SCHEMA_FILE => {
                schemas.insert(svc.to_string(), (path.clone(), content.unwrap_or_default()));
            }
            ([SERVICES_DIR, _svc, .., file], EntryKind::File(content)) => {
                if *file == CONFIG_FILE || *file == HOSTS_FILE {
                    files.push((path.clone(), content.unwrap_or_default()));
                } else if *file == SCHEMA_FILE {
                    let svc = path.split('/').nth(1).unwrap_or_default();
                    problems.push(Problem::new(
                        &path,
                        format!(
                            "a service's schema is `{SERVICES_DIR}/{svc}/{SCHEMA_FILE}`, at its root: one schema checks \
                             every environment's view"
                        ),
                    ));
                } else if !file.ends_with(".md") {
                    problems.push(Problem::new(&path, unknown_file_message(file)));
                }
            }
            _ => {} // anything else at the repository root is not ours
        }
    }

    if !has_services_dir {
        problems.push(Problem::new(
            "services/",
            "not found: a config repository holds `services/<service>/config.toml` (is `--repo` pointing at one?)",
        ));
    }
    if let Some(bytes) = settings_text
        && let Some(text) = utf8(settings::FILE, &bytes, &mut problems)
    {
        match settings::parse(text) {
            Ok(parsed) => settings = parsed,
            Err(invalid) => problems.extend(invalid),
        }
    }

    // Each service's files, in path order (the first association of a host is the one in the file
    // that sorts first).
    files.sort();
    let mut files_of: BTreeMap<String, Vec<(String, Vec<u8>)>> = BTreeMap::new();
    for (path, bytes) in files {
        let svc = path.split('/').nth(1).expect("files are inside a service").to_string();
        files_of.entry(svc).or_default().push((path, bytes));
    }
    let mut finished = Vec::new();
    while let Some((name, mut service)) = services.pop_first() {
        let format = settings.sync.nodemap_format;
        let files = files_of.remove(&name).unwrap_or_default();
        match schemas.remove(&name) {
            Some((path, schema)) => {
                // The config files stay at hand, to point at the line that set a value the schema forbids.
                let texts: BTreeMap<String, Vec<u8>> = files.iter().cloned().collect();
                load_files(&mut service, files, format, &mut problems);
                problems.extend(crate::schema::problems(&service, &path, &schema, &texts));
            }
            None => {
                load_files(&mut service, files, format, &mut problems);
                if settings.schema.require {
                    problems.push(Problem::new(
                        format!("{SERVICES_DIR}/{name}/"),
                        format!(
                            "has no `{SCHEMA_FILE}`, which `[schema] require = true` in {} asks of every service",
                            settings::FILE
                        ),
                    ));
                }
            }
        }
        finished.push(finish(&settings, service));
    }

    if problems.is_empty() { Ok((settings, finished)) } else { Err(problems.into_sorted()) }
}

/// Reads a service's `config.toml` and `hosts.toml` files (paths sorted) into its environments;
/// hosts that the nodemap `format` cannot hold are problems at their place.
fn load_files(service: &mut Service, files: Vec<(String, Vec<u8>)>, format: nodemap::Format, problems: &mut Problems) {
    // host -> the hosts.toml that associates it first.
    let mut associated: BTreeMap<String, String> = BTreeMap::new();
    for (path, bytes) in files {
        // Borrowed for the checks below; the file's content is freed at the end of its turn.
        let (path, bytes) = (&path, bytes.as_slice());
        let (dir, file) = path.rsplit_once('/').expect("file paths have a directory");
        let env = EnvPath(dir.split('/').skip(2).map(String::from).collect());
        let Some(environment) = service.envs.get_mut(&env) else {
            continue; // inside a rejected directory, already reported
        };
        let Some(text) = utf8(path, bytes, problems) else { continue };
        if file == CONFIG_FILE {
            match toml_json::parse(path, text) {
                Ok(document) => environment.values = document.table,
                Err(found) => problems.extend(found),
            }
        } else if env.is_root() {
            problems.push(Problem::new(
                path.as_str(),
                "`hosts.toml` is not allowed in a service's root environment: hosts without an association read the root already",
            ));
        } else {
            for (host, offset) in parse_hosts(path, text, problems) {
                let view = crate::layout::view(&service.name, &env);
                if format == nodemap::Format::Legacy
                    && let Some(why) = nodemap::unwritable(&host, &view)
                {
                    let message = format!("{why} ([sync] nodemap_format = \"legacy\")");
                    problems.push(Problem::at(path.as_str(), text, offset, message));
                    continue;
                }
                match associated.get(&host) {
                    Some(first) => {
                        let message = format!(
                            "host `{host}` is also associated in `{first}`: a host reads exactly one environment"
                        );
                        problems.push(Problem::at(path.as_str(), text, offset, message));
                    }
                    None => {
                        associated.insert(host.clone(), path.clone());
                        environment.hosts.push(host);
                    }
                }
            }
        }
    }
}

fn utf8<'a>(path: &str, bytes: &'a [u8], problems: &mut Problems) -> Option<&'a str> {
    match std::str::from_utf8(bytes) {
        Ok(text) => Some(text),
        Err(err) => {
            let valid = std::str::from_utf8(&bytes[..err.valid_up_to()]).unwrap_or_default();
            let message = format!("not valid UTF-8 (invalid byte at offset {})", err.valid_up_to());
            problems.push(Problem::at(path, valid, valid.len(), message));
            None
        }
    }
}

fn unknown_file_message(file: &str) -> String {
    let closest = [CONFIG_FILE, HOSTS_FILE]
        .into_iter()
        .map(|known| (strsim::damerau_levenshtein(&file.to_lowercase(), known), known))
        .min()
        .filter(|(distance, _)| *distance <= 3);
    match closest {
        Some((_, known)) => format!("unknown file `{file}`: did you mean `{known}`?"),
        None => format!(
            "unknown file `{file}`: an environment holds only `{CONFIG_FILE}`, `{HOSTS_FILE}`, `*.md` files and child environments"
        ),
    }
}

/// `hosts = ["web1.example.com", ...]`: an array of non-empty strings, nothing else. Returns each
/// host with the byte offset where it is written.
fn parse_hosts(path: &str, text: &str, problems: &mut Problems) -> Vec<(String, usize)> {
    let table = match DeTable::parse(text) {
        Ok(table) => table,
        Err(err) => {
            let offset = err.span().map_or(0, |span| span.start);
            problems.push(Problem::at(path, text, offset, format!("invalid TOML: {}", err.message().trim_end())));
            return Vec::new();
        }
    };
    const EXPECTED: &str = "expected `hosts = [\"web1.example.com\", ...]`";
    let mut hosts = Vec::new();
    let mut found = false;
    for (key, value) in table.get_ref() {
        if key.get_ref() != "hosts" {
            let message = format!("unknown key `{}` in hosts.toml: {EXPECTED}", key.get_ref());
            problems.push(Problem::at(path, text, key.span().start, message));
            continue;
        }
        found = true;
        let DeValue::Array(items) = value.get_ref() else {
            let message = format!("`hosts` must be an array of host names, not {}", a(value.get_ref().type_str()));
            problems.push(Problem::at(path, text, value.span().start, message));
            continue;
        };
        for item in items.iter() {
            match item.get_ref() {
                DeValue::String(host) => {
                    if let Some(why) = nodemap::host_problem(host) {
                        problems.push(Problem::at(path, text, item.span().start, why));
                    } else if hosts.iter().any(|(h, _)| h == host.as_ref()) {
                        let message = format!("host `{host}` is listed twice");
                        problems.push(Problem::at(path, text, item.span().start, message));
                    } else {
                        hosts.push((host.to_string(), item.span().start));
                    }
                }
                other => {
                    let message = format!("a host must be a string, not {}", a(other.type_str()));
                    problems.push(Problem::at(path, text, item.span().start, message));
                }
            }
        }
    }
    if !found && problems.is_empty() {
        problems.push(Problem::at(path, text, 0, format!("no `hosts` key: {EXPECTED}")));
    }
    hosts
}

/// `word` with its indefinite article.
fn a(word: &str) -> String {
    let article = if word.starts_with(['a', 'e', 'i', 'o', 'u']) { "an" } else { "a" };
    format!("{article} {word}")
}

#[cfg(test)]
mod tests;
