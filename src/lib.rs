//! jones-sync: a git repository as the source of truth for configuration stored in ZooKeeper in
//! the Jones layout.
//!
//! The modules follow the data: [`repo`] reads a config repository (the work tree or a git
//! revision, with pins) into the [`model`]; [`view`] makes each service's desired nodes, and
//! [`desired`] holds them for a command; [`zk`] reads the [`live`] state; [`plan`] diffs the two
//! into a plan; [`apply`] executes it; [`audit`] keeps the record and history of every apply.
//! [`sync`] is the one pipeline that ties these together for every command (scope, lock, read in
//! windows, diff, guards, apply, release), and [`commands`] calls it for the command line parsed
//! by [`cli`]. [`layout`] is the only place that spells a znode path; [`client`] is a Jones client
//! for Rust programs.
//!
//! Public: what the binary (`cli`, `commands`), the integration tests, the benchmark and fuzzing
//! (the pipeline and the pure parts they exercise) and the Jones client need. The import from live
//! ZooKeeper and the tree rendering are the commands' own.

pub mod acl;
pub mod apply;
pub mod audit;
pub mod cache;
pub mod cli;
pub mod client;
pub mod clock;
pub mod commands;
pub mod desired;
pub mod diagnostic;
pub mod edit;
mod env_tree;
mod import;
pub mod layout;
pub mod live;
pub mod live_json;
pub mod model;
pub mod nodemap;
pub mod plan;
pub mod progress;
pub mod pull;
pub mod repo;
pub mod schema;
pub mod serve;
pub mod sync;
pub mod targets;
pub mod view;
pub mod zk;
