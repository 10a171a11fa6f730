//! `jones-sync status`: per service of the repository, what is applied and whether it matches HEAD.

use std::process::ExitCode;

use super::{Options, actor, load_or_report, out};
use crate::cli::{ListFormat, StatusArgs};
use crate::record::Record;

pub(crate) async fn run(options: &Options, args: StatusArgs) -> anyhow::Result<ExitCode> {
    // HEAD's committed content (with its pins); outside git, or before the first commit, the work tree.
    let head = match crate::git::Git::open(&options.repo)? {
        Some(git) => git.head()?,
        None => None,
    };
    let rev = head.as_ref().map(|_| "HEAD");
    let Some(loaded) = load_or_report(&options.repo, rev)? else { return Ok(ExitCode::FAILURE) };
    let zk = super::connect(options).await?;
    let names: Vec<String> = loaded.repo.services.keys().cloned().collect();
    let snapshot = zk.snapshot(&names).await?;
    let actor = actor(None);
    let trees: Vec<_> = loaded.desired.iter().map(crate::view::DesiredConfs::tree).collect();
    let plan =
        crate::plan::diff_with(&trees, &snapshot, |name| Record::new(loaded.origin(name), actor.clone()).to_json());
    let rows = crate::status::rows(&loaded, &snapshot, &plan);
    match args.format {
        ListFormat::Json => out(&crate::status::render_json(&rows)),
        ListFormat::Text => {
            let mut text = String::new();
            if let Some(head) = &head {
                text.push_str(&format!("HEAD is {} {}\n\n", crate::git::short(&head.sha), head.subject));
            }
            text.push_str(&crate::status::render_text(&rows, if head.is_some() { "HEAD" } else { "the work tree" }));
            out(&text);
        }
    }
    Ok(ExitCode::SUCCESS)
}
