//! The commands: each turns its arguments into a request, calls the pipeline ([`crate::sync`]) or
//! the library, and prints for people. No command reads ZooKeeper or diffs by itself. Returns the
//! process exit code; errors bubble up to `main`, which prints them.
//!
//! One file per command; this module holds what they share: validated options, loading the
//! repository, connecting, asking for confirmation, and writing to stdout.

mod apply;
mod apply_saved;
mod get;
mod history;
mod import;
mod plan;
mod rollback;
mod show;
mod status;
mod tree;
mod unlock;
mod validate;

use std::io::{BufRead, IsTerminal, Write};
use std::mem::ManuallyDrop;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};

use crate::cli::{Cli, ColorChoice, Command, LockArgs};
use crate::desired::DesiredState;
use crate::diagnostic;
use crate::zk::Zk;

/// Validated settings of one invocation.
pub(crate) struct Options {
    pub repo: PathBuf,
    pub zk: String,
    pub connect_timeout: Duration,
    /// Colour the text on stdout.
    pub colour: bool,
    /// Credentials and TLS files, from the environment ([`crate::zk::connect`]).
    pub connect: crate::zk::ConnectOptions,
}

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    if !(cli.connect_timeout.is_finite() && cli.connect_timeout > 0.0) {
        bail!("--connect-timeout must be a positive number of seconds, not {}", cli.connect_timeout);
    }
    // https://no-color.org: a non-empty NO_COLOR turns colour off, unless asked for explicitly.
    let colour = match cli.color {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none_or(|value| value.is_empty())
        }
    };
    let options = Options {
        repo: cli.repo,
        zk: cli.zk,
        connect_timeout: Duration::from_secs_f64(cli.connect_timeout),
        colour,
        connect: crate::zk::ConnectOptions::from_env()?,
    };
    match cli.command {
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
        Command::Unlock(args) => block_on(unlock::run(&options, args)),
        Command::Import(args) => block_on(import::run(&options, args)),
        Command::Get(args) => block_on(get::run(&options, args)),
        Command::Tree(args) => block_on(tree::run(&options, args)),
    }
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
/// plan's time (the README's Performance section), while the process's exit returns the memory
/// at once.
pub(crate) fn load_or_report(dir: &Path, rev: Option<&str>) -> anyhow::Result<Option<ManuallyDrop<DesiredState>>> {
    Ok(report(crate::desired::load(dir, rev)?)?.map(ManuallyDrop::new))
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
    Ok(crate::sync::connect(&options.zk, options.connect_timeout, &options.connect, acl).await?)
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

/// Asks on the terminal, as Terraform does (unless `yes`); without a terminal there is nobody to ask.
pub(crate) fn confirm(yes: bool) -> anyhow::Result<()> {
    if yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        bail!(
            "refusing to apply without confirmation: stdin is not a terminal (pass --yes to apply non-interactively)"
        );
    }
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

/// Who acts: `--actor` (or `$JONES_SYNC_ACTOR`, through clap), else the login name (`$USER`, then
/// `$LOGNAME`, as git and ssh look it up), else `unknown`.
pub(crate) fn actor(given: Option<String>) -> String {
    given
        .into_iter()
        .chain(["USER", "LOGNAME"].into_iter().filter_map(|name| std::env::var(name).ok()))
        .find(|a| !a.is_empty())
        .unwrap_or_else(|| "unknown".into())
}

/// Writes to stdout; a closed pipe (`jones-sync plan | head`) ends quietly.
pub(crate) fn out(text: &str) {
    let mut stdout = std::io::stdout().lock();
    if stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush()).is_err() {
        std::process::exit(0);
    }
}

/// Writes to stdout, through a buffer, what `write` writes as it goes: a large plan's text (tens of
/// megabytes for a first apply) is never held whole. A closed pipe ends quietly, as with [`out`].
pub(crate) fn out_with(write: impl FnOnce(&mut StdoutText)) {
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
