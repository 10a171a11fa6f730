//! `jones-sync serve`: checks the options, connects, and runs the server ([`crate::serve`]) until
//! SIGTERM or SIGINT.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::bail;

use super::Options;
use crate::cli::{LogFormat, ServeArgs, ServeMode};
use crate::serve::log::{Log, LogFormat as Format};
use crate::serve::{Config, Mode, Served};

pub(crate) fn run(options: &Options, args: ServeArgs) -> anyhow::Result<ExitCode> {
    let mode = match args.mode {
        ServeMode::Observe => Mode::Observe,
        ServeMode::Apply => Mode::Apply,
        ServeMode::Heal => Mode::Heal,
    };
    let seconds = |name: &str, value: f64| {
        if value.is_finite() && value > 0.0 {
            Ok(Duration::from_secs_f64(value))
        } else {
            Err(anyhow::anyhow!("{name} must be a positive number of seconds, not {value}"))
        }
    };
    let config = Config {
        repo: options.repo.clone(),
        listen: args.listen,
        interval: seconds("--interval", args.interval)?,
        branch: args.branch,
        resync: seconds("--resync", args.resync)?,
        mode,
        log: Log { format: if args.log_format == LogFormat::Json { Format::Json } else { Format::Text } },
        heal_after: Duration::from_secs_f64(if args.heal_after.is_finite() && args.heal_after >= 0.0 {
            args.heal_after
        } else {
            bail!("--heal-after must be a number of seconds, not {}", args.heal_after)
        }),
        lock_timeout: super::lock_timeout(&args.lock)?,
        ui_auth: match &args.ui_auth_file {
            Some(path) => Some(std::sync::Arc::new(crate::serve::ui::Auth::read(path)?)),
            None => None,
        },
        // The server also holds the last commit's services in memory.
        cache: options.cache.clone().map_or_else(crate::cache::Cache::memory, crate::cache::Cache::in_memory),
    };
    // With `[targets]` (the work tree's), every target or those --target names, in wave order.
    let settings = super::aim::work_tree_settings(options)?;
    let aims = super::aim::targets(options, &settings)?;
    super::block_on(async {
        let served = match &aims {
            None => vec![served(options, None).await?],
            Some(aims) => {
                let connected = super::aim::each(aims, async |aim| {
                    served(&aim.options, Some((aim.target.name.clone(), aim.target.wave))).await
                })
                .await;
                let mut served = Vec::new();
                for (aim, result) in aims.iter().zip(connected) {
                    served.push(result.map_err(|err| anyhow::anyhow!("target `{}`: {err}", aim.target.name))?);
                }
                served
            }
        };
        crate::serve::run(config, served, shutdown()).await
    })?;
    Ok(ExitCode::SUCCESS)
}

/// One cluster to serve: its session (connected, as every command connects) and how the writing
/// modes connect to it. Observing writes nothing, so no ACL for created nodes.
async fn served(options: &Options, target: Option<(String, usize)>) -> anyhow::Result<Served> {
    let zk = super::connect(options, None).await?;
    let connect = crate::serve::connect::Connect {
        string: options.zk.clone(),
        timeout: options.connect_timeout,
        options: options.connect.clone(),
        acl: None,
    };
    Ok(Served { target, zk, connect: Some(connect) })
}

/// Resolves at the first SIGTERM or SIGINT.
async fn shutdown() {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(term) => term,
        Err(_) => {
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}
