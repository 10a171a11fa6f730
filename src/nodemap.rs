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
    /// Whether every Jones part that reads this format reads these associations from it, as
    /// [`parse`] (which tolerates more) does: see [`parse`].
    pub clean: bool,
}

/// Parses a nodemap node's data in either format.
///
/// Reading tolerates what some Jones parts do not, and says so with [`Parsed::clean`] `false`:
/// white space only (every part but jones-sync fails on it: only zero bytes are empty to them);
/// JSON holding ` -> ` (the Jones server reads it as lines); legacy lines with a trailing newline,
/// CR LF ends, blank lines or more than one ` -> ` (the 0.5.x client and the server split each
/// line with Python's `line.split(' -> ')` and fail unless it gives exactly two parts).
pub fn parse(data: &[u8]) -> Result<Parsed, String> {
    let text = std::str::from_utf8(data).map_err(|err| format!("not UTF-8 text ({err})"))?;
    if text.trim().is_empty() {
        return Ok(Parsed { map: Map::new(), format: None, clean: text.is_empty() });
    }
    if text.trim_start().starts_with('{') {
        return match serde_json::from_str(text) {
            Ok(Value::Object(map)) => {
                Ok(Parsed { map, format: Some(Format::Json), clean: !text.contains(LEGACY_ARROW) })
            }
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
    let clean = text.split('\n').all(|line| line.split(LEGACY_ARROW).count() == 2);
    Ok(Parsed { map, format: Some(Format::Legacy), clean })
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

/// The format of nodemap data that jones-sync wrote: JSON always starts with `{` (no associations
/// is `{}`), while the legacy text of no associations is empty.
pub fn written(data: &[u8]) -> Format {
    if data.first() == Some(&b'{') { Format::Json } else { Format::Legacy }
}

/// Whether a nodemap `found` in a format (`None`: empty) is read by every client generation that
/// `format` serves: JSON serves Jones 1.x clients (Python, Go, Ruby), which parse JSON only; legacy
/// serves the 0.5.x Python client, which parses lines only (`ValueError` on JSON, `{}` included).
/// An empty node reads as no associations in every generation.
pub fn serves(found: Option<Format>, format: Format) -> bool {
    found.is_none_or(|found| found == format)
}

/// Which client generations read a nodemap in `format`, and which cannot, for people.
pub fn generations(format: Format) -> (&'static str, &'static str) {
    match format {
        Format::Json => ("Jones 1.x clients (Python, Go, Ruby)", "the 0.5.x Python client"),
        Format::Legacy => ("the 0.5.x Python client", "Jones 1.x clients (Python, Go, Ruby)"),
    }
}

/// Why `host` cannot be an association that every Jones part reads as written, in either format;
/// `None` when it can. The rules, from how the parts read a nodemap (JONES.md):
///
/// - a Jones client looks its association up exactly (a dictionary lookup), and its default
///   association is its host name (Python: `socket.getfqdn()`, Go: `os.Hostname()`, Ruby:
///   `Socket.gethostname`), which never has white space at either end nor a control character: an
///   entry with one matches no client, so that host would silently read the root;
/// - the legacy format splits lines at `\n`, so a line break cannot be held;
/// - the Jones server (`jones/jones.py`, `ZNodeMap._get`) reads a nodemap as the legacy format when
///   `" -> "` occurs anywhere in its text, JSON included: a name holding it makes the server misread
///   the whole nodemap, and its next association rewrites the nodemap from that, dropping every
///   host ([`arrow_problem`]).
pub fn host_problem(host: &str) -> Option<String> {
    if host.is_empty() {
        return Some("a host name must not be empty".into());
    }
    if let Some(c) = host.chars().find(|c| c.is_control() || matches!(c, '\u{2028}' | '\u{2029}')) {
        return Some(format!(
            "host {} contains a line break or another control character (U+{:04X}): no host's name has one, \
             so no Jones client would read this entry (and the legacy nodemap format cannot hold it)",
            quoted(host),
            c as u32
        ));
    }
    if host.trim() != host {
        return Some(format!(
            "host {} starts or ends with white space: a Jones client looks its name up exactly, and a host's \
             name has none, so no client would read this entry (its host would read the root)",
            quoted(host)
        ));
    }
    arrow_problem(host).map(|why| format!("host {} {why}", quoted(host)))
}

/// Why a name that ends up in a nodemap's text (a host, or a service or environment, which are in
/// the view paths) would make the Jones server misread it: `None` when it would not.
pub fn arrow_problem(name: &str) -> Option<String> {
    name.contains(LEGACY_ARROW).then(|| {
        "contains ` -> `: the Jones server reads any nodemap holding ` -> ` as the legacy line format, \
         so it would misread this service's whole nodemap (and rewrite it without its hosts at its next \
         association change)"
            .to_string()
    })
}

/// `name` in backquotes, or as a quoted string when it has white space at an end or control
/// characters, so that what is odd about it shows.
pub fn quoted(name: &str) -> String {
    if name.is_empty() || name.trim() != name || name.chars().any(|c| c.is_control()) {
        format!("`{name:?}`")
    } else {
        format!("`{name}`")
    }
}

/// Why the association `host` → `path` cannot be written in the legacy format, whose readers (the
/// 0.5.x client and the Jones server) split each line with Python's `line.split(' -> ')` and need
/// exactly the two parts back; `None` when it can. Only for names [`host_problem`] accepts.
pub fn unwritable(host: &str, path: &str) -> Option<String> {
    let line = format!("{host}{LEGACY_ARROW}{path}");
    let parts: Vec<&str> = line.split(LEGACY_ARROW).collect();
    if line.contains(['\n', '\r']) || parts != [host, path] {
        Some(format!(
            "host {} cannot be written in the legacy nodemap format: its line `{}` would read back as {} \
             (its readers split each line at ` -> `)",
            quoted(host),
            line.escape_debug(),
            match parts.as_slice() {
                [read_host, read_path] => format!("host `{read_host}` reading `{read_path}`"),
                _ => format!("{} parts, which fails the whole nodemap", parts.len()),
            }
        ))
    } else if host.starts_with('{') {
        Some(format!(
            "host {} starts with `{{`, which the legacy nodemap format cannot hold (a nodemap starting with `{{` \
             is read as JSON)",
            quoted(host)
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
        assert_eq!(
            json,
            Parsed { map: map(json!({"web1": "/services/s/views/a"})), format: Some(Format::Json), clean: true }
        );
        let legacy = parse(b"web1 -> /services/s/views/a\nweb2 -> /services/s/views/b/c").unwrap();
        assert_eq!(legacy.format, Some(Format::Legacy));
        assert_eq!(legacy.map, map(json!({"web1": "/services/s/views/a", "web2": "/services/s/views/b/c"})));
        assert_eq!(parse(b"").unwrap(), Parsed { map: Map::new(), format: None, clean: true });
        assert_eq!(parse(b" \n").unwrap().format, None);
        assert!(legacy.clean);
        // Tolerated on reading, though Jones' own parsers fail on them: a trailing newline and
        // CR LF line ends, white space only, and JSON holding ` -> ` (the server reads it as lines).
        let tolerated = parse(b"h -> /p\r\n").unwrap();
        assert_eq!(tolerated.map, map(json!({"h": "/p"})));
        assert!(!tolerated.clean);
        assert!(!parse(b" \n").unwrap().clean);
        assert!(!parse(br#"{"a -> b": "/p"}"#).unwrap().clean);
        assert!(!parse(b"a -> b -> /p").unwrap().clean);
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
    fn legacy_cannot_hold_what_its_readers_split_differently() {
        assert!(unwritable("a -> b", "/p").is_some());
        assert!(unwritable("a\nb", "/p").is_some());
        assert!(unwritable("h", "/services/s/views/x -> y").is_some());
        // Python's `"web1 -> -> /p".split(" -> ")` is `["web1", "-> /p"]`: another host, silently.
        assert_eq!(
            unwritable("web1 ->", "/p").unwrap(),
            "host `web1 ->` cannot be written in the legacy nodemap format: its line `web1 -> -> /p` would read \
             back as host `web1` reading `-> /p` (its readers split each line at ` -> `)"
        );
        assert!(unwritable("{h", "/p").is_some());
        for fine in ["web1.example.com", "web1 -", "-> web1", "a->b", "web1 >"] {
            assert_eq!(unwritable(fine, "/services/s/views/a"), None, "{fine}");
            let line = render(&map(json!({fine: "/services/s/views/a"})), Format::Legacy);
            assert_eq!(parse(&line).unwrap().map, map(json!({fine: "/services/s/views/a"})), "{fine}");
        }
    }

    #[test]
    fn hosts_no_client_or_server_reads_as_written_are_named() {
        let problem = |host: &str| host_problem(host).unwrap_or_else(|| panic!("{host:?} should be refused"));
        assert!(problem("").contains("empty"));
        assert!(problem(" web1").starts_with("host `\" web1\"` starts or ends with white space"));
        assert!(problem("web1\t").starts_with("host `\"web1\\t\"` contains a line break"));
        assert!(problem("web1\n").contains("(U+000A)"));
        assert!(problem("a\u{2028}b").contains("(U+2028)"));
        assert!(problem("web1\u{a0}").contains("white space"));
        assert!(problem("a -> b").starts_with("host `a -> b` contains ` -> `: the Jones server"));
        for fine in ["web1.example.com", "Web1", "a->b", "with space", "web1 ->"] {
            assert_eq!(host_problem(fine), None, "{fine}");
        }
    }
}
