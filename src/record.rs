//! The `jones-sync` record: `/services/<svc>/jones-sync`, written in the same transaction as every
//! apply of a service. A service carrying it is *managed*. Its own `mzxid` is the zxid of the last
//! apply's transaction.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// The git commit the content came from; `null` outside git.
    pub sha: Option<String>,
    /// The work tree had uncommitted config changes (`apply --allow-dirty`).
    pub dirty: bool,
    /// RFC 3339, UTC.
    pub applied_at: String,
    pub actor: String,
    pub tool: Tool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tool {
    pub name: String,
    pub version: String,
}

impl Record {
    pub fn new(sha: Option<String>, dirty: bool, actor: String) -> Self {
        Record {
            sha,
            dirty,
            applied_at: now_rfc3339(),
            actor,
            tool: Tool { name: env!("CARGO_PKG_NAME").into(), version: env!("CARGO_PKG_VERSION").into() },
        }
    }

    pub fn to_json(&self) -> serde_json::Value {
        serde_json::to_value(self).expect("records always serialize")
    }
}

/// The current time as RFC 3339 in UTC, to the second.
pub fn now_rfc3339() -> String {
    jiff::Timestamp::now().strftime("%Y-%m-%dT%H:%M:%SZ").to_string()
}
