//! The commands: each loads what it needs, does its work through the library and prints for
//! people. Returns the process exit code; errors bubble up to `main`, which prints them.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};

use crate::cli::{ApplyArgs, Cli, Command, PlanArgs};
use crate::diagnostic::{self, Problem};
use crate::model::Repo;
use crate::plan::Plan;
use crate::record::Record;
use crate::view::DesiredService;
use crate::zk::Zk;

/// Validated settings of one invocation.
struct Options {
    repo: PathBuf,
    zk: String,
    connect_timeout: Duration,
}

pub fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    if !(cli.connect_timeout.is_finite() && cli.connect_timeout > 0.0) {
        bail!("--connect-timeout must be a positive number of seconds, not {}", cli.connect_timeout);
    }
    let options = Options { repo: cli.repo, zk: cli.zk, connect_timeout: Duration::from_secs_f64(cli.connect_timeout) };
    match cli.command {
        Command::Validate => validate(&options),
        Command::Plan(args) => block_on(plan(&options, args)),
        Command::Apply(args) => block_on(apply(&options, args)),
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
struct Loaded {
    repo: Repo,
    desired: Vec<DesiredService>,
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
fn load_or_report(dir: &Path) -> anyhow::Result<Option<Loaded>> {
    match load(dir)? {
        Ok(loaded) => Ok(Some(loaded)),
        Err(problems) => {
            eprint!("{}", diagnostic::render(&problems));
            Ok(None)
        }
    }
}

fn validate(options: &Options) -> anyhow::Result<ExitCode> {
    let Some(loaded) = load_or_report(&options.repo)? else { return Ok(ExitCode::FAILURE) };
    let services = loaded.repo.services.len();
    let envs: usize = loaded.repo.services.values().map(|s| s.envs.len()).sum();
    let hosts: usize = loaded.desired.iter().map(|d| d.hosts.len()).sum();
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    out(&format!(
        "The repository is valid: {}, {}, {}.\n",
        plural(services, "service"),
        plural(envs, "environment"),
        plural(hosts, "host")
    ));
    Ok(ExitCode::SUCCESS)
}

/// Connects, reads live state and makes the plan.
async fn make_plan(options: &Options, loaded: &Loaded, record: &Record) -> anyhow::Result<(Zk, Plan)> {
    let zk = Zk::connect(&options.zk, options.connect_timeout).await?;
    let names: Vec<String> = loaded.repo.services.keys().cloned().collect();
    let snapshot = zk.snapshot(&names).await?;
    let plan = crate::plan::diff(&loaded.desired, &snapshot, &record.to_json());
    Ok((zk, plan))
}

async fn plan(options: &Options, args: PlanArgs) -> anyhow::Result<ExitCode> {
    let Some(loaded) = load_or_report(&options.repo)? else { return Ok(ExitCode::FAILURE) };
    let git = crate::git::inspect(&options.repo)?;
    let record = Record::new(git.as_ref().and_then(|g| g.sha.clone()), git.is_some_and(|g| g.dirty), actor(None));
    let (_zk, plan) = make_plan(options, &loaded, &record).await?;
    out(&crate::plan::text::render(&plan));
    Ok(if args.detailed_exitcode && !plan.is_empty() { ExitCode::from(2) } else { ExitCode::SUCCESS })
}

async fn apply(options: &Options, args: ApplyArgs) -> anyhow::Result<ExitCode> {
    let Some(loaded) = load_or_report(&options.repo)? else { return Ok(ExitCode::FAILURE) };
    let git = crate::git::inspect(&options.repo)?;
    let dirty = git.as_ref().is_some_and(|g| g.dirty);
    if dirty && !args.allow_dirty {
        bail!(
            "config files in `{}` have uncommitted changes, so the recorded commit would not describe what is applied: \
             commit them, or pass --allow-dirty",
            options.repo.display()
        );
    }
    let record = Record::new(git.and_then(|g| g.sha), dirty, actor(args.actor));
    let (zk, plan) = make_plan(options, &loaded, &record).await?;
    out(&crate::plan::text::render(&plan));
    if plan.is_empty() {
        return Ok(ExitCode::SUCCESS);
    }
    if !args.yes {
        confirm()?;
    }
    let limit = loaded.repo.settings.zookeeper.max_request_bytes;
    let outcomes = crate::apply::apply(&zk, &plan, limit).await;
    let mut report = String::from("\n");
    let mut total = crate::plan::Counts::default();
    let mut failed = Vec::new();
    for outcome in &outcomes {
        let c = outcome.counts;
        match &outcome.result {
            Ok(zxid) => {
                total.create += c.create;
                total.update += c.update;
                total.delete += c.delete;
                let zxid = zxid.map(|z| format!(", zxid 0x{z:x}")).unwrap_or_default();
                report.push_str(&format!(
                    "{}: applied in one transaction: {} created, {} updated, {} deleted{zxid}\n",
                    outcome.service, c.create, c.update, c.delete
                ));
            }
            Err(err) => {
                eprintln!("error: {}: {err}", outcome.service);
                failed.push(outcome.service.as_str());
            }
        }
    }
    report.push_str(&format!(
        "Apply {}: {} created, {} updated, {} deleted.\n",
        if failed.is_empty() { "complete" } else { "incomplete" },
        total.create,
        total.update,
        total.delete
    ));
    out(&report);
    if failed.is_empty() {
        Ok(ExitCode::SUCCESS)
    } else {
        bail!("{} of {} services failed to apply: {}", failed.len(), outcomes.len(), failed.join(", "))
    }
}

fn actor(given: Option<String>) -> String {
    given.or_else(|| std::env::var("USER").ok()).filter(|a| !a.is_empty()).unwrap_or_else(|| "unknown".into())
}

/// Asks on the terminal, as Terraform does; without a terminal there is nobody to ask.
fn confirm() -> anyhow::Result<()> {
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

/// Writes to stdout; a closed pipe (`jones-sync plan | head`) ends quietly.
fn out(text: &str) {
    let mut stdout = std::io::stdout().lock();
    if stdout.write_all(text.as_bytes()).and_then(|()| stdout.flush()).is_err() {
        std::process::exit(0);
    }
}
