//! The server's log on stderr: one line per event (fetch, commit, plan, watch, error), as text for
//! people or, with `--log-format json`, one JSON object per line for a log pipeline:
//! `{"ts":"…","level":"info","event":"plan","msg":"…", …fields}`.

use std::io::Write;

use serde_json::{Map, Value};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    Info,
    Warn,
    Error,
}

impl Level {
    fn name(self) -> &'static str {
        match self {
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct Log {
    pub format: LogFormat,
}

impl Log {
    pub fn info(&self, event: &str, msg: &str, fields: Value) {
        self.write(Level::Info, event, msg, fields);
    }

    pub fn warn(&self, event: &str, msg: &str, fields: Value) {
        self.write(Level::Warn, event, msg, fields);
    }

    pub fn error(&self, event: &str, msg: &str, fields: Value) {
        self.write(Level::Error, event, msg, fields);
    }

    /// Writes one line; `fields` is a JSON object (anything else is ignored).
    pub fn write(&self, level: Level, event: &str, msg: &str, fields: Value) {
        let line = line(self.format, &crate::clock::now(), level, event, msg, fields);
        // A closed stderr must not stop the server.
        let _ = std::io::stderr().lock().write_all(line.as_bytes());
    }
}

/// One log line, newline included.
fn line(format: LogFormat, ts: &str, level: Level, event: &str, msg: &str, fields: Value) -> String {
    let fields = match fields {
        Value::Object(fields) => fields,
        _ => Map::new(),
    };
    match format {
        LogFormat::Json => {
            let mut object = Map::new();
            object.insert("ts".into(), ts.into());
            object.insert("level".into(), level.name().into());
            object.insert("event".into(), event.into());
            object.insert("msg".into(), msg.into());
            for (key, value) in fields {
                object.entry(key).or_insert(value);
            }
            let mut text = Value::Object(object).to_string();
            text.push('\n');
            text
        }
        LogFormat::Text => {
            let mut text = format!("{ts} {:<5} {event}: {msg}", level.name());
            for (key, value) in fields {
                match value {
                    Value::Null => {}
                    Value::String(s) => text.push_str(&format!(" {key}={s}")),
                    other => text.push_str(&format!(" {key}={other}")),
                }
            }
            // A message of several lines (a repository's problems) stays one record per line.
            let mut text = text.replace('\n', "\n    ");
            text.push('\n');
            text
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_json_line_is_one_object_with_the_fields() {
        let text = line(LogFormat::Json, "T", Level::Warn, "fetch", "a\nb", json!({"sha": "abc", "msg": "x"}));
        assert_eq!(text.lines().count(), 1);
        let value: Value = serde_json::from_str(&text).unwrap();
        // A field never overrides the line's own keys.
        assert_eq!(value, json!({"ts": "T", "level": "warn", "event": "fetch", "msg": "a\nb", "sha": "abc"}));
    }

    #[test]
    fn a_text_line_indents_continuation_lines() {
        let text = line(LogFormat::Text, "T", Level::Error, "commit", "bad\nerror: x", json!({"n": 2, "z": null}));
        assert_eq!(text, "T error commit: bad\n    error: x n=2\n");
    }
}
