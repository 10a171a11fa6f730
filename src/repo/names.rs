//! The rules for the name of a service or environment directory: ZooKeeper's for a node name (one
//! path component), as its server checks them (`PathUtils.validatePath`), since services and
//! environments become node names; the Jones server's, which misreads a nodemap whose view paths
//! hold ` -> ` ([`crate::nodemap::arrow_problem`]); and the repository's own, whose file names
//! cannot be directories. A name that breaks one is a validation error before anything is sent.

use crate::repo::{CONFIG_FILE, HOSTS_FILE};

/// Why `name` cannot be a service or environment directory, or `None` if it can.
pub fn dir_name_problem(name: &str) -> Option<String> {
    if let Some(why) = zk_name_problem(name) {
        return Some(why);
    }
    if name == CONFIG_FILE || name == HOSTS_FILE {
        return Some(format!(
            "`{name}` is the name of an environment's file, so a directory of that name cannot be an environment"
        ));
    }
    crate::nodemap::arrow_problem(name).map(|why| format!("it {why}"))
}

/// Why `name` cannot be a ZooKeeper node name, or `None` if it can.
pub fn zk_name_problem(name: &str) -> Option<String> {
    if name.is_empty() {
        return Some("an empty name".into());
    }
    if name == "." || name == ".." {
        return Some(format!("`{name}` is a relative path component"));
    }
    if name.contains('/') {
        return Some("it contains `/`".into());
    }
    for c in name.chars() {
        let code = c as u32;
        let bad = match code {
            0 => Some("the NUL character"),
            0x01..=0x1F | 0x7F..=0x9F => Some("a control character"),
            0xD800..=0xF8FF => Some("a character in U+D800–U+F8FF (surrogates and private use)"),
            0xFFF0..=0xFFFF => Some("a character in U+FFF0–U+FFFF"),
            0x10000.. => Some("a character outside the Basic Multilingual Plane (such as an emoji)"),
            _ => None,
        };
        if let Some(what) = bad {
            return Some(format!("it contains {what} (U+{code:04X}), which ZooKeeper rejects in node names"));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::zk_name_problem;

    #[test]
    fn ordinary_names_pass() {
        for name in ["prod", "us-east-1", "web_1.example.com", "ünïcode", "with space", "..."] {
            assert_eq!(zk_name_problem(name), None, "{name}");
        }
    }

    #[test]
    fn directories_named_like_our_files_or_holding_an_arrow_are_refused() {
        for (name, why) in [("config.toml", "environment's file"), ("hosts.toml", "file"), ("a -> b", "` -> `")] {
            let problem = super::dir_name_problem(name).unwrap_or_else(|| panic!("{name:?} should be rejected"));
            assert!(problem.contains(why), "{name:?}: {problem}");
        }
        for name in ["prod", "config.toml.d", "a->b", "notes.md"] {
            assert_eq!(super::dir_name_problem(name), None, "{name}");
        }
    }

    #[test]
    fn rejected_names_say_why() {
        let cases = [
            ("", "empty"),
            (".", "relative"),
            ("..", "relative"),
            ("a/b", "`/`"),
            ("a\0b", "NUL"),
            ("tab\there", "control"),
            ("\u{85}", "control"),
            ("\u{E000}", "private use"),
            ("\u{FFF5}", "U+FFF0"),
            ("rocket🚀", "Basic Multilingual Plane"),
        ];
        for (name, why) in cases {
            let problem = zk_name_problem(name).unwrap_or_else(|| panic!("{name:?} should be rejected"));
            assert!(problem.contains(why), "{name:?}: {problem}");
        }
    }
}
