//! The commands: each loads what it needs, does its work through the library and prints for
//! people. Returns the process exit code; errors bubble up to `main`, which prints them.
//!
//! One file per command; this module holds what they share: validated options, loading the
//! repository, connecting and planning, and writing to stdout.

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

use std::borrow::Cow;
use std::io::{IsTerminal, Write};
use std::mem::ManuallyDrop;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::bail;
use futures::{StreamExt, TryStreamExt};

use crate::cli::{Cli, ColorChoice, Command};
use crate::diagnostic;
use crate::load::Loaded;
use crate::plan::Plan;
use crate::record::Record;
use crate::view::DesiredConfs;
use crate::zk::Zk;

/// Validated settings of one invocation.
pub(crate) struct Options {
    pub repo: PathBuf,
    pub zk: String,
    pub connect_timeout: Duration,
    /// Colour the text on stdout.
    pub colour: bool,
    /// Credentials and TLS files, from the environment ([`crate::connect`]).
    pub connect: crate::connect::ConnectOptions,
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
        connect: crate::connect::ConnectOptions::from_env()?,
    };
    match cli.command {
        Command::Validate(args) => validate::run(&options, args),
        Command::Plan(args) => block_on(plan::run(&options, args)),
        Command::Show(args) => show::run(&options, &args),
        Command::Apply(args) => block_on(apply::run(&options, args)),
        Command::History(args) => block_on(history::run(&options, args)),
        Command::Status(args) => block_on(status::run(&options, args)),
        Command::Rollback(args) => block_on(rollback::run(&options, args)),
        Command::Unlock(args) => block_on(unlock::run(&options, args)),
        Command::Import(args) => block_on(import::run(&options, args)),
        Command::Get(args) => block_on(get::run(&options, args)),
        Command::Tree(args) => block_on(tree::run(&options, args)),
    }
}

fn block_on<T>(future: impl Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a single-threaded tokio runtime always builds")
        .block_on(future)
}

/// Loads the repository (the work tree, or `rev` from git) or prints its problems (on stderr)
/// and says so with `None`.
///
/// Never freed: a command loads the repository once and exits soon after, and freeing a large
/// repository's hundreds of thousands of allocations one by one takes a tenth of a plan's time,
/// while the process's exit returns the memory at once.
pub(crate) fn load_or_report(dir: &Path, rev: Option<&str>) -> anyhow::Result<Option<ManuallyDrop<Loaded>>> {
    Ok(report(crate::load::load(dir, rev)?)?.map(ManuallyDrop::new))
}

/// The loaded repository, or `None` after printing its problems on stderr.
pub(crate) fn report(loaded: Result<Loaded, Vec<diagnostic::Problem>>) -> anyhow::Result<Option<Loaded>> {
    match loaded {
        Ok(loaded) => Ok(Some(loaded)),
        Err(problems) => {
            eprint!("{}", diagnostic::render(&problems));
            Ok(None)
        }
    }
}

/// Services whose live state [`make_plan`] reads and diffs together.
const READ_WINDOW: usize = 32;

/// Connects, reads live state and makes the plan for the services named by `--service` (all when
/// none is); `record` is each service's record. With `prune` (and no `--service`), managed
/// services that the repository no longer has are deleted whole.
pub(crate) async fn make_plan(
    options: &Options,
    loaded: &Loaded,
    record: impl Fn(&str) -> Record,
    services: &[String],
    prune: bool,
) -> anyhow::Result<(Zk, Plan)> {
    let desired = select(loaded, services)?;
    let mut zk = connect(options).await?;
    let acl = &loaded.repo.settings.zookeeper.acl;
    if let Some(acl) = acl {
        zk.set_create_acl(acl);
    }
    let mut plan = read_and_diff(&zk, &desired, acl.is_some(), &[], |name| record(name).to_json(), |_| {}).await?;
    if services.is_empty() {
        removed_services(&zk, &mut plan, |_| prune, &[]).await?;
    } else {
        // The other services are out of scope, like the services of the repository not chosen.
        plan.unmanaged.clear();
    }
    Ok((zk, plan))
}

/// Reads the live state of the `desired` services and diffs it: a window of services at a time
/// (two windows in flight, to keep the connection busy). The live copy of a large deployment is as
/// large as its desired trees, and so are its views: each window's desired trees are materialized
/// just before it is diffed, and once it is diffed only its changes are kept (sharing the bytes of
/// the nodes they write). With `acls`,
/// their ACLs are read too; `ours` (nodes this process made itself, its locks' parents) count as
/// missing ([`crate::live::Snapshot::without`]). `record` is each service's record; `inspect` sees
/// each window's snapshot before it is dropped.
///
/// At least one window is read, even empty: the plan also says whether `/services` exists and
/// which services the repository lacks (from the first window's read, as one snapshot of every
/// service would).
pub(crate) async fn read_and_diff(
    zk: &Zk,
    desired: &[DesiredConfs],
    acls: bool,
    ours: &[String],
    record: impl Fn(&str) -> serde_json::Value,
    mut inspect: impl FnMut(&crate::live::Snapshot),
) -> anyhow::Result<Plan> {
    let windows: Vec<&[DesiredConfs]> =
        if desired.is_empty() { vec![&[]] } else { desired.chunks(READ_WINDOW).collect() };
    let mut reads = futures::stream::iter(windows)
        .map(|window| async move {
            let names: Vec<String> = window.iter().map(|d| d.name.clone()).collect();
            let mut snapshot = zk.snapshot(&names).await?.without(ours);
            if acls {
                zk.read_acls(&mut snapshot).await?;
            }
            anyhow::Ok((window, snapshot))
        })
        .buffered(2);
    let mut plan = Plan::default();
    let mut first = true;
    while let Some((window, snapshot)) = reads.try_next().await? {
        let trees: Vec<_> = window.iter().map(DesiredConfs::tree).collect();
        let part = crate::plan::diff_with(&trees, &snapshot, &record);
        drop(trees);
        if first {
            plan.create_root = part.create_root;
            plan.unmanaged = crate::plan::unmanaged(desired.iter().map(|d| d.name.as_str()), &snapshot.all_services);
            first = false;
        }
        plan.services.extend(part.services);
        inspect(&snapshot);
    }
    Ok(plan)
}

/// Completes `plan` with the services that ZooKeeper holds and the repository does not
/// ([`crate::plan::prune`]): which of them jones-sync manages, and the whole tree of each managed
/// one that `prune` says to delete, without `ours` (the nodes of this process's locks).
pub(crate) async fn removed_services(
    zk: &Zk,
    plan: &mut Plan,
    prune: impl Fn(&str) -> bool,
    ours: &[String],
) -> anyhow::Result<()> {
    let managed = zk.managed(&plan.unmanaged).await?;
    let pruned: Vec<String> = managed.iter().filter(|name| prune(name)).cloned().collect();
    let mut trees = zk.service_trees(&pruned).await?;
    for tree in trees.values_mut() {
        tree.nodes.retain(|path, _| !ours.contains(path));
    }
    crate::plan::prune::extend(plan, &managed, &trees);
    Ok(())
}

/// The desired services named by `--service`, every one when none is; an unknown name is an error.
fn select<'a>(loaded: &'a Loaded, names: &[String]) -> anyhow::Result<Cow<'a, [DesiredConfs]>> {
    if names.is_empty() {
        // Borrowed: a copy of a large repository's desired confs costs time and memory.
        return Ok(Cow::Borrowed(&loaded.desired));
    }
    let mut problems = Vec::new();
    for name in names.iter().filter(|name| !loaded.repo.services.contains_key(*name)) {
        let closest = loaded
            .repo
            .services
            .keys()
            .map(|known| (strsim::damerau_levenshtein(name, known), known))
            .filter(|(distance, _)| *distance <= (name.len() / 3).max(1) && *distance < name.len())
            .min();
        let hint = closest.map(|(_, known)| format!("; did you mean `{known}`?")).unwrap_or_default();
        problems.push(format!("--service `{name}`: the repository has no `services/{name}/`{hint}"));
    }
    if !problems.is_empty() {
        bail!("{}", problems.join("\n"));
    }
    Ok(Cow::Owned(loaded.desired.iter().filter(|d| names.contains(&d.name)).cloned().collect()))
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

/// Connects with the invocation's connect string, timeout, credentials and TLS files.
pub(crate) async fn connect(options: &Options) -> anyhow::Result<Zk> {
    Ok(Zk::connect_with(&options.zk, options.connect_timeout, &options.connect).await?)
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
