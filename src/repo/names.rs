//! ZooKeeper's rules for a node name (one path component), as its server checks them
//! (`PathUtils.validatePath`): services and environments become node names, so a name the server
//! would reject is a validation error before anything is sent.

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
