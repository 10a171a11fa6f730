//! Reading the JSON that other writers left in ZooKeeper (the Jones web UI, Python scripts):
//! exactly, or key by key.
//!
//! What jones-sync writes is canonical JSON that parses back to the very values it came from. What
//! others write need not: Python's `json` writes `NaN`, `Infinity` and `-Infinity`, integers of any
//! size and, from a string holding one, a lone surrogate (`"\ud800"`); a value may be nested deeper
//! than a parser allows. A plain JSON parser either refuses the whole node for one such value, or
//! (an integer beyond 64 bits) reads it as a float: another type and another value, silently.
//!
//! So live data is read in two ways:
//! - [`exact`]: the node's value, only when every part of it reads exactly as written (what a plan
//!   compares; anything else is a difference to show, never "no change");
//! - [`object`]: a JSON object key by key, keeping every value that reads exactly and naming each
//!   one that does not ([`Unreadable`]), so that one bad value never costs the others (what import
//!   keeps, and what a plan shows key by key).
//!
//! A syntax error is still an error for the whole node: without the structure, no key is known.

use serde_json::{Map, Number, Value};

/// Containers nested deeper than this are not read (serde_json's own limit, which jones-sync's
/// reading of JSON everywhere else has).
pub const MAX_DEPTH: usize = 128;

/// `data` as JSON when every part of it reads exactly: `None` for text that is not JSON, and for
/// JSON holding an integer beyond 64 bits, which a JSON parser reads as a float.
pub fn exact(data: &[u8]) -> Option<Value> {
    let value: Value = serde_json::from_slice(data).ok()?;
    // An integer beyond 64 bits becomes a float of at least 2^63 in magnitude: only then is the
    // text scanned for one.
    if has_huge_float(&value) && has_lossy_integer(data) { None } else { Some(value) }
}

/// A JSON object read key by key.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Object {
    /// Every key whose name reads, with its value; the parts of the value that do not read are
    /// left out (a key of an object, an element of an array).
    pub values: Map<String, Value>,
    /// The top-level keys whose value (or name) did not read whole: `values` holds what could be
    /// read of it, if anything.
    pub partial: Vec<Partial>,
    /// Every part that did not read, in the order written.
    pub unreadable: Vec<Unreadable>,
}

/// A top-level key that did not read whole.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partial {
    /// The key (its text as written when the name itself does not read).
    pub key: String,
    /// Its value's text as written.
    pub text: String,
    /// Why, in a few words: of its first part that does not read, named when it is not the whole
    /// value (`` `db.ratio`: `NaN` is not a JSON number ``).
    pub why: String,
}

/// A part of a value that does not read exactly.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unreadable {
    /// Where it is: `key`, `key.nested`, `list[2]` (keys quoted when not bare, as TOML writes them).
    pub path: String,
    /// Its text as written (lossy where it is not UTF-8).
    pub text: String,
    /// Why it does not read, in a few words: `NaN is not a JSON number`.
    pub why: String,
}

/// `data` read as a JSON object key by key, or why it is not one (a syntax error, or another
/// kind of value: then nothing of it can be kept).
pub fn object(data: &[u8]) -> Result<Object, String> {
    let mut parser = Parser { data, pos: 0, unreadable: Vec::new() };
    parser.ws();
    if parser.peek() != Some(b'{') {
        return Err(match parser.peek() {
            None => "it is empty".into(),
            Some(_) => parser.syntax("a JSON object"),
        });
    }
    let mut object = Object::default();
    parser.pos += 1;
    parser.ws();
    if parser.peek() == Some(b'}') {
        parser.pos += 1;
    } else {
        loop {
            parser.ws();
            let (key, key_raw) = parser.string().map_err(|()| parser.syntax("a key (a string)"))?;
            // A key that does not read is named by its text as written.
            let (name, path) = match &key {
                Ok(key) => (key.clone(), bare_or_quoted(key)),
                Err(_) => (key_raw.clone(), key_raw.clone()),
            };
            let before = parser.unreadable.len();
            if let Err(why) = &key {
                parser.unreadable.push(Unreadable { path: path.clone(), text: key_raw.clone(), why: why.clone() });
            }
            parser.ws();
            parser.expect(b':')?;
            parser.ws();
            let start = parser.pos;
            let value = parser.value(&path, 1)?;
            let text = String::from_utf8_lossy(&data[start..parser.pos]).into_owned();
            if let Some(first) = parser.unreadable.get(before) {
                let why =
                    if first.path == path { first.why.clone() } else { format!("`{}`: {}", first.path, first.why) };
                object.partial.push(Partial { key: name, text, why });
            }
            if let (Ok(key), Some(value)) = (key, value) {
                object.values.insert(key, value);
            }
            parser.ws();
            match parser.next() {
                Some(b',') => continue,
                Some(b'}') => break,
                _ => return Err(parser.syntax_back("`,` or `}`")),
            }
        }
    }
    parser.ws();
    if parser.pos != data.len() {
        return Err(parser.syntax("the end of the text"));
    }
    object.unreadable = parser.unreadable;
    Ok(object)
}

struct Parser<'a> {
    data: &'a [u8],
    pos: usize,
    unreadable: Vec<Unreadable>,
}

impl Parser<'_> {
    fn peek(&self) -> Option<u8> {
        self.data.get(self.pos).copied()
    }

    fn next(&mut self) -> Option<u8> {
        let byte = self.peek();
        self.pos += 1;
        byte
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.pos += 1;
        }
    }

    fn expect(&mut self, byte: u8) -> Result<(), String> {
        if self.peek() == Some(byte) {
            self.pos += 1;
            Ok(())
        } else {
            Err(self.syntax(&format!("`{}`", byte as char)))
        }
    }

    /// A syntax error at the current position: what was expected there.
    fn syntax(&self, expected: &str) -> String {
        let at = self.pos.min(self.data.len());
        let before = &self.data[..at];
        let line = before.iter().filter(|b| **b == b'\n').count() + 1;
        let column = at - before.iter().rposition(|b| *b == b'\n').map_or(0, |i| i + 1) + 1;
        format!("invalid JSON: expected {expected} at line {line} column {column}")
    }

    /// [`Parser::syntax`] for the byte just consumed.
    fn syntax_back(&mut self, expected: &str) -> String {
        self.pos = self.pos.saturating_sub(1);
        self.syntax(expected)
    }

    /// A string at the current position: its value (or why it does not read) and its raw text.
    /// `Err` when there is no string (a syntax error).
    fn string(&mut self) -> Result<(Result<String, String>, String), ()> {
        if self.peek() != Some(b'"') {
            return Err(());
        }
        let start = self.pos;
        let mut i = start + 1;
        loop {
            match self.data.get(i) {
                None => return Err(()),
                Some(b'"') => break,
                Some(b'\\') => i += 2,
                Some(_) => i += 1,
            }
        }
        self.pos = i + 1;
        let raw = &self.data[start..self.pos];
        let text = String::from_utf8_lossy(raw).into_owned();
        let value = serde_json::from_slice::<String>(raw).map_err(|err| string_problem(raw, &err.to_string()));
        Ok((value, text))
    }

    /// The value at the current position, at `path`, `depth` containers deep. `Ok(None)`: it does
    /// not read at all (recorded); `Ok(Some(_))` with parts left out is recorded too.
    fn value(&mut self, path: &str, depth: usize) -> Result<Option<Value>, String> {
        let start = self.pos;
        let unreadable = |parser: &mut Self, why: String| {
            let text = String::from_utf8_lossy(&parser.data[start..parser.pos]).into_owned();
            parser.unreadable.push(Unreadable { path: path.to_string(), text, why });
            Ok(None)
        };
        match self.peek() {
            Some(b'{' | b'[') if depth > MAX_DEPTH => {
                self.skip_container()?;
                unreadable(self, format!("nested deeper than {MAX_DEPTH} levels"))
            }
            Some(b'{') => self.nested_object(path, depth).map(Some),
            Some(b'[') => self.array(path, depth).map(Some),
            Some(b'"') => match self.string().map_err(|()| self.syntax("a string"))? {
                (Ok(value), _) => Ok(Some(Value::String(value))),
                (Err(why), _) => unreadable(self, why),
            },
            Some(b'-' | b'0'..=b'9') if !self.data[self.pos..].starts_with(b"-Infinity") => self.number(path),
            _ => {
                for (word, value) in [
                    ("true", Some(Value::Bool(true))),
                    ("false", Some(Value::Bool(false))),
                    ("null", Some(Value::Null)),
                ] {
                    if self.data[self.pos..].starts_with(word.as_bytes()) {
                        self.pos += word.len();
                        return Ok(value);
                    }
                }
                for word in ["NaN", "Infinity", "-Infinity"] {
                    if self.data[self.pos..].starts_with(word.as_bytes()) {
                        self.pos += word.len();
                        return unreadable(self, format!("`{word}` is not a JSON number"));
                    }
                }
                Err(self.syntax("a value"))
            }
        }
    }

    fn nested_object(&mut self, path: &str, depth: usize) -> Result<Value, String> {
        self.pos += 1;
        let mut map = Map::new();
        self.ws();
        if self.peek() == Some(b'}') {
            self.pos += 1;
            return Ok(Value::Object(map));
        }
        loop {
            self.ws();
            let (key, key_raw) = self.string().map_err(|()| self.syntax("a key (a string)"))?;
            let child = match &key {
                Ok(key) => format!("{path}.{}", bare_or_quoted(key)),
                Err(_) => format!("{path}.{key_raw}"),
            };
            if let Err(why) = &key {
                self.unreadable.push(Unreadable { path: child.clone(), text: key_raw, why: why.clone() });
            }
            self.ws();
            self.expect(b':')?;
            self.ws();
            let value = self.value(&child, depth + 1)?;
            if let (Ok(key), Some(value)) = (key, value) {
                map.insert(key, value);
            }
            self.ws();
            match self.next() {
                Some(b',') => continue,
                Some(b'}') => return Ok(Value::Object(map)),
                _ => return Err(self.syntax_back("`,` or `}`")),
            }
        }
    }

    fn array(&mut self, path: &str, depth: usize) -> Result<Value, String> {
        self.pos += 1;
        let mut items = Vec::new();
        self.ws();
        if self.peek() == Some(b']') {
            self.pos += 1;
            return Ok(Value::Array(items));
        }
        for index in 0.. {
            self.ws();
            if let Some(value) = self.value(&format!("{path}[{index}]"), depth + 1)? {
                items.push(value);
            }
            self.ws();
            match self.next() {
                Some(b',') => continue,
                Some(b']') => break,
                _ => return Err(self.syntax_back("`,` or `]`")),
            }
        }
        Ok(Value::Array(items))
    }

    /// A number: integers that fit 64 bits and finite floats read; an integer beyond 64 bits and a
    /// float beyond a double's range do not (a parser would make the first a float, and refuses
    /// the second).
    fn number(&mut self, path: &str) -> Result<Option<Value>, String> {
        let start = self.pos;
        while matches!(self.peek(), Some(b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E')) {
            self.pos += 1;
        }
        let token = std::str::from_utf8(&self.data[start..self.pos]).expect("ASCII");
        if !is_json_number(token) {
            self.pos = start;
            return Err(self.syntax("a number"));
        }
        let parsed = if token.contains(['.', 'e', 'E']) {
            token.parse::<f64>().ok().and_then(Number::from_f64).ok_or("beyond the range of a 64-bit float")
        } else {
            token
                .parse::<i64>()
                .map(Number::from)
                .or_else(|_| token.parse::<u64>().map(Number::from))
                .map_err(|_| "an integer beyond 64 bits")
        };
        match parsed {
            Ok(number) => Ok(Some(Value::Number(number))),
            Err(why) => {
                self.unreadable.push(Unreadable { path: path.to_string(), text: token.to_string(), why: why.into() });
                Ok(None)
            }
        }
    }

    /// Skips the object or array at the current position, strings and all, without recursion.
    fn skip_container(&mut self) -> Result<(), String> {
        let mut depth = 0usize;
        loop {
            match self.peek() {
                None => return Err(self.syntax("the end of a nested value")),
                Some(b'"') => {
                    // Only its end matters here, not whether it reads.
                    let _ = self.string().map_err(|()| self.syntax("the end of a string"))?;
                    continue;
                }
                Some(b'{' | b'[') => depth += 1,
                Some(b'}' | b']') => {
                    depth -= 1;
                    if depth == 0 {
                        self.pos += 1;
                        return Ok(());
                    }
                }
                Some(_) => {}
            }
            self.pos += 1;
        }
    }
}

/// `-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?`, JSON's number grammar.
fn is_json_number(token: &str) -> bool {
    let digits = |s: &str| -> usize { s.bytes().take_while(u8::is_ascii_digit).count() };
    let mut rest = token.strip_prefix('-').unwrap_or(token);
    match digits(rest) {
        0 => return false,
        n if n > 1 && rest.starts_with('0') => return false,
        n => rest = &rest[n..],
    }
    if let Some(fraction) = rest.strip_prefix('.') {
        let n = digits(fraction);
        if n == 0 {
            return false;
        }
        rest = &fraction[n..];
    }
    if let Some(exponent) = rest.strip_prefix(['e', 'E']) {
        let exponent = exponent.strip_prefix(['+', '-']).unwrap_or(exponent);
        let n = digits(exponent);
        if n == 0 {
            return false;
        }
        rest = &exponent[n..];
    }
    rest.is_empty()
}

/// Why the string `raw` does not read, from serde_json's `error` about it.
fn string_problem(raw: &[u8], error: &str) -> String {
    let surrogate = raw.windows(6).any(|w| {
        w.starts_with(b"\\u")
            && std::str::from_utf8(&w[2..])
                .ok()
                .and_then(|hex| u16::from_str_radix(hex, 16).ok())
                .is_some_and(|unit| (0xD800..=0xDFFF).contains(&unit))
    });
    if surrogate && (error.contains("surrogate") || error.contains("hex escape")) {
        "a string holding a lone surrogate (half of a UTF-16 pair), which is not text".into()
    } else if error.contains("UTF-8") {
        "a string that is not valid UTF-8".into()
    } else if error.contains("control character") {
        "a string holding an unescaped control character".into()
    } else {
        let error = error.split(" at line ").next().unwrap_or(error);
        format!("a string that does not read ({error})")
    }
}

/// A key as TOML writes it in a dotted path: bare when it can be, else quoted.
pub fn bare_or_quoted(key: &str) -> String {
    let bare = !key.is_empty() && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if bare { key.to_string() } else { format!("{key:?}") }
}

/// Whether `value` holds a float of at least 2^63 in magnitude (what an integer beyond 64 bits
/// becomes when parsed).
fn has_huge_float(value: &Value) -> bool {
    match value {
        Value::Number(n) => n.is_f64() && n.as_f64().is_some_and(|f| f.abs() >= 2f64.powi(63)),
        Value::Array(items) => items.iter().any(has_huge_float),
        Value::Object(map) => map.values().any(has_huge_float),
        _ => false,
    }
}

/// Whether the JSON text `data` holds an integer token that fits neither i64 nor u64.
fn has_lossy_integer(data: &[u8]) -> bool {
    let mut i = 0;
    while i < data.len() {
        match data[i] {
            b'"' => {
                i += 1;
                while i < data.len() && data[i] != b'"' {
                    i += if data[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            b'-' | b'0'..=b'9' => {
                let start = i;
                while i < data.len() && matches!(data[i], b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E') {
                    i += 1;
                }
                let token = std::str::from_utf8(&data[start..i]).unwrap_or_default();
                if !token.contains(['.', 'e', 'E']) && token.parse::<i64>().is_err() && token.parse::<u64>().is_err() {
                    return true;
                }
            }
            _ => i += 1,
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn read(text: &str) -> Object {
        object(text.as_bytes()).unwrap_or_else(|err| panic!("{text}: {err}"))
    }

    fn unreadable(text: &str) -> Vec<String> {
        read(text).unreadable.iter().map(|u| format!("{}: {}: {}", u.path, u.text, u.why)).collect()
    }

    #[test]
    fn exact_refuses_integers_a_parser_would_make_floats() {
        assert_eq!(exact(b"{\"a\": 18446744073709551615}"), Some(json!({"a": 18446744073709551615u64})));
        assert_eq!(exact(b"{\"a\": -9223372036854775808}"), Some(json!({"a": i64::MIN})));
        assert_eq!(exact(b"{\"a\": 18446744073709551616}"), None);
        assert_eq!(exact(b"{\"a\": [{\"b\": -9223372036854775809}]}"), None);
        // A float of the same size is a float, written as one.
        assert_eq!(
            exact(b"{\"a\": 1.8446744073709552e19, \"s\": \"18446744073709551616\"}").unwrap()["a"],
            1.8446744073709552e19
        );
        assert_eq!(exact(b"{\"a\": NaN}"), None);
        assert_eq!(exact(b"[1]"), Some(json!([1])));
    }

    #[test]
    fn every_readable_key_is_kept_and_every_other_one_named() {
        let text = r#"{"a": 1, "nan": NaN, "inf": -Infinity, "big": 18446744073709551616,
            "db": {"host": "h", "ratio": Infinity, "deep": {"x": "\ud800"}},
            "list": [1, NaN, 3], "huge": 1e400, "\udc00key": 2, "s": "fine \u00e9 \ud83d\ude80", "z": null}"#;
        let object = read(text);
        assert_eq!(
            Value::Object(object.values.clone()),
            json!({"a": 1, "db": {"host": "h", "deep": {}}, "list": [1, 3], "s": "fine é 🚀", "z": null})
        );
        assert_eq!(
            unreadable(text),
            [
                "nan: NaN: `NaN` is not a JSON number",
                "inf: -Infinity: `-Infinity` is not a JSON number",
                "big: 18446744073709551616: an integer beyond 64 bits",
                "db.ratio: Infinity: `Infinity` is not a JSON number",
                "db.deep.x: \"\\ud800\": a string holding a lone surrogate (half of a UTF-16 pair), which is not text",
                "list[1]: NaN: `NaN` is not a JSON number",
                "huge: 1e400: beyond the range of a 64-bit float",
                "\"\\udc00key\": \"\\udc00key\": a string holding a lone surrogate (half of a UTF-16 pair), which is not text",
            ]
        );
        let partial: Vec<&str> = object.partial.iter().map(|p| p.key.as_str()).collect();
        assert_eq!(partial, ["nan", "inf", "big", "db", "list", "huge", "\"\\udc00key\""]);
        let db = &object.partial[3];
        assert_eq!(db.text, r#"{"host": "h", "ratio": Infinity, "deep": {"x": "\ud800"}}"#);
        assert_eq!(db.why, "`db.ratio`: `Infinity` is not a JSON number");
        assert_eq!(object.partial[0].why, "`NaN` is not a JSON number");
    }

    #[test]
    fn values_nested_deeper_than_the_limit_are_named_not_followed() {
        let levels = MAX_DEPTH + 10;
        let text = format!(r#"{{"ok": 1, "deep": {}1{}}}"#, "[".repeat(levels), "]".repeat(levels));
        let object = read(&text);
        // `deep` keeps its arrays down to the limit, the innermost one empty.
        let mut kept = json!([]);
        for _ in 1..MAX_DEPTH {
            kept = json!([kept]);
        }
        assert_eq!(Value::Object(object.values), json!({"ok": 1, "deep": kept}));
        assert_eq!(object.unreadable.len(), 1);
        assert_eq!(object.unreadable[0].path, format!("deep{}", "[0]".repeat(MAX_DEPTH)));
        assert_eq!(object.unreadable[0].why, "nested deeper than 128 levels");
    }

    #[test]
    fn syntax_errors_and_other_kinds_of_value_fail_whole() {
        assert_eq!(object(b"{\"a\": 1,}").unwrap_err(), "invalid JSON: expected a key (a string) at line 1 column 9");
        assert_eq!(object(b"{\"a\" 1}").unwrap_err(), "invalid JSON: expected `:` at line 1 column 6");
        assert_eq!(object(b"{\"a\": 01}").unwrap_err(), "invalid JSON: expected a number at line 1 column 7");
        assert_eq!(object(b"{\"a\": nope}").unwrap_err(), "invalid JSON: expected a value at line 1 column 7");
        assert_eq!(
            object(b"{\"a\": 1} x").unwrap_err(),
            "invalid JSON: expected the end of the text at line 1 column 10"
        );
        assert_eq!(object(b"[1]").unwrap_err(), "invalid JSON: expected a JSON object at line 1 column 1");
        assert_eq!(object(b"  ").unwrap_err(), "it is empty");
        assert_eq!(object(b"{\"a\": \"open").unwrap_err(), "invalid JSON: expected a string at line 1 column 7");
    }

    #[test]
    fn what_serde_reads_reads_the_same_key_by_key() {
        for text in [
            r#"{}"#,
            r#"{"a": [1, 2.5, -0.0, 1e300, true, false, null, "x\"\\\/\b\f\n\r\t\u0001"], "b": {"c": {}}}"#,
            r#"{"dup": 1, "dup": 2}"#,
            " {\n\t\"k\" :\r\n -12 } ",
        ] {
            let object = read(text);
            assert!(object.unreadable.is_empty() && object.partial.is_empty(), "{text}");
            assert_eq!(Some(Value::Object(object.values)), exact(text.as_bytes()), "{text}");
        }
    }

    proptest::proptest! {
        #[test]
        fn any_bytes_read_or_fail_without_panicking(data in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200)) {
            let _ = object(&data);
            let _ = exact(&data);
        }

        #[test]
        fn every_object_serde_writes_reads_back_whole(map in proptest::collection::btree_map(".{0,8}", values(), 0..6)) {
            let map: Map<String, Value> = map.into_iter().collect();
            for text in [serde_json::to_string(&map).unwrap(), serde_json::to_string_pretty(&map).unwrap()] {
                let read = object(text.as_bytes()).unwrap();
                proptest::prop_assert!(read.unreadable.is_empty() && read.partial.is_empty());
                proptest::prop_assert_eq!(&read.values, &map);
                proptest::prop_assert_eq!(exact(text.as_bytes()), Some(Value::Object(map.clone())));
            }
        }
    }

    fn values() -> impl proptest::strategy::Strategy<Value = Value> {
        use proptest::prelude::*;
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            any::<f64>().prop_filter("finite", |f| f.is_finite()).prop_map(Value::from),
            ".{0,12}".prop_map(Value::from),
        ];
        leaf.prop_recursive(4, 32, 5, |inner| {
            prop_oneof![
                proptest::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
                proptest::collection::btree_map(".{0,6}", inner, 0..5)
                    .prop_map(|map| Value::Object(map.into_iter().collect())),
            ]
        })
    }
}
