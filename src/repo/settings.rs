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

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ZooKeeperSettings {
    /// Largest conf, view or nodemap JSON, in bytes (the servers' `jute.maxbuffer`).
    #[serde(default = "default_max_node_bytes")]
    pub max_node_bytes: usize,
    /// Largest encoded transaction sent in one request, in bytes.
    #[serde(default = "default_max_request_bytes")]
    pub max_request_bytes: usize,
}

fn default_max_node_bytes() -> usize {
    DEFAULT_MAX_NODE_BYTES
}

fn default_max_request_bytes() -> usize {
    1_000_000
}

impl Default for ZooKeeperSettings {
    fn default() -> Self {
        ZooKeeperSettings { max_node_bytes: default_max_node_bytes(), max_request_bytes: default_max_request_bytes() }
    }
}

/// Parses the settings file's text.
pub fn parse(text: &str) -> Result<Settings, Problem> {
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
    Ok(settings)
}

impl Settings {
    /// Pinned services and their revision as written, by name.
    pub fn pins(&self) -> impl Iterator<Item = (&str, &Spanned<String>)> {
        self.services.iter().filter_map(|(name, s)| s.pin.as_ref().map(|pin| (name.as_str(), pin)))
    }
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
}
