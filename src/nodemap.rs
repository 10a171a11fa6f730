//! The two formats of a `nodemaps` node (JONES.md, "Associations"): the JSON object that Jones 1.x
//! clients parse, and the legacy text the 0.5.x Python client reads, one `association -> view path`
//! line per association, joined with `\n`, no trailing newline. Zero bytes (or only whitespace)
//! mean no associations in either format.
//!
//! Reading accepts both (Jones' own server does too); writing uses the configured format
//! (`[sync] nodemap_format`). [`parse`] and [`render`] are inverses for every map [`unwritable`]
//! accepts.

use serde::Deserialize;
use serde_json::{Map, Value};

/// Separator between an association and its view path in the legacy format.
pub const LEGACY_ARROW: &str = " -> ";

/// How a nodemap is written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// A JSON object (Jones 1.x; what Jones' server writes).
    #[default]
    Json,
    /// `association -> view path` lines (the 0.5.x Python client).
    Legacy,
}

impl Format {
    pub fn as_str(self) -> &'static str {
        match self {
            Format::Json => "json",
            Format::Legacy => "legacy",
        }
    }
}

/// A parsed nodemap: association → value (a view path string when well formed).
#[derive(Debug, Clone, PartialEq)]
pub struct Parsed {
    pub map: Map<String, Value>,
    /// The format found; `None` for an empty node, which both formats read as no associations.
    pub format: Option<Format>,
}

/// Parses a nodemap node's data in either format.
pub fn parse(data: &[u8]) -> Result<Parsed, String> {
    let text = std::str::from_utf8(data).map_err(|err| format!("not UTF-8 text ({err})"))?;
    if text.trim().is_empty() {
        return Ok(Parsed { map: Map::new(), format: None });
    }
    if text.trim_start().starts_with('{') {
        return match serde_json::from_str(text) {
            Ok(Value::Object(map)) => Ok(Parsed { map, format: Some(Format::Json) }),
            Ok(_) => unreachable!("text starting with `{{` is an object when it parses"),
            Err(err) => Err(format!("invalid JSON ({err})")),
        };
    }
    let mut map = Map::new();
    for (index, line) in text.split('\n').enumerate() {
        let line = line.strip_suffix('\r').unwrap_or(line);
        if line.trim().is_empty() {
            continue;
        }
        let Some((host, path)) = line.split_once(LEGACY_ARROW) else {
            return Err(format!(
                "neither a JSON object nor the legacy `host -> path` format (line {}: `{line}`)",
                index + 1
            ));
        };
        map.insert(host.to_string(), Value::String(path.to_string()));
    }
    Ok(Parsed { map, format: Some(Format::Legacy) })
}

/// The bytes of `map` (association → view path) in `format`. JSON is canonical (sorted, compact);
/// legacy lines are sorted by association, and no associations is zero bytes.
pub fn render(map: &Map<String, Value>, format: Format) -> Vec<u8> {
    match format {
        Format::Json => serde_json::to_vec(map).expect("JSON values always serialize"),
        Format::Legacy => map
            .iter()
            .map(|(host, path)| format!("{host}{LEGACY_ARROW}{}", path.as_str().unwrap_or_default()))
            .collect::<Vec<_>>()
            .join("\n")
            .into_bytes(),
    }
}

/// Why `host` (or its view `path`) cannot be written in the legacy format, which has no quoting.
pub fn unwritable(host: &str, path: &str) -> Option<String> {
    let bad = |s: &str| s.contains('\n') || s.contains('\r') || s.contains(LEGACY_ARROW);
    if bad(host) {
        Some(format!(
            "host `{}` contains a line break or ` -> `, which the legacy nodemap format cannot hold",
            host.escape_debug()
        ))
    } else if bad(path) {
        Some(format!(
            "view path `{}` contains a line break or ` -> `, which the legacy nodemap format cannot hold",
            path.escape_debug()
        ))
    } else if host.trim() != host || host.starts_with('{') {
        Some(format!(
            "host `{host}` starts or ends with white space or starts with `{{`, which the legacy nodemap format cannot hold"
        ))
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn map(value: Value) -> Map<String, Value> {
        value.as_object().unwrap().clone()
    }

    #[test]
    fn reads_both_formats_and_empty() {
        let json = parse(br#"{"web1": "/services/s/views/a"}"#).unwrap();
        assert_eq!(json, Parsed { map: map(json!({"web1": "/services/s/views/a"})), format: Some(Format::Json) });
        let legacy = parse(b"web1 -> /services/s/views/a\nweb2 -> /services/s/views/b/c").unwrap();
        assert_eq!(legacy.format, Some(Format::Legacy));
        assert_eq!(legacy.map, map(json!({"web1": "/services/s/views/a", "web2": "/services/s/views/b/c"})));
        assert_eq!(parse(b"").unwrap(), Parsed { map: Map::new(), format: None });
        assert_eq!(parse(b" \n").unwrap().format, None);
        // Tolerated on reading: a trailing newline and CR LF line ends.
        assert_eq!(parse(b"h -> /p\r\n").unwrap().map, map(json!({"h": "/p"})));
    }

    #[test]
    fn garbage_is_an_error_that_says_why() {
        assert_eq!(
            parse(b"web1 = /x").unwrap_err(),
            "neither a JSON object nor the legacy `host -> path` format (line 1: `web1 = /x`)"
        );
        assert!(parse(b"{\"a\": ").unwrap_err().starts_with("invalid JSON"));
        assert!(parse(b"\xff").unwrap_err().starts_with("not UTF-8"));
    }

    #[test]
    fn render_then_parse_round_trips() {
        let m = map(json!({"b": "/services/s/views/x", "a": "/services/s/views/y"}));
        assert_eq!(render(&m, Format::Legacy), b"a -> /services/s/views/y\nb -> /services/s/views/x");
        assert_eq!(render(&m, Format::Json), br#"{"a":"/services/s/views/y","b":"/services/s/views/x"}"#);
        for format in [Format::Json, Format::Legacy] {
            assert_eq!(parse(&render(&m, format)).unwrap().map, m);
        }
        assert_eq!(render(&Map::new(), Format::Legacy), b"");
    }

    #[test]
    fn legacy_cannot_hold_arrows_or_line_breaks() {
        assert!(unwritable("a -> b", "/p").is_some());
        assert!(unwritable("a\nb", "/p").is_some());
        assert!(unwritable("h", "/services/s/views/x -> y").is_some());
        assert!(unwritable(" h", "/p").is_some());
        assert_eq!(unwritable("web1.example.com", "/services/s/views/a"), None);
    }
}
