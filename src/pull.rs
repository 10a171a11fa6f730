//! `jones-sync pull`: live drift written back into the repository's TOML files as the smallest
//! edit. Pure: it compares a service's model as the repository has it with its model as
//! ZooKeeper holds it (as `import` reads it) and says, file by file, the text before and
//! after.
//!
//! - An environment in both whose own values differ: its `config.toml` is edited with
//!   `toml_edit`, key by key (a table whose keys changed is edited inside, recursively), so
//!   comments, key order and formatting stay byte for byte outside the changed keys. A new
//!   top-level value goes among the other top-level values (before the first `[table]`), a new
//!   table at the end.
//! - Its hosts: `hosts.toml`'s `hosts` array loses the hosts that left and gains the new ones at
//!   its end (created when the environment had none).
//! - An environment only ZooKeeper has: a new directory with `config.toml` (and `hosts.toml`),
//!   written as `import` writes them. An environment only the repository has: its files go.
//!
//! Values keep their exact type (integers stay integers, 64-bit limits respected) as in import;
//! what TOML cannot hold (`null`, integers beyond 64 bits) is refused, naming the key.

use std::collections::BTreeSet;

use serde_json::{Map, Value};
use toml_edit::{DocumentMut, Item, Table};

use crate::model::Service;

/// One file of the repository, before and after (`None`: absent).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileEdit {
    /// Relative to the repository (`services/shop/prod/config.toml`).
    pub path: String,
    pub before: Option<String>,
    pub after: Option<String>,
}

/// The edits that make `repo` (the service as the repository has it, with values) hold `live`;
/// `read` gives a repository file's text. Problems name the key or file they are about.
pub fn edits(
    repo: &Service,
    live: &Service,
    read: &dyn Fn(&str) -> Option<String>,
) -> Result<Vec<FileEdit>, Vec<String>> {
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for (path, env) in &live.envs {
        let config = format!("{}/{}", env.dir, crate::repo::CONFIG_FILE);
        let hosts_file = format!("{}/{}", env.dir, crate::repo::HOSTS_FILE);
        match repo.envs.get(path) {
            Some(ours) => {
                if ours.values != env.values {
                    let before = read(&config);
                    let mut doc = match before.as_deref().unwrap_or("").parse::<DocumentMut>() {
                        Ok(doc) => doc,
                        Err(err) => {
                            problems.push(format!("{config}: cannot be edited: {err}"));
                            continue;
                        }
                    };
                    edit_table(doc.as_table_mut(), &ours.values, &env.values, "", &config, &mut problems);
                    out.push(FileEdit { path: config, before, after: Some(doc.to_string()) });
                }
                let (had, has): (BTreeSet<&String>, BTreeSet<&String>) =
                    (ours.hosts.iter().collect(), env.hosts.iter().collect());
                if had != has {
                    let before = read(&hosts_file);
                    let after = match &before {
                        Some(text) => match text.parse::<DocumentMut>() {
                            Ok(mut doc) => {
                                edit_hosts(&mut doc, &env.hosts);
                                doc.to_string()
                            }
                            Err(err) => {
                                problems.push(format!("{hosts_file}: cannot be edited: {err}"));
                                continue;
                            }
                        },
                        None => crate::import::toml_out::hosts(&env.hosts),
                    };
                    out.push(FileEdit { path: hosts_file, before, after: Some(after) });
                }
            }
            None => {
                let mut reports = Vec::new();
                let text = crate::import::toml_out::config(&env.values, &config, &mut reports);
                problems.extend(reports.iter().map(|r| format!("{}: {}", r.subject, r.message)));
                out.push(FileEdit { before: read(&config), path: config, after: Some(text) });
                if !env.hosts.is_empty() {
                    out.push(FileEdit {
                        path: hosts_file.clone(),
                        before: read(&hosts_file),
                        after: Some(crate::import::toml_out::hosts(&env.hosts)),
                    });
                }
            }
        }
    }
    for (path, env) in &repo.envs {
        if live.envs.contains_key(path) {
            continue;
        }
        for file in [crate::repo::CONFIG_FILE, crate::repo::HOSTS_FILE] {
            let file = format!("{}/{file}", env.dir);
            if let Some(before) = read(&file) {
                out.push(FileEdit { path: file, before: Some(before), after: None });
            }
        }
    }
    if problems.is_empty() { Ok(out) } else { Err(problems) }
}

/// Makes `table` (holding `old`) hold `new`, key by key.
fn edit_table(
    table: &mut Table,
    old: &Map<String, Value>,
    new: &Map<String, Value>,
    prefix: &str,
    file: &str,
    problems: &mut Vec<String>,
) {
    for key in old.keys().filter(|key| !new.contains_key(*key)) {
        table.remove(key);
    }
    for (key, value) in new {
        let path = if prefix.is_empty() { key.clone() } else { format!("{prefix}.{key}") };
        match (old.get(key), value) {
            (Some(before), _) if before == value => {}
            (Some(Value::Object(before)), Value::Object(after)) if table.get(key).is_some_and(Item::is_table_like) => {
                let item = table.get_mut(key).expect("checked");
                if let Some(inner) = item.as_table_mut() {
                    edit_table(inner, before, after, &path, file, problems);
                } else if let Some(inline) = item.as_inline_table_mut() {
                    let mut inner = inline.clone().into_table();
                    edit_table(&mut inner, before, after, &path, file, problems);
                    *inline = inner.into_inline_table();
                }
            }
            _ => {
                let Some(new_item) = item(value, &path, file, problems) else { continue };
                match table.get_mut(key) {
                    // A value keeps its place (and the comment after it).
                    Some(Item::Value(existing)) if new_item.is_value() => {
                        let decor = existing.decor().clone();
                        *existing = new_item.into_value().expect("checked");
                        *existing.decor_mut() = decor;
                    }
                    _ => {
                        table.insert(key, new_item);
                    }
                }
            }
        }
    }
}

/// `value` as a TOML item: an object becomes a `[table]`, anything else a value.
fn item(value: &Value, path: &str, file: &str, problems: &mut Vec<String>) -> Option<Item> {
    if let Value::Object(map) = value {
        let mut table = Table::new();
        for (key, inner) in map {
            if let Some(inner) = item(inner, &format!("{path}.{key}"), file, problems) {
                table.insert(key, inner);
            }
        }
        return Some(Item::Table(table));
    }
    let mut reports = Vec::new();
    let mut one = Map::new();
    one.insert("v".into(), value.clone());
    let text = crate::import::toml_out::config(&one, file, &mut reports);
    if !reports.is_empty() {
        problems.extend(reports.iter().map(|r| format!("{file}: `{path}`: {}", r.message)));
        return None;
    }
    let doc: DocumentMut = text.parse().expect("import writes TOML");
    doc.get("v").cloned()
}

/// Makes the `hosts` array of `doc` hold `hosts`: the ones that stay keep their place, the new
/// ones go at the end (sorted).
fn edit_hosts(doc: &mut DocumentMut, hosts: &[String]) {
    let wanted: BTreeSet<&String> = hosts.iter().collect();
    let array = doc.get_mut("hosts").and_then(Item::as_array_mut);
    let Some(array) = array else {
        doc["hosts"] = toml_edit::value(hosts.iter().cloned().collect::<toml_edit::Array>());
        return;
    };
    // The layout of the array (one host per line, say) is kept: the first element's decor stays
    // first, and new ones are written as the last one was.
    let first = array.get(0).map(|v| v.decor().clone());
    let last = array.iter().last().map(|v| v.decor().clone());
    array.retain(|v| v.as_str().is_some_and(|h| wanted.contains(&h.to_string())));
    if let (Some(decor), Some(head)) = (first, array.get_mut(0)) {
        *head.decor_mut() = decor;
    }
    let kept: BTreeSet<String> = array.iter().filter_map(|v| v.as_str().map(String::from)).collect();
    let mut new: Vec<&String> = hosts.iter().filter(|h| !kept.contains(*h)).collect();
    new.sort();
    for host in new {
        let mut value = toml_edit::Value::from(host.as_str());
        if let Some(decor) = &last
            && !array.is_empty()
        {
            *value.decor_mut() = decor.clone();
        }
        array.push_formatted(value);
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::json;

    use super::*;
    use crate::model::{EnvPath, Environment};

    fn service(envs: &[(&str, Value, &[&str])]) -> Service {
        let envs = envs
            .iter()
            .map(|(path, values, hosts)| {
                let env = EnvPath::parse(path);
                let dir = env.below("services/shop");
                let values = values.as_object().unwrap().clone();
                (env, Environment { dir, values, hosts: hosts.iter().map(|h| h.to_string()).collect() })
            })
            .collect::<BTreeMap<EnvPath, Environment>>();
        Service { name: "shop".into(), envs }
    }

    #[test]
    fn changed_keys_are_edited_in_place_keeping_comments_and_order() {
        let text =
            "# switches\nfeature = false # off until launch\npct = 0.25\n\n[db]\n# pool\npool = 5\nhost = \"db1\"\n";
        let files = BTreeMap::from([("services/shop/config.toml".to_string(), text.to_string())]);
        let read = |path: &str| files.get(path).cloned();
        let repo = service(&[("", json!({"feature": false, "pct": 0.25, "db": {"pool": 5, "host": "db1"}}), &[])]);
        let live =
            service(&[("", json!({"feature": true, "pct": 0.25, "new": 3, "db": {"pool": 8, "host": "db1"}}), &[])]);
        let edits = edits(&repo, &live, &read).unwrap();
        assert_eq!(edits.len(), 1);
        assert_eq!(
            edits[0].after.as_deref().unwrap(),
            "# switches\nfeature = true # off until launch\npct = 0.25\nnew = 3\n\n[db]\n# pool\npool = 8\nhost = \"db1\"\n"
        );
        // It reads back as the live values, types kept.
        let back = crate::repo::toml_json::parse("x", edits[0].after.as_deref().unwrap()).unwrap().table;
        assert_eq!(
            Value::Object(back),
            json!({"feature": true, "pct": 0.25, "new": 3, "db": {"pool": 8, "host": "db1"}})
        );
    }

    #[test]
    fn hosts_move_new_environments_appear_and_removed_ones_go() {
        let files = BTreeMap::from([
            ("services/shop/config.toml".to_string(), "a = 1\n".to_string()),
            ("services/shop/prod/hosts.toml".to_string(), "# web\nhosts = [\"web1\", \"web2\"]\n".to_string()),
            ("services/shop/old/config.toml".to_string(), "b = 2\n".to_string()),
        ]);
        let read = |path: &str| files.get(path).cloned();
        let repo = service(&[
            ("", json!({"a": 1}), &[]),
            ("prod", json!({}), &["web1", "web2"]),
            ("old", json!({"b": 2}), &[]),
        ]);
        let live = service(&[
            ("", json!({"a": 1}), &[]),
            ("prod", json!({}), &["web2", "web3"]),
            ("new", json!({"c": 3}), &["web1"]),
        ]);
        let edits = edits(&repo, &live, &read).unwrap();
        let by_path: BTreeMap<&str, Option<&str>> =
            edits.iter().map(|e| (e.path.as_str(), e.after.as_deref())).collect();
        assert_eq!(by_path["services/shop/prod/hosts.toml"], Some("# web\nhosts = [\"web2\", \"web3\"]\n"));
        assert_eq!(by_path["services/shop/new/config.toml"], Some("c = 3\n"));
        assert!(by_path["services/shop/new/hosts.toml"].unwrap().contains("\"web1\""));
        assert_eq!(by_path["services/shop/old/config.toml"], None);
    }

    #[test]
    fn what_toml_cannot_hold_is_refused_by_key() {
        let read = |_: &str| Some("a = 1\n".to_string());
        let repo = service(&[("", json!({"a": 1}), &[])]);
        let live = service(&[("", json!({"a": null}), &[])]);
        let problems = edits(&repo, &live, &read).unwrap_err();
        assert!(problems[0].contains("`a`"), "{problems:?}");
    }
}
