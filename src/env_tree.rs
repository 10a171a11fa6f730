//! A service's environment tree for the terminal, the "inherited view" of the Jones web UI: per
//! environment its host count and every key of its view, each marked as its own, as overriding
//! an ancestor's, or as inherited (and from where). Sensitive values are redacted as plans redact
//! them ([`Redactor`]).

use std::fmt::Write;

use serde_json::Value;

use crate::model::{EnvPath, Service};
use crate::plan::redact::Redactor;

/// Longest value shown; longer ones are cut with `…`.
const MAX_VALUE_CHARS: usize = 60;

pub fn render(service: &Service, redactor: &Redactor) -> String {
    let mut out = String::new();
    let _ = writeln!(out, "{}", service.name);
    render_env(service, redactor, &EnvPath::root(), "", "", &mut out);
    out
}

fn render_env(
    service: &Service,
    redactor: &Redactor,
    path: &EnvPath,
    line_prefix: &str,
    child_prefix: &str,
    out: &mut String,
) {
    let env = &service.envs[path];
    let name = path.0.last().map_or("(root)", String::as_str);
    let n = env.hosts.len();
    let _ = writeln!(out, "{line_prefix}{name} · {n} host{}", if n == 1 { "" } else { "s" });
    let children: Vec<&EnvPath> = service.envs.keys().filter(|p| p.parent().as_ref() == Some(path)).collect();
    let key_prefix = format!("{child_prefix}{}   ", if children.is_empty() { " " } else { "│" });
    let lines = keys(service, redactor, path);
    if lines.is_empty() {
        let _ = writeln!(out, "{key_prefix}(no keys)");
    }
    let width = lines.iter().map(|(text, _)| text.chars().count()).max().unwrap_or(0);
    for (text, note) in lines {
        let pad = width - text.chars().count();
        let note = if note.is_empty() { String::new() } else { format!("{}  {note}", " ".repeat(pad)) };
        let _ = writeln!(out, "{key_prefix}{text}{note}");
    }
    for (i, child) in children.iter().enumerate() {
        let last = i + 1 == children.len();
        let line = format!("{child_prefix}{}", if last { "└── " } else { "├── " });
        let below = format!("{child_prefix}{}", if last { "    " } else { "│   " });
        render_env(service, redactor, child, &line, &below, out);
    }
}

/// Every key of the view of `path`, sorted, as `key = value` with a note on where it comes from.
fn keys(service: &Service, redactor: &Redactor, path: &EnvPath) -> Vec<(String, String)> {
    // The environment that set each key last, walking from the root down (Jones' shallow update).
    let mut lineage = vec![path.clone()];
    while let Some(parent) = lineage.last().and_then(EnvPath::parent) {
        lineage.push(parent);
    }
    lineage.reverse();
    let mut view: std::collections::BTreeMap<&String, (&Value, &EnvPath, Option<&EnvPath>)> = Default::default();
    for env in &lineage {
        for (key, value) in &service.envs[env].values {
            let shadowed = view.get(key).map(|(_, from, _)| *from);
            view.insert(key, (value, env, shadowed));
        }
    }
    view.into_iter()
        .map(|(key, (value, from, shadowed))| {
            let shown = match redactor.is_sensitive(key) {
                true => crate::plan::redact::SENSITIVE.to_string(),
                false => cut(&redactor.shown_of(key, value).to_string()),
            };
            let text = format!("{key} = {shown}");
            let note = if from != path {
                format!("(from {})", env_name(from))
            } else if let Some(ancestor) = shadowed {
                format!("(overrides {})", env_name(ancestor))
            } else {
                String::new()
            };
            (text, note)
        })
        .collect()
}

fn env_name(path: &EnvPath) -> String {
    if path.is_root() { "root".into() } else { path.to_string() }
}

fn cut(text: &str) -> String {
    if text.chars().count() <= MAX_VALUE_CHARS {
        return text.to_string();
    }
    let kept: String = text.chars().take(MAX_VALUE_CHARS - 1).collect();
    format!("{kept}…")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::model::Environment;

    #[test]
    fn shows_own_overridden_and_inherited_keys() {
        let env = |path: &str, values: Value, hosts: &[&str]| {
            let path = EnvPath(path.split('/').filter(|s| !s.is_empty()).map(String::from).collect());
            let environment = Environment {
                dir: String::new(),
                values: values.as_object().unwrap().clone(),
                hosts: hosts.iter().map(|h| h.to_string()).collect(),
            };
            (path, environment)
        };
        let service = Service {
            name: "shop".into(),
            envs: [
                env("", json!({"timeout": 30, "currency": "USD"}), &[]),
                env("production", json!({"timeout": 60, "region": "us"}), &["p1", "p2"]),
                env("production/canary", json!({"flags": {"new_checkout": true}}), &["c1"]),
                env("production/eu", json!({"currency": "EUR"}), &[]),
                env("staging", json!({"debug": true, "motd": "x".repeat(80)}), &["s1"]),
                env("empty", json!({}), &[]),
            ]
            .into_iter()
            .collect(),
        };
        let mut bare = service.clone();
        bare.envs.retain(|path, _| path.is_root());
        bare.envs.get_mut(&EnvPath::root()).unwrap().values.clear();
        let all = Redactor::show_all();
        assert_eq!(render(&bare, &all), "shop\n(root) · 0 hosts\n    (no keys)\n");
        insta::assert_snapshot!(render(&service, &all));
    }

    /// Regression: `tree` showed sensitive values that every plan redacts.
    #[test]
    fn redacts_sensitive_values_as_plans_do() {
        let mut envs = std::collections::BTreeMap::new();
        let values = json!({"db_password": "hunter2", "db": {"host": "h", "api_token": "t-1"}, "port": 1});
        let root = Environment { values: values.as_object().unwrap().clone(), ..Environment::default() };
        envs.insert(EnvPath::root(), root);
        let service = Service { name: "shop".into(), envs };
        let redactor = Redactor::new(crate::plan::redact::DEFAULT_PATTERNS, false).unwrap();
        assert_eq!(
            render(&service, &redactor),
            "shop\n(root) · 0 hosts\n    db = {\"api_token\":\"(sensitive)\",\"host\":\"h\"}\n    db_password = (sensitive)\n    port = 1\n"
        );
        assert!(
            render(&service, &Redactor::new(crate::plan::redact::DEFAULT_PATTERNS, true).unwrap()).contains("hunter2")
        );
    }
}
