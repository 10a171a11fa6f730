//! Repository loading, validation and view materialization on any bytes in any file under any
//! names: problems or a repository, never a panic, never unbounded memory.
#![no_main]

use jones_sync::diagnostic::Problems;
use jones_sync::repo::{Entry, EntryKind};
use arbitrary::Arbitrary;
use libfuzzer_sys::fuzz_target;

#[derive(Debug, Arbitrary)]
enum Name {
    Config,
    Hosts,
    Readme,
    Other(String),
}

#[derive(Debug, Arbitrary)]
struct File {
    service: String,
    envs: Vec<String>,
    /// `None`: a directory.
    name: Option<Name>,
    content: Vec<u8>,
}

#[derive(Debug, Arbitrary)]
struct Input {
    settings: Option<Vec<u8>>,
    files: Vec<File>,
    /// Entries with arbitrary paths, outside the usual layout.
    raw: Vec<(String, Option<Vec<u8>>)>,
}

fuzz_target!(|input: Input| {
    let mut entries = vec![Entry { path: "services".into(), kind: EntryKind::Dir }];
    if let Some(settings) = input.settings {
        entries.push(Entry { path: "jones-sync.toml".into(), kind: EntryKind::File(Some(settings)) });
    }
    for file in input.files {
        let mut path = format!("services/{}", file.service);
        entries.push(Entry { path: path.clone(), kind: EntryKind::Dir });
        for env in &file.envs {
            path.push('/');
            path.push_str(env);
            entries.push(Entry { path: path.clone(), kind: EntryKind::Dir });
        }
        if let Some(name) = file.name {
            let name = match name {
                Name::Config => "config.toml".to_string(),
                Name::Hosts => "hosts.toml".to_string(),
                Name::Readme => "README.md".to_string(),
                Name::Other(name) => name,
            };
            entries.push(Entry { path: format!("{path}/{name}"), kind: EntryKind::File(Some(file.content)) });
        }
    }
    for (path, content) in input.raw {
        entries.push(Entry { path, kind: content.map_or(EntryKind::Dir, |bytes| EntryKind::File(Some(bytes))) });
    }
    if let Ok(repo) = jones_sync::repo::parse(entries, Problems::default()) {
        if let Ok(desired) = jones_sync::view::desired_state(&repo) {
            // Every desired node is canonical JSON that parses back to its value.
            for service in desired {
                for node in service.nodes.values() {
                    if node.bytes.is_empty() {
                        continue;
                    }
                    if node.kind == jones_sync::layout::NodeKind::Nodemap {
                        // JSON or legacy lines (`[sync] nodemap_format`): either reads back.
                        assert!(node.value().is_object(), "{:?}", node.bytes);
                        continue;
                    }
                    let parsed: serde_json::Value = serde_json::from_slice(&node.bytes).expect("valid JSON");
                    assert_eq!(parsed, node.value());
                }
            }
        }
    }
});
