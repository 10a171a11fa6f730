//! `jones-sync history SERVICE`: the audit log of one service, newest first.

use std::process::ExitCode;

use anyhow::bail;

use super::{Options, out};
use crate::cli::{HistoryArgs, ListFormat};

pub(crate) async fn run(options: &Options, args: HistoryArgs) -> anyhow::Result<ExitCode> {
    let service = args.service.as_str();
    if let Some(why) = crate::repo::names::zk_name_problem(service) {
        bail!("invalid service name `{service}`: {why}");
    }
    let zk = super::connect(options, None).await?;
    let limit = args.limit.map(|n| usize::try_from(n).unwrap_or(usize::MAX));
    let Some(log) = crate::audit::history::read(&zk, service, limit).await? else {
        bail!("there is no service `{service}` in ZooKeeper");
    };
    match args.format {
        ListFormat::Json => out(&crate::audit::history::render_json(&log)),
        ListFormat::Text if log.is_empty() => out(&format!(
            "`{service}` has no audit log entries: jones-sync has not applied it yet (or only a version without the audit log did).\n"
        )),
        ListFormat::Text => out(&crate::audit::history::render_text(&log)),
    }
    Ok(ExitCode::SUCCESS)
}
