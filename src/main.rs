use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = match jones_sync::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(err) => {
            let _ = err.print();
            // A usage error is an error (1), never 2, which `plan --detailed-exitcode` means "changes".
            return if err.use_stderr() { ExitCode::FAILURE } else { ExitCode::SUCCESS };
        }
    };
    match jones_sync::commands::run(cli) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
