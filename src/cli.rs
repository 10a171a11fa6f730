//! Command-line arguments as clap parses them. They become [`crate::commands`]' options before any work
//! starts; no clap type crosses into the rest of the library.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

const EXIT_CODES: &str = "\
Exit status:
  0  success (for `plan --detailed-exitcode`: no changes)
  1  error: invalid repository, unknown revision, ZooKeeper unreachable (at the start or for
     good mid-apply), a lock not obtained in time, a transaction aborted, apply or rollback not
     confirmed, a mass deletion without --allow-mass-delete, a stale or foreign saved plan, a
     usage error
  2  `plan --detailed-exitcode` only: the plan has changes

Environment (never on the command line, never printed):
  JONES_SYNC_ZK_AUTH       `user:password` for ZooKeeper digest authentication
  JONES_SYNC_ZK_AUTH_FILE  a file holding `user:password` (instead of JONES_SYNC_ZK_AUTH)
  JONES_SYNC_ZK_TLS_CA     PEM file of the CA of `tcp+tls://` hosts (build with `--features tls`)
  JONES_SYNC_ZK_TLS_CERT, JONES_SYNC_ZK_TLS_KEY  PEM client certificate and key, when the servers ask";

/// Keep Jones configuration in git: validate a config repository, plan its changes against live
/// ZooKeeper, and apply them atomically.
///
/// The options below may also be given before the command (`jones-sync --zk HOST plan`, as a
/// prefix shared by several commands): there every command accepts them, and one that does not
/// use an option ignores it, as it ignores the environment variables. After the command, each
/// command accepts the options it uses, as its `--help` lists them.
#[derive(Debug, Parser)]
#[command(name = "jones-sync", version = VERSION, long_version = LONG_VERSION, after_help = EXIT_CODES, max_term_width = 100)]
pub struct Cli {
    #[command(flatten)]
    pub repo: RepoArgs,

    #[command(flatten)]
    pub zk: ZkArgs,

    #[command(flatten)]
    pub color: ColorArgs,

    #[command(subcommand)]
    pub command: Command,
}

/// `--repo`, for the commands that read the repository.
///
/// Defaults and environment variables are applied by [`crate::commands`], not by clap, so that
/// an option given before the command and one given after it can be told from a default (the
/// one after the command wins, then the one before, then the environment).
#[derive(Debug, Clone, Default, Args)]
pub struct RepoArgs {
    /// The config repository (holds `services/`) [env: JONES_SYNC_REPO] [default: the nearest
    /// directory up from here, within the git work tree, holding jones-sync.toml or services/]
    #[arg(long, value_name = "DIR")]
    pub repo: Option<PathBuf>,

    /// Keep parsed services in DIR, so that a command parses only the services changed since the
    /// cached commit [env: JONES_SYNC_CACHE] [default: $XDG_CACHE_HOME/jones-sync, else
    /// ~/.cache/jones-sync]
    #[arg(long, value_name = "DIR")]
    pub cache: Option<PathBuf>,

    /// Parse every service, reading and writing no cache
    #[arg(long, conflicts_with = "cache")]
    pub no_cache: bool,
}

/// `jones-sync -V`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// `jones-sync --version`: the version, the commit it was built from, and its features.
pub const LONG_VERSION: &str =
    concat!(env!("CARGO_PKG_VERSION"), "\ncommit: ", env!("JONES_SYNC_COMMIT"), "\nfeatures: ", features!());

/// The optional features this build has, for `--version`.
#[cfg(feature = "tls")]
macro_rules! features {
    () => {
        "tls"
    };
}
#[cfg(not(feature = "tls"))]
macro_rules! features {
    () => {
        "(none; `tls` is off)"
    };
}
use features;

/// `--zk` and `--connect-timeout`, for the commands that connect to ZooKeeper.
#[derive(Debug, Clone, Default, Args)]
pub struct ZkArgs {
    /// ZooKeeper connect string: `host:port[,host:port...][/chroot]` [env: JONES_SYNC_ZK]
    /// [default: 127.0.0.1:2181]
    #[arg(long, value_name = "CONNECT")]
    pub zk: Option<String>,

    /// Give up connecting to ZooKeeper after this many seconds [default: 10]
    #[arg(long, value_name = "SECONDS")]
    pub connect_timeout: Option<f64>,

    /// Work on this target of `[targets]` in jones-sync.toml (repeat for several) [default: every
    /// target; one for the commands that read or write one cluster]
    #[arg(long = "target", value_name = "NAME")]
    pub targets: Vec<String>,
}

/// `--color`, for the commands that print coloured text.
#[derive(Debug, Clone, Default, Args)]
pub struct ColorArgs {
    /// When to colour the output: `auto` colours on a terminal unless NO_COLOR is set [default: auto]
    #[arg(long, value_enum, value_name = "WHEN")]
    pub color: Option<ColorChoice>,
}

/// The shared options a command uses, as given after it (`None`: the command does not use them).
#[derive(Debug, Default, Clone, Copy)]
pub struct Uses<'a> {
    pub repo: Option<&'a RepoArgs>,
    pub zk: Option<&'a ZkArgs>,
    pub color: Option<&'a ColorArgs>,
}

impl Command {
    /// The name of a command that reads or writes one ZooKeeper cluster (so one target of
    /// `[targets]`); `None` for those that work on every target or connect to none.
    pub fn one_cluster(&self) -> Option<&'static str> {
        Some(match self {
            Command::History(_) => "history",
            Command::Rollback(_) => "rollback",
            Command::Unlock(_) => "unlock",
            Command::Import(_) => "import",
            Command::Get(a) if !a.repo_only => "get",
            Command::Tree(a) if !a.repo_only => "tree",
            Command::Set(_) => "set",
            Command::Pull(_) => "pull",
            _ => return None,
        })
    }

    /// The shared options this command uses.
    pub fn uses(&self) -> Uses<'_> {
        match self {
            Command::Validate(a) => Uses { repo: Some(&a.repo), ..Uses::default() },
            Command::Plan(a) => Uses { repo: Some(&a.repo), zk: Some(&a.zk), color: Some(&a.color) },
            Command::Show(a) => Uses { color: Some(&a.color), ..Uses::default() },
            Command::Apply(a) => Uses { repo: Some(&a.repo), zk: Some(&a.zk), color: Some(&a.color) },
            Command::History(a) => Uses { zk: Some(&a.zk), ..Uses::default() },
            Command::Status(a) => Uses { repo: Some(&a.repo), zk: Some(&a.zk), ..Uses::default() },
            Command::Rollback(a) => Uses { repo: Some(&a.repo), zk: Some(&a.zk), color: Some(&a.color) },
            Command::Unlock(a) => Uses { zk: Some(&a.zk), ..Uses::default() },
            Command::Import(a) => Uses { zk: Some(&a.zk), ..Uses::default() },
            Command::Get(a) => Uses { repo: Some(&a.repo), zk: Some(&a.zk), ..Uses::default() },
            Command::Tree(a) => Uses { repo: Some(&a.repo), zk: Some(&a.zk), ..Uses::default() },
            Command::Serve(a) => Uses { repo: Some(&a.repo), zk: Some(&a.zk), ..Uses::default() },
            Command::Set(a) => Uses { repo: Some(&a.repo), zk: Some(&a.zk), color: Some(&a.color) },
            Command::Pull(a) => Uses { repo: Some(&a.repo), zk: Some(&a.zk), ..Uses::default() },
            Command::Schema(a) => Uses { repo: Some(&a.repo), ..Uses::default() },
            Command::Completions(_) | Command::Man | Command::Init(_) => Uses::default(),
        }
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check the repository offline and list every problem
    Validate(ValidateArgs),
    /// Show what `apply` would change in ZooKeeper
    Plan(PlanArgs),
    /// Show a plan saved by `plan --out FILE`, offline, in any format: exactly what `apply FILE` would do
    ///
    /// Reads nothing but the file (no repository, no ZooKeeper), so a pipeline can plan once
    /// with `--out` and show that very plan as text in its log, as markdown in the pull request
    /// and as JSON to its own checks: all three are the plan that `apply FILE` will execute.
    Show(ShowArgs),
    /// Write the repository to ZooKeeper: locked, one atomic, version-guarded transaction per service
    ///
    /// When the connection drops during a commit, ZooKeeper is read to find out whether it landed:
    /// it is sent again only if it did not, and the report says which. An expired session is
    /// replaced and its locks taken again before anything more is written. When ZooKeeper or the
    /// locks are lost for good, the services not yet applied are not attempted (exit 1). A service
    /// applied in one transaction ends entirely old or entirely new; the next apply finishes the job.
    Apply(ApplyArgs),
    /// Show a service's audit log: every apply, newest first, with its commit, actor and time
    History(HistoryArgs),
    /// Show per service the commit applied, when and by whom, and whether ZooKeeper matches HEAD
    Status(StatusArgs),
    /// Put a service back to the configuration of an earlier apply, read from git
    ///
    /// Picks an entry of the service's audit log (by default the apply before the current one),
    /// reads the service's directory from git at that entry's commit, plans and applies it like
    /// `apply` (marked as a rollback in the audit log), then prints the `git revert` (or
    /// `git restore`, or pin) that makes the repository agree, so that the next apply does not
    /// undo the rollback.
    Rollback(RollbackArgs),
    /// Emergency edit: change keys of one environment in ZooKeeper now, audited as a break-glass edit
    ///
    /// Locks the service, shows the change and which hosts see it, and writes the environment's
    /// conf and every view it reaches in one version-guarded transaction (clients see it at
    /// once), recorded with who, when and why. `apply` then refuses to undo it until the
    /// repository holds the same values (or --revert-break-glass).
    Set(SetArgs),
    /// Write what ZooKeeper holds and the repository does not into the TOML files, as the smallest edit
    ///
    /// For break-glass edits and edits made in the Jones web UI: only the changed keys are
    /// written, keeping the files' comments, order and formatting; hosts that moved go to the
    /// right `hosts.toml`, new environments become new directories. Review with `git diff`.
    Pull(PullArgs),
    /// Remove a service's apply lock whose holder hangs
    ///
    /// Only needed for a process that hangs: a crashed apply's lock goes away by itself when its
    /// ZooKeeper session expires (10 s).
    Unlock(UnlockArgs),
    /// Write a config repository from the Jones trees in ZooKeeper, to adopt a running deployment
    Import(ImportArgs),
    /// Print the configuration one host reads, resolved exactly as a Jones client resolves it
    Get(GetArgs),
    /// Show a service's environments with their own and inherited keys and their host counts
    Tree(TreeArgs),
    /// Show a service's schema (services/NAME/schema.json) and, with --env, that environment's
    /// view checked against it rule by rule
    Schema(SchemaArgs),
    /// Keep watching: whether each service matches the branch, at every moment, over HTTP (an API,
    /// metrics and a read-only web UI)
    ///
    /// Follows a branch of the clone `--repo` (fetched from `origin` every --interval, read from
    /// git objects, never the work tree), keeps ZooKeeper's live state in memory through a watch
    /// on `/services`, and serves `/healthz`, `/readyz`, `/metrics` (Prometheus) and
    /// `/api/v1/services[/NAME]` (JSON). An invalid commit is reported and never used. Stops
    /// cleanly on SIGTERM or SIGINT.
    Serve(ServeArgs),
    /// Print a shell completion script: `jones-sync completions bash > /etc/bash_completion.d/jones-sync`
    Completions(CompletionsArgs),
    /// Print the manual page (roff): `jones-sync man > jones-sync.1 && man -l jones-sync.1`
    Man,
    /// Start a config repository in DIR: settings, an example service, the CI workflow, a README
    /// (never overwrites)
    Init(InitArgs),
}

#[derive(Debug, Args)]
pub struct InitArgs {
    /// Where to create it
    #[arg(default_value = ".", value_name = "DIR")]
    pub dir: PathBuf,
}

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete in
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to serve HTTP on; anything but loopback exposes the API and metrics to the network
    #[arg(long, default_value = "127.0.0.1:9180", value_name = "ADDR")]
    pub listen: String,

    /// `observe` plans continuously and writes nothing; `apply` applies each new commit of the
    /// branch; `heal` also puts back out-of-band edits once they persisted for --heal-after. Only
    /// the elected leader among replicas writes
    #[arg(long, value_enum, default_value_t = ServeMode::Observe)]
    pub mode: ServeMode,

    /// In `heal` mode, how long drift must persist before it is put back
    #[arg(long, default_value_t = 30.0, value_name = "SECONDS")]
    pub heal_after: f64,

    #[command(flatten)]
    pub lock: LockArgs,

    /// Fetch the branch from `origin` (or read the local branch) every SECONDS
    #[arg(long, default_value_t = 60.0, value_name = "SECONDS")]
    pub interval: f64,

    /// The branch to follow [default: the branch checked out in --repo]
    #[arg(long, value_name = "NAME")]
    pub branch: Option<String>,

    /// Read all live state again every SECONDS (the watch keeps it current in between)
    #[arg(long, default_value_t = 3600.0, value_name = "SECONDS")]
    pub resync: f64,

    /// `text` for people, `json` for one JSON object per line (on stderr)
    #[arg(long, value_enum, default_value_t = LogFormat::Text, value_name = "FORMAT")]
    pub log_format: LogFormat,

    /// Require these credentials on every endpoint but /healthz and /readyz: the file's first
    /// line is `user:password` (basic authentication) or a bearer token
    #[arg(long, value_name = "FILE")]
    pub ui_auth_file: Option<PathBuf>,

    #[command(flatten)]
    pub repo: RepoArgs,

    #[command(flatten)]
    pub zk: ZkArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ServeMode {
    Observe,
    Apply,
    Heal,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct ImportArgs {
    /// Directory to write the repository into (created when missing)
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,

    /// Import only this service (repeat for more) [default: every service]
    #[arg(long = "service", value_name = "NAME")]
    pub services: Vec<String>,

    /// Write into a non-empty directory: the imported services' directories there are replaced
    #[arg(long)]
    pub force: bool,

    /// Also write each service's starter schema (services/NAME/schema.json), inferred from its
    /// live values: types, keys every environment has, enums of a few short words
    #[arg(long)]
    pub infer_schema: bool,

    #[command(flatten)]
    pub zk: ZkArgs,
}

#[derive(Debug, Args)]
pub struct GetArgs {
    /// The service
    pub service: String,

    /// The host (association) to resolve [default: this machine's FQDN, as Jones clients use]
    #[arg(long, value_name = "HOST")]
    pub host: Option<String>,

    /// Print only the value of this top-level key
    #[arg(long, value_name = "KEY")]
    pub key: Option<String>,

    /// `text` for people, `json` for just the config (or the key's value) as one line of JSON
    #[arg(long, value_enum, default_value_t = GetFormat::Text)]
    pub format: GetFormat,

    /// Resolve from the repository (`--repo`) instead of ZooKeeper
    #[arg(long, conflicts_with = "watch")]
    pub repo_only: bool,

    /// Keep watching like a Jones client and print each change (and host moves) until interrupted
    #[arg(long)]
    pub watch: bool,

    #[command(flatten)]
    pub repo: RepoArgs,

    #[command(flatten)]
    pub zk: ZkArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GetFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// The service
    pub service: String,

    /// Check this environment's view (`prod/eu`; empty for the root)
    #[arg(long, value_name = "ENV")]
    pub env: Option<String>,

    #[command(flatten)]
    pub repo: RepoArgs,
}

#[derive(Debug, Args)]
pub struct TreeArgs {
    /// The service
    pub service: String,

    /// Show the repository's tree (`--repo`) instead of ZooKeeper's
    #[arg(long)]
    pub repo_only: bool,

    /// Show sensitive values instead of `(sensitive)`; only when the output is a terminal
    #[arg(long)]
    pub show_sensitive: bool,

    #[command(flatten)]
    pub repo: RepoArgs,

    #[command(flatten)]
    pub zk: ZkArgs,
}

#[derive(Debug, Args)]
pub struct ValidateArgs {
    /// Read the repository as of this git revision (SHA, branch, tag, `HEAD~3`), from git objects
    /// without a checkout
    #[arg(long, value_name = "REV")]
    pub rev: Option<String>,

    #[command(flatten)]
    pub repo: RepoArgs,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    Auto,
    Always,
    Never,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// For people, on a terminal or in a log
    Text,
    /// For a pull-request comment: a summary table and collapsible sections, under 60,000 characters
    Markdown,
    /// For programs: the schema in docs/json-plan.md, `format_version` semver
    Json,
}

#[derive(Debug, Args)]
pub struct PlanArgs {
    /// Exit with 0 when there are no changes, 2 when there are, 1 on error
    #[arg(long)]
    pub detailed_exitcode: bool,

    /// Plan the repository as of this git revision (SHA, branch, tag, `HEAD~3`), read from git
    /// objects without a checkout [default: the work tree, uncommitted edits included]
    #[arg(long, value_name = "REV")]
    pub rev: Option<String>,

    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,

    /// Also save the plan to FILE, for `jones-sync apply FILE` (holds the values to write: keep it secret)
    #[arg(long, value_name = "FILE")]
    pub out: Option<PathBuf>,

    /// Plan only this service (repeat for several)
    #[arg(long = "service", value_name = "NAME")]
    pub services: Vec<String>,

    /// Show sensitive values instead of `(sensitive)`; only when the output is a terminal
    #[arg(long)]
    pub show_sensitive: bool,

    /// Also plan to delete, whole, every service that jones-sync manages (it has a `jones-sync`
    /// record) and the repository no longer has [default: `[sync] prune` of jones-sync.toml]
    #[arg(long, conflicts_with = "services")]
    pub prune: bool,

    #[command(flatten)]
    pub repo: RepoArgs,

    #[command(flatten)]
    pub zk: ZkArgs,

    #[command(flatten)]
    pub color: ColorArgs,
}

#[derive(Debug, Args)]
pub struct ShowArgs {
    /// The plan file (`plan --out FILE`)
    #[arg(value_name = "PLAN_FILE")]
    pub plan_file: PathBuf,

    /// Exit with 0 when the plan has no changes, 2 when it has, 1 on error
    #[arg(long)]
    pub detailed_exitcode: bool,

    /// Output format
    #[arg(long, value_enum, default_value_t = Format::Text)]
    pub format: Format,

    /// Show sensitive values instead of `(sensitive)`; only when the output is a terminal
    #[arg(long)]
    pub show_sensitive: bool,

    #[command(flatten)]
    pub color: ColorArgs,
}

#[derive(Debug, Args)]
pub struct ApplyArgs {
    /// Apply exactly this saved plan (`plan --out FILE`) instead of planning anew: no repository
    /// read, no prompt, to the plan's own ZooKeeper unless --zk or JONES_SYNC_ZK names one; refused
    /// if a node it touches is not as the plan read it, or if its content does not hold
    #[arg(value_name = "PLAN_FILE")]
    pub plan_file: Option<PathBuf>,

    /// Apply only this service (repeat for several)
    #[arg(long = "service", value_name = "NAME")]
    pub services: Vec<String>,

    /// Show sensitive values instead of `(sensitive)`; only when the output is a terminal
    #[arg(long)]
    pub show_sensitive: bool,

    /// Apply without asking for confirmation (required when stdin is not a terminal)
    #[arg(long, short = 'y')]
    pub yes: bool,

    /// Who applies, for the record [default: the CI system's actor (GITHUB_ACTOR, ...), else $USER]
    #[arg(long, env = "JONES_SYNC_ACTOR", value_name = "NAME")]
    pub actor: Option<String>,

    /// Apply even though config files have uncommitted changes (the record says so)
    #[arg(long)]
    pub allow_dirty: bool,

    /// Apply even to services whose live commit is newer, diverges, or is missing from this clone
    /// (skipped otherwise: an order git cannot prove is not guessed)
    #[arg(long)]
    pub allow_older: bool,

    /// Apply the repository as of this git revision (SHA, branch, tag, `HEAD~3`), read from git
    /// objects without a checkout [default: the work tree]
    #[arg(long, value_name = "REV", conflicts_with = "plan_file")]
    pub rev: Option<String>,

    /// Also delete, whole, every service that jones-sync manages (it has a `jones-sync` record)
    /// and the repository no longer has [default: `[sync] prune` of jones-sync.toml]
    #[arg(long, conflicts_with_all = ["plan_file", "services"])]
    pub prune: bool,

    /// Apply a plan that deletes a whole service, or more than half of a service's environments
    /// or of its hosts (refused without this)
    #[arg(long)]
    pub allow_mass_delete: bool,

    /// Apply even when that undoes break-glass edits made with `jones-sync set` (refused without
    /// this: bring them into the repository instead)
    #[arg(long)]
    pub revert_break_glass: bool,

    /// With `[targets]`: wait this long after each wave before starting the next (a canary soak);
    /// Ctrl-C during the wait stops before the next wave, writing nothing more
    #[arg(long, value_name = "SECONDS")]
    pub wave_pause: Option<f64>,

    #[command(flatten)]
    pub lock: LockArgs,

    #[command(flatten)]
    pub repo: RepoArgs,

    #[command(flatten)]
    pub zk: ZkArgs,

    #[command(flatten)]
    pub color: ColorArgs,
}

#[derive(Debug, Args)]
pub struct LockArgs {
    /// Wait this long for another apply's lock on a service before giving up
    #[arg(long, default_value_t = 60.0, value_name = "SECONDS")]
    pub lock_timeout: f64,
}

#[derive(Debug, Args)]
pub struct UnlockArgs {
    /// The service whose lock to remove
    pub service: String,

    /// The lock to remove (`lock-0000000042`, as a lock timeout names it): removed only if it
    /// is still there, so a newer apply's lock is never removed by mistake
    #[arg(long, value_name = "LOCK_ID")]
    pub id: String,

    #[command(flatten)]
    pub zk: ZkArgs,
}

/// How `history` and `status` print.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ListFormat {
    /// Aligned columns for people
    Text,
    /// A JSON array, for scripts
    Json,
}

#[derive(Debug, Args)]
pub struct HistoryArgs {
    /// The service (need not be in the repository)
    pub service: String,

    #[arg(long, value_enum, default_value_t = ListFormat::Text)]
    pub format: ListFormat,

    /// Show only the newest N applies
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub limit: Option<u64>,

    #[command(flatten)]
    pub zk: ZkArgs,
}

#[derive(Debug, Args)]
pub struct StatusArgs {
    #[arg(long, value_enum, default_value_t = ListFormat::Text)]
    pub format: ListFormat,

    #[command(flatten)]
    pub repo: RepoArgs,

    #[command(flatten)]
    pub zk: ZkArgs,
}

#[derive(Debug, Args)]
pub struct PullArgs {
    /// The services to pull [default: every service of the repository]
    #[arg(value_name = "SERVICE")]
    pub services: Vec<String>,

    /// Pull only this environment's files (`prod/eu`; `""` is the root)
    #[arg(long, value_name = "ENV")]
    pub env: Option<String>,

    /// Print the file diff and write nothing
    #[arg(long)]
    pub dry_run: bool,

    /// Also pull a pinned service, into its directory of the work tree (the pin still names the
    /// old commit: move or remove it for the pulled content to be applied)
    #[arg(long)]
    pub force: bool,

    #[command(flatten)]
    pub repo: RepoArgs,

    #[command(flatten)]
    pub zk: ZkArgs,
}

#[derive(Debug, Args)]
pub struct SetArgs {
    /// The service to edit (in ZooKeeper)
    pub service: String,

    /// The keys to set: KEY=VALUE, VALUE in TOML (`false`, `0.05`, `"text"`, `[1, 2]`, `{ a = 1 }`),
    /// KEY dotted to reach into tables (`db.pool.size`)
    #[arg(value_name = "KEY=VALUE")]
    pub assignments: Vec<String>,

    /// The environment to edit (`prod/eu`) [default: the root environment]
    #[arg(long, value_name = "ENV")]
    pub env: Option<String>,

    /// Remove this key (repeatable)
    #[arg(long = "delete", value_name = "KEY")]
    pub delete: Vec<String>,

    /// Why, for the audit log and everyone who sees the edit
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,

    /// Write without asking for confirmation (required when stdin is not a terminal)
    #[arg(long, short = 'y')]
    pub yes: bool,

    /// Who edits, for the record [default: the CI system's actor (GITHUB_ACTOR, ...), else $USER]
    #[arg(long, env = "JONES_SYNC_ACTOR", value_name = "NAME")]
    pub actor: Option<String>,

    #[command(flatten)]
    pub lock: LockArgs,

    #[command(flatten)]
    pub repo: RepoArgs,

    #[command(flatten)]
    pub zk: ZkArgs,

    #[command(flatten)]
    pub color: ColorArgs,
}

#[derive(Debug, Args)]
pub struct RollbackArgs {
    /// The service to roll back
    pub service: String,

    /// Roll back to the newest apply of this commit (SHA, tag, branch...) in the audit log
    #[arg(long, value_name = "REV", conflicts_with = "steps")]
    pub to: Option<String>,

    /// Roll back this many applies of other commits [default: 1, the one before the current]
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub steps: Option<u64>,

    /// Apply without asking for confirmation (required when stdin is not a terminal)
    #[arg(long, short = 'y')]
    pub yes: bool,

    /// Who rolls back, for the record [default: the CI system's actor (GITHUB_ACTOR, ...), else $USER]
    #[arg(long, env = "JONES_SYNC_ACTOR", value_name = "NAME")]
    pub actor: Option<String>,

    /// Roll back even when that deletes more than half of the service's environments or of its
    /// hosts (refused without this)
    #[arg(long)]
    pub allow_mass_delete: bool,

    #[command(flatten)]
    pub lock: LockArgs,

    #[command(flatten)]
    pub repo: RepoArgs,

    #[command(flatten)]
    pub zk: ZkArgs,

    #[command(flatten)]
    pub color: ColorArgs,
}
