//! `jones-sync get`: the configuration one host reads, from ZooKeeper through
//! [`crate::client::JonesClient`] (optionally watching), or from the repository.

use std::process::ExitCode;

use anyhow::{Context, bail};
use serde_json::Value;

use super::{Options, connect, load_or_report, out};
use crate::cli::{GetArgs, GetFormat};
use crate::client::{HostConfig, JonesClient, local_fqdn};
use crate::layout;
use crate::model::EnvPath;
use crate::nodemap::Format;

pub(crate) async fn run(options: &Options, args: GetArgs) -> anyhow::Result<ExitCode> {
    let host = args.host.clone().unwrap_or_else(local_fqdn);
    if host.is_empty() {
        bail!("--host must not be empty: an association is a non-empty string");
    }
    if args.repo_only {
        let Some(state) = load_or_report(options, None)? else { return Ok(ExitCode::FAILURE) };
        let config = from_repo(&state, &args.service, &host)
            .with_context(|| format!("the repository `{}`", options.repo.display()))?;
        out(&render(&config, &args, None).map_err(anyhow::Error::msg)?);
        return Ok(ExitCode::SUCCESS);
    }
    let zk = connect(options, None).await?;
    let client = JonesClient::new(zk, &args.service).with_association(&host);
    if !args.watch {
        let config = client.read().await?;
        out(&render(&config, &args, None).map_err(anyhow::Error::msg)?);
        return Ok(ExitCode::SUCCESS);
    }
    let mut watch = client.watch().await?;
    show(watch.current(), &args, None);
    let mut previous = watch.current().clone();
    let interrupted = tokio::signal::ctrl_c();
    tokio::pin!(interrupted);
    loop {
        tokio::select! {
            changed = watch.changed() => {
                let config = changed?.clone();
                show(&config, &args, Some(&previous));
                previous = config;
            }
            _ = &mut interrupted => return Ok(ExitCode::SUCCESS),
        }
    }
}

/// Prints one state of a watch; a key that is not set is said on stderr, and the watch goes on.
fn show(config: &HostConfig, args: &GetArgs, previous: Option<&HostConfig>) {
    match render(config, args, previous) {
        Ok(text) => out(&text),
        Err(message) => eprintln!("warning: {message}"),
    }
}

/// What `host` reads according to the repository: its view, or the root's values.
fn from_repo(state: &crate::desired::DesiredState, service: &str, host: &str) -> anyhow::Result<HostConfig> {
    let Some(desired) = state.confs.iter().find(|d| d.name == service) else {
        bail!("no service `{service}` (no `services/{service}/`)");
    };
    let (path, environment) = match desired.hosts.get(host) {
        Some(env) => (layout::view(service, env), Some(env.0.join("/"))),
        None => (layout::conf(service, &EnvPath::root()), None),
    };
    let nodes = desired.materialize().nodes;
    let values = nodes[&path].value().as_object().cloned().unwrap_or_default();
    // The format the nodemap is written in, as a client would find it.
    let nodemap_format = crate::nodemap::parse(&nodes[&layout::nodemaps(service)].bytes).ok().and_then(|p| p.format);
    Ok(HostConfig {
        service: service.to_string(),
        association: host.to_string(),
        path,
        environment,
        values,
        unreadable: Vec::new(),
        nodemap_format,
    })
}

/// The text to print: a header and the config as JSON for people, just JSON for machines, or just
/// the value of `--key`. `Err` says the key is not set. Values that do not read exactly are named
/// on stderr, never shown as something else.
fn render(config: &HostConfig, args: &GetArgs, previous: Option<&HostConfig>) -> Result<String, String> {
    for part in &config.unreadable {
        eprintln!(
            "warning: `{}` in `{}` is `{}`, which does not read exactly as JSON ({}): left out",
            part.path, config.path, part.text, part.why
        );
    }
    let value = match &args.key {
        None => Value::Object(config.values.clone()),
        Some(key) => match config.values.get(key) {
            Some(value) => value.clone(),
            None => {
                return Err(format!(
                    "`{}` on `{}` reads no key `{key}` (it reads `{}`)",
                    config.service, config.association, config.path
                ));
            }
        },
    };
    if args.format == GetFormat::Json {
        legacy_note(config);
        return Ok(format!("{value}\n"));
    }
    let body = match (&args.key, &value) {
        (Some(_), Value::String(text)) => text.clone(),
        (Some(_), other) => other.to_string(),
        (None, value) => serde_json::to_string_pretty(value).expect("JSON values always serialize"),
    };
    if args.key.is_some() && previous.is_none() {
        legacy_note(config);
        return Ok(format!("{body}\n"));
    }
    let reads = match &config.environment {
        Some(env) => format!("reads `{}` (environment `{env}`){}", config.path, generation(config, ", ")),
        None => format!("reads `{}` (the root: it has no association)", config.path),
    };
    let source = if args.repo_only { ", according to the repository" } else { "" };
    let header = match previous {
        None => format!("{} on {} {reads}{source}", config.service, config.association),
        Some(before) if before.path != config.path => {
            format!("{}: {} moved: now {reads}, was `{}`", now(), config.association, before.path)
        }
        Some(_) => format!("{}: changed: {} {reads}", now(), config.association),
    };
    let blank = if previous.is_some() { "\n" } else { "" };
    Ok(format!("{blank}{header}\n{body}\n"))
}

/// Which Jones client generation the resolution is that of, after what a host reads through its
/// association: the one that parses the nodemap's format (JONES.md). Without an association
/// every generation reads the root, so nothing is said.
fn generation(config: &HostConfig, prefix: &str) -> String {
    let Some(format) = config.nodemap_format else { return String::new() };
    let (reads, left) = crate::nodemap::generations(format);
    let root = layout::conf(&config.service, &EnvPath::root());
    match format {
        Format::Json => format!("{prefix}as {reads} resolve it; {left} cannot parse a JSON nodemap"),
        Format::Legacy => format!(
            "{prefix}as {reads} resolves it; {left} cannot parse this legacy nodemap and do not read this view \
             (the Go client reads `{root}`, the root, instead)"
        ),
    }
}

/// On stderr, when only values are printed: that they are what the 0.5.x client reads through a
/// legacy nodemap, not what Jones 1.x clients read.
fn legacy_note(config: &HostConfig) {
    if config.nodemap_format == Some(Format::Legacy) && config.environment.is_some() {
        let (service, host, path) = (&config.service, &config.association, &config.path);
        eprintln!("note: {service} on {host} reads `{path}` {}", generation(config, ""));
    }
}

fn now() -> String {
    crate::clock::now()
}
