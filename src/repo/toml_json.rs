//! TOML text to JSON values, keeping the place of every value so that a value JSON cannot carry
//! (NaN, infinities, integers beyond i64) is reported at its line and column.
//!
//! Mapping: tables → objects, arrays → arrays, strings, booleans, i64 integers and finite floats
//! as themselves, date-times → their RFC 3339 text.

use serde_json::{Map, Number, Value};
use toml::Spanned;
use toml::de::{DeTable, DeValue};

use crate::diagnostic::Problem;

/// A parsed TOML document: its top-level table as JSON, with the byte span of each top-level key
/// (for problems about a particular key, such as `hosts`).
pub struct Document {
    pub table: Map<String, Value>,
    pub key_spans: Vec<(String, std::ops::Range<usize>, std::ops::Range<usize>)>,
}

/// Parses `text` (the content of `file`) into a JSON object. On failure, returns every problem
/// found: syntax errors, or values JSON cannot carry.
pub fn parse(file: &str, text: &str) -> Result<Document, Vec<Problem>> {
    let root = match DeTable::parse(text) {
        Ok(root) => root,
        Err(err) => {
            let message = format!("invalid TOML: {}", err.message().trim_end());
            let offset = err.span().map_or(0, |span| span.start);
            return Err(vec![Problem::at(file, text, offset, message)]);
        }
    };
    let mut problems = Vec::new();
    let mut key_spans = Vec::new();
    let mut table = Map::new();
    for (key, value) in root.get_ref().iter() {
        key_spans.push((key.get_ref().to_string(), key.span(), value.span()));
        let json = convert(value, file, text, key.get_ref(), &mut problems);
        table.insert(key.get_ref().to_string(), json);
    }
    if problems.is_empty() {
        Ok(Document { table, key_spans })
    } else {
        problems.sort();
        Err(problems)
    }
}

fn convert(value: &Spanned<DeValue<'_>>, file: &str, text: &str, key: &str, problems: &mut Vec<Problem>) -> Value {
    let at = |message: String| Problem::at(file, text, value.span().start, message);
    match value.get_ref() {
        DeValue::String(s) => Value::String(s.to_string()),
        DeValue::Boolean(b) => Value::Bool(*b),
        DeValue::Integer(i) => match i64::from_str_radix(i.as_str(), i.radix()) {
            Ok(n) => Value::Number(n.into()),
            Err(_) => {
                problems.push(at(format!("`{key}`: integer {i} does not fit in 64 bits")));
                Value::Null
            }
        },
        DeValue::Float(f) => match f.as_str().parse::<f64>().ok().and_then(Number::from_f64) {
            Some(n) => Value::Number(n),
            None => {
                problems.push(at(format!(
                    "`{key}`: {f} cannot be stored in JSON (only finite numbers can); use a string if you need it"
                )));
                Value::Null
            }
        },
        DeValue::Datetime(d) => Value::String(d.to_string()),
        DeValue::Array(items) => {
            Value::Array(items.iter().map(|item| convert(item, file, text, key, problems)).collect())
        }
        DeValue::Table(table) => Value::Object(
            table
                .iter()
                .map(|(k, v)| (k.get_ref().to_string(), convert(v, file, text, k.get_ref(), problems)))
                .collect(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn ok(text: &str) -> Value {
        Value::Object(parse("f.toml", text).unwrap_or_else(|p| panic!("{p:?}")).table)
    }

    fn errors(text: &str) -> Vec<String> {
        match parse("f.toml", text) {
            Ok(_) => panic!("expected problems for {text:?}"),
            Err(problems) => problems.iter().map(ToString::to_string).collect(),
        }
    }

    #[test]
    fn maps_every_toml_type() {
        let text = r#"
            s = "x"
            b = true
            i = 0x1F
            f = 2.5
            d = 1979-05-27T07:32:00Z
            local = 1979-05-27
            a = [1, "two", [3]]
            [t]
            nested = { k = "v" }
        "#;
        assert_eq!(
            ok(text),
            json!({
                "s": "x", "b": true, "i": 31, "f": 2.5,
                "d": "1979-05-27T07:32:00Z", "local": "1979-05-27",
                "a": [1, "two", [3]], "t": {"nested": {"k": "v"}}
            })
        );
    }

    #[test]
    fn syntax_error_has_line_and_column() {
        assert_eq!(errors("a = 1\nb c\n"), ["f.toml:2:3: invalid TOML: key with no value, expected `=`"]);
    }

    #[test]
    fn non_finite_floats_are_reported_each_at_its_place() {
        let problems = errors("x = nan\n[t]\ny = -inf\nz = 1e999\n");
        assert_eq!(problems.len(), 3, "{problems:?}");
        assert!(problems[0].starts_with("f.toml:1:5: `x`: nan cannot be stored in JSON"), "{problems:?}");
        assert!(problems[1].starts_with("f.toml:3:5: `y`: -inf"), "{problems:?}");
        assert!(problems[2].starts_with("f.toml:4:5: `z`: 1e999"), "{problems:?}");
    }
}
