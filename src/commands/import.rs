//! `jones-sync import`: read live Jones trees, write a config repository, report what did not fit.

use std::collections::BTreeMap;
use std::process::ExitCode;

use anyhow::bail;

use super::{Options, connect, out};
use crate::cli::ImportArgs;
use crate::import::{self, Report};

pub(crate) async fn run(options: &Options, args: ImportArgs) -> anyhow::Result<ExitCode> {
    import::write::check_target(&args.out, args.force)?;
    let zk = connect(options, None).await?;
    let (names, snapshot) = import::read(&zk, &args.services).await?;
    let mut reports = Vec::new();
    let mut imported: Vec<import::Imported> =
        names.iter().filter_map(|name| import::service(name, &snapshot.services[name], &mut reports)).collect();
    if imported.is_empty() {
        warn(&reports);
        bail!("nothing to import: no Jones service found; nothing was written");
    }
    let format = import::nodemap_format(&imported, &mut reports);
    if format == crate::nodemap::Format::Legacy {
        import::legacy_hosts(&mut imported, &mut reports);
    }
    let mut files: BTreeMap<String, BTreeMap<String, String>> =
        imported.iter().map(|i| (i.service.name.clone(), import::files(&i.service, &mut reports))).collect();
    if args.infer_schema {
        // Inferred from the values as they will be read back from the files written.
        for i in &imported {
            let schema = crate::schema::infer(&i.service);
            let text = serde_json::to_string_pretty(&schema).expect("JSON values always serialize") + "\n";
            let path = format!("services/{}/{}", i.service.name, crate::repo::SCHEMA_FILE);
            files.entry(i.service.name.clone()).or_default().insert(path, text);
        }
    }
    // What is written must be a valid repository: checked before anything is written.
    let problems = import::check(&files, import::write::settings_text(&args.out, format)?.as_deref());
    if !problems.is_empty() {
        warn(&reports);
        eprint!("{}", crate::diagnostic::render(&problems));
        bail!("the imported repository would not validate (above); nothing was written");
    }
    reports.extend(import::write::write(&args.out, &files, format)?);
    // With --force, what was there already is part of the repository too.
    if let Err(problems) = crate::desired::load(&args.out, None)? {
        warn(&reports);
        eprint!("{}", crate::diagnostic::render(&problems));
        bail!("the repository `{}` does not validate (above) after the import", args.out.display());
    }
    warn(&reports);
    let envs: usize = imported.iter().map(|i| i.service.envs.len()).sum();
    let hosts = crate::model::Hosts::count(imported.iter().map(|i| i.service.envs.values().flat_map(|e| &e.hosts)));
    let mut summary = format!(
        "Imported {} into `{}`: {}, {}; nodemap format {}.\n",
        plural(imported.len(), "service"),
        args.out.display(),
        plural(envs, "environment"),
        hosts.describe(),
        format.as_str()
    );
    for i in &imported {
        let hosts: usize = i.service.envs.values().map(|e| e.hosts.len()).sum();
        summary.push_str(&format!(
            "  {}: {}, {}\n",
            i.service.name,
            plural(i.service.envs.len(), "environment"),
            plural(hosts, "host")
        ));
    }
    if reports.is_empty() {
        summary.push_str("Nothing was left out: `jones-sync plan` against this ZooKeeper says `No changes.`\n");
    } else {
        summary.push_str(&format!(
            "{} (above, on stderr): `jones-sync plan` shows what the next apply changes because of them.\n",
            plural(reports.len(), "warning")
        ));
    }
    out(&summary);
    Ok(ExitCode::SUCCESS)
}

fn warn(reports: &[Report]) {
    let mut sorted = reports.to_vec();
    sorted.sort();
    sorted.dedup();
    for report in sorted {
        eprintln!("warning: {report}");
    }
}

fn plural(n: usize, word: &str) -> String {
    format!("{n} {word}{}", if n == 1 { "" } else { "s" })
}
