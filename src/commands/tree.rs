//! `jones-sync tree`: a service's environment tree, from ZooKeeper or the repository.

use std::process::ExitCode;

use anyhow::bail;

use super::{Options, connect, load_or_report, out};
use crate::cli::TreeArgs;

pub(crate) async fn run(options: &Options, args: TreeArgs) -> anyhow::Result<ExitCode> {
    let service = if args.repo_only {
        let Some(state) = load_or_report(&options.repo, None)? else { return Ok(ExitCode::FAILURE) };
        match state.service(&args.service) {
            Some(service) => service,
            None => bail!("no service `{0}` in the repository (no `services/{0}/`)", args.service),
        }
    } else {
        let zk = connect(options, None).await?;
        let Some(live) = crate::import::read_service(&zk, &args.service).await? else {
            bail!("no service `{}` in ZooKeeper", args.service);
        };
        let mut reports = Vec::new();
        let imported = crate::import::service(&args.service, &live, &mut reports);
        reports.sort();
        for report in &reports {
            eprintln!("warning: {report}");
        }
        match imported {
            Some(imported) => imported.service,
            None => bail!("cannot show `{}`", args.service),
        }
    };
    out(&crate::env_tree::render(&service));
    Ok(ExitCode::SUCCESS)
}
