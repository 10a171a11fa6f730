//! Writing imported values as tidy, stable TOML: keys sorted, plain values first, then one
//! `[table]` per nested object, arrays of objects as `[[table]]`. The text reads back (through
//! [`crate::repo::toml_json`]) as exactly the JSON it came from, except what TOML cannot hold:
//! `null`, integers beyond 64 bits, and values nested deeper than [`MAX_DEPTH`], which are left
//! out and reported.

use serde_json::{Map, Value};

use super::{Report, report};

/// Containers (tables and arrays) nested deeper than this below a key of `config.toml` are left
/// out. The TOML reader refuses a table header of 80 keys or more and inline values nested more
/// than 80 deep (the `toml` crate's recursion limit); this bound keeps every shape TOML is
/// written in within both, so that what import writes validates (tested).
pub const MAX_DEPTH: usize = 80;

/// `config.toml` for an environment's own values (`conf` names the node, for reports).
pub fn config(values: &Map<String, Value>, conf: &str, reports: &mut Vec<Report>) -> String {
    let table = table(values, "", 0, conf, reports);
    if table.is_empty() {
        return String::new();
    }
    toml::to_string(&table).expect("a TOML table of plain values always serializes")
}

/// `hosts.toml`: one host per line, sorted.
pub fn hosts(hosts: &[String]) -> String {
    let mut sorted: Vec<&String> = hosts.iter().collect();
    sorted.sort();
    let mut text = String::from("hosts = [\n");
    for host in sorted {
        text.push_str(&format!("    {},\n", toml::Value::String(host.clone())));
    }
    text.push_str("]\n");
    text
}

fn table(
    values: &Map<String, Value>,
    prefix: &str,
    depth: usize,
    conf: &str,
    reports: &mut Vec<Report>,
) -> toml::Table {
    let mut table = toml::Table::new();
    for (key, value) in values {
        let path = if prefix.is_empty() { quoted(key) } else { format!("{prefix}.{}", quoted(key)) };
        if let Some(value) = convert(value, &path, depth + 1, conf, reports) {
            table.insert(key.clone(), value);
        }
    }
    table
}

/// `value`, found `depth` containers deep (a top-level key's value is at depth 1), as TOML.
fn convert(value: &Value, path: &str, depth: usize, conf: &str, reports: &mut Vec<Report>) -> Option<toml::Value> {
    if depth > MAX_DEPTH && matches!(value, Value::Array(_) | Value::Object(_)) {
        let message = format!(
            "`{path}` is nested deeper than the {MAX_DEPTH} levels a `config.toml` can hold: left out (the next apply removes it)"
        );
        reports.push(report(conf, message));
        return None;
    }
    match value {
        Value::Null => {
            let message = format!("`{path}` is null, which TOML cannot hold: left out (the next apply removes it)");
            reports.push(report(conf, message));
            None
        }
        Value::Bool(b) => Some(toml::Value::Boolean(*b)),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Some(toml::Value::Integer(i))
            } else if n.is_f64() {
                n.as_f64().map(toml::Value::Float)
            } else {
                let message =
                    format!("`{path}` is {n}, beyond TOML's 64-bit integers: left out (the next apply removes it)");
                reports.push(report(conf, message));
                None
            }
        }
        Value::String(s) => Some(toml::Value::String(s.clone())),
        Value::Array(items) => Some(toml::Value::Array(
            items
                .iter()
                .enumerate()
                .filter_map(|(i, item)| convert(item, &format!("{path}[{i}]"), depth + 1, conf, reports))
                .collect(),
        )),
        Value::Object(map) => Some(toml::Value::Table(table(map, path, depth, conf, reports))),
    }
}

/// A key as TOML writes it, for naming it in a report.
fn quoted(key: &str) -> String {
    let bare = !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if bare { key.to_string() } else { toml::Value::String(key.to_string()).to_string() }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn round_trip(value: Value) -> (String, Value, Vec<String>) {
        let mut reports = Vec::new();
        let text = config(value.as_object().unwrap(), "/services/s/conf", &mut reports);
        let back = crate::repo::toml_json::parse("config.toml", &text).unwrap().table;
        (text, Value::Object(back), reports.iter().map(ToString::to_string).collect())
    }

    #[test]
    fn tidy_sorted_and_exact() {
        let value = json!({
            "timeout": 30, "ratio": 0.25, "whole": 1.0, "name": "shop \"main\"\nline 2", "on": true,
            "database": {"replicas": ["db1", "db2"], "port": 5432, "tls": {"verify": false}},
            "buckets": [{"name": "a", "share": 10}, {"name": "b", "share": 90}],
            "matrix": [[1, 2], ["x"]], "empty": {}, "key with space": "", "date": "1979-05-27",
            "huge": 1e300, "negative": -7
        });
        let (text, back, reports) = round_trip(value.clone());
        assert_eq!(back, value);
        assert!(reports.is_empty(), "{reports:?}");
        insta::assert_snapshot!(text);
    }

    #[test]
    fn nulls_and_huge_integers_are_left_out_and_named() {
        let value = json!({"a": null, "b": {"c": null, "d": 1}, "e": [1, null], "f": 18446744073709551615u64});
        let (_, back, reports) = round_trip(value);
        assert_eq!(back, json!({"b": {"d": 1}, "e": [1]}));
        assert_eq!(
            reports,
            [
                "/services/s/conf: `a` is null, which TOML cannot hold: left out (the next apply removes it)",
                "/services/s/conf: `b.c` is null, which TOML cannot hold: left out (the next apply removes it)",
                "/services/s/conf: `e[1]` is null, which TOML cannot hold: left out (the next apply removes it)",
                "/services/s/conf: `f` is 18446744073709551615, beyond TOML's 64-bit integers: left out (the next apply removes it)",
            ]
        );
    }

    #[test]
    fn values_nested_deeper_than_toml_reads_are_left_out_and_the_rest_reads_back() {
        // Every shape a value nests in, at the deepest it is kept and one level deeper.
        type Wrap = fn(Value) -> Value;
        let shapes: [(&str, Wrap); 4] = [
            ("tables", |v| json!({"k": v})),
            ("arrays", |v| json!([v])),
            ("tables in arrays", |v| json!([{"k": v}])),
            ("arrays in tables", |v| json!({"k": [v]})),
        ];
        for (shape, wrap) in shapes {
            let nest = |containers: usize| {
                let mut value = json!(1);
                let mut n = 0;
                while n < containers {
                    value = wrap(value);
                    n += if shape.contains(" in ") { 2 } else { 1 };
                }
                value
            };
            let kept = json!({"deep": nest(MAX_DEPTH), "other": 1});
            let (_, back, reports) = round_trip(kept.clone());
            assert_eq!(back, kept, "{shape}");
            assert!(reports.is_empty(), "{shape}: {reports:?}");
            let (_, back, reports) = round_trip(json!({"deep": nest(MAX_DEPTH + 2), "other": 1}));
            assert_eq!(back["other"], 1, "{shape}: the rest is kept");
            assert_eq!(reports.len(), 1, "{shape}: {reports:?}");
            assert!(
                reports[0].contains("is nested deeper than the 80 levels a `config.toml` can hold: left out"),
                "{reports:?}"
            );
        }
    }

    #[test]
    fn hosts_one_per_line_sorted() {
        assert_eq!(
            hosts(&["web2".into(), "web1.example.com".into(), "odd \"one\"".into()]),
            "hosts = [\n    'odd \"one\"',\n    \"web1.example.com\",\n    \"web2\",\n]\n"
        );
    }
}
