//! `jones-sync init [DIR]`: a new config repository that validates clean: a commented
//! `jones-sync.toml`, a service `example` with a `production` environment and its hosts, the CI
//! workflow (plan on pull requests, apply on merge), and a README for the repository. It never
//! overwrites: when any of its files exists, it names them and writes nothing.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, bail};

use crate::cli::InitArgs;

/// Each file `init` writes, by its path in the new repository.
const FILES: [(&str, &str); 6] = [
    ("jones-sync.toml", include_str!("init/jones-sync.toml")),
    ("services/example/config.toml", include_str!("init/config.toml")),
    ("services/example/production/config.toml", include_str!("init/production.config.toml")),
    ("services/example/production/hosts.toml", include_str!("init/production.hosts.toml")),
    (".github/workflows/jones-sync.yml", include_str!("init/workflow.yml")),
    ("README.md", include_str!("init/README.md")),
];

pub(crate) fn run(args: &InitArgs) -> anyhow::Result<ExitCode> {
    let dir = args.dir.as_path();
    let existing: Vec<String> =
        FILES.iter().filter(|(path, _)| dir.join(path).exists()).map(|(path, _)| format!("`{path}`")).collect();
    if !existing.is_empty() {
        bail!(
            "`{}` already has {}: init writes a new repository and never overwrites, so nothing was written",
            dir.display(),
            existing.join(", ")
        );
    }
    for (path, content) in FILES {
        write(&dir.join(path), content)?;
    }
    let files: String = FILES.iter().map(|(path, _)| format!("  {path}\n")).collect();
    let cd = if dir == Path::new(".") { String::new() } else { format!("  cd {}\n", dir.display()) };
    super::out(&format!(
        "Created a config repository in `{}`:\n{files}\nNext:\n{cd}  jones-sync validate\n  git init && git add -A && git commit -m \"Configuration\"\n  \
         jones-sync plan --zk HOST:2181\n",
        dir.display()
    ));
    Ok(ExitCode::SUCCESS)
}

fn write(path: &Path, content: &str) -> anyhow::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).with_context(|| format!("cannot create `{}`", parent.display()))?;
    }
    std::fs::write(path, content).with_context(|| format!("cannot write `{}`", path.display()))
}
