//! `jones-sync validate`: the repository's problems, offline, and warnings about Jones clients
//! that its content leaves behind (also shown by `plan`).

use std::collections::BTreeMap;
use std::process::ExitCode;

use super::{Options, load_or_report, out};
use crate::cli::ValidateArgs;
use crate::desired::DesiredState;
use crate::layout::NodeKind;
use crate::nodemap::{self, Format};
use crate::plan::{Action, Plan};

pub(crate) fn run(options: &Options, args: ValidateArgs) -> anyhow::Result<ExitCode> {
    let Some(state) = load_or_report(options, args.rev.as_deref())? else { return Ok(ExitCode::FAILURE) };
    eprint!("{}", warnings(&state, None));
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

/// `warning: ...` lines about Jones clients that a valid repository leaves behind (empty when
/// there are none): hosts of a service whose names differ only in case, and the client generation
/// that `[sync] nodemap_format` cannot serve; with a `plan`, also the nodemaps it rewrites into the
/// other format, naming the clients that can no longer read them.
pub(crate) fn warnings(state: &DesiredState, plan: Option<&Plan>) -> String {
    let mut lines = Vec::new();
    for desired in &state.confs {
        let Some(service) = state.repo.services.get(&desired.name) else { continue };
        // Names differ only in case only if one has an upper-case letter (most fleets have none).
        if !desired.hosts.keys().any(|host| host.chars().any(char::is_uppercase)) {
            continue;
        }
        let file = |env| format!("{}/{}", service.envs[env].dir, crate::repo::HOSTS_FILE);
        let mut seen: BTreeMap<String, &String> = BTreeMap::new();
        for (host, env) in desired.hosts.iter() {
            match seen.get(&host.to_lowercase()) {
                Some(first) => lines.push(format!(
                    "{}: host `{host}` differs from `{first}` ({}) only in case: a Jones client matches its name \
                     exactly, so each entry reaches only a host whose name is spelled that way (DNS ignores case)",
                    file(env),
                    file(&desired.hosts[*first]),
                )),
                None => {
                    seen.insert(host.to_lowercase(), host);
                }
            }
        }
    }
    // `hosts = [...]` written in config.toml is a config key, not associations: most likely meant
    // for hosts.toml. (Cheap: only a conf whose JSON mentions `"hosts"` is looked into.)
    for desired in &state.confs {
        let Some(service) = state.repo.services.get(&desired.name) else { continue };
        for (path, bytes) in desired.own_values().filter(|(_, bytes)| bytes.windows(7).any(|w| w == b"\"hosts\"")) {
            let Ok(serde_json::Value::Object(values)) = serde_json::from_slice::<serde_json::Value>(bytes) else {
                continue;
            };
            let Some(env) = service.envs.get(path).filter(|_| values.contains_key("hosts")) else { continue };
            lines.push(format!(
                "{}/{}: `hosts` is a config key here, which every host reading this environment gets as a value; \
                 to associate hosts with the environment, write `hosts = [...]` in {}/{} instead",
                env.dir,
                crate::repo::CONFIG_FILE,
                env.dir,
                crate::repo::HOSTS_FILE
            ));
        }
    }
    let format = state.repo.settings.sync.nodemap_format;
    if format == Format::Legacy && state.confs.iter().any(|d| !d.hosts.is_empty()) {
        let (reads, left) = nodemap::generations(Format::Legacy);
        lines.push(format!(
            "{}: nodemap_format = \"legacy\": {left} cannot parse a legacy nodemap, so no host running one reads \
             its environment (the Go client reads the service's root config instead); only {reads} reads these \
             nodemaps",
            crate::repo::settings::FILE
        ));
    }
    if let Some(plan) = plan {
        let rewritten: Vec<&str> = plan
            .services
            .iter()
            .filter(|service| {
                service.changes.iter().any(|change| match &change.action {
                    Action::Update { before, after, .. } if change.kind == NodeKind::Nodemap => nodemap::parse(before)
                        .is_ok_and(|found| !nodemap::serves(found.format, nodemap::written(after))),
                    _ => false,
                })
            })
            .map(|service| service.name.as_str())
            .collect();
        if !rewritten.is_empty() {
            let (_, left) = nodemap::generations(format);
            let other = if format == Format::Json { Format::Legacy } else { Format::Json };
            lines.push(format!(
                "this plan rewrites the {} nodemaps of {} as {}, which {left} cannot read \
                 ([sync] nodemap_format = \"{}\" keeps the format they are in)",
                other.as_str(),
                rewritten.join(", "),
                format.as_str(),
                other.as_str()
            ));
        }
    }
    lines.iter().map(|line| format!("warning: {line}\n")).collect()
}
