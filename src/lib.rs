//! `csp`: onboard Microsoft CSP customer tenants. The library holds all logic; the binary only
//! parses, runs and exits. See DESIGN.md for how the modules fit together.

#![cfg_attr(not(test), deny(clippy::print_stdout, clippy::print_stderr))]

pub mod advice;
pub mod auth;
pub mod cli;
pub mod cloud;
pub mod commands;
pub mod config;
pub mod context;
pub mod environment;
pub mod error;
pub mod files;
pub mod graph;
pub mod http;
pub mod ids;
pub mod io;
pub mod output;
pub mod partner_center;
pub mod roles;
pub mod secrets;
pub mod settings;
pub mod tenant_lookup;

use std::future::Future;

pub use context::Context;
pub use error::{CliError, ExitCode};

/// Runs one command to the end, or until `interrupt` fires (Ctrl-C). Either way the rotated
/// refresh token, if any, is written back before returning.
pub async fn run(
    command: &cli::Command,
    ctx: &Context,
    interrupt: impl Future<Output = ()>,
) -> Result<(), CliError> {
    let result = tokio::select! {
        r = commands::dispatch(command, ctx) => r,
        () = interrupt => Err(CliError::Interrupted),
    };
    ctx.finish().await;
    result
}

/// Sets up diagnostics on stderr: `CSP_LOG` if given, else by -v/-q. By default only csp's own
/// events are shown; other crates' at warning level, so no dependency's debug output (which
/// could include request details) appears even at -vvv.
pub fn init_logging(settings: &settings::Settings) {
    use tracing_subscriber::EnvFilter;
    let level = match (settings.quiet, settings.verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "info",
        (false, 2) => "debug",
        _ => "trace",
    };
    let filter = settings
        .log_filter
        .as_deref()
        .and_then(|f| EnvFilter::try_new(f).ok())
        .unwrap_or_else(|| EnvFilter::new(format!("warn,csp={level}")));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(!settings.no_color)
        .with_target(settings.verbose > 0)
        .without_time()
        .try_init();
}
