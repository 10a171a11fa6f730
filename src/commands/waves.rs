//! Applying to several targets (`[targets]`): wave by wave, in order. The targets of a wave are
//! applied at once ([`super::aim::PARALLEL`] at a time); the next wave starts only once every
//! target of this one applied cleanly, after `--wave-pause` (which Ctrl-C cuts short, stopping
//! before the next wave). On the first failure nothing more is started, and the output says
//! which commit each target holds, read back from ZooKeeper.
//!
//! Each target is applied exactly as a single-cluster apply is (its own session, locks,
//! staleness checks and recovery of lost replies), so a target that is down fails its wave
//! within the connect timeout, and a process killed mid-wave leaves every service of every
//! target at one commit (each service is one transaction, or says it is not).

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::bail;

use super::aim::Aimed;
use super::{Options, out};

/// What a rollout did: each target's report (what its apply printed), its error, or `None` when
/// it was not started.
pub(crate) struct Rollout {
    pub results: Vec<Option<Result<String, String>>>,
    /// Ctrl-C during a wave pause stopped it.
    pub interrupted: bool,
}

/// `--wave-pause`, checked.
pub(crate) fn pause(seconds: Option<f64>) -> anyhow::Result<Option<Duration>> {
    match seconds {
        None => Ok(None),
        Some(s) if s.is_finite() && s >= 0.0 => Ok(Some(Duration::from_secs_f64(s))),
        Some(s) => bail!("--wave-pause must be a number of seconds, not {s}"),
    }
}

/// Applies each target with `apply`, wave by wave, printing each wave's reports once it is done.
pub(crate) async fn roll_out<'a>(
    aims: &'a [Aimed],
    pause: Option<Duration>,
    apply: impl AsyncFn(&'a Aimed) -> anyhow::Result<String>,
) -> Rollout {
    let waves = wave_count(aims);
    let mut results: Vec<Option<Result<String, String>>> = aims.iter().map(|_| None).collect();
    let mut interrupted = false;
    let mut started = false;
    for wave in 0..waves {
        let (start, end) = bounds(aims, wave);
        if start == end {
            continue;
        }
        if std::mem::replace(&mut started, true)
            && let Some(pause) = pause.filter(|p| !p.is_zero())
        {
            out(&format!(
                "Waiting {} before wave {} of {waves} (Ctrl-C stops here, writing nothing more)...\n",
                seconds(pause),
                wave + 1
            ));
            tokio::select! {
                () = tokio::time::sleep(pause) => {}
                _ = tokio::signal::ctrl_c() => { interrupted = true; break; }
            }
        }
        let names = super::aim::listed(aims[start..end].iter().map(|a| a.target.name.as_str()));
        out(&format!("\nWave {} of {waves}: {names}\n", wave + 1));
        // Ctrl-C during a wave ends the process at once, as it would without a handler (the one
        // a pause installs stays for the life of the process), saying where it stopped.
        let done = tokio::select! {
            done = super::aim::each(&aims[start..end], &apply) => done,
            _ = tokio::signal::ctrl_c() => {
                eprintln!(
                    "error: interrupted during wave {} of {waves} ({names}): each service of those targets holds \
                     one commit or the other (a service is one transaction, or its plan says it is not); later \
                     waves were not started. `jones-sync status` shows where each stands",
                    wave + 1
                );
                std::process::exit(130);
            }
        };
        let mut failed = false;
        for (i, result) in (start..end).zip(done) {
            let name = &aims[i].target.name;
            match &result {
                Ok(report) => out(&format!("\n── Target `{name}` ──\n{report}")),
                Err(err) => {
                    out(&format!("\n── Target `{name}` ──\n"));
                    eprintln!("error: target `{name}`: {err}");
                    failed = true;
                }
            }
            results[i] = Some(result);
        }
        if failed {
            break;
        }
    }
    Rollout { results, interrupted }
}

/// The exit of a rollout: success once every target applied; else which commit each target
/// holds now (read back from ZooKeeper, `services` of each) and an error.
pub(crate) async fn finish(aims: &[Aimed], rollout: Rollout, services: &[Vec<String>]) -> anyhow::Result<ExitCode> {
    let waves = wave_count(aims);
    let all = rollout.results.iter().all(|r| matches!(r, Some(Ok(_))));
    if all {
        out(&format!("\nApplied to {} in {waves} wave{}.\n", counted(aims.len(), "target"), plural(waves)));
        return Ok(ExitCode::SUCCESS);
    }
    let holdings = super::aim::each(aims, async |aim| {
        let i = aims.iter().position(|a| std::ptr::eq(a, aim)).expect("aims are aims");
        holding(&aim.options, &services[i]).await
    })
    .await;
    let mut text = String::from("\nWhat each target holds now:\n");
    let width = aims.iter().map(|a| a.target.name.len()).max().unwrap_or(0);
    for ((aim, result), holding) in aims.iter().zip(&rollout.results).zip(holdings) {
        let state = match result {
            Some(Ok(_)) => "applied",
            Some(Err(_)) => "FAILED",
            None => "not started",
        };
        let holding = holding.unwrap_or_else(|err| format!("unknown: {err}"));
        let wave = aim.target.wave + 1;
        text.push_str(&format!("  {:width$}  wave {wave} of {waves}  {state:11}  {holding}\n", aim.target.name));
    }
    out(&text);
    let failed: Vec<&str> = aims
        .iter()
        .zip(&rollout.results)
        .filter(|(_, r)| matches!(r, Some(Err(_))))
        .map(|(a, _)| a.target.name.as_str())
        .collect();
    let untouched = rollout.results.iter().filter(|r| r.is_none()).count();
    if rollout.interrupted {
        bail!(
            "interrupted before the next wave: {} not started, nothing more was written",
            counted(untouched, "target")
        );
    }
    let later = if untouched == 0 {
        String::new()
    } else {
        format!("; {} of later waves not started", counted(untouched, "target"))
    };
    bail!("the rollout stopped: {} failed ({}){later}", counted(failed.len(), "target"), super::aim::listed(failed))
}

/// The commits the services of one target hold, by their records: `1a2b3c4 (3 services), none (1)`.
async fn holding(options: &Options, services: &[String]) -> anyhow::Result<String> {
    let zk = super::connect(options, None).await?;
    let mut commits: BTreeMap<String, usize> = BTreeMap::new();
    // Every record at once: one round trip, not one per service.
    let paths: Vec<String> = services.iter().map(|service| crate::layout::record(service)).collect();
    let records = futures::future::join_all(paths.iter().map(|path| zk.node(path))).await;
    for record in records {
        let sha = record?.and_then(|node| crate::audit::record::Record::parse(&node.data)).and_then(|r| r.sha);
        let commit = sha.map_or_else(|| "not applied".to_string(), |sha| crate::repo::git::short(&sha).to_string());
        *commits.entry(commit).or_default() += 1;
    }
    let parts: Vec<String> = commits.iter().map(|(c, n)| format!("{c} ({})", counted(*n, "service"))).collect();
    Ok(if parts.is_empty() { "no services".into() } else { parts.join(", ") })
}

/// The report of one target's apply ([`crate::apply::report::render`]), or an error holding it
/// and every service's failure.
pub(crate) fn reported(outcomes: &[crate::apply::Outcome]) -> anyhow::Result<String> {
    let report = crate::apply::report::render(outcomes);
    let failed = crate::apply::report::failures(outcomes);
    if failed.is_empty() {
        return Ok(report);
    }
    let mut message = format!("{} of {} services failed to apply:", failed.len(), outcomes.len());
    for (service, err) in &failed {
        message.push_str(&format!("\n  {service}: {err}"));
    }
    message.push_str(&report);
    Err(anyhow::anyhow!(message))
}

/// Targets `start..end` of `aims` are wave `wave` (aims are in wave order).
fn bounds(aims: &[Aimed], wave: usize) -> (usize, usize) {
    let start = aims.iter().position(|a| a.target.wave == wave).unwrap_or(aims.len());
    let end = aims.iter().rposition(|a| a.target.wave == wave).map_or(start, |i| i + 1);
    (start, end)
}

/// The number of waves, counting the ones no selected target is in as the settings do.
fn wave_count(aims: &[Aimed]) -> usize {
    aims.last().map_or(0, |a| a.target.wave + 1)
}

fn seconds(duration: Duration) -> String {
    format!("{}s", duration.as_secs_f64())
}

fn counted(n: usize, what: &str) -> String {
    format!("{n} {what}{}", plural(n))
}

fn plural(n: usize) -> &'static str {
    if n == 1 { "" } else { "s" }
}
