//! Sensitive values: keys whose name matches a pattern of `[plan] sensitive_keys` (globs, matched
//! case-insensitively against the key name at any depth of a value) are shown as `(sensitive)` in
//! every rendering of a plan. The plan itself keeps the real values: apply must write them.
//!
//! Renderers compare the real values and redact only what they show, so a change to a sensitive
//! value is still listed (`~ password: (sensitive) → (sensitive)`), never hidden.

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};
use serde_json::{Map, Value};

/// What a sensitive value shows as.
pub const SENSITIVE: &str = "(sensitive)";

/// The patterns used when `jones-sync.toml` does not set `[plan] sensitive_keys`.
pub const DEFAULT_PATTERNS: &[&str] =
    &["*password*", "*passwd*", "*secret*", "*token*", "*credential*", "*private_key*", "*api_key*", "*apikey*"];

#[derive(Debug, thiserror::Error)]
#[error("invalid sensitive key pattern `{pattern}`: {reason}")]
pub struct PatternError {
    pub pattern: String,
    pub reason: String,
}

/// Decides what is shown of values.
#[derive(Debug, Clone)]
pub struct Redactor {
    set: GlobSet,
    /// `--show-sensitive`: show everything.
    show: bool,
}

impl Redactor {
    pub fn new<S: AsRef<str>>(patterns: &[S], show: bool) -> Result<Redactor, PatternError> {
        let mut builder = GlobSetBuilder::new();
        for pattern in patterns {
            builder.add(glob(pattern.as_ref())?);
        }
        let set = builder.build().map_err(|e| PatternError { pattern: String::new(), reason: e.to_string() })?;
        Ok(Redactor { set, show })
    }

    /// Shows everything (for tests and `--show-sensitive`).
    pub fn show_all() -> Redactor {
        Redactor { set: GlobSet::empty(), show: true }
    }

    pub fn is_sensitive(&self, key: &str) -> bool {
        !self.show && self.set.is_match(key)
    }

    /// `value` as it may be shown when it is the value of `key`.
    pub fn value_of(&self, key: &str, value: &Value) -> Value {
        if self.is_sensitive(key) { Value::String(SENSITIVE.into()) } else { self.value(value) }
    }

    /// [`Redactor::value_of`], borrowing `value` when nothing in it is hidden (the common case,
    /// which needs no copy).
    pub fn shown_of<'a>(&self, key: &str, value: &'a Value) -> std::borrow::Cow<'a, Value> {
        use std::borrow::Cow;
        if self.is_sensitive(key) {
            Cow::Owned(Value::String(SENSITIVE.into()))
        } else if self.show || !self.hides_any(value) {
            Cow::Borrowed(value)
        } else {
            Cow::Owned(self.value(value))
        }
    }

    /// Whether any key at any depth of `value` is sensitive.
    fn hides_any(&self, value: &Value) -> bool {
        match value {
            Value::Object(map) => map.iter().any(|(k, v)| self.is_sensitive(k) || self.hides_any(v)),
            Value::Array(items) => items.iter().any(|v| self.hides_any(v)),
            _ => false,
        }
    }

    /// `value` with every sensitive key's value below it replaced.
    pub fn value(&self, value: &Value) -> Value {
        if self.show {
            return value.clone();
        }
        match value {
            Value::Object(map) => {
                Value::Object(map.iter().map(|(k, v)| (k.clone(), self.value_of(k, v))).collect::<Map<_, _>>())
            }
            Value::Array(items) => Value::Array(items.iter().map(|v| self.value(v)).collect()),
            other => other.clone(),
        }
    }

    /// Whether a sensitive value differs between `before` and `after` (found under the same keys
    /// and array positions), which the redacted values do not show.
    pub fn hides_change(&self, before: &Value, after: &Value) -> bool {
        if self.show {
            return false;
        }
        match (before, after) {
            (Value::Object(a), Value::Object(b)) => a.iter().any(|(key, va)| match b.get(key) {
                Some(vb) if self.is_sensitive(key) => va != vb,
                Some(vb) => self.hides_change(va, vb),
                None => false,
            }),
            (Value::Array(a), Value::Array(b)) => a.iter().zip(b).any(|(va, vb)| self.hides_change(va, vb)),
            _ => false,
        }
    }

    /// Node data that is not a JSON object, shown as text: hidden whole when any pattern matches
    /// it, since its keys cannot be told apart.
    pub fn text(&self, text: &str) -> String {
        if self.show || !self.set.is_match(text) { text.to_string() } else { SENSITIVE.to_string() }
    }

    /// Node data as JSON for showing: parsed and redacted; `None` when it does not read exactly as
    /// JSON ([`crate::live_json::exact`]: an integer beyond 64 bits must not show as a float).
    pub fn data(&self, data: &[u8]) -> Option<Value> {
        crate::live_json::exact(data).map(|v| self.value(&v))
    }
}

fn glob(pattern: &str) -> Result<globset::Glob, PatternError> {
    GlobBuilder::new(pattern)
        .case_insensitive(true)
        .literal_separator(false)
        .build()
        .map_err(|e| PatternError { pattern: pattern.to_string(), reason: e.kind().to_string() })
}

/// Checks one pattern, for validating settings.
pub fn check_pattern(pattern: &str) -> Result<(), PatternError> {
    glob(pattern).map(drop)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn redacts_matching_keys_at_any_depth_case_insensitively() {
        let r = Redactor::new(&["*password*", "token"], false).unwrap();
        let value = json!({
            "db": {"host": "h", "Password": "p", "replicas": [{"db_password": "x", "port": 1}]},
            "token": {"nested": "whole"},
            "tokens": 3,
        });
        assert_eq!(
            r.value(&value),
            json!({
                "db": {"host": "h", "Password": "(sensitive)", "replicas": [{"db_password": "(sensitive)", "port": 1}]},
                "token": "(sensitive)",
                "tokens": 3,
            })
        );
        assert_eq!(r.value_of("TOKEN", &json!(1)), json!("(sensitive)"));
        assert_eq!(r.text("{not json, password=1"), "(sensitive)");
        assert_eq!(r.text("{not json"), "{not json");
    }

    #[test]
    fn show_all_and_empty_patterns_redact_nothing() {
        let value = json!({"password": "p"});
        assert_eq!(Redactor::new(DEFAULT_PATTERNS, true).unwrap().value(&value), value);
        assert_eq!(Redactor::new::<&str>(&[], false).unwrap().value(&value), value);
        assert_eq!(Redactor::new(DEFAULT_PATTERNS, false).unwrap().value(&value), json!({"password": SENSITIVE}));
    }

    #[test]
    fn a_bad_pattern_is_named() {
        let err = Redactor::new(&["ok*", "[abc"], false).unwrap_err();
        assert_eq!(err.to_string(), "invalid sensitive key pattern `[abc`: unclosed character class; missing ']'");
    }
}
