use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = jones_sync::cli::Cli::parse();
    match jones_sync::commands::run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
