//! The `jones-sync` record: `/services/<svc>/jones-sync`, written in the same transaction as every
//! apply of a service. A service carrying it is *managed*. Its own `mzxid` is the zxid of the last
//! apply's transaction. The same transaction appends the apply's audit entry below it
//! ([`crate::audit::history`]), which is this record plus what the apply changed.

use serde::{Deserialize, Serialize};

use crate::repo::revision::Origin;

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// The git commit the content came from; `null` outside git.
    pub sha: Option<String>,
    /// The commit's subject (first line of its message).
    #[serde(default)]
    pub subject: Option<String>,
    /// The commit's author, `Name <email>`.
    #[serde(default)]
    pub author: Option<String>,
    /// When the commit was made (RFC 3339, UTC): orders applies when git cannot (shallow clones).
    #[serde(default)]
    pub committed_at: Option<String>,
    /// The work tree had uncommitted config changes (`apply --allow-dirty`).
    pub dirty: bool,
    /// Applied from a `[services.<name>] pin`: the content is the pin's, not HEAD's.
    #[serde(default)]
    pub pinned: bool,
    /// The pin's revision as written in `jones-sync.toml` (`sha` is what it resolved to).
    #[serde(default)]
    pub pin: Option<String>,
    /// Applied by `jones-sync rollback`: the repository does not say this yet.
    #[serde(default)]
    pub rollback: bool,
    /// Unique per apply of a service: tells, after a lost connection, whether that apply landed.
    #[serde(default)]
    pub apply_id: Option<String>,
    /// RFC 3339, UTC.
    pub applied_at: String,
    pub actor: String,
    pub tool: Tool,
    /// Emergency edits made with `jones-sync set` since the last apply from the repository, oldest
    /// first: the service differs from its commit on purpose. An apply that would undo one is
    /// refused unless told (`--revert-break-glass`); an apply that keeps them all (the repository
    /// caught up) records none.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub break_glass: Vec<BreakGlass>,
}

/// One `jones-sync set`: what it changed, who, when and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BreakGlass {
    /// The environment's path (`prod/eu`; empty for the root environment).
    pub env: String,
    /// The keys it set (dotted paths into tables).
    #[serde(default)]
    pub set: Vec<String>,
    /// The keys it deleted.
    #[serde(default)]
    pub deleted: Vec<String>,
    pub actor: String,
    /// RFC 3339, UTC.
    pub at: String,
    #[serde(default)]
    pub reason: Option<String>,
}

impl Record {
    /// The break-glass edit this record was written for (by `jones-sync set`), if it was.
    pub fn set_by(&self) -> Option<&BreakGlass> {
        self.break_glass.last().filter(|edit| edit.at == self.applied_at && edit.actor == self.actor)
    }
}

impl BreakGlass {
    /// Every key it changed, set or deleted.
    pub fn keys(&self) -> impl Iterator<Item = &String> {
        self.set.iter().chain(&self.deleted)
    }

    /// `prod: `a.b` set, `c` deleted`, for messages.
    pub fn describe(&self) -> String {
        let env = crate::model::EnvPath::parse(&self.env);
        let mut parts: Vec<String> = self.set.iter().map(|k| format!("`{k}` set")).collect();
        parts.extend(self.deleted.iter().map(|k| format!("`{k}` deleted")));
        let why = self.reason.as_ref().map(|r| format!(" (\"{r}\")")).unwrap_or_default();
        format!("{env}: {} by {} at {}{why}", parts.join(", "), self.actor, self.at)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tool {
    pub name: String,
    pub version: String,
}

impl Record {
    pub fn new(origin: &Origin, actor: String) -> Self {
        let commit = origin.commit.as_ref();
        Record {
            sha: commit.map(|c| c.sha.clone()),
            subject: commit.map(|c| c.subject.clone()),
            author: commit.map(|c| c.author.clone()),
            committed_at: commit.map(|c| c.committed_at.clone()),
            dirty: origin.dirty,
            pinned: origin.pin.is_some(),
            pin: origin.pin.clone(),
            rollback: false,
            apply_id: Some(uuid::Uuid::new_v4().to_string()),
            applied_at: crate::clock::now(),
            actor,
            tool: Tool { name: env!("CARGO_PKG_NAME").into(), version: env!("CARGO_PKG_VERSION").into() },
            break_glass: Vec::new(),
        }
    }

    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).expect("records always serialize")
    }

    /// A record read from ZooKeeper; `None` when the node is not one (edited by hand, say).
    pub fn parse(data: &[u8]) -> Option<Record> {
        serde_json::from_slice(data).ok()
    }
}
