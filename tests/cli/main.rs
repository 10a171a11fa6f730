//! Integration tests: the real `jones-sync` binary against a real ZooKeeper (see `zookeeper.rs`).

mod util;
mod zookeeper;

mod apply;
mod browser;
mod cache;
mod concurrency;
mod docs;
mod election;
mod get;
mod git;
mod history;
mod import;
mod jones_client;
mod jones_compat;
mod manners;
mod output;
mod plans;
mod properties;
mod prune;
mod revisions;
mod rollback;
mod saved_plans;
mod schema;
mod security;
mod serve;
mod set;
mod settings_file;
mod targets;
#[cfg(feature = "tls")]
mod tls;
mod ui;
mod unattended;
mod validate;
mod worktree;

mod ensemble;
mod faults;
mod locks;
mod proxy;
#[path = "../support/repo_gen.rs"]
mod repo_gen;
mod split;
