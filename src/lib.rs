//! jones-sync: a git repository as the source of truth for configuration stored in ZooKeeper in
//! the Jones layout.
//!
//! The data flows through the modules in this order: [`repo`] reads a config repository into the
//! [`model`] ([`load`] picks the work tree or a git revision, and each pin, via [`git`]); [`view`]
//! materializes the desired ZooKeeper tree; [`zk`] reads the [`live`] state; [`plan`] diffs the two
//! into a plan; [`apply`] executes it, with its [`record`] and [`history`] entry. [`status`] and
//! [`rollback`] read that history back. [`commands`] ties them to the command line parsed by
//! [`cli`].

pub mod acl;
pub mod apply;
pub mod cli;
pub mod client;
pub mod commands;
pub mod connect;
pub mod diagnostic;
pub mod git;
pub mod history;
pub mod import;
pub mod live;
pub mod load;
pub mod lock;
pub mod model;
pub mod nodemap;
pub mod plan;
pub mod record;
pub mod repo;
pub mod rollback;
pub mod status;
pub mod supersede;
pub mod tree;
pub mod view;
pub mod zk;
