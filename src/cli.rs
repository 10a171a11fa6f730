//! Command-line arguments as clap parses them. They become [`crate::run::Options`] before any work
//! starts; no clap type crosses into the rest of the library.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

const EXIT_CODES: &str = "\
Exit status:
  0  success (for `plan --detailed-exitcode`: no changes)
  1  error: invalid repository, ZooKeeper unreachable, a transaction aborted, apply not confirmed
  2  `plan --detailed-exitcode` only: the plan has changes";

/// Keep Jones configuration in git: validate a config repository, plan its changes against live
/// ZooKeeper, and apply them atomically.
#[derive(Debug, Parser)]
#[command(name = "jones-sync", version, after_help = EXIT_CODES, max_term_width = 100)]
pub struct Cli {
    /// The config repository (holds `services/`)
    #[arg(long, global = true, env = "JONES_SYNC_REPO", default_value = ".", value_name = "DIR")]
    pub repo: PathBuf,

    /// ZooKeeper connect string: `host:port[,host:port...][/chroot]`
    #[arg(long, global = true, env = "JONES_SYNC_ZK", default_value = "127.0.0.1:2181", value_name = "CONNECT")]
    pub zk: String,

    /// Give up connecting to ZooKeeper after this many seconds
    #[arg(long, global = true, default_value_t = 10.0, value_name = "SECONDS")]
    pub connect_timeout: f64,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check the repository offline and list every problem
    Validate,
    /// Show what `apply` would change in ZooKeeper
    Plan(PlanArgs),
    /// Write the repository to ZooKeeper: one atomic, version-guarded transaction per service
    Apply(ApplyArgs),
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Exit with 0 when there are no changes, 2 when there are, 1 on error
    #[arg(long)]
    pub detailed_exitcode: bool,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// Apply without asking for confirmation (required when stdin is not a terminal)
    #[arg(long, short = 'y')]
    pub yes: bool,

    /// Who applies, for the record [default: $USER]
    #[arg(long, env = "JONES_SYNC_ACTOR", value_name = "NAME")]
    pub actor: Option<String>,

    /// Apply even though config files have uncommitted changes (the record says so)
    #[arg(long)]
    pub allow_dirty: bool,
}
