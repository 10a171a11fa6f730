//! Integration tests: the real `jones-sync` binary against a real ZooKeeper (see `zookeeper.rs`).

mod util;
mod zookeeper;

mod apply;
mod concurrency;
mod git;
mod jones_client;
mod validate;
mod properties;

#[path = "../support/repo_gen.rs"]
mod repo_gen;
