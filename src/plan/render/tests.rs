//! Snapshots (insta) of what reviewers read: the text, markdown and JSON renderings of one plan
//! that has every kind of change, finding and redaction.

use serde_json::json;

use super::*;
use crate::live::{LiveNode, Snapshot};
use crate::plan::redact::{DEFAULT_PATTERNS, Redactor};
use crate::plan::tests::{applied, service};
use crate::plan::*;

fn set(live: &mut Snapshot, svc: &str, path: &str, data: Option<&str>, mzxid: i64) {
    let nodes = &mut live.services.get_mut(svc).unwrap().nodes;
    match data {
        None => {
            nodes.remove(path);
        }
        Some(data) => {
            let node =
                nodes.entry(path.into()).or_insert(LiveNode { data: vec![].into(), version: 0, mzxid, czxid: 1 });
            node.data = bytes::Bytes::copy_from_slice(data.as_bytes());
            node.version += 1;
            node.mzxid = mzxid;
        }
    }
}

/// `shop` (managed, applied at zxid 10) gets every kind of change:
/// - the root's values change (a short value, a long nested one with a sensitive key inside, a
///   sensitive top-level key): every view updates and all unassociated hosts are reached;
/// - `prod`'s conf was edited by hand after the last apply (drift) and its view left behind
///   (view integrity), a host moves from `prod` to a new environment `prod/canary`, another host
///   is new, and one loses its association when `old` is deleted;
/// - a view without conf (`ghost`) is deleted, a conf that is not JSON (`legacy`) is rewritten.
///
/// `search` has no changes, `fresh` is new (created whole) and `legacy` is only in ZooKeeper.
pub(super) fn every_kind_of_change() -> Plan {
    let db = json!({"host": "db0.internal", "port": 5432, "password": "hunter2", "pool": {"min": 1, "max": 10}});
    let before = service(
        "shop",
        &[
            ("", json!({"timeout": 30, "db": db, "api_token": "t-1", "name": "shop"}), &[]),
            ("prod", json!({"region": "us"}), &["web1", "web2"]),
            ("old", json!({"retired": true}), &["o1"]),
            ("legacy", json!({}), &[]),
        ],
    );
    let mut db2 = db.clone();
    db2["host"] = json!("db1.internal");
    db2["password"] = json!("correct horse");
    let after = service(
        "shop",
        &[
            ("", json!({"timeout": 60, "db": db2, "api_token": "t-2", "name": "shop"}), &[]),
            ("prod", json!({"region": "us"}), &["web1", "new1"]),
            ("prod/canary", json!({"canary": true}), &["web2"]),
            ("legacy", json!({"k": 1}), &[]),
        ],
    );
    let mut live = applied(&before);
    set(&mut live, "shop", "/services/shop/conf/prod", Some(r#"{"region": "eu", "db_password": "pw"}"#), 12);
    set(&mut live, "shop", "/services/shop/views/ghost", Some("{}"), 13);
    set(&mut live, "shop", "/services/shop/conf/legacy", Some("region=eu secret=x"), 14);

    let search = service("search", &[("", json!({"q": 1}), &[])]);
    let search_live = applied(&search);
    live.services.extend(search_live.services);
    let fresh = service("fresh", &[("", json!({"on": true}), &[]), ("a", json!({}), &["f1"])]);
    live.all_services = vec!["legacy".into(), "search".into(), "shop".into()];
    let record = json!({"actor": "ci", "applied_at": "2026-01-01T00:00:00Z", "dirty": false, "sha": "abc123"});
    diff(&[fresh, search, after], &live, &record)
}

fn redactor() -> Redactor {
    Redactor::new(DEFAULT_PATTERNS, false).unwrap()
}

#[test]
fn text() {
    insta::assert_snapshot!(text::render(&every_kind_of_change(), &redactor(), false));
}

#[test]
fn markdown() {
    insta::assert_snapshot!(markdown::render(&every_kind_of_change(), &redactor(), "`jones-sync plan` prints it."));
}

#[test]
fn json() {
    insta::assert_snapshot!(json::render(&every_kind_of_change(), &redactor()));
}

#[test]
fn no_rendering_shows_a_sensitive_value() {
    let plan = every_kind_of_change();
    let r = redactor();
    for (format, output) in [
        ("text", text::render(&plan, &r, false)),
        ("markdown", markdown::render(&plan, &r, "")),
        ("json", json::render(&plan, &r)),
    ] {
        for secret in ["hunter2", "correct horse", "t-1", "t-2", "\"pw\"", "secret=x"] {
            assert!(!output.contains(secret), "{format} shows `{secret}`:\n{output}");
        }
        assert!(output.contains("(sensitive)"), "{format}");
    }
    // The same plan shown in full, for a terminal with --show-sensitive.
    let shown = text::render(&plan, &Redactor::new(DEFAULT_PATTERNS, true).unwrap(), false);
    assert!(shown.contains("hunter2") && shown.contains("t-2") && !shown.contains("(sensitive)"), "{shown}");
}

#[test]
fn colour_marks_signs_only_when_asked() {
    let plan = every_kind_of_change();
    let plain = text::render(&plan, &redactor(), false);
    let coloured = text::render(&plan, &redactor(), true);
    assert!(!plain.contains('\x1b'));
    assert!(coloured.contains("\x1b[32m+\x1b[0m /services/fresh"), "{coloured}");
    assert!(coloured.contains("\x1b[33m~\x1b[0m /services/shop/conf "), "{coloured}");
    assert!(coloured.contains("\x1b[31m-\x1b[0m /services/shop/conf/old"), "{coloured}");
    // Without the escapes, the coloured text is the plain text.
    let stripped = coloured.split('\x1b').enumerate().fold(String::new(), |mut out, (i, part)| {
        out.push_str(if i == 0 { part } else { part.split_once('m').map_or(part, |(_, rest)| rest) });
        out
    });
    assert_eq!(stripped, plain);
}

#[test]
fn a_plan_too_large_for_a_comment_is_cut_with_a_note() {
    // 300 environments with 40 keys each: several hundred kilobytes of plan.
    let envs: Vec<(String, serde_json::Value)> = (0..300)
        .map(|i| {
            let values: serde_json::Map<String, serde_json::Value> =
                (0..40).map(|k| (format!("key_{k}"), json!(format!("value {i} {k}")))).collect();
            (format!("env{i:03}"), serde_json::Value::Object(values))
        })
        .collect();
    let mut spec: Vec<(&str, serde_json::Value, &[&str])> = vec![("", json!({}), &[])];
    spec.extend(envs.iter().map(|(name, values)| (name.as_str(), values.clone(), &[][..])));
    let big = service("big", &spec);
    let small = service("small", &[("", json!({"a": 1}), &[])]);
    let plan = diff(&[big, small], &Snapshot::default(), &json!({}));
    let full = text::render(&plan, &redactor(), false);
    assert!(full.len() > 300_000, "{}", full.len());
    let md = markdown::render(&plan, &redactor(), "The full plan is in [the run](https://ci.example/run/1).");
    assert!(md.len() <= markdown::LIMIT, "{}", md.len());
    assert!(md.len() > markdown::LIMIT - 5_000, "fills the comment: {}", md.len());
    let total = plan.services.iter().map(|s| s.changes.len()).sum::<usize>();
    let tail = md.rsplit_once("> [!NOTE]\n").unwrap().1;
    let (not_shown, rest) = tail
        .strip_prefix("> **This plan is cut to fit in a comment: ")
        .and_then(|t| t.split_once(" of "))
        .unwrap_or_else(|| panic!("{tail}"));
    assert_eq!(
        rest,
        format!("{total} changes are not shown.** The full plan is in [the run](https://ci.example/run/1).\n")
    );
    let not_shown: usize = not_shown.parse().unwrap();
    assert!(not_shown > 0 && not_shown < total, "{not_shown} of {total}");
    // Everything opened is closed: code blocks pair up, every section ends.
    assert_eq!(md.matches("```").count() % 2, 0);
    assert_eq!(md.matches("<details>").count(), md.matches("</details>").count());
    // The summary still counts everything and names every service.
    assert!(md.contains(&format!("**Plan: {} to create, 0 to update, 0 to delete.**", plan.counts().create)));
    assert!(md.contains("| `small` (new to jones-sync) |"), "{}", &md[..2000]);
}

#[test]
fn markdown_keeps_names_from_ending_code_or_html() {
    let svc = service("s<b>|", &[("", json!({"a\n```\n</details>": 1}), &[]), ("e", json!({}), &["h`1", "h|2"])]);
    let plan = diff(&[svc], &Snapshot::default(), &json!({}));
    let md = markdown::render(&plan, &Redactor::show_all(), "");
    assert!(md.contains("<summary><code>s&lt;b&gt;|</code>"), "{md}");
    assert!(md.contains("| `s<b>\\|` (new to jones-sync) |"), "{md}");
    assert!(md.contains("+   \"a\\n```\\n</details>\" = 1\n"), "{md}");
    assert!(md.contains("``h`1``, `h|2` move from"), "{md}");
    assert!(md.contains("all unassociated hosts of `s<b>|`."), "{md}");
    // The only lines that open or close blocks are the two code blocks' and the section's own.
    let structure: Vec<&str> = md.lines().filter(|l| l.starts_with("</details>") || l.starts_with("```")).collect();
    assert_eq!(structure, ["```diff", "```", "```diff", "```", "</details>"], "{md}");
}

/// What the mass-deletion guard flags, as each rendering shows it: `shop` loses 3 of its 4
/// environments and 3 of its 4 hosts; `old` (managed, no longer in the repository) is deleted whole
/// with its audit log, a lock and a node jones-sync does not know; `kept` (managed) is left
/// untouched, as without `--prune`; `legacy` (not managed) is left untouched.
pub(super) fn mass_deletion() -> Plan {
    let before = service(
        "shop",
        &[
            ("", json!({"timeout": 30}), &[]),
            ("a", json!({"k": 1}), &["h1", "h2"]),
            ("a/b", json!({}), &["h3"]),
            ("c", json!({}), &[]),
            ("d", json!({}), &["h4"]),
        ],
    );
    let after = service("shop", &[("", json!({"timeout": 30}), &[]), ("d", json!({}), &["h4"])]);
    let mut live = applied(&before);
    let old = service("old", &[("", json!({"x": 1}), &[]), ("e", json!({"y": 2}), &["o1"])]);
    let mut old_live = applied(&old).services.remove("old").unwrap();
    for (path, data) in [
        ("/services/old/jones-sync/log-0000000000", r#"{"actor":"ci"}"#),
        ("/services/old/jones-sync/locks", ""),
        ("/services/old/jones-sync/locks/lock-0000000001", r#"{"actor":"ci"}"#),
        ("/services/old/extra", "hand-made"),
    ] {
        old_live.nodes.insert(path.into(), LiveNode { data: data.into(), version: 0, mzxid: 10, czxid: 1 });
    }
    live.all_services = vec!["kept".into(), "legacy".into(), "old".into(), "shop".into()];
    let mut plan = diff(&[after], &live, &json!({"actor": "ci"}));
    prune::extend(&mut plan, &["kept".into(), "old".into()], &[("old".to_string(), old_live)].into());
    plan
}

#[test]
fn mass_deletion_text() {
    insta::assert_snapshot!(text::render(&mass_deletion(), &redactor(), false));
}

#[test]
fn mass_deletion_markdown() {
    insta::assert_snapshot!(markdown::render(&mass_deletion(), &redactor(), ""));
}

#[test]
fn mass_deletion_json() {
    insta::assert_snapshot!(json::render(&mass_deletion(), &redactor()));
}

/// Regression: a plan without changes said "ZooKeeper matches the repository" while listing
/// services that jones-sync manages and the repository no longer has (an empty `services/`).
#[test]
fn no_changes_claims_a_match_only_when_zookeeper_has_nothing_more() {
    let plain = Plan { services: Vec::new(), ..Plan::default() };
    assert_eq!(text::summary(&plain), "No changes. ZooKeeper matches the repository.\n");
    let removed = Plan { unmanaged: vec!["old".into()], prunable: vec!["old".into()], ..Plan::default() };
    assert_eq!(
        text::summary(&removed),
        "No changes: the repository has no services, but ZooKeeper does not match the repository: it still has 1 managed service that the repository no longer has (left untouched; --prune deletes it).\n"
    );
    let kept = service("kept", &[("", json!({}), &[])]);
    let mut both = diff(std::slice::from_ref(&kept), &applied(&kept), &json!({}));
    both.unmanaged = vec!["a".into(), "b".into(), "hand".into()];
    both.prunable = vec!["a".into(), "b".into()];
    assert!(both.is_empty());
    assert_eq!(
        text::summary(&both),
        "No changes to the repository's services, but ZooKeeper does not match the repository: it still has 2 managed services that the repository no longer has (left untouched; --prune deletes them), and 1 service that jones-sync does not manage (left untouched).\n"
    );
    let markdown = markdown::render(&both, &redactor(), "");
    assert!(
        markdown.contains("**No changes to the repository's services**, but ZooKeeper does not match the repository: it still has 2 managed services that the repository no longer has (left untouched; `--prune` deletes them), and 1 service"),
        "{markdown}"
    );
    both.prunable.clear();
    both.unmanaged = vec!["hand".into()];
    assert_eq!(
        text::summary(&both),
        "No changes to the repository's services. ZooKeeper also has 1 service that jones-sync does not manage (left untouched).\n"
    );
}
