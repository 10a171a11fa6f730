//! `jones-sync validate`: the repository's problems, offline.

use std::process::ExitCode;

use super::{Options, load_or_report, out};
use crate::cli::ValidateArgs;

pub(crate) fn run(options: &Options, args: ValidateArgs) -> anyhow::Result<ExitCode> {
    let Some(state) = load_or_report(&options.repo, args.rev.as_deref())? else { return Ok(ExitCode::FAILURE) };
    let services = state.repo.services.len();
    let envs: usize = state.repo.services.values().map(|s| s.envs.len()).sum();
    let hosts = crate::model::Hosts::count(state.confs.iter().map(|d| d.hosts.keys()));
    let plural = |n: usize, word: &str| format!("{n} {word}{}", if n == 1 { "" } else { "s" });
    out(&format!(
        "The repository is valid: {}, {}, {}.\n",
        plural(services, "service"),
        plural(envs, "environment"),
        hosts.describe()
    ));
    Ok(ExitCode::SUCCESS)
}
