//! The `csp` binary: parse, resolve settings, run, print the error if any, exit. The only place
//! that exits the process.

use std::time::Duration;

use csp::cli::Cli;
use csp::environment::Environment;
use csp::io::IoStreams;
use csp::settings::Settings;
use csp::{CliError, ExitCode};

fn main() {
    csp::http::ensure_crypto_provider();
    let env = Environment::from_process();
    // clap exits 0 for --help/--version and 2 for every other parse error.
    let cli = csp::cli::parse_from(std::env::args_os(), &env).unwrap_or_else(|e| e.exit());
    let io = IoStreams::system();
    // `doctor` reports a broken config.toml as a failed check instead of stopping on it.
    let resolved = if matches!(cli.command, csp::cli::Command::Doctor(_)) {
        Settings::resolve_lenient(&cli.global, &env)
    } else {
        Settings::resolve(&cli.global, &env)
    };
    let code = match resolved {
        Err(e) => report(&io, &CliError::from(e)),
        Ok(settings) => {
            csp::init_logging(&settings);
            let invocation = settings.invocation();
            run(cli, settings, io, &invocation)
        }
    };
    #[allow(clippy::disallowed_methods)]
    std::process::exit(code.code());
}

fn run(cli: Cli, settings: Settings, io: IoStreams, invocation: &str) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(source) => {
            return report(
                &io,
                &CliError::Io {
                    action: "start the async runtime",
                    source,
                },
            );
        }
    };
    let (result, io) =
        runtime.block_on(csp::run_with_settings(&cli.command, settings, io, async {
            if tokio::signal::ctrl_c().await.is_err() {
                std::future::pending::<()>().await;
            }
        }));
    // A keyring call stuck in D-Bus must not keep the process alive.
    runtime.shutdown_timeout(Duration::from_secs(1));
    match result {
        Ok(()) => ExitCode::Success,
        Err(e) => report_for(&io, &e, invocation),
    }
}

fn report(io: &IoStreams, e: &CliError) -> ExitCode {
    report_for(io, e, "csp")
}

/// The error, with the commands its hint names written for this run's mode (`--sandbox`,
/// `--profile`).
fn report_for(io: &IoStreams, e: &CliError, invocation: &str) -> ExitCode {
    for line in e.render_for(invocation) {
        io.err_line(&line);
    }
    e.exit_code()
}
