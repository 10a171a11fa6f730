//! `jones-sync.toml`: optional repository-wide settings. Every setting has a default, so the file
//! may be absent; unknown keys are errors (a typo must not be silently ignored).

use serde::Deserialize;

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
    toml::from_str(text).map_err(|err| {
        let offset = err.span().map_or(0, |span| span.start);
        Problem::at(FILE, text, offset, format!("invalid settings: {}", err.message().trim_end()))
    })
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
    fn unknown_key_is_an_error_at_its_place() {
        let problem = parse("[zookeeper]\nmax_node_byte = 5\n").unwrap_err();
        assert_eq!(problem.position, Some((2, 1)));
        assert!(problem.message.contains("unknown field `max_node_byte`"), "{}", problem.message);
    }
}
