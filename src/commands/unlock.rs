//! `jones-sync unlock SERVICE --id LOCK_ID`: remove an apply lock whose holder hangs.

use std::process::ExitCode;

use anyhow::bail;

use super::{Options, out};
use crate::cli::UnlockArgs;

pub(crate) async fn run(options: &Options, args: UnlockArgs) -> anyhow::Result<ExitCode> {
    if let Some(why) = crate::repo::names::zk_name_problem(&args.service) {
        bail!("invalid service name `{}`: {why}", args.service);
    }
    let zk = super::connect(options, None).await?;
    match crate::zk::lock::remove(&zk, &args.service, &args.id).await? {
        Some(holder) => {
            out(&format!("Removed lock `{}` of `{}`, held by {holder}.\n", args.id, args.service));
            Ok(ExitCode::SUCCESS)
        }
        None => {
            let locks = crate::zk::lock::list(&zk, &args.service).await?;
            let current = if locks.is_empty() {
                "it has no locks now".to_string()
            } else {
                let list: Vec<String> = locks.iter().map(|(id, holder)| format!("`{id}` ({holder})")).collect();
                format!("its locks now: {}", list.join(", "))
            };
            bail!("`{}` has no lock `{}`, so nothing was removed; {current}", args.service, args.id)
        }
    }
}
