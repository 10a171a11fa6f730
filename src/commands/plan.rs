//! `jones-sync plan`: what apply would change.

use std::process::ExitCode;

use super::{Options, actor, load_or_report, make_plan, out};
use crate::cli::PlanArgs;
use crate::record::Record;

pub(crate) async fn run(options: &Options, args: PlanArgs) -> anyhow::Result<ExitCode> {
    let Some(loaded) = load_or_report(&options.repo, args.rev.as_deref())? else { return Ok(ExitCode::FAILURE) };
    let actor = actor(None);
    let (_zk, plan) = make_plan(options, &loaded, |name| Record::new(loaded.origin(name), actor.clone())).await?;
    out(&crate::plan::text::render(&plan));
    out(&crate::status::notes(&loaded, &plan));
    Ok(if args.detailed_exitcode && !plan.is_empty() { ExitCode::from(2) } else { ExitCode::SUCCESS })
}
