//! The commands: each turns its arguments into a request, calls the pipeline ([`crate::sync`]) or
//! the library, and prints for people. No command reads ZooKeeper or diffs by itself. Returns the
//! process exit code; errors bubble up to `main`, which prints them.
//!
//! One file per command; this module holds what they share: validated options, loading the
//! repository, connecting, asking for confirmation, and writing to stdout.

mod aim;
mod apply;
mod apply_saved;
mod get;
mod history;
mod import;
mod init;
mod manual;
mod plan;
mod pull;
mod rollback;
mod schema;
mod serve;
mod set;
mod show;
mod status;
mod tree;
mod unlock;
mod validate;
mod waves;

use std::io::{BufRead, IsTerminal, Write};
use std::mem::ManuallyDrop;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};

use crate::cli::{Cli, ColorChoice, Command, LockArgs};
use crate::desired::DesiredState;
use crate::diagnostic;
use crate::zk::Zk;

/// Validated settings of one invocation.
#[derive(Clone)]
pub(crate) struct Options {
    pub repo: PathBuf,
    /// The parse cache (`--cache`, `JONES_SYNC_CACHE`, the default; `None`: `--no-cache`).
    pub cache: Option<crate::cache::Cache>,
    /// The connect string, checked and normalized ([`crate::zk::connect::check_connect_string`]);
    /// empty for a command that does not connect.
    pub zk: String,
    /// Where the connect string came from: `--zk`, `JONES_SYNC_ZK`, or the default.
    pub zk_from: ZkFrom,
    /// Host names of the connect string, to resolve before connecting.
    zk_names: Vec<(String, u16)>,
    pub connect_timeout: Duration,
    /// Colour the text on stdout.
    pub colour: bool,
    /// Credentials and TLS files, from the environment ([`crate::zk::connect`]).
    pub connect: crate::zk::ConnectOptions,
    /// `--target`: the targets of `[targets]` to work on (every one when empty).
    pub targets: Vec<String>,
}

impl Options {
    /// These options aimed at `connect` (a saved plan's own connect string, when neither `--zk`
    /// nor `JONES_SYNC_ZK` names one), checked as `--zk` is.
    pub(crate) fn aimed_at(&self, connect: &str, from: ZkFrom) -> anyhow::Result<Options> {
        let checked = crate::zk::connect::check_connect_string(connect).map_err(|why| {
            anyhow!("invalid connect string `{}` (from {}): {why}", connect.escape_debug(), from.describe())
        })?;
        Ok(Options {
            repo: self.repo.clone(),
            cache: self.cache.clone(),
            zk: checked.text,
            zk_from: from,
            zk_names: checked.names,
            connect_timeout: self.connect_timeout,
            colour: self.colour,
            connect: self.connect.clone(),
            targets: self.targets.clone(),
        })
    }
}

/// Where a connect string came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ZkFrom {
    Flag,
    Env,
    Default,
    /// The saved plan `apply FILE` applies.
    PlanFile,
    /// A target's `zk` in jones-sync.toml.
    Target,
}

impl ZkFrom {
    fn describe(self) -> &'static str {
        match self {
            ZkFrom::Flag => "--zk",
            ZkFrom::Env => ZK_VAR,
            ZkFrom::Default => "the default, as neither --zk nor JONES_SYNC_ZK is set",
            ZkFrom::PlanFile => "the plan file, as neither --zk nor JONES_SYNC_ZK is set",
            ZkFrom::Target => "the target's `zk` in jones-sync.toml",
        }
    }
}

const REPO_VAR: &str = "JONES_SYNC_REPO";
const ZK_VAR: &str = "JONES_SYNC_ZK";
const DEFAULT_ZK: &str = "127.0.0.1:2181";
const DEFAULT_CONNECT_TIMEOUT: f64 = 10.0;

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let mut options = options(&cli)?;
    // A progress line for long steps, for people at a terminal only.
    let for_people = match &cli.command {
        Command::Plan(args) => args.format == crate::cli::Format::Text,
        Command::Status(args) => args.format == crate::cli::ListFormat::Text,
        Command::Apply(_) | Command::Validate(_) | Command::Rollback(_) | Command::Import(_) | Command::Schema(_) => {
            true
        }
        _ => false,
    };
    if for_people && std::io::stderr().is_terminal() {
        crate::progress::enable();
    }
    if let Some(name) = cli.command.one_cluster() {
        // A command that reads or writes one cluster works on one target.
        options = aim::one(&options, name)?;
    }
    let lost = if_lost(&cli.command);
    let result = match cli.command {
        Command::Validate(args) => validate::run(&options, args),
        Command::Plan(args) => block_on(plan::run(&options, args)),
        Command::Show(args) => show::run(&options, &args),
        Command::Apply(args) => match args.plan_file.clone() {
            Some(file) => block_on(apply_saved::run(&options, &args, &file)),
            None => block_on(apply::run(&options, args)),
        },
        Command::History(args) => block_on(history::run(&options, args)),
        Command::Status(args) => block_on(status::run(&options, args)),
        Command::Rollback(args) => block_on(rollback::run(&options, args)),
        Command::Set(args) => block_on(set::run(&options, args)),
        Command::Pull(args) => block_on(pull::run(&options, args)),
        Command::Unlock(args) => block_on(unlock::run(&options, args)),
        Command::Import(args) => block_on(import::run(&options, args)),
        Command::Get(args) => block_on(get::run(&options, args)),
        Command::Tree(args) => block_on(tree::run(&options, args)),
        Command::Serve(args) => serve::run(&options, args),
        Command::Completions(args) => Ok(manual::completions(args.shell)),
        Command::Man => manual::man(),
        Command::Init(args) => init::run(&args),
        Command::Schema(args) => schema::run(&options, &args),
    };
    crate::progress::finish();
    result.map_err(|err| match (lost_connection(&err), &lost) {
        (Some(reason), Some(known)) => {
            anyhow!("the connection to ZooKeeper at `{}` was lost ({reason}): {known}", options.zk)
        }
        _ => err,
    })
}

/// What is known when a command loses its connection to ZooKeeper for good midway (a session
/// expired, a connection not restored): said instead of the bare "session expired". `None` for
/// the commands that say it themselves (`apply` reports per service) or never connect.
fn if_lost(command: &Command) -> Option<String> {
    let again = "run it again once ZooKeeper is reachable";
    let reads = |name: &str| format!("nothing was written, as `{name}` only reads; {again}");
    match command {
        Command::Plan(_) => Some(format!(
            "nothing was written, as `plan` only reads (and saves `--out` only once the plan is complete); {again}"
        )),
        Command::Status(_) => Some(reads("status")),
        Command::History(_) => Some(reads("history")),
        Command::Get(_) => Some(reads("get")),
        Command::Tree(_) => Some(reads("tree")),
        Command::Import(args) => Some(format!(
            "nothing was written, as `import` writes `{}` only once it has read everything; {again}",
            args.out.display()
        )),
        Command::Unlock(args) => Some(format!(
            "whether lock `{}` of `{}` was removed is unknown; once ZooKeeper is reachable, run the same `unlock` \
             again (it removes the lock only if it is still there)",
            args.id, args.service
        )),
        Command::Rollback(args) => Some(format!(
            "nothing of `{}` was written, as the rollback had not reached its commit (a lock it took goes with \
             its session); {again}",
            args.service
        )),
        Command::Set(args) => Some(format!(
            "nothing of `{}` was written unless the report above says so (a lock it took goes with its session); {again}",
            args.service
        )),
        Command::Pull(_) => {
            Some(format!("nothing was written, as `pull` writes only once it has read everything; {again}"))
        }
        Command::Validate(_)
        | Command::Show(_)
        | Command::Apply(_)
        | Command::Serve(_)
        | Command::Completions(_)
        | Command::Man
        | Command::Init(_)
        | Command::Schema(_) => None,
    }
}

/// ZooKeeper's reason, when `err` is a request that failed because the connection was lost for
/// good (not a failure to connect at the start, which says so itself).
fn lost_connection(err: &anyhow::Error) -> Option<String> {
    use crate::zk::ZkError;
    err.chain().find_map(|cause| match cause.downcast_ref::<ZkError>()? {
        error @ (ZkError::Read { .. } | ZkError::Request(_)) if error.connection_lost() => Some(error.reason()),
        _ => None,
    })
}

/// The options of an invocation: for each shared option the command uses, the value given after
/// the command, else before it, else from the environment, else the default; checked here, before
/// any work. Options the command does not use are not looked at (a bad `JONES_SYNC_ZK` does not
/// stop `validate`).
fn options(cli: &Cli) -> anyhow::Result<Options> {
    let uses = cli.command.uses();
    let env = |name: &str| std::env::var_os(name);
    let repo = match uses.repo {
        // Where jones-sync.toml names the targets, for a command that does not read the repository.
        // (found quietly: the command does not read the repository, only its targets).
        None => match cli.repo.repo.clone().or_else(|| env(REPO_VAR).filter(|v| !v.is_empty()).map(PathBuf::from)) {
            Some(repo) => repo,
            None => discover(false),
        },
        Some(args) => match args.repo.clone().or_else(|| cli.repo.repo.clone()) {
            Some(repo) => repo,
            None => match env(REPO_VAR) {
                Some(value) if value.is_empty() => bail!(
                    "{REPO_VAR} is set but empty (a CI variable that is not defined?): set it to the config \
                     repository's directory, or unset it to use the current directory"
                ),
                Some(value) => PathBuf::from(value),
                None => discover(true),
            },
        },
    };
    let cache = match uses.repo {
        None => None,
        Some(args) if args.no_cache || (args.cache.is_none() && cli.repo.no_cache) => None,
        Some(args) => match args.cache.clone().or_else(|| cli.repo.cache.clone()) {
            Some(dir) => Some(dir),
            None => match env(crate::cache::ENV) {
                Some(value) if value.is_empty() => bail!(
                    "{} is set but empty (a CI variable that is not defined?): set it to a directory, or unset it \
                     to use the default cache directory",
                    crate::cache::ENV
                ),
                Some(value) => Some(PathBuf::from(value)),
                None => crate::cache::default_dir(),
            },
        },
    }
    .map(crate::cache::Cache::new);
    let (mut zk, mut zk_from, mut zk_names, mut connect_timeout) =
        (String::new(), ZkFrom::Default, Vec::new(), DEFAULT_CONNECT_TIMEOUT);
    if let Some(args) = uses.zk {
        let (text, from) = match args.zk.clone().or_else(|| cli.zk.zk.clone()) {
            Some(text) => (text, ZkFrom::Flag),
            None => match env(ZK_VAR).map(|value| value.into_string()) {
                Some(Ok(value)) if value.is_empty() => bail!(
                    "{ZK_VAR} is set but empty (a CI secret that is not defined?): set it to the connect string, \
                     {}, or unset it to use {DEFAULT_ZK}",
                    crate::zk::connect::FORM
                ),
                Some(Ok(value)) => (value, ZkFrom::Env),
                Some(Err(_)) => bail!("{ZK_VAR} is not valid Unicode"),
                None => (DEFAULT_ZK.to_string(), ZkFrom::Default),
            },
        };
        let checked = crate::zk::connect::check_connect_string(&text).map_err(|why| {
            anyhow!("invalid connect string `{}` (from {}): {why}", text.escape_debug(), from.describe())
        })?;
        (zk, zk_from, zk_names) = (checked.text, from, checked.names);
        connect_timeout = args.connect_timeout.or(cli.zk.connect_timeout).unwrap_or(DEFAULT_CONNECT_TIMEOUT);
        if !(connect_timeout.is_finite() && connect_timeout > 0.0) {
            bail!("--connect-timeout must be a positive number of seconds, not {connect_timeout}");
        }
    }
    let choice = uses.color.and_then(|args| args.color).or(cli.color.color).unwrap_or(ColorChoice::Auto);
    // https://no-color.org: a non-empty NO_COLOR turns colour off, unless asked for explicitly.
    let colour = uses.color.is_some()
        && match choice {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty())
            }
        };
    Ok(Options {
        repo,
        cache,
        zk,
        zk_from,
        zk_names,
        connect_timeout: Duration::from_secs_f64(connect_timeout),
        colour,
        connect: crate::zk::ConnectOptions::from_env()?,
        targets: uses.zk.map(|args| args.targets.iter().chain(&cli.zk.targets).cloned().collect()).unwrap_or_default(),
    })
}

/// The config repository when neither `--repo` nor `JONES_SYNC_REPO` names one, found as git and
/// cargo find their root: from the current directory up, the nearest directory holding
/// `jones-sync.toml`, else the topmost holding `services/` (an environment may itself be named
/// `services`), never above the git work tree's top. Said on stderr when it is not the current
/// directory (when `say`); the current directory when none is found (whose errors then say what is
/// missing).
fn discover(say: bool) -> PathBuf {
    let here = PathBuf::from(".");
    let Ok(cwd) = std::env::current_dir() else { return here };
    let mut settings = None;
    let mut services = None;
    for dir in cwd.ancestors() {
        if settings.is_none() && dir.join(crate::repo::settings::FILE).is_file() {
            settings = Some(dir);
        }
        if dir.join("services").is_dir() {
            services = Some(dir);
        }
        // The top of the git work tree (`.git` is a directory, or a file in a linked worktree).
        if dir.join(".git").exists() {
            break;
        }
    }
    let Some(root) = settings.or(services) else { return here };
    if root == cwd {
        return here;
    }
    if say {
        eprintln!("note: using the config repository at `{}`", root.display());
    }
    root.to_path_buf()
}

/// Runs a command on this thread, with one worker thread for the ZooKeeper client's session task.
///
/// The session must be served while the command computes: the client declares a connection dead
/// when nothing was received for 40% of the session timeout (4 s), and a current-thread runtime
/// left it unserved while the command rendered a large plan, so the first transaction after
/// printing a 50,000-node plan failed ("no response from connection in 4000ms"). On a worker of
/// its own, the session answers pings and takes replies whatever the command's thread is doing.
fn block_on<T>(future: impl Future<Output = T>) -> T {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("a tokio runtime with one worker always builds")
        .block_on(future)
}

/// Loads the repository (the work tree, or `rev` from git) or prints its problems (on stderr)
/// and says so with `None`.
///
/// Never freed: a command loads the repository once and exits soon after, and freeing a large
/// repository's hundreds of thousands of allocations one by one costs a measurable part of a
/// plan's time (docs/performance.md), while the process's exit returns the memory
/// at once.
/// Services come from the parse cache of `options` when it has them ([`crate::cache`]).
pub(crate) fn load_or_report(
    options: &Options,
    rev: Option<&str>,
) -> anyhow::Result<Option<ManuallyDrop<DesiredState>>> {
    crate::progress::step("reading the repository", None, "");
    Ok(report(crate::desired::load_cached(&options.repo, rev, options.cache.as_ref())?)?.map(ManuallyDrop::new))
}

/// The loaded repository, or `None` after printing its problems on stderr.
pub(crate) fn report(loaded: Result<DesiredState, Vec<diagnostic::Problem>>) -> anyhow::Result<Option<DesiredState>> {
    match loaded {
        Ok(loaded) => Ok(Some(loaded)),
        Err(problems) => {
            eprint!("{}", diagnostic::render(&problems));
            Ok(None)
        }
    }
}

/// `--show-sensitive`, which only a terminal may have: a log, a file or a pull request must not.
pub(crate) fn show_sensitive(asked: bool) -> anyhow::Result<bool> {
    if asked && !std::io::stdout().is_terminal() {
        bail!(
            "--show-sensitive shows sensitive values on a terminal only, and stdout is not one \
             (they must not reach logs, files or pull requests)"
        );
    }
    Ok(asked)
}

/// Connects with the invocation's connect string, timeout, credentials and TLS files; the nodes
/// it creates carry `acl` (`[zookeeper] acl`), which is first checked against the credentials: an
/// ACL that would lock this session out of the nodes it creates is refused before connecting
/// ([`check_acl`]). Commands that never create nodes pass `None`.
pub(crate) async fn connect(options: &Options, acl: Option<&[crate::acl::AclEntry]>) -> anyhow::Result<Zk> {
    if let Some(acl) = acl {
        check_acl(options, acl)?;
    }
    resolve(options).await?;
    match crate::sync::connect(&options.zk, options.connect_timeout, &options.connect, acl).await {
        Err(err @ crate::zk::ZkError::Connect { .. }) if options.zk_from == ZkFrom::Default => {
            Err(anyhow!("{err} (the default connect string: set --zk or {ZK_VAR} to your ZooKeeper servers)"))
        }
        other => Ok(other?),
    }
}

/// Resolves the host names of the connect string, all at once, within the connect timeout: a
/// name that does not resolve fails at once, named, rather than after the whole timeout as "no
/// server is reachable". One server of several that does not resolve (a node being replaced,
/// whose DNS record is gone) is a warning: the client connects to the others, as ZooKeeper's own
/// client does.
async fn resolve(options: &Options) -> anyhow::Result<()> {
    use std::net::ToSocketAddrs;
    let lookups = options.zk_names.iter().map(|(host, port)| {
        let (host, port) = (host.clone(), *port);
        let lookup = tokio::task::spawn_blocking(move || (host.as_str(), port).to_socket_addrs().map(|_| ()));
        async move {
            match tokio::time::timeout(options.connect_timeout, lookup).await {
                Ok(Ok(Ok(()))) => Ok(()),
                Ok(Ok(Err(err))) => Err(err.to_string()),
                Ok(Err(err)) => Err(err.to_string()),
                Err(_) => Err(format!("no answer within {}s", options.connect_timeout.as_secs_f64())),
            }
        }
    });
    let results = futures::future::join_all(lookups).await;
    let failed: Vec<String> = options
        .zk_names
        .iter()
        .zip(&results)
        .filter_map(|((host, _), result)| result.as_ref().err().map(|why| format!("`{host}` ({why})")))
        .collect();
    let servers = options.zk.split(',').count();
    if failed.is_empty() {
        return Ok(());
    }
    let source = options.zk_from.describe();
    if failed.len() < servers {
        eprintln!(
            "warning: cannot resolve {} in the connect string (from {source}); using the other servers",
            failed.join(", ")
        );
        return Ok(());
    }
    bail!(
        "cannot resolve {} in the connect string `{}` (from {source}): check the host name{}, nothing was contacted",
        failed.join(", "),
        options.zk,
        if failed.len() == 1 { "" } else { "s" }
    )
}

/// Refuses `acl` (for the nodes this invocation may create) when the identity of its credentials
/// would lack a permission jones-sync needs on them ([`crate::acl::lockout`]).
pub(crate) fn check_acl(options: &Options, acl: &[crate::acl::AclEntry]) -> anyhow::Result<()> {
    let id = options.connect.auth.as_ref().map(crate::zk::Credentials::digest_id);
    match crate::acl::lockout(acl, crate::acl::Connecting::As(id.as_deref())) {
        Some(why) => bail!("{why}; nothing was written"),
        None => Ok(()),
    }
}

/// `--lock-timeout`, checked.
pub(crate) fn lock_timeout(lock: &LockArgs) -> anyhow::Result<Duration> {
    if !(lock.lock_timeout.is_finite() && lock.lock_timeout >= 0.0) {
        bail!("--lock-timeout must be a number of seconds, not {}", lock.lock_timeout);
    }
    Ok(Duration::from_secs_f64(lock.lock_timeout))
}

/// Refuses, before anything is read or written, a command that will need a confirmation nobody
/// can give: no `--yes`, and stdin is not a terminal.
pub(crate) fn can_confirm(yes: bool) -> anyhow::Result<()> {
    if !yes && !std::io::stdin().is_terminal() {
        bail!(
            "refusing to apply without confirmation: stdin is not a terminal (pass --yes to apply non-interactively); \
             nothing was read or written"
        );
    }
    Ok(())
}

/// Asks on the terminal, as Terraform does (unless `yes`); without a terminal there is nobody to ask.
pub(crate) fn confirm(yes: bool) -> anyhow::Result<()> {
    if yes {
        return Ok(());
    }
    can_confirm(yes)?;
    crate::progress::hide();
    out("\nDo you want to apply these changes? Only 'yes' will be accepted.\n  Enter a value: ");
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer).context("cannot read the answer")?;
    if answer.trim() != "yes" {
        bail!("apply cancelled: nothing was written");
    }
    Ok(())
}

/// Prints the report of an apply and its failures (on stderr); an error when any service failed.
pub(crate) fn report_outcomes(outcomes: &[crate::apply::Outcome]) -> anyhow::Result<ExitCode> {
    let failed = crate::apply::report::failures(outcomes);
    for (service, err) in &failed {
        eprintln!("error: {service}: {err}");
    }
    out(&crate::apply::report::render(outcomes));
    if failed.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        let names: Vec<&str> = failed.iter().map(|(service, _)| *service).collect();
        bail!("{} of {} services failed to apply: {}", failed.len(), outcomes.len(), names.join(", "))
    }
}

/// Who acts: `--actor` (or `$JONES_SYNC_ACTOR`, through clap), else the CI system's own actor
/// ([`CI_ACTORS`]), else the login name (`$USER`, then `$LOGNAME`, as git and ssh look it up),
/// else `unknown`.
pub(crate) fn actor(given: Option<String>) -> String {
    actor_from(given, |name| std::env::var(name).ok())
}

/// The variables CI systems set to who started a run, in the order they are looked at: GitHub
/// Actions, GitLab CI, Buildkite, Jenkins (its build-user-vars plugin, else the author of a
/// change request), then the login name.
pub(crate) const CI_ACTORS: [&str; 7] = [
    "GITHUB_ACTOR",
    "GITLAB_USER_LOGIN",
    "BUILDKITE_BUILD_CREATOR",
    "BUILD_USER_ID",
    "CHANGE_AUTHOR",
    "USER",
    "LOGNAME",
];

fn actor_from(given: Option<String>, var: impl Fn(&str) -> Option<String>) -> String {
    given
        .into_iter()
        .chain(CI_ACTORS.iter().filter_map(|name| var(name)))
        .find(|a| !a.is_empty())
        .unwrap_or_else(|| "unknown".into())
}

/// Writes to stdout; a closed pipe (`jones-sync plan | head`) ends quietly.
pub(crate) fn out(text: &str) {
    let written = crate::progress::suspend(|| {
        let mut stdout = std::io::stdout().lock();
        stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush())
    });
    if written.is_err() {
        std::process::exit(0);
    }
}

/// Writes to stdout, through a buffer, what `write` writes as it goes: a large plan's text (tens of
/// megabytes for a first apply) is never held whole. A closed pipe ends quietly, as with [`out`].
pub(crate) fn out_with(write: impl FnOnce(&mut StdoutText)) {
    // A long text is not interleaved with the progress line.
    crate::progress::hide();
    let mut stdout =
        StdoutText { inner: std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock()), failed: false };
    write(&mut stdout);
    if stdout.failed || stdout.inner.flush().is_err() {
        std::process::exit(0);
    }
}

/// Text to stdout (a [`std::fmt::Write`]); after a failed write, the rest is dropped.
pub(crate) struct StdoutText {
    inner: std::io::BufWriter<std::io::StdoutLock<'static>>,
    failed: bool,
}

impl std::fmt::Write for StdoutText {
    fn write_str(&mut self, text: &str) -> std::fmt::Result {
        if !self.failed && self.inner.write_all(text.as_bytes()).is_err() {
            self.failed = true;
        }
        if self.failed { Err(std::fmt::Error) } else { Ok(()) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_actor_is_the_one_given_else_the_ci_systems_else_the_login() {
        let vars = |set: &'static [(&'static str, &'static str)]| {
            move |name: &str| set.iter().find(|(n, _)| *n == name).map(|(_, v)| v.to_string())
        };
        assert_eq!(actor_from(Some("ada".into()), vars(&[("GITHUB_ACTOR", "octocat")])), "ada");
        assert_eq!(actor_from(None, vars(&[("GITHUB_ACTOR", "octocat"), ("USER", "runner")])), "octocat");
        assert_eq!(actor_from(None, vars(&[("GITLAB_USER_LOGIN", "gl"), ("USER", "runner")])), "gl");
        assert_eq!(actor_from(None, vars(&[("BUILDKITE_BUILD_CREATOR", "Bk Person")])), "Bk Person");
        assert_eq!(
            actor_from(None, vars(&[("BUILD_USER_ID", "jenkins-user"), ("CHANGE_AUTHOR", "x")])),
            "jenkins-user"
        );
        assert_eq!(actor_from(None, vars(&[("GITHUB_ACTOR", ""), ("LOGNAME", "me")])), "me");
        assert_eq!(actor_from(None, vars(&[])), "unknown");
    }
}
