//! `jones-sync plan`: what apply would change.

use std::process::ExitCode;

use super::{Options, actor, load_or_report, make_plan, out};
use crate::cli::PlanArgs;
use crate::record::Record;

pub(crate) async fn run(options: &Options, args: PlanArgs) -> anyhow::Result<ExitCode> {
    let Some(loaded) = load_or_report(&options.repo)? else { return Ok(ExitCode::FAILURE) };
    let git = crate::git::inspect(&options.repo)?;
    let record = Record::new(git.as_ref().and_then(|g| g.sha.clone()), git.is_some_and(|g| g.dirty), actor(None));
    let (_zk, plan) = make_plan(options, &loaded, &record).await?;
    out(&crate::plan::text::render(&plan));
    Ok(if args.detailed_exitcode && !plan.is_empty() { ExitCode::from(2) } else { ExitCode::SUCCESS })
}
