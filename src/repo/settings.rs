//! `jones-sync.toml`: optional repository-wide settings. Every setting has a default, so the file
//! may be absent; unknown keys are errors (a typo must not be silently ignored).

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

use crate::diagnostic::Problem;

/// Name of the settings file at the repository root.
pub const FILE: &str = "jones-sync.toml";

/// ZooKeeper's default `jute.maxbuffer`: the largest node data and request a server accepts.
pub const DEFAULT_MAX_NODE_BYTES: usize = 1_048_575;

#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    #[serde(default)]
    pub zookeeper: ZooKeeperSettings,
    #[serde(default)]
    pub history: HistorySettings,
    #[serde(default)]
    pub sync: SyncSettings,
    /// `[services.<name>]`: settings of one service, by name.
    #[serde(default)]
    pub services: BTreeMap<String, ServiceSettings>,
    #[serde(default)]
    pub plan: PlanSettings,
}

/// `[history]`: the audit log kept in ZooKeeper below each service's record.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct HistorySettings {
    /// Audit entries kept per service; older ones are pruned by the apply that adds a new one.
    #[serde(default = "default_keep")]
    pub keep: Spanned<usize>,
}

/// The default number of audit entries kept per service.
pub const DEFAULT_KEEP: usize = 100;

fn default_keep() -> Spanned<usize> {
    Spanned::new(0..0, DEFAULT_KEEP)
}

impl Default for HistorySettings {
    fn default() -> Self {
        HistorySettings { keep: default_keep() }
    }
}

impl HistorySettings {
    pub fn keep(&self) -> usize {
        *self.keep.get_ref()
    }
}

/// `[services.<name>]`.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ServiceSettings {
    /// `pin = "<rev>"`: the service's content comes from `services/<name>/` at this git revision,
    /// whatever the rest of the repository holds. With its place in the file, for problems.
    pub pin: Option<Spanned<String>>,
}

/// `[plan]`: how plans are shown.
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
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
#[derive(Debug, Clone, Default, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SyncSettings {
    /// Format of the nodemaps jones-sync writes (`json`, or `legacy` for 0.5.x Python clients).
    #[serde(default)]
    pub nodemap_format: crate::nodemap::Format,
    /// Delete managed services that are no longer in the repository, as `--prune` does.
    #[serde(default)]
    pub prune: bool,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ZooKeeperSettings {
    /// Largest conf, view or nodemap JSON, in bytes (the servers' `jute.maxbuffer`).
    #[serde(default = "default_max_node_bytes")]
    pub max_node_bytes: usize,
    /// Largest encoded transaction sent in one request, in bytes.
    #[serde(default = "default_max_request_bytes")]
    pub max_request_bytes: usize,
    /// ACL of every node jones-sync creates, and the ACL `plan` expects on managed nodes; `None`:
    /// ZooKeeper's open ACL, as Jones writes, and no ACL check.
    #[serde(default)]
    pub acl: Option<Vec<crate::acl::AclEntry>>,
}

fn default_max_node_bytes() -> usize {
    DEFAULT_MAX_NODE_BYTES
}

fn default_max_request_bytes() -> usize {
    1_000_000
}

impl Default for ZooKeeperSettings {
    fn default() -> Self {
        ZooKeeperSettings {
            max_node_bytes: default_max_node_bytes(),
            max_request_bytes: default_max_request_bytes(),
            acl: None,
        }
    }
}

/// Parses the settings file's text.
pub fn parse(text: &str) -> Result<Settings, Problem> {
    check_acl_entries(text)?;
    let settings: Settings = toml::from_str(text).map_err(|err| {
        let offset = err.span().map_or(0, |span| span.start);
        Problem::at(FILE, text, offset, format!("invalid settings: {}", err.message().trim_end()))
    })?;
    if settings.history.keep() == 0 {
        let message = "invalid settings: [history] keep must be at least 1 (the entry of the last apply)";
        return Err(Problem::at(FILE, text, settings.history.keep.span().start, message));
    }
    if let Some(pin) = settings.services.values().filter_map(|s| s.pin.as_ref()).find(|p| p.get_ref().trim().is_empty())
    {
        return Err(Problem::at(FILE, text, pin.span().start, "invalid settings: a pin must name a git revision"));
    }
    for pattern in settings.plan.sensitive_keys.iter().flatten() {
        if let Err(err) = crate::plan::redact::check_pattern(pattern.get_ref()) {
            return Err(Problem::at(FILE, text, pattern.span().start, format!("invalid settings: {err}")));
        }
    }
    if settings.zookeeper.acl.as_ref().is_some_and(Vec::is_empty) {
        let offset = text.find("acl").unwrap_or(0);
        let message = "invalid settings: an empty `acl` would lock everyone out; leave it out for the open ACL";
        return Err(Problem::at(FILE, text, offset, message));
    }
    Ok(settings)
}

impl Settings {
    /// Pinned services and their revision as written, by name.
    pub fn pins(&self) -> impl Iterator<Item = (&str, &Spanned<String>)> {
        self.services.iter().filter_map(|(name, s)| s.pin.as_ref().map(|pin| (name.as_str(), pin)))
    }
}

/// Reports a malformed `[zookeeper] acl` entry at the entry itself (serde's error would point at
/// the whole array).
fn check_acl_entries(text: &str) -> Result<(), Problem> {
    #[derive(Deserialize)]
    struct Raw {
        zookeeper: Option<RawZooKeeper>,
    }
    #[derive(Deserialize)]
    struct RawZooKeeper {
        acl: Option<Vec<toml::Spanned<String>>>,
    }
    let Ok(Raw { zookeeper: Some(RawZooKeeper { acl: Some(entries) }) }) = toml::from_str::<Raw>(text) else {
        return Ok(()); // nothing to check here, or an error the full parse reports
    };
    for entry in entries {
        if let Err(message) = entry.get_ref().parse::<crate::acl::AclEntry>() {
            return Err(Problem::at(FILE, text, entry.span().start, format!("invalid settings: {message}")));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_file_means_defaults() {
        assert_eq!(parse("").unwrap(), Settings::default());
        assert_eq!(Settings::default().zookeeper.max_node_bytes, 1_048_575);
    }

    #[test]
    fn sensitive_keys_default_when_absent_and_are_checked_where_written() {
        assert_eq!(Settings::default().plan.sensitive_keys(), crate::plan::redact::DEFAULT_PATTERNS);
        let set = parse("[plan]\nsensitive_keys = [\"*pin*\"]\n").unwrap();
        assert_eq!(set.plan.sensitive_keys(), ["*pin*"]);
        assert!(parse("[plan]\nsensitive_keys = []\n").unwrap().plan.sensitive_keys().is_empty());
        let problem = parse("[plan]\nsensitive_keys = [\"ok\", \"[x\"]\n").unwrap_err();
        assert_eq!(
            problem.to_string(),
            "jones-sync.toml:2:25: invalid settings: invalid sensitive key pattern `[x`: unclosed character class; missing ']'"
        );
    }

    #[test]
    fn unknown_key_is_an_error_at_its_place() {
        let problem = parse("[zookeeper]\nmax_node_byte = 5\n").unwrap_err();
        assert_eq!(problem.position, Some((2, 1)));
        assert!(problem.message.contains("unknown field `max_node_byte`"), "{}", problem.message);
    }

    #[test]
    fn prune_is_off_unless_set() {
        assert!(!Settings::default().sync.prune);
        assert!(parse("[sync]\nprune = true\n").unwrap().sync.prune);
        let problem = parse("[sync]\nprune = \"yes\"\n").unwrap_err();
        assert_eq!(problem.position, Some((2, 9)));
    }

    #[test]
    fn history_keep_and_pins() {
        assert_eq!(Settings::default().history.keep(), 100);
        let settings = parse("[history]\nkeep = 5\n[services.shop]\npin = \"v1.2\"\n[services.web]\n").unwrap();
        assert_eq!(settings.history.keep(), 5);
        let pins: Vec<(&str, &str)> = settings.pins().map(|(name, pin)| (name, pin.get_ref().as_str())).collect();
        assert_eq!(pins, [("shop", "v1.2")]);
    }

    #[test]
    fn keep_zero_and_empty_pins_are_errors_at_their_place() {
        let problem = parse("[history]\nkeep = 0\n").unwrap_err();
        assert_eq!(
            problem.to_string(),
            "jones-sync.toml:2:8: invalid settings: [history] keep must be at least 1 (the entry of the last apply)"
        );
        let problem = parse("[services.shop]\npin = \" \"\n").unwrap_err();
        assert_eq!(problem.to_string(), "jones-sync.toml:2:7: invalid settings: a pin must name a git revision");
        let problem = parse("[services.shop]\npinn = \"v1\"\n").unwrap_err();
        assert!(problem.message.contains("unknown field `pinn`, expected `pin`"), "{}", problem.message);
    }

    #[test]
    fn nodemap_format_and_acl() {
        let settings = parse("[sync]\nnodemap_format = \"legacy\"\n[zookeeper]\nacl = [\"world:anyone:r\"]\n").unwrap();
        assert_eq!(settings.sync.nodemap_format, crate::nodemap::Format::Legacy);
        assert_eq!(settings.zookeeper.acl.unwrap()[0].to_string(), "world:anyone:r");
        assert_eq!(Settings::default().sync.nodemap_format, crate::nodemap::Format::Json);
        let problem = parse("[sync]\nnodemap_format = \"xml\"\n").unwrap_err();
        assert_eq!(problem.position, Some((2, 18)));
        assert!(problem.message.contains("unknown variant `xml`, expected `json` or `legacy`"), "{}", problem.message);
    }

    #[test]
    fn a_bad_acl_entry_is_reported_at_its_place() {
        let problem = parse("[zookeeper]\nacl = [\"world:anyone:r\", \"world:anyone:q\"]\n").unwrap_err();
        assert_eq!(problem.position, Some((2, 26)));
        assert!(problem.message.contains("unknown permission `q`"), "{}", problem.message);
        let problem = parse("[zookeeper]\nacl = []\n").unwrap_err();
        assert!(problem.message.contains("an empty `acl` would lock everyone out"), "{}", problem.message);
    }
}
