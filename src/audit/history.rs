//! The audit log: one ZooKeeper node per apply of a service,
//! `/services/<svc>/jones-sync/log-NNNNNNNNNN` (a sequential child of the record,
//! [`crate::layout::log_prefix`]), created in the same transaction as the apply's writes, so an
//! entry exists exactly when its changes do.
//!
//! An entry is the apply's record ([`crate::audit::record::Record`]: commit, subject, author, actor,
//! time, pin and rollback flags) plus what the apply changed: the plan's counts of the service's
//! changes ([`ServicePlan::counts`]: its nodes and its record, as the plan lists them) and a digest
//! of those changes. Entries are never rewritten. The apply that adds one also deletes the oldest
//! entries beyond `[history] keep`, in the same transaction, so the log never grows without bound.

use std::fmt::Write;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::audit::record::Record;
use crate::layout::{ENTRY_PREFIX, NodeKind};
use crate::plan::{Action, Counts, ServicePlan};
use crate::zk::{Zk, ZkError};

/// One audit entry, as written.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    #[serde(flatten)]
    pub record: Record,
    pub counts: Counts,
    /// `sha256:<hex>` of the changes written (see [`digest`]).
    pub plan_digest: String,
}

/// `sha256:<hex>` of the service's changes: the SHA-256 of the compact JSON array of
/// `[action, path, data]` per change in path order (data as text, `null` for deletes), leaving
/// out the record (it holds the time of the apply). Two applies with the same digest wrote the
/// same nodes with the same content.
pub fn digest(service: &ServicePlan) -> String {
    let changes: Vec<Value> = service
        .changes
        .iter()
        .filter(|c| c.kind != NodeKind::Record)
        .map(|change| {
            let data = match &change.action {
                Action::Create { after } | Action::Update { after, .. } => {
                    Value::String(String::from_utf8_lossy(after).into_owned())
                }
                Action::Delete { .. } => Value::Null,
            };
            Value::Array(vec![change.action.name().into(), change.path.clone().into(), data])
        })
        .collect();
    let bytes = serde_json::to_vec(&changes).expect("JSON values always serialize");
    let mut hex = String::from("sha256:");
    for byte in Sha256::digest(&bytes).iter() {
        let _ = write!(hex, "{byte:02x}");
    }
    hex
}

/// The data of the audit entry of an apply of `service` whose stamped record is `record`: the
/// record's fields, the counts of the changes and their digest.
pub fn entry(service: &ServicePlan, record: &[u8]) -> Vec<u8> {
    let mut entry = match serde_json::from_slice::<Value>(record) {
        Ok(Value::Object(map)) => map,
        _ => serde_json::Map::new(),
    };
    entry.insert("counts".into(), serde_json::to_value(service.counts()).expect("counts serialize"));
    entry.insert("plan_digest".into(), digest(service).into());
    serde_json::to_vec(&entry).expect("JSON values always serialize")
}

/// The audit log of `service`, newest first: at most `limit` entries. `None` when the service
/// does not exist in ZooKeeper.
pub async fn read(zk: &Zk, service: &str, limit: Option<usize>) -> Result<Option<Vec<Logged>>, ZkError> {
    let Some(entries) = zk.read_log(service, limit).await? else { return Ok(None) };
    Ok(Some(entries.iter().map(|(name, data)| Logged::parse(name, data)).collect()))
}

/// One entry read back from ZooKeeper.
#[derive(Debug, Clone, PartialEq)]
pub struct Logged {
    /// ZooKeeper's sequence number: the order of the applies.
    pub seq: u64,
    /// The node's name, `log-0000000042`.
    pub node: String,
    /// The node's JSON, as stored (text that is not JSON becomes a string).
    pub value: Value,
    /// The entry, when the JSON is one.
    pub entry: Option<Entry>,
}

impl Logged {
    pub fn parse(node: &str, data: &[u8]) -> Logged {
        let seq = node.strip_prefix(ENTRY_PREFIX).and_then(|n| n.parse().ok()).unwrap_or_default();
        let value =
            serde_json::from_slice(data).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(data).into()));
        let entry = serde_json::from_value(value.clone()).ok();
        Logged { seq, node: node.to_string(), value, entry }
    }

    /// The commit this entry applied, if any.
    pub fn sha(&self) -> Option<&str> {
        self.entry.as_ref().and_then(|e| e.record.sha.as_deref())
    }
}

/// The log as a JSON array, newest first: every stored field, plus `seq` and `node`.
pub fn render_json(log: &[Logged]) -> String {
    let items: Vec<Value> = log
        .iter()
        .map(|logged| {
            let mut object = match &logged.value {
                Value::Object(map) => map.clone(),
                other => serde_json::Map::from_iter([("unreadable".to_string(), other.clone())]),
            };
            object.insert("seq".into(), logged.seq.into());
            object.insert("node".into(), logged.node.clone().into());
            Value::Object(object)
        })
        .collect();
    let mut text = serde_json::to_string_pretty(&items).expect("JSON values always serialize");
    text.push('\n');
    text
}

/// The log as text for people, newest first: one line per apply, under a header.
pub fn render_text(log: &[Logged]) -> String {
    let rows: Vec<[String; 6]> = log
        .iter()
        .map(|logged| {
            let Some(entry) = &logged.entry else {
                let text = match &logged.value {
                    Value::String(text) => text.clone(),
                    other => other.to_string(),
                };
                let text: String = text.chars().take(60).collect();
                return [
                    logged.seq.to_string(),
                    "-".into(),
                    "-".into(),
                    "-".into(),
                    "-".into(),
                    format!("(unreadable: {text})"),
                ];
            };
            let r = &entry.record;
            let c = entry.counts;
            let mut subject = r.subject.clone().unwrap_or_default();
            let mut flags = Vec::new();
            if r.rollback {
                flags.push("rollback".to_string());
            }
            if let Some(edit) = r.set_by() {
                let env = crate::model::EnvPath::parse(&edit.env);
                let keys: Vec<&str> = edit.keys().map(String::as_str).collect();
                let why = edit.reason.as_ref().map(|r| format!(": {r}")).unwrap_or_default();
                flags.push(format!("break-glass {env} {}{why}", keys.join(" ")));
            }
            if let Some(pin) = &r.pin {
                flags.push(format!("pinned to {pin}"));
            }
            if r.dirty {
                flags.push("uncommitted changes".to_string());
            }
            if !flags.is_empty() {
                subject = format!("{subject} [{}]", flags.join(", ")).trim_start().to_string();
            }
            [
                logged.seq.to_string(),
                r.applied_at.clone(),
                r.sha.as_deref().map_or("-", crate::repo::git::short).to_string(),
                r.actor.clone(),
                format!("+{} ~{} -{}", c.create, c.update, c.delete),
                subject,
            ]
        })
        .collect();
    table(["SEQ", "APPLIED AT", "COMMIT", "ACTOR", "CHANGES", "SUBJECT"], &rows)
}

/// Rows under a header, columns separated by two spaces and padded to their widest cell; the last
/// column is not padded.
pub fn table<const N: usize>(header: [&str; N], rows: &[[String; N]]) -> String {
    let mut widths = header.map(|h| h.chars().count());
    for row in rows {
        for (width, cell) in widths.iter_mut().zip(row) {
            *width = (*width).max(cell.chars().count());
        }
    }
    let mut out = String::new();
    let mut line = |cells: Vec<&str>| {
        let mut text = String::new();
        for (i, cell) in cells.iter().enumerate() {
            if i + 1 == N {
                text.push_str(cell);
            } else {
                let _ = write!(text, "{cell:<width$}  ", width = widths[i]);
            }
        }
        out.push_str(text.trim_end());
        out.push('\n');
    };
    line(header.to_vec());
    for row in rows {
        line(row.iter().map(String::as_str).collect());
    }
    out
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::plan::Change;

    /// A service plan with an update of the root conf and view, a deleted environment, its record,
    /// and `log` as its live audit entries.
    pub(crate) fn service(log: &[&str]) -> ServicePlan {
        let change = |path: &str, kind, action| Change { path: path.into(), kind, action, drift: false };
        ServicePlan {
            name: "shop".into(),
            managed: true,
            last_apply_zxid: None,
            blast_radius: Default::default(),
            view_integrity: Vec::new(),
            not_atomic: None,
            prune: false,
            mass_delete: None,
            reads: Default::default(),
            break_glass: Vec::new(),
            changes: vec![
                change(
                    "/services/shop/conf",
                    NodeKind::Conf,
                    Action::Update { before: b"{}".to_vec().into(), after: br#"{"a":1}"#.to_vec().into(), version: 1 },
                ),
                change(
                    "/services/shop/conf/old",
                    NodeKind::Conf,
                    Action::Delete { before: b"{}".to_vec().into(), version: 0 },
                ),
                change(
                    "/services/shop/jones-sync",
                    NodeKind::Record,
                    Action::Update { before: b"{}".to_vec().into(), after: b"{}".to_vec().into(), version: 1 },
                ),
                change(
                    "/services/shop/views",
                    NodeKind::View,
                    Action::Update { before: b"{}".to_vec().into(), after: br#"{"a":1}"#.to_vec().into(), version: 1 },
                ),
            ],
            guards: Vec::new(),
            log: log.iter().map(|s| s.to_string()).collect(),
            acls: Vec::new(),
        }
    }

    #[test]
    fn counts_are_the_plans_record_included() {
        assert_eq!(service(&[]).counts(), Counts { create: 0, update: 3, delete: 1 });
    }

    #[test]
    fn the_digest_depends_on_content_not_on_the_record() {
        let a = service(&[]);
        let mut b = service(&["log-0000000001"]);
        b.changes[2].action = Action::Create { after: br#"{"sha":"other"}"#.to_vec().into() };
        assert_eq!(digest(&a), digest(&b));
        assert!(digest(&a).starts_with("sha256:") && digest(&a).len() == 7 + 64);
        let mut c = service(&[]);
        c.changes[0].action = Action::Create { after: br#"{"a":2}"#.to_vec().into() };
        assert_ne!(digest(&a), digest(&c));
    }

    #[test]
    fn the_entry_is_the_record_with_counts_and_digest() {
        let entry: Value = serde_json::from_slice(&entry(&service(&[]), br#"{"sha":"abc","actor":"ada"}"#)).unwrap();
        assert_eq!(entry["sha"], "abc");
        assert_eq!(entry["actor"], "ada");
        assert_eq!(entry["counts"], serde_json::json!({"create": 0, "update": 3, "delete": 1}));
        assert_eq!(entry["plan_digest"], digest(&service(&[])));
    }

    #[test]
    fn text_lines_are_aligned_under_a_header() {
        let entry = |seq: u64, sha: &str, actor: &str, rollback: bool| {
            let data = serde_json::json!({
                "sha": sha, "subject": "Raise the timeout", "author": "Ada <ada@example.com>", "dirty": false,
                "pinned": false, "pin": null, "rollback": rollback, "applied_at": "2025-01-02T10:00:00Z",
                "actor": actor, "tool": {"name": "jones-sync", "version": "0.1.0"},
                "counts": {"create": 1, "update": 2, "delete": 0}, "plan_digest": "sha256:00",
            });
            Logged::parse(&format!("log-{seq:010}"), data.to_string().as_bytes())
        };
        let log = [
            entry(12, "1111111111111111111111111111111111111111", "ci", true),
            entry(9, "2222222222222222222222222222222222222222", "tester", false),
            Logged::parse("log-0000000003", b"not json"),
        ];
        assert_eq!(
            render_text(&log),
            "\
SEQ  APPLIED AT            COMMIT        ACTOR   CHANGES   SUBJECT
12   2025-01-02T10:00:00Z  111111111111  ci      +1 ~2 -0  Raise the timeout [rollback]
9    2025-01-02T10:00:00Z  222222222222  tester  +1 ~2 -0  Raise the timeout
3    -                     -             -       -         (unreadable: not json)
"
        );
        let json: Value = serde_json::from_str(&render_json(&log)).unwrap();
        assert_eq!(json[0]["seq"], 12);
        assert_eq!(json[0]["node"], "log-0000000012");
        assert_eq!(json[0]["sha"], "1111111111111111111111111111111111111111");
        assert_eq!(json[2]["unreadable"], "not json");
    }
}
