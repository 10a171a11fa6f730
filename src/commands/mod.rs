//! The commands: each loads what it needs, does its work through the library and prints for
//! people. Returns the process exit code; errors bubble up to `main`, which prints them.
//!
//! One file per command; this module holds what they share: validated options, loading the
//! repository, connecting and planning, and writing to stdout.

mod apply;
mod plan;
mod validate;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::bail;

use crate::cli::{Cli, Command};
use crate::diagnostic::{self, Problem};
use crate::model::Repo;
use crate::plan::Plan;
use crate::record::Record;
use crate::view::DesiredService;
use crate::zk::Zk;

/// Validated settings of one invocation.
pub(crate) struct Options {
    pub repo: PathBuf,
    pub zk: String,
    pub connect_timeout: Duration,
}

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    if !(cli.connect_timeout.is_finite() && cli.connect_timeout > 0.0) {
        bail!("--connect-timeout must be a positive number of seconds, not {}", cli.connect_timeout);
    }
    let options = Options { repo: cli.repo, zk: cli.zk, connect_timeout: Duration::from_secs_f64(cli.connect_timeout) };
    match cli.command {
        Command::Validate => validate::run(&options),
        Command::Plan(args) => block_on(plan::run(&options, args)),
        Command::Apply(args) => block_on(apply::run(&options, args)),
    }
}

fn block_on<T>(future: impl Future<Output = T>) -> T {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a single-threaded tokio runtime always builds")
        .block_on(future)
}

/// A loaded repository: the model and the desired tree of every service.
pub(crate) struct Loaded {
    pub repo: Repo,
    pub desired: Vec<DesiredService>,
}

/// Reads and checks the repository; `Err(problems)` when it is invalid.
fn load(dir: &Path) -> anyhow::Result<Result<Loaded, Vec<Problem>>> {
    let (entries, problems) = crate::repo::source::read_dir(dir)?;
    let repo = match crate::repo::load(entries, problems) {
        Ok(repo) => repo,
        Err(problems) => return Ok(Err(problems)),
    };
    Ok(crate::view::desired_state(&repo).map(|desired| Loaded { repo, desired }))
}

/// Loads the repository or prints its problems (on stderr) and says so with `None`.
pub(crate) fn load_or_report(dir: &Path) -> anyhow::Result<Option<Loaded>> {
    match load(dir)? {
        Ok(loaded) => Ok(Some(loaded)),
        Err(problems) => {
            eprint!("{}", diagnostic::render(&problems));
            Ok(None)
        }
    }
}

/// Connects, reads live state and makes the plan.
pub(crate) async fn make_plan(options: &Options, loaded: &Loaded, record: &Record) -> anyhow::Result<(Zk, Plan)> {
    let zk = Zk::connect(&options.zk, options.connect_timeout).await?;
    let names: Vec<String> = loaded.repo.services.keys().cloned().collect();
    let snapshot = zk.snapshot(&names).await?;
    let plan = crate::plan::diff(&loaded.desired, &snapshot, &record.to_json());
    Ok((zk, plan))
}

pub(crate) fn actor(given: Option<String>) -> String {
    given.or_else(|| std::env::var("USER").ok()).filter(|a| !a.is_empty()).unwrap_or_else(|| "unknown".into())
}

/// Writes to stdout; a closed pipe (`jones-sync plan | head`) ends quietly.
pub(crate) fn out(text: &str) {
    let mut stdout = std::io::stdout().lock();
    if stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush()).is_err() {
        std::process::exit(0);
    }
}
