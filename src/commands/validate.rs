//! `jones-sync validate`: the repository's problems, offline.

use std::process::ExitCode;

use super::{Options, load_or_report, out};
use crate::cli::ValidateArgs;

pub(crate) fn run(options: &Options, args: ValidateArgs) -> anyhow::Result<ExitCode> {
    let Some(loaded) = load_or_report(&options.repo, args.rev.as_deref())? else { return Ok(ExitCode::FAILURE) };
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
