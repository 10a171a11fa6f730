//! The edits `jones-sync set` makes to one environment's own values: `KEY=VALUE` sets a key,
//! `--delete KEY` removes one. `KEY` is a TOML key, dotted to reach into tables (`db.pool.size`,
//! `"a.b".c`); `VALUE` is a TOML value (`false`, `0.05`, `"text"`, `[1, 2]`, `{ a = 1 }`), read
//! exactly as a value of `config.toml` is ([`crate::repo::toml_json`]: integers stay 64-bit
//! integers, date-times become their RFC 3339 text, what JSON cannot carry is refused).
//!
//! Pure: no I/O. Setting a key inside a table creates the tables on the way; a key whose way
//! passes through a value that is not a table is refused, as is deleting a key that is not there.

use serde_json::{Map, Value};

/// A key: its path of table names, then its name.
pub type Key = Vec<String>;

/// The key as written back: segments joined by `.`, each quoted when it is not a bare TOML key.
pub fn show(key: &[String]) -> String {
    let bare = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-');
    let part = |s: &String| if bare(s) { s.clone() } else { serde_json::to_string(s).expect("strings serialize") };
    key.iter().map(part).collect::<Vec<_>>().join(".")
}

/// Reads a TOML key (`a.b`, `"x.y".z`).
pub fn parse_key(text: &str) -> Result<Key, String> {
    let doc: toml::Table = toml::from_str(&format!("{text} = 0"))
        .map_err(|_| format!("`{text}` is not a key (a TOML key: `a`, `a.b`, `\"a b\"`)"))?;
    let mut key = Vec::new();
    let mut table = &doc;
    loop {
        let mut entries = table.iter();
        let (Some((name, value)), None) = (entries.next(), entries.next()) else {
            return Err(format!("`{text}` is not one key"));
        };
        key.push(name.clone());
        match value {
            toml::Value::Table(inner) => table = inner,
            _ => return Ok(key),
        }
    }
}

/// Reads `KEY=VALUE`.
pub fn parse_assignment(text: &str) -> Result<(Key, Value), String> {
    // The first `=` after which the left side is a whole key (a quoted key may hold `=`).
    for (at, _) in text.match_indices('=') {
        let Ok(key) = parse_key(text[..at].trim()) else { continue };
        let value = text[at + 1..].trim();
        if value.is_empty() {
            return Err(format!("`{text}`: no value after `=` (a TOML value: `true`, `0.5`, `\"text\"`, `[1, 2]`)"));
        }
        let document = crate::repo::toml_json::parse("VALUE", &format!("v = {value}")).map_err(|problems| {
            let why: Vec<String> = problems.iter().map(|p| p.message.clone()).collect();
            format!(
                "`{text}`: `{value}` is not a TOML value ({}); quote text: `{}=\"{value}\"`",
                why.join("; "),
                show(&key)
            )
        })?;
        let value = document.table.get("v").cloned().expect("the one key parsed");
        return Ok((key, value));
    }
    Err(format!("`{text}` is not KEY=VALUE"))
}

/// Sets `key` to `value` in `values`.
pub fn set(values: &mut Map<String, Value>, key: &[String], value: Value) -> Result<(), String> {
    let (name, tables) = key.split_last().expect("keys have a name");
    let mut table = values;
    for (depth, part) in tables.iter().enumerate() {
        let entry = table.entry(part.clone()).or_insert_with(|| Value::Object(Map::new()));
        match entry {
            Value::Object(inner) => table = inner,
            _ => return Err(format!("`{}` is not a table, so `{}` cannot be set", show(&key[..=depth]), show(key))),
        }
    }
    table.insert(name.clone(), value);
    Ok(())
}

/// Removes `key` from `values`; empty tables on its way stay.
pub fn delete(values: &mut Map<String, Value>, key: &[String]) -> Result<(), String> {
    let (name, tables) = key.split_last().expect("keys have a name");
    let mut table = values;
    for part in tables {
        match table.get_mut(part) {
            Some(Value::Object(inner)) => table = inner,
            _ => return Err(format!("there is no key `{}` to delete", show(key))),
        }
    }
    table.remove(name).map(drop).ok_or_else(|| format!("there is no key `{}` to delete", show(key)))
}

/// The value at `key` in `values`, if any.
pub fn get<'a>(values: &'a Map<String, Value>, key: &[String]) -> Option<&'a Value> {
    let (name, tables) = key.split_last()?;
    let mut table = values;
    for part in tables {
        table = table.get(part)?.as_object()?;
    }
    table.get(name)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn key(parts: &[&str]) -> Key {
        parts.iter().map(|p| p.to_string()).collect()
    }

    #[test]
    fn assignments_read_their_toml_values_exactly() {
        let cases = [
            ("flag=false", key(&["flag"]), json!(false)),
            ("pct = 0.05", key(&["pct"]), json!(0.05)),
            ("name=\"a = b\"", key(&["name"]), json!("a = b")),
            ("list=[1, 2]", key(&["list"]), json!([1, 2])),
            ("db.pool={ size = 5 }", key(&["db", "pool"]), json!({"size": 5})),
            ("\"a.b\".c=9223372036854775807", key(&["a.b", "c"]), json!(9_223_372_036_854_775_807_i64)),
            ("\"x=y\"=1", key(&["x=y"]), json!(1)),
        ];
        for (text, want_key, want_value) in cases {
            assert_eq!(parse_assignment(text).unwrap(), (want_key, want_value), "{text}");
        }
    }

    #[test]
    fn bad_assignments_say_what_to_write() {
        let err = parse_assignment("greeting=hello").unwrap_err();
        assert!(err.contains("quote text: `greeting=\"hello\"`"), "{err}");
        assert!(parse_assignment("big=9223372036854775808").unwrap_err().contains("64 bits"));
        assert!(parse_assignment("novalue=").unwrap_err().contains("no value"));
        assert!(parse_assignment("just-a-key").unwrap_err().contains("is not KEY=VALUE"));
        assert!(parse_assignment("x=nan").is_err(), "JSON cannot carry NaN");
    }

    #[test]
    fn set_and_delete_reach_into_tables() {
        let mut values = json!({"a": 1, "db": {"pool": {"size": 5}}}).as_object().unwrap().clone();
        set(&mut values, &key(&["db", "pool", "size"]), json!(8)).unwrap();
        set(&mut values, &key(&["new", "inner"]), json!(true)).unwrap();
        delete(&mut values, &key(&["a"])).unwrap();
        assert_eq!(Value::Object(values.clone()), json!({"db": {"pool": {"size": 8}}, "new": {"inner": true}}));
        assert_eq!(get(&values, &key(&["db", "pool", "size"])), Some(&json!(8)));
        assert!(
            set(&mut values, &key(&["db", "pool", "size", "x"]), json!(1))
                .unwrap_err()
                .contains("`db.pool.size` is not a table")
        );
        assert!(delete(&mut values, &key(&["db", "nothing"])).unwrap_err().contains("no key `db.nothing`"));
        assert_eq!(show(&key(&["a.b", "c d", "e"])), "\"a.b\".\"c d\".e");
    }
}
