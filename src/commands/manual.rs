//! `jones-sync completions SHELL` and `jones-sync man`: the shell completion scripts
//! (`clap_complete`) and the manual page (`clap_mangen`), both made from the same command-line
//! definition as `--help` ([`crate::cli::Cli`]), so they cannot disagree with it.

use std::process::ExitCode;

use clap::CommandFactory;

/// Prints the completion script for `shell`.
pub(crate) fn completions(shell: clap_complete::Shell) -> ExitCode {
    let mut command = crate::cli::Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(shell, &mut command, "jones-sync", &mut script);
    super::out(&String::from_utf8_lossy(&script));
    ExitCode::SUCCESS
}

/// Prints the manual page: the command, then a section per subcommand.
pub(crate) fn man() -> anyhow::Result<ExitCode> {
    let command = crate::cli::Cli::command();
    let mut page = Vec::new();
    clap_mangen::Man::new(command.clone()).render(&mut page)?;
    for sub in command.get_subcommands().filter(|sub| !sub.is_hide_set()) {
        let name = format!("jones-sync {}", sub.get_name());
        let sub = sub.clone().display_name(name.clone()).bin_name(name);
        let mut section = Vec::new();
        let man = clap_mangen::Man::new(sub);
        man.render_name_section(&mut section)?;
        man.render_synopsis_section(&mut section)?;
        man.render_description_section(&mut section)?;
        man.render_options_section(&mut section)?;
        // One page: the subcommands' sections follow the command's, under headings of their own.
        let text = String::from_utf8_lossy(&section).replace(".SH ", ".SS ");
        page.extend_from_slice(format!(".SH \"{}\"\n", sub_title(&text)).as_bytes());
        page.extend_from_slice(text.as_bytes());
    }
    super::out(&String::from_utf8_lossy(&page));
    Ok(ExitCode::SUCCESS)
}

/// The subcommand's name, from its NAME section (`jones-sync plan`).
fn sub_title(section: &str) -> String {
    section.lines().find(|line| !line.starts_with('.')).map_or_else(String::new, |line| {
        line.split(" \\- ").next().unwrap_or(line).replace('\\', "").trim().to_uppercase()
    })
}
