//! `jones-sync serve`: checks the options, connects, and runs the server ([`crate::serve`]) until
//! SIGTERM or SIGINT.

use std::process::ExitCode;
use std::time::Duration;

use anyhow::bail;

use super::Options;
use crate::cli::{LogFormat, ServeArgs, ServeMode};
use crate::serve::log::{Log, LogFormat as Format};
use crate::serve::{Config, Mode};

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
        // With `[targets]`, the one target served ([`super::aim::one`] aimed the options at it).
        target: options.targets.first().cloned(),
        // The server also holds the last commit's services in memory.
        cache: options.cache.clone().map_or_else(crate::cache::Cache::memory, crate::cache::Cache::in_memory),
        connect: Some(crate::serve::leader::Connect {
            string: options.zk.clone(),
            timeout: options.connect_timeout,
            options: options.connect.clone(),
            acl: None,
        }),
    };
    super::block_on(async {
        // Observing writes nothing, so no ACL for created nodes.
        let zk = super::connect(options, None).await?;
        crate::serve::run(config, zk, shutdown()).await
    })?;
    Ok(ExitCode::SUCCESS)
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
