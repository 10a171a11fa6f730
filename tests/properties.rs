//! Property tests of the pure parts: repository loading, validation and view materialization.
//! Random valid repositories produce exactly the Jones views; arbitrary bytes and names never panic.

#[path = "support/repo_gen.rs"]
mod repo_gen;

use jones_sync::diagnostic::Problems;
use jones_sync::repo::{Entry, EntryKind};
use proptest::prelude::*;
use serde_json::{Map, Value};

/// Loads a repository directory the way the binary does.
fn load_dir(dir: &std::path::Path) -> (jones_sync::repo::Repo, Vec<jones_sync::view::DesiredService>) {
    let (entries, problems) = jones_sync::repo::source::read_dir(dir).unwrap();
    let repo = jones_sync::repo::parse(entries, problems).unwrap_or_else(|p| panic!("{p:#?}"));
    let desired = jones_sync::view::desired_state(&repo).unwrap();
    (repo, desired)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// The view of every environment is the shallow update of its ancestors' values, root first;
    /// the nodemap maps each host to its environment's view.
    #[test]
    fn views_are_shallow_updates_down_the_tree(repo in repo_gen::repo()) {
        let dir = tempfile::tempdir().unwrap();
        repo.write(dir.path());
        let (_, desired) = load_dir(dir.path());
        for (service, tree) in repo.services.iter().zip(&desired) {
            prop_assert_eq!(&service.name, &tree.name);
            let mut nodemap = Map::new();
            for (path, own) in &service.values {
                let mut view = Map::new();
                let parts: Vec<&str> = if path.is_empty() { vec![] } else { path.split('/').collect() };
                for depth in 0..=parts.len() {
                    for (k, v) in &service.values[&parts[..depth].join("/")] {
                        view.insert(k.clone(), repo_gen::json(v));
                    }
                }
                let suffix = if path.is_empty() { String::new() } else { format!("/{path}") };
                let conf = &tree.nodes[&format!("/services/{}/conf{suffix}", service.name)];
                let view_node = &tree.nodes[&format!("/services/{}/views{suffix}", service.name)];
                let own_json: Map<String, Value> = own.iter().map(|(k, v)| (k.clone(), repo_gen::json(v))).collect();
                prop_assert_eq!(serde_json::from_slice::<Value>(&conf.bytes).unwrap(), Value::Object(own_json));
                prop_assert_eq!(serde_json::from_slice::<Value>(&view_node.bytes).unwrap(), Value::Object(view));
                for host in service.hosts.get(path).into_iter().flatten() {
                    nodemap.insert(host.clone(), format!("/services/{}/views{suffix}", service.name).into());
                }
            }
            let written = &tree.nodes[&format!("/services/{}/nodemaps", service.name)];
            prop_assert_eq!(serde_json::from_slice::<Value>(&written.bytes).unwrap(), Value::Object(nodemap));
        }
    }

    /// Any bytes in any file under any names: problems or a repository, never a panic.
    #[test]
    fn arbitrary_entries_never_panic(
        entries in prop::collection::vec(
            (
                prop::collection::vec(prop_oneof![
                    Just("services".to_string()),
                    Just("config.toml".to_string()),
                    Just("hosts.toml".to_string()),
                    Just("jones-sync.toml".to_string()),
                    "\\PC{0,5}",
                    "[a-z.]{1,4}",
                ], 1..5),
                prop::option::of(prop_oneof![
                    prop::collection::vec(any::<u8>(), 0..64),
                    "(\\[?[a-z]{0,3}\\]?\n?[a-z]{0,3} ?= ?(\"[^\"]{0,4}\"|[0-9.e+-]{0,5}|nan|inf|\\[[^\\]]{0,6}\\]|\\{[^}]{0,6}\\}|true)\n){0,4}"
                        .prop_map(String::into_bytes),
                ]),
            ),
            0..12,
        )
    ) {
        let entries: Vec<Entry> = entries
            .into_iter()
            .map(|(parts, content)| Entry {
                path: parts.join("/"),
                kind: match content { None => EntryKind::Dir, Some(bytes) => EntryKind::File(Some(bytes)) },
            })
            .collect();
        if let Ok(repo) = jones_sync::repo::parse(entries, Problems::default()) {
            let _ = jones_sync::view::desired_state(&repo);
        }
    }
}
