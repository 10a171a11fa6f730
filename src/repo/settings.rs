//! `jones-sync.toml`: optional repository-wide settings. Every setting has a default, so the file
//! may be absent.
//!
//! Reading them is strict, because a setting that is silently not applied (an ACL, the redaction
//! patterns, `prune`) is worse than an error:
//! - every problem is reported, each at its line and column, in the words of the file: a key that
//!   does not exist names the keys allowed there (and the table it belongs in, when it is a key of
//!   another table); a value of the wrong kind says what is expected and what was found;
//! - an `acl` that would lock jones-sync out of the nodes it creates is an error
//!   ([`crate::acl::lockout`]);
//! - the file is read only from inside the repository: a `jones-sync.toml` that is a symlink leaving
//!   it, or a directory, is an error (the sources report it, never showing the content), and so is
//!   a file whose name is a near miss of `jones-sync.toml` ([`near_miss`]: `jones_sync.toml`,
//!   `Jones-Sync.toml`, `jones-sync.yaml`, ...), which would otherwise be silently ignored. An error
//!   rather than a warning: the settings it holds (an ACL, the patterns that keep secrets out of
//!   plans) must not be skipped without anyone noticing.

use std::collections::BTreeMap;
use std::ops::Range;

use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::acl::AclEntry;
use crate::diagnostic::Problem;

/// Name of the settings file at the repository root.
pub const FILE: &str = "jones-sync.toml";

/// ZooKeeper's default `jute.maxbuffer`: the largest node data and request a server accepts.
pub const DEFAULT_MAX_NODE_BYTES: usize = 1_048_575;

/// The default of `max_request_bytes`.
pub const DEFAULT_MAX_REQUEST_BYTES: usize = 1_000_000;

#[derive(Debug, Clone, Default, PartialEq)]
pub struct Settings {
    pub zookeeper: ZooKeeperSettings,
    pub history: HistorySettings,
    pub sync: SyncSettings,
    /// `[services.<name>]`: settings of one service, by name.
    pub services: BTreeMap<String, ServiceSettings>,
    pub plan: PlanSettings,
    /// `[targets.<name>]`: the ZooKeeper clusters the repository is applied to, in file order;
    /// empty: the one cluster of `--zk`.
    pub targets: Vec<Target>,
    /// `[rollout] waves`: the targets' order, a wave at a time; `None`: one wave per target.
    pub waves: Option<Vec<Vec<Spanned<String>>>>,
    /// `[ui]`: the web UI of `jones-sync serve`.
    pub ui: UiSettings,
    /// `[schema]`: typed configuration.
    pub schema: SchemaSettings,
}

/// `[schema]`: typed configuration ([`crate::schema`]).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SchemaSettings {
    /// `require = true`: every service must have a `schema.json`.
    pub require: bool,
}

/// `[ui]`: the web UI of `jones-sync serve`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UiSettings {
    /// `commit_url = "https://git.example.com/org/config/commit/{sha}"`: where a commit is shown on
    /// the git host (`{sha}` becomes the full SHA).
    pub commit_url: Option<String>,
}

/// `[targets.<name>]`: one ZooKeeper cluster.
#[derive(Debug, Clone, PartialEq)]
pub struct Target {
    /// Its name, with its place in the file.
    pub name: Spanned<String>,
    /// `zk = "host:port,.../chroot"`.
    pub zk: Spanned<String>,
    /// `services = [...]`: only these services go to it; `None`: every service.
    pub services: Option<Vec<Spanned<String>>>,
}

/// `[history]`: the audit log kept in ZooKeeper below each service's record.
#[derive(Debug, Clone, PartialEq)]
pub struct HistorySettings {
    /// Audit entries kept per service; older ones are pruned by the apply that adds a new one.
    pub keep: Spanned<usize>,
}

/// The default number of audit entries kept per service.
pub const DEFAULT_KEEP: usize = 100;

impl Default for HistorySettings {
    fn default() -> Self {
        HistorySettings { keep: Spanned::new(0..0, DEFAULT_KEEP) }
    }
}

impl HistorySettings {
    pub fn keep(&self) -> usize {
        *self.keep.get_ref()
    }
}

/// `[services.<name>]`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ServiceSettings {
    /// `pin = "<rev>"`: the service's content comes from `services/<name>/` at this git revision,
    /// whatever the rest of the repository holds. With its place in the file, for problems.
    pub pin: Option<Spanned<String>>,
}

/// `[plan]`: how plans are shown.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct PlanSettings {
    /// Globs on key names whose values every rendering shows as `(sensitive)`; `None` (absent):
    /// [`crate::plan::redact::DEFAULT_PATTERNS`]; `[]` shows everything.
    pub sensitive_keys: Option<Vec<Spanned<String>>>,
}

impl PlanSettings {
    /// The patterns in force.
    pub fn sensitive_keys(&self) -> Vec<String> {
        match &self.sensitive_keys {
            Some(patterns) => patterns.iter().map(|p| p.get_ref().clone()).collect(),
            None => crate::plan::redact::DEFAULT_PATTERNS.iter().map(|p| p.to_string()).collect(),
        }
    }
}

/// `[sync]`: how jones-sync writes what it writes, and what else `plan` and `apply` do.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SyncSettings {
    /// Format of the nodemaps jones-sync writes (`json`, or `legacy` for 0.5.x Python clients).
    pub nodemap_format: crate::nodemap::Format,
    /// Delete managed services that are no longer in the repository, as `--prune` does.
    pub prune: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct ZooKeeperSettings {
    /// Largest conf, view or nodemap JSON, in bytes (the servers' `jute.maxbuffer`).
    pub max_node_bytes: usize,
    /// Largest encoded transaction sent in one request, in bytes.
    pub max_request_bytes: usize,
    /// ACL of every node jones-sync creates, and the ACL `plan` expects on managed nodes; `None`:
    /// ZooKeeper's open ACL, as Jones writes, and no ACL check.
    pub acl: Option<Vec<AclEntry>>,
}

impl Default for ZooKeeperSettings {
    fn default() -> Self {
        ZooKeeperSettings {
            max_node_bytes: DEFAULT_MAX_NODE_BYTES,
            max_request_bytes: DEFAULT_MAX_REQUEST_BYTES,
            acl: None,
        }
    }
}

impl Settings {
    /// Pinned services and their revision as written, by name.
    pub fn pins(&self) -> impl Iterator<Item = (&str, &Spanned<String>)> {
        self.services.iter().filter_map(|(name, s)| s.pin.as_ref().map(|pin| (name.as_str(), pin)))
    }

    /// The targets' names by wave: `[rollout] waves`, or one wave per target in file order.
    pub fn waves(&self) -> Vec<Vec<String>> {
        match &self.waves {
            Some(waves) => waves.iter().map(|wave| wave.iter().map(|t| t.get_ref().clone()).collect()).collect(),
            None => self.targets.iter().map(|t| vec![t.name.get_ref().clone()]).collect(),
        }
    }
}

/// Every problem of a settings file, sorted by place.
#[derive(Debug, Clone, PartialEq)]
pub struct Invalid(pub Vec<Problem>);

impl std::fmt::Display for Invalid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown: Vec<String> = self.0.iter().map(ToString::to_string).collect();
        f.write_str(&shown.join("; "))
    }
}

impl IntoIterator for Invalid {
    type Item = Problem;
    type IntoIter = std::vec::IntoIter<Problem>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

/// The tables of the file, with their keys, for problems that list what is allowed.
const TABLES: [(&str, &[&str]); 9] = [
    ("zookeeper", &["max_node_bytes", "max_request_bytes", "acl"]),
    ("history", &["keep"]),
    ("sync", &["nodemap_format", "prune"]),
    ("services", &[]),
    ("plan", &["sensitive_keys"]),
    ("targets", &[]),
    ("rollout", &["waves"]),
    ("ui", &["commit_url"]),
    ("schema", &["require"]),
];
const SERVICE_KEYS: &[&str] = &["pin"];
const TARGET_KEYS: &[&str] = &["zk", "services"];

/// The settings of the work tree at `dir` (its `jones-sync.toml`; the defaults without one), or
/// why they cannot be read, naming the file.
pub fn read_work_tree(dir: &std::path::Path) -> Result<Settings, String> {
    let path = dir.join(FILE);
    match std::fs::read(&path) {
        Ok(bytes) => match std::str::from_utf8(&bytes) {
            // The problems name the file and their lines themselves.
            Ok(text) => parse(text).map_err(|invalid| invalid.to_string()),
            Err(_) => Err(format!("{}: not valid UTF-8", path.display())),
        },
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => Ok(Settings::default()),
        Err(err) => Err(format!("cannot read `{}`: {err}", path.display())),
    }
}

/// Parses the settings file's text, or returns every problem in it.
pub fn parse(text: &str) -> Result<Settings, Invalid> {
    let root = match DeTable::parse(text) {
        Ok(root) => root,
        Err(err) => {
            let offset = err.span().map_or(0, |span| span.start);
            let message = format!("invalid settings: invalid TOML: {}", err.message().trim_end());
            return Err(Invalid(vec![Problem::at(FILE, text, offset, message)]));
        }
    };
    let mut reader = Reader { text, problems: Vec::new() };
    let mut settings = Settings::default();
    for (key, value) in root.get_ref() {
        let name = key.get_ref().as_ref();
        let Some(table) = reader.table_of(name, key.span(), value) else { continue };
        match name {
            "zookeeper" => reader.zookeeper(table, &mut settings.zookeeper),
            "history" => reader.history(table, &mut settings.history),
            "sync" => reader.sync(table, &mut settings.sync),
            "services" => reader.services(table, &mut settings.services),
            "plan" => reader.plan(table, &mut settings.plan),
            "targets" => reader.targets(table, &mut settings.targets),
            "rollout" => reader.rollout(table, &mut settings.waves),
            "ui" => reader.ui(table, &mut settings.ui),
            "schema" => reader.schema(table, &mut settings.schema),
            _ => unreachable!("table_of knows the tables"),
        }
    }
    reader.check_waves(&settings);
    if reader.problems.is_empty() {
        Ok(settings)
    } else {
        reader.problems.sort();
        reader.problems.dedup();
        Err(Invalid(reader.problems))
    }
}

/// Collects the problems of one file.
struct Reader<'t> {
    text: &'t str,
    problems: Vec<Problem>,
}

type Table<'i> = DeTable<'i>;

impl Reader<'_> {
    fn problem(&mut self, span: Range<usize>, message: String) {
        self.problems.push(Problem::at(FILE, self.text, span.start, format!("invalid settings: {message}")));
    }

    /// The table of a top-level key, or `None` after reporting an unknown key or a value that is
    /// not a table.
    fn table_of<'v, 'i>(
        &mut self,
        name: &str,
        at: Range<usize>,
        value: &'v Spanned<DeValue<'i>>,
    ) -> Option<&'v Table<'i>> {
        if !TABLES.iter().any(|(table, _)| *table == name) {
            let kind = if value.get_ref().is_table() { "table" } else { "key" };
            let shown = if kind == "table" { format!("[{name}]") } else { name.to_string() };
            let tables = "jones-sync.toml holds the tables `[zookeeper]`, `[history]`, `[sync]`, \
                          `[services.<name>]`, `[plan]`, `[targets.<name>]` and `[rollout]`";
            let hint = match (home_of(name), closest(name, TABLES.iter().map(|(t, _)| *t))) {
                (Some(home), _) => format!(": it belongs in `[{home}]` ({tables})"),
                (None, Some(table)) => format!(": did you mean `[{table}]`? ({tables})"),
                (None, None) => format!(" ({tables})"),
            };
            self.problem(at, format!("unknown {kind} `{shown}`{hint}"));
            return None;
        }
        match value.get_ref() {
            DeValue::Table(table) => Some(table),
            other => {
                let form = if name == "services" { "[services.<name>]".to_string() } else { format!("[{name}]") };
                self.problem(value.span(), format!("`{name}` must be a table (`{form}`), found {}", found(other)));
                None
            }
        }
    }

    /// Reports a key that `table` (shown as `shown`, allowing `allowed`) does not have.
    fn unknown_key(&mut self, shown: &str, allowed: &[&str], key: &Spanned<toml::de::DeString<'_>>) {
        let name = key.get_ref().as_ref();
        let list = match allowed {
            [only] => format!("`{shown}` has one key, `{only}`"),
            _ => {
                let quoted: Vec<String> = allowed.iter().map(|k| format!("`{k}`")).collect();
                let (last, rest) = quoted.split_last().expect("tables have keys");
                format!("the keys of `{shown}` are {} and {last}", rest.join(", "))
            }
        };
        let hint = match (closest(name, allowed.iter().copied()), home_of(name)) {
            (Some(known), _) => format!("did you mean `{known}`? ({list})"),
            (None, Some(home)) => format!("it belongs in `[{home}]` ({list})"),
            (None, None) => list,
        };
        self.problem(key.span(), format!("unknown key `{name}` in `{shown}`: {hint}"));
    }

    fn zookeeper(&mut self, table: &Table<'_>, out: &mut ZooKeeperSettings) {
        for (key, value) in table {
            match key.get_ref().as_ref() {
                "max_node_bytes" => {
                    if let Some(n) = self.count(value, "[zookeeper] max_node_bytes", "of bytes") {
                        out.max_node_bytes = n;
                    }
                }
                "max_request_bytes" => {
                    if let Some(n) = self.count(value, "[zookeeper] max_request_bytes", "of bytes") {
                        out.max_request_bytes = n;
                    }
                }
                "acl" => out.acl = self.acl(key.span(), value),
                _ => self.unknown_key("[zookeeper]", TABLES[0].1, key),
            }
        }
    }

    fn schema(&mut self, table: &Table<'_>, out: &mut SchemaSettings) {
        for (key, value) in table {
            match (key.get_ref().as_ref(), value.get_ref()) {
                ("require", DeValue::Boolean(require)) => out.require = *require,
                ("require", other) => self
                    .problem(value.span(), format!("`[schema] require` must be true or false, found {}", found(other))),
                _ => self.unknown_key("[schema]", TABLES[8].1, key),
            }
        }
    }

    fn ui(&mut self, table: &Table<'_>, out: &mut UiSettings) {
        for (key, value) in table {
            match (key.get_ref().as_ref(), value.get_ref()) {
                ("commit_url", DeValue::String(url)) => {
                    let url = url.to_string();
                    if !(url.starts_with("https://") || url.starts_with("http://")) || !url.contains("{sha}") {
                        self.problem(
                            value.span(),
                            format!(
                                "`[ui] commit_url` must be an http(s) URL holding `{{sha}}` (\"https://git.example.com/org/config/commit/{{sha}}\"), found \"{}\"",
                                url.escape_debug()
                            ),
                        );
                    } else {
                        out.commit_url = Some(url);
                    }
                }
                ("commit_url", other) => self.problem(
                    value.span(),
                    format!(
                        "`[ui] commit_url` must be a string (an http(s) URL holding `{{sha}}`), found {}",
                        found(other)
                    ),
                ),
                _ => self.unknown_key("[ui]", TABLES[7].1, key),
            }
        }
    }

    fn history(&mut self, table: &Table<'_>, out: &mut HistorySettings) {
        for (key, value) in table {
            match key.get_ref().as_ref() {
                "keep" => {
                    if let Some(n) = self.count(value, "[history] keep", "of audit entries") {
                        out.keep = Spanned::new(value.span(), n);
                    }
                }
                _ => self.unknown_key("[history]", TABLES[1].1, key),
            }
        }
    }

    fn sync(&mut self, table: &Table<'_>, out: &mut SyncSettings) {
        for (key, value) in table {
            match (key.get_ref().as_ref(), value.get_ref()) {
                ("nodemap_format", DeValue::String(format)) => match format.as_ref() {
                    "json" => out.nodemap_format = crate::nodemap::Format::Json,
                    "legacy" => out.nodemap_format = crate::nodemap::Format::Legacy,
                    other => self.problem(
                        value.span(),
                        format!("`[sync] nodemap_format` must be \"json\" or \"legacy\", found \"{other}\""),
                    ),
                },
                ("nodemap_format", other) => self.problem(
                    value.span(),
                    format!("`[sync] nodemap_format` must be \"json\" or \"legacy\", found {}", found(other)),
                ),
                ("prune", DeValue::Boolean(prune)) => out.prune = *prune,
                ("prune", other) => {
                    self.problem(value.span(), format!("`[sync] prune` must be true or false, found {}", found(other)))
                }
                _ => self.unknown_key("[sync]", TABLES[2].1, key),
            }
        }
    }

    fn services(&mut self, table: &Table<'_>, out: &mut BTreeMap<String, ServiceSettings>) {
        for (key, value) in table {
            let name = key.get_ref().as_ref();
            let shown = format!("[services.{}]", quoted_key(name));
            let DeValue::Table(service) = value.get_ref() else {
                let message = format!(
                    "`services.{}` must be a table (`{shown}`, holding `pin`), found {}",
                    quoted_key(name),
                    found(value.get_ref())
                );
                self.problem(value.span(), message);
                continue;
            };
            let mut settings = ServiceSettings::default();
            for (key, value) in service {
                match (key.get_ref().as_ref(), value.get_ref()) {
                    ("pin", DeValue::String(rev)) if rev.trim().is_empty() => {
                        self.problem(value.span(), "a pin must name a git revision".to_string())
                    }
                    ("pin", DeValue::String(rev)) => settings.pin = Some(Spanned::new(value.span(), rev.to_string())),
                    ("pin", other) => self.problem(
                        value.span(),
                        format!("`{shown} pin` must be a git revision (such as \"v1.4\"), found {}", found(other)),
                    ),
                    _ => self.unknown_key(&shown, SERVICE_KEYS, key),
                }
            }
            out.insert(name.to_string(), settings);
        }
    }

    fn targets(&mut self, table: &Table<'_>, out: &mut Vec<Target>) {
        for (key, value) in table {
            let name = key.get_ref().as_ref();
            let shown = format!("[targets.{}]", quoted_key(name));
            if let Some(why) = crate::repo::names::dir_name_problem(name) {
                self.problem(key.span(), format!("invalid target name `{name}`: {why}"));
                continue;
            }
            let DeValue::Table(target) = value.get_ref() else {
                let message = format!(
                    "`targets.{}` must be a table (`{shown}`, holding `zk`), found {}",
                    quoted_key(name),
                    found(value.get_ref())
                );
                self.problem(value.span(), message);
                continue;
            };
            let mut zk = None;
            let mut services = None;
            for (key, value) in target {
                match (key.get_ref().as_ref(), value.get_ref()) {
                    ("zk", DeValue::String(connect)) => match crate::zk::connect::check_connect_string(connect) {
                        Ok(_) => zk = Some(Spanned::new(value.span(), connect.to_string())),
                        Err(why) => self.problem(value.span(), format!("`{shown} zk`: {why}")),
                    },
                    ("zk", other) => self.problem(
                        value.span(),
                        format!(
                            "`{shown} zk` must be a connect string (\"zk1:2181,zk2:2181/chroot\"), found {}",
                            found(other)
                        ),
                    ),
                    ("services", _) => {
                        let Some((items, _)) = self.strings(value, &format!("{shown} services"), "service names")
                        else {
                            continue;
                        };
                        for item in &items {
                            if let Some(why) = crate::repo::names::dir_name_problem(item.get_ref()) {
                                self.problem(item.span(), format!("invalid service name `{}`: {why}", item.get_ref()));
                            }
                        }
                        services = Some(items);
                    }
                    _ => self.unknown_key(&shown, TARGET_KEYS, key),
                }
            }
            if zk.is_none() && target.get("zk").is_none() {
                self.problem(key.span(), format!("`{shown}` needs `zk`, the target's connect string"));
            }
            // Kept even without a valid `zk` (the file is refused then anyway), so that the waves
            // naming it are not also said to name an unknown target.
            let zk = zk.unwrap_or_else(|| Spanned::new(key.span(), String::new()));
            out.push(Target { name: Spanned::new(key.span(), name.to_string()), zk, services });
        }
        out.sort_by_key(|target| target.name.span().start);
        // Each target's credentials come from a variable of its own.
        for (i, target) in out.iter().enumerate() {
            let var = crate::zk::connect::target_auth_var(target.name.get_ref());
            if let Some(earlier) =
                out[..i].iter().find(|t| crate::zk::connect::target_auth_var(t.name.get_ref()) == var)
            {
                let message = format!(
                    "targets `{}` and `{}` would both read their credentials from {var}: rename one",
                    earlier.name.get_ref(),
                    target.name.get_ref()
                );
                self.problem(target.name.span(), message);
            }
        }
    }

    fn rollout(&mut self, table: &Table<'_>, out: &mut Option<Vec<Vec<Spanned<String>>>>) {
        for (key, value) in table {
            match (key.get_ref().as_ref(), value.get_ref()) {
                ("waves", DeValue::Array(waves)) => {
                    let mut all = Vec::new();
                    for wave in waves.iter() {
                        match self.strings(wave, "[rollout] waves", "target names") {
                            Some((names, _)) if !names.is_empty() => all.push(names),
                            Some(_) => self.problem(wave.span(), "a wave names at least one target".to_string()),
                            None => {}
                        }
                    }
                    *out = Some(all);
                }
                ("waves", other) => self.problem(
                    value.span(),
                    format!(
                        "`[rollout] waves` must be a list of waves (`[[\"canary\"], [\"a\", \"b\"]]`), found {}",
                        found(other)
                    ),
                ),
                _ => self.unknown_key("[rollout]", TABLES[6].1, key),
            }
        }
    }

    /// Every target in exactly one wave, and every wave's targets known.
    fn check_waves(&mut self, settings: &Settings) {
        let Some(waves) = &settings.waves else { return };
        let known: Vec<&str> = settings.targets.iter().map(|t| t.name.get_ref().as_str()).collect();
        let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
        for (number, wave) in waves.iter().enumerate() {
            for name in wave {
                let target = name.get_ref().as_str();
                if !known.contains(&target) {
                    let hint = closest(target, known.iter().copied())
                        .map(|k| format!(" (did you mean `{k}`?)"))
                        .unwrap_or_default();
                    self.problem(name.span(), format!("`[rollout] waves` names an unknown target `{target}`{hint}"));
                } else if let Some(first) = seen.insert(target, number + 1) {
                    self.problem(
                        name.span(),
                        format!(
                            "target `{target}` is in wave {first} and in wave {}: a target is in one wave",
                            number + 1
                        ),
                    );
                }
            }
        }
        for target in &settings.targets {
            if !seen.contains_key(target.name.get_ref().as_str()) {
                self.problem(
                    target.name.span(),
                    format!("target `{}` is in no wave of `[rollout] waves`: add it to one", target.name.get_ref()),
                );
            }
        }
    }

    fn plan(&mut self, table: &Table<'_>, out: &mut PlanSettings) {
        for (key, value) in table {
            match key.get_ref().as_ref() {
                "sensitive_keys" => {
                    let Some((items, _)) =
                        self.strings(value, "[plan] sensitive_keys", "key patterns such as \"*token*\"")
                    else {
                        continue;
                    };
                    for pattern in &items {
                        if let Err(err) = crate::plan::redact::check_pattern(pattern.get_ref()) {
                            self.problem(pattern.span(), err.to_string());
                        }
                    }
                    out.sensitive_keys = Some(items);
                }
                _ => self.unknown_key("[plan]", TABLES[4].1, key),
            }
        }
    }

    /// `[zookeeper] acl`: entries that parse, not empty, and not locking jones-sync out.
    fn acl(&mut self, key: Range<usize>, value: &Spanned<DeValue<'_>>) -> Option<Vec<AclEntry>> {
        let (items, complete) =
            self.strings(value, "[zookeeper] acl", "`scheme:id:perms` entries such as \"world:anyone:r\"")?;
        let mut entries = Vec::new();
        for item in &items {
            match item.get_ref().parse::<AclEntry>() {
                Ok(entry) => entries.push(entry),
                Err(message) => self.problem(item.span(), message),
            }
        }
        if !complete || entries.len() < items.len() {
            return None;
        }
        if entries.is_empty() {
            let message = "an empty `acl` would lock everyone out; leave it out for the open ACL".to_string();
            self.problem(key, message);
            return None;
        }
        if let Some(why) = crate::acl::lockout(&entries, crate::acl::Connecting::Anyone) {
            self.problem(key, why);
            return None;
        }
        Some(entries)
    }

    /// A whole number (at least 1) of `unit`, or `None` after reporting why not.
    fn count(&mut self, value: &Spanned<DeValue<'_>>, shown: &str, unit: &str) -> Option<usize> {
        let expected = format!("`{shown}` must be a whole number {unit}, at least 1");
        match value.get_ref() {
            DeValue::Integer(n) => match usize::from_str_radix(n.as_str(), n.radix()) {
                Ok(0) => {
                    let why = if shown == "[history] keep" { " (the entry of the last apply)" } else { "" };
                    self.problem(value.span(), format!("{expected}{why}, found 0"));
                    None
                }
                Ok(n) => Some(n),
                Err(_) if n.as_str().starts_with('-') => {
                    self.problem(value.span(), format!("{expected}, found {}", n.as_str()));
                    None
                }
                Err(_) => {
                    self.problem(value.span(), format!("{expected}: {} is too large", n.as_str()));
                    None
                }
            },
            other => {
                self.problem(value.span(), format!("{expected}, found {}", found(other)));
                None
            }
        }
    }

    /// The strings of a list (each with its place) and whether the list holds only strings, or
    /// `None` for a value that is no list; what is not a string is reported.
    fn strings(
        &mut self,
        value: &Spanned<DeValue<'_>>,
        shown: &str,
        what: &str,
    ) -> Option<(Vec<Spanned<String>>, bool)> {
        let DeValue::Array(items) = value.get_ref() else {
            self.problem(value.span(), format!("`{shown}` must be a list of {what}, found {}", found(value.get_ref())));
            return None;
        };
        let mut strings = Vec::new();
        for item in items.iter() {
            match item.get_ref() {
                DeValue::String(s) => strings.push(Spanned::new(item.span(), s.to_string())),
                other => self.problem(item.span(), format!("`{shown}` holds {what}, found {}", found(other))),
            }
        }
        let complete = strings.len() == items.len();
        Some((strings, complete))
    }
}

/// What a value is, in the words of someone editing the file.
fn found(value: &DeValue<'_>) -> String {
    match value {
        DeValue::String(_) => "a string".into(),
        DeValue::Integer(n) => format!("the number {}", n.as_str()),
        DeValue::Float(n) => format!("the number {}", n.as_str()),
        DeValue::Boolean(b) => format!("{b}"),
        DeValue::Datetime(_) => "a date".into(),
        DeValue::Array(_) => "a list".into(),
        DeValue::Table(_) => "a table".into(),
    }
}

/// The table a key of another table belongs in.
fn home_of(key: &str) -> Option<&'static str> {
    TABLES.iter().find(|(_, keys)| keys.contains(&key)).map(|(table, _)| *table)
}

/// The known name closest to a misspelt one, when it is close.
fn closest<'k>(name: &str, known: impl Iterator<Item = &'k str>) -> Option<&'k str> {
    known
        .map(|k| (strsim::damerau_levenshtein(&name.to_lowercase(), k), k))
        .filter(|(distance, k)| *distance <= 2.min(k.len() / 3 + 1))
        .min()
        .map(|(_, k)| k)
}

/// A key as TOML would write it in a table header: bare when it can be.
fn quoted_key(key: &str) -> String {
    if !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        key.to_string()
    } else {
        format!("{key:?}")
    }
}

/// Whether a file at the repository root looks meant as the settings file without being named
/// `jones-sync.toml`: another case, `_` or a space for `-`, another config extension (`.yaml`,
/// `.yml`, `.json`, `.ini`, `.cfg`, `.conf`, `.tml`), a leading `.`, or a typo of up to two
/// letters. Backups and examples (`jones-sync.toml.example`, `.bak`) are not near misses.
pub fn near_miss(name: &str) -> bool {
    if name == FILE {
        return false;
    }
    let lower = name.to_lowercase();
    let lower = lower.strip_prefix('.').unwrap_or(&lower);
    let (stem, extension) = lower.rsplit_once('.').unwrap_or((lower, ""));
    let stem: String = stem.chars().filter(|c| !matches!(c, '-' | '_' | ' ')).collect();
    let config = ["toml", "tml", "yaml", "yml", "json", "ini", "cfg", "conf"];
    (stem == "jonessync" && config.contains(&extension)) || strsim::damerau_levenshtein(lower, FILE) <= 2
}

/// The problem of a near miss ([`near_miss`]) named `name`.
pub fn near_miss_problem(name: &str) -> Problem {
    Problem::new(
        name,
        format!(
            "not read: jones-sync reads its settings only from `{FILE}` at the repository root; \
             rename this file to `{FILE}` (in TOML), or remove it"
        ),
    )
}

/// The problem of a `jones-sync.toml` that is a directory.
pub fn directory_problem() -> Problem {
    Problem::new(FILE, "is a directory: the settings file must be a file")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The problems of `text`, as `validate` prints them (without `error: `).
    fn problems(text: &str) -> Vec<String> {
        parse(text).unwrap_err().0.iter().map(ToString::to_string).collect()
    }

    #[test]
    fn empty_file_means_defaults() {
        assert_eq!(parse("").unwrap(), Settings::default());
        assert_eq!(Settings::default().zookeeper.max_node_bytes, 1_048_575);
        assert_eq!(Settings::default().zookeeper.max_request_bytes, 1_000_000);
    }

    #[test]
    fn every_setting_is_read() {
        let text = "[zookeeper]\nmax_node_bytes = 2_000\nmax_request_bytes = 0x400\n\
                    acl = [\"world:anyone:cdrwa\"]\n[history]\nkeep = 5\n[sync]\nprune = true\n\
                    nodemap_format = \"legacy\"\n[services.shop]\npin = \"v1.2\"\n[services.web]\n\
                    [plan]\nsensitive_keys = [\"*pin*\"]\n";
        let settings = parse(text).unwrap();
        assert_eq!(settings.zookeeper.max_node_bytes, 2000);
        assert_eq!(settings.zookeeper.max_request_bytes, 1024);
        assert_eq!(settings.zookeeper.acl.as_ref().unwrap()[0].to_string(), "world:anyone:cdrwa");
        assert_eq!(settings.history.keep(), 5);
        assert!(settings.sync.prune);
        assert_eq!(settings.sync.nodemap_format, crate::nodemap::Format::Legacy);
        let pins: Vec<(&str, &str)> = settings.pins().map(|(name, pin)| (name, pin.get_ref().as_str())).collect();
        assert_eq!(pins, [("shop", "v1.2")]);
        assert_eq!(settings.services.len(), 2);
        assert_eq!(settings.plan.sensitive_keys(), ["*pin*"]);
        assert!(parse("[plan]\nsensitive_keys = []\n").unwrap().plan.sensitive_keys().is_empty());
        assert_eq!(Settings::default().plan.sensitive_keys(), crate::plan::redact::DEFAULT_PATTERNS);
        assert!(!Settings::default().sync.prune);
    }

    /// Regression: serde stopped at the first problem and spoke Rust (`invalid type: string "1MB",
    /// expected usize`, `expected struct ZooKeeperSettings`).
    #[test]
    fn every_problem_is_reported_at_its_place_in_the_words_of_the_file() {
        let text = "zookeeper = 5\n[history]\nkeep = \"lots\"\n[sync]\nprune = \"yes\"\nnodemap_format = \"xml\"\n\
                    [plan]\nsensitive_keys = \"*token*\"\n[services]\nshop = \"v1\"\n";
        assert_eq!(
            problems(text),
            [
                "jones-sync.toml:1:13: invalid settings: `zookeeper` must be a table (`[zookeeper]`), found the number 5",
                "jones-sync.toml:3:8: invalid settings: `[history] keep` must be a whole number of audit entries, at least 1, found a string",
                "jones-sync.toml:5:9: invalid settings: `[sync] prune` must be true or false, found a string",
                "jones-sync.toml:6:18: invalid settings: `[sync] nodemap_format` must be \"json\" or \"legacy\", found \"xml\"",
                "jones-sync.toml:8:18: invalid settings: `[plan] sensitive_keys` must be a list of key patterns such as \"*token*\", found a string",
                "jones-sync.toml:10:8: invalid settings: `services.shop` must be a table (`[services.shop]`, holding `pin`), found a string",
            ]
        );
        assert_eq!(
            problems("[zookeeper]\nmax_request_bytes = \"1MB\"\nmax_node_bytes = 1.5\n"),
            [
                "jones-sync.toml:2:21: invalid settings: `[zookeeper] max_request_bytes` must be a whole number of bytes, at least 1, found a string",
                "jones-sync.toml:3:18: invalid settings: `[zookeeper] max_node_bytes` must be a whole number of bytes, at least 1, found the number 1.5",
            ]
        );
        assert_eq!(
            problems("[zookeeper]\nmax_node_bytes = -1\nmax_request_bytes = 99999999999999999999\n"),
            [
                "jones-sync.toml:2:18: invalid settings: `[zookeeper] max_node_bytes` must be a whole number of bytes, at least 1, found -1",
                "jones-sync.toml:3:21: invalid settings: `[zookeeper] max_request_bytes` must be a whole number of bytes, at least 1: 99999999999999999999 is too large",
            ]
        );
        for problem in problems("[zookeeper]\nacl = \"world:anyone:r\"\n[history]\nkeep = true\n") {
            assert!(!problem.contains("expected") && !problem.contains("usize"), "{problem}");
        }
        // A syntax error stops the reading (what follows cannot be trusted), at its place.
        let problem = &problems("[zookeeper\nmax_node_bytes = 1\n")[0];
        assert!(problem.starts_with("jones-sync.toml:1:11: invalid settings: invalid TOML: "), "{problem}");
    }

    #[test]
    fn unknown_keys_name_the_keys_allowed_there() {
        assert_eq!(
            problems("[zookeeper]\nmax_node_byte = 5\nport = 2181\n[history]\nlimit = 3\n"),
            [
                "jones-sync.toml:2:1: invalid settings: unknown key `max_node_byte` in `[zookeeper]`: did you mean `max_node_bytes`? (the keys of `[zookeeper]` are `max_node_bytes`, `max_request_bytes` and `acl`)",
                "jones-sync.toml:3:1: invalid settings: unknown key `port` in `[zookeeper]`: the keys of `[zookeeper]` are `max_node_bytes`, `max_request_bytes` and `acl`",
                "jones-sync.toml:5:1: invalid settings: unknown key `limit` in `[history]`: `[history]` has one key, `keep`",
            ]
        );
        assert_eq!(
            problems(
                "prune = true\n[zookeepr]\n[sync]\nkeep = 3\n[services.shop]\npinn = \"v1\"\n[services.\"a b\"]\nx = 1\n[extra]\n"
            ),
            [
                "jones-sync.toml:1:1: invalid settings: unknown key `prune`: it belongs in `[sync]` (jones-sync.toml holds the tables `[zookeeper]`, `[history]`, `[sync]`, `[services.<name>]`, `[plan]`, `[targets.<name>]` and `[rollout]`)",
                "jones-sync.toml:2:2: invalid settings: unknown table `[zookeepr]`: did you mean `[zookeeper]`? (jones-sync.toml holds the tables `[zookeeper]`, `[history]`, `[sync]`, `[services.<name>]`, `[plan]`, `[targets.<name>]` and `[rollout]`)",
                "jones-sync.toml:4:1: invalid settings: unknown key `keep` in `[sync]`: it belongs in `[history]` (the keys of `[sync]` are `nodemap_format` and `prune`)",
                "jones-sync.toml:6:1: invalid settings: unknown key `pinn` in `[services.shop]`: did you mean `pin`? (`[services.shop]` has one key, `pin`)",
                "jones-sync.toml:8:1: invalid settings: unknown key `x` in `[services.\"a b\"]`: `[services.\"a b\"]` has one key, `pin`",
                "jones-sync.toml:9:2: invalid settings: unknown table `[extra]` (jones-sync.toml holds the tables `[zookeeper]`, `[history]`, `[sync]`, `[services.<name>]`, `[plan]`, `[targets.<name>]` and `[rollout]`)",
            ]
        );
    }

    #[test]
    fn keep_zero_empty_pins_and_bad_patterns_are_errors_at_their_place() {
        assert_eq!(
            problems("[history]\nkeep = 0\n[services.shop]\npin = \" \"\n[services.web]\npin = 3\n"),
            [
                "jones-sync.toml:2:8: invalid settings: `[history] keep` must be a whole number of audit entries, at least 1 (the entry of the last apply), found 0",
                "jones-sync.toml:4:7: invalid settings: a pin must name a git revision",
                "jones-sync.toml:6:7: invalid settings: `[services.web] pin` must be a git revision (such as \"v1.4\"), found the number 3",
            ]
        );
        assert_eq!(
            problems("[plan]\nsensitive_keys = [\"ok\", \"[x\", 3]\n"),
            [
                "jones-sync.toml:2:25: invalid settings: invalid sensitive key pattern `[x`: unclosed character class; missing ']'",
                "jones-sync.toml:2:31: invalid settings: `[plan] sensitive_keys` holds key patterns such as \"*token*\", found the number 3",
            ]
        );
    }

    #[test]
    fn a_bad_acl_entry_is_reported_at_its_place() {
        let found = problems("[zookeeper]\nacl = [\"world:anyone:r\", \"world:anyone:q\", 5]\n");
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found[0].starts_with(
            "jones-sync.toml:2:26: invalid settings: invalid ACL `world:anyone:q`: unknown permission `q`"
        ));
        assert!(
            found[1].starts_with("jones-sync.toml:2:44: invalid settings: `[zookeeper] acl` holds `scheme:id:perms`")
        );
        assert_eq!(
            problems("[zookeeper]\nacl = []\n"),
            [
                "jones-sync.toml:2:1: invalid settings: an empty `acl` would lock everyone out; leave it out for the open ACL"
            ]
        );
    }

    const DEPLOY: &str = "digest:deploy:rSpU/XyHmx21xPS/a6gMkHIbvkE=";
    const OTHER: &str = "digest:other:tOZjCThA8OKxtaNg5wuTJhLSUfo=";

    /// Regression: `acl = ["world:anyone:r"]` was valid, and the apply that created `/services`
    /// with it could neither lock nor write, leaving it read-only for everyone.
    #[test]
    fn an_acl_that_locks_jones_sync_out_is_an_error_at_its_line() {
        assert_eq!(
            problems("[sync]\nprune = false\n[zookeeper]\nacl = [\"world:anyone:r\"]\n"),
            [
                "jones-sync.toml:4:1: invalid settings: `acl` gives nobody `cdw`: jones-sync would be locked out of the nodes it creates with it, since it needs `r` to read them, `w` to write their data, `c` to add environments, audit entries and locks, and `d` to remove them; nobody has the admin permission `a`, so only a ZooKeeper superuser could undo that",
            ]
        );
        let locked_out = |acl: &str| parse(&format!("[zookeeper]\nacl = {acl}\n")).is_err();
        // Other instances: no delete; read missing; write given to one user, create to another.
        assert!(locked_out("[\"world:anyone:crwa\"]"));
        assert!(locked_out(&format!("[\"{DEPLOY}:cdwa\"]")));
        assert!(locked_out(&format!("[\"world:anyone:r\", \"{DEPLOY}:cda\", \"{OTHER}:w\"]")));
        let problem =
            &problems(&format!("[zookeeper]\nacl = [\"world:anyone:r\", \"{DEPLOY}:cda\", \"{OTHER}:w\"]\n"))[0];
        assert!(problem.contains("gives all of `cdrw` to no one identity"), "{problem}");
        assert!(problem.contains("only an identity with the admin permission `a`"), "{problem}");
        // What can work: one identity with everything, with `world` helping, or a scheme that
        // cannot be judged before connecting (an `ip`, a TLS certificate).
        for ok in [
            "[\"world:anyone:cdrwa\"]",
            "[\"world:anyone:cdrw\"]",
            &format!("[\"world:anyone:r\", \"{DEPLOY}:cdrwa\"]"),
            &format!("[\"world:anyone:r\", \"{DEPLOY}:cdw\", \"{OTHER}:a\"]"),
            "[\"world:anyone:r\", \"ip:10.0.0.0/8:cdrwa\"]",
            "[\"x509:CN=deploy:cdrwa\"]",
        ] {
            assert!(!locked_out(ok), "{ok}: {:?}", problems(&format!("[zookeeper]\nacl = {ok}\n")));
        }
    }

    #[test]
    fn near_misses_of_the_file_name() {
        for name in [
            "jones_sync.toml",
            "Jones-Sync.toml",
            "JONES-SYNC.TOML",
            "jones-sync.yaml",
            "jones-sync.yml",
            "jones-sync.json",
            "jonessync.toml",
            ".jones-sync.toml",
            "jones-sync.tom",
            "jones-snyc.toml",
            "jones sync.toml",
        ] {
            assert!(near_miss(name), "{name}");
        }
        for name in [FILE, "jones-sync.toml.example", "jones-sync.toml.bak", "README.md", "jones-sync.md", "Cargo.toml"]
        {
            assert!(!near_miss(name), "{name}");
        }
    }

    #[test]
    fn the_ui_commit_url_must_be_a_link_holding_the_sha() {
        let url = "https://git.example.com/config/commit/{sha}";
        assert_eq!(parse(&format!("[ui]\ncommit_url = \"{url}\"\n")).unwrap().ui.commit_url.as_deref(), Some(url));
        let found = problems("[ui]\ncommit_url = \"https://git.example.com/commit/\"\n");
        assert!(
            found[0].starts_with(
                "jones-sync.toml:2:14: invalid settings: `[ui] commit_url` must be an http(s) URL holding `{sha}`"
            ),
            "{found:?}"
        );
        assert!(problems("[ui]\ncommit_url = 3\n")[0].contains("must be a string"));
        assert!(problems("[ui]\ncommit = \"x\"\n")[0].contains("unknown key `commit` in `[ui]`"));
    }

    #[test]
    fn targets_and_waves_are_read_in_file_order() {
        let text = "[targets.use1-canary]\nzk = \"zk1.use1:2181,zk2.use1:2181/jones-canary\"\n\
                    [targets.use1]\nzk = \"zk1.use1:2181\"\n[targets.euw1]\nzk = \"zk1.euw1:2181\"\n\
                    services = [\"shop\", \"search\"]\n";
        let settings = parse(text).unwrap();
        let names: Vec<&str> = settings.targets.iter().map(|t| t.name.get_ref().as_str()).collect();
        assert_eq!(names, ["use1-canary", "use1", "euw1"]);
        assert_eq!(settings.targets[0].zk.get_ref(), "zk1.use1:2181,zk2.use1:2181/jones-canary");
        let only: Vec<&str> =
            settings.targets[2].services.as_ref().unwrap().iter().map(|s| s.get_ref().as_str()).collect();
        assert_eq!(only, ["shop", "search"]);
        assert_eq!(settings.waves(), [vec!["use1-canary"], vec!["use1"], vec!["euw1"]]);
        let waves = parse(&format!("{text}[rollout]\nwaves = [[\"use1-canary\"], [\"use1\", \"euw1\"]]\n")).unwrap();
        assert_eq!(waves.waves(), [vec!["use1-canary".to_string()], vec!["use1".into(), "euw1".into()]]);
        assert!(Settings::default().waves().is_empty());
    }

    #[test]
    fn every_target_and_wave_problem_is_reported_at_its_line() {
        let text = "[targets.a]\nzk = \"http://zk1:2181\"\n[targets.b]\nservices = [\"shop\"]\n\
                    [targets.c]\nzk = \"zk1:2181\"\nzkk = 1\n[targets.d]\nzk = \"zk2:2181\"\n\
                    [targets.e]\nzk = \"zk3:2181\"\n\
                    [rollout]\nwaves = [[\"c\", \"x\"], [\"c\"], []]\n";
        let found = problems(text);
        let at = |needle: &str| {
            found.iter().find(|p| p.contains(needle)).unwrap_or_else(|| panic!("{needle}: {found:#?}")).clone()
        };
        assert!(at("`[targets.a] zk`").starts_with("jones-sync.toml:2:6:"));
        assert!(at("`[targets.b]` needs `zk`").starts_with("jones-sync.toml:3:10:"));
        assert!(at("unknown key `zkk` in `[targets.c]`").contains("did you mean `zk`?"));
        assert!(at("unknown target `x`").starts_with("jones-sync.toml:13:16:"));
        assert!(at("target `c` is in wave 1 and in wave 2").starts_with("jones-sync.toml:13:23:"));
        assert!(at("a wave names at least one target").starts_with("jones-sync.toml:13:29:"));
        // Targets a and b are in no wave (their own problems aside): each said once.
        assert_eq!(found.iter().filter(|p| p.contains("is in no wave")).count(), 4, "{found:#?}");
        assert!(!found.iter().any(|p| p.contains("unknown target `a`")));
        assert!(at("target `d` is in no wave").starts_with("jones-sync.toml:8:10:"));
        assert!(at("target `e` is in no wave").starts_with("jones-sync.toml:10:10:"));
        assert!(problems("[targets.\"a/b\"]\nzk = \"zk1:2181\"\n")[0].contains("invalid target name `a/b`"));
        assert_eq!(
            problems("[targets.eu-west]\nzk = \"zk1:2181\"\n[targets.eu_west]\nzk = \"zk2:2181\"\n"),
            ["jones-sync.toml:3:10: invalid settings: targets `eu-west` and `eu_west` would both read their \
              credentials from JONES_SYNC_ZK_AUTH_EU_WEST: rename one"]
        );
    }
}
