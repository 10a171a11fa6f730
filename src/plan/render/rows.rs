//! What the human renderings ([`super::text`], [`super::markdown`]) share: key-level changes made
//! ready to show (redacted; long or nested values as a line diff of pretty-printed JSON, computed
//! with `similar`), and names of environments and host lists.
//!
//! A changed value is shown inline (`~ timeout: 30 → 60`) when both sides are short; otherwise as
//! a line diff with three lines of context around each change, so a one-key edit deep in a large
//! table shows as one line, not as two walls of JSON.

use std::borrow::Cow;

use serde_json::Value;
use similar::{ChangeTag, TextDiff};

use crate::layout::NodeKind;
use crate::plan::redact::{Redactor, SENSITIVE};
use crate::plan::{KeyChange, key_changes};

/// Values whose compact JSON is longer than this are shown pretty-printed, over several lines.
const INLINE_WIDTH: usize = 40;
/// Lines of context around each change of a line diff.
const CONTEXT: usize = 3;
/// Said of a value when a sensitive value inside it changes too, which the redacted value hides.
pub(crate) const HIDDEN: &str = "(a sensitive value inside changes too)";
/// Hosts listed by name per environment or move; the rest are counted (JSON lists them all).
pub(crate) const MAX_HOSTS: usize = 20;

/// One key-level change, as shown.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Row {
    /// `+ key = value`; `value` has one line, or several when pretty-printed.
    Added {
        key: String,
        value: Vec<String>,
    },
    Removed {
        key: String,
        value: Vec<String>,
    },
    /// `~ key: before → after`, both short. `hidden`: a sensitive value inside changes too.
    Changed {
        key: String,
        before: String,
        after: String,
        hidden: bool,
    },
    /// A long or nested value changed: a line diff of its pretty-printed JSON.
    ChangedLines {
        key: String,
        lines: Vec<DiffLine>,
        hidden: bool,
    },
    /// Only sensitive values inside `key` changed, so there is nothing to show but the fact.
    ChangedSensitive {
        key: String,
    },
    /// Data that is not a JSON object changes whole.
    Whole {
        before: Option<String>,
        after: Option<String>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum DiffLine {
    Same(String),
    Removed(String),
    Added(String),
    /// Unchanged lines left out between two hunks.
    Skipped,
}

/// The rows of a node's change from `before` to `after` (node data; `None`: no node).
pub(crate) fn node_rows(kind: NodeKind, before: Option<&[u8]>, after: Option<&[u8]>, r: &Redactor) -> Vec<Row> {
    rows(&key_changes(kind, before, after), r)
}

pub(crate) fn rows(changes: &[KeyChange], r: &Redactor) -> Vec<Row> {
    changes.iter().map(|change| row(change, r)).collect()
}

pub(crate) fn row(change: &KeyChange, r: &Redactor) -> Row {
    match change {
        KeyChange::Added { key, value } => {
            Row::Added { key: name(key).into_owned(), value: lines(&r.value_of(key, value)) }
        }
        KeyChange::Removed { key, value } => {
            Row::Removed { key: name(key).into_owned(), value: lines(&r.value_of(key, value)) }
        }
        KeyChange::Changed { key: raw_key, before, after } => {
            let key = &name(raw_key).into_owned();
            let hidden = r.hides_change(before, after);
            let (before, after) = (r.value_of(raw_key, before), r.value_of(raw_key, after));
            let (short_before, short_after) = (compact(&before), compact(&after));
            if before == after && !r.is_sensitive(raw_key) {
                Row::ChangedSensitive { key: key.clone() }
            } else if short_before.len() <= INLINE_WIDTH && short_after.len() <= INLINE_WIDTH {
                Row::Changed { key: key.clone(), before: short_before, after: short_after, hidden }
            } else {
                Row::ChangedLines { key: key.clone(), lines: line_diff(&pretty(&before), &pretty(&after)), hidden }
            }
        }
        KeyChange::Whole { before, after } => Row::Whole {
            before: before.as_deref().map(|t| one_line(&r.text(t))),
            after: after.as_deref().map(|t| one_line(&r.text(t))),
        },
        // The text as written, marked, so it is not taken for JSON.
        KeyChange::Unreadable { key: raw_key, text, why, after } => {
            let key = name(raw_key).into_owned();
            let before = format!("{} (unreadable: {why})", one_line(&unreadable_text(raw_key, text, r)));
            match after {
                Some(after) => Row::Changed { key, before, after: compact(&r.value_of(raw_key, after)), hidden: false },
                None => Row::Removed { key, value: vec![before] },
            }
        }
        KeyChange::Format { before, after } => {
            Row::Changed { key: "(format)".into(), before: before.clone(), after: after.clone(), hidden: false }
        }
    }
}

/// The text of a value that does not read as JSON, as it may be shown under `key`: hidden when
/// the key is sensitive, or when a pattern matches anywhere in it (its keys cannot be told apart).
pub(crate) fn unreadable_text(key: &str, text: &str, r: &Redactor) -> String {
    if r.is_sensitive(key) { SENSITIVE.to_string() } else { r.text(text) }
}

/// A key or host name as shown: quoted (`" web1"`, `"web1\n"`) when it is empty, has white space
/// at an end or holds a control character or line separator, so that what is odd about it shows
/// (and cannot start a line of its own); as it is otherwise.
pub(crate) fn name(text: &str) -> Cow<'_, str> {
    let odd = text.is_empty()
        || text.trim() != text
        || text.chars().any(|c| c.is_control() || matches!(c, '\u{2028}' | '\u{2029}'));
    if odd { Cow::Owned(format!("{text:?}")) } else { Cow::Borrowed(text) }
}

/// `text` with control characters escaped (`\n`), so that keys, host names and raw node data
/// cannot start a line of their own (which could end a markdown code block early).
pub(crate) fn one_line(text: &str) -> String {
    one_line_ref(text).into_owned()
}

/// [`one_line`], borrowing `text` when it has nothing to escape.
pub(crate) fn one_line_ref(text: &str) -> Cow<'_, str> {
    if !text.chars().any(char::is_control) {
        return Cow::Borrowed(text);
    }
    Cow::Owned(
        text.chars().map(|c| if c.is_control() { c.escape_default().to_string() } else { c.to_string() }).collect(),
    )
}

/// The text of an added or removed key's value, as [`Row::Added`] holds it (one line, or the
/// pretty-printed lines when long), written into `buf` (reused from key to key) rather than into
/// new strings: the text renderer writes a first apply's every key this way.
pub(crate) fn value_text<'b>(key: &str, value: &Value, r: &Redactor, buf: &'b mut Vec<u8>) -> &'b str {
    buf.clear();
    let value = r.shown_of(key, value);
    match &*value {
        Value::String(s) if s == SENSITIVE => buf.extend_from_slice(SENSITIVE.as_bytes()),
        other => {
            serde_json::to_writer(&mut *buf, other).expect("JSON values always serialize");
            if buf.len() > INLINE_WIDTH {
                buf.clear();
                serde_json::to_writer_pretty(&mut *buf, other).expect("JSON values always serialize");
            }
        }
    }
    std::str::from_utf8(buf).expect("serde_json writes UTF-8")
}

/// A value in one line, or pretty-printed over several when long.
fn lines(value: &Value) -> Vec<String> {
    let short = compact(value);
    if short.len() <= INLINE_WIDTH { vec![short] } else { pretty(value).lines().map(String::from).collect() }
}

/// Compact JSON; a redacted value shows as `(sensitive)`, without quotes.
pub(crate) fn compact(value: &Value) -> String {
    match value {
        Value::String(s) if s == SENSITIVE => SENSITIVE.to_string(),
        other => other.to_string(),
    }
}

fn pretty(value: &Value) -> String {
    match value {
        Value::String(s) if s == SENSITIVE => SENSITIVE.to_string(),
        other => serde_json::to_string_pretty(other).expect("JSON values always serialize"),
    }
}

fn line_diff(before: &str, after: &str) -> Vec<DiffLine> {
    let diff = TextDiff::from_lines(before, after);
    let mut lines = Vec::new();
    for (index, group) in diff.grouped_ops(CONTEXT).iter().enumerate() {
        if index > 0 {
            lines.push(DiffLine::Skipped);
        }
        for op in group {
            for change in diff.iter_changes(op) {
                let text = change.value().trim_end_matches('\n').to_string();
                lines.push(match change.tag() {
                    ChangeTag::Equal => DiffLine::Same(text),
                    ChangeTag::Delete => DiffLine::Removed(text),
                    ChangeTag::Insert => DiffLine::Added(text),
                });
            }
        }
    }
    lines
}

/// An environment's name for people: `prod/canary`, or `(root)`.
pub(crate) fn environment(env: &str) -> &str {
    if env.is_empty() { "(root)" } else { env }
}

/// Where a host reads from, for people: its environment, `(no association)`, or a foreign path as is.
pub(crate) fn association(service: &str, view: Option<&str>) -> String {
    match view {
        None => "(no association)".to_string(),
        Some(view) => match crate::plan::blast::environment_of(service, view) {
            Some(env) => environment(&env).to_string(),
            None => view.to_string(),
        },
    }
}

/// `a, b, c and 12 more` (at most [`MAX_HOSTS`] names, each shown by `name`).
pub(crate) fn host_list(hosts: &[String], name: impl Fn(&str) -> String) -> String {
    let shown: Vec<String> = hosts.iter().take(MAX_HOSTS).map(|h| name(h)).collect();
    let mut text = shown.join(", ");
    if hosts.len() > MAX_HOSTS {
        text.push_str(&format!(" and {} more", hosts.len() - MAX_HOSTS));
    }
    text
}

/// `3 hosts (1 moving) and all unassociated hosts`, `all unassociated hosts`, or `no hosts`.
pub(crate) fn blast_head(blast: &crate::plan::BlastRadius) -> String {
    let (hosts, moving) = (blast.hosts().len(), blast.moving().len());
    let mut head = match (hosts, moving) {
        (0, _) => String::new(),
        (n, 0) => count(n, "host"),
        (n, m) => format!("{} ({m} moving)", count(n, "host")),
    };
    match (head.is_empty(), blast.unassociated_hosts) {
        (true, true) => "all unassociated hosts".to_string(),
        (true, false) => "no hosts".to_string(),
        (false, true) => {
            head.push_str(" and all unassociated hosts");
            head
        }
        (false, false) => head,
    }
}

/// `1 host`, `2 hosts`.
pub(crate) fn count(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn short_values_inline_long_ones_as_a_line_diff_with_context() {
        let r = Redactor::show_all();
        let short = KeyChange::Changed { key: "t".into(), before: json!(30), after: json!(60) };
        assert_eq!(
            row(&short, &r),
            Row::Changed { key: "t".into(), before: "30".into(), after: "60".into(), hidden: false }
        );
        let before = json!({"a": 1, "b": 2, "c": 3, "d": 4, "e": 5, "f": 6, "g": 7, "h": 8, "i": 9});
        let mut after = before.clone();
        after["a"] = json!(10);
        after["i"] = json!(90);
        let Row::ChangedLines { lines, .. } = row(&KeyChange::Changed { key: "k".into(), before, after }, &r) else {
            panic!("a long value is a line diff")
        };
        let shown: Vec<String> = lines
            .iter()
            .map(|l| match l {
                DiffLine::Same(t) => format!(" {t}"),
                DiffLine::Removed(t) => format!("-{t}"),
                DiffLine::Added(t) => format!("+{t}"),
                DiffLine::Skipped => "...".into(),
            })
            .collect();
        assert_eq!(
            shown,
            [
                " {",
                "-  \"a\": 1,",
                "+  \"a\": 10,",
                "   \"b\": 2,",
                "   \"c\": 3,",
                "   \"d\": 4,",
                "...",
                "   \"f\": 6,",
                "   \"g\": 7,",
                "   \"h\": 8,",
                "-  \"i\": 9",
                "+  \"i\": 90",
                " }",
            ]
        );
    }

    #[test]
    fn value_text_is_the_text_of_the_added_row() {
        let mut buf = Vec::new();
        let long = json!({"primary": "db-1.example.com:5432", "replicas": ["db-2.example.com:5432"], "pool": 10});
        let values = [
            ("t", json!(30)),
            ("s", json!("(sensitive)")),
            ("db_password", json!({"a": 1})),
            ("db", json!({"password": "p", "host": "h"})),
            ("db", long.clone()),
            ("list", json!([long, {"token": "x"}])),
            ("ctl\n", json!("x")),
        ];
        for r in [Redactor::show_all(), Redactor::new(&["*password*", "*token*"], false).unwrap()] {
            for (key, value) in &values {
                let Row::Added { key: shown_key, value: lines } =
                    row(&KeyChange::Added { key: key.to_string(), value: value.clone() }, &r)
                else {
                    panic!("an added key is an added row")
                };
                assert_eq!(value_text(key, value, &r, &mut buf).lines().collect::<Vec<_>>(), lines, "{key}: {value}");
                assert_eq!(name(key), shown_key);
            }
        }
    }

    #[test]
    fn odd_names_are_quoted_so_their_white_space_shows() {
        assert_eq!(name("web1.example.com"), "web1.example.com");
        assert_eq!(name("with space"), "with space");
        assert_eq!(name(" web1"), "\" web1\"");
        assert_eq!(name("web1 "), "\"web1 \"");
        assert_eq!(name("web1\n"), "\"web1\\n\"");
        assert_eq!(name("a\u{2028}b"), "\"a\\u{2028}b\"");
        assert_eq!(name(""), "\"\"");
        assert_eq!(host_list(&[" a".to_string(), "b".to_string()], |h| name(h).into_owned()), "\" a\", b");
    }

    #[test]
    fn a_change_hidden_by_redaction_is_still_shown_as_a_change() {
        let r = Redactor::new(&["*password*"], false).unwrap();
        let change = |key: &str, before, after| KeyChange::Changed { key: key.into(), before, after };
        assert_eq!(
            row(&change("db_password", json!("a"), json!("b")), &r),
            Row::Changed {
                key: "db_password".into(),
                before: SENSITIVE.into(),
                after: SENSITIVE.into(),
                hidden: false
            }
        );
        assert_eq!(
            row(&change("db", json!({"password": "a"}), json!({"password": "b"})), &r),
            Row::ChangedSensitive { key: "db".into() }
        );
        assert_eq!(
            row(&change("db", json!({"password": "a", "x": 1}), json!({"password": "b", "x": 2})), &r),
            Row::Changed {
                key: "db".into(),
                before: r#"{"password":"(sensitive)","x":1}"#.into(),
                after: r#"{"password":"(sensitive)","x":2}"#.into(),
                hidden: true
            }
        );
    }
}
