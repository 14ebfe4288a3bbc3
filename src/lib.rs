//! `csp`: onboard Microsoft CSP customer tenants. The library holds all logic; the binary only
//! parses, runs and exits. docs/development.md says how the modules fit together.

#![cfg_attr(not(test), deny(clippy::print_stdout, clippy::print_stderr))]

pub mod advice;
pub mod auth;
pub mod cli;
pub mod cloud;
pub mod commands;
pub mod config;
pub mod consent;
pub mod context;
pub mod customer_check;
pub mod environment;
pub mod error;
pub mod exit_codes;
pub mod failure;
pub mod files;
pub mod gdap;
pub mod graph;
pub mod http;
pub mod ids;
pub mod io;
pub mod mapping;
pub mod name_match;
pub mod output;
pub mod partner_center;
pub mod roles;
#[cfg(feature = "sandbox")]
pub mod sandbox;
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
    let work = commands::dispatch(command, ctx);
    tokio::pin!(work);
    let result = tokio::select! {
        r = &mut work => r,
        () = interrupt => {
            ctx.raise_interrupt();
            match ctx.wind_down() {
                // The command stops by itself and reports what finished.
                Some(within) => tokio::time::timeout(within, &mut work)
                    .await
                    .unwrap_or(Err(CliError::Interrupted)),
                None => Err(CliError::Interrupted),
            }
        }
    };
    ctx.finish().await;
    result
}

/// Runs one command with these settings: starts the sandbox simulator first when asked, and
/// gives back the streams so the caller can report an error.
pub async fn run_with_settings(
    command: &cli::Command,
    settings: settings::Settings,
    io: io::IoStreams,
    interrupt: impl Future<Output = ()>,
) -> (Result<(), CliError>, io::IoStreams) {
    if !settings.sandbox {
        let ctx = Context::new(settings, io);
        let result = run(command, &ctx, interrupt).await;
        return (result, ctx.into_io());
    }
    #[cfg(feature = "sandbox")]
    {
        let seed = settings.sandbox_seed;
        let (settings, sim) = match sandbox::enter(settings, seed).await {
            Ok(s) => s,
            Err(e) => return (Err(e), io),
        };
        let ctx = Context::new(settings, io);
        ctx.note(&format!(
            "sandbox: simulated Microsoft services on {}; nothing leaves this machine (state in {})",
            sim.base,
            ctx.settings.config_dir.display()
        ));
        if let Some(why) = &sim.fresh {
            ctx.note(&format!("sandbox: {why}"));
        }
        let result = run(command, &ctx, interrupt).await;
        sim.save();
        (result, ctx.into_io())
    }
    #[cfg(not(feature = "sandbox"))]
    {
        drop(interrupt);
        let _ = command;
        drop(settings);
        (
            Err(CliError::usage(
                "this csp was built without the sandbox (cargo feature `sandbox`)",
                None,
            )),
            io,
        )
    }
}

/// Sets up diagnostics on stderr: `CSP_LOG` if given, else by -v/-q. By default only csp's own
/// events are shown; other crates' at warning level, so no dependency's debug output (which
/// could include request details) appears even at -vvv. Warnings read `warning: …` like the
/// rest of csp's messages; with -v, events carry their level and module.
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
        .with_ansi(false)
        .event_format(LogFormat {
            detailed: settings.verbose > 0 || settings.log_filter.is_some(),
        })
        .try_init();
}

/// `warning: …` / `error: …` for people; `LEVEL module: …` when diagnosing.
struct LogFormat {
    detailed: bool,
}

impl<S, N> tracing_subscriber::fmt::FormatEvent<S, N> for LogFormat
where
    S: tracing::Subscriber + for<'a> tracing_subscriber::registry::LookupSpan<'a>,
    N: for<'a> tracing_subscriber::fmt::FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &tracing_subscriber::fmt::FmtContext<'_, S, N>,
        mut writer: tracing_subscriber::fmt::format::Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> std::fmt::Result {
        let meta = event.metadata();
        if self.detailed {
            write!(writer, "{:>5} {}: ", meta.level(), meta.target())?;
        } else if *meta.level() == tracing::Level::ERROR {
            write!(writer, "error: ")?;
        } else if *meta.level() == tracing::Level::WARN {
            write!(writer, "warning: ")?;
        }
        ctx.field_format().format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}
